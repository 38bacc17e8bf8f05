"""Sparse matrix files: what loads equals what scipy reads, Matrix Market's rules (duplicates
add, one triangle stands for both) hold, and every bad file is refused with its name and, where
a line is at fault, that line's number, before anything its header sizes is allocated."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from solver import InputError
from solver.core.resources import resource_path
from solver.matrices import sparse_limits, sparse_mtx
from solver.matrices.matrixio import load_matrix
from solver.matrices.sparseio import (
    MAX_NONZEROS,
    SparseHeader,
    header,
    is_coordinate_mtx,
    load_sparse,
    poisson_2d,
    prefers_sparse,
    save_sparse,
)

GENERAL = "%%MatrixMarket matrix coordinate real general\n"


def write(tmp_path: Path, text: str, name: str = "m.mtx") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path: Path, *parts: str) -> str:
    """The message of the InputError loading ``path`` raises; it names the file and ``parts``."""
    with pytest.raises(InputError) as err:
        load_sparse(path, "problem.A")
    message = str(err.value)
    assert err.value.field == "problem.A"
    assert path.name in message, message
    for part in parts:
        assert part in message, message
    return message


# --- what loads -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gr_30_30.mtx", "west0067.mtx"])
def test_a_shipped_matrix_loads_exactly_as_scipy_reads_it(name: str) -> None:
    path = resource_path("matrices", name)
    got = load_sparse(path)
    assert isinstance(got, sp.csr_array) and got.dtype == np.float64
    assert got.has_canonical_format
    np.testing.assert_array_equal(got.toarray(), scipy.io.mmread(path).toarray())


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia"])
def test_an_npz_saved_by_scipy_loads_equal(tmp_path: Path, fmt: str) -> None:
    dense = scipy.io.mmread(resource_path("matrices", "west0067.mtx")).toarray()
    path = tmp_path / f"{fmt}.npz"
    sp.save_npz(path, sp.csr_array(dense).asformat(fmt))
    got = load_sparse(path)
    assert isinstance(got, sp.csr_array) and got.dtype == np.float64
    np.testing.assert_array_equal(got.toarray(), dense)


def test_duplicate_entries_add_up(tmp_path: Path) -> None:
    path = write(tmp_path, GENERAL + "2 2 3\n1 1 2.5\n2 1 1\n1 1 0.5\n")
    got = load_sparse(path)
    np.testing.assert_array_equal(got.toarray(), [[3.0, 0.0], [1.0, 0.0]])
    assert got.nnz == 2  # summed, not kept as two entries


def test_pattern_entries_are_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 3\n2 1\n")
    np.testing.assert_array_equal(load_sparse(path).toarray(), [[0, 0, 1], [1, 0, 0]])


def test_a_symmetric_file_fills_both_triangles_and_the_diagonal_once(tmp_path: Path) -> None:
    path = write(
        tmp_path, "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 4\n3 1 -2\n2 2 5\n"
    )
    np.testing.assert_array_equal(load_sparse(path).toarray(), [[4, 0, -2], [0, 5, 0], [-2, 0, 0]])


def test_a_skew_symmetric_file_mirrors_with_the_sign_flipped(tmp_path: Path) -> None:
    path = write(
        tmp_path, "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 3\n3 2 -1.5\n"
    )
    np.testing.assert_array_equal(
        load_sparse(path).toarray(), [[0, -3, 0], [3, 0, 1.5], [0, -1.5, 0]]
    )


def test_integer_entries_load_as_floats(tmp_path: Path) -> None:
    path = write(
        tmp_path, "%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 2 -7\n2 2 3\n"
    )
    got = load_sparse(path)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.toarray(), [[0, -7], [0, 3]])


def test_comments_and_blank_lines_are_skipped_and_do_not_shift_line_numbers(
    tmp_path: Path,
) -> None:
    text = GENERAL + "% made by hand\n2 2 2\n\n1 1 1\n% a note\n2 2 x\n"
    assert "line 7: value x is not a number" in refused(write(tmp_path, text))
    fixed = write(tmp_path, text.replace("2 2 x", "2 2 9"), "ok.mtx")
    np.testing.assert_array_equal(load_sparse(fixed).toarray(), [[1, 0], [0, 9]])


def test_a_body_read_in_many_chunks_loads_the_same_and_names_the_same_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of a few lines each: every cut between lines must keep entries and line numbers.
    monkeypatch.setattr(sparse_mtx, "_CHUNK", 50)
    path = resource_path("matrices", "gr_30_30.mtx")
    np.testing.assert_array_equal(load_sparse(path).toarray(), scipy.io.mmread(path).toarray())
    lines = path.read_text().splitlines()
    lines[3000] = "5 901 1.0"
    bad = write(tmp_path, "\n".join(lines) + "\n", "gr.mtx")
    refused(bad, "gr.mtx: line 3001: column index 901 is outside 1..900")


def test_header_reads_only_the_header(tmp_path: Path) -> None:
    # A body that could never load: the header is all header() reads.
    path = write(
        tmp_path, "%%MatrixMarket matrix coordinate pattern symmetric\n%\n9 9 4\nnonsense\n"
    )
    assert header(path) == SparseHeader(9, 9, 4, "symmetric", "pattern")
    assert header(path).shape == (9, 9)
    npz = tmp_path / "a.npz"
    sp.save_npz(npz, sp.random_array((40, 30), density=0.1, format="csr", rng=1))
    assert header(npz) == SparseHeader(40, 30, 120, "general", "real")


def test_save_sparse_round_trips_through_both_formats(tmp_path: Path) -> None:
    matrix = poisson_2d(4, 5)
    matrix = (matrix + sp.diags_array(np.linspace(0.1, 1.7, 20) / 3.0)).tocsr()  # no short digits
    for name in ("p.mtx", "p.npz"):
        save_sparse(tmp_path / name, matrix)
        back = load_sparse(tmp_path / name)
        np.testing.assert_array_equal(back.toarray(), matrix.toarray())
    assert is_coordinate_mtx(tmp_path / "p.mtx")


# --- refused: Matrix Market -----------------------------------------------------------------


def test_an_index_outside_the_matrix_names_its_line(tmp_path: Path) -> None:
    # Lines 1-3 are the banner, a comment and the size line; 4-6 are good entries.
    body = "".join(f"{i} {i} 1.0\n" for i in range(1, 4)) + "901 3 2.0\n4 4 1.0\n"
    path = write(tmp_path, GENERAL + "% one\n900 900 5\n" + body, "gr.mtx")
    assert "gr.mtx: line 7: row index 901 is outside 1..900" in refused(path)
    zero = write(tmp_path, GENERAL + "3 3 2\n1 1 1\n2 0 1\n")
    refused(zero, "line 4", "column index 0 is outside 1..3")


@pytest.mark.parametrize("lines", [4, 6])
def test_a_header_that_lies_about_its_entry_count_is_refused(tmp_path: Path, lines: int) -> None:
    body = "".join(f"{i} 1 1.0\n" for i in range(1, lines + 1))
    path = write(tmp_path, GENERAL + "9 9 5\n" + body)
    refused(path, "5 entries", f"{lines} entry lines")


def test_a_header_that_claims_three_entries_where_four_are_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GENERAL + "9 9 3\n1 1 1\n2 2 2\n3 3 3\n4 4 4\n")
    refused(path, "says 3 entries", "has 4 entry lines")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("2 1 abc", "line 4: value abc is not a number"),
        ("2 x 1.0", "line 4: column index x is not an integer"),
        ("1.5 1 1.0", "line 4: row index 1.5 is not an integer"),
        ("2 1", "line 4: expected 3 fields (row, column, value), got 2"),
        ("2 1 1.0 7", "line 4: expected 3 fields (row, column, value), got 4"),
        ("2 1 nan", "line 4: value nan is not finite"),
        ("2 1 -inf", "line 4: value -inf is not finite"),
        ("2 1 1e999", "line 4: value 1e999 is not finite"),
        ("99999999999999999999 1 1", "line 4: row index 99999999999999999999 is out of range"),
    ],
)
def test_a_bad_entry_line_is_named(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path, GENERAL + "3 3 3\n1 1 1.0\n" + line + "\n3 3 1.0\n")
    refused(path, problem)


def test_a_bad_integer_value_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 2.5\n")
    refused(path, "line 3: value 2.5 is not an integer")


def test_a_header_of_a_billion_squared_is_refused_without_reading_the_body(
    tmp_path: Path,
) -> None:
    # One entry where 10**10 are claimed: reading the body would fail on the count instead.
    path = write(tmp_path, GENERAL + f"{10**9} {10**9} {10**10}\n1 1 1.0\n")
    refused(path, "line 2", "1000000000 x 1000000000", f"{MAX_NONZEROS:,}")
    with pytest.raises(InputError, match=f"{MAX_NONZEROS:,}"):
        header(path)


def test_a_header_beyond_the_machines_memory_is_refused_naming_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sparse_limits, "memory_cap", lambda: 2**30)
    path = write(tmp_path, GENERAL + "100000 100000 19000000\n1 1 1.0\n")
    refused(path, "100000 x 100000 with 19,000,000 entries", "GiB", "half of this machine")


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        ("0 5 1", "size 0 x 5"),
        ("5 -1 1", "size 5 x -1"),
        (f"{2**31} 5 1", f"size {2**31} x 5"),
        ("5 5 -1", "entry count -1 is negative"),
        ("5 5", "should be three integers"),
        ("5 five 1", "should be three integers"),
    ],
)
def test_a_bad_size_line_is_named(tmp_path: Path, size: str, problem: str) -> None:
    path = write(tmp_path, GENERAL + "%\n" + size + "\n1 1 1\n")
    refused(path, "line 3", problem)


def test_a_symmetric_matrix_must_be_square(tmp_path: Path) -> None:
    path = write(tmp_path, "%%MatrixMarket matrix coordinate real symmetric\n3 4 1\n1 1 1\n")
    refused(path, "line 2", "must be square")


def test_a_skew_symmetric_file_with_a_diagonal_entry_is_refused(tmp_path: Path) -> None:
    text = "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 1\n2 2 4\n"
    refused(write(tmp_path, text), "line 4", "diagonal")


@pytest.mark.parametrize("kind", ["real symmetric", "pattern symmetric", "real skew-symmetric"])
def test_an_entry_above_the_diagonal_of_a_one_triangle_file_is_refused(
    tmp_path: Path, kind: str
) -> None:
    # (1, 3) beside its mirror (3, 1) was summed into both: A[0, 2] = 2 + 5, silently.
    value = "" if kind.startswith("pattern") else " 5"
    text = (
        f"%%MatrixMarket matrix coordinate {kind}\n% one triangle\n3 3 3\n"
        f"3 1{value}\n2 1{value}\n1 3{value}\n"
    )
    path = write(tmp_path, text)
    message = refused(path, "line 6", "(1, 3)", "above the diagonal", "lower triangle")
    assert kind.split()[1] in message
    with pytest.raises(InputError, match="line 6"):  # asked for dense, the same refusal
        load_matrix(path, "problem.A")


@pytest.mark.parametrize(
    ("banner", "problem"),
    [
        ("%%MatrixMarket matrix coordinate complex general", "complex entries are not supported"),
        ("%%MatrixMarket matrix coordinate real hermitian", "complex entries are not supported"),
        ("%%MatrixMarket matrix coordinate real", "malformed banner"),
        ("%%MatrixMarket vector coordinate real general", "expected a matrix"),
        ("%%MatrixMarket matrix coordinate float general", "field float"),
        ("%%MatrixMarket matrix coordinate real upper", "symmetry upper"),
        ("%%MatrixMarket matrix sparse real general", "layout sparse"),
        ("% MatrixMarket matrix coordinate real general", "not a Matrix Market file"),
        ("1 1 1", "not a Matrix Market file"),
    ],
)
def test_a_bad_banner_is_refused_on_line_1(tmp_path: Path, banner: str, problem: str) -> None:
    path = write(tmp_path, banner + "\n2 2 1\n1 1 1\n")
    refused(path, "line 1", problem)
    assert not is_coordinate_mtx(path) or "coordinate" in banner


def test_a_dense_matrix_market_file_is_left_to_the_dense_loader(tmp_path: Path) -> None:
    path = write(tmp_path, "%%MatrixMarket matrix array real general\n2 1\n1.0\n2.0\n")
    refused(path, "dense Matrix Market file")
    assert not is_coordinate_mtx(path)
    assert is_coordinate_mtx(resource_path("matrices", "nos4.mtx"))
    assert not is_coordinate_mtx(tmp_path / "missing.mtx")


def test_a_file_with_no_size_line_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, GENERAL + "% only comments\n"), "no size line")
    refused(write(tmp_path, "", "empty.mtx"), "is empty")


def test_a_missing_file_and_an_unknown_suffix_are_refused(tmp_path: Path) -> None:
    refused(tmp_path / "absent.mtx", "no such file")
    refused(write(tmp_path, GENERAL + "1 1 1\n1 1 1\n", "m.txt"), "unsupported file type")


# --- refused: .npz --------------------------------------------------------------------------


def npz(tmp_path: Path, name: str = "m.npz", **arrays: object) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def csr_arrays(**changes: object) -> dict[str, object]:
    """The arrays save_npz writes for [[1, 0, 2], [0, 3, 0]], with ``changes``."""
    arrays = {
        "format": b"csr",
        "shape": np.array([2, 3]),
        "data": np.array([1.0, 2.0, 3.0]),
        "indices": np.array([0, 2, 1], dtype=np.int32),
        "indptr": np.array([0, 2, 3], dtype=np.int32),
    }
    arrays.update(changes)
    return arrays


def test_the_hand_written_npz_is_valid(tmp_path: Path) -> None:
    got = load_sparse(npz(tmp_path, **csr_arrays()))
    np.testing.assert_array_equal(got.toarray(), [[1, 0, 2], [0, 3, 0]])


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"indices": np.array([0, 3, 1])}, "indices[1] = 3 is outside 0..2"),
        ({"indices": np.array([0, -1, 1])}, "indices[1] = -1 is outside 0..2"),
        ({"indptr": np.array([1, 2, 3])}, "'indptr' starts at 1"),
        ({"indptr": np.array([0, 3, 2])}, "'indptr' decreases"),
        ({"indptr": np.array([0, 1, 2])}, "'indptr' ends at 2, but it holds 3 entries"),
        ({"indptr": np.array([0, 3])}, "'indptr' should hold 3 entries"),
        ({"data": np.array([1.0, 2.0])}, "differ in length"),
        ({"data": np.array([1.0, np.nan, 3.0])}, "entry 1 is nan"),
        ({"data": np.array([1j, 2.0, 3.0])}, "complex entries are not supported"),
        ({"data": np.array(["a", "b", "c"])}, "not numbers"),
        ({"indices": np.array([0.0, 2.0, 1.0])}, "not integers"),
        ({"shape": np.array([2, 3, 4])}, "3-D sparse array"),
        ({"shape": np.array([0, 3])}, "shape 0 x 3"),
        ({"shape": np.array([2**31, 3])}, f"shape {2**31} x 3"),
        ({"format": b"lil"}, "format lil is not one of"),
    ],
)
def test_a_bad_npz_is_refused_before_scipy_builds_it(
    tmp_path: Path, changes: dict, problem: str
) -> None:
    refused(npz(tmp_path, **csr_arrays(**changes)), problem)


def test_an_npz_claiming_too_many_entries_is_refused_from_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w") as zf:
        small = {"format": np.array(b"coo"), "shape": np.array([10**6, 10**6])}
        for key, arr in small.items():
            with zf.open(key + ".npy", "w") as fh:
                np.lib.format.write_array(fh, arr)
        for key, dtype in (("data", "<f8"), ("row", "<i4"), ("col", "<i4")):
            with zf.open(key + ".npy", "w") as fh:
                # A header promising 10**8 entries over a few bytes: never read, never allocated.
                head = {"descr": dtype, "fortran_order": False, "shape": (10**8,)}
                np.lib.format.write_array_header_1_0(fh, head)
                fh.write(b"\0" * 16)
    refused(path, "1000000 x 1000000 with 100,000,000 entries", f"{MAX_NONZEROS:,}")


def test_an_npz_that_is_not_scipy_sparse_is_refused(tmp_path: Path) -> None:
    refused(npz(tmp_path, a=np.eye(2)), "not a scipy.sparse file")
    refused(npz(tmp_path, "obj.npz", **csr_arrays(data=np.array([1, None, 2]))), "Python objects")
    not_zip = tmp_path / "plain.npz"
    np.save(tmp_path / "plain.npy", np.eye(2))
    (tmp_path / "plain.npy").rename(not_zip)
    refused(not_zip, "is not a .npz file")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    refused(broken, "broken.npz")


def test_a_coo_npz_with_an_index_outside_is_refused(tmp_path: Path) -> None:
    arrays = {
        "format": b"coo",
        "shape": np.array([2, 2]),
        "data": np.array([1.0, 2.0]),
        "row": np.array([0, 2]),
        "col": np.array([0, 1]),
    }
    refused(npz(tmp_path, **arrays), "row[1] = 2 is outside 0..1")


# --- the Poisson preset and the sparse-or-dense choice --------------------------------------


def test_poisson_2d_is_the_five_point_laplacian() -> None:
    rows, cols = 3, 4
    n = rows * cols
    want = np.zeros((n, n))
    for i in range(rows):
        for j in range(cols):
            k = i * cols + j
            want[k, k] = 4.0
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                if 0 <= i + di < rows and 0 <= j + dj < cols:
                    want[k, (i + di) * cols + j + dj] = -1.0
    got = poisson_2d(rows, cols)
    assert isinstance(got, sp.csr_array) and got.dtype == np.float64
    np.testing.assert_array_equal(got.toarray(), want)
    assert np.linalg.eigvalsh(want).min() > 0


def test_the_100000_unknown_preset_has_its_size_and_is_symmetric() -> None:
    rows, cols = 250, 400
    a = poisson_2d(rows, cols)
    n = rows * cols
    assert a.shape == (100_000, 100_000)
    assert a.nnz == 5 * n - 2 * (rows + cols)
    assert abs(a - a.T).max() == 0
    assert a.has_canonical_format


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_poisson_2d_refuses_a_grid_that_is_not_positive_integers(bad: object) -> None:
    with pytest.raises(InputError):
        poisson_2d(bad, 4)


@pytest.mark.parametrize(
    ("shape", "nnz", "sparse"),
    [
        ((1138, 1138), 4054, True),
        ((900, 900), 7744, False),  # small: dense is fast enough, and keeps the exact SVD
        ((300, 300), 100, False),
        ((2000, 2000), 2_000_000, False),  # half full: sparse gains nothing
        ((100_000, 100_000), 498_700, True),
    ],
)
def test_prefers_sparse(shape: tuple[int, int], nnz: int, sparse: bool) -> None:
    assert prefers_sparse(shape, nnz) is sparse


_IMPORT_RACE = """
import sys, threading
from solver.matrices.sparseio import is_sparse
assert "scipy.sparse" not in sys.modules
importer = threading.Thread(target=lambda: __import__("scipy.sparse"))
importer.start()
calls = 0
while importer.is_alive() or calls == 0:
    assert is_sparse(object()) is False
    calls += 1
import scipy.sparse as sp
assert is_sparse(sp.eye_array(2))
"""


def test_is_sparse_while_another_thread_imports_scipy_sparse():
    """A run started while the analysis thread was importing scipy.sparse failed with
    "partially initialized module 'scipy.sparse' has no attribute 'issparse'": the module
    is listed in sys.modules from the start of its import. A fresh interpreter, so the
    import really is in flight while the other thread asks."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_RACE], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
