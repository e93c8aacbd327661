"""bench/data_scale.py measures what it says: a child's peak memory, decode rates and their projection, verdicts."""

from __future__ import annotations

import argparse
import os
import sys

import pytest

from bench import data_scale


def test_a_child_s_peak_and_steady_memory_are_read(tmp_path):
    grow = "import time; block = b'x' * (300 * 2**20); time.sleep(1)"
    figures = data_scale.measured_run([sys.executable, "-c", grow], dict(os.environ), tmp_path / "log")
    assert 300 * 2**20 < figures["peak"] < 450 * 2**20
    assert figures["steady"] > 300 * 2**20  # it held the block for its whole second half
    with pytest.raises(RuntimeError, match="failed"):
        data_scale.measured_run([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ), tmp_path / "log")


def test_decode_rates_project_to_the_archive(tmp_path):
    args = argparse.Namespace(work=str(tmp_path), decode_images=2, sizes=[16])
    (row,) = data_scale.decode_rates(args)
    assert row["images"] == 2 and 150 < row["mean_kb"] < 600  # about the archive's mean painting
    assert row["archive_2_cores_min"] == pytest.approx(8 * row["archive_16_cores_min"])
    assert row["archive_2_cores_min"] == pytest.approx(57_025 * row["cpu_seconds_1"] / 2 / 60)
    assert 0 < row["cpu_seconds_1"] < 1
    assert "| 16 |" in data_scale.decode_table([row])


def test_the_memory_table_judges_each_run_by_its_own_target():
    common = {"size": 64, "images": 1000, "array": 3e9, "code": "after", "peak": 4e9, "steady": 3e9,
              "steady_growth": 0.1e9, "seconds": 60}  # fmt: skip
    rows = [
        {**common, "phase": "first", "peak_growth": 1.4e9},  # 0.47 of the array: under half
        {**common, "phase": "second", "peak_growth": 1.1e9},  # 0.37: not under a third
    ]
    lines = data_scale.memory_table(rows).splitlines()[2:]
    assert "| 0.47 | met (< 1/2) |" in lines[0] and "| 0.37 | missed (< 1/3) |" in lines[1]


def test_the_sets_hold_the_asked_images(tmp_path):
    folder = data_scale.image_set(tmp_path / "set", 24, 10)
    files = sorted(folder.glob("class_*/*.jpg"))
    assert len(files) == 10 and len({p.parent.name for p in files}) == data_scale.CLASSES
    assert data_scale.images_for(64, 1.0) == 81_380


def test_the_pipeline_table_sets_the_stream_s_cpu_against_the_step():
    row = {"size": 128, "batch": 32, "pipeline streamed": 2000.0, "pipeline in memory": 4000.0,
           "pipeline cpu ms streamed": 0.5, "pipeline cpu ms in memory": 0.2, "step streamed": 8.8,
           "step in memory": 8.0, "step cpu streamed": 16.5, "step cpu in memory": 16.0}  # fmt: skip
    line = data_scale.pipeline_table([row]).splitlines()[-1]
    assert "| 1.100, 1.031 |" in line and "| 0.10% |" in line  # 32 x 0.5 ms of CPU against a 16 CPU-second step


def test_the_evaluation_table_sets_each_checkout_s_large_set_against_its_tiny_one():
    rows = [{"size": 64, "tool": "evaluate.py", "images": 81_380, "code": code, "set": name, "peak": peak}
            for code, name, peak in (("after", "tiny", 0.9e9), ("after", "large", 1.2e9),
                                     ("before", "tiny", 1.0e9), ("before", "large", 15.8e9))]  # fmt: skip
    header, _, line = data_scale.evaluation_table(rows).splitlines()
    assert header.index("before:") < header.index("after:")
    assert line == "| 64 | 81,380 | 1.00 GB | `evaluate.py` | 15.80 GB (+14.80 GB) | 1.20 GB (+0.30 GB) |"
