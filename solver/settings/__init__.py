"""What a session chooses besides its problem: the optimizers and their hyperparameters'
rules, the devices (CPU, CUDA) and the precisions. Described without torch; torch loads only
when an optimizer or a device is built."""
