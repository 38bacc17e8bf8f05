"""Every view of a tab widget reachable without hidden tabs: where the tab bar does not fit
its pane, a list of the views (a combo box) takes its place.

A QTabBar too wide for its widget scrolls its tabs behind two arrows ("Cor…" and nothing
to say that Compare is there). Here the tab bar shows only when every visible tab fits;
otherwise the combo lists the same views, disabled ones greyed with the tab's tooltip
saying why, and picking one brings its tab to the front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from solver.problems.kinds import view_offered_for

Qt = QtCore.Qt
# Kept in sight, disabled, where they do not apply: their tooltips say for which kinds
ALWAYS_SHOWN = ("direction", "landscape")


class ViewPicker(QtWidgets.QWidget):
    """``tabs`` with a combo box above it, shown instead of the tab bar when that does not
    fit. Call ``sync()`` after changing the tabs' texts, tooltips, enabled or visible states."""

    def __init__(
        self,
        tabs: QtWidgets.QTabWidget,
        names: Sequence[str],
        parent: QtWidgets.QWidget | None = None,
    ):
        super().__init__(parent)
        self.tabs = tabs
        self.names = tuple(names)  # each tab's view, by name (``solver.problems.kinds.VIEWS``)
        # a little less padding than the window's tabs: the views' tabs fit a 1440-pixel
        # window's pane (the list takes over below that)
        tabs.tabBar().setStyleSheet("QTabBar::tab { padding: 4px 7px; }")
        self.combo = QtWidgets.QComboBox()
        self.combo.setObjectName("viewPicker")
        self.combo.setToolTip("The view shown below")
        self.combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        self.items = QtGui.QStandardItemModel(self)
        self.combo.setModel(self.items)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.combo)
        lay.addWidget(tabs, 1)
        self.combo.activated.connect(self._picked)
        tabs.currentChanged.connect(self._show_current)
        tabs.installEventFilter(self)
        self.sync()

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if obj is self.tabs and ev.type() == QtCore.QEvent.Resize:
            self._fit()
        return False

    def offer(self, views: frozenset[str], why: Mapping[str, str | None]) -> None:
        """The tabs of the ``views`` a run's kind offers (``ProblemKind.views``) enabled, the
        others disabled with a tooltip saying which kinds have them; a view offered that has
        nothing to show for this run (``why``) says so. The error by direction and the
        landscape stay in sight, disabled; the other kinds' views are hidden."""
        tabs, cur = self.tabs, self.tabs.currentIndex()
        wanted = []
        for i, name in enumerate(self.names):
            tip = why.get(name) if name in views else view_offered_for(name)
            wanted.append(not tip)
            tabs.setTabEnabled(i, wanted[i])
            tabs.setTabToolTip(i, tip or "")
        # the tab in front first, then another kind's views hidden (hiding the current tab
        # would bring an arbitrary one to the front)
        tabs.setCurrentIndex(cur if wanted[cur] else wanted.index(True))
        for i, name in enumerate(self.names):
            tabs.setTabVisible(i, wanted[i] or name in ALWAYS_SHOWN)
        self.sync()

    def sync(self) -> None:
        """The combo's items from the tabs: text, tooltip, enabled, hidden."""
        tabs, items = self.tabs, self.items
        if items.rowCount() != tabs.count():
            items.clear()
            for _ in range(tabs.count()):
                items.appendRow(QtGui.QStandardItem())
        view = self.combo.view()
        for i in range(tabs.count()):
            item = items.item(i)
            item.setText(tabs.tabText(i))
            item.setToolTip(tabs.tabToolTip(i))
            item.setEnabled(tabs.isTabEnabled(i))
            view.setRowHidden(i, not tabs.isTabVisible(i))
        self._show_current(tabs.currentIndex())
        self._fit()

    def tab_bar_fits(self) -> bool:
        """Whether every visible tab fits the tab widget's width, side by side."""
        bar = self.tabs.tabBar()
        wanted = sum(bar.tabSizeHint(i).width() for i in range(bar.count()) if bar.isTabVisible(i))
        return wanted <= self.tabs.width()

    def _fit(self) -> None:
        fits = self.tab_bar_fits()
        self.tabs.tabBar().setVisible(fits)
        self.combo.setVisible(not fits)

    def _picked(self, index: int) -> None:
        if self.tabs.isTabEnabled(index):
            self.tabs.setCurrentIndex(index)
        else:  # not for this problem: the combo goes back to the view on show
            self._show_current(self.tabs.currentIndex())

    def _show_current(self, index: int) -> None:
        if index >= 0 and self.combo.currentIndex() != index:
            self.combo.setCurrentIndex(index)
