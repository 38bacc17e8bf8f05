"""The Presets menu: every seed example and classic test matrix, with a small form for the
presets that take parameters (size, condition number, seed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6 import QtCore, QtWidgets

Qt = QtCore.Qt
DIALOG_TITLE = "Preset parameters"
TITLE_BAR_BUTTONS = 160  # pixels a title bar's icon and buttons take, on common window managers


def fill_menu(
    menu: QtWidgets.QMenu, presets: Mapping[str, object], chosen: Callable[[str], None]
) -> None:
    """One entry per preset (its description as tooltip); ``chosen(key)`` on a click."""
    menu.clear()
    for key, p in presets.items():
        a = menu.addAction(p.title + ("…" if p.params else ""))
        a.setToolTip(p.description)
        a.setData(key)
        a.triggered.connect(lambda _c=False, k=key: chosen(k))
    menu.setToolTipsVisible(True)


def ask_params(
    parent: QtWidgets.QWidget, title: str, defaults: Mapping[str, object]
) -> tuple[dict | None, str]:
    """A form with one field per parameter. Returns (values, "") when accepted, (None, "")
    when cancelled, and (None, why) when a field is not a number."""
    dlg = QtWidgets.QDialog(parent)
    # A short title (the window system adds the app's name and cuts what does not fit);
    # the preset's long name is the dialog's first line.
    dlg.setWindowTitle(DIALOG_TITLE)
    form = QtWidgets.QFormLayout(dlg)
    heading = QtWidgets.QLabel(title, wordWrap=True, textFormat=Qt.PlainText)
    form.addRow(heading)
    edits = {}
    for k, v in defaults.items():
        e = QtWidgets.QLineEdit(f"{v:g}" if isinstance(v, float) else str(v))
        form.addRow(k, e)
        edits[k] = e
    bb = QtWidgets.QDialogButtonBox(
        QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel
    )
    bb.accepted.connect(dlg.accept)
    bb.rejected.connect(dlg.reject)
    form.addRow(bb)
    app = QtWidgets.QApplication.applicationDisplayName()
    shown = f"{DIALOG_TITLE} — {app}" if app else DIALOG_TITLE
    # room for the title beside the title bar's buttons
    dlg.setMinimumWidth(dlg.fontMetrics().horizontalAdvance(shown) + TITLE_BAR_BUTTONS)
    if dlg.exec() != QtWidgets.QDialog.Accepted:
        return None, ""
    out = {}
    for k, e in edits.items():
        text = e.text().strip()
        try:
            out[k] = float(text) if isinstance(defaults[k], float) else int(text)
        except ValueError:
            return None, f"{k}: {text!r} is not a number"
    return out, ""
