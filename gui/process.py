"""Process-wide settings the window depends on, below every other GUI room: those made
before the window exists (``configure_process``: the app and the tests alike) and those made
once the solver and the plots are in (``settle_process``)."""

from __future__ import annotations

import gc
import sys

from solver.core.threads import apply_env_policy


def configure_process() -> None:
    """Process-wide settings the live window depends on (the app and the tests alike)."""
    # main.py applied it before numpy loaded; a window opened another way (a benchmark, a
    # test) still gets it before torch, which the window imports only after its first paint.
    apply_env_policy()
    # The GUI thread only waits this long for the GIL when the solver thread holds it, so a
    # Python callback in the event loop (a timer, a mouse move) never waits the default 5 ms.
    sys.setswitchinterval(0.001)


def settle_process() -> None:
    """Once the solver and plots are loaded: pyqtgraph's patches, and a frozen heap."""
    from .views.plotkit import install_patches  # pyqtgraph: loaded after the first paint

    install_patches()
    # torch, numpy, Qt and pyqtgraph leave ~230k long-lived objects; a full collection
    # walks them all (~150 ms here) in whichever thread trips it, mid-run, holding the
    # GIL: a visible stall. Frozen, they are skipped by every later collection.
    gc.collect()
    gc.freeze()
