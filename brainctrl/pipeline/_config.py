"""Pipeline configuration: a validated tree of dataclasses read from YAML."""

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from brainctrl._utils.validation import NEGATIVE_RULES
from brainctrl.exceptions import ConfigError

__all__ = [
    "CleanConfig",
    "ConnectivityConfig",
    "ControlConfig",
    "ExecutorConfig",
    "GraphConfig",
    "MultilayerConfig",
    "PipelineConfig",
    "StatesConfig",
    "StatsConfig",
]


@dataclass
class CleanConfig:
    """Denoising applied to each run before any connectivity.

    ``confounds`` lists confound columns to regress out (``None``: none; an
    empty list also means none). Filtering is off unless a cut-off is given.

    ``global_signal`` adds the global signal, the mean over regions, to the
    regressed confounds: ``false`` (default), ``true``, or ``"derivative"``
    for the global signal and its first difference (two regressors). It is
    detrended and filtered like every confound, so it is the mean of the
    detrended (and filtered) regional signals. Without it, FC of real
    resting-state data is dominated by one global component (HCP: mean r
    0.2-0.4, single-layer modularity Q 0.07-0.24 with 2-3 communities; with
    it Q is around 0.58). It shifts the distribution of FC towards zero and
    creates negative correlations, so negative weights then need care
    (``graph.negative``, ``multilayer.negative``) and FC values are not
    comparable with those of runs cleaned without it.
    """

    detrend: bool = True
    standardize: bool = True
    confounds: list[str] | None = None
    high_pass: float | None = None
    low_pass: float | None = None
    discard_initial: int = 0
    global_signal: bool | str = False

    def _check(self, path):
        _require(self.discard_initial >= 0, f"{path}.discard_initial", "must be >= 0")
        _require(
            isinstance(self.global_signal, bool) or self.global_signal == "derivative",
            f"{path}.global_signal",
            f"must be false, true or 'derivative'; got {self.global_signal!r}",
        )
        for name in ("high_pass", "low_pass"):
            value = getattr(self, name)
            _require(value is None or value > 0, f"{path}.{name}", "must be > 0 Hz")
        if self.high_pass is not None and self.low_pass is not None:
            _require(
                self.high_pass < self.low_pass,
                f"{path}.high_pass",
                f"must be below low_pass ({self.low_pass})",
            )


@dataclass
class ConnectivityConfig:
    """Static and sliding-window functional connectivity (window and step in frames)."""

    kind: str = "correlation"
    fisher_z: bool = False
    window_length: int = 60
    step: int = 5
    taper: str = "rectangular"

    def _check(self, path):
        _require(self.window_length >= 3, f"{path}.window_length", "must be >= 3 frames")
        _require(self.step >= 1, f"{path}.step", "must be >= 1 frame")
        _one_of(self.taper, ("rectangular", "gaussian"), f"{path}.taper")
        _one_of(
            self.kind,
            ("correlation", "partial correlation", "covariance", "shrunk correlation"),
            f"{path}.kind",
        )


@dataclass
class StatesConfig:
    """Brain states: k-means of windowed FC and of activity frames across the cohort."""

    n_states: int = 3
    n_activity_states: int = 4
    max_windows_per_run: int = 200

    def _check(self, path):
        _require(self.n_states >= 2, f"{path}.n_states", "must be >= 2")
        _require(self.n_activity_states >= 2, f"{path}.n_activity_states", "must be >= 2")
        _require(self.max_windows_per_run >= 1, f"{path}.max_windows_per_run", "must be >= 1")


