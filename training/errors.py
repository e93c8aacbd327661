"""Errors that end a run with one clear line (the CLIs catch them; no traceback)."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; raised before any checkpoint could store the bad weights."""
