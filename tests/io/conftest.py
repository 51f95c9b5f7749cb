"""Fixtures of the io tests: writers of file formats that need more than one call."""

import numpy as np
import pytest

# The 128-byte text header MATLAB writes at the start of a v7.3 MAT-file (inside the
# 512-byte HDF5 user block): description, 8 bytes of subsystem offset, version 0x0200
# and the endian indicator 'IM' (little-endian).
_MAT73_HEADER = (
    (
        b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
        b"HDF5 schema 1.00 ."
    ).ljust(116, b" ")
    + b"\x00" * 8
    + b"\x00\x02IM"
)


@pytest.fixture
def write_mat_v73():
    """Write a MATLAB v7.3 MAT-file with h5py, laid out as MATLAB lays it out.

    MATLAB stores arrays column-major, so an HDF5 reader sees a MATLAB ``1200 x 100``
    variable as a ``100 x 1200`` dataset holding the transpose; each variable carries
    its MATLAB class in the ``MATLAB_class`` attribute, and character arrays are
    ``uint16`` codes of class ``char``.
    """
    import h5py

    def write(path, **variables):
        with h5py.File(path, "w", userblock_size=512) as handle:
            for name, value in variables.items():
                if isinstance(value, str):
                    data = np.array([[ord(char) for char in value]], dtype=np.uint16)
                    matlab_class = "char"
                else:
                    data = np.atleast_2d(np.asarray(value, dtype=float))
                    matlab_class = "double"
                dataset = handle.create_dataset(name, data=data.T)
                dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
        with open(path, "r+b") as handle:
            handle.write(_MAT73_HEADER)
        return path

    return write
