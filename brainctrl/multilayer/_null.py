"""Null models of multilayer networks and comparison of a measure with them."""

import logging
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed

from brainctrl._utils.permutation import ALTERNATIVES, permutation_pvalue
from brainctrl._utils.validation import check_option, check_positive, check_random_state
from brainctrl.exceptions import InvalidParameterError
from brainctrl.multilayer._modularity import _check_sequence

__all__ = ["NullComparison", "compare_with_null", "multilayer_null_model"]

logger = logging.getLogger(__name__)

_NULLS = ("nodal", "temporal", "connectional")


def _strength_preserving_rewire(stack, n_rounds, rng, locked):
    """Redistribute weights around random 4-cycles, keeping every strength.

    Works on ``(n_layers, n, n)`` non-negative symmetric matrices with zero
    diagonal. One round draws, in every layer, disjoint node quadruples
    ``(a, b, c, d)`` and moves ``δ`` of weight from edges ``ad`` and ``cb`` to
    ``ab`` and ``cd`` (``δ`` uniform in the range that keeps all four weights
    non-negative; it may be negative). Each node gains and loses ``δ``, so
    all strengths stay exactly as they were. Entries where ``locked`` is True
    stay zero (no move touches a quadruple holding one).
    """
    out = stack.copy()
    n_layers, n, _ = out.shape
    n_quads = n // 4
    if n_quads == 0:
        return out
    layer_index = np.arange(n_layers)[:, None]
    for _ in range(n_rounds):
        nodes = rng.permuted(np.broadcast_to(np.arange(n), (n_layers, n)), axis=1)
        a, b, c, d = (nodes[:, k * n_quads : (k + 1) * n_quads] for k in range(4))
        w_ab = out[layer_index, a, b]
        w_cd = out[layer_index, c, d]
        w_ad = out[layer_index, a, d]
        w_cb = out[layer_index, c, b]
        low = -np.minimum(w_ab, w_cd)
        high = np.minimum(w_ad, w_cb)
        delta = low + (high - low) * rng.random(low.shape)
        blocked = (
            locked[layer_index, a, b]
            | locked[layer_index, c, d]
            | locked[layer_index, a, d]
            | locked[layer_index, c, b]
        )
        delta[blocked] = 0.0
        for (i, j), sign in (((a, b), 1.0), ((c, d), 1.0), ((a, d), -1.0), ((c, b), -1.0)):
            values = out[layer_index, i, j] + sign * delta
            out[layer_index, i, j] = values
            out[layer_index, j, i] = values
    return out


def multilayer_null_model(
    adjacency_sequence,
    *,
    null="nodal",
    n_rounds=None,
    random_state=None,
):
    """Randomised copy of a network sequence for multilayer null models.

    Parameters
    ----------
    adjacency_sequence : array-like of shape (n_layers, n_regions, n_regions)
        One network per layer. Non-symmetric layers are replaced by ``(A + Aᵀ)/2``.
    null : {"nodal", "temporal", "connectional"}, default="nodal"
        ``"nodal"``: the nodes of each layer are permuted independently, so
        node i of layer s is linked to a random node of layer s + 1 by the
        identity coupling; ``"temporal"``: the layers are put in a random
        order; ``"connectional"``: the weights of each layer are rewired
        keeping every node's positive and negative strength (see Notes).
    n_rounds : int, optional
        Rounds of rewiring for ``"connectional"``; default ``10 * n_regions``
        (each round moves weight around ``n_regions / 4`` disjoint 4-cycles per
        layer, so every edge is touched about ``10`` times).
    random_state : int, numpy Generator or None, default=None
        Seed.

    Returns
    -------
    ndarray of shape (n_layers, n_regions, n_regions)
        The randomised sequence.

    Notes
    -----
    The connectional null rewires the positive and negative parts of each
    layer in turn (positive weight never enters a negative entry and vice
    versa): it draws disjoint node quadruples ``(a, b, c, d)`` and
    adds ``δ`` to ``w_ab`` and ``w_cd`` and removes it from ``w_ad`` and
    ``w_cb``, with ``δ`` uniform in the range keeping the weights
    non-negative. Strengths ``k±`` (and hence the modularity null model) are
    kept exactly; the weight distribution and density may change. The
    diagonal is kept. Bassett et al. (2013) rewired with degree-preserving
    edge swaps; for complete (e.g. correlation) layers such swaps cannot
    change anything, which is why brainctrl moves weight instead.

    References
    ----------
    .. [1] Bassett, D. S., Porter, M. A., Wymbs, N. F., Grafton, S. T.,
       Carlson, J. M. & Mucha, P. J. (2013). Robust detection of dynamic
       community structure in networks. Chaos 23, 013142.

    Examples
    --------
    >>> import numpy as np
    >>> layers = np.stack([np.eye(3)[[1, 2, 0]] + np.eye(3)[[2, 0, 1]]] * 2)
    >>> shuffled = multilayer_null_model(layers, null="nodal", random_state=0)
    >>> np.allclose(np.sort(shuffled.sum(axis=1)), np.sort(layers.sum(axis=1)))
    True
    """
    check_option("null", null, _NULLS)
    stack = _check_sequence(adjacency_sequence)
    rng = check_random_state(random_state)
    n_layers, n_regions, _ = stack.shape
    if null == "temporal":
        return stack[rng.permutation(n_layers)].copy()
    if null == "nodal":
        order = rng.permuted(np.broadcast_to(np.arange(n_regions), (n_layers, n_regions)), axis=1)
        layer_index = np.arange(n_layers)[:, None, None]
        return stack[layer_index, order[:, :, None], order[:, None, :]]
    if n_rounds is None:
        n_rounds = 10 * n_regions
    n_rounds = check_positive("n_rounds", n_rounds, integer=True, strict=False)
    diagonal = np.einsum("sii->si", stack).copy()
    off = stack.copy()
    off[:, np.arange(n_regions), np.arange(n_regions)] = 0.0
    positive = _strength_preserving_rewire(np.maximum(off, 0.0), n_rounds, rng, off < 0)
    negative = _strength_preserving_rewire(np.maximum(-off, 0.0), n_rounds, rng, positive > 0)
    out = positive - negative
    out[:, np.arange(n_regions), np.arange(n_regions)] = diagonal
    return out


