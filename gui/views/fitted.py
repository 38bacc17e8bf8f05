"""Text fitted to a plot: a title or a legend name too long for the plot's width is elided,
line by line, with the whole text in its tooltip, never cut silently."""

from __future__ import annotations

import html
from collections.abc import Callable

import pyqtgraph as pg
from PySide6 import QtCore, QtGui


def fit_label(
    label: pg.LabelItem,
    full: str,
    room: float,
    set_text: Callable[[str], None] | None = None,
) -> str:
    """Show ``full`` (rich text allowed) in ``label``; where it is wider than ``room``
    pixels, each line elided to fit, and the whole text in the label's tooltip. Returns the
    text set."""
    set_text = set_text or label.setText
    set_text(full)  # measured whole, first
    if label.item.boundingRect().width() <= room:
        label.setToolTip("")
        return full
    doc = QtGui.QTextDocument()
    doc.setHtml(full)
    plain = doc.toPlainText()
    font = QtGui.QFont(label.item.font())
    size = str(label.opts.get("size") or "")
    if size.endswith("pt"):
        font.setPointSizeF(float(size[:-2]))
    fm = QtGui.QFontMetrics(font)
    lines = [
        fm.elidedText(line, QtCore.Qt.ElideRight, int(room) - 8) for line in plain.splitlines()
    ]
    shown = "<br>".join(html.escape(line) for line in lines)
    set_text(shown)
    label.setToolTip(plain)
    return shown


class FittedTitle(QtCore.QObject):
    """A plot's title that never runs past the plot: each line elided to the plot's width,
    the whole title in the title's tooltip ("Error and residua" was cut at 1024 pixels,
    silently). ``PlotItem.setTitle`` keeps working: the label's ``setText`` is wrapped, so
    the full text is remembered and fitted whoever sets it."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        super().__init__(plot)
        self.plot = plot
        self.label = plot.getPlotItem().titleLabel
        self._set_text = self.label.setText  # pyqtgraph's own
        self.full = self.label.text
        self.label.setText = self._text
        plot.installEventFilter(self)

    def _text(self, text: str, **opts: object) -> None:
        self.full = text
        self._set_text(text, **opts)
        self.fit()

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        if self.full:
            fit_label(self.label, self.full, self.plot.width() - 8, self._set_text)
