"""Build the example notebooks from their percent-format sources.

Each ``notebooks/src/NN_name.py`` holds the cells of ``notebooks/NN_name.ipynb``:
``# %%`` starts a code cell and ``# %% [markdown]`` a Markdown cell whose lines
are comments (``# `` is stripped). The notebooks are written without outputs
(``execution_count`` null), so the repository never holds results; run them
with Jupyter or ``python -m pytest tests/notebooks -m slow``.

Usage::

    python notebooks/build_notebooks.py          # rewrite every notebook
    python notebooks/build_notebooks.py --check  # exit 1 if a notebook is stale
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCES = HERE / "src"


def parse_cells(text):
    """Split a percent-format script into ``(kind, source)`` cells."""
    cells = []
    kind, lines = None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#")
                for line in body.splitlines()
            )
        if body.strip():
            cells.append((kind, body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind = "markdown" if "[markdown]" in line else "code"
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build_notebook(source):
    """Return the notebook (nbformat v4, no outputs) of one source file."""
    import nbformat  # only to write notebooks: the docs read parse_cells without it

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, body) in enumerate(parse_cells(pathlib.Path(source).read_text())):
        new_cell = (
            nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        )
        # Stable cell ids, so rebuilding an unchanged source gives an identical file.
        notebook.cells.append(new_cell(body, id=f"cell-{index:02d}"))
    nbformat.validate(notebook)
    return notebook


def render(source):
    """Notebook text of one source, as written to disk."""
    import nbformat

    return nbformat.writes(build_notebook(source)) + "\n"


def main(argv=None):
    """Write (or with ``--check`` compare) every notebook; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        target = HERE / (source.stem + ".ipynb")
        text = render(source)
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.name)
        else:
            target.write_text(text)
    if stale:
        sys.stderr.write(
            "stale notebooks (run notebooks/build_notebooks.py): " + ", ".join(stale) + "\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
