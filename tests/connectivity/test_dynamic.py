import numpy as np
import pandas as pd
import pytest
from scipy import signal

from brainctrl.connectivity import (
    ConstantWindowWarning,
    ShortWindowWarning,
    _kernels,
    connectivity_dynamics,
    minimum_window_length,
    sliding_window_connectivity,
    taper_weights,
    window_centres,
    windows_from_seconds,
)
from brainctrl.exceptions import DataError, InvalidParameterError


def corrcoef_loop(ts, window_length, step):
    """Reference: one np.corrcoef per window, frames k*step ... k*step+w-1."""
    starts = range(0, ts.shape[0] - window_length + 1, step)
    return np.array([np.corrcoef(ts[s : s + window_length].T) for s in starts])


@pytest.fixture
def sample_timeseries(sample_dir):
    # Real Schaefer-100 run on its raw scale (region means ~1e3).
    return pd.read_csv(sample_dir / "timeseries.tsv", sep="\t").to_numpy(dtype=float)


@pytest.mark.parametrize("window_length, step", [(3, 1), (20, 1), (30, 7), (50, 4)])
def test_pearson_equals_corrcoef_loop(rng, window_length, step):
    ts = rng.standard_normal((123, 9))
    got = sliding_window_connectivity(ts, window_length, step)
    expected = corrcoef_loop(ts, window_length, step)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_pearson_raw_scale_no_cancellation(rng):
    # BOLD-like: mean 1e4, fluctuations of a few units; running sums lose digits here.
    ts = 1e4 + rng.standard_normal((200, 12)) * 3.0 + rng.standard_normal(12) * 500
    got = sliding_window_connectivity(ts, 40, 3)
    np.testing.assert_allclose(got, corrcoef_loop(ts, 40, 3), rtol=0, atol=1e-10)


def test_pearson_real_sample(sample_timeseries):
    got = sliding_window_connectivity(sample_timeseries, 30, 2)
    np.testing.assert_allclose(got, corrcoef_loop(sample_timeseries, 30, 2), rtol=0, atol=1e-10)


def test_many_chunks_same_result(rng, monkeypatch):
    ts = rng.standard_normal((80, 6)) + 50
    expected = corrcoef_loop(ts, 10, 3)
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 1)  # one window per chunk
    np.testing.assert_allclose(sliding_window_connectivity(ts, 10, 3), expected, atol=1e-10)
    rows, cols = np.triu_indices(6, k=1)
    vec = sliding_window_connectivity(ts, 10, 3, vectorize=True)
    np.testing.assert_allclose(vec, expected[:, rows, cols], atol=1e-10)


def test_vectorize_and_float32(rng):
    ts = rng.standard_normal((90, 7)) * 20 + 1e4
    expected = corrcoef_loop(ts, 25, 5)
    rows, cols = np.triu_indices(7, k=1)
    vec = sliding_window_connectivity(ts, 25, 5, vectorize=True)
    np.testing.assert_allclose(vec, expected[:, rows, cols], rtol=0, atol=1e-10)
    single = sliding_window_connectivity(ts, 25, 5, dtype=np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=0, atol=1e-5)
    single_vec = sliding_window_connectivity(ts, 25, 5, dtype="float32", vectorize=True)
    np.testing.assert_allclose(single_vec, expected[:, rows, cols], rtol=0, atol=1e-5)


def test_perfect_correlation_and_anticorrelation(rng):
    base = rng.standard_normal(60)
    ts = np.column_stack([base, 3 * base + 7, -0.5 * base + 1, rng.standard_normal(60)])
    dyn = sliding_window_connectivity(ts, 15, 5)
    np.testing.assert_allclose(dyn[:, 0, 1], 1.0, atol=1e-12)
    np.testing.assert_allclose(dyn[:, 0, 2], -1.0, atol=1e-12)
    np.testing.assert_allclose(dyn[:, 1, 2], -1.0, atol=1e-12)


