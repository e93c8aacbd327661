"""DiffAugment (models/augment.py): each transform, and the trainers' use of it."""

import numpy as np
import pytest
import tensorflow as tf

from base.choices import AUGMENT_POLICIES
from models.augment import CUTOUT_RATIO, TRANSFORMS, augment

SIZE = 16


@pytest.fixture
def images(rng):
    return tf.constant(rng.uniform(-1, 1, (6, SIZE, SIZE, 3)).astype("float32"))


def test_the_cli_offers_exactly_the_transforms_there_are():
    assert set(AUGMENT_POLICIES) == set(TRANSFORMS)


@pytest.mark.parametrize("name", AUGMENT_POLICIES)
def test_each_transform_keeps_shape_and_range_and_changes_the_images(images, name):
    out = augment(images, [name], 1.0, 3, 0, 0)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert float(tf.reduce_min(out)) >= -1.0 and float(tf.reduce_max(out)) <= 1.0
    assert float(tf.reduce_max(tf.abs(out - images))) > 0.1


def test_probability_zero_is_the_identity(images):
    out = augment(images, list(AUGMENT_POLICIES), 0.0, 3, 0, 0)
    np.testing.assert_array_equal(out.numpy(), images.numpy())


def test_probability_applies_per_image():
    ones = tf.ones((400, SIZE, SIZE, 1)) * 0.5
    out = augment(ones, ["cutout"], 0.3, 1, 0, 0)
    changed = np.mean(np.any(np.abs(out.numpy() - 0.5) > 0, axis=(1, 2, 3)))
    assert 0.2 < changed < 0.4


@pytest.mark.parametrize("name", AUGMENT_POLICIES)
def test_a_gradient_reaches_the_input(images, name):
    weights = tf.constant(np.random.default_rng(1).normal(size=images.shape).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(images)
        score = tf.reduce_sum(augment(images * 0.5, [name], 1.0, 3, 0, 0) * weights)  # inside the range: no clipping
    gradient = tape.gradient(score, images)
    assert gradient is not None and float(tf.reduce_mean(tf.abs(gradient))) > 0.05


def test_translation_shifts_by_whole_pixels_within_an_eighth_and_reflects_at_the_border():
    """Every output pixel is the input's pixel at one per-image shift, read through a mirror past the edge:
    no constant band, so no edge 1 to SIZE/8 pixels in for a generator to copy (DiffAugment's zeros)."""
    distinct = np.arange(SIZE * SIZE, dtype="float32").reshape(1, SIZE, SIZE, 1) / (SIZE * SIZE)
    out = augment(tf.constant(np.repeat(distinct, 64, axis=0)), ["translation"], 1.0, 5, 0, 0).numpy()[..., 0]
    pad = SIZE // 8
    mirror = np.abs(np.arange(-pad, SIZE + pad))  # reflection without repeating the edge pixel
    mirror = np.where(mirror > SIZE - 1, 2 * (SIZE - 1) - mirror, mirror)
    source = distinct[0, ..., 0]

    def shifted(dy, dx):
        return source[np.ix_(mirror[pad + dy : pad + dy + SIZE], mirror[pad + dx : pad + dx + SIZE])]

    shifts = []
    for image in out:
        found = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if np.array_equal(image, shifted(dy, dx))]  # fmt: skip
        assert len(found) == 1
        shifts.append(found[0])
    assert len(set(shifts)) > 3  # the shifts vary between images


def test_cutout_greys_one_square_of_half_the_side():
    ones = tf.ones((32, SIZE, SIZE, 2))
    out = augment(ones, ["cutout"], 1.0, 5, 0, 0).numpy()
    side = int(SIZE * CUTOUT_RATIO + 0.5)
    assert np.all((out == 0).sum(axis=(1, 2, 3)) == side * side * 2)


def test_the_draws_are_a_function_of_seed_step_and_where(images):
    policy = list(AUGMENT_POLICIES)
    first = augment(images, policy, 1.0, 3, 7, 0, 1).numpy()
    np.testing.assert_array_equal(first, augment(images, policy, 1.0, 3, 7, 0, 1).numpy())
    for other in ((4, 7, 0, 1), (3, 8, 0, 1), (3, 7, 1, 1), (3, 7, 0, 2)):
        assert not np.array_equal(first, augment(images, policy, 1.0, *other).numpy()), other


def test_mixed_precision_images_stay_in_their_dtype(images):
    out = augment(tf.cast(images, tf.bfloat16), list(AUGMENT_POLICIES), 1.0, 3, 0, 0)
    assert out.dtype == tf.bfloat16 and out.shape == images.shape


def one_step_weights(recipe, augment_policy, rng_seed=0, **settings):
    import keras

    keras.utils.set_random_seed(rng_seed)
    resolved = recipe.settings("digits", seed=4, latent_dim=4, jit=False, ema_decay=0.0, augment=augment_policy,
                               **settings)  # fmt: skip
    trainer = recipe.build_trainer(resolved, (SIZE, SIZE, 1), 3, steps_per_epoch=1)
    rng = np.random.default_rng(0)
    group = (trainer.real_batch_group,) if trainer.real_batch_group else ()
    images = rng.uniform(-1, 1, (8, *group, SIZE, SIZE, 1)).astype("float32")
    conditions = np.eye(3, dtype="float32")[rng.integers(0, 3, (8, *group))]
    trainer.fit(tf.data.Dataset.from_tensors((images, conditions)), epochs=1, steps_per_epoch=1, verbose=0,
                shuffle=False)  # fmt: skip
    return [w for network in trainer.networks().values() for w in network.get_weights()]


@pytest.mark.parametrize("recipe", ["dcgan"])  # the WGAN-GP's: tests/test_trustworthy.py's resume test
def test_a_training_step_with_augmentation_repeats_from_the_seed(recipe):
    import importlib

    recipe = importlib.import_module(f"training.recipes.{recipe}").RECIPE
    settings = {"filters": 4, "n_critic": 2} if recipe.script == "train_wgan_gp" else {}
    policy = list(AUGMENT_POLICIES)
    first, again = (one_step_weights(recipe, policy, **settings) for _ in range(2))
    plain = one_step_weights(recipe, [], **settings)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(not np.allclose(a, b) for a, b in zip(first, plain, strict=True))  # it did augment
