"""The Device dock: the CPU and every CUDA / MPS device, with name and memory; devices that
are not usable are listed, disabled, with the reason."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

Qt = QtCore.Qt


class DevicePanel(QtWidgets.QWidget):
    """CPU and every CUDA / MPS device, with name and memory; absent ones disabled, with why."""

    chosen = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("devices")
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.addItem("Looking for devices…")
        # currentItemChanged alone: itemClicked as well would apply one click twice.
        self.list.currentItemChanged.connect(lambda cur, _prev: self._on_item(cur))
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.list)
        self._loading = False

    def bind(self, model: object) -> None:
        """Show the device of the model's session, from now on."""
        model.session_changed.connect(lambda s, _note, _refill: self.select(s.device))
        model.session_reverted.connect(lambda s: self.select(s.device))

    def set_devices(self, devices: Sequence[object]) -> None:
        self._loading = True
        try:
            self.list.clear()
            for d in devices:
                mem = f" · {d.memory_bytes / 2**30:.1f} GiB" if d.memory_bytes else ""
                text = f"{d.id} — {d.name}{mem}"
                if not d.available:
                    text += f"\nunavailable: {d.reason}"
                item = QtWidgets.QListWidgetItem(text)
                item.setData(Qt.UserRole, d.id)
                item.setToolTip(d.label)
                if not d.available:
                    item.setFlags(item.flags() & ~Qt.ItemIsEnabled & ~Qt.ItemIsSelectable)
                self.list.addItem(item)
        finally:
            self._loading = False

    def select(self, device_id: str) -> None:
        self._loading = True
        try:
            for i in range(self.list.count()):
                item = self.list.item(i)
                dev = item.data(Qt.UserRole)
                if dev == device_id or (dev == "cuda:0" and device_id == "cuda"):
                    self.list.setCurrentItem(item)
                    break
        finally:
            self._loading = False

    def items(self) -> list[tuple[str, str, bool]]:
        """(device id, text, enabled) for each row, as the user sees them."""
        out = []
        for i in range(self.list.count()):
            it = self.list.item(i)
            out.append((it.data(Qt.UserRole), it.text(), bool(it.flags() & Qt.ItemIsEnabled)))
        return out

    def _on_item(self, item: QtWidgets.QListWidgetItem | None) -> None:
        if self._loading or item is None or not item.flags() & Qt.ItemIsEnabled:
            return
        dev = item.data(Qt.UserRole)
        if dev:
            self.chosen.emit(dev)
