"""Brain states: k-means clustering of windowed connectivity or of activity frames."""

import logging

import numpy as np
from scipy import signal
from sklearn.base import BaseEstimator, ClusterMixin

from brainctrl._utils.estimator import check_fitted
from brainctrl._utils.validation import (
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
    check_timeseries,
)
from brainctrl.connectivity._kernels import upper_triangle, vector_to_matrix
from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = [
    "BrainStates",
    "dwell_times",
    "fractional_occupancy",
    "transition_matrix",
]

logger = logging.getLogger(__name__)


def _check_labels(labels, n_states):
    check_positive("n_states", n_states, integer=True)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise DataError(f"labels must be a non-empty 1-D sequence; got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"labels must be integers; got dtype {labels.dtype}.")
    if labels.min() < 0 or labels.max() >= n_states:
        raise DataError(
            f"labels must lie in [0, n_states - 1] = [0, {n_states - 1}]; got values from "
            f"{labels.min()} to {labels.max()}."
        )
    return labels


def fractional_occupancy(labels, n_states):
    """Fraction of windows (or frames) spent in each state.

    Parameters
    ----------
    labels : array-like of int, shape (n_windows,)
        State label of each window of one run.
    n_states : int
        Number of states; labels lie in ``0 ... n_states - 1``.

    Returns
    -------
    occupancy : ndarray of shape (n_states,)
        ``#{t : label_t = s} / n_windows``; sums to 1.

    Examples
    --------
    >>> fractional_occupancy([0, 0, 1, 0], 3)
    array([0.75, 0.25, 0.  ])
    """
    labels = _check_labels(labels, n_states)
    return np.bincount(labels, minlength=n_states) / labels.size


def dwell_times(labels, n_states, *, step_seconds=None):
    """Mean dwell time in each state: mean length of uninterrupted stays.

    Parameters
    ----------
    labels : array-like of int, shape (n_windows,)
        State label of each window of one run.
    n_states : int
        Number of states.
    step_seconds : float, optional
        Time between consecutive windows (``step * t_r``); if given, dwell
        times are in seconds instead of windows.

    Returns
    -------
    dwell : ndarray of shape (n_states,)
        Mean number of consecutive windows (or seconds) per visit; NaN for
        states that are never visited. A stay cut by the end of the run counts
        with the length observed.

    Examples
    --------
    >>> dwell_times([0, 0, 1, 0, 0, 0, 1], 3)
    array([2.5, 1. , nan])
    """
    labels = _check_labels(labels, n_states)
    if step_seconds is not None:
        check_positive("step_seconds", step_seconds)
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [labels.size]]))
    states = labels[starts]
    total = np.bincount(states, weights=lengths, minlength=n_states)
    visits = np.bincount(states, minlength=n_states)
    with np.errstate(invalid="ignore", divide="ignore"):
        dwell = np.where(visits > 0, total / np.maximum(visits, 1), np.nan)
    return dwell if step_seconds is None else dwell * step_seconds


