"""Tests never touch the user's own files: whatever module a test is in, and whether it runs
alone or in the whole suite, the standard locations are the test ones (conftest.py)."""

from __future__ import annotations

import pytest

QtCore = pytest.importorskip("PySide6.QtCore")


def test_a_module_run_alone_sees_test_locations_not_the_users() -> None:
    # Before, the switch sat in test_gui.py and held only where that module was collected.
    assert QtCore.QStandardPaths.isTestModeEnabled()
    from gui.persistence import default_data_dir

    real = QtCore.QStandardPaths.StandardLocation.AppDataLocation
    QtCore.QStandardPaths.setTestModeEnabled(False)
    try:
        users = QtCore.QStandardPaths.writableLocation(real)
    finally:
        QtCore.QStandardPaths.setTestModeEnabled(True)
    assert not str(default_data_dir()).startswith(users)
