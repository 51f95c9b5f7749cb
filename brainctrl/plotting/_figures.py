"""Matplotlib figures used by the notebooks and the pipeline report."""

import numpy as np
import pandas as pd

__all__ = [
    "plot_energy_comparison",
    "plot_energy_ratios",
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


def _spread(centres, gap, low, high):
    """Positions closest to ``centres`` (least squares) at least ``gap`` apart, in order.

    With ``q_i = p_i − i·gap`` the constraint ``p_(i+1) − p_i ≥ gap`` reads
    ``q`` non-decreasing, so the positions are the isotonic regression of
    ``centres − i·gap`` (pool-adjacent-violators), clipped to the bounds.
    """
    shifted = np.asarray(centres, dtype=float) - gap * np.arange(len(centres))
    blocks = []  # [mean, weight]
    for value in shifted:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            value, weight = blocks.pop()
            last = blocks[-1]
            last[0] = (last[0] * last[1] + value * weight) / (last[1] + weight)
            last[1] += weight
    fitted = np.concatenate([np.full(weight, value) for value, weight in blocks])
    fitted = np.clip(fitted, low, max(low, high - gap * (len(centres) - 1)))
    return fitted + gap * np.arange(len(centres))


def _label_networks(ax, networks, *, x=True, y=True, fontsize=7, min_fontsize=5):
    """Name each run of one network along the axes of a matrix, no two labels overlapping.

    Lines separate the networks (in both directions; ``x`` and ``y`` say
    which axes get names); each name sits at its block's centre where
    there is room, else it is moved aside (neighbours keep their order) and a
    short leader line joins it to its block. The font shrinks down to
    ``min_fontsize`` where the names do not fit the axis, and only then are the
    smallest networks left unnamed (their boundary lines stay).
    """
    starts, ends, names = _network_boundaries(networks)
    sizes = ends - starts
    centres = (starts + ends - 1) / 2
    n_regions = len(networks)
    for edge in starts[1:]:
        ax.axvline(edge - 0.5, color="k", lw=0.5)
        ax.axhline(edge - 0.5, color="k", lw=0.5)
    leader = 5.0  # points between the matrix edge and the labels
    named = [axis for axis, wanted in (("x", x), ("y", y)) if wanted]
    fig = ax.figure
    # the axes' size depends on the labels (constrained layout) and the labels'
    # room on the axes' size: lay out, place, and check until nothing overlaps
    for _ in range(3):
        fig.draw_without_rendering()
        box = ax.get_window_extent()
        for axis in named:
            length_px = box.width if axis == "x" else box.height
            length_pt = length_px * 72 / fig.dpi
            points_per_region = length_pt / n_regions
            size = fontsize
            # a label is about 1.2 font sizes thick; keep 1 point between neighbours
            if len(names) * (1.2 * size + 1) > length_pt:
                size = max(min_fontsize, (length_pt / len(names) - 1) / 1.2)
            gap = (1.2 * size + 1) / points_per_region
            shown = np.ones(len(names), dtype=bool)
            for index in np.argsort(sizes, kind="stable"):
                if shown.sum() * gap <= n_regions:
                    break
                shown[index] = False
            positions = _spread(centres[shown], gap, gap / 2 - 0.5, n_regions - 0.5 - gap / 2)
            _set_network_ticks(ax, axis, positions, names[shown], size, leader)
            _leader_lines(ax, axis, centres[shown], positions, leader, box)
        fig.draw_without_rendering()
        labels = {"x": ax.get_xticklabels(), "y": ax.get_yticklabels()}
        if not any(
            _any_overlap([label.get_window_extent() for label in labels[axis]]) for axis in named
        ):
            break


def _set_network_ticks(ax, axis, positions, names, size, leader):
    if axis == "x":
        ax.set_xticks(positions, list(names), rotation=90, fontsize=size)
        ax.tick_params(axis="x", length=0, pad=leader + 1)
    else:
        ax.set_yticks(positions, list(names), fontsize=size)
        ax.tick_params(axis="y", length=0, pad=leader + 1)


def _leader_lines(ax, axis, centres, positions, leader, box):
    """Lines from each block's centre at the matrix edge to its (possibly moved) label."""
    from matplotlib.transforms import blended_transform_factory as blended

    for line in [line for line in ax.lines if line.get_gid() == f"network-leader-{axis}"]:
        line.remove()
    fig = ax.figure
    size = box.height if axis == "x" else box.width
    depth = leader * fig.dpi / 72 / size  # points -> axes fraction
    if axis == "x":
        transform = blended(ax.transData, ax.transAxes)
    else:
        transform = blended(ax.transAxes, ax.transData)
    for centre, position in zip(centres, positions):
        along, across = [centre, centre, position], [0.0, -depth / 3, -depth]
        ax.plot(
            *((along, across) if axis == "x" else (across, along)),
            color="k",
            lw=0.5,
            transform=transform,
            clip_on=False,
            scalex=False,
            scaley=False,
            gid=f"network-leader-{axis}",
        )


def _any_overlap(boxes):
    boxes = [box for box in boxes if box.width > 0 and box.height > 0]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            if first.overlaps(second):
                return True
    return False


def _draw_matrix(ax, matrix, networks, vmax, cmap):
    matrix = np.asarray(matrix, dtype=float)
    image = ax.imshow(matrix, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if networks is None:
        ax.set_xlabel("region")
        ax.set_ylabel("region")
    return image


def _symmetric_limit(matrix):
    matrix = np.asarray(matrix, dtype=float)
    off = matrix[~np.eye(len(matrix), dtype=bool)]
    limit = float(np.nanmax(np.abs(off))) if off.size else 1.0
    return limit if limit > 0 else 1.0


def plot_matrix(
    matrix, *, networks=None, title=None, ax=None, vmax=None, cmap="RdBu_r", label="Pearson r"
):
    """Show a region-by-region matrix, with network boundaries if given.

    Parameters
    ----------
    matrix : ndarray of shape (n_regions, n_regions)
        E.g. functional connectivity or a brain-state centroid.
    networks : sequence of str, optional
        Network of each region (e.g. ``regions["network"]``); regions are
        drawn in the given order, with lines between runs of one network and
        each run named once. Names that would overlap (small neighbouring
        networks) are moved apart with a leader line to their block, and
        shrunk if the axis is short.
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    vmax : float, optional
        Colour limit, symmetric around 0 (default: the largest absolute
        off-diagonal value).
    cmap : str, default="RdBu_r"
    label : str, default="Pearson r"
        Colour-bar label: what the entries are, with units (e.g. ``"Fisher z"``,
        ``"partial correlation"``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    vmax = _symmetric_limit(matrix) if vmax is None else vmax
    image = _draw_matrix(ax, matrix, networks, vmax, cmap)
    fig.colorbar(image, ax=ax, shrink=0.8, label=label)
    if title:
        ax.set_title(title)
    if networks is not None:
        _label_networks(ax, networks)
    return fig


def plot_states(centroids, *, networks=None, occupancy=None, titles=None, label="Pearson r"):
    """Brain-state centroids side by side (one panel per state, one colour bar).

    Parameters
    ----------
    centroids : ndarray of shape (n_states, n_regions, n_regions)
    networks : sequence of str, optional
        Network of each region, as in :func:`plot_matrix` (named on every
        panel's x axis and on the first panel's y axis).
    occupancy : sequence of float, optional
        Fraction of windows in each state, added to the titles.
    titles : sequence of str, optional
        Panel titles (default ``"state 1"``, …).
    label : str, default="Pearson r"
        Colour-bar label: what the centroid entries are, with units.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    centroids = np.asarray(centroids)
    k = len(centroids)
    fig, axes = plt.subplots(
        1, k, figsize=(3.4 * k + 0.8, 3.8), layout="constrained", squeeze=False
    )
    vmax = float(np.nanpercentile(np.abs(centroids), 99)) or 1.0
    for i, ax in enumerate(axes[0]):
        title = titles[i] if titles else f"state {i + 1}"
        if occupancy is not None:
            title += f" ({100 * occupancy[i]:.0f} %)"
        image = _draw_matrix(ax, centroids[i], networks, vmax, "RdBu_r")
        ax.set_title(title)
        if i > 0:
            ax.set_yticks([])
            ax.set_ylabel("")
    # one colour bar for all panels, beside the last (a colour bar attached to
    # several axes makes constrained layout clip the first panel's labels)
    cax = axes[0, -1].inset_axes([1.06, 0.1, 0.05, 0.8], label="<colorbar>")
    fig.colorbar(image, cax=cax, label=label)
    if networks is not None:
        for i, ax in enumerate(axes[0]):
            _label_networks(ax, networks, y=i == 0)
    return fig


def plot_region_values(values, regions, *, title=None, label=None, cmap="viridis"):
    """Regional values on a glass brain (MNI coordinates) or per network.

    Parameters
    ----------
    values : ndarray of shape (n_regions,)
        One value per region (e.g. average controllability).
    regions : DataFrame
        Region table; with ``x``, ``y``, ``z`` columns (MNI millimetres) the
        values are drawn as markers at the region centroids on nilearn's glass
        brain (left, top and right views) with a colour bar beside the views;
        otherwise per network by :func:`plot_network_values`.
    title : str, optional
    label : str, optional
        What the values are, with units: the colour-bar label (or the value
        axis of the network plot). Default: ``title``, else ``"value"``.
    cmap : str, default="viridis"

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=float)
    label = label or title or "value"
    if not {"x", "y", "z"} <= set(regions.columns):
        return plot_network_values(values, regions, title=title, label=label)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from nilearn.plotting import plot_markers

    fig = plt.figure(figsize=(10, 3.2))
    vmin, vmax = float(np.nanmin(values)), float(np.nanmax(values))
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    # the brain views fill the left 86 % of the figure; the colour bar and its
    # label get their own strip on the right, so they never cover a view
    plot_markers(
        values,
        regions[["x", "y", "z"]].to_numpy(float),
        node_cmap=cmap,
        node_vmin=vmin,
        node_vmax=vmax,
        node_size=25,
        display_mode="lzr",
        figure=fig,
        axes=[0.0, 0.0, 0.86, 1.0],
        title=title,
        colorbar=False,
    )
    # nilearn's own marker colour bar fails for some value ranges; draw ours
    cax = fig.add_axes([0.875, 0.12, 0.015, 0.76], label="<colorbar>")
    mappable = ScalarMappable(norm=Normalize(vmin, vmax), cmap=cmap)
    fig.colorbar(mappable, cax=cax, label=label)
    return fig


def plot_network_values(values, regions, *, label=None, title=None, ax=None):
    """Regional values grouped by network: every region, and each network's mean ± s.e.m.

    The value axis spans the data, not zero, so differences between networks
    show even when every value is near some large constant (e.g. average
    controllability, 1.0x).

    Parameters
    ----------
    values : ndarray of shape (n_regions,)
    regions : DataFrame
        Region table with a ``network`` column, in the order of ``values``;
        networks are listed top to bottom in order of first appearance.
    label : str, optional
        What the values are, with units (the value-axis label). Default:
        ``title``, else ``"value"``.
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(values, dtype=float)
    table = pd.DataFrame({"network": regions["network"].astype(str).to_numpy(), "value": values})
    summary = table.groupby("network", sort=False)["value"].agg(["mean", "sem"])
    n = len(summary)
    fig, ax = _axes(ax, figsize=(5.5, 0.32 * n + 1.4))
    rows = pd.Series(np.arange(n), index=summary.index)
    offsets = np.zeros(len(table))
    for index in table.groupby("network", sort=False).indices.values():
        # evenly spread, deterministic vertical offsets (golden-ratio sequence)
        offsets[index] = ((np.arange(len(index)) * 0.618) % 1 - 0.5) * 0.5
    ax.scatter(
        table["value"],
        rows[table["network"]].to_numpy() + offsets,
        s=9,
        color="0.6",
        alpha=0.8,
        linewidth=0,
        label="region",
    )
    ax.errorbar(
        summary["mean"].to_numpy(float),
        np.arange(n),
        xerr=summary["sem"].fillna(0).to_numpy(float),
        fmt="D",
        color="k",
        ms=4,
        capsize=3,
        label="network mean ± s.e.m.",
    )
    ax.set_yticks(np.arange(n), list(summary.index), fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel(label or title or "value")
    ax.grid(axis="x", color="0.9", lw=0.5)
    ax.set_axisbelow(True)
    ax.legend(loc="best", fontsize=7)
    if title:
        ax.set_title(title)
    return fig


def plot_energy_comparison(table, *, ax=None, title=None):
    """Transition energy, static versus dynamic network (log axes).

    Parameters
    ----------
    table : DataFrame
        Columns ``static`` and ``dynamic`` (energies, one row per subject or
        transition), optionally ``condition_number`` (of the static Gramian)
        for the colour: ``log10`` of the number itself, the one the tables
        print; an infinite condition number (a singular Gramian) is drawn as
        an open marker and named in the legend, never given a colour.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(4.8, 4))
    energies = table[["static", "dynamic"]].to_numpy(float)
    finite = np.ones(len(table), dtype=bool)
    color = None
    if "condition_number" in table:
        cond = table["condition_number"].to_numpy(float)
        finite = np.isfinite(cond)
        with np.errstate(divide="ignore"):
            color = np.log10(cond[finite])
    points = ax.scatter(
        energies[finite, 0],
        energies[finite, 1],
        c=color,
        cmap="magma",
        s=25,
        edgecolor="k",
        linewidth=0.3,
        gid="energy-points",
    )
    if not finite.all():
        ax.scatter(
            energies[~finite, 0],
            energies[~finite, 1],
            facecolor="none",
            edgecolor="k",
            s=25,
            label="condition number inf",
        )
    shown = energies[np.isfinite(energies).all(axis=1)]
    if shown.size:
        low, high = shown.min(), shown.max()
        ax.plot([low, high], [low, high], "k--", lw=0.8, label="equal energy")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("energy, static network")
    ax.set_ylabel("energy, dynamic network")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    if color is not None and finite.any():
        fig.colorbar(points, ax=ax, label="log10 condition number, static Gramian")
    return fig


def plot_energy_ratios(table, *, ax=None, title=None):
    """Dynamic over static energy per analysis, with confidence intervals (log axis).

    Parameters
    ----------
    table : DataFrame
        One row per analysis: ``analysis``, ``ratio``, ``ci_low``, ``ci_high``,
        ``n_used`` (transitions compared) and optionally ``n_subjects`` (over
        which the interval is computed); rows without a ratio (no
        well-posed transition) are drawn as a note instead of a point.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(6, 0.35 * len(table) + 1.5))
    rows = table.reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    has = rows["ratio"].notna().to_numpy()
    ratio = rows["ratio"].to_numpy(float)
    low = rows["ci_low"].to_numpy(float)
    high = rows["ci_high"].to_numpy(float)
    ax.errorbar(
        ratio[has],
        y[has],
        xerr=[ratio[has] - low[has], high[has] - ratio[has]],
        fmt="o",
        color="k",
        ecolor="0.4",
        capsize=3,
        gid="energy-ratios",
    )
    ax.axvline(1.0, color="tab:red", lw=0.8, ls="--")
    ax.set_xscale("log")
    subjects = rows["n_subjects"] if "n_subjects" in rows else [None] * len(rows)
    ax.set_yticks(
        y,
        [
            f"{a} ({int(n)} transitions" + (f", {int(s)} subjects)" if s is not None else ")")
            for a, n, s in zip(rows["analysis"], rows["n_used"], subjects)
        ],
    )
    for position in y[~has]:
        ax.text(1.0, position, " no well-posed transition", va="center", fontsize=8)
    ax.set_xlabel("dynamic / static energy (geometric mean, 95 % CI)")
    if title:
        ax.set_title(title, fontsize=9)
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


def plot_prediction(
    observed,
    predicted,
    *,
    ax=None,
    title=None,
    label=None,
    mean_r=None,
    n_folds=None,
    n_repeats=None,
):
    """Observed against cross-validated predicted scores, with the r of what is shown.

    The title says which correlation it gives: the Pearson r of the points
    shown (one repeat's out-of-fold predictions, all folds pooled) and, when
    ``mean_r`` is given, the mean per-fold r a results table reports, which
    is a different number.

    Parameters
    ----------
    observed, predicted : ndarray of shape (n_subjects,)
        E.g. ``result.observed[0]`` and ``result.predictions[0]`` of
        :func:`brainctrl.stats.predict_behaviour`; pairs with a NaN (subjects
        a splitter left out) are not drawn.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
        First title line (e.g. the score and feature set).
    label : str, optional
        The score's name, for the axis labels.
    mean_r : float, optional
        The mean over folds (and repeats) of the per-fold Pearson r, e.g.
        ``result.mean_r`` or a feature set's mean ``r`` in
        :class:`brainctrl.stats.FeatureSetComparison` ``.scores``.
    n_folds, n_repeats : int, optional
        The folds and repeats ``mean_r`` averages over, for its description.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidParameterError
        If ``observed`` and ``predicted`` differ in shape or are not 1-D, if
        fewer than 3 pairs are finite, or if ``n_folds`` or ``n_repeats`` is
        given without ``mean_r`` or is not a positive integer.
    """
    from brainctrl.exceptions import InvalidParameterError

    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if observed.ndim != 1 or observed.shape != predicted.shape:
        raise InvalidParameterError(
            "observed and predicted must be 1-D arrays of one length; got shapes "
            f"{observed.shape} and {predicted.shape}."
        )
    for name, value in (("n_folds", n_folds), ("n_repeats", n_repeats)):
        if value is None:
            continue
        if mean_r is None:
            raise InvalidParameterError(
                f"'{name}' describes mean_r; pass mean_r too (got {name}={value!r})."
            )
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(f"'{name}' must be a positive integer; got {value!r}.")
    finite = np.isfinite(observed) & np.isfinite(predicted)
    if finite.sum() < 3:
        raise InvalidParameterError(
            f"observed and predicted need at least 3 finite pairs; got {int(finite.sum())}."
        )
    observed, predicted = observed[finite], predicted[finite]
    fig, ax = _axes(ax, figsize=(4.2, 4.4))
    ax.scatter(observed, predicted, s=15)
    r = np.corrcoef(observed, predicted)[0, 1]
    low, high = np.min(observed), np.max(observed)
    ax.plot([low, high], [low, high], "k--", lw=0.8, label="identity")
    name = f" {label}" if label else ""
    ax.set_xlabel(f"observed{name}")
    ax.set_ylabel(f"predicted{name} (cross-validated)")
    lines = [title] if title else []
    lines.append(f"r = {r:.2f} (points shown, folds pooled)")
    if mean_r is not None:
        over = ""
        if n_folds is not None and n_repeats is not None:
            over = f" over {n_folds} folds x {n_repeats} repeats"
        elif n_folds is not None:
            over = f" over {n_folds} folds"
        elif n_repeats is not None:
            over = f" over {n_repeats} repeats"
        lines.append(f"mean per-fold r{over} = {mean_r:.2f}")
    ax.set_title("\n".join(lines), fontsize=9)
    return fig
