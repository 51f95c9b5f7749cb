"""Unit functions for executor tests: the real per-run unit, or a death.

Worker processes import this module by name (the tests put this folder on
``sys.path``), so it holds only what they need.
"""

import os
import signal

from brainctrl.pipeline._run import _run_unit


def run_unit_or_die(spec, *, deaths, **unit_arguments):
    """Die with ``deaths[subject]`` (a signal name) or raise, else run the unit."""
    death = deaths.get(str(spec.subject))
    if death == "raise":
        raise ValueError(f"planted failure of subject {spec.subject}")
    if death is not None:
        os.kill(os.getpid(), getattr(signal, death))
    return _run_unit(spec, **unit_arguments)


def square_or_die(item, *, deaths):
    """``item ** 2``, or a death for the planted items."""
    death = deaths.get(item)
    if death == "raise":
        raise ValueError(f"planted failure of item {item}")
    if death is not None:
        os.kill(os.getpid(), getattr(signal, death))
    return item**2
