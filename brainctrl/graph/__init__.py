"""Graph measures, single-layer communities and null models of brain networks."""

from brainctrl.graph._communities import (
    CommunityResult,
    agreement,
    consensus_partition,
    modularity,
    modularity_communities,
)
from brainctrl.graph._louvain import louvain_partition, relabel_ordinal_partition
from brainctrl.graph._measures import (
    GLOBAL_MEASURES,
    NODE_MEASURES,
    global_graph_measures,
    graph_measures,
    rich_club,
)
from brainctrl.graph._nulls import geometry_preserving_surrogate, randomize_strength_preserving
from brainctrl.graph._threshold import (
    binarize,
    threshold_absolute,
    threshold_proportional,
    weight_to_length,
)

__all__ = [
    "CommunityResult",
    "agreement",
    "consensus_partition",
    "louvain_partition",
    "modularity",
    "modularity_communities",
    "relabel_ordinal_partition",
    "GLOBAL_MEASURES",
    "NODE_MEASURES",
    "binarize",
    "geometry_preserving_surrogate",
    "global_graph_measures",
    "graph_measures",
    "randomize_strength_preserving",
    "rich_club",
    "threshold_absolute",
    "threshold_proportional",
    "weight_to_length",
]
