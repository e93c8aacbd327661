"""One recipe per experiment: the scripts, the benches and the tests resolve the same settings, once."""

import dataclasses
import json

import pytest

from base.errors import UserError
from base.rundir import DEFAULT_CACHE, RunDirectory
from data import DataSettings
from training.recipes import RESUMABLE_CHANGES, check_flags_match_fields
from training.recipes.critic_pretraining import RECIPE as PRETRAINING
from training.recipes.dcgan import RECIPE as DCGAN
from training.recipes.wgan_gp import RECIPE as WGAN_GP
from training.settings import SCHEMA_VERSION, DataRecord, to_json

RECIPES = (DCGAN, WGAN_GP, PRETRAINING)
QUALITY_FLAGS = ["--filters", "32", "--batch-size", "32", "--epochs", "3", "--mixed-precision", "bfloat16"]
TRAINER_SETTINGS = ("n_critic", "gp_weight", "class_weight", "critic_class_weight", "fake_class_loss", "creative",
                    "ambiguity_weight", "damping", "mix_fraction", "latent_dim", "seed")  # fmt: skip


def settings_of(trainer) -> dict:
    return {name: getattr(trainer, name) for name in TRAINER_SETTINGS if hasattr(trainer, name)}


def test_the_quality_bench_trains_what_train_wgan_gp_py_would(tmp_path):
    from bench.quality import bench_settings, build_parser, recipe_of

    where = ["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]
    args = build_parser().parse_args(["--model", "wgan-gp", *QUALITY_FLAGS, *where])
    bench = bench_settings(args, recipe_of("wgan-gp"))
    script, _ = WGAN_GP.settings_from_flags(["--dataset", "mnist", *QUALITY_FLAGS, *where, "--seed", "1", "--quiet"])
    assert bench == script
    assert bench.losses.fake_class_loss is True  # the bench once trained without it: only the script's main set it
    built = [settings_of(WGAN_GP.build_trainer(settings, (28, 28, 1), 10)) for settings in (bench, script)]
    assert built[0] == built[1] and built[0]["fake_class_loss"] is True


def test_the_throughput_bench_resolves_both_recipes_like_their_scripts():
    from bench.throughput_cases import CASES, paper_settings

    for name, recipe in (("wgan-64", WGAN_GP), ("dcgan-28", DCGAN)):
        settings, _, _ = paper_settings(CASES[name])
        script, _ = recipe.settings_from_flags(["--dataset", settings.data.dataset, "--seed", "0"])
        bench, flags = settings.flat(), script.flat()
        differ = {key for key in flags if bench[key] != flags[key]}
        assert differ <= {"jit", "mixed_precision", "out"}, differ  # the case's own devices; a run directory each


@pytest.mark.parametrize(
    ("flags", "fake_class_loss"),
    [(["--dataset", "digits"], True), (["--dataset", "digits", "--creative", "can"], False),
     (["--dataset", "digits", "--creative", "damped", "--fake-class-loss"], True),
     (["--dataset", "wikiart"], False), (["--dataset", "wikiart", "--fake-class-loss"], True)],
)  # fmt: skip
def test_the_fake_class_loss_follows_the_dataset_and_creative_unless_given(flags, fake_class_loss):
    settings, _ = WGAN_GP.settings_from_flags(flags)
    assert settings.losses.fake_class_loss is fake_class_loss


@pytest.mark.parametrize(
    ("flags", "upsampling"),
    [(["--dataset", "digits"], "transposed"), (["--dataset", "digits", "--augment", "translation"], "nearest"),
     (["--dataset", "digits", "--augment", "translation", "--upsampling", "transposed"], "transposed"),
     (["--dataset", "digits", "--image-size", "64"], "nearest"), (["--dataset", "wikiart"], "nearest"),
     (["--dataset", "folder", "--image-size", "32"], "transposed"),
     (["--dataset", "wikiart", "--upsampling", "transposed"], "transposed")],
)  # fmt: skip
def test_the_dcgan_generator_doubles_by_nearest_neighbour_from_64_px_or_under_augment_unless_told(flags, upsampling):
    settings, _ = DCGAN.settings_from_flags(flags)
    assert settings.networks.upsampling == upsampling
    generator = DCGAN.build_trainer(settings, (28, 28, 1), 10).generator
    transposed = any(layer.name.endswith("_deconv") for layer in generator.layers)
    assert transposed is (upsampling == "transposed")


def test_a_missing_critic_weights_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--critic-weights .*missing.h5 is not a file"):
        WGAN_GP.settings_from_flags(["--dataset", "digits", "--critic-weights", str(tmp_path / "missing.h5")])


def test_each_recipe_has_its_own_defaults_and_flags():
    assert DCGAN.settings("wikiart").optimisation.batch_size == 32
    assert not hasattr(DCGAN.settings("mnist").optimisation, "n_critic")
    assert WGAN_GP.settings("mnist").optimisation.n_critic == 5
    assert PRETRAINING.settings("digits").optimisation.val_fraction == 0.1
    assert "--val-fraction" in PRETRAINING.parser().format_help()
    assert "--sample-columns" not in PRETRAINING.parser().format_help()


def test_settings_are_resolved_once_and_frozen():
    settings = DCGAN.settings("wikiart", seed=5)
    assert (settings.data.image_size, settings.data.flip, settings.run.seed) == (64, True, 5)
    assert settings.run.out.startswith("runs/train_dcgan-wikiart-")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.optimisation.lr = 1.0
    assert settings.replace(lr=1e-3).optimisation.lr == 1e-3 and settings.optimisation.lr == 2e-4
    with pytest.raises(TypeError, match="no such settings: n_critic"):
        settings.replace(n_critic=3)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda recipe: recipe.script)
