"""How long the style explorer takes to redraw after a slider moves (notebooks/explore.ipynb).

A redraw is one pass of the generator over the picture's seed and its
neighbours (a traced ``tf.function``), two PNGs and the status line. Printed
beside it: the same pass as an eager Keras call (``sampling.generate``), and
the pass alone, so the share of each part is visible. Medians over --moves
slider moves after one warm-up; the explorer runs in this process, without
a browser (a browser adds the widget's round trip, a few milliseconds locally).

  python bench/explorer_redraw.py                                  # the shipped WikiArt generator, 64 px
  python bench/explorer_redraw.py --checkpoint runs/RUN/checkpoints/generator_epoch_010.h5 --moves 50
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from base.terminal import start_tensorflow_quietly

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained" / "wikiart-dcgan-64px.h5"


def median_seconds(action, repeats: int) -> float:
    action()  # warm-up: tracing, first allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(PRETRAINED), help="a generator .h5 (default: pretrained/)")
    parser.add_argument("--moves", type=int, default=30, help="slider moves to time (default: 30)")
    parser.add_argument("--neighbours", type=int, default=4, help="seeds drawn under the picture (default: 4)")
    args = parser.parse_args(argv)
    start_tensorflow_quietly()
    import sampling
    from sampling.explorer import StyleExplorer

    explorer = StyleExplorer.from_checkpoint(args.checkpoint, neighbours=args.neighbours)
    size = explorer.generator.outputs[0].shape[1]
    redraw = explorer.time_redraw(args.moves)
    noise = explorer.noise()
    conditions = np.repeat(explorer.condition()[None], len(noise), axis=0)
    traced = median_seconds(lambda: explorer._draw(noise, conditions), args.moves)
    eager = median_seconds(lambda: sampling.generate(explorer.generator, noise, conditions), args.moves)
    print(f"{Path(args.checkpoint).name}: {size} px, {len(noise)} images per redraw, {args.moves} moves")
    print(f"redraw (generator, PNGs, status): median {1000 * redraw:.1f} ms")
    print(f"generator pass alone, traced:      median {1000 * traced:.1f} ms")
    print(f"generator pass alone, eager Keras: median {1000 * eager:.1f} ms")


if __name__ == "__main__":
    main()
