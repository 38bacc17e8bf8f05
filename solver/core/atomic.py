"""Files written whole or not at all: the one home of every atomic write.

Each is written beside its destination under a temporary name of the writing process (its id
and a random part, so two writers, in one process or two, never share one; the suffix is kept,
since numpy and scipy add theirs to a name without it) and renamed into place. On any failure,
a full disk midway included, the temporary file is removed: the destination keeps what it had
(or stays absent), and no half file or stray temporary is left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

_TEMPORARY = re.compile(r"\.tmp-\d+-[0-9a-f]{8}$")


def temporary_beside(path: str | Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    path = Path(path)
    return path.with_name(f"{path.stem}.tmp-{os.getpid()}-{os.urandom(4).hex()}{path.suffix}")


def is_temporary(path: str | Path) -> bool:
    """Whether ``path`` is named as ``temporary_beside`` names them: a write under way, or
    one that a process ended midway left behind."""
    return bool(_TEMPORARY.search(Path(path).stem))


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


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` then rename ``tmp`` to ``path``: a reader sees the old file or the
    whole new one, never half; a failed write leaves nothing behind."""
    with replacing(path) as tmp:
        write(tmp)
