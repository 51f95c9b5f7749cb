"""State-penalised optimal control."""

import numpy as np
import pytest

from brainctrl.control import minimum_energy, normalize_adjacency, optimal_control
from brainctrl.exceptions import DataError, InvalidParameterError, NumericalAccuracyWarning


def _system(rng, n):
    weights = rng.random((n, n))
    weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    return normalize_adjacency(weights, system="continuous")


def test_without_state_penalty_equals_minimum_energy(rng):
    A = _system(rng, 10)
    mask = np.ones(10, dtype=bool)
    mask[[2, 7]] = False
    x0, xf = rng.standard_normal((3, 10)), rng.standard_normal((3, 10))
    result = optimal_control(A, x0, xf, mask, S=0.0, rho=0.3, horizon=1.5, system="continuous")
    expected = minimum_energy(A, x0, xf, mask, horizon=1.5, system="continuous")
    np.testing.assert_allclose(result.energy, expected.energy, rtol=1e-9)
    assert np.all(result.terminal_error < 1e-9)
    np.testing.assert_allclose(result.trajectory[:, 0], x0, rtol=1e-15)
    np.testing.assert_allclose(result.trajectory[:, -1], xf, atol=1e-9)
    assert result.inputs.shape == (3, 1001, 8)


def test_trajectory_obeys_the_dynamics(rng):
    # x(t + dt) = e^{A dt} x(t) + integral of the input: check dx/dt = A x + B u by differences
    A = _system(rng, 5)
    result = optimal_control(
        A, rng.standard_normal(5), rng.standard_normal(5), n_steps=2000, system="continuous"
    )
    dt = result.time[1] - result.time[0]
    x, u = result.trajectory, result.inputs
    derivative = (x[2:] - x[:-2]) / (2 * dt)
    np.testing.assert_allclose(derivative, x[1:-1] @ A.T + u[1:-1], atol=1e-5)


def test_against_nctpy_get_control_inputs(rng):
    # reference: nctpy 1.2.0 nctpy.energies.get_control_inputs (S = I, rho = 1, xr = 0)
    energies = pytest.importorskip("nctpy.energies")
    A = _system(rng, 8)
    x0, xf = rng.standard_normal(8), rng.standard_normal(8)
    state, inputs, _ = energies.get_control_inputs(
        A, 1.0, np.eye(8), x0, xf, system="continuous", rho=1.0, S=np.eye(8)
    )
    result = optimal_control(A, x0, xf, rho=1.0, system="continuous")
    np.testing.assert_allclose(result.trajectory, state, atol=1e-10)
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-10)


def test_reference_state_against_nctpy(rng):
    # reference: nctpy 1.2.0 get_control_inputs with a non-zero reference state xr
    energies = pytest.importorskip("nctpy.energies")
    A = _system(rng, 6)
    x0, xf, xr = rng.standard_normal((3, 6))
    S = np.diag([1.0, 0.0, 2.0, 0.0, 1.0, 0.5])
    state, inputs, _ = energies.get_control_inputs(
        A, 1.0, np.eye(6), x0, xf, system="continuous", rho=0.5, S=S, xr=xr
    )
    result = optimal_control(A, x0, xf, S=S, rho=0.5, reference=xr, system="continuous")
    np.testing.assert_allclose(result.trajectory, state, atol=1e-9)
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-9)


def test_long_horizon_is_flagged(rng):
    A = _system(rng, 30)
    x0, xf = rng.standard_normal(30), rng.standard_normal(30)
    with pytest.warns(NumericalAccuracyWarning, match=r"inversion error up to .*horizon 40"):
        optimal_control(A, x0, xf, [0, 1, 2, 3], horizon=40.0, n_steps=100, system="continuous")
    with pytest.raises(FloatingPointError, match="numerically inaccurate"):
        optimal_control(
            A,
            x0,
            xf,
            [0, 1, 2, 3],
            horizon=40.0,
            n_steps=100,
            on_error="raise",
            system="continuous",
        )


