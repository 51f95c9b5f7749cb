"""Mass-univariate group comparisons: vectorised GLM, Freedman–Lane permutations, effect sizes."""

import logging
import numbers
import re

import numpy as np
import pandas as pd
from scipy import linalg, stats

from brainctrl._utils.deprecation import replace_parameter
from brainctrl._utils.permutation import ALTERNATIVES, permutation_counts, permutation_pvalue
from brainctrl._utils.validation import check_option, check_positive, check_random_state
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.stats._multiple import fdr_correction

__all__ = ["group_comparison"]

logger = logging.getLogger(__name__)

_TIDY_LEVELS = ("window", "run", "session")
_TIDY_KEYS = ("subject", "session", "run", "window", "measure", "region")
_CHUNK_ELEMENTS = 4_000_000


# ----------------------------------------------------------------------------------------
# input tables
# ----------------------------------------------------------------------------------------


def _subject_ids(values):
    """Subject identifiers as strings without a BIDS ``sub-`` prefix."""
    return pd.Index([re.sub(r"^sub-", "", str(v)) for v in values], name="subject")


def _prepare_phenotype(phenotype):
    if not isinstance(phenotype, pd.DataFrame):
        raise InvalidParameterError(
            f"'phenotype' must be a pandas DataFrame; got {type(phenotype).__name__}."
        )
    table = phenotype.copy()
    for column in ("subject", "participant_id"):
        if column in table.columns:
            table = table.set_index(column)
            break
    table.index = _subject_ids(table.index)
    if table.index.has_duplicates:
        dup = sorted(set(table.index[table.index.duplicated()]))[:10]
        raise DataError(f"phenotype has duplicated subject IDs: {dup}.")
    return table


def _prepare_features(features):
    """Return a wide table (subjects x features) and a per-feature description table."""
    if not isinstance(features, pd.DataFrame):
        raise InvalidParameterError(
            f"'features' must be a pandas DataFrame (wide or tidy); got {type(features).__name__}."
        )
    if {"subject", "measure", "value"} <= set(features.columns):
        return _pivot_tidy(features)
    wide = features
    if "subject" in wide.columns:
        wide = wide.set_index("subject")
    wide = wide.copy()
    wide.index = _subject_ids(wide.index)
    if isinstance(wide.columns, pd.MultiIndex):
        if wide.columns.nlevels != 2:
            raise DataError(
                "features with MultiIndex columns must have two levels (measure, region); "
                f"got {wide.columns.nlevels}."
            )
        measures = [str(a) for a, _ in wide.columns]
        regions = [None if pd.isna(b) or b == "" else str(b) for _, b in wide.columns]
    else:
        measures = [str(c) for c in wide.columns]
        regions = [None] * len(measures)
    info = pd.DataFrame({"measure": measures, "region": regions})
    info.insert(0, "feature", _feature_names(info))
    non_numeric = [
        c
        for c, dtype in zip(wide.columns, wide.dtypes)
        if not pd.api.types.is_numeric_dtype(dtype)
    ]
    if non_numeric:
        raise DataError(
            f"features must be numeric; columns {non_numeric[:5]} are not. Pass a wide table "
            "(subjects x features) or a tidy one with columns subject, region, measure, value."
        )
    if wide.index.has_duplicates:
        dup = sorted(set(wide.index[wide.index.duplicated()]))[:10]
        raise DataError(f"features has duplicated subject IDs (rows): {dup}.")
    wide = pd.DataFrame(wide.to_numpy(dtype=float), index=wide.index)
    return wide, info


def _feature_names(info):
    return [
        m if r is None or pd.isna(r) else f"{m}[{r}]"
        for m, r in zip(info["measure"], info["region"])
    ]


