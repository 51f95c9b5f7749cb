"""Cohort stages: brain states across runs and group statistics."""

import contextlib
import hashlib
import json
import logging
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl.exceptions import InvalidParameterError
from brainctrl.pipeline import _store
from brainctrl.pipeline._stages import MAX_CONDITION, MAX_UNREACHED

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


#: Mixed control set weights tried by ``control.epsilon: auto``, smallest first.
EPSILON_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
#: Condition number the automatic epsilon aims at (about 8 of 16 digits kept).
EPSILON_TARGET_CONDITION = 1e8


def _power_of_ten(value):
    """``1e-6``, ``1e10``: a threshold as the report's text writes it."""
    return f"1e{round(math.log10(value))}"


_TARGET = _power_of_ten(EPSILON_TARGET_CONDITION)
_UNREACHED = _power_of_ten(MAX_UNREACHED)
_CONDITION = _power_of_ten(MAX_CONDITION)


def energy_design(specs, config, out_dir, unit_key, regions):
    """The control sets of the energy stage: the chosen set, its epsilon, random sets.

    ``control.epsilon: auto`` takes the smallest weight of ``EPSILON_GRID``
    for which the static Gramians of the cohort's first runs (up to five) have
    a condition number of at most ``EPSILON_TARGET_CONDITION``: the least
    input outside the control set that makes the system well conditioned.
    Random sets have the control set's size, are drawn outside it with the
    config's seed, and are the same for every run.

    Returns
    -------
    design : dict
        ``mask``, ``epsilon``, ``random_sets`` and ``hash``.
    conditioning : DataFrame
        The condition number and rank over the grid (empty for a fixed epsilon).
    """
    from brainctrl.control import (
        control_set,
        fc_to_system,
        gramian_conditioning,
        normalize_adjacency,
        random_control_sets,
    )

    ctl = config.control
    n = len(regions)
    mask = (
        np.ones(n, dtype=bool)
        if ctl.control_set == "all"
        else np.asarray(control_set(regions, network=ctl.control_set))
    )
    conditioning = pd.DataFrame()
    if ctl.epsilon == "auto":
        if ctl.system_from == "structural":
            systems = [
                normalize_adjacency(
                    _load_npz(out_dir, spec, unit_key, ("structural",))["structural"],
                    system=ctl.system,
                )
                for spec in specs[:5]
            ]
        else:
            systems = [
                fc_to_system(
                    _load_npz(out_dir, spec, unit_key, ("static_fc",))["static_fc"].astype(float),
                    kind=ctl.system_from,
                    system=ctl.system,
                    n_samples=(
                        len(_load_npz(out_dir, spec, unit_key, ("timeseries",))["timeseries"])
                        if ctl.system_from == "signed_laplacian"
                        else None
                    ),
                )
                for spec in specs[:5]
            ]
        conditioning = gramian_conditioning(
            np.stack(systems),
            mask,
            horizons=[ctl.horizon],
            epsilons=EPSILON_GRID,
            system=ctl.system,
        )
        good = conditioning[conditioning["condition_number"] <= EPSILON_TARGET_CONDITION]
        epsilon = float(good["epsilon"].min()) if len(good) else 1.0
        met = bool(len(good))
    else:
        epsilon, met = float(ctl.epsilon), True
    size = int(mask.sum())
    note = None
    if ctl.n_random_sets and size <= n - size:
        random_sets = random_control_sets(
            n, size, n_sets=ctl.n_random_sets, exclude=mask, random_state=config.random_state
        )
    else:
        random_sets = np.zeros((0, n), dtype=bool)
        if ctl.n_random_sets:
            note = (
                f"no random sets: the control set has {size} of {n} regions, so sets of its "
                "size cannot be drawn outside it"
            )
            logger.warning("energy stage: %s", note)
    digest = hashlib.sha256(
        json.dumps([mask.tolist(), epsilon, random_sets.tolist()]).encode()
    ).hexdigest()[:16]
    design = {
        "mask": mask,
        "epsilon": epsilon,
        "epsilon_met_target": met,
        "random_sets": random_sets,
        "random_sets_note": note,
        "hash": digest,
    }
    return design, conditioning


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _read_table(path):
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError):
        return pd.DataFrame()


