"""Looking at a run: sample.py on its checkpoints, the notebooks, and the TensorBoard logs."""

import io
import json
import shutil

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

import sample
from base.errors import UserError
from base.rundir import latest_generator
from base.terminal import STARTUP_NOISE
from sampling import grid_pixel_size
from tests.conftest import ROOT, run_script, tiny_digits
from training.cli import run_cli

TINY = [*tiny_digits(steps=2), "--epochs", "1", "--tensorboard"]
DIGITS = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    result = run_script("train_dcgan.py", *TINY, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def generator_h5(tiny_run):
    return tiny_run / "checkpoints" / "generator_epoch_001.h5"


# flags -> (rows, columns, row labels, column labels, title) of the PNG
GRIDS = {
    "class": ([], (10, 8, DIGITS, None, None)),
    "mix": (
        ["--classes", "2", "5", "7", "--mix", "sum"],
        (3, 3, ["2", "5", "7"], ["2", "5", "7"], "mixing matrix: e_i + e_j"),
    ),
    "styles": (["--classes", "0", "9", "--n", "3"], (3, 2, None, ["0", "9"], None)),
    "interp": (
        ["--classes", "3", "7", "--steps", "5", "--n", "2"],
        (2, 5, None, ["0.00", "0.25", "0.50", "0.75", "1.00"], "3 -> 7"),
    ),
    "one": (["--classes", "4", "--n", "12", "--columns", "4"], (3, 4, None, None, "4")),
}


@pytest.mark.parametrize("kind", list(GRIDS))
def test_sample_script_draws_every_grid_kind(tiny_run, generator_h5, tmp_path, capsys, kind):
    flags, (rows, cols, row_labels, col_labels, title) = GRIDS[kind]
    out = tmp_path / "deep" / f"{kind}.png"
    code = run_cli(sample.main, ["--checkpoint", str(generator_h5), "--grid", kind, "--out", str(out), *flags])
    assert code == 0, capsys.readouterr().err
    assert f"{rows} x {cols} images" in capsys.readouterr().out
    picture = Image.open(out)
    assert picture.size == grid_pixel_size(rows, cols, 16, row_labels, col_labels, title)
    assert np.asarray(picture.convert("L")).std() > 5  # drawn content, not an empty canvas
    if kind == "class":  # by default the run's seed and sample count: the run's own epoch grid, title aside
        ours = np.asarray(picture.convert("RGB")).astype(int)
        epoch = np.asarray(Image.open(tiny_run / "samples" / "epoch_001.png").convert("RGB")).astype(int)
        cells = grid_pixel_size(10, 8, 16)[1]  # the height of the labelled rows of images
        assert ours.shape[1] == epoch.shape[1] and np.abs(ours[-cells:] - epoch[-cells:]).max() <= 1


def test_sample_script_works_on_a_checkpoint_outside_its_run(tiny_run, generator_h5, tmp_path, capsys):
    alone = tmp_path / "generator.h5"
    shutil.copy(generator_h5, alone)
    code = run_cli(
        sample.main, ["--checkpoint", str(alone), "--grid", "one", "--n", "8", "--out", str(tmp_path / "a.png")]
    )
    assert code == 0 and "(seed 0)" in capsys.readouterr().out  # no config.json: indices and seed 0
    seed = json.loads((tiny_run / "config.json").read_text())["seed"]
    run_cli(
        sample.main, ["--checkpoint", str(generator_h5), "--grid", "one", "--n", "8", "--out", str(tmp_path / "b.png")]
    )
    assert f"(seed {seed})" in capsys.readouterr().out


def test_sample_script_refuses_a_discriminator_checkpoint(tiny_run, tmp_path):
    """In a fresh process, as a user runs it: exit code 2 and one line, no traceback."""
    h5 = tiny_run / "checkpoints" / "discriminator_epoch_001.h5"
    result = run_script("sample.py", "--checkpoint", h5, "--grid", "class", "--out", tmp_path / "x.png")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0] == result.stderr.strip().splitlines()[-1]
    assert "is not a generator: it takes 1 input(s) (image) and gives 2 output(s)" in errors[0]
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--grid", "mix", "--classes", "0", "12"], "error: class 12 is out of range: the generator has 10 classes"),
        (["--grid", "one", "--classes", "seven"], "error: unknown class 'seven'; the classes are 0, 1, 2"),
        (["--grid", "mix", "--n", "3"], "--n does not apply to --grid mix"),
        (["--grid", "interp", "--classes", "3"], "--grid interp takes exactly 2 class(es)"),
        (["--grid", "one", "--n", "10"], "--n must be a multiple of --columns 8"),
        (["--grid", "class", "--out", "x.jpg"], "--out x.jpg must name a .png file"),
        (["--grid", "class", "--checkpoint", "/no/such.h5"], "error: no such checkpoint file: /no/such.h5"),
    ],
)
def test_sample_script_errors_are_one_line_with_exit_code_2(generator_h5, tmp_path, capsys, flags, message):
    argv = ["--checkpoint", str(generator_h5), "--out", str(tmp_path / "x.png"), *flags]
    try:
        code = run_cli(sample.main, argv)
    except SystemExit as stop:  # argparse's errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x.png").exists()


