#!/usr/bin/env python
"""The whole WikiArt at 64, 128 and 256 px: decode rate, memory against the decoded set, the input pipeline.

Synthetic sets stand in for the ArtGAN archive (81,446 paintings, 25.4 GB of
JPEGs, 57,025 training rows); every figure comes from fresh processes:

1. ``decode``: JPEGs of the archive's size (2500x1800, about 310 kB each, its
   mean) decoded by ``data.images.decode_files`` into an empty store, with one
   thread and with every core: CPU and wall seconds per image at each size,
   and the projection to the 57,025 training rows on 2 and on 16 cores
   (decoding is one Pillow call per file, which releases the GIL; the
   projection divides the one-thread CPU time, which other jobs on a shared
   machine do not inflate, by the cores).
2. ``memory``: a short DC-GAN run (``train_dcgan.py``: ``--steps-per-epoch``
   steps, one epoch, its sample grids and checkpoint) on a set whose decoded
   array is about ``--array-gb`` at each size, twice: the first run decodes,
   the second finds the cache. The same two runs on a 64-image set are the
   baseline. Peak RSS (the kernel's, from ``wait4``) and steady RSS (the median
   of VmRSS over the run's second half) over the tiny set's, against the
   array's size. Targets: the second run's peak grows by under a third of the
   array, the first run's by under half. ``--before PATH`` runs the same with
   another checkout (the code before the store: ``git worktree add PATH <commit>``).
3. ``pipeline``: one process per size, on the ``memory`` set's cache: the
   training stream alone, streamed from the store and read into memory (images
   per second, and CPU time per image: what it takes from a CPU step), and
   ``fit``'s seconds per step with each of the two, alternated.

4. ``evaluation``: on the ``memory`` set at each size, its cache filled
   first, ``evaluate.py`` (one judge trained for one epoch, ``--judges
   flatten --classifier-epochs 1``, on a generator trained for two steps on
   the tiny set; ``--n 32`` samples on both sets, so that what grows is the
   set's share) and ``fid_stats.py`` (every image through the network of
   ``--inception-weights``; skipped without it): peak RSS, and over the same
   run's on the tiny set. The judges' cache is emptied before each run, so
   every run trains its judge. ``--before`` runs the same with another checkout.

  python bench/data_scale.py --work /tmp/data_scale                          # all of them, 64/128/256 px
  python bench/data_scale.py --work /tmp/data_scale --only memory --before /tmp/artgan-before
  python bench/data_scale.py --work /tmp/data_scale --only evaluation --sizes 64 --before /tmp/artgan-before \\
      --inception-weights inception-2015-12-05.tgz
  python bench/data_scale.py --work /tmp/data_scale --only decode --decode-images 200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from training.cli import OneLineErrorParser, positive_float, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE_TRAINING_ROWS = 57_025
ARCHIVE_SIDE = (2500, 1800)
CLASSES = 4
TINY = 64
PARTS = ("decode", "memory", "pipeline", "evaluation")


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench/data_scale.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", required=True, help="folder for the synthetic sets, caches and runs (reused)")
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[64, 128, 256], help="image sides")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="which measurements")
    parser.add_argument("--decode-images", type=positive_int, default=120, help="archive-size JPEGs decoded")
    parser.add_argument("--array-gb", type=positive_float, default=1.0, help="decoded size of the memory sets")
    parser.add_argument("--steps", type=positive_int, default=2, help="training steps of each memory run")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=32,
        help="memory runs' batch (the model's share of memory, the same for the tiny and the large set)",
    )
    parser.add_argument("--fit-steps", type=positive_int, default=3, help="pipeline: steps of each timed fit")
    parser.add_argument("--before", help="a checkout of the code to compare with (its scripts are run)")
    parser.add_argument("--inception-weights", help="evaluation: the network fid_stats.py passes every image through")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    return parser


# ------------------------------------------------------------------------------------------- the sets


def noisy_painting(rng, width: int, height: int):
    """Smooth colour fields with a little grain: JPEG sizes near real paintings' at the same quality."""
    import numpy as np
    from PIL import Image

    coarse = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.normal(0, 3, smooth.shape).astype(np.int16)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def archive_like(folder: Path, count: int) -> list[Path]:
    import numpy as np

    paths = sorted(folder.glob("*.jpg"))
    if len(paths) >= count:
        return paths[:count]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(paths))
    for index in range(len(paths), count):
        noisy_painting(rng, *ARCHIVE_SIDE).save(folder / f"painting_{index:05d}.jpg", quality=75)
    return sorted(folder.glob("*.jpg"))[:count]


