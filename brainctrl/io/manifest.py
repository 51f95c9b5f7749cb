"""Data manifests: YAML descriptions of a dataset's files (``data_manifests/*.yaml``).

The schema (version 1) is documented in ``data_manifests/README.md``.
"""

import itertools
import logging
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from brainctrl._utils.validation import check_positive
from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError
from brainctrl.io._rundata import default_regions
from brainctrl.io._tables import check_delimiter, read_region_table
from brainctrl.io.cifti import load_cifti_timeseries
from brainctrl.io.layouts import HCP_VARIANTS, find_fmriprep_runs, find_hcp_runs, hcp_run_path
from brainctrl.io.nifti import CONFOUND_STRATEGIES, load_nifti_timeseries
from brainctrl.io.phenotype import load_phenotype
from brainctrl.io.structural import check_connectome, load_connectivity
from brainctrl.io.timeseries import ORIENTATIONS, load_timeseries

__all__ = ["LAYOUTS", "Manifest", "RunSpec", "load_manifest", "validate_manifest"]

logger = logging.getLogger(__name__)

#: Dataset layouts a manifest can describe.
LAYOUTS = ("timeseries", "hcp", "fmriprep")

_TOP_KEYS = (
    "name",
    "layout",
    "root",
    "t_r",
    "parcellation",
    "subjects",
    "sessions",
    "runs",
    "timeseries",
    "confounds",
    "phenotype",
    "task",
    "space",
    "structural",
)
_SECTION_KEYS = {
    "parcellation": ("name", "regions", "dlabel", "atlas"),
    "confounds": ("path", "strategy"),
    "phenotype": ("path", "id_column", "group", "covariates", "scores"),
}
_TEMPLATE_FIELDS = ("subject", "session", "run")
# Keys of a ``timeseries`` mapping; all but ``path`` are options of load_timeseries.
_TIMESERIES_KEYS = ("path", "orientation", "key", "delimiter", "header")
# Keys of a ``structural`` mapping; all but ``path`` are options of load_connectivity.
_STRUCTURAL_KEYS = ("path", "key", "delimiter", "header")


@dataclass
class RunSpec:
    """One run a manifest describes, with the files it needs.

    Parameters
    ----------
    subject : str
        Subject ID.
    session, run : str or None
        Session and run IDs.
    paths : dict of str to pathlib.Path
        ``timeseries`` and, where the layout uses them, ``confounds``, ``regions``,
        ``dlabel``, ``atlas`` or ``structural`` (the subject's connectivity matrix).
    read_options : dict
        How to read the time series file: the manifest's ``timeseries`` options
        (``orientation``, ``key``, ``delimiter``, ``header``), passed on to
        :func:`~brainctrl.io.load_timeseries` by :meth:`Manifest.load_run`.
    """

    subject: str
    session: str | None
    run: str | None
    paths: dict = field(default_factory=dict)
    read_options: dict = field(default_factory=dict)

    @property
    def key(self):
        """BIDS-like identifier ``sub-<id>[_ses-<id>][_run-<id>]``."""
        parts = [f"sub-{self.subject}"]
        if self.session is not None:
            parts.append(f"ses-{self.session}")
        if self.run is not None:
            parts.append(f"run-{self.run}")
        return "_".join(parts)

    def describe(self):
        """Human-readable ``subject '…', session '…', run '…'``."""
        parts = [f"subject {self.subject!r}"]
        if self.session is not None:
            parts.append(f"session {self.session!r}")
        if self.run is not None:
            parts.append(f"run {self.run!r}")
        return ", ".join(parts)


