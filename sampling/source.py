"""Where samples come from: a generator checkpoint (.h5) and the class names of its run.

A checkpoint file is all a user needs; when it sits in ``<run>/checkpoints/``
the run's ``config.json`` adds the class names and the seed of the run's
fixed sample noise.
"""

from __future__ import annotations

import logging
from pathlib import Path

from data.errors import DataError

log = logging.getLogger(__name__)

GENERATOR_INPUTS = ("z", "condition")
RAW_PREFIX, AVERAGED_PREFIX = "generator_", "generator_ema_"


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


def load_generator(path):
    """The generator in a .h5 file, checked to be one: inputs named z and condition, one image out."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such checkpoint file: {path}")
    from training.checkpoints import load_network  # Keras loads here, after the caller's flags are checked

    try:
        model = load_network(path)
    except Exception as error:  # h5py and Keras raise many types for a file that is not a model
        reason = str(error).strip().split(". ")[0].splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise DataError(f"{path} is not a Keras .h5 model ({reason})") from None
    names = tuple(tensor.name for tensor in model.inputs)
    if names != GENERATOR_INPUTS or len(model.outputs) != 1:
        raise DataError(
            f"{path} is not a generator: it takes {len(names)} input(s) ({', '.join(names)}) and gives "
            f"{len(model.outputs)} output(s); a generator takes z and condition and gives an image "
            "(use a generator_epoch_NNN.h5 file)"
        )
    return model


def generator_sizes(generator) -> tuple[int, int]:
    """``(latent_dim, num_classes)`` read from the generator's input shapes."""
    return int(generator.inputs[0].shape[-1]), int(generator.inputs[1].shape[-1])


def run_config(checkpoint) -> dict | None:
    """The config.json of the run that holds ``checkpoint`` (in ``<run>/checkpoints/``), else None."""
    from training.experiment import RunDirectory  # the one owner of the run layout (imports Keras)

    path = Path(checkpoint).resolve()
    run = RunDirectory(path.parent.parent)
    if path.parent != run.checkpoints or not run.config.is_file():
        return None
    try:
        return run.read_config()
    except (OSError, ValueError) as error:
        log.warning("ignoring %s, which cannot be read (%s)", run.config, error)
        return None


def class_names(config: dict | None, num_classes: int) -> list[str]:
    """The run's class names when they fit the generator, else the indices as strings."""
    names = (config or {}).get("class_names")
    if isinstance(names, list) and len(names) == num_classes:
        return [str(name) for name in names]
    return [str(i) for i in range(num_classes)]


def select_classes(selection, names) -> list[int]:
    """Class indices from what a user types: integers are indices, anything else a name (any case)."""
    if selection is None:
        return list(range(len(names)))
    return [_class_index(token, names) for token in selection]


def _class_index(token, names) -> int:
    text = str(token).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise DataError(
                f"class {index} is out of range: the generator has {len(names)} classes (0-{len(names) - 1})"
            )
        return index
    lowered = [name.lower() for name in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    raise DataError(f"unknown class {text!r}; the classes are {', '.join(names)}")


def newest_run(runs_dir="runs") -> Path:
    """The run directory under ``runs_dir`` written to last: the one a user has just trained."""
    runs = [config.parent for config in Path(runs_dir).glob("*/config.json")]
    if not runs:
        raise DataError(f"no run directories (folders with a config.json) under {runs_dir}; train one first")

    def last_write(run: Path) -> float:
        return max(path.stat().st_mtime for path in (run / "config.json", run / "log.csv") if path.exists())

    return max(runs, key=last_write)


def latest_generator(run_dir, raw: bool = False) -> Path:
    """The generator .h5 of a run's last complete checkpoint: its weight average unless ``raw``."""
    from training.checkpoints import complete_checkpoints, network_path
    from training.experiment import RunDirectory

    run = RunDirectory(run_dir)
    positions = complete_checkpoints(run.checkpoints)
    if not positions:
        raise DataError(f"{run.checkpoints} holds no complete checkpoint yet")
    return choose_generator(network_path(run.checkpoints, "generator", positions[-1]), raw)
