"""The relay that carries a plain thread's result to the GUI thread (``gui.relay.Relay``): the
slot runs there, in the order posted, and never on an object Qt has already deleted."""

from __future__ import annotations

import threading

import shiboken6
from PySide6 import QtCore

from gui.relay import Relay


class _Receiver(QtCore.QObject):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[object, ...]] = []
        self.threads: set[threading.Thread] = set()

    def take(self, *args: object) -> None:
        self.calls.append(args)
        self.threads.add(threading.current_thread())


def _post_from_a_thread(relay: Relay, *posts: tuple[object, ...]) -> None:
    t = threading.Thread(target=lambda: [relay.post(*p) for p in posts])
    t.start()
    t.join()


def test_what_a_thread_posts_arrives_on_the_gui_thread_in_order(qtbot) -> None:
    receiver = _Receiver()
    relay = Relay(receiver.take)
    _post_from_a_thread(relay, *[(i, f"result {i}") for i in range(20)])
    assert receiver.calls == []  # queued: nothing runs on the posting thread
    qtbot.waitUntil(lambda: len(receiver.calls) == 20)
    assert receiver.calls == [(i, f"result {i}") for i in range(20)]
    assert receiver.threads == {threading.main_thread()}


def test_a_post_on_the_gui_thread_is_delivered_at_once(qtbot) -> None:
    got: list[object] = []
    Relay(got.append).post("now")
    assert got == ["now"]


def test_nothing_reaches_an_object_qt_has_deleted(qtbot) -> None:
    """A window closed while its file was being read: the read's result is dropped."""
    receiver, alive = _Receiver(), _Receiver()
    relay, other = Relay(receiver.take), Relay(alive.take)
    _post_from_a_thread(relay, ("late",))
    _post_from_a_thread(other, ("after",))
    shiboken6.delete(receiver)
    qtbot.waitUntil(lambda: alive.calls == [("after",)])  # queued after the first post
    assert receiver.calls == []