def transition_matrix(labels, n_states):
    """Row-stochastic state transition matrix of one label sequence.

    Parameters
    ----------
    labels : array-like of int, shape (n_windows,)
        State label of each window of one run.
    n_states : int
        Number of states.

    Returns
    -------
    transitions : ndarray of shape (n_states, n_states)
        ``T_ab = #{t : label_t = a, label_{t+1} = b} / #{t < n - 1 : label_t = a}``,
        self-transitions included, so each row sums to 1; rows of states with
        no outgoing step (never visited, or only in the last window) are NaN.

    Examples
    --------
    >>> transition_matrix([0, 0, 1, 0], 2)
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    labels = _check_labels(labels, n_states)
    counts = np.zeros((n_states, n_states))
    np.add.at(counts, (labels[:-1], labels[1:]), 1)
    outgoing = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(outgoing > 0, counts / np.maximum(outgoing, 1), np.nan)


class BrainStates(ClusterMixin, BaseEstimator):
    """Recurring brain states by k-means clustering across subjects.

    A scikit-learn estimator: ``get_params``, ``set_params`` and
    ``sklearn.base.clone`` work as for any estimator, and parameters are
    checked by :meth:`fit`. Unlike scikit-learn's clusterers, it takes a list of
    arrays (one per subject or run) and returns one label array per input
    array. Before :meth:`fit`, :meth:`predict` (and the state summaries
    without ``labels``) raise ``sklearn.exceptions.NotFittedError``, which is
    also a :class:`~brainctrl.exceptions.InvalidParameterError`.

    Parameters
    ----------
    n_states : int
        Number of states (clusters).
    kind : {"connectivity", "activity"}, default="connectivity"
        ``"connectivity"``: cluster sliding-window connectivity matrices
        (Allen et al. 2014). ``"activity"``: cluster single frames of region
        activity; the centroids are activity patterns usable as start and target
        states of control-energy analyses.
    n_init : int, default=10
        Number of k-means restarts (best inertia kept).
    max_iter : int, default=300
        Maximum k-means iterations per restart.
    exemplars : bool, default=False
        ``kind="connectivity"`` only: first cluster the exemplar windows (local
        maxima over time of the variance of each window's connectivity across
        pairs), then cluster all windows starting from those centroids (Allen
        et al. 2014).
    standardize : bool, default=True
        ``kind="activity"`` only: z-score each region within each time series
        before clustering frames.
    random_state : int, numpy Generator or None, default=None
        Seed of the k-means initialisation; the same seed gives the same states.

    Attributes
    ----------
    centroids_ : ndarray of shape (n_states, n_regions, n_regions) or (n_states, n_regions)
        State centroids: connectivity matrices (diagonal = mean diagonal of the
        windows in the state, 0 when vectorised input was given) or activity
        patterns. States are ordered by decreasing fractional occupancy over all
        fitted data (ties by k-means index).
    cluster_centers_ : ndarray of shape (n_states, n_features)
        Centroids in the clustered feature space (upper triangles for
        connectivity).
    labels_ : list of ndarray of int
        State of each window (or frame) of each fitted array, in input order.
    inertia_ : float
        Sum of squared distances of all windows to their centroid.
    n_regions_ : int
        Number of regions.
    exemplar_indices_ : list of ndarray of int
        With ``exemplars=True``, the exemplar windows of each fitted array.

    Notes
    -----
    k-means uses the Euclidean distance (scikit-learn ``KMeans``); Allen et al.
    (2014) used the L1 distance. Fit with one array per run: dwell times and
    transitions are computed within each array, so runs are never joined.

    References
    ----------
    .. [1] Allen EA, Damaraju E, Plis SM, Erhardt EB, Eichele T, Calhoun VD (2014).
       Tracking whole-brain connectivity dynamics in the resting state. Cereb
       Cortex 24:663-676.

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.array([[1.0, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0, 0.1, 0.9]])
    >>> states = BrainStates(2, kind="activity", standardize=False, random_state=0)
    >>> [labels.tolist() for labels in states.fit([frames]).labels_]
    [[0, 0, 1, 1]]
    """

    def __init__(
        self,
        n_states,
        *,
        kind="connectivity",
        n_init=10,
        max_iter=300,
        exemplars=False,
        standardize=True,
        random_state=None,
    ):
        self.n_states = n_states
        self.kind = kind
        self.n_init = n_init
        self.max_iter = max_iter
        self.exemplars = exemplars
        self.standardize = standardize
        self.random_state = random_state

    # -- features -----------------------------------------------------------
    def _features(self, data, *, fitting):
        if isinstance(data, np.ndarray):
            data = [data]
        if not isinstance(data, (list, tuple)) or not data:
            raise DataError(
                "data must be a non-empty list of arrays (one per subject or run); "
                f"got {type(data).__name__}."
            )
        features, diagonals = [], []
        n_regions = None
        for i, item in enumerate(data):
            name = f"data[{i}]"
            if self.kind == "activity":
                array = check_timeseries(
                    item, name=name, min_timepoints=1, allow_constant=not self.standardize
                )
                if self.standardize:
                    if array.shape[0] < 2:
                        raise DataError(
                            f"{name} needs at least 2 frames to be z-scored; got shape "
                            f"{array.shape}."
                        )
                    array = (array - array.mean(axis=0)) / array.std(axis=0)
                regions = array.shape[1]
                feature, diagonal = array, None
            else:
                array = check_array(name, item, dtype=None)
                if array.dtype != np.float32:
                    array = check_array(name, array)  # float64
                if array.ndim == 3 and array.shape[1] == array.shape[2]:
                    regions = array.shape[1]
                    feature = upper_triangle(array)
                    diagonal = np.diagonal(array, axis1=1, axis2=2)
                elif array.ndim == 2:
                    n_pairs = array.shape[1]
                    regions = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
                    if regions * (regions - 1) // 2 != n_pairs:
                        raise DataError(
                            f"{name} has {n_pairs} columns, which is not n(n-1)/2 for any "
                            "n; expected an upper triangle (k=1) per window."
                        )
                    feature, diagonal = array, None
                else:
                    raise DataError(
                        f"{name} must have shape (n_windows, n_regions, n_regions) or "
                        f"(n_windows, n_pairs); got shape {array.shape}."
                    )
                check_finite(name, feature)
            if n_regions is None:
                n_regions = regions
            elif regions != n_regions:
                raise DataError(
                    f"{name} has {regions} regions but data[0] has {n_regions}; all arrays "
                    "must share the regions."
                )
            features.append(feature)
            diagonals.append(diagonal)
        if not fitting and n_regions != self.n_regions_:
            raise DataError(
                f"data has {n_regions} regions but the states were fitted on {self.n_regions_}."
            )
        return features, diagonals, n_regions

    # -- fitting ------------------------------------------------------------
    def fit(self, data, y=None):
        """Cluster the windows (or frames) of all arrays together.

        Parameters
        ----------
        data : list of ndarray
            ``kind="connectivity"``: per subject (or run) arrays of shape
            ``(n_windows, n_regions, n_regions)`` or vectorised
            ``(n_windows, n_pairs)`` from
            :func:`~brainctrl.connectivity.sliding_window_connectivity`.
            ``kind="activity"``: time series ``(n_timepoints, n_regions)``.
        y : None
            Ignored; present so that the estimator fits in a scikit-learn
            pipeline.

        Returns
        -------
        self : BrainStates
            The fitted estimator.
        """
        from sklearn.cluster import KMeans

        check_positive("n_states", self.n_states, integer=True)
        check_option("kind", self.kind, ("connectivity", "activity"))
        check_positive("n_init", self.n_init, integer=True)
        check_positive("max_iter", self.max_iter, integer=True)
        if self.exemplars and self.kind != "connectivity":
            raise InvalidParameterError(
                f"'exemplars' applies to kind='connectivity' only; got kind={self.kind!r}."
            )
        rng = check_random_state(self.random_state)
        features, diagonals, n_regions = self._features(data, fitting=True)
        stacked = np.concatenate(features, axis=0)
        if stacked.shape[0] < self.n_states:
            raise DataError(
                f"there are {stacked.shape[0]} windows/frames in all, fewer than "
                f"n_states={self.n_states}."
            )
        seed = int(rng.integers(2**31 - 1))
        # a refit without exemplars leaves no exemplars of an earlier fit behind
        self.__dict__.pop("exemplar_indices_", None)
        if self.exemplars:
            self.exemplar_indices_ = [_exemplar_windows(f) for f in features]
            chosen = np.concatenate(
                [f[idx] for f, idx in zip(features, self.exemplar_indices_)], axis=0
            )
            if chosen.shape[0] < self.n_states:
                raise DataError(
                    f"only {chosen.shape[0]} exemplar windows (local maxima of connectivity "
                    f"variance) were found, fewer than n_states={self.n_states}; use "
                    "exemplars=False or more windows."
                )
            first = KMeans(
                self.n_states, n_init=self.n_init, max_iter=self.max_iter, random_state=seed
            ).fit(chosen)
            kmeans = KMeans(
                self.n_states, init=first.cluster_centers_, n_init=1, max_iter=self.max_iter
            ).fit(stacked)
        else:
            kmeans = KMeans(
                self.n_states, n_init=self.n_init, max_iter=self.max_iter, random_state=seed
            ).fit(stacked)

        # Order states by decreasing occupancy (stable: ties keep k-means order).
        counts = np.bincount(kmeans.labels_, minlength=self.n_states)
        order = np.argsort(-counts, kind="stable")
        relabel = np.empty(self.n_states, dtype=np.intp)
        relabel[order] = np.arange(self.n_states)
        labels = relabel[kmeans.labels_]
        self.cluster_centers_ = kmeans.cluster_centers_[order]
        self.inertia_ = float(kmeans.inertia_)
        self.n_regions_ = n_regions
        self._kmeans_ = kmeans
        self._relabel_ = relabel
        splits = np.cumsum([f.shape[0] for f in features])[:-1]
        self.labels_ = np.split(labels, splits)
        if self.kind == "activity":
            self.centroids_ = self.cluster_centers_.copy()
        else:
            diagonal = np.zeros((self.n_states, n_regions))
            if all(d is not None for d in diagonals):
                all_diagonals = np.concatenate(diagonals, axis=0)
                for state in range(self.n_states):
                    diagonal[state] = all_diagonals[labels == state].mean(axis=0)
            self.centroids_ = vector_to_matrix(self.cluster_centers_, n_regions)
            idx = np.arange(n_regions)
            self.centroids_[:, idx, idx] = diagonal
        logger.info(
            "BrainStates: %d states from %d windows, occupancy %s",
            self.n_states,
            stacked.shape[0],
            np.round(counts[order] / counts.sum(), 3).tolist(),
        )
        return self

    def _check_fitted(self, method):
        check_fitted(
            self,
            method,
            ["labels_", "_kmeans_"] if method == "predict" else "labels_",
            hint="" if method == "predict" else ", or pass 'labels'",
        )

    def predict(self, data):
        """Assign each window (or frame) of new data to its nearest state.

        Parameters
        ----------
        data : list of ndarray
            As for :meth:`fit`.

        Returns
        -------
        labels : list of ndarray of int
            One label array per input array.
        """
        self._check_fitted("predict")
        features, _, _ = self._features(data, fitting=False)
        dtype = self._kmeans_.cluster_centers_.dtype
        return [
            self._relabel_[self._kmeans_.predict(f.astype(dtype, copy=False))] for f in features
        ]

    def fit_predict(self, data):
        """Fit and return :attr:`labels_`.

        Parameters
        ----------
        data : list of ndarray
            As for :meth:`fit`.

        Returns
        -------
        labels : list of ndarray of int
            One label array per input array.
        """
        return self.fit(data).labels_

    def _labels(self, labels, method):
        if labels is None:
            self._check_fitted(method)
            return self.labels_
        return labels

    def fractional_occupancy(self, labels=None):
        """Fraction of windows in each state, per fitted array.

        Parameters
        ----------
        labels : list of array-like of int, optional
            Label sequences (e.g. from :meth:`predict`); default :attr:`labels_`.

        Returns
        -------
        occupancy : ndarray of shape (n_arrays, n_states)
            See :func:`fractional_occupancy`.
        """
        return np.stack(
            [
                fractional_occupancy(lab, self.n_states)
                for lab in self._labels(labels, "fractional_occupancy")
            ]
        )

    def dwell_times(self, labels=None, *, step_seconds=None):
        """Mean dwell time in each state, per fitted array.

        Parameters
        ----------
        labels : list of array-like of int, optional
            Label sequences; default :attr:`labels_`.
        step_seconds : float, optional
            Seconds between consecutive windows (``step * t_r``); dwell times are
            in windows if not given.

        Returns
        -------
        dwell : ndarray of shape (n_arrays, n_states)
            See :func:`dwell_times`; NaN for states an array never visits.
        """
        return np.stack(
            [
                dwell_times(lab, self.n_states, step_seconds=step_seconds)
                for lab in self._labels(labels, "dwell_times")
            ]
        )

    def transition_matrix(self, labels=None):
        """Row-stochastic state transition matrix, per fitted array.

        Parameters
        ----------
        labels : list of array-like of int, optional
            Label sequences; default :attr:`labels_`.

        Returns
        -------
        transitions : ndarray of shape (n_arrays, n_states, n_states)
            See :func:`transition_matrix`.
        """
        return np.stack(
            [
                transition_matrix(lab, self.n_states)
                for lab in self._labels(labels, "transition_matrix")
            ]
        )


def _exemplar_windows(features):
    """Windows at local maxima (over time) of the variance across pairs."""
    variance = features.var(axis=1)
    peaks, _ = signal.find_peaks(variance)
    return peaks
