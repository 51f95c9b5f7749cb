"""Group statistics: mass-univariate GLM with permutations, FDR, network-based statistic."""

from brainctrl.stats._glm import group_comparison
from brainctrl.stats._multiple import fdr_correction
from brainctrl.stats._nbs import NetworkBasedStatisticResult, network_based_statistic

__all__ = [
    "NetworkBasedStatisticResult",
    "fdr_correction",
    "group_comparison",
    "network_based_statistic",
]
