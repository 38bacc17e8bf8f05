"""Reads are bounded: every reader of sessions and matrix files takes only regular files, of
a size checked before a byte is read, and refuses anything else at once, naming what it was
given. A named pipe opened for reading blocks until a writer comes and ``/dev/zero`` never
ends, so each check runs in a child process with a time and memory bound: a regression fails
there instead of hanging (or exhausting) the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from solver.core import fileguard
from solver.core.errors import InputError
from solver.matrices.matrixio import load_matrix, load_operator
from solver.matrices.sparseio import header, is_coordinate_mtx, load_sparse
from solver.sessions import session as sessions

ROOT = Path(__file__).resolve().parents[3]
BOUND_S = 120  # a hang guard only: a refusal takes a fraction of a second

# Each reader, called as the app calls it on a path; prints the refusal it raises.
READERS = {
    "session.load": "from solver.sessions.session import load as f",
    "read_session": "from gui.opening import read_session as f",
    "load_matrix": "from solver.matrices.matrixio import load_matrix as f",
    "load_operator": "from solver.matrices.matrixio import load_operator as f",
    "load_sparse": "from solver.matrices.sparseio import load_sparse as f",
    "sparse header": "from solver.matrices.sparseio import header as f",
}


def refusal_in_child(reader: str, path: Path) -> str:
    """The message ``reader`` refuses ``path`` with, read in a child process limited to
    BOUND_S seconds and 1 GiB of memory."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        sys.path.insert(0, {str(ROOT)!r})
        {READERS[reader]}
        from solver.core.errors import InputError
        try:
            f({str(path)!r})
        except InputError as exc:
            print("REFUSED", exc)
        else:
            print("READ")
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=BOUND_S,
            env=env,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{reader} on {path} did not return within {BOUND_S} s: it blocked")
    out = done.stdout.strip()
    assert out.startswith("REFUSED"), f"{reader} on {path}: {out!r} {done.stderr[-500:]!r}"
    return out


def fifo(tmp_path: Path, name: str) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("reader", list(READERS))
def test_a_named_pipe_is_refused_without_blocking(tmp_path, reader):
    suffix = ".json" if reader in ("session.load", "read_session") else ".mtx"
    path = fifo(tmp_path, f"pipe{suffix}")
    out = refusal_in_child(reader, path)
    assert f"{path} is a named pipe, not a file" in out, out


@pytest.mark.parametrize("reader", list(READERS))
def test_a_device_is_refused_without_reading_it(tmp_path, reader):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    suffix = ".json" if reader in ("session.load", "read_session") else ".npz"
    path = tmp_path / f"zero{suffix}"
    path.symlink_to("/dev/zero")  # a name the readers accept, pointing at an endless device
    out = refusal_in_child(reader, path)
    assert "is a device, not a file" in out, out
    if reader == "session.load":  # given as it is, /dev/zero itself
        out = refusal_in_child(reader, Path("/dev/zero"))
        assert "/dev/zero is a device, not a file" in out, out


@pytest.mark.parametrize(
    ("read", "name"),
    [
        (sessions.load, "x.json"),
        (load_matrix, "x.csv"),
        (load_matrix, "x.npy"),
        (load_matrix, "x.mtx"),
        (load_operator, "x.npz"),
        (load_sparse, "x.mtx"),
        (header, "x.npz"),
    ],
)
def test_a_folder_is_named_a_folder(tmp_path, read, name):
    path = tmp_path / name
    path.mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        read(path)


def test_a_banner_check_never_opens_a_pipe(tmp_path):
    path = fifo(tmp_path, "pipe.mtx")
    # returns at once (the open would block): a pipe is no Matrix Market file
    code = f"from solver.matrices.sparseio import is_coordinate_mtx as f\nprint(f({str(path)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=BOUND_S, cwd=ROOT
    )
    assert done.stdout.strip() == "False", done.stderr
    assert is_coordinate_mtx(tmp_path / "absent.mtx") is False


