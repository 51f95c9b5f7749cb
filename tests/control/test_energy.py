"""Minimum energy, transition matrices and time-varying energy."""

import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

from brainctrl.control import (
    minimum_energy,
    normalize_adjacency,
    time_varying_energy,
    transition_energy_matrix,
)
from brainctrl.exceptions import (
    DataError,
    IllConditionedWarning,
    InvalidParameterError,
    UnreachableTargetWarning,
)


def _system(rng, n, system="continuous", directed=False):
    weights = rng.random((n, n))
    if directed:
        weights *= rng.random((n, n)) < 0.6
    else:
        weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    return normalize_adjacency(weights, system=system)


def _van_loan(A, B, horizon):
    """Independent reference Gramian and e^{AT} with scipy's expm."""
    n = A.shape[0]
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n] = -A
    block[:n, n:] = B @ B.T
    block[n:, n:] = A.T
    exponential = scipy.linalg.expm(block * horizon)
    return exponential[n:, n:].T @ exponential[:n, n:], exponential[n:, n:].T


def _input_energy_by_quadrature(A, B, y, horizon, n_points=2001):
    """Integrate u_k(t)^2 with u(t) = B^T e^{A^T (T - t)} y on a fine grid (Simpson)."""
    times = np.linspace(0.0, horizon, n_points)
    step = scipy.linalg.expm(A.T * (times[1] - times[0]))
    costate = y.copy()
    inputs = np.empty((n_points, B.shape[1]))
    for index in range(n_points):  # s = T - t runs from 0 to T
        inputs[n_points - 1 - index] = B.T @ costate
        costate = step @ costate
    return scipy.integrate.simpson(inputs**2, x=times, axis=0), inputs, times


# --- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("a", [-0.8, 0.0, 0.5])
def test_scalar_energy(a):
    b, horizon, x0, xf = 0.9, 1.7, 0.4, -1.3
    gram = b**2 * horizon if a == 0 else b**2 * np.expm1(2 * a * horizon) / (2 * a)
    expected = (xf - np.exp(a * horizon) * x0) ** 2 / gram
    result = minimum_energy(
        np.array([[a]]),
        np.array([x0]),
        np.array([xf]),
        np.array([[b]]),
        horizon=horizon,
        system="continuous",
    )
    assert float(result.energy) == pytest.approx(expected, rel=1e-13)
    assert result.node_energy.shape == (1,)
    assert float(result.node_energy[0]) == pytest.approx(expected, rel=1e-12)


def test_double_integrator_rest_to_rest_costs_twelve():
    # classic: moving a double integrator by 1 in T = 1, at rest at both ends, costs 12
    A = np.array([[0.0, 1.0], [0.0, 0.0]])
    result = minimum_energy(
        A, np.zeros(2), np.array([1.0, 0.0]), np.array([[0.0], [1.0]]), system="continuous"
    )
    assert float(result.energy) == pytest.approx(12.0, rel=1e-12)
    assert float(result.node_energy[0]) == pytest.approx(12.0, rel=1e-12)


def test_diagonal_system_energy_is_sum_of_scalar_energies():
    rates = np.array([-1.0, -0.3, 0.2])
    x0, xf, horizon = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.0, 2.0]), 0.9
    grams = np.expm1(2 * rates * horizon) / (2 * rates)
    per_node = (xf - np.exp(rates * horizon) * x0) ** 2 / grams
    result = minimum_energy(np.diag(rates), x0, xf, horizon=horizon, system="continuous")
    assert float(result.energy) == pytest.approx(per_node.sum(), rel=1e-13)
    np.testing.assert_allclose(result.node_energy, per_node, rtol=1e-12)


def test_discrete_energy_against_least_norm_inputs(rng):
    A = _system(rng, 6, "discrete", directed=True)
    B = np.eye(6)[:, [0, 2, 3, 5]]
    steps = 4
    x0, xf = rng.standard_normal(6), rng.standard_normal(6)
    # x_T = A^T x0 + [A^{T-1} B, ..., B] [u_0; ...; u_{T-1}]: least-norm input by lstsq
    blocks = np.hstack([np.linalg.matrix_power(A, steps - 1 - t) @ B for t in range(steps)])
    inputs = np.linalg.lstsq(blocks, xf - np.linalg.matrix_power(A, steps) @ x0, rcond=None)[0]
    inputs = inputs.reshape(steps, 4)
    result = minimum_energy(A, x0, xf, B, horizon=steps, system="discrete")
    assert float(result.energy) == pytest.approx(np.sum(inputs**2), rel=1e-10)
    np.testing.assert_allclose(result.node_energy, np.sum(inputs**2, axis=0), rtol=1e-9)


