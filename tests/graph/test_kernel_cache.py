"""The compiled kernels work where numba cannot write its usual cache folders."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import brainctrl

RUN = """
import os, tempfile, warnings, numpy as np
tempfile.tempdir = os.environ["TMPDIR"]  # no fallback to /tmp: only the folder given
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from brainctrl.graph import graph_measures, modularity_communities
    w = np.random.default_rng(0).random((12, 12)); w = w + w.T; np.fill_diagonal(w, 0)
    print(round(float(graph_measures(w)["betweenness"].sum()), 12))
    print(len(set(modularity_communities(w, random_state=0).partition)))
print("warned" if any("cannot be cached" in str(w.message) for w in caught) else "quiet")
"""


def _read_only(path):
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            target = Path(root) / name
            target.chmod(target.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _run(tmp_path, temporary_writable):
    """Run RUN with the package, home and (optionally) temporary folder read-only."""
    package = tmp_path / "site"
    shutil.copytree(
        Path(brainctrl.__file__).parent,
        package / "brainctrl",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    home, temporary = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temporary.mkdir()
    _read_only(package)
    _read_only(home)
    if not temporary_writable:
        _read_only(temporary)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NUMBA_") and key not in ("XDG_CACHE_HOME",)
    }
    env.update(
        PYTHONPATH=str(package),
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        TMPDIR=str(temporary),
    )
    command = [sys.executable, "-c", RUN]
    if os.geteuid() == 0:  # root writes anywhere: drop the capabilities that allow it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: read-only folders cannot be made")
        command = [setpriv, "--inh-caps=-all", "--bounding-set=-all", *command]
    out = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split(), temporary


@pytest.mark.slow
def test_a_temporary_folder_holds_the_cache_when_nothing_else_is_writable(tmp_path):
    lines, temporary = _run(tmp_path, temporary_writable=True)
    assert lines[-1] == "quiet"
    cached = list(temporary.glob("brainctrl-numba-cache-*/**/*.nbi"))
    assert cached, "no numba index written in the temporary folder"


@pytest.mark.slow
def test_without_any_writable_folder_the_kernels_compile_and_say_so(tmp_path):
    lines, temporary = _run(tmp_path, temporary_writable=False)
    assert lines[-1] == "warned"
    assert float(lines[0]) > 0 and int(lines[1]) >= 1
    assert not list(temporary.iterdir())
