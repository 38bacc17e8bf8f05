"""What the app agrees to read: only regular files, each kind under its own size limit, both
checked before the file is opened.

Opening a named pipe for reading blocks until a writer comes (the window froze for good on
one given as its session), and a device such as ``/dev/zero`` never ends (it was read until
memory ran out); a folder named ``x.csv`` is not a file that "has been moved or deleted".
Every reader of sessions and matrix files asks here first, so each says what it was given.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import InputError

# A session inlines its dense arrays (``session.save``): the size boxes allow 5000 x 5000,
# about 600 MB of JSON at some 24 characters a number. A file beyond this was not written by
# the app and would take several times its size in memory to parse.
SESSION_MAX_BYTES = 1 << 30
# The largest matrix file the readers' own limits can accept: 50,000,000 dense entries as
# CSV text (matrixio.MAX_ENTRIES) or 20,000,000 coordinate lines (sparseio.MAX_NONZEROS) at
# some 40 characters each. Headers are checked against these limits once the file is open.
MATRIX_MAX_BYTES = 2 << 30

_NOT_FILES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, words in _NOT_FILES:
        if test(mode):
            return words
    return "not a regular file"


def not_a_file(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a file ("… is a folder, not a file", "… no such file"),
    or None for a regular file. Asks the file system only: nothing is opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{path}: cannot read: no such file"
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(st.st_mode):
        return None
    return f"{path} is {_kind(st.st_mode)}, not a file"


def _size_text(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n:,} bytes"


def check_file(path: str | Path, field: str, limit: int, what: str = "file") -> int:
    """The size of ``path`` in bytes, or InputError naming ``field`` when it is not a regular
    file or holds more than ``limit`` bytes (``what`` names the kind of file in the message)."""
    why = not_a_file(path)
    if why is not None:
        raise InputError(field, why)
    size = os.stat(path).st_size
    if size > limit:
        raise InputError(
            field,
            f"{Path(path).name}: {_size_text(size)}; a {what} may be at most {_size_text(limit)}",
        )
    return size


def read_bytes(path: str | Path, field: str, limit: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes (``check_file``). Opened without
    blocking and checked again once open, so a file swapped for a pipe or a device between
    the check and the open is refused too, and never more than ``limit`` bytes are read."""
    check_file(path, field, limit, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(field, f"{path}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(field, f"{path} is {_kind(mode)}, not a file")
        data = fh.read(limit + 1)
    if len(data) > limit:  # it grew since it was measured
        raise InputError(field, f"{Path(path).name}: a {what} may be at most {_size_text(limit)}")
    return data


def read_text(path: str | Path, field: str, limit: int, what: str = "file") -> str:
    """``read_bytes`` decoded as UTF-8; a leading byte-order mark (which some editors write)
    is dropped, as it is no part of the text."""
    data = read_bytes(path, field, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            field, f"{Path(path).name}: byte {exc.start} is not UTF-8 text ({exc.reason})"
        ) from None


def footprint(path: str | Path, enough: int) -> int:
    """The bytes reading ``path`` means: a matrix file's size, a session's with the sizes of
    the files it names. Counting stops once ``enough`` is reached (a larger session's JSON is
    not parsed to find its files); what cannot be read counts 0, its reader says why."""
    p = Path(path)
    try:
        size = p.stat().st_size if not_a_file(p) is None else 0
        if size >= enough or p.suffix.lower() != ".json":
            return size
        import json

        todo, total = [json.loads(p.read_bytes().decode("utf-8-sig"))], size
        while todo and total < enough:
            item = todo.pop()
            if isinstance(item, dict):
                named = item.get("file")
                if len(item) == 1 and isinstance(named, str):
                    ref = p.parent / named
                    total += ref.stat().st_size if not_a_file(ref) is None else 0
                else:
                    todo.extend(item.values())
            elif isinstance(item, list) and item and isinstance(item[0], dict | list):
                todo.extend(item)
    except (OSError, ValueError, RecursionError):
        return 0
    return total


def npy_header(fh: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a .npy stream's header claims, its data left unread (``fh`` then
    stands where the data begins): a size claim is checked before a byte is allocated."""
    version = np.lib.format.read_magic(fh)
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _fortran, dtype = read(fh)
    return tuple(int(d) for d in shape), dtype
