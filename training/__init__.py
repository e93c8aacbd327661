"""Running an experiment: shared CLI flags, the run directory, checkpoints and callbacks."""
