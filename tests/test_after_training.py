"""After training: chosen seeds, truncation, one PNG per image, walks and timelapses (sample.py and sampling)."""

import json
import math

import numpy as np
import pytest
from PIL import Image

import sample
import sampling
from base.networks import load_generator
from base.rundir import choose_generator
from sampling.noise import format_seeds, truncation_threshold
from sampling.walks import condition_tour, loop_positions, noise_tour, slerp
from tests.conftest import ROOT, run_script, tiny_digits
from training.cli import run_cli

DIGITS = [str(d) for d in range(10)]
PRETRAINED = ROOT / "pretrained" / "wikiart-dcgan-64px.h5"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    result = run_script("train_dcgan.py", *tiny_digits(steps=2), "--epochs", "3", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def generator_h5(tiny_run):
    return tiny_run / "checkpoints" / "generator_epoch_003.h5"


@pytest.fixture(scope="module")
def averaged(generator_h5):
    """The file sample.py draws by default: the weight average beside the checkpoint given."""
    return load_generator(choose_generator(generator_h5))


def sample_cli(*flags) -> int:
    try:
        return run_cli(sample.main, [str(flag) for flag in flags])
    except SystemExit as stop:  # argparse's own errors
        return stop.code


def pixels(images):
    return sampling.to_pixels(images)


# --- seeds and truncation ---------------------------------------------------------------------------------------


def test_seed_lists_take_commas_and_ranges():
    assert sampling.parse_seeds("1,4-6") == [1, 4, 5, 6]
    assert sampling.parse_seeds(" 7 , 0-1") == [7, 0, 1]  # the order given
    assert format_seeds([1, 4, 5, 6, 9]) == "1, 4-6, 9"
    for text, message in [
        ("6-4", "runs backwards"),
        ("1,x", "'x' is not a seed"),
        ("-3", "is not a seed"),
        ("2,1-3", "seed 2 is given twice"),
        ("0-999999", "more than 100,000 seeds"),
    ]:
        with pytest.raises(ValueError, match=message):
            sampling.parse_seeds(text)


def test_a_seed_is_one_vector_everywhere_the_first_column_of_its_runs_grid():
    latent = 16
    vectors = sampling.seed_noise([7, 3], latent)
    assert np.array_equal(vectors[0], sampling.fixed_noise(7, 8, latent)[0])  # a run with --seed 7, column 0
    assert np.array_equal(vectors[1], sampling.seed_noise([3], latent)[0])  # whatever is drawn beside it
    assert not np.allclose(vectors[0], vectors[1])


def test_truncation_redraws_only_the_components_beyond_its_threshold():
    latent, psi = 512, 0.5
    plain = sampling.seed_noise(range(40), latent)
    truncated = sampling.seed_noise(range(40), latent, psi)
    threshold = truncation_threshold(psi)
    assert threshold == pytest.approx(0.6745, abs=1e-4) and truncation_threshold(1.0) == math.inf
    inside = np.abs(plain) <= threshold
    assert np.array_equal(truncated[inside], plain[inside])  # kept as they were
    assert np.abs(truncated).max() <= threshold and not np.array_equal(truncated[~inside], plain[~inside])
    # the redrawn components follow the normal restricted to [-t, t]: its standard deviation, not a spike at t
    density = math.exp(-(threshold**2) / 2) / math.sqrt(2 * math.pi)
    expected_std = math.sqrt(1 - 2 * threshold * density / psi)
    assert truncated.std() == pytest.approx(expected_std, rel=0.02)
    assert np.array_equal(sampling.seed_noise([5], latent, 1.0), sampling.seed_noise([5], latent))
    with pytest.raises(ValueError, match=r"truncation must be in \(0, 1\]"):
        sampling.seed_noise([1], latent, 0.0)


# --- sample.py: chosen images, one file each ----------------------------------------------------------------------


def test_separate_writes_one_png_per_image_named_by_seed_and_class(generator_h5, averaged, tmp_path, capsys):
    out = tmp_path / "chosen"
    flags = ["--checkpoint", generator_h5, "--grid", "class", "--classes", "3", "7", "--seeds", "1,4-5"]
    assert sample_cli(*flags, "--separate", "--out", out) == 0, capsys.readouterr().err
    assert "wrote 6 PNGs" in capsys.readouterr().out
    names = sorted(path.name for path in out.iterdir())
    assert names == sorted(f"seed{s}_{c}.png" for s in (1, 4, 5) for c in (3, 7))
    picture = Image.open(out / "seed4_7.png")
    assert picture.size == (16, 16)
    expected = pixels(sampling.generate(averaged, sampling.seed_noise([4], 8), sampling.one_hot([7], 10)))[0]
    assert np.abs(np.asarray(picture.convert("RGB")).astype(int) - expected).max() <= 1
    about = picture.text
    assert about["checkpoint"].endswith("generator_ema_epoch_003.h5") and about["seed"] == "4"
    assert json.loads(about["condition"]) == [0.0] * 7 + [1.0, 0.0, 0.0] and about["condition_label"] == "7"
    assert about["truncation"] == "1"
    # the same seed is the same image in another grid kind
    assert sample_cli("--checkpoint", generator_h5, "--grid", "one", "--classes", "7", "--seeds", "4", "--separate",
                      "--out", tmp_path / "one") == 0  # fmt: skip
    assert np.array_equal(np.asarray(Image.open(tmp_path / "one" / "seed4_7.png")), np.asarray(picture))


def test_separate_names_say_the_mix_and_the_interpolation_weights(generator_h5, tmp_path):
    mix = ["--grid", "mix", "--classes", "2", "5", "--seeds", "8,9", "--mix", "sum", "--separate"]
    assert sample_cli("--checkpoint", generator_h5, *mix, "--out", tmp_path / "mix") == 0
    names = sorted(path.name for path in (tmp_path / "mix").iterdir())
    assert names == ["seed8_2+5_sum.png", "seed8_2.png", "seed9_2+5_sum.png", "seed9_5.png"]
    assert Image.open(tmp_path / "mix" / "seed8_2+5_sum.png").text["condition_label"] == "2 + 5 (sum)"
    interp = ["--grid", "interp", "--classes", "0", "1", "--steps", "5", "--separate"]
    assert sample_cli("--checkpoint", generator_h5, *interp, "--out", tmp_path / "interp") == 0
    names = sorted(path.name for path in (tmp_path / "interp").iterdir())  # the run's grid noise: seed 3, z 0
    assert names == sorted(["seed3_z000_0.png", "seed3_z000_00.75+10.25.png", "seed3_z000_0+1.png",
                            "seed3_z000_00.25+10.75.png", "seed3_z000_1.png"])  # fmt: skip
    about = Image.open(tmp_path / "interp" / "seed3_z000_00.75+10.25.png").text
    assert about["seed"] == "3" and about["noise_index"] == "0" and about["condition_label"] == "0 0.75 + 1 0.25"


def test_truncation_reaches_the_pictures_and_their_metadata(generator_h5, averaged, tmp_path):
    flags = ["--checkpoint", generator_h5, "--grid", "styles", "--classes", "2", "6", "--seeds", "11,12"]
    assert sample_cli(*flags, "--truncation", "0.3", "--out", tmp_path / "t.png") == 0
    assert sample_cli(*flags, "--out", tmp_path / "plain.png") == 0
    truncated, plain = Image.open(tmp_path / "t.png"), Image.open(tmp_path / "plain.png")
    assert truncated.text["truncation"] == "0.3" and json.loads(truncated.text["seeds"]) == [11, 12]
    assert truncated.text["classes"] == '["2", "6"]' and truncated.size == plain.size
    assert not np.array_equal(np.asarray(truncated), np.asarray(plain))
    cell = np.asarray(truncated.convert("RGB"))[-2 - 64 : -2, -2 - 64 : -2]  # seed 12 in class 6, 4x enlarged
    z = sampling.seed_noise([12], 8, 0.3)
    expected = pixels(sampling.generate(averaged, z, sampling.one_hot([6], 10)))[0].repeat(4, 0).repeat(4, 1)
    assert np.abs(cell.astype(int) - expected).max() <= 1


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--grid", "class", "--seeds", "5-2"], "argument --seeds: the range 5-2 runs backwards"),
        (["--grid", "class", "--seeds", "1,2", "--n", "3"], "--n and --seeds both set the noise vectors"),
        (["--grid", "class", "--truncation", "0"], "argument --truncation: expected a number in (0, 1], got 0.0"),
        (["--grid", "class", "--truncation", "1.5"], "expected a number in (0, 1], got 1.5"),
        (["--grid", "class", "--separate", "--out", "x.png"], "--out names the folder that receives one PNG"),
        (["--grid", "mix", "--classes", "1", "2", "3", "--seeds", "4"], "error: --grid mix draws one row per class"),
        (["--grid", "walk", "--out", "w.png"], "--out w.png must name a .gif or .mp4 file for --grid walk"),
        (["--grid", "walk", "--separate", "--out", "w.gif"], "--separate does not apply to --grid walk"),
        (["--grid", "walk", "--walk", "z", "--seeds", "3"], "--walk z moves through --seeds: give two seeds"),
        (["--grid", "walk", "--walk", "z", "--seeds", "1-3", "--n", "4"], "each of the --n 4 columns starts"),
        (["--grid", "walk", "--classes", "3"], "--walk styles moves through --classes: give two classes"),
        (["--grid", "class", "--frames", "9"], "--frames does not apply to --grid class"),
        (["--timelapse", "runs/x", "--grid", "class"], "does not apply to --timelapse (only --out and --fps do)"),
        (["--grid", "class", "--checkpoint", None], "--checkpoint is required (or --timelapse RUN)"),
    ],
)
def test_sample_script_errors_are_one_line_with_exit_code_2(generator_h5, tmp_path, capsys, flags, message):
    out = "w.gif" if "walk" in flags else "x.png"
    argv = ["--checkpoint", generator_h5, "--out", tmp_path / out, *flags]
    if None in flags:  # no --checkpoint at all
        argv = ["--out", tmp_path / out, "--grid", "class"]
    assert sample_cli(*argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not list(tmp_path.iterdir())


# --- walks ------------------------------------------------------------------------------------------------------


def test_slerp_keeps_to_the_sphere_at_constant_angular_speed():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    assert np.allclose(slerp(a, b, 0.0), a) and np.allclose(slerp(a, b, 1.0), b)
    path = np.array([slerp(a, b, t) for t in np.linspace(0, 1, 9)])
    assert np.allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a))  # never through the origin's shell
    steps = [np.arccos(np.clip(p @ q / (p @ p), -1, 1)) for p, q in zip(path, path[1:], strict=False)]
    assert np.allclose(steps, steps[0])
    longer = slerp(a, 1.5 * b, 0.5)  # lengths that differ: the direction still halfway, the length between
    assert np.linalg.norm(longer) == pytest.approx(1.25 * np.linalg.norm(a))
    assert np.allclose(longer / np.linalg.norm(longer), slerp(a, b, 0.5) / np.linalg.norm(a))
    assert np.allclose(slerp(a, a, 0.3), a)  # parallel ends