@dataclass
class ControlConfig:
    """Control-theory stage.

    Average and modal controllability (discrete time, Gu et al. 2015) are
    computed on each run's static FC normalised by ``1 + spectral radius``,
    and with ``per_window`` also on every sliding window. Transition energies
    between activity states use the control set (a Yeo-7 network name, or
    ``"all"``) under the static network and along the non-overlapping windows
    (time-varying network) over ``horizon``, with the system built from FC by
    ``system_from``: ``"normalize"`` or ``"signed_laplacian"`` (Deng et al.
    2022: edges with uncorrected p > 0.05 set to 0, ``A = -L / max|eig(L)|``;
    continuous time only), or ``"structural"``: each subject's connectivity
    matrix from the manifest's ``structural`` files (e.g. a diffusion
    tractography connectome), normalised by ``1 + spectral radius`` as FC
    is (diagonal as stored). Controllability and transition energies are then
    computed on that matrix, while states, FC, graph measures and communities
    still come from the time series; energies are computed on the one
    structural network, so there is no static-versus-dynamic comparison and
    ``per_window`` and the window-length sweep do not apply.
    ``structural_scale`` rescales the matrix first: ``null`` (as stored),
    ``"log"`` (``log(1 + w)``), ``"strength"`` (``D^-1/2 W D^-1/2``) or
    ``"max"`` (``W / max W``); see
    :func:`brainctrl.connectivity.scale_structural`.

    The energy comparison is made well posed (see README, "Numbers you can
    trust"): its primary analysis gives the control set full input and every
    other region a small input ``epsilon`` (a mixed control set), chosen
    (``"auto"``) as the smallest value of a grid whose static Gramians have
    a condition number of at most 1e8, and compares static and dynamic
    energies only over transitions both reach with a finite, printed
    condition number. Its controls: the control set alone (``epsilon`` 0),
    all regions, ``n_random_sets`` random sets of the same size (mixed with
    the same ``epsilon``), the weights of ``sweep_epsilons`` (None: 10, 100
    and 1000 times ``epsilon``, below 1), the horizons of ``sweep_horizons``
    and the window lengths of ``sweep_window_lengths`` (None: half and twice
    the configured ones). An empty list turns a sweep off. The automatic
    ``epsilon`` looks at the static Gramians of the cohort's first five runs
    at ``horizon``.
    """

    system: str = "continuous"
    system_from: str = "normalize"
    structural_scale: str | None = None
    horizon: float = 1.0
    control_set: str = "Default"
    energy: bool = True
    per_window: bool = False
    epsilon: float | str = "auto"
    n_random_sets: int = 5
    sweep_epsilons: list[float] | None = None
    sweep_horizons: list[float] | None = None
    sweep_window_lengths: list[int] | None = None

    def _check(self, path):
        _require(
            self.epsilon == "auto"
            or (not isinstance(self.epsilon, str) and 0 < self.epsilon <= 1),
            f"{path}.epsilon",
            f"must be 'auto' or a number in (0, 1]; got {self.epsilon!r}",
        )
        _require(self.n_random_sets >= 0, f"{path}.n_random_sets", "must be >= 0")
        for value in self.sweep_epsilons or ():
            _require(
                0 < value <= 1,
                f"{path}.sweep_epsilons",
                f"must hold numbers in (0, 1]; got {value!r}",
            )
        for value in self.sweep_horizons or ():
            _require(
                math.isfinite(value) and value > 0,
                f"{path}.sweep_horizons",
                f"must hold finite numbers > 0; got {value!r}",
            )
        for value in self.sweep_window_lengths or ():
            _require(
                value >= 3, f"{path}.sweep_window_lengths", f"must hold lengths >= 3; got {value}"
            )
        _one_of(self.system, ("continuous", "discrete"), f"{path}.system")
        _one_of(
            self.system_from,
            ("normalize", "signed_laplacian", "structural"),
            f"{path}.system_from",
        )
        if self.structural_scale is not None:
            _one_of(self.structural_scale, ("log", "strength", "max"), f"{path}.structural_scale")
            _require(
                self.system_from == "structural",
                f"{path}.structural_scale",
                "applies to control.system_from 'structural' only",
            )
        _require(
            not (self.system_from == "structural" and self.per_window),
            f"{path}.per_window",
            "needs control.system_from 'normalize' (a structural connectome has no "
            "sliding windows)",
        )
        _require(
            math.isfinite(self.horizon) and self.horizon > 0,
            f"{path}.horizon",
            f"must be a finite number > 0; got {self.horizon!r}",
        )
        _require(
            self.system_from != "signed_laplacian" or self.system == "continuous",
            f"{path}.system_from",
            "'signed_laplacian' needs control.system 'continuous'",
        )
        _require(
            not self.energy or self.system == "continuous",
            f"{path}.energy",
            "needs control.system 'continuous' (energy along the time-varying network "
            "is defined in continuous time)",
        )


