"""Loaders: region time series, connectivity matrices and their metadata from files."""

from brainctrl.io._rundata import RunData
from brainctrl.io.cifti import load_cifti_timeseries
from brainctrl.io.layouts import HCP_VARIANTS, find_fmriprep_runs, find_hcp_runs
from brainctrl.io.manifest import Manifest, RunSpec, load_manifest, validate_manifest
from brainctrl.io.nifti import load_nifti_timeseries
from brainctrl.io.phenotype import load_phenotype
from brainctrl.io.structural import load_connectivity
from brainctrl.io.timeseries import load_timeseries

__all__ = [
    "HCP_VARIANTS",
    "Manifest",
    "RunData",
    "RunSpec",
    "find_fmriprep_runs",
    "find_hcp_runs",
    "load_cifti_timeseries",
    "load_connectivity",
    "load_manifest",
    "load_nifti_timeseries",
    "load_phenotype",
    "load_timeseries",
    "validate_manifest",
]
