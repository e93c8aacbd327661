"""bench/small_collection.py: the small collection it builds, the variants it trains, its table."""

import json

import pytest

from base.errors import UserError
from base.rundir import network_path
from bench.small_collection import (
    build_parser,
    collection_folder,
    dcgan_settings,
    markdown_table,
    trained,
    variant_settings,
)
from tests.conftest import shared_data


def test_the_collection_holds_the_five_unseen_styles_and_their_split_rows_alone(tmp_path):
    from data import DataSettings, Splits

    source = shared_data("wikiart")
    styles = ["Cubism", "Fauvism", "Minimalism", "Naive_Art_Primitivism", "Pop_Art"]
    folder = collection_folder(source, styles, tmp_path / "collection")
    real = Splits(DataSettings("wikiart", str(folder), 16, cache_dir=str(tmp_path)))
    assert real.train.class_names == styles and real.train.class_counts().tolist() == [80] * 5
    assert real.validation.class_counts().tolist() == [20] * 5
    with pytest.raises(UserError, match="no folder for Realism"):
        collection_folder(source, ["Realism"], tmp_path / "other")


def test_variants_differ_only_in_their_start_and_augmentation(tmp_path):
    source = tmp_path / "source"
    (source / "checkpoints").mkdir(parents=True)
    for role in ("generator", "discriminator"):
        network_path(source / "checkpoints", role, 3).write_bytes(b"")
    (source / "checkpoints" / "state_epoch_003.npz").write_bytes(b"")
    (source / "config.json").write_text(json.dumps({"class_names": ["Baroque"], "image_size": 32}))
    args = build_parser().parse_args(["--source", str(source), "--epochs", "5"])
    scratch = variant_settings(args, "scratch", "none")
    frozen = variant_settings(args, "freeze", "ada")
    assert scratch == {"epochs": 5}
    assert frozen["init_from"] == [str(source)] and frozen["freeze_critic"] == 1 and frozen["augment_p"] == "ada"
    resolved = dcgan_settings(args, tmp_path / "frozen", tmp_path, **frozen)
    assert resolved.networks.init_weights["critic"].endswith("discriminator_epoch_003.h5")


def test_a_finished_variant_is_measured_again_only_when_trained_the_same_way(tmp_path):
    args = build_parser().parse_args(["--epochs", "3"])
    settings = dcgan_settings(args, tmp_path / "scratch-ada", tmp_path, **variant_settings(args, "scratch", "ada"))
    checkpoint = network_path(tmp_path / "scratch-ada" / "checkpoints", "generator", 3)
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"")
    (tmp_path / "scratch-ada" / "config.json").write_text(json.dumps({**settings.flat(), "augment_p": 1.0}))
    with pytest.raises(UserError, match="augment_p=1.0, not 'ada'"):
        trained(settings)
    (tmp_path / "scratch-ada" / "config.json").write_text(json.dumps(settings.flat()))
    assert trained(settings) == tmp_path / "scratch-ada"


def test_the_table_puts_each_figure_beside_its_reference():
    figures = dict(conditional_accuracy=0.48, classifier_accuracy=0.4, frechet_distance=1.158, frechet_floor=0.525,
                   kid=0.007, kid_floor=-0.001, precision=0.94, precision_real=0.9,
                   recall=0.85, recall_real=0.94)  # fmt: skip
    other = {**figures, "conditional_accuracy": 0.21}
    result = {"judges": {"flatten": figures, "coarse": other}, "d_real_acc": 0.831, "augment_p": 0.518}
    table = markdown_table({"scratch/ada": result})
    row = "| scratch | ada | flatten | 0.480 (0.400) | 1.16 (0.53) | 0.007 (-0.001) | 0.940 (0.900) | 0.850 (0.940) "
    row += "| 0.831 | 0.52 |"
    assert row in table
    assert "| scratch | ada | coarse | 0.210 (0.400) |" in table  # every judge's row
