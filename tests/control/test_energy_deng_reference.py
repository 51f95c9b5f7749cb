"""``compat="deng2022"`` against values computed by the original Deng et al. (2022) code.

The reference values in ``tests/data/deng_reference`` were computed by the
published MATLAB code of Deng et al. (2022) run in GNU Octave 7.3.0 (see the
README there for the functions, arguments and versions). Here brainctrl
rebuilds every step from the same raw time series: z-scoring, Pearson FC with
uncorrected ``p > 0.05`` set to 0, the signed-Laplacian system, the static and
time-varying Gramians and the energies ``1/2 d^T pinv(W) d``.

Tolerances: the original code integrates each Gramian numerically (adaptive
Simpson, absolute tolerance 1e-10), which agrees with a 40-digit Gramian to
about 4e-12 relative, so Gramians are compared at 1e-10. Energies of
well-conditioned Gramians (all regions controlled, condition number < 200)
agree to 1e-11. Energies of ill-conditioned Gramians can only agree to about
``condition number * eps`` (float64 rounding of the solve alone), so that
tolerance, with a factor 100, is used. Where ``pinv`` drops directions, the
energy is set by eigenvalues within a factor 2 of the pinv tolerance, at the
Gramian's rounding level; there only the kept rank, the unreached fraction and
the energy over well-resolved eigenvalues are compared tightly.
"""

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from brainctrl.connectivity import sliding_window_connectivity
from brainctrl.control import (
    controllability_gramian,
    fc_to_system,
    minimum_energy,
    time_varying_energy,
)
from brainctrl.exceptions import IllConditionedWarning, UnreachableTargetWarning

pytestmark = pytest.mark.filterwarnings(
    # Default-network control sets give ill-conditioned Gramians by design; the
    # tests below check the reported numbers, and one test checks the warnings
    "ignore::brainctrl.exceptions.UnreachableTargetWarning",
    "ignore::brainctrl.exceptions.IllConditionedWarning",
)

DATA = Path(__file__).resolve().parents[1] / "data" / "deng_reference"
CASES = (
    "a_all_T1",
    "a_all_T10",
    "a_dmn_T1",
    "a_dmn_T10",
    "a_dmn_pipe",
    "a_all_pipe",
    "b_all_pipe",
    "b_dmn_pipe",
)
EPS = np.finfo(float).eps


def _load(name):
    with np.load(DATA / name) as archive:
        return {key: archive[key] for key in archive.files}


INPUTS = _load("inputs.npz")
SYSTEMS = _load("systems.npz")
OUTPUTS = _load("octave_outputs.npz")


def _case(case):
    """Reference values of one case, with brainctrl's systems rebuilt from the raw series."""
    ref = {
        key.split("__", 1)[1]: value
        for key, value in OUTPUTS.items()
        if key.startswith(case + "__")
    }
    ref["A_static"] = SYSTEMS[f"{ref['layout']}__A_static"]
    ref["A_windows"] = SYSTEMS[f"{ref['layout']}__A_windows"]
    dataset = str(ref["dataset"])
    timeseries = INPUTS[f"timeseries_{dataset}"]  # (n_timepoints, n_regions)
    control = None if str(ref["control"]) == "all" else INPUTS[f"default_{dataset}"]
    # MATLAB zscore: sample standard deviation
    z = (timeseries - timeseries.mean(axis=0)) / timeseries.std(axis=0, ddof=1)
    width, n_windows = int(ref["window_size"]), int(ref["n_windows"])
    start = int(ref["start_frame"]) - 1  # 1-based in the original
    final = start + width * n_windows
    span = z[start : final + 1]  # start_point:final_point, both ends included
    # window k covers start + w k ... start + w (k + 1), both ends included: w + 1
    # frames, neighbours sharing their boundary frame, i.e. windows of w + 1 frames
    # with step w over the span
    windows = sliding_window_connectivity(span, width + 1, step=width)
    assert windows.shape[0] == n_windows
    ours = {
        "x0": z[start],
        "xf": z[final],
        "A_static": fc_to_system(
            np.corrcoef(span.T), kind="signed_laplacian", n_samples=len(span)
        ),
        "A_windows": fc_to_system(windows, kind="signed_laplacian", n_samples=width + 1),
        "control": control,
    }
    return ref, ours


def _relative(actual, expected):
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


def _energies(ref, ours):
    static = minimum_energy(
        ours["A_static"],
        ours["x0"],
        ours["xf"],
        B=ours["control"],
        horizon=float(ref["horizon"]),
        compat="deng2022",
        system="continuous",
    )
    dynamic = time_varying_energy(
        ours["A_windows"],
        float(ref["dt"]),
        ours["x0"],
        ours["xf"],
        B=ours["control"],
        compat="deng2022",
    )
    return static, dynamic


