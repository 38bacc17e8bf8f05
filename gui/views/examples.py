"""The Examples menu and the "Published vs this run" dock.

The menu lists every shipped example with its source. The dock names the source of the
example the shown run (or, before a run, the current session) solves, and sets the numbers
that source printed beside this run's: match or differs, and by how much. Where the source
printed nothing it says so. Which example a session is comes from its problem
(``solver.sessions.examples.example_of``), so sessions from any menu, file or the autosave
count alike.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from solver.sessions.examples import EXAMPLES, example_of
from solver.sessions.published import MATCH, NO_NUMBER, Comparison, Example, compare

from ..model import AppModel
from ..records import FINISHED, RunRecord

Qt = QtCore.Qt

# The verdict first: in a narrow dock it is what must show without scrolling.
ROWS = ("Verdict", "Published", "This run", "Difference")
_VERDICT_COLOURS = {MATCH: "#047857", "differs": "#b45309"}
NOT_AN_EXAMPLE = (
    "This problem is not one of the shipped examples (see the Examples menu). An example whose "
    "matrix or data was edited no longer counts: its source's numbers are for its own problem."
)


class ExamplesPanel(QtWidgets.QWidget):
    """Subscribes to the model; ``menu`` is the Examples menu, filled by ``fill_menu``."""

    TITLE = "Published"  # short: it shares its place with One step and Device

    def __init__(self, model: AppModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.menu = QtWidgets.QMenu("E&xamples", self)
        self.menu.setToolTipsVisible(True)
        self.menu.addAction("Loading…").setEnabled(False)
        self.heading = QtWidgets.QLabel(wordWrap=True, textFormat=Qt.RichText)
        # One column per published number: a side dock is narrow and tall.
        self.table = QtWidgets.QTableWidget(len(ROWS), 0)
        self.table.setVerticalHeaderLabels(ROWS)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setSizeAdjustPolicy(QtWidgets.QAbstractScrollArea.AdjustToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.note = QtWidgets.QLabel(wordWrap=True, textFormat=Qt.PlainText)
        self.note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        for w in (self.heading, self.table, self.note):
            layout.addWidget(w)
        layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setWidget(body)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._state: str | None = None  # the shown run's state, to skip progress updates
        self._stale = True  # what it shows is not the model's: refreshed when shown
        self._on_screen = False  # its dock is in front (told by the window)
        model.selection_changed.connect(self.refresh)
        model.session_changed.connect(self.refresh)
        model.run_finished.connect(self.refresh)
        model.run_updated.connect(self._run_updated)
        self.refresh()

    # -- the menu ----------------------------------------------------------------------------
    def fill_menu(self, chosen: Callable[[str], object]) -> None:
        """One entry per example (its source as tooltip and status tip); ``chosen(key)``."""
        self.menu.clear()
        for key, ex in EXAMPLES.items():
            a = self.menu.addAction(ex.title)
            a.setData(key)
            a.setToolTip(ex.tooltip())
            a.setStatusTip(f"From {ex.source.text()}")
            a.triggered.connect(lambda _c=False, k=key: self._chosen(chosen, k))

    def _chosen(self, chosen: Callable[[str], object], key: str) -> None:
        chosen(key)
        dock = self.parentWidget()
        if isinstance(dock, QtWidgets.QDockWidget):  # a tabbed dock comes to the front
            dock.show()
            dock.raise_()

    # -- the dock ----------------------------------------------------------------------------
    def _run_updated(self, run_id: int) -> None:
        rec = self.model.selected
        if rec is not None and rec.id == run_id and rec.status.state != self._state:
            self.refresh()

    def _shown_run(self) -> RunRecord | None:
        rec = self.model.selected
        # A run of an earlier problem is not shown as if it were the current one.
        return None if rec is None or rec.stale else rec

    def on_shown(self, shown: bool) -> None:
        """Its dock came to the front or went behind another (``visibilityChanged``)."""
        self._on_screen = shown
        if shown and self._stale:
            self.refresh()

    def refresh(self, *_: object) -> None:
        # Comparing against the catalogue builds every example once (seconds, the first
        # time: torch's optimizers load their compiler hooks), so only for a panel on
        # screen; a dock behind another tab is "visible" to Qt but has nothing on screen.
        self._stale = not (self._on_screen and self.isVisible())
        if self._stale:
            return
        rec = self._shown_run()
        self._state = rec.status.state if rec is not None else None
        session = rec.session if rec is not None else self.model.session
        if session is None:
            self._show("", [], "No session yet.")
            return
        found = example_of(session)
        if found is None:
            self._show("<b>Not an example</b>", [], NOT_AN_EXAMPLE)
            return
        ex = found.example
        heading = f"<b>{html.escape(ex.title)}</b><br>From {html.escape(ex.source.text())}"
        notes = [ex.note] if ex.note else []
        notes += [f"The source claims (no number): {c}" for c in ex.claims]
        if found.changed:
            who = "This run" if rec is not None else "This session"
            notes.append(
                f"{who} changed the example's {', '.join(found.changed)}: the published numbers "
                "are for the example's own settings."
            )
        if not ex.published:
            if not ex.note.startswith(NO_NUMBER):
                notes.insert(0, f"{NO_NUMBER}.")
            self._show(heading, [], "\n\n".join(notes))
            return
        numbers, status = self._numbers(ex, rec)
        self._show(heading, numbers, "\n\n".join([status, *notes] if status else notes))

    def _numbers(self, ex: Example, rec: RunRecord | None) -> tuple[list, str]:
        """The numbers to show (Comparisons, or Published ones not yet compared) and a status
        line."""
        if rec is None:
            return list(ex.published), "Run it (F5) to set this run's numbers beside these."
        x = rec.status.x
        if rec.status.state != FINISHED:
            return list(ex.published), f"{rec.name} is running: it is compared when it ends."
        if x is None:
            return list(ex.published), f"{rec.name} ended without a result: {rec.status.message}"
        ended = "" if rec.status.stop_reason in ("max_iters", "converged") else rec.status.message
        status = f"{rec.name} (iteration {rec.status.iteration:,})" + (
            f": {ended}" if ended else ""
        )
        return compare(ex, rec.session, x), status

    def _show(self, heading: str, numbers: list, note: str) -> None:
        self.heading.setText(heading)
        self.heading.setVisible(bool(heading))
        t = self.table
        t.setVisible(bool(numbers))
        t.setColumnCount(len(numbers))
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        for col, n in enumerate(numbers):
            header = QtWidgets.QTableWidgetItem(n.label)
            if isinstance(n, Comparison):
                cells = [n.verdict, n.published, n.measured, _difference(n)]
                header.setToolTip(f"within ±{n.tolerance:g} counts as a match")
            else:  # a Published number, before the run has ended
                cells = ["", n.printed, "—", "—"]
                header.setToolTip(f"This run: {n.measures}")
            t.setHorizontalHeaderItem(col, header)
            for row, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if row in (1, 2):
                    item.setFont(mono)
                    item.setToolTip(text)  # a matrix may be wider than the dock
                if text in _VERDICT_COLOURS:
                    item.setForeground(QtGui.QColor(_VERDICT_COLOURS[text]))
                    bold = item.font()
                    bold.setBold(True)
                    item.setFont(bold)
                t.setItem(row, col, item)
        t.resizeColumnsToContents()
        t.resizeRowsToContents()
        self.note.setText(note)
        self.note.setVisible(bool(note))

    # -- for tests and the self-test ---------------------------------------------------------
    def cells(self) -> list[list[str]]:
        """Per number shown: label, published, this run, difference, verdict (empty when the
        table is hidden)."""
        t = self.table
        if t.isHidden():
            return []
        return [
            [t.horizontalHeaderItem(c).text()] + [t.item(r, c).text() for r in (1, 2, 3, 0)]
            for c in range(t.columnCount())
        ]


def _difference(c: Comparison) -> str:
    return "—" if math.isnan(c.difference) else f"{c.difference:+.3g}"
