"""``--init-from`` and ``--freeze-critic``: a new run that starts from a trained one.

``locate`` turns what the user typed (a run directory, or a generator and a
critic ``.h5``) into the files and the class names the weights come from,
before any TensorFlow work, so a wrong path is one line. ``start_networks``
then sets the freshly built networks' weights (models/weight_transfer.py maps the
class-dependent layers by class name) and freezes the critic's first blocks.
It runs before the trainer exists, so the optimizers start fresh and the
generator's weight average starts at the initial weights. Not ``--resume``:
the new run has its own epochs, schedule and seed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from base.errors import UserError
from base.rundir import RunDirectory, complete_checkpoints, network_path, run_config

log = logging.getLogger("artgan")

CRITIC_ROLES = ("discriminator", "critic")  # train_dcgan's and train_wgan_gp's second network
NETWORK_SETTINGS = ("image_size", "latent_dim", "filters", "conditioning", "upsampling")  # what shapes the weights


def locate(paths: list[str]) -> dict:
    """``{"generator": file, "critic": file, "class_names": [...] or None, "checkpoint": ...}`` of ``paths``."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return locate_run(Path(paths[0]))
    if len(paths) != 2:
        raise UserError(
            "--init-from takes a run directory, or a generator .h5 and a discriminator or critic .h5 (two files)"
        )
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"--init-from: {path} is not a file")
    stored = run_config(paths[0]) or {}
    return {
        "generator": str(Path(paths[0]).resolve()),
        "critic": str(Path(paths[1]).resolve()),
        "class_names": stored.get("class_names"),
        "checkpoint": "the files given",
        "settings": network_settings(stored),
    }


def network_settings(stored: dict) -> dict:
    """The source run's settings that decide its weights' shapes: the new run takes them unless told otherwise."""
    return {key: stored[key] for key in NETWORK_SETTINGS if stored.get(key) is not None}


def locate_run(root: Path) -> dict:
    run = RunDirectory(root)
    positions = complete_checkpoints(run.checkpoints)
    if not positions:
        raise UserError(f"--init-from: {root} holds no complete checkpoint (is it a run directory?)")
    newest = positions[-1]
    critics = [network_path(run.checkpoints, role, newest) for role in CRITIC_ROLES]
    critic = next((path for path in critics if path.is_file()), None)
    generator = network_path(run.checkpoints, "generator", newest)
    if critic is None or not generator.is_file():
        raise UserError(f"--init-from: the checkpoint at {newest} in {root} lacks its generator or critic .h5")
    stored = run.read_config() if run.config.is_file() else {}
    return {
        "generator": str(generator.resolve()),
        "critic": str(critic.resolve()),
        "class_names": stored.get("class_names"),
        "checkpoint": f"{root} at {newest}",
        "settings": network_settings(stored),
    }


def carried_classes(source: dict | None, class_names) -> dict | None:
    """``{"carried": [...], "new": [...]}`` for config.json, once this run's classes are known; logs them."""
    if not source:
        return None
    from models.weight_transfer import class_mapping  # no TensorFlow: models.weight_transfer needs numpy alone

    carried, new = class_mapping(source["class_names"], list(class_names))
    unnamed = "" if source["class_names"] else " (the source's classes are unnamed: no config.json beside it)"
    log.info(
        "starting from %s: classes carried over: %s; new: %s%s",
        source["checkpoint"],
        ", ".join(carried) or "none",
        ", ".join(new) or "none",
        unnamed,
    )
    return {"carried": carried, "new": new}


def start_networks(generator, critic, networks, class_names, resume: bool) -> None:
    """Weights from ``--init-from`` (new runs only), then ``--freeze-critic``'s blocks fixed."""
    source = networks.init_weights
    if source and not resume:
        from base.networks import load_network
        from models.weight_transfer import transfer_weights

        for network, path in ((generator, source["generator"]), (critic, source["critic"])):
            transfer_weights(load_network(path), network, source["class_names"], list(class_names), path)
    if networks.freeze_critic:
        from models.weight_transfer import freeze_blocks

        log.info("frozen %s blocks: %s", critic.name, ", ".join(freeze_blocks(critic, networks.freeze_critic)))
