"""Where the benches find the real datasets: ``$ARTGAN_DATA``, else ``../shared/data`` beside the project.

The folder holds one folder per dataset (``mnist/``, ``cifar10/``,
``wikiart/``, ``wikiart-8k/``), each as ``--data-dir`` takes it.
"""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "ARTGAN_DATA"
BESIDE_THE_PROJECT = Path(__file__).resolve().parents[2] / "shared" / "data"


def data_root() -> Path:
    """``$ARTGAN_DATA`` when set, else ``../shared/data`` beside the project."""
    return Path(os.environ.get(VARIABLE) or BESIDE_THE_PROJECT)
