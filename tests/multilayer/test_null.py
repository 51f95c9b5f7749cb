import numpy as np
import pytest

from brainctrl.exceptions import InvalidParameterError
from brainctrl.multilayer import compare_with_null, multilayer_modularity, multilayer_null_model


def random_layers(rng, n_layers=3, n=9, signed=False):
    layers = rng.uniform(-1 if signed else 0, 1, (n_layers, n, n))
    layers = layers + layers.transpose(0, 2, 1)
    layers[:, np.arange(n), np.arange(n)] = 0.0
    return layers


def test_nodal_null_permutes_nodes_of_each_layer(rng):
    layers = random_layers(rng, n_layers=4)
    shuffled = multilayer_null_model(layers, null="nodal", random_state=0)
    orders = []
    for original, new in zip(layers, shuffled):
        # find the permutation from the (distinct) strengths and check P A Pᵀ exactly
        order = np.array(
            [np.flatnonzero(np.isclose(original.sum(1), value))[0] for value in new.sum(1)]
        )
        assert np.array_equal(new, original[np.ix_(order, order)])
        orders.append(order)
    assert len({tuple(order) for order in orders}) > 1
    again = multilayer_null_model(layers, null="nodal", random_state=0)
    assert np.array_equal(shuffled, again)


def test_temporal_null_permutes_layers(rng):
    layers = random_layers(rng, n_layers=6)
    shuffled = multilayer_null_model(layers, null="temporal", random_state=1)
    matches = [
        [int(np.flatnonzero([np.array_equal(new, old) for old in layers])[0])] for new in shuffled
    ]
    assert sorted(m[0] for m in matches) == list(range(6))
    assert [m[0] for m in matches] != list(range(6))


def test_connectional_null_keeps_signed_strengths(rng):
    layers = random_layers(rng, n_layers=2, n=16, signed=True)
    layers[:, np.arange(16), np.arange(16)] = 0.5
    shuffled = multilayer_null_model(layers, null="connectional", random_state=2)
    for original, new in zip(layers, shuffled):
        assert np.allclose(new, new.T)
        assert np.allclose(np.diag(new), 0.5)
        assert np.allclose(np.maximum(new, 0).sum(1), np.maximum(original, 0).sum(1))
        assert np.allclose(np.maximum(-new, 0).sum(1), np.maximum(-original, 0).sum(1))
        # most weights moved
        assert np.mean(np.isclose(new, original)) < 0.3


def test_connectional_null_of_a_tiny_layer_is_unchanged():
    layers = np.stack([np.ones((3, 3))])
    assert np.array_equal(multilayer_null_model(layers, null="connectional"), layers)


def persistent_blocks(rng, n_layers=6, n=16):
    labels = np.repeat([0, 1], n // 2)
    probability = np.where(labels[:, None] == labels[None, :], 0.8, 0.1)
    layers = []
    for _ in range(n_layers):
        upper = np.triu(rng.random((n, n)) < probability, 1).astype(float)
        layers.append(upper + upper.T)
    return np.stack(layers)


def test_planted_persistent_structure_beats_nodal_null(rng):
    layers = persistent_blocks(rng)

    def quality(sequence):
        return multilayer_modularity(sequence, n_runs=1, random_state=0, omega=1.0).quality

    comparison = compare_with_null(quality, layers, null="nodal", n_null=9, random_state=0)
    assert comparison.observed == pytest.approx(quality(layers))
    assert comparison.null_values.shape == (9,)
    # every null Q is lower: p reaches its minimum 1/(n_null + 1)
    assert (comparison.null_values < comparison.observed).all()
    assert comparison.p_value == pytest.approx(0.1)
    assert comparison.z_score > 0
    less = compare_with_null(
        quality, layers, null="nodal", n_null=9, alternative="less", random_state=0
    )
    assert less.p_value == pytest.approx(1.0)


def test_two_sided_and_array_measures(rng):
    layers = random_layers(rng, n_layers=5)

    def first_layer_strength(sequence):
        return sequence[0].sum(axis=1)

    out = compare_with_null(
        first_layer_strength,
        layers,
        null="temporal",
        n_null=19,
        alternative="two-sided",
        random_state=3,
    )
    null_values = out.null_values
    mean = null_values.mean(axis=0)
    count = (np.abs(null_values - mean) >= np.abs(out.observed - mean)).sum(axis=0)
    assert np.allclose(out.p_value, (1 + count) / 20)
    assert out.p_value.shape == (9,)


def test_constant_measure_gives_p_one_and_nan_z(rng):
    out = compare_with_null(lambda s: 1.0, random_layers(rng), n_null=4, random_state=0)
    assert out.p_value == 1.0
    assert np.isnan(out.z_score)


def test_errors(rng):
    layers = random_layers(rng)
    with pytest.raises(InvalidParameterError, match="'null' must be one of"):
        multilayer_null_model(layers, null="spatial")
    with pytest.raises(InvalidParameterError, match="'n_rounds' must be an integer"):
        multilayer_null_model(layers, null="connectional", n_rounds=1.5)
    # an InvalidParameterError (a ValueError) since 0.2, as for control_null_pvalues
    with pytest.raises(InvalidParameterError, match="'measure' must be callable.*got float 3.0"):
        compare_with_null(3.0, layers)
    with pytest.raises(InvalidParameterError, match="'alternative' must be one of"):
        compare_with_null(np.sum, layers, alternative="bigger")
    with pytest.raises(InvalidParameterError, match="'n_null' must be > 0"):
        compare_with_null(np.sum, layers, n_null=0)
    calls = iter(range(100))

    def changing_shape(sequence):
        return np.zeros(1 + (next(calls) > 0))

    with pytest.raises(
        InvalidParameterError, match=r"measure returned shape \(2,\) on a null sequence"
    ):
        compare_with_null(changing_shape, layers, n_null=2, random_state=0)