def _pivot_tidy(tidy):
    """Average a tidy table to one value per subject, measure and region.

    Windows are averaged within each run, then runs within each session, then
    sessions, so every run of a session and every session of a subject count equally.
    """
    table = tidy.copy()
    if "region" not in table.columns:
        table["region"] = ""
    table["region"] = table["region"].astype(object).where(table["region"].notna(), "")
    table["region"] = table["region"].map(str)
    table["measure"] = table["measure"].map(str)
    table["subject"] = list(_subject_ids(table["subject"]))
    if not pd.api.types.is_numeric_dtype(table["value"]):
        raise DataError(
            f"the tidy features' 'value' column must be numeric; got {table['value'].dtype}."
        )
    keys = [k for k in _TIDY_KEYS if k in table.columns]
    extras = [c for c in table.columns if c not in keys and c != "value"]
    for level in _TIDY_LEVELS:
        if level in keys:
            table[level] = table[level].astype(object).where(table[level].notna(), "")
    current = table[keys + ["value"]]
    for level in _TIDY_LEVELS:
        if level in keys:
            keys = [k for k in keys if k != level]
            current = current.groupby(keys, sort=False)["value"].mean().reset_index()
    wide = current.pivot(index="subject", columns=["measure", "region"], values="value")
    info = pd.DataFrame(
        {
            "measure": [m for m, _ in wide.columns],
            "region": [None if r == "" else r for _, r in wide.columns],
        }
    )
    # per-feature descriptors (e.g. network) that are constant within a feature
    if extras:
        grouped = table.groupby(["measure", "region"], sort=False)
        for column in extras:
            if (grouped[column].nunique(dropna=False) <= 1).all():
                first = grouped[column].first()
                info[column] = [
                    first.get((m, "" if r is None else r))
                    for m, r in zip(info["measure"], info["region"])
                ]
    info.insert(0, "feature", _feature_names(info))
    wide = pd.DataFrame(
        wide.to_numpy(dtype=float), index=pd.Index(wide.index.map(str), name="subject")
    )
    return wide, info


def _align_subjects(wide, phenotype):
    in_both = wide.index.intersection(phenotype.index, sort=False)
    only_features = wide.index.difference(phenotype.index)
    only_phenotype = phenotype.index.difference(wide.index)
    if len(in_both) == 0:
        raise DataError(
            "features and phenotype share no subject IDs; features has e.g. "
            f"{list(wide.index[:5])}, phenotype has e.g. {list(phenotype.index[:5])}."
        )
    if len(only_features):
        logger.warning(
            "%d subject(s) have features but no phenotype row and are left out: %s",
            len(only_features),
            list(only_features),
        )
    if len(only_phenotype):
        logger.warning(
            "%d subject(s) of the phenotype have no features and are left out: %s",
            len(only_phenotype),
            list(only_phenotype),
        )
    return in_both


# ----------------------------------------------------------------------------------------
# design and contrast
# ----------------------------------------------------------------------------------------


def _quote(name):
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f'Q("{name}")'


class _Design:
    """A design matrix with column names, its contrast and the subjects it keeps."""

    def __init__(self, matrix, columns, subjects, contrast, contrast_name, group):
        self.matrix = matrix
        self.columns = columns
        self.subjects = subjects
        self.contrast = contrast
        self.contrast_name = contrast_name
        self.group = group  # pandas Series of two-level labels per subject, or None


def _build_design(phenotype, *, formula, design, contrast, group, covariates):
    """Build the design for ``phenotype`` (indexed by subject, already aligned)."""
    term_slices = {}
    if design is not None and formula is not None:
        raise InvalidParameterError("pass either 'formula' or 'design', not both.")
    if design is not None:
        if isinstance(design, pd.DataFrame):
            frame = design.copy()
            frame.index = _subject_ids(frame.index)
            missing = phenotype.index.difference(frame.index)
            if len(missing):
                raise DataError(f"design has no row for subject(s) {list(missing[:10])}.")
            frame = frame.loc[phenotype.index]
        else:
            array = np.asarray(design, dtype=float)
            if array.ndim != 2 or array.shape[0] != len(phenotype):
                raise DataError(
                    f"design must have shape (n_subjects, n_columns) = ({len(phenotype)}, k); "
                    f"got shape {array.shape}."
                )
            frame = pd.DataFrame(
                array, index=phenotype.index, columns=[f"x{i}" for i in range(array.shape[1])]
            )
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.astype(float)
        dropped = frame.index[frame.isna().any(axis=1)]
        frame = frame.dropna()
    else:
        import patsy

        if formula is None:
            terms = []
            if group is not None:
                terms.append(group)
            elif isinstance(contrast, str):
                terms.append(contrast)
            terms.extend(c for c in covariates if c not in terms)
            if not terms:
                raise InvalidParameterError(
                    "give a 'formula', a 'design', or a 'group'/'covariates' to build the "
                    "design from."
                )
            missing = [t for t in terms if t not in phenotype.columns]
            if missing:
                raise DataError(
                    f"phenotype has no column(s) {missing}; it has {list(phenotype.columns)}."
                )
            formula = " + ".join(_quote(t) for t in terms)
        if "~" in formula and formula.split("~", 1)[0].strip():
            raise InvalidParameterError(
                "'formula' describes the right-hand side only (e.g. 'group + age'); "
                f"got {formula!r}."
            )
        try:
            frame = patsy.dmatrix(formula, phenotype, NA_action="drop", return_type="dataframe")
        except patsy.PatsyError as exc:
            raise InvalidParameterError(
                f"could not build the design from formula {formula!r}: {exc}"
            ) from None
        dropped = phenotype.index.difference(frame.index)
        term_slices = {
            name: frame.columns[sl].tolist()
            for name, sl in frame.design_info.term_name_slices.items()
        }
        frame = pd.DataFrame(frame.to_numpy(), index=frame.index, columns=list(frame.columns))
    if len(dropped):
        logger.warning(
            "%d subject(s) have missing values in the design and are left out: %s",
            len(dropped),
            list(dropped),
        )
    columns = list(frame.columns)
    matrix = frame.to_numpy(dtype=float)
    n, k = matrix.shape
    if n <= k:
        raise DataError(
            f"the design has {n} subjects for {k} columns {columns}; need more "
            "subjects than columns."
        )
    rank = np.linalg.matrix_rank(matrix)
    if rank < k:
        raise DataError(
            f"the design is rank-deficient: rank {rank} with {k} columns {columns}; "
            "remove collinear or constant columns."
        )
    vector, name = _resolve_contrast(contrast, columns, term_slices)
    candidate = contrast if isinstance(contrast, str) else None
    for term, cols in term_slices.items():
        if name in cols and len(cols) == 1:
            candidate = term  # e.g. contrast "group[T.patient]" belongs to term "group"
    labels = _group_labels(phenotype.loc[frame.index], group, candidate)
    return _Design(matrix, columns, frame.index, vector, name, labels)


