"""brainctrl: network control and network neuroscience for functional MRI.

Subpackages are imported on first use, so ``import brainctrl`` stays cheap::

    import brainctrl
    brainctrl.control.average_controllability(A, system="discrete")

The numeric cores (:mod:`brainctrl.control`, :mod:`brainctrl.graph`,
:mod:`brainctrl.multilayer`, :mod:`brainctrl.stats`) take arrays, not files, so
a lab pipeline can import a single function.
"""

import importlib

__version__ = "0.1.0"

_SUBPACKAGES = (
    "connectivity",
    "control",
    "datasets",
    "exceptions",
    "graph",
    "io",
    "multilayer",
    "pipeline",
    "plotting",
    "stats",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'brainctrl' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
