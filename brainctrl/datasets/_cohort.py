"""Synthetic HCP-like cohort with planted, known ground truth."""

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.special import gammaln

from brainctrl._utils.validation import (
    check_fraction,
    check_option,
    check_positive,
    check_random_state,
)
from brainctrl.datasets._regions import NETWORKS, make_regions
from brainctrl.exceptions import InvalidParameterError
from brainctrl.io import RunData

__all__ = ["Cohort", "CohortTruth", "make_cohort"]

logger = logging.getLogger(__name__)

#: Confound columns written for every run (fMRIPrep names).
CONFOUND_COLUMNS = (
    "trans_x",
    "trans_y",
    "trans_z",
    "rot_x",
    "rot_y",
    "rot_z",
    "framewise_displacement",
)

# Fixed structure of the generative model (documented in make_cohort's Notes).
_SELF_COUPLING = 0.3  # alpha: eigenvalue of every direction outside the network modes
_MODE_HIGH = 0.85  # network-mode eigenvalue when a state strengthens that network
_MODE_LOW = 0.2  # network-mode eigenvalue otherwise
_MODE_MAX = 0.95  # cap of a subject's mode eigenvalue (keeps every A_s clearly stable)
_PRIVATE_NOISE = 1.0  # sd of each region's own innovation
_TEMPLATE_JITTER = 0.004  # sd of the fixed random region-to-region coupling at N = 100
_PARTICIPATION_SPREAD = 0.2  # sd of the template participation weights
_PARTICIPATION_JITTER = 0.05  # sd (log scale) of per-subject participation weights
_CHUNK = 32  # runs simulated at once (bounds memory; results do not depend on it)
# Between-network coupling of the network modes (symmetric, added to every state).
_BETWEEN = {
    ("Vis", "SomMot"): 0.03,
    ("Limbic", "Default"): 0.03,
    ("DorsAttn", "Default"): -0.05,
}


@dataclass
class CohortTruth:
    """The ground truth a synthetic cohort was generated from.

    Arrays indexed by subject follow the order of :attr:`subjects`; arrays
    indexed by network follow :attr:`networks`; region axes follow the rows of
    the cohort's region table.

    Attributes
    ----------
    subjects : list of str
        Subject IDs in simulation order.
    groups : tuple of str
        ``(control_label, patient_label)``; the group effect is planted in the
        second group.
    networks : tuple of str
        The seven network names in the order of every network axis.
    state_networks : list of list of str
        For each latent state, the networks whose internal coupling it strengthens.
    state_couplings : ndarray of shape (n_states, n_regions, n_regions)
        Coupling matrix ``A_s`` of each state for a template subject: control
        group, all subject factors 0, template participation and jitter.
    mode_eigenvalues : ndarray of shape (n_states, 7)
        Template eigenvalue of each network's mode in each state (before the
        between-network coupling and the subject factors are added).
    self_coupling : float
        Eigenvalue ``alpha`` of all directions outside the network modes.
    transition_matrix : ndarray of shape (n_states, n_states)
        Jump chain of the semi-Markov state process: probability of the next
        state given the current one when a dwell ends (zero diagonal).
    mean_dwell, min_dwell : float
        Mean and minimum time (s) spent in a state before switching.
    state_sequences : dict of (str, str) -> ndarray of shape (n_timepoints,)
        Latent state (0 … n_states-1) at each frame, keyed by ``(subject, run)``.
        These are the states of the neural process; with ``hemodynamic=True``
        the BOLD signal follows them after :attr:`hemodynamic_delay`.
    hemodynamic_delay : float
        Peak time (s) of the haemodynamic response applied (0 if none).
    group_regions : list of str
        Regions whose coupling to their network is reduced in the patient group.
        Regions functionally coupled to them (their network, and networks
        coupled to it, e.g. Limbic to Default) can show smaller, secondary
        group differences in functional connectivity.
    group_effect : float
        Fraction by which the participation (coupling to their network) of
        :attr:`group_regions` is reduced in patients.
    subject_factors : pandas.DataFrame
        One row per subject (index ``subject``): a column per network with the
        standard-normal factor ``f_k`` (clipped to ±3) that raises the
        eigenvalue ``λ`` of that network's mode (strength of its internal
        coupling) to ``λ ** exp(-subject_variation * f_k)`` in every state, and
        ``symptom_factor``, the latent variable ``h`` behind the sparse-CCA
        association (uncorrelated with the network factors in the sample).
    subject_variation : float
        Log-scale effect of a subject factor on its mode's time constant.
    participation : ndarray of shape (n_subjects, n_regions)
        Weight of each region in its network's mode (after the group and
        symptom effects, before normalising each network's weights to unit norm).
    mode_loadings : ndarray of shape (n_subjects, n_regions, 7)
        The normalised network modes ``U`` (orthonormal columns).
    mode_couplings : ndarray of shape (n_subjects, n_states, 7, 7)
        Coupling ``M`` between network modes in each state.
    region_jitter : ndarray of shape (n_subjects, n_regions, n_regions)
        Symmetric coupling between single regions ``E`` (template + subject part).
    behaviour_weights : dict of str -> float
        Weight of each network's subject factor in the behaviour ``score``.
    behaviour_r2 : float
        Population R² of the score explained by the weighted factors: the
        ceiling any predictor can reach.
    behaviour_signal : ndarray of shape (n_subjects,)
        Noise-free part of the standardised score, ``sqrt(r2) * z``.
    symptom_regions : list of str
        Regions whose participation is multiplied by
        ``2 / (1 + exp(-symptom_effect * h))`` (between 0 and 2, 1 at h = 0).
    symptom_effect : float
        Slope of the symptom factor's effect on their participation.
    symptom_loadings : dict of str -> float
        Correlation of each symptom with the symptom factor ``h`` (0 for the
        symptoms that are pure noise).
    noise : dict of str -> float
        Noise levels: ``private`` (innovation sd per region), ``shared_input``
        (variance per region of the innovation shared within a network),
        ``measurement`` (white noise sd relative to the unit-variance
        haemodynamic signal), ``motion`` (sd of the motion artefact for a
        median-motion subject, same units).
    t_r : float
        Repetition time in seconds.
    """

    subjects: list
    groups: tuple
    networks: tuple
    state_networks: list
    state_couplings: np.ndarray
    mode_eigenvalues: np.ndarray
    self_coupling: float
    transition_matrix: np.ndarray
    mean_dwell: float
    min_dwell: float
    state_sequences: dict
    hemodynamic_delay: float
    group_regions: list
    group_effect: float
    subject_factors: pd.DataFrame
    subject_variation: float
    participation: np.ndarray
    mode_loadings: np.ndarray
    mode_couplings: np.ndarray
    region_jitter: np.ndarray
    behaviour_weights: dict
    behaviour_r2: float
    behaviour_signal: np.ndarray
    symptom_regions: list
    symptom_effect: float
    symptom_loadings: dict
    noise: dict
    t_r: float

    @property
    def n_states(self):
        """Number of latent states."""
        return self.state_couplings.shape[0]

    def subject_couplings(self, subject):
        """Coupling matrices ``A_s`` of one subject in every state.

        Parameters
        ----------
        subject : str
            Subject ID.

        Returns
        -------
        couplings : ndarray of shape (n_states, n_regions, n_regions)
            ``A_s = alpha I + U (M_s - alpha I) Uᵀ + E``.
        """
        index = self._subject_index(subject)
        return _assemble_couplings(
            self.mode_loadings[index],
            self.mode_couplings[index],
            self.region_jitter[index],
            self.self_coupling,
        )

    def window_states(self, subject, run, window_length, step=1, *, delay=None):
        """Latent state of each sliding window (the majority over its frames).

        Parameters
        ----------
        subject, run : str
            Which run.
        window_length, step : int
            Window k covers frames ``k*step … k*step + window_length - 1``.
        delay : float or None
            Seconds by which the BOLD signal lags the latent states; frames are
            shifted by ``round(delay / t_r)`` before taking the majority.
            ``None`` uses :attr:`hemodynamic_delay`.

        Returns
        -------
        labels : ndarray of shape (n_windows,)
            Most frequent state in each window.
        purity : ndarray of shape (n_windows,)
            Fraction of the window's frames in that state.
        """
        sequence = self.state_sequences[(str(subject), str(run))]
        check_positive("window_length", window_length, integer=True)
        check_positive("step", step, integer=True)
        if window_length > sequence.size:
            raise InvalidParameterError(
                f"'window_length' must be <= the run length ({sequence.size} frames); "
                f"got {window_length}."
            )
        delay = self.hemodynamic_delay if delay is None else delay
        shift = int(round(delay / self.t_r))
        if shift > 0:
            sequence = np.concatenate([np.full(shift, sequence[0]), sequence[:-shift]])
        starts = np.arange(0, sequence.size - window_length + 1, step)
        onehot = np.eye(self.n_states)[sequence]
        counts = np.cumsum(np.vstack([np.zeros(self.n_states), onehot]), axis=0)
        per_window = counts[starts + window_length] - counts[starts]
        labels = per_window.argmax(axis=1)
        purity = per_window.max(axis=1) / window_length
        return labels, purity

    def _subject_index(self, subject):
        try:
            return self.subjects.index(str(subject))
        except ValueError:
            raise InvalidParameterError(
                f"'subject' must be one of the cohort's subjects; got {subject!r}."
            ) from None


