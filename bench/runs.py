"""The run directories of a side-by-side benchmark: trained once, then measured as often as needed."""

from __future__ import annotations

import json
from pathlib import Path

from base.errors import UserError


def trained_run(settings, recipe, same_settings) -> Path:
    """``settings``' run directory, trained now unless its last checkpoint is there from the same settings.

    A finished run is measured, not trained again, so an interrupted benchmark
    picks up where it stopped; one trained with other ``same_settings`` is
    refused rather than measured as if it were the one asked for.
    """
    from base.rundir import network_path
    from training.runner import run
    from training.settings import BEFORE_THE_FIELD

    root = Path(settings.run.out)
    if network_path(root / "checkpoints", "generator", settings.optimisation.epochs).is_file():
        stored = json.loads((root / "config.json").read_text())
        wanted = settings.flat()
        for key in same_settings:
            was = stored.get(key, BEFORE_THE_FIELD.get(key, recipe.defaults().get(key)))  # a flag newer than the run
            if was != wanted.get(key):
                raise UserError(f"{root} was trained with {key}={was!r}, not {wanted.get(key)!r}")
        print(f"{root.name}: measuring the run already there")
        return root
    print(f"{root.name}: training {settings.optimisation.epochs} epochs", flush=True)
    run(recipe, settings)
    return root
