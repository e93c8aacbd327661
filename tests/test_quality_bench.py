"""bench/quality.py: the training flags are the scripts' own, and the data comes from where it is told."""

import pytest

from bench import quality
from bench.data_root import BESIDE_THE_PROJECT, VARIABLE


def described(action) -> tuple:
    return tuple(action.option_strings), action.type, action.choices, action.help, type(action)


def test_the_training_flags_are_the_training_scripts_own():
    """The same flag, help and checks as train_dcgan.py's (or train_wgan_gp.py's, for its own flags)."""
    bench = {action.dest: action for action in quality.build_parser()._actions}
    scripts = {model: quality.flag_actions(quality.recipe_of(model)) for model in quality.MODELS}
    for dest in quality.TRAINING_FLAGS:
        script = scripts["dcgan"].get(dest) or scripts["wgan-gp"][dest]
        assert described(bench[dest]) == described(script), dest
    assert bench["filters"].help == scripts["wgan-gp"]["filters"].help
    assert bench["upsampling"].help == scripts["dcgan"]["upsampling"].help


def test_a_training_flag_left_out_is_none_and_the_budget_or_the_script_decides(tmp_path):
    args = quality.build_parser().parse_args(["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")])
    assert all(getattr(args, dest) is None for dest in quality.TRAINING_FLAGS)
    settings = quality.bench_settings(args, quality.recipe_of("dcgan"))
    assert settings.optimisation.epochs == 25 and settings.optimisation.batch_size == 64 and settings.run.seed == 1


def test_a_flag_of_the_other_model_is_refused_in_one_line(tmp_path, capsys):
    where = ["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as stopped:
        quality.main([*where, "--filters", "32", "--fake-class-loss"])
    assert stopped.value.code == 2
    refused = "bench/quality.py: error: --filters, --fake-class-loss: not a flag of --model dcgan\n"
    assert capsys.readouterr().err == refused


def test_the_data_folder_comes_from_data_dir_then_data_root_then_artgan_data(tmp_path, monkeypatch):
    """``data_folder``: what bench_settings hands the recipe (which then checks that it is a folder)."""
    monkeypatch.delenv(VARIABLE, raising=False)
    assert quality.data_folder(quality.build_parser().parse_args([])) == str(BESIDE_THE_PROJECT / "mnist")
    monkeypatch.setenv(VARIABLE, str(tmp_path / "from-the-environment"))
    parse = quality.build_parser().parse_args
    folder = lambda *argv: quality.data_folder(parse(argv))  # noqa: E731
    assert folder("--dataset", "cifar10") == str(tmp_path / "from-the-environment" / "cifar10")
    assert folder("--data-root", str(tmp_path / "root")) == str(tmp_path / "root" / "mnist")
    assert folder("--data-root", str(tmp_path), "--data-dir", str(tmp_path / "x")) == str(tmp_path / "x")
    (tmp_path / "from-the-environment" / "wikiart").mkdir(parents=True)
    args = parse(["--dataset", "wikiart", "--out", str(tmp_path / "run")])
    settings = quality.bench_settings(args, quality.recipe_of("dcgan"))
    assert settings.data.data_dir == str(tmp_path / "from-the-environment" / "wikiart")
