"""The work of one run, and of the whole cohort, as plain functions.

Per run (``run`` stage, independent across runs):
    clean -> static FC -> sliding-window FC -> controllability of the static
    network -> graph measures and communities of the static network ->
    multilayer communities over the windows (flexibility, promiscuity,
    allegiance with recruitment and integration, module size entropy).
Across runs (``states`` stage): brain states (k-means of windowed FC) and
activity states (k-means of frames) over the cohort.
Per run again (``energy`` stage): energies of transitions between activity
states through the control set, under the static network and along the
time-varying (non-overlapping window) network, with each transition's Gramian
condition number and unreached fraction of the target.
"""

import hashlib
import logging
import warnings

import numpy as np
import pandas as pd

from brainctrl.control.energy import CONDITION_WARNING, TERMINAL_WARNING

__all__ = ["clean_run", "conform_regions", "process_run", "run_seed", "transition_energies"]

logger = logging.getLogger(__name__)


def run_seed(random_state, key):
    """A seed for one unit, from the global seed and the unit's name only."""
    digest = hashlib.sha256(f"{random_state}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def clean_run(run, clean):
    """Denoise one run's time series as the config's ``clean`` section says.

    Parameters
    ----------
    run : RunData
        The run; ``run.confounds`` must hold the columns ``clean.confounds`` names.
    clean : CleanConfig
        Frames to drop, confounds, detrending, filtering, standardisation and
        global-signal regression.

    Returns
    -------
    ndarray of shape (n_timepoints - clean.discard_initial, n_regions)
        The cleaned time series.

    Notes
    -----
    One regression (:func:`nilearn.signal.clean`) removes the linear trend,
    the confounds and, with ``clean.global_signal``, the global signal
    ``g(t) = (1/N) Σ_i x_i(t)`` over the N regions (with ``"derivative"``
    also ``g(t) − g(t−1)``, 0 at the first frame). nilearn detrends and
    filters the confounds as it does the signals, so ``g`` enters as the mean
    of the detrended, filtered regional signals, and every cleaned region is
    orthogonal to it.

    Global-signal regression removes the component shared by all regions
    (respiration, heart rate, arousal and motion leave much of their trace
    there). On real resting-state data FC without it is positive almost
    everywhere (HCP: mean r 0.2-0.4) and its communities are coarse
    (single-layer modularity Q 0.07-0.24 with 2-3 communities; Q around 0.58
    with it). The caveat: the cleaned signals of the N regions then sum to
    zero at every frame, which shifts the FC distribution towards negative
    values and creates anticorrelations that were not in the data (Murphy et
    al. 2009); compare FC between cleanings only with that in mind.

    References
    ----------
    .. [1] Murphy, K., Birn, R. M., Handwerker, D. A., Jones, T. B., &
       Bandettini, P. A. (2009). The impact of global signal regression on
       resting state correlations: are anti-correlated networks introduced?
       NeuroImage, 44(3), 893-905.
    """
    from nilearn.signal import clean as nilearn_clean

    from brainctrl._utils.validation import check_timeseries
    from brainctrl.exceptions import DataError

    context = run.describe()
    ts = run.timeseries[clean.discard_initial :]
    confounds = None
    if clean.confounds:
        if run.confounds is None:
            raise DataError(
                f"clean.confounds asks for {clean.confounds} but the run has no confounds.",
                **run._ids(),
            )
        missing = [c for c in clean.confounds if c not in run.confounds.columns]
        if missing:
            raise DataError(
                f"confound column(s) {missing} not found; available: "
                f"{list(run.confounds.columns)}.",
                **run._ids(),
            )
        confounds = run.confounds[clean.confounds].to_numpy(float)[clean.discard_initial :]
        confounds = np.where(np.isfinite(confounds), confounds, np.nanmean(confounds, axis=0))
    check_timeseries(ts, context=context)
    if clean.global_signal:
        regressors = [_global_signal(ts, derivative=clean.global_signal == "derivative")]
        if confounds is not None:
            regressors.insert(0, confounds)
        confounds = np.column_stack(regressors)
    cleaned = nilearn_clean(
        ts,
        confounds=confounds,
        detrend=clean.detrend,
        standardize="zscore_sample" if clean.standardize else None,
        high_pass=clean.high_pass,
        low_pass=clean.low_pass,
        t_r=run.t_r,
        ensure_finite=False,
    )
    return check_timeseries(cleaned, context=context)


def conform_regions(run, reference):
    """Put a run's regions in the cohort's order (``reference``: region names).

    Every run of a cohort must have the same regions; their column order may
    differ (e.g. tables written by different tools), and is made the
    reference's so that matrices, control sets and group maps line up.

    Raises
    ------
    DataError
        If the run's regions are not those of the reference.
    """
    from brainctrl.exceptions import DataError
    from brainctrl.io import RunData

    names = run.regions["name"].astype(str).tolist()
    if names == list(reference):
        return run
    if sorted(names) != sorted(reference):
        missing = sorted(set(reference) - set(names))
        extra = sorted(set(names) - set(reference))
        raise DataError(
            f"its {len(names)} regions differ from the cohort's {len(reference)} (those of its "
            f"first run): missing {missing[:5]}, extra {extra[:5]}.",
            **run._ids(),
        )
    order = [names.index(name) for name in reference]
    return RunData(
        timeseries=run.timeseries[:, order],
        t_r=run.t_r,
        regions=run.regions.iloc[order].reset_index(drop=True),
        confounds=run.confounds,
        subject=run.subject,
        session=run.session,
        run=run.run,
        source=run.source,
        metadata={**run.metadata, "reordered_to_cohort": True},
    )


def _global_signal(timeseries, *, derivative=False):
    """The mean over regions, ``(n_timepoints, 1)``, and its first difference if asked."""
    signal = timeseries.mean(axis=1)
    if not derivative:
        return signal[:, None]
    return np.column_stack([signal, np.diff(signal, prepend=signal[0])])


def _tidy(run, region_names, measures, windowed=()):
    """Long table of per-region measures.

    ``measures`` maps a name to ``(n_regions,)`` values (static network), and
    ``windowed`` to ``(n_windows, n_regions)`` values with a ``window`` index
    (-1 marks static-network rows).
    """
    frames = []
    n = len(region_names)
    for name, values in measures.items():
        frames.append(
            pd.DataFrame(
                {
                    "region": region_names,
                    "measure": name,
                    "window": -1,
                    "value": np.asarray(values, dtype=float),
                }
            )
        )
    for name, values in dict(windowed).items():
        values = np.asarray(values, dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "region": np.tile(region_names, len(values)),
                    "measure": name,
                    "window": np.repeat(np.arange(len(values)), n),
                    "value": values.ravel(),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "run", run.run)
    table.insert(0, "session", run.session)
    table.insert(0, "subject", run.subject)
    table = table[["subject", "session", "run", "region", "measure", "value", "window"]]
    for column in ("subject", "session", "run", "region", "measure"):
        table[column] = table[column].astype("string")
    return table


#: Windows whose full matrices the per-window measures hold at a time.
_WINDOW_CHUNK = 16
#: Node measures of graph.per_window (those that need no communities).
_WINDOW_GRAPH_MEASURES = ("strength", "degree", "clustering", "local_efficiency", "betweenness")


def _controllability(network, horizon):
    """Average and modal controllability of a network normalised by 1 + spectral radius."""
    from brainctrl.control import (
        average_controllability,
        modal_controllability,
        normalize_adjacency,
    )

    a_discrete = normalize_adjacency(network, system="discrete")
    a_continuous = normalize_adjacency(network, system="continuous")
    return {
        "average_controllability": average_controllability(a_discrete, system="discrete"),
        "modal_controllability": modal_controllability(a_discrete),
        "average_controllability_continuous": average_controllability(
            a_continuous, system="continuous", horizon=horizon
        ),
    }


def _graph(adjacency, graph_config, rng):
    """Graph measures and communities of one network (zero diagonal).

    Returns ``(measures, globals, partition)``: per-region values by name,
    whole-network values by name, and the community labels.
    """
    from brainctrl.graph import (
        graph_measures,
        modularity,
        modularity_communities,
        threshold_proportional,
    )

    graph_input = adjacency
    if graph_config.density is not None:
        graph_input = threshold_proportional(adjacency, graph_config.density)
    communities = modularity_communities(
        adjacency,
        gamma=graph_config.gamma,
        negative=graph_config.negative,
        n_runs=graph_config.n_runs,
        random_state=int(rng.integers(2**31)),
    )
    partition = np.asarray(getattr(communities, "partition", communities))
    graph = graph_measures(graph_input, partition, negative=graph_config.negative)
    measures = {
        column: graph[column].to_numpy(float)
        for column in graph.columns
        if column not in ("region", "name", "network")
    }
    globals_ = {key: float(value) for key, value in graph.attrs.get("global", {}).items()}
    # one definition: Q (gamma 1) of the communities under graph.negative, the rule
    # they were searched with, on the unthresholded network they were searched on
    globals_["modularity"] = float(
        modularity(adjacency, partition, negative=graph_config.negative)
    )
    globals_["n_communities"] = float(len(np.unique(partition)))
    return measures, globals_, partition


def _globals_table(unit, values):
    return pd.DataFrame(
        {
            "subject": unit.subject,
            "session": unit.session,
            "run": unit.run,
            "measure": list(values),
            "value": list(values.values()),
        }
    )


def scaled_structural(matrix, control):
    """A subject's connectivity matrix as ``control.structural_scale`` says (float64)."""
    matrix = np.asarray(matrix, dtype=float)
    if control.structural_scale is None:
        return matrix
    from brainctrl.connectivity import scale_structural

    return scale_structural(matrix, method=control.structural_scale)


def process_structural(spec, matrix, names, config, seed):
    """Everything computed from one subject's connectivity matrix alone (no time series).

    Controllability (as :func:`process_run` computes it, on the matrix) and
    graph measures and communities of the matrix with a zero diagonal.

    Returns
    -------
    tables : dict of DataFrame
        ``measures`` and ``globals``, as :func:`process_run` writes them.
    arrays : dict of ndarray
        ``structural`` (the matrix as read, scaled as ``control.structural_scale``
        says) and ``communities``.
    """
    rng = np.random.default_rng(seed)
    matrix = scaled_structural(matrix, config.control)
    measures = _controllability(matrix, config.control.horizon)
    adjacency = matrix.copy()
    np.fill_diagonal(adjacency, 0.0)
    graph, globals_, partition = _graph(adjacency, config.graph, rng)
    measures.update(graph)
    tables = {
        "measures": _tidy(spec, np.asarray(names, dtype=str), measures),
        "globals": _globals_table(spec, globals_),
    }
    return tables, {"structural": matrix, "communities": partition.astype(np.int32)}


def process_run(run, config, seed, structural=None):
    """Everything computed from one run alone.

    With ``control.system_from: structural``, ``structural`` is the subject's
    connectivity matrix (in the run's region order): controllability is
    computed on it instead of the run's FC, and it is kept in the arrays for
    the energy stage.

    Returns
    -------
    tables : dict of DataFrame
        ``measures`` (tidy per-region values) and ``globals`` (one row per
        whole-network value).
    arrays : dict of ndarray
        Static FC, vectorised sliding-window FC (float32 upper triangle), the
        cleaned time series, communities and allegiance.
    """
    from brainctrl.connectivity import functional_connectivity, sliding_window_connectivity
    from brainctrl.connectivity._kernels import vector_to_matrix
    from brainctrl.control import (
        average_controllability,
        modal_controllability,
        normalize_adjacency,
    )
    from brainctrl.graph import graph_measures, threshold_proportional
    from brainctrl.multilayer import (
        flexibility,
        integration,
        module_allegiance,
        module_size_entropy,
        multilayer_modularity,
        promiscuity,
        recruitment,
    )

    rng = np.random.default_rng(seed)
    cc = config.connectivity
    ts = clean_run(run, config.clean)
    if len(ts) < cc.window_length:
        from brainctrl.exceptions import DataError

        raise DataError(
            f"{len(ts)} frames (after clean.discard_initial = {config.clean.discard_initial}) "
            f"are fewer than connectivity.window_length = {cc.window_length}.",
            **run._ids(),
        )
    names = run.regions["name"].astype(str).to_numpy()
    n = ts.shape[1]

    fc = functional_connectivity(ts, kind=cc.kind, fisher_z=cc.fisher_z)
    # upper triangles only (half the memory of the matrices); the matrices of the
    # windows an analysis needs are rebuilt from them, with a zero diagonal
    dfc = sliding_window_connectivity(
        ts, cc.window_length, step=cc.step, taper=cc.taper, vectorize=True
    )

    adjacency = fc.copy()
    np.fill_diagonal(adjacency, 0.0)
    network = adjacency
    if config.control.system_from == "structural":
        if structural is None:
            from brainctrl.exceptions import DataError

            raise DataError(
                "control.system_from is 'structural' but the run has no connectivity matrix "
                "(the manifest's 'structural' key).",
                **run._ids(),
            )
        network = scaled_structural(structural, config.control)
    measures = _controllability(network, config.control.horizon)

    def per_window(measure):
        """``measure(matrices)`` -> {name: (k, n) values}, 16 windows' matrices at a time."""
        parts = [
            measure(vector_to_matrix(dfc[start : start + _WINDOW_CHUNK], n))
            for start in range(0, len(dfc), _WINDOW_CHUNK)
        ]
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    def controllability(matrices):
        a_windows = normalize_adjacency(matrices, system="discrete")
        return {
            "average_controllability": average_controllability(a_windows, system="discrete"),
            "modal_controllability": modal_controllability(a_windows),
        }

    def graph_per_window(matrices):
        if config.graph.density is not None:
            matrices = threshold_proportional(matrices, config.graph.density)
        table = graph_measures(
            matrices, measures=_WINDOW_GRAPH_MEASURES, negative=config.graph.negative
        )
        return {c: table[c].to_numpy(float).reshape(len(matrices), n) for c in table.columns}

    windowed = {}
    if config.control.per_window:
        windowed.update(per_window(controllability))

    graph, globals_, partition = _graph(adjacency, config.graph, rng)
    measures.update(graph)
    if config.graph.per_window:
        windowed.update(per_window(graph_per_window))

    arrays = {
        "static_fc": fc.astype(np.float32),
        "communities": partition.astype(np.int32),
        "timeseries": ts.astype(np.float32),
    }
    arrays["dynamic_fc"] = dfc.astype(np.float32)
    if config.control.system_from == "structural":
        arrays["structural"] = network

    if config.multilayer.enabled:
        ml_cfg = config.multilayer
        stride = ml_cfg.window_stride or max(1, -(-cc.window_length // cc.step))
        layers = vector_to_matrix(dfc[::stride], n)
        ml = multilayer_modularity(
            layers,
            negative=ml_cfg.negative,
            gamma=ml_cfg.gamma,
            omega=ml_cfg.omega,
            n_runs=ml_cfg.n_runs,
            random_state=int(rng.integers(2**31)),
        )
        ml_partition = np.asarray(ml.partition)
        allegiance = module_allegiance(ml_partition, n_regions=n)
        systems = run.regions["network"].astype(str).to_numpy()
        measures["flexibility"] = flexibility(ml_partition, n_regions=n)
        measures["promiscuity"] = promiscuity(ml_partition, n_regions=n)
        measures["recruitment"] = recruitment(allegiance, systems)
        measures["integration"] = integration(allegiance, systems)
        arrays["multilayer_partition"] = ml_partition.astype(np.int32)
        arrays["multilayer_windows"] = np.arange(0, len(dfc), stride, dtype=np.int32)
        arrays["allegiance"] = allegiance.astype(np.float32)
        globals_["multilayer_quality"] = float(ml.quality)
        entropy = np.asarray(module_size_entropy(ml_partition, n_regions=n), dtype=float)
        globals_["module_size_entropy"] = float(entropy.mean())
        globals_["mean_flexibility"] = float(np.mean(measures["flexibility"]))

    tables = {
        "measures": _tidy(run, names, measures, windowed),
        "globals": _globals_table(run, globals_),
    }
    return tables, arrays


#: Largest condition number of a Gramian whose energies enter the comparison:
#: the threshold above which energies warn (float64 keeps about 6 digits there).
MAX_CONDITION = CONDITION_WARNING
#: Largest unreached fraction of a target that counts as reached (the energies'
#: own tolerance, above which a target's energy is inf).
MAX_UNREACHED = TERMINAL_WARNING


def energy_analyses(config, design, n_frames):
    """The analyses of the energy stage: the primary one and its controls.

    Parameters
    ----------
    config : PipelineConfig
    design : dict
        ``mask`` (the control set), ``epsilon`` (the mixed control set's
        weight elsewhere) and ``random_sets`` (boolean masks, one per row).
    n_frames : int
        Frames of the run (window lengths that do not fit twice are skipped).

    Returns
    -------
    list of dict
        ``analysis``, ``control`` (a description), ``B`` (mask or weights),
        ``epsilon``, ``horizon``, ``window_length``, ``mask`` (the chosen regions).
    """
    ctl, window = config.control, config.connectivity.window_length
    mask, epsilon = np.asarray(design["mask"], dtype=bool), float(design["epsilon"])

    def mixed(chosen):
        return np.where(chosen, 1.0, epsilon)

    name = ctl.control_set
    base = {"horizon": ctl.horizon, "window_length": window}
    analyses = [
        {
            "analysis": "primary",
            "control": f"{name} + {epsilon:g} elsewhere",
            "B": mixed(mask),
            "epsilon": epsilon,
            "mask": mask,
            **base,
        },
        {
            "analysis": "control set alone",
            "control": name,
            "B": mask,
            "epsilon": 0.0,
            "mask": mask,
            **base,
        },
        {
            "analysis": "all regions",
            "control": "all",
            "B": None,
            "epsilon": 1.0,
            "mask": np.ones_like(mask),
            **base,
        },
    ]
    for i, chosen in enumerate(np.asarray(design["random_sets"], dtype=bool)):
        analyses.append(
            {
                "analysis": f"random set {i + 1}",
                "control": f"random {int(chosen.sum())} + {epsilon:g} elsewhere",
                "B": mixed(chosen),
                "epsilon": epsilon,
                "mask": chosen,
                **base,
            }
        )
    epsilons = ctl.sweep_epsilons
    if epsilons is None:
        epsilons = [epsilon * factor for factor in (10, 100, 1000) if epsilon * factor < 1]
    for value in epsilons:
        if value != epsilon:
            analyses.append(
                {
                    **analyses[0],
                    "analysis": f"epsilon {value:g}",
                    "control": f"{name} + {value:g} elsewhere",
                    "B": np.where(mask, 1.0, float(value)),
                    "epsilon": float(value),
                }
            )
    horizons = ctl.sweep_horizons
    if horizons is None:
        horizons = [ctl.horizon / 2, ctl.horizon * 2]
    for horizon in horizons:
        analyses.append(
            {**analyses[0], "analysis": f"horizon {horizon:g}", "horizon": float(horizon)}
        )
    lengths = ctl.sweep_window_lengths
    if lengths is None:
        lengths = [max(3, window // 2), window * 2]
    for length in lengths:
        if 2 * length <= n_frames and length != window:
            analyses.append(
                {**analyses[0], "analysis": f"window {length}", "window_length": int(length)}
            )
    return analyses


def transition_energies(timeseries, static_fc, states, design, config, structural=None):
    """Energies of all transitions between activity states, static vs dynamic.

    With ``control.system_from: structural`` the one network is the
    subject's connectivity matrix ``structural`` (rows with ``network``
    ``"structural"``, without the window columns; there is no dynamic network
    and no window sweep).

    The static system is the run's FC; the dynamic system holds each
    non-overlapping window's FC for ``horizon / n_windows`` (see
    :func:`brainctrl.control.time_varying_energy`). Every analysis of
    :func:`energy_analyses` is computed: the primary one (the control set
    with a small input ``epsilon`` everywhere else, which makes the system
    controllable) and its controls.

    Returns
    -------
    DataFrame
        One row per analysis, network (``static``, ``dynamic``) and transition
        (``from_state``, ``to_state``): ``energy`` (``∫‖u‖² dt``, no ½; inf when
        the target is not reached), ``reachable_energy`` (of the part of the
        target that can be reached), ``unreachable_fraction``,
        ``condition_number`` (largest over smallest Gramian eigenvalue, inf
        when one is zero or negative), ``rank``, ``energy_control_set`` and
        ``energy_elsewhere`` (the input energy on the chosen regions and on the
        rest; primary analysis only), and
        ``well_posed`` (reached, condition number at most ``MAX_CONDITION``).
    """
    from brainctrl.connectivity import sliding_window_connectivity
    from brainctrl.control import fc_to_system, minimum_energy, time_varying_energy
    from brainctrl.exceptions import IllConditionedWarning, UnreachableTargetWarning

    cc, ctl = config.connectivity, config.control
    k = states.shape[0]
    x0 = np.repeat(states, k, axis=0)
    xf = np.tile(states, (k, 1))
    off = np.repeat(np.arange(k), k) != np.tile(np.arange(k), k)
    x0, xf = x0[off], xf[off]
    from_state, to_state = np.repeat(np.arange(k), k)[off], np.tile(np.arange(k), k)[off]

    structural_only = ctl.system_from == "structural"
    if structural_only:
        from brainctrl.control import normalize_adjacency

        a_static = normalize_adjacency(np.asarray(structural, dtype=float), system=ctl.system)
    else:
        # the signed-Laplacian route zeroes edges with uncorrected p > 0.05 first
        laplacian = ctl.system_from == "signed_laplacian"
        a_static = fc_to_system(
            static_fc.astype(float),
            kind=ctl.system_from,
            system=ctl.system,
            n_samples=len(timeseries) if laplacian else None,
        )
    dynamic_systems = {}

    def windows(length):
        if length not in dynamic_systems:
            fc = sliding_window_connectivity(
                timeseries, length, step=length, taper=cc.taper
            ).astype(float)
            dynamic_systems[length] = fc_to_system(
                fc,
                kind=ctl.system_from,
                system=ctl.system,
                n_samples=length if laplacian else None,
            )
        return dynamic_systems[length]

    rows = []
    # no window sweep on a structural network (no length fits in 0 frames)
    n_frames = 0 if structural_only else len(timeseries)
    for analysis in energy_analyses(config, design, n_frames):
        with warnings.catch_warnings():
            if analysis["analysis"] == "control set alone":
                # singular by design (the control the mixed set is compared with): its
                # health is in the table, and its warnings would only repeat it
                warnings.simplefilter("ignore", IllConditionedWarning)
                warnings.simplefilter("ignore", UnreachableTargetWarning)
            static = minimum_energy(
                a_static,
                x0,
                xf,
                B=analysis["B"],
                horizon=analysis["horizon"],
                system=ctl.system,
            )
            if structural_only:
                results = {"structural": static}
            else:
                a_windows = windows(analysis["window_length"])
                results = {
                    "static": static,
                    "dynamic": time_varying_energy(
                        a_windows, analysis["horizon"] / len(a_windows), x0, xf, B=analysis["B"]
                    ),
                }
        split = analysis["analysis"] == "primary"
        for label, result in results.items():
            condition = np.broadcast_to(result.condition_number, from_state.shape)
            unreached = np.asarray(result.terminal_error)
            row = pd.DataFrame(
                {
                    "analysis": analysis["analysis"],
                    "control": analysis["control"],
                    "epsilon": analysis["epsilon"],
                    "horizon": analysis["horizon"],
                    "window_length": analysis["window_length"],
                    "n_windows": len(windows(analysis["window_length"]))
                    if label == "dynamic"
                    else 1,
                    "network": label,
                    "from_state": from_state,
                    "to_state": to_state,
                    "energy": result.energy,
                    "reachable_energy": result.reachable_energy,
                    "unreachable_fraction": unreached,
                    "condition_number": condition,
                    "rank": np.broadcast_to(result.rank, from_state.shape),
                    "well_posed": (unreached <= MAX_UNREACHED) & (condition <= MAX_CONDITION),
                }
            )
            if structural_only:  # one network, no windows
                row = row.drop(columns=["window_length", "n_windows"])
            if split:
                nodes = result.node_energy
                row["energy_control_set"] = nodes[:, analysis["mask"]].sum(axis=1)
                row["energy_elsewhere"] = nodes[:, ~analysis["mask"]].sum(axis=1)
            rows.append(row)
    return pd.concat(rows, ignore_index=True)
