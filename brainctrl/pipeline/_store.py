"""Output folder: atomic writes and the status table.

Every file is written to a temporary name in its final folder and renamed into
place, so a killed run never leaves a partial or corrupt file under a final
name; a rerun sees either the finished file or none.
"""

import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["atomic_path", "read_status", "unit_dir", "write_json", "write_npz", "write_table"]

STATUS_COLUMNS = [
    "unit",
    "stage",
    "subject",
    "session",
    "run",
    "status",
    "error",
    "reason",
    "warnings",
    "config_hash",
    "inputs_hash",
    "seconds",
    "finished",
]

# kept in the per-unit JSON records only (not in status.parquet): the inputs'
# fingerprints that let a rerun tell whether a finished unit is still valid
_RECORD_ONLY = ["inputs"]


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_table(table, path):
    """Write a DataFrame as parquet, atomically."""
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)


def write_npz(path, **arrays):
    """Write arrays as a compressed ``.npz``, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def write_json(obj, path):
    """Write JSON, atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))


def unit_dir(out_dir, subject):
    """Folder of one subject's outputs."""
    return Path(out_dir) / f"sub-{subject}"


def read_status(out_dir):
    """All unit records of an output folder (one row per unit and stage).

    Records are kept as one small JSON file per unit under ``.status/`` so
    concurrent workers never write the same file; ``status.parquet`` is the
    merged view written at the end of each command.
    """
    folder = Path(out_dir) / ".status"
    rows = []
    if folder.is_dir():
        for file in sorted(folder.glob("*.json")):
            try:
                rows.append(json.loads(file.read_text()))
            except (OSError, json.JSONDecodeError):  # pragma: no cover - atomic writes
                continue
            rows[-1].pop("inputs", None)
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)


def _record_path(out_dir, stage, unit):
    return Path(out_dir) / ".status" / f"{stage}__{unit}.json"


def record_status(out_dir, record):
    """Store one unit's status record (atomic, one file per unit and stage)."""
    record = {key: record.get(key) for key in STATUS_COLUMNS + _RECORD_ONLY}
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(record, _record_path(out_dir, record["stage"], record["unit"]))


def read_records(out_dir, stage):
    """Full status records of one stage (fingerprints included), keyed by unit."""
    records = {}
    for file in sorted((Path(out_dir) / ".status").glob(f"{stage}__*.json")):
        try:
            record = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # an unreadable record counts as no record: the unit is redone
        records[record.get("unit")] = record
    return records


def read_record(out_dir, stage, unit):
    """One unit's full status record, or None."""
    try:
        return json.loads(_record_path(out_dir, stage, unit).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def remove_records(out_dir, stage):
    """Forget every record of a stage (e.g. the group sections before a new group run)."""
    for file in (Path(out_dir) / ".status").glob(f"{stage}__*.json"):
        file.unlink(missing_ok=True)


def write_status_table(out_dir):
    """Merge the unit records into ``status.parquet``."""
    table = read_status(out_dir)
    write_table(table, Path(out_dir) / "status.parquet")
    return table