def test_errors(rng):
    A = _system(rng, 3)
    x = np.zeros(3)
    with pytest.raises(
        InvalidParameterError,
        match=r"'system' must be one of \('continuous', 'discrete'\); got 'discrt'",
    ):
        optimal_control(A, x, x, system="discrt")
    with pytest.raises(InvalidParameterError, match=r"'rho' must be > 0; got 0"):
        optimal_control(A, x, x, rho=0, system="continuous")
    with pytest.raises(InvalidParameterError, match=r"'on_error' must be one of"):
        optimal_control(A, x, x, on_error="print", system="continuous")
    with pytest.raises(InvalidParameterError, match=r"'n_steps' must be an integer"):
        optimal_control(A, x, x, n_steps=10.5, system="continuous")
    with pytest.raises(DataError, match=r"S must have shape \(3, 3\)"):
        optimal_control(A, x, x, S=np.eye(2), system="continuous")
    with pytest.raises(DataError, match=r"reference must have shape \(3,\)"):
        optimal_control(A, x, x, reference=np.zeros((2, 3)), system="continuous")
    with pytest.raises(DataError, match="Hamiltonian is singular"):
        optimal_control(
            np.zeros((1, 1)),
            np.zeros(1),
            np.ones(1),
            S=np.zeros((1, 1)) + 1,
            reference=np.ones(1),
            B=np.zeros((1, 1)),
            system="continuous",
        )


def test_continuous_uses_the_symmetric_part_of_S(rng):
    # the cost (x - xr)^T S (x - xr) depends only on (S + S^T) / 2; reference: nctpy 1.2.0
    # get_control_inputs, whose costate equation (-2 S) assumes a symmetric S, given that part
    energies = pytest.importorskip("nctpy.energies")
    A = _system(rng, 5)
    x0, xf = rng.standard_normal((2, 5))
    S = np.diag([1.0, 2.0, 0.5, 0.0, 1.0]) + np.triu(rng.random((5, 5)), 1)
    state, inputs, _ = energies.get_control_inputs(
        A, 1.0, np.eye(5), x0, xf, system="continuous", rho=0.8, S=0.5 * (S + S.T)
    )
    result = optimal_control(A, x0, xf, S=S, rho=0.8, system="continuous")
    np.testing.assert_allclose(result.trajectory, state, atol=1e-10)
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-10)


def test_continuous_condition_number_closed_form(rng):
    # S = 0, B = I, A = V diag(lam) V^T: e^{HT}[:n, n:] = -V diag(sinh(lam T) / lam) V^T / (2 rho)
    A = _system(rng, 6)
    lam = np.linalg.eigvalsh(A)
    block = np.sinh(lam * 2.0) / lam
    result = optimal_control(
        A, np.zeros(6), np.ones(6), S=0.0, horizon=2.0, n_steps=10, system="continuous"
    )
    np.testing.assert_allclose(result.condition_number, block.max() / block.min(), rtol=1e-10)


# ---------------------------------------------------------------------------
# Discrete time
# ---------------------------------------------------------------------------


def _discrete_system(rng, n, *, directed=False):
    weights = rng.random((n, n))
    if not directed:
        weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    return normalize_adjacency(weights, system="discrete")


def _input_columns(control, n):
    return np.eye(n) if control is None else np.eye(n)[:, control]


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_discrete_without_state_penalty_equals_minimum_energy(rng, directed, with_mask):
    n, steps = 8, 6
    A = _discrete_system(rng, n, directed=directed)
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool) if with_mask else None
    x0, xf = rng.standard_normal((2, 3, n))
    result = optimal_control(A, x0, xf, mask, S=0.0, rho=0.4, horizon=steps, system="discrete")
    expected = minimum_energy(A, x0, xf, mask, horizon=steps, system="discrete")
    np.testing.assert_allclose(result.energy, expected.energy, rtol=1e-10)
    node_energy = expected.node_energy if mask is None else expected.node_energy[:, mask]
    np.testing.assert_allclose(np.sum(result.inputs**2, axis=-2), node_energy, rtol=1e-9)
    # with S = 0 the closed-loop Gramian is W_T / rho: same condition number
    np.testing.assert_allclose(result.condition_number, expected.condition_number, rtol=1e-8)
    # minimum-energy input written out: u_t = B^T (A^T)^(T-1-t) W_T^-1 d, d = xf - A^T x0,
    # W_T = sum_k A^k B B^T (A^T)^k
    B = _input_columns(mask, n)
    powers = [np.linalg.matrix_power(A, k) for k in range(steps + 1)]
    gramian = sum(power @ B @ B.T @ power.T for power in powers[:steps])
    y = np.linalg.solve(gramian, (xf - x0 @ powers[steps].T).T).T
    inputs = np.stack([y @ powers[steps - 1 - t] @ B for t in range(steps)], axis=1)
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-10)
    assert result.inputs.shape == (3, steps, B.shape[1])
    assert result.trajectory.shape == (3, steps + 1, n)


