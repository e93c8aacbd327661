"""bench/: the FLOP counter is exact on small models, and the throughput script runs and prints a row."""

import importlib.util

import keras
import pytest
import tensorflow as tf

from bench.flops import dcgan_iteration_flops, forward_flops, graph_flops, layer_flops, wgan_gp_iteration_flops
from models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from models.trainers import ConditionalDCGAN, ConditionalWGANGP
from models.wgan_gp import build_wgan_critic, build_wgan_generator
from tests.conftest import ROOT, run_script


def test_flops_of_a_small_conv_dense_model_are_exact():
    image = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(image)  # 2 * 8*8*4 * 3*3*3 = 13,824
    x = keras.layers.Conv2D(6, 2, strides=2)(x)  # 2 * 4*4*6 * 2*2*4 = 3,072
    x = keras.layers.GroupNormalization(groups=1)(x)  # not counted
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(5)(x)  # 2 * 96 * 5 = 960
    model = keras.Model(image, x)
    assert forward_flops(model) == 13_824 + 3_072 + 960


def test_transposed_convolution_counts_each_input_pixel_once():
    image = keras.Input((4, 4, 8))
    up = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")
    keras.Model(image, up(image))
    assert layer_flops(up) == 2 * 4 * 4 * 8 * 3 * 3 * 2  # = the direct count 2 * 8*8*2 * 3*3*8 / 2**2


def test_iteration_formulas():
    a = keras.Input((3,))
    generator = keras.Model(a, keras.layers.Dense(2)(a))  # F_G = 12 per sample
    b = keras.Input((2,))
    critic = keras.Model(b, keras.layers.Dense(1)(b))  # F_D = 4 per sample
    assert dcgan_iteration_flops(generator, critic, batch_size=10) == 10 * (4 * 12 + 8 * 4)
    assert wgan_gp_iteration_flops(generator, critic, batch_size=10, n_critic=5) == 10 * (8 * 12 + 62 * 4)


def compiled(trainer):
    trainer.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
    return trainer


def one_batch(batch, size, channels, classes):
    images = tf.random.uniform((batch, size, size, channels), -1, 1)
    return images, tf.one_hot(tf.range(batch) % classes, classes)


def test_dcgan_layer_count_agrees_with_the_traced_train_step():
    """The convention behind the achieved GFLOP/s, checked on the ops TensorFlow actually runs."""
    shape, classes, batch = (16, 16, 3), 4, 8
    generator = build_dcgan_generator(shape, classes, latent_dim=8, filters=8)
    discriminator = build_dcgan_discriminator(shape, classes, filters=8)
    trainer = compiled(ConditionalDCGAN(generator, discriminator, latent_dim=8))
    traced = tf.function(trainer.train_step).get_concrete_function(one_batch(batch, 16, 3, classes))
    counted = dcgan_iteration_flops(generator, discriminator, batch)
    # The convention also counts gradients to the first layers' inputs, which nothing needs;
    # 8% of this tiny model, 1.6% of the paper's 28 px DC-GAN.
    assert 0.9 * counted < graph_flops(traced) <= counted


def test_wgan_gp_layer_count_agrees_with_the_traced_critic_and_generator_steps():
    """Including the gradient penalty's double backward (6 F_D by the convention)."""
    shape, classes, batch = (16, 16, 3), 4, 8
    generator = build_wgan_generator(shape, classes, latent_dim=8, filters=8)
    critic = build_wgan_critic(shape, classes, filters=8)
    trainer = compiled(ConditionalWGANGP(generator, critic, latent_dim=8, n_critic=1))
    real, labels = one_batch(batch, 16, 3, classes)
    critic_step = tf.function(lambda r, c: trainer.critic_step(r, c, 0)).get_concrete_function(real, labels)
    generator_step = tf.function(trainer.generator_step).get_concrete_function(labels)
    traced = graph_flops(critic_step) + graph_flops(generator_step)
    counted = wgan_gp_iteration_flops(generator, critic, batch, n_critic=1)
    assert 0.9 * counted < traced <= counted
    per_pass = batch * forward_flops(critic)
    assert graph_flops(critic_step) > batch * forward_flops(generator) + 11 * per_pass  # the penalty is counted


