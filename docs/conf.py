"""Sphinx configuration of the brainctrl documentation.

Build it with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The example gallery is made from the notebooks' sources (``notebooks/src``),
converted at build time into ``docs/_gallery_src`` and shown without running
them; ``-D plot_gallery=1`` runs them.
"""

import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _md2rst import write_gallery  # noqa: E402

import brainctrl  # noqa: E402

project = "brainctrl"
author = "brainctrl developers"
copyright = f"2024-{date.today().year}, {author}"  # noqa: A001
version = release = brainctrl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_gallery_src", "**/sg_execution_times.rst"]
default_role = "obj"
nitpicky = False

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Shared parameters are described once, in the glossary; each docstring that
# takes one gets a link to it (added at build time, see _link_glossary).
GLOSSARY_PARAMETERS = ("system", "random_state", "n_jobs", "negative", "alternative")

# -- Example gallery -----------------------------------------------------------
GALLERY_SOURCE = HERE / "_gallery_src"
write_gallery(
    sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")),
    GALLERY_SOURCE,
    thumbnails=ROOT / "notebooks" / "thumbnails",
    relative_to=HERE,
    header=(
        "Examples\n========\n\n"
        "Worked analyses on synthetic cohorts with a known answer; each checks its result\n"
        "against the planted truth and shows the lines to change for HCP data. They are\n"
        "the sources of the notebooks in ``notebooks/``, shown here without outputs\n"
        "(run them as notebooks, or build these pages with ``-D plot_gallery=1``).\n"
    ),
)

sphinx_gallery_conf = {
    "examples_dirs": [str(GALLERY_SOURCE)],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "plot_gallery": "False",
    "download_all_examples": False,
    "remove_config_comments": True,
    "write_computation_times": False,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"brainctrl {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False


def _link_glossary(app, what, name, obj, options, lines):
    """Point each shared parameter of a docstring to its glossary entry."""
    in_parameters = False
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped in ("Parameters", "Other Parameters") and index + 1 < len(lines):
            in_parameters = set(lines[index + 1].strip()) == {"-"}
        elif index + 1 < len(lines) and set(lines[index + 1].strip()) == {"-"} and stripped:
            in_parameters = False
        name_part = stripped.split(" : ")[0]
        names = [n.strip() for n in name_part.split(",")]
        shared = [n for n in names if n in GLOSSARY_PARAMETERS]
        if in_parameters and shared and line == line.lstrip() and " : " in line:
            # Find the end of this parameter's description.
            end = index + 1
            while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
                end += 1
            while end > index + 1 and not lines[end - 1].strip():
                end -= 1
            indent = "    "
            links = ", ".join(f":term:`{n}`" for n in shared)
            lines.insert(end, f"{indent}See {links} in the :doc:`/glossary`.")
            index = end
        index += 1


def setup(app):
    """Connect the glossary links before numpydoc parses the docstrings."""
    app.connect("autodoc-process-docstring", _link_glossary, priority=400)
