"""Parameter checks shared by the statistics modules."""

import numbers
import os

from brainctrl.exceptions import InvalidParameterError

__all__ = ["check_int", "n_workers"]


def check_int(name, value, minimum=1):
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(f"'{name}' must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def n_workers(n_jobs):
    """Number of worker processes for ``n_jobs`` (joblib convention: -1 is every CPU)."""
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return int(n_jobs)
