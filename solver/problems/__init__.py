"""What is solved: the linear problems (``linear``: A x = b, the inverse, the polynomial fit,
the SVD's problem in ``svd``), the registry of problem kinds (``kinds``: what each kind
allows and which views apply), the losses (``losses``: one record per loss), the seed
problems and the divergence rule."""
