"""Cohort stages: brain states across runs and group statistics."""

import contextlib
import hashlib
import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl.exceptions import InvalidParameterError
from brainctrl.pipeline import _store

__all__ = ["fit_states", "group_statistics"]

logger = logging.getLogger("brainctrl.pipeline")


def _load_npz(out_dir, spec, unit_key, keys):
    """The named arrays of one run's matrices file (others are never read)."""
    path = _store.unit_dir(out_dir, spec.subject) / f"{unit_key(spec)}_matrices.npz"
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in keys if key in data.files}


def fit_states(specs, manifest, config, out_dir, unit_key, run_keys):
    """Brain states (windowed FC) and activity states (frames) over all runs.

    Windows of each run are subsampled evenly to at most
    ``states.max_windows_per_run`` before k-means, which bounds memory at HCP
    scale; every window is then labelled with the nearest centroid. The states
    are reused while the runs (``run_keys``: each run's config and input
    fingerprint) and the ``states`` section are unchanged, and
    ``group/states.npz`` is readable.
    """
    from brainctrl.connectivity import BrainStates

    sc = config.states
    keys = [unit_key(spec) for spec in specs]
    digest = hashlib.sha256(
        json.dumps(
            [
                sorted((key, run_keys[key]) for key in keys),
                config.section_hash("states", "random_state"),
            ]
        ).encode()
    ).hexdigest()[:16]
    group_dir = Path(out_dir) / "group"
    cached = group_dir / "states.npz"
    if cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as data:
                if str(data["hash"]) == digest:
                    logger.info("brain states unchanged; reusing %s", cached)
                    return {key: data[key] for key in data.files} | {"hash": digest}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("%s is unreadable (%s); fitting the brain states again", cached, exc)

    # k-means on at most max_windows_per_run evenly spaced windows of each run,
    # read one run at a time (bounded memory at HCP scale), then every window
    # gets its nearest state, again one run at a time.
    subsets, frames, n_windows = [], [], []
    for spec in specs:
        arrays = _load_npz(out_dir, spec, unit_key, ("dynamic_fc", "timeseries"))
        windows = arrays["dynamic_fc"]
        keep = np.unique(np.linspace(0, len(windows) - 1, sc.max_windows_per_run).round())
        subsets.append(windows[keep.astype(int)].astype(float))
        frames.append(arrays["timeseries"].astype(float))
        n_windows.append(len(windows))
        del arrays, windows
    connectivity_states = BrainStates(
        sc.n_states, kind="connectivity", random_state=config.random_state
    ).fit(subsets)
    del subsets
    labels = [
        np.asarray(
            connectivity_states.predict(
                [_load_npz(out_dir, spec, unit_key, ("dynamic_fc",))["dynamic_fc"].astype(float)]
            )[0]
        )
        for spec in specs
    ]
    activity_states = BrainStates(
        sc.n_activity_states, kind="activity", random_state=config.random_state
    ).fit(frames)

    rows = []
    for spec, run_labels in zip(specs, labels):
        occupancy = np.bincount(run_labels, minlength=sc.n_states) / len(run_labels)
        for state in range(sc.n_states):
            rows.append(
                {
                    "subject": str(spec.subject),
                    "session": spec.session,
                    "run": spec.run,
                    "state": state,
                    "occupancy": occupancy[state],
                }
            )
    summary = pd.DataFrame(rows)
    _store.write_table(summary, group_dir / "state_occupancy.parquet")
    result = {
        "hash": np.array(digest),
        "connectivity_centroids": np.asarray(connectivity_states.centroids_),
        "activity_centroids": np.asarray(activity_states.centroids_),
        "window_labels": np.concatenate(labels).astype(np.int32),
        "n_windows": np.asarray(n_windows),
        "units": np.asarray(keys),
    }
    _store.write_npz(cached, **result)
    result["hash"] = digest
    return result