@dataclass
class GraphConfig:
    """Graph measures on each run's static FC and single-layer communities.

    ``density``: keep this fraction of the strongest edges (proportional
    threshold) before the graph measures; communities always use the full
    signed FC, handled as ``negative`` says (the same rule for the graph
    measures and the ``modularity`` of the globals table; see
    :func:`brainctrl.graph.modularity`). ``per_window``: also compute the
    node measures that need no communities (strength, degree, clustering,
    local efficiency, betweenness; with negative weights also the positive
    and negative strengths and the negative clustering, as for the static
    network) on every sliding window, thresholded in the same way (rows with
    ``window`` >= 0 in the measures table). Set ``density`` with it: at 400
    regions it costs about 0.05 s per window at density 0.1 but 0.6 s per
    window on the unthresholded network (whose degree is the same for every
    region).
    """

    negative: str = "asymmetric"
    gamma: float = 1.0
    n_runs: int = 10
    density: float | None = None
    per_window: bool = False

    def _check(self, path):
        _one_of(self.negative, NEGATIVE_RULES, f"{path}.negative")
        _require(self.gamma > 0, f"{path}.gamma", "must be > 0")
        _require(self.n_runs >= 1, f"{path}.n_runs", "must be >= 1")
        _require(
            self.density is None or 0 < self.density <= 1, f"{path}.density", "must be in (0, 1]"
        )


@dataclass
class MultilayerConfig:
    """Multilayer communities over the sliding windows of each run.

    Layers are every ``window_stride``-th window. The default (``None``) takes
    non-overlapping windows (stride ``ceil(window_length / step)``): layers
    that share frames look alike by construction, which lowers flexibility
    for reasons that have nothing to do with the brain, and the cost of the
    community search grows with the number of layers.
    """

    enabled: bool = True
    gamma: float = 1.0
    omega: float = 1.0
    n_runs: int = 2
    negative: str = "ignore"
    window_stride: int | None = None

    def _check(self, path):
        _require(self.gamma > 0, f"{path}.gamma", "must be > 0")
        _require(self.omega >= 0, f"{path}.omega", "must be >= 0")
        _require(self.n_runs >= 1, f"{path}.n_runs", "must be >= 1")
        _one_of(self.negative, NEGATIVE_RULES, f"{path}.negative")
        _require(
            self.window_stride is None or self.window_stride >= 1,
            f"{path}.window_stride",
            "must be >= 1 (or null for non-overlapping windows)",
        )


@dataclass
class StatsConfig:
    """Group statistics over the subjects' tables joined with the phenotype.

    ``group`` names the phenotype column compared (with ``covariates``, which
    the sparse CCA and the prediction also remove: inside the permutation
    scheme and inside each training fold; text columns are dummy-coded);
    ``scores[0]`` is predicted from graph, control and combined features;
    ``cca_scores`` (two or more columns) enter the sparse CCA against the
    regional measure ``cca_measure`` (a measure of the per-run tables, e.g.
    ``average_controllability`` or ``strength_positive``) with L1 bounds
    ``cca_penalty_x`` and ``cca_penalty_y`` (see :class:`brainctrl.stats.SparseCCA`).
    """

    group: str | None = "group"
    covariates: list[str] = field(default_factory=list)
    scores: list[str] = field(default_factory=list)
    cca_scores: list[str] = field(default_factory=list)
    cca_measure: str = "average_controllability"
    cca_penalty_x: float = 0.3
    cca_penalty_y: float = 0.7
    n_permutations: int = 1000
    alpha: float = 0.05
    cca: bool = True
    prediction: bool = True
    cv_folds: int = 5
    cv_repeats: int = 5

    def _check(self, path):
        _require(self.n_permutations >= 0, f"{path}.n_permutations", "must be >= 0")
        _require(0 < self.alpha < 1, f"{path}.alpha", "must be in (0, 1)")
        _require(self.cv_folds >= 2, f"{path}.cv_folds", "must be >= 2")
        _require(self.cv_repeats >= 1, f"{path}.cv_repeats", "must be >= 1")
        _require(
            isinstance(self.cca_measure, str) and self.cca_measure != "",
            f"{path}.cca_measure",
            f"must be the name of a regional measure; got {self.cca_measure!r}",
        )
        for name in ("cca_penalty_x", "cca_penalty_y"):
            value = getattr(self, name)
            _require(0 < value <= 1, f"{path}.{name}", f"must be in (0, 1]; got {value!r}")