def test_a_tour_moves_at_one_speed_and_closes_its_loop():
    thirds = [(1, t / 6) for t in range(6)]
    assert loop_positions([1.0, 3.0], 8) == pytest.approx([(0, 0.0), (0, 0.5), *thirds])
    stops = sampling.seed_noise([1, 2, 3], 32)
    tour = noise_tour(stops, 30)
    assert np.allclose(tour[0], stops[0], atol=1e-6)
    closed = np.concatenate([tour, tour[:1]])
    cosines = [p @ q / np.linalg.norm(p) / np.linalg.norm(q) for p, q in zip(closed, closed[1:], strict=False)]
    angles = np.arccos(np.clip(cosines, -1, 1))  # the last step, back to the start, included
    even = np.isclose(angles, np.median(angles), rtol=1e-3)
    assert even.sum() >= len(angles) - 3  # even steps; a step across one of the 3 stops cuts its corner
    assert (angles <= np.median(angles) * (1 + 1e-3)).all()
    conditions = condition_tour([4, 0, 2], 5, 12)  # 4 frames per leg
    assert np.allclose(conditions.sum(axis=1), 1) and (conditions >= 0).all()
    assert np.array_equal(conditions[[0, 4, 8]], sampling.one_hot([4, 0, 2], 5))
    assert np.allclose(conditions[2], sampling.mixed_condition(4, 0, 5))  # halfway: the paper's mixing
    steps = np.linalg.norm(np.diff(np.concatenate([conditions, conditions[:1]]), axis=0), axis=1)
    assert np.allclose(steps, steps[0])
    with pytest.raises(ValueError, match="two different stops"):
        condition_tour([3, 3], 5, 8)


