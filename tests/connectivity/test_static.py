import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brainctrl.connectivity import functional_connectivity, threshold_significance
from brainctrl.exceptions import (
    DataError,
    IllConditionedWarning,
    InvalidParameterError,
    OrientationWarning,
)


@pytest.fixture
def sample_timeseries(sample_dir):
    return pd.read_csv(sample_dir / "timeseries.tsv", sep="\t").to_numpy(dtype=float)


def test_perfectly_correlated_and_anticorrelated(rng):
    base = rng.standard_normal(50)
    ts = np.column_stack([base, 2 * base + 5, -3 * base + 1])
    fc = functional_connectivity(ts)
    expected = np.array([[1, 1, -1], [1, 1, -1], [-1, -1, 1]])
    np.testing.assert_allclose(fc, expected, atol=1e-12)


def test_correlation_equals_corrcoef_on_raw_sample(sample_timeseries):
    fc = functional_connectivity(sample_timeseries)
    np.testing.assert_allclose(fc, np.corrcoef(sample_timeseries.T), atol=1e-12)
    np.testing.assert_array_equal(np.diag(fc), 1.0)


def test_covariance_is_maximum_likelihood(rng):
    ts = rng.standard_normal((30, 4)) + 10
    np.testing.assert_allclose(
        functional_connectivity(ts, "covariance"), np.cov(ts.T, ddof=0), atol=1e-12
    )


def test_partial_correlation_of_gaussian_graphical_model(rng):
    # Known precision matrix (a chain 0-1-2-3 plus edge 0-3); partial correlation
    # is -P_ij / sqrt(P_ii P_jj) in closed form.
    precision = np.array(
        [
            [2.0, -0.8, 0.0, 0.5],
            [-0.8, 2.0, -0.6, 0.0],
            [0.0, -0.6, 1.5, 0.4],
            [0.5, 0.0, 0.4, 1.8],
        ]
    )
    covariance = np.linalg.inv(precision)
    ts = rng.multivariate_normal(np.zeros(4), covariance, size=200_000)
    d = np.sqrt(np.diag(precision))
    expected = -precision / np.outer(d, d)
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(
        functional_connectivity(ts, "partial correlation"), expected, atol=0.01
    )
    np.testing.assert_allclose(
        functional_connectivity(ts, "precision"), precision, rtol=0.02, atol=0.01
    )


def test_shrunk_correlation_is_uniformly_shrunk_pearson(rng):
    # Ledoit-Wolf on z-scored data: (1 - s) R + s I, so off-diagonals shrink by one factor.
    ts = rng.standard_normal((40, 10)) @ rng.standard_normal((10, 10)) + 100
    pearson = functional_connectivity(ts)
    shrunk = functional_connectivity(ts, "shrunk correlation")
    off = ~np.eye(10, dtype=bool)
    ratio = shrunk[off] / pearson[off]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert 0 < ratio[0] < 1
    np.testing.assert_allclose(np.diag(shrunk), 1.0)
    # shrunk partial correlation exists where the empirical one does not (T < N).
    wide = rng.standard_normal((8, 12))
    with pytest.warns(OrientationWarning, match=r"shape \(8, 12\)"):
        partial = functional_connectivity(wide, "shrunk partial correlation")
    assert np.all(np.abs(partial) <= 1) and np.allclose(partial, partial.T)


def test_tangent_of_runs_with_equal_covariance_is_zero(rng):
    run = rng.standard_normal((60, 5)) @ rng.standard_normal((5, 5))
    # Reordering frames keeps the covariance: every run sits at the group mean.
    runs = [run, run[rng.permutation(60)], run[::-1]]
    tangent = functional_connectivity(runs, "tangent")
    assert tangent.shape == (3, 5, 5)
    np.testing.assert_allclose(tangent, 0.0, atol=1e-8)


def test_list_of_runs_and_concatenation(rng):
    runs = [rng.standard_normal((40, 4)) * s + m for s, m in ((1, 0), (5, 100), (0.1, -3))]
    per_run = functional_connectivity(runs)
    np.testing.assert_allclose(per_run, [np.corrcoef(r.T) for r in runs], atol=1e-12)
    joined = np.concatenate([stats.zscore(r, axis=0) for r in runs])
    np.testing.assert_allclose(
        functional_connectivity(runs, concatenate=True), np.corrcoef(joined.T), atol=1e-12
    )


def test_fisher_z(rng):
    ts = rng.standard_normal((30, 4))
    z = functional_connectivity(ts, fisher_z=True)
    r = np.corrcoef(ts.T)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(z[off], np.arctanh(r[off]), atol=1e-12)
    np.testing.assert_array_equal(np.diag(z), 0.0)


