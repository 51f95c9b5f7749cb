"""Write a synthetic cohort to disk as a manifest-described dataset, and read its truth back."""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from brainctrl.datasets._cohort import Cohort, CohortTruth, make_cohort
from brainctrl.exceptions import InvalidParameterError, MissingDataError

__all__ = ["read_truth", "write_demo_dataset"]

logger = logging.getLogger(__name__)

TIMESERIES_TEMPLATE = "sub-{subject}/sub-{subject}_run-{run}_timeseries.tsv"
CONFOUNDS_TEMPLATE = "sub-{subject}/sub-{subject}_run-{run}_confounds.tsv"

# CohortTruth fields stored in truth.npz (arrays); the rest go to truth.json.
_ARRAY_FIELDS = (
    "state_couplings",
    "mode_eigenvalues",
    "transition_matrix",
    "participation",
    "mode_loadings",
    "mode_couplings",
    "region_jitter",
    "behaviour_signal",
)


def write_demo_dataset(path, cohort=None, *, name="demo", **make_cohort_kwargs):
    """Write a synthetic cohort as files described by a ``manifest.yaml``.

    Parameters
    ----------
    path : str or path-like
        Folder to write into (created if needed; existing files of the same
        names are replaced).
    cohort : Cohort or None
        The cohort to write; by default one is made with
        ``make_cohort(**make_cohort_kwargs)``, with ``random_state=0`` unless
        given, so the demo dataset is the same everywhere.
    name : str, default="demo"
        Dataset name written in the manifest.
    **make_cohort_kwargs
        Passed to :func:`make_cohort` (only when ``cohort`` is None).

    Returns
    -------
    manifest_path : pathlib.Path
        ``path / "manifest.yaml"``.

    Notes
    -----
    Layout (``layout: timeseries`` of the manifest schema, version 1)::

        manifest.yaml
        regions.tsv                    label, name, network, hemisphere, x, y, z
        phenotype.csv                  subject, group, age, sex, motion, score, symptom_*
        truth.json, truth.npz          the CohortTruth (see read_truth)
        sub-<id>/sub-<id>_run-<r>_timeseries.tsv    header = region names
        sub-<id>/sub-<id>_run-<r>_confounds.tsv     6 motion parameters + FD

    Values are written with 10 significant digits. Subject IDs are
    zero-padded strings (``"001"``); read them as strings.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     manifest = write_demo_dataset(folder, n_subjects=4, n_regions=30, n_timepoints=80)
    ...     manifest.name
    'manifest.yaml'
    """
    if cohort is not None and make_cohort_kwargs:
        raise InvalidParameterError(
            "give either 'cohort' or make_cohort keyword arguments, not both; got cohort "
            f"and {sorted(make_cohort_kwargs)}."
        )
    if cohort is None:
        make_cohort_kwargs.setdefault("random_state", 0)
        cohort = make_cohort(**make_cohort_kwargs)
    if not isinstance(cohort, Cohort):
        raise InvalidParameterError(
            f"'cohort' must be a Cohort from make_cohort; got {type(cohort).__name__}."
        )
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(f"'name' must be a non-empty string; got {name!r}.")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)

    cohort.regions.to_csv(root / "regions.tsv", sep="\t", index=False)
    cohort.phenotype.to_csv(root / "phenotype.csv", index=False, float_format="%.10g")
    names = list(cohort.regions["name"])
    for run in cohort.runs:
        fields = {"subject": run.subject, "run": run.run}
        target = root / TIMESERIES_TEMPLATE.format(**fields)
        target.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(run.timeseries, columns=names).to_csv(
            target, sep="\t", index=False, float_format="%.10g"
        )
        if run.confounds is not None:
            run.confounds.to_csv(
                root / CONFOUNDS_TEMPLATE.format(**fields),
                sep="\t",
                index=False,
                float_format="%.10g",
            )

    phenotype_scores = [c for c in cohort.phenotype.columns if c == "score"] + [
        c for c in cohort.phenotype.columns if c.startswith("symptom_")
    ]
    manifest = {
        "name": name,
        "layout": "timeseries",
        "root": ".",
        "t_r": float(cohort.t_r),
        "parcellation": {"name": f"synthetic-{len(names)}", "regions": "regions.tsv"},
        "subjects": [str(s) for s in cohort.subjects],
        "sessions": None,
        "runs": [str(r) for r in cohort.run_ids],
        "timeseries": TIMESERIES_TEMPLATE,
        "confounds": {"path": CONFOUNDS_TEMPLATE, "strategy": "simple"},
        "phenotype": {
            "path": "phenotype.csv",
            "id_column": "subject",
            "group": "group",
            "covariates": ["age", "sex", "motion"],
            "scores": phenotype_scores,
        },
    }
    manifest_path = root / "manifest.yaml"
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    _write_truth(root, cohort.truth)
    logger.info("Wrote %d runs of the synthetic cohort to %s.", len(cohort.runs), root)
    return manifest_path


def _write_truth(root, truth):
    keys = sorted(truth.state_sequences)
    arrays = {name: np.asarray(getattr(truth, name)) for name in _ARRAY_FIELDS}
    arrays["state_sequences"] = np.stack([truth.state_sequences[k] for k in keys])
    arrays["subject_factors"] = truth.subject_factors.to_numpy()
    np.savez_compressed(root / "truth.npz", **arrays)
    meta = {
        "subjects": list(truth.subjects),
        "groups": list(truth.groups),
        "networks": list(truth.networks),
        "state_networks": [[str(n) for n in names] for names in truth.state_networks],
        "self_coupling": truth.self_coupling,
        "mean_dwell": truth.mean_dwell,
        "min_dwell": truth.min_dwell,
        "state_sequence_keys": [list(k) for k in keys],
        "hemodynamic_delay": truth.hemodynamic_delay,
        "group_regions": list(truth.group_regions),
        "group_effect": truth.group_effect,
        "subject_factor_columns": list(truth.subject_factors.columns),
        "subject_variation": truth.subject_variation,
        "behaviour_weights": truth.behaviour_weights,
        "behaviour_r2": truth.behaviour_r2,
        "symptom_regions": list(truth.symptom_regions),
        "symptom_effect": truth.symptom_effect,
        "symptom_loadings": truth.symptom_loadings,
        "noise": truth.noise,
        "t_r": truth.t_r,
    }
    (root / "truth.json").write_text(json.dumps(meta, indent=2))


def read_truth(path):
    """Read the ground truth written by :func:`write_demo_dataset`.

    Parameters
    ----------
    path : str or path-like
        The dataset folder, or its ``manifest.yaml``.

    Returns
    -------
    CohortTruth
    """
    root = Path(path)
    if root.is_file():
        root = root.parent
    meta_path, array_path = root / "truth.json", root / "truth.npz"
    for file in (meta_path, array_path):
        if not file.is_file():
            raise MissingDataError(
                "ground-truth file not found; was this folder written by write_demo_dataset?",
                path=file,
            )
    meta = json.loads(meta_path.read_text())
    with np.load(array_path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    keys = [tuple(k) for k in meta.pop("state_sequence_keys")]
    sequences = arrays.pop("state_sequences")
    factors = pd.DataFrame(
        arrays.pop("subject_factors"),
        columns=meta.pop("subject_factor_columns"),
        index=pd.Index(meta["subjects"], name="subject"),
    )
    return CohortTruth(
        **{k: v for k, v in meta.items() if k not in ("groups", "networks")},
        groups=tuple(meta["groups"]),
        networks=tuple(meta["networks"]),
        state_sequences={key: sequences[i] for i, key in enumerate(keys)},
        subject_factors=factors,
        **arrays,
    )
