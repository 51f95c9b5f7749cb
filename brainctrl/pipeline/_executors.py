"""Run independent units of work serially, in local processes or on Dask.

Units are independent and seeded by their own name, and each runs with one
thread in every BLAS and OpenMP pool (:func:`single_threaded`), so the
executor changes only where work runs, never its numbers.

A unit whose worker dies (killed, out of memory, a crash in compiled code) or
whose task fails in the executor fails alone: ``map_units`` hands it to
``on_crash`` and the other units go on.
"""

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
from collections import deque
from multiprocessing.connection import wait

from brainctrl.exceptions import ExecutorError, InvalidParameterError

__all__ = ["map_units", "single_threaded"]

logger = logging.getLogger(__name__)

# What the pipeline's units import, loaded once by the fork server that starts
# the worker processes (each worker then starts in milliseconds).
_PRELOAD = (
    "brainctrl.pipeline._run",
    "brainctrl.io",
    "brainctrl.connectivity",
    "brainctrl.control",
    "brainctrl.graph",
    "brainctrl.multilayer",
    "nilearn.signal",
    "scipy.linalg",
    "sklearn.cluster",
)

# Environment variables the Dask nanny writes into the process that starts a
# LocalCluster (``distributed.nanny.pre-spawn-environ``); put back afterwards.
_DASK_ENVIRON = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextlib.contextmanager
def single_threaded():
    """One thread in every BLAS and OpenMP pool of this process, then restore.

    Sums split across threads are added in an order that depends on the
    number of threads (scikit-learn's k-means adds per-thread partial sums,
    threaded BLAS splits dot products), so the same unit gives different last
    bits with a different thread count, and ill-conditioned steps (Gramians of
    transition energies) amplify them. With one thread everywhere the numbers
    are those of any other process, whatever executor, machine size or
    environment (``OMP_NUM_THREADS``) it runs under.

    ``threadpoolctl`` limits only libraries already loaded: the pools of
    scipy's own BLAS and scikit-learn's OpenMP runtime are loaded here first,
    so that a first import inside the block does not start them with their
    default thread count.
    """
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS)
    import sklearn.cluster  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def map_units(func, items, executor, *, progress=None, on_crash=None):
    """Apply ``func`` to each item and yield results as they finish.

    Parameters
    ----------
    func : callable
        A picklable function of one item. It should return its failures as
        results; an exception it raises goes to ``on_crash``.
    items : list
        The units of work.
    executor : ExecutorConfig
        ``serial``, ``processes`` (``n_jobs`` local worker processes, one unit
        at a time each) or ``dask`` (``distributed``).
    progress : callable, optional
        Called once per finished unit.
    on_crash : callable, optional
        ``on_crash(item, reason)`` gives the result of an item that ended
        without one: its worker process died (``processes``: killed, out of
        memory, a crash in compiled code; the worker is replaced), its Dask
        task failed (e.g. ``KilledWorker`` after its retries), or ``func``
        raised. ``reason`` says which, e.g. ``"worker process died (signal 9,
        SIGKILL: killed, e.g. out of memory)"``. The other items go on.

    Yields
    ------
    result
        ``func(item)`` or ``on_crash(item, reason)``, in order of completion.

    Raises
    ------
    ExecutorError
        When an item ends without a result and no ``on_crash`` is given.
    """
    items = list(items)
    if not items:
        return
    kind = executor.kind
    n_workers = executor.n_jobs if executor.n_jobs > 0 else os.cpu_count()
    if kind == "serial":
        results = _serial_map(func, items)
    elif kind == "processes":
        results = _process_map(func, items, n_workers)
    elif kind == "dask":
        results = _dask_map(func, items, executor)
    else:  # pragma: no cover - validated in the config
        raise InvalidParameterError(
            f"'executor.kind' must be one of ('serial', 'processes', 'dask'); got {kind!r}."
        )
    for item, result, reason in results:
        if reason is not None:
            if on_crash is None:
                raise ExecutorError(f"{reason} while running {item!r}.")
            result = on_crash(item, reason)
        if progress is not None:
            progress(result)
        yield result


def _exception_text(exc):
    return f"{type(exc).__name__}: {exc}"


def _serial_map(func, items):
    """``(item, result, reason)`` per item, in this process."""
    for item in items:
        try:
            yield item, func(item), None
        except Exception as exc:
            yield item, None, f"the unit raised {_exception_text(exc)}"


def _death_reason(exitcode):
    """Why a worker process ended, from its exit code."""
    if exitcode is None or exitcode >= 0:
        return (
            f"worker process exited with code {exitcode} (an error outside the unit, e.g. "
            "brainctrl failing to import in the worker; its traceback is on the console)"
        )
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    description = (signal.strsignal(number) or "").lower()
    if number == getattr(signal, "SIGKILL", None):
        description += ", e.g. out of memory"
    return f"worker process died (signal {number}, {name}: {description})"


