"""Does the loader keep up with the trainer? Fraction of each epoch spent waiting for data.

The demo's training loop (``augkit train``): an :class:`augkit.data.Loader`
over an :class:`augkit.data.AugmentedDataset` feeds :class:`nn.Trainer`,
which records per epoch ``time`` (the training pass, waiting included) and
``data_time`` (seconds blocked in ``next(batches)``). Reported, as medians over
epochs: the epoch time (the headline: what a training run takes), the same against
the first worker count with no augmentation, the fraction ``data_time / time``,
the data wait and the training time without it (``time - data_time``), for 0, 1
and 2 loader threads, in four settings. Every round runs every cell, with and
without augmentation, so machine noise hits them alike.

The waiting fraction alone can mislead: with loader threads on 2 cores, the
threads compete with the training step for the cores, so waiting can drop
because training got slower (measured on the demo: the training time without
waiting rose 2.2-2.4x with 1 or 2 threads against 0 with augmentation, 1.5-1.9x
without). Compare epoch times first.
The settings:

- ``demo``: the shipped faces (25x25 gray, decoded once into memory), preset
  "seed" (shift + tint + box erase), MLP 625-64-2, batch 16 -- exactly what
  ``augkit train`` runs (on 200 images, repeated x10 to make epochs long
  enough to time);
- ``demo, from disk``: the same, but every image decoded from its PNG file
  each epoch (an :class:`~augkit.data.ImageFolder` under the augmentation);
- ``demo, ImageFolder(cache=True)``: the same folder with ``cache=True``
  (decoded on first read, copied out of memory afterwards);
- ``larger``: 64x64 RGB images in memory, preset "strong", MLP 12288-256-10,
  batch 64 -- heavier on both sides.

The peer measured in the same run is the same loop with no augmentation
(``augment none``): its data fraction is the cost of batching alone.

On 2 shared cores, run it with ``OPENBLAS_NUM_THREADS=1``: the MLP's tiny
matrix products gain nothing from a second BLAS thread, and when other
processes load the machine that thread's spin-waiting slows training steps
by up to 10x, which makes "waiting for data" look small for the wrong reason.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_loader.py [--epochs 3] [--rounds 3] [--markdown]
        [--settings demo disk cached larger]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import nn  # noqa: E402
from augkit import presets  # noqa: E402
from augkit.data import AugmentedDataset, ImageFolder, Loader, sample_path  # noqa: E402
from augkit.demo_train import load_folder  # noqa: E402


class _Repeat:
    """``times`` copies of an indexable, so that an epoch is long enough to time."""

    def __init__(self, items, times):
        self.items, self.times = items, times

    def __len__(self):
        return len(self.items) * self.times

    def __getitem__(self, i):
        return self.items[i % len(self.items)]


def _settings():
    faces = load_folder(sample_path("faces"))
    pairs = list(zip(faces.images, faces.labels.tolist()))
    folder = ImageFolder(sample_path("faces"), mode="L")
    cached = ImageFolder(sample_path("faces"), mode="L", cache=True)
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (500, 64, 64, 3), dtype=np.uint8)
    big_pairs = list(zip(big, rng.integers(0, 10, 500).tolist()))
    return {
        "demo": ("demo (25x25 gray, in memory)", _Repeat(pairs, 10), "seed", [625, 64, 2], 16),
        "disk": ("demo, decoded from disk every epoch", _Repeat(folder, 10), "seed", [625, 64, 2], 16),
        "cached": ("demo, ImageFolder(cache=True)", _Repeat(cached, 10), "seed", [625, 64, 2], 16),
        "larger": ("larger (64x64 RGB, in memory)", _Repeat(big_pairs, 4), "strong", [12288, 256, 10], 64),
    }


def _run(items, augment, sizes, batch, workers, epochs):
    pipe = None if augment == "none" else presets.get_preset(augment)
    loader = Loader(AugmentedDataset(items, pipe, seed=0), batch_size=batch, seed=0, workers=workers)

    def batches(epoch):
        for x, y in loader.epoch(epoch):
            yield x.astype(np.float32).reshape(len(x), -1) * (1.0 / 255.0), y

    trainer = nn.Trainer(nn.MLP(sizes, rng=0), nn.Adam(1e-3))
    history = trainer.fit(batches, epochs=epochs + 1)
    return history.records[1:]  # the first epoch warms the kernels and caches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per cell and round (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; each runs every worker count in turn, so machine noise hits all alike")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--markdown", action="store_true")
    settings = _settings()
    parser.add_argument("--settings", nargs="+", choices=list(settings), default=list(settings))
    args = parser.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}; median over {args.rounds} rounds x "
          f"{args.epochs} epochs; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    header = ["setting", "augment", "workers", "epoch (s)", "epoch vs 0 workers, no augmentation",
              "waiting for data", "data wait (s)", "training (s)"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header) if args.markdown else "  ".join(header))
    for name, items, augment, sizes, batch in (settings[k] for k in args.settings):
        cells = {(aug, w): [] for aug in ("none", augment) for w in args.workers}
        for _ in range(args.rounds):   # every round runs every cell: augmentation and its peer interleaved
            for aug in ("none", augment):
                for workers in args.workers:
                    cells[aug, workers] += _run(items, aug, sizes, batch, workers, args.epochs)
        base = statistics.median(r["time"] for r in cells["none", args.workers[0]])
        for (aug, workers), records in cells.items():
            frac = statistics.median(r["data_time"] / r["time"] for r in records)
            epoch_s = statistics.median(r["time"] for r in records)
            wait_s = statistics.median(r["data_time"] for r in records)
            train_s = statistics.median(r["time"] - r["data_time"] for r in records)
            row = [name, aug, str(workers), f"{epoch_s:.3f}", f"{epoch_s / base:.2f}×", f"{frac:.1%}",
                   f"{wait_s:.3f}", f"{train_s:.3f}"]
            print("| " + " | ".join(row) + " |" if args.markdown else "  ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
