"""``report.html``: the figures and tables a person reads after a run."""

import base64
import html
from pathlib import Path

from brainctrl import __version__
from brainctrl.pipeline import _store

__all__ = ["write_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555;max-width:900px}
img{max-width:100%}.ok{color:#1a7f37}.bad{color:#b42318}.note{color:#555;font-size:.9em}
"""


def _figure_html(path, caption):
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table_html(table, max_rows=40):
    shown = table.head(max_rows)
    text = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    if len(table) > max_rows:
        text += f'<p class="note">first {max_rows} of {len(table)} rows</p>'
    return text


def status_summary(status):
    """Counts of done, failed and skipped units per stage (one row per stage)."""
    import pandas as pd

    outcomes = ["done", "failed", "skipped"]
    if status.empty:
        return pd.DataFrame(columns=["stage", *outcomes])
    counts = pd.crosstab(status["stage"], status["status"])
    counts = counts.reindex(columns=outcomes, fill_value=0)
    order = {"run": 0, "energy": 1, "group": 2}
    counts = counts.loc[sorted(counts.index, key=lambda stage: (order.get(stage, 9), stage))]
    table = counts.reset_index()
    table.columns = ["stage", *outcomes]
    return table


def _status_html(status):
    """The report's Runs section, from the status records as they are now."""
    parts = ["<h2>Runs</h2>"]
    if status.empty:
        return parts + ['<p class="note">No unit has been recorded.</p>']
    parts.append(_table_html(status_summary(status)))
    for outcome, column, css in (("failed", "error", "bad"), ("skipped", "reason", "note")):
        rows = status[status["status"] == outcome]
        if len(rows):
            shown = rows[["stage", "unit", "subject", "session", "run", column]]
            parts.append(f'<p class="{css}">{len(rows)} unit(s) {outcome}:</p>')
            parts.append(_table_html(shown.dropna(axis=1, how="all")))
    return parts


def write_report(out_dir, config, results):
    """Write ``OUT/report.html`` from the group stage's results.

    Parameters
    ----------
    out_dir : path-like
        Output folder of the run.
    config : PipelineConfig
    results : dict
        ``sections``: list of ``(title, text, figures, tables)`` where
        ``figures`` is a list of ``(png_path, caption)`` and ``tables`` a list
        of ``(caption, DataFrame)``; ``summary``: headline numbers;
        ``checks``: warnings of the checks made before the run.

    Notes
    -----
    The Runs section is built from ``OUT/.status`` when the report is written,
    so it shows each stage's current outcome (a group section recorded by this
    run, not an earlier one).
    """
    out_dir = Path(out_dir)
    status = _store.read_status(out_dir)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>brainctrl report</title><style>{_STYLE}</style></head><body>",
        "<h1>brainctrl report</h1>",
        f"<p>brainctrl {__version__} &middot; manifest <code>{html.escape(config.manifest)}</code>"
        f" &middot; config hash <code>{config.section_hash()}</code></p>",
    ]
    parts += _status_html(status)
    checks = results.get("checks") or []
    if checks:
        parts.append(
            "<h2>Checks before the run</h2><p class='note'>On the cohort as the manifest "
            "lists it; runs that failed later, when read, are not counted here.</p><ul>"
        )
        parts += [f"<li>{html.escape(str(problem))}</li>" for problem in checks]
        parts.append("</ul>")
    for title, text, figures, tables in results.get("sections", []):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if text:
            parts.append(f"<p>{html.escape(text)}</p>")
        for caption, table in tables:
            parts.append(f'<p class="note">{html.escape(caption)}</p>')
            parts.append(_table_html(table))
        for path, caption in figures:
            parts.append(_figure_html(path, caption))
    parts.append("</body></html>")
    with _store.atomic_path(out_dir / "report.html") as tmp:
        Path(tmp).write_text("\n".join(parts), encoding="utf-8")
    return out_dir / "report.html"
