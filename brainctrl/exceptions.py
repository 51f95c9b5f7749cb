"""Exceptions and warnings raised by brainctrl.

Every error is a subclass of a built-in (``ValueError``, ``TypeError``,
``FileNotFoundError``) so code that already catches those keeps working, and
of :class:`BrainctrlError` so callers can catch everything from this package.
"""

__all__ = [
    "BrainctrlError",
    "ConfigError",
    "ConvergenceWarning",
    "DataError",
    "DiagonalWarning",
    "ExecutorError",
    "IllConditionedWarning",
    "InvalidParameterError",
    "LockedOutputError",
    "MissingDataError",
    "NumericalAccuracyWarning",
    "OrientationWarning",
    "UndefinedScoreWarning",
    "UnreachableTargetWarning",
]


class BrainctrlError(Exception):
    """Base class of all brainctrl errors."""


class InvalidParameterError(BrainctrlError, ValueError):
    """A parameter has a value outside what the function accepts."""


class ConfigError(InvalidParameterError):
    """A pipeline configuration value is unknown, of the wrong type or impossible."""


class DataError(BrainctrlError, ValueError):
    """Input data (an array or a file's content) is unusable.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    path : str or path-like, optional
        The file the data came from.
    subject, session, run : str, optional
        Which unit of the dataset the data belongs to.
    """

    def __init__(self, message, *, path=None, subject=None, session=None, run=None):
        self.reason = message
        self.path = None if path is None else str(path)
        self.subject = subject
        self.session = session
        self.run = run
        super().__init__(_with_context(message, path, subject, session, run))


class MissingDataError(DataError, FileNotFoundError):
    """A file the dataset description promises does not exist."""


class ExecutorError(BrainctrlError, RuntimeError):
    """A unit of work ended without a result (its worker died or its task failed)."""


class LockedOutputError(BrainctrlError, RuntimeError):
    """An output folder (or one of its subjects) is in use by another brainctrl run."""


def _with_context(message, path=None, subject=None, session=None, run=None):
    parts = []
    if subject is not None:
        parts.append(f"subject {subject!r}")
    if session is not None:
        parts.append(f"session {session!r}")
    if run is not None:
        parts.append(f"run {run!r}")
    if path is not None:
        parts.append(f"file '{path}'")
    if not parts:
        return message
    return f"{', '.join(parts)}: {message}"


class IllConditionedWarning(UserWarning):
    """A linear system (e.g. a controllability Gramian) is ill-conditioned."""


class UnreachableTargetWarning(UserWarning):
    """A control set cannot drive the system to the requested target state."""


class DiagonalWarning(UserWarning):
    """A matrix has a non-zero diagonal where self-connections are usually absent.

    Functional connectivity has a unit diagonal (each region's correlation
    with itself), which is not a connection: zero it before building a system.
    """


class NumericalAccuracyWarning(UserWarning):
    """A computed result misses its own accuracy check (e.g. a residual)."""


class OrientationWarning(UserWarning):
    """An array's shape suggests swapped axes (e.g. regions by time, not time by region)."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before meeting its tolerance."""


class UndefinedScoreWarning(UserWarning):
    """A score is undefined for part of the data (e.g. r of constant predictions)."""