@dataclass
class ExecutorConfig:
    """Where per-run work runs.

    ``kind``: ``serial``, ``processes`` (``n_jobs`` local worker processes) or
    ``dask`` (``address`` of a running scheduler, a ``cluster`` description
    for dask-jobqueue such as ``{"kind": "slurm", "cores": 4, "memory": "8GB",
    "jobs": 10}``, or neither for a ``LocalCluster`` of ``n_jobs`` workers).
    """

    kind: str = "serial"
    n_jobs: int = 1
    address: str | None = None
    cluster: dict | None = None
    retries: int = 2

    def _check(self, path):
        _one_of(self.kind, ("serial", "processes", "dask"), f"{path}.kind")
        _require(self.n_jobs >= 1 or self.n_jobs == -1, f"{path}.n_jobs", "must be >= 1 or -1")
        _require(self.retries >= 0, f"{path}.retries", "must be >= 0")


@dataclass
class PipelineConfig:
    """Everything ``brainctrl run`` needs, read from a YAML file.

    Parameters
    ----------
    manifest : str
        Path to a data manifest (see ``data_manifests/``); relative paths are
        read from the config file's folder.
    output_dir : str or None
        Output folder (``brainctrl run --out`` overrides it).
    random_state : int
        Seed of every random step; per-run seeds derive from it and the run's
        name, so results do not depend on the executor or the order of work.

    Examples
    --------
    >>> cfg = PipelineConfig.from_dict({"manifest": "m.yaml", "control": {"horizon": 2}})
    >>> cfg.control.horizon
    2.0
    >>> PipelineConfig.from_dict({"manifest": "m.yaml", "control": {"horizn": 2}})
    Traceback (most recent call last):
    ...
    brainctrl.exceptions.ConfigError: config key 'control.horizn' is not known; ...
    """

    manifest: str
    output_dir: str | None = None
    random_state: int = 0
    clean: CleanConfig = field(default_factory=CleanConfig)
    connectivity: ConnectivityConfig = field(default_factory=ConnectivityConfig)
    states: StatesConfig = field(default_factory=StatesConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    multilayer: MultilayerConfig = field(default_factory=MultilayerConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    source: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_yaml(cls, path):
        """Read and validate a YAML config file."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}' does not exist.") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file '{path}' is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"config file '{path}' must hold a mapping; got {type(data).__name__}."
            )
        config = cls.from_dict(data)
        config.source = str(path)
        manifest = Path(config.manifest)
        if not manifest.is_absolute():
            config.manifest = str((path.parent / manifest).resolve())
        return config

    @classmethod
    def from_dict(cls, data):
        """Build a validated config from a (nested) mapping."""
        return _build(cls, data, "")

    def to_dict(self):
        """The config as plain data (what ``config.yaml`` in the output holds)."""
        out = dataclasses.asdict(self)
        out.pop("source", None)
        return out

    def section_hash(self, *sections):
        """Short hash of the named sections or keys (all when none given).

        A finished unit is reused only while the sections it depends on keep
        their hash. A key inside a section is written with a dot
        (``"control.horizon"``).
        """
        data = self.to_dict()
        data.pop("output_dir", None)
        data.pop("executor", None)
        if sections:
            picked = {}
            for name in sorted(sections):
                section, _, key = name.partition(".")
                picked[name] = data[section][key] if key else data[section]
            data = picked
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _check(self, path):
        _require(isinstance(self.manifest, str) and self.manifest, "manifest", "must be a path")


def _require(condition, key, message):
    if not condition:
        raise ConfigError(f"config key '{key}' {message}.")


def _one_of(value, allowed, key):
    if value not in allowed:
        raise ConfigError(f"config key '{key}' must be one of {allowed}; got {value!r}.")


def _build(cls, data, path):
    where = path or "the top level"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{path}' must be a mapping; got {data!r}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(
            f"config key '{key}' is not known; known keys in '{where}': {sorted(fields)}."
        )
    kwargs = {}
    for name, spec in fields.items():
        key = f"{path}.{name}" if path else name
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ConfigError(f"config key '{key}' is required.")
            continue
        kwargs[name] = _coerce(hints[name], data[name], key)
    obj = cls(**kwargs)
    obj._check(path or "")
    return obj


def _coerce(hint, value, key):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _coerce(option, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if origin is list:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' must be a list; got {value!r}.")
        return [_coerce(args[0], item, f"{key}[{i}]") for i, item in enumerate(value)]
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping; got {value!r}.")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be true or false; got {value!r}.")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be an integer; got {value!r}.")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key '{key}' must be a number; got {value!r}.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}' must be a string; got {value!r}.")
        return value
    raise TypeError(f"unsupported config type {hint!r} at '{key}'")  # pragma: no cover
