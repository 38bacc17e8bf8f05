"""What the window explains about a problem and a run: the analysis (step-size limits,
conditioning, rates), its cache on disk, the error by direction, the gradient's anatomy and
the explanation in words. Reads problems and losses; never runs the optimizer."""
