"""Test set-up shared by every module: the GUI tests run offscreen, in a process configured
exactly as the app configures itself (``gui.app.configure_process``)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest's hook signature
    try:
        from gui.app import configure_process
    except ImportError:  # the solver-only tests run without Qt installed
        return
    configure_process()