def _geometric_mean(logs, name):
    """``{name: exp(mean), ci_low, ci_high}`` of per-subject logs (95 % t interval)."""
    from scipy import stats

    n = logs.size
    out = {name: float(np.exp(logs.mean())) if n else np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n >= 2:
        half = stats.t.ppf(0.975, n - 1) * logs.std(ddof=1) / np.sqrt(n)
        out["ci_low"] = float(np.exp(logs.mean() - half))
        out["ci_high"] = float(np.exp(logs.mean() + half))
    return out


def compare_energies(energy):
    """Pair static and dynamic energies and compare them over well-posed transitions.

    A transition enters an analysis's comparison only when both networks
    reach its target (unreached fraction at most ``MAX_UNREACHED``, 1e-6) with a
    Gramian whose condition number is at most ``MAX_CONDITION`` (1e10, the
    threshold at which energies warn);
    the others are counted with the reason.

    Parameters
    ----------
    energy : DataFrame
        The runs' energy tables (see :func:`transition_energies`).

    Returns
    -------
    pairs : DataFrame
        One row per run, analysis and transition: both energies, condition
        numbers, ranks, unreached fractions, ``used`` and ``excluded``
        (the reason, empty when used), and ``log_ratio`` (natural log of
        dynamic over static, NaN when not used).
    table : DataFrame
        One row per analysis: ``n_transitions``, ``n_used``, ``n_excluded``,
        ``excluded_reasons`` (counts), ``n_subjects`` (with a transition used)
        and ``n_subjects_lost`` (with none), ``ratio`` (geometric
        mean over subjects of each subject's mean log ratio), ``ci_low`` and
        ``ci_high`` (95 % t interval), ``p`` (Wilcoxon signed-rank test of the
        subjects' mean log ratios against 0), ``max_condition_static`` and
        ``max_condition_dynamic`` over the transitions used.
    """
    from scipy import stats

    keys = [c for c in ("subject", "session", "run") if c in energy.columns]
    keys += [
        "analysis",
        "control",
        "epsilon",
        "horizon",
        "window_length",
        "from_state",
        "to_state",
    ]
    columns = ["energy", "condition_number", "rank", "unreachable_fraction", "well_posed"]
    static = energy[energy["network"] == "static"][keys + columns]
    dynamic = energy[energy["network"] == "dynamic"][keys + columns]
    pairs = static.merge(dynamic, on=keys, suffixes=("_static", "_dynamic"))
    pairs = pairs.rename(
        columns={
            "condition_number_static": "condition_static",
            "condition_number_dynamic": "condition_dynamic",
            "unreachable_fraction_static": "unreached_static",
            "unreachable_fraction_dynamic": "unreached_dynamic",
        }
    )
    if "energy_control_set" in energy.columns:
        split = energy[energy["network"] == "static"][
            keys + ["energy_control_set", "energy_elsewhere"]
        ]
        pairs = pairs.merge(split, on=keys, how="left")  # merge matches missing sessions
    reasons = []
    for row in pairs.itertuples():
        why = []
        for label in ("static", "dynamic"):
            if not getattr(row, f"unreached_{label}") <= MAX_UNREACHED:
                why.append(f"{label} target not reached")
            elif not getattr(row, f"condition_{label}") <= MAX_CONDITION:
                why.append(f"{label} Gramian ill-conditioned")
        reasons.append("; ".join(why))
    pairs["excluded"] = reasons
    pairs["used"] = pairs["excluded"] == ""
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs["log_ratio"] = np.where(
            pairs["used"], np.log(pairs["energy_dynamic"] / pairs["energy_static"]), np.nan
        )
    rows = []
    n_total = pairs["subject"].nunique()
    for analysis, group in pairs.groupby("analysis", sort=False):
        used = group[group["used"]]
        per_subject = used.groupby("subject")["log_ratio"].mean().to_numpy()
        n = per_subject.size
        row = {
            "analysis": analysis,
            "control": group["control"].iloc[0],
            "epsilon": float(group["epsilon"].iloc[0]),
            "horizon": float(group["horizon"].iloc[0]),
            "window_length": int(group["window_length"].iloc[0]),
            "n_transitions": len(group),
            "n_used": len(used),
            "n_excluded": len(group) - len(used),
            "excluded_reasons": "; ".join(
                f"{reason}: {count}"
                for reason, count in group.loc[~group["used"], "excluded"].value_counts().items()
            ),
            "n_subjects": n,
            "n_subjects_lost": n_total - n,
            **_geometric_mean(per_subject, "ratio"),
            "p": np.nan,
            "max_condition_static": float(used["condition_static"].max()) if n else np.nan,
            "max_condition_dynamic": float(used["condition_dynamic"].max()) if n else np.nan,
        }
        if n >= 2 and np.any(per_subject != 0):
            row["p"] = float(stats.wilcoxon(per_subject).pvalue)
        if "energy_control_set" in used.columns and used["energy_control_set"].notna().any():
            share = used["energy_control_set"] / (
                used["energy_control_set"] + used["energy_elsewhere"]
            )
            row["control_set_share"] = float(share.median())
        rows.append(row)
    return pairs, pd.DataFrame(rows)


def network_states(regions):
    """One binary state per network of the region table (1 on its regions, 0 elsewhere).

    The states between which transitions run in a cohort of connectivity
    matrices without time series (as in nctpy's system-to-system
    transitions). Regions of network ``unknown`` belong to no state.

    Returns
    -------
    dict
        ``activity_centroids`` (states by regions), ``names`` and ``hash``.
    """
    networks = regions["network"].astype(str).to_numpy()
    names = sorted(set(networks) - {"unknown"})
    states = np.array([(networks == name).astype(float) for name in names]).reshape(
        len(names), len(networks)
    )
    digest = hashlib.sha256(json.dumps([names, states.tolist()]).encode()).hexdigest()[:16]
    return {"activity_centroids": states, "names": names, "hash": digest}


def states_text(regions):
    """The networks of a region table, as the report names them."""
    names = sorted(set(regions["network"].astype(str)))
    return ", ".join(names) if names else "none"


def _structural_section(specs, out_dir, unit_key, networks, fig_dir, sections):
    """The mean connectivity matrix of a cohort without time series (no states)."""
    from brainctrl import plotting

    mean = np.mean(
        [_load_npz(out_dir, spec, unit_key, ("structural",))["structural"] for spec in specs],
        axis=0,
    )
    order = np.argsort(networks, kind="stable")
    figure = _savefig(
        plotting.plot_matrix(
            mean[np.ix_(order, order)],
            networks=networks[order],
            title="mean structural connectivity",
            label="weight",
        ),
        fig_dir / "mean_structural.png",
    )
    sections.add(
        "Structural connectivity",
        f"Connectivity matrices of {len(specs)} subjects; transitions run between the "
        "networks of the region table (one binary state per network).",
        [(figure, "Connectivity averaged over subjects (regions grouped by network).")],
    )
    sections.finish()


def summarise_structural_energies(energy):
    """Energies on the structural network per analysis, over well-posed transitions.

    A transition counts when its target is reached (unreached fraction at
    most ``MAX_UNREACHED``) with a condition number of at most
    ``MAX_CONDITION``. Each subject's energy is the geometric mean over its
    well-posed transitions and runs; the cohort's is the geometric mean over
    subjects with a 95 % t interval.

    Returns
    -------
    DataFrame
        One row per analysis: ``n_transitions``, ``n_used``, ``n_subjects``,
        ``n_subjects_lost``, ``energy`` (geometric mean), ``ci_low``,
        ``ci_high``, ``median_condition`` and ``max_condition`` over the
        transitions used.
    """
    energy = energy[energy["network"] == "structural"]
    n_total = energy["subject"].nunique()
    rows = []
    for analysis, group in energy.groupby("analysis", sort=False):
        used = group[group["well_posed"] & (group["energy"] > 0)]
        per_subject = np.log(used["energy"]).groupby(used["subject"]).mean().to_numpy()
        n = per_subject.size
        row = {
            "analysis": analysis,
            "control": group["control"].iloc[0],
            "epsilon": float(group["epsilon"].iloc[0]),
            "horizon": float(group["horizon"].iloc[0]),
            "n_transitions": len(group),
            "n_used": len(used),
            "n_subjects": n,
            "n_subjects_lost": n_total - n,
            **_geometric_mean(per_subject, "energy"),
            "median_condition": float(used["condition_number"].median()) if n else np.nan,
            "max_condition": float(used["condition_number"].max()) if n else np.nan,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _structural_energy_text(table, design, config, between="activity states"):
    """The structural energy section's text and its headline numbers."""
    from brainctrl.control.energy import condition_text

    rows = table.set_index("analysis")
    primary = rows.loc["primary"]
    epsilon = design.get("epsilon", primary["epsilon"])
    text = (
        f"Minimum control energy of the transitions between {between} on each subject's "
        f"structural connectome (normalised by 1 + spectral radius, {config.control.system} "
        f"time, horizon {config.control.horizon:g}): control set "
        f"{config.control.control_set} with full input and weight {epsilon:g} on every other "
        f"region. Transitions count when reached (unreached fraction at most {_UNREACHED}) "
        f"with a Gramian condition number of at most {_CONDITION}. "
    )
    headline = {
        "network": "structural",
        "n_transitions": int(primary["n_transitions"]),
        "n_used": int(primary["n_used"]),
    }
    if not primary["n_used"]:
        return text + "No transition of the primary analysis is well posed.", headline
    headline.update(
        energy=float(primary["energy"]),
        ci=[float(primary["ci_low"]), float(primary["ci_high"])],
        max_condition=float(primary["max_condition"]),
    )
    text += (
        f"Primary analysis: geometric mean energy {primary['energy']:.3g} over "
        f"{int(primary['n_subjects'])} subjects ({int(primary['n_used'])} of "
        f"{int(primary['n_transitions'])} transitions; largest condition number "
        f"{condition_text(primary['max_condition'])}). Energies grow roughly as 1/epsilon^2 "
        "with the weak inputs: compare them within an analysis, not across analyses."
    )
    return text, _finite(headline)


def random_set_specificity(pairs):
    """The primary ratio against random control sets of the same size, paired by subject.

    For each subject with well-posed transitions in both, the difference of
    its mean log ratio under the primary analysis and its mean log ratio over
    the random sets; Wilcoxon signed-rank test of those differences.

    Returns
    -------
    dict or None
        ``ratio_of_ratios`` (exp of the mean difference), ``p``, ``n_subjects``;
        None without random sets or with fewer than two subjects.
    """
    from scipy import stats

    used = pairs[pairs["used"]]
    per = used.groupby(["analysis", "subject"])["log_ratio"].mean().unstack("analysis")
    random = [c for c in per.columns if str(c).startswith("random set")]
    if "primary" not in per.columns or not random:
        return None
    both = pd.concat([per["primary"], per[random].mean(axis=1)], axis=1).dropna()
    if len(both) < 2:
        return None
    difference = (both.iloc[:, 0] - both.iloc[:, 1]).to_numpy()
    p = float(stats.wilcoxon(difference).pvalue) if np.any(difference != 0) else 1.0
    return {
        "ratio_of_ratios": float(np.exp(difference.mean())),
        "p": p,
        "n_subjects": len(both),
    }


def _ratio_text(row):
    if not row["n_used"]:
        return "no well-posed transition"
    text = f"{row['ratio']:.3g}"
    if np.isfinite(row["ci_low"]):
        text += f" (95 % CI {row['ci_low']:.3g}–{row['ci_high']:.3g}"
        text += f", Wilcoxon p = {row['p']:.3g})" if np.isfinite(row["p"]) else ")"
    return text + f", {int(row['n_used'])} of {int(row['n_transitions'])} transitions"


def _energy_text(table, design, config, specificity=None):
    """The energy section's text and its headline numbers (well-posed transitions only)."""
    from brainctrl.control.energy import condition_text

    rows = table.set_index("analysis")
    primary = rows.loc["primary"]
    epsilon = design.get("epsilon", primary["epsilon"])
    if not design.get("epsilon_chosen"):
        how = "control.epsilon"
    elif design.get("epsilon_met_target", True):
        how = (
            "chosen as the smallest weight of the grid in the table below whose static "
            f"Gramians (first five runs) have a condition number of at most {_TARGET}"
        )
    else:
        how = (
            "no weight of the grid in the table below gave the first runs' static Gramians "
            f"a condition number of at most {_TARGET}, so every region has the same weight"
        )
    head = (
        f"Primary analysis: control set {config.control.control_set} with full input, and "
        f"input weight {epsilon:g} on every other region ({how}); horizon "
        f"{config.control.horizon:g}, windows of {config.connectivity.window_length} frames. "
        "Static and dynamic energies are compared only over transitions that both networks "
        f"reach (unreached fraction at most {_UNREACHED}) with a Gramian condition number of "
        f"at most {_CONDITION}; absolute energies grow roughly as 1/epsilon^2 with the weak "
        "inputs, so only ratios are compared across analyses."
    )
    headline = {
        "n_transitions": int(primary["n_transitions"]),
        "n_used": int(primary["n_used"]),
        "n_excluded": int(primary["n_excluded"]),
    }
    if not primary["n_used"]:
        body = (
            " No transition of the primary analysis is well posed "
            f"({primary['excluded_reasons']}), so no ratio is reported."
        )
    else:
        headline.update(
            ratio=float(primary["ratio"]),
            ci=[float(primary["ci_low"]), float(primary["ci_high"])],
            p=float(primary["p"]),
            max_condition_static=float(primary["max_condition_static"]),
            max_condition_dynamic=float(primary["max_condition_dynamic"]),
        )
        excluded = (
            f"; {int(primary['n_excluded'])} excluded ({primary['excluded_reasons']})"
            if primary["n_excluded"]
            else ""
        )
        if primary["n_subjects_lost"]:
            excluded += (
                f"; {int(primary['n_subjects_lost'])} subject(s) have no well-posed transition "
                "and are left out"
            )
        share = primary.get("control_set_share")
        body = (
            f" Dynamic / static energy = {_ratio_text(primary)}{excluded}. The largest "
            "condition numbers among the transitions used: static "
            f"{condition_text(primary['max_condition_static'])}, dynamic "
            f"{condition_text(primary['max_condition_dynamic'])}."
        )
        if share is not None and np.isfinite(share):
            headline["control_set_share"] = float(share)
            body += f" The control set carries {share:.0%} of the static input energy (median)."
    controls = []
    for name, label in (
        (
            "control set alone",
            f"the control set alone (no input elsewhere; {config.control.control_set})",
        ),
        ("all regions", "all regions controlled"),
    ):
        if name in rows.index:
            controls.append(f"{label}: {_ratio_text(rows.loc[name])}")
    random = rows[rows.index.str.startswith("random set")]
    if len(random):
        ratios = random["ratio"].dropna()
        if len(ratios):
            controls.append(
                f"{len(random)} random sets of the same size (same epsilon): ratios "
                f"{ratios.min():.3g}–{ratios.max():.3g}"
            )
            headline["random_set_ratios"] = [float(r) for r in ratios]
    if design.get("random_sets_note"):
        controls.append(design["random_sets_note"])
    if specificity is not None:
        controls.append(
            f"primary against random sets, paired over {specificity['n_subjects']} subjects: "
            f"ratio of ratios {specificity['ratio_of_ratios']:.3g}, Wilcoxon p = "
            f"{specificity['p']:.3g}"
        )
        headline["random_set_specificity"] = specificity
    for prefix in ("epsilon", "horizon", "window"):
        sweep = rows[rows.index.str.startswith(prefix + " ")]
        if len(sweep):
            controls.append(
                ", ".join(f"{name}: {_ratio_text(row)}" for name, row in sweep.iterrows())
            )
    text = head + body
    if controls:
        text += " Controls — " + "; ".join(controls) + "."
    text += " " + _energy_verdict(rows, config.control.control_set, specificity)
    return text, _finite(headline)


def _finite(value):
    """NaN and infinities as None, so that summary.json is strict JSON."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _direction(row):
    """-1, 0 or 1: the ratio's 95 % interval below 1, containing 1, above 1."""
    if not row["n_used"] or not np.isfinite(row["ci_low"]):
        return 0
    return -1 if row["ci_high"] < 1 else (1 if row["ci_low"] > 1 else 0)


def _energy_verdict(rows, name, specificity=None):
    """What the controls say of the primary ratio, in one or two sentences.

    A direction is stated only when the primary analysis, every epsilon of the
    sweep and all regions controlled agree on it (their 95 % intervals on the
    same side of 1); specificity to the control set only when the primary
    ratio differs from the random sets' (paired over subjects, p < 0.05).
    """
    primary = rows.loc["primary"]
    if not primary["n_used"]:
        return "No conclusion can be drawn from these energies."
    direction = _direction(primary)
    if direction == 0:
        return "The 95 % interval of the primary ratio contains 1: no difference."
    checks = rows[rows.index.str.startswith("epsilon ") | (rows.index == "all regions")]
    disagree = [name_ for name_, row in checks.iterrows() if _direction(row) != direction]
    word = "less" if direction < 0 else "more"
    if disagree:
        return (
            f"The dynamic network costs {word} energy in the primary analysis, but not under "
            f"{', '.join(disagree)}: the answer depends on the weight of the other regions' "
            "inputs, so these data give no robust difference between the two networks."
        )
    text = (
        f"The dynamic network costs {word} energy at every input weight tried and with all "
        "regions controlled."
    )
    if specificity is None:
        return text + (
            f" Without random control sets it cannot be told whether this is specific to {name}."
        )
    if specificity["p"] < 0.05:
        return text + f" The ratio differs from random sets of the same size: specific to {name}."
    return text + (
        f" Random sets of the same size give the same ratio: the difference is not specific "
        f"to {name}."
    )


class SectionSkipped(Exception):
    """Raised inside a section that cannot run; carries the reason."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class _SectionFinished(Exception):
    """A section is done before its end (see :meth:`Sections.finish`)."""


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
        except _SectionFinished:
            self._outcome(name, "done")
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

    def finish(self):
        """Stop the current section, which is done (what it reports is added)."""
        raise _SectionFinished

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
    if "window" in measures:
        # group statistics compare the static network's values; per-window rows
        # (control.per_window, graph.per_window) stay in the per-run tables
        measures = measures[measures["window"] < 0].reset_index(drop=True)
    globals_ = _collect(specs, out_dir, unit_key, "globals")
    energy = _collect(specs, out_dir, unit_key, "energy")
    truth = _load_truth(manifest)
    summary = sections.summary
    summary.update(n_runs=len(specs), n_subjects=len({str(s.subject) for s in specs}))

    structural_only = getattr(manifest, "structural_only", False)
    # connectivity and brain states
    with sections.guard("connectivity and brain states"):
        if structural_only:
            _structural_section(specs, out_dir, unit_key, networks, fig_dir, sections)
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
                    + (
                        "subject's structural connectome"
                        if config.control.system_from == "structural"
                        else "run's static FC"
                    )
                    + " normalised as A / (1 + spectral radius), whatever "
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
        if states is None and structural_only:
            sections.skip(
                "the cohort has connectivity matrices only, so transitions run between the "
                "networks of the region table, which names fewer than two "
                f"({states_text(regions)}); add parcellation.regions with a 'network' column"
            )
        if states is None:
            sections.skip("the brain states failed, and transitions run between them")
        if energy.empty:
            sections.skip(
                "no run's transition energies finished (see the 'energy' rows of status.parquet)"
            )
        design = _read_json(group_dir / "energy_design.json") or {}
        if config.control.system_from == "structural":
            table = summarise_structural_energies(energy)
            _store.write_table(table, group_dir / "energy_structural.parquet")
            between = (
                f"the networks ({', '.join(states['names'])}; one binary state each)"
                if structural_only
                else "activity states"
            )
            text, summary["energy"] = _structural_energy_text(table, design, config, between)
            sections.report.append(
                (
                    "Transition energy on the structural connectome",
                    text,
                    [],
                    [
                        ("energy per analysis (well-posed transitions only)", table),
                        (
                            "conditioning of the Gramians over the epsilon grid (first runs)",
                            _read_table(group_dir / "energy_conditioning.parquet"),
                        ),
                    ],
                )
            )
            sections.finish()
        pairs, table = compare_energies(energy)
        _store.write_table(pairs, group_dir / "energy_static_vs_dynamic.parquet")
        _store.write_table(table, group_dir / "energy_comparison.parquet")
        specificity = random_set_specificity(pairs)
        text, summary["energy"] = _energy_text(table, design, config, specificity)
        primary = pairs[(pairs["analysis"] == "primary") & pairs["used"]]
        figures = [
            (
                _savefig(
                    plotting.plot_energy_ratios(
                        table, title="dynamic / static energy over well-posed transitions"
                    ),
                    fig_dir / "energy_ratios.png",
                ),
                "Ratio of the dynamic to the static network's energy (geometric mean over "
                "subjects of each subject's mean log ratio, 95 % t interval), per analysis; "
                f"only transitions that both networks reach within {_UNREACHED} with a "
                f"condition number of at most {_CONDITION} are compared (counts beside each "
                "analysis).",
            )
        ]
        if len(primary):
            figures.append(
                (
                    _savefig(
                        plotting.plot_energy_comparison(
                            primary.rename(
                                columns={
                                    "energy_static": "static",
                                    "energy_dynamic": "dynamic",
                                    "condition_static": "condition_number",
                                }
                            ),
                            title="primary analysis, well-posed transitions",
                        ),
                        fig_dir / "energy.png",
                    ),
                    "Energy of each well-posed transition of the primary analysis under the "
                    "static network and along the time-varying network; colour: log10 of the "
                    "static Gramian's condition number, as in the tables.",
                )
            )
        shown = table.drop(columns=["excluded_reasons"]).copy()
        sections.report.append(
            (
                "Transition energy: static versus dynamic network",
                text,
                figures,
                [
                    ("comparison per analysis (well-posed transitions only)", shown),
                    (
                        "conditioning of the static Gramians over the epsilon grid (first runs)",
                        _read_table(group_dir / "energy_conditioning.parquet"),
                    ),
                ],
            )
        )

    # multilayer reconfiguration
    with sections.guard("multilayer communities"):
        if not config.multilayer.enabled:
            sections.skip("multilayer.enabled is false")
        if structural_only:
            sections.skip("the cohort has connectivity matrices only: no windows to follow")
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

    if truth is not None and config.multilayer.enabled and not structural_only:
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
    inputs = {
        "measures": measures,
        "phenotype": phenotype,
        "subjects": subjects,
        "absent_note": absent_note,
        "regions": regions,
        "config": config,
        "group_dir": group_dir,
        "fig_dir": fig_dir,
        "sections": sections,
        "truth": truth,
    }
    with sections.guard("group comparison"):
        _group_comparison_section(**inputs)
    with sections.guard("sparse CCA"):
        _sparse_cca_section(**inputs)
    with sections.guard("behaviour prediction"):
        _prediction_section(**inputs)
    return sections


def _group_comparison_section(
    *,
    measures,
    phenotype,
    subjects,
    absent_note,
    regions,
    config,
    group_dir,
    fig_dir,
    sections,
    truth,
):
    """The group comparison of regional measures (GLM, permutations, FDR)."""
    from brainctrl import plotting
    from brainctrl.pipeline._preflight import (
        MIN_RESIDUAL_DF,
    )
    from brainctrl.stats import (
        group_comparison,
    )

    sc = config.stats
    summary = sections.summary
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


def _sparse_cca_section(
    *,
    measures,
    phenotype,
    subjects,
    absent_note,
    regions,
    config,
    group_dir,
    fig_dir,
    sections,
    truth,
):
    """Sparse CCA of a regional measure against the symptom scores."""
    from brainctrl import plotting
    from brainctrl.pipeline._preflight import (
        MIN_CCA_SUBJECTS,
    )
    from brainctrl.stats import (
        SparseCCA,
        sparse_cca_permutation_test,
    )

    sc = config.stats
    summary = sections.summary
    names = regions["name"].astype(str)
    from sklearn.model_selection import RepeatedKFold

    if not sc.cca:
        sections.skip("stats.cca is false")
    if len(sc.cca_scores) < 2:
        sections.skip(
            f"stats.cca_scores names {len(sc.cca_scores)} column(s); sparse CCA needs two or more"
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
        cca,
        X,
        Y,
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
        f", covariates {', '.join(sc.covariates)} removed within the permutation scheme (Huh–Jhun)"
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


def _prediction_section(
    *,
    measures,
    phenotype,
    subjects,
    absent_note,
    regions,
    config,
    group_dir,
    fig_dir,
    sections,
    truth,
):
    """Cross-validated prediction of a score from graph and control features."""
    from brainctrl import plotting
    from brainctrl.pipeline._preflight import (
        MIN_TEST_FOLD,
        prediction_needs,
    )
    from brainctrl.stats import (
        compare_feature_sets,
        predict_behaviour,
    )

    sc = config.stats
    summary = sections.summary
    names = regions["name"].astype(str)
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
    if keep.sum() < MIN_TEST_FOLD * sc.cv_folds:
        sections.skip(
            f"{int(keep.sum())} subject(s) have results, '{target_name}' and every "
            f"covariate; {prediction_needs(sc.cv_folds)}"
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
