"""One command from a manifest to a report: every stage over a cohort.

``run_pipeline(config)`` runs the per-run stage (clean, static and dynamic
FC, controllability, graph and multilayer measures) on any executor, then the
cohort stages (brain states, transition energies, group statistics, report).
Finished units are skipped on a rerun; failures are recorded, never fatal.
"""

from brainctrl.pipeline._config import PipelineConfig
from brainctrl.pipeline._demo import run_demo
from brainctrl.pipeline._preflight import PreflightError, Problem, check_dataset
from brainctrl.pipeline._run import pipeline_status, run_pipeline

__all__ = [
    "PipelineConfig",
    "PreflightError",
    "Problem",
    "check_dataset",
    "pipeline_status",
    "run_demo",
    "run_pipeline",
]
