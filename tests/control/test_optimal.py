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
    result = optimal_control(A, x0, xf, mask, S=0.0, rho=0.3, horizon=1.5)
    expected = minimum_energy(A, x0, xf, mask, horizon=1.5)
    np.testing.assert_allclose(result.energy, expected.energy, rtol=1e-9)
    assert np.all(result.terminal_error < 1e-9)
    np.testing.assert_allclose(result.trajectory[:, 0], x0, rtol=1e-15)
    np.testing.assert_allclose(result.trajectory[:, -1], xf, atol=1e-9)
    assert result.inputs.shape == (3, 1001, 8)


def test_trajectory_obeys_the_dynamics(rng):
    # x(t + dt) = e^{A dt} x(t) + integral of the input: check dx/dt = A x + B u by differences
    A = _system(rng, 5)
    result = optimal_control(A, rng.standard_normal(5), rng.standard_normal(5), n_steps=2000)
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
    result = optimal_control(A, x0, xf, rho=1.0)
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
    result = optimal_control(A, x0, xf, S=S, rho=0.5, reference=xr)
    np.testing.assert_allclose(result.trajectory, state, atol=1e-9)
    np.testing.assert_allclose(result.inputs, inputs, atol=1e-9)


def test_long_horizon_is_flagged(rng):
    A = _system(rng, 30)
    x0, xf = rng.standard_normal(30), rng.standard_normal(30)
    with pytest.warns(NumericalAccuracyWarning, match=r"inversion error up to .*horizon 40"):
        optimal_control(A, x0, xf, [0, 1, 2, 3], horizon=40.0, n_steps=100)
    with pytest.raises(FloatingPointError, match="numerically inaccurate"):
        optimal_control(A, x0, xf, [0, 1, 2, 3], horizon=40.0, n_steps=100, on_error="raise")


def test_errors(rng):
    A = _system(rng, 3)
    x = np.zeros(3)
    with pytest.raises(InvalidParameterError, match=r"'system' must be one of \('continuous',\)"):
        optimal_control(A, x, x, system="discrete")
    with pytest.raises(InvalidParameterError, match=r"'rho' must be > 0; got 0"):
        optimal_control(A, x, x, rho=0)
    with pytest.raises(InvalidParameterError, match=r"'on_error' must be one of"):
        optimal_control(A, x, x, on_error="print")
    with pytest.raises(InvalidParameterError, match=r"'n_steps' must be an integer"):
        optimal_control(A, x, x, n_steps=10.5)
    with pytest.raises(DataError, match=r"S must have shape \(3, 3\)"):
        optimal_control(A, x, x, S=np.eye(2))
    with pytest.raises(DataError, match=r"reference must have shape \(3,\)"):
        optimal_control(A, x, x, reference=np.zeros((2, 3)))
    with pytest.raises(DataError, match="Hamiltonian is singular"):
        optimal_control(
            np.zeros((1, 1)),
            np.zeros(1),
            np.ones(1),
            S=np.zeros((1, 1)) + 1,
            reference=np.ones(1),
            B=np.zeros((1, 1)),
        )
