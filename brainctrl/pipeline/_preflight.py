"""Checks of a dataset and a pipeline config against each other, before computing.

``brainctrl validate MANIFEST [--config CONFIG]`` reads every run through the
loader ``brainctrl run`` uses and checks the config against what it finds;
``brainctrl run`` makes the same config checks on the cohort's first run, the
region table and the phenotype table before any computation and stops with
every problem listed when one is an error. Each problem is one line:

- ``error``: the config cannot work with this dataset (a control set that is
  not a network of the region table, a phenotype column that does not exist,
  more brain states than windows, ...), or a run cannot be read;
- ``warning``: the run goes on without something, and says so (a subject with
  no phenotype row is left out of the group statistics, a section with too
  few subjects is skipped and named in the report).
"""

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from brainctrl.exceptions import BrainctrlError, ConfigError

__all__ = [
    "PreflightError",
    "Problem",
    "RunSummary",
    "check_config",
    "check_dataset",
    "check_runs",
    "preflight",
    "regional_measures",
    "summarise_runs",
]

logger = logging.getLogger("brainctrl.pipeline")

#: Fewest subjects the sparse CCA section runs with.
MIN_CCA_SUBJECTS = 10
#: Residual degrees of freedom below which group statistics carry a warning.
MIN_RESIDUAL_DF = 10
#: Fewest subjects per test fold of the behaviour prediction: the correlation of
#: two predictions with two scores is ±1 whatever the model, so each fold's r needs
#: three at least (and is still noisy with few; prefer 10 or more per fold).
MIN_TEST_FOLD = 3


@dataclass(frozen=True)
class Problem:
    """One finding of the checks: ``level`` is ``"error"`` or ``"warning"``."""

    level: str
    message: str

    def __str__(self):
        return f"{self.level}: {self.message}"


class PreflightError(ConfigError):
    """The config and the dataset do not fit; ``problems`` lists every finding."""

    def __init__(self, problems, source=None):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.level == "error"]
        where = f" ({source})" if source else ""
        super().__init__(
            f"{len(errors)} problem(s) found before computing anything{where}:\n"
            + "\n".join(str(p) for p in self.problems)
        )


@dataclass
class RunSummary:
    """What the checks need of one loaded run (or why it could not be loaded)."""

    spec: object
    n_timepoints: int = 0
    names: list = field(default_factory=list)
    networks: list = field(default_factory=list)
    confounds: list | None = None
    error: str | None = None
    regions: pd.DataFrame | None = None
    structural_error: str | None = None


def _summarise(manifest, spec):
    if "timeseries" not in spec.paths:  # a cohort of connectivity matrices only
        try:
            matrix = manifest.load_structural(spec)
            regions = manifest.regions() if "regions" in spec.paths else None
        except (BrainctrlError, OSError, ValueError) as exc:
            return RunSummary(spec, error=str(exc))
        if regions is None:
            from brainctrl.io._rundata import default_regions

            regions = default_regions(len(matrix))
        return RunSummary(
            spec,
            names=regions["name"].astype(str).tolist(),
            networks=regions["network"].astype(str).tolist(),
            regions=regions,
        )
    try:
        run = manifest.load_run(spec)
    except (BrainctrlError, OSError, ValueError) as exc:
        return RunSummary(spec, error=str(exc))
    structural_error = None
    if "structural" in spec.paths:
        try:
            manifest.load_structural(spec, names=run.regions["name"].astype(str).tolist())
        except (BrainctrlError, OSError, ValueError) as exc:
            structural_error = str(exc)
    return RunSummary(
        spec,
        n_timepoints=run.n_timepoints,
        names=run.regions["name"].astype(str).tolist(),
        networks=run.regions["network"].astype(str).tolist(),
        confounds=None if run.confounds is None else [str(c) for c in run.confounds.columns],
        regions=run.regions,
        structural_error=structural_error,
    )


def summarise_runs(manifest, specs, *, n_jobs=1):
    """Load each run with the pipeline's loader and summarise it.

    Parameters
    ----------
    manifest : Manifest
    specs : list of RunSpec
    n_jobs : int, default=1
        Runs loaded in parallel (processes; -1: all cores).

    Returns
    -------
    list of RunSummary
        In the order of ``specs``; a run that cannot be read has ``error`` set.
    """
    if n_jobs == 1 or len(specs) < 2:
        return [_summarise(manifest, spec) for spec in specs]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(_summarise)(manifest, spec) for spec in specs)