@pytest.mark.parametrize("b", [None, 1.0, 2.0])
def test_discrete_scalar_closed_form(b):
    # x1 = a x0 + b u0, xf = a x1 + b u1; J = s (x0 - r)^2 + s (x1 - r)^2 + rho (u0^2 + u1^2).
    # With w = rho / b^2, dJ/dx1 = 0 gives x1 = (s r + w a (x0 + xf)) / (s + w (1 + a^2)).
    a, x0, xf, s, rho, r = 0.6, -0.5, 1.2, 2.0, 0.3, 0.4
    gain = 1.0 if b is None else b
    w = rho / gain**2
    x1 = (s * r + w * a * (x0 + xf)) / (s + w * (1 + a**2))
    u0, u1 = (x1 - a * x0) / gain, (xf - a * x1) / gain
    result = optimal_control(
        [[a]],
        [x0],
        [xf],
        None if b is None else [[b]],
        S=s,
        rho=rho,
        reference=[r],
        horizon=2,
        system="discrete",
    )
    np.testing.assert_allclose(result.trajectory[:, 0], [x0, x1, xf], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(result.inputs[:, 0], [u0, u1], rtol=1e-13)
    np.testing.assert_allclose(result.energy, u0**2 + u1**2, rtol=1e-13)
    # the penalty covers x_0 and x_1 (t = 0 .. T-1), not x_T
    np.testing.assert_allclose(
        result.state_cost, s * (x0 - r) ** 2 + s * (x1 - r) ** 2, rtol=1e-13
    )
    np.testing.assert_array_equal(result.time, [0, 1, 2])


def test_discrete_single_step_closed_form(rng):
    # T = 1: x1 = A x0 + B u0 = xf fixes u0 = B^-1 (xf - A x0) whatever S and rho
    A = np.array([[0.3, -0.2], [0.5, 0.1]])
    B = np.array([[1.0, 0.4], [-0.3, 2.0]])
    S = np.array([[2.0, 0.5], [0.5, 1.0]])
    x0, xf, xr = np.array([1.0, -2.0]), np.array([0.5, 0.25]), np.array([0.1, 0.2])
    u0 = np.linalg.solve(B, xf - A @ x0)
    result = optimal_control(
        A, x0, xf, B, S=S, rho=3.0, reference=xr, horizon=1, system="discrete"
    )
    np.testing.assert_allclose(result.inputs[0], u0, rtol=1e-13)
    np.testing.assert_allclose(result.energy, u0 @ u0, rtol=1e-13)
    np.testing.assert_allclose(result.state_cost, (x0 - xr) @ S @ (x0 - xr), rtol=1e-14)


@pytest.mark.parametrize(
    "directed, control, penalty",
    [
        (False, None, "identity"),  # diagonal in the eigenbasis of A
        (False, "mask", "diagonal"),
        (True, None, "dense"),
        (True, "mask", "identity"),
        (False, "matrix", "dense"),
    ],
)
def test_discrete_against_nctpy(rng, directed, control, penalty):
    # reference: nctpy 1.2.0 nctpy.energies.get_control_inputs(system="discrete"), which solves
    # the same stationarity equations as one sparse system (see test_discrete_penalty_indexing)
    energies = pytest.importorskip("nctpy.energies")
    n, steps, rho = 7, 6, 0.6
    A = _discrete_system(rng, n, directed=directed)
    if control == "mask":
        B = np.array([1, 1, 0, 1, 1, 0, 1], dtype=bool)
        B_matrix = np.eye(n)[:, B]
    elif control == "matrix":
        B = B_matrix = rng.standard_normal((n, 4))
    else:
        B, B_matrix = None, np.eye(n)
    if penalty == "identity":
        S = np.eye(n)
    elif penalty == "diagonal":
        S = np.diag(rng.random(n))
    else:
        factor = rng.standard_normal((n, n))
        S = factor @ factor.T / n
    x0, xf, xr = rng.standard_normal((3, n))
    state, inputs, _ = energies.get_control_inputs(
        A, steps, B_matrix, x0, xf, system="discrete", rho=rho, S=S, xr=xr
    )
    result = optimal_control(
        A, x0, xf, B, S=S, rho=rho, reference=xr, horizon=steps, system="discrete"
    )
    np.testing.assert_allclose(result.trajectory, state, atol=1e-10)
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-10)
    # nctpy returns no energy for this; ours is the plain sum of squares of its inputs
    np.testing.assert_allclose(result.energy, np.sum(inputs**2), rtol=1e-10)


