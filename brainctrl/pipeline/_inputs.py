"""What a finished unit was computed from, and whether that still holds.

A unit's result is reused only while its input files have the same content.
Each input is fingerprinted by a hash of its bytes (BLAKE2b); the file's
``stat`` signature (size, modification and change times in nanoseconds, inode)
is stored beside the hash, so a rerun hashes again only the files whose
signature changed (as ``git`` does with its index). The change time and the
inode cannot be carried over by copying tools (``cp -p``, ``rsync -t`` keep the
modification time only), so a swapped or edited file is always hashed again;
a file that was only touched keeps its hash and its results.

Outputs are checked the cheap way: a finished output must exist and its
structure must be readable (a parquet footer, an npz member list with the
expected arrays); otherwise the unit is computed again.
"""

import hashlib
import json
import os
import zipfile
from pathlib import Path

__all__ = [
    "file_digest",
    "fingerprint",
    "input_files",
    "inputs_hash",
    "outputs_problem",
    "signature",
]

_CHUNK = 1 << 22


def signature(path):
    """``[size, mtime_ns, ctime_ns, inode]`` of a file."""
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def file_digest(path):
    """BLAKE2b-128 hex digest of a file's bytes, read in 4 MiB blocks."""
    digest = hashlib.blake2b(digest_size=16)
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def input_files(spec):
    """The files one run is read from: the manifest's paths and a JSON sidecar.

    Returns
    -------
    dict of str to pathlib.Path
        ``timeseries``, and where used ``confounds``, ``regions``, ``dlabel``,
        ``atlas``, ``fmriprep_confounds``, ``structural``, ``sidecar`` (the BIDS
        JSON beside the time series, read for the repetition time).
    """
    from brainctrl.io._tables import strip_suffixes

    files = {role: Path(path) for role, path in spec.paths.items()}
    if "timeseries" in files:
        sidecar = strip_suffixes(files["timeseries"]).with_suffix(".json")
        if sidecar.is_file():
            files["sidecar"] = sidecar
    return files


def fingerprint(files, known=None):
    """Fingerprint each file; reuse a known hash while the file's signature holds.

    Parameters
    ----------
    files : dict of str to path-like
        Role -> file, e.g. from :func:`input_files`.
    known : dict, optional
        A previous result of this function (e.g. from a unit's status record).

    Returns
    -------
    dict
        Role -> ``{"path", "signature", "digest"}``; a missing file has
        ``"digest": None``.
    """
    known = known or {}
    out = {}
    for role in sorted(files):
        path = str(files[role])
        if not os.path.isfile(path):
            out[role] = {"path": path, "signature": None, "digest": None}
            continue
        current = signature(path)
        previous = known.get(role) or {}
        if previous.get("path") == path and previous.get("signature") == current:
            digest = previous["digest"]
        else:
            digest = file_digest(path)
        out[role] = {"path": path, "signature": current, "digest": digest}
    return out


def inputs_hash(fingerprints, identity):
    """Hash of the inputs' contents (not their paths) and the loader's settings.

    ``identity`` holds whatever else decides what the loader returns (the
    manifest's layout, repetition time, reading options); moving a dataset
    elsewhere keeps the hash, changing a byte of a file or a setting does not.
    """
    contents = {role: item["digest"] for role, item in fingerprints.items()}
    text = json.dumps([contents, identity], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def outputs_problem(paths):
    """None when every output exists and is readable, else what is wrong.

    Parameters
    ----------
    paths : dict of path-like to sequence of str or None
        Output file -> arrays an ``.npz`` must hold (None for other files).
    """
    import pyarrow.parquet as pq

    for path, arrays in paths.items():
        path = Path(path)
        if not path.is_file():
            return f"output {path.name} is missing"
        try:
            if path.suffix == ".parquet":
                pq.read_metadata(path)
            elif path.suffix == ".npz":
                with zipfile.ZipFile(path) as archive:
                    names = {name.removesuffix(".npy") for name in archive.namelist()}
                absent = sorted(set(arrays or ()) - names)
                if absent:
                    return f"output {path.name} lacks {absent}"
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            return f"output {path.name} is unreadable ({type(exc).__name__}: {exc})"
    return None