@dataclass
class Cohort:
    """A synthetic cohort: runs, region table, phenotype and ground truth.

    Attributes
    ----------
    runs : list of RunData
        One record per subject and run, subjects in order, runs ``"1"``, ``"2"`` …
    regions : pandas.DataFrame
        ``label``, ``name``, ``network``, ``hemisphere``, ``x``, ``y``, ``z``.
    phenotype : pandas.DataFrame
        One row per subject: ``subject``, ``group``, ``age``, ``sex``, ``motion``
        (mean framewise displacement over runs, mm), ``score`` and
        ``symptom_1`` … ``symptom_q``.
    truth : CohortTruth
        What was planted.
    t_r : float
        Repetition time in seconds.
    """

    runs: list
    regions: pd.DataFrame
    phenotype: pd.DataFrame
    truth: CohortTruth
    t_r: float
    _index: dict = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self._index = {(r.subject, r.run): i for i, r in enumerate(self.runs)}

    @property
    def subjects(self):
        """Subject IDs, in order."""
        return list(self.phenotype["subject"])

    @property
    def run_ids(self):
        """Run IDs of every subject."""
        return sorted({r.run for r in self.runs}, key=int)

    def run(self, subject, run="1"):
        """The record of one run.

        Parameters
        ----------
        subject : str
            Subject ID, e.g. ``"001"``.
        run : str, default="1"
            Run ID.

        Returns
        -------
        RunData
        """
        key = (str(subject), str(run))
        if key not in self._index:
            raise InvalidParameterError(
                f"no run {key[1]!r} of subject {key[0]!r} in this cohort; subjects "
                f"{self.subjects[:3]}…, runs {self.run_ids}."
            )
        return self.runs[self._index[key]]

    @property
    def timeseries(self):
        """All time series stacked, shape (n_subjects, n_runs, n_timepoints, n_regions)."""
        stacked = np.stack([r.timeseries for r in self.runs])
        n_runs = len(self.run_ids)
        return stacked.reshape(-1, n_runs, *stacked.shape[1:])

    def __repr__(self):
        first = self.runs[0]
        return (
            f"Cohort(n_subjects={len(self.subjects)}, n_runs={len(self.run_ids)}, "
            f"n_timepoints={first.n_timepoints}, n_regions={first.n_regions}, "
            f"t_r={self.t_r})"
        )