def test_sample_help_loads_no_tensorflow():
    probe = "import sys, sample; sample.build_parser(); print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = run_script("-c", probe)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]


def execute_notebook(name, parameters, monkeypatch):
    """Run a notebook top to bottom from notebooks/, as a user would; a failing cell raises."""
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the notebook must find the project itself
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as a user starts Jupyter
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as headless servers and CI set it: once, no figure showed at all
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    printed = "".join(o.get("text", "") for o in outputs)
    assert not [noise for noise in STARTUP_NOISE if noise in printed]  # no TensorFlow start-up notices
    return outputs


def images_in(outputs):
    return [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]


def test_samples_notebook_runs_on_a_run_directory(tiny_run, monkeypatch):
    outputs = execute_notebook("samples", {"RUN_DIR": str(tiny_run)}, monkeypatch)
    assert len(images_in(outputs)) == 4  # losses, small multiples, newest grid, mixing matrix
    assert any(str(tiny_run) in o.get("text", "") for o in outputs)


def test_mixing_notebook_runs_on_a_checkpoint(generator_h5, monkeypatch):
    parameters = {"CHECKPOINT": str(generator_h5), "CLASSES": [0, "3", 5], "PAIR": ["3", "7"]}
    outputs = execute_notebook("mixing", parameters, monkeypatch)
    assert len(images_in(outputs)) == 3  # mixing matrix, styles, interpolation
    assert any("showing ['0', '3', '5']" in o.get("text", "") for o in outputs)


@pytest.mark.parametrize("name", ["samples", "mixing"])
def test_notebooks_are_committed_without_outputs(name):
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "sys.path.insert(0, str(ROOT))" in code[0].source


def read_events(folder):
    """{tag: [(step, value)]} from every event file in a TensorBoard folder."""
    import tensorflow as tf

    events = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                events.setdefault(value.tag, []).append((event.step, tf.make_ndarray(value.tensor)))
    return events


def test_tensorboard_logs_scalars_and_the_sample_grid(tiny_run):
    scalars = read_events(tiny_run / "tensorboard" / "train")
    assert {"epoch_d_loss", "epoch_g_loss", "epoch_d_class_acc", "epoch_g_class_acc"} <= set(scalars)
    assert [step for step, _ in scalars["epoch_d_loss"]] == [0] and np.isfinite(scalars["epoch_d_loss"][0][1])
    images = read_events(tiny_run / "tensorboard" / "samples")["samples"]
    assert [step for step, _ in images] == [0]
    width, height, png = images[0][1]
    expected = grid_pixel_size(10, 8, 16, DIGITS, title="epoch 1")
    assert (int(width), int(height)) == expected
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert np.array_equal(picture, np.asarray(Image.open(tiny_run / "samples" / "epoch_001.png").convert("RGB")))
    assert json.loads((tiny_run / "config.json").read_text())["tensorboard"] is True


def test_latest_generator_is_the_last_complete_checkpoint(tiny_run, generator_h5):
    assert latest_generator(tiny_run) == generator_h5.with_name(
        generator_h5.name.replace("generator_", "generator_ema_")
    )
    assert latest_generator(tiny_run, raw=True) == generator_h5


def test_tensorboard_without_its_package_is_a_clear_error(monkeypatch):
    import importlib.util

    from training.callbacks import tensorboard_callbacks

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "tensorboard" else real(name))
    with pytest.raises(UserError, match="--tensorboard needs the tensorboard package"):
        tensorboard_callbacks("logs", np.zeros((1, 8)), DIGITS)


def test_tensorboard_may_be_turned_on_when_resuming(tmp_path):
    from base.rundir import RunDirectory
    from training.recipes.dcgan import RECIPE
    from training.settings import to_json

    stored = RECIPE.settings("digits", out=str(tmp_path), epochs=2)
    RunDirectory(tmp_path).write_config(to_json(stored, None))
    resumed, _ = RECIPE.settings_from_flags(["--resume", "--out", str(tmp_path), "--tensorboard", "--epochs", "3"])
    assert resumed.run.tensorboard is True and resumed.optimisation.epochs == 3
    assert resumed.replace(tensorboard=False, epochs=2, resume=False) == stored
    with pytest.raises(UserError, match="--lr 0.001 differs"):
        RECIPE.settings_from_flags(["--resume", "--out", str(tmp_path), "--lr", "1e-3"])