def image_set(folder: Path, side: int, count: int) -> Path:
    """``count`` JPEGs of ``side`` px in CLASSES class folders, 32 distinct pictures written round-robin."""
    import io

    import numpy as np

    done = folder / ".complete"
    if done.exists() and done.read_text() == str(count):
        return folder
    rng = np.random.default_rng(side)
    encoded = []
    for _ in range(32):
        buffer = io.BytesIO()
        noisy_painting(rng, side, side).save(buffer, format="JPEG", quality=90)
        encoded.append(buffer.getvalue())
    for k in range(CLASSES):
        (folder / f"class_{k}").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"class_{index % CLASSES}" / f"{index:06d}.jpg").write_bytes(encoded[index % 32])
    done.write_text(str(count))
    return folder


def images_for(side: int, gigabytes: float) -> int:
    return int(gigabytes * 1e9 // (side * side * 3))


# ------------------------------------------------------------------------------------------- decoding


def decode_rates(args) -> list[dict]:
    """Seconds per archive-size painting, one thread and every core, into a fresh store each time."""
    import shutil

    from data.images import decode_files

    paths = archive_like(Path(args.work) / "archive_like", args.decode_images)
    mean_kb = sum(p.stat().st_size for p in paths) / len(paths) / 1e3
    cores = os.cpu_count() or 1
    rows = []
    for size in args.sizes:
        row = {"size": size, "images": len(paths), "mean_kb": mean_kb, "cores": cores}
        for workers in (1, cores):
            cache = Path(args.work) / "decode_cache"
            shutil.rmtree(cache, ignore_errors=True)
            started, cpu = time.perf_counter(), time.process_time()
            decoded = decode_files(paths, [0] * len(paths), size, 3, "squash", cache, workers, progress=False)
            row[f"seconds_{workers}"] = (time.perf_counter() - started) / len(paths)
            row[f"cpu_seconds_{workers}"] = (time.process_time() - cpu) / len(paths)
            assert len(decoded.labels) == len(paths), decoded.skipped[:3]
        per_image = row["cpu_seconds_1"]  # CPU time: what a shared machine's other jobs do not inflate
        row["archive_2_cores_min"] = ARCHIVE_TRAINING_ROWS * per_image / 2 / 60
        row["archive_16_cores_min"] = ARCHIVE_TRAINING_ROWS * per_image / 16 / 60
        row["archive_this_machine_min"] = ARCHIVE_TRAINING_ROWS * row[f"seconds_{cores}"] / 60
        rows.append(row)
        print(f"decode {size} px: {row}", flush=True)
    return rows


def decode_table(rows: list[dict]) -> str:
    cores = rows[0]["cores"]
    lines = [
        f"| size | CPU ms / painting | wall ms / painting, 1 thread | wall ms / painting, {cores} threads "
        f"| the 57,025 training rows: {cores} threads here | 2 cores (from CPU time) | 16 cores (from CPU time) "
        "| decoded array |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        array = ARCHIVE_TRAINING_ROWS * r["size"] ** 2 * 3 / 1e9
        lines.append(
            f"| {r['size']} | {1e3 * r['cpu_seconds_1']:.1f} | {1e3 * r['seconds_1']:.1f} "
            f"| {1e3 * r[f'seconds_{cores}']:.1f} | {r['archive_this_machine_min']:.1f} min "
            f"| {r['archive_2_cores_min']:.1f} min | {r['archive_16_cores_min']:.1f} min | {array:.2f} GB |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- memory


def measured_run(command: list[str], env: dict, log: Path, cwd=None) -> dict:
    """Run ``command``: its peak RSS (the kernel's high-water mark, VmHWM) and the median VmRSS of its second half.

    Read from /proc while it runs, every 0.1 s: ``wait4``'s maximum would count
    the parent's memory, which a child holds until it calls exec.
    """
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
    samples, peak = [], 0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if line.startswith(("VmRSS", "VmHWM")))
            peak = max(peak, int(fields["VmHWM"].split()[0]) * 1024)
            samples.append((time.perf_counter() - started, int(fields["VmRSS"].split()[0]) * 1024))
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    late = [rss for at, rss in samples if at >= seconds / 2] or [0]
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}); see {log}")
    return {"peak": peak, "steady": statistics.median(late), "seconds": seconds}


