"""A full disk midway through any file the user writes: Save session, a plot's PNG or SVG, the
history's CSV, the autosave's pieces. Each write fails with ENOSPC after part of the file is
out; afterwards the destination keeps what it had (or is still absent), no temporary or empty
file is left beside it, and the user is told."""

from __future__ import annotations

import builtins
import errno
from pathlib import Path

import numpy as np
import pytest
import test_gui
from PySide6 import QtGui

import solver.matrices.matrixio

LONG = test_gui.LONG


def full_disk() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def leftovers(folder: Path, *keep: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p not in keep)


@pytest.fixture
def finished(qtbot, window):
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    qtbot.waitUntil(lambda: window.plots is not None, timeout=LONG)
    return window


@pytest.mark.parametrize("existed", [False, True])
def test_save_session_on_a_full_disk(window, monkeypatch, tmp_path, existed):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "s.json"
    if existed:
        target.write_text("the session saved before\n", encoding="utf-8")
    real = Path.write_text

    def write_text(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise full_disk()

    monkeypatch.setattr(Path, "write_text", write_text)
    assert not window.persistence.save_session(target)
    monkeypatch.undo()
    assert "No space left" in window.model.last_error
    if existed:
        assert target.read_text(encoding="utf-8") == "the session saved before\n"
    else:
        assert not target.exists()
    assert leftovers(folder, target) == []


@pytest.mark.parametrize("existed", [False, True])
def test_png_export_on_a_full_disk(finished, monkeypatch, tmp_path, existed):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "loss.png"
    if existed:
        target.write_bytes(b"an earlier picture")

    def save(self, name, *args, **kwargs):
        Path(name).write_bytes(b"")  # opened, then nothing could be written
        return False

    monkeypatch.setattr(QtGui.QImage, "save", save)
    assert not finished.files.export_plot("loss", target)
    monkeypatch.undo()
    assert "loss.png" in finished.model.last_error
    if existed:
        assert target.read_bytes() == b"an earlier picture"
    else:
        assert not target.exists()
    assert leftovers(folder, target) == []
    assert finished.files.export_plot("loss", target)  # the disk has room again: it works
    assert target.read_bytes().startswith(b"\x89PNG")


def test_svg_export_on_a_full_disk(finished, monkeypatch, tmp_path):
    import sys

    svg_module = sys.modules["pyqtgraph.exporters.SVGExporter"]  # the name is its class's
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "loss.svg"

    class Half:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise full_disk()

    monkeypatch.setattr(
        svg_module, "open", lambda *a, **kw: Half(builtins.open(*a, **kw)), raising=False
    )
    assert not finished.files.export_plot("loss", target)
    monkeypatch.undo()
    assert "No space left" in finished.model.last_error
    assert not target.exists()
    assert leftovers(folder) == []


def test_csv_export_on_a_full_disk_leaves_nothing(finished, monkeypatch, tmp_path):
    import csv

    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "history.csv"

    class Writer:
        def __init__(self, fh, *args, **kwargs):
            self.fh, self.rows = fh, 0

        def writerow(self, row):
            self.rows += 1
            if self.rows > 3:
                raise full_disk()
            self.fh.write(",".join(map(str, row)) + "\n")

    monkeypatch.setattr(csv, "writer", Writer)
    assert not finished.persistence.export_csv(target)
    monkeypatch.undo()
    assert "No space left" in finished.model.last_error
    assert not target.exists()
    assert leftovers(folder) == []


def test_autosave_pieces_on_a_full_disk(window, monkeypatch):
    big = np.arange(150 * 150, dtype=float).reshape(150, 150) + 150 * np.eye(150)
    s = window.model.session
    ok = window.editor.load_session(s.replace(problem=s.problem.__class__(big, np.ones(150))))
    assert ok, window.model.last_error
    real = np.save

    def save(path, arr, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"\x93NUMPY half")
        raise full_disk()

    data = window.persistence.data_dir
    monkeypatch.setattr(solver.matrices.matrixio.np, "save", save)
    window.persistence.autosave()
    monkeypatch.setattr(solver.matrices.matrixio.np, "save", real)
    assert "No space left" in window.model.last_error
    assert not [p.name for p in data.iterdir() if ".tmp" in p.name or p.suffix == ".npy"]
