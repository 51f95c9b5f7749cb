"""Gramians, average and modal controllability against closed forms and references."""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

from brainctrl.control import (
    average_controllability,
    controllability_gramian,
    modal_controllability,
    normalize_adjacency,
)
from brainctrl.control._linalg import EIG_CACHE
from brainctrl.exceptions import DataError, InvalidParameterError


def _symmetric(rng, n):
    weights = rng.random((n, n))
    weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    return weights


def _directed(rng, n):
    weights = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    np.fill_diagonal(weights, 0.0)
    return weights


def _quadrature_gramian(A, B, horizon):
    """Independent reference: adaptive quadrature of e^{At} B B^T e^{A^T t}."""

    def integrand(t):
        propagated = scipy.linalg.expm(A * t) @ B
        return propagated @ propagated.T

    value, _ = scipy.integrate.quad_vec(integrand, 0.0, horizon, epsabs=1e-13, epsrel=1e-12)
    return value


# --- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("a", [-0.7, 0.0, 0.3])
def test_scalar_continuous_gramian(a):
    b, horizon = 1.7, 2.5
    expected = b**2 * horizon if a == 0 else b**2 * (np.exp(2 * a * horizon) - 1) / (2 * a)
    gram = controllability_gramian(
        np.array([[a]]), np.array([[b]]), horizon=horizon, system="continuous"
    )
    assert gram[0, 0] == pytest.approx(expected, rel=1e-13)


def test_scalar_discrete_gramian():
    a, b, steps = 0.6, 2.0, 5
    expected = b**2 * (1 - a ** (2 * steps)) / (1 - a**2)
    gram = controllability_gramian(
        np.array([[a]]), np.array([[b]]), horizon=steps, system="discrete"
    )
    assert gram[0, 0] == pytest.approx(expected, rel=1e-13)
    infinite = controllability_gramian(
        np.array([[a]]), np.array([[b]]), horizon=np.inf, system="discrete"
    )
    assert infinite[0, 0] == pytest.approx(b**2 / (1 - a**2), rel=1e-13)


def test_diagonal_system_gramian_is_diagonal_closed_form():
    rates = np.array([-2.0, -0.5, 0.0, 0.4])
    gram = controllability_gramian(np.diag(rates), horizon=1.5, system="continuous")
    expected = np.where(
        rates == 0, 1.5, np.expm1(2 * rates * 1.5) / (2 * np.where(rates == 0, 1, rates))
    )
    np.testing.assert_allclose(gram, np.diag(expected), rtol=1e-13, atol=1e-15)


def test_double_integrator_by_hand():
    # dx1/dt = x2, dx2/dt = u: e^{At} B = [t, 1], W_T = [[T^3/3, T^2/2], [T^2/2, T]]
    A = np.array([[0.0, 1.0], [0.0, 0.0]])
    horizon = 2.0
    gram = controllability_gramian(
        A, np.array([[0.0], [1.0]]), horizon=horizon, system="continuous"
    )
    expected = np.array([[horizon**3 / 3, horizon**2 / 2], [horizon**2 / 2, horizon]])
    np.testing.assert_allclose(gram, expected, rtol=1e-13)


def test_two_node_symmetric_metrics_by_hand():
    # A = [[a, b], [b, a]]: eigenvalues a +- b, eigenvectors (1, +-1)/sqrt(2)
    a, b = 0.2, 0.5
    A = np.array([[a, b], [b, a]])
    expected_average = 0.5 * (1 / (1 - (a + b) ** 2) + 1 / (1 - (a - b) ** 2))
    np.testing.assert_allclose(
        average_controllability(A, system="discrete"), [expected_average] * 2, rtol=1e-14
    )
    np.testing.assert_allclose(modal_controllability(A), [1 - a**2 - b**2] * 2, rtol=1e-14)
    horizon = 0.7
    continuous = 0.5 * sum(np.expm1(2 * lam * horizon) / (2 * lam) for lam in (a + b, a - b))
    np.testing.assert_allclose(
        average_controllability(A, system="continuous", horizon=horizon),
        [continuous] * 2,
        rtol=1e-14,
    )


# --- exactness against independent numerics ---------------------------------------------------


def test_symmetric_closed_form_equals_van_loan(rng):
    A = normalize_adjacency(_symmetric(rng, 12), system="continuous")
    B = np.eye(12)[:, [0, 3, 7]]
    horizon = 1.3
    block = np.zeros((24, 24))
    block[:12, :12] = -A
    block[:12, 12:] = B @ B.T
    block[12:, 12:] = A.T
    exponential = scipy.linalg.expm(block * horizon)
    van_loan = exponential[12:, 12:].T @ exponential[:12, 12:]
    np.testing.assert_allclose(
        controllability_gramian(A, B, horizon=horizon, system="continuous"),
        van_loan,
        rtol=1e-11,
        atol=1e-14,
    )