def test_thresholds_through_functional_connectivity(rng):
    ts = rng.standard_normal((30, 6))
    ts[:, 1] += ts[:, 0]
    r = np.corrcoef(ts.T)
    got = functional_connectivity(ts, threshold="significance")
    rows, cols = np.triu_indices(6, k=1)
    p = np.array([stats.pearsonr(ts[:, i], ts[:, j]).pvalue for i, j in zip(rows, cols)])
    np.testing.assert_array_equal(got[rows, cols] != 0, p <= 0.05)
    np.testing.assert_allclose(got[rows, cols][p <= 0.05], r[rows, cols][p <= 0.05])
    # Threshold before Fisher z: zeros stay zero.
    z = functional_connectivity(ts, threshold="significance", fisher_z=True)
    np.testing.assert_array_equal(z[rows, cols] != 0, p <= 0.05)
    prop = functional_connectivity(ts, threshold="proportional", threshold_value=0.2)
    assert np.count_nonzero(prop[rows, cols]) == 3
    absolute = functional_connectivity(ts, threshold="absolute", threshold_value=0.3)
    np.testing.assert_array_equal(absolute[rows, cols] != 0, np.abs(r[rows, cols]) >= 0.3)
    runs = [ts, ts[:20]]
    both = functional_connectivity(runs, threshold="significance", fdr=True)
    expected = threshold_significance(np.corrcoef(ts[:20].T), 20, fdr=True)
    np.testing.assert_allclose(both[1], expected, atol=1e-12)
    np.testing.assert_array_equal(both[1] != 0, expected != 0)


def test_partial_significance_uses_controlled_variables(rng):
    ts = rng.standard_normal((25, 5))
    ts[:, 1] += 0.5 * ts[:, 0]
    partial = functional_connectivity(ts, "partial correlation")
    got = functional_connectivity(ts, "partial correlation", threshold="significance")
    df = 25 - 2 - 3
    rows, cols = np.triu_indices(5, k=1)
    rr = partial[rows, cols]
    p = 2 * stats.t.sf(np.abs(rr) * np.sqrt(df / (1 - rr**2)), df)
    np.testing.assert_array_equal(got[rows, cols] != 0, p <= 0.05)


def test_singular_and_ill_conditioned_covariance(rng):
    with (
        pytest.warns(OrientationWarning, match=r"shape \(6, 10\)"),
        pytest.raises(DataError, match=r"covariance of 10 regions from 6 frames is singular"),
    ):
        functional_connectivity(rng.standard_normal((6, 10)), "partial correlation")
    ts = rng.standard_normal((50, 3))
    ts[:, 2] = ts[:, 0] + ts[:, 1] + 1e-7 * rng.standard_normal(50)
    with pytest.warns(IllConditionedWarning, match=r"condition number \d"):
        functional_connectivity(ts, "precision")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "pearson"}, InvalidParameterError, r"'kind' must be one of .*; got 'pearson'"),
        (
            {"kind": "covariance", "fisher_z": True},
            InvalidParameterError,
            r"'fisher_z' applies to correlation kinds .*got kind='covariance'",
        ),
        (
            {"kind": "shrunk correlation", "threshold": "significance"},
            InvalidParameterError,
            r"tests Pearson or partial correlations; got kind='shrunk correlation'",
        ),
        (
            {"threshold": "density"},
            InvalidParameterError,
            r"'threshold' must be one of .*; got 'density'",
        ),
        (
            {"threshold": "proportional"},
            InvalidParameterError,
            r"'threshold_value' is needed for threshold='proportional'; got None",
        ),
        (
            {"fdr": True},
            InvalidParameterError,
            r"'fdr' applies to threshold='significance' only; got threshold=None",
        ),
        ({"concatenate": True}, InvalidParameterError, r"'concatenate' needs a list of runs"),
        (
            {"kind": "tangent"},
            InvalidParameterError,
            r"kind='tangent' needs a list of at least two runs .*got one array",
        ),
    ],
)
def test_bad_parameters(rng, kwargs, error, match):
    with pytest.raises(error, match=match):
        functional_connectivity(rng.standard_normal((20, 3)), **kwargs)


