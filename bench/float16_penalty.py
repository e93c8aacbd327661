#!/usr/bin/env python
"""The gradient penalty in float16 against float32, on the paper's 64 px critic (128 filters).

Under mixed_float16 the penalty's inner gradient, d D(x_hat) / d x_hat, runs
backward through float16 activations, and its own gradient for the critic's
weights runs back through that backward again. ``losses.input_gradients``
multiplies the scores by the loss scale before the inner backward and
divides it out in float32; this measures what that buys, scale by scale,
against the same critic's float32 twin (the same weights) on the same
interpolates of real paintings and an untrained generator's images:

- underflow: the share of the inner gradient's elements that are 0 in
  float16 where float32's are not, and the share of float32's squared norm
  they carry (what the penalty loses);
- overflow: whether any element (or the penalty) is not finite;
- the largest relative error of a sample's gradient norm, the penalty's
  relative error, and the error of the penalty's gradient for the critic's
  weights (the update's direction), relative to float32's largest entry.

The rows for scales 2^0 and 2^15 are the penalty before and after the
change at Keras's initial loss scale (32,768); the scale settles where
training finds no overflow.

Examples:
  python bench/float16_penalty.py --data-dir ../shared/data/wikiart
  python bench/float16_penalty.py --filters 16 --batch 4     # a quick look
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = (None, 2.0**4, 2.0**8, 2.0**12, 2.0**15)


def critic_pair(image_size: int, classes: int, filters: int):
    """The paper's critic in float32 and its mixed_float16 twin with the same weights, with their training kernels."""
    import keras

    from models.fused_norms import fuse_norms
    from models.wgan_gp import build_wgan_critic

    shape = (image_size, image_size, 3)
    critics = {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)
        keras.utils.set_random_seed(0)
        critics[policy] = build_wgan_critic(shape, classes, filters)
        fuse_norms(critics[policy])
    keras.mixed_precision.set_global_policy("float32")
    critics["mixed_float16"].set_weights(critics["float32"].get_weights())
    return critics["float32"], critics["mixed_float16"]


def interpolates(data_dir: str | None, image_size: int, classes: int, filters: int, batch: int):
    """Real paintings (random images where no folder is given) blended with an untrained generator's images."""
    import keras
    import numpy as np
    import tensorflow as tf

    from data import load_images
    from models.wgan_gp import build_wgan_generator

    rng = np.random.default_rng(0)
    if data_dir:
        data = load_images("wikiart", data_dir, image_size)
        pick = rng.choice(len(data.labels), batch, replace=False)
        real = data.images[pick].astype("float32") / 127.5 - 1.0
        source = f"{batch} paintings of {data_dir}"
    else:
        real = rng.uniform(-1, 1, (batch, image_size, image_size, 3)).astype("float32")
        source = f"{batch} uniform random images"
    keras.utils.set_random_seed(1)
    generator = build_wgan_generator((image_size, image_size, 3), classes, 100, filters)
    z = tf.random.stateless_normal((batch, 100), (1, 2))
    fake = generator([z, tf.one_hot(np.arange(batch) % classes, classes)], training=False)
    epsilon = tf.random.stateless_uniform((batch, 1, 1, 1), (3, 4))
    return epsilon * real + (1 - epsilon) * fake, source


def penalty_terms(critic, x_hat, scale):
    """(inner gradient, penalty, the penalty's gradient for the critic's weights), each in float32.

    As training computes them: the penalty's outer gradient is taken of the
    penalty times the loss scale and divided by it (a LossScaleOptimizer).
    """
    import tensorflow as tf

    from losses import input_gradients

    def score(images):
        return critic(images, training=True)[0]

    @tf.function
    def terms():
        with tf.GradientTape() as tape:
            gradients = input_gradients(score, x_hat, scale)
            norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + 1e-12)
            penalty = tf.reduce_mean(tf.square(norms - 1.0))
            scaled = penalty * (scale or 1.0)
        weight_gradients = tape.gradient(scaled, critic.trainable_variables)
        # (None for weights the penalty does not depend on: the score's bias, the class head)
        return gradients, penalty, [g / (scale or 1.0) for g in weight_gradients if g is not None]

    return terms()


def compare(reference, measured) -> dict:
    import numpy as np

    want, penalty_want, weights_want = np.asarray(reference[0], np.float64), float(reference[1]), reference[2]
    got, penalty_got = np.asarray(measured[0], np.float64), float(measured[1])
    lost = (got == 0) & (want != 0)
    norms_want = np.sqrt((want**2).sum(axis=(1, 2, 3)))
    norms_got = np.sqrt((got**2).sum(axis=(1, 2, 3)))
    weight_errors = [
        float(np.abs(np.asarray(g, np.float64) - np.asarray(w, np.float64)).max() / np.abs(np.asarray(w)).max())
        for g, w in zip(measured[2], weights_want, strict=True)
        if np.abs(np.asarray(w)).max() > 0  # biases before a layer norm have no gradient at all
    ]
    return {
        "underflow": float(lost.mean()),
        "underflow_mass": float((want[lost] ** 2).sum() / (want**2).sum()),
        "finite": bool(np.isfinite(got).all() and np.isfinite(penalty_got)),
        "norm_error": float(np.abs(norms_got / norms_want - 1).max()),
        "penalty_error": abs(penalty_got / penalty_want - 1),
        "weight_error_max": max(weight_errors),
        "weight_error_median": float(np.median(weight_errors)),
    }


def table(rows: dict) -> str:
    lines = [
        "| inner scale | underflow (elements) | their share of the squared norm | finite | largest norm error "
        "| penalty error | weight gradient error, worst / median variable |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for scale, row in rows.items():
        lines.append(
            f"| {scale} | {100 * row['underflow']:.4f}% | {row['underflow_mass']:.1e} | "
            f"{'yes' if row['finite'] else 'no'} | {100 * row['norm_error']:.3f}% | "
            f"{100 * row['penalty_error']:.3f}% | "
            f"{100 * row['weight_error_max']:.2f}% / {100 * row['weight_error_median']:.2f}% |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="a WikiArt folder for the real images (default: uniform random images)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--filters", type=int, default=128, help="the paper's width (default: 128)")
    parser.add_argument("--batch", type=int, default=32, help="the paper's WikiArt batch (default: 32)")
    parser.add_argument("--classes", type=int, default=9)
    args = parser.parse_args(argv)

    from base.terminal import start_tensorflow_quietly

    start_tensorflow_quietly()
    x_hat, source = interpolates(args.data_dir, args.image_size, args.classes, args.filters, args.batch)
    critic32, critic16 = critic_pair(args.image_size, args.classes, args.filters)
    reference = penalty_terms(critic32, x_hat, None)
    print(f"critic: {args.image_size} px, {args.filters} filters, {args.classes} classes, at initialisation; "
          f"interpolates of {source} and an untrained generator's images")  # fmt: skip
    print(f"float32: penalty {float(reference[1]):.4f}, sample gradient norms {describe_norms(reference[0])}")
    rows = {}
    for scale in SCALES:
        name = "none (2^0)" if scale is None else f"2^{int(scale).bit_length() - 1}"
        rows[name] = compare(reference, penalty_terms(critic16, x_hat, scale))
        print(f"  {name}: {rows[name]}", flush=True)
    print()
    print(table(rows))
    return 0


def describe_norms(gradients) -> str:
    import numpy as np

    norms = np.sqrt((np.asarray(gradients, np.float64) ** 2).sum(axis=(1, 2, 3)))
    return f"{norms.min():.3g} to {norms.max():.3g}"


if __name__ == "__main__":
    raise SystemExit(main())
