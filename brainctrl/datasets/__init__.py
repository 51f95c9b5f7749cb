"""Synthetic cohorts with known ground truth, and the demo dataset written to disk.

:func:`make_cohort` simulates an HCP-like resting-state cohort whose latent
brain states, group difference, behaviour link and symptom link are planted
and returned in :class:`CohortTruth`, so every later analysis can be checked
against what it should find. :func:`write_demo_dataset` writes such a cohort
as files described by a ``manifest.yaml``; :func:`read_truth` reads its truth back.
:func:`make_temporal_sbm` makes layered networks with planted community changes,
for multilayer community detection.
"""

from brainctrl.datasets._cohort import CONFOUND_COLUMNS, Cohort, CohortTruth, make_cohort
from brainctrl.datasets._demo import read_truth, write_demo_dataset
from brainctrl.datasets._regions import NETWORKS, make_regions
from brainctrl.datasets._temporal import make_temporal_sbm

__all__ = [
    "CONFOUND_COLUMNS",
    "NETWORKS",
    "Cohort",
    "CohortTruth",
    "make_cohort",
    "make_regions",
    "make_temporal_sbm",
    "read_truth",
    "write_demo_dataset",
]
