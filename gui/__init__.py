"""Descent Lab's window (PySide6 + pyqtgraph) on top of the Qt-free ``solver`` package.

Rooms, top to bottom (arrows point down; pyproject's import contracts check them):

* ``app``          start-up: the application, the first paint, quitting
* ``mainwindow``   docks, toolbar, status bar and the wiring between them
* ``menus``        every action and menu, and which of them can act now
* ``layout``       window geometry and dock layout: saved, fitted to the screen, reset
* ``drops``        files dragged onto the window
* ``live``         run controls (a Run pressed while loading is queued), the worker's thread
* ``frames``       the frame scheduler: the redraws' pace, the paint guard
* ``loader``       start-up imports on one thread: the solver first, then pyqtgraph
* ``files``        the dialogs behind File, Presets, Examples and Open recent; drops
* ``undo``         undo/redo over the immutable sessions; the modified marker
* ``worker``       ``SolverWorker`` on its QThread: owns every ``solver.Run``, one command queue
* ``gil``          how the live run and the frames share the GIL and the cores
* ``editing``      a user's edit becomes a new session or a refusal
* ``opening``      session files, presets and matrix files into the session; large ones are
                   read and built on a plain thread while the window goes on
* ``analysis``     keeps the analysis of the current problem up to date, off the GUI thread
* ``persistence``  QSettings, when to autosave and the restore, files the user writes
* ``autosave``     the autosave's files: every array it needs, content-named, shared by every
                   window on the data folder under a lock; what no autosave names is removed
* ``model``        ``AppModel``: session, runs (``RunRecord``), selection, inspected iteration
* ``records``      a run as the window keeps it: ``RunStatus``, ``HistoryView``, ``RunRecord``
* ``views/``       docks and plots; each subscribes to the model and keeps its own state;
                   ``views/texts`` writes their numbers
* ``process``      process-wide settings: before the window (``configure_process``) and once
                   the solver and plots are in (``settle_process``)

Nothing on the start-up path (``app``, ``mainwindow`` and what it imports at module level)
imports torch or pyqtgraph: the window paints first, then loads them.

Programmatic use (tests, the self-test, benchmarks)::

    win = MainWindow(settings=QSettings(path, QSettings.IniFormat), data_dir=tmp, dialogs=False)
    # built synchronously: win.model.ready is True and win.model.session holds the 3x3 example
    win.editor.load_session("examples/seed-3x3.json")   # or a solver Session, or
    win.editor.load_preset("seed-inverse-random")       # -> bool; False: refused, unchanged
    # a large file or heavy preset returns True at once and loads on a thread: wait on
    # ``not win.editor.loading`` (``then=`` gets whether it was applied)
    win.live.start()             # a new run of the session (True if started)
    win.live.run_or_resume()     # F5
    win.live.pause(); win.live.resume(); win.live.step(n); win.live.stop(); win.live.reset()
    win.toolbar.set_speed(10)    # iterations per second; None: as fast as possible

Read state from the model: ``session``, ``state`` ("idle" | "starting" | "running" |
"paused"), ``runs`` and ``selected`` (``RunRecord``: ``status`` snapshot, read-only
``history``), ``analysis``, ``last_error``; its signals (``run_finished(id, reason, message)``,
``refused(title, text)``, ...) say when they change. ``win.shutdown()`` (also on close) hides
the window, autosaves in the background (``win.persistence.flush()`` waits for it) and stops
the worker thread (waiting a second at most); a thread that could not stop (inside one native
call) is left running, and ``gui.app.threads_left(win)`` names it: the app then ends with
``os._exit``, never destroying a running QThread.

``gui.app.run_app(args)`` runs the application; with ``args.self_test`` it calls
``gui.selftest.run_self_test(app) -> int`` and returns that exit status.
"""

import builtins

# Python's own ``__import__``, taken before PySide6 is imported: shiboken replaces it with a
# hook that reads the source of every module imported after it (``gui.loader``).
PYTHON_IMPORT = builtins.__import__
