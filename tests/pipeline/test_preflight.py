"""The config is checked against the data before anything is computed."""

import json

import pandas as pd
import pytest
import yaml

from brainctrl.cli import main
from brainctrl.io import load_manifest
from brainctrl.pipeline import PipelineConfig, PreflightError, check_dataset, run_pipeline

pytestmark = pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.UnreachableTargetWarning",
    "ignore::brainctrl.exceptions.IllConditionedWarning",
)


def _first_table(text):
    """The first HTML table of ``text`` as a DataFrame of strings (header row first)."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell, self.done = [], None, False

        def handle_starttag(self, tag, attrs):
            if self.done:
                return
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None and not self.done:
                self.rows[-1].append(self.cell.strip())
                self.cell = None
            elif tag == "table":
                self.done = True

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    parser = Cells()
    parser.feed(text)
    return pd.DataFrame(parser.rows[1:], columns=parser.rows[0])


def _config(small_config, manifest, **sections):
    return PipelineConfig.from_dict(small_config(manifest, **sections))


def _errors(info):
    return [p.message for p in info.value.problems if p.level == "error"]


def test_a_control_set_missing_from_the_region_table_stops_the_run(
    dataset, tmp_path, small_config
):
    # a Glasser-style table: region names, no network column
    regions = pd.read_csv(dataset.parent / "regions.tsv", sep="\t")
    regions[["label", "name"]].to_csv(dataset.parent / "regions.tsv", sep="\t", index=False)
    out = tmp_path / "out"
    with pytest.raises(PreflightError, match="'control.control_set' is 'Default'") as info:
        run_pipeline(_config(small_config, dataset), out_dir=out, verbose=False)
    (message,) = _errors(info)
    assert "its networks: ['unknown'], or 'all' for every region" in message
    assert "add parcellation.regions" in message
    assert not out.exists()  # stopped before computing or writing anything


def test_phenotype_columns_and_levels_are_checked(dataset, tmp_path, small_config):
    phenotype = pd.read_csv(dataset.parent / "phenotype.csv", dtype={"subject": str})
    phenotype["group"] = "control"
    phenotype.to_csv(dataset.parent / "phenotype.csv", index=False)
    config = _config(
        small_config,
        dataset,
        stats={"covariates": ["agee"], "scores": ["scor"], "prediction": True},
    )
    with pytest.raises(PreflightError) as info:
        run_pipeline(config, out_dir=tmp_path / "out", verbose=False)
    errors = _errors(info)
    assert any(
        "'stats.covariates' names ['agee'], not columns of the phenotype table" in e
        and "'age'" in e
        for e in errors
    )
    assert any("'stats.scores' names ['scor']" in e for e in errors)
    # with the names fixed, the single group level is what is left
    config = _config(small_config, dataset)
    with pytest.raises(PreflightError, match="a column with 1 level") as info:
        run_pipeline(config, out_dir=tmp_path / "out", verbose=False)
    assert "['control']" in _errors(info)[0]


def test_more_states_than_windows_is_an_error(dataset, tmp_path, small_config):
    # 150 frames, window 100, step 50: 2 windows per run, 12 in the cohort
    config = _config(
        small_config,
        dataset,
        connectivity={"window_length": 100, "step": 50},
        states={"n_states": 13},
        multilayer={"enabled": False},
    )
    with pytest.raises(PreflightError, match="'states.n_states' is 13, more than the 12"):
        run_pipeline(config, out_dir=tmp_path / "out", verbose=False)


def test_missing_phenotype_rows_and_small_samples_are_warned_and_skipped(
    dataset, tmp_path, small_config
):
    phenotype = pd.read_csv(dataset.parent / "phenotype.csv", dtype={"subject": str})
    phenotype[phenotype["subject"] != "004"].to_csv(dataset.parent / "phenotype.csv", index=False)
    config = _config(
        small_config,
        dataset,
        stats={
            "cca": True,
            "cca_scores": ["symptom_1", "symptom_2"],
            "prediction": True,
            "cv_folds": 3,
        },
    )
    manifest = load_manifest(config.manifest)
    problems, _ = check_dataset(manifest, config, load="all")
    messages = {p.message: p.level for p in problems}
    assert all(level == "warning" for level in messages.values())
    text = "\n".join(messages)
    assert "1 subject(s) have runs but no row in the phenotype table" in text and "'004'" in text
    assert "sparse CCA will be skipped: 5 subject(s)" in text
    assert "behaviour prediction will be skipped: 5 subject(s)" in text
    assert "needs 9 (3 per test fold" in text

    out = tmp_path / "out"
    status = run_pipeline(config, out_dir=out, verbose=False)
    group = status[status["stage"] == "group"].set_index("unit")
    assert group.loc["sparse_cca", "status"] == "skipped"
    assert "sparse CCA needs 10" in group.loc["sparse_cca", "reason"]
    assert group.loc["behaviour_prediction", "status"] == "skipped"
    assert "needs 9" in group.loc["behaviour_prediction", "reason"]
    # the subject without a phenotype row is named, and left out of the comparison
    assert "left out: 004" in group.loc["group_comparison", "warnings"]
    results = pd.read_parquet(out / "group" / "group_comparison.parquet")
    assert (results["n"] == 5).all()
    report = (out / "report.html").read_text()
    assert "sparse CCA (skipped)" in report and "behaviour prediction (skipped)" in report
    assert "Checks before the run" in report and "&#x27;004&#x27;" in report
    # 5 subjects, intercept + group + age: 2 residual degrees of freedom
    assert (results["df"] == 2).all()
    assert results["warning"].str.contains("only 2 residual degrees of freedom").all()
    assert "Warning: only 2 residual degrees of freedom" in report
    summary = json.loads((out / "group" / "summary.json").read_text())
    assert set(summary["skipped"]) == {"sparse CCA", "behaviour prediction"}


def test_no_phenotype_skips_the_statistics_with_the_reason(dataset, tmp_path, small_config):
    manifest = yaml.safe_load(dataset.read_text())
    del manifest["phenotype"]
    dataset.write_text(yaml.safe_dump(manifest))
    out = tmp_path / "out"
    status = run_pipeline(_config(small_config, dataset), out_dir=out, verbose=False)
    group = status[status["stage"] == "group"].set_index("unit")
    for unit in ("group_comparison", "sparse_cca", "behaviour_prediction"):
        assert group.loc[unit, "status"] == "skipped"
        assert group.loc[unit, "reason"] == "the manifest has no phenotype table (phenotype.path)"
    assert group.loc["controllability", "status"] == "done"


def test_the_report_shows_the_current_status_of_each_section(dataset, tmp_path, small_config):
    out = tmp_path / "out"
    run_pipeline(_config(small_config, dataset), out_dir=out, verbose=False)
    assert "stats.prediction is false" in (out / "report.html").read_text()
    config = _config(
        small_config, dataset, stats={"prediction": True, "cv_folds": 2, "cv_repeats": 1}
    )
    status = run_pipeline(config, out_dir=out, verbose=False)
    group = status[status["stage"] == "group"].set_index("unit")
    assert group.loc["behaviour_prediction", "status"] == "done"
    report = (out / "report.html").read_text()
    assert "stats.prediction is false" not in report
    counts = _first_table(report.split("<h2>Runs</h2>")[1]).set_index("stage").astype(int)
    assert counts.loc["run", "done"] == 6 and counts.loc["energy", "done"] == 6
    expected = status[status["stage"] == "group"]["status"].value_counts()
    assert counts.loc["group", "done"] == expected["done"]
    assert counts.loc["group", "skipped"] == expected["skipped"] == 1  # sparse CCA only


def test_validate_with_a_config_lists_every_problem(dataset, tmp_path, small_config, capsys):
    regions = pd.read_csv(dataset.parent / "regions.tsv", sep="\t")
    regions[["label", "name"]].to_csv(dataset.parent / "regions.tsv", sep="\t", index=False)
    broken = sorted(dataset.parent.glob("sub-003/*_timeseries.tsv"))[0]
    broken.write_text(broken.read_text()[:-3000])  # ends mid-line
    phenotype = pd.read_csv(dataset.parent / "phenotype.csv", dtype={"subject": str})
    phenotype[phenotype["subject"] != "005"].to_csv(dataset.parent / "phenotype.csv", index=False)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(small_config(dataset, stats={"covariates": ["age", "handedness"]}))
    )
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if line.startswith("error: ")]
    warnings = [line for line in out if line.startswith("warning: ")]
    assert any("subject '003'" in line for line in errors)
    assert any("'control.control_set' is 'Default'" in line for line in errors)
    assert any("'stats.covariates' names ['handedness']" in line for line in errors)
    assert any("'005'" in line for line in warnings)
    assert out[-1].endswith(f"5 of 6 run(s) readable; {len(errors)} error(s), 1 warning(s).")
    # run stops on the same errors, printing them one per line, exit status 2
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "nothing was computed" in err and "error: config key 'control.control_set'" in err


def test_a_wrong_manifest_phenotype_column_hides_no_other_problem(dataset, small_config):
    manifest = yaml.safe_load(dataset.read_text())
    manifest["phenotype"]["covariates"] = ["age", "handedness"]
    dataset.write_text(yaml.safe_dump(manifest))
    phenotype = pd.read_csv(dataset.parent / "phenotype.csv", dtype={"subject": str})
    phenotype[phenotype["subject"] != "002"].to_csv(dataset.parent / "phenotype.csv", index=False)
    config = _config(small_config, dataset, stats={"covariates": ["agee"]})
    problems, _ = check_dataset(load_manifest(config.manifest), config, load="all")
    text = [str(p) for p in problems]
    assert any(
        t.startswith("error: phenotype: the manifest's phenotype section names ['handedness']")
        for t in text
    )
    assert any("'stats.covariates' names ['agee']" in t for t in text)
    assert any(t.startswith("warning: ") and "'002'" in t for t in text)
