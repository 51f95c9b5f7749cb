import json
import os
import re
import socket
import stat

import numpy as np
import pandas as pd
import pytest

from brainctrl.exceptions import LockedOutputError
from brainctrl.pipeline import _store


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "table.parquet"
    with pytest.raises(RuntimeError):
        with _store.atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert not target.exists()
    assert os.listdir(target.parent) == []


def test_atomic_writes_round_trip(tmp_path):
    table = pd.DataFrame({"subject": ["100206", "100307"], "value": [1.5, 2.5]})
    _store.write_table(table, tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, table)
    _store.write_npz(tmp_path / "m.npz", fc=np.eye(3), labels=np.arange(3))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["fc"], np.eye(3))
    _store.write_json({"a": 1}, tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "t.parquet", "x.json"]


def test_status_records_merge(tmp_path):
    assert _store.read_status(tmp_path).empty
    for unit, status in (("sub-1_run-1", "done"), ("sub-2_run-1", "failed")):
        _store.record_status(
            tmp_path,
            {
                "unit": unit,
                "stage": "run",
                "subject": unit[4],
                "status": status,
                "error": "DataError: bad" if status == "failed" else None,
            },
        )
    # a later record for the same unit and stage replaces the earlier one
    _store.record_status(tmp_path, {"unit": "sub-2_run-1", "stage": "run", "status": "done"})
    table = _store.write_status_table(tmp_path)
    assert sorted(table["status"]) == ["done", "done"]
    assert (tmp_path / "status.parquet").exists()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_permissions_of_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        _store.write_table(pd.DataFrame({"value": [1.0]}), tmp_path / "t.parquet")
        _store.write_npz(tmp_path / "m.npz", fc=np.eye(2))
        _store.write_json({"a": 1}, tmp_path / "x.json")
        with _store.atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("text")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(["t.parquet", "m.npz", "x.json", "f.txt"], 0o666 & ~umask)


def _holder_pattern(process, method="flock"):
    pattern = (
        rf"\(host {socket.gethostname()}, pid {process.pid}, command '.*-c .*', "
        r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    )
    # without flock, a record left by a run of another host must be removed by hand
    return pattern + (
        r"; if that run is gone, remove .*\.brainctrl\.lock\.d/.*\)"
        if method == "files"
        else r"\)"
    )


@pytest.mark.parametrize("method", ["flock", "files"])
def test_a_second_run_on_an_output_folder_is_refused(tmp_path, method, hold_output):
    use_flock = method == "flock"
    out = tmp_path / "out"
    with hold_output(out, method) as holder:
        message = (
            f"output folder '{re.escape(str(out))}' is in use by another brainctrl run "
            + _holder_pattern(holder, method)
        )
        with pytest.raises(LockedOutputError, match=message):
            _store.lock_output(out, use_flock=use_flock)
        # a per-subject run needs the folder too
        with pytest.raises(LockedOutputError, match=message):
            _store.lock_output(out, subjects=["001"], use_flock=use_flock)
    with _store.lock_output(out, use_flock=use_flock):
        pass
    assert list((out / _store.LOCK_FOLDER).glob("*.json")) == []


@pytest.mark.parametrize("method", ["flock", "files"])
def test_per_subject_runs_share_the_folder_not_their_subjects(tmp_path, method, hold_output):
    use_flock = method == "flock"
    out = tmp_path / "out"
    with hold_output(out, method, ["001", "002"]) as holder:
        with (
            _store.lock_output(out, subjects=["sub-003"], use_flock=use_flock),
            _store.lock_output(out, subjects=["004"], use_flock=use_flock),
        ):
            pass
        with pytest.raises(
            LockedOutputError,
            match=f"subject '002' of output folder '{re.escape(str(out))}' is in use by "
            f"another brainctrl run {_holder_pattern(holder, method)}",
        ):
            _store.lock_output(out, subjects=["003", "sub-002"], use_flock=use_flock)
        # the subject refused, the run let go of the others it had taken
        with _store.lock_output(out, subjects=["003"], use_flock=use_flock):
            pass
        with pytest.raises(LockedOutputError, match=_holder_pattern(holder, method)):
            _store.lock_output(out, use_flock=use_flock)  # a full or --group run


@pytest.mark.parametrize("method", ["flock", "files"])
def test_the_lock_of_a_killed_run_is_not_left_behind(tmp_path, method, hold_output):
    use_flock = method == "flock"
    out = tmp_path / "out"
    with hold_output(out, method, ["001"]) as holder:
        holder.kill()
        holder.wait()
        with _store.lock_output(out, subjects=["001"], use_flock=use_flock):
            pass
        with _store.lock_output(out, use_flock=use_flock):
            pass


def test_only_temporary_files_no_live_run_owns_are_removed(tmp_path, hold_output):
    out = tmp_path / "out"
    planted = [
        "sub-001/.sub-001_run-1_measures.parquet.0a1b2c3d.tmp",
        ".status/.run__sub-001_run-1.json.0a1b2c3d.tmp",
        "sub-002/.sub-002_run-1_matrices.npz.0a1b2c3d.tmp",
        ".status/.run__sub-002_run-1.json.0a1b2c3d.tmp",
        ".status/.energy__sub-002.json.0a1b2c3d.tmp",
        ".status.parquet.0a1b2c3d.tmp",
    ]

    def left():
        return sorted(str(p.relative_to(out)) for p in out.rglob("*.tmp"))

    # subject 001 is being written by a live run: its files stay, and so do
    # the folder-wide ones, until a run holds the whole folder
    with hold_output(out, "flock", ["001"]):
        for name in planted:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text("partial")
        with _store.lock_output(out, subjects=["002"]):
            assert left() == sorted([planted[0], planted[1], planted[5]])
    with _store.lock_output(out):
        assert left() == []


@pytest.mark.parametrize("method", ["flock", "files"])
def test_status_says_when_a_run_is_in_progress(tmp_path, hold_output, method, capsys):
    from brainctrl.cli import main
    from brainctrl.pipeline._store import active_runs

    out = tmp_path / "out"
    with hold_output(out, method) as process:
        (running,) = active_runs(out)
        assert f"pid {process.pid}" in running
        main(["status", str(out)])
        assert (
            f"in progress: brainctrl run (host {socket.gethostname()}" in capsys.readouterr().out
        )
    assert active_runs(out) == []
    main(["status", str(out)])
    assert "in progress" not in capsys.readouterr().out
