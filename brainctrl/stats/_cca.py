"""Sparse canonical correlation analysis (penalized matrix decomposition): the estimator.

:class:`SparseCCA` fits the canonical weights with the solver of
:mod:`brainctrl.stats._cca_solver`; the inference functions
(:func:`~brainctrl.stats.sparse_cca_permutation_test`,
:func:`~brainctrl.stats.select_penalties`,
:func:`~brainctrl.stats.bootstrap_stability`) live in
:mod:`brainctrl.stats._cca_inference` and take a :class:`SparseCCA`.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from brainctrl._utils.estimator import check_fitted
from brainctrl._utils.validation import check_array, check_option, check_positive
from brainctrl.exceptions import ConvergenceWarning, DataError, InvalidParameterError
from brainctrl.stats._cca_solver import (  # noqa: F401
    _COMPAT_OPTIONS,
    _check_pair,
    _check_penalty,
    _fit_arrays,
    _in_sample_correlation,  # imported from here by the PMA reference tests
    _pma_z_statistics,  # same
    _resolve_iterations,
    _single_blas_thread,
)
from brainctrl.stats._common import check_int as _check_int

__all__ = ["SparseCCA"]


class SparseCCA(TransformerMixin, BaseEstimator):
    r"""Sparse canonical correlation analysis by penalized matrix decomposition.

    A scikit-learn estimator: ``get_params``, ``set_params`` and
    ``sklearn.base.clone`` work as for any estimator, and parameters are
    checked by :meth:`fit`. :func:`sparse_cca_permutation_test`,
    :func:`select_penalties` and :func:`bootstrap_stability` take one and use
    its parameters. Unlike scikit-learn's transformers, :meth:`fit` needs both
    data sets and :meth:`transform` returns the scores of both when given both.

    Parameters
    ----------
    penalty_x, penalty_y : float in (0, 1], default=0.3
        L1 bounds relative to the square root of the number of features: the
        weights satisfy ``‖u‖₁ ≤ penalty_x·√p`` and ``‖v‖₁ ≤ penalty_y·√q``. Smaller
        means sparser; 1 leaves (almost) no sparsity. Values below ``1/√p`` keep only
        the largest entry.
    n_components : int, default=1
        Number of canonical component pairs.
    compat : {None, "pma"}, default=None
        ``None``: the threshold of each update is found exactly and the
        alternating updates run to convergence (``tol``, ``max_iter``).
        ``"pma"``: reproduce the R package PMA 1.2 ``CCA()`` (bisection threshold,
        starting vectors from one SVD of ``XᵀZ``, at most 15 iterations, stop
        when ``Σ|v_old − v| ≤ 1e-6``); see Notes.
    max_iter : int, optional
        Maximum number of alternating updates per component (default 1000, or
        15 with ``compat="pma"``).
    tol : float, optional
        Stop when ``Σ|u_old − u| + Σ|v_old − v| < tol`` (default 1e-10); with
        ``compat="pma"`` the PMA rule ``Σ|v_old − v| ≤ tol`` (default 1e-6).
    standardize : bool, default=True
        Scale columns to unit standard deviation (``ddof=1``) after centring.
        Columns are always centred.

    Attributes
    ----------
    x_weights_ : ndarray of shape (n_features_x, n_components)
        Canonical weights ``u`` (unit Euclidean norm) for standardised ``X``.
    y_weights_ : ndarray of shape (n_features_y, n_components)
        Canonical weights ``v`` for standardised ``Y``.
    canonical_correlations_ : ndarray of shape (n_components,)
        In-sample Pearson correlation of ``X u_k`` and ``Y v_k`` (0 when a weight
        vector is zero), on the original (not deflated) standardised data.
    singular_values_ : ndarray of shape (n_components,)
        ``d_k = u_kᵀ C_k v_k`` with ``C_k`` the deflated cross product.
    n_iter_ : ndarray of shape (n_components,)
        Alternating updates run per component.
    converged_ : ndarray of shape (n_components,)
        Whether each component met the stopping rule within ``max_iter``.
    x_mean_, x_scale_, y_mean_, y_scale_ : ndarray
        Column means and scales used to standardise new data in :meth:`transform`.
    n_features_in_ : tuple of int
        ``(n_features_x, n_features_y)`` seen in :meth:`fit`.

    See Also
    --------
    sparse_cca_permutation_test : Permutation test of the first canonical correlation.
    select_penalties : Choice of ``penalty_x`` and ``penalty_y``.
    bootstrap_stability : Selection frequency of each weight over resamples.

    Notes
    -----
    With standardised ``X`` (n × p) and ``Y`` (n × q) and ``C = XᵀY``, component k
    solves (Witten, Tibshirani & Hastie 2009)

    .. math::

        \max_{u, v}\; u^T C v \quad \text{s.t.}\quad \|u\|_2 \le 1,\;
        \|v\|_2 \le 1,\; \|u\|_1 \le c_x \sqrt{p},\; \|v\|_1 \le c_y \sqrt{q}

    by alternating ``u ← S(Cv, Δ_u)/‖S(Cv, Δ_u)‖₂`` and
    ``v ← S(Cᵀu, Δ_v)/‖·‖₂``, with ``S`` the soft threshold and Δ = 0 when the L1
    bound holds already, else the Δ at which the L1 norm of the unit vector equals
    the bound. Here Δ is computed exactly from the sorted magnitudes (the ratio
    ``‖S‖₁/‖S‖₂`` is piecewise a quadratic equation in Δ between consecutive sorted
    values), in ``O(p log p)``. Component k starts at the leading right singular
    vector of the deflated ``C_k``; deflation is ``C_{k+1} = C_k − d_k u_k v_kᵀ``,
    the same as PMA's appending of the row ``√d uᵀ`` to X and ``−√d vᵀ`` to Y.

    ``compat="pma"`` follows PMA 1.2's ``CCA()`` step by step: its bisection
    ``BinarySearch`` (stop when the bracket is below 1e-6, at most 149 halvings),
    starting vectors = the first K right singular vectors of the undeflated
    ``XᵀZ``, at most 15 updates stopping when ``Σ|v_old − v| ≤ 1e-6``. Results
    agree with PMA up to a common sign of ``u`` and ``v`` (PMA's sign follows
    LAPACK's SVD; here the largest-magnitude entry of each ``u`` is positive):
    against PMA 1.2-2 run in R 4.2.2 the weights, ``d`` and correlations agree
    to 4e-12 and the selected features are identical (tested on stored
    reference values, n > p and p, q > n, up to 3 components).
    PMA's 15 iterations are often not converged; :attr:`converged_` reports it.
    Without ``compat``, a :class:`~brainctrl.exceptions.ConvergenceWarning` is
    raised when ``max_iter`` is reached.

    References
    ----------
    .. [1] Witten, D. M., Tibshirani, R., & Hastie, T. (2009). A penalized matrix
       decomposition, with applications to sparse principal components and
       canonical correlation analysis. Biostatistics, 10(3), 515-534.
    .. [2] Witten, D. M., & Tibshirani, R. (2020). PMA: Penalized Multivariate
       Analysis. R package version 1.2.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.standard_normal((100, 1))
    >>> X = np.hstack([latent + 0.5 * rng.standard_normal((100, 3)),
    ...                rng.standard_normal((100, 7))])
    >>> Y = np.hstack([latent + 0.5 * rng.standard_normal((100, 2)),
    ...                rng.standard_normal((100, 3))])
    >>> cca = SparseCCA(0.5, 0.5).fit(X, Y)
    >>> np.flatnonzero(cca.x_weights_[:, 0]).tolist()
    [0, 1, 2]
    """

    def __init__(
        self,
        penalty_x=0.3,
        penalty_y=0.3,
        *,
        n_components=1,
        compat=None,
        max_iter=None,
        tol=None,
        standardize=True,
    ):
        self.penalty_x = penalty_x
        self.penalty_y = penalty_y
        self.n_components = n_components
        self.compat = compat
        self.max_iter = max_iter
        self.tol = tol
        self.standardize = standardize

    def _check_params(self, n_features_x, n_features_y):
        check_option("compat", self.compat, _COMPAT_OPTIONS)
        penalty_x = _check_penalty("penalty_x", self.penalty_x, n_features_x)
        penalty_y = _check_penalty("penalty_y", self.penalty_y, n_features_y)
        n_components = _check_int("n_components", self.n_components)
        if n_components > min(n_features_x, n_features_y):
            raise InvalidParameterError(
                f"'n_components' must be at most min(n_features_x, n_features_y) = "
                f"{min(n_features_x, n_features_y)}; got {n_components}."
            )
        max_iter, tol = _resolve_iterations(self.compat, self.max_iter, self.tol)
        _check_int("max_iter", max_iter)
        check_positive("tol", tol)
        return penalty_x, penalty_y, n_components, max_iter, tol

    def fit(self, X, Y):
        """Fit the canonical weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
            First data set (e.g. brain features), one row per subject.
        Y : array-like of shape (n_samples, n_features_y)
            Second data set (e.g. behavioural scores), same subjects and order.

        Returns
        -------
        self : SparseCCA
            The fitted estimator.
        """
        Xa, Ya = _check_pair(X, Y)
        penalty_x, penalty_y, n_components, max_iter, tol = self._check_params(
            Xa.shape[1], Ya.shape[1]
        )
        with _single_blas_thread():
            fitted = _fit_arrays(
                Xa,
                Ya,
                penalty_x,
                penalty_y,
                n_components,
                compat=self.compat,
                max_iter=max_iter,
                tol=tol,
                standardize=bool(self.standardize),
            )
        self.x_mean_ = fitted["mean_x"]
        self.x_scale_ = fitted["scale_x"]
        self.y_mean_ = fitted["mean_y"]
        self.y_scale_ = fitted["scale_y"]
        self.x_weights_ = fitted["x_weights"]
        self.y_weights_ = fitted["y_weights"]
        self.singular_values_ = fitted["singular_values"]
        self.canonical_correlations_ = fitted["correlations"]
        self.n_iter_ = fitted["n_iter"]
        self.converged_ = fitted["converged"]
        self.n_features_in_ = (Xa.shape[1], Ya.shape[1])
        if self.compat is None and not self.converged_.all():
            missed = np.flatnonzero(~self.converged_).tolist()
            warnings.warn(
                f"SparseCCA did not converge for component(s) {missed} within "
                f"max_iter={max_iter} updates (tol={tol:g}); increase 'max_iter'.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def transform(self, X, Y=None):
        """Project data on the canonical weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
            Data on the scale of the ``X`` used in :meth:`fit`.
        Y : array-like of shape (n_samples, n_features_y), optional
            Data on the scale of the ``Y`` used in :meth:`fit`.

        Returns
        -------
        x_scores : ndarray of shape (n_samples, n_components)
            ``standardise(X) @ x_weights_``.
        y_scores : ndarray of shape (n_samples, n_components)
            Only when ``Y`` is given.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit` (it is also a
            :class:`~brainctrl.exceptions.InvalidParameterError`).
        """
        check_fitted(self, "transform", ["x_weights_", "y_weights_", "x_mean_", "y_mean_"])
        Xa = check_array("X", X, ndim=2)
        if Xa.shape[1] != self.x_weights_.shape[0]:
            raise DataError(
                f"X must have {self.x_weights_.shape[0]} columns as in fit; got shape {Xa.shape}."
            )
        x_scores = ((Xa - self.x_mean_) / self.x_scale_) @ self.x_weights_
        if Y is None:
            return x_scores
        Ya = check_array("Y", Y, ndim=2)
        if Ya.shape[1] != self.y_weights_.shape[0]:
            raise DataError(
                f"Y must have {self.y_weights_.shape[0]} columns as in fit; got shape {Ya.shape}."
            )
        return x_scores, ((Ya - self.y_mean_) / self.y_scale_) @ self.y_weights_

    def fit_transform(self, X, Y):
        """Fit, then return ``transform(X, Y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
            First data set.
        Y : array-like of shape (n_samples, n_features_y)
            Second data set.

        Returns
        -------
        x_scores, y_scores : ndarray of shape (n_samples, n_components)
            The scores of the fitted data.
        """
        return self.fit(X, Y).transform(X, Y)
