"""tf.distribute on the CPU: mirrored over 2 logical devices equals one device; multi-worker on loopback."""

import csv
import json
import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_script, tiny_digits

ONE_STEP = """
import json, sys, traceback
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from training.recipes import dcgan, wgan_gp


def one_step(which, strategy, initial=None):
    recipe = (wgan_gp if which == "wgan" else dcgan).RECIPE
    given = dict(latent_dim=8, seed=7, jit=False, epochs=1, mix_fraction=0.5, ema_decay=0.5,
                 augment=["color", "translation", "cutout"])
    if which == "dcgan-ada":  # ADA's sign counts must be global-batch sums on any number of replicas
        given.update(augment_p="ada")
    if which == "wgan":
        given.update(filters=8, n_critic=2)
    settings = recipe.settings("digits", **given)
    shape, classes, batch = (16, 16, 1), 3, 8
    rng = np.random.default_rng(0)
    group = (given["n_critic"],) if which == "wgan" else ()
    images = rng.uniform(-1, 1, (batch, *group, *shape)).astype("float32")
    conditions = np.eye(classes, dtype="float32")[rng.integers(0, classes, (batch, *group))]
    stream = tf.data.Dataset.from_tensors((images, conditions))
    with strategy.scope():
        trainer = recipe.build_trainer(settings, shape, classes, steps_per_epoch=1)
        # plain SGD: unlike Adam, its step is proportional to the gradient, so a wrong
        # averaging over replicas would show in the weights
        trainer.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05))
        if initial is not None:
            for network, weights in zip(trainer.networks().values(), initial):
                network.set_weights(weights)
            for average, variable in zip(trainer.generator_average.averages, trainer.generator.trainable_variables):
                average.assign(variable)  # the average starts from the same weights too
    before = [network.get_weights() for network in trainer.networks().values()]
    history = trainer.fit(stream, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    after = [network.get_weights() for network in trainer.saved_networks().values()]  # the weight average too
    assert len(after) == 3
    if trainer.adaptive is not None:
        after.append([np.asarray(v.numpy()) for v in trainer.adaptive.variables])
    return before, after, history.history


def report(which, mirrored):
    # One fixed draw of the networks, so that a failure names a real difference. Unseeded, the networks
    # changed from run to run, and a rare draw differed by 2% of its step: Keras's synchronized BatchNorm
    # takes the variance as E[x^2] - E[x]^2 (on one device as on two), which loses a channel's variance to
    # round-off when its mean is far above its spread, differently for each summation order. The seed
    # also resets Keras's global seed generator: each trainer gets the draw a fresh process would.
    keras.utils.set_random_seed(7)
    start, single, single_logs = one_step(which, tf.distribute.get_strategy())
    _, multi, multi_logs = one_step(which, mirrored, start)
    moved = max(float(np.abs(a - b).max()) for net0, net1 in zip(start, single) for a, b in zip(net0, net1))
    differ = max(float(np.abs(a - b).max()) for net0, net1 in zip(single, multi) for a, b in zip(net0, net1))
    ada = None
    if len(single) == 4:
        ada = {"single": [float(v) for v in single[-1]], "multi": [float(v) for v in multi[-1]]}
    return {"replicas": mirrored.num_replicas_in_sync, "moved": moved, "differ": differ, "ada": ada,
            "single": {k: v[-1] for k, v in single_logs.items()}, "multi": {k: v[-1] for k, v in multi_logs.items()}}


mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
for which in sys.argv[1:]:  # one process for every variant: TensorFlow starts once
    try:
        print(json.dumps({"which": which, **report(which, mirrored)}), flush=True)
    except Exception:
        print(json.dumps({"which": which, "error": traceback.format_exc()}), flush=True)
"""
STEP_VARIANTS = ["dcgan", "dcgan-ada", "wgan"]


@pytest.fixture(scope="module")
def one_step_reports(tmp_path_factory):
    """Each variant's report of one step on one device and on two, from one fresh process."""
    script = tmp_path_factory.mktemp("one_step") / "one_step.py"
    script.write_text(ONE_STEP)
    result = run_script(script, *STEP_VARIANTS)  # on the CPU: one CPU against two logical CPUs
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"which"')]
    return {report.pop("which"): report for report in reports}


