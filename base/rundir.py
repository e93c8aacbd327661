"""The one owner of a run directory's layout; it imports no TensorFlow, so any viewer can use it.

```
<run>/config.json     every setting, written before the first step
<run>/log.csv         one row per epoch        <run>/train.log   the log
<run>/samples/        epoch_NNN.png grids      <run>/mixing_matrix.png, metrics.json
<run>/checkpoints/    <role>_<tag>.h5 per network and state_<tag>.npz
```

A checkpoint's tag is ``epoch_NNN`` at an epoch's end and
``epoch_NNN_step_SSSSSS`` S steps into epoch NNN (``--checkpoint-every``).
The state file is written last, once every network file and the folder are
on disk (fsynced): a checkpoint is complete when it exists. Files being
written carry a ``.<name>.partial.<pid>.<ext>`` name until renamed; network
files without their state file are an incomplete checkpoint's orphans.
A checkpoint that does not load is moved to ``checkpoints/damaged/``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from base.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path.home() / ".cache" / "artgan"  # decoded images and the judge classifiers
STATE_PATTERN = re.compile(r"state_epoch_(\d+)(?:_step_(\d+))?\.npz$")
NETWORK_PATTERN = re.compile(r"(.+?)_(epoch_\d+(?:_step_\d+)?)\.h5$")  # <role>_<tag>.h5
DAMAGED = "damaged"  # the folder, inside checkpoints/, of checkpoints that did not load
RAW_PREFIX, AVERAGED_PREFIX = "generator_", "generator_ema_"


@dataclass(frozen=True, order=True)
class Position:
    """Where training stands: ``epochs`` complete, plus ``step`` batches of the next one."""

    epochs: int
    step: int = 0

    @property
    def tag(self) -> str:
        if self.step == 0:
            return f"epoch_{self.epochs:03d}"
        return f"epoch_{self.epochs + 1:03d}_step_{self.step:06d}"

    def __str__(self) -> str:
        if self.step == 0:
            return f"the end of epoch {self.epochs}"
        return f"step {self.step} of epoch {self.epochs + 1}"


def as_position(position: Position | int) -> Position:
    return position if isinstance(position, Position) else Position(position)


def position_of(state_file_name: str) -> Position | None:
    match = STATE_PATTERN.match(state_file_name)
    if not match:
        return None
    epoch, step = int(match.group(1)), int(match.group(2) or 0)
    return Position(epoch - 1, step) if step else Position(epoch)


def network_path(checkpoint_dir, role: str, position: Position | int) -> Path:
    return Path(checkpoint_dir) / f"{role}_{as_position(position).tag}.h5"


def state_path(checkpoint_dir, position: Position | int) -> Path:
    return Path(checkpoint_dir) / f"state_{as_position(position).tag}.npz"


def partial_path(final: Path) -> Path:
    """The name a file has while it is written: hidden, never mistaken for a complete one, and the writer's
    own, so two processes filling one cache (two runs, or tests side by side) never write into one file."""
    return final.with_name(f".{final.stem}.partial.{os.getpid()}{final.suffix}")


def complete_checkpoints(checkpoint_dir) -> list[Position]:
    """Positions whose checkpoint is complete (state file present), oldest first."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return []
    return sorted(p for p in map(position_of, os.listdir(checkpoint_dir)) if p is not None)


def remove_checkpoint(checkpoint_dir, position: Position, roles) -> None:
    """State file first, so a half-removed checkpoint never looks complete."""
    state_path(checkpoint_dir, position).unlink(missing_ok=True)
    for role in roles:
        network_path(checkpoint_dir, role, position).unlink(missing_ok=True)


def prune_checkpoints(checkpoint_dir, roles, keep: int | None) -> None:
    """Drop mid-epoch checkpoints older than the newest epoch end, then all but the newest ``keep``."""
    positions = complete_checkpoints(checkpoint_dir)
    epoch_ends = [p for p in positions if p.step == 0]
    stale = [p for p in positions if p.step and epoch_ends and p < epoch_ends[-1]]
    current = [p for p in positions if p not in stale]
    if keep:
        stale += current[:-keep]
    for position in stale:
        remove_checkpoint(checkpoint_dir, position, roles)