def test_a_session_beyond_its_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:  # a sparse file: its size without its bytes on disk
        fh.truncate(fileguard.SESSION_MAX_BYTES + 1)
    read = []
    real = os.read

    def counted(fd: int, n: int) -> bytes:
        read.append(n)
        return real(fd, n)

    monkeypatch.setattr(os, "read", counted)
    with pytest.raises(InputError, match="a session may be at most 1,024 MB") as err:
        sessions.load(path)
    assert err.value.field == "session" and "huge.json" in str(err.value)
    assert read == []


def test_a_matrix_beyond_its_size_limit_is_refused(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.truncate(fileguard.MATRIX_MAX_BYTES + 1)
    with pytest.raises(InputError, match="a matrix file may be at most 2,048 MB"):
        load_matrix(path, "A")


def test_a_session_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.json"
    data = {"version": 1, "problem": {"kind": "linear_system", "A": [[2.0]], "b": [4.0]}}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    s = sessions.load(path)
    assert s.problem.A.tolist() == [[2.0]] and s.problem.b.tolist() == [4.0]


def test_matrix_text_with_a_byte_order_mark_loads(tmp_path):
    bom = b"\xef\xbb\xbf"
    csv = tmp_path / "bom.csv"
    csv.write_bytes(bom + b"1,2\n3,4\n")
    assert load_matrix(csv).tolist() == [[1, 2], [3, 4]]
    mtx = tmp_path / "bom.mtx"
    mtx.write_bytes(bom + b"%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 5\n2 2 6\n")
    assert is_coordinate_mtx(mtx)
    assert load_sparse(mtx).toarray().tolist() == [[5, 0], [0, 6]]
    assert load_matrix(mtx).tolist() == [[5, 0], [0, 6]]
    dense = tmp_path / "bom_array.mtx"
    dense.write_bytes(bom + b"%%MatrixMarket matrix array real general\n2 1\n7\n8\n")
    assert load_matrix(dense).tolist() == [[7], [8]]


def test_a_npy_header_claiming_more_than_the_file_holds_is_refused(tmp_path):
    path = tmp_path / "short.npy"
    with path.open("wb") as fh:  # a header claiming 5000 x 5000 (200 MB) over 128 bytes
        head = {"descr": "<f8", "fortran_order": False, "shape": (5000, 5000)}
        np.lib.format.write_array_header_1_0(fh, head)
        fh.write(bytes(128))
    with pytest.raises(InputError, match="but the file holds 128 bytes of data"):
        load_matrix(path, "A")


def test_a_npz_member_claiming_more_than_it_holds_is_refused(tmp_path):
    import zipfile

    import scipy.sparse as sp

    path = tmp_path / "short.npz"
    sp.save_npz(path, sp.csr_array(np.eye(3)), compressed=False)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    data = members["data.npy"]
    # 72 bytes claimed, 24 held, in a file otherwise consistent
    members["data.npy"] = data.replace(b"(3,), ", b"(9,), ")
    members["indices.npy"] = members["indices.npy"].replace(b"(3,), ", b"(9,), ")
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(forged, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    with pytest.raises(InputError, match="'data' header says"):
        load_sparse(forged, "A")


def test_a_csv_separated_by_semicolons_may_write_decimal_commas(tmp_path):
    """Where a comma is the decimal mark, spreadsheets separate a CSV's cells by semicolons:
    "1,5;2" is 1.5 and 2. A point still reads as ever ("0.25"); a cell that is no number
    is named, as before."""
    path = tmp_path / "comma.csv"
    path.write_text("1,5;2\n-0,25;0.25\n")
    assert load_matrix(path).tolist() == [[1.5, 2.0], [-0.25, 0.25]]
    path.write_text("1,5;2\n3;x\n")
    with pytest.raises(InputError, match=r"row 2, column 2: 'x' is not a number"):
        load_matrix(path)
