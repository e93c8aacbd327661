"""Where samples come from: a generator checkpoint (.h5) and the class names of its run.

A checkpoint file is all a user needs; when it sits in ``<run>/checkpoints/``
the run's ``config.json`` adds the class names and the seed of the run's
fixed sample noise. A generator shipped on its own (``pretrained/``) carries
the same facts in a JSON file of its name beside it (``G.h5`` -> ``G.json``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from base.errors import UserError
from base.rundir import run_config

__all__ = ["checkpoint_config", "class_names", "generator_sizes", "select_classes"]

log = logging.getLogger(__name__)


def checkpoint_config(checkpoint) -> dict:
    """The settings a generator file comes with: its run's config.json, else ``<name>.json`` beside it, else {}."""
    config = run_config(checkpoint)
    if config is not None:
        return config
    beside = Path(checkpoint).with_suffix(".json")
    if not beside.is_file():
        return {}
    try:
        return json.loads(beside.read_text())
    except (OSError, ValueError) as error:
        log.warning("ignoring %s, which cannot be read (%s)", beside, error)
        return {}


def generator_sizes(generator) -> tuple[int, int]:
    """``(latent_dim, num_classes)`` read from the generator's input shapes."""
    return int(generator.inputs[0].shape[-1]), int(generator.inputs[1].shape[-1])


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
            raise UserError(
                f"class {index} is out of range: the generator has {len(names)} classes (0-{len(names) - 1})"
            )
        return index
    lowered = [name.lower() for name in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    raise UserError(f"unknown class {text!r}; the classes are {', '.join(names)}")
