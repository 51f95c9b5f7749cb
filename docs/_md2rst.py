"""Turn the notebooks' percent-format sources into sphinx-gallery scripts.

The sources in ``notebooks/src/*.py`` hold Markdown cells (``# %% [markdown]``);
sphinx-gallery reads reStructuredText. The first Markdown cell becomes the
script's docstring (its ``#`` heading the page title), later Markdown cells
become ``# %%`` text blocks, code cells stay as they are. The Markdown
converted is the subset the notebooks use: headings, inline code, bold and
italics, links, bullet and numbered lists, and ``|`` outside inline code.
"""

import importlib.util
import os
import re
from pathlib import Path

_UNDERLINES = {1: "=", 2: "-", 3: "~", 4: "^"}
_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _load_parse_cells():
    """The notebooks' own cell splitter (``notebooks/build_notebooks.py``)."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "build_notebooks.py"
    spec = importlib.util.spec_from_file_location("build_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_cells


#: Split a percent-format script into ``(kind, source)`` cells, as the notebooks do.
parse_cells = _load_parse_cells()


def _inline(text):
    """Convert Markdown inline markup of one line to reStructuredText."""
    out = []
    for part in re.split(r"(`[^`]+`)", text):
        match = _CODE.fullmatch(part)
        if match:
            out.append(f"``{match.group(1)}``")
            continue
        if out and re.match(r"\w", part):
            part = "\\ " + part  # inline markup must not end before a word character
        part = part.replace("|", "\\|")
        part = _LINK.sub(r"`\1 <\2>`__", part)
        part = re.sub(r"(?<![\w*])_([^_\s][^_]*?)_(?!\w)", r"*\1*", part)
        out.append(part)
    return "".join(out)


def markdown_to_rst(markdown):
    """Convert one Markdown cell to reStructuredText."""
    out, in_list = [], False
    for line in markdown.splitlines():
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        if heading:
            title = _inline(heading.group(2).strip())
            level = len(heading.group(1))
            out += ["", title, _UNDERLINES[level] * len(title), ""]
            in_list = False
            continue
        if not line.strip():
            out.append("")
            continue
        item = _ITEM.match(line)
        if item and not in_list and out and out[-1] != "":
            out.append("")  # a list starts after a blank line
        elif not item and in_list and not line.startswith(" "):
            out.append("")  # so does the paragraph after it
        in_list = bool(item) or (in_list and line.startswith(" "))
        out.append(_inline(line))
    text = "\n".join(out).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def notebook_to_gallery(source, thumbnail=None):
    """Return the sphinx-gallery script of one percent-format notebook source."""
    blocks, previous = [], None
    for index, (kind, body) in enumerate(parse_cells(Path(source).read_text())):
        if kind == "markdown":
            rst = markdown_to_rst(body)
            if index == 0:
                blocks.append('r"""\n' + rst.replace('"""', r"\"\"\"") + '\n"""')
                if thumbnail is not None:
                    blocks.append(f"# sphinx_gallery_thumbnail_path = {str(thumbnail)!r}")
            else:
                blocks.append("# %%\n" + "\n".join(f"# {ln}".rstrip() for ln in rst.splitlines()))
        else:
            if index == 0:
                raise ValueError(f"{source}: the first cell must be Markdown with a title.")
            blocks.append(body if previous == "markdown" else "# %%\n" + body)
        previous = kind
    return "\n\n".join(blocks) + "\n"


def write_gallery(sources, target, *, thumbnails=None, relative_to=None, header=""):
    """Write the converted scripts of ``sources`` into ``target`` (replacing stale ones).

    A thumbnail ``thumbnails/<stem>.png`` is named in its script by its path
    relative to ``relative_to`` (the folder of ``conf.py``, as sphinx-gallery reads it).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.py"):
        stale.unlink()
    (target / "GALLERY_HEADER.rst").write_text(header)
    written = []
    for source in sorted(Path(p) for p in sources):
        thumbnail = None
        if thumbnails is not None and (Path(thumbnails) / f"{source.stem}.png").exists():
            thumbnail = Path(thumbnails) / f"{source.stem}.png"
            if relative_to is not None:
                thumbnail = Path(os.path.relpath(thumbnail, relative_to))
        path = target / f"plot_{source.stem}.py"
        path.write_text(notebook_to_gallery(source, thumbnail))
        written.append(path)
    return written
