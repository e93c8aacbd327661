#!/usr/bin/env python
"""The ArtGAN archive at its real row count: every name of the real split CSVs as a file, indexed, decoded, trained on.

The archive's 25.4 GB of JPEGs are not at hand, but its split CSVs are (the
``wikiart`` folder of the data root holds the real ``style_train.csv`` and
``style_val.csv``: 57,025 and 24,421 rows). This bench lays out one file for
every row under the CSVs' own names, each a copy of a real painting from a
smaller folder in the same layout (``wikiart-8k``: 224 px JPEGs), the style's
own where it has them. The 709 names that the CSVs spell as mojibake
(``grã©goire``) are written the way an unzip that spells them right writes
them (``grégoire``), so the name repair runs on all of them. What it measures,
each in a fresh process (peak and steady RSS read from /proc as
``data_scale.py`` does):

1. ``first``: ``train_dcgan.py --dataset wikiart`` for one epoch of
   ``--steps`` steps into an empty cache: the CSVs read, the 57,025 training
   rows matched, decoded into the store and streamed to the step.
2. ``second``: the same run again, which finds every row in the store.
3. ``top-styles``: ``--top-styles 9``, the paper's code's choice, which reads
   the rows it keeps from the same store.

Decoding a 224 px copy costs less than a 2500x1800 painting of the archive;
``data_scale.py --only decode`` measures those. Everything else (the file
index, the name repair, the store's size, the streamed input, the run's
memory) is the archive's.

  python bench/full_archive.py --work /tmp/full_archive
  python bench/full_archive.py --work /tmp/full_archive --only first second --image-size 128
  python bench/full_archive.py --work /tmp/full_archive --only first second --image-size 256 --batch-size 8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

from bench.data_root import data_root
from bench.data_scale import measured_run
from training.cli import OneLineErrorParser, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("first", "second", "top-styles")
SPLIT_FILES = ("style_class.txt", "style_train.csv", "style_val.csv")
LOG_LINES = re.compile(r"rows usable|names matched|decoding \d+ images|decoded \d+ images|using \d+ decoded|"
                       r"training (streams|reads)|image files at|top-styles|images of shape")  # fmt: skip


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/full_archive.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", required=True, help="folder for the laid-out archive, its cache and the runs")
    parser.add_argument("--csvs", help="folder with the real split CSVs (default: <data root>/wikiart)")
    parser.add_argument("--paintings", help="an ArtGAN-layout folder whose paintings are copied "
                        "(default: <data root>/wikiart-8k)")  # fmt: skip
    parser.add_argument("--image-size", type=positive_int, default=64, help="side the runs train at")
    parser.add_argument("--steps", type=positive_int, default=4, help="training steps of each run")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="the runs' batch (the paper's WikiArt 32)")
    parser.add_argument("--only", nargs="+", choices=RUNS, default=list(RUNS), help="which runs")
    parser.add_argument("--json", help="also write every figure to this file")
    return parser


# --------------------------------------------------------------------------------------- the layout


def spelled_right(listed: str) -> str:
    """The name an unzip that decodes UTF-8 writes for a CSV name spelled as lower-cased mojibake, else ``listed``.

    The CSVs hold each non-ASCII name's UTF-8 bytes read as Latin-1 and then
    lower-cased, so a lead byte such as 0xC3 ("Ã") appears as 0xE3 ("ã"):
    upper-casing every such letter that precedes a continuation byte restores
    the bytes.
    """
    try:
        raw = bytearray(listed.encode("latin-1"))
    except UnicodeEncodeError:
        return listed
    for i in range(len(raw) - 1):
        if 0xE2 <= raw[i] <= 0xFF and 0x80 <= raw[i + 1] <= 0xBF and 0xC2 <= raw[i] - 0x20 <= 0xDF:
            raw[i] -= 0x20
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return listed
    return text if text != listed and not text.isascii() else listed


def csv_names(csvs: Path) -> list[str]:
    """Every ``Style/name`` the split CSVs list, each once, in their order."""
    names = {}
    for split in ("style_train.csv", "style_val.csv"):
        for line in (csvs / split).read_text(encoding="utf-8").splitlines():
            relative = line.rsplit(",", 1)[0].strip()
            if relative:
                names[relative] = None
    return list(names)


def lay_out(work: Path, csvs: Path, paintings: Path) -> tuple[Path, dict]:
    """``work/archive``: one copy of a real painting per listed name; reused when complete."""
    archive = work / "archive"
    done = archive / ".complete"
    if done.exists():
        return archive, json.loads(done.read_text())
    names = csv_names(csvs)
    pool = sorted(paintings.glob("*/*.jpg"))
    if not pool:
        raise SystemExit(f"no <Style>/<painting>.jpg files in {paintings}")
    by_style = {}
    for path in pool:
        by_style.setdefault(path.parent.name, []).append(path)
    counts = {"names": len(names), "spelled_right": 0, "copies_of_their_own_style": 0, "bytes": 0}
    for index, relative in enumerate(names):
        style, _, listed = relative.rpartition("/")
        on_disk = spelled_right(listed)
        counts["spelled_right"] += on_disk != listed
        own = by_style.get(style)
        counts["copies_of_their_own_style"] += own is not None
        source = (own or pool)[index % len(own or pool)]
        target = archive / style / on_disk
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        counts["bytes"] += target.stat().st_size
    for name in SPLIT_FILES:
        shutil.copyfile(csvs / name, archive / name)
    done.write_text(json.dumps(counts))
    return archive, counts


# --------------------------------------------------------------------------------------- the runs


def run_command(archive: Path, cache: Path, out: Path, args, top_styles: int | None) -> list[str]:
    command = [sys.executable, str(ROOT / "train_dcgan.py"), "--dataset", "wikiart", "--data-dir", str(archive),
               "--image-size", str(args.image_size), "--epochs", "1", "--steps-per-epoch", str(args.steps),
               "--batch-size", str(args.batch_size), "--seed", "0", "--cache-dir", str(cache), "--out", str(out),
               "--quiet"]  # fmt: skip
    return command + (["--top-styles", str(top_styles)] if top_styles else [])


def what_the_log_says(out: Path) -> list[str]:
    """The run's lines about indexing, name repair, decoding and streaming, without timestamps."""
    log = out / "train.log"
    if not log.exists():
        return []
    lines = [line.split(" ", 3)[-1] for line in log.read_text(errors="replace").splitlines() if LOG_LINES.search(line)]
    return [line[:400] for line in lines]


