"""Default budgets, in a module free of TensorFlow so that CLIs can show them in --help cheaply."""

DEFAULT_SAMPLES = 1000  # generated images per evaluation (capped at half the real images)
DEFAULT_CLASSIFIER_EPOCHS = 10  # 98.9% held-out on the 10,000 t10k MNIST images, about a minute on 2 CPU cores
JUDGE_MAX_SAMPLES = 10_000  # the judge's figures: precision/recall hold an n x n distance matrix (800 MB at 10,000)
