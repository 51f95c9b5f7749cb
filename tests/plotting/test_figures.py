import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from brainctrl import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_matrix_shows_the_matrix_and_network_ticks(rng):
    matrix = rng.standard_normal((6, 6))
    matrix = (matrix + matrix.T) / 2
    networks = ["Vis", "Vis", "Default", "Default", "Default", "Cont"]
    fig = plotting.plot_matrix(matrix, networks=networks, title="fc")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Vis", "Default", "Cont"]
    np.testing.assert_allclose(ax.get_xticks(), [0.5, 3.0, 5.0])
    vmin, vmax = ax.images[0].get_clim()
    assert vmax == -vmin == pytest.approx(np.abs(matrix[~np.eye(6, dtype=bool)]).max())


def test_plot_network_values_bars_are_network_means():
    regions = pd.DataFrame({"name": list("abcde"), "network": ["A", "A", "B", "B", "B"]})
    values = np.array([1.0, 3.0, 2.0, 4.0, 6.0])
    fig = plotting.plot_network_values(values, regions)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [2.0, 4.0]


def test_plot_region_values_on_glass_brain(sample_dir):
    regions = pd.read_csv(sample_dir / "rois.tsv", sep="\t")
    fig = plotting.plot_region_values(np.arange(len(regions), dtype=float), regions, title="x")
    assert len(fig.axes) >= 3  # three brain views (+ colour bar)
    # without coordinates it falls back to network means
    fig = plotting.plot_region_values(np.ones(len(regions)), regions[["name", "network"]])
    assert len(fig.axes[0].patches) == regions["network"].nunique()


def test_plot_loadings_orders_by_magnitude():
    fig = plotting.plot_loadings(np.array([0.1, -0.9, 0.5]), ["a", "b", "c"], top=2)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["c", "b"]


def test_plot_prediction_title_reports_correlation(rng):
    observed = rng.standard_normal(50)
    predicted = observed + 0.5 * rng.standard_normal(50)
    fig = plotting.plot_prediction(observed, predicted)
    r = np.corrcoef(observed, predicted)[0, 1]
    assert fig.axes[0].get_title() == f"r = {r:.2f}"


def test_plot_energy_and_group_results():
    table = pd.DataFrame(
        {"static": [1.0, 10.0], "dynamic": [0.5, 2.0], "condition_number": [1e3, 1e12]}
    )
    fig = plotting.plot_energy_comparison(table)
    assert fig.axes[0].get_xscale() == "log"
    # a numerically singular Gramian (infinite condition number) is still drawn
    table.loc[1, "condition_number"] = np.inf
    fig = plotting.plot_energy_comparison(table)
    colours = fig.axes[0].collections[0].get_array()
    np.testing.assert_allclose(colours, [3.0, 17.0])
    results = pd.DataFrame({"t": [3.0, -1.0, 0.5], "p_fdr": [0.01, 0.5, 0.9]})
    fig = plotting.plot_group_results(results)
    colors = [bar.get_facecolor() for bar in fig.axes[0].patches]
    assert colors[0] != colors[1] and colors[1] == colors[2]
    results["region"] = ["a", "b", "c"]
    fig = plotting.plot_group_results(results, planted=["c"])
    np.testing.assert_array_equal(fig.axes[0].lines[-1].get_xdata(), [2])


def test_plot_states_one_panel_per_state(rng):
    centroids = rng.standard_normal((3, 4, 4))
    fig = plotting.plot_states(centroids, occupancy=[0.5, 0.3, 0.2])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["state 1 (50 %)", "state 2 (30 %)", "state 3 (20 %)"]