@pytest.mark.parametrize("case", CASES)
def test_states_and_system_matrices(case):
    ref, ours = _case(case)
    np.testing.assert_allclose(ours["x0"], ref["x0"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(ours["xf"], ref["xf"], rtol=0, atol=1e-13)
    for key in ("A_static", "A_windows"):
        # same p > 0.05 decisions, entry by entry
        np.testing.assert_array_equal(ours[key] == 0, ref[key] == 0)
        assert _relative(ours[key], ref[key]) < 1e-13
    eigenvalues = np.linalg.eigvalsh(ours["A_windows"])
    assert np.all(eigenvalues > -1 - 1e-12)
    assert np.all(eigenvalues < 1e-12)


@pytest.mark.parametrize("case", CASES)
def test_gramians(case):
    ref, ours = _case(case)
    control = ours["control"]
    static = controllability_gramian(
        ours["A_static"], control, horizon=float(ref["horizon"]), system="continuous"
    )
    assert _relative(static, ref["gramian_static"]) < 1e-10
    # S diag(W_1..W_K) S^T of the original, composed window by window from
    # brainctrl's per-window Gramians and scipy's expm
    dt = float(ref["dt"])
    n = ours["A_static"].shape[0]
    composed = np.zeros((n, n))
    for A in ours["A_windows"]:
        transition = scipy.linalg.expm(A * dt)
        composed = transition @ composed @ transition.T + controllability_gramian(
            A, control, horizon=dt, system="continuous"
        )
    assert _relative(composed, ref["gramian_dynamic"]) < 1e-10


@pytest.mark.parametrize("case", [case for case in CASES if "_all_" in case])
def test_energies_well_conditioned(case):
    ref, ours = _case(case)
    static, dynamic = _energies(ref, ours)
    n = ours["A_static"].shape[0]
    for result, label in ((static, "static"), (dynamic, "dynamic")):
        assert float(result.condition_number) < 200
        assert int(result.rank) == int(ref[f"rank_{label}"]) == n
        np.testing.assert_allclose(result.energy, ref[f"energy_{label}"], rtol=1e-11)
        assert float(result.terminal_error) < 1e-12
    if "pipeline_energy_static" in ref:  # the pipeline itself, called with seeded draws
        np.testing.assert_allclose(static.energy, ref["pipeline_energy_static"], rtol=1e-11)
        np.testing.assert_allclose(dynamic.energy, ref["pipeline_energy_dynamic"], rtol=1e-11)


@pytest.mark.parametrize("case", [case for case in CASES if "_dmn_" in case])
def test_energies_ill_conditioned_full_rank(case):
    ref, ours = _case(case)
    static, dynamic = _energies(ref, ours)
    n = ours["A_static"].shape[0]
    checked = 0
    for result, label in ((static, "static"), (dynamic, "dynamic")):
        if int(ref[f"rank_{label}"]) < n:
            continue  # see test_energy_rank_deficient
        checked += 1
        singular_values = ref[f"singular_values_{label}"]
        condition = singular_values[0] / singular_values[-1]
        assert 0.5 < float(result.condition_number) / condition < 2
        assert int(result.rank) == n
        # float64 rounding alone leaves about cond * eps relative error
        np.testing.assert_allclose(
            result.energy, ref[f"energy_{label}"], rtol=100 * condition * EPS
        )
    assert checked >= 1


def test_energy_rank_deficient():
    """Static Gramian of a 9-of-40 Default control set over T = 1 (condition number ~1e16)."""
    ref, ours = _case("a_dmn_T1")
    gramian = ref["gramian_static"]
    singular_values = ref["singular_values_static"]
    n = gramian.shape[0]
    with pytest.warns(UnreachableTargetWarning, match="cannot be reached"):
        static, _ = _energies(ref, ours)
    # MATLAB pinv keeps singular values above max(size) * eps(norm(W)); Octave's
    # above max(size) * norm(W) * eps; both keep 37 here, and so does brainctrl
    assert int(ref["rank_static"]) == int(ref["rank_static_matlab_tol"]) == 37
    assert np.sum(singular_values > ref["pinv_tol_static_matlab"]) == 37
    assert int(static.rank) == 37 < n
    # the energy is dominated by the 37th eigenvalue, ~2 x the pinv tolerance and at
    # the rounding level of the Gramian: the same Gramian through two SVDs already
    # differs by 6e-4, two exact Gramians by a few per cent
    # compat mode keeps pinv's number, which is the energy of the reachable part
    np.testing.assert_allclose(static.energy, ref["energy_static"], rtol=0.1)
    assert float(static.reachable_energy) == float(static.energy)
    # the part of d that pinv drops (the unreached fraction of the target)
    d = ref["d_static"]
    np.testing.assert_allclose(
        ours["xf"] - scipy.linalg.expm(ours["A_static"]) @ ours["x0"], d, atol=1e-12
    )
    pinv = np.linalg.pinv(gramian, rcond=float(ref["pinv_tol_static_matlab"]) / singular_values[0])
    unreached = np.linalg.norm(gramian @ pinv @ d - d) / np.linalg.norm(d)
    assert unreached > 0.05
    np.testing.assert_allclose(static.terminal_error, unreached, rtol=0.02)
    # over the well-resolved eigenvalues (> 1e-10, condition ~7e9) the energies agree
    eigenvalues, eigenvectors = np.linalg.eigh(gramian)
    kept = eigenvalues > 1e-10
    coefficients = eigenvectors.T @ d
    expected = 0.5 * np.sum(coefficients[kept] ** 2 / eigenvalues[kept])
    truncated = minimum_energy(
        ours["A_static"],
        ours["x0"],
        ours["xf"],
        B=ours["control"],
        horizon=1.0,
        rcond=1e-10 / eigenvalues[-1],
        system="continuous",
    )
    assert int(truncated.rank) == int(kept.sum()) == 28
    np.testing.assert_allclose(0.5 * truncated.reachable_energy, expected, rtol=1e-5)


def test_ill_conditioned_warning_names_the_numbers():
    ref, ours = _case("a_dmn_pipe")
    with pytest.warns(IllConditionedWarning, match=r"condition number up to 1\.\d+e\+11"):
        _energies(ref, ours)
