"""This checkout's augkit against an earlier commit's, side by side in one process.

    python benchmarks/bench_versions.py COMMIT [--sizes 256 512] [--rounds 9]

The earlier commit's ``augkit/`` is extracted with ``git archive`` into a
temporary folder and imported as ``augkit_old`` (augkit's modules import each
other relatively, so both live in one interpreter); its numba code compiles
into that folder. Each transform alone with p=1 (the flips, RandomCrop of 7/8
of the side, Shift, Tint, BoxErase), the five-transform pipeline of
``bench_transforms.py`` as single calls, and its ``batch`` of 64 on 1 and 2 threads (``--threads``) are
timed on scikit-image's sample photographs, the two versions' passes
interleaved (the order reversed every other round); the table gives the median
time per image and new/old (below 1: this checkout is faster).

Use it for a before/after of one change: on a shared machine two separate
benchmark runs differ more than most changes do.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field"]


def photos(side):
    from PIL import Image
    from skimage import data
    out = []
    for name in PHOTOS:
        a = getattr(data, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        a = a[..., :3]
        s = min(a.shape[:2])
        out.append(np.asarray(Image.fromarray(np.ascontiguousarray(a[:s, :s])).resize((side, side))))
    return out


def transforms(lib, side):
    c = side * 7 // 8
    return {"HorizontalFlip": lib.HorizontalFlip(p=1), "VerticalFlip": lib.VerticalFlip(p=1),
            f"RandomCrop {c}": lib.RandomCrop(c, c), "Shift": lib.Shift(p=1), "Tint": lib.Tint(p=1),
            "BoxErase": lib.BoxErase(p=1),
            "pipeline (5 transforms)": lib.Compose([lib.RandomCrop(c, c), lib.HorizontalFlip(p=0.5), lib.Shift(p=1),
                                                    lib.Tint(p=1), lib.BoxErase(p=1)], seed=0)}


def per_image(fn, calls, images_per_call=1):
    t0 = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - t0) / (calls * images_per_call) * 1e6


def compare(new_fn, old_fn, calls, rounds, images_per_call=1):
    for fn in (new_fn, old_fn):   # warm-up (and compile)
        per_image(fn, max(1, calls // 10), images_per_call)
    new, old = [], []
    for r in range(rounds):
        pair = ((new_fn, new), (old_fn, old)) if r % 2 == 0 else ((old_fn, old), (new_fn, new))
        for fn, acc in pair:
            acc.append(per_image(fn, calls, images_per_call))
    return float(np.median(new)), float(np.median(old))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("commit", help="the earlier commit (anything git understands: a hash, HEAD~3, a tag)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="numba threads for the batch rows")
    args = ap.parse_args(argv)
    if args.rounds < 1 or any(s < 16 for s in args.sizes):
        ap.error("--rounds must be >= 1 and --sizes >= 16")

    import numba
    if any(not 1 <= t <= numba.config.NUMBA_NUM_THREADS for t in args.threads):
        ap.error(f"--threads must lie in 1..{numba.config.NUMBA_NUM_THREADS} (NUMBA_NUM_THREADS)")
    numba.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="augkit-versions-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.commit, "augkit"], capture_output=True)
        if archive.returncode != 0:
            ap.error(f"commit {args.commit!r}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        os.rename(Path(tmp) / "augkit", Path(tmp) / "augkit_old")
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, tmp)
        import augkit as new_lib
        import augkit_old as old_lib
        head = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                              text=True).stdout.strip()
        print(f"# this checkout ({head}) against {args.commit}, one process, 1 thread but where a row says\n")
        print("| op | size | new µs/image | old µs/image | new/old |")
        print("|---|---|---|---|---|")
        for side in args.sizes:
            imgs = photos(side)
            n = len(imgs)
            stack = np.stack([imgs[i % n] for i in range(64)])
            calls = max(50, 2_000 * 256 * 256 // (side * side))
            new_t, old_t = transforms(new_lib, side), transforms(old_lib, side)
            for name in new_t:
                a, b = new_t[name], old_t[name]
                tn, to = compare(lambda i, t=a: t(image=imgs[i % n]), lambda i, t=b: t(image=imgs[i % n]),
                                 calls, args.rounds)
                print(f"| {name} | {side} | {tn:.2f} | {to:.2f} | {tn / to:.3f} |", flush=True)
            a, b = new_t["pipeline (5 transforms)"], old_t["pipeline (5 transforms)"]
            for threads in args.threads:
                numba.set_num_threads(threads)
                tn, to = compare(lambda i: a.batch(stack), lambda i: b.batch(stack), max(2, calls // 400),
                                 args.rounds, images_per_call=64)
                print(f"| pipeline batch of 64, {threads} thread{'s' if threads > 1 else ''} | {side} | {tn:.2f} "
                      f"| {to:.2f} | {tn / to:.3f} |", flush=True)
            numba.set_num_threads(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
