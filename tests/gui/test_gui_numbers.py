"""Numbers typed or pasted into a table keep their value: thousands separators are read as
the locale means them, and an ambiguous one is refused, never silently scaled by 1000."""

from __future__ import annotations

import numpy as np
import pytest
import test_gui

from gui.views.cells import parse_block, parse_number
from gui.views.tables import ArrayModel


@pytest.mark.parametrize(
    ("text", "point", "value"),
    [
        ("1,000", ".", 1000.0),
        ("2,500", ".", 2500.0),
        ("-1,000,000.5", ".", -1000000.5),
        ("1,5", ".", 1.5),  # cannot be a thousands separator: a decimal comma
        ("0,25", ".", 0.25),
        ("1e3", ".", 1000.0),
        ("12,34,5", ".", None),
        ("1,000", ",", 1.0),  # where a comma is the decimal mark, that is one
        ("1.000,5", ",", 1000.5),
        ("1 000,5", ",", 1000.5),
        ("1.000", ",", None),  # 1 or 1000? refused
        ("0.125", ",", 0.125),
        ("1.5", ",", 1.5),
    ],
)
def test_parse_number_reads_separators_as_the_locale_means_them(text, point, value) -> None:
    assert parse_number(text, point) == value


def test_a_pasted_block_with_thousands_separators_keeps_its_values(qapp) -> None:
    # The tests run in the C locale: a decimal point, so "2,500" is two thousand five hundred.
    model = ArrayModel("A")
    model.set_array(np.zeros((1, 2)))
    model.paste(0, 0, "2,500\t1,250")
    np.testing.assert_array_equal(model.array(), [[2500.0, 1250.0]])


@pytest.mark.parametrize(
    ("text", "value"), [("1,000", 1000.0), ("12,345.67", 12345.67), ("-2,500", -2500.0)]
)
def test_a_number_pasted_into_one_cell_is_that_number_as_typed(window, text, value) -> None:
    # "1,000" pasted into A[1, 1] wrote 1 there and 0 into A[1, 2]; typed, it was 1000.
    view = window.matrix.view("A")
    model = window.matrix.model_of("A")
    before = model.array()
    test_gui.put_cursor(view, 0, 0)
    assert view.paste_text(text)
    pasted = model.array()
    assert model.setData(model.index(0, 0), text)  # the same text typed into the same cell
    np.testing.assert_array_equal(pasted, model.array())
    assert pasted[0, 0] == value
    np.testing.assert_array_equal(pasted[:, 1:], before[:, 1:])  # no neighbour written
    assert window.model.session.problem.A[0, 0] == value


def test_blocks_and_rows_still_paste_cell_by_cell(window) -> None:
    view = window.matrix.view("A")
    model = window.matrix.model_of("A")
    test_gui.put_cursor(view, 0, 0)
    assert view.paste_text("1,000\t2\n3\t-4,500.5\n")  # a spreadsheet's 2×2 block
    np.testing.assert_array_equal(model.array()[:2, :2], [[1000.0, 2.0], [3.0, -4500.5]])
    test_gui.put_cursor(view, 2, 0)
    assert view.paste_text("1, 2, 3")
    np.testing.assert_array_equal(model.array()[2], [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("text", "point", "rows"),
    [
        ("1,000", ".", [["1,000"]]),
        ("1, 2, 3", ".", [["1", "2", "3"]]),
        ("1,000\n2,500\n", ".", [["1,000"], ["2,500"]]),  # a column of grouped numbers
        ("1,2\n3,4", ".", [["1", "2"], ["3", "4"]]),  # comma-separated values, not 1.2
        ("1,2\n3,4", ",", [["1,2"], ["3,4"]]),  # where a comma is the decimal mark
        ("1.000,5", ",", [["1.000,5"]]),
        ("1 2", ".", [["1", "2"]]),
        ("1;2", ",", [["1", "2"]]),
    ],
)
def test_pasted_text_separates_between_numbers_never_inside_one(text, point, rows) -> None:
    assert parse_block(text, point) == rows


def test_betas_of_the_wrong_length_typed_into_the_panel_are_refused(qtbot, make_window):
    w = make_window()
    assert w.editor.change({"optimizer": "adam", "optimizer_args": {}})
    before = w.model.session
    field = w.hyper.arg_field("betas")
    refused = []
    w.model.refused.connect(lambda title, text: refused.append(text))
    field.setText("0.9")
    field.editingFinished.emit()
    qtbot.waitUntil(lambda: bool(refused))
    assert "optimizer.betas" in refused[0]
    assert w.model.session is before  # nothing changed
    assert field.text() == "0.9, 0.999"  # the panel shows the session again


def test_log_axes_label_only_one_two_and_five_of_each_decade(qtbot):
    # 2 to 9 all labelled overlapped near the top of a decade on a loss spanning 1.5 decades
    from gui.views.plotkit import FastAxis

    axis = FastAxis("left")
    axis.setLogMode(False, True)
    values = list(np.log10([100.0, 200.0, 300.0, 500.0, 800.0, 900.0, 1000.0]))
    assert axis.logTickStrings(values, 1, 1) == ["10²", "2·10²", "", "5·10²", "", "", "10³"]


def test_numbers_are_written_one_way_and_a_readout_names_a_divergence() -> None:
    """The panels' and the read-outs' numbers come from one rule (``gui.views.texts``): a
    panel shows a missing or non-finite value as a dash, a read-out at a diverged point
    says inf or nan."""
    from gui.views import readouts, texts

    assert texts.fmt(1 / 3) == "0.3333" and texts.fmt(1 / 3, 6) == "0.333333"
    assert texts.fmt(None) == texts.fmt(float("inf")) == texts.fmt(float("nan")) == "—"
    assert readouts.fmt(1 / 3) == "0.333333"
    assert readouts.fmt(float("inf")) == "inf" and readouts.fmt(float("-inf")) == "-inf"
    assert readouts.fmt(float("nan")) == "nan"


@pytest.mark.parametrize(("typed", "lr"), [("0,05", 0.05), ("0.05", 0.05), ("5e-2", 0.05)])
def test_a_step_size_typed_as_the_locale_writes_it_is_taken(window, typed, lr) -> None:
    """The Solver panel's fields read numbers as the tables do (``solver.core.numbers``): a
    decimal comma is one, where it cannot be a thousands separator."""
    window.hyper.lr.setText(typed)
    window.hyper.lr.setModified(True)
    window.hyper.lr.editingFinished.emit()
    assert window.model.session.lr == lr, window.model.last_error