def frame_steps(walk) -> np.ndarray:
    """Mean absolute change of the images from each frame to the next, the last back to the first included."""
    frames = np.stack([frame.images for frame in walk.frames])
    return np.abs(frames - np.roll(frames, -1, axis=0)).mean(axis=tuple(range(1, frames.ndim)))


@pytest.fixture(scope="module")
def painter():
    """The shipped WikiArt generator: smoothness on a trained network's pictures, not only a random one's."""
    if not PRETRAINED.is_file():
        pytest.skip(f"{PRETRAINED} is absent")
    return load_generator(PRETRAINED), sampling.class_names(sampling.checkpoint_config(PRETRAINED), 8)


def test_walks_are_smooth_consecutive_frames_differ_little_and_evenly(painter):
    generator, names = painter
    walk = sampling.style_walk(generator, sampling.seed_noise([1, 2, 3], 100), [2, 7, 4], names, 48)
    steps = frame_steps(walk)
    stops = np.stack([walk.frames[i].images for i in (0, 16, 32)])  # the three pure styles
    apart = np.abs(stops - np.roll(stops, 1, axis=0)).mean()
    assert steps.max() < 0.2 * apart  # little: a frame moves a fifth of the way between two styles at most
    assert steps.max() < 3 * np.median(steps)  # evenly: no jump, at the loop's seam neither
    z_walk = sampling.z_walk(generator, sampling.seed_noise([1, 2, 3, 4], 100), [2, 5], names, 48, columns=2)
    steps = frame_steps(z_walk)
    assert steps.max() < 3 * np.median(steps)
    first = z_walk.frames[0].images
    assert first.shape == (2, 2, 64, 64, 3) and not np.allclose(first[:, 0], first[:, 1])  # columns differ