@dataclass
class NullComparison:
    """Observed value of a measure against its null distribution.

    Attributes
    ----------
    observed : float or ndarray
        The measure on the data.
    null_values : ndarray of shape (n_null, ...)
        The measure on each null sequence.
    p_value : float or ndarray
        Empirical p, ``(1 + #extreme) / (n_null + 1)`` (ties up to rounding
        count as extreme).
    z_score : float or ndarray
        ``(observed − mean(null)) / sd(null)`` (ddof 1; NaN where sd is 0).
    null : str
        The null model used.
    alternative : str
        The direction tested.
    """

    observed: object
    null_values: np.ndarray
    p_value: object
    z_score: object
    null: str
    alternative: str


def _null_measure(measure, adjacency_sequence, null, n_rounds, seed):
    shuffled = multilayer_null_model(
        adjacency_sequence, null=null, n_rounds=n_rounds, random_state=seed
    )
    return np.asarray(measure(shuffled), dtype=float)


def compare_with_null(
    measure,
    adjacency_sequence,
    *,
    null="nodal",
    n_null=100,
    alternative="greater",
    n_rounds=None,
    random_state=None,
    n_jobs=1,
):
    """Compare a measure of a network sequence with its value on null sequences.

    Parameters
    ----------
    measure : callable
        ``measure(adjacency_sequence) -> float or ndarray``, e.g.
        ``lambda seq: multilayer_modularity(seq, random_state=0).quality``.
    adjacency_sequence : array-like of shape (n_layers, n_regions, n_regions)
        The observed sequence. Non-symmetric layers are replaced by
        ``(A + Aᵀ)/2`` before ``measure`` sees them (observed and null alike).
    null : {"nodal", "temporal", "connectional"}, default="nodal"
        Null model, see :func:`multilayer_null_model`.
    n_null : int, default=100
        Number of null sequences.
    alternative : {"greater", "less", "two-sided"}, default="greater"
        ``"greater"`` counts null values ``>=`` the observed one, ``"less"``
        those ``<=``, ``"two-sided"`` those at least as far from the null mean
        on either side (ties up to rounding count).
    n_rounds : int, optional
        Rewiring rounds for the connectional null.
    random_state : int, numpy Generator or None, default=None
        Seed; null sequence ``b`` uses its own seed drawn from it, so results
        do not depend on ``n_jobs``.
    n_jobs : int, default=1
        Null sequences evaluated in parallel (joblib).

    Returns
    -------
    NullComparison
        ``.observed``, ``.null_values`` (n_null, ...), ``.p_value``, ``.z_score``.

    References
    ----------
    .. [1] Bassett, D. S. et al. (2013). Robust detection of dynamic community
       structure in networks. Chaos 23, 013142.

    Examples
    --------
    >>> import numpy as np
    >>> layers = np.stack([np.diag(np.arange(1.0, 4.0))] * 2)
    >>> out = compare_with_null(lambda seq: seq[0, 0, 0], layers, null="nodal",
    ...                         n_null=9, random_state=0)
    >>> float(out.observed), out.null_values.shape
    (1.0, (9,))
    """
    if not callable(measure):
        raise InvalidParameterError(
            f"'measure' must be callable (a function of the network sequence); got "
            f"{type(measure).__name__} {measure!r}."
        )
    check_option("null", null, _NULLS)
    check_option("alternative", alternative, ALTERNATIVES)
    n_null = check_positive("n_null", n_null, integer=True)
    stack = _check_sequence(adjacency_sequence)
    seeds = check_random_state(random_state).integers(0, 2**63 - 1, size=n_null)
    observed = np.asarray(measure(stack), dtype=float)
    if n_jobs == 1:
        values = [_null_measure(measure, stack, null, n_rounds, seed) for seed in seeds]
    else:
        values = Parallel(n_jobs=n_jobs)(
            delayed(_null_measure)(measure, stack, null, n_rounds, seed) for seed in seeds
        )
    null_values = np.stack(values)
    if null_values.shape[1:] != observed.shape:
        raise InvalidParameterError(
            f"'measure' must return the same shape on every sequence; measure returned shape "
            f"{null_values.shape[1:]} on a null sequence but {observed.shape} on the data."
        )
    mean = null_values.mean(axis=0)
    p_value = np.asarray(permutation_pvalue(observed, null_values, alternative=alternative))
    spread = null_values.std(axis=0, ddof=1) if n_null > 1 else np.zeros_like(mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_score = np.where(spread > 0, (observed - mean) / np.where(spread > 0, spread, 1), np.nan)
    if observed.ndim == 0:
        observed, p_value, z_score = float(observed), float(p_value), float(z_score)
    return NullComparison(observed, null_values, p_value, z_score, null, alternative)