def test_bad_data(rng):
    with pytest.raises(InvalidParameterError, match=r"got 1 run\(s\)"):
        functional_connectivity([rng.standard_normal((20, 3))], "tangent")
    with pytest.raises(DataError, match=r"same number of regions; got \[3, 4\]"):
        functional_connectivity([rng.standard_normal((20, 3)), rng.standard_normal((20, 4))])
    with pytest.raises(DataError, match=r"at least 3 timepoints .*got shape \(2, 3\)"):
        functional_connectivity(rng.standard_normal((2, 3)))
    bad = rng.standard_normal((20, 3))
    bad[4, 0] = np.nan
    with pytest.raises(DataError, match=r"timeseries\[1\] contains 1 non-finite"):
        functional_connectivity([rng.standard_normal((20, 3)), bad])
    flat = rng.standard_normal((20, 3))
    flat[:, 2] = 1.0
    with pytest.raises(DataError, match=r"constant region\(s\) \(column\(s\) 2\)"):
        functional_connectivity(flat)
    with pytest.raises(DataError, match="empty list"):
        functional_connectivity([])


def test_rundata_input(rng):
    from brainctrl.io import RunData

    ts = rng.standard_normal((30, 4))
    runs = [RunData(timeseries=ts, t_r=2.0, subject="01"), RunData(timeseries=ts[::-1], t_r=2.0)]
    np.testing.assert_allclose(functional_connectivity(runs[0]), np.corrcoef(ts.T), atol=1e-12)
    np.testing.assert_allclose(functional_connectivity(runs)[1], np.corrcoef(ts.T), atol=1e-12)


def test_partial_correlation_matches_nilearn(rng):
    # Reference: nilearn 0.14.1 ConnectivityMeasure with EmpiricalCovariance.
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import EmpiricalCovariance

    runs = [rng.standard_normal((60, 6)) @ rng.standard_normal((6, 6)) + 50 for _ in range(2)]
    for kind in ("correlation", "partial correlation", "precision"):
        measure = ConnectivityMeasure(
            cov_estimator=EmpiricalCovariance(), kind=kind, standardize=False
        )
        expected = measure.fit_transform(runs)
        np.testing.assert_allclose(functional_connectivity(runs, kind), expected, atol=1e-10)


def test_tangent_with_concatenate_is_rejected(rng):
    runs = [rng.standard_normal((20, 3)) for _ in range(2)]
    with pytest.raises(InvalidParameterError, match=r"got 2 run\(s\) with concatenate=True"):
        functional_connectivity(runs, "tangent", concatenate=True)


def test_more_columns_than_rows_warns_with_shape(rng):
    wide = rng.standard_normal((8, 12))  # e.g. a regions-by-time array passed as is
    with pytest.warns(
        OrientationWarning,
        match=r"^timeseries has more columns than rows \(shape \(8, 12\)\), so it is read as 8 "
        r"timepoints of 12 regions; .*If its rows are regions, pass its transpose",
    ):
        fc = functional_connectivity(wide)
    # the warning changes nothing: Pearson of the 12 columns
    np.testing.assert_allclose(fc, np.corrcoef(wide.T), atol=1e-12)


def test_wide_run_in_a_list_and_run_data_named(rng):
    from brainctrl.io import RunData

    tall = rng.standard_normal((50, 6))
    wide = RunData(timeseries=rng.standard_normal((6, 50)), t_r=2.0, subject="07", run="2")
    with pytest.warns(
        OrientationWarning,
        match=r"^subject '07', run '2': timeseries\[1\] has more columns than rows "
        r"\(shape \(6, 50\)\)",
    ) as caught:
        with pytest.raises(DataError, match=r"same number of regions; got \[6, 50\]"):
            functional_connectivity([tall, wide])
    assert len(caught) == 1
    # a tall run or RunData gives no warning (pytest turns warnings into errors)
    functional_connectivity(RunData(timeseries=tall, t_r=2.0))


def test_complex_timeseries_rejected(rng):
    ts = rng.standard_normal((30, 4)) + 1j * rng.standard_normal((30, 4))
    with pytest.raises(
        DataError, match=r"^timeseries must be real-valued; got complex values \(dtype complex128"
    ):
        functional_connectivity(ts)
    with pytest.raises(DataError, match=r"^timeseries\[1\] must be real-valued; got complex"):
        functional_connectivity([ts.real, ts], concatenate=True)
    # complex with a zero imaginary part is still refused: the dtype says complex
    with pytest.raises(DataError, match=r"must be real-valued"):
        functional_connectivity(ts.real.astype(complex))
    # nor can a run record hold one
    from brainctrl.io import RunData

    with pytest.raises(DataError, match=r"subject '3': timeseries must be real-valued"):
        RunData(timeseries=ts, t_r=2.0, subject="3")
