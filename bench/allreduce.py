#!/usr/bin/env python
"""How many all-reduces one train step makes under --strategy mirrored, counted in its traced graph.

Two replicas need to agree on two things only: the gradients (one batched
all-reduce per update) and the synchronized BatchNorm statistics of every
BatchNorm call in training mode (the generator's in every critic update
too, since its fakes must be normalised over the global batch as on one
device). A statistic of layer k depends on layer k - 1's normalised output,
so one call's all-reduce cannot be merged with the next layer's; what can
be merged is within a call: Keras's synchronized BatchNorm all-reduces the
sum, the sum of squares and the count separately (3) and their gradients
(2), ``models.fused_norms.synchronized_batch_norm`` one vector each way.

The step is traced on two logical CPU devices (the collective ops are those
a GPU run makes, with NCCL in place of the CPU's ring); each all-reduce is
one ``CollectiveReduceV2`` op per replica.

  python bench/allreduce.py                 # the paper's 64 px networks, the trainers' kernels and Keras's
  python bench/allreduce.py --image-size 16 --filters 8
"""

from __future__ import annotations

import argparse
import contextlib
import json

COLLECTIVES = ("CollectiveReduceV2", "NcclAllReduce", "CollectiveReduce")


def two_logical_cpus():
    """Split the CPU into two devices; must run before TensorFlow initialises them."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


@contextlib.contextmanager
def keras_batch_norm():
    """Every BatchNormalization through Keras's own call, as before the trainers' kernels."""
    from models import fused_norms

    applies = fused_norms.fused_batch_norm_applies
    fused_norms.fused_batch_norm_applies = lambda *args: False
    try:
        yield
    finally:
        fused_norms.fused_batch_norm_applies = applies


def collective_ops(concrete) -> int:
    """All-reduce ops in a traced function and every function it calls."""
    graph = concrete.graph.as_graph_def()
    nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
    return sum(node.op in COLLECTIVES for node in nodes)


def step_all_reduces(recipe, settings, image_shape, classes: int, strategy, batch: int) -> int:
    """All-reduces of one ``train_step`` of ``recipe``'s trainer over the strategy's replicas."""
    import numpy as np
    import tensorflow as tf

    with strategy.scope():
        trainer = recipe.build_trainer(settings, image_shape, classes)
    group = (trainer.real_batch_group,) if trainer.real_batch_group else ()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch, *group, *image_shape)).astype("float32")
    conditions = np.eye(classes, dtype="float32")[rng.integers(0, classes, (batch, *group))]
    data = next(iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((images, conditions)))))
    step = tf.function(lambda data: strategy.run(trainer.train_step, args=(data,)))
    return collective_ops(step.get_concrete_function(data)) // strategy.num_replicas_in_sync


def batch_norm_layers(network) -> int:
    import keras

    return sum(isinstance(layer, keras.layers.BatchNormalization) for layer in network.layers)


def expected(model: str, generator_norms: int, discriminator_norms: int, n_critic: int, keras_call: bool) -> int:
    """The count the module docstring derives: (forward, backward) all-reduces per BatchNorm call, plus gradients.

    DC-GAN: the generator runs twice in training mode (fakes for D, then for G), D three times (real and fake
    for D's update, fake for G's); D's update differentiates D twice, G's update G and D once each.
    WGAN-GP: the critic has no BatchNorm; the generator runs in each of n_critic critic updates and in its own.
    """
    forward, backward = (3, 2) if keras_call else (1, 1)
    if model == "dcgan":
        calls, differentiated, updates = (
            2 * generator_norms + 3 * discriminator_norms,
            generator_norms + 3 * discriminator_norms,
            2,
        )
    else:
        calls, differentiated, updates = (n_critic + 1) * generator_norms, generator_norms, n_critic + 1
    return forward * calls + backward * differentiated + updates


def count(model: str, image_size: int, filters: int, batch: int, strategy, n_critic=None, keras_too=True) -> dict:
    from training.recipes import dcgan, wgan_gp

    recipe = wgan_gp.RECIPE if model == "wgan" else dcgan.RECIPE
    dataset = "wikiart" if image_size == 64 else "digits"
    channels = 3 if dataset == "wikiart" else 1
    given = {"seed": 0, "jit": False, "image_size": image_size, "batch_size": batch}
    if model == "wgan":
        given.update(filters=filters, **({"n_critic": n_critic} if n_critic else {}))
    settings = recipe.settings(dataset, **given)
    shape, classes = (image_size, image_size, channels), 9
    trainer = recipe.build_trainer(settings, shape, classes)
    norms = (batch_norm_layers(trainer.generator), batch_norm_layers(trainer.discriminator))
    n_critic = getattr(settings.optimisation, "n_critic", 1)
    found = {"model": model, "generator_norms": norms[0], "discriminator_norms": norms[1], "n_critic": n_critic}
    found["trainers"] = step_all_reduces(recipe, settings, shape, classes, strategy, batch)
    found["expected_trainers"] = expected(model, *norms, n_critic, keras_call=False)
    found["expected_keras"] = expected(model, *norms, n_critic, keras_call=True)
    if keras_too:
        with keras_batch_norm():
            found["keras"] = step_all_reduces(recipe, settings, shape, classes, strategy, batch)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--filters", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32, help="the global batch (default: 32, WikiArt's)")
    parser.add_argument("--n-critic", type=int, help="the WGAN-GP's critic updates per step (default: 5)")
    parser.add_argument("--trainers-only", action="store_true", help="leave out the count with Keras's BatchNorm")
    parser.add_argument("--json", action="store_true", help="one JSON line per model instead of a table")
    args = parser.parse_args(argv)
    from base.terminal import start_tensorflow_quietly

    start_tensorflow_quietly()  # finds the devices without setting them up: they can still be split
    strategy = two_logical_cpus()
    rows = [
        count(model, args.image_size, args.filters, args.batch, strategy, args.n_critic, not args.trainers_only)
        for model in ("dcgan", "wgan")
    ]
    if args.json:
        print("\n".join(json.dumps(row) for row in rows))
        return 0
    print(f"{args.image_size} px, global batch {args.batch} over 2 replicas; all-reduces per train step")
    print("| model | BatchNorm layers (G, D) | n_critic | Keras's BatchNorm | the trainers' kernels |")
    print("|---|---|---:|---:|---:|")
    for row in rows:
        name = {"dcgan": "DC-GAN", "wgan": "WGAN-GP"}[row["model"]]
        norms = f"{row['generator_norms']}, {row['discriminator_norms']}"
        print(f"| {name} | {norms} | {row['n_critic']} | {row.get('keras', '-')} | {row['trainers']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
