"""The run directories of a side-by-side benchmark: trained once, then measured as often as needed."""

from __future__ import annotations

import json
from pathlib import Path

from base.errors import UserError


def trained_run(config: dict, recipe, script: str, same_settings) -> Path:
    """``config``'s run directory, trained now unless its last checkpoint is there from the same settings.

    A finished run is measured, not trained again, so an interrupted benchmark
    picks up where it stopped; one trained with other ``same_settings`` is
    refused rather than measured as if it were the one asked for.
    """
    from base.rundir import network_path
    from training.cli import COMMON_DEFAULTS
    from training.experiment import run_experiment

    root = Path(config["out"])
    if network_path(root / "checkpoints", "generator", config["epochs"]).is_file():
        stored = json.loads((root / "config.json").read_text())
        for key in same_settings:
            was = stored.get(key, COMMON_DEFAULTS.get(key))  # runs from before a flag have no entry for it
            if was != config.get(key):
                raise UserError(f"{root} was trained with {key}={was!r}, not {config.get(key)!r}")
        print(f"{root.name}: measuring the run already there")
        return root
    print(f"{root.name}: training {config['epochs']} epochs", flush=True)
    run_experiment(config, set(config), script, recipe.build_trainer)
    return root
