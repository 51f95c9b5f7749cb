"""CPM (``model="cpm"``) against the original connectome-based predictive modelling code.

The values in ``tests/data/cpm_reference`` were computed by ``cpm_cv.m`` and
``train_cpm.m`` of GitHub YaleMRRC/CPM (Shen, Finn et al.; separate positive and
negative network models, ``polyfit`` on the summed selected edges) run in GNU
Octave 7.3.0 on a synthetic cohort of 80 subjects x 435 edges with a planted
link to the score; the fold assignment (``randperm`` in ``cpm_cv.m``) is stored
and reused here. ``*__both_pred`` is the combined model of the Shen et al. (2017)
protocol, ``regress(y, [sumpos, sumneg, 1])``, fitted in Octave on the original's
masks. See the README there.

brainctrl returns predictions only; the fitted model is linear in the sum of a
test subject's selected edges, so probe test rows reveal it: a zero row is
predicted as the intercept, a unit row ``e_j`` as intercept + slope if edge ``j``
was selected and as the intercept (exactly) if not.
"""

from pathlib import Path

import numpy as np
import pytest

from brainctrl.stats import predict_behaviour

# leave-one-out folds and the probe rows (a constant test target) have no per-fold
# correlation; these tests compare predictions, masks and fits only
pytestmark = pytest.mark.filterwarnings("ignore::brainctrl.exceptions.UndefinedScoreWarning")

REFERENCE = Path(__file__).parents[1] / "data" / "cpm_reference" / "reference.npz"
CASES = ("k5_p01", "k10_p05", "loo_p01")
NETWORKS = {"positive": ("pos", 0), "negative": ("neg", 2)}


class _FixedSplits:
    """Splitter yielding the given ``(train, test)`` index pairs."""

    def __init__(self, splits):
        self.splits = splits

    def split(self, features, target=None, groups=None):
        return iter(self.splits)


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as archive:
        return {key: archive[key] for key in archive.files}


def _data(reference):
    return reference["edge_codes"] / 1000.0, reference["behav"]


def _folds(reference, case):
    """Test folds of ``cpm_cv.m``: consecutive blocks of ``randperm`` (1-based)."""
    order = reference[f"{case}__randinds"].astype(int) - 1
    n_folds = int(reference[f"{case}__kfolds"])
    size = order.size // n_folds
    return [order[fold * size : (fold + 1) * size] for fold in range(n_folds)]


def _splits(reference, case):
    n = reference["behav"].size
    return [(np.setdiff1d(np.arange(n), test), test) for test in _folds(reference, case)]


def _by_subject(reference, case, key):
    """Map a gathered vector of ``cpm_cv.m`` (kfolds x ksample, column-major) to subjects."""
    folds = _folds(reference, case)
    gathered = reference[f"{case}__{key}"].reshape(folds[0].size, len(folds)).T
    out = np.full(reference["behav"].size, np.nan)
    for test, values in zip(folds, gathered):
        out[test] = values
    return out


def _masks(reference, case, which):
    packed = reference[f"{case}__{which}_mask_upper_packed"]
    n_edges = reference["edge_codes"].shape[1]
    return np.unpackbits(packed, axis=1, count=n_edges).astype(bool)


@pytest.mark.parametrize("case", CASES)
def test_fold_bookkeeping_reproduces_original_test_sets(reference, case):
    # the gathered test scores of cpm_cv.m are the scores of the reconstructed folds
    np.testing.assert_array_equal(
        _by_subject(reference, case, "test_behav_gather"), reference["behav"]
    )


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("case", CASES)
def test_predictions_match_original(reference, case, network):
    features, target = _data(reference)
    result = predict_behaviour(
        features,
        target,
        model="cpm",
        cv=_FixedSplits(_splits(reference, case)),
        threshold=float(reference[f"{case}__thresh"]),
        cpm_networks=network,
    )
    which = NETWORKS[network][0]
    expected = _by_subject(reference, case, f"behav_pred_{which}")
    np.testing.assert_allclose(result.predictions[0], expected, rtol=1e-12)


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("case", CASES)
def test_masks_slopes_and_intercepts_match_original(reference, case, network):
    features, target = _data(reference)
    n_edges = features.shape[1]
    threshold = float(reference[f"{case}__thresh"])
    which, column = NETWORKS[network]
    masks = _masks(reference, case, which)
    fits = reference[f"{case}__fits"]  # polyfit [slope, intercept] of pos, then neg
    probes = np.vstack([np.eye(n_edges), np.zeros((1, n_edges))])
    for fold, (train, _) in enumerate(_splits(reference, case)):
        n_train = train.size
        predicted = predict_behaviour(
            np.vstack([features[train], probes]),
            np.concatenate([target[train], np.zeros(n_edges + 1)]),
            model="cpm",
            cv=_FixedSplits([(np.arange(n_train), np.arange(n_train, n_train + n_edges + 1))]),
            threshold=threshold,
            cpm_networks=network,
        ).predictions[0][n_train:]
        intercept = predicted[-1]
        shift = predicted[:-1] - intercept
        np.testing.assert_array_equal(shift != 0, masks[fold])
        np.testing.assert_allclose(shift[masks[fold]], fits[fold, column], rtol=1e-12)
        np.testing.assert_allclose(intercept, fits[fold, column + 1], rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_combined_model_matches_protocol_regression(reference, case):
    features, target = _data(reference)
    result = predict_behaviour(
        features,
        target,
        model="cpm",
        cv=_FixedSplits(_splits(reference, case)),
        threshold=float(reference[f"{case}__thresh"]),
        cpm_networks="both",
    )
    np.testing.assert_allclose(result.predictions[0], reference[f"{case}__both_pred"], rtol=1e-12)


def test_full_matrix_vectors_give_the_same_predictions(reference):
    # the original takes vectorised full M x M matrices and halves the sums; brainctrl
    # given the same full vectors (both triangles, constant zero diagonal) selects both
    # copies of each edge, so its sums double and the predictions are unchanged
    features, target = _data(reference)
    n_regions = int(reference["n_regions"])
    upper = np.triu_indices(n_regions, 1)
    full = np.zeros((target.size, n_regions, n_regions))
    full[:, upper[0], upper[1]] = features
    full = (full + np.swapaxes(full, 1, 2)).reshape(target.size, -1)
    result = predict_behaviour(
        full,
        target,
        model="cpm",
        cv=_FixedSplits(_splits(reference, "k5_p01")),
        threshold=float(reference["k5_p01__thresh"]),
        cpm_networks="positive",
    )
    expected = _by_subject(reference, "k5_p01", "behav_pred_pos")
    np.testing.assert_allclose(result.predictions[0], expected, rtol=1e-12)
