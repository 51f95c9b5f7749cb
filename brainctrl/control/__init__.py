"""Network control theory: system matrices, controllability and transition energies.

Linear dynamics ``dx/dt = A x + B u`` (continuous time) or
``x[t+1] = A x[t] + B u[t]`` (discrete time) on a brain network. ``A`` comes
from :func:`normalize_adjacency` (structural or functional connectivity) or
:func:`fc_to_system`; ``B`` from :func:`control_set`, a boolean mask, an index
list or an ``(n_regions, n_inputs)`` matrix. Every function accepts leading
batch axes (subjects, windows) and computes all nodes from one decomposition.
"""

from brainctrl.control.energy import (
    EnergyResult,
    minimum_energy,
    time_varying_energy,
    transition_energy_matrix,
)
from brainctrl.control.gramian import (
    average_controllability,
    average_energy,
    controllability_gramian,
    gramian_conditioning,
    modal_controllability,
)
from brainctrl.control.nulls import (
    NullTestResult,
    control_null_pvalues,
    rewire_preserving_degree,
    spectrum_preserving_surrogate,
)
from brainctrl.control.optimal import OptimalControlResult, optimal_control
from brainctrl.control.systems import (
    control_set,
    fc_pvalues,
    fc_to_system,
    mixed_control_set,
    normalize_adjacency,
    random_control_sets,
)

__all__ = [
    "EnergyResult",
    "NullTestResult",
    "OptimalControlResult",
    "average_controllability",
    "average_energy",
    "control_null_pvalues",
    "control_set",
    "controllability_gramian",
    "fc_pvalues",
    "fc_to_system",
    "gramian_conditioning",
    "minimum_energy",
    "mixed_control_set",
    "modal_controllability",
    "normalize_adjacency",
    "optimal_control",
    "random_control_sets",
    "rewire_preserving_degree",
    "spectrum_preserving_surrogate",
    "time_varying_energy",
    "transition_energy_matrix",
]