def _resolve_contrast(contrast, columns, term_slices):
    if isinstance(contrast, str):
        if contrast in columns:
            vector = np.zeros(len(columns))
            vector[columns.index(contrast)] = 1.0
            return vector, contrast
        if contrast in term_slices:
            cols = term_slices[contrast]
            if len(cols) != 1:
                raise InvalidParameterError(
                    f"contrast term {contrast!r} has {len(cols)} design columns {cols}; name one "
                    "of them or pass a contrast vector."
                )
            vector = np.zeros(len(columns))
            vector[columns.index(cols[0])] = 1.0
            return vector, cols[0]
        raise InvalidParameterError(
            f"unknown contrast {contrast!r}; the design columns are {columns}"
            + (f" and its terms {list(term_slices)}." if term_slices else ".")
        )
    if contrast is None:
        raise InvalidParameterError(
            "'contrast' must be a design column/term name or a vector; got None."
        )
    vector = np.asarray(contrast, dtype=float).ravel()
    if vector.size != len(columns):
        raise InvalidParameterError(
            f"the contrast vector must have one weight per design column ({len(columns)}: "
            f"{columns}); got {vector.size}."
        )
    if not np.all(np.isfinite(vector)) or not np.any(vector):
        raise InvalidParameterError(
            f"the contrast vector must be finite and non-zero; got {vector.tolist()}."
        )
    name = " + ".join(f"{w:g}*{c}" for w, c in zip(vector, columns) if w)
    return vector, name


def _group_labels(phenotype, group, candidate):
    """Two-level group labels for effect sizes, or None."""
    column = group
    if column is None and candidate is not None and candidate in phenotype.columns:
        column = candidate
    if column is None:
        return None
    if column not in phenotype.columns:
        raise DataError(
            f"'group' column {column!r} is not in the phenotype; it has {list(phenotype.columns)}."
        )
    labels = phenotype[column]
    levels = labels.dropna().unique()
    if len(levels) != 2:
        if group is not None:
            raise DataError(
                f"'group' column {column!r} must have exactly two levels for effect sizes; "
                f"got {len(levels)}: {list(levels)[:10]}."
            )
        return None
    return labels


# ----------------------------------------------------------------------------------------
# the GLM kernel
# ----------------------------------------------------------------------------------------