def test_fisher_z(rng):
    ts = rng.standard_normal((50, 5))
    r = corrcoef_loop(ts, 20, 10)
    z = sliding_window_connectivity(ts, 20, 10, fisher_z=True)
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(z[:, off], np.arctanh(r[:, off]), atol=1e-9)
    np.testing.assert_array_equal(z[:, ~off], 0.0)
    # |r| = 1 stays finite: at most arctanh of the largest float64 below 1 (18.71).
    base = rng.standard_normal(30)
    z1 = sliding_window_connectivity(np.column_stack([base, base * 2]), 10, fisher_z=True)
    assert np.all(z1[:, 0, 1] > 17.0)
    assert np.all(z1[:, 0, 1] <= np.arctanh(np.nextafter(1.0, 0.0)))


def test_taper_weights_are_convolved_rectangle():
    # Independent: discrete convolution of a rectangle with a sampled Gaussian.
    window, sigma = 22, 3.0
    support = np.arange(-60, 61)
    gauss = np.exp(-(support**2) / (2 * sigma**2))
    full = np.convolve(np.ones(window), gauss)  # index 60 + t is the value at frame t
    expected = full[60 : 60 + window]
    np.testing.assert_allclose(taper_weights(window, sigma), expected / expected.max())


def weighted_corr(x, y, w):
    mx = np.sum(w * x) / np.sum(w)
    my = np.sum(w * y) / np.sum(w)
    cov = np.sum(w * (x - mx) * (y - my))
    return cov / np.sqrt(np.sum(w * (x - mx) ** 2) * np.sum(w * (y - my) ** 2))


def test_gaussian_taper_weighted_correlation(rng):
    ts = rng.standard_normal((70, 4)) + 100
    window, step = 22, 6
    got = sliding_window_connectivity(ts, window, step, taper="gaussian", taper_sigma=3.0)
    w = taper_weights(window, 3.0)
    for k in range(got.shape[0]):
        seg = ts[k * step : k * step + window]
        for i in range(4):
            for j in range(4):
                assert got[k, i, j] == pytest.approx(
                    weighted_corr(seg[:, i], seg[:, j], w), abs=1e-10
                )


def test_custom_taper_against_numpy_weighted_cov(rng):
    ts = rng.standard_normal((40, 5))
    weights = rng.uniform(0.1, 2.0, size=12)
    got = sliding_window_connectivity(ts, 12, 4, taper=weights)
    for k in range(got.shape[0]):
        cov = np.cov(ts[4 * k : 4 * k + 12].T, aweights=weights)
        sd = np.sqrt(np.diag(cov))
        np.testing.assert_allclose(got[k], cov / np.outer(sd, sd), atol=1e-10)


def test_mtd_against_definition_loop(rng):
    ts = rng.standard_normal((60, 5)).cumsum(axis=0)
    window, step = 7, 2
    got = sliding_window_connectivity(ts, window, step, method="mtd")
    d = np.diff(ts, axis=0)
    d = d / d.std(axis=0, ddof=1)
    n_windows = (59 - window) // step + 1
    assert got.shape == (n_windows, 5, 5)
    for k in range(n_windows):
        for i in range(5):
            for j in range(5):
                expected = sum(d[t, i] * d[t, j] for t in range(k * step, k * step + window))
                assert got[k, i, j] == pytest.approx(expected / window, abs=1e-12)


def test_phase_synchrony_against_definition(rng):
    ts = rng.standard_normal((64, 4)) + 10
    phase = np.angle(signal.hilbert(ts - ts.mean(axis=0), axis=0))
    per_frame = sliding_window_connectivity(ts, 1, method="phase")
    assert per_frame.shape == (64, 4, 4)
    for t in (0, 17, 63):
        expected = np.cos(phase[t][:, None] - phase[t][None, :])
        np.testing.assert_allclose(per_frame[t], expected, atol=1e-12)
    windowed = sliding_window_connectivity(ts, 8, 4, method="phase", vectorize=True)
    rows, cols = np.triu_indices(4, k=1)
    for k in range(windowed.shape[0]):
        seg = phase[4 * k : 4 * k + 8]
        expected = np.mean(np.cos(seg[:, rows] - seg[:, cols]), axis=0)
        np.testing.assert_allclose(windowed[k], expected, atol=1e-12)