def _assemble_couplings(loadings, mode_couplings, jitter, alpha):
    """``alpha I + U (M - alpha I) Uᵀ + E`` for every state; shapes (N, K), (S, K, K), (N, N)."""
    n_regions, n_modes = loadings.shape
    inner = mode_couplings - alpha * np.eye(n_modes)
    couplings = loadings @ inner @ loadings.T + jitter
    couplings += alpha * np.eye(n_regions)
    return couplings


def _hrf(t_r):
    """Canonical double-gamma haemodynamic response sampled every ``t_r`` s (sum 1).

    Peak at 5 s, undershoot at 15 s with ratio 1/6 (Friston et al. 1998, the
    SPM defaults), over 32 s.
    """
    times = np.arange(0.0, 32.0, t_r)
    with np.errstate(divide="ignore"):
        log_t = np.log(times)
    response = (
        np.exp(5 * log_t - times - gammaln(6)) - np.exp(15 * log_t - times - gammaln(16)) / 6.0
    )
    response[0] = 0.0
    return response / response.sum()


def _state_sequence(rng, n_frames, n_states, min_frames, extra_mean):
    """Semi-Markov sequence: dwell = min_frames + geometric extra; jump to another state."""
    labels = np.empty(n_frames, dtype=np.int64)
    state = int(rng.integers(n_states))
    start = 0
    while start < n_frames:
        dwell = min_frames + int(rng.geometric(1.0 / (extra_mean + 1.0))) - 1
        labels[start : start + dwell] = state
        start += dwell
        if n_states > 1:
            state = (state + int(rng.integers(1, n_states))) % n_states
    return labels


def _orthogonal_factor(raw, factors, group_of):
    """Residual of ``raw`` on the group means and ``factors``, rescaled to unit sd.

    At a few dozen subjects, a standard-normal draw correlates by chance with
    some of the seven network factors (|r| up to ~0.4), which mixes network
    effects into the planted symptom association. The residual is exactly
    uncorrelated with them in the sample. Skipped (``raw`` returned) when there
    are too few subjects for the regression to leave a residual.
    """
    labels = np.unique(group_of)
    design = np.column_stack([(group_of == g).astype(float) for g in labels] + [factors])
    if raw.size < design.shape[1] + 3:
        return raw
    coef, *_ = np.linalg.lstsq(design, raw, rcond=None)
    residual = raw - design @ coef
    return residual / residual.std()


def _motion(rng, n_frames, level):
    """Six rigid-body parameters (mm, rad) and framewise displacement (Power 2012)."""
    # Heavy-tailed steps (Student t, 3 d.o.f., unit variance) give occasional jumps.
    steps = rng.standard_t(3, size=(n_frames, 6)) / np.sqrt(3.0)
    # E|step| of a unit-variance t3 is 2*sqrt(3)/pi/sqrt(3) = 2/pi; FD sums 6 such terms.
    sigma = level / (6 * 2 / np.pi)
    steps *= sigma
    steps[:, 3:] /= 50.0  # rotations in radians on a 50 mm sphere
    steps[0] = 0.0
    params = np.cumsum(steps, axis=0)
    displacement = np.abs(np.diff(params, axis=0, prepend=params[:1]))
    displacement[:, 3:] *= 50.0
    fd = displacement.sum(axis=1)
    return np.column_stack([params, fd])


def _normalise(weights, member):
    """Mode loadings: participation weights per network, unit norm per mode."""
    loadings = weights[..., :, None] * member
    return loadings / np.linalg.norm(loadings, axis=-2, keepdims=True)


def _fixed_structure(n_subjects, n_regions, networks_of, n_states):
    """Subject IDs, network membership, the states' mode eigenvalues and transitions."""
    n_modes = len(NETWORKS)
    subjects = [f"{i + 1:0{max(3, len(str(n_subjects)))}d}" for i in range(n_subjects)]
    member = np.zeros((n_regions, n_modes))
    member[np.arange(n_regions), [NETWORKS.index(n) for n in networks_of]] = 1.0
    network_sizes = member.sum(axis=0)

    order = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Cont", "Default", "Limbic")
    state_networks = [
        [str(n) for n in chunk] for chunk in np.array_split(np.array(order), n_states)
    ]
    mode_eigenvalues = np.full((n_states, n_modes), _MODE_LOW)
    for s, names in enumerate(state_networks):
        mode_eigenvalues[s, [NETWORKS.index(n) for n in names]] = _MODE_HIGH
    if n_states == 1:
        mode_eigenvalues[:] = 0.5 * (_MODE_HIGH + _MODE_LOW)
    between = np.zeros((n_modes, n_modes))
    for (a, b), value in _BETWEEN.items():
        between[NETWORKS.index(a), NETWORKS.index(b)] = value
        between[NETWORKS.index(b), NETWORKS.index(a)] = value
    transition = np.full((n_states, n_states), 1.0 / max(n_states - 1, 1))
    np.fill_diagonal(transition, 0.0 if n_states > 1 else 1.0)

    return SimpleNamespace(
        n_modes=n_modes,
        subjects=subjects,
        member=member,
        network_sizes=network_sizes,
        state_networks=state_networks,
        mode_eigenvalues=mode_eigenvalues,
        between=between,
        transition=transition,
    )


