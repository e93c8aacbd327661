"""Critic pretraining, global conditioning and the creative (CAN, damped) generator terms."""

import csv
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from losses import damped_style_loss, damped_target, posterior_entropy, style_ambiguity_loss
from models.trainers import ConditionalWGANGP
from models.wgan_gp import build_wgan_critic, build_wgan_generator
from tests.conftest import run_script, shared_data
from tests.test_wgan_gp import RELOAD


def softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_style_ambiguity_is_cross_entropy_against_uniform():
    logits = np.array([[2.0, 0.0, -1.0, 0.5], [0.0, 0.0, 0.0, 0.0]], np.float32)
    expected = np.mean(-np.log(softmax(logits)).mean(-1))
    assert float(style_ambiguity_loss(logits)) == pytest.approx(expected, rel=1e-5)
    assert float(style_ambiguity_loss(logits[1:])) == pytest.approx(math.log(4), rel=1e-5)  # its minimum
    assert float(style_ambiguity_loss(logits[:1])) > math.log(4)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_damped_target_and_loss(alpha):
    condition = np.array([[0.0, 1.0, 0.0]], np.float32)
    target = np.asarray(damped_target(condition, alpha))
    assert np.allclose(target, (1 - alpha) * condition + alpha / 3) and np.isclose(target.sum(), 1)
    logits = np.array([[0.2, 1.5, -0.3]], np.float32)
    expected = np.sum((softmax(logits) - target) ** 2)
    assert float(damped_style_loss(condition, logits, alpha)) == pytest.approx(expected, rel=1e-5)


def test_posterior_entropy_peaks_at_log_k():
    assert float(posterior_entropy(np.zeros((2, 5), np.float32))) == pytest.approx(math.log(5), rel=1e-6)
    assert float(posterior_entropy(np.array([[10.0, 0, 0, 0, 0]], np.float32))) < 0.01


@pytest.mark.parametrize("mode", ["off", "can", "damped"])
def test_trainer_uses_the_chosen_style_term(mode):
    trainer = ConditionalWGANGP(
        build_wgan_generator((8, 8, 1), 3, 4, filters=4),
        build_wgan_critic((8, 8, 1), 3, filters=4),
        4,
        creative=mode,
        ambiguity_weight=2.0,
        damping=0.25,
        class_weight=1.5,
    )
    condition = tf.constant([[1.0, 0.0, 0.0]])
    logits = tf.constant([[0.3, -0.2, 1.0]])
    expected = {
        "off": 1.5 * float(tf.nn.softmax_cross_entropy_with_logits(condition, logits)[0]),
        "can": 2.0 * float(style_ambiguity_loss(logits)),
        "damped": 1.5 * float(damped_style_loss(condition, logits, 0.25)),
    }[mode]
    assert float(trainer.style_term(condition, logits)) == pytest.approx(expected, rel=1e-5)
    assert trainer.max_style_entropy == pytest.approx(math.log(3))


def test_global_conditioning_gates_every_up_block():
    generator = build_wgan_generator((16, 16, 1), 3, latent_dim=4, filters=4, conditioning="global")
    names = [layer.name for layer in generator.layers]
    assert {"up1_gated", "up2_gated"} <= set(names)
    probe = keras.Model(
        generator.inputs,
        [generator.get_layer(n).output for n in ("up2_a_c1", "up2_b_c2", "up2_gated", "up2_cond1_spread")],
    )
    z = np.random.default_rng(0).normal(size=(2, 4)).astype("f")
    pre_gate, pre_signal, gated, c1 = (np.asarray(t) for t in probe([z, np.eye(3, dtype="f")[[0, 2]]]))
    assert np.allclose(gated, 1 / (1 + np.exp(-pre_gate)) * np.tanh(pre_signal), atol=1e-5)
    assert c1.shape == gated.shape and np.allclose(c1, c1[:, :1, :1, :])  # one value per channel
    assert not np.allclose(c1[0], c1[1])  # and it depends on the condition
    plain = build_wgan_generator((16, 16, 1), 3, latent_dim=4, filters=4)
    assert not any(name.endswith("_gated") for name in (layer.name for layer in plain.layers))