@dataclass
class Manifest:
    """A dataset described by a data manifest (see :func:`load_manifest`).

    Parameters
    ----------
    name : str
        Dataset name.
    layout : {'timeseries', 'hcp', 'fmriprep'}
        How the files are organised.
    root : pathlib.Path
        Dataset root; relative paths in the manifest resolve under it.
    t_r : float or None
        Repetition time in seconds (for CIFTI read from the file when None).
    parcellation : dict
        ``name`` and the paths ``regions``, ``dlabel`` (CIFTI) or ``atlas`` (NIfTI).
    subject_ids, session_ids, run_ids : list of str or None
        The manifest's ``subjects``, ``sessions`` and ``runs`` (None: all found).
    timeseries : str or None
        Path template with ``{subject}``, ``{session}``, ``{run}`` fields.
    timeseries_options : dict
        Reading options of the time series files (``orientation``, ``key``,
        ``delimiter``, ``header``), from a ``timeseries`` mapping in the manifest.
    confounds : dict or None
        ``path`` (template) and/or ``strategy``.
    phenotype : dict or None
        ``path``, ``id_column``, ``group``, ``covariates``, ``scores``.
    task, space : str or None
        fMRIPrep task and output space (defaults ``'rest'`` and
        ``'MNI152NLin2009cAsym'``, or ``'fsLR'`` with a ``dlabel``).
    structural : str or None
        Path template of each subject's connectivity matrix (``{subject}``, and
        ``{session}`` when matrices differ by session), e.g. a structural connectome;
        a path without fields is one group matrix (e.g. a consensus) for everyone.
    structural_options : dict
        Reading options of those files (``key``, ``delimiter``, ``header``).
    path : pathlib.Path or None
        The manifest file.
    """

    name: str
    layout: str
    root: Path
    t_r: float | None = None
    parcellation: dict = field(default_factory=dict)
    subject_ids: list | None = None
    session_ids: list | None = None
    run_ids: list | None = None
    timeseries: str | None = None
    timeseries_options: dict = field(default_factory=dict)
    confounds: dict | None = None
    phenotype: dict | None = None
    task: str | None = None
    space: str | None = None
    structural: str | None = None
    structural_options: dict = field(default_factory=dict)
    path: Path | None = None

    def resolve(self, relative, *, what="path"):
        """Resolve a manifest path under :attr:`root`; absolute paths are kept.

        Raises
        ------
        DataError
            If a relative path leaves the dataset root (e.g. through ``..``).
        """
        candidate = Path(os.path.expanduser(str(relative)))
        if candidate.is_absolute():
            return candidate
        root = Path(os.path.normpath(os.path.abspath(self.root)))
        full = Path(os.path.normpath(root / candidate))
        if full != root and root not in full.parents:
            raise DataError(
                f"{what} {str(relative)!r} resolves outside the dataset root '{root}'; use an "
                "absolute path for files elsewhere.",
                path=self.path,
            )
        return full

    def _shared_paths(self):
        paths = {}
        for key in ("regions", "dlabel", "atlas"):
            if self.parcellation.get(key):
                paths[key] = self.resolve(self.parcellation[key], what=f"parcellation.{key}")
        return paths

    def _fill(self, template, values, what):
        return self.resolve(template.format(**values), what=what)

    def _add_structural(self, paths, subject, session):
        if self.structural is not None:
            values = {"subject": subject, "session": session}
            paths["structural"] = self._fill(self.structural, values, "structural.path")
        return paths

    def _template_specs(self):
        template = self.timeseries if self.timeseries is not None else self.structural
        role = "timeseries" if self.timeseries is not None else "structural"
        fields = _template_fields(template)
        given = {
            "subject": self.subject_ids,
            "session": self.session_ids,
            "run": self.run_ids,
        }
        fixed = [name for name in fields if given[name] is not None]
        free = [name for name in fields if given[name] is None]
        combos = itertools.product(*(given[name] for name in fixed)) if fixed else [()]
        found = []
        for combo in combos:
            values = dict(zip(fixed, combo))
            if not free:
                found.append(values)
                continue
            pattern = template
            for name, value in values.items():
                pattern = pattern.replace("{" + name + "}", value)
            glob = re.sub(r"\{(subject|session|run)\}", "*", pattern)
            regex = _template_regex(pattern, free)
            root = self.resolve(".", what="root")
            for match_path in sorted(root.glob(glob)):
                relative = match_path.relative_to(root).as_posix()
                match = regex.fullmatch(relative)
                if match:
                    found.append({**values, **match.groupdict()})
        specs = []
        seen = set()
        for values in found:
            identity = tuple(values.get(name) for name in _TEMPLATE_FIELDS)
            if identity in seen:
                continue
            seen.add(identity)
            if "subject" not in values:
                raise DataError(f"the {role} template must contain '{{subject}}'.", path=self.path)
            paths = self._add_structural(
                self._shared_paths(), values["subject"], values.get("session")
            )
            if role == "timeseries":
                paths["timeseries"] = self._fill(template, values, "timeseries")
            confound_template = (self.confounds or {}).get("path")
            if confound_template and role == "timeseries":
                paths["confounds"] = self._fill(confound_template, values, "confounds.path")
            specs.append(
                RunSpec(
                    subject=values["subject"],
                    session=values.get("session"),
                    run=values.get("run"),
                    paths=paths,
                    read_options=dict(self.timeseries_options),
                )
            )
        return sorted(specs, key=lambda spec: (spec.subject, spec.session or "", spec.run or ""))

    def _hcp_specs(self):
        root = self.resolve(".", what="root")
        subjects = self.subject_ids
        if subjects is None:
            subjects = sorted(set(find_hcp_runs(root)["subject"]))
        specs = []
        for subject in subjects:
            runs = self.run_ids
            if runs is None:
                runs = sorted(set(find_hcp_runs(root, [subject])["run"]))
            for run in runs:
                path, _ = hcp_run_path(root, subject, run)
                if path is None:  # report the preferred name as missing
                    path = (
                        root
                        / subject
                        / "MNINonLinear"
                        / "Results"
                        / f"rfMRI_{run}"
                        / f"rfMRI_{run}_{HCP_VARIANTS[0]}"
                    )
                paths = self._add_structural(self._shared_paths(), subject, None)
                paths["timeseries"] = path
                confound_template = (self.confounds or {}).get("path")
                if confound_template:
                    paths["confounds"] = self._fill(
                        confound_template,
                        {"subject": subject, "session": None, "run": run},
                        "confounds.path",
                    )
                specs.append(RunSpec(subject=subject, session=None, run=run, paths=paths))
        return specs

    def _fmriprep_specs(self):
        table = find_fmriprep_runs(
            self.resolve(".", what="root"),
            space=self.fmriprep_space,
            task=self.task or "rest",
            subjects=self.subject_ids,
            sessions=self.session_ids,
            runs=self.run_ids,
        )
        specs = []
        for row in table.itertuples(index=False):
            paths = self._add_structural(self._shared_paths(), row.subject, row.session)
            paths["timeseries"] = Path(row.path)
            confound_template = (self.confounds or {}).get("path")
            if confound_template:
                values = {"subject": row.subject, "session": row.session, "run": row.run}
                paths["confounds"] = self._fill(confound_template, values, "confounds.path")
            elif row.confounds is not None:
                paths["fmriprep_confounds"] = Path(row.confounds)
            specs.append(
                RunSpec(subject=row.subject, session=row.session, run=row.run, paths=paths)
            )
        return specs

    @property
    def structural_only(self):
        """True when the manifest lists connectivity matrices and no time series."""
        return self.layout == "timeseries" and self.timeseries is None and bool(self.structural)

    @property
    def fmriprep_space(self):
        """Output space used to find fMRIPrep runs."""
        if self.space:
            return self.space
        return "fsLR" if self.parcellation.get("dlabel") else "MNI152NLin2009cAsym"

    def runs(self):
        """List the runs the manifest describes.

        With explicit ``subjects`` (and ``runs``/``sessions``) every combination is
        listed, whether its files exist or not, so :func:`validate_manifest` can report
        the missing ones; IDs left unset are found on disk.

        Returns
        -------
        runs : list of RunSpec
        """
        if self.timeseries is not None or self.structural_only:
            return self._template_specs()
        if self.layout == "hcp":
            return self._hcp_specs()
        if self.layout == "fmriprep":
            return self._fmriprep_specs()
        raise DataError(
            "layout 'timeseries' needs a 'timeseries' path template (or a 'structural' one).",
            path=self.path,
        )

    def load_run(self, spec, **kwargs):
        """Load one run as :class:`~brainctrl.io.RunData`.

        Parameters
        ----------
        spec : RunSpec
            A run from :meth:`runs`.
        **kwargs
            Passed on to the loader (e.g. ``min_timepoints``); for tables and arrays
            they override the run's :attr:`RunSpec.read_options`.

        Returns
        -------
        run_data : RunData

        Raises
        ------
        DataError
            If the manifest gives ``timeseries`` reading options (``orientation``,
            ``key``, ``delimiter``, ``header``) for a CIFTI or NIfTI run, or the
            loader rejects the run's files.
        """
        paths = spec.paths
        ids = {"subject": spec.subject, "session": spec.session, "run": spec.run}
        regions = paths.get("regions")
        if "timeseries" not in paths:
            raise DataError(
                "the manifest lists connectivity matrices only ('structural', no "
                "'timeseries'): there is no time series to load; use load_structural.",
                path=self.path,
                **ids,
            )
        timeseries = paths["timeseries"]
        name = timeseries.name.lower()
        options = dict(spec.read_options)
        image = None
        if name.endswith(".dtseries.nii"):
            image = "CIFTI"
        elif name.endswith((".nii", ".nii.gz")):
            image = "NIfTI"
        if image is not None and options:
            key, value = next(iter(options.items()))
            raise DataError(
                f"'timeseries.{key}' applies to tables and arrays read by load_timeseries "
                f"(text, NumPy, MATLAB, HDF5, Parquet), not to {image} time series; got "
                f"{value!r}. Remove it from the manifest.",
                path=self.path,
                **ids,
            )
        if image == "CIFTI":
            if "dlabel" not in paths:
                raise DataError(
                    "CIFTI time series need parcellation.dlabel in the manifest.", path=self.path
                )
            return load_cifti_timeseries(
                timeseries,
                paths["dlabel"],
                regions=regions,
                t_r=self.t_r,
                confounds=paths.get("confounds"),
                **ids,
                **kwargs,
            )
        if image == "NIfTI":
            if "atlas" not in paths:
                raise DataError(
                    "NIfTI time series need parcellation.atlas in the manifest.", path=self.path
                )
            strategy = (self.confounds or {}).get("strategy")
            return load_nifti_timeseries(
                timeseries,
                paths["atlas"],
                labels=regions,
                confounds=None
                if strategy
                else paths.get("confounds", paths.get("fmriprep_confounds")),
                strategy=strategy,
                t_r=self.t_r,
                **ids,
                **kwargs,
            )
        return load_timeseries(
            timeseries,
            t_r=self.t_r,
            regions=regions,
            confounds=paths.get("confounds"),
            **ids,
            **{**options, **kwargs},
        )

    def load_structural(self, spec, *, names=None):
        """Load the connectivity matrix of a run's subject (the ``structural`` files).

        Parameters
        ----------
        spec : RunSpec
            A run from :meth:`runs`; its subject (and session) choose the file.
        names : sequence of str, optional
            Region names in the order wanted (e.g. the run's columns); the matrix
            is reordered to it from the parcellation's region table.

        Returns
        -------
        matrix : ndarray of shape (n_regions, n_regions)
            See :func:`~brainctrl.io.load_connectivity`.

        Raises
        ------
        DataError
            If the manifest has no ``structural`` key, the file does not fit the
            parcellation (see :func:`~brainctrl.io.load_connectivity`), or the
            matrix is not a connectome: negative or asymmetric weights (an
            upper-triangular matrix is named as such); see
            :func:`~brainctrl.io.structural.check_connectome`.
        """
        if "structural" not in spec.paths:
            raise DataError(
                "the manifest has no 'structural' key: add a path template of the "
                "subjects' connectivity matrices (see data_manifests/README.md).",
                path=self.path,
                subject=spec.subject,
            )
        regions = spec.paths.get("regions")
        if regions is not None:  # read once: for the matrix's size and order, and names
            ids = {"subject": spec.subject, "session": spec.session, "run": None}
            regions = read_region_table(regions, ids=ids)
        matrix = load_connectivity(
            spec.paths["structural"],
            regions=regions,
            subject=spec.subject,
            session=spec.session,
            **self.structural_options,
        )
        check_connectome(matrix, path=spec.paths["structural"], subject=spec.subject)
        if names is None:
            return matrix
        names = [str(name) for name in names]
        if regions is None:
            if len(names) != len(matrix):
                raise DataError(
                    f"the connectivity matrix is {len(matrix)} x {len(matrix)} but the run "
                    f"has {len(names)} regions.",
                    path=spec.paths["structural"],
                    subject=spec.subject,
                    session=spec.session,
                )
            return matrix  # no region table: rows follow the run's columns
        table = regions["name"].astype(str).tolist()
        if sorted(table) != sorted(names):
            raise DataError(
                "the region table of the connectivity matrix does not hold the run's regions "
                f"(e.g. {sorted(set(names) - set(table))[:3]}).",
                path=spec.paths["structural"],
                subject=spec.subject,
                session=spec.session,
            )
        order = [table.index(name) for name in names]
        return matrix[np.ix_(order, order)]

    def regions(self):
        """Region table of the parcellation: the ``regions`` file, else the first run's.

        Returns
        -------
        regions : pandas.DataFrame
            ``name``, ``network`` and any other columns of the table. When the table
            comes from a file, its row order is the file's (a run may reorder rows to
            its columns; :meth:`load_run` gives the run's own order).
        """
        paths = self._shared_paths()
        if "regions" in paths:
            return read_region_table(paths["regions"])
        specs = self.runs()
        if not specs:
            raise DataError(
                f"no runs found under '{self.root}' to read the regions from.", path=self.path
            )
        if self.structural_only:
            return default_regions(len(self.load_structural(specs[0])))
        return self.load_run(specs[0]).regions

    def load_phenotype(self, **kwargs):
        """Read the phenotype table, restricted to the manifest's subjects if listed.

        ``subjects=None`` reads every row instead (a listed subject without a row
        is then not an error); other keywords go to :func:`~brainctrl.io.load_phenotype`.

        Returns
        -------
        phenotype : pandas.DataFrame
            See :func:`~brainctrl.io.load_phenotype`; the ``group``, ``covariates`` and
            ``scores`` columns named in the manifest are checked to exist.

        Raises
        ------
        DataError
            If the manifest has no phenotype or a named column is absent.
        """
        if not self.phenotype:
            raise DataError("the manifest has no 'phenotype' section.", path=self.path)
        path = self.resolve(self.phenotype["path"], what="phenotype.path")
        kwargs.setdefault("subjects", self.subject_ids)
        table = load_phenotype(
            path, id_column=self.phenotype.get("id_column", "subject"), **kwargs
        )
        wanted = self.phenotype_columns()
        absent = [column for column in wanted if column not in table.columns]
        if absent:
            raise DataError(
                f"phenotype columns named in the manifest are missing: {absent}; columns: "
                f"{list(table.columns)}.",
                path=path,
            )
        return table

    def phenotype_columns(self):
        """Columns the manifest names: group, then covariates, then scores."""
        if not self.phenotype:
            return []
        columns = [self.phenotype["group"]] if self.phenotype.get("group") else []
        return (
            columns
            + list(self.phenotype.get("covariates") or [])
            + list(self.phenotype.get("scores") or [])
        )


