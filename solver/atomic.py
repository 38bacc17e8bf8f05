"""Files written whole or not at all.

Each is written beside its destination under a temporary name (the same suffix, so writers
that go by it still do) and renamed into place. On any failure, a full disk midway included,
the temporary file is removed: the destination keeps what it had (or stays absent), and no
half file or stray ``.tmp`` is left behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def temporary_beside(path: str | Path) -> Path:
    """Where ``path`` is written before it is renamed into place (one name per process, so
    two processes writing the same file never write into one temporary)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """``with replacing(path) as tmp:`` write ``tmp``; on leaving it replaces ``path``
    (atomically), or, when the block raised, is removed and the exception goes on."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
