#!/usr/bin/env python
"""What an Inception figure costs on this machine: seconds per 1000 images and memory as --n grows.

The 2015 Inception graph and Keras's InceptionV3 are the same architecture
(about 5.7 GMAC per 299x299 image), so the cost is measured on an InceptionV3
with random weights (no weights file is needed), through the same streaming
pass that evaluate.py and fid_stats.py use. Each --n runs in its own pass;
peak memory is the process's maximum resident set after each pass, so a flat
line over --n says the pass streams.

  python bench/inception.py                     # 200 and 600 images at 32 px
  python bench/inception.py --n 500 2000 --image-size 64
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

from base.terminal import start_tensorflow_quietly
from training.cli import OneLineErrorParser, positive_int, run_cli

ROOT = Path(__file__).resolve().parents[1]


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="bench/inception.py", description=__doc__)
    parser.add_argument("--n", type=positive_int, nargs="+", default=[200, 600], help="images per pass")
    parser.add_argument("--image-size", type=positive_int, default=32, help="side of the images fed (default: 32)")
    return parser


def random_images(count: int, size: int, seed: int):
    """Images in [-1, 1], made one batch at a time so that the input itself takes no memory."""
    import numpy as np

    from evaluation.inception import BATCH_SIZE

    rng = np.random.default_rng(seed)
    for start in range(0, count, BATCH_SIZE):
        yield rng.uniform(-1, 1, (min(BATCH_SIZE, count - start), size, size, 3)).astype(np.float32)


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    args = build_parser().parse_args(argv)
    start_tensorflow_quietly()
    import keras

    from evaluation.inception import BATCH_SIZE, keras_feature_network, stream_through

    model = keras.applications.InceptionV3(weights=None, include_top=True)
    full = keras.Model(model.input, [model.get_layer("avg_pool").output, model.output])
    network = keras_feature_network(full, True, Path("random weights"), "InceptionV3, random weights")
    stream_through(network, random_images(BATCH_SIZE, args.image_size, 0), BATCH_SIZE)  # warm-up: tracing
    print(f"warm-up done, peak memory {peak_memory_mib():.0f} MiB")
    print(f"{'images':>8s} {'seconds':>9s} {'s / 1000':>9s} {'peak MiB':>9s}")
    for count in args.n:
        started = time.perf_counter()
        stream_through(network, random_images(count, args.image_size, count), count)
        seconds = time.perf_counter() - started
        print(f"{count:8d} {seconds:9.1f} {1000 * seconds / count:9.1f} {peak_memory_mib():9.0f}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