def runs(args, archive: Path) -> list[dict]:
    work = Path(args.work)
    cache = work / f"cache_{args.image_size}"
    if "first" in args.only:
        shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    rows = []
    for name in args.only:
        out = work / "runs" / f"{name}_{args.image_size}"
        shutil.rmtree(out, ignore_errors=True)
        command = run_command(archive, cache, out, args, 9 if name == "top-styles" else None)
        figures = measured_run(command, env, work / "runs" / f"{out.name}.log", cwd=ROOT)
        rows.append({"run": name, **figures, "log": what_the_log_says(out)})
        print(f"{name}: peak {figures['peak'] / 1e9:.2f} GB, steady {figures['steady'] / 1e9:.2f} GB, "
              f"{figures['seconds']:.0f} s", flush=True)  # fmt: skip
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| run | seconds | peak RSS | steady RSS |", "| --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['seconds']:.0f} | {r['peak'] / 1e9:.2f} GB | {r['steady'] / 1e9:.2f} GB |")
    for r in rows:
        lines += ["", f"{r['run']}:"] + [f"  {line}" for line in r["log"]]
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    csvs = Path(args.csvs) if args.csvs else data_root() / "wikiart"
    paintings = Path(args.paintings) if args.paintings else data_root() / "wikiart-8k"
    for name in SPLIT_FILES:
        if not (csvs / name).is_file():
            raise SystemExit(f"{csvs / name} is missing: --csvs takes the folder of the real split CSVs")
    work = Path(args.work)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    archive, layout = lay_out(work, csvs, paintings)
    print(f"laid out {layout['names']:,} names ({layout['spelled_right']} spelled right where the CSVs hold "
          f"mojibake, {layout['bytes'] / 1e9:.2f} GB) in {archive}", flush=True)  # fmt: skip
    rows = runs(args, archive)
    if args.json:
        Path(args.json).write_text(json.dumps({"layout": layout, "runs": rows}, indent=1) + "\n")
    print(table(rows))


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
