import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from brainctrl import plotting  # noqa: E402
from brainctrl.exceptions import InvalidParameterError  # noqa: E402
from brainctrl.plotting._figures import _spread  # noqa: E402


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


def test_plot_loadings_orders_by_magnitude():
    fig = plotting.plot_loadings(np.array([0.1, -0.9, 0.5]), ["a", "b", "c"], top=2)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["c", "b"]


def test_plot_energy_and_group_results():
    table = pd.DataFrame(
        {"static": [1.0, 10.0], "dynamic": [0.5, 2.0], "condition_number": [1e3, 1e12]}
    )
    fig = plotting.plot_energy_comparison(table)
    assert fig.axes[0].get_xscale() == "log"
    # a numerically singular Gramian (infinite condition number) is still drawn, as an
    # open marker named in the legend, not as a made-up colour
    table.loc[1, "condition_number"] = np.inf
    fig = plotting.plot_energy_comparison(table)
    colours = fig.axes[0].collections[0].get_array()
    np.testing.assert_allclose(colours, [3.0])
    np.testing.assert_allclose(fig.axes[0].collections[1].get_offsets(), [[10.0, 2.0]])
    assert "condition number inf" in fig.axes[0].get_legend_handles_labels()[1]
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


# Cole-Anticevic network partition of the 360 Glasser cortical areas (Ji et al. 2019):
# twelve networks, three of them with 4-7 areas, listed alphabetically as the pipeline
# orders regions
COLE_ANTICEVIC = {
    "Auditory": 15,
    "Cingulo-Opercular": 56,
    "Default": 77,
    "Dorsal-attention": 23,
    "Frontoparietal": 50,
    "Language": 23,
    "Orbito-Affective": 6,
    "Posterior-Multimodal": 7,
    "Somatomotor": 39,
    "Ventral-Multimodal": 4,
    "Visual1": 6,
    "Visual2": 54,
}


def _cole_networks():
    return np.repeat(list(COLE_ANTICEVIC), list(COLE_ANTICEVIC.values()))


