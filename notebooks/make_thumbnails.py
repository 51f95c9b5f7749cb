"""Execute the example notebooks and save one key figure of each as a thumbnail.

The thumbnails in ``notebooks/thumbnails/`` are small PNGs (palette colours, at most
640 pixels wide, well under 100 KB) for the README. Each notebook is executed with
nbclient in a temporary folder with one BLAS thread; nothing else is written.

Usage::

    python notebooks/make_thumbnails.py
"""

import base64
import io
import os
import pathlib
import sys
import tempfile

import nbclient
import nbformat
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE / "thumbnails"
WIDTH = 640
# notebook -> (text that identifies the cell, which of its figures)
CHOICES = {
    "01_static_vs_dynamic_energy": ('title=f"well posed, Default + ε', 0),
    "02_controllability_patients_controls": ("plot_group_results(", 1),
    "03_reconfiguration_during_learning": ("detrended r =", 0),
}


def cell_figures(notebook, marker):
    """PNG bytes of the figures of the first code cell whose source contains ``marker``."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and marker in cell.source:
            return [
                base64.b64decode(output["data"]["image/png"])
                for output in cell.outputs
                if "image/png" in output.get("data", {})
            ]
    raise LookupError(f"no code cell contains {marker!r}")


def shrink(png, width=WIDTH):
    """Downscale to ``width`` pixels and store with a 256-colour palette."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.quantize(colors=256).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main():
    """Execute each notebook and write its thumbnail."""
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    OUTPUT.mkdir(exist_ok=True)
    for stem, (marker, index) in CHOICES.items():
        notebook = nbformat.read(HERE / f"{stem}.ipynb", as_version=4)
        with tempfile.TemporaryDirectory() as folder:
            nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3").execute(
                cwd=folder
            )
        thumbnail = shrink(cell_figures(notebook, marker)[index])
        target = OUTPUT / f"{stem}.png"
        target.write_bytes(thumbnail)
        sys.stdout.write(f"{target.relative_to(HERE.parent)}: {len(thumbnail) / 1024:.0f} KB\n")


if __name__ == "__main__":
    main()
