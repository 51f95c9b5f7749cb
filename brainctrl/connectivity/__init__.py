"""Functional connectivity: static, sliding-window (dynamic) and brain states."""

from brainctrl.connectivity.dynamic import (
    ConstantWindowWarning,
    ShortWindowWarning,
    connectivity_dynamics,
    minimum_window_length,
    sliding_window_connectivity,
    taper_weights,
    window_centres,
    windows_from_seconds,
)
from brainctrl.connectivity.states import (
    BrainStates,
    dwell_times,
    fractional_occupancy,
    transition_matrix,
)
from brainctrl.connectivity.static import functional_connectivity
from brainctrl.connectivity.threshold import (
    correlation_pvalues,
    fdr_bh,
    threshold_absolute,
    threshold_proportional,
    threshold_significance,
)

__all__ = [
    "BrainStates",
    "ConstantWindowWarning",
    "ShortWindowWarning",
    "connectivity_dynamics",
    "correlation_pvalues",
    "dwell_times",
    "fdr_bh",
    "fractional_occupancy",
    "functional_connectivity",
    "minimum_window_length",
    "sliding_window_connectivity",
    "taper_weights",
    "threshold_absolute",
    "threshold_proportional",
    "threshold_significance",
    "transition_matrix",
    "window_centres",
    "windows_from_seconds",
]