def _template_fields(template):
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    return [name for name in _TEMPLATE_FIELDS if name in names]


def _template_regex(template, free):
    parts = re.split(r"(\{(?:subject|session|run)\})", template)
    regex = []
    used = set()
    for part in parts:
        match = re.fullmatch(r"\{(subject|session|run)\}", part)
        if match and match.group(1) in free:
            name = match.group(1)
            regex.append(f"(?P={name})" if name in used else f"(?P<{name}>[^/]+?)")
            used.add(name)
        else:
            regex.append(re.escape(part))
    return re.compile("".join(regex))


def _raw_scalars(node, key):
    """Raw text of a scalar or list of scalars under ``key`` of a YAML mapping node."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) != key:
            continue
        if isinstance(value_node, yaml.ScalarNode):
            if value_node.tag.endswith(":null"):
                return None
            return [value_node.value]
        if isinstance(value_node, yaml.SequenceNode):
            return [getattr(item, "value", None) for item in value_node.value]
    return None


def _check_ids(name, raw, parsed, path):
    if parsed is None:
        return None
    if not isinstance(parsed, (list, str, int)):
        raise DataError(
            f"'{name}' must be a list of IDs or null; got {type(parsed).__name__}.", path=path
        )
    items = parsed if isinstance(parsed, list) else [parsed]
    if any(isinstance(item, (dict, list)) or item is None for item in items):
        raise DataError(f"'{name}' must list plain IDs; got {parsed!r}.", path=path)
    ids = [str(item) for item in raw] if raw is not None else [str(item) for item in items]
    for value in ids:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise DataError(f"'{name}' has an invalid ID {value!r}.", path=path)
    if len(set(ids)) != len(ids):
        raise DataError(f"'{name}' lists an ID twice: {ids}.", path=path)
    return ids


def _check_string(name, value, path, *, required=False):
    if value is None:
        if required:
            raise DataError(f"'{name}' is required.", path=path)
        return None
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"'{name}' must be a non-empty string; got {value!r}.", path=path)
    return value


def _check_file_entry(section, value, keys, path):
    """A path template given alone or as a mapping with reading options.

    Returns ``(template, options)``; ``keys`` are the mapping's keys, ``path``
    first. The options shared by ``timeseries`` and ``structural`` (``key``,
    ``delimiter``, ``header``) are checked here.
    """
    if value is None or isinstance(value, str):
        return _check_string(section, value, path), {}
    if not isinstance(value, dict):
        raise DataError(
            f"'{section}' must be a path template or a mapping with keys {list(keys)}; got "
            f"{value!r}.",
            path=path,
        )
    template = _check_string(f"{section}.path", value.get("path"), path, required=True)
    options = {key: value[key] for key in keys[1:] if key in value}
    if "key" in options:
        _check_string(f"{section}.key", options["key"], path, required=True)
    if "delimiter" in options:
        try:
            check_delimiter(options["delimiter"])
        except InvalidParameterError as exc:
            message = str(exc).replace("'delimiter'", f"'{section}.delimiter'", 1)
            raise DataError(message, path=path) from None
    if "header" in options and not (
        isinstance(options["header"], bool) or options["header"] == "auto"
    ):
        raise DataError(
            f"'{section}.header' must be one of ('auto', true, false); got {options['header']!r}.",
            path=path,
        )
    return template, options


def _check_timeseries(value, path):
    """The ``timeseries`` template and its reading options (a string or a mapping)."""
    template, options = _check_file_entry("timeseries", value, _TIMESERIES_KEYS, path)
    if "orientation" in options and options["orientation"] not in ORIENTATIONS:
        raise DataError(
            f"'timeseries.orientation' must be one of {ORIENTATIONS}; got "
            f"{options['orientation']!r}.",
            path=path,
        )
    return template, options


def _check_structural(value, path):
    """The ``structural`` template and its reading options (a string or a mapping)."""
    template, options = _check_file_entry("structural", value, _STRUCTURAL_KEYS, path)
    if template is None:
        return None, {}
    fields = [n for _, n, _, _ in string.Formatter().parse(template) if n is not None]
    if any(n not in ("subject", "session") for n in fields):
        raise DataError(
            "'structural' template fields must be among ('subject', 'session') (a "
            "connectivity matrix belongs to a subject, not to a run; a path without fields "
            f"is one group matrix for every subject); got {template!r}.",
            path=path,
        )
    return template, options


def _check_unknown_keys(content, path):
    """Raise a DataError listing every key the schema does not know, with its path."""
    unknown = [str(key) for key in content if key not in _TOP_KEYS]
    for section, allowed in _SECTION_KEYS.items():
        value = content.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise DataError(
                f"'{section}' must be a mapping with keys {list(allowed)}; got {value!r}.",
                path=path,
            )
        unknown += [f"{section}.{key}" for key in value if key not in allowed]
    raw_timeseries = content.get("timeseries")
    if isinstance(raw_timeseries, dict):
        unknown += [f"timeseries.{key}" for key in raw_timeseries if key not in _TIMESERIES_KEYS]
    raw_structural = content.get("structural")
    if isinstance(raw_structural, dict):
        unknown += [f"structural.{key}" for key in raw_structural if key not in _STRUCTURAL_KEYS]
    if unknown:
        sections = {key.split(".")[0] for key in unknown if "." in key}
        allowed = {
            **_SECTION_KEYS,
            "timeseries": _TIMESERIES_KEYS,
            "structural": _STRUCTURAL_KEYS,
        }
        inside = "".join(
            f"; allowed in '{section}': {list(allowed[section])}" for section in sorted(sections)
        )
        raise DataError(
            f"unknown manifest key(s) {unknown}; allowed top-level keys: {list(_TOP_KEYS)}"
            f"{inside}.",
            path=path,
        )


def _check_layout(layout, template, structural, parcellation, path):
    """The files each layout needs, and the fields of the time series template."""
    if template is not None:
        fields = [n for _, n, _, _ in string.Formatter().parse(template) if n is not None]
        bad = [n for n in fields if n not in _TEMPLATE_FIELDS]
        if bad:
            raise DataError(
                f"'timeseries' template fields must be among {_TEMPLATE_FIELDS}; got {bad}.",
                path=path,
            )
        if "subject" not in fields:
            raise DataError("'timeseries' template must contain '{subject}'.", path=path)
    if template is None and structural is not None and "{subject}" not in structural:
        raise DataError(
            "'structural' without a 'timeseries' template lists the cohort's subjects, so it "
            f"must contain '{{subject}}'; got {structural!r}.",
            path=path,
        )
    if layout == "timeseries" and template is None and structural is None:
        raise DataError(
            "layout 'timeseries' requires a 'timeseries' path template (or, for a cohort of "
            "connectivity matrices only, a 'structural' one).",
            path=path,
        )
    if layout == "hcp" and not parcellation.get("dlabel"):
        raise DataError("layout 'hcp' requires 'parcellation.dlabel'.", path=path)
    if layout == "fmriprep" and not (parcellation.get("atlas") or parcellation.get("dlabel")):
        raise DataError(
            "layout 'fmriprep' requires 'parcellation.atlas' (or 'parcellation.dlabel').",
            path=path,
        )


def _check_confounds(confounds, path):
    if confounds is not None:
        confounds = dict(confounds)
        _check_string("confounds.path", confounds.get("path"), path)
        strategy = confounds.get("strategy")
        if strategy is not None and strategy not in CONFOUND_STRATEGIES:
            raise DataError(
                f"'confounds.strategy' must be one of {CONFOUND_STRATEGIES}; got {strategy!r}.",
                path=path,
            )
    return confounds


def _check_phenotype(phenotype, path):
    if phenotype is not None:
        phenotype = dict(phenotype)
        _check_string("phenotype.path", phenotype.get("path"), path, required=True)
        _check_string("phenotype.id_column", phenotype.get("id_column"), path)
        _check_string("phenotype.group", phenotype.get("group"), path)
        for key in ("covariates", "scores"):
            value = phenotype.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(
                    f"'phenotype.{key}' must be a list of column names; got {value!r}.",
                    path=path,
                )
            phenotype[key] = value
    return phenotype


def _dataset_root(root, manifest_root, path):
    """The dataset root: ``root`` if given, else the manifest's (relative to its folder)."""
    if root is not None:
        return Path(root).expanduser()
    _check_string("root", manifest_root, path)
    dataset_root = Path(os.path.expanduser(manifest_root))
    if not dataset_root.is_absolute():
        dataset_root = path.parent / dataset_root
    return dataset_root