def test_discrete_penalty_indexing_against_nctpy(rng):
    # nctpy 1.2.0 writes costate equations for t = 1 .. T-1 only, i.e. it penalises x_1 .. x_{T-1};
    # ours covers t = 0 .. T-1. x_0 is fixed, so the two costs differ by (x0 - xr)^T S (x0 - xr)
    # and have the same minimiser.
    energies = pytest.importorskip("nctpy.energies")
    n, steps = 5, 4
    A = _discrete_system(rng, n, directed=True)
    S = np.diag([1.0, 0.0, 2.0, 0.5, 0.0])
    x0, xf, xr = rng.standard_normal((3, n))
    state, inputs, _ = energies.get_control_inputs(
        A, steps, np.eye(n), x0, xf, system="discrete", rho=2.0, S=S, xr=xr
    )
    result = optimal_control(
        A, x0, xf, S=S, rho=2.0, reference=xr, horizon=steps, system="discrete"
    )
    deviation = state[1:steps] - xr
    nctpy_penalty = np.einsum("ti,ij,tj->", deviation, S, deviation)
    np.testing.assert_allclose(
        result.state_cost - (x0 - xr) @ S @ (x0 - xr), nctpy_penalty, rtol=1e-12
    )
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-11)


@pytest.mark.parametrize("directed", [False, True])
def test_discrete_batches_against_nctpy(rng, directed):
    # reference: nctpy 1.2.0 get_control_inputs, one transition at a time
    energies = pytest.importorskip("nctpy.energies")
    n, steps = 5, 4
    A = np.stack([_discrete_system(rng, n, directed=directed) for _ in range(2)])
    x0 = rng.standard_normal((3, 1, n))
    xf = rng.standard_normal(n)
    result = optimal_control(A, x0, xf, horizon=steps, system="discrete")
    assert result.energy.shape == (3, 2)
    assert result.condition_number.shape == (2,)
    for i in range(3):
        for j in range(2):
            state, inputs, _ = energies.get_control_inputs(
                A[j], steps, np.eye(n), x0[i, 0], xf, system="discrete"
            )
            np.testing.assert_allclose(result.trajectory[i, j], state, atol=1e-11)
            np.testing.assert_allclose(result.inputs[i, j], inputs, atol=1e-11)
            np.testing.assert_allclose(result.energy[i, j], np.sum(inputs**2), rtol=1e-11)


def test_discrete_optimality_conditions(rng):
    # KKT conditions of the quadratic programme in z = (u_0 .. u_{T-1}, x_1 .. x_T), written out
    # here: constraints C z = b (dynamics and x_T = xf) and a gradient of the cost orthogonal to
    # the feasible directions (grad + C^T lambda = 0 for some lambda). S is not symmetric: the
    # gradient of (x - xr)^T S (x - xr) is (S + S^T)(x - xr).
    n, m, steps, rho = 6, 3, 5, 0.7
    A = _discrete_system(rng, n, directed=True)
    B = rng.standard_normal((n, m))
    factor = rng.standard_normal((n, n))
    skew = rng.standard_normal((n, n))
    S = factor @ factor.T / n + (skew - skew.T)
    x0, xf, xr = rng.standard_normal((3, n))
    result = optimal_control(
        A, x0, xf, B, S=S, rho=rho, reference=xr, horizon=steps, system="discrete"
    )
    x, u = result.trajectory, result.inputs
    np.testing.assert_array_equal(x[0], x0)
    np.testing.assert_allclose(x[steps], xf, atol=1e-12)
    np.testing.assert_allclose(x[1:], x[:-1] @ A.T + u @ B.T, atol=1e-14)

    n_u, n_x = steps * m, steps * n
    C = np.zeros((steps * n + n, n_u + n_x))
    for t in range(steps):  # row block t: x_{t+1} - A x_t - B u_t = 0
        rows = slice(t * n, (t + 1) * n)
        C[rows, t * m : (t + 1) * m] = -B
        C[rows, n_u + t * n : n_u + (t + 1) * n] = np.eye(n)
        if t > 0:
            C[rows, n_u + (t - 1) * n : n_u + t * n] = -A
    C[steps * n :, n_u + (steps - 1) * n :] = np.eye(n)  # x_T = xf
    b = np.concatenate([A @ x0, np.zeros((steps - 1) * n), xf])
    z = np.concatenate([u.ravel(), x[1:].ravel()])
    np.testing.assert_allclose(C @ z, b, atol=1e-12)
    gradient = np.concatenate(
        [2 * rho * u.ravel(), ((x[1:steps] - xr) @ (S + S.T)).ravel(), np.zeros(n)]
    )
    multipliers = np.linalg.lstsq(C.T, -gradient, rcond=None)[0]
    kkt_residual = np.linalg.norm(gradient + C.T @ multipliers) / np.linalg.norm(gradient)
    assert kkt_residual < 1e-10


