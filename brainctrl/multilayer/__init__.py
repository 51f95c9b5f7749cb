"""Multilayer communities of network sequences and their reconfiguration measures."""

from brainctrl.multilayer._modularity import (
    MultilayerResult,
    multilayer_modularity,
    multilayer_modularity_matrix,
    multilayer_quality,
)
from brainctrl.multilayer._null import NullComparison, compare_with_null, multilayer_null_model
from brainctrl.multilayer._reconfiguration import (
    cohesion,
    cohesion_matrix,
    disjointedness,
    flexibility,
    integration,
    module_allegiance,
    module_size_entropy,
    network_summary,
    persistence,
    promiscuity,
    reconfiguration_measures,
    recruitment,
    system_interaction,
)

__all__ = [
    "MultilayerResult",
    "multilayer_modularity",
    "multilayer_modularity_matrix",
    "multilayer_quality",
    "NullComparison",
    "compare_with_null",
    "multilayer_null_model",
    "cohesion",
    "cohesion_matrix",
    "disjointedness",
    "flexibility",
    "integration",
    "module_allegiance",
    "module_size_entropy",
    "network_summary",
    "persistence",
    "promiscuity",
    "reconfiguration_measures",
    "recruitment",
    "system_interaction",
]