def _subject_effects(
    rng,
    fixed,
    networks_of,
    *,
    n_subjects,
    n_regions,
    groups,
    n_in_group_default,
    n_group_regions,
    n_symptom_regions,
    orthogonal_symptom_factor,
    group_effect,
    symptom_effect,
    subject_variation,
):
    """Groups, planted regions, subject factors, loadings, couplings and their jitter."""
    n_modes, member = fixed.n_modes, fixed.member
    mode_eigenvalues, between = fixed.mode_eigenvalues, fixed.between
    group_of = np.array(
        [groups[0]] * (n_subjects - n_subjects // 2) + [groups[1]] * (n_subjects // 2)
    )
    group_of = rng.permutation(group_of)
    is_patient = group_of == groups[1]
    default_idx = np.flatnonzero(networks_of == "Default")
    other_idx = np.flatnonzero(networks_of != "Default")
    chosen_default = rng.choice(default_idx, n_in_group_default, replace=False)
    shuffled_other = rng.permutation(other_idx)
    n_group_other = n_group_regions - n_in_group_default
    chosen_other = shuffled_other[:n_group_other]
    group_idx = np.sort(np.concatenate([chosen_default, chosen_other])).astype(int)
    symptom_idx = np.sort(shuffled_other[n_group_other : n_group_other + n_symptom_regions])

    latent = rng.standard_normal((n_subjects, n_modes + 1))
    # Centre within each group, so that the groups differ only by the planted effect
    # and not by a chance imbalance of the subject factors.
    for label in groups:
        in_group = group_of == label
        latent[in_group] -= latent[in_group].mean(axis=0)
    factors = np.clip(latent[:, :n_modes], -3.0, 3.0)
    symptom_factor = latent[:, n_modes]
    if orthogonal_symptom_factor:
        symptom_factor = _orthogonal_factor(symptom_factor, factors, group_of)
    template_weights = np.clip(
        1.0 + _PARTICIPATION_SPREAD * rng.standard_normal(n_regions), 0.5, 1.5
    )
    participation = template_weights * np.exp(
        _PARTICIPATION_JITTER * rng.standard_normal((n_subjects, n_regions))
    )
    participation[np.ix_(is_patient, group_idx)] *= 1.0 - group_effect
    participation[:, symptom_idx] *= (2.0 / (1.0 + np.exp(-symptom_effect * symptom_factor)))[
        :, None
    ]

    loadings = _normalise(participation, member)  # (S, N, K)
    identity = np.eye(n_modes)
    # Each factor scales its network mode's time constant -1/log(lambda) by exp(v f).
    subject_eigenvalues = np.minimum(
        mode_eigenvalues[None] ** np.exp(-subject_variation * factors)[:, None], _MODE_MAX
    )
    mode_couplings = subject_eigenvalues[..., None] * identity + between  # (S, n_states, K, K)

    def symmetric_noise(size, sd):
        raw = rng.normal(scale=sd, size=size)
        return (raw + np.swapaxes(raw, -1, -2)) / np.sqrt(2.0)

    # Entry sd shrinks with sqrt(n_regions) so the jitter's spectral norm does not grow with N.
    jitter_sd = _TEMPLATE_JITTER * np.sqrt(100.0 / n_regions)
    template_jitter = symmetric_noise((n_regions, n_regions), jitter_sd)
    subject_jitter = template_jitter + symmetric_noise(
        (n_subjects, n_regions, n_regions), jitter_sd / 2
    )

    # Stability check: the spectral radius of each symmetric A_s is max |eigenvalue|.
    radius = 0.0
    for i in range(n_subjects):
        couplings = _assemble_couplings(
            loadings[i], mode_couplings[i], subject_jitter[i], _SELF_COUPLING
        )
        radius = max(radius, float(np.abs(np.linalg.eigvalsh(couplings)).max()))
    if radius >= 0.999:
        raise InvalidParameterError(
            f"the coupling matrices would be (nearly) unstable: spectral radius {radius:.4f} "
            ">= 0.999; the process would not be stationary."
        )

    return SimpleNamespace(
        group_of=group_of,
        group_idx=group_idx,
        symptom_idx=symptom_idx,
        factors=factors,
        symptom_factor=symptom_factor,
        template_weights=template_weights,
        participation=participation,
        loadings=loadings,
        mode_couplings=mode_couplings,
        template_jitter=template_jitter,
        subject_jitter=subject_jitter,
        radius=radius,
    )


def _simulate_bold(
    rng,
    fixed,
    effects,
    *,
    n_subjects,
    n_regions,
    n_timepoints,
    n_runs,
    n_states,
    t_r,
    hemodynamic,
    min_dwell,
    mean_dwell,
    shared_input,
    measurement_noise,
    motion_effect,
    scale,
):
    """State sequences, motion confounds and the BOLD signal of every run."""
    n_modes, network_sizes = fixed.n_modes, fixed.network_sizes
    loadings, subject_jitter = effects.loadings, effects.subject_jitter
    mode_couplings = effects.mode_couplings
    response = _hrf(t_r) if hemodynamic else np.ones(1)
    burn = 100 + response.size
    n_frames = burn + n_timepoints
    min_frames = max(1, int(round(min_dwell / t_r)))
    extra_mean = max(mean_dwell / t_r - min_frames, 0.0)
    run_ids = [str(r + 1) for r in range(n_runs)]
    n_total = n_subjects * n_runs
    run_subject = np.repeat(np.arange(n_subjects), n_runs)
    sequences = np.stack(
        [_state_sequence(rng, n_frames, n_states, min_frames, extra_mean) for _ in range(n_total)]
    )

    # ---- motion --------------------------------------------------------------------------
    motion_level = np.exp(np.log(0.12) + 0.4 * rng.standard_normal(n_subjects))
    confounds = np.stack(
        [_motion(rng, n_timepoints, motion_level[run_subject[r]]) for r in range(n_total)]
    )  # (R, T, 7)
    motion_loadings = rng.normal(
        scale=1.0 / np.sqrt(len(CONFOUND_COLUMNS)), size=(len(CONFOUND_COLUMNS), n_regions)
    )
    motion_loadings[-1] = np.abs(motion_loadings[-1]) + 0.5  # FD: a global, positive artefact
    baseline = 1e4 * np.exp(0.15 * rng.standard_normal((n_total, n_regions)))

    # ---- simulate the neural process, in chunks of runs ----------------------------------
    alpha = _SELF_COUPLING
    shared_sd = np.sqrt(shared_input * network_sizes)
    inner_all = mode_couplings - alpha * np.eye(n_modes)  # (S, n_states, K, K)
    bold = np.empty((n_total, n_timepoints, n_regions))
    for start in range(0, n_total, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, n_total))
        subj = run_subject[rows]
        u = loadings[subj]  # (r, N, K)
        ut = np.swapaxes(u, 1, 2)
        jitter = subject_jitter[subj]  # (r, N, N)
        inner = inner_all[subj]  # (r, n_states, K, K)
        private = rng.standard_normal((rows.size, n_frames, n_regions)) * _PRIVATE_NOISE
        shared = rng.standard_normal((rows.size, n_frames, n_modes)) * shared_sd
        innovations = private + np.einsum("rnk,rtk->rtn", u, shared)
        states = sequences[rows]
        neural = np.empty((rows.size, n_frames, n_regions))
        x = np.zeros((rows.size, n_regions))
        pick = np.arange(rows.size)
        for t in range(n_frames):
            modes = np.matmul(ut, x[:, :, None])  # (r, K, 1)
            modes = np.matmul(inner[pick, states[:, t]], modes)
            x = (
                alpha * x
                + np.matmul(u, modes)[:, :, 0]
                + np.matmul(jitter, x[:, :, None])[:, :, 0]
                + innovations[:, t]
            )
            neural[:, t] = x
        signal = lfilter(response, [1.0], neural, axis=1)[:, burn:]
        signal /= signal.std(axis=(1, 2), keepdims=True)
        if measurement_noise > 0:
            signal += measurement_noise * rng.standard_normal(signal.shape)
        if motion_effect > 0:
            conf = confounds[rows]
            standard = (conf - conf.mean(axis=1, keepdims=True)) / np.maximum(
                conf.std(axis=1, keepdims=True), 1e-12
            )
            artefact = standard @ motion_loadings
            artefact /= np.sqrt(np.mean(artefact**2, axis=(1, 2), keepdims=True))
            relative = motion_level[subj] / 0.12
            signal += motion_effect * relative[:, None, None] * artefact
        bold[rows] = signal

    if scale == "raw":
        bold = baseline[:, None, :] * (1.0 + 0.01 * bold)
    else:
        bold = (bold - bold.mean(axis=1, keepdims=True)) / bold.std(axis=1, keepdims=True)

    return SimpleNamespace(
        bold=bold,
        confounds=confounds,
        sequences=sequences,
        burn=burn,
        run_ids=run_ids,
        n_total=n_total,
        run_subject=run_subject,
        alpha=alpha,
    )


