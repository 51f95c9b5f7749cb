"""The record every loader returns."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_positive, check_timeseries
from brainctrl.exceptions import DataError

__all__ = ["RunData", "default_regions"]


def default_regions(n_regions):
    """Region table with inferred names ``region_000 …`` and unknown networks."""
    width = max(3, len(str(n_regions - 1)))
    return pd.DataFrame(
        {
            "name": [f"region_{i:0{width}d}" for i in range(n_regions)],
            "network": pd.Series(["unknown"] * n_regions, dtype=object),
        }
    )


@dataclass
class RunData:
    """One fMRI run as region time series with its metadata.

    Parameters
    ----------
    timeseries : ndarray of shape (n_timepoints, n_regions)
        Region-averaged BOLD signal, one column per region.
    t_r : float
        Repetition time in seconds.
    regions : pandas.DataFrame, optional
        One row per column of ``timeseries`` with at least ``name`` and
        ``network`` (e.g. Yeo-7 ``Default``). Inferred names are used if omitted.
    confounds : pandas.DataFrame or None
        Nuisance regressors, one row per timepoint.
    subject, session, run : str or None
        Identifiers of the run within its dataset (subject IDs are strings,
        e.g. HCP ``'100206'``).
    source : str or None
        The file the time series was read from.
    """

    timeseries: np.ndarray
    t_r: float
    regions: pd.DataFrame = None
    confounds: pd.DataFrame | None = None
    subject: str | None = None
    session: str | None = None
    run: str | None = None
    source: str | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        context = self.describe()
        self.timeseries = check_timeseries(
            self.timeseries, allow_constant=True, min_timepoints=1, context=context
        )
        try:
            check_positive("t_r", self.t_r)
        except ValueError as exc:
            raise DataError(str(exc), **self._ids()) from None
        self.t_r = float(self.t_r)
        n_timepoints, n_regions = self.timeseries.shape
        if self.subject is not None:
            self.subject = str(self.subject)
        if self.regions is None:
            self.regions = default_regions(n_regions)
        else:
            regions = pd.DataFrame(self.regions).reset_index(drop=True)
            missing = {"name", "network"} - set(regions.columns)
            if missing:
                raise DataError(
                    f"regions table must have columns 'name' and 'network'; missing "
                    f"{sorted(missing)} (columns: {list(regions.columns)}).",
                    **self._ids(),
                )
            if len(regions) != n_regions:
                raise DataError(
                    f"regions table has {len(regions)} rows but timeseries has "
                    f"{n_regions} regions (columns).",
                    **self._ids(),
                )
            self.regions = regions
        if self.confounds is not None:
            confounds = pd.DataFrame(self.confounds).reset_index(drop=True)
            if len(confounds) != n_timepoints:
                raise DataError(
                    f"confounds have {len(confounds)} rows but timeseries has "
                    f"{n_timepoints} timepoints.",
                    **self._ids(),
                )
            self.confounds = confounds
        if self.source is not None:
            self.source = str(Path(self.source))

    def _ids(self):
        return {
            "path": self.source,
            "subject": self.subject,
            "session": self.session,
            "run": self.run,
        }

    def describe(self):
        """A short human-readable name of the run, used in messages."""
        parts = []
        for key in ("subject", "session", "run"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key} {value!r}")
        if self.source is not None:
            parts.append(f"file '{self.source}'")
        return ", ".join(parts) or None

    @property
    def n_timepoints(self):
        """Number of frames."""
        return self.timeseries.shape[0]

    @property
    def n_regions(self):
        """Number of regions."""
        return self.timeseries.shape[1]

    @property
    def key(self):
        """BIDS-like identifier ``sub-<id>[_ses-<id>][_run-<id>]``."""
        parts = [f"sub-{self.subject}" if self.subject is not None else "sub-unknown"]
        if self.session is not None:
            parts.append(f"ses-{self.session}")
        if self.run is not None:
            parts.append(f"run-{self.run}")
        return "_".join(parts)

    def __repr__(self):
        return (
            f"RunData({self.key}, n_timepoints={self.n_timepoints}, "
            f"n_regions={self.n_regions}, t_r={self.t_r})"
        )
