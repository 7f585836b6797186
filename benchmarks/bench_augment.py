"""``augkit augment`` throughput against the decode/encode bound, for several worker counts.

    python benchmarks/bench_augment.py [--n 300] [--size 256] [--format jpg] [--workers 1,2] [--repeat 5] [--out FILE]

It makes a folder of photo-like images on the fly (random crops of the sample
photographs, in two class folders), then measures, with the same number of
workers:

- ``bound``: a plain Pillow loop that reads each file and writes it again in
  the same format and quality (decode + encode, nothing else), on worker
  threads and, where ``augment`` uses them (2 or more workers on Linux), in
  forked worker processes;
- ``augment``: ``augkit augment SRC DST --copies 1 --preset seed`` run
  in-process (kernels warmed up first), which decodes, augments, encodes,
  writes atomically and keeps the manifest; with 2 or more workers both as it
  runs by default (forked processes on Linux) and with ``--threads``.

Each of ``--repeat`` rounds runs every contender once, in rotating order, so
that all see the same load; the table gives each one's best round in images/s
and the median (and range) over the rounds of augment / bound with the same
kind of workers, which says how close augment comes to what decoding and
encoding alone allow.

The folders go in the system's temporary directory; where creating files is
slow or erratic (a busy disk), ``TMPDIR=/dev/shm`` (tmpfs) measures the same
work without the disk.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import PIL
from PIL import Image

import augkit
from augkit import _procs
from augkit.cli import main as augkit_main

SAMPLES = Path(augkit.__file__).resolve().parent.parent / "samples" / "images"


def make_folder(root: Path, n: int, size: int, fmt: str, quality: int) -> Path:
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(SAMPLES.glob("*.png"))]
    rng = np.random.default_rng(0)
    for i in range(n):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        ch, cw = rng.integers(h // 2, h + 1), rng.integers(w // 2, w + 1)
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        tile = Image.fromarray(photo[y:y + ch, x:x + cw]).resize((size, size), Image.BILINEAR)
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        tile.save(folder / f"img{i:05d}.{fmt}", quality=quality)
    return root


def _copier(src: Path, dst: Path, quality: int):
    def copy(path):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as img:
            img.load()
            img.save(target, quality=quality)
        return [], None
    return copy


def bound(src: Path, dst: Path, workers: int, quality: int) -> None:
    """Read and write every file again with Pillow, on ``workers`` threads."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(_copier(src, dst, quality), files))


def bound_processes(src: Path, dst: Path, workers: int, quality: int) -> None:
    """The same loop in ``workers`` forked processes (as ``augkit augment`` runs its workers on Linux)."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    for folder in {f.parent for f in files}:
        (dst / folder.relative_to(src)).mkdir(parents=True, exist_ok=True)
    with _procs.Pool(files, _copier(src, dst, quality), workers) as pool:
        pool.drive(threading.Event(), lambda key, result: None, key=str)


def augment(src: Path, dst: Path, workers: int, quality: int, *extra) -> None:
    status = augkit_main(["augment", str(src), str(dst), "--workers", str(workers), "--quality", str(quality),
                          "--preset", "seed", "--seed", "0", "-q", *extra])
    assert status == 0, status


def augment_threads(src: Path, dst: Path, workers: int, quality: int) -> None:
    augment(src, dst, workers, quality, "--threads")


def contenders(workers):
    """(name, function, the bound it is compared with) for this many workers."""
    if workers == 1:
        return [("bound", bound, None), ("augment", augment, "bound")]
    out = [("bound", bound, None)]
    if _procs.available():
        out += [("bound, processes", bound_processes, None), ("augment", augment, "bound, processes"),
                ("augment --threads", augment_threads, "bound")]
    else:
        out += [("augment", augment, "bound")]
    return out


def timed(fn, src, dst: Path, workers, quality) -> float:
    start = time.perf_counter()
    fn(src, dst, workers, quality)
    elapsed = time.perf_counter() - start
    shutil.rmtree(dst)
    return elapsed


def side_by_side(src, scratch: Path, workers, quality, repeat):
    """``repeat`` rounds of every contender, in rotating order; each round's times by name."""
    rounds = []
    named = contenders(workers)
    for r in range(repeat):
        order = named[r % len(named):] + named[:r % len(named)]
        rounds.append({name: timed(fn, src, scratch / f"run_{workers}_{r}_{k}", workers, quality)
                       for k, (name, fn, _) in enumerate(order)})
    return rounds


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return (f"{cpu}, {cores} usable cores; Python {platform.python_version()}, NumPy {np.__version__}, "
            f"Pillow {PIL.__version__}, numba {numba.__version__}, augkit {augkit.__version__}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="images in the folder")
    ap.add_argument("--size", type=int, default=256, help="image side in pixels")
    ap.add_argument("--format", choices=["jpg", "png", "webp"], default="jpg")
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (bound and augment side by side)")
    ap.add_argument("--out", help="also write the markdown table to this file")
    args = ap.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]

    with tempfile.TemporaryDirectory(prefix="augkit-bench-") as tmp:
        scratch = Path(tmp)
        src = make_folder(scratch / "src", args.n, args.size, args.format, args.quality)
        augment(src, scratch / "warmup", 1, args.quality)  # loads the compiled kernels once
        rows = []
        for w in workers:
            rounds = side_by_side(src, scratch, w, args.quality, args.repeat)
            for name, _, against in contenders(w):
                best = args.n / min(r[name] for r in rounds)
                if against is None:
                    rows.append((w, name, best, ""))
                    continue
                ratios = sorted(r[against] / r[name] for r in rounds)
                rows.append((w, name, best, f"{statistics.median(ratios):.2f} [{ratios[0]:.2f}-{ratios[-1]:.2f}] "
                                            f"of {against}"))

    lines = [f"`augkit augment` vs a plain Pillow read + write loop: {args.n} {args.format.upper()} images "
             f"{args.size}x{args.size} RGB (quality {args.quality}), preset `seed`, 1 copy; {args.repeat} rounds, "
             "each running every contender once (order rotating); images/s: the best round.",
             "", f"Machine: {machine()}.", "",
             "| workers | run | images/s | augment / bound, median of rounds [range] |",
             "|---:|---|---:|---|"]
    lines += [f"| {w} | {name} | {best:.0f} | {ratio} |" for w, name, best, ratio in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
