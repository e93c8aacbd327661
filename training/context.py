"""One run as it stands when ``fit`` starts: what the runner hands its recipe's hooks, frozen.

The runner fills it once the trainer is compiled and its checkpoint (if any)
restored; ``Recipe.callbacks``, ``Recipe.fit_options`` and ``Recipe.finish``
read everything from it, so a hook that needs one more fact of the run finds
it here rather than in one more parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from base.rundir import Position, RunDirectory
    from data import Splits
    from training.settings import DataRecord, Settings


@dataclass(frozen=True)
class RunContext:
    settings: Settings  # resolved once, never changed
    run_dir: RunDirectory  # where the run's files go (only the chief writes them)
    splits: Splits  # the images the trainer fits on (``train``) and validates or is measured with (``validation``)
    record: DataRecord  # what the training data held: shape, classes, steps per epoch, epochs
    position: Position  # where training starts: the restored checkpoint of a resumed run, else Position(0)
    chief: bool  # this worker writes the run directory (always, but on a multi-worker run's other workers)


__all__ = ["RunContext"]
