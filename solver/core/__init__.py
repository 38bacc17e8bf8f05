"""The floor every other room stands on: the errors every refusal raises, the number parser,
the size limits, atomic writes, content digests, the guard on user files, the resources'
folder and the thread policy of torch's and the BLAS libraries' pools. Nothing here imports
another room of ``solver``."""