def remove_partial_files(checkpoint_dir) -> list[Path]:
    """Temporary files left by a kill mid-write are never complete: delete them (and say which)."""
    checkpoint_dir = Path(checkpoint_dir)
    removed = sorted(checkpoint_dir.glob(".*.partial.*")) if checkpoint_dir.is_dir() else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def orphans(checkpoint_dir) -> list[Path]:
    """Network files whose checkpoint has no state file: what a save that failed or was killed left."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return []
    found = []
    for name in sorted(os.listdir(checkpoint_dir)):
        match = NETWORK_PATTERN.match(name)
        if match and not (checkpoint_dir / f"state_{match.group(2)}.npz").exists():
            found.append(checkpoint_dir / name)
    return found


def remove_incomplete(checkpoint_dir) -> list[Path]:
    """Partial files and orphans: space that no checkpoint will ever use. Returns what was removed."""
    removed = orphans(checkpoint_dir)
    for path in removed:
        path.unlink(missing_ok=True)
    return remove_partial_files(checkpoint_dir) + removed


def checkpoint_files(checkpoint_dir, position: Position) -> list[Path]:
    """Every file of the checkpoint at ``position``: its state file and its networks, whatever their roles."""
    checkpoint_dir, tag = Path(checkpoint_dir), as_position(position).tag
    names = os.listdir(checkpoint_dir) if checkpoint_dir.is_dir() else []
    return [checkpoint_dir / name for name in sorted(names)
            if name == f"state_{tag}.npz" or ((m := NETWORK_PATTERN.match(name)) and m.group(2) == tag)]  # fmt: skip


def move_aside(checkpoint_dir, position: Position) -> Path:
    """A checkpoint that does not load goes to ``checkpoints/damaged/``: out of the way, kept for a look."""
    folder = Path(checkpoint_dir) / DAMAGED
    folder.mkdir(exist_ok=True)
    files = checkpoint_files(checkpoint_dir, position)
    state = [path for path in files if path.suffix == ".npz"]
    for path in state + [path for path in files if path.suffix != ".npz"]:  # state first: never looks complete
        os.replace(path, folder / path.name)
    return folder


def fsync_file(path) -> None:
    """A written file's bytes on disk (a folder's too: a rename is durable only once its directory is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunDirectory:
    """The on-disk layout of a run; notebooks, sample.py and evaluate.py start from here alone."""

    def __init__(self, root):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.log_csv = self.root / "log.csv"
        self.train_log = self.root / "train.log"
        self.samples = self.root / "samples"
        self.checkpoints = self.root / "checkpoints"
        self.mixing_matrix = self.root / "mixing_matrix.png"
        self.metrics = self.root / "metrics.json"

    @classmethod
    def holding(cls, checkpoint) -> RunDirectory | None:
        """The run whose ``checkpoints/`` folder holds ``checkpoint``, when it has a config.json."""
        path = Path(checkpoint).resolve()
        run = cls(path.parent.parent)
        return run if path.parent == run.checkpoints and run.config.is_file() else None

    def read_config(self) -> dict:
        return json.loads(self.config.read_text())

    def write_config(self, config: dict) -> None:
        tmp = self.config.with_name("config.json.tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.config)

    def latest_generator(self, raw: bool = False) -> Path:
        """The generator .h5 of the last complete checkpoint: its weight average unless ``raw``."""
        positions = complete_checkpoints(self.checkpoints)
        if not positions:
            raise UserError(f"{self.checkpoints} holds no complete checkpoint yet")
        return choose_generator(network_path(self.checkpoints, "generator", positions[-1]), raw)


def default_out(script: str, dataset: str) -> str:
    return str(Path("runs") / f"{script}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}")


def run_config(checkpoint) -> dict | None:
    """The config.json of the run that holds ``checkpoint`` (in ``<run>/checkpoints/``), else None."""
    run = RunDirectory.holding(checkpoint)
    if run is None:
        return None
    try:
        return run.read_config()
    except (OSError, ValueError) as error:
        log.warning("ignoring %s, which cannot be read (%s)", run.config, error)
        return None


def metrics_path(checkpoint) -> Path:
    """Where an evaluation of ``checkpoint`` is written: its run's metrics.json, else beside the file."""
    run = RunDirectory.holding(checkpoint)
    return run.metrics if run is not None else Path(checkpoint).with_name("metrics.json")


def averaged_twin(path) -> Path | None:
    """``generator_ema_<tag>.h5`` beside a ``generator_<tag>.h5`` checkpoint, when the run saved one."""
    path = Path(path)
    if not path.name.startswith(RAW_PREFIX) or path.name.startswith(AVERAGED_PREFIX):
        return None
    twin = path.with_name(AVERAGED_PREFIX + path.name[len(RAW_PREFIX) :])
    return twin if twin.is_file() else None


def choose_generator(path, raw: bool = False) -> Path:
    """The weight-averaged twin of a generator checkpoint when there is one (unless ``raw``), else the file itself.

    The average of the generator's weights draws cleaner samples than the
    weights of its last step, so viewers show it by default and say so.
    """
    twin = None if raw else averaged_twin(path)
    if twin is not None:
        log.info("using the weight-averaged generator %s (--raw-generator: %s)", twin.name, Path(path).name)
        return twin
    return Path(path)


def newest_run(runs_dir="runs") -> Path:
    """The run directory under ``runs_dir`` written to last: the one a user has just trained."""
    runs = [config.parent for config in Path(runs_dir).glob("*/config.json")]
    if not runs:
        raise UserError(f"no run directories (folders with a config.json) under {runs_dir}; train one first")

    def last_write(run: Path) -> float:
        return max(path.stat().st_mtime for path in (run / "config.json", run / "log.csv") if path.exists())

    return max(runs, key=last_write)


def latest_generator(run_dir, raw: bool = False) -> Path:
    return RunDirectory(run_dir).latest_generator(raw)