def training_command(code: Path, data_dir: Path, side: int, cache: Path, out: Path, steps: int, batch: int):
    return [sys.executable, str(code / "train_dcgan.py"), "--dataset", "folder", "--data-dir", str(data_dir),
            "--image-size", str(side), "--steps-per-epoch", str(steps), "--epochs", "1", "--batch-size", str(batch),
            "--seed", "0", "--cache-dir", str(cache), "--out", str(out), "--quiet"]  # fmt: skip


def checkouts(args) -> dict:
    """The code each measurement runs: this checkout ("after"), and ``--before``'s when given."""
    return {"after": ROOT} | ({"before": Path(args.before).resolve()} if args.before else {})


def tiny_and_large(work: Path, size: int, gigabytes: float) -> dict:
    """The 64-image baseline set and the set of about ``gigabytes`` decoded, at ``size``."""
    return {"tiny": image_set(work / f"set_{size}_tiny", size, TINY),
            "large": image_set(work / f"set_{size}", size, images_for(size, gigabytes))}  # fmt: skip


def memory_runs(args) -> list[dict]:
    import shutil

    work = Path(args.work)
    codes = checkouts(args)
    rows = []
    for size in args.sizes:
        sets = tiny_and_large(work, size, args.array_gb)
        for code_name, code in codes.items():
            env = dict(os.environ, PYTHONPATH=str(code), TF_CPP_MIN_LOG_LEVEL="3")
            found = {}
            for set_name, folder in sets.items():
                cache = work / f"cache_{code_name}_{size}_{set_name}"
                shutil.rmtree(cache, ignore_errors=True)
                for phase in ("first", "second"):
                    out = work / "runs" / f"{code_name}_{size}_{set_name}_{phase}"
                    shutil.rmtree(out, ignore_errors=True)
                    command = training_command(code, folder, size, cache, out, args.steps, args.batch_size)
                    log = work / "runs" / f"{out.name}.log"
                    found[set_name, phase] = measured_run(command, env, log, cwd=code)
                    print(f"memory {code_name} {size} px {set_name} {phase}: {found[set_name, phase]}", flush=True)
            count = images_for(size, args.array_gb)
            array = count * size * size * 3
            for phase in ("first", "second"):
                large, tiny = found["large", phase], found["tiny", phase]
                growth = {f"{what}_growth": large[what] - tiny[what] for what in ("peak", "steady")}
                rows.append({"size": size, "code": code_name, "phase": phase, "images": count, "array": array,
                             **large, **growth})  # fmt: skip
    return rows


