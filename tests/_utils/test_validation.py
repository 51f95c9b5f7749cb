import numpy as np
import pytest

from brainctrl._utils.validation import (
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
    check_square,
    check_timeseries,
)
from brainctrl.exceptions import BrainctrlError, DataError, InvalidParameterError


def test_check_option_echoes_allowed_and_received():
    assert check_option("system", "discrete", ("continuous", "discrete")) == "discrete"
    with pytest.raises(
        InvalidParameterError,
        match=r"'system' must be one of \('continuous', 'discrete'\); got 'discrt'\.",
    ):
        check_option("system", "discrt", ("continuous", "discrete"))


def test_errors_are_builtin_subclasses():
    with pytest.raises(ValueError):
        check_option("kind", "x", ("a",))
    with pytest.raises(BrainctrlError):
        check_square("adjacency", np.ones((3, 4)))


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (0, {}, r"'horizon' must be > 0; got 0"),
        (-1.0, {"strict": False}, r"'horizon' must be >= 0; got -1.0"),
        (np.inf, {}, r"'horizon' must be finite; got inf"),
        ("1", {}, r"'horizon' must be a number; got '1' of type str"),
        (1.5, {"integer": True}, r"'horizon' must be an integer; got 1.5"),
        (True, {}, r"'horizon' must be a number; got True"),
    ],
)
def test_check_positive_rejects(value, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        check_positive("horizon", value, **kwargs)


def test_check_positive_accepts():
    assert check_positive("horizon", 0.0, strict=False) == 0.0
    assert check_positive("horizon", np.inf, allow_inf=True) == np.inf
    assert check_positive("n", 3, integer=True) == 3


def test_check_square_shapes():
    out = check_square("adjacency", [[0, 1], [1, 0]])
    assert out.dtype == float and out.shape == (2, 2)
    assert check_square("adjacency", np.zeros((5, 3, 3))).shape == (5, 3, 3)
    with pytest.raises(
        DataError,
        match=r"adjacency must be square with shape \(\.\.\., n, n\); got shape \(3, 4\)",
    ):
        check_square("adjacency", np.ones((3, 4)))
    with pytest.raises(
        DataError, match=r"must be square with shape \(n, n\); got shape \(2, 3, 3\)"
    ):
        check_square("adjacency", np.ones((2, 3, 3)), batch=False)
    with pytest.raises(
        DataError, match=r"adjacency contains 1 non-finite value\(s\).*index \(0, 1\)"
    ):
        check_square("adjacency", [[0, np.nan], [1, 0]])


def test_check_array_conversion_error_names_parameter():
    with pytest.raises(DataError, match=r"x must be a numeric array"):
        check_array("x", [["a", "b"]])
    with pytest.raises(DataError, match=r"x must be 2-dimensional; got shape \(3,\)"):
        check_array("x", [1, 2, 3], ndim=2)
    with pytest.raises(DataError, match=r"at least 3 dimensions; got shape \(2, 2\)"):
        check_array("x", np.ones((2, 2)), min_ndim=3)


def test_check_finite_context():
    with pytest.raises(DataError, match=r"^subject '01': x contains 2 non-finite"):
        check_finite("x", [np.nan, 1, np.inf], context="subject '01'")


def test_check_timeseries(rng):
    ts = rng.standard_normal((10, 4))
    assert check_timeseries(ts) is not None
    with pytest.raises(DataError, match=r"at least 3 timepoints \(rows\); got shape \(2, 4\)"):
        check_timeseries(ts[:2])
    bad = ts.copy()
    bad[:, [1, 3]] = 7.0
    with pytest.raises(DataError, match=r"2 constant region\(s\) \(column\(s\) 1, 3\)"):
        check_timeseries(bad)
    assert check_timeseries(bad, allow_constant=True).shape == (10, 4)
    # raw-scale data with tiny but real fluctuations is not "constant"
    raw = 1e4 + 1e-3 * rng.standard_normal((10, 2))
    check_timeseries(raw)
    with pytest.raises(DataError, match=r"timeseries must be 2-dimensional"):
        check_timeseries(np.ones(5))


def test_check_random_state_reproducible():
    a = check_random_state(3).standard_normal(4)
    b = check_random_state(3).standard_normal(4)
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(0)
    assert check_random_state(gen) is gen
    assert isinstance(check_random_state(np.random.RandomState(0)), np.random.Generator)
    with pytest.raises(InvalidParameterError, match=r"'random_state' must be None, an int"):
        check_random_state("seed")
