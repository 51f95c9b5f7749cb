"""``run_pipeline``: every stage over a cohort, resumable, on any executor."""

import contextlib
import functools
import json
import logging
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from brainctrl import __version__
from brainctrl.pipeline import _store
from brainctrl.pipeline._config import PipelineConfig
from brainctrl.pipeline._executors import map_units, single_threaded
from brainctrl.pipeline._stages import process_run, run_seed, transition_energies

__all__ = ["run_pipeline", "pipeline_status"]

logger = logging.getLogger("brainctrl.pipeline")

RUN_SECTIONS = ("clean", "connectivity", "control", "graph", "multilayer", "random_state")
ENERGY_SECTIONS = ("clean", "connectivity", "control", "states", "random_state")


def _unit_key(spec):
    parts = [f"sub-{spec.subject}"]
    if getattr(spec, "session", None) is not None:
        parts.append(f"ses-{spec.session}")
    if getattr(spec, "run", None) is not None:
        parts.append(f"run-{spec.run}")
    return "_".join(parts)


@contextlib.contextmanager
def _unit_context(key, caught, *, level=logging.WARNING):
    """Single-threaded BLAS and OpenMP, and recorded warnings, for one unit of work.

    One thread per unit (:func:`single_threaded`) makes numbers independent of
    the executor (the order of floating-point reductions never changes) and
    leaves parallelism to the executor; the cohort stages run so too, since
    the energies of every run depend on the brain states they fit. Warnings
    (e.g. ill-conditioned Gramians) are logged at ``level`` with the unit's
    name and kept in its status record instead of being printed;
    :func:`_summarise_warnings` reports them once per stage.
    """
    with single_threaded(), warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = []
            for item in records:
                text = f"{item.category.__name__}: {item.message}"
                if text not in seen:
                    seen.append(text)
                    logger.log(level, "%s: %s", key, text)
            caught.extend(seen)


def _summarise_warnings(stage, records):
    """Log one line per warning category of a stage's units, not one per unit.

    Every unit's own warnings stay in its status record (``status.parquet``,
    column ``warnings``) and in the log file.
    """
    by_category = {}
    for record in records:
        for text in (record.get("warnings") or "").split(" | "):
            if text:
                category = text.split(":", 1)[0]
                by_category.setdefault(category, []).append((record["unit"], text))
    for category, hits in by_category.items():
        units = list(dict.fromkeys(unit for unit, _ in hits))
        unit, example = hits[0]
        logger.warning(
            "%s stage: %s in %d of %d unit(s); for example %s: %s "
            "(all of them: column 'warnings' of status.parquet)",
            stage,
            category,
            len(units),
            len(records),
            unit,
            example.split(": ", 1)[-1],
        )


def _record(out_dir, stage, spec, status, config_hash, seconds, error=None, caught=()):
    record = {
        "unit": _unit_key(spec),
        "stage": stage,
        "subject": str(spec.subject),
        "session": None if spec.session is None else str(spec.session),
        "run": None if spec.run is None else str(spec.run),
        "status": status,
        "error": error,
        "config_hash": config_hash,
        "seconds": round(seconds, 3),
        "warnings": " | ".join(caught) or None,
    }
    _store.record_status(out_dir, record)
    return record


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"


def _crash_record(spec, reason, *, out_dir, stage, config_hash):
    """Failed record of a unit that ended without one (``map_units``'s ``on_crash``).

    Its worker process died (killed, out of memory, a crash in compiled code)
    or its Dask task failed; how long it ran is not known (``seconds`` NaN).
    """
    key = _unit_key(spec)
    error = f"{reason} while running {key.replace('_', ' ')}"
    logger.error("%s %sfailed: %s", key, "" if stage == "run" else f"{stage} ", error)
    return _record(out_dir, stage, spec, "failed", config_hash, float("nan"), error)


def _run_unit(spec, *, manifest, config, out_dir, config_hash):
    """Worker: load, compute and write one run; never raises."""
    start = time.perf_counter()
    key = _unit_key(spec)
    folder = _store.unit_dir(out_dir, spec.subject)
    caught = []
    try:
        with _unit_context(key, caught, level=logging.DEBUG):
            run = manifest.load_run(spec)
            tables, arrays = process_run(run, config, run_seed(config.random_state, key))
            _store.write_npz(folder / f"{key}_matrices.npz", **arrays)
            _store.write_table(tables["globals"], folder / f"{key}_globals.parquet")
            _store.write_table(tables["measures"], folder / f"{key}_measures.parquet")
    except Exception as exc:  # a failed run is recorded, the others go on
        logger.error("%s failed: %s", key, _error_text(exc))
        logger.debug("%s", traceback.format_exc())
        return _record(
            out_dir,
            "run",
            spec,
            "failed",
            config_hash,
            time.perf_counter() - start,
            _error_text(exc),
            caught,
        )
    return _record(
        out_dir, "run", spec, "done", config_hash, time.perf_counter() - start, caught=caught
    )


