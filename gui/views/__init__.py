"""The window's views: docks and plots. Each subscribes to ``gui.model.AppModel`` and saves
and restores its own state; none imports the worker or another view's internals."""
