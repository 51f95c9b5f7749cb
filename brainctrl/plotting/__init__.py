"""Figures: matrices, brain maps of regional values, and comparisons.

Every function draws into ``ax`` (or a new figure) and returns the figure, so
figures can be embedded in notebooks or written by the pipeline report.
"""

from brainctrl.plotting._figures import (
    plot_energy_comparison,
    plot_energy_ratios,
    plot_group_results,
    plot_loadings,
    plot_matrix,
    plot_network_values,
    plot_prediction,
    plot_region_values,
    plot_states,
)

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