def test_directed_gramian_against_quadrature(rng):
    A = normalize_adjacency(_directed(rng, 6), system="continuous")
    B = np.eye(6)[:, [1, 4]]
    np.testing.assert_allclose(
        controllability_gramian(A, B, horizon=0.8, system="continuous"),
        _quadrature_gramian(A, B, 0.8),
        rtol=1e-10,
        atol=1e-13,
    )


def test_directed_discrete_finite_gramian_against_sum(rng):
    A = normalize_adjacency(_directed(rng, 7), system="discrete")
    B = rng.standard_normal((7, 3))
    powers = [np.linalg.matrix_power(A, k) for k in range(11)]
    expected = sum(p @ B @ B.T @ p.T for p in powers)
    np.testing.assert_allclose(
        controllability_gramian(A, B, horizon=11, system="discrete"), expected, rtol=1e-12
    )


@pytest.mark.parametrize("system", ["continuous", "discrete"])
@pytest.mark.parametrize("directed", [False, True])
def test_infinite_horizon_solves_lyapunov(rng, system, directed):
    weights = _directed(rng, 8) if directed else _symmetric(rng, 8)
    A = normalize_adjacency(weights, system=system)
    B = np.eye(8)[:, :5]
    gram = controllability_gramian(A, B, horizon=np.inf, system=system)
    if system == "continuous":
        residual = A @ gram + gram @ A.T + B @ B.T
    else:
        residual = A @ gram @ A.T - gram + B @ B.T
    assert np.max(np.abs(residual)) < 1e-12 * np.max(np.abs(gram))


@pytest.mark.parametrize("directed", [False, True])
def test_gramian_is_symmetric_positive_semidefinite(rng, directed):
    weights = _directed(rng, 10) if directed else _symmetric(rng, 10)
    A = normalize_adjacency(weights, system="continuous")
    gram = controllability_gramian(A, np.eye(10)[:, :3], horizon=2.0, system="continuous")
    np.testing.assert_array_equal(gram, gram.T)
    eigenvalues = np.linalg.eigvalsh(gram)
    assert eigenvalues.min() > -1e-12 * eigenvalues.max()


def test_zero_eigenvalues_stay_finite_at_long_horizon():
    # signed-Laplacian systems have a zero eigenvalue; the closed form gives T exactly
    A = np.array([[-1.0, 1.0], [1.0, -1.0]]) / 2  # eigenvalues 0 and -1
    gram = controllability_gramian(A, horizon=600.0, system="continuous")
    # in the eigenbasis: diag(T, (1 - e^{-2T}) / 2)
    v = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
    np.testing.assert_allclose(v.T @ gram @ v, np.diag([600.0, 0.5]), rtol=1e-13, atol=1e-13)


# --- invariants -----------------------------------------------------------------------------


def test_permutation_equivariance(rng):
    weights = _symmetric(rng, 9)
    order = rng.permutation(9)
    A = normalize_adjacency(weights, system="discrete")
    A_perm = normalize_adjacency(weights[np.ix_(order, order)], system="discrete")
    np.testing.assert_allclose(
        average_controllability(A_perm, system="discrete"),
        average_controllability(A, system="discrete")[order],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        modal_controllability(A_perm), modal_controllability(A)[order], rtol=1e-12
    )
    Ac = normalize_adjacency(weights, system="continuous")
    Ac_perm = normalize_adjacency(weights[np.ix_(order, order)], system="continuous")
    np.testing.assert_allclose(
        controllability_gramian(
            Ac_perm, np.eye(9)[order][:, :2], horizon=1.0, system="continuous"
        ),
        controllability_gramian(Ac, np.eye(9)[:, :2], horizon=1.0, system="continuous")[
            np.ix_(order, order)
        ],
        rtol=1e-11,
        atol=1e-15,
    )


def test_batch_axes_match_single_matrices(rng):
    stack = np.stack([_symmetric(rng, 6) for _ in range(3)]).reshape(3, 1, 6, 6)
    A = normalize_adjacency(stack, system="discrete")
    batched = average_controllability(A, system="discrete")
    modal = modal_controllability(A)
    assert batched.shape == (3, 1, 6)
    for index in range(3):
        single = normalize_adjacency(stack[index, 0], system="discrete")
        np.testing.assert_allclose(
            batched[index, 0], average_controllability(single, system="discrete"), rtol=1e-13
        )
        np.testing.assert_allclose(modal[index, 0], modal_controllability(single), rtol=1e-13)