class _OLS:
    """Least-squares fit of many responses on one design, for one t contrast.

    ``weights`` is ``a = X (X'X)^{-1} c`` so that the contrast estimate is
    ``a' y`` for every response ``y``.
    """

    def __init__(self, matrix, contrast):
        self.n, self.k = matrix.shape
        self.df = self.n - self.k
        self.Q, self.R = np.linalg.qr(matrix)
        # w = R^{-T} c, so c' beta = w' Q' y and c'(X'X)^{-1}c = w'w
        self.w = linalg.solve_triangular(self.R, contrast, trans="T", check_finite=False)
        self.weights = self.Q @ self.w
        self.leverage = np.einsum("ij,ij->i", self.Q, self.Q)
        self.R_inverse = linalg.solve_triangular(self.R, np.eye(self.k), check_finite=False)
        self.contrast = contrast

    def hc3_scale(self):
        if np.any(self.leverage > 1 - 1e-10):
            worst = int(np.argmax(self.leverage))
            raise DataError(
                f"HC3 standard errors are undefined: subject at row {worst} has leverage "
                f"{self.leverage[worst]:.12g} (1 means the design fits it exactly)."
            )
        return self.weights**2 / (1.0 - self.leverage) ** 2

    def fit(self, Y, *, robust=False):
        """Return beta (k, m), contrast estimate, its standard error and t."""
        QtY = self.Q.T @ Y
        beta = self.R_inverse @ QtY
        resid = Y - self.Q @ QtY
        estimate = self.w @ QtY
        if robust:
            variance = self.hc3_scale() @ resid**2
        else:
            variance = (self.w @ self.w) * np.einsum("ij,ij->j", resid, resid) / self.df
        se = np.sqrt(variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = estimate / se
        # residuals at rounding level: constant or perfectly fitted responses
        rss = np.einsum("ij,ij->j", resid, resid)
        degenerate = rss <= 1e-20 * np.einsum("ij,ij->j", Y, Y)
        t[degenerate] = np.nan
        return beta, estimate, se, t


def _null_space(contrast):
    """Orthonormal basis (k, k-1) of the vectors b with c'b = 0."""
    return linalg.null_space(contrast[None, :])


class _FreedmanLane:
    """Permuted t statistics by Freedman & Lane (1983), vectorised over permutations.

    The nuisance model is the full design restricted to ``c'beta = 0``, i.e. the
    columns ``X N`` with ``N`` a basis of the null space of ``c'``. Its residuals
    ``R_z`` are permuted and added back to its fitted values; the full model is
    refitted. Because the nuisance fit lies in the span of ``X``, the permuted
    contrast estimate is ``w' Q' P R_z`` and the residual sum of squares
    ``||R_z||^2 - ||Q' P R_z||^2`` (``X = Q R``), so one matrix product per chunk of
    permutations gives every statistic.
    """

    def __init__(self, ols, matrix, Y, *, robust=False):
        self.ols = ols
        self.robust = robust
        nuisance = matrix @ _null_space(ols.contrast)
        if nuisance.shape[1]:
            Qz, _ = np.linalg.qr(nuisance)
            self.resid = Y - Qz @ (Qz.T @ Y)
        else:
            self.resid = Y.copy()
        self.total = np.einsum("ij,ij->j", self.resid, self.resid)
        if robust:
            self.scale = ols.hc3_scale()

    def tstats(self, permutations):
        """Permuted t for every feature, shape (n_perm, n_features)."""
        ols = self.ols
        n_perm, n = permutations.shape
        inverse = np.argsort(permutations, axis=1)
        # (P R)_i = R[perm_i]  =>  Q' P R = Q[inverse]' R
        Qp = ols.Q[inverse]  # (n_perm, n, k)
        QtPR = (Qp.transpose(0, 2, 1).reshape(n_perm * ols.k, n) @ self.resid).reshape(
            n_perm, ols.k, -1
        )
        estimate = np.einsum("k,pkm->pm", ols.w, QtPR)
        if self.robust:
            fitted = np.einsum("ik,pkm->pim", ols.Q, QtPR)
            resid = self.resid[permutations] - fitted
            variance = np.einsum("i,pim->pm", self.scale, resid**2)
        else:
            rss = np.maximum(self.total[None, :] - np.einsum("pkm,pkm->pm", QtPR, QtPR), 0.0)
            variance = (ols.w @ ols.w) * rss / ols.df
        with np.errstate(divide="ignore", invalid="ignore"):
            return estimate / np.sqrt(variance)


def _permutation_indices(
    n, n_permutations, rng, *, exchangeability_blocks=None, whole_blocks=False
):
    """Random permutations of ``n`` rows, shape (n_permutations, n).

    Row ``b`` says which original row goes to each position: permuted data are
    ``data[perm[b]]``. Within blocks, rows are shuffled only among rows of the same
    block; with ``whole_blocks`` the blocks (all of the same size) trade places as
    units, keeping the order of rows inside each block.
    """
    if exchangeability_blocks is None:
        return rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
    blocks = np.asarray(exchangeability_blocks)
    labels, codes = np.unique(blocks, return_inverse=True)
    members = [np.flatnonzero(codes == b) for b in range(labels.size)]
    perms = np.tile(np.arange(n), (n_permutations, 1))
    if whole_blocks:
        sizes = {m.size for m in members}
        if len(sizes) != 1:
            raise DataError(
                "whole-block permutation needs blocks of equal size; got sizes "
                f"{sorted(m.size for m in members)[:10]}."
            )
        order = rng.permuted(np.tile(np.arange(labels.size), (n_permutations, 1)), axis=1)
        stacked = np.stack(members)  # (n_blocks, size)
        for b, rows in enumerate(members):
            perms[:, rows] = stacked[order[:, b]]
        return perms
    for rows in members:
        shuffled = rng.permuted(np.tile(np.arange(rows.size), (n_permutations, 1)), axis=1)
        perms[:, rows] = rows[shuffled]
    return perms


def _check_blocks(exchangeability_blocks, phenotype, subjects):
    if exchangeability_blocks is None:
        return None
    if isinstance(exchangeability_blocks, str):
        if exchangeability_blocks not in phenotype.columns:
            raise DataError(
                f"'exchangeability_blocks' column {exchangeability_blocks!r} is not in the "
                f"phenotype; it has {list(phenotype.columns)}."
            )
        blocks = phenotype.loc[subjects, exchangeability_blocks]
    elif isinstance(exchangeability_blocks, pd.Series):
        series = exchangeability_blocks.copy()
        series.index = _subject_ids(series.index)
        missing = subjects.difference(series.index)
        if len(missing):
            raise DataError(
                f"exchangeability_blocks has no entry for subject(s) {list(missing[:10])}."
            )
        blocks = series.loc[subjects]
    else:
        array = np.asarray(exchangeability_blocks)
        if array.ndim != 1 or array.size != len(phenotype):
            raise DataError(
                "exchangeability_blocks must be a phenotype column name, a Series indexed by "
                f"subject, or one label per phenotype row ({len(phenotype)}); got shape "
                f"{array.shape}."
            )
        blocks = pd.Series(array, index=phenotype.index).loc[subjects]
    if blocks.isna().any():
        raise DataError(
            "exchangeability_blocks is missing for subject(s) "
            f"{list(blocks.index[blocks.isna()][:10])}."
        )
    return blocks.astype(str).to_numpy()


def _run_chunks(function, permutations, chunk, n_jobs):
    """Apply ``function`` to consecutive chunks of permutations and return the results."""
    chunks = [permutations[s : s + chunk] for s in range(0, len(permutations), chunk)]
    if n_jobs == 1 or len(chunks) == 1:
        return [function(c) for c in chunks]
    from joblib import Parallel, delayed

    # NumPy's matrix products release the GIL, so threads avoid copying the data
    return Parallel(n_jobs=n_jobs, prefer="threads")(delayed(function)(c) for c in chunks)


def _chunk_size(n, m, k, robust):
    per_permutation = n * (k + (m if robust else 0)) + k * m + 2 * m
    return max(1, int(_CHUNK_ELEMENTS // max(per_permutation, 1)))


# ----------------------------------------------------------------------------------------
# effect sizes
# ----------------------------------------------------------------------------------------


def _two_group_effect_sizes(Y, labels):
    levels = sorted(labels.dropna().unique(), key=lambda v: (str(type(v)), v))
    first = (labels == levels[0]).to_numpy()
    second = (labels == levels[1]).to_numpy()
    n1, n2 = int(first.sum()), int(second.sum())
    if n1 < 2 or n2 < 2:
        raise DataError(
            f"effect sizes need at least 2 subjects per group; got {n1} and {n2} for "
            f"levels {levels}."
        )
    mean_diff = Y[second].mean(axis=0) - Y[first].mean(axis=0)
    pooled = (
        (n1 - 1) * Y[first].var(axis=0, ddof=1) + (n2 - 1) * Y[second].var(axis=0, ddof=1)
    ) / (n1 + n2 - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = mean_diff / np.sqrt(pooled)
    correction = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)
    return d, d * correction, n1, n2, levels


# ----------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------


def group_comparison(
    features,
    phenotype,
    *,
    formula=None,
    design=None,
    contrast="group",
    group=None,
    covariates=(),
    n_permutations=0,
    exchangeability_blocks=None,
    whole_blocks=False,
    family=None,
    robust=False,
    alternative=None,
    random_state=None,
    n_jobs=1,
    **deprecated,
):
    """Mass-univariate GLM over many brain features, with permutation inference.

    Fits one ordinary least-squares model per feature (all features at once), tests
    one contrast, optionally by Freedman–Lane permutations with family-wise
    (max-statistic) correction, adds Benjamini–Hochberg FDR within families and
    effect sizes.

    Parameters
    ----------
    features : pandas.DataFrame
        Either wide, of shape (n_subjects, n_features), indexed by subject ID (or with
        a ``subject`` column); columns are feature names, or a two-level MultiIndex
        ``(measure, region)``. Or tidy (long), with columns ``subject``, ``measure``,
        ``value`` and optionally ``region``, ``session``, ``run``, ``window`` and
        per-feature descriptors (e.g. ``network``). A tidy table is averaged to one
        value per subject, measure and region: windows within each run, then runs
        within each session, then sessions, so each run of a session and each
        session counts equally.
    phenotype : pandas.DataFrame
        One row per subject, indexed by subject ID or with a ``subject`` (or
        ``participant_id``) column. Subject IDs are compared as strings without a
        ``sub-`` prefix. Subjects present in only one table are left out with a
        logged warning; subjects with missing values in the design's columns are
        left out with a logged warning listing them.
    formula : str, optional
        Right-hand side of a patsy formula over phenotype columns, e.g.
        ``"group + age + sex + motion"`` (an intercept is added unless ``- 1``).
        Default: ``group`` (or ``contrast``) plus ``covariates``.
    design : pandas.DataFrame or ndarray of shape (n_subjects, n_columns), optional
        A ready design matrix instead of a formula (indexed by subject, or in the
        row order of ``phenotype``). Include an intercept column yourself.
    contrast : str or array-like of shape (n_columns,), default="group"
        The effect tested: a design column name (e.g. ``"group[T.patient]"``), a
        formula term with a single column (e.g. ``"group"``), or a weight vector.
    group : str, optional
        Phenotype column with two levels, for Cohen's d and Hedges' g. Default: the
        phenotype column the contrast refers to (``"group"`` for ``"group"`` or
        ``"group[T.patient]"``) when it has two levels.
    covariates : sequence of str, default=()
        Phenotype columns added to the default formula (ignored with ``formula`` or
        ``design``).
    n_permutations : int, default=0
        Number of Freedman–Lane permutations; 0 gives parametric p-values only.
    exchangeability_blocks : str, pandas.Series or array-like of shape (n_subjects,), optional
        Block label per subject (a phenotype column name, a Series indexed by
        subject, or one label per phenotype row). Subjects are permuted only within
        their block (e.g. HCP families).
    whole_blocks : bool, default=False
        Permute whole blocks (of equal size) as units instead of within blocks.
    family : None, "all", str or list of str, default=None
        Columns of the result defining the families for FDR and FWE correction
        (e.g. ``"measure"``, ``"network"``). None: one family per measure when
        features have regions (tidy or ``(measure, region)`` columns), else one family
        of all features. "all": every feature in one family.
    robust : bool, default=False
        Use heteroskedasticity-consistent (HC3) standard errors.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        Test ``contrast != 0``, ``contrast > 0`` or ``contrast < 0``. (The former
        ``two_sided=True`` and ``two_sided=False`` still work, with a
        FutureWarning: they are ``"two-sided"`` and ``"greater"``.)
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the permutations.
    n_jobs : int, default=1
        Threads over chunks of permutations (-1: all cores).

    Returns
    -------
    results : pandas.DataFrame
        One row per feature with columns ``feature``, ``measure``, ``region`` (and
        per-feature descriptors), ``contrast``, ``n`` (subjects), ``df``
        (residual degrees of freedom), ``beta`` (contrast estimate ``c'beta``),
        ``se``, ``t``, ``p`` (parametric, Student t with ``df``), ``p_perm``
        (uncorrected permutation p; NaN without permutations), ``p_fwe`` (max-statistic
        corrected within the family; NaN without permutations), ``p_fdr``
        (Benjamini–Hochberg within the family, of ``p_perm`` when permutations were
        run, else of ``p``), ``family``, ``cohen_d``, ``hedges_g``,
        ``cohen_d_adjusted`` (NaN without two groups) and ``partial_eta2``.
        ``results.attrs`` holds the design columns, the contrast vector, the
        group levels and the subjects used.

    Notes
    -----
    With design ``X = QR`` (n subjects, k columns), contrast ``c`` and responses
    ``Y`` (n, m): ``beta = R^{-1} Q'Y``, residuals ``E = Y - QQ'Y``,
    ``se^2 = c'(X'X)^{-1}c · ||e||^2/(n-k)``, ``t = c'beta / se``. HC3:
    ``se^2 = sum_i a_i^2 e_i^2 / (1-h_i)^2`` with ``a = X(X'X)^{-1}c`` and leverages
    ``h``; its p-values use Student t with ``n-k`` degrees of freedom.

    Freedman–Lane: fit the nuisance model (the design restricted to ``c'beta = 0``),
    permute its residuals ``R_z``, add its fitted values back, refit and record
    ``t*``. Uncorrected ``p = (1 + #{|t*| >= |t|}) / (B + 1)`` per feature; FWE
    ``p = (1 + #{max_family |t*| >= |t|}) / (B + 1)``. ``alternative="greater"``
    uses ``t`` and ``max_family t*`` instead, ``"less"`` ``-t`` and
    ``max_family -t*``. Permuted statistics equal to the observed one up to
    rounding count as at least as extreme.

    Effect sizes: ``cohen_d = (mean_2 - mean_1) / s_pooled`` (raw, no covariates;
    levels in sorted order, the second minus the first), ``hedges_g = d (1 -
    3/(4(n_1+n_2)-9))``, ``cohen_d_adjusted = t sqrt(1/n_1 + 1/n_2)`` (from the
    covariate-adjusted t; equals ``cohen_d`` without covariates) and
    ``partial_eta2 = t^2 / (t^2 + df)``.

    References
    ----------
    .. [1] Freedman D, Lane D (1983). A nonstochastic interpretation of reported
       significance levels. J Bus Econ Stat 1:292-298.
    .. [2] Winkler AM, Ridgway GR, Webster MA, Smith SM, Nichols TE (2014).
       Permutation inference for the general linear model. NeuroImage 92:381-397.
    .. [3] MacKinnon JG, White H (1985). Some heteroskedasticity-consistent covariance
       matrix estimators with improved finite sample properties. J Econom 29:305-325.
    .. [4] Hedges LV (1981). Distribution theory for Glass's estimator of effect size
       and related estimators. J Educ Stat 6:107-128.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> pheno = pd.DataFrame({"group": ["a"] * 10 + ["b"] * 10, "age": rng.normal(30, 5, 20)},
    ...                      index=[f"{i:02d}" for i in range(20)])
    >>> feats = pd.DataFrame(rng.normal(size=(20, 3)), index=pheno.index, columns=["x", "y", "z"])
    >>> feats.loc[pheno.group == "b", "x"] += 2.0
    >>> res = group_comparison(feats, pheno, formula="group + age", contrast="group")
    >>> str(res.loc[0, "feature"]), int(res.loc[0, "df"]), bool(res.loc[0, "p"] < 0.001)
    ('x', 17, True)
    """
    check_positive("n_permutations", n_permutations, strict=False, integer=True)
    if not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise InvalidParameterError(f"'n_jobs' must be a non-zero integer; got {n_jobs!r}.")
    alternative = replace_parameter(
        "group_comparison",
        "two_sided",
        "alternative",
        alternative,
        deprecated,
        {True: "two-sided", False: "greater"},
        default="two-sided",
    )
    if deprecated:
        raise TypeError(f"group_comparison() got unexpected keyword(s) {sorted(deprecated)}.")
    check_option("alternative", alternative, ALTERNATIVES)
    check_option("robust", robust, (True, False))
    if isinstance(covariates, str):
        covariates = (covariates,)
    wide, info = _prepare_features(features)
    table = _prepare_phenotype(phenotype)
    subjects = _align_subjects(wide, table)
    table = table.loc[subjects]
    built = _build_design(
        table,
        formula=formula,
        design=design,
        contrast=contrast,
        group=group,
        covariates=covariates,
    )
    Y = wide.loc[built.subjects].to_numpy(dtype=float)
    if not np.all(np.isfinite(Y)):
        rows, cols = np.nonzero(~np.isfinite(Y))
        raise DataError(
            f"features have {rows.size} missing or non-finite value(s), e.g. subject "
            f"{built.subjects[rows[0]]!r}, feature {info['feature'].iloc[cols[0]]!r}; drop or "
            "impute them first."
        )
    families = _family_codes(info, family)
    blocks = _check_blocks(exchangeability_blocks, table, built.subjects)

    ols = _OLS(built.matrix, built.contrast)
    _, estimate, se, t = ols.fit(Y, robust=robust)
    constant = np.flatnonzero(~np.isfinite(t))
    if constant.size:
        logger.warning(
            "%d feature(s) have zero residual variance (constant or perfectly fitted); "
            "their t and p are NaN: %s",
            constant.size,
            list(info["feature"].iloc[constant[:10]]),
        )
        t = np.where(np.isfinite(t), t, np.nan)
    if alternative == "two-sided":
        p = 2.0 * stats.t.sf(np.abs(t), ols.df)
    elif alternative == "greater":
        p = stats.t.sf(t, ols.df)
    else:
        p = stats.t.cdf(t, ols.df)

    p_perm = np.full(t.shape, np.nan)
    p_fwe = np.full(t.shape, np.nan)
    if n_permutations:
        rng = check_random_state(random_state)
        perms = _permutation_indices(
            len(built.subjects),
            n_permutations,
            rng,
            exchangeability_blocks=blocks,
            whole_blocks=whole_blocks,
        )
        p_perm, p_fwe = _permutation_pvalues(
            ols,
            built.matrix,
            Y,
            t,
            perms,
            families,
            robust=robust,
            alternative=alternative,
            n_jobs=n_jobs,
        )

    p_fdr = np.full(t.shape, np.nan)
    source = p_perm if n_permutations else p
    for code in np.unique(families):
        members = families == code
        p_fdr[members] = fdr_correction(source[members])

    result = info.copy()
    result["contrast"] = built.contrast_name
    result["n"] = len(built.subjects)
    result["df"] = ols.df
    result["beta"] = estimate
    result["se"] = se
    result["t"] = t
    result["p"] = p
    result["p_perm"] = p_perm
    result["p_fwe"] = p_fwe
    result["p_fdr"] = p_fdr
    result["family"] = _family_labels(info, family)
    attrs = {
        "design_columns": built.columns,
        "contrast_vector": built.contrast.tolist(),
        "subjects": list(built.subjects),
        "n_permutations": int(n_permutations),
        "robust": bool(robust),
        "alternative": alternative,
        "two_sided": alternative == "two-sided",
        "p_fdr_source": "p_perm" if n_permutations else "p",
        "group_levels": None,
    }
    nan = np.full(t.shape, np.nan)
    d = g = d_adjusted = nan
    if built.group is not None:
        d, g, n1, n2, levels = _two_group_effect_sizes(Y, built.group)
        d_adjusted = t * np.sqrt(1.0 / n1 + 1.0 / n2)
        attrs["group_levels"] = [str(v) for v in levels]
    result["cohen_d"] = d
    result["hedges_g"] = g
    result["cohen_d_adjusted"] = d_adjusted
    result["partial_eta2"] = t**2 / (t**2 + ols.df)
    result.attrs.update(attrs)
    return result


def _family_codes(info, family):
    labels = _family_labels(info, family)
    return pd.factorize(labels)[0]


def _family_labels(info, family):
    if family is None:
        if info["region"].isna().all():
            return np.array(["all"] * len(info), dtype=object)
        family = ["measure"]
    elif isinstance(family, str):
        if family == "all":
            return np.array(["all"] * len(info), dtype=object)
        family = [family]
    family = list(family)
    unknown = [f for f in family if f not in info.columns]
    if unknown:
        raise InvalidParameterError(
            f"'family' must name feature columns {list(info.columns)} or be 'all'; got {unknown}."
        )
    parts = info[family].astype(str)
    return parts.apply(lambda row: "/".join(row), axis=1).to_numpy(dtype=object)


def _family_extremes(tstar, alternative):
    """Most extreme ``t*`` of each permutation in the direction tested; NaN if none is defined."""
    if alternative == "two-sided":
        values, fill, pick = np.abs(tstar), -np.inf, np.max
    elif alternative == "greater":
        values, fill, pick = tstar, -np.inf, np.max
    else:
        values, fill, pick = tstar, np.inf, np.min
    defined = ~np.isnan(values)
    out = pick(np.where(defined, values, fill), axis=1)
    return np.where(defined.any(axis=1), out, np.nan)


def _permutation_pvalues(ols, matrix, Y, t, perms, families, *, robust, alternative, n_jobs):
    """Uncorrected and max-statistic (FWE) permutation p-values of ``t``.

    t values are symmetric about 0 under the null hypothesis, so the two-sided
    test is about 0. Undefined permuted statistics (and every permuted
    statistic of a feature whose ``t`` is undefined) are left out.
    """
    engine = _FreedmanLane(ols, matrix, Y, robust=robust)
    codes = np.unique(families)
    invalid = ~np.isfinite(t)

    def chunk_counts(chunk):
        tstar = engine.tstats(chunk)
        tstar = np.where(np.isfinite(tstar), tstar, np.nan)
        tstar[:, invalid] = np.nan
        counts = permutation_counts(t, tstar, alternative=alternative, center=0.0)
        extremes = np.stack(
            [_family_extremes(tstar[:, families == c], alternative) for c in codes], axis=1
        )
        return counts, extremes

    chunk = _chunk_size(Y.shape[0], Y.shape[1], ols.k, robust)
    results = _run_chunks(chunk_counts, perms, chunk, n_jobs)
    extreme = sum(r[0][0] for r in results)
    draws = sum(r[0][1] for r in results)
    extremes = np.concatenate([r[1] for r in results], axis=0)  # (B, n_families)
    p_perm = (1.0 + extreme) / (1.0 + draws)
    p_fwe = np.empty_like(p_perm)
    for j, code in enumerate(codes):
        members = families == code
        p_fwe[members] = permutation_pvalue(
            t[members], extremes[:, j, None], alternative=alternative, center=0.0
        )
    p_perm[invalid] = np.nan
    p_fwe[invalid] = np.nan
    return p_perm, p_fwe
