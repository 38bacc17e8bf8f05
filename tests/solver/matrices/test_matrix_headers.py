"""Matrix files whose header claims a size beyond the limit are refused from the header,
before any of their data is read or allocated."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from solver import InputError
from solver.matrices.matrixio import MAX_ENTRIES, load_matrix


def test_an_mtx_header_of_60000_by_60000_is_refused_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "huge.mtx"
    # One value where 3.6e9 are claimed: reading the data would fail differently (or allocate
    # 29 GB first), so the message proves that only the header was read.
    path.write_text("%%MatrixMarket matrix array real general\n60000 60000\n1.0\n")
    with pytest.raises(InputError) as err:
        load_matrix(path, "problem.A")
    assert err.value.field == "problem.A"
    assert "60000 x 60000" in str(err.value) and f"{MAX_ENTRIES:,}" in str(err.value)


def test_an_npy_header_of_200000_by_200000_is_refused_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "huge.npy"
    with path.open("wb") as fh:
        header = {"descr": "<f8", "fortran_order": False, "shape": (200000, 200000)}
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 16)
    with pytest.raises(InputError) as err:
        load_matrix(path, "problem.M")
    assert err.value.field == "problem.M" and "200000 x 200000" in str(err.value)


def test_files_within_the_limit_still_load(tmp_path: Path) -> None:
    a = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(load_matrix(tmp_path / "a.npy"), a)
    (tmp_path / "a.mtx").write_text(
        "%%MatrixMarket matrix coordinate real general\n2 3 2\n1 1 5.0\n2 3 -1.0\n"
    )
    np.testing.assert_array_equal(load_matrix(tmp_path / "a.mtx"), [[5, 0, 0], [0, 0, -1]])


@pytest.mark.parametrize("size", ["0 5", "0 0", "5 0"])
def test_an_mtx_header_with_no_entries_is_refused_without_crashing(tmp_path: Path, size) -> None:
    # An array body of 0 rows killed the process (SIGFPE in the Matrix Market reader).
    path = tmp_path / "empty.mtx"
    path.write_text(f"%%MatrixMarket matrix array real general\n{size}\n")
    with pytest.raises(InputError) as err:
        load_matrix(path, "problem.A")
    assert "no entries" in str(err.value)


def test_a_truncated_dense_body_is_refused_without_crashing(tmp_path: Path) -> None:
    # Found by the long fuzz run: this file killed the process (SIGSEGV in the reader).
    path = tmp_path / "cut.mtx"
    path.write_text("%%MatrixMarket matrix array real general\n%8\n3 5\n21267\n3.3-")
    with pytest.raises(InputError) as err:
        load_matrix(path, "problem.A")
    assert "2 values where its header promises 15" in str(err.value)


def test_a_csv_far_beyond_the_limit_is_refused_from_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(",".join(["0"] * 20000) + "\n")
    os.truncate(path, 2**30)  # a 1 GiB file (sparse: no disk used) whose rest is never read
    with pytest.raises(InputError) as err:
        load_matrix(path, "problem.A")
    assert "1,024 MB" in str(err.value) and "at most" in str(err.value)
