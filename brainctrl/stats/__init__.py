"""Group statistics: mass-univariate GLM with permutations, FDR, network-based statistic."""

from brainctrl.stats._cca import SparseCCA
from brainctrl.stats._cca_inference import (
    PenaltySelection,
    SparseCCAPermutationResult,
    StabilityResult,
    bootstrap_stability,
    select_penalties,
    sparse_cca_permutation_test,
)
from brainctrl.stats._glm import group_comparison
from brainctrl.stats._multiple import fdr_correction
from brainctrl.stats._nbs import NetworkBasedStatisticResult, network_based_statistic
from brainctrl.stats._predict import (
    FeatureSetComparison,
    PredictionResult,
    compare_feature_sets,
    predict_behaviour,
)
from brainctrl.stats._spatial import (
    MapComparisonResult,
    compare_maps,
    spin_permutations,
    variogram_surrogates,
)
from brainctrl.stats._ttest import corrected_resampled_ttest

__all__ = [
    "NetworkBasedStatisticResult",
    "PenaltySelection",
    "SparseCCA",
    "SparseCCAPermutationResult",
    "StabilityResult",
    "bootstrap_stability",
    "FeatureSetComparison",
    "PredictionResult",
    "compare_feature_sets",
    "corrected_resampled_ttest",
    "predict_behaviour",
    "select_penalties",
    "sparse_cca_permutation_test",
    "fdr_correction",
    "group_comparison",
    "network_based_statistic",
    "MapComparisonResult",
    "compare_maps",
    "spin_permutations",
    "variogram_surrogates",
]
