"""Where a run starts: zeros, torch's rand or randn from a seed (the kind draws its own
unknowns, as the svd series draws U, d and V), or the session's values. The engine and a
race's entrants start alike from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from solver.problems.kinds import kind_of

if TYPE_CHECKING:
    import torch

    from solver.sessions.session import Session


def initial_x(session: Session, dtype: torch.dtype) -> torch.Tensor:
    """The start of a run of ``session``, on the CPU (a race's entrants share it)."""
    import torch

    s = session
    shape = s.problem.unknown_shape
    if s.init == "zeros":
        return torch.zeros(shape, dtype=dtype)
    if s.init in ("rand", "randn"):
        # A CPU generator seeded like torch.manual_seed(seed): the same start on every
        # device, the seeds' manual_seed(314) examples exactly, and no global RNG touched.
        gen = torch.Generator().manual_seed(s.seed)
        fn = torch.rand if s.init == "rand" else torch.randn
        return kind_of(s.problem).initial(s.problem, fn, gen, dtype)
    # torch.tensor copies: the session's values are read-only and stay the session's
    return torch.tensor(np.asarray(s.init_values).reshape(shape), dtype=dtype)
