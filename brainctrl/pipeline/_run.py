"""``run_pipeline``: every stage over a cohort, resumable, on any executor."""

import contextlib
import functools
import hashlib
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
from brainctrl.pipeline import _inputs, _store
from brainctrl.pipeline._config import PipelineConfig
from brainctrl.pipeline._executors import map_units, single_threaded
from brainctrl.pipeline._stages import process_run, run_seed, transition_energies

__all__ = ["run_pipeline", "pipeline_status"]

logger = logging.getLogger("brainctrl.pipeline")

# config keys each stage's results depend on: a change elsewhere keeps them
RUN_KEYS = (
    "clean",
    "connectivity",
    "control.horizon",
    "control.per_window",
    "control.system_from",
    "control.structural_scale",
    "graph",
    "multilayer",
    "random_state",
)
ENERGY_KEYS = ("connectivity", "control", "random_state")


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


def _record(out_dir, stage, spec, status, config_hash, seconds, error=None, caught=(), **extra):
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
        **extra,
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


def _loader_identity(manifest, spec):
    """Manifest settings that change what a run's loader returns (besides file contents)."""
    return {
        "layout": manifest.layout,
        "t_r": manifest.t_r,
        "strategy": (manifest.confounds or {}).get("strategy"),
        "task": manifest.task,
        "space": manifest.space,
        "options": getattr(spec, "read_options", None),
        "structural_options": getattr(manifest, "structural_options", None) or None,
    }


def _fingerprint(manifest, spec, known=None):
    """Fingerprints of a run's input files and their combined hash."""
    prints = _inputs.fingerprint(_inputs.input_files(spec), known)
    return prints, _inputs.inputs_hash(prints, _loader_identity(manifest, spec))


def _run_outputs(folder, key, spec=None):
    arrays = ("static_fc", "dynamic_fc", "timeseries")
    if spec is not None and "timeseries" not in spec.paths:
        arrays = ("structural",)  # a connectivity matrix alone
    return {
        folder / f"{key}_matrices.npz": arrays,
        folder / f"{key}_globals.parquet": None,
        folder / f"{key}_measures.parquet": None,
    }


def _energy_outputs(folder, key):
    return {folder / f"{key}_energy.parquet": None}


def _write_unit(folder, key, tables, arrays):
    _store.write_npz(folder / f"{key}_matrices.npz", **arrays)
    _store.write_table(tables["globals"], folder / f"{key}_globals.parquet")
    _store.write_table(tables["measures"], folder / f"{key}_measures.parquet")


def _run_unit(spec, *, manifest, config, out_dir, config_hash, reference):
    """Worker: load, compute and write one run; never raises."""
    from brainctrl.pipeline._stages import conform_regions, process_structural

    start = time.perf_counter()
    key = _unit_key(spec)
    folder = _store.unit_dir(out_dir, spec.subject)
    caught = []
    prints = digest = None
    try:
        with _unit_context(key, caught, level=logging.DEBUG):
            previous = _store.read_record(out_dir, "run", key) or {}
            prints, digest = _fingerprint(manifest, spec, previous.get("inputs"))
            seed = run_seed(config.random_state, key)
            if "timeseries" not in spec.paths:  # a connectivity matrix alone
                matrix = manifest.load_structural(spec, names=reference)
                tables, arrays = process_structural(spec, matrix, reference, config, seed)
            else:
                run = conform_regions(manifest.load_run(spec), reference)
                structural = None
                if config.control.system_from == "structural":
                    structural = manifest.load_structural(spec, names=reference)
                tables, arrays = process_run(run, config, seed, structural)
            _write_unit(folder, key, tables, arrays)
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
            inputs=prints,
            inputs_hash=digest,
        )
    return _record(
        out_dir,
        "run",
        spec,
        "done",
        config_hash,
        time.perf_counter() - start,
        caught=caught,
        inputs=prints,
        inputs_hash=digest,
    )


