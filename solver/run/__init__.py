"""Running a session: the engine (``engine.Run``), its history, the fast paths and their
TorchScript chunks, the starting point, the finished run's results and the optimizer race."""
