"""Run independent units of work serially, in local processes or on Dask.

Units are independent and seeded by their own name, so the executor changes
only where work runs, never its numbers.
"""

import logging
import os

from brainctrl.exceptions import InvalidParameterError

__all__ = ["map_units"]

logger = logging.getLogger(__name__)


def map_units(func, items, executor, *, progress=None):
    """Apply ``func`` to each item and yield results as they finish.

    Parameters
    ----------
    func : callable
        A picklable function of one item that never raises (failures are
        returned as records).
    items : list
        The units of work.
    executor : ExecutorConfig
        ``serial``, ``processes`` (joblib) or ``dask`` (``distributed``).
    progress : callable, optional
        Called once per finished unit.
    """
    items = list(items)
    if not items:
        return
    kind = executor.kind
    if kind == "serial":
        results = map(func, items)
    elif kind == "processes":
        results = _joblib_map(func, items, executor)
    elif kind == "dask":
        results = _dask_map(func, items, executor)
    else:  # pragma: no cover - validated in the config
        raise InvalidParameterError(f"unknown executor kind {kind!r}")
    for result in results:
        if progress is not None:
            progress(result)
        yield result


def _joblib_map(func, items, executor):
    from joblib import Parallel, delayed

    n_jobs = executor.n_jobs if executor.n_jobs > 0 else os.cpu_count()
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", backend="loky")
    yield from parallel(delayed(func)(item) for item in items)


def _dask_map(func, items, executor):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "executor.kind 'dask' needs dask.distributed: pip install 'brainctrl[dask]'"
        ) from None
    cluster = None
    if executor.address:
        client = Client(executor.address)
    elif executor.cluster:
        cluster = _jobqueue_cluster(executor.cluster)
        client = Client(cluster)
    else:
        n_workers = executor.n_jobs if executor.n_jobs > 0 else os.cpu_count()
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    logger.info("Dask client: %s", client)
    try:
        futures = client.map(func, items, pure=False, retries=executor.retries)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _jobqueue_cluster(spec):
    spec = dict(spec)
    kind = spec.pop("kind", "slurm").lower()
    jobs = spec.pop("jobs", 1)
    try:
        import dask_jobqueue
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "executor.cluster needs dask-jobqueue: pip install 'brainctrl[dask]'"
        ) from None
    classes = {
        "slurm": "SLURMCluster",
        "pbs": "PBSCluster",
        "sge": "SGECluster",
        "lsf": "LSFCluster",
        "htcondor": "HTCondorCluster",
    }
    if kind not in classes:
        raise InvalidParameterError(
            f"'executor.cluster.kind' must be one of {tuple(classes)}; got {kind!r}."
        )
    cluster = getattr(dask_jobqueue, classes[kind])(**spec)
    cluster.scale(jobs=jobs)
    return cluster