# --- invariants -----------------------------------------------------------------------------


@pytest.mark.parametrize("directed", [False, True])
def test_free_evolution_costs_nothing(rng, directed):
    A = _system(rng, 7, directed=directed)
    x0 = rng.standard_normal(7)
    xf = scipy.linalg.expm(A * 1.3) @ x0
    result = minimum_energy(A, x0, xf, horizon=1.3, system="continuous")
    assert float(result.energy) < 1e-24
    assert float(result.terminal_error) < 1e-10


@pytest.mark.parametrize("directed", [False, True])
def test_energy_scales_with_square_of_distance(rng, directed):
    A = _system(rng, 6, directed=directed)
    B = np.eye(6)[:, :4]
    x0, direction = rng.standard_normal(6), rng.standard_normal(6)
    xf_free = scipy.linalg.expm(A) @ x0
    targets = xf_free + np.array([1.0, 2.0, -3.0])[:, None] * direction
    energy = minimum_energy(A, x0, targets, B, system="continuous").energy
    np.testing.assert_allclose(energy / energy[0], [1.0, 4.0, 9.0], rtol=1e-10)


def test_permutation_equivariance(rng):
    A = _system(rng, 8)
    order = rng.permutation(8)
    mask = np.zeros(8, dtype=bool)
    mask[[0, 2, 5, 6, 7]] = True
    x0, xf = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    first = minimum_energy(A, x0, xf, mask, system="continuous")
    second = minimum_energy(
        A[np.ix_(order, order)], x0[:, order], xf[:, order], mask[order], system="continuous"
    )
    np.testing.assert_allclose(second.energy, first.energy, rtol=1e-10)