def test_every_flag_sets_a_field_and_every_field_has_its_flag(recipe):
    recipe.parser()  # checks itself
    parser = recipe.parser()
    parser.add_argument("--not-a-setting")
    with pytest.raises(AssertionError, match="flags without a field: \\['not_a_setting'\\]"):
        check_flags_match_fields(parser, recipe.section_classes)


def test_config_json_is_the_settings_and_the_data_record_with_a_schema_version(tmp_path):
    settings = WGAN_GP.settings("digits", out=str(tmp_path), augment=["color"], seed=3)
    record = DataRecord((16, 16, 1), tuple("0123456789"), 1797, 112, 25)
    config = to_json(settings, record)
    assert config["schema_version"] == SCHEMA_VERSION and config["script"] == "train_wgan_gp"
    assert config["augment"] == ["color"] and config["class_names"][3] == "3" and config["n_critic"] == 5
    RunDirectory(tmp_path).write_config(config)
    resumed, again = WGAN_GP.settings_from_flags(["--resume", "--out", str(tmp_path)])
    assert resumed.replace(resume=False) == settings and again == record


def test_a_run_written_before_the_settings_objects_resumes_with_its_old_behaviour(tmp_path):
    """config.json of schema 1 has no upsampling, weight average or augmentation: the run keeps doing without."""
    old = {"script": "train_dcgan", "dataset": "digits", "seed": 3, "out": str(tmp_path), "epochs": 2,
           "batch_size": 16, "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "class_weight": 1.0, "latent_dim": 8,
           "image_size": 16, "flip": False, "resize": "squash", "class_names": list("0123456789"),
           "image_shape": [16, 16, 1], "steps_per_epoch_actual": 3}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(old))
    settings, record = DCGAN.settings_from_flags(["--resume", "--out", str(tmp_path), "--epochs", "4"])
    assert (settings.networks.upsampling, settings.optimisation.ema_decay, settings.augmentation.augment) == (
        "transposed", 0.0, ()
    )  # fmt: skip
    assert settings.optimisation.epochs == 4 and record.epochs_actual == 2 and record.class_names[0] == "0"


