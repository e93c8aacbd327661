"""bench/creative.py: its modes, its refusal to measure a run trained otherwise, and its table."""

import json
import math

import pytest

from base.errors import UserError
from base.rundir import network_path, state_path
from bench.creative import build_parser, markdown_table, mode_settings, run_settings, trained_run


def test_modes_name_the_style_term_and_its_damping():
    assert mode_settings("off") == {"creative": "off"}
    assert mode_settings("can") == {"creative": "can"}
    assert mode_settings("damped-0.25") == {"creative": "damped", "damping": 0.25}
    for bad in ("damped-1.5", "damped-x", "ambiguous"):
        with pytest.raises(UserError, match="unknown mode"):
            mode_settings(bad)


def test_every_mode_learns_styles_from_real_paintings_only_and_differs_only_in_its_style_term(tmp_path):
    args = build_parser().parse_args(["--out", str(tmp_path), "--epochs", "3", "--data-dir", str(tmp_path)])
    off, damped = run_settings(args, "off").flat(), run_settings(args, "damped-0.75").flat()
    assert off["fake_class_loss"] is False and damped["fake_class_loss"] is False
    assert (off["creative"], damped["creative"], damped["damping"]) == ("off", "damped", 0.75)
    differing = {key for key in off if off[key] != damped[key]}
    assert differing == {"creative", "damping", "out"}


def test_every_mode_starts_from_the_same_trained_run_and_an_empty_one_is_refused(tmp_path):
    source = tmp_path / "trunk"
    checkpoints = source / "checkpoints"
    checkpoints.mkdir(parents=True)
    for role in ("generator", "critic"):
        network_path(checkpoints, role, 4).write_bytes(b"")
    args = build_parser().parse_args(
        ["--out", str(tmp_path / "modes"), "--init-from", str(source), "--data-dir", str(tmp_path)]
    )
    with pytest.raises(UserError, match="holds no complete checkpoint"):
        run_settings(args, "off")  # no state file: the checkpoint is not complete
    state_path(checkpoints, 4).write_bytes(b"")
    off, can = run_settings(args, "off").flat(), run_settings(args, "can").flat()
    assert off["init_from"] == can["init_from"] == [str(source)]
    assert (
        off["init_weights"]["generator"]
        == can["init_weights"]["generator"]
        == str(network_path(checkpoints, "generator", 4).resolve())
    )
    assert off["init_weights"]["critic"].endswith(network_path(checkpoints, "critic", 4).name)


def test_a_finished_run_is_measured_again_only_when_it_was_trained_the_same_way(tmp_path):
    args = build_parser().parse_args(["--out", str(tmp_path), "--epochs", "3", "--data-dir", str(tmp_path)])
    settings = run_settings(args, "damped-0.5")
    run = tmp_path / "damped-0.5"
    checkpoint = network_path(run / "checkpoints", "generator", 3)
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"")
    (run / "config.json").write_text(json.dumps({**settings.flat(), "damping": 0.25}))
    with pytest.raises(UserError, match="damping=0.25, not 0.5"):
        trained_run(settings)
    (run / "config.json").write_text(json.dumps(settings.flat()))
    assert trained_run(settings) == run


def test_the_table_puts_each_figure_beside_its_reference():
    figures = dict(style_entropy=2.0, style_entropy_real=1.4, conditional_accuracy=0.1, judge_accuracy=0.43, kid=0.2,
                   kid_floor=0.0, precision=0.8, precision_real=0.85, recall=0.1, recall_real=0.86)  # fmt: skip
    table = markdown_table({"can": {"critic_style_entropy": 2.07, "judges": {"flatten": figures}}}, 8)
    assert f"ln K = {math.log(8):.3f}" in table
    row = "| can | flatten | 2.000 (1.400) | 2.070 | 0.100 (0.430) | 0.200 (0.000) | 0.800 (0.850) | 0.100 (0.860) |"
    assert row in table
