import numpy as np
import pandas as pd
import pytest

from brainctrl.exceptions import ConfigError
from brainctrl.io import RunData
from brainctrl.pipeline import PipelineConfig
from brainctrl.pipeline._config import CleanConfig
from brainctrl.pipeline._stages import clean_run


def _run_with_global_component(rng, n_timepoints=120, n_regions=12):
    """Regions sharing a strong common signal, a linear drift and region offsets."""
    common = rng.standard_normal(n_timepoints)
    drift = np.linspace(0, 3, n_timepoints)
    loadings = rng.uniform(0.5, 1.5, n_regions)
    ts = (
        np.outer(common, loadings)
        + np.outer(drift, rng.uniform(-1, 1, n_regions))
        + rng.standard_normal((n_timepoints, n_regions))
        + rng.uniform(100, 200, n_regions)
    )
    motion = rng.standard_normal((n_timepoints, 2))
    confounds = pd.DataFrame(motion, columns=["trans_x", "rot_z"])
    return RunData(ts, t_r=0.72, confounds=confounds)


def _residual(ts, regressors):
    """What least squares leaves of ts after an intercept, a linear trend and regressors."""
    t = np.arange(len(ts), dtype=float)
    design = np.column_stack([np.ones_like(t), t, *regressors])
    beta, *_ = np.linalg.lstsq(design, ts, rcond=None)
    return ts - design @ beta


@pytest.mark.parametrize("discard", [0, 4])
def test_global_signal_regression_matches_least_squares(rng, discard):
    run = _run_with_global_component(rng)
    clean = CleanConfig(standardize=False, discard_initial=discard, global_signal=True)
    cleaned = clean_run(run, clean)
    ts = run.timeseries[discard:]
    expected = _residual(ts, [ts.mean(axis=1)])
    np.testing.assert_allclose(cleaned, expected, atol=1e-9 * np.abs(ts).max())
    # without it, the common signal stays: regions are strongly correlated
    plain = clean_run(run, CleanConfig(standardize=False, discard_initial=discard))
    off = ~np.eye(ts.shape[1], dtype=bool)
    assert np.corrcoef(plain, rowvar=False)[off].mean() > 0.3
    assert np.corrcoef(cleaned, rowvar=False)[off].mean() < 0.0


def test_global_signal_derivative_and_confounds_enter_one_regression(rng):
    run = _run_with_global_component(rng)
    clean = CleanConfig(
        standardize=False, confounds=["trans_x", "rot_z"], global_signal="derivative"
    )
    cleaned = clean_run(run, clean)
    ts = run.timeseries
    g = ts.mean(axis=1)
    g_diff = np.r_[0.0, g[1:] - g[:-1]]
    motion = run.confounds[["trans_x", "rot_z"]].to_numpy()
    expected = _residual(ts, [motion, g, g_diff])
    np.testing.assert_allclose(cleaned, expected, atol=1e-9 * np.abs(ts).max())


def test_cleaned_regions_are_orthogonal_to_the_global_signal(rng):
    run = _run_with_global_component(rng)
    cleaned = clean_run(run, CleanConfig(standardize=True, global_signal=True))
    g = _residual(run.timeseries.mean(axis=1)[:, None], [])[:, 0]  # detrended global signal
    # each region is orthogonal to it (z-scoring does not change that) ...
    np.testing.assert_allclose(cleaned.T @ g / np.linalg.norm(g), 0.0, atol=1e-9)
    np.testing.assert_allclose(cleaned.std(axis=0, ddof=1), 1.0)
    # ... and without z-scoring the regions sum to zero at every frame
    raw = clean_run(run, CleanConfig(standardize=False, global_signal=True))
    np.testing.assert_allclose(raw.sum(axis=1), 0.0, atol=1e-9)


def test_global_signal_off_by_default_and_validated():
    config = PipelineConfig.from_dict({"manifest": "m"})
    assert config.clean.global_signal is False
    config = PipelineConfig.from_dict({"manifest": "m", "clean": {"global_signal": "derivative"}})
    assert config.clean.global_signal == "derivative"
    with pytest.raises(
        ConfigError,
        match=r"'clean.global_signal' must be false, true or 'derivative'; got 'yes'",
    ):
        PipelineConfig.from_dict({"manifest": "m", "clean": {"global_signal": "yes"}})
    with pytest.raises(ConfigError, match=r"'clean.global_signal' must be true or false; got 1"):
        PipelineConfig.from_dict({"manifest": "m", "clean": {"global_signal": 1}})


@pytest.mark.parametrize("density", [None, 0.2])
def test_graph_measures_per_window_are_those_of_each_window(rng, density):
    from brainctrl.connectivity import sliding_window_connectivity
    from brainctrl.datasets import make_regions
    from brainctrl.graph import graph_measures, threshold_proportional
    from brainctrl.pipeline._stages import process_run

    regions = make_regions(16, random_state=0)
    run = RunData(rng.standard_normal((90, 16)), t_r=0.72, regions=regions, subject="01", run="1")
    config = PipelineConfig.from_dict(
        {
            "manifest": "none",
            "connectivity": {"window_length": 30, "step": 15},
            "graph": {"per_window": True, "density": density, "n_runs": 1},
            "multilayer": {"enabled": False},
        }
    )
    tables, _ = process_run(run, config, 0)
    measures = tables["measures"]
    windows = sliding_window_connectivity(clean_run(run, config.clean), 30, step=15)
    windows[:, np.arange(16), np.arange(16)] = 0.0
    if density is not None:
        windows = threshold_proportional(windows, density)
    for k, window in enumerate(windows):
        expected = graph_measures(window)
        rows = measures[measures["window"] == k]
        for name in ("strength", "degree", "clustering", "local_efficiency", "betweenness"):
            got = rows[rows["measure"] == name].set_index("region")["value"]
            np.testing.assert_array_equal(got.to_numpy(), expected[name].to_numpy(), err_msg=name)
    assert sorted(measures["window"].unique()) == [-1, *range(len(windows))]
    # off by default: the static network only
    plain_config = PipelineConfig.from_dict(
        {
            "manifest": "none",
            "connectivity": {"window_length": 30, "step": 15},
            "multilayer": {"enabled": False},
        }
    )
    plain, _ = process_run(run, plain_config, 0)
    assert set(plain["measures"]["window"]) == {-1}