def test_discrete_brute_force_minimisation(rng):
    # minimise the cost over u_0 .. u_{T-2} with u_{T-1} = B^-1 (xf - A x_{T-1}) eliminated
    scipy_optimize = pytest.importorskip("scipy.optimize")
    n, steps, rho = 2, 4, 0.5
    A = np.array([[0.4, 0.3], [-0.2, 0.5]])
    B = np.array([[1.0, 0.2], [0.1, 0.8]])
    S = np.array([[1.5, 0.3], [0.3, 0.7]])
    x0, xf, xr = np.array([1.0, -1.0]), np.array([-0.5, 2.0]), np.array([0.2, 0.1])

    def rollout(free):
        inputs = list(free.reshape(steps - 1, n))
        states = [x0]
        for u in inputs:
            states.append(A @ states[-1] + B @ u)
        inputs.append(np.linalg.solve(B, xf - A @ states[-1]))
        return np.array(states), np.array(inputs)

    def cost(free):
        states, inputs = rollout(free)
        deviation = states - xr
        return np.einsum("ti,ij,tj->", deviation, S, deviation) + rho * np.sum(inputs**2)

    found = scipy_optimize.minimize(cost, np.zeros((steps - 1) * n), method="BFGS", tol=1e-12)
    _, inputs = rollout(found.x)
    result = optimal_control(
        A, x0, xf, B, S=S, rho=rho, reference=xr, horizon=steps, system="discrete"
    )
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-6)
    np.testing.assert_allclose(result.state_cost + rho * result.energy, found.fun, rtol=1e-9)


def test_discrete_ill_conditioned_is_flagged(rng):
    A = _discrete_system(rng, 30)
    x0, xf = rng.standard_normal((2, 30))
    with pytest.warns(
        NumericalAccuracyWarning, match=r"terminal error up to .*discrete time, horizon 40"
    ):
        optimal_control(A, x0, xf, [0], horizon=40, system="discrete")
    with pytest.raises(FloatingPointError, match="numerically inaccurate"):
        optimal_control(A, x0, xf, [0], horizon=40, system="discrete", on_error="raise")


def test_discrete_errors(rng):
    A = _discrete_system(rng, 3)
    x = np.zeros(3)
    with pytest.raises(InvalidParameterError, match=r"whole number of steps.*got 2\.5"):
        optimal_control(A, x, x, horizon=2.5, system="discrete")
    with pytest.raises(InvalidParameterError, match=r"'horizon' must be > 0; got 0"):
        optimal_control(A, x, x, horizon=0, system="discrete")
    with pytest.raises(InvalidParameterError, match=r"'n_steps' applies to system='continuous'"):
        optimal_control(A, x, x, horizon=3, n_steps=3, system="discrete")
    with pytest.raises(DataError, match=r"S must be positive semidefinite.*-1"):
        optimal_control(A, x, x, S=np.diag([1.0, -1.0, 0.0]), system="discrete")
    with pytest.raises(DataError, match=r"closed-loop Gramian G is not invertible.*1 steps"):
        optimal_control(A, x, np.ones(3), [0], horizon=1, system="discrete")