def test_a_resumed_run_refuses_another_script_and_every_change_but_the_resumable_ones(tmp_path):
    RunDirectory(tmp_path).write_config(to_json(DCGAN.settings("digits", out=str(tmp_path)), None))
    with pytest.raises(UserError, match="is a train_dcgan.py run"):
        WGAN_GP.settings_from_flags(["--resume", "--out", str(tmp_path)])
    with pytest.raises(UserError, match="--batch-size 8 differs from the run's 64"):
        DCGAN.settings_from_flags(["--resume", "--out", str(tmp_path), "--batch-size", "8"])
    assert {"epochs", "keep", "tensorboard", "mixed_precision"} <= set(RESUMABLE_CHANGES)


def test_the_cache_folder_is_resolved_in_one_place_and_config_json_keeps_it_as_given(tmp_path):
    """Without --cache-dir a run reads this machine's default cache; config.json keeps null, so resuming elsewhere
    reads that machine's."""
    settings = DCGAN.settings("digits", out=str(tmp_path / "a"))
    assert isinstance(settings.data, DataSettings)  # the data floor's own section
    assert settings.data.cache_dir is None and settings.data.cache == DEFAULT_CACHE
    assert to_json(settings, None)["cache_dir"] is None
    given = PRETRAINING.settings("digits", out=str(tmp_path / "b"), cache_dir=str(tmp_path / "cache"))
    assert given.data.cache == tmp_path / "cache" and to_json(given, None)["cache_dir"] == str(tmp_path / "cache")


def test_the_quality_bench_trains_in_float32_when_told_off(tmp_path):
    """The WikiArt budget's bfloat16 is emulated on a CPU without bfloat16 instructions: `off` drops it."""
    from bench.quality import bench_settings, build_parser, recipe_of

    where = ["--dataset", "wikiart", "--model", "wgan-gp", "--data-dir", str(tmp_path), "--out", str(tmp_path)]
    budget = bench_settings(build_parser().parse_args(where), recipe_of("wgan-gp")).flat()
    told = bench_settings(build_parser().parse_args([*where, "--mixed-precision", "off"]), recipe_of("wgan-gp")).flat()
    assert budget["mixed_precision"] == "bfloat16" and told["mixed_precision"] is None
    assert {key for key in budget if budget[key] != told[key]} == {"mixed_precision"}


def test_the_wikiart_wgan_gp_bench_trains_the_64_filter_row_and_takes_the_fake_class_loss_when_told(tmp_path):
    from bench.quality import bench_settings, build_parser, recipe_of

    where = ["--dataset", "wikiart", "--model", "wgan-gp", "--data-dir", str(tmp_path), "--out", str(tmp_path)]
    budget = bench_settings(build_parser().parse_args(where), recipe_of("wgan-gp")).flat()
    told = bench_settings(build_parser().parse_args([*where, "--fake-class-loss"]), recipe_of("wgan-gp")).flat()
    assert (budget["filters"], budget["epochs"], budget["fake_class_loss"]) == (64, 30, False)
    assert {key for key in budget if budget[key] != told[key]} == {"fake_class_loss"} and told["fake_class_loss"]


def test_every_training_flag_the_quality_bench_passes_on_is_one_of_its_flags(tmp_path):
    """A setting named in TRAINING_FLAGS but missing from the parser is never passed on (or stops the bench)."""
    from bench.quality import TRAINING_FLAGS, bench_settings, build_parser, recipe_of

    parser = build_parser()
    assert set(TRAINING_FLAGS) <= {action.dest for action in parser._actions}
    where = ["--dataset", "wikiart", "--data-dir", str(tmp_path), "--out", str(tmp_path)]
    for model in ("dcgan", "wgan-gp"):
        told = bench_settings(parser.parse_args([*where, "--model", model, "--projection"]), recipe_of(model))
        assert told.losses.projection is True