def load_manifest(path, root=None):
    r"""Read a data manifest (YAML) describing a dataset.

    Parameters
    ----------
    path : str or path-like
        The manifest file (``data_manifests/*.yaml``), read with ``yaml.safe_load``.
    root : str or path-like, optional
        Dataset root overriding the manifest's ``root`` (relative to the current
        folder). The manifest's own ``root`` is relative to the manifest's folder.

    Returns
    -------
    manifest : Manifest

    Raises
    ------
    MissingDataError
        If the manifest file does not exist.
    DataError
        If the YAML is invalid, a key is unknown (reported with its key path, e.g.
        ``phenotype.covariate``), a required key is missing, a value has the wrong
        type, or a path leaves the dataset root.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "m.yaml").write_text(
    ...     "name: toy\nlayout: timeseries\nt_r: 2\nsubjects: [007]\n"
    ...     "timeseries: 'sub-{subject}.tsv'\n")
    >>> manifest = load_manifest(folder / "m.yaml")
    >>> manifest.subject_ids, manifest.runs()[0].paths["timeseries"].name
    (['007'], 'sub-007.tsv')
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingDataError("manifest file does not exist.", path=path)
    text = path.read_text(encoding="utf-8")
    try:
        content = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise DataError(f"manifest is not valid YAML ({exc}).", path=path) from None
    if not isinstance(content, dict):
        raise DataError(
            f"manifest must be a YAML mapping; got {type(content).__name__}.", path=path
        )
    _check_unknown_keys(content, path)
    name = _check_string("name", content.get("name"), path, required=True)
    layout = _check_string("layout", content.get("layout"), path, required=True)
    if layout not in LAYOUTS:
        raise DataError(f"'layout' must be one of {LAYOUTS}; got {layout!r}.", path=path)
    t_r = content.get("t_r")
    if t_r is not None:
        try:
            check_positive("t_r", t_r)
        except InvalidParameterError as exc:
            raise DataError(str(exc), path=path) from None
        t_r = float(t_r)
    parcellation = dict(content.get("parcellation") or {})
    for key in ("name", "regions", "dlabel", "atlas"):
        _check_string(f"parcellation.{key}", parcellation.get(key), path)
    template, timeseries_options = _check_timeseries(content.get("timeseries"), path)
    structural, structural_options = _check_structural(content.get("structural"), path)
    _check_layout(layout, template, structural, parcellation, path)
    confounds = _check_confounds(content.get("confounds"), path)
    phenotype = _check_phenotype(content.get("phenotype"), path)
    dataset_root = _dataset_root(root, content.get("root", "."), path)
    manifest = Manifest(
        name=name,
        layout=layout,
        root=Path(os.path.normpath(os.path.abspath(dataset_root))),
        t_r=t_r,
        parcellation=parcellation,
        subject_ids=_check_ids(
            "subjects", _raw_scalars(node, "subjects"), content.get("subjects"), path
        ),
        session_ids=_check_ids(
            "sessions", _raw_scalars(node, "sessions"), content.get("sessions"), path
        ),
        run_ids=_check_ids("runs", _raw_scalars(node, "runs"), content.get("runs"), path),
        timeseries=template,
        timeseries_options=timeseries_options,
        confounds=confounds,
        phenotype=phenotype,
        task=_check_string("task", content.get("task"), path),
        space=_check_string("space", content.get("space"), path),
        structural=structural,
        structural_options=structural_options,
        path=path,
    )
    # Resolve every fixed path now so that root escapes fail early.
    manifest._shared_paths()
    if phenotype is not None:
        manifest.resolve(phenotype["path"], what="phenotype.path")
    return manifest


def _file_problem(path):
    """None if ``path`` is a readable file, else a short description of what is wrong."""
    path = Path(path)
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not a regular file"
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return None


def validate_manifest(manifest):
    """List every missing or unreadable file of a manifest.

    Parameters
    ----------
    manifest : Manifest
        From :func:`load_manifest`.

    Returns
    -------
    problems : list of str
        One human-readable line per problem, naming the subject and run where there
        is one; empty when every file is present and readable. Region and phenotype
        tables are also parsed, and requested subjects without runs or phenotype rows
        are reported.
    """
    if not manifest.root.is_dir():
        return [f"dataset root '{manifest.root}' does not exist or is not a folder."]
    try:
        shared = manifest._shared_paths()
    except DataError as exc:
        return [str(exc)]
    problems = _shared_file_problems(shared)
    phenotype_subjects = _phenotype_problems(manifest, problems)
    try:
        specs = manifest.runs()
    except DataError as exc:
        return problems + [str(exc)]
    if not specs:
        problems.append(f"no runs found under '{manifest.root}'.")
    problems += _run_file_problems(specs, shared)
    found_subjects = {spec.subject for spec in specs}
    for subject in manifest.subject_ids or []:
        if subject not in found_subjects:
            problems.append(f"subject {subject!r}: no runs found under '{manifest.root}'.")
        if phenotype_subjects is not None and subject not in phenotype_subjects:
            problems.append(f"subject {subject!r}: not in the phenotype table.")
    if phenotype_subjects is not None and manifest.subject_ids is None:
        for subject in sorted(found_subjects - phenotype_subjects):
            problems.append(f"subject {subject!r}: has runs but no row in the phenotype table.")
    return problems


def _shared_file_problems(shared):
    """Problems of the parcellation files every run uses (the region table is parsed)."""
    problems = []
    for key, path in shared.items():
        problem = _file_problem(path)
        if problem:
            problems.append(f"parcellation {key} file '{path}': {problem}.")
        elif key == "regions":
            try:
                read_region_table(path)
            except DataError as exc:
                problems.append(str(exc))
    return problems


def _phenotype_problems(manifest, problems):
    """Check the phenotype table (appending to ``problems``); its subjects, or None."""
    if not manifest.phenotype:
        return None
    try:
        path = manifest.resolve(manifest.phenotype["path"], what="phenotype.path")
    except DataError as exc:
        problems.append(str(exc))
        return None
    problem = _file_problem(path)
    if problem:
        problems.append(f"phenotype table '{path}': {problem}.")
        return None
    try:
        table = load_phenotype(path, id_column=manifest.phenotype.get("id_column", "subject"))
    except DataError as exc:
        problems.append(str(exc))
        return None
    absent = [c for c in manifest.phenotype_columns() if c not in table.columns]
    if absent:
        problems.append(
            f"phenotype table '{path}': columns named in the manifest are missing: {absent}."
        )
    return set(table["subject"])


def _run_file_problems(specs, shared):
    """Missing or unreadable files of each run (a shared connectome reported once)."""
    problems, reported = [], set()
    for spec in specs:
        for key, path in spec.paths.items():
            if key in shared or (key == "structural" and path in reported):
                continue
            reported.add(path)
            problem = _file_problem(path)
            if problem:
                problems.append(f"{spec.describe()}: {key} file '{path}': {problem}.")
    return problems