@pytest.mark.parametrize("which", STEP_VARIANTS)
def test_mirrored_step_equals_single_device_step(one_step_reports, which):
    report = one_step_reports[which]
    assert "error" not in report, report.get("error")
    assert report["replicas"] == 2
    assert report["moved"] > 1e-4  # the step changed the weights...
    assert report["differ"] <= 1e-2 * report["moved"]  # ...and the same on 1 and on 2 replicas
    if which == "dcgan-ada":
        assert report["ada"]["single"][2] == report["ada"]["multi"][2] == 8  # the global batch's signs, counted once
        assert report["ada"]["single"][1] == report["ada"]["multi"][1]
    for name, value in report["single"].items():  # losses, the penalty included, aggregated over replicas
        assert value == pytest.approx(report["multi"][name], rel=1e-4, abs=1e-5), name


@pytest.mark.parametrize("script", ["train_dcgan.py", "train_wgan_gp.py"])
def test_mirrored_over_one_device_trains(tmp_path, script):
    """One CPU, as on a one-GPU workstation: the WGAN-GP's critic loop must not hold a merge_call."""
    out = tmp_path / "run"
    small = ["--filters", "8", "--n-critic", "2"] if script == "train_wgan_gp.py" else []
    result = run_script(script, *tiny_digits(steps=2), *small, "--epochs", "1", "--strategy", "mirrored",
                        "--out", out)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MirroredStrategy over 1 replica(s), batch 16" in result.stderr
    with open(out / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in rows] == [1]
    losses = [float(value) for key, value in rows[0].items() if key.endswith("_loss")]
    assert losses and all(abs(loss) < 1e6 for loss in losses)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_local_workers_write_one_run_directory(tmp_path):
    out = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    args = [sys.executable, "train_dcgan.py", *tiny_digits(seed=11), "--epochs", "2", "--strategy", "multiworker",
            "--out", str(out)]  # fmt: skip
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = dict(os.environ, TF_CONFIG=tf_config, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
        env["CUDA_VISIBLE_DEVICES"] = ""  # two processes on one machine: the CPU each, not one GPU twice
        workers.append(
            subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    assert "MultiWorkerMirroredStrategy over 2 replica(s), global batch 16 = 2 x 8" in outputs[0][1]
    with open(out / "log.csv", newline="") as handle:
        assert [int(row["epoch"]) for row in csv.DictReader(handle)] == [1, 2]
    assert (out / "checkpoints" / "generator_epoch_002.h5").is_file()
    assert json.loads((out / "config.json").read_text())["strategy"] == "multiworker"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the second worker wrote nothing else


def test_multiworker_needs_seed_and_out():
    result = run_script("train_dcgan.py", "--dataset", "digits", "--strategy", "multiworker")
    assert result.returncode == 2
    assert "--strategy multiworker needs --seed and --out" in result.stderr.strip().splitlines()[-1]


def test_one_step_makes_one_all_reduce_per_batch_norm_call_each_way_and_one_per_update():
    """bench/allreduce.py's count of the traced step, against what it derives (tests/test_fused_norms.py: 3 and 2
    for Keras's own call)."""
    result = run_script(ROOT / "bench" / "allreduce.py", "--image-size", "16", "--filters", "8", "--batch", "8",
                        "--n-critic", "2", "--trainers-only", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {row["model"]: row for row in map(json.loads, result.stdout.strip().splitlines()[-2:])}
    for row in rows.values():
        assert row["trainers"] == row["expected_trainers"], row
    assert (rows["dcgan"]["trainers"], rows["dcgan"]["expected_keras"]) == (14, 33)  # 2 + 1 BatchNorms at 16 px
    assert (rows["wgan"]["trainers"], rows["wgan"]["expected_keras"]) == (23, 58)  # 5 in the generator, n_critic 2


KERAS_OVER_REPLICAS = """
import json
import numpy as np
import tensorflow as tf
from bench.allreduce import two_logical_cpus
strategy = two_logical_cpus()
import keras
x, y = np.random.rand(32, 4).astype("f"), np.random.rand(32, 1).astype("f")
report = {}
for name, options in (("jit", dict(jit_compile=True)), ("steps_per_execution", dict(steps_per_execution=2))):
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse", **options)
    try:
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1, verbose=0)
        report[name] = "works"
    except tf.errors.InvalidArgumentError:
        report[name] = "fails"
print(json.dumps(report))
"""


def test_keras_still_cannot_run_xla_or_several_steps_per_call_over_replicas(tmp_path):
    """Why training.recipes.check_devices refuses --jit and --steps-per-execution with a strategy.

    When a Keras release makes either work, this fails: then allow it there.
    """
    script = tmp_path / "over_replicas.py"
    script.write_text(KERAS_OVER_REPLICAS)
    result = run_script(script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"jit": "fails", "steps_per_execution": "fails"}
