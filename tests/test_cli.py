import yaml

from brainctrl.cli import main
from brainctrl.datasets import write_demo_dataset


def test_validate_lists_missing_files_with_subject_and_run(tmp_path, capsys):
    manifest = write_demo_dataset(tmp_path / "data", n_subjects=4, n_regions=30, n_timepoints=60)
    assert main(["validate", str(manifest)]) == 0
    assert "4 of 4 run(s) readable; 0 error(s), 0 warning(s)" in capsys.readouterr().out
    missing = sorted((tmp_path / "data").glob("sub-003/*_timeseries.tsv"))[0]
    missing.unlink()
    assert main(["validate", str(manifest)]) == 1
    out = capsys.readouterr().out
    assert "error: subject '003', run '1', file" in out and "does not exist" in out
    assert "3 of 4 run(s) readable; 1 error(s)" in out


def test_run_with_a_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"manifest": "m.yaml", "control": {"horizon": -1}}))
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "config key 'control.horizon' must be a finite number > 0; got -1.0" in err


def test_status_of_an_empty_folder(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == 0
    assert "no units recorded yet" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
