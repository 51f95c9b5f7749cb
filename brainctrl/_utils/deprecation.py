"""Deprecations: old names and defaults keep working for two minor releases, with a warning.

Every deprecation is listed in ``CHANGELOG.md`` with the release that removes it.
:class:`FutureWarning` is used (as scikit-learn does) because it is shown to
users by default, in scripts and notebooks alike.
"""

import functools
import warnings

from brainctrl.exceptions import InvalidParameterError

__all__ = [
    "deprecated_alias",
    "rename_parameter",
    "replace_parameter",
    "require_system",
    "warn_deprecated",
]

#: The release that removes what 0.2 deprecates.
REMOVED_IN = "0.4"


def warn_deprecated(what, instead, *, since="0.2", removed_in=REMOVED_IN, stacklevel=3):
    """Warn that ``what`` is deprecated and say what to do ``instead``."""
    warnings.warn(
        f"{what} is deprecated since brainctrl {since} and will be removed in "
        f"{removed_in}; {instead}.",
        FutureWarning,
        stacklevel=stacklevel,
    )


def deprecated_alias(function, old_name, *, since="0.2", removed_in=REMOVED_IN):
    """``function`` under its old public name, warning at each call."""

    @functools.wraps(function)
    def alias(*args, **kwargs):
        warn_deprecated(
            f"{old_name}",
            f"use {function.__module__.split('._')[0]}.{function.__name__}",
            since=since,
            removed_in=removed_in,
        )
        return function(*args, **kwargs)

    alias.__name__ = old_name.rsplit(".", 1)[-1]
    alias.__qualname__ = alias.__name__
    alias.__doc__ = (
        f"Deprecated alias of :func:`{function.__module__.split('._')[0]}."
        f"{function.__name__}` (removed in {removed_in}).\n\n" + (function.__doc__ or "")
    )
    return alias


def rename_parameter(function_name, old, new, kwargs, *, since="0.2", removed_in=REMOVED_IN):
    """Move a keyword given under its old name ``old`` to ``new`` in ``kwargs``, warning."""
    if old in kwargs:
        if new in kwargs:
            raise TypeError(f"{function_name}() got both {old!r} (deprecated) and {new!r}.")
        warn_deprecated(
            f"{function_name}({old}=...)",
            f"pass {new}=...",
            since=since,
            removed_in=removed_in,
            stacklevel=4,
        )
        kwargs[new] = kwargs.pop(old)
    return kwargs


def replace_parameter(function_name, old, new, value, kwargs, translate, *, default):
    """The value of ``new``, taken from its deprecated predecessor ``old`` if that was given.

    For a parameter replaced by one with another name and other values (e.g.
    ``two_sided=True`` by ``alternative="two-sided"``). ``value`` is what the
    caller passed as ``new`` (``None`` if left out, then ``default`` applies);
    ``kwargs`` holds the deprecated keywords, from which ``old`` is removed;
    ``translate`` maps each accepted old value to the new one.
    """
    if old not in kwargs:
        return default if value is None else value
    old_value = kwargs.pop(old)
    if value is not None:
        raise TypeError(
            f"{function_name}() got both {old!r} (deprecated) and {new!r}; pass {new!r} only."
        )
    if old_value not in translate:
        raise InvalidParameterError(
            f"{old!r} must be one of {tuple(translate)}; got {old_value!r} (and it is "
            f"deprecated: pass {new!r})."
        )
    new_value = translate[old_value]
    warn_deprecated(
        f"{function_name}({old}={old_value!r})",
        f"pass {new}={new_value!r}",
        stacklevel=4,
    )
    return new_value


def require_system(function_name, system, old_default):
    """The ``system`` a control function was given, or its old default with a warning.

    Every control function of brainctrl takes ``system="continuous"`` or
    ``"discrete"``. Their defaults used to differ (``average_controllability``
    discrete, the others continuous), so a system normalised for one was
    passed to a function expecting the other; ``system`` is now required.
    """
    if system is not None:
        return system
    warn_deprecated(
        f"calling {function_name}() without 'system'",
        f"pass system={old_default!r} (the default it used) or system="
        f"{'discrete' if old_default == 'continuous' else 'continuous'!r}; every control "
        "function will require it, as normalize_adjacency's result depends on it",
        stacklevel=4,
    )
    return old_default
