"""The matrix A itself: reading it from files (text, CSV, Matrix Market, ``.npz``), its
sparse form and the limits on it, its products (``kernels``: the faster of numpy's and
torch's mat-vecs) and its spectrum."""