def read_log(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


TINY = ["--image-size", "32", "--batch-size", "8", "--filters", "8", "--latent-dim", "8", "--seed", "2", "--quiet"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    wikiart = shared_data("wikiart")
    root = tmp_path_factory.mktemp("pretrain")
    out = root / "critic"
    result = run_script(
        "pretrain_critic.py",
        "--dataset",
        "wikiart",
        "--data-dir",
        wikiart,
        *TINY,
        "--steps",
        "4",
        "--steps-per-epoch",
        "2",
        "--adversarial",
        "--cache-dir",
        root / "cache",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out, wikiart, root / "cache"


def test_pretraining_reports_validation_style_accuracy(pretrained):
    out, _, _ = pretrained
    rows = read_log(out / "log.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]  # --steps 4 at 2 steps per epoch
    assert {"style_acc", "val_style_acc", "wasserstein", "gp"} <= set(rows[0])
    assert all(0.0 <= float(r["val_style_acc"]) <= 1.0 for r in rows)
    assert "validation: 160 images of style_val.csv" in (out / "train.log").read_text()
    critic = keras.models.load_model(out / "critic_pretrained.h5", compile=False)
    assert [tuple(o.shape) for o in critic.outputs] == [(None, 1), (None, 8)]


def test_pretraining_caches_its_validation_split_like_its_training_split(pretrained, monkeypatch):
    """style_val.csv's paintings went into --cache-dir: the pretraining's own split reads them back undecoded."""
    import data.images
    from base.rundir import RunDirectory
    from data import Splits
    from training.recipes.critic_pretraining import RECIPE

    out, _, cache = pretrained
    settings = RECIPE.build_settings(RunDirectory(out).read_config())  # the settings the run recorded
    assert settings.data.cache == cache
    decoded = []

    def count(job):
        decoded.append(job[0])
        return None, "decoded again"

    monkeypatch.setattr(data.images, "_try_decode", count)
    splits = RECIPE.split(settings, Splits(settings.data))
    assert len(splits.validation.labels) == 160 and len(splits.train.labels) > 0
    assert decoded == []


def test_wgan_starts_from_the_pretrained_critic_with_creative_loss(pretrained, tmp_path):
    out, wikiart, cache = pretrained
    run = tmp_path / "run"
    result = run_script(
        "train_wgan_gp.py",
        "--dataset",
        "wikiart",
        "--data-dir",
        wikiart,
        *TINY,
        "--n-critic",
        "2",
        "--steps-per-epoch",
        "2",
        "--epochs",
        "1",
        "--critic-weights",
        out / "critic_pretrained.h5",
        "--creative",
        "can",
        "--conditioning",
        "global",
        "--cache-dir",
        cache,
        "--out",
        run,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "critic starts from" in result.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["creative"] == "can" and config["fake_class_loss"] is False
    row = read_log(run / "log.csv")[-1]
    assert float(row["style_entropy_max"]) == pytest.approx(math.log(8), rel=1e-5)
    assert 0.0 <= float(row["style_entropy"]) <= float(row["style_entropy_max"]) + 1e-6
    script = tmp_path / "reload.py"  # the gated generator reloads with no project code
    script.write_text(RELOAD)
    checkpoints = run / "checkpoints"
    reload = run_script(
        script, checkpoints / "generator_epoch_001.h5", checkpoints / "critic_epoch_001.h5", cwd=tmp_path, project=False
    )
    assert reload.returncode == 0, reload.stderr[-3000:]
    assert json.loads(reload.stdout.strip().splitlines()[-1])["images"] == [2, 32, 32, 3]


def test_pretrained_critic_of_another_size_is_refused(pretrained, tmp_path):
    out, wikiart, cache = pretrained
    result = run_script(
        "train_wgan_gp.py",
        "--dataset",
        "wikiart",
        "--data-dir",
        wikiart,
        "--image-size",
        "16",
        "--filters",
        "8",
        "--critic-weights",
        out / "critic_pretrained.h5",
        "--cache-dir",
        cache,
        "--out",
        tmp_path / "run",
        "--quiet",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "(None, 32, 32, 3)" in last and "(None, 16, 16, 3)" in last


def posterior_after_steps(mode, damping=0.5, steps=10, learning_rate=0.5):
    """The critic's style posterior on a fixed batch, before and after plain gradient steps on the style term alone.

    The critic stays fixed; only the generator moves, as in the generator update.
    """
    keras.utils.set_random_seed(3)
    generator = build_wgan_generator((8, 8, 1), 4, latent_dim=4, filters=4)
    critic = build_wgan_critic((8, 8, 1), 4, filters=4)
    trainer = ConditionalWGANGP(generator, critic, 4, creative=mode, damping=damping, class_weight=1.0)
    z = tf.constant(np.random.default_rng(0).normal(size=(8, 4)), tf.float32)
    condition = tf.constant(np.eye(4, dtype="f")[[0, 1, 2, 3, 0, 1, 2, 3]])

    def posterior():
        return tf.nn.softmax(critic(generator([z, condition], training=False), training=False)[1]).numpy()

    def gradient():
        with tf.GradientTape() as tape:
            logits = critic(generator([z, condition], training=False), training=False)[1]
            loss = trainer.style_term(condition, logits)
        return tape.gradient(loss, generator.trainable_variables)

    before = posterior()
    first = gradient()
    for _ in range(steps):
        for variable, grad in zip(generator.trainable_variables, gradient(), strict=True):
            variable.assign_sub(learning_rate * grad)
    return before, posterior(), condition.numpy(), first


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_the_damped_term_moves_the_posterior_towards_its_target(alpha):
    before, after, condition, _ = posterior_after_steps("damped", alpha)
    target = (1 - alpha) * condition + alpha / 4
    distance = lambda p: np.sum((p - target) ** 2, axis=-1).mean()  # noqa: E731
    assert distance(after) < 0.9 * distance(before)
    assert np.mean(np.sum((after - before) * (target - before), axis=-1)) > 0  # moved towards it, not sideways


def test_the_can_term_moves_the_posterior_towards_uniform_and_raises_its_entropy():
    before, after, _, _ = posterior_after_steps("can")
    entropy = lambda p: float(posterior_entropy(np.log(p)))  # noqa: E731
    assert entropy(before) < entropy(after) <= math.log(4) + 1e-6
    assert np.abs(after - 0.25).sum(-1).mean() < np.abs(before - 0.25).sum(-1).mean()


def test_damping_zero_pulls_the_same_way_as_the_papers_class_term():
    before, after, condition, damped = posterior_after_steps("damped", 0.0)
    _, paper_after, _, paper = posterior_after_steps("off")
    flat = lambda grads: np.concatenate([g.numpy().ravel() for g in grads])  # noqa: E731
    cosine = flat(damped) @ flat(paper) / np.linalg.norm(flat(damped)) / np.linalg.norm(flat(paper))
    assert cosine > 0.5
    requested = lambda p: (p * condition).sum(-1).mean()  # noqa: E731
    assert requested(after) > requested(before) and requested(paper_after) > requested(before)


@pytest.mark.parametrize("scale", [0.1, 1.0, 30.0])
def test_style_entropy_stays_between_zero_and_log_k(scale):
    logits = np.random.default_rng(1).normal(size=(64, 8)).astype("f") * scale
    assert 0.0 <= float(posterior_entropy(logits)) <= math.log(8) + 1e-6