def _worker_main(connection, func):
    """Loop of one worker process: receive an item, send back its outcome.

    Outcomes are ``("done", result)`` or ``("raised", text)``; ``None``
    received (or the parent gone) ends the loop.
    """
    while True:
        try:
            item = connection.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            outcome = ("done", func(item))
        except Exception as exc:
            outcome = ("raised", f"the unit raised {_exception_text(exc)}")
        try:
            connection.send(outcome)
        except (EOFError, OSError):
            return
        except Exception as exc:  # the result does not pickle
            connection.send(("raised", f"its result cannot be sent back: {_exception_text(exc)}"))


class _Worker:
    """One worker process, its pipe and the item it is running (or None)."""

    def __init__(self, context, func):
        self.connection, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker_main, args=(child, func), name="brainctrl worker", daemon=False
        )
        self.process.start()
        child.close()
        self.item = None

    def give(self, item):
        self.item = item
        try:
            self.connection.send(item)
        except (BrokenPipeError, ConnectionResetError):
            pass  # died while idle: collect() reports it for this item

    def collect(self):
        """``(result, reason)`` of the running item, or None if not ended yet."""
        try:
            if self.connection.poll():
                kind, payload = self.connection.recv()
                return (payload, None) if kind == "done" else (None, payload)
        except (EOFError, OSError):
            pass  # the pipe closed: the process ended without an answer
        if self.process.is_alive():
            return None
        self.process.join()
        return None, _death_reason(self.process.exitcode)

    def stop(self, *, kill=False):
        if kill and self.process.is_alive():
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.connection.send(None)
        self.process.join(timeout=None if kill else 10)
        if self.process.is_alive():  # pragma: no cover - a unit ignoring the stop
            self.process.kill()
            self.process.join()
        self.connection.close()


def _process_context():
    """``forkserver`` (preloaded with what units import) where available, else ``spawn``.

    Neither copies this process's state (threads, open files, locks) into
    the workers, unlike ``fork``.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods() or sys.version_info < (3, 11):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(_PRELOAD))  # no effect once the server runs
    _start_forkserver()
    return context


def _start_forkserver():
    """Start the fork server with the installed brainctrl first on its path.

    The server is a ``python -c`` process, which puts the current folder first
    on ``sys.path``: started from the folder holding a source checkout
    (``./brainctrl``), its workers would import that folder instead of the
    installed package. ``PYTHONSAFEPATH`` (Python >= 3.11) leaves the current
    folder out; older Pythons use ``spawn`` instead (see
    :func:`_process_context`).
    """
    from multiprocessing import forkserver

    previous = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if previous is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = previous


def _process_map(func, items, n_workers):
    """``(item, result, reason)`` per item, from a pool of worker processes.

    The parent gives each worker one item at a time and watches both its pipe
    and its process: a worker that dies fails only the item it was running,
    and a new worker takes its place while items are left.
    """
    context = _process_context()
    pending = deque(items)
    busy = []
    try:
        for _ in range(min(n_workers, len(pending))):
            worker = _Worker(context, func)
            worker.give(pending.popleft())
            busy.append(worker)
        while busy:
            handles = [w.connection for w in busy] + [w.process.sentinel for w in busy]
            wait(handles)
            for worker in list(busy):
                outcome = worker.collect()
                if outcome is None:
                    continue
                item = worker.item
                result, reason = outcome
                if reason is not None and not worker.process.is_alive():
                    logger.debug("%s while running %r; starting another worker", reason, item)
                    busy.remove(worker)
                    worker.stop()
                    if pending:
                        worker = _Worker(context, func)
                        busy.append(worker)
                if pending:
                    worker.give(pending.popleft())
                elif worker in busy:
                    busy.remove(worker)
                    worker.stop()
                yield item, result, reason
    finally:
        for worker in busy:  # left early (an error, or the caller stopped)
            worker.stop(kill=True)


def _dask_map(func, items, executor):
    """``(item, result, reason)`` per item, from Dask futures.

    A task that fails (``func`` raised, or ``KilledWorker`` once the workers
    running it died ``distributed.scheduler.allowed-failures`` times) gives
    its item a reason; the other futures go on.
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "executor.kind 'dask' needs dask.distributed: pip install 'brainctrl[dask]'"
        ) from None
    environ = {name: os.environ.get(name) for name in _DASK_ENVIRON}
    cluster = None
    try:
        if executor.address:
            client = Client(executor.address)
        elif executor.cluster:
            cluster = _jobqueue_cluster(executor.cluster)
            client = Client(cluster)
        else:
            n_workers = executor.n_jobs if executor.n_jobs > 0 else os.cpu_count()
            # the scheduler's HTTP server (and dashboard) on any free port: its
            # default, 8787, is taken when another cluster runs on this machine
            cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = Client(cluster)
        logger.info("Dask client: %s", client)
        try:
            futures = client.map(func, items, pure=False, retries=executor.retries)
            item_of = {future.key: item for future, item in zip(futures, items)}
            for future in as_completed(futures):
                item = item_of[future.key]
                try:
                    result = future.result()
                except Exception as exc:
                    yield item, None, f"its Dask task failed: {_exception_text(exc)}"
                else:
                    yield item, result, None
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    finally:
        # the nanny sets these in this process too; leave the caller's as they were
        for name, value in environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