def regional_measures(config, *, structural_only=False):
    """Names of the per-region measures the per-run stage writes under ``config``.

    ``structural_only``: for a cohort of connectivity matrices without time
    series (no multilayer communities over windows).
    """
    from brainctrl.graph import graph_measures

    names = [
        "average_controllability",
        "modal_controllability",
        "average_controllability_continuous",
    ]
    toy = np.array([[0, 0.5, -0.2, 0.1], [0.5, 0, 0.3, 0], [-0.2, 0.3, 0, 0.4], [0.1, 0, 0.4, 0]])
    names += list(graph_measures(toy, np.array([0, 0, 1, 1])).columns)
    if config.multilayer.enabled and not structural_only:
        names += ["flexibility", "promiscuity", "recruitment", "integration"]
    return names


def _n_windows(n_frames, window, step):
    return 0 if n_frames < window else (n_frames - window) // step + 1


def check_runs(summaries, config=None):
    """Problems of individual runs: unreadable, too short, regions that differ.

    The first readable run is the cohort's reference: every other run must
    have the same regions (in any order; the pipeline puts them in the
    reference's order).
    """
    problems = []
    loaded = [s for s in summaries if s.error is None]
    for summary in summaries:
        if summary.error is not None:
            problems.append(Problem("error", _with_run(summary.spec, summary.error)))
    if not loaded:
        return problems
    reference = loaded[0]
    for summary in loaded[1:]:
        if summary.names != reference.names and set(summary.names) != set(reference.names):
            missing = sorted(set(reference.names) - set(summary.names))
            extra = sorted(set(summary.names) - set(reference.names))
            problems.append(
                Problem(
                    "error",
                    _with_run(
                        summary.spec,
                        f"its {len(summary.names)} regions differ from the cohort's "
                        f"({len(reference.names)} regions of {reference.spec.describe()}): "
                        f"missing {missing[:5]}, extra {extra[:5]}.",
                    ),
                )
            )
    if config is None:
        return problems
    cc, clean = config.connectivity, config.clean
    for summary in loaded:
        if "timeseries" not in summary.spec.paths:
            continue  # a connectivity matrix alone: no frames, windows or confounds
        frames = summary.n_timepoints - clean.discard_initial
        if frames < cc.window_length:
            problems.append(
                Problem(
                    "error",
                    _with_run(
                        summary.spec,
                        f"{frames} frames (after clean.discard_initial = "
                        f"{clean.discard_initial}) are fewer than connectivity.window_length "
                        f"= {cc.window_length}.",
                    ),
                )
            )
            continue
        if config.multilayer.enabled:
            windows = _n_windows(frames, cc.window_length, cc.step)
            stride = config.multilayer.window_stride or -(-cc.window_length // cc.step)
            layers = -(-windows // stride)
            if layers < 2:
                problems.append(
                    Problem(
                        "error",
                        _with_run(
                            summary.spec,
                            f"{frames} frames give {layers} multilayer layer(s) (window "
                            f"{cc.window_length}, step {cc.step}, every {stride}th window); "
                            "multilayer communities need at least 2. Shorten the window, "
                            "set multilayer.window_stride, or multilayer.enabled: false.",
                        ),
                    )
                )
        if clean.confounds:
            available = summary.confounds or []
            absent = [c for c in clean.confounds if c not in available]
            if absent:
                problems.append(
                    Problem(
                        "error",
                        _with_run(
                            summary.spec,
                            f"clean.confounds names {absent}, not in the run's confounds "
                            + (f"(columns: {available[:20]})." if available else "(it has none)."),
                        ),
                    )
                )
    return problems


def _with_run(spec, message):
    described = spec.describe()
    return message if message.startswith(described.split(",")[0]) else f"{described}: {message}"


def _phenotype(manifest, problems):
    """The phenotype table indexed by subject, or None (with the reason in problems).

    Columns the manifest names but the table lacks are reported here; the
    table is still returned, so the config's own columns get checked too.
    """
    from brainctrl.io import load_phenotype

    path = manifest.resolve(manifest.phenotype["path"], what="phenotype.path")
    try:
        table = load_phenotype(path, id_column=manifest.phenotype.get("id_column", "subject"))
    except (BrainctrlError, OSError, ValueError) as exc:
        problems.append(Problem("error", f"phenotype: {exc}"))
        return None
    absent = [c for c in manifest.phenotype_columns() if c not in table.columns]
    if absent:
        problems.append(
            Problem(
                "error",
                f"phenotype: the manifest's phenotype section names {absent}, not columns of "
                f"'{manifest.phenotype['path']}'; columns: {list(table.columns)[:30]}.",
            )
        )
    table = table.copy()
    if "subject" in table.columns:
        table["subject"] = table["subject"].astype(str)
        table = table.set_index("subject")
    table.index = table.index.astype(str)
    return table


def _design_columns(table, covariates):
    """Number of design columns the covariates add (text columns dummy-coded)."""
    n = 0
    for name in covariates:
        values = table[name].dropna()
        if pd.api.types.is_numeric_dtype(values):
            n += 1
        else:
            n += max(values.nunique() - 1, 0)
    return n


def _names(values, limit=10):
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def check_config(manifest, config, summaries, subjects, *, n_runs=None):
    """Problems of a config on a dataset: control set, phenotype, design sizes, states.

    Parameters
    ----------
    manifest : Manifest
    config : PipelineConfig
    summaries : list of RunSummary
        Loaded runs (all of them, or the cohort's first run only).
    subjects : list of str
        The cohort's subjects with data.
    n_runs : int, optional
        Number of runs in the cohort when ``summaries`` holds only some of them
        (window counts are then estimated from those).
    """
    problems = []
    loaded = [s for s in summaries if s.error is None]
    ctl, sc, cc = config.control, config.stats, config.connectivity
    if ctl.system_from == "structural" and manifest.structural is None:
        problems.append(
            Problem(
                "error",
                "config key 'control.system_from' is 'structural', but the manifest has no "
                "'structural' key naming each subject's connectivity matrix (see "
                "data_manifests/README.md).",
            )
        )
    structural_only = getattr(manifest, "structural_only", False)
    if structural_only and ctl.system_from != "structural":
        problems.append(
            Problem(
                "error",
                "the manifest lists connectivity matrices only ('structural', no "
                "'timeseries'): set config key 'control.system_from' to 'structural' (it is "
                f"{ctl.system_from!r}).",
            )
        )
    seen = set()
    for summary in loaded:
        if summary.structural_error and summary.structural_error not in seen:
            seen.add(summary.structural_error)
            problems.append(
                Problem(
                    "error" if ctl.system_from == "structural" else "warning",
                    f"{summary.spec.describe()}: connectivity matrix: {summary.structural_error}",
                )
            )
    if loaded:
        if ctl.energy and ctl.control_set != "all":
            for summary in loaded:
                if ctl.control_set not in summary.networks:
                    own = sorted(set(summary.networks))
                    hint = (
                        " The region table has no network names: add parcellation.regions "
                        "(a table with a 'network' column) to the manifest, or use 'all'."
                        if own == ["unknown"]
                        else ""
                    )
                    problems.append(
                        Problem(
                            "error",
                            f"config key 'control.control_set' is {ctl.control_set!r}, which "
                            f"is not a network of the region table of "
                            f"{summary.spec.describe()}; its networks: {own}, or 'all' for every "
                            f"region.{hint}",
                        )
                    )
                    break
    if loaded and not structural_only:
        # brain states need windows (and activity states frames) to cluster
        frames = [max(s.n_timepoints - config.clean.discard_initial, 0) for s in loaded]
        windows = [
            min(_n_windows(f, cc.window_length, cc.step), config.states.max_windows_per_run)
            for f in frames
        ]
        scale = 1.0 if n_runs is None else n_runs / len(loaded)
        total_windows, total_frames = sum(windows) * scale, sum(frames) * scale
        estimated = " (estimated from the first run)" if n_runs is not None else ""
        if config.states.n_states > total_windows:
            problems.append(
                Problem(
                    "error",
                    f"config key 'states.n_states' is {config.states.n_states}, more than the "
                    f"{int(total_windows)} sliding windows of the cohort{estimated}.",
                )
            )
        if config.states.n_activity_states > total_frames:
            problems.append(
                Problem(
                    "error",
                    f"config key 'states.n_activity_states' is "
                    f"{config.states.n_activity_states}, more than the {int(total_frames)} "
                    f"frames of the cohort{estimated}.",
                )
            )
    available = regional_measures(config, structural_only=structural_only)
    if loaded and sc.cca and sc.cca_measure not in available:
        problems.append(
            Problem(
                "error",
                f"config key 'stats.cca_measure' is {sc.cca_measure!r}, not a measure of "
                f"the per-run tables; available: {available}.",
            )
        )
    problems += _check_statistics(manifest, config, subjects)
    return problems


def _check_statistics(manifest, config, subjects):
    sc = None if config is None else config.stats
    problems = []
    if not manifest.phenotype:
        wants = {
            "group comparison": bool(sc and sc.group),
            "sparse CCA": bool(sc and sc.cca and sc.cca_scores),
            "behaviour prediction": bool(sc and sc.prediction and sc.scores),
        }
        asked = [name for name, wanted in wants.items() if wanted]
        if asked:
            problems.append(
                Problem(
                    "warning",
                    f"the manifest has no phenotype section: {', '.join(asked)} will be "
                    "skipped (add phenotype.path to the manifest, or turn them off in the "
                    "config's stats section).",
                )
            )
        return problems
    table = _phenotype(manifest, problems)
    if table is None:
        return problems
    absent = [s for s in subjects if s not in table.index]
    if absent:
        problems.append(
            Problem(
                "warning",
                f"{len(absent)} subject(s) have runs but no row in the phenotype table "
                f"'{manifest.phenotype['path']}' and are left out of the group statistics: "
                f"{_names(absent)}.",
            )
        )
    if manifest.subject_ids is None:
        # subjects were found on disk: one whose files are missing is simply not found
        unfound = sorted(set(table.index.astype(str)) - set(subjects))
        if unfound:
            problems.append(
                Problem(
                    "warning",
                    f"{len(unfound)} subject(s) of the phenotype table have no data under "
                    f"'{manifest.root}' and are not analysed: {_names(unfound)}. List "
                    "'subjects' in the manifest to have their missing files reported as "
                    "errors.",
                )
            )
    if sc is None:
        return problems
    columns = {"stats.group": [sc.group] if sc.group else []}
    columns["stats.covariates"] = list(sc.covariates)
    columns["stats.scores"] = list(sc.scores) if sc.prediction else []
    columns["stats.cca_scores"] = list(sc.cca_scores) if sc.cca else []
    missing_any = False
    for key, names in columns.items():
        missing = [name for name in names if name not in table.columns]
        if missing:
            missing_any = True
            problems.append(
                Problem(
                    "error",
                    f"config key '{key}' names {missing}, not columns of the phenotype table "
                    f"'{manifest.phenotype['path']}'; columns: {list(table.columns)[:30]}.",
                )
            )
    if sc.cca and len(sc.cca_scores) == 1:
        problems.append(
            Problem(
                "error",
                "config key 'stats.cca_scores' names one column; sparse CCA needs two or "
                "more (or set stats.cca: false).",
            )
        )
    if missing_any or not subjects:  # no subject with data: nothing to size a design on
        return problems
    present = table.loc[[s for s in subjects if s in table.index]]
    if sc.group:
        problems += _check_design(present, config)
    if sc.cca and len(sc.cca_scores) >= 2:
        complete = present[sc.cca_scores + list(sc.covariates)].dropna()
        if len(complete) < MIN_CCA_SUBJECTS:
            problems.append(
                Problem(
                    "warning",
                    f"sparse CCA will be skipped: {len(complete)} subject(s) have every "
                    f"score in stats.cca_scores and covariate; it needs {MIN_CCA_SUBJECTS}.",
                )
            )
    elif sc.cca and not sc.cca_scores:
        problems.append(
            Problem("warning", "sparse CCA will be skipped: stats.cca_scores is empty.")
        )
    if sc.prediction and sc.scores:
        complete = present[[sc.scores[0]] + list(sc.covariates)].dropna()
        if len(complete) < MIN_TEST_FOLD * sc.cv_folds:
            problems.append(
                Problem(
                    "warning",
                    f"behaviour prediction will be skipped: {len(complete)} subject(s) have "
                    f"'{sc.scores[0]}' and every covariate; {prediction_needs(sc.cv_folds)}.",
                )
            )
    elif sc.prediction:
        problems.append(
            Problem("warning", "behaviour prediction will be skipped: stats.scores is empty.")
        )
    return problems


def prediction_needs(cv_folds):
    """What the behaviour prediction needs, as its skip messages say it."""
    return (
        f"{cv_folds}-fold cross-validation (stats.cv_folds) needs {MIN_TEST_FOLD * cv_folds} "
        f"({MIN_TEST_FOLD} per test fold: the correlation of two predictions with two "
        "scores is ±1 whatever the model; lower stats.cv_folds for a small cohort)"
    )


def _check_design(present, config):
    sc = config.stats
    complete = present[[sc.group] + list(sc.covariates)].dropna()
    levels = sorted(complete[sc.group].astype(str).unique())
    if len(levels) != 2:
        return [
            Problem(
                "error",
                f"config key 'stats.group' is {sc.group!r}, a column with {len(levels)} "
                f"level(s) among the subjects with data ({levels[:10]}); the group "
                "comparison needs exactly two (or set stats.group: null).",
            )
        ]
    n_columns = 2 + _design_columns(complete, sc.covariates)
    df = len(complete) - n_columns
    counts = complete[sc.group].astype(str).value_counts()
    where = (
        f"{len(complete)} subjects with '{sc.group}' and every covariate "
        f"({', '.join(f'{k}: {v}' for k, v in counts.items())}), {n_columns} design columns"
    )
    if df < 1:
        return [
            Problem(
                "error",
                f"too few subjects for the group comparison: {where}, leaving {df} residual "
                "degrees of freedom.",
            )
        ]
    if df < MIN_RESIDUAL_DF:
        return [
            Problem(
                "warning",
                f"the group comparison has {df} residual degrees of freedom ({where}); "
                f"its results carry a warning below {MIN_RESIDUAL_DF}.",
            )
        ]
    return []


def preflight(manifest, config, *, load="first", n_jobs=1):
    """Every check before computing; raise when one is an error.

    Parameters
    ----------
    manifest : Manifest
    config : PipelineConfig
    load : {'first', 'all'}, default='first'
        Read the cohort's first run only (``brainctrl run``: the other runs are
        checked by their own unit, whose failure is recorded while the others
        go on), or every run (``brainctrl validate``).
    n_jobs : int, default=1
        Runs loaded in parallel with ``load='all'``.

    Returns
    -------
    problems : list of Problem
        The warnings (errors raise); the caller logs them.
    summaries : list of RunSummary

    Raises
    ------
    PreflightError
        When any problem is an error; it lists every problem.
    """
    problems, summaries = check_dataset(manifest, config, load=load, n_jobs=n_jobs)
    if any(p.level == "error" for p in problems):
        raise PreflightError(problems, source=config.source)
    return problems, summaries


def check_dataset(manifest, config=None, *, load="all", n_jobs=1):
    """Check a dataset, and a pipeline config against it, without computing anything.

    What ``brainctrl validate MANIFEST [--config CONFIG]`` prints.

    Parameters
    ----------
    manifest : Manifest
        From :func:`brainctrl.io.load_manifest`.
    config : PipelineConfig, optional
        Also check the config against the data.
    load : {'all', 'first'}, default='all'
        Read every run with the pipeline's loader, or only the cohort's first
        readable run (the region table, frames and windows of the others are
        then assumed alike).
    n_jobs : int, default=1
        Runs read in parallel (processes).

    Returns
    -------
    problems : list of Problem
        One per finding, ``error`` or ``warning``; empty when all is well.
    summaries : list of RunSummary
        What was read of each run (shape, regions, or the error).
    """
    from brainctrl.io.manifest import _file_problem

    problems = []
    try:
        specs = manifest.runs()
        shared = manifest._shared_paths()
    except BrainctrlError as exc:
        return [Problem("error", str(exc))], []
    for subject in manifest.subject_ids or []:
        if subject not in {spec.subject for spec in specs}:
            problems.append(
                Problem("error", f"subject {subject!r}: no runs found under '{manifest.root}'.")
            )
    if not specs:
        return problems + [Problem("error", f"no runs found under '{manifest.root}'.")], []
    for key, path in shared.items():
        problem = _file_problem(path)
        if problem:  # every run would fail the same way: say it once
            problems.append(Problem("error", f"parcellation.{key} file '{path}': {problem}."))
    if any(p.level == "error" and p.message.startswith("parcellation.") for p in problems):
        return problems, []
    if load == "all":
        summaries = summarise_runs(manifest, specs, n_jobs=n_jobs)
        problems += check_runs(summaries, config)
        subjects = sorted({str(s.spec.subject) for s in summaries if s.error is None})
        n_runs = None
    else:
        summaries = []
        for spec in specs:  # the first readable run is the reference
            summaries = [_summarise(manifest, spec)]
            if summaries[0].error is None:
                break
        if summaries[0].error is not None:
            problems.append(
                Problem("error", f"no run could be read; the last one: {summaries[0].error}")
            )
        subjects = sorted({str(spec.subject) for spec in specs})
        n_runs = len(specs)
    if config is not None:
        problems += check_config(manifest, config, summaries, subjects, n_runs=n_runs)
    else:
        problems += _check_statistics(manifest, None, subjects)
    return _unique(problems), summaries


def _unique(problems):
    seen, out = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out
