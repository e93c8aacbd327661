"""--init-from (class entries mapped by name), --freeze-critic (FreezeD) and --augment-p ada (ADA's p)."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from base.errors import UserError
from base.networks import load_network
from base.rundir import network_path
from models.augment import AdaptiveProbability
from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from models.weight_transfer import class_axis, critic_blocks, freeze_blocks, transfer_weights
from models.wgan_gp import build_wgan_critic, build_wgan_generator
from tests.conftest import run_script, write_image

SOURCE, TARGET = ["a", "b", "c"], ["c", "x", "a", "y"]  # reordered and partly overlapping
NETWORKS = {
    "dcgan generator": lambda k: build_dcgan_generator((16, 16, 3), k, latent_dim=8, filters=8),
    "dcgan nearest generator": lambda k: build_dcgan_generator((16, 16, 3), k, 8, 8, upsampling="nearest"),
    "dcgan discriminator": lambda k: build_dcgan_discriminator((16, 16, 3), k, filters=8),
    "wgan generator": lambda k: build_wgan_generator((16, 16, 3), k, latent_dim=8, filters=8),
    "wgan global generator": lambda k: build_wgan_generator((16, 16, 3), k, 8, 8, conditioning="global"),
    "wgan critic": lambda k: build_wgan_critic((16, 16, 3), k, filters=8),
}


def weights_by_layer(network):
    return {(layer.name, i): np.asarray(w.numpy()) for layer in network.layers for i, w in enumerate(layer.weights)}


def class_entries(value, axis):
    """The per-class slices of a weight: a list indexed by class."""
    dim, first = axis
    return list(np.moveaxis(value, dim, 0)[first:])


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_the_class_dependent_weights_are_exactly_those_whose_shape_follows_the_class_count(name):
    three, five = weights_by_layer(NETWORKS[name](3)), NETWORKS[name](5)
    changed = {key for key, value in three.items() if value.shape != weights_by_layer(five)[key].shape}
    marked = {(layer.name, i) for layer in five.layers for i in range(len(layer.weights)) if class_axis(five, layer, i)}
    assert changed == marked and marked


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_matching_layers_are_copied_exactly_and_classes_mapped_by_name(name):
    source, target = NETWORKS[name](len(SOURCE)), NETWORKS[name](len(TARGET))
    before, old = weights_by_layer(target), weights_by_layer(source)
    transfer_weights(source, target, SOURCE, TARGET, "source.h5")
    after = weights_by_layer(target)
    for layer in target.layers:
        for i in range(len(layer.weights)):
            key, axis = (layer.name, i), class_axis(target, layer, i)
            if axis is None:
                assert np.array_equal(after[key], old[key]), key
                continue
            got, fresh, was = (class_entries(v[key], axis) for v in (after, before, old))
            for j, cls in enumerate(TARGET):
                want = was[SOURCE.index(cls)] if cls in SOURCE else fresh[j]  # new classes keep their fresh draw
                assert np.array_equal(got[j], want), (key, cls)
            if axis[1]:  # the generator's projection: its z rows come from the source too
                assert np.array_equal(after[key][: axis[1]], old[key][: axis[1]])


def test_a_reordered_class_list_carries_every_class_to_its_new_place():
    source, target = build_dcgan_discriminator((16, 16, 3), 3, 8), build_dcgan_discriminator((16, 16, 3), 3, 8)
    transfer_weights(source, target, ["a", "b", "c"], ["c", "a", "b"], "source.h5")
    old, new = source.get_layer("class_logits").kernel.numpy(), target.get_layer("class_logits").kernel.numpy()
    assert np.array_equal(new, old[:, [2, 0, 1]])


@pytest.mark.parametrize(
    "source,target,message",
    [
        (lambda: build_wgan_critic((16, 16, 3), 3, 16), lambda: build_wgan_critic((16, 16, 3), 3, 8), "--filters"),
        (lambda: build_wgan_critic((32, 32, 3), 3, 8), lambda: build_wgan_critic((16, 16, 3), 3, 8), "--image-size"),
        (lambda: build_dcgan_generator((16, 16, 3), 3, 4), lambda: build_dcgan_generator((16, 16, 3), 3, 8),
         "--latent-dim"),
        (lambda: build_dcgan_generator((16, 16, 3), 3, 8), lambda: build_dcgan_generator((16, 16, 3), 3, 8, 8,
         upsampling="nearest"), "--upsampling"),
        (lambda: build_dcgan_discriminator((16, 16, 3), 3), lambda: build_wgan_critic((16, 16, 3), 3, 8),
         "same trainer"),
    ],
)  # fmt: skip
def test_a_source_that_does_not_fit_is_one_line_naming_the_mismatch(source, target, message):
    with pytest.raises(UserError, match=message) as error:
        transfer_weights(source(), target(), SOURCE[:3], SOURCE[:3], "source.h5")
    assert "\n" not in str(error.value)


def test_the_blocks_of_each_critic():
    assert critic_blocks(build_dcgan_discriminator((32, 32, 3), 3)) == ["down1", "down2", "down3"]
    assert critic_blocks(build_dcgan_discriminator((64, 64, 3), 3)) == ["down1", "down2", "down3", "down4"]
    assert critic_blocks(build_wgan_critic((32, 32, 3), 3, 8)) == ["down1", "down2", "res3", "res4"]
    with pytest.raises(UserError, match="has 3 blocks"):
        freeze_blocks(build_dcgan_discriminator((32, 32, 3), 3), 4)


def one_real_batch(count=8, size=16, classes=3):
    images = tf.random.stateless_uniform((count, size, size, 3), (1, 2), -1, 1)
    return images, tf.one_hot(tf.range(count) % classes, classes)


def test_a_frozen_block_keeps_its_weights_and_batchnorm_statistics_while_the_rest_train():
    import keras

    from models.trainers import ConditionalDCGAN

    generator = build_dcgan_generator((32, 32, 3), 3, latent_dim=8, filters=8)
    discriminator = build_dcgan_discriminator((32, 32, 3), 3, filters=8)
    assert freeze_blocks(discriminator, 2) == ["down1", "down2"]  # down2 holds a BatchNorm
    layers = [layer for layer in discriminator.layers if layer.weights]
    before = {layer.name: [w.numpy().copy() for w in layer.weights] for layer in layers}
    trainer = ConditionalDCGAN(generator, discriminator, 8, seed=1)
    trainer.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    for _ in range(3):
        trainer.train_step(one_real_batch(size=32))
    for layer in layers:
        same = all(np.array_equal(a, w.numpy()) for a, w in zip(before[layer.name], layer.weights, strict=True))
        assert same == layer.name.startswith(("down1", "down2")), layer.name
    trained = {v.path.split("/")[0] for v in discriminator.trainable_variables}
    assert trained == {"down3_conv", "down3_bn", "validity", "class_logits"}


def test_the_adaptive_probability_rises_on_a_sure_discriminator_and_falls_on_an_unsure_one():
    adaptive = AdaptiveProbability(target=0.6, images_to_one=64)
    sure, unsure = tf.fill((8, 1), 3.0), tf.concat([tf.fill((4, 1), 1.0), tf.fill((4, 1), -1.0)], 0)
    history = []
    for step in range(1, 9):
        adaptive.observe(sure, step)
        history.append(float(adaptive.probability.numpy()))
    assert history == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0]  # moves every 4 steps by 32 / 64 images
    for step in range(9, 13):
        adaptive.observe(unsure, step)
    assert float(adaptive.probability.numpy()) == 0.5  # r = 0 < 0.6: down again


def test_adaptive_p_climbs_while_a_discriminator_memorises_a_few_images():
    import keras

    from models.trainers import ConditionalDCGAN

    generator = build_dcgan_generator((16, 16, 3), 3, latent_dim=8, filters=8)
    discriminator = build_dcgan_discriminator((16, 16, 3), 3, filters=8)
    trainer = ConditionalDCGAN(
        generator, discriminator, 8, seed=1, augment_policy=("translation",), augment_p="ada", ada_images=400
    )
    trainer.compile(keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-3))
    batch = one_real_batch()  # the same eight images every step: nothing to learn but them
    values = [float(trainer.train_step(batch)["augment_p"]) for _ in range(40)]
    assert values[0] == 0.0 and values[-1] > 0.2
    assert trainer.state_variables()["augment"][0] is trainer.adaptive.probability


# ---- end to end, through the CLI -------------------------------------------------------------------------


def folder_of(root, classes, per_class=6, seed=0):
    rng = np.random.default_rng(seed)
    for index, name in enumerate(classes):
        for i in range(per_class):
            color = tuple(int(v) for v in rng.integers(0, 255, 3) // (index + 1))
            write_image(root / name / f"{i}.png", size=(16, 16), color=color)
    return root


def folder_run(data, out, *extra):
    return run_script(
        "train_dcgan.py", "--dataset", "folder", "--data-dir", data, "--image-size", "16", "--batch-size", "6",
        "--steps-per-epoch", "3", "--latent-dim", "8", "--seed", "2", "--epochs", "1", "--quiet", "--out", out, *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    out = root / "source"
    result = folder_run(folder_of(root / "source-data", SOURCE), out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def fine_tuned(source_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("fine-tuned")
    out = root / "run"
    data = folder_of(root / "data", TARGET, seed=1)
    extra = ["--init-from", source_run, "--freeze-critic", "1", "--augment", "color", "--augment-p", "ada",
             "--ada-images", "50"]  # fmt: skip
    result = folder_run(data, out, *extra, "--epochs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_a_fine_tuned_run_records_and_logs_where_its_weights_and_classes_came_from(source_run, fine_tuned):
    out, result = fine_tuned
    config = json.loads((out / "config.json").read_text())
    assert config["init_from"] == [str(source_run)]
    assert config["init_weights"]["critic"].endswith("discriminator_epoch_001.h5")
    assert config["init_classes"] == {"carried": ["a", "c"], "new": ["x", "y"]}  # this run's order: a, c, x, y
    assert "classes carried over: a, c; new: x, y" in result.stderr
    assert "frozen discriminator blocks: down1" in result.stderr
    assert config["upsampling"] == "transposed" and "pixel lattice" in result.stderr  # the source's, with a warning
    with open(out / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"] and all(0 <= float(row["augment_p"]) <= 1 for row in rows)


def test_a_fine_tuned_run_trains_all_but_its_frozen_block(source_run, fine_tuned):
    out, _ = fine_tuned
    source = load_network(network_path(source_run / "checkpoints", "discriminator", 1))
    tuned = load_network(network_path(out / "checkpoints", "discriminator", 2))
    assert np.array_equal(source.get_layer("down1_conv").kernel.numpy(), tuned.get_layer("down1_conv").kernel.numpy())
    assert not np.allclose(source.get_layer("down2_conv").kernel.numpy(), tuned.get_layer("down2_conv").kernel.numpy())


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--init-from", "/no/such/run"], "--init-from takes a run directory"),
        (["--init-from", "SOURCE", "--image-size", "32"], "--image-size must match"),
        (["--init-from", "SOURCE", "--freeze-critic", "5"], "has 2 blocks"),
        (["--freeze-critic", "1"], "needs --init-from"),
        (["--augment-p", "ada"], "give --augment POLICY too"),
    ],
)
def test_transfer_mistakes_are_one_line_with_exit_code_2(source_run, tmp_path, extra, message):
    extra = [str(source_run) if arg == "SOURCE" else arg for arg in extra]
    result = folder_run(folder_of(tmp_path / "data", ["a", "b"]), tmp_path / "run", *extra)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and message in result.stderr.strip().splitlines()[-1]


def test_the_wgan_gp_refuses_the_adaptive_probability_with_the_reason(tmp_path):
    result = run_script("train_wgan_gp.py", "--dataset", "digits", "--augment", "color", "--augment-p", "ada",
                        "--out", tmp_path / "run")  # fmt: skip
    assert result.returncode == 2 and "no fixed sign" in result.stderr.strip().splitlines()[-1]


def test_a_stopped_fine_tune_resumes_to_the_same_weights_and_the_same_adaptive_p(fine_tuned, tmp_path):
    from tests.test_trustworthy import assert_same_weights, crash_after_epoch

    straight, _ = fine_tuned
    resumed = tmp_path / "resumed"
    crash_after_epoch(straight, resumed, 1)
    result = run_script("train_dcgan.py", "--resume", "--out", resumed, "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_weights(straight, resumed, ("generator", "discriminator"), 2)
    with (
        np.load(straight / "checkpoints" / "state_epoch_002.npz") as a,
        np.load(resumed / "checkpoints" / "state_epoch_002.npz") as b,
    ):
        keys = sorted(k for k in a.files if k.startswith("augment/"))
        assert len(keys) == 3 and all(np.array_equal(a[k], b[k]) for k in keys)
        assert float(b["augment/0002"]) == 2 * 6  # images counted since the adjustment after step 4 of 6


def test_a_wgan_gp_run_of_another_width_is_refused_with_one_line(tmp_path):
    tiny = ["--dataset", "digits", "--image-size", "16", "--batch-size", "4", "--n-critic", "1", "--latent-dim", "8",
            "--steps-per-epoch", "1", "--epochs", "1", "--seed", "1", "--quiet"]  # fmt: skip
    source = tmp_path / "source"
    trained = run_script("train_wgan_gp.py", *tiny, "--filters", "8", "--out", source)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = run_script("train_wgan_gp.py", *tiny, "--filters", "4", "--init-from", source, "--out", tmp_path / "new")
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr and "another --filters" in last
