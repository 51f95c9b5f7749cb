"""Loaders: region time series and their metadata from files."""

from brainctrl.io._rundata import RunData

__all__ = ["RunData"]