def _energy_unit(spec, *, config, out_dir, config_hash, states, control_mask):
    """Worker: transition energies of one run; never raises."""
    start = time.perf_counter()
    key = _unit_key(spec)
    folder = _store.unit_dir(out_dir, spec.subject)
    caught = []
    try:
        with _unit_context(key, caught, level=logging.DEBUG):
            with np.load(folder / f"{key}_matrices.npz", allow_pickle=False) as data:
                timeseries = data["timeseries"].astype(float)
                static_fc = data["static_fc"].astype(float)
            table = transition_energies(timeseries, static_fc, states, control_mask, config)
            for column, value in (
                ("run", spec.run),
                ("session", spec.session),
                ("subject", spec.subject),
            ):
                table.insert(0, column, None if value is None else str(value))
            _store.write_table(table, folder / f"{key}_energy.parquet")
    except Exception as exc:
        logger.error("%s energy failed: %s", key, _error_text(exc))
        return _record(
            out_dir,
            "energy",
            spec,
            "failed",
            config_hash,
            time.perf_counter() - start,
            _error_text(exc),
            caught,
        )
    return _record(
        out_dir, "energy", spec, "done", config_hash, time.perf_counter() - start, caught=caught
    )


def _todo(specs, status, stage, config_hash, overwrite):
    if overwrite or status.empty:
        return list(specs)
    done = status[
        (status["stage"] == stage)
        & (status["status"] == "done")
        & (status["config_hash"] == config_hash)
    ]["unit"]
    done = set(done)
    return [spec for spec in specs if _unit_key(spec) not in done]


def _setup_output(out_dir, config):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(exist_ok=True)
    handler = logging.FileHandler(out_dir / "logs" / "brainctrl.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("brainctrl").addHandler(handler)
    _store.write_json(
        {
            "Name": "brainctrl derivatives",
            "GeneratedBy": [{"Name": "brainctrl", "Version": __version__}],
            "ConfigHash": config.section_hash(),
            "Manifest": config.manifest,
        },
        out_dir / "dataset_description.json",
    )
    with _store.atomic_path(out_dir / "config.yaml") as tmp:
        Path(tmp).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return handler


def _progress(total, label, verbose):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=label, unit="run")

    def update(record):
        bar.update(1)
        if record.get("status") == "failed":
            bar.write(f"{record['unit']}: {record['error']}")
        if bar.n >= total:
            bar.close()

    return update


def run_pipeline(
    config,
    *,
    out_dir=None,
    overwrite=False,
    participant_labels=None,
    group_only=False,
    verbose=True,
):
    """Run every stage of the pipeline over the cohort of a manifest.

    Parameters
    ----------
    config : PipelineConfig or str or path-like
        The configuration, or a YAML file holding it.
    out_dir : str or path-like, optional
        Output folder; defaults to ``config.output_dir``.
    overwrite : bool, default=False
        Redo finished units instead of skipping them.
    participant_labels : list of str, optional
        Only run the per-run stage of these subjects (SLURM-array mode); the
        cohort stages then run with ``group_only=True``.
    group_only : bool, default=False
        Skip the per-run stage and run the cohort stages on what is done.
    verbose : bool, default=True
        Progress bars and informational logging.

    Returns
    -------
    status : DataFrame
        One row per unit and stage with ``status`` ``done`` or ``failed``
        (and its error); also written to ``OUT/status.parquet``.

    Raises
    ------
    LockedOutputError
        When another run uses ``out_dir``: a run of every stage (or of the
        cohort stages) needs it alone; runs with ``participant_labels`` share
        it, each holding its subjects alone. The message names the other run
        (host, pid, command, since when).
    """
    from brainctrl.io import load_manifest

    if not isinstance(config, PipelineConfig):
        config = PipelineConfig.from_yaml(config)
    out_dir = Path(out_dir if out_dir is not None else (config.output_dir or "brainctrl_out"))
    # the folder alone, or shared by per-subject runs; removes stale temporary files
    lock = _store.lock_output(out_dir, subjects=None if group_only else participant_labels)
    try:
        handler = _setup_output(out_dir, config)
    except BaseException:
        lock.release()
        raise
    try:
        manifest = load_manifest(config.manifest)
        specs = list(manifest.runs())
        if participant_labels:
            wanted = {str(label).removeprefix("sub-") for label in participant_labels}
            unknown = wanted - {str(spec.subject) for spec in specs}
            if unknown:
                logger.warning("participant label(s) not in the manifest: %s", sorted(unknown))
            specs = [spec for spec in specs if str(spec.subject) in wanted]

        status = _store.read_status(out_dir)
        if not group_only:
            run_hash = config.section_hash(*RUN_SECTIONS)
            todo = _todo(specs, status, "run", run_hash, overwrite)
            logger.info(
                "per-run stage: %d to do, %d already done", len(todo), len(specs) - len(todo)
            )
            worker = functools.partial(
                _run_unit,
                manifest=manifest,
                config=config,
                out_dir=out_dir,
                config_hash=run_hash,
            )
            crashed = functools.partial(
                _crash_record, out_dir=out_dir, stage="run", config_hash=run_hash
            )
            records = list(
                map_units(
                    worker,
                    todo,
                    config.executor,
                    progress=_progress(len(todo), "runs", verbose),
                    on_crash=crashed,
                )
            )
            _summarise_warnings("per-run", records)
        if participant_labels and not group_only:
            return _store.write_status_table(out_dir)

        caught = []
        with _unit_context("cohort stages", caught):
            _cohort_stages(manifest, config, out_dir, overwrite, verbose)
        return _store.write_status_table(out_dir)
    finally:
        logging.getLogger("brainctrl").removeHandler(handler)
        handler.close()
        lock.release()


