import json
import os

import numpy as np
import pandas as pd
import pytest

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
