"""Tests of brainctrl.io.load_phenotype."""

import logging

import numpy as np
import pytest

from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError
from brainctrl.io import load_phenotype


@pytest.fixture
def hcp_csv(tmp_path):
    path = tmp_path / "unrestricted.csv"
    path.write_text(
        "Subject,Gender,Age,PMAT24_A_CR,Release\n"
        "100206,M,26-30,20,S900\n"
        "100307,F,26-30,17,S900\n"
        "007011,F,22-25,n/a,S1200\n"
    )
    return path


def test_ids_are_strings_with_leading_zeros(hcp_csv):
    table = load_phenotype(hcp_csv, id_column="Subject")
    assert list(table.columns) == ["subject", "Gender", "Age", "PMAT24_A_CR", "Release"]
    assert table["subject"].tolist() == ["100206", "100307", "007011"]
    assert all(isinstance(subject, str) for subject in table["subject"])
    assert table["PMAT24_A_CR"].iloc[0] == 20
    assert np.isnan(table["PMAT24_A_CR"].iloc[2])


def test_requested_subjects_in_order(hcp_csv):
    table = load_phenotype(hcp_csv, id_column="Subject", subjects=["007011", 100206])
    assert table["subject"].tolist() == ["007011", "100206"]
    assert table["Gender"].tolist() == ["F", "M"]


def test_missing_subjects(hcp_csv, caplog):
    with pytest.raises(
        MissingDataError,
        match=r"unrestricted\.csv.*1 of 2 requested subject.*"
        r"\['999999'\]",
    ):
        load_phenotype(hcp_csv, id_column="Subject", subjects=["100206", "999999"])
    with caplog.at_level(logging.WARNING, logger="brainctrl.io.phenotype"):
        table = load_phenotype(
            hcp_csv, id_column="Subject", subjects=["100206", "999999"], missing="warn"
        )
    assert table["subject"].tolist() == ["100206"]
    assert "999999" in caplog.text
    with pytest.raises(InvalidParameterError, match="'missing' must be one of"):
        load_phenotype(hcp_csv, id_column="Subject", missing="skip")


def test_tsv_and_errors(tmp_path):
    path = tmp_path / "participants.tsv"
    path.write_text("subject\tgroup\tscore\nsub01\tpatient\t1.5\nsub02\tcontrol\t2.5\n")
    table = load_phenotype(path)
    assert table["subject"].tolist() == ["sub01", "sub02"]
    assert table["group"].tolist() == ["patient", "control"]
    assert table["score"].tolist() == [1.5, 2.5]
    with pytest.raises(DataError, match=r"participants\.tsv.*'id_column' 'participant_id' is not"):
        load_phenotype(path, id_column="participant_id")
    duplicated = tmp_path / "dup.csv"
    duplicated.write_text("subject,age\n01,20\n02,21\n01,22\n")
    with pytest.raises(DataError, match=r"dup\.csv.*duplicate subject IDs.*\['01'\]"):
        load_phenotype(duplicated)
    empty_id = tmp_path / "empty.csv"
    empty_id.write_text("subject,age\n01,20\n,21\n")
    with pytest.raises(DataError, match=r"empty subject IDs .* at line\(s\) \[3\]"):
        load_phenotype(empty_id)
    with pytest.raises(MissingDataError, match=r"phenotype table does not exist"):
        load_phenotype(tmp_path / "nope.csv")
    both = tmp_path / "both.csv"
    both.write_text("Subject,subject\n1,2\n")
    with pytest.raises(DataError, match="both 'Subject' and 'subject' columns"):
        load_phenotype(both, id_column="Subject")


def test_bids_participants_prefix(tmp_path):
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tage\nsub-01\t30\nsub-10159\t41\n")
    table = load_phenotype(path, id_column="participant_id", subjects=["10159"])
    assert table["subject"].tolist() == ["10159"]
    kept = load_phenotype(path, id_column="participant_id", strip_bids_prefix=False)
    assert kept["subject"].tolist() == ["sub-01", "sub-10159"]
