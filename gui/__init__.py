"""Descent Lab's window (PySide6 + pyqtgraph) on top of the Qt-free ``solver`` package.

Nothing here imports torch or the solver at module level on the start-up path (``app``,
``mainwindow``, ``panels``, ``tablemodel``, ``worker``): the window paints first, then loads
them. ``plots`` (pyqtgraph) is imported after the first paint.

Programmatic use (tests, the self-test)::

    from gui.app import configure_application
    from gui.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(path, QSettings.IniFormat), data_dir=tmp, dialogs=False)
    # built synchronously: win.is_ready is True and win.session holds the 3x3 example
    win.load_session("examples/seed-3x3.json")   # or a solver Session, or
    win.load_preset("seed-inverse-random")       # -> bool; False: refused, nothing changed
    win.start_run()              # a new run of win.session (True if started)
    win.run_or_resume()          # F5
    win.pause(); win.resume(); win.step(n); win.stop(); win.reset()
    win.set_speed(10)            # iterations per second; None: as fast as possible

Signals: ``ready()``, ``state_changed(str)`` ("idle" | "running" | "paused"),
``run_finished(reason, message)`` (the engine's StopReason value and ``Run.message``),
``error_shown(text)`` (every refusal or failure; also in ``win.last_error``).
Read-only state: ``win.session`` (last valid Session), ``win.run`` (the current
``solver.Run``: read ``history``, ``iteration``, ``message``, and ``result()`` once
finished; never drive it), ``win.state``, ``win.analysis``, ``win.worker`` (``SolverWorker``;
``worker.idle_event`` is set whenever no update is under way).
``win.shutdown()`` (also on close) stops the worker thread within a second and autosaves.

``gui.app.run_app(args)`` runs the application; with ``args.self_test`` it calls
``gui.selftest.run_self_test(app) -> int`` and returns that exit status.
"""
