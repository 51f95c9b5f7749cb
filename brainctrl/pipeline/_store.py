"""Output folder: atomic writes, the status table and the folder's lock.

Every file is written to a temporary name in its final folder and renamed into
place, so a killed run never leaves a partial or corrupt file under a final
name; a rerun sees either the finished file or none.

One ``brainctrl run`` at a time uses an output folder (:func:`lock_output`),
except per-subject runs (``--participant-label``, e.g. the tasks of a SLURM
array), which share it, each holding its own subjects.
"""

import errno
import glob
import json
import os
import secrets
import shlex
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from brainctrl.exceptions import LockedOutputError

__all__ = [
    "atomic_path",
    "lock_output",
    "read_status",
    "unit_dir",
    "write_json",
    "write_npz",
    "write_table",
]

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


def _create_new(path):
    """Create ``path`` (it must not exist) with the umask's permissions; return its fd."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary file (``.NAME.RANDOM.tmp``) is created with the permissions
    the process's umask gives new files, so the final file has them too.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(_create_new(tmp))
            break
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
    try:
        yield tmp
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


LOCK_NAME = ".brainctrl.lock"
LOCK_FOLDER = ".brainctrl.lock.d"


def _subject_label(label):
    return str(label).removeprefix("sub-")


def _pid_alive(pid):
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _stale(holder):
    """A holder known to be gone: a process of this host that no longer runs."""
    return holder.get("host") == socket.gethostname() and not _pid_alive(holder.get("pid", -1))


def _describe(holder):
    if not holder:
        return "a run that has not recorded itself yet"
    text = (
        f"host {holder.get('host')}, pid {holder.get('pid')}, "
        f"command {holder.get('command')!r}, since {holder.get('since')}"
    )
    if holder.get("method") == "files" and "file" in holder:
        text += f"; if that run is gone, remove {holder['file']}"
    return text


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


class OutputLock:
    """The lock of one ``brainctrl run`` on its output folder; see :func:`lock_output`.

    Parameters
    ----------
    out_dir : path-like
        The output folder.
    subjects : list of str, optional
        Subject labels (``sub-`` optional) of a per-subject run: the folder is
        shared, the subjects exclusive. Without them the folder is exclusive.
    use_flock : bool, optional
        ``fcntl.flock`` (the default where the file system supports it) or,
        when False, lock files created with ``O_EXCL``.
    """

    def __init__(self, out_dir, subjects=None, *, use_flock=None):
        self.out_dir = Path(out_dir)
        self.subjects = sorted({_subject_label(label) for label in subjects or ()})
        self.exclusive = not self.subjects
        self.use_flock = _has_flock() if use_flock is None else use_flock
        self._fds = []
        self._own = []  # files this lock created and removes on release
        self.holder = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "command": shlex.join(sys.argv) if sys.argv and sys.argv[0] else "python",
            "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "mode": "exclusive" if self.exclusive else "shared",
            "subjects": self.subjects,
            "method": "flock" if self.use_flock else "files",
        }

    # -- acquiring ---------------------------------------------------------

    def acquire(self):
        """Take the lock, or raise ``LockedOutputError`` naming who holds it."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / LOCK_FOLDER).mkdir(exist_ok=True)
        try:
            if self.use_flock:
                try:
                    self._acquire_flock()
                except _FlockUnsupported:
                    self.release()
                    self.use_flock = False
                    self.holder["method"] = "files"
            if not self.use_flock:
                self._acquire_files()
        except BaseException:
            self.release()
            raise
        return self

    def _holder_path(self):
        name = f"{self.holder['mode']}.{quote(self.holder['host'], safe='')}.{os.getpid()}"
        return self.out_dir / LOCK_FOLDER / f"{name}.{secrets.token_hex(4)}.json"

    def _subject_path(self, subject, suffix):
        return self.out_dir / LOCK_FOLDER / f"sub-{quote(subject, safe='')}.{suffix}"

    def _holders(self, *, exclusive_only=False):
        """Holder records of other runs that may still be alive."""
        found = []
        for file in sorted((self.out_dir / LOCK_FOLDER).glob("*.json")):
            if file in self._own:
                continue
            holder = _read_json(file)
            if holder is None or _stale(holder):
                continue
            if exclusive_only and holder.get("mode") != "exclusive":
                continue
            found.append(holder | {"file": str(file)})
        return found

    def _refuse(self, holders, subject=None):
        where = f"output folder '{self.out_dir}'"
        if subject is not None:
            where = f"subject '{subject}' of {where}"
        who = "; ".join(_describe(h) for h in holders) if holders else _describe(None)
        raise LockedOutputError(
            f"{where} is in use by another brainctrl run ({who}). Wait for it to finish, "
            "or use another output folder."
        )

    def _write_holder(self, path=None):
        path = path or self._holder_path()
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.holder, indent=2))
        self._own.append(path)

    def _acquire_flock(self):
        import fcntl

        fd = os.open(self.out_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        self._fds.append(fd)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        if not _flock(fd, mode):
            self._refuse(self._holders(exclusive_only=not self.exclusive))
        if self.exclusive:  # every other holder record is left by a run that is gone
            for file in (self.out_dir / LOCK_FOLDER).glob("*.json"):
                holder = _read_json(file)
                if holder is None or holder.get("method") == "flock":
                    file.unlink(missing_ok=True)
        self._write_holder()
        for subject in self.subjects:
            path = self._subject_path(subject, "lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            self._fds.append(fd)
            if not _flock(fd, fcntl.LOCK_EX):
                holder = _read_json(path)
                self._refuse([holder] if holder else [], subject)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(self.holder, indent=2).encode(), 0)

    def _acquire_files(self):
        """Lock files where ``flock`` is unavailable (e.g. some network file systems).

        A run first writes its holder record, then looks at the others: an
        exclusive run gives way to any live holder, a shared one to a live
        exclusive holder. Two runs starting together may both give way, never
        both go on. Records of processes of this host that no longer run are
        stale and removed; those of another host are not (the message says
        which file to remove once that run is known to be gone).
        """
        self._write_holder()
        for file in (self.out_dir / LOCK_FOLDER).glob("*.json"):
            holder = _read_json(file)
            if file not in self._own and holder is not None and _stale(holder):
                file.unlink(missing_ok=True)
        others = self._holders(exclusive_only=not self.exclusive)
        if others:
            self._refuse(others)
        for subject in self.subjects:
            path = self._subject_path(subject, "held")
            for _ in range(2):
                try:
                    fd = _create_new(path)
                except FileExistsError:
                    holder = _read_json(path)
                    if holder is not None and _stale(holder):
                        path.unlink(missing_ok=True)
                        continue
                    self._refuse([holder | {"file": str(path)}] if holder else [], subject)
                with os.fdopen(fd, "w") as handle:
                    handle.write(json.dumps(self.holder, indent=2))
                self._own.append(path)
                break

    # -- after acquiring ---------------------------------------------------

    def remove_stale_temporaries(self):
        """Remove temporary files (``.*.tmp``) left by killed runs.

        Only those no live run can own: all of them under an exclusive lock;
        under a shared one, those of this lock's subjects (their folders and
        status records).
        """
        if self.exclusive:
            # not the lock folder: a run there may be writing its record to give way
            files = [
                file
                for file in self.out_dir.rglob(".*.tmp")
                if LOCK_FOLDER not in file.relative_to(self.out_dir).parts
            ]
        else:
            files = []
            for subject in self.subjects:
                files.extend(unit_dir(self.out_dir, subject).rglob(".*.tmp"))
                unit = f"sub-{glob.escape(subject)}"
                for pattern in (f".*__{unit}_*.tmp", f".*__{unit}.json.*.tmp"):
                    files.extend((self.out_dir / ".status").glob(pattern))
        for file in files:
            file.unlink(missing_ok=True)

    def release(self):
        """Give the lock back (idempotent)."""
        for path in self._own:
            Path(path).unlink(missing_ok=True)
        self._own = []
        for fd in self._fds:
            os.close(fd)  # closing the last descriptor releases its flock
        self._fds = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


class _FlockUnsupported(Exception):
    pass


def _has_flock():
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    return hasattr(fcntl, "flock")


def _flock(fd, mode):
    """Try a non-blocking flock: True if taken, False if held by another run."""
    import fcntl

    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise _FlockUnsupported(str(exc)) from None
    return True


def lock_output(out_dir, *, subjects=None, use_flock=None):
    """Lock an output folder for one ``brainctrl run``.

    A run of every stage (or of the cohort stages, ``--group``) holds the
    folder alone; per-subject runs (``--participant-label``) share it, each
    holding its subjects alone, so the tasks of a SLURM array can fill one
    folder together. The lock is ``fcntl.flock`` on ``OUT/.brainctrl.lock``
    (and ``OUT/.brainctrl.lock.d/sub-<label>.lock``), released when the run
    ends or its process dies; where ``flock`` is unavailable, lock files
    created with ``O_EXCL`` take its place. Each holder describes itself in
    ``OUT/.brainctrl.lock.d/`` (host, pid, command, start time).

    Once the lock is taken, temporary files left by killed runs are removed
    where no live run can own them (see
    :meth:`OutputLock.remove_stale_temporaries`).

    Parameters
    ----------
    out_dir : path-like
        The output folder (created if missing).
    subjects : list of str, optional
        Subject labels of a per-subject run; None or empty for an exclusive lock.
    use_flock : bool, optional
        Force ``flock`` (True) or lock files (False); by default ``flock``
        where available, with lock files where the file system refuses it.

    Returns
    -------
    OutputLock
        Held until its ``release()`` (or the end of a ``with`` block).

    Raises
    ------
    LockedOutputError
        When another run holds the folder, or one of the subjects; the message
        names it (host, pid, command, since when).
    """
    lock = OutputLock(out_dir, subjects, use_flock=use_flock).acquire()
    try:
        lock.remove_stale_temporaries()
    except BaseException:
        lock.release()
        raise
    return lock


def active_runs(out_dir):
    """Descriptions of the ``brainctrl run`` processes using an output folder now.

    With ``flock``, the folder's lock is probed (taken and released at once
    when free); otherwise the holder records of live processes count.

    Returns
    -------
    list of str
        One ``host …, pid …, command …, since …`` line per run; empty when none.
    """
    out_dir = Path(out_dir)
    lock_file = out_dir / LOCK_NAME
    holders = [
        holder
        for file in sorted((out_dir / LOCK_FOLDER).glob("*.json"))
        if (holder := _read_json(file)) is not None and not _stale(holder)
    ]
    if _has_flock() and lock_file.exists():
        import fcntl

        fd = os.open(lock_file, os.O_RDONLY)
        try:
            free = _flock(fd, fcntl.LOCK_EX)
            if free:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except _FlockUnsupported:
            free = not holders
        finally:
            os.close(fd)
        if free:
            return []
        return [_describe(h) for h in holders] or [_describe(None)]
    return [_describe(h) for h in holders]