def test_connectivity_dynamics_matches_corrcoef(rng):
    ts = rng.standard_normal((100, 6))
    dyn = sliding_window_connectivity(ts, 20, 5)
    rows, cols = np.triu_indices(6, k=1)
    expected = np.corrcoef(dyn[:, rows, cols])
    np.testing.assert_allclose(connectivity_dynamics(dyn), expected, atol=1e-12)
    vec = sliding_window_connectivity(ts, 20, 5, vectorize=True)
    np.testing.assert_allclose(connectivity_dynamics(vec), expected, atol=1e-12)


def test_connectivity_dynamics_bad_shape():
    with pytest.raises(DataError, match=r"got shape \(2, 3, 4\)"):
        connectivity_dynamics(np.zeros((2, 3, 4)))
    with pytest.raises(DataError, match="at least 2 pairs"):
        connectivity_dynamics(np.zeros((3, 1)))


def test_window_centres_and_seconds_helpers(rng):
    ts = rng.standard_normal((20, 3))
    _, centres = sliding_window_connectivity(ts, 5, 3, t_r=2.0, return_centres=True)
    # windows start at 0, 3, 6, 9, 12, 15; centre frame = start + 2.
    np.testing.assert_allclose(centres, [4.0, 10.0, 16.0, 22.0, 28.0, 34.0])
    np.testing.assert_allclose(window_centres(2, 4, 1, 1.0, method="mtd"), [2.0, 3.0])
    assert windows_from_seconds(2.0, 60.0, 4.0) == (30, 2)
    assert windows_from_seconds(0.72, 44.0) == (61, 1)
    assert minimum_window_length(0.01, 2.0) == 50  # 100 s / 2 s exactly
    assert minimum_window_length(0.008, 0.72) == 174  # ceil(173.6)


def test_short_window_warning(rng):
    ts = rng.standard_normal((120, 3))
    with pytest.warns(ShortWindowWarning, match=r"window_length=30 frames \(60 s\).*100 s"):
        sliding_window_connectivity(ts, 30, t_r=2.0, high_pass=0.01)


def test_list_of_runs_gives_list(rng):
    runs = [rng.standard_normal((40, 3)), rng.standard_normal((50, 3))]
    out = sliding_window_connectivity(runs, 10, 5)
    assert isinstance(out, list) and len(out) == 2
    for run, dyn in zip(runs, out):
        np.testing.assert_allclose(dyn, corrcoef_loop(run, 10, 5), atol=1e-10)


def test_constant_window_gives_nan_and_warns(rng):
    ts = rng.standard_normal((40, 4)) + 1e4
    ts[10:22, 2] = 1e4 + 0.5  # region 2 flat in frames 10..21
    with pytest.warns(ConstantWindowWarning, match=r"1 region\(s\) are constant in 1 window"):
        dyn = sliding_window_connectivity(ts, 10, 5)
    # window 2 covers frames 10..19: only that window is flat.
    assert np.isnan(dyn[2, 2, :]).all() and np.isnan(dyn[2, :, 2]).all()
    assert not np.isnan(np.delete(np.delete(dyn[2], 2, 0), 2, 1)).any()
    others = np.delete(dyn, 2, axis=0)
    assert not np.isnan(others).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"window_length": 41},
            r"'window_length' must not exceed the number of timepoints \(40\); got 41",
        ),
        ({"window_length": 10, "step": 0}, r"'step' must be > 0; got 0"),
        ({"window_length": 10, "step": 1.5}, r"'step' must be an integer; got 1.5"),
        ({"window_length": 2}, r"at least 3 frames for Pearson correlation; got 2"),
        ({"window_length": 10, "method": "mdt"}, r"'method' must be one of .*; got 'mdt'"),
        (
            {"window_length": 10, "method": "mtd", "fisher_z": True},
            r"'fisher_z' applies to method='pearson' only",
        ),
        (
            {"window_length": 10, "method": "phase", "taper": "gaussian"},
            r"'taper' applies to method='pearson' only",
        ),
        ({"window_length": 10, "taper": "hann"}, r"'taper' must be one of .*; got 'hann'"),
        (
            {"window_length": 10, "taper": np.ones(4)},
            r"10 non-negative weights .*got shape \(4,\)",
        ),
        (
            {"window_length": 10, "dtype": np.int32},
            r"'dtype' must be float32 or float64; got 'int32'",
        ),
        ({"window_length": 10, "return_centres": True}, r"'t_r' is needed for return_centres"),
        ({"window_length": 10, "high_pass": 0.01}, r"'t_r' is needed to check 'high_pass'"),
        ({"window_length": 40, "method": "mtd"}, r"number of first differences \(39\); got 40"),
    ],
)
def test_bad_parameters(rng, kwargs, match):
    ts = rng.standard_normal((40, 3))
    with pytest.raises(InvalidParameterError, match=match):
        sliding_window_connectivity(ts, **kwargs)