def test_walk_gif_and_mp4_hold_the_frames(generator_h5, tmp_path, capsys):
    flags = ["--checkpoint", generator_h5, "--grid", "walk", "--classes", "1", "4", "7", "--seeds", "2,3"]
    assert sample_cli(*flags, "--frames", "12", "--fps", "10", "--out", tmp_path / "walk.gif") == 0
    assert "a styles walk of 12 frames of 1 x 2 images" in capsys.readouterr().out
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 12 and gif.info["loop"] == 0 and gif.info["duration"] == 100
    gif.seek(4)  # a third of the way round: class 4 alone
    titled = np.asarray(gif.convert("RGB"))
    widest = ["4 0.25 + 7 0.75"]  # the condition's words, left of the row, as wide in every frame
    assert titled.shape[:2][::-1] == sampling.grid_pixel_size(1, 2, 16, widest, ["seed 2", "seed 3"])
    assert sample_cli(*flags, "--frames", "12", "--out", tmp_path / "walk.mp4") == 0
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(tmp_path / "walk.mp4"))
    meta = reader.__next__()
    frames = list(reader)
    width, height = meta["size"]
    assert len(frames) == 12 and width % 16 == 0 and height % 16 == 0 and meta["fps"] == 16
    decoded = np.frombuffer(frames[4], np.uint8).reshape(height, width, 3)[: titled.shape[0], : titled.shape[1]]
    assert np.abs(decoded.astype(int) - titled).mean() < 8  # H.264 is lossy; the same picture


def test_z_walk_rows_are_classes_and_columns_start_at_other_seeds(generator_h5, tmp_path, capsys):
    flags = ["--grid", "walk", "--walk", "z", "--seeds", "0-3", "--n", "2", "--classes", "5", "8", "9"]
    assert sample_cli("--checkpoint", generator_h5, *flags, "--out", tmp_path / "z.gif") == 0
    assert "a z walk of 64 frames of 3 x 2 images" in capsys.readouterr().out  # 16 frames per seed
    gif = Image.open(tmp_path / "z.gif")
    assert gif.n_frames == 64
    assert gif.size == sampling.grid_pixel_size(3, 2, 16, ["5", "8", "9"], None, "noise through ...")


# --- timelapse ----------------------------------------------------------------------------------------------------


def test_timelapse_shows_every_epoch_grid_with_its_epoch(tiny_run, tmp_path, capsys):
    assert sample_cli("--timelapse", tiny_run, "--fps", "5", "--out", tmp_path / "t.gif") == 0
    assert "3 epoch grids" in capsys.readouterr().out
    gif = Image.open(tmp_path / "t.gif")
    assert gif.n_frames == 3 and gif.info["loop"] == 0
    frames = list(sampling.timelapse_frames(tiny_run))
    for epoch, frame in enumerate(frames, start=1):
        grid = np.asarray(Image.open(tiny_run / "samples" / f"epoch_{epoch:03d}.png").convert("RGB"))
        assert np.array_equal(frame[: grid.shape[0], : grid.shape[1]], grid)  # the run's own picture
        bar = frame[-1]
        filled = int((np.abs(bar.astype(int) - (40, 90, 160)).sum(axis=1) == 0).sum())
        assert filled == round(epoch / 3 * frame.shape[1])  # the bar grows with the epoch
        caption = frame[grid.shape[0] : -4]
        assert caption.min() < 100  # text: "epoch N of 3"
    assert not np.array_equal(frames[0][-30:-4], frames[1][-30:-4])  # another caption
    gif.seek(2)
    assert np.abs(np.asarray(gif.convert("RGB")).astype(int) - frames[2]).mean() < 3  # the GIF's palette, same frame
    durations = []
    for index in range(3):
        gif.seek(index)
        durations.append(gif.info["duration"])
    assert durations == [200, 200, 2200]  # the last epoch held before the loop restarts


def test_timelapse_of_a_folder_without_grids_is_a_clear_error(tmp_path, capsys):
    assert sample_cli("--timelapse", tmp_path, "--out", tmp_path / "t.gif") == 2
    assert "holds no per-epoch grids" in capsys.readouterr().err