def _boxes(fig, labels):
    """Window extents of the tick labels a reader sees (drawn with the Agg canvas)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [
        label.get_window_extent(renderer)
        for label in labels
        if label.get_visible() and label.get_text()
    ]


def _assert_disjoint(boxes):
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            assert not first.overlaps(second), (first, second)


def _assert_inside_figure(fig, boxes):
    width, height = fig.canvas.get_width_height()
    for box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, box


def _colorbars(fig):
    axes = [*fig.axes, *(child for ax in fig.axes for child in ax.child_axes)]
    return [ax for ax in axes if ax.get_label() == "<colorbar>"]


def _texts(labels):
    return [label.get_text() for label in labels]


def test_spread_is_the_closest_ordered_layout_with_the_gap():
    # three labels wanted at 0, 0.1 and 0.2 with a gap of 1: least squares puts the
    # middle one where it was wanted and the others one gap away
    np.testing.assert_allclose(_spread([0.0, 0.1, 0.2], 1.0, -10, 10), [-0.9, 0.1, 1.1])
    # far-apart labels stay where they are
    np.testing.assert_allclose(_spread([0.0, 5.0, 9.0], 1.0, -10, 10), [0.0, 5.0, 9.0])
    # bounds push a crowded end inwards, keeping the gap
    np.testing.assert_allclose(_spread([9.8, 9.9], 1.0, 0, 10), [9.0, 10.0])


def test_plot_matrix_names_twelve_networks_without_overlap(rng):
    networks = _cole_networks()
    fc = np.corrcoef(rng.standard_normal((200, len(networks))), rowvar=False)
    fig = plotting.plot_matrix(fc, networks=networks, title="mean static FC")
    ax = fig.axes[0]
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        assert _texts(labels) == list(COLE_ANTICEVIC)
        boxes = _boxes(fig, labels)
        _assert_disjoint(boxes)
        _assert_inside_figure(fig, boxes)
    # every moved label is joined to its own block by a leader line
    starts = np.r_[0, np.cumsum(list(COLE_ANTICEVIC.values()))]
    leaders = [line for line in ax.lines if line.get_gid() == "network-leader-x"]
    assert len(leaders) == len(COLE_ANTICEVIC)
    for line, start, end, tick in zip(leaders, starts[:-1], starts[1:], ax.get_xticks()):
        xdata = line.get_xdata()
        assert start - 0.5 <= xdata[0] <= end - 0.5
        assert xdata[-1] == pytest.approx(tick)
    # the colour bar says what the colours are
    (colorbar,) = _colorbars(fig)
    assert colorbar.get_ylabel() == "Pearson r"
    fig = plotting.plot_matrix(fc, networks=networks, label="Fisher z")
    assert _colorbars(fig)[0].get_ylabel() == "Fisher z"


def test_plot_matrix_shrinks_then_drops_names_that_cannot_fit(rng):
    # 40 networks of 1-3 regions on a small axis: too many names at any readable size
    sizes = 1 + np.arange(40) % 3
    networks = np.repeat([f"network-{i:02d}" for i in range(40)], sizes)
    fig, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    plotting.plot_matrix(np.eye(len(networks)), networks=networks, ax=ax)
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        shown = _texts(labels)
        assert 0 < len(shown) < 40
        assert all(label.get_fontsize() >= 5 for label in labels)
        # the networks named are the largest ones
        named = np.isin([f"network-{i:02d}" for i in range(40)], shown)
        assert sizes[named].min() >= sizes[~named].max()
        _assert_disjoint(_boxes(fig, labels))


def test_plot_states_labels_and_one_labelled_colour_bar(rng):
    networks = _cole_networks()
    n = len(networks)
    centroids = np.stack([np.corrcoef(rng.standard_normal((100, n)), rowvar=False)] * 3)
    fig = plotting.plot_states(centroids, networks=networks, occupancy=[0.5, 0.3, 0.2])
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3
    (colorbar,) = _colorbars(fig)
    assert colorbar.get_ylabel() == "Pearson r"
    for ax in panels:
        boxes = _boxes(fig, ax.get_xticklabels())
        assert len(boxes) == 12
        _assert_disjoint(boxes)
        _assert_inside_figure(fig, boxes)
    y_boxes = _boxes(fig, panels[0].get_yticklabels())
    assert len(y_boxes) == 12
    _assert_disjoint(y_boxes)
    _assert_inside_figure(fig, y_boxes)
    # the colour bar sits beside the last panel, over none of them
    fig.canvas.draw()
    bar = colorbar.get_window_extent()
    assert not any(bar.overlaps(ax.get_window_extent()) for ax in panels)


def test_plot_network_values_shows_the_spread_of_values_near_one():
    networks = _cole_networks()
    regions = pd.DataFrame({"name": [f"r{i}" for i in range(len(networks))], "network": networks})
    # average controllability-like values: 1.00-1.03, Default higher than the rest
    values = 1.0 + 0.02 * ((np.arange(len(networks)) * 0.37) % 1) + 0.01 * (networks == "Default")
    fig = plotting.plot_network_values(
        values, regions, label="average controllability", title="by network"
    )
    ax = fig.axes[0]
    assert ax.get_xlabel() == "average controllability"
    # the value axis spans the data, not zero: the network means differ visibly
    low, high = ax.get_xlim()
    assert low > 0.99 and high < 1.04
    means = pd.Series(values).groupby(networks, sort=False).mean()
    (errorbar,) = ax.containers
    np.testing.assert_allclose(errorbar.lines[0].get_xdata(), means.to_numpy())
    assert (means.max() - means.min()) / (high - low) > 0.25
    # every region is drawn, and the twelve names do not overlap
    assert len(ax.collections[0].get_offsets()) == len(values)
    assert _texts(ax.get_yticklabels()) == list(means.index)
    boxes = _boxes(fig, ax.get_yticklabels())
    _assert_disjoint(boxes)
    _assert_inside_figure(fig, boxes)


def test_plot_region_values_colour_bar_beside_the_brain_views(sample_dir):
    regions = pd.read_csv(sample_dir / "rois.tsv", sep="\t")
    values = 1.0 + 0.05 * np.linspace(0, 1, len(regions))
    fig = plotting.plot_region_values(values, regions, title="mean average controllability")
    (colorbar,) = _colorbars(fig)
    views = [ax for ax in fig.axes if ax is not colorbar]
    assert len(views) >= 3  # left, top and right views (and nilearn's frame around them)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bar = colorbar.get_tightbbox(renderer)  # with its ticks and label
    for view in views:
        assert not bar.overlaps(view.get_window_extent(renderer))
    _assert_inside_figure(fig, [bar])
    assert colorbar.get_ylabel() == "mean average controllability"
    assert colorbar.get_ylim() == pytest.approx((values.min(), values.max()))
    fig = plotting.plot_region_values(values, regions, label="average controllability")
    assert _colorbars(fig)[0].get_ylabel() == "average controllability"
    # without coordinates, the values are drawn per network
    fig = plotting.plot_region_values(values, regions[["name", "network"]], label="a.c.")
    assert _texts(fig.axes[0].get_yticklabels()) == list(regions["network"].unique())
    assert fig.axes[0].get_xlabel() == "a.c."


def test_plot_prediction_title_says_which_r(rng):
    observed = rng.standard_normal(50)
    predicted = observed + 0.5 * rng.standard_normal(50)
    r = np.corrcoef(observed, predicted)[0, 1]
    fig = plotting.plot_prediction(observed, predicted)
    assert fig.axes[0].get_title() == f"r = {r:.2f} (points shown, folds pooled)"
    fig = plotting.plot_prediction(
        observed,
        predicted,
        title="score: combined",
        label="score",
        mean_r=0.4123,
        n_folds=5,
        n_repeats=3,
    )
    ax = fig.axes[0]
    assert ax.get_title().split("\n") == [
        "score: combined",
        f"r = {r:.2f} (points shown, folds pooled)",
        "mean per-fold r over 5 folds x 3 repeats = 0.41",
    ]
    assert ax.get_xlabel() == "observed score"
    # subjects a splitter left out (NaN) are not drawn and not counted
    predicted[:5] = np.nan
    fig = plotting.plot_prediction(observed, predicted)
    assert len(fig.axes[0].collections[0].get_offsets()) == 45
    r_kept = np.corrcoef(observed[5:], predicted[5:])[0, 1]
    assert fig.axes[0].get_title() == f"r = {r_kept:.2f} (points shown, folds pooled)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"predicted": np.zeros(4)}, r"must be 1-D arrays of one length; got shapes \(5,\)"),
        ({"n_folds": 5}, r"'n_folds' describes mean_r; pass mean_r too \(got n_folds=5\)"),
        ({"mean_r": 0.3, "n_repeats": 0}, r"'n_repeats' must be a positive integer; got 0"),
        ({"predicted": np.array([1.0, np.nan, np.nan, np.nan, 2.0])}, r"at least 3 finite pairs"),
    ],
)
def test_plot_prediction_errors(kwargs, message):
    arguments = {"observed": np.arange(5.0), "predicted": np.arange(5.0) + 1} | kwargs
    observed, predicted = arguments.pop("observed"), arguments.pop("predicted")
    with pytest.raises(InvalidParameterError, match=message):
        plotting.plot_prediction(observed, predicted, **arguments)