def test_bad_data(rng):
    ts = rng.standard_normal((40, 3))
    nan = ts.copy()
    nan[5, 1] = np.nan
    with pytest.raises(DataError, match=r"1 non-finite value\(s\).*index \(5, 1\)"):
        sliding_window_connectivity(nan, 10)
    with pytest.raises(DataError, match=r"at least 3 timepoints .*got shape \(2, 3\)"):
        sliding_window_connectivity(ts[:2], 2, method="phase")
    flat = ts.copy()
    flat[:, 0] = 4.0
    with pytest.raises(DataError, match=r"1 constant region\(s\) \(column\(s\) 0\)"):
        sliding_window_connectivity(flat, 10)
    with pytest.raises(DataError, match=r"must be 2-dimensional; got shape \(40,\)"):
        sliding_window_connectivity(ts[:, 0], 10)
    linear = ts.copy()
    linear[:, 1] = np.arange(40.0)
    with pytest.raises(DataError, match=r"constant first differences \(column\(s\) 1\)"):
        sliding_window_connectivity(linear, 10, method="mtd")


def test_helper_errors():
    with pytest.raises(InvalidParameterError, match=r"'high_pass' must be > 0; got 0"):
        minimum_window_length(0, 2.0)
    with pytest.raises(
        InvalidParameterError, match=r"'window_seconds' must be at least one frame .*got 0.2"
    ):
        windows_from_seconds(2.0, 0.2)
    with pytest.raises(
        InvalidParameterError, match=r"'step_seconds' must be at least one frame .*got 0.5"
    ):
        windows_from_seconds(2.0, 60, 0.5)


def test_rundata_input_supplies_t_r_and_context(rng):
    from brainctrl.io import RunData

    ts = rng.standard_normal((30, 3))
    run = RunData(timeseries=ts, t_r=2.0, subject="01", run="1")
    dyn, centres = sliding_window_connectivity(run, 10, 10, return_centres=True)
    np.testing.assert_allclose(dyn, corrcoef_loop(ts, 10, 10), atol=1e-10)
    np.testing.assert_allclose(centres, [9.0, 29.0, 49.0])
    flat = ts.copy()
    flat[:, 1] = 0.0
    bad = RunData(timeseries=flat, t_r=2.0, subject="01", run="1")
    with pytest.raises(DataError, match=r"subject '01', run '1': timeseries has 1 constant"):
        sliding_window_connectivity(bad, 10)


def test_more_columns_than_rows_warns_with_shape(rng):
    from brainctrl.exceptions import OrientationWarning
    from brainctrl.io import RunData

    wide = rng.standard_normal((20, 30))
    with pytest.warns(
        OrientationWarning,
        match=r"^timeseries has more columns than rows \(shape \(20, 30\)\), so it is read as "
        r"20 timepoints of 30 regions",
    ):
        windows = sliding_window_connectivity(wide, 10, 5)
    np.testing.assert_allclose(windows, corrcoef_loop(wide, 10, 5), atol=1e-12)
    run = RunData(timeseries=wide, t_r=2.0, subject="01", run="1")
    with pytest.warns(
        OrientationWarning, match=r"^subject '01', run '1': timeseries has more columns than rows"
    ):
        sliding_window_connectivity([run], 10, 5)


def test_complex_timeseries_rejected(rng):
    ts = rng.standard_normal((40, 3)) * (1 + 2j)
    with pytest.raises(
        DataError, match=r"^timeseries must be real-valued; got complex values \(dtype complex128"
    ):
        sliding_window_connectivity(ts, 10)
