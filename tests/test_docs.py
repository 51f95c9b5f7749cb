"""The documentation: the Sphinx site builds without warnings, and its code runs."""

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import brainctrl

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SUBPACKAGES = brainctrl._SUBPACKAGES  # every public subpackage


def _md2rst():
    sys.path.insert(0, str(DOCS))
    try:
        return importlib.import_module("_md2rst")
    finally:
        sys.path.remove(str(DOCS))


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("pydata_sphinx_theme")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + ["-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = tmp_path / "html"
    assert (html / "index.html").exists()
    assert (html / "generated" / "brainctrl.control.average_controllability.html").exists()
    gallery = sorted(p.name for p in (html / "auto_examples").glob("plot_*.html"))
    assert len(gallery) == len(list((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")))


PAGES = sorted(
    p.relative_to(DOCS).as_posix() for p in [*DOCS.glob("*.rst"), *DOCS.glob("user_guide/*.rst")]
)


@pytest.mark.parametrize("page", PAGES)
def test_documentation_examples_run(page):
    result = doctest.testfile(
        str(DOCS / page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"


def _readme_blocks():
    text = (ROOT / "README.md").read_text()
    blocks = []
    for match in re.finditer(
        r"(?:^(<!-- no-run[^>]*-->)\n)?^```python\n(.*?)^```", text, re.M | re.S
    ):
        line = text[: match.start(2)].count("\n")
        blocks.append(pytest.param(match.group(2), bool(match.group(1)), id=f"README.md:{line}"))
    return blocks


@pytest.mark.parametrize(("code", "no_run"), _readme_blocks())
def test_readme_python_blocks_run(code, no_run):
    if no_run:
        pytest.skip("marked <!-- no-run --> in README.md (needs data files)")
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})


def test_readme_has_runnable_blocks():
    assert sum(not p.values[1] for p in _readme_blocks()) >= 3


def test_api_reference_lists_every_public_name():
    api = (DOCS / "api.rst").read_text()
    missing = []
    for name in SUBPACKAGES:
        module = importlib.import_module(f"brainctrl.{name}")
        listed = re.search(rf"automodule:: brainctrl\.{name}\n(.*?)(?=\n\.\. _api_|\Z)", api, re.S)
        section = listed.group(1) if listed else ""
        missing += [
            f"brainctrl.{name}.{item}"
            for item in module.__all__
            if not re.search(rf"(^   {item}$|^\.\. data:: {item}$)", section, re.M)
        ]
    assert missing == []


def test_markdown_to_rst_headings_lists_and_inline_markup():
    md2rst = _md2rst()
    markdown = (
        "# Title · one\n"
        "Text with `code`s, **bold**, *italics*, _also_ and [a link](https://x.org).\n"
        "1. first item\n"
        "   continued\n"
        "2. second\n"
        "After the list, |t| outside code and `|W|` inside.\n"
        "## Section"
    )
    assert md2rst.markdown_to_rst(markdown).splitlines() == [
        "Title · one",
        "===========",
        "",
        "Text with ``code``\\ s, **bold**, *italics*, *also* and `a link <https://x.org>`__.",
        "",
        "1. first item",
        "   continued",
        "2. second",
        "",
        "After the list, \\|t\\| outside code and ``|W|`` inside.",
        "",
        "Section",
        "-------",
    ]


def test_notebook_source_becomes_a_gallery_script(tmp_path):
    md2rst = _md2rst()
    source = tmp_path / "01_demo.py"
    source.write_text(
        "# %% [markdown]\n# # Demo\n#\n# What it shows.\n\n"
        "# %%\nx = 1\n\n# %%\ny = x + 1\n\n# %% [markdown]\n# ## Part `two`\n\n# %%\nz = y\n"
    )
    (tmp_path / "thumbs").mkdir()
    (tmp_path / "thumbs" / "01_demo.png").write_bytes(b"")
    (path,) = md2rst.write_gallery(
        [source], tmp_path / "gallery", thumbnails=tmp_path / "thumbs", relative_to=tmp_path
    )
    script = path.read_text()
    assert path.name == "plot_01_demo.py"
    assert script.startswith('r"""\nDemo\n====\n\nWhat it shows.\n"""\n')
    assert "# sphinx_gallery_thumbnail_path = 'thumbs/01_demo.png'" in script
    assert "x = 1\n\n# %%\ny = x + 1" in script
    assert "# %%\n# Part ``two``\n# ------------\n\nz = y" in script
    namespace = {}
    exec(compile(script, str(path), "exec"), namespace)
    assert namespace["z"] == 2