def _energy_unit(
    spec, *, config, out_dir, config_hash, run_keys, states, design, state_names=None
):
    """Worker: transition energies of one run; never raises."""
    start = time.perf_counter()
    key = _unit_key(spec)
    folder = _store.unit_dir(out_dir, spec.subject)
    caught = []
    try:
        with _unit_context(key, caught, level=logging.DEBUG):
            with np.load(folder / f"{key}_matrices.npz", allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            timeseries = arrays.get("timeseries")
            static_fc = arrays.get("static_fc")
            structural = arrays.get("structural")
            table = transition_energies(timeseries, static_fc, states, design, config, structural)
            if state_names is not None:  # states named after networks
                names = np.asarray(state_names, dtype=object)
                at = table.columns.get_loc("to_state")
                table.insert(at + 1, "to_name", names[table["to_state"]])
                table.insert(at, "from_name", names[table["from_state"]])
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
            inputs_hash=run_keys[key],
        )
    return _record(
        out_dir,
        "energy",
        spec,
        "done",
        config_hash,
        time.perf_counter() - start,
        caught=caught,
        inputs_hash=run_keys[key],
    )


def _run_key(record):
    """What a run's results depend on: its config sections and its inputs."""
    return f"{record.get('config_hash')}:{record.get('inputs_hash')}"


def _stale_runs(specs, manifest, out_dir, config_hash, overwrite):
    """Split runs into (to do, reasons) and done; a done run must still be valid.

    A finished run is redone when its config sections changed, when the content
    of one of its input files changed (or the loader's settings), or when one of
    its outputs is missing or unreadable.
    """
    from concurrent.futures import ThreadPoolExecutor

    records = _store.read_records(out_dir, "run")

    def check(spec):
        key = _unit_key(spec)
        record = records.get(key)
        if overwrite:
            return "--overwrite"
        if record is None:
            return "new"
        if record.get("status") != "done":
            return "failed before"
        if record.get("config_hash") != config_hash:
            return "config changed"
        prints, digest = _fingerprint(manifest, spec, record.get("inputs"))
        if digest != record.get("inputs_hash"):
            old = record.get("inputs") or {}
            changed = [
                role
                for role in sorted(set(prints) | set(old))
                if (prints.get(role) or {}).get("digest") != (old.get(role) or {}).get("digest")
            ]
            return f"input changed: {', '.join(changed) or 'loader settings'}"
        folder = _store.unit_dir(out_dir, spec.subject)
        return _inputs.outputs_problem(_run_outputs(folder, key, spec))

    with ThreadPoolExecutor(max_workers=4) as pool:
        reasons = list(pool.map(check, specs))
    todo = [(spec, reason) for spec, reason in zip(specs, reasons) if reason]
    return todo


def _stale_energies(specs, out_dir, config_hash, run_keys, overwrite):
    records = _store.read_records(out_dir, "energy")
    todo = []
    for spec in specs:
        key = _unit_key(spec)
        record = records.get(key)
        if overwrite or record is None or record.get("status") != "done":
            reason = "--overwrite" if overwrite else "new" if record is None else "failed before"
        elif record.get("config_hash") != config_hash:
            reason = "config or brain states changed"
        elif record.get("inputs_hash") != run_keys[key]:
            reason = "its run was recomputed"
        else:
            folder = _store.unit_dir(out_dir, spec.subject)
            reason = _inputs.outputs_problem(_energy_outputs(folder, key))
        if reason:
            todo.append((spec, reason))
    return todo


def _map_stage(stage, worker, todo, config, out_dir, config_hash, verbose):
    """Run one stage's units on the configured executor; a lost unit is recorded failed."""
    crashed = functools.partial(
        _crash_record, out_dir=out_dir, stage=stage, config_hash=config_hash
    )
    records = list(
        map_units(
            worker,
            [spec for spec, _ in todo],
            config.executor,
            progress=_progress(len(todo), "runs" if stage == "run" else "energies", verbose),
            on_crash=crashed,
        )
    )
    _summarise_warnings("per-run" if stage == "run" else stage, records)


