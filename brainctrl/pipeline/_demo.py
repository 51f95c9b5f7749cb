"""``brainctrl demo``: the whole pipeline on the built-in synthetic cohort."""

import logging
from importlib import resources
from pathlib import Path

import yaml

from brainctrl.pipeline._config import PipelineConfig
from brainctrl.pipeline._run import run_pipeline

__all__ = ["demo_config", "run_demo"]

logger = logging.getLogger("brainctrl.pipeline")


def demo_config():
    """The shipped demo configuration as a dict (``manifest`` relative)."""
    text = resources.files("brainctrl").joinpath("data/demo_config.yaml").read_text()
    return yaml.safe_load(text)


def run_demo(out_dir="brainctrl_demo", *, n_subjects=None, verbose=True, executor=None):
    """Write the synthetic cohort, then run every stage on it.

    Parameters
    ----------
    out_dir : path-like
        The dataset goes to ``OUT/data`` and the results to ``OUT/results``;
        open ``OUT/results/report.html``.
    n_subjects : int, optional
        Size of the synthetic cohort (default: the generator's default).
    executor : dict, optional
        Overrides the ``executor`` section (e.g. ``{"kind": "serial"}``).

    Returns
    -------
    status : DataFrame
        One row per unit and stage (see :func:`run_pipeline`); the report is
        ``OUT/results/report.html``.
    """
    from brainctrl.datasets import write_demo_dataset

    out_dir = Path(out_dir)
    data_dir = out_dir / "data"
    kwargs = {} if n_subjects is None else {"n_subjects": n_subjects}
    manifest = data_dir / "manifest.yaml"
    if not manifest.exists():
        manifest = write_demo_dataset(data_dir, random_state=0, **kwargs)
    settings = demo_config()
    settings["manifest"] = str(Path(manifest).resolve())
    if executor is not None:
        settings["executor"] = executor
    config = PipelineConfig.from_dict(settings)
    results = out_dir / "results"
    status = run_pipeline(config, out_dir=results, verbose=verbose)
    logger.info("report: %s", (results / "report.html").resolve())
    return status