def test_throughput_script_prints_a_table_row_and_where_the_time_went():
    done = run_script(ROOT / "bench" / "throughput.py", "--quick", "--only", "dcgan-28", "--profile", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| dcgan-28 | DC-GAN | 28 | 64 |")]
    assert len(rows) == 1, done.stdout
    ms = float(rows[0].split("|")[9].split()[0])
    assert ms > 0
    profile = done.stdout.split("op time per iteration by op type:")[1].splitlines()
    op_ms = {line.split()[0]: float(line.split()[1]) for line in profile[1:5]}
    assert any("Conv2D" in op for op in op_ms), profile[:6]  # the largest op types are convolutions
    assert all(value > 0 for value in op_ms.values())


def test_op_times_are_read_from_tensorflows_profile():
    from bench.step_profile import counted_share, profile_tensorflow

    x, w = tf.random.normal((8, 32, 32, 16)), tf.random.normal((3, 3, 16, 16))
    step = tf.function(lambda x, w: tf.reduce_sum(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME"))))
    step(x, w)
    op_ms = profile_tensorflow(lambda: [step(x, w).numpy() for _ in range(3)], steps=3)
    convolutions = [op for op in op_ms if "Conv2D" in op]
    assert convolutions and all(op_ms[op] > 0 for op in convolutions), op_ms
    assert any("Relu" in op for op in op_ms) and any("Sum" in op for op in op_ms), op_ms
    assert 0 < counted_share(op_ms) < 1


def trainable_parameters(model) -> int:
    return sum(int(tf.size(weight)) for weight in model.trainable_weights)


def test_throughput_cases_train_what_the_script_would():
    from bench.throughput_cases import CASES, paper_settings

    for name in ("wgan-64", "wgan-64-torch", "wgan-64-bf16"):
        settings, _, _ = paper_settings(CASES[name])
        assert settings.losses.fake_class_loss is False, name  # WikiArt's, resolved as train_wgan_gp.py does
        assert settings.optimisation.n_critic == 5 and settings.optimisation.batch_size == 32, name


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed (bench-only dependency)")
@pytest.mark.parametrize("size", [16, 32])
def test_torch_twin_of_the_wgan_gp_networks_has_the_keras_parameters_and_shapes(size):
    """bench/torch_reference.py mirrors models/wgan_gp.py layer for layer, so PyTorch and Keras rows compare."""
    from types import SimpleNamespace

    import torch

    from bench.torch_reference import WCritic, WGenerator, keras_twin

    shape, classes, latent, filters, batch = (size, size, 3), 4, 8, 8, 2
    settings = SimpleNamespace(networks=SimpleNamespace(latent_dim=latent, filters=filters))
    keras_networks = keras_twin(SimpleNamespace(model="wgan"), settings, shape, classes)  # what the FLOPs count
    generator, critic = keras_networks.generator, keras_networks.critic
    assert any(layer.name == "res4_add" for layer in critic.layers)
    twin_g = WGenerator(size, 3, classes, latent, filters)
    twin_d = WCritic(size, 3, classes, filters)
    assert sum(p.numel() for p in twin_g.parameters()) == trainable_parameters(generator)
    assert sum(p.numel() for p in twin_d.parameters()) == trainable_parameters(critic)
    # BatchNorm's moving statistics: non-trainable Keras weights, PyTorch buffers (less the scalar step counters)
    moving = sum(int(tf.size(weight)) for weight in generator.non_trainable_weights)
    assert sum(b.numel() for b in twin_g.buffers() if b.dim()) == moving
    with torch.no_grad():
        image = twin_g(torch.randn(batch, latent), torch.eye(classes)[:batch])
        score, logits = twin_d(image)
    assert tuple(image.shape) == (batch, 3, size, size) and generator.output_shape == (None, size, size, 3)
    assert tuple(score.shape) == (batch, 1) and tuple(logits.shape) == (batch, classes)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed (bench-only dependency)")
@pytest.mark.parametrize("upsampling", ["transposed", "nearest"])
def test_torch_twin_of_the_dcgan_generator_doubles_as_the_keras_one(upsampling):
    """From 64 px the DC-GAN doubles by nearest neighbour: the twin must train the same network."""
    from types import SimpleNamespace

    import torch

    from bench.torch_reference import DCGenerator, keras_twin

    shape, classes, latent, batch = (32, 32, 3), 4, 8, 2
    settings = SimpleNamespace(networks=SimpleNamespace(latent_dim=latent, upsampling=upsampling))
    generator = keras_twin(SimpleNamespace(model="dcgan"), settings, shape, classes).generator
    twin = DCGenerator(32, 3, classes, latent, upsampling=upsampling)
    assert sum(p.numel() for p in twin.parameters()) == trainable_parameters(generator)
    with torch.no_grad():
        image = twin.eval()(torch.randn(batch, latent), torch.eye(classes)[:batch])
    assert tuple(image.shape) == (batch, 3, 32, 32) and generator.output_shape == (None, 32, 32, 3)


def test_the_gpu_report_says_it_found_no_gpu_and_measures_the_cpu_when_asked(tmp_path, capsys, monkeypatch):
    """On this CPU: the report stops with a line saying why; --cpu runs one tiny case through the same path."""
    import json

    import tensorflow as tf

    from bench import gpu_report

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU: the report measures it (bench/gpu_report.py)")
    assert gpu_report.main([]) == 1  # in this process: a script start fewer
    refused = capsys.readouterr().out
    assert refused.startswith("no GPU found: ") and "--cpu runs its cases on this CPU instead" in refused
    # The driver in this process too (the peak and the case run in fresh processes, as always); --cpu's
    # CUDA_VISIBLE_DEVICES="" through monkeypatch, undone after the test.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    done = gpu_report.main(["--cpu", "--image-size", "16", "--filters", "8", "--batch", "4", "--steps", "2",
                            "--warmup", "1", "--quick", "--only", "wgan-float16",
                            "--json", str(tmp_path / "r.json")])  # fmt: skip
    stdout = capsys.readouterr().out
    assert done == 0, stdout[-2000:]
    rows = [line for line in stdout.splitlines() if line.startswith("| WGAN-GP | float16 | off |")]
    assert len(rows) == 1, stdout
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    first, ms, per_call, per_second, minutes, share, memory = cells[3:]
    assert float(first) > 0 and float(ms) > 0 and memory == "-" and per_call == "1"  # no GPU: its memory, one a call
    assert float(per_second) == pytest.approx(1000 * 4 * 5 / float(ms), rel=0.02)  # n_critic batches of 4 a step
    assert float(minutes) == pytest.approx(66_000 / float(per_second) / 60, rel=0.02)
    assert float(share.rstrip("x")) == pytest.approx(float(minutes) / 15, rel=0.02)
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["device"][0].startswith("no GPU found") and set(saved["peaks"]) >= {
        "matmul float16",
        "conv3x3 float32",
    }
    assert [case["case"] for case in saved["cases"]] == ["wgan-float16"]