def _log_todo(stage, todo, n_total):
    counts = {}
    for spec, reason in todo:
        counts[reason] = counts.get(reason, 0) + 1
        if reason not in ("new", "--overwrite"):
            logger.info("%s: %s stage redone (%s)", _unit_key(spec), stage, reason)
    detail = ", ".join(f"{n} {reason}" for reason, n in counts.items())
    logger.info(
        "%s stage: %d to do%s, %d already done",
        stage,
        len(todo),
        f" ({detail})" if detail else "",
        n_total - len(todo),
    )


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
    if not verbose or not total:
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

    Before any computation the config is checked against the data (the
    cohort's first run, its region table and the phenotype table; see
    :func:`brainctrl.pipeline.check_dataset`): an error stops the run.

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
        One row per unit and stage with ``status`` ``done``, ``failed`` (and
        its error) or ``skipped`` (and its reason); also written to
        ``OUT/status.parquet``.

    Raises
    ------
    PreflightError
        When the config does not fit the data (nothing is computed); it lists
        every problem found.
    LockedOutputError
        When another run uses ``out_dir``: a run of every stage (or of the
        cohort stages) needs it alone; runs with ``participant_labels`` share
        it, each holding its subjects alone. The message names the other run
        (host, pid, command, since when).
    """
    from brainctrl.io import load_manifest
    from brainctrl.pipeline._preflight import preflight

    if not isinstance(config, PipelineConfig):
        config = PipelineConfig.from_yaml(config)
    manifest = load_manifest(config.manifest)
    checks, summaries = preflight(manifest, config, load="first")
    reference, regions = summaries[0].names, summaries[0].regions
    out_dir = Path(out_dir if out_dir is not None else (config.output_dir or "brainctrl_out"))
    # the folder alone, or shared by per-subject runs; removes stale temporary files
    lock = _store.lock_output(out_dir, subjects=None if group_only else participant_labels)
    try:
        handler = _setup_output(out_dir, config)
    except BaseException:
        lock.release()
        raise
    for problem in checks:
        logger.warning("%s", problem.message)
    try:
        specs = list(manifest.runs())
        if participant_labels:
            wanted = {str(label).removeprefix("sub-") for label in participant_labels}
            unknown = wanted - {str(spec.subject) for spec in specs}
            if unknown:
                logger.warning("participant label(s) not in the manifest: %s", sorted(unknown))
            specs = [spec for spec in specs if str(spec.subject) in wanted]

        if not group_only:
            run_hash = config.section_hash(*RUN_KEYS)
            todo = _stale_runs(specs, manifest, out_dir, run_hash, overwrite)
            _log_todo("per-run", todo, len(specs))
            worker = functools.partial(
                _run_unit,
                manifest=manifest,
                config=config,
                out_dir=out_dir,
                config_hash=run_hash,
                reference=reference,
            )
            _map_stage("run", worker, todo, config, out_dir, run_hash, verbose)
        if participant_labels and not group_only:
            return _store.write_status_table(out_dir)

        caught = []
        with _unit_context("cohort stages", caught):
            _cohort_stages(manifest, config, out_dir, overwrite, verbose, regions, checks)
        return _store.write_status_table(out_dir)
    finally:
        logging.getLogger("brainctrl").removeHandler(handler)
        handler.close()
        lock.release()


def _done_runs(manifest, out_dir, config):
    """Runs finished under the current config and still valid, with their keys.

    A run recorded as done whose inputs changed since (or whose outputs are
    gone) is left out with a warning: after ``--participant-label`` jobs, a
    ``--group`` job never mixes in stale results.
    """
    records = _store.read_records(out_dir, "run")
    run_hash = config.section_hash(*RUN_KEYS)
    specs = manifest.runs()
    stale = dict(
        (_unit_key(spec), reason)
        for spec, reason in _stale_runs(specs, manifest, out_dir, run_hash, overwrite=False)
    )
    done, keys = [], {}
    for spec in specs:
        key = _unit_key(spec)
        record = records.get(key)
        if record is None or record.get("status") != "done":
            continue
        if key in stale:
            logger.warning(
                "%s: left out of the cohort stages (%s since it was computed); run its "
                "per-run stage again",
                key,
                stale[key],
            )
            continue
        done.append(spec)
        keys[key] = _run_key(record)
    return done, keys


def _group_key(manifest, config, run_keys, out_dir, states_hash):
    """What the group stage depends on: every input it reads and the whole config."""
    phenotype = None
    if manifest.phenotype:
        path = manifest.resolve(manifest.phenotype["path"], what="phenotype.path")
        prints = _inputs.fingerprint({"phenotype": path})
        phenotype = [prints["phenotype"]["digest"], manifest.phenotype]
    energies = sorted(
        (unit, record.get("status"), record.get("config_hash"), record.get("inputs_hash"))
        for unit, record in _store.read_records(out_dir, "energy").items()
        if unit in run_keys
    )
    text = json.dumps(
        [
            __version__,
            config.section_hash(),
            sorted(run_keys.items()),
            energies,
            phenotype,
            states_hash,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cohort_stages(manifest, config, out_dir, overwrite, verbose, regions, checks=()):
    from brainctrl.pipeline._group import (
        Sections,
        fit_states,
        group_statistics,
        network_states,
    )
    from brainctrl.pipeline._report import write_report

    specs, run_keys = _done_runs(manifest, out_dir, config)
    group_dir = out_dir / "group"
    start = time.perf_counter()
    sections = Sections()
    if not specs:
        logger.error("no run finished; skipping the cohort stages")
        with sections.guard("cohort stages"):
            sections.skip("no run finished (see the failed runs)")
        _record_sections(out_dir, sections, None, start)
        write_report(
            out_dir, config, {"sections": sections.report, "summary": {}, "checks": checks}
        )
        return
    states = energy_error = None
    if manifest.structural_only:
        # no time series: transitions run between the networks of the region table
        states = network_states(regions)
        if len(states["names"]) < 2:
            states = None
    else:
        with sections.guard("brain states"):
            states = fit_states(specs, manifest, config, out_dir, _unit_key, run_keys)
    if config.control.energy and states is not None:
        try:
            _energy_stage(specs, run_keys, states, regions, config, out_dir, overwrite, verbose)
        except Exception as exc:  # recorded as the 'transition energy' section's failure
            energy_error = f"{type(exc).__name__}: {exc}"
            logger.error("energy stage failed: %s", energy_error)
    group_key = _group_key(
        manifest, config, run_keys, out_dir, None if states is None else states["hash"]
    )
    previous = _store.read_records(out_dir, "group")
    if (
        not overwrite
        and previous
        and all(record.get("config_hash") == group_key for record in previous.values())
        and (out_dir / "report.html").is_file()
        and (group_dir / "summary.json").is_file()
    ):
        logger.info("group stage: inputs and config unchanged; reusing its results")
        return
    tables = group_statistics(
        specs,
        manifest,
        config,
        out_dir,
        _unit_key,
        states,
        regions,
        sections,
        energy_error=energy_error,
    )
    with _store.atomic_path(group_dir / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(tables.get("summary", {}), indent=2, default=str))
    _record_sections(out_dir, sections, group_key, start)
    write_report(out_dir, config, {**tables, "checks": checks})


def _energy_stage(specs, run_keys, states, regions, config, out_dir, overwrite, verbose):
    """Transition energies of every finished run whose energies are missing or stale."""
    from brainctrl.pipeline._group import energy_design

    design, conditioning = energy_design(specs, config, out_dir, _unit_key, regions)
    group_dir = out_dir / "group"
    _store.write_table(conditioning, group_dir / "energy_conditioning.parquet")
    _store.write_json(
        {
            "control_set": config.control.control_set,
            "epsilon": design["epsilon"],
            "epsilon_chosen": config.control.epsilon == "auto",
            "epsilon_met_target": design["epsilon_met_target"],
            "random_sets_note": design["random_sets_note"],
            "random_sets": [
                regions["name"].astype(str)[row].tolist() for row in design["random_sets"]
            ],
        },
        group_dir / "energy_design.json",
    )
    energy_hash = config.section_hash(*ENERGY_KEYS) + states["hash"] + design["hash"]
    todo = _stale_energies(specs, out_dir, energy_hash, run_keys, overwrite)
    _log_todo("energy", todo, len(specs))
    worker = functools.partial(
        _energy_unit,
        config=config,
        out_dir=out_dir,
        config_hash=energy_hash,
        run_keys=run_keys,
        states=states["activity_centroids"],
        state_names=states.get("names"),
        design=design,
    )
    _map_stage("energy", worker, todo, config, out_dir, energy_hash, verbose)


def _record_sections(out_dir, sections, group_key, start):
    """One status record per group section: done, failed (error) or skipped (reason)."""
    _store.remove_records(out_dir, "group")
    seconds = round(time.perf_counter() - start, 3)
    for outcome in sections.outcomes:
        _store.record_status(
            out_dir,
            {
                "unit": outcome["slug"],
                "stage": "group",
                "subject": None,
                "status": outcome["status"],
                "error": outcome.get("error"),
                "reason": outcome.get("reason"),
                "warnings": " | ".join(outcome.get("warnings", ())) or None,
                "config_hash": group_key,
                "seconds": seconds,
            },
        )


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