class SectionSkipped(Exception):
    """Raised inside a section that cannot run; carries the reason."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class SectionFailed(Exception):
    """Raised to fail a section with a ready message (e.g. a stage's error)."""


class Sections:
    """Outcome of each cohort section, and what the report shows of it.

    Cohort-level analyses can fail, or have nothing to work on, with data the
    per-run stage accepted (too few subjects for a design, no phenotype). Each
    section runs in :meth:`guard`: a failure or a skip is logged, kept with its
    reason for ``status.parquet`` and shown in the report, and the next section
    runs; no per-run result is touched.
    """

    def __init__(self, summary=None):
        self.outcomes = []
        self.report = []
        self.summary = {} if summary is None else summary
        self._warnings = None

    @contextlib.contextmanager
    def guard(self, name):
        """Run one section: done, skipped (:meth:`skip`) or failed, never fatal."""
        self._warnings = []
        try:
            yield self
        except SectionSkipped as exc:
            logger.warning("group stage '%s' skipped: %s", name, exc.reason)
            self.summary.setdefault("skipped", {})[name] = exc.reason
            self.report.append((f"{name} (skipped)", exc.reason, [], []))
            self._outcome(name, "skipped", reason=exc.reason)
        except Exception as exc:
            text = str(exc) if isinstance(exc, SectionFailed) else f"{type(exc).__name__}: {exc}"
            logger.error("group stage '%s' failed: %s", name, text)
            self.summary.setdefault("errors", {})[name] = text
            self.report.append((f"{name} (failed)", text, [], []))
            self._outcome(name, "failed", error=text)
        else:
            self._outcome(name, "done")
        finally:
            self._warnings = None

    def skip(self, reason):
        """Stop the current section and record why it did not run."""
        raise SectionSkipped(reason)

    def warn(self, message):
        """Log a warning and keep it with the current section's outcome."""
        logger.warning("%s", message)
        if self._warnings is not None:
            self._warnings.append(message)

    def add(self, title, text, figures=(), tables=()):
        """A section of the report: title, text, figures and tables."""
        self.report.append((title, text, list(figures), list(tables)))

    def _outcome(self, name, status, **details):
        self.outcomes.append(
            {
                "name": name,
                "slug": name.lower().replace(" ", "_"),
                "status": status,
                "warnings": list(self._warnings or ()),
                **details,
            }
        )


def _collect(specs, out_dir, unit_key, suffix):
    tables = []
    for spec in specs:
        path = _store.unit_dir(out_dir, spec.subject) / f"{unit_key(spec)}_{suffix}.parquet"
        if path.exists():
            tables.append(pd.read_parquet(path))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _fc_label(connectivity):
    """Colour-bar label of a static FC matrix under the config's connectivity section."""
    if connectivity.fisher_z:
        return "Fisher z"
    return {
        "correlation": "Pearson r",
        "partial correlation": "partial correlation",
        "covariance": "covariance",
        "shrunk correlation": "shrunk correlation (Ledoit-Wolf)",
    }[connectivity.kind]


def _savefig(fig, path):
    import matplotlib.pyplot as plt

    with _store.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _covariate_matrix(phenotype, subjects, names, keep):
    """Subjects to keep and their numeric covariates (text columns dummy-coded).

    ``keep`` (boolean, one per subject) loses the subjects with a missing
    covariate; the matrix has the kept rows only, or is None without covariates.
    """
    if not names:
        return keep, None
    table = phenotype.loc[subjects, list(names)]
    categorical = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    encoded = pd.get_dummies(table, columns=categorical, drop_first=True, dtype=float)
    for column in categorical:  # get_dummies drops NaN rows' categories silently
        encoded.loc[table[column].isna()] = np.nan
    matrix = encoded.to_numpy(dtype=float)
    keep = keep & np.isfinite(matrix).all(axis=1)
    return keep, matrix[keep]


def _wide(measures, measure):
    """Subjects x regions table of one measure, averaged over a subject's runs."""
    table = measures[measures["measure"] == measure]
    wide = table.pivot_table(
        index="subject", columns="region", values="value", aggfunc="mean", sort=False
    )
    return wide


def _load_truth(manifest):
    """Planted ground truth written beside a synthetic dataset, if any."""
    from brainctrl.datasets import read_truth

    root = Path(getattr(manifest, "root", "."))
    if not (root / "truth.json").exists():
        return None
    return read_truth(root)


def _planted_windows(truth, spec, config):
    """Planted state of each sliding window of one run (``None`` without a truth).

    The majority state of the window's frames, shifted by the simulated
    haemodynamic delay (see :meth:`brainctrl.datasets.CohortTruth.window_states`).
    """
    if truth is None or config.clean.discard_initial:
        return None
    key = (str(spec.subject), str(spec.run))
    if key not in truth.state_sequences:
        return None
    labels, _ = truth.window_states(
        spec.subject, spec.run, config.connectivity.window_length, config.connectivity.step
    )
    return np.asarray(labels)


def _planted_window_states(truth, specs, states, config):
    """Planted window states of all runs, in the order of ``states``."""
    labels = []
    for spec, n_windows in zip(specs, states["n_windows"]):
        planted = _planted_windows(truth, spec, config)
        if planted is None or len(planted) != n_windows:
            return None
        labels.append(planted)
    return np.concatenate(labels)


def _network_recruitment(partition, networks):
    """Per-layer recruitment of each network (Mattar et al. 2015), shape (n_networks, n_layers).

    The fraction of a network's region pairs that share a community in one
    layer: :func:`brainctrl.multilayer.recruitment` of that layer's allegiance.

    >>> partition = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    >>> _network_recruitment(partition, np.array(["A", "A", "B", "B"])).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    from brainctrl.multilayer import module_allegiance, recruitment

    layers = [
        recruitment(module_allegiance(partition[:, [t]]), networks, per="system")
        for t in range(partition.shape[1])
    ]
    return np.column_stack([np.asarray(layer, dtype=float) for layer in layers])


def _switch_recovery(specs, out_dir, unit_key, truth, config, networks):
    """How well multilayer community changes mark the planted state switches.

    Layers ``k`` and ``k + lag`` are compared, with ``lag`` the smallest
    number of layers whose windows share no frames (consecutive overlapping
    windows share most of their frames, so their connectivity, and their
    communities, barely differ whatever the brain does); a pair is a planted
    switch when the planted states (majority over each window's frames)
    differ. Two markers of change between the layers, each scored by the
    area under the ROC curve pooled over runs: ``auc``, the summed absolute
    change of every network's recruitment (the fraction of its region pairs
    in one community, per layer; label-free, so it ignores a mere renaming of
    communities), and ``region_change_auc``, the fraction of regions whose
    community label changes (``change_at_switch`` and ``change_elsewhere``
    are its means with and without a planted switch). ``networks`` gives
    each region's network (the run's region table).
    """
    from sklearn.metrics import roc_auc_score

    networks = np.asarray(networks, dtype=str)
    changes, recruitment, switches = [], [], []
    for spec in specs:
        arrays = _load_npz(out_dir, spec, unit_key, ("multilayer_partition", "multilayer_windows"))
        planted = _planted_windows(truth, spec, config)
        if planted is None or "multilayer_partition" not in arrays:
            return None
        partition = arrays["multilayer_partition"]
        windows = np.asarray(arrays["multilayer_windows"])
        stride = int(windows[1] - windows[0]) if windows.size > 1 else 1
        window_steps = -(-config.connectivity.window_length // config.connectivity.step)
        lag = max(1, -(-window_steps // stride))
        if partition.shape[1] <= lag or partition.shape[0] != networks.size:
            continue
        planted = planted[windows]
        profile = _network_recruitment(partition, networks)
        changes.append((partition[:, lag:] != partition[:, :-lag]).mean(axis=0))
        recruitment.append(np.abs(profile[:, lag:] - profile[:, :-lag]).sum(axis=0))
        switches.append(planted[lag:] != planted[:-lag])
    if not changes:
        return None
    changes, switches = np.concatenate(changes), np.concatenate(switches)
    recruitment = np.concatenate(recruitment)
    if switches.all() or not switches.any():
        return None
    return {
        "auc": float(roc_auc_score(switches, recruitment)),
        "region_change_auc": float(roc_auc_score(switches, changes)),
        "change_at_switch": float(changes[switches].mean()),
        "change_elsewhere": float(changes[~switches].mean()),
        "n_switches": int(switches.sum()),
        "n_layer_pairs": int(switches.size),
        "layer_lag": int(lag),
    }


def group_statistics(
    specs, manifest, config, out_dir, unit_key, states, regions, sections, *, energy_error=None
):
    """Cohort-level tables and figures over the finished runs.

    Sections (each with its tables written to ``OUT/group``): connectivity and
    brain states; controllability maps; static versus dynamic transition
    energy (with numerical health); multilayer reconfiguration; group
    comparison with covariates, permutations and FDR; sparse CCA between
    controllability and scores; behaviour prediction with graph, control and
    combined feature sets on identical splits. Each runs in
    ``sections.guard``: it is done, skipped with a reason, or failed with its
    error, and the others run regardless.

    Parameters
    ----------
    states : dict or None
        From :func:`fit_states` (None when it failed).
    sections : Sections
        Collects each section's outcome and report content.
    energy_error : str, optional
        Why the energy stage could not run, if it could not.

    Returns
    -------
    dict
        ``sections`` for the report and ``summary`` (headline numbers).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from brainctrl import plotting

    out_dir = Path(out_dir)
    group_dir = out_dir / "group"
    fig_dir = group_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    networks = regions["network"].astype(str).to_numpy()
    measures = _collect(specs, out_dir, unit_key, "measures")
    globals_ = _collect(specs, out_dir, unit_key, "globals")
    energy = _collect(specs, out_dir, unit_key, "energy")
    truth = _load_truth(manifest)
    summary = sections.summary
    summary.update(n_runs=len(specs), n_subjects=len({str(s.subject) for s in specs}))

    # connectivity and brain states
    with sections.guard("connectivity and brain states"):
        mean_fc = np.mean(
            [
                _load_npz(out_dir, spec, unit_key, ("static_fc",))["static_fc"].astype(float)
                for spec in specs
            ],
            axis=0,
        )
        order = np.argsort(networks, kind="stable")
        figures = [
            (
                _savefig(
                    plotting.plot_matrix(
                        mean_fc[np.ix_(order, order)],
                        networks=networks[order],
                        title="mean static FC",
                        label=_fc_label(config.connectivity),
                    ),
                    fig_dir / "mean_fc.png",
                ),
                "Static functional connectivity averaged over runs (regions grouped by network).",
            )
        ]
        if states is None:
            sections.report.append(
                (
                    "Connectivity",
                    "Brain states could not be fitted (see the 'brain states' section).",
                    figures,
                    [],
                )
            )
            sections.skip("the brain states failed; only the mean FC is shown")
        centroids = states["connectivity_centroids"]  # (n_states, n_regions, n_regions)
        occupancy = np.bincount(states["window_labels"], minlength=len(centroids))
        occupancy = occupancy / occupancy.sum()
        figures.append(
            (
                _savefig(
                    plotting.plot_states(
                        centroids[:, order][:, :, order],
                        networks=networks[order],
                        occupancy=occupancy,
                    ),
                    fig_dir / "states.png",
                ),
                "Brain states: k-means centroids of sliding-window FC over all runs, with their "
                "fractional occupancy.",
            )
        )
        state_text = (
            f"{len(centroids)} connectivity states from {int(states['n_windows'].sum())} windows."
        )
        planted = _planted_window_states(truth, specs, states, config)
        if planted is not None:
            from sklearn.metrics import adjusted_rand_score

            if len(planted) == len(states["window_labels"]):
                ari = adjusted_rand_score(planted, states["window_labels"])
                summary["states_adjusted_rand_index"] = float(ari)
                state_text += f" Adjusted Rand index against the planted states: {ari:.2f}."
        sections.report.append(("Connectivity and brain states", state_text, figures, []))

    # controllability
    with sections.guard("controllability"):
        figures, tables = [], []
        for measure, label in (
            ("average_controllability", "average controllability"),
            ("modal_controllability", "modal controllability"),
        ):
            wide = _wide(measures, measure)
            if wide.empty:
                continue
            values = wide.reindex(columns=regions["name"].astype(str)).mean(axis=0).to_numpy()
            figures.append(
                (
                    _savefig(
                        plotting.plot_region_values(
                            values, regions, title=f"mean {label}", label=label
                        ),
                        fig_dir / f"{measure}.png",
                    ),
                    f"Mean {label} (discrete time, Gu et al. 2015) of each region over subjects.",
                )
            )
            by_network = (
                pd.DataFrame({"network": networks, "value": values})
                .groupby("network")["value"]
                .mean()
                .rename(label)
            )
            tables.append(by_network)
        if tables:
            table = pd.concat(tables, axis=1).reset_index()
            _store.write_table(table, group_dir / "controllability_by_network.parquet")
            sections.report.append(
                (
                    "Controllability",
                    "Discrete-time average and modal controllability (Gu et al. 2015) of each "
                    "run's static FC normalised as A / (1 + spectral radius), whatever "
                    "control.system says; the continuous-time average controllability over "
                    "control.horizon is in the per-run measures tables "
                    "(average_controllability_continuous).",
                    figures,
                    [("mean per network", table)],
                )
            )

    # transition energy, static versus dynamic
    with sections.guard("transition energy"):
        if not config.control.energy:
            sections.skip("control.energy is false")
        if energy_error is not None:
            raise SectionFailed(energy_error)
        if states is None:
            sections.skip("the brain states failed, and transitions run between them")
        if energy.empty:
            sections.skip(
                "no run's transition energies finished (see the 'energy' rows of status.parquet)"
            )
        per_subject = (
            energy.groupby(["subject", "network"])
            .agg(
                energy=("energy", "median"),
                condition_number=("condition_number", "median"),
                terminal_error=("terminal_error", "median"),
            )
            .reset_index()
        )
        wide = per_subject.pivot(index="subject", columns="network", values="energy")
        cond = per_subject[per_subject["network"] == "static"].set_index("subject")[
            "condition_number"
        ]
        comparison = wide.assign(condition_number=cond.reindex(wide.index)).reset_index()
        comparison["ratio"] = comparison["dynamic"] / comparison["static"]
        _store.write_table(comparison, group_dir / "energy_static_vs_dynamic.parquet")
        from scipy.stats import wilcoxon

        test = wilcoxon(np.log(comparison["dynamic"]), np.log(comparison["static"]))
        health = (
            energy.groupby("network")
            .agg(
                median_energy=("energy", "median"),
                median_condition_number=("condition_number", "median"),
                max_terminal_error=("terminal_error", "max"),
            )
            .reset_index()
        )
        summary["energy_ratio_median"] = float(comparison["ratio"].median())
        summary["energy_wilcoxon_p"] = float(test.pvalue)
        text = (
            f"Control set: {config.control.control_set}; horizon {config.control.horizon}. "
            f"Median per-subject ratio dynamic/static = {comparison['ratio'].median():.3g} "
            f"(Wilcoxon signed-rank on log energies, p = {test.pvalue:.3g}). Ratios are "
            "only meaningful where the Gramians are well conditioned and the target is "
            "reached: see the condition numbers and terminal errors."
        )
        figures = [
            (
                _savefig(plotting.plot_energy_comparison(comparison), fig_dir / "energy.png"),
                "Median transition energy per subject under the static network and along the "
                "time-varying network (colour: log10 condition number of the static Gramian).",
            )
        ]
        sections.report.append(
            (
                "Transition energy: static versus dynamic network",
                text,
                figures,
                [("numerical health", health)],
            )
        )

    # multilayer reconfiguration
    with sections.guard("multilayer communities"):
        if not config.multilayer.enabled:
            sections.skip("multilayer.enabled is false")
        flex = _wide(measures, "flexibility")
        values = flex.reindex(columns=regions["name"].astype(str)).mean(axis=0).to_numpy()
        figures = [
            (
                _savefig(
                    plotting.plot_network_values(
                        values,
                        regions,
                        title="flexibility per network",
                        label="flexibility (fraction of layer changes)",
                    ),
                    fig_dir / "flexibility.png",
                ),
                "Mean flexibility (fraction of consecutive windows in which a region changes "
                "community) per network.",
            )
        ]
        table = (
            globals_[
                globals_["measure"].isin(
                    ["multilayer_quality", "module_size_entropy", "mean_flexibility"]
                )
            ]
            .groupby("measure")["value"]
            .agg(["mean", "std"])
            .reset_index()
        )
        sections.report.append(
            ("Multilayer communities over windows", "", figures, [("cohort summary", table)])
        )

    if truth is not None and config.multilayer.enabled:
        # synthetic cohorts only: how well community changes mark the planted switches
        with sections.guard("state switch recovery"):
            recovery = _switch_recovery(specs, out_dir, unit_key, truth, config, networks)
            if recovery is None:
                sections.skip(
                    "the planted windows do not match the runs' windows (or no layer pair "
                    "spans a planted switch)"
                )
            summary["state_switch_recovery"] = recovery
            sections.report.append(
                (
                    "Planted state switches",
                    "Between layers whose windows share no frames "
                    f"({recovery['n_layer_pairs']} pairs): the change of the networks' "
                    f"recruitment marks them with AUC {recovery['auc']:.2f}; "
                    f"{recovery['change_at_switch']:.1%} of regions change community where "
                    f"the planted state switches versus {recovery['change_elsewhere']:.1%} "
                    f"elsewhere (AUC {recovery['region_change_auc']:.2f}).",
                    [],
                    [],
                )
            )

    _phenotype_sections(measures, manifest, regions, config, group_dir, fig_dir, sections, truth)
    return {"sections": sections.report, "summary": summary}


