"""Execute the example notebooks from a clean kernel and fail on any cell error.

The notebooks are executed with nbclient in a temporary folder (so nothing
is written next to them) by a ``python3`` kernel of the current environment.
BLAS threads are limited to one in the kernel: the notebooks run many small
eigendecompositions, which multi-threaded BLAS slows down by an order of
magnitude on a busy machine.
"""

import importlib.util
import pathlib
import sys
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 600
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_three_notebooks_exist():
    names = [path.name for path in NOTEBOOK_FILES]
    assert names == [
        "01_static_vs_dynamic_energy.ipynb",
        "02_controllability_patients_controls.ipynb",
        "03_reconfiguration_during_learning.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_matches_its_source(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code cells"
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    builder = _load_builder()
    source = NOTEBOOKS / "src" / (path.stem + ".py")
    assert path.read_text() == builder.render(source), (
        f"{path.name} is stale: run python notebooks/build_notebooks.py"
    )


def test_builder_splits_cells():
    builder = _load_builder()
    text = "# %% [markdown]\n# # Title\n# text\n\n# %%\nx = 1\n\n# %%\n\n# %%\ny = 2\n"
    assert builder.parse_cells(text) == [
        ("markdown", "# Title\ntext"),
        ("code", "x = 1"),
        ("code", "y = 2"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    for name, value in SINGLE_THREAD.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute(cwd=str(tmp_path))
    elapsed = time.perf_counter() - start
    sys.stderr.write(f"\n{path.name}: executed in {elapsed:.1f} s\n")
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
