"""The Examples menu and the "Published vs this run" dock, driven through the window."""

from __future__ import annotations

import test_gui

from solver.sessions.examples import EXAMPLES
from solver.sessions.published import NO_NUMBER

# The window fixtures of the main GUI tests, shared rather than written twice.
LONG = test_gui.LONG


def example_action(w: object, key: str) -> object:
    return next(a for a in w.examples.menu.actions() if a.data() == key)


def test_the_examples_menu_lists_every_example_with_its_source(window) -> None:
    actions = {a.data(): a for a in window.examples.menu.actions()}
    assert set(actions) == set(EXAMPLES)
    for key, a in actions.items():
        assert EXAMPLES[key].source.text() in a.toolTip()
        assert EXAMPLES[key].source.text() in a.statusTip()
    assert window.examples.menu in [
        a.menu() for a in window.menuBar().actions() if a.menu() is not None
    ]


def test_inverse_random_from_the_menu_matches_the_published_out_7(qtbot, window) -> None:
    example_action(window, "seed-inverse-random").trigger()
    assert window.model.session_label == "seed-inverse-random.json"
    dock = window.examples
    # Before the run: the source and the published number, nothing to compare yet. The
    # dock comes to the front and fills in as the event loop shows it.
    qtbot.waitUntil(lambda: "Out[7]" in dock.heading.text(), timeout=LONG)
    assert [row[2] for row in dock.cells()] == ["—"]
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    qtbot.waitUntil(lambda: [row[4] for row in dock.cells()] == ["match"], timeout=LONG)
    (row,) = dock.cells()
    assert row[0].startswith("X·M") and "1.0000" in row[1] and "1.0000" in row[2]
    assert abs(float(row[3])) < 5e-5
    assert window.model.selected.status.iteration == 10000


def test_an_example_without_numbers_says_its_source_prints_none(qtbot, window) -> None:
    example_action(window, "seed-3x3").trigger()
    dock = window.examples
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    qtbot.waitUntil(lambda: NO_NUMBER in dock.note.text(), timeout=LONG)
    assert dock.cells() == [] and "article on solving linear systems" in dock.heading.text()


def test_an_edited_example_is_no_longer_one(qtbot, window) -> None:
    example_action(window, "seed-polyfit").trigger()
    qtbot.waitUntil(lambda: window.examples.cells() != [], timeout=LONG)
    assert window.examples.cells()[0][1] == "8.25"
    window.editor.change({"lr": 0.02})
    assert "changed the example's optimizer" in window.examples.note.text()  # at once, on show
    s = window.model.session
    window.editor.change({"degree": 1})
    assert window.model.session is not s
    assert "not one of the shipped examples" in window.examples.note.text()
    assert window.examples.cells() == []


def test_the_panel_behind_another_tab_catches_up_when_brought_forward(qtbot, window) -> None:
    window.editor.load_preset("seed-polyfit")
    window.dock_devices.raise_()  # the Examples dock goes behind the Device tab
    window.editor.change({"degree": 1})
    window.dock_examples.raise_()
    qtbot.waitUntil(
        lambda: "not one of the shipped examples" in window.examples.note.text(), timeout=LONG
    )