def memory_table(rows: list[dict]) -> str:
    lines = [
        "| size | images | decoded array | code | run | peak RSS | peak over the tiny set's | of the array "
        "| target | steady RSS | steady over the tiny set's |",
        "| ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in rows:
        share = r["peak_growth"] / r["array"]
        bound = 1 / 2 if r["phase"] == "first" else 1 / 3
        verdict = ("met" if share < bound else "missed") + f" (< {'1/2' if r['phase'] == 'first' else '1/3'})"
        run = "first (decodes)" if r["phase"] == "first" else "second (cached)"
        lines.append(
            f"| {r['size']} | {r['images']:,} | {r['array'] / 1e9:.2f} GB | {r['code']} | {run} "
            f"| {r['peak'] / 1e9:.2f} GB | {r['peak_growth'] / 1e9:+.2f} GB | {share:.2f} | {verdict} "
            f"| {r['steady'] / 1e9:.2f} GB | {r['steady_growth'] / 1e9:+.2f} GB |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- pipeline


def pipeline_worker(args) -> None:
    """One size: the stream alone and fit's step, streamed against in memory (prints one JSON line)."""
    from base.terminal import start_tensorflow_quietly

    start_tensorflow_quietly()
    import numpy as np

    from data import load_images, training_dataset
    from data.cache import StoredImages
    from training.recipes.dcgan import RECIPE

    folder = Path(args.work) / f"set_{args.size}"
    cache = Path(args.work) / f"cache_after_{args.size}_large"
    data = load_images("folder", str(folder), args.size, cache_dir=str(cache), progress=False)
    assert isinstance(data.source, StoredImages)
    sources = {"streamed": data.source, "in memory": data.source.take(np.arange(len(data.labels)))}
    batch = args.batch_size

    def stream(source):
        return training_dataset(source, data.labels, data.num_classes, batch, seed=0, flip=True, epochs=1000)

    figures = {"images": len(data.labels), "batch": batch}
    for name, source in sources.items():  # the stream alone: images per second, and its CPU per image
        batches = iter(stream(source))
        for _ in range(3):
            next(batches)
        started, cpu, count = time.perf_counter(), time.process_time(), 0
        while time.perf_counter() - started < 5 or count < 20:
            next(batches)
            count += 1
        figures[f"pipeline {name}"] = count * batch / (time.perf_counter() - started)
        figures[f"pipeline cpu ms {name}"] = 1e3 * (time.process_time() - cpu) / (count * batch)
    settings = RECIPE.settings("folder", seed=0, batch_size=batch)
    trainer = RECIPE.build_trainer(settings, data.image_shape, data.num_classes)
    steps = {name: [] for name in sources}
    cpu = {name: [] for name in sources}
    for round_ in range(3):  # the first round traces and warms up, and is not counted
        for name, source in sources.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            trainer.fit(stream(source), epochs=1, steps_per_epoch=args.fit_steps, verbose=0, shuffle=False)
            if round_:
                steps[name].append((time.perf_counter() - started) / args.fit_steps)
                cpu[name].append((time.process_time() - cpu_started) / args.fit_steps)
    for name in sources:
        figures[f"step {name}"] = statistics.median(steps[name])
        figures[f"step cpu {name}"] = statistics.median(cpu[name])
    print(json.dumps(figures))


def pipeline_rates(args) -> list[dict]:
    rows = []
    for size in args.sizes:
        folder = image_set(Path(args.work) / f"set_{size}", size, images_for(size, args.array_gb))
        cache = Path(args.work) / f"cache_after_{size}_large"
        if not (cache / "decoded").is_dir():
            from data import load_images

            load_images("folder", str(folder), size, cache_dir=str(cache), progress=False)
        command = [sys.executable, __file__, "--worker", "pipeline", "--size", str(size), "--work", args.work,
                   "--fit-steps", str(args.fit_steps), "--batch-size", str(args.batch_size)]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(ROOT))  # the worker leaves TensorFlow's start-up notices out itself
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"the pipeline worker at {size} px failed:\n{result.stderr[-3000:]}")
        row = {"size": size, **json.loads(result.stdout.strip().splitlines()[-1])}
        print(f"pipeline {size} px: {row}", flush=True)
        rows.append(row)
    return rows