def _load_phenotype(manifest):
    """The phenotype table indexed by subject ID (str), or None without one."""
    if not getattr(manifest, "phenotype", None):
        return None
    phenotype = manifest.load_phenotype(subjects=None).copy()
    if "subject" in phenotype.columns:
        phenotype["subject"] = phenotype["subject"].astype(str)
        phenotype = phenotype.set_index("subject")
    phenotype.index = phenotype.index.astype(str)
    return phenotype


_PHENOTYPE_SECTIONS = ("group comparison", "sparse CCA", "behaviour prediction")


def _phenotype_sections(measures, manifest, regions, config, group_dir, fig_dir, sections, truth):
    from brainctrl import plotting
    from brainctrl.pipeline._preflight import MIN_CCA_SUBJECTS, MIN_RESIDUAL_DF
    from brainctrl.stats import (
        SparseCCA,
        compare_feature_sets,
        group_comparison,
        predict_behaviour,
        sparse_cca_permutation_test,
    )

    sc = config.stats
    summary = sections.summary
    names = regions["name"].astype(str)
    failure = None
    try:
        phenotype = _load_phenotype(manifest)
    except Exception as exc:  # every section that needs it fails with the reason
        phenotype, failure = None, f"{type(exc).__name__}: {exc}"
    if phenotype is None:
        for name in _PHENOTYPE_SECTIONS:
            with sections.guard(name):
                if failure:
                    raise SectionFailed(f"the phenotype table could not be read ({failure})")
                sections.skip("the manifest has no phenotype table (phenotype.path)")
        return
    with_data = sorted(set(measures["subject"].astype(str)))
    absent = [s for s in with_data if s not in phenotype.index]
    subjects = [s for s in with_data if s in phenotype.index]
    absent_note = (
        f"{len(absent)} subject(s) with results have no row in the phenotype table and are "
        f"left out: {', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''}."
        if absent
        else None
    )

    with sections.guard("group comparison"):
        if not sc.group:
            sections.skip("stats.group is not set")
        if sc.group not in phenotype.columns:
            raise SectionFailed(
                f"stats.group {sc.group!r} is not a column of the phenotype table; columns: "
                f"{list(phenotype.columns)[:30]}."
            )
        if absent_note:
            sections.warn(f"group comparison: {absent_note}")
        tested = measures[
            measures["measure"].isin(
                ["average_controllability", "modal_controllability", "strength", "flexibility"]
            )
        ]
        results = group_comparison(
            tested,
            phenotype.reset_index(),
            contrast=sc.group,
            covariates=sc.covariates,
            n_permutations=sc.n_permutations,
            random_state=config.random_state,
        )
        df = int(results["df"].min())
        few = None
        if df < MIN_RESIDUAL_DF:
            few = (
                f"only {df} residual degrees of freedom ({int(results['n'].max())} subjects); "
                f"below {MIN_RESIDUAL_DF} the p-values rest on very few subjects and the "
                "covariate adjustment is unstable"
            )
            results["warning"] = few
            sections.warn(f"group comparison: {few}.")
        _store.write_table(results, group_dir / "group_comparison.parquet")
        significant = results[results["p_fdr"] < sc.alpha]
        summary["group_significant_features"] = int(len(significant))
        summary["group_residual_df"] = df
        columns = [
            c
            for c in ("measure", "region", "t", "df", "p", "p_fdr", "p_fwe", "cohen_d", "warning")
            if c in results.columns
        ]
        figures = []
        for measure in ("average_controllability", "strength"):
            rows = results[results["measure"] == measure]
            if len(rows):
                figures.append(
                    (
                        _savefig(
                            plotting.plot_group_results(
                                rows,
                                alpha=sc.alpha,
                                title=f"{measure}: group t",
                                planted=None if truth is None else truth.group_regions,
                            ),
                            fig_dir / f"group_{measure}.png",
                        ),
                        f"Region-wise group comparison of {measure} with covariates "
                        f"{', '.join(sc.covariates) or 'none'} (red: FDR < {sc.alpha}).",
                    )
                )
        tables = (
            [(f"features with FDR < {sc.alpha}", significant[columns].sort_values("p"))]
            if len(significant)
            else []
        )
        none_note = "" if len(significant) else f" No feature has FDR < {sc.alpha}."
        if truth is not None and truth.group_regions:
            planted = set(truth.group_regions)
            recovered = {}
            for measure, rows in results.groupby("measure"):
                found = set(rows.loc[rows["p_fdr"] < sc.alpha, "region"].astype(str))
                recovered[measure] = {
                    "planted": len(planted),
                    "recovered": len(found & planted),
                    "false_positives": len(found - planted),
                }
            table = pd.DataFrame(recovered).T.reset_index(names="measure")
            summary["group_recovery"] = recovered
            tables.insert(0, ("planted versus recovered group-difference regions", table))
        sections.report.append(
            (
                "Group comparison",
                (f"Warning: {few}. " if few else "")
                + f"Mass-univariate GLM, contrast '{sc.group}', Freedman–Lane permutations "
                f"({sc.n_permutations}), Benjamini–Hochberg FDR within each measure"
                f", {df} residual degrees of freedom."
                + none_note
                + (f" {absent_note}" if absent_note else ""),
                figures,
                tables,
            )
        )

    with sections.guard("sparse CCA"):
        from sklearn.model_selection import RepeatedKFold

        if not sc.cca:
            sections.skip("stats.cca is false")
        if len(sc.cca_scores) < 2:
            sections.skip(
                f"stats.cca_scores names {len(sc.cca_scores)} column(s); sparse CCA needs two "
                "or more"
            )
        if sc.cca_measure not in set(measures["measure"]):
            available = ", ".join(sorted(measures["measure"].unique()))
            raise InvalidParameterError(
                f"stats.cca_measure: {sc.cca_measure!r} is not a measure of the per-run "
                f"tables; available: {available}."
            )
        control = _wide(measures, sc.cca_measure).reindex(index=subjects, columns=names)
        if absent_note:
            sections.warn(f"sparse CCA: {absent_note}")
        complete = phenotype.loc[subjects, sc.cca_scores + list(sc.covariates)].notna().all(axis=1)
        if complete.sum() < MIN_CCA_SUBJECTS:
            sections.skip(
                f"{int(complete.sum())} subject(s) have results, every score in "
                f"stats.cca_scores and every covariate; sparse CCA needs {MIN_CCA_SUBJECTS}"
            )
        scores = phenotype.loc[subjects, sc.cca_scores].astype(float)
        keep, covariates = _covariate_matrix(
            phenotype, subjects, sc.covariates, scores.notna().all(axis=1).to_numpy()
        )
        X, Y = control.to_numpy()[keep], scores.to_numpy()[keep]
        # the weights shown are those of the data with the covariates regressed
        # out, the data the permutation test sees
        design = np.column_stack([np.ones(len(X))] + ([] if covariates is None else [covariates]))
        residual = np.eye(len(X)) - design @ np.linalg.pinv(design)
        cca = SparseCCA(sc.cca_penalty_x, sc.cca_penalty_y).fit(residual @ X, residual @ Y)
        test = sparse_cca_permutation_test(
            X,
            Y,
            penalty_x=sc.cca_penalty_x,
            penalty_y=sc.cca_penalty_y,
            covariates=covariates,
            n_permutations=min(sc.n_permutations, 200),
            # Repeated k-fold: the held-out correlation of one split of a few
            # dozen subjects depends much on which subjects share a fold.
            cv=RepeatedKFold(
                n_splits=max(2, min(sc.cv_folds, len(X) // 4)),
                n_repeats=sc.cv_repeats,
                random_state=config.random_state,
            ),
            random_state=config.random_state,
        )
        summary["cca_held_out_r"] = float(test.statistic)
        summary["cca_p"] = float(test.p_value)
        summary["cca_measure"] = sc.cca_measure
        weights = pd.DataFrame({"region": names, "weight": cca.x_weights_[:, 0]})
        _store.write_table(weights, group_dir / "cca_weights.parquet")
        figures = [
            (
                _savefig(
                    plotting.plot_loadings(
                        cca.x_weights_[:, 0],
                        names.to_numpy(),
                        title=f"{sc.cca_measure} weights",
                    ),
                    fig_dir / "cca_x.png",
                ),
                "Sparse CCA: region weights.",
            ),
            (
                _savefig(
                    plotting.plot_loadings(
                        cca.y_weights_[:, 0], np.asarray(sc.cca_scores), title="score weights"
                    ),
                    fig_dir / "cca_y.png",
                ),
                "Sparse CCA: score weights.",
            ),
        ]
        adjusted = (
            f", covariates {', '.join(sc.covariates)} removed within the permutation "
            "scheme (Huh–Jhun)"
            if sc.covariates
            else ""
        )
        text = (
            f"Regional {sc.cca_measure} against {', '.join(sc.cca_scores)} (L1 bounds "
            f"{sc.cca_penalty_x:g}, {sc.cca_penalty_y:g}{adjusted}): in-sample r = "
            f"{cca.canonical_correlations_[0]:.2f}, held-out r = {test.statistic:.2f} "
            f"(mean over {sc.cv_repeats} x {max(2, min(sc.cv_folds, len(X) // 4))} folds), "
            f"permutation p = {test.p_value:.3g}."
        )
        tables = []
        if truth is not None and truth.symptom_regions:
            planted = set(truth.symptom_regions)
            chosen = set(names[cca.x_weights_[:, 0] != 0])
            recovery = {
                "planted": len(planted),
                "selected": len(chosen),
                "true_positives": len(chosen & planted),
            }
            summary["cca_recovery"] = recovery
            table = pd.DataFrame([recovery])
            tables.append(("planted versus selected regions", table))
        sections.report.append(("Sparse CCA", text, figures, tables))

    with sections.guard("behaviour prediction"):
        if not sc.prediction:
            sections.skip("stats.prediction is false")
        if not sc.scores:
            sections.skip("stats.scores is empty")
        if absent_note:
            sections.warn(f"behaviour prediction: {absent_note}")
        target_name = sc.scores[0]
        target = phenotype.loc[subjects, target_name].astype(float)
        keep, confounds = _covariate_matrix(
            phenotype, subjects, sc.covariates, target.notna().to_numpy()
        )
        if keep.sum() < 2 * sc.cv_folds:
            sections.skip(
                f"{int(keep.sum())} subject(s) have results, '{target_name}' and every "
                f"covariate; {sc.cv_folds}-fold cross-validation (stats.cv_folds) needs "
                f"{2 * sc.cv_folds}"
            )

        def features(measure_names):
            tables = (_wide(measures, m) for m in measure_names)
            return np.hstack(
                [
                    table.reindex(index=subjects, columns=names).to_numpy()
                    for table in tables
                    if not table.empty
                ]
            )

        sets = {
            "graph": features(("strength", "clustering", "participation", "local_efficiency")),
            "control": features(("average_controllability", "modal_controllability")),
        }
        sets["combined"] = np.hstack([sets["graph"], sets["control"]])
        incomplete = [k for k, v in sets.items() if not np.isfinite(v[keep]).all()]
        if incomplete:
            sections.warn(
                f"behaviour prediction: feature set(s) {incomplete} have missing or "
                "non-finite values and are left out"
            )
        sets = {k: v[keep] for k, v in sets.items() if k not in incomplete}
        if "combined" not in sets:
            sections.skip("the combined feature set has missing or non-finite values")
        y = target.to_numpy()[keep]
        comparison = compare_feature_sets(
            sets,
            y,
            model="ridge",
            cv=sc.cv_folds,
            n_repeats=sc.cv_repeats,
            confounds=confounds,
            random_state=config.random_state,
        )
        # the same splits as the comparison, so its mean r is the table's
        best = predict_behaviour(
            sets["combined"],
            y,
            model="ridge",
            cv=sc.cv_folds,
            n_repeats=sc.cv_repeats,
            confounds=confounds,
            random_state=config.random_state,
        )
        _store.write_table(comparison.scores, group_dir / "prediction_scores.parquet")
        _store.write_table(comparison.pairs, group_dir / "prediction_comparison.parquet")
        summary["prediction_r"] = {
            k: float(v) for k, v in comparison.scores.groupby("feature_set")["r"].mean().items()
        }
        figures = [
            (
                _savefig(
                    plotting.plot_prediction(
                        best.observed[0],
                        best.predictions[0],
                        title=f"{target_name}: graph and control features combined",
                        label=target_name,
                        mean_r=best.mean_r,
                        n_folds=sc.cv_folds,
                        n_repeats=sc.cv_repeats,
                    ),
                    fig_dir / "prediction.png",
                ),
                f"Cross-validated ridge prediction of {target_name} from graph and control "
                "features combined.",
            )
        ]
        sections.report.append(
            (
                "Behaviour prediction",
                f"Ridge regression, {sc.cv_folds}-fold cross-validation repeated "
                f"{sc.cv_repeats} times"
                + (
                    f", covariates {', '.join(sc.covariates)} regressed out of features "
                    "and score inside each training fold"
                    if sc.covariates
                    else ""
                )
                + "; all feature sets on identical splits with the "
                "same penalty grid, compared with the corrected resampled t-test "
                "(Nadeau & Bengio 2003).",
                figures,
                [
                    ("mean score per feature set", comparison.summary()),
                    ("pairwise comparisons", comparison.pairs),
                ],
            )
        )
    return sections