def test_average_controllability_equals_gramian_trace(rng):
    # definition: trace of the Gramian with input at node i alone
    A = normalize_adjacency(_directed(rng, 5), system="continuous")

    def squared_norms(t):  # ||e^{At} e_i||^2 for every i
        return np.sum(scipy.linalg.expm(A * t) ** 2, axis=0)

    traces, _ = scipy.integrate.quad_vec(squared_norms, 0.0, 1.0, epsabs=1e-13, epsrel=1e-12)
    np.testing.assert_allclose(average_controllability(A, system="continuous"), traces, rtol=1e-10)
    Ad = normalize_adjacency(_directed(rng, 5), system="discrete")
    powers = [np.linalg.matrix_power(Ad, k) for k in range(400)]
    traces = [sum(np.sum((p[:, i]) ** 2) for p in powers) for i in range(5)]
    np.testing.assert_allclose(average_controllability(Ad, system="discrete"), traces, rtol=1e-12)


def test_directed_modal_equals_eigen_definition_for_normal_matrix():
    # a rotation-scaling (normal, non-symmetric) matrix: Schur form = eigendecomposition
    A = 0.5 * np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    # |lambda| = 0.5 for both eigenvalues; unitary eigenvectors have |v_ij|^2 = 1/2
    np.testing.assert_allclose(modal_controllability(A, schur="complex"), [0.75, 0.75], rtol=1e-14)
    # the real Schur form of this 2 x 2 block is A itself (U = I): diagonal 0.5 cos(0.3)
    expected = 1 - (0.5 * np.cos(0.3)) ** 2
    np.testing.assert_allclose(modal_controllability(A), [expected] * 2, rtol=1e-14)
    with pytest.raises(InvalidParameterError, match="'schur' must be one of"):
        modal_controllability(A, schur="qz")


def test_directed_modal_matches_nctpy_real_schur(rng):
    # reference: nctpy 1.2.0 nctpy.metrics.modal_control (real Schur, as Gu et al. 2015)
    nctpy_metrics = pytest.importorskip("nctpy.metrics")
    weights = rng.random((12, 12)) * (rng.random((12, 12)) < 0.5)
    np.fill_diagonal(weights, 0.0)
    A = normalize_adjacency(weights, system="discrete")
    assert np.iscomplex(np.linalg.eigvals(A)).any()  # 2 x 2 blocks in the real Schur form
    np.testing.assert_allclose(
        modal_controllability(A), nctpy_metrics.modal_control(A), rtol=1e-12, atol=1e-14
    )
    # real, distinct eigenvalues: the real and the complex Schur forms agree
    basis = rng.standard_normal((8, 8))
    A = basis @ np.diag(rng.uniform(-0.9, 0.9, 8)) @ np.linalg.inv(basis)
    np.testing.assert_allclose(
        modal_controllability(A), modal_controllability(A, schur="complex"), atol=1e-12
    )


# --- nctpy reference values -----------------------------------------------------------------


def test_against_nctpy(rng):
    # reference: nctpy 1.2.0 (nctpy.metrics.ave_control, modal_control)
    nctpy_metrics = pytest.importorskip("nctpy.metrics")
    weights = _symmetric(rng, 40)
    A = normalize_adjacency(weights, system="discrete")
    np.testing.assert_allclose(
        average_controllability(A, system="discrete"),
        nctpy_metrics.ave_control(A, system="discrete"),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        modal_controllability(A), nctpy_metrics.modal_control(A), rtol=1e-10
    )
    EIG_CACHE.clear()  # without the cached eigenpairs: the Cholesky route diag((I - A^2)^-1)
    np.testing.assert_allclose(
        average_controllability(A, system="discrete"),
        nctpy_metrics.ave_control(A, system="discrete"),
        rtol=1e-10,
    )
    Ac = normalize_adjacency(weights, system="continuous")
    np.testing.assert_allclose(
        average_controllability(Ac, system="continuous"),
        nctpy_metrics.ave_control(Ac, system="continuous"),
        rtol=1e-8,
    )
    directed = normalize_adjacency(_directed(rng, 30), system="discrete")
    np.testing.assert_allclose(
        average_controllability(directed, system="discrete"),
        nctpy_metrics.ave_control(directed, system="discrete"),
        rtol=1e-10,
    )


# --- errors ---------------------------------------------------------------------------------