def _done_specs(manifest, out_dir, config):
    status = _store.read_status(out_dir)
    run_hash = config.section_hash(*RUN_SECTIONS)
    done = set(
        status[
            (status["stage"] == "run")
            & (status["status"] == "done")
            & (status["config_hash"] == run_hash)
        ]["unit"]
    )
    return [spec for spec in manifest.runs() if _unit_key(spec) in done]


def _cohort_stages(manifest, config, out_dir, overwrite, verbose):
    from brainctrl.pipeline._group import fit_states, group_statistics, regions_in_run_order
    from brainctrl.pipeline._report import write_report

    specs = _done_specs(manifest, out_dir, config)
    if not specs:
        logger.error("no run finished; skipping the cohort stages")
        return
    group_dir = out_dir / "group"
    regions = regions_in_run_order(manifest, specs)
    states = fit_states(specs, manifest, config, out_dir, _unit_key)
    if config.control.energy:
        from brainctrl.control import control_set

        mask = np.asarray(_control_mask(regions, config.control.control_set, control_set))
        energy_hash = config.section_hash(*ENERGY_SECTIONS) + states["hash"]
        status = _store.read_status(out_dir)
        todo = _todo(specs, status, "energy", energy_hash, overwrite)
        worker = functools.partial(
            _energy_unit,
            config=config,
            out_dir=out_dir,
            config_hash=energy_hash,
            states=states["activity_centroids"],
            control_mask=mask,
        )
        crashed = functools.partial(
            _crash_record, out_dir=out_dir, stage="energy", config_hash=energy_hash
        )
        records = list(
            map_units(
                worker,
                todo,
                config.executor,
                progress=_progress(len(todo), "energies", verbose),
                on_crash=crashed,
            )
        )
        _summarise_warnings("energy", records)
    start = time.perf_counter()
    tables = group_statistics(specs, manifest, config, out_dir, _unit_key, states, regions)
    write_report(out_dir, config, tables)
    with _store.atomic_path(group_dir / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(tables.get("summary", {}), indent=2, default=str))
    errors = tables.get("summary", {}).get("errors", {})
    _store.record_status(
        out_dir,
        {
            "unit": "cohort",
            "stage": "group",
            "status": "failed" if errors else "done",
            "error": " | ".join(f"{k}: {v}" for k, v in errors.items()) or None,
            "config_hash": config.section_hash(),
            "seconds": round(time.perf_counter() - start, 3),
        },
    )


def _control_mask(regions, control, control_set):
    if control == "all":
        return np.ones(len(regions), dtype=bool)
    return control_set(regions, network=control)


def pipeline_status(out_dir):
    """Summarise an output folder: counts per stage and status, and the failures."""
    out_dir = Path(out_dir)
    table = _store.read_status(out_dir)
    if table.empty and (out_dir / "status.parquet").exists():
        table = pd.read_parquet(out_dir / "status.parquet")
    if table.empty:
        return table, pd.DataFrame()
    counts = table.groupby(["stage", "status"]).size().unstack(fill_value=0)
    return counts, table[table["status"] == "failed"]