@pytest.mark.parametrize("directed", [False, True])
def test_node_energy_is_a_real_energy(rng, directed):
    A = _system(rng, 7, directed=directed)
    controlled = np.array([1, 0, 1, 1, 0, 1, 1], dtype=float)
    B = np.diag(controlled)  # nctpy-style (N, N) input matrix with zero columns
    x0, xf = rng.standard_normal(7), rng.standard_normal(7)
    result = minimum_energy(A, x0, xf, B, horizon=1.2, system="continuous")
    gram, transition = _van_loan(A, B, 1.2)
    y = np.linalg.solve(gram, xf - transition @ x0)
    expected, _, _ = _input_energy_by_quadrature(A, B, y, 1.2)
    np.testing.assert_allclose(result.node_energy, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(result.node_energy[controlled == 0], 0.0)
    assert result.node_energy.sum() == pytest.approx(float(result.energy), rel=1e-10)


@pytest.mark.parametrize("system", ["continuous", "discrete"])
def test_node_energy_of_a_mask_or_index_list_is_per_region(rng, system):
    # a mask, an index list and the nctpy-style diag(mask) give the same per-region
    # energies, zero off the control set; an explicit selection matrix gives its columns
    A = _system(rng, 6, system)
    mask = np.array([True, False, True, True, False, True])
    x0, xf = rng.standard_normal(6), rng.standard_normal(6)
    horizon = 3 if system == "discrete" else 1.0
    options = {"horizon": horizon, "system": system}
    reference = minimum_energy(A, x0, xf, np.diag(mask.astype(float)), **options).node_energy
    for control in (mask, [5, 0, 2, 3], np.flatnonzero(mask) - 6):
        result = minimum_energy(A, x0, xf, control, **options)
        np.testing.assert_allclose(result.node_energy, reference, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(result.node_energy[~mask], 0.0)
    columns = minimum_energy(A, x0, xf, np.eye(6)[:, mask], **options).node_energy
    np.testing.assert_allclose(columns, reference[mask], rtol=1e-9)
    if system == "continuous":
        sequence = np.stack([A, A])
        dynamic = time_varying_energy(sequence, 0.5, x0, xf, mask)
        static = minimum_energy(A, x0, xf, mask, system="continuous")
        np.testing.assert_allclose(dynamic.node_energy, static.node_energy, rtol=1e-8)
        assert dynamic.node_energy.shape == (6,)


def test_sparse_input_node_energy_unlike_nctpy(rng):
    # nctpy 1.2.0 minimum_energy_fast splits the energy as (pinv(W) d) * d (its issue #36):
    # entries at uncontrolled nodes are non-zero and some are negative. Ours are the input
    # energies integral u_k^2 dt: non-negative, zero off the control set, same total.
    energies = pytest.importorskip("nctpy.energies")
    A = _system(rng, 8)
    controlled = np.zeros(8)
    controlled[[0, 3, 4, 6, 7]] = 1.0
    B = np.diag(controlled)
    x0, xf = rng.standard_normal(8), rng.standard_normal(8)
    result = minimum_energy(A, x0, xf, B, system="continuous")
    theirs = energies.minimum_energy_fast(A, 1.0, B, x0, xf)[:, 0]
    assert np.any(theirs[controlled == 0] != 0) and np.any(theirs < 0)
    assert theirs.sum() == pytest.approx(float(result.energy), rel=1e-6)  # totals agree
    assert np.all(result.node_energy >= 0)
    np.testing.assert_array_equal(result.node_energy[controlled == 0], 0.0)


def test_against_nctpy_minimum_energy_fast(rng):
    # reference: nctpy 1.2.0, Simpson quadrature of the Gramian over 1000 steps
    energies = pytest.importorskip("nctpy.energies")
    A = _system(rng, 20)
    x0, xf = rng.standard_normal((4, 20)), rng.standard_normal((4, 20))
    ours = minimum_energy(A, x0, xf, horizon=2.0, system="continuous").energy
    theirs = energies.minimum_energy_fast(A, 2.0, np.eye(20), x0.T, xf.T).sum(axis=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_broadcasting_pairs_and_batches(rng):
    A = np.stack([_system(rng, 5), _system(rng, 5)])
    x0, xf = rng.standard_normal((3, 1, 5)), rng.standard_normal((3, 2, 5))
    result = minimum_energy(A, x0, xf, [0, 1, 3], system="continuous")
    assert result.energy.shape == (3, 2)
    assert result.node_energy.shape == (3, 2, 5)
    assert result.condition_number.shape == (2,)
    for pair in range(3):
        for window in range(2):
            single = minimum_energy(
                A[window], x0[pair, 0], xf[pair, window], [0, 1, 3], system="continuous"
            )
            assert result.energy[pair, window] == pytest.approx(float(single.energy), rel=1e-12)
            np.testing.assert_allclose(
                result.node_energy[pair, window], single.node_energy, rtol=1e-10
            )


def test_result_pickles_with_node_energy(rng):
    import pickle

    A = _system(rng, 5)
    result = minimum_energy(
        A, rng.standard_normal(5), rng.standard_normal(5), [0, 2, 3], system="continuous"
    )
    restored = pickle.loads(pickle.dumps(result))
    np.testing.assert_array_equal(restored.energy, result.energy)
    np.testing.assert_array_equal(restored.node_energy, result.node_energy)


def test_transition_energy_matrix(rng):
    A = _system(rng, 6)
    states = rng.standard_normal((4, 6))
    mask = np.array([True, True, False, True, True, True])
    result = transition_energy_matrix(A, states, mask, horizon=0.8, system="continuous")
    gram, transition = _van_loan(A, np.eye(6)[:, mask], 0.8)
    for i in range(4):
        for j in range(4):
            d = states[j] - transition @ states[i]
            assert result.energy[i, j] == pytest.approx(d @ np.linalg.solve(gram, d), rel=1e-9)
    batched = transition_energy_matrix(
        np.stack([A, A]), states, mask, horizon=0.8, system="continuous"
    )
    assert batched.energy.shape == (2, 4, 4)
    np.testing.assert_allclose(batched.energy[1], result.energy, rtol=1e-12)
    assert batched.node_energy.shape == (2, 4, 4, 6)
    np.testing.assert_array_equal(batched.node_energy[..., ~mask], 0.0)


# --- numerical health -----------------------------------------------------------------------


def test_unreachable_target_warns_and_reports(rng):
    # two disconnected components, inputs only in the first: the second cannot be steered
    block = np.array([[-1.0, 0.3], [0.3, -1.0]])
    A = scipy.linalg.block_diag(block, block)
    x0 = np.zeros(4)
    xf = np.array([1.0, 0.0, 0.0, 1.0])
    with (
        pytest.warns(IllConditionedWarning, match=r"condition number up to inf"),
        pytest.warns(
            UnreachableTargetWarning, match=r"cannot be reached .*unreached fraction up to 0.70"
        ),
    ):
        result = minimum_energy(A, x0, xf, [0], system="continuous")
    assert int(result.rank) == 2
    assert float(result.terminal_error) == pytest.approx(1 / np.sqrt(2), rel=1e-12)
    assert float(result.unreachable_fraction) == float(result.terminal_error)
    # no input reaches the target: its energy is not a number the pseudo-inverse made up
    assert float(result.energy) == np.inf
    # the reachable part of the target is its projection on the range of the Gramian
    # (the first component's two regions), and costs what that transition alone costs
    reachable = minimum_energy(block, np.zeros(2), np.array([1.0, 0.0]), [0], system="continuous")
    assert float(result.reachable_energy) == pytest.approx(float(reachable.energy), rel=1e-10)


def test_ill_conditioned_warns(rng):
    A = _system(rng, 30)
    # a sparse control set: W_T is numerically singular (METHODS.md: N=200, <=20 % controlled)
    with pytest.warns(UnreachableTargetWarning, match="cannot be reached"):
        with pytest.warns(IllConditionedWarning, match=r"condition number up to (\d|inf)"):
            result = minimum_energy(
                A, np.zeros(30), rng.standard_normal(30), [0, 1, 2], system="continuous"
            )
    assert float(result.condition_number) > 1e10
    assert int(result.rank) < 30


def test_compat_deng2022_matches_matlab_pinv(rng):
    A = _system(rng, 10)
    mask = np.zeros(10, dtype=bool)
    mask[:3] = True
    x0, xf = rng.standard_normal(10), rng.standard_normal(10)
    gram, transition = _van_loan(A, np.eye(10)[:, mask], 1.0)
    d = xf - transition @ x0
    sigma = np.linalg.svd(gram, compute_uv=False)
    tolerance = 10 * np.spacing(sigma[0])  # MATLAB pinv: max(size(W)) * eps(norm(W))
    pinv = np.linalg.pinv(gram, rtol=tolerance / sigma[0])
    expected = 0.5 * d @ pinv @ d
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        warnings.simplefilter("ignore", UnreachableTargetWarning)
        result = minimum_energy(A, x0, xf, mask, compat="deng2022", system="continuous")
    assert int(result.rank) == int(np.sum(sigma > tolerance))
    # both sides invert eigenvalues near 1e-16 * ||W||: agreement is limited by conditioning
    assert float(result.energy) == pytest.approx(expected, rel=1e-3)
    assert result.node_energy.sum() == pytest.approx(float(result.energy), rel=1e-6)


# --- time-varying systems -------------------------------------------------------------------


def _brute_force_time_varying(A_sequence, dt, B, x0, xf, n_sub=400):
    """RK4 on dW/dt = A W + W A^T + B B^T, dx/dt = A x, and the costate backwards."""
    n = A_sequence.shape[-1]
    h = dt / n_sub
    gram = np.zeros((n, n))
    state = x0.copy()
    for A in A_sequence:

        def f_gram(W, A=A):
            return A @ W + W @ A.T + B @ B.T

        for _ in range(n_sub):
            k1 = f_gram(gram)
            k2 = f_gram(gram + h / 2 * k1)
            k3 = f_gram(gram + h / 2 * k2)
            k4 = f_gram(gram + h * k3)
            gram = gram + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            s1 = A @ state
            s2 = A @ (state + h / 2 * s1)
            s3 = A @ (state + h / 2 * s2)
            s4 = A @ (state + h * s3)
            state = state + h / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
    d = xf - state
    y = np.linalg.solve(gram, d)
    # costate lambda(t) with d lambda/dt = -A(t)^T lambda, lambda(T) = y; u = B^T lambda
    squares = []
    costate = y.copy()
    for A in A_sequence[::-1]:
        values = [B.T @ costate]
        for _ in range(n_sub):  # backwards in time
            c1 = A.T @ costate
            c2 = A.T @ (costate + h / 2 * c1)
            c3 = A.T @ (costate + h / 2 * c2)
            c4 = A.T @ (costate + h * c3)
            costate = costate + h / 6 * (c1 + 2 * c2 + 2 * c3 + c4)
            values.append(B.T @ costate)
        squares.append(scipy.integrate.simpson(np.array(values) ** 2, dx=h, axis=0))
    return d @ y, np.sum(squares, axis=0)


@pytest.mark.parametrize("directed", [False, True])
def test_time_varying_against_brute_force(rng, directed):
    A_sequence = np.stack([_system(rng, 5, directed=directed) for _ in range(3)])
    B = np.eye(5)[:, [0, 2, 4]]
    x0, xf = rng.standard_normal(5), rng.standard_normal(5)
    energy, node = _brute_force_time_varying(A_sequence, 0.4, B, x0, xf)
    result = time_varying_energy(A_sequence, 0.4, x0, xf, B)
    assert float(result.energy) == pytest.approx(energy, rel=1e-9)
    np.testing.assert_allclose(result.node_energy, node, rtol=1e-8)


def test_time_varying_with_equal_windows_is_static(rng):
    A = _system(rng, 6)
    x0, xf = rng.standard_normal((2, 6)), rng.standard_normal((2, 6))
    static = minimum_energy(A, x0, xf, [1, 2, 5], horizon=1.0, system="continuous")
    dynamic = time_varying_energy(np.stack([A] * 5), 0.2, x0, xf, [1, 2, 5])
    # the two Gramians differ by rounding (~eps ||W||); energies by up to cond * eps
    tolerance = 100 * float(static.condition_number) * np.finfo(float).eps
    np.testing.assert_allclose(dynamic.energy, static.energy, rtol=tolerance)
    np.testing.assert_allclose(dynamic.node_energy, static.node_energy, rtol=tolerance)
    np.testing.assert_allclose(dynamic.condition_number, static.condition_number, rtol=1e-6)


def test_compat_halves_well_conditioned_energies(rng):
    # with every region controlled nothing is truncated: deng2022 is exactly 1/2 of ours
    A_sequence = np.stack([_system(rng, 5) for _ in range(3)])
    x0, xf = rng.standard_normal((2, 5))
    ours = time_varying_energy(A_sequence, 0.3, x0, xf)
    theirs = time_varying_energy(A_sequence, 0.3, x0, xf, compat="deng2022")
    assert float(theirs.energy) == pytest.approx(0.5 * float(ours.energy), rel=1e-13)
    np.testing.assert_allclose(theirs.node_energy, 0.5 * ours.node_energy, rtol=1e-13)


def test_time_varying_batch(rng):
    sequences = np.stack([np.stack([_system(rng, 4) for _ in range(3)]) for _ in range(2)])
    x0, xf = rng.standard_normal(4), rng.standard_normal((2, 4))
    result = time_varying_energy(sequences, 0.5, x0, xf)
    assert result.energy.shape == (2,)
    for index in range(2):
        single = time_varying_energy(sequences[index], 0.5, x0, xf[index])
        assert result.energy[index] == pytest.approx(float(single.energy), rel=1e-12)


# --- errors ---------------------------------------------------------------------------------


def test_errors(rng):
    A = _system(rng, 3)
    x = np.zeros(3)
    with pytest.raises(InvalidParameterError, match=r"'compat' must be one of .*got 'matlab'"):
        minimum_energy(A, x, x, compat="matlab", system="continuous")
    with pytest.raises(InvalidParameterError, match="'horizon' must be > 0"):
        minimum_energy(A, x, x, horizon=-1.0, system="continuous")
    with pytest.raises(InvalidParameterError, match=r"'rcond' must be > 0; got -1"):
        minimum_energy(A, x, x, rcond=-1, system="continuous")
    with pytest.raises(DataError, match=r"x0 must have 3 entries .*got shape \(2,\)"):
        minimum_energy(A, np.zeros(2), x, system="continuous")
    with pytest.raises(DataError, match="xf contains NaN"):
        minimum_energy(A, x, np.array([0.0, np.nan, 0.0]), system="continuous")
    with pytest.raises(DataError, match="do not broadcast together"):
        minimum_energy(np.stack([A, A]), np.zeros((3, 3)), x, system="continuous")
    with pytest.raises(DataError, match="B as a boolean mask must have 3 entries"):
        minimum_energy(A, x, x, np.array([True, False]), system="continuous")
    with pytest.raises(
        DataError, match=r"B indices must lie in \[-3, 3\) \(negative ones .*got \[5\]"
    ):
        minimum_energy(A, x, x, [5], system="continuous")
    with pytest.raises(DataError, match="B as input weights must have 3 entries .* got 2"):
        minimum_energy(A, x, x, np.array([0.5, 1.0]), system="continuous")
    with pytest.raises(DataError, match=r"weights must be finite, >= 0 and not all 0; got min -1"):
        minimum_energy(A, x, x, np.array([-1.0, 1.0, 1.0]), system="continuous")
    with pytest.raises(DataError, match="or float weights; got dtype complex128"):
        minimum_energy(A, x, x, np.array([1j, 1.0, 1.0]), system="continuous")
    with pytest.raises(DataError, match="B selects no region"):
        minimum_energy(A, x, x, np.zeros(3, dtype=bool), system="continuous")
    with pytest.raises(DataError, match="B must be an .* got shape"):
        minimum_energy(A, x, x, np.zeros((3, 1, 1)), system="continuous")
    with pytest.raises(DataError, match="B has no input column"):
        minimum_energy(A, x, x, np.zeros((3, 0)), system="continuous")
    with pytest.raises(DataError, match=r"states must have shape \(..., n_states, n_regions\)"):
        transition_energy_matrix(A, x, system="continuous")
    with pytest.raises(DataError, match="do not broadcast together"):
        transition_energy_matrix(np.stack([A, A]), np.zeros((3, 2, 3)), system="continuous")
    with pytest.raises(DataError, match="A_sequence must have shape"):
        time_varying_energy(A, 0.1, x, x)
    with pytest.raises(InvalidParameterError, match=r"'dt' must be > 0; got 0"):
        time_varying_energy(np.stack([A]), 0, x, x)


def test_mixed_control_set_on_two_uncoupled_nodes_by_hand():
    # A = -I: W_T = diag(w_k^2) (1 - e^{-2T}) / 2, E = sum_k d_k^2 / (w_k^2 s), and input k
    # alone costs d_k^2 / (w_k^2 s), s = (1 - e^{-2T}) / 2
    from brainctrl.control import mixed_control_set

    epsilon, horizon = 0.1, 1.5
    weights = mixed_control_set(n_regions=2, network=[0], epsilon=epsilon)
    np.testing.assert_array_equal(weights, [1.0, 0.1])
    d = np.array([0.6, -0.3])
    result = minimum_energy(
        -np.eye(2), np.zeros(2), d, weights, horizon=horizon, system="continuous"
    )
    s = (1 - np.exp(-2 * horizon)) / 2
    per_node = d**2 / (np.array([1.0, epsilon]) ** 2 * s)
    np.testing.assert_allclose(result.node_energy, per_node, rtol=1e-13)
    np.testing.assert_allclose(result.energy, per_node.sum(), rtol=1e-13)
    assert float(result.condition_number) == pytest.approx(1 / epsilon**2, rel=1e-12)


def test_mixed_control_set_on_two_coupled_nodes_against_quadrature():
    from scipy.integrate import quad_vec

    from brainctrl.control import mixed_control_set

    A = np.array([[-1.0, 0.4], [0.4, -0.8]])
    horizon, d = 1.0, np.array([1.0, 0.5])
    for epsilon in (1.0, 0.1, 0.01):
        weights = mixed_control_set(n_regions=2, network=[0], epsilon=epsilon)
        BB = np.diag(weights**2)
        W, _ = quad_vec(
            lambda t, BB=BB: scipy.linalg.expm(A * t) @ BB @ scipy.linalg.expm(A.T * t),
            0,
            horizon,
            epsabs=1e-14,
            epsrel=1e-13,
        )
        result = minimum_energy(A, np.zeros(2), d, weights, horizon=horizon, system="continuous")
        np.testing.assert_allclose(result.energy, d @ np.linalg.solve(W, d), rtol=1e-9)
        # the split between the chosen region and the other sums to the energy
        np.testing.assert_allclose(result.node_energy.sum(), result.energy, rtol=1e-10)
    # region 0 alone controls the coupled pair: small epsilons tend to its energy
    alone = minimum_energy(A, np.zeros(2), d, [0], horizon=horizon, system="continuous")
    tiny = minimum_energy(
        A,
        np.zeros(2),
        d,
        mixed_control_set(n_regions=2, network=[0], epsilon=1e-6),
        system="continuous",
    )
    np.testing.assert_allclose(tiny.energy, alone.energy, rtol=1e-6)


def test_reachable_energy_equals_the_energy_when_the_gramian_is_full_rank(rng):
    A = _system(rng, 12)
    x0, xf = rng.standard_normal((2, 5, 12))
    result = minimum_energy(A, x0, xf, system="continuous")
    np.testing.assert_array_equal(result.reachable_energy, result.energy)
    assert np.all(np.isfinite(result.energy)) and np.all(result.terminal_error < 1e-10)


def test_the_warning_prints_the_result_s_condition_number(rng):
    from brainctrl.control.energy import condition_text

    A = _system(rng, 30)
    weights = np.full(30, 1e-5)
    weights[:5] = 1.0
    with pytest.warns(IllConditionedWarning) as caught:
        result = minimum_energy(
            A, np.zeros(30), rng.standard_normal(30), weights, system="continuous"
        )
    assert np.isfinite(result.condition_number)
    text = condition_text(float(result.condition_number))
    assert f"condition number up to {text} " in str(caught[0].message)


def test_gramian_conditioning_grid():
    from brainctrl.control import gramian_conditioning

    # A = -I: W = diag(1, eps^2) (1 - e^{-2T}) / 2, condition number 1 / eps^2
    table = gramian_conditioning(
        -np.eye(2),
        np.array([True, False]),
        horizons=[0.5, 2.0],
        epsilons=[0.0, 0.1, 0.01],
        system="continuous",
    )
    assert len(table) == 6
    for row in table.itertuples():
        if row.epsilon == 0:
            assert row.condition_number == np.inf and row.rank == 1
        else:
            assert row.condition_number == pytest.approx(1 / row.epsilon**2, rel=1e-10)
            assert row.rank == 2
    with pytest.raises(InvalidParameterError, match=r"'epsilons' must lie in \[0, 1\]; got 2"):
        gramian_conditioning(-np.eye(2), epsilons=[2], system="continuous")
    with pytest.raises(InvalidParameterError, match="boolean mask of the chosen regions"):
        gramian_conditioning(-np.eye(2), np.array([1.0, 0.001]), system="continuous")


def test_random_control_sets():
    from brainctrl.control import random_control_sets

    exclude = np.zeros(10, dtype=bool)
    exclude[:4] = True
    masks = random_control_sets(10, 3, n_sets=20, exclude=exclude, random_state=1)
    assert masks.shape == (20, 10) and (masks.sum(axis=1) == 3).all()
    assert not masks[:, :4].any()
    np.testing.assert_array_equal(
        masks, random_control_sets(10, 3, n_sets=20, exclude=exclude, random_state=1)
    )
    with pytest.raises(InvalidParameterError, match="'size' is 7, more than the 6 regions"):
        random_control_sets(10, 7, n_sets=1, exclude=exclude)
    # a drawn set goes straight into a mixed control set
    from brainctrl.control import mixed_control_set

    weights = mixed_control_set(network=masks[0], epsilon=0.01, n_regions=10)
    np.testing.assert_array_equal(weights, np.where(masks[0], 1.0, 0.01))


def test_an_ill_conditioned_but_full_rank_gramian_reaches_its_targets(rng):
    # condition number ~1e9: every direction is resolved, so every target is reached;
    # the rounding residual of W W^+ d - d (~cond * eps) must not count as unreached
    from brainctrl.control import controllability_gramian

    n = 60
    A = _system(rng, n)
    weights = np.full(n, 3e-5)
    weights[:12] = 1.0
    x0, xf = rng.standard_normal((2, 20, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        result = minimum_energy(A, x0, xf, weights, system="continuous")
    assert 1e8 < float(result.condition_number) < 1e10 and int(result.rank) == n
    assert np.all(result.terminal_error == 0.0) and np.all(np.isfinite(result.energy))
    W = controllability_gramian(A, weights, system="continuous")
    d = xf - x0 @ scipy.linalg.expm(A).T
    expected = np.einsum("pi,pi->p", d, scipy.linalg.solve(W, d.T, assume_a="pos").T)
    np.testing.assert_allclose(result.energy, expected, rtol=1e-5)


def test_every_way_of_saying_all_regions_takes_the_identity_path(rng):
    from brainctrl.control import controllability_gramian
    from brainctrl.control.systems import _input_matrix

    n = 12
    A = _system(rng, n)
    x0, xf = rng.standard_normal((2, 5, n))
    reference = minimum_energy(A, x0, xf, system="continuous")
    for B in (np.eye(n), np.ones(n, dtype=bool), np.arange(n), np.ones(n)):
        assert _input_matrix(B, n) is None
        result = minimum_energy(A, x0, xf, B, system="continuous")
        np.testing.assert_array_equal(result.energy, reference.energy)
        np.testing.assert_array_equal(result.node_energy, reference.node_energy)
        np.testing.assert_array_equal(
            controllability_gramian(A, B, horizon=1.0, system="continuous"),
            controllability_gramian(A, horizon=1.0, system="continuous"),
        )
    # anything else keeps its own input matrix
    assert _input_matrix(2 * np.eye(n), n).shape == (n, n)
    assert _input_matrix(np.arange(n - 1), n).shape == (n, n - 1)


def test_scalar_infinite_horizon_energy():
    # x' = a x + u, a < 0: W_inf = 1 / (-2a), E = -2a xf^2 whatever x0 (it dies out)
    for a in (-0.5, -2.0):
        result = minimum_energy(
            np.array([[a]]), np.array([3.0]), np.array([1.5]), horizon=np.inf, system="continuous"
        )
        assert float(result.energy) == pytest.approx(-2 * a * 1.5**2, rel=1e-12)
        assert float(result.node_energy[0]) == pytest.approx(float(result.energy), rel=1e-12)
    # discrete x_{t+1} = a x_t + u_t: W_inf = 1 / (1 - a^2)
    result = minimum_energy(
        np.array([[0.5]]), np.array([0.0]), np.array([2.0]), horizon=np.inf, system="discrete"
    )
    assert float(result.energy) == pytest.approx((1 - 0.25) * 4.0, rel=1e-12)


@pytest.mark.parametrize("system", ["continuous", "discrete"])
@pytest.mark.parametrize("directed", [False, True])
def test_infinite_horizon_energy_against_lyapunov_and_long_horizons(rng, system, directed):
    n = 8
    A = _system(rng, n, system=system, directed=directed)
    x0, xf = rng.standard_normal((2, 4, n))
    # a mixed control set: every region reachable, also in sparse directed graphs
    weights = np.where(np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool), 1.0, 0.3)
    infinite = minimum_energy(A, x0, xf, weights, horizon=np.inf, system=system)
    # the infinite-horizon Gramian from SciPy's Lyapunov solvers; x0 has died out
    inputs = np.diag(weights**2)
    if system == "continuous":
        gram = scipy.linalg.solve_continuous_lyapunov(A, -inputs)
    else:
        gram = scipy.linalg.solve_discrete_lyapunov(A, inputs)
    expected = np.einsum("pi,pi->p", xf, np.linalg.solve(gram, xf.T).T)
    np.testing.assert_allclose(infinite.energy, expected, rtol=1e-9)
    np.testing.assert_allclose(infinite.node_energy.sum(axis=-1), infinite.energy, rtol=1e-10)
    # and the limit of long horizons, per region too (where e^{AT} is below 1e-7)
    eigenvalues = np.linalg.eigvals(A)
    if system == "continuous":
        horizon = float(np.ceil(np.log(1e-7) / np.max(eigenvalues.real)))
    else:
        horizon = float(np.ceil(np.log(1e-7) / np.log(np.max(np.abs(eigenvalues)))))
    finite = minimum_energy(A, x0, xf, weights, horizon=horizon, system=system)
    np.testing.assert_allclose(infinite.energy, finite.energy, rtol=1e-5)
    np.testing.assert_allclose(infinite.node_energy, finite.node_energy, rtol=1e-5, atol=1e-8)


def test_infinite_horizon_needs_a_stable_system(rng):
    A = _system(rng, 5) + 2 * np.eye(5)  # eigenvalues with positive real parts
    with pytest.raises(DataError, match="not stable"):
        minimum_energy(A, np.zeros(5), np.ones(5), horizon=np.inf, system="continuous")


def test_directed_gramian_at_long_horizons_against_quadrature(rng):
    # Van Loan's block exponential holds e^{-AT} and loses every digit by T = 20;
    # brainctrl switches to W_inf - e^{AT} W_inf e^{A^T T} there
    from brainctrl.control import controllability_gramian

    A = _system(rng, 6, directed=True)
    B = np.eye(6)[:, :4]
    for horizon in (1.0, 20.0):
        expected, _ = scipy.integrate.quad_vec(
            lambda t: scipy.linalg.expm(A * t) @ B @ B.T @ scipy.linalg.expm(A.T * t),
            0.0,
            horizon,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        gram = controllability_gramian(A, B, horizon=horizon, system="continuous")
        np.testing.assert_allclose(gram, expected, rtol=1e-9, atol=1e-12)
