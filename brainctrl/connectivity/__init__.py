"""Connectivity: functional (static, sliding-window, brain states) and structural."""

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
from brainctrl.connectivity.structural import consensus_structural, scale_structural
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
    "consensus_structural",
    "correlation_pvalues",
    "dwell_times",
    "fdr_bh",
    "fractional_occupancy",
    "functional_connectivity",
    "minimum_window_length",
    "scale_structural",
    "sliding_window_connectivity",
    "taper_weights",
    "threshold_absolute",
    "threshold_proportional",
    "threshold_significance",
    "transition_matrix",
    "window_centres",
    "windows_from_seconds",
]
