"""One recipe per experiment: the scripts, the benches and the tests settle the same config."""

import pytest

import pretrain_critic
import train_dcgan
import train_wgan_gp
from base.errors import UserError

QUALITY_FLAGS = ["--filters", "32", "--batch-size", "32", "--epochs", "3", "--mixed-precision", "bfloat16"]
TRAINER_SETTINGS = ("n_critic", "gp_weight", "class_weight", "critic_class_weight", "fake_class_loss", "creative",
                    "ambiguity_weight", "damping", "mix_fraction", "latent_dim", "seed")  # fmt: skip


def settings_of(trainer) -> dict:
    return {name: getattr(trainer, name) for name in TRAINER_SETTINGS if hasattr(trainer, name)}


def test_the_quality_bench_trains_what_train_wgan_gp_py_would(tmp_path):
    from bench.quality import bench_config, build_parser, training_script

    where = ["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]
    args = build_parser().parse_args(["--model", "wgan-gp", *QUALITY_FLAGS, *where])
    bench = bench_config(args, training_script("wgan-gp"))
    script, _ = train_wgan_gp.RECIPE.config(["--dataset", "mnist", *QUALITY_FLAGS, *where, "--seed", "1", "--quiet"])
    assert bench == script
    assert bench["fake_class_loss"] is True  # the bench once trained without it: only the script's main set it
    built = [settings_of(train_wgan_gp.RECIPE.build_trainer(config, (28, 28, 1), 10)) for config in (bench, script)]
    assert built[0] == built[1] and built[0]["fake_class_loss"] is True


def test_the_throughput_bench_settles_both_recipes_like_their_scripts():
    from bench.throughput import CASES, paper_config

    for name, recipe in (("wgan-64", train_wgan_gp.RECIPE), ("dcgan-28", train_dcgan.RECIPE)):
        config, _, _ = paper_config(CASES[name])
        script, _ = recipe.config(["--dataset", config["dataset"], "--seed", "0"])
        differ = {key for key in script if config.get(key) != script[key]}
        assert differ <= {"jit", "mixed_precision"}, differ  # the case's own device settings


@pytest.mark.parametrize(
    ("flags", "fake_class_loss"),
    [(["--dataset", "digits"], True), (["--dataset", "digits", "--creative", "can"], False),
     (["--dataset", "digits", "--creative", "damped", "--fake-class-loss"], True),
     (["--dataset", "wikiart"], False), (["--dataset", "wikiart", "--fake-class-loss"], True)],
)  # fmt: skip
def test_the_fake_class_loss_follows_the_dataset_and_creative_unless_given(flags, fake_class_loss):
    config, _ = train_wgan_gp.RECIPE.config(flags)
    assert config["fake_class_loss"] is fake_class_loss


@pytest.mark.parametrize(
    ("flags", "upsampling"),
    [(["--dataset", "digits"], "transposed"), (["--dataset", "digits", "--augment", "translation"], "nearest"),
     (["--dataset", "digits", "--augment", "translation", "--upsampling", "transposed"], "transposed"),
     (["--dataset", "digits", "--image-size", "64"], "nearest"), (["--dataset", "wikiart"], "nearest"),
     (["--dataset", "folder", "--image-size", "32"], "transposed"),
     (["--dataset", "wikiart", "--upsampling", "transposed"], "transposed")],
)  # fmt: skip
def test_the_dcgan_generator_doubles_by_nearest_neighbour_from_64_px_or_under_augment_unless_told(flags, upsampling):
    config, _ = train_dcgan.RECIPE.config(flags)
    assert config["upsampling"] == upsampling
    generator = train_dcgan.RECIPE.build_trainer(config, (28, 28, 1), 10).generator
    transposed = any(layer.name.endswith("_deconv") for layer in generator.layers)
    assert transposed is (upsampling == "transposed")


def test_a_missing_critic_weights_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--critic-weights .*missing.h5 is not a file"):
        train_wgan_gp.RECIPE.config(["--dataset", "digits", "--critic-weights", str(tmp_path / "missing.h5")])


def test_each_script_has_its_own_defaults_and_flags():
    assert train_dcgan.RECIPE.defaults("wikiart")["batch_size"] == 32
    assert "n_critic" not in train_dcgan.RECIPE.defaults("mnist")
    assert train_wgan_gp.RECIPE.defaults("mnist")["n_critic"] == 5
    assert pretrain_critic.RECIPE.defaults("digits")["val_fraction"] == 0.1
    assert "--val-fraction" in pretrain_critic.RECIPE.parser().format_help()
    assert "--sample-columns" not in pretrain_critic.RECIPE.parser().format_help()


def test_the_quality_bench_trains_in_float32_when_told_off(tmp_path):
    """The WikiArt budget's bfloat16 is 14x slower on a CPU without bfloat16 instructions: `off` drops it."""
    from bench.quality import bench_config, build_parser, training_script

    where = ["--dataset", "wikiart", "--model", "wgan-gp", "--data-dir", str(tmp_path), "--out", str(tmp_path)]
    budget = bench_config(build_parser().parse_args(where), training_script("wgan-gp"))
    told = bench_config(build_parser().parse_args([*where, "--mixed-precision", "off"]), training_script("wgan-gp"))
    assert budget["mixed_precision"] == "bfloat16" and told["mixed_precision"] is None
    assert {key for key in budget if budget[key] != told[key]} == {"mixed_precision"}


def test_the_wikiart_wgan_gp_bench_trains_the_64_filter_row_and_takes_the_fake_class_loss_when_told(tmp_path):
    from bench.quality import bench_config, build_parser, training_script

    where = ["--dataset", "wikiart", "--model", "wgan-gp", "--data-dir", str(tmp_path), "--out", str(tmp_path)]
    budget = bench_config(build_parser().parse_args(where), training_script("wgan-gp"))
    told = bench_config(build_parser().parse_args([*where, "--fake-class-loss"]), training_script("wgan-gp"))
    assert (budget["filters"], budget["epochs"], budget["fake_class_loss"]) == (64, 30, False)
    assert {key for key in budget if budget[key] != told[key]} == {"fake_class_loss"} and told["fake_class_loss"]
