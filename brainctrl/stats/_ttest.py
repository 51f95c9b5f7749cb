"""Corrected resampled t-test for comparing cross-validated scores."""

import numbers

import numpy as np
from scipy import stats

from brainctrl._utils.validation import check_array, check_finite, check_positive
from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = ["corrected_resampled_ttest"]


def corrected_resampled_ttest(differences, n_train, n_test, *, n_folds=None, n_repeats=None):
    r"""Compare two models' cross-validated scores with the corrected resampled t-test.

    Parameters
    ----------
    differences : array-like of shape (n_folds * n_repeats,)
        Per-split score differences (model A minus model B) of all folds of all
        repeats, computed on identical train/test splits.
    n_train : int or float
        Number of training samples per split (the mean if folds differ).
    n_test : int or float
        Number of test samples per split (the mean if folds differ).
    n_folds, n_repeats : int, optional
        Number of folds k and repeats r. When both are given, their product must
        equal the number of differences; they are only used for that check.

    Returns
    -------
    t : float
        The corrected t statistic.
    p : float
        Two-sided p-value from Student's t with ``k·r − 1`` degrees of freedom.

    Notes
    -----
    Splits of repeated k-fold cross-validation share training samples, so their
    score differences are positively correlated and the naive paired t-test
    (variance ``var(d)/(k·r)``) is anti-conservative. Nadeau & Bengio (2003)
    inflate the variance by the ratio of test to training size:

    .. math::

        t = \frac{\bar d}{\sqrt{\left(\frac{1}{k r} +
            \frac{n_{test}}{n_{train}}\right) \hat\sigma^2_d}},
        \qquad \mathrm{df} = k r - 1,

    with :math:`\hat\sigma^2_d` the sample variance (``ddof=1``) of the differences.
    If all differences are equal, ``t`` is ``0`` (``p = 1``) when they are zero
    and ``±inf`` (``p = 0``) otherwise.

    References
    ----------
    .. [1] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization
       error. Machine Learning, 52(3), 239-281.
    .. [2] Bouckaert, R. R., & Frank, E. (2004). Evaluating the replicability of
       significance tests for comparing learning algorithms. PAKDD, 3-12.

    Examples
    --------
    >>> t, p = corrected_resampled_ttest([0.02, 0.03, 0.01, 0.04], n_train=90, n_test=10)
    >>> round(t, 3), round(p, 3)
    (3.223, 0.048)
    """
    d = check_array("differences", differences, ndim=1)
    check_finite("differences", d)
    if d.size < 2:
        raise DataError(f"differences must hold at least 2 values (one per split); got {d.size}.")
    check_positive("n_train", n_train)
    check_positive("n_test", n_test)
    if n_folds is not None or n_repeats is not None:
        if n_folds is None or n_repeats is None:
            raise InvalidParameterError(
                "'n_folds' and 'n_repeats' must be given together; "
                f"got n_folds={n_folds!r}, n_repeats={n_repeats!r}."
            )
        for name, value in (("n_folds", n_folds), ("n_repeats", n_repeats)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(f"'{name}' must be a positive integer; got {value!r}.")
        if n_folds * n_repeats != d.size:
            raise DataError(
                f"differences must hold n_folds * n_repeats = {n_folds} * {n_repeats} = "
                f"{n_folds * n_repeats} values; got {d.size}."
            )
    n_splits = d.size
    mean = float(d.mean())
    variance = float(d.var(ddof=1))
    df = n_splits - 1
    if variance == 0.0:
        if mean == 0.0:
            return 0.0, 1.0
        return float(np.copysign(np.inf, mean)), 0.0
    t = mean / np.sqrt((1.0 / n_splits + n_test / n_train) * variance)
    p = 2.0 * stats.t.sf(abs(t), df)
    return float(t), float(p)