def test_errors():
    A = np.array([[0.5, 0.0], [0.0, 0.2]])
    with pytest.raises(InvalidParameterError, match=r"'system' must be one of .*got 'discrt'"):
        controllability_gramian(A, system="discrt")
    with pytest.raises(InvalidParameterError, match=r"'horizon' must be > 0; got -1.0"):
        controllability_gramian(A, horizon=-1.0, system="continuous")
    with pytest.raises(InvalidParameterError, match="whole number of steps"):
        controllability_gramian(A, horizon=1.5, system="discrete")
    with pytest.raises(InvalidParameterError, match="'horizon' must be a positive number"):
        average_controllability(A, horizon="long", system="discrete")
    with pytest.raises(DataError, match=r"not stable \(largest real part"):
        controllability_gramian(A, horizon=np.inf, system="continuous")
    with pytest.raises(DataError, match=r"not stable \(spectral radius 1.5"):
        average_controllability(np.diag([1.5, 0.1]), system="discrete")
    with pytest.raises(DataError, match=r"not stable \(spectral radius"):
        average_controllability(np.array([[0.0, 2.0], [0.0, 0.0]]) + np.eye(2), system="discrete")
    with pytest.raises(DataError, match=r"A must be square .*got shape \(2, 3\)"):
        modal_controllability(np.zeros((2, 3)))
    with pytest.raises(DataError, match="B must have 2 rows"):
        controllability_gramian(A, np.ones((3, 1)), system="continuous")


def test_a_system_normalised_for_the_other_time_says_what_to_pass(rng):
    from brainctrl.control import normalize_adjacency

    weights = rng.random((6, 6))
    weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    continuous = normalize_adjacency(
        weights, system="continuous"
    )  # the default: system="continuous"
    with pytest.raises(DataError, match=r"pass system='continuous' here"):
        average_controllability(continuous, system="discrete")
    discrete = normalize_adjacency(weights, system="discrete")
    with pytest.raises(DataError, match=r"pass system='discrete' here"):
        controllability_gramian(discrete, horizon=np.inf, system="continuous")
    # what the messages advise gives a result
    assert np.all(average_controllability(continuous, system="continuous", horizon=1.0) > 0)
    assert np.all(average_controllability(discrete, system="discrete") > 0)


def test_normalisation_with_a_radius_shared_by_the_cohort(rng):
    from brainctrl.control import normalize_adjacency

    stack = rng.random((3, 5, 5))
    stack = stack + np.swapaxes(stack, 1, 2)
    stack[:, np.arange(5), np.arange(5)] = 0.0
    stack[1] *= 3.0  # one strongly connected subject
    radii = np.abs(np.linalg.eigvalsh(stack)).max(axis=-1)
    shared = normalize_adjacency(stack, system="discrete", radius="shared")
    np.testing.assert_allclose(shared, stack / (1.0 + radii.max()), rtol=1e-14)
    # a number: the same scale for every matrix; continuous time subtracts I
    given = normalize_adjacency(stack, system="continuous", radius=float(radii.max()), c=0.5)
    np.testing.assert_allclose(given, stack / (0.5 + radii.max()) - np.eye(5), rtol=1e-14)
    # each matrix's own radius by default
    own = normalize_adjacency(stack, system="discrete")
    np.testing.assert_allclose(own, stack / (1.0 + radii)[:, None, None], rtol=1e-14)
    with pytest.warns(UserWarning, match="below the largest radius"):
        normalize_adjacency(stack, system="discrete", radius=float(radii.min()), c=0.0)
    with pytest.raises(InvalidParameterError, match="'radius' must be None, a number or 'shared'"):
        normalize_adjacency(stack, system="discrete", radius="cohort")


def test_average_energy_closed_forms(rng):
    from brainctrl.control import average_energy, minimum_energy

    # diagonal continuous system, every region controlled: W_ii = (e^{2aT} - 1) / 2a
    a = -rng.uniform(0.2, 2.0, 5)
    horizon = 1.5
    expected = np.sum(2 * a / np.expm1(2 * a * horizon))
    assert float(
        average_energy(np.diag(a), horizon=horizon, system="continuous")
    ) == pytest.approx(expected, rel=1e-12)
    # infinite horizon: W_ii = -1 / 2a
    assert float(average_energy(np.diag(a), horizon=np.inf, system="continuous")) == pytest.approx(
        np.sum(-2 * a), rel=1e-12
    )
    # in general: the summed minimum energy from 0 to each unit vector
    A = rng.standard_normal((6, 6))
    A = 0.5 * (A + A.T)
    A = A / (1 + np.abs(np.linalg.eigvalsh(A)).max()) - np.eye(6)
    B = np.array([1, 1, 1, 0, 1, 1], dtype=bool)
    unit = np.eye(6)
    summed = minimum_energy(
        A, np.zeros((6, 6)), unit, B, horizon=2.0, system="continuous"
    ).energy.sum()
    assert float(average_energy(A, B, horizon=2.0, system="continuous")) == pytest.approx(
        float(summed), rel=1e-9
    )
    # a region no input reaches: infinite
    block = np.zeros((4, 4))
    block[:2, :2] = A[:2, :2]
    block[2:, 2:] = A[2:4, 2:4]
    assert float(average_energy(block, [0], horizon=1.0, system="continuous")) == np.inf
    # batches
    stack = np.stack([np.diag(a), 2 * np.diag(a)])
    assert average_energy(stack, horizon=np.inf, system="continuous").shape == (2,)
