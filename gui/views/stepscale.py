"""The step-size scale under the learning-rate field: where lr sits among 1/L, 2/(μ+L), 2/L.

A logarithmic strip: the stable range in green, the range where plain gradient descent
diverges (lr > 2/L) shaded red, a mark for each step the analysis derives, and the current
lr as a handle. Dragging the handle (or clicking the strip) picks a new lr, applied when the
mouse is released, like a value typed into the field.
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from solver.core.limits import LR, SMALLEST_POSITIVE

Qt = QtCore.Qt
MARK_LABELS = {"recommended": "1/L", "optimal": "2/(μ+L)", "limit": "2/L"}
PRIORITY = ("limit", "recommended", "optimal")  # which label keeps its place when crowded
GAP_X, GAP_Y = 8, 3  # pixels between two labels side by side, and between the two rows
STABLE, DIVERGING, MARK, HANDLE = "#d1fae5", "#fecaca", "#374151", "#1a56db"


class StepScale(QtWidgets.QWidget):
    """``chosen(lr)`` when the user drags or clicks to a learning rate."""

    chosen = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.marks: dict[str, float] = {}
        self.lr: float | None = None
        self._drag: float | None = None  # the lr under the mouse while dragging
        # log10 of the ends: the range itself may reach past what a float holds (a tenth of
        # the smallest positive lr is 0, four times the largest is inf)
        self._log_range = (-3.0, 0.0)
        self.setMinimumHeight(self.needed_height())
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip(
            "step size on a log scale: green is stable for plain gradient descent, red "
            "diverges (lr > 2/L); drag the handle or click to choose"
        )

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(220, self.needed_height())

    def _label_font(self) -> QtGui.QFont:
        font = QtGui.QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        return font

    def needed_height(self) -> int:
        """The strip and two rows of labels, each as tall as its glyphs reach."""
        bh = QtGui.QFontMetricsF(self._label_font()).boundingRect("2/(μ+L)").height()
        return int(math.ceil(self.strip().bottom() + GAP_Y + 2 * bh + GAP_Y + 2))

    def changeEvent(self, ev: QtCore.QEvent) -> None:
        if ev.type() == QtCore.QEvent.FontChange:
            self.setMinimumHeight(self.needed_height())
            self.updateGeometry()
        super().changeEvent(ev)

    # -- state ---------------------------------------------------------------------------------
    def set_marks(
        self, recommended: float | None, optimal: float | None, limit: float | None
    ) -> None:
        """The analysis's steps (None: not known for this loss); hides the scale without."""
        found = {"recommended": recommended, "optimal": optimal, "limit": limit}
        self.marks = {
            k: v for k, v in found.items() if v is not None and v > 0 and math.isfinite(v)
        }
        self.setToolTip(
            "step size on a log scale: green is stable for plain gradient descent, red "
            "diverges (lr > 2/L); drag the handle or click to choose. "
            + ", ".join(f"{MARK_LABELS[k]} = {v:.4g}" for k, v in self.marks.items())
        )
        self._fit_range()
        self.setVisible(bool(self.marks))
        self.update()

    def set_lr(self, lr: float | None) -> None:
        self.lr = lr if lr is not None and lr > 0 and math.isfinite(lr) else None
        self._fit_range()
        self.update()

    def _fit_range(self) -> None:
        values = list(self.marks.values()) + ([self.lr] if self.lr else [])
        if not values:
            return
        lo, hi = math.log10(min(values)), math.log10(max(values))
        # a decade below the smallest, and room past the limit for the diverging zone
        self._log_range = (lo - 1, hi + math.log10(4))

    # -- geometry --------------------------------------------------------------------------------
    def strip(self) -> QtCore.QRectF:
        """Where the coloured strip lies, in the scale's pixels."""
        return QtCore.QRectF(6, 4, max(1, self.width() - 12), 10)

    def x_of(self, lr: float) -> float:
        """The pixel column of ``lr``."""
        lo, hi = self._log_range
        r = self.strip()
        t = (math.log10(lr) - lo) / (hi - lo)
        return r.left() + min(1.0, max(0.0, t)) * r.width()

    def lr_at(self, x: float) -> float:
        """The learning rate at pixel column ``x``, to 3 significant digits, within the
        learning rates a session takes (the strip's ends may lie beyond them)."""
        lo, hi = self._log_range
        r = self.strip()
        t = min(1.0, max(0.0, (x - r.left()) / r.width()))
        try:
            lr = float(f"{10 ** (lo + t * (hi - lo)):.3g}")
        except OverflowError:  # past the largest float
            lr = math.inf
        return lr if LR.holds(lr) else (LR.hi if lr > 1 else SMALLEST_POSITIVE)

    def label_rects(self) -> list[tuple[str, QtCore.QRectF]]:
        """Where each mark's label is painted: (text, the rectangle its glyphs fill), under
        its tick, on the first of two rows where it keeps clear of every label placed there.
        2/L first, then 1/L, then 2/(μ+L) (close to 2/L when κ is large); a label with no
        room is left out (the tooltip names every mark with its value)."""
        fm = QtGui.QFontMetricsF(self._label_font())
        top = self.strip().bottom() + GAP_Y
        rows: list[list[QtCore.QRectF]] = [[], []]
        placed = []
        for key in sorted(self.marks, key=lambda k: PRIORITY.index(k)):
            label = MARK_LABELS[key]
            br = fm.boundingRect(label)
            x = self.x_of(self.marks[key])
            lx = min(max(0.0, x - br.width() / 2), self.width() - br.width())
            for i, row in enumerate(rows):
                rect = QtCore.QRectF(lx, top + i * (br.height() + GAP_Y), br.width(), br.height())
                if all(not rect.adjusted(-GAP_X, 0, GAP_X, 0).intersects(o) for o in row):
                    row.append(rect)
                    placed.append((label, rect))
                    break
        return placed

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        r = self.strip()
        limit = self.marks.get("limit")
        split = self.x_of(limit) if limit else r.right()
        p.fillRect(
            QtCore.QRectF(r.left(), r.top(), split - r.left(), r.height()), QtGui.QColor(STABLE)
        )
        if limit:
            p.fillRect(
                QtCore.QRectF(split, r.top(), r.right() - split, r.height()),
                QtGui.QColor(DIVERGING),
            )
        font = self._label_font()
        p.setFont(font)
        fm = QtGui.QFontMetricsF(font)
        p.setPen(QtGui.QPen(QtGui.QColor(MARK), 1))
        for v in self.marks.values():
            x = self.x_of(v)
            p.drawLine(QtCore.QPointF(x, r.top() - 2), QtCore.QPointF(x, r.bottom() + 2))
        for label, rect in self.label_rects():
            br = fm.boundingRect(label)  # relative to the pen: the baseline is at y = 0
            p.drawText(QtCore.QPointF(rect.left() - br.left(), rect.top() - br.top()), label)
        lr = self._drag if self._drag is not None else self.lr
        if lr:
            x = self.x_of(lr)
            p.setPen(QtGui.QPen(QtGui.QColor("white"), 1.5))
            p.setBrush(QtGui.QColor(HANDLE))
            p.drawEllipse(QtCore.QPointF(x, r.center().y()), 6, 6)
        p.end()

    # -- the mouse ---------------------------------------------------------------------------------
    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:
        if ev.button() == Qt.LeftButton and self.marks:
            self._drag = self.lr_at(ev.position().x())
            self.update()

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = self.lr_at(ev.position().x())
            QtWidgets.QToolTip.showText(ev.globalPosition().toPoint(), f"lr = {self._drag:g}", self)
            self.update()

    def mouseReleaseEvent(self, ev: QtGui.QMouseEvent) -> None:
        if self._drag is None:
            return
        lr, self._drag = self.lr_at(ev.position().x()), None
        self.update()
        self.chosen.emit(lr)