def _make_phenotype(
    rng,
    fixed,
    effects,
    confounds,
    *,
    n_subjects,
    n_runs,
    behaviour_weights,
    behaviour_r2,
    n_symptoms,
    n_loaded_symptoms,
):
    """Behaviour score, symptoms, age, sex and motion of every subject."""
    subjects, group_of = fixed.subjects, effects.group_of
    factors, symptom_factor = effects.factors, effects.symptom_factor
    weights = np.array([behaviour_weights.get(n, 0.0) for n in NETWORKS], dtype=float)
    behaviour_latent = factors @ weights / np.linalg.norm(weights)
    behaviour_signal = np.sqrt(behaviour_r2) * behaviour_latent
    score = 100.0 + 15.0 * (
        behaviour_signal + np.sqrt(1.0 - behaviour_r2) * rng.standard_normal(n_subjects)
    )
    symptom_names = [f"symptom_{j + 1}" for j in range(n_symptoms)]
    loaded = np.sort(rng.choice(n_symptoms, n_loaded_symptoms, replace=False))
    loadings_symptom = np.zeros(n_symptoms)
    loadings_symptom[loaded] = rng.uniform(0.6, 0.8, size=loaded.size)
    symptoms = 10.0 + 3.0 * (
        symptom_factor[:, None] * loadings_symptom
        + np.sqrt(1.0 - loadings_symptom**2) * rng.standard_normal((n_subjects, n_symptoms))
    )
    age = rng.integers(22, 37, size=n_subjects)
    sex = rng.choice(np.array(["F", "M"]), size=n_subjects)
    mean_fd = confounds[:, :, -1].mean(axis=1).reshape(n_subjects, n_runs).mean(axis=1)
    phenotype = pd.DataFrame(
        {
            "subject": subjects,
            "group": group_of,
            "age": age,
            "sex": sex,
            "motion": mean_fd,
            "score": score,
        }
    )
    for j, name in enumerate(symptom_names):
        phenotype[name] = symptoms[:, j]

    return phenotype, behaviour_signal, symptom_names, loadings_symptom


