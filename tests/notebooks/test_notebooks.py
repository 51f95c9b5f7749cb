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


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, NOTEBOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_builder():
    return _load_script("build_notebooks")


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


def test_thumbnails_are_small_pngs():
    image_module = pytest.importorskip("PIL.Image")
    thumbnails = sorted((NOTEBOOKS / "thumbnails").glob("*.png"))
    assert [p.stem for p in thumbnails] == [p.stem for p in NOTEBOOK_FILES]
    for path in thumbnails:
        assert path.stat().st_size < 100 * 1024
        with image_module.open(path) as image:
            assert image.format == "PNG"
            assert image.width <= 640


def test_shrink_downscales_to_a_palette_png():
    image_module = pytest.importorskip("PIL.Image")
    import io

    import numpy as np

    thumbnails = _load_script("make_thumbnails")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(300, 1280, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    image_module.fromarray(pixels).save(buffer, format="PNG")
    small = image_module.open(io.BytesIO(thumbnails.shrink(buffer.getvalue(), width=640)))
    assert (small.width, small.height, small.mode) == (640, 150, "P")


def test_cell_figures_names_a_missing_marker():
    thumbnails = _load_script("make_thumbnails")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert thumbnails.cell_figures(notebook, "x = 1") == []
    with pytest.raises(LookupError, match="no code cell contains 'plot_matrix'"):
        thumbnails.cell_figures(notebook, "plot_matrix")


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
