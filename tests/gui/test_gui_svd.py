"""The svd views in the window: the singular values against the reference, the
orthogonality errors, and U and V heat maps signed like the reference."""

from __future__ import annotations

import numpy as np
import pytest
import test_gui

from gui.views.svdplots import signed_like

# The window fixtures of the main GUI tests, shared rather than written twice.
LONG = test_gui.LONG


def drawn(c: object) -> tuple[np.ndarray, np.ndarray]:
    """A curve's data as given (a log axis shows the logarithms)."""
    x, y = c.getOriginalDataset()
    return (np.zeros(0), np.zeros(0)) if x is None else (x, y)


def test_signed_like_undoes_a_permutation_and_sign_flips() -> None:
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    v, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    d = np.array([3.0, 2.0, 1.0])
    order, signs = [2, 0, 1], np.array([-1.0, 1.0, -1.0])
    u2, d2, v2 = u[:, order] * signs, d[order], v[:, order] * signs
    su, s, sv = signed_like(u2, d2, v2, u)
    np.testing.assert_allclose(su, u)
    np.testing.assert_allclose(sv, v)
    np.testing.assert_allclose(s, d * d)
    # the product U diag(d²) Vᵀ is unchanged by the sorting and the flips
    np.testing.assert_allclose((su * s) @ sv.T, (u2 * d2**2) @ v2.T)


def test_an_svd_run_shows_its_own_tabs_and_they_fill(qtbot, window) -> None:
    assert window.editor.load_preset("svd-tall")
    window.editor.load_session(window.model.session.replace(max_iters=3000))
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    plots, svd = window.plots, window.plots.svd
    qtbot.waitUntil(
        lambda: (
            svd.active
            and svd.sv_curves[0].getData()[0] is not None
            and len(svd.sv_curves[0].getData()[0]) > 1
        ),
        timeout=LONG,
    )
    tabs = plots.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    enabled = {t: tabs.isTabEnabled(i) for i, t in enumerate(titles)}
    assert enabled["Singular values"] and enabled["V heat map"]
    assert not enabled["x vs exact"] and not enabled["X heat map"]
    assert tabs.tabText(tabs.currentIndex()) == "Singular values"

    # the last drawn error of each singular value is the run's distance to the reference
    rec = window.model.selected
    problem = rec.session.problem
    final = problem.singular_values(rec.status.x.reshape(1, -1))[0]
    ref = problem.reference_singular_values()
    for k, c in enumerate(svd.sv_curves):
        assert drawn(c)[1][-1] == pytest.approx(abs(final[k] - ref[k]), rel=1e-6, abs=1e-12)
    ou, ov = problem.orthogonality_errors(rec.status.x.reshape(1, -1))
    tabs.setCurrentIndex(titles.index("Orthogonality"))  # a background tab catches up when shown
    qtbot.waitUntil(lambda: len(drawn(svd.ortho_u)[0]) > 1, timeout=LONG)
    assert drawn(svd.ortho_u)[1][-1] == pytest.approx(ou)
    assert drawn(svd.ortho_v)[1][-1] == pytest.approx(ov)

    tabs.setCurrentIndex(titles.index("U heat map"))
    qtbot.waitUntil(lambda: svd.heat_u.image is not None, timeout=LONG)
    u_ref = problem.split(problem.exact())[0][0]
    np.testing.assert_allclose(svd.heat_u.image, u_ref, atol=1e-3)  # converged, signed alike
    legend = plots.plot("error").widget.getPlotItem().legend
    assert "singular values" in legend.getLabel(plots.plot("error").err_curve).text

    # back on a linear system: the svd tabs are off again, the x tab is back
    assert window.editor.load_preset("seed-3x3")
    with qtbot.waitSignal(window.model.run_finished, timeout=LONG):
        assert window.live.start()
    qtbot.waitUntil(lambda: not svd.active, timeout=LONG)
    assert tabs.isTabEnabled(titles.index("x vs exact"))
    assert not tabs.isTabEnabled(titles.index("Singular values"))


def test_the_series_svd_preset_reaches_svdvals_to_four_decimals_in_the_window(qtbot, window):
    import torch

    assert window.editor.load_preset("seed-svd-momentum")
    with qtbot.waitSignal(window.model.run_finished, timeout=120_000) as sig:
        assert window.live.start()
    assert sig.args[1] == "max_iters"
    rec = window.model.selected
    problem = rec.session.problem
    got = problem.singular_values(rec.status.x.reshape(1, -1))[0]
    ref = torch.linalg.svdvals(torch.tensor(np.asarray(problem.M))).numpy()
    np.testing.assert_allclose(got, ref, atol=5e-5)
