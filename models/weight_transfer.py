"""Starting a network from another network's weights, across class sets; freezing a critic's first blocks.

Transfer learning starts a new run from a trained one (StyleGAN2-ADA's
MetFaces runs, FreezeD). The networks must have the same layout (layer
names) and width; only the layers that hold one entry per class may differ
in size, and those are mapped by class name:

- the generator's ``project`` Dense: its input is concat(z, condition), so
  kernel rows latent_dim .. latent_dim + K belong to the classes;
- the ``global`` conditioning's ``up<n>_cond<m>_dense`` layers, whose input
  is the condition alone;
- the discriminator's or critic's ``class_logits`` head: one kernel column
  and one bias entry per class.

A class the source also has gets the source's entries; a new class keeps
the entries just drawn for it by the network's initialiser.
"""

from __future__ import annotations

import re

import numpy as np

from base.errors import UserError

CONDITION_DENSE = re.compile(r"up\d+_cond\d+_dense$")
BLOCK_PREFIX = re.compile(r"^((?:down|res)\d+)_")  # a critic or discriminator block: down1, down2, res3, ...


def class_axis(network, layer, index: int) -> tuple[int, int] | None:
    """``(axis, first entry)`` of the class entries in ``layer``'s ``index``-th weight, or None."""
    if layer.name == "project" and index == 0:  # kernel of concat(z, condition) -> features
        return 0, int(network.inputs[0].shape[-1])
    if CONDITION_DENSE.match(layer.name) and index == 0:
        return 0, 0
    if layer.name == "class_logits":
        return (1, 0) if index == 0 else (0, 0)
    return None


def class_mapping(source_names, names) -> tuple[list[str], list[str]]:
    """``(classes carried over, new classes)``, in this run's order."""
    known = set(source_names or ())
    return [name for name in names if name in known], [name for name in names if name not in known]


def transfer_weights(source, target, source_names, names, label: str) -> None:
    """Set ``target``'s weights from ``source``'s, class entries matched by name (see the module's docstring).

    ``label`` names the source in errors. Anything but the class entries must
    agree in shape; a mismatch is one line naming the first layer that differs.
    """
    check_same_images(source, target, label)
    by_name = {layer.name: layer for layer in source.layers if layer.weights}
    wanted = [layer for layer in target.layers if layer.weights]
    missing = [layer.name for layer in wanted if layer.name not in by_name]
    extra = sorted(set(by_name) - {layer.name for layer in wanted})
    if missing or extra:
        raise UserError(
            f"{label} has another layout than this run's {target.name} (layers only here: {', '.join(missing) or '-'};"
            f" only there: {', '.join(extra) or '-'}): was it trained with another --upsampling or --conditioning?"
        )
    source_index = {name: i for i, name in enumerate(source_names or ())}
    for layer in wanted:
        values = []
        for index, (old, new) in enumerate(zip(by_name[layer.name].weights, layer.weights, strict=True)):
            axis = class_axis(target, layer, index)
            old_value, new_value = np.asarray(old.numpy()), np.asarray(new.numpy())
            if axis is None:
                check_same_shape(old_value, new_value, layer.name, target.name, label)
                values.append(old_value)
            else:
                values.append(mapped_classes(old_value, new_value, axis, source_index, names, layer.name, label))
        layer.set_weights(values)


def mapped_classes(old, new, axis, source_index: dict, names, layer_name: str, label: str):
    """``new`` with each class's entries along ``axis`` replaced by the source's entries of the same class."""
    dim, first = axis
    old_classes, new_classes = old.shape[dim] - first, new.shape[dim] - first
    if old_classes != len(source_index) and source_index:
        raise UserError(f"{label}'s {layer_name} has {old_classes} class entries but its run names {len(source_index)}")
    if old.shape[:dim] + old.shape[dim + 1 :] != new.shape[:dim] + new.shape[dim + 1 :] or new_classes != len(names):
        raise UserError(
            f"{label} does not fit this run: its {layer_name} weights are {old.shape} (with {old_classes} classes), "
            f"this run's {new.shape} (with {len(names)} classes) differ beyond the classes: another --filters?"
        )
    result = np.array(new, copy=True)
    old_moved, result_moved = np.moveaxis(old, dim, 0), np.moveaxis(result, dim, 0)
    result_moved[:first] = old_moved[:first]  # the z rows of the generator's projection
    for j, name in enumerate(names):
        if name in source_index:
            result_moved[first + j] = old_moved[first + source_index[name]]
    return result


def check_same_shape(old, new, layer_name: str, network_name: str, label: str) -> None:
    if old.shape != new.shape:
        raise UserError(
            f"{label} does not fit this run's {network_name}: its layer {layer_name} holds {old.shape}, this run's "
            f"{new.shape} (another --filters or --latent-dim?)"
        )


def image_shape_of(network) -> tuple:
    """The image a network makes (a generator) or reads (a critic)."""
    tensor = network.outputs[0] if len(network.inputs) == 2 else network.inputs[0]
    return tuple(int(d) for d in tensor.shape[1:])


def check_same_images(source, target, label: str) -> None:
    if len(source.inputs) != len(target.inputs) or source.name != target.name:
        raise UserError(f"{label} is a {source.name}, not a {target.name}: pass a run of the same trainer")
    made, wanted = image_shape_of(source), image_shape_of(target)
    if made != wanted:
        raise UserError(
            f"{label} was trained on {'x'.join(map(str, made))} images, this run's are "
            f"{'x'.join(map(str, wanted))}: --image-size must match the run it starts from"
        )
    if len(target.inputs) == 2 and source.inputs[0].shape[-1] != target.inputs[0].shape[-1]:
        raise UserError(
            f"{label} draws from z of {source.inputs[0].shape[-1]} numbers, this run from "
            f"{target.inputs[0].shape[-1]}: --latent-dim must match the run it starts from"
        )


def critic_blocks(network) -> list[str]:
    """The blocks of a discriminator or critic, input first: ``down1, down2, ...`` then ``res3, res4``."""
    blocks = []
    for layer in network.layers:
        match = BLOCK_PREFIX.match(layer.name)
        if match and match.group(1) not in blocks:
            blocks.append(match.group(1))
    return blocks


def freeze_blocks(network, count: int) -> list[str]:
    """Fix the first ``count`` blocks (FreezeD): their weights and their BatchNorm statistics; returns their names.

    A Keras layer with ``trainable = False`` leaves the optimizer's variables and
    runs BatchNormalization in inference mode, so its moving statistics stay too.
    """
    blocks = critic_blocks(network)
    if count > len(blocks):
        raise UserError(f"--freeze-critic {count}: this {network.name} has {len(blocks)} blocks ({', '.join(blocks)})")
    frozen = set(blocks[:count])
    for layer in network.layers:
        match = BLOCK_PREFIX.match(layer.name)
        if match and match.group(1) in frozen:
            layer.trainable = False
    return blocks[:count]
