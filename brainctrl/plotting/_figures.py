"""Matplotlib figures used by the notebooks and the pipeline report."""

import numpy as np
import pandas as pd

__all__ = [
    "plot_energy_comparison",
    "plot_group_results",
    "plot_loadings",
    "plot_matrix",
    "plot_network_values",
    "plot_prediction",
    "plot_region_values",
    "plot_states",
]


def _axes(ax, figsize=(5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _network_boundaries(networks):
    networks = np.asarray(networks, dtype=object)
    change = np.flatnonzero(networks[1:] != networks[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(networks)]
    return starts, ends, networks[starts]


def plot_matrix(matrix, *, networks=None, title=None, ax=None, vmax=None, cmap="RdBu_r"):
    """Show a region-by-region matrix, with network boundaries if given.

    Parameters
    ----------
    matrix : ndarray of shape (n_regions, n_regions)
        E.g. functional connectivity or a brain-state centroid.
    networks : sequence of str, optional
        Network of each region (e.g. ``regions["network"]``); regions are
        drawn in the given order, with lines between runs of one network.
    """
    fig, ax = _axes(ax)
    matrix = np.asarray(matrix, dtype=float)
    if vmax is None:
        off = matrix[~np.eye(len(matrix), dtype=bool)]
        vmax = float(np.nanmax(np.abs(off))) if off.size else 1.0
    image = ax.imshow(matrix, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    if networks is not None:
        starts, ends, names = _network_boundaries(networks)
        for edge in starts[1:]:
            ax.axhline(edge - 0.5, color="k", lw=0.5)
            ax.axvline(edge - 0.5, color="k", lw=0.5)
        ax.set_xticks((starts + ends - 1) / 2, names, rotation=90, fontsize=7)
        ax.set_yticks((starts + ends - 1) / 2, names, fontsize=7)
    else:
        ax.set_xlabel("region")
        ax.set_ylabel("region")
    if title:
        ax.set_title(title)
    return fig


def plot_states(centroids, *, networks=None, occupancy=None, titles=None):
    """Brain-state centroids side by side (one panel per state)."""
    import matplotlib.pyplot as plt

    centroids = np.asarray(centroids)
    k = len(centroids)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.4), layout="constrained", squeeze=False)
    vmax = float(np.nanpercentile(np.abs(centroids), 99))
    for i, ax in enumerate(axes[0]):
        title = titles[i] if titles else f"state {i + 1}"
        if occupancy is not None:
            title += f" ({100 * occupancy[i]:.0f} %)"
        plot_matrix(centroids[i], networks=networks, title=title, ax=ax, vmax=vmax)
    return fig


def plot_region_values(values, regions, *, title=None, cmap="viridis"):
    """Regional values on a glass brain (MNI coordinates) or as bars by network.

    Parameters
    ----------
    values : ndarray of shape (n_regions,)
        One value per region (e.g. average controllability).
    regions : DataFrame
        Region table; with ``x``, ``y``, ``z`` columns (MNI millimetres) the
        values are drawn as markers at the region centroids on nilearn's glass
        brain (left, top and right views); otherwise as network means.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=float)
    if not {"x", "y", "z"} <= set(regions.columns):
        return plot_network_values(values, regions, title=title)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from nilearn.plotting import plot_markers

    fig = plt.figure(figsize=(9, 3.2))
    vmin, vmax = float(np.nanmin(values)), float(np.nanmax(values))
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    display = plot_markers(
        values,
        regions[["x", "y", "z"]].to_numpy(float),
        node_cmap=cmap,
        node_vmin=vmin,
        node_vmax=vmax,
        node_size=25,
        display_mode="lzr",
        figure=fig,
        title=title,
        colorbar=False,
    )
    # nilearn's own marker colour bar fails for some value ranges; draw ours
    mappable = ScalarMappable(norm=Normalize(vmin, vmax), cmap=cmap)
    fig.colorbar(mappable, ax=list(display.axes.values())[-1].ax, fraction=0.05, pad=0.02)
    return fig


def plot_network_values(values, regions, *, title=None, ax=None):
    """Mean (± s.e.m.) of regional values per network as bars."""
    fig, ax = _axes(ax, figsize=(5, 3.2))
    table = pd.DataFrame({"network": regions["network"].astype(str), "value": values})
    summary = table.groupby("network", sort=False)["value"].agg(["mean", "sem"])
    ax.bar(summary.index, summary["mean"], yerr=summary["sem"].fillna(0), color="0.6")
    ax.tick_params(axis="x", rotation=45)
    if title:
        ax.set_title(title)
    return fig


def plot_energy_comparison(table, *, ax=None):
    """Per-subject transition energy, static versus dynamic network (log axes).

    Parameters
    ----------
    table : DataFrame
        Columns ``static`` and ``dynamic`` (one row per subject), optionally
        ``condition_number`` (of the static Gramian) to colour the points;
        infinite condition numbers (numerically singular Gramians) are drawn
        at 1e17, the largest a float64 Gramian can show.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(4.8, 4))
    energies = table[["static", "dynamic"]].to_numpy(float)
    color = None
    if "condition_number" in table:
        cond = table["condition_number"].to_numpy(float)
        color = np.log10(np.clip(np.where(np.isfinite(cond), cond, 1e17), 1.0, 1e17))
    points = ax.scatter(
        energies[:, 0], energies[:, 1], c=color, cmap="magma", s=25, edgecolor="k", linewidth=0.3
    )
    low, high = np.nanmin(energies), np.nanmax(energies)
    ax.plot([low, high], [low, high], "k--", lw=0.8, label="equal energy")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("energy, static network")
    ax.set_ylabel("energy, dynamic network")
    ax.legend(loc="upper left", fontsize=8)
    if color is not None:
        fig.colorbar(points, ax=ax, label="log10 condition number, static Gramian")
    return fig


def plot_group_results(table, *, alpha=0.05, ax=None, title=None, planted=None):
    """Region-wise t statistics with the FDR-significant regions highlighted.

    Parameters
    ----------
    table : DataFrame
        One row per region with ``t`` and ``p_fdr`` (and ``region`` when
        ``planted`` is given), e.g. from :func:`brainctrl.stats.group_comparison`.
    alpha : float, default=0.05
        FDR level; bars with ``p_fdr < alpha`` are red.
    planted : collection of str, optional
        Regions with a known (planted) effect, marked with a triangle.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(8, 3))
    t = table["t"].to_numpy(float)
    significant = table["p_fdr"].to_numpy(float) < alpha
    colors = np.where(significant, "tab:red", "0.7")
    ax.bar(np.arange(len(t)), t, color=colors)
    ax.axhline(0, color="k", lw=0.5)
    if planted is not None:
        marked = np.flatnonzero(table["region"].astype(str).isin(set(planted)).to_numpy())
        top = np.nanmax(np.abs(t)) * 1.1
        ax.plot(marked, np.full(marked.size, top), "v", color="k", ms=5, label="planted")
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("region")
    ax.set_ylabel("t")
    ax.set_title(title or f"group comparison (red: FDR < {alpha})")
    return fig


def plot_loadings(weights, names, *, ax=None, title=None, top=20):
    """Largest sparse-CCA weights (or any loadings) as horizontal bars.

    Parameters
    ----------
    weights : ndarray of shape (n_features,)
    names : sequence of str of length n_features
    top : int, default=20
        Number of largest-magnitude weights shown (positive red, negative blue).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(4.5, 0.25 * min(top, len(names)) + 1))
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(-np.abs(weights))[:top][::-1]
    ax.barh(
        np.asarray(names, dtype=object)[order],
        weights[order],
        color=np.where(weights[order] > 0, "tab:red", "tab:blue"),
    )
    ax.axvline(0, color="k", lw=0.5)
    ax.tick_params(axis="y", labelsize=7)
    if title:
        ax.set_title(title)
    return fig


def plot_prediction(observed, predicted, *, ax=None, title=None):
    """Observed against cross-validated predicted scores.

    Parameters
    ----------
    observed, predicted : ndarray of shape (n_subjects,)
        E.g. ``result.observed[0]`` and ``result.predictions[0]`` of
        :func:`brainctrl.stats.predict_behaviour`. The default title gives
        their Pearson correlation.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(4, 4))
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ax.scatter(observed, predicted, s=15)
    r = np.corrcoef(observed, predicted)[0, 1]
    low, high = np.nanmin(observed), np.nanmax(observed)
    ax.plot([low, high], [low, high], "k--", lw=0.8)
    ax.set_xlabel("observed")
    ax.set_ylabel("predicted (cross-validated)")
    ax.set_title(title or f"r = {r:.2f}")
    return fig
