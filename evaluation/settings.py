"""Default budgets, in a module free of TensorFlow so that CLIs can show them in --help cheaply."""

DEFAULT_SAMPLES = 1000  # generated images per evaluation (capped at half the real images)

JUDGE_MAX_SAMPLES = 10_000  # the judge's figures: precision/recall hold an n x n distance matrix (800 MB at 10,000)
