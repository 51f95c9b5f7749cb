"""Behavioural and clinical tables, one row per subject."""

import logging

import pandas as pd

from brainctrl._utils.validation import check_option
from brainctrl.exceptions import DataError, MissingDataError
from brainctrl.io._tables import NA_TOKENS, require_file, separator_for

__all__ = ["load_phenotype"]

logger = logging.getLogger(__name__)


def load_phenotype(
    path, *, id_column="subject", subjects=None, missing="raise", strip_bids_prefix=True
):
    r"""Read a phenotype table (CSV/TSV) with subject IDs kept as strings.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` or ``.tsv`` (optionally ``.gz``); other names are read as
        whitespace-separated text.
    id_column : str, default='subject'
        Column holding subject IDs (e.g. ``'Subject'`` in HCP tables). IDs are read
        as text, so ``100206`` stays ``'100206'`` and ``007`` keeps its zeros.
    subjects : sequence of str, optional
        Subjects to return, in this order.
    missing : {'raise', 'warn', 'ignore'}, default='raise'
        What to do when requested subjects are not in the table: raise
        :class:`~brainctrl.exceptions.MissingDataError`, log a warning and return the
        others, or return the others silently.
    strip_bids_prefix : bool, default=True
        If every ID starts with ``sub-`` (BIDS ``participants.tsv``), remove it so the
        IDs match the subject labels of file names (``sub-01`` -> ``'01'``).

    Returns
    -------
    phenotype : pandas.DataFrame
        One row per subject; the ID column is renamed ``subject`` and comes first;
        other columns are numeric where every value parses as a number (``n/a`` and
        empty cells are NaN), text otherwise.

    Raises
    ------
    MissingDataError
        If the file is missing, or requested subjects are absent with ``missing='raise'``.
    DataError
        If ``id_column`` is absent, IDs are empty or duplicated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "phenotype.csv"
    >>> _ = path.write_text("Subject,age\n100206,26\n007,31\n")
    >>> load_phenotype(path, id_column="Subject")["subject"].tolist()
    ['100206', '007']
    """
    check_option("missing", missing, ("raise", "warn", "ignore"))
    path = require_file(path, what="phenotype table")
    try:
        table = pd.read_csv(
            path,
            sep=separator_for(path),
            dtype={id_column: str},
            na_values=list(NA_TOKENS),
            keep_default_na=True,
            engine="python" if separator_for(path) == r"\s+" else "c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"phenotype table is not readable ({exc}).", path=path) from None
    table.columns = [str(column).strip() for column in table.columns]
    if id_column not in table.columns:
        raise DataError(
            f"'id_column' {id_column!r} is not a column of the phenotype table; columns: "
            f"{list(table.columns)}.",
            path=path,
        )
    if id_column != "subject" and "subject" in table.columns:
        raise DataError(
            f"phenotype table has both {id_column!r} and 'subject' columns; rename one.",
            path=path,
        )
    ids = table[id_column]
    if ids.isna().any():
        rows = [int(i) + 2 for i in ids.index[ids.isna()][:5]]
        raise DataError(f"empty subject IDs in column {id_column!r} at line(s) {rows}.", path=path)
    ids = ids.astype(str).str.strip()
    if strip_bids_prefix and len(ids) and ids.str.startswith("sub-").all():
        ids = ids.str.slice(4)
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(
            f"duplicate subject IDs in column {id_column!r}: {duplicated[:10]}.", path=path
        )
    table[id_column] = ids
    table = table.rename(columns={id_column: "subject"})
    table = table[["subject"] + [column for column in table.columns if column != "subject"]]
    table["subject"] = table["subject"].astype(object)
    if subjects is not None:
        if isinstance(subjects, str):
            subjects = [subjects]
        requested = [str(subject) for subject in subjects]
        present = set(table["subject"])
        absent = [subject for subject in requested if subject not in present]
        if absent:
            message = (
                f"{len(absent)} of {len(requested)} requested subject(s) are not in the "
                f"phenotype table: {absent[:10]}."
            )
            if missing == "raise":
                raise MissingDataError(message, path=path)
            if missing == "warn":
                logger.warning("%s: %s", path, message)
        keep = [subject for subject in requested if subject in present]
        table = table.set_index("subject").loc[keep].reset_index()
        table["subject"] = table["subject"].astype(object)
    return table.reset_index(drop=True)