def make_cohort(
    n_subjects=40,
    n_regions=100,
    n_timepoints=600,
    *,
    t_r=0.72,
    n_states=3,
    n_runs=1,
    groups=("control", "patient"),
    n_group_regions=8,
    group_effect=0.8,
    mean_dwell=90.0,
    min_dwell=40.0,
    subject_variation=0.45,
    behaviour_weights=None,
    behaviour_r2=0.8,
    n_symptoms=6,
    n_loaded_symptoms=3,
    n_symptom_regions=10,
    symptom_effect=3.0,
    orthogonal_symptom_factor=True,
    shared_input=0.3,
    hemodynamic=True,
    measurement_noise=0.3,
    motion_effect=0.1,
    scale="raw",
    random_state=None,
):
    r"""Simulate an HCP-like resting-state cohort with known ground truth.

    Every subject's region time series come from a stochastic linear network
    model whose coupling switches between latent states; a group difference,
    a behaviour link and a multivariate symptom link are planted in the
    coupling, and :class:`CohortTruth` says exactly where.

    Parameters
    ----------
    n_subjects : int, default=40
        Number of subjects (at least 4), split into two groups of (nearly)
        equal size at random.
    n_regions : int, default=100
        Number of regions (at least 14), Yeo-7 networks in Schaefer-100
        proportions (see :func:`make_regions`).
    n_timepoints : int, default=600
        Frames per run.
    t_r : float, default=0.72
        Repetition time in seconds (HCP).
    n_states : int, default=3
        Number of latent coupling states, 1 to 7.
    n_runs : int, default=1
        Runs per subject; each has its own state sequence and noise.
    groups : tuple of 2 str, default=("control", "patient")
        Group labels; the effect is planted in the second group.
    n_group_regions : int, default=8
        Number of regions with a planted group difference, half of them
        (rounded up) in the Default network.
    group_effect : float, default=0.8
        Fraction in [0, 1) by which those regions' participation in their
        network (their coupling to it) is reduced in patients.
    mean_dwell, min_dwell : float, default=90.0, 40.0
        Mean and minimum time (s) spent in a state.
    subject_variation : float, default=0.45
        Log-scale effect of a subject's factor for a network (standard normal,
        clipped to ±3) on the time constant of that network's mode: the
        higher the factor, the stronger the network's internal coupling.
    behaviour_weights : dict of str -> float or None
        Network factors driving ``score``; default ``{"Default": 1.0, "Cont": 0.5}``.
    behaviour_r2 : float, default=0.8
        Population R² of ``score`` explained by those factors, in [0, 1].
    n_symptoms : int, default=6
        Number of symptom scores ``symptom_1`` … for sparse CCA.
    n_loaded_symptoms : int, default=3
        How many of them load on the latent symptom factor (chosen at random).
    n_symptom_regions : int, default=10
        Regions (outside Default and the group regions) whose participation
        scales with the symptom factor.
    symptom_effect : float, default=3.0
        Slope of the symptom factor's effect on their participation, which is
        multiplied by ``2 / (1 + exp(-symptom_effect * h))``, between 0 and 2.
    orthogonal_symptom_factor : bool, default=True
        Replace the symptom factor ``h`` by its residual on the group means and
        the seven network factors in the sample (rescaled to unit sd; needs at
        least 12 subjects, else ignored), so that the symptom link is not mixed
        by chance with the network effects. ``False`` keeps the raw draw
        (centred within each group), as generated before this option existed.
    shared_input : float, default=0.3
        Variance per region of the innovation shared within each network.
    hemodynamic : bool, default=True
        Convolve the neural signal with a canonical haemodynamic response.
    measurement_noise : float, default=0.3
        White noise sd, relative to the unit-variance haemodynamic signal.
    motion_effect : float, default=0.1
        Size of the motion artefact (same units) for a median-motion subject;
        0 turns it off. Motion parameters are written as confounds either way.
    scale : {"raw", "standardized"}, default="raw"
        ``"raw"``: BOLD-like values with region means around 10,000 and ~1 %
        signal change; ``"standardized"``: each region z-scored per run.
    random_state : int, numpy.random.Generator or None
        Seed; the same seed gives the same cohort.

    Returns
    -------
    Cohort
        Runs (:class:`~brainctrl.io.RunData` with confounds), region table,
        phenotype and :class:`CohortTruth`.

    Notes
    -----
    Network modes: for each network k, ``u_k`` holds the normalised
    participation weights of its regions (zero elsewhere), so the columns of
    ``U = [u_1 … u_7]`` are orthonormal. Each subject and state s has

    .. math::

        A_s = \alpha I + U (M_s - \alpha I) U^T + E, \qquad
        M_s = \operatorname{diag}\big(\lambda_{s,k}^{\exp(-v f_k)}\big) + G,

    with ``alpha = 0.3`` for every direction outside the modes, mode
    eigenvalues ``λ = 0.85`` for the networks that state s strengthens and
    0.2 for the others, raised to ``exp(-v f_k)`` (``v`` =
    ``subject_variation``, ``f_k`` the subject's factor), which multiplies
    the mode's time constant ``-1/log λ`` by ``exp(v f_k)`` and keeps it
    below 1 (capped at 0.95); ``G`` a fixed small between-network coupling (Vis–SomMot and
    Limbic–Default 0.03, DorsAttn–Default −0.05), and ``E`` a small symmetric region-level
    jitter (fixed template plus subject part). The neural state follows

    .. math::

        x_{t+1} = A_{s_t} x_t + \varepsilon_t + U \eta_t,

    ``ε`` white (sd 1 per region) and ``η_k`` a shared input of variance
    ``shared_input · n_k`` per network. ``s_t`` is semi-Markov: a dwell of
    ``min_dwell`` plus a geometric extra time (mean ``mean_dwell``), then a
    jump to another state chosen uniformly. Every ``A_s`` is symmetric with
    spectral radius below 1 (checked; an error is raised at 0.999 or more),
    so the process is stable; it starts from zero
    and runs a burn-in of 100 frames plus the response length before the
    recorded frames. The neural signal is convolved with the double-gamma
    haemodynamic response, scaled to unit variance per run, and white
    measurement noise and a motion artefact (framewise displacement and the
    six motion parameters with random region loadings, scaled by the
    subject's motion level) are added.

    States 0 … n_states-1 strengthen consecutive groups of the networks
    (``numpy.array_split`` of Vis, SomMot, DorsAttn, SalVentAttn, Cont,
    Default, Limbic); for three states: (Vis, SomMot, DorsAttn),
    (SalVentAttn, Cont), (Default, Limbic). With one state, every network
    mode has the eigenvalue halfway between the two (a static cohort).

    Planted effects: patients' participation of ``group_regions`` is
    multiplied by ``1 - group_effect`` (they decouple from their network,
    lowering their functional-connectivity strength); ``score = 100 + 15
    (sqrt(R²) z + sqrt(1 - R²) ε)`` with ``z`` the standardised weighted sum
    of the behaviour factors; symptom j is ``10 + 3 (l_j h + sqrt(1 - l_j²)
    ε_j)`` with loading ``l_j`` between 0.6 and 0.8 for the loaded symptoms
    and 0 otherwise, and the participation of ``symptom_regions`` is
    multiplied by ``2 / (1 + exp(-symptom_effect · h))`` (a bounded, monotone
    map: larger participation saturates a network's mode). The subject factors and ``h``
    are standard normal, centred within each group so that the groups differ
    by the planted effect only, not by a chance imbalance; with
    ``orthogonal_symptom_factor``, ``h`` is then replaced by its residual on the
    group means and the seven network factors, rescaled to unit sd (with at
    least 12 subjects), so that the symptom link is not mixed by chance with
    the network effects. Age (22–36), sex and motion
    level are independent of everything else; motion enters the signal only
    through the artefact.

    References
    ----------
    .. [1] Yeo BTT et al. (2011). The organization of the human cerebral cortex
       estimated by intrinsic functional connectivity. J Neurophysiol 106:1125.
    .. [2] Schaefer A et al. (2018). Local-global parcellation of the human
       cerebral cortex from intrinsic functional connectivity MRI. Cereb Cortex
       28:3095.
    .. [3] Allen EA et al. (2014). Tracking whole-brain connectivity dynamics in
       the resting state. Cereb Cortex 24:663.
    .. [4] Power JD et al. (2012). Spurious but systematic correlations in
       functional connectivity MRI networks arise from subject motion.
       NeuroImage 59:2142.

    Examples
    --------
    >>> cohort = make_cohort(4, 20, 100, random_state=0)
    >>> cohort.run("001").timeseries.shape
    (100, 20)
    >>> sorted(cohort.phenotype["group"].unique())
    ['control', 'patient']
    """
    # ---- validation -------------------------------------------------------------
    check_positive("n_subjects", n_subjects, integer=True)
    if n_subjects < 4:
        raise InvalidParameterError(
            f"'n_subjects' must be >= 4 (two per group); got {n_subjects}."
        )
    check_positive("n_timepoints", n_timepoints, integer=True)
    check_positive("t_r", t_r)
    check_positive("n_states", n_states, integer=True)
    if n_states > len(NETWORKS):
        raise InvalidParameterError(
            f"'n_states' must be between 1 and {len(NETWORKS)}; got {n_states}."
        )
    check_positive("n_runs", n_runs, integer=True)
    if (
        not isinstance(groups, (tuple, list))
        or len(groups) != 2
        or not all(isinstance(g, str) for g in groups)
        or groups[0] == groups[1]
    ):
        raise InvalidParameterError(
            f"'groups' must be two different strings (control, patient); got {groups!r}."
        )
    check_positive("n_group_regions", n_group_regions, integer=True, strict=False)
    group_effect = check_fraction("group_effect", group_effect, closed_high=False)
    check_positive("mean_dwell", mean_dwell)
    check_positive("min_dwell", min_dwell)
    if min_dwell > mean_dwell:
        raise InvalidParameterError(
            f"'min_dwell' must be <= 'mean_dwell' ({mean_dwell}); got {min_dwell}."
        )
    check_positive("subject_variation", subject_variation, strict=False)
    if behaviour_weights is None:
        behaviour_weights = {"Default": 1.0, "Cont": 0.5}
    if not isinstance(behaviour_weights, dict) or not behaviour_weights:
        raise InvalidParameterError(
            "'behaviour_weights' must be a non-empty dict of network -> weight; "
            f"got {behaviour_weights!r}."
        )
    for network, weight in behaviour_weights.items():
        check_option("behaviour_weights key", network, NETWORKS)
        check_positive(f"behaviour_weights[{network!r}]", abs(weight))
    behaviour_r2 = check_fraction("behaviour_r2", behaviour_r2)
    check_positive("n_symptoms", n_symptoms, integer=True)
    check_positive("n_loaded_symptoms", n_loaded_symptoms, integer=True, strict=False)
    if n_loaded_symptoms > n_symptoms:
        raise InvalidParameterError(
            f"'n_loaded_symptoms' must be <= 'n_symptoms' ({n_symptoms}); got {n_loaded_symptoms}."
        )
    check_positive("n_symptom_regions", n_symptom_regions, integer=True, strict=False)
    check_positive("symptom_effect", symptom_effect, strict=False)
    check_positive("shared_input", shared_input, strict=False)
    check_positive("measurement_noise", measurement_noise, strict=False)
    check_positive("motion_effect", motion_effect, strict=False)
    check_option("scale", scale, ("raw", "standardized"))
    if not isinstance(orthogonal_symptom_factor, bool):
        raise InvalidParameterError(
            "'orthogonal_symptom_factor' must be True or False; "
            f"got {orthogonal_symptom_factor!r}."
        )
    if not isinstance(hemodynamic, bool):
        raise InvalidParameterError(f"'hemodynamic' must be True or False; got {hemodynamic!r}.")
    rng = check_random_state(random_state)
    regions = make_regions(n_regions, random_state=rng)
    networks_of = regions["network"].to_numpy()
    n_default = int((networks_of == "Default").sum())
    n_in_group_default = (n_group_regions + 1) // 2
    n_outside = n_regions - n_default
    if n_in_group_default > n_default or (
        n_group_regions - n_in_group_default + n_symptom_regions > n_outside
    ):
        raise InvalidParameterError(
            f"'n_group_regions' ({n_group_regions}) and 'n_symptom_regions' "
            f"({n_symptom_regions}) need more regions than the {n_regions} available: "
            f"at most {n_default} Default regions for half the group regions and "
            f"{n_outside} others for the rest and the symptom regions."
        )

    fixed = _fixed_structure(n_subjects, n_regions, networks_of, n_states)
    effects = _subject_effects(
        rng,
        fixed,
        networks_of,
        n_subjects=n_subjects,
        n_regions=n_regions,
        groups=groups,
        n_in_group_default=n_in_group_default,
        n_group_regions=n_group_regions,
        n_symptom_regions=n_symptom_regions,
        orthogonal_symptom_factor=orthogonal_symptom_factor,
        group_effect=group_effect,
        symptom_effect=symptom_effect,
        subject_variation=subject_variation,
    )
    simulated = _simulate_bold(
        rng,
        fixed,
        effects,
        n_subjects=n_subjects,
        n_regions=n_regions,
        n_timepoints=n_timepoints,
        n_runs=n_runs,
        n_states=n_states,
        t_r=t_r,
        hemodynamic=hemodynamic,
        min_dwell=min_dwell,
        mean_dwell=mean_dwell,
        shared_input=shared_input,
        measurement_noise=measurement_noise,
        motion_effect=motion_effect,
        scale=scale,
    )
    phenotype, behaviour_signal, symptom_names, loadings_symptom = _make_phenotype(
        rng,
        fixed,
        effects,
        simulated.confounds,
        n_subjects=n_subjects,
        n_runs=n_runs,
        behaviour_weights=behaviour_weights,
        behaviour_r2=behaviour_r2,
        n_symptoms=n_symptoms,
        n_loaded_symptoms=n_loaded_symptoms,
    )
    subjects, n_modes, alpha = fixed.subjects, fixed.n_modes, simulated.alpha
    mode_eigenvalues, between = fixed.mode_eigenvalues, fixed.between
    group_of, group_idx, symptom_idx = effects.group_of, effects.group_idx, effects.symptom_idx
    factors, symptom_factor = effects.factors, effects.symptom_factor
    template_jitter, radius = effects.template_jitter, effects.radius
    confounds, sequences, burn = simulated.confounds, simulated.sequences, simulated.burn
    bold, run_ids, run_subject = simulated.bold, simulated.run_ids, simulated.run_subject

    # ---- records --------------------------------------------------------------------------
    region_names = list(regions["name"])
    runs = []
    state_sequences = {}
    for r in range(simulated.n_total):
        subject = subjects[run_subject[r]]
        run_id = run_ids[r % n_runs]
        runs.append(
            RunData(
                timeseries=bold[r],
                t_r=t_r,
                regions=regions,
                confounds=pd.DataFrame(confounds[r], columns=list(CONFOUND_COLUMNS)),
                subject=subject,
                run=run_id,
                source=None,
                metadata={"synthetic": True, "group": group_of[run_subject[r]]},
            )
        )
        state_sequences[(subject, run_id)] = sequences[r, burn:].copy()

    template_loadings = _normalise(effects.template_weights, fixed.member)
    truth = CohortTruth(
        subjects=subjects,
        groups=tuple(groups),
        networks=NETWORKS,
        state_networks=fixed.state_networks,
        state_couplings=_assemble_couplings(
            template_loadings,
            mode_eigenvalues[:, :, None] * np.eye(n_modes) + between,
            template_jitter,
            alpha,
        ),
        mode_eigenvalues=mode_eigenvalues,
        self_coupling=alpha,
        transition_matrix=fixed.transition,
        mean_dwell=float(mean_dwell),
        min_dwell=float(min_dwell),
        state_sequences=state_sequences,
        hemodynamic_delay=5.0 if hemodynamic else 0.0,
        group_regions=[region_names[i] for i in group_idx],
        group_effect=group_effect,
        subject_factors=pd.DataFrame(
            np.column_stack([factors, symptom_factor]),
            columns=[*NETWORKS, "symptom_factor"],
            index=pd.Index(subjects, name="subject"),
        ),
        subject_variation=float(subject_variation),
        participation=effects.participation,
        mode_loadings=effects.loadings,
        mode_couplings=effects.mode_couplings,
        region_jitter=effects.subject_jitter,
        behaviour_weights={k: float(v) for k, v in behaviour_weights.items()},
        behaviour_r2=behaviour_r2,
        behaviour_signal=behaviour_signal,
        symptom_regions=[region_names[i] for i in symptom_idx],
        symptom_effect=float(symptom_effect),
        symptom_loadings={n: float(v) for n, v in zip(symptom_names, loadings_symptom)},
        noise={
            "private": _PRIVATE_NOISE,
            "shared_input": float(shared_input),
            "measurement": float(measurement_noise),
            "motion": float(motion_effect),
        },
        t_r=float(t_r),
    )
    logger.info(
        "Simulated %d subjects x %d runs x %d frames x %d regions (max spectral radius %.3f).",
        n_subjects,
        n_runs,
        n_timepoints,
        n_regions,
        radius,
    )
    cohort = Cohort(runs=runs, regions=regions, phenotype=phenotype, truth=truth, t_r=float(t_r))
    return cohort