def pipeline_table(rows: list[dict]) -> str:
    lines = [
        "| size | batch | stream alone: streamed img/s (CPU ms / img) | in memory img/s (CPU ms / img) "
        "| DC-GAN step, streamed: s (CPU s) | in memory: s (CPU s) | streamed against in memory: wall, CPU "
        "| the stream's CPU against the step's |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        wall = r["step streamed"] / r["step in memory"]
        cpu = r["step cpu streamed"] / r["step cpu in memory"]
        share = r["pipeline cpu ms streamed"] * r["batch"] / 1e3 / r["step cpu in memory"]
        lines.append(
            f"| {r['size']} | {r['batch']} | {r['pipeline streamed']:,.0f} ({r['pipeline cpu ms streamed']:.3f}) "
            f"| {r['pipeline in memory']:,.0f} ({r['pipeline cpu ms in memory']:.3f}) "
            f"| {r['step streamed']:.2f} ({r['step cpu streamed']:.2f}) | {r['step in memory']:.2f} "
            f"({r['step cpu in memory']:.2f}) | {wall:.3f}, {cpu:.3f} | {100 * share:.2f}% |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- evaluation


def evaluation_runs(args) -> list[dict]:
    """Peak RSS of evaluate.py and fid_stats.py on the tiny and the large set, per checkout and size."""
    import shutil

    work = Path(args.work)
    codes = checkouts(args)
    rows = []
    for size in args.sizes:
        sets = tiny_and_large(work, size, args.array_gb)
        cache = work / f"cache_evaluation_{size}"
        fill_cache(sets.values(), size, cache)
        generator = tiny_generator(work, sets["tiny"], size, cache)
        for code_name, code in codes.items():
            env = dict(os.environ, PYTHONPATH=str(code), TF_CPP_MIN_LOG_LEVEL="3")
            for set_name, folder in sets.items():
                commands = evaluation_commands(code, folder, size, cache, generator, work, args.inception_weights)
                for tool, command in commands.items():
                    shutil.rmtree(cache / "classifiers", ignore_errors=True)  # every run trains its judge
                    log = work / "runs" / f"{tool}_{code_name}_{size}_{set_name}.log"
                    found = measured_run(command, env, log, cwd=code)
                    print(f"evaluation {code_name} {size} px {set_name} {tool}: {found}", flush=True)
                    rows.append({"size": size, "code": code_name, "set": set_name, "tool": tool,
                                 "images": images_for(size, args.array_gb), **found})  # fmt: skip
    return rows


def fill_cache(folders, size: int, cache: Path) -> None:
    """Decode the sets once, so that no measured run decodes."""
    from data import load_images

    for folder in folders:
        load_images("folder", str(folder), size, cache_dir=str(cache), progress=False)


def tiny_generator(work: Path, folder: Path, size: int, cache: Path) -> Path:
    """A DC-GAN generator of ``size`` px for CLASSES classes, trained for two steps: what evaluate.py measures."""
    out = work / "runs" / f"generator_{size}"
    found = sorted(out.glob("checkpoints/generator_epoch_*.h5"))
    if not found:
        command = training_command(ROOT, folder, size, cache, out, 2, 32)
        subprocess.run(command, env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3"), check=True,
                       capture_output=True, cwd=ROOT)  # fmt: skip
        found = sorted(out.glob("checkpoints/generator_epoch_*.h5"))
    return found[-1]


def evaluation_commands(code: Path, folder: Path, size: int, cache: Path, generator: Path, work: Path, weights):
    where = ["--dataset", "folder", "--data-dir", str(folder), "--cache-dir", str(cache)]
    commands = {
        "evaluate.py": [sys.executable, str(code / "evaluate.py"), "--checkpoint", str(generator), *where,
                        "--judges", "flatten", "--classifier-epochs", "1", "--n", str(TINY // 2),
                        "--out", str(work / "runs" / "metrics.json")]
    }  # fmt: skip
    if weights:
        commands["fid_stats.py"] = [sys.executable, str(code / "fid_stats.py"), *where, "--image-size", str(size),
                                    "--inception-weights", str(Path(weights).resolve()),
                                    "--out", str(work / "runs" / "statistics.npz")]  # fmt: skip
    return commands


def evaluation_table(rows: list[dict]) -> str:
    peaks = {(r["size"], r["tool"], r["code"], r["set"]): r["peak"] for r in rows}
    codes = [code for code in ("before", "after") if any(r["code"] == code for r in rows)]
    header = " | ".join(f"{code}: peak RSS (over the tiny set's)" for code in codes)
    lines = [
        f"| size | images | decoded set | script | {header} |",
        "| ---: | ---: | ---: | --- |" + " ---: |" * len(codes),
    ]
    for r in rows:
        if r["code"] != codes[0] or r["set"] != "large":
            continue
        large = [peaks[r["size"], r["tool"], code, "large"] for code in codes]
        tiny = [peaks[r["size"], r["tool"], code, "tiny"] for code in codes]
        cells = " | ".join(
            f"{peak / 1e9:.2f} GB ({(peak - base) / 1e9:+.2f} GB)" for peak, base in zip(large, tiny, strict=True)
        )
        array = r["images"] * r["size"] ** 2 * 3
        lines.append(f"| {r['size']} | {r['images']:,} | {array / 1e9:.2f} GB | `{r['tool']}` | {cells} |")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.worker == "pipeline":
        return pipeline_worker(args)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    (Path(args.work) / "runs").mkdir(exist_ok=True)
    results, tables = {}, []
    if "decode" in args.only:
        results["decode"] = decode_rates(args)
        tables.append(decode_table(results["decode"]))
    if "memory" in args.only:
        results["memory"] = memory_runs(args)
        tables.append(memory_table(results["memory"]))
    if "pipeline" in args.only:
        results["pipeline"] = pipeline_rates(args)
        tables.append(pipeline_table(results["pipeline"]))
    if "evaluation" in args.only:
        results["evaluation"] = evaluation_runs(args)
        tables.append(evaluation_table(results["evaluation"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print("\n\n".join(tables))


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
