"""Draws resources/icons/descent-lab.png (and .ico): a loss curve falling into a valley.

Run once when the artwork changes: python resources/icons/make_icon.py
"""

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

HERE = Path(__file__).resolve().parent


def draw(size: int) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256
    p.setBrush(QBrush(QColor("#1f2a44")))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(8 * s, 8 * s, 240 * s, 240 * s, 48 * s, 48 * s)
    valley = QPainterPath(QPointF(36 * s, 60 * s))
    valley.cubicTo(QPointF(90 * s, 230 * s), QPointF(166 * s, 230 * s), QPointF(220 * s, 60 * s))
    p.setPen(QPen(QColor("#5b6b8c"), 10 * s, c=Qt.PenCapStyle.RoundCap))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(valley)
    steps = [(52, 96), (188, 112), (80, 150), (160, 160), (112, 180), (128, 184)]
    p.setPen(QPen(QColor("#f5a623"), 8 * s, c=Qt.PenCapStyle.RoundCap))
    for (x0, y0), (x1, y1) in zip(steps, steps[1:], strict=False):
        p.drawLine(QPointF(x0 * s, y0 * s), QPointF(x1 * s, y1 * s))
    p.setBrush(QBrush(QColor("#f5a623")))
    p.drawEllipse(QPointF(128 * s, 184 * s), 12 * s, 12 * s)
    p.end()
    return img


if __name__ == "__main__":
    app = QGuiApplication([])
    draw(256).save(str(HERE / "descent-lab.png"))
    draw(256).save(str(HERE / "descent-lab.ico"))
