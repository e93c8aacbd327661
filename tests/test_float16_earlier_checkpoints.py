"""A float16 checkpoint saved before the loss scale had a state group of its own resumes in any precision.

The earlier layout, as commit 6e20fc9 (the last on main before the loss-scale
group) writes it: ``ConditionalGAN.state_variables`` gave each role's
optimizer as ``optimizer.variables``, which for Keras 3.15's
``LossScaleOptimizer`` is its own ``_variables`` ahead of the inner
optimizer's: ``iterations`` and ``learning_rate`` (the wrapper's, unused:
0 and 0.0), ``step_counter``, ``dynamic_scale``, then the inner optimizer's
``iterations``, ``learning_rate`` and slots. A run of that commit
(``train_wgan_gp.py --dataset digits --epochs 1 --filters 8 --mixed-precision
float16``) saved ``generator_optimizer/0000`` .. ``0003`` as 0, 0.0, 5, 32768.0
and no ``*_loss_scale`` group. Its checkpoints are too large to keep here
(0.7 MB), so ``earlier_layout`` rewrites a float16 checkpoint of today's code
into that layout with the same ``optimizer.variables``.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from base.errors import UserError
from base.rundir import Position, state_path
from training.checkpoints import apply_checkpoint, read_checkpoint, save_checkpoint
from training.devices import set_precision
from training.recipes.dcgan import RECIPE as DCGAN

SHAPE, CLASSES, POSITION = (16, 16, 1), 3, Position(1)
CARRIED = {"generator": (7, 2.0**10), "discriminator": (3, 2.0**9)}  # step counter and scale, unlike a fresh start's


def trainer(precision):
    keras.mixed_precision.set_global_policy("float32")
    if precision == "float16":
        set_precision("mixed_float16")
    settings = DCGAN.settings("digits", seed=0, latent_dim=8, jit=False, mixed_precision=precision)
    return DCGAN.build_trainer(settings, SHAPE, CLASSES)


def fit(model, steps):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, *SHAPE)).astype("float32")
    conditions = np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, 8)]
    model.fit(
        tf.data.Dataset.from_tensors((images, conditions)).repeat(),
        epochs=1,
        steps_per_epoch=steps,
        verbose=0,
        shuffle=False,
    )


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A float16 checkpoint in the earlier layout: ``(its folder, its state arrays, the inner optimizers' counts)``."""
    folder = tmp_path_factory.mktemp("earlier") / "checkpoints"
    saved = trainer("float16")
    fit(saved, 3)
    for role, optimizer in saved.optimizers().items():
        optimizer.step_counter.assign(CARRIED[role][0])
        optimizer.dynamic_scale.assign(CARRIED[role][1])
    save_checkpoint(saved, folder, POSITION)
    path = state_path(folder, POSITION)
    with np.load(path) as arrays:
        state = {key: arrays[key] for key in arrays.files if "_optimizer/" not in key and "_loss_scale/" not in key}
    for role, optimizer in saved.optimizers().items():
        state.update({f"{role}_optimizer/{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)})
    np.savez(path, **state)
    counts = {role: len(optimizer.inner_optimizer.variables) for role, optimizer in saved.optimizers().items()}
    keras.mixed_precision.set_global_policy("float32")
    yield folder, state, counts
    keras.mixed_precision.set_global_policy("float32")


def resume(model, folder):
    apply_checkpoint(model, folder, *read_checkpoint(model, folder, POSITION), POSITION)


def assert_slots_as_in_the_file(model, state):
    for role in model.optimizers():
        keys = sorted(key for key in state if key.startswith(f"{role}_optimizer/"))
        restored = model.state_variables()[f"{role}_optimizer"]
        assert len(keys) == len(restored) + 4
        for key, variable in zip(keys[4:], restored, strict=True):
            np.testing.assert_array_equal(np.asarray(variable.numpy()), state[key])


def test_float16_resumes_with_the_carried_loss_scale_and_the_same_slots(earlier, caplog):
    folder, state, counts = earlier
    model = trainer("float16")
    with caplog.at_level("INFO", logger="training.checkpoints"):
        resume(model, folder)
    (line,) = [r.getMessage() for r in caplog.records if "written before" in r.getMessage()]
    assert "dropped" not in line
    assert_slots_as_in_the_file(model, state)
    steps = {}
    for role, optimizer in model.optimizers().items():
        assert int(optimizer.step_counter.numpy()) == CARRIED[role][0]
        assert float(optimizer.dynamic_scale.numpy()) == CARRIED[role][1]
        steps[role] = int(optimizer.iterations.numpy())
        assert steps[role] == int(state[f"{role}_optimizer/0004"]) > 0
    fit(model, 2)
    for role, optimizer in model.optimizers().items():
        skipped = steps[role] + 2 - int(optimizer.iterations.numpy())
        assert float(optimizer.dynamic_scale.numpy()) == CARRIED[role][1] / 2**skipped  # went on from the carried one
    assert all(len(model.state_variables()[f"{role}_optimizer"]) == count for role, count in counts.items())
    keras.mixed_precision.set_global_policy("float32")


def test_float32_resumes_with_the_slots_and_drops_the_loss_scale(earlier, caplog):
    folder, state, _ = earlier
    model = trainer(None)
    with caplog.at_level("INFO", logger="training.checkpoints"):
        resume(model, folder)
    (line,) = [r.getMessage() for r in caplog.records if "written before" in r.getMessage()]
    assert "dropped" in line
    assert not any(group.endswith("_loss_scale") for group in model.state_variables())
    assert_slots_as_in_the_file(model, state)


@pytest.mark.parametrize("change", ["one slot more", "the wrapper's variables out of order"])
def test_a_checkpoint_of_another_layout_still_is_one_line_of_error(earlier, tmp_path, change):
    folder, state, counts = earlier
    state = dict(state)
    if change == "one slot more":
        state[f"generator_optimizer/{counts['generator'] + 4:04d}"] = state["generator_optimizer/0006"]
    else:
        state["generator_optimizer/0000"], state["generator_optimizer/0001"] = (
            state["generator_optimizer/0001"],
            state["generator_optimizer/0000"],
        )
    model = trainer(None)
    networks, _ = read_checkpoint(model, folder, POSITION)
    with pytest.raises(UserError) as raised:
        apply_checkpoint(model, folder, networks, state, POSITION)
    got = sum(key.startswith("generator_optimizer/") for key in state)
    assert str(raised.value) == (
        f"the checkpoint at {POSITION} has {got} generator optimizer variables, this run has {counts['generator']}"
    )
