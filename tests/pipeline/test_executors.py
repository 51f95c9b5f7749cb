import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from brainctrl.cli import main
from brainctrl.exceptions import ExecutorError
from brainctrl.io import load_manifest
from brainctrl.pipeline import PipelineConfig
from brainctrl.pipeline._config import ExecutorConfig
from brainctrl.pipeline._executors import map_units
from brainctrl.pipeline._run import RUN_KEYS, _crash_record, _unit_key

pytestmark = pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.UnreachableTargetWarning",
    "ignore::brainctrl.exceptions.IllConditionedWarning",
)

WORKERS = Path(__file__).parent / "workers"


@pytest.fixture
def dying(monkeypatch):
    """The ``dying`` helper module, importable by name in worker processes too."""
    monkeypatch.syspath_prepend(str(WORKERS))
    import dying

    return dying


def _crash(item, reason):
    return {"item": item, "crashed": reason}


@pytest.mark.slow
def test_a_dead_worker_fails_only_its_unit(small_dataset, small_config, tmp_path, dying, capsys):
    config = PipelineConfig.from_dict(small_config(small_dataset))
    manifest = load_manifest(config.manifest)
    specs = list(manifest.runs())
    out = tmp_path / "out"
    run_hash = config.section_hash(*RUN_KEYS)
    # two workers, two of them killed mid-unit (out of memory, a crash in
    # compiled code): both are replaced and the four other runs finish
    deaths = {str(specs[1].subject): "SIGKILL", str(specs[4].subject): "SIGSEGV"}
    worker = functools.partial(
        dying.run_unit_or_die,
        deaths=deaths,
        manifest=manifest,
        config=config,
        out_dir=out,
        config_hash=run_hash,
        reference=manifest.load_run(specs[0]).regions["name"].astype(str).tolist(),
    )
    crashed = functools.partial(_crash_record, out_dir=out, stage="run", config_hash=run_hash)
    executor = ExecutorConfig(kind="processes", n_jobs=2)
    records = list(map_units(worker, specs, executor, on_crash=crashed))

    assert sorted(r["unit"] for r in records) == sorted(_unit_key(s) for s in specs)
    by_subject = {r["subject"]: r for r in records}
    assert {s for s, r in by_subject.items() if r["status"] == "done"} == {
        str(s.subject) for s in specs
    } - set(deaths)
    killed = by_subject[str(specs[1].subject)]
    assert killed["status"] == "failed" and killed["run"] == str(specs[1].run)
    assert killed["error"] == (
        "worker process died (signal 9, SIGKILL: killed, e.g. out of memory) "
        f"while running sub-{specs[1].subject} run-{specs[1].run}"
    )
    crashed_record = by_subject[str(specs[4].subject)]
    assert crashed_record["error"].startswith(
        "worker process died (signal 11, SIGSEGV: segmentation fault) while running "
    )
    # the survivors' outputs are complete; the dead units left none
    for spec in specs:
        folder = out / f"sub-{spec.subject}"
        written = sorted(p.name for p in folder.glob("*")) if folder.exists() else []
        if str(spec.subject) in deaths:
            assert written == []
        else:
            assert len(written) == 3
            pd.read_parquet(folder / f"{_unit_key(spec)}_measures.parquet")

    # recorded like any failed unit: `brainctrl status` lists it and exits 1
    capsys.readouterr()
    assert main(["status", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "Failed units" in printed and "SIGKILL" in printed and "SIGSEGV" in printed
    stored = json.loads((out / ".status" / f"run__{_unit_key(specs[1])}.json").read_text())
    assert stored["status"] == "failed" and stored["subject"] == str(specs[1].subject)


@pytest.mark.parametrize("kind", ["serial", "processes"])
def test_a_unit_that_raises_fails_alone(kind, dying):
    worker = functools.partial(dying.square_or_die, deaths={2: "raise"})
    results = list(map_units(worker, range(5), ExecutorConfig(kind=kind), on_crash=_crash))
    assert sorted(r for r in results if isinstance(r, int)) == [0, 1, 9, 16]
    assert [r for r in results if isinstance(r, dict)] == [
        {"item": 2, "crashed": "the unit raised ValueError: planted failure of item 2"}
    ]


def test_without_on_crash_a_dead_worker_raises(dying):
    worker = functools.partial(dying.square_or_die, deaths={0: "SIGKILL"})
    executor = ExecutorConfig(kind="processes", n_jobs=1)
    with pytest.raises(ExecutorError, match=r"signal 9, SIGKILL.* while running 0\."):
        list(map_units(worker, [0, 1], executor))


@pytest.mark.slow
@pytest.mark.distributed
def test_a_failed_dask_task_fails_only_its_unit(dying):
    import dask
    from distributed import LocalCluster

    # one task per worker at a time (a worker's death then blames only the
    # task it ran), and no second chance for a task whose worker died
    settings = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    try:
        worker = functools.partial(dying.square_or_die, deaths={3: "SIGKILL", 5: "raise"})
        executor = ExecutorConfig(kind="dask", address=cluster.scheduler_address, retries=0)
        results = list(map_units(worker, range(8), executor, on_crash=_crash))
    finally:
        cluster.close()
    assert sorted(r for r in results if isinstance(r, int)) == [0, 1, 4, 16, 36, 49]
    failed = {r["item"]: r["crashed"] for r in results if isinstance(r, dict)}
    assert sorted(failed) == [3, 5]
    assert failed[3].startswith("its Dask task failed: KilledWorker: ")
    assert failed[5] == "its Dask task failed: ValueError: planted failure of item 5"


def test_units_run_with_one_thread_in_every_pool():
    # a fresh interpreter: scipy's BLAS and scikit-learn's OpenMP runtime are not
    # loaded yet when the block starts, and are limited all the same
    code = (
        "import json\n"
        "from threadpoolctl import threadpool_info\n"
        "from brainctrl.pipeline._executors import single_threaded\n"
        "with single_threaded():\n"
        "    import nilearn.signal, scipy.linalg, sklearn.cluster\n"
        "    inside = [(i['internal_api'], i['num_threads']) for i in threadpool_info()]\n"
        "print(json.dumps(inside))\n"
    )
    env = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    inside = json.loads(result.stdout)
    apis = {api for api, _ in inside}
    assert {"openblas", "openmp"} <= apis
    assert all(count == 1 for _, count in inside), inside


@pytest.mark.slow
def test_workers_import_the_installed_package_from_a_folder_holding_a_checkout(
    small_dataset, small_config, tmp_path
):
    # run from the folder that holds a clone: ./brainctrl must not shadow the package
    import yaml

    command = Path(sys.executable).parent / "brainctrl"
    if not command.exists():
        pytest.skip("the brainctrl command is not installed beside this Python")
    (tmp_path / "brainctrl").mkdir()
    config = tmp_path / "config.yaml"
    settings = small_config(small_dataset, executor={"kind": "processes", "n_jobs": 2})
    config.write_text(yaml.safe_dump(settings))
    result = subprocess.run(
        [str(command), "run", str(config), "--out", "out", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    status = pd.read_parquet(tmp_path / "out" / "status.parquet")
    assert (status.loc[status["stage"] == "run", "status"] == "done").all()
