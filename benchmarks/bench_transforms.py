"""augkit against albumentations, transform by transform, in one process run.

    python benchmarks/bench_transforms.py [--quick] [--sizes 256 512] [--out FILE]

Everything runs on one thread unless a row says otherwise (OpenCV, numba and
the BLAS/OpenMP pools are pinned to 1 thread; the batch rows set numba's
thread count explicitly). Inputs are scikit-image's bundled sample photographs
(astronaut, chelsea, coffee, ...), centre-cropped to a square and resized to
exactly SxS uint8 with Pillow, cycled through the calls. Crops take 7/8 of the
side (224 for 256, 448 for 512).

Rows
----
- each transform alone with p=1, against its albumentations peer(s);
- the five-transform pipeline RandomCrop -> HorizontalFlip(p=0.5) -> Shift ->
  Tint -> BoxErase (single-image calls), against albumentations' Compose of
  RandomCrop -> HorizontalFlip -> Affine(nearest) -> RGBShift -> Erasing, and
  against the same with Affine's default (bilinear) interpolation;
- ``batch`` of 64 with 1 and 2 numba threads, against albumentations' Compose
  called in a Python loop over the 64 images (one thread), plus augkit's own
  2-thread / 1-thread scaling;
- plain copies (``img.copy()`` per image, timed beside VerticalFlip, as a
  reference; ``stack.copy()`` of the batch's output for batch mode, the
  physical limit there), and the fused batch pipeline against a plain copy of
  its output. The copied output holds real pixels: a
  never-written ``np.empty`` stack maps every page to the kernel's one zero
  page, so copying it reads from cache and ran 1.1-2.5x faster than copying
  the same bytes of an image (shown in its own row; runs before N used it).

Method: a few warm-up calls of everything (this also compiles the numba
kernels), then for each row a number of calls N per pass chosen so that one
pass takes about 0.2 s (0.05 s with --quick), then 7 (3) passes; augkit and
peer passes are interleaved (A, B, A, B, ... with the order reversed every
other round) so that machine noise hits both alike. The figure is
N * images per call / median pass time. Each output is dropped before the next
call, as in a training loop.

A start-up section then runs fresh interpreters: ``import augkit`` against
``import albumentations``, the first pipeline call with a warm numba cache, and
the same with ``NUMBA_CACHE_DIR`` pointed at an empty directory (cold compile).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks PyPI on import otherwise

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")

import albumentations as al  # noqa: E402
import cv2  # noqa: E402
import numba  # noqa: E402
from PIL import Image  # noqa: E402

import augkit  # noqa: E402
import augkit as A  # noqa: E402

cv2.setNumThreads(1)
numba.set_num_threads(1)

# Bundled with scikit-image (no download needed).
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
          "stereo_motorcycle"]

SINGLE_TARGET_NOTE = "single-image calls, 1 thread"


# ---------------------------------------------------------------- inputs

def load_photos(size):
    from skimage import data

    out = []
    for name in PHOTOS:
        try:
            img = getattr(data, name)()
        except Exception:  # noqa: BLE001 - a missing sample is not fatal
            continue
        if isinstance(img, tuple):
            img = img[0]
        img = np.asarray(img)
        if img.ndim != 3 or img.shape[2] < 3:
            continue
        img = np.ascontiguousarray(img[..., :3]).astype(np.uint8, copy=False)
        h, w = img.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        square = Image.fromarray(img[y:y + side, x:x + side])
        out.append(np.ascontiguousarray(np.asarray(square.resize((size, size), Image.BILINEAR))))
    if not out:
        raise SystemExit("no scikit-image sample photographs could be loaded")
    for img in out:
        assert img.shape == (size, size, 3) and img.dtype == np.uint8
    return out


# ---------------------------------------------------------------- timing

class Side:
    """One timed contender: ``call(i)`` does call number i; ``per_call`` images per call."""

    def __init__(self, name, call, per_call=1, threads=1):
        self.name, self.call, self.per_call, self.threads = name, call, per_call, threads
        self.n = 1
        self.times = []

    def run(self, n):
        numba.set_num_threads(self.threads)
        call = self.call
        t0 = time.perf_counter()
        for i in range(n):
            call(i)
        return time.perf_counter() - t0

    def calibrate(self, pass_s, warmup):
        self.run(warmup)
        k = 1
        while True:
            t = self.run(k)
            if t >= pass_s / 10 or k >= 1 << 16:
                break
            k *= 2
        self.n = max(1, int(round(pass_s * k / max(t, 1e-9))))

    @property
    def rate(self):
        return self.n * self.per_call / statistics.median(self.times)


def measure(sides, passes, pass_s, warmup):
    for s in sides:
        s.times = []
        s.calibrate(pass_s, warmup)
    for r in range(passes):
        order = sides if r % 2 == 0 else sides[::-1]
        for s in order:
            s.times.append(s.run(s.n))
    numba.set_num_threads(1)
    return [s.rate for s in sides]


def cycled(fn, imgs):
    k = len(imgs)
    return lambda i: fn(imgs[i % k])


# ---------------------------------------------------------------- contenders

def al_affine(interpolation):
    return al.Affine(translate_percent={"x": (-0.1, 0.1), "y": (-0.1, 0.1)}, interpolation=interpolation, p=1)


def augkit_pipeline(crop, seed=0):
    return A.Compose([A.RandomCrop(crop, crop), A.HorizontalFlip(p=0.5), A.Shift(p=1), A.Tint(p=1),
                      A.BoxErase(p=1)], seed=seed)


def al_pipeline(crop, interpolation, seed=0):
    return al.Compose([al.RandomCrop(crop, crop, p=1), al.HorizontalFlip(p=0.5), al_affine(interpolation),
                       al.RGBShift(r_shift_limit=20, g_shift_limit=20, b_shift_limit=20, p=1),
                       al.Erasing(p=1)], seed=seed)


def single_rows(size, crop):
    """(op, augkit transform, [(peer label, peer transform, target or None)])."""
    return [
        ("HorizontalFlip", A.HorizontalFlip(p=1), [("HorizontalFlip", al.HorizontalFlip(p=1), 1.0)]),
        ("VerticalFlip", A.VerticalFlip(p=1), [("VerticalFlip", al.VerticalFlip(p=1), 1.0)]),
        (f"RandomCrop {crop}", A.RandomCrop(crop, crop, p=1.0),
         [(f"RandomCrop {crop}", al.RandomCrop(crop, crop, p=1), 1.0)]),
        ("Shift ±10%", A.Shift(p=1),
         [("Affine(translate, nearest)", al_affine(cv2.INTER_NEAREST), 5.0),
          ("Affine(translate, bilinear)", al_affine(cv2.INTER_LINEAR), None)]),
        ("Tint ±20", A.Tint(p=1),
         [("RGBShift(20, 20, 20)", al.RGBShift(r_shift_limit=20, g_shift_limit=20, b_shift_limit=20, p=1), 3.0)]),
        ("BoxErase", A.BoxErase(p=1),
         [("Erasing (defaults)", al.Erasing(p=1), 1.5),
          ("CoarseDropout (defaults)", al.CoarseDropout(p=1), None)]),
        ("pipeline (5 transforms)", augkit_pipeline(crop),
         [("Compose, Affine nearest", al_pipeline(crop, cv2.INTER_NEAREST), 10.0),
          ("Compose, Affine bilinear (default)", al_pipeline(crop, cv2.INTER_LINEAR), None)]),
    ]


_PROBE = None
_COPY_PROBE = None


def copy_probe():
    """A memory-bound prange loop: the batch's centre crops copied row by row into its output.

    The bytes the pipeline's batch kernel must move (read the source, write the
    output), without its work: timed beside the batch on 1 and 2 threads, it
    shows how much a second core helps memory-bound work at that moment.
    """
    global _COPY_PROBE
    if _COPY_PROBE is None:
        from numba import njit, prange

        @njit(parallel=True, cache=False)
        def crop_copy(src, dst):
            off_r = (src.shape[1] - dst.shape[1]) // 2
            off_c = (src.shape[2] - dst.shape[2]) // 2
            for n in prange(src.shape[0]):
                for r in range(dst.shape[1]):
                    s = src[n, r + off_r, off_c:off_c + dst.shape[2]].reshape(-1)
                    d = dst[n, r].reshape(-1)
                    for j in range(d.size):
                        d[j] = s[j]

        _COPY_PROBE = crop_copy
    return _COPY_PROBE


def scaling_probe():
    """A compute-bound prange loop (timed on 1 and 2 threads beside the batch): how much a second
    core helps right now. Returns a call for a :class:`Side` (64 rows per call)."""
    global _PROBE
    if _PROBE is None:
        from numba import njit, prange

        @njit(parallel=True, cache=False)
        def probe(a, out):
            for i in prange(a.shape[0]):
                acc = 0.0
                for j in range(a.shape[1]):
                    acc += np.sqrt(a[i, j] + j)
                out[i] = acc

        _PROBE = probe
    a = np.random.default_rng(0).random((64, 20000))
    out = np.empty(64)
    return lambda _: _PROBE(a, out)


# ---------------------------------------------------------------- table

class Table:
    HEAD = ["op", "size", "augkit img/s", "peer", "peer img/s", "ratio augkit/peer", "target", "met?"]

    def __init__(self):
        self.rows = []

    def add(self, op, size, ak, peer, pr, target=None, target_text=None):
        ratio = ak / pr if ak is not None and pr else None
        if target is not None and ratio is not None:
            met = "yes" if ratio >= target else "**no**"
            ttext = target_text or f"≥ {target:g}×"
        else:
            met, ttext = "", target_text or "—"
        self.rows.append([op, str(size), fmt_rate(ak), peer, fmt_rate(pr),
                          "—" if ratio is None else f"{ratio:.2f}×", ttext, met])

    def markdown(self):
        lines = ["| " + " | ".join(self.HEAD) + " |", "|" + "|".join(["---"] * len(self.HEAD)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def fmt_rate(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


# ---------------------------------------------------------------- benchmark

def bench_size(size, table, notes, passes, pass_s, warmup, batch_n, progress):
    crop = size * 7 // 8
    imgs = load_photos(size)
    numba.set_num_threads(1)

    for op, ak_t, peers in single_rows(size, crop):
        progress(f"{size}: {op}")
        sides = [Side("augkit", cycled(lambda im, t=ak_t: t(image=im), imgs))]
        for label, peer_t, _ in peers:
            sides.append(Side(label, cycled(lambda im, t=peer_t: t(image=im), imgs)))
            out = peer_t(image=imgs[0])["image"]
            if np.shares_memory(out, imgs[0]):
                notes.append(f"albumentations {label} returns a view of its input (no copy).")
        ak_out = ak_t(image=imgs[0])["image"]
        if np.shares_memory(ak_out, imgs[0]):
            notes.append(f"augkit {op} returns a view of its input (no copy).")
        if op == "VerticalFlip":
            # A plain copy, timed beside the flip it most resembles (timed alone, first, it read
            # anywhere from 39,000 to 143,000 images/s: a copy's speed here depends on where the
            # allocator puts the output, so it is a reference, not a limit).
            sides.append(Side("copy", cycled(lambda im: im.copy(), imgs)))
        rates = measure(sides, passes, pass_s, warmup)
        for (label, _, target), pr in zip(peers, rates[1:]):
            table.add(op, size, rates[0], "albumentations " + label, pr, target)
        if op == "VerticalFlip":
            table.add("plain copy `img.copy()` (a reference, timed beside VerticalFlip)", size, None,
                      f"numpy, {size}×{size}×3", rates[-1])

    # ---- batch mode
    progress(f"{size}: batch of {batch_n}")
    stack = np.ascontiguousarray(np.stack([imgs[i % len(imgs)] for i in range(batch_n)]))
    ak_pipe = augkit_pipeline(crop)
    al_pipe = al_pipeline(crop, cv2.INTER_NEAREST)
    # What the copy rows copy: the pipeline's own output, real pixels in written pages.
    out_stack = ak_pipe.batch(stack)["image"]
    # A never-written array of the same shape: every page is the kernel's zero page, so a copy
    # of it reads from cache (the "physical limit" of runs A-M, an overstatement).
    zero_pages = np.empty_like(out_stack)
    two = numba.config.NUMBA_NUM_THREADS >= 2

    def al_loop(_):
        out = np.empty((batch_n, crop, crop, 3), np.uint8)
        for j in range(batch_n):
            out[j] = al_pipe(image=stack[j])["image"]
        return out

    sides = [Side("augkit batch 1 thread", lambda _: ak_pipe.batch(stack), batch_n, threads=1)]
    if two:
        sides.append(Side("augkit batch 2 threads", lambda _: ak_pipe.batch(stack), batch_n, threads=2))
    crop_copy = copy_probe()
    sides.append(Side("prange crop copy 1 thread", lambda _: crop_copy(stack, np.empty_like(out_stack)), batch_n,
                      threads=1))
    if two:
        sides.append(Side("prange crop copy 2 threads", lambda _: crop_copy(stack, np.empty_like(out_stack)),
                          batch_n, threads=2))
    probe = scaling_probe() if two else None
    if two:
        # A compute-bound loop (no memory traffic) beside the batch: whether the second core is free.
        sides.append(Side("compute probe 2 threads", probe, 64, threads=2))
        sides.append(Side("compute probe 1 thread", probe, 64, threads=1))
    sides.append(Side("albumentations loop", al_loop, batch_n, threads=1))
    sides.append(Side("never-written stack.copy()", lambda _: zero_pages.copy(), batch_n, threads=1))
    sides.append(Side("stack.copy()", lambda _: out_stack.copy(), batch_n, threads=1))
    rates = measure(sides, passes, pass_s, warmup)
    r1 = rates[0]
    r2 = rates[1] if two else None
    c1 = rates[2 if two else 1]
    c2 = rates[3] if two else None
    p2, p1 = (rates[4], rates[5]) if two else (None, None)
    r_al, r_zero, r_copy = rates[-3], rates[-2], rates[-1]
    at256 = size == 256
    table.add(f"batch {batch_n}: stack.copy() of output (physical limit)", size, None,
              f"numpy, {batch_n}×{crop}×{crop}×3", r_copy)
    table.add(f"batch {batch_n}: stack.copy() of a never-written `np.empty` stack (zero pages; not a limit)", size,
              None, f"numpy, {batch_n}×{crop}×{crop}×3", r_zero)
    table.add(f"batch {batch_n} pipeline, augkit 1 thread", size, r1, "albumentations Compose loop, 1 thread", r_al)
    if two:
        table.add(f"batch {batch_n} pipeline, augkit 2 threads", size, r2, "albumentations Compose loop, 1 thread",
                  r_al, 20.0 if at256 else None)
        table.add(f"batch {batch_n}: augkit 2 threads / 1 thread", size, r2, "augkit batch, 1 thread", r1,
                  1.7 if at256 else None)
    else:
        notes.append("numba has fewer than 2 threads available: 2-thread batch rows skipped.")
    if two:
        table.add("machine check: numba prange crop copy (memory-bound, timed beside the batch), 2 threads / "
                  "1 thread", size, c2, "same copy, 1 thread", c1, None, "(what this machine allows now)")
        table.add("machine check: numba prange compute loop (timed beside the batch), 2 threads / 1 thread", size,
                  p2, "same loop, 1 thread", p1, None, "(what this machine allows now)")
    table.add("fused pipeline vs the prange crop copy above (same bytes read and written), 1 thread", size, r1,
              "prange crop copy, 1 thread", c1)
    table.add("fused pipeline vs plain copy of its output, batch mode (1 thread)", size, r1,
              "`stack.copy()` of output", r_copy, 1 / 3, "copy/augkit ≤ 3 (ratio ≥ 0.33×)")
    if two:
        table.add("fused pipeline vs plain copy of its output, batch mode (2 threads)", size, r2,
                  "`stack.copy()` of output (1 thread)", r_copy)


# ---------------------------------------------------------------- start-up

IMPORT_CODE = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy
    t1 = time.perf_counter()
    import {mod}
    t2 = time.perf_counter()
    print(json.dumps({{"numpy": t1 - t0, "lib": t2 - t1, "numba_loaded": "numba" in sys.modules}}))
""")

FIRST_CALL_CODE = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    img = np.random.default_rng(0).integers(0, 256, ({size}, {size}, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    {body}
    t1 = time.perf_counter()
    out = pipe(image=img)["image"]
    t2 = time.perf_counter()
    assert out.shape == ({crop}, {crop}, 3)
    print(json.dumps({{"total": t2 - t0, "first": t2 - t1}}))
""")

AUGKIT_BODY = ("import augkit as A; pipe = A.Compose([A.RandomCrop({crop}, {crop}), A.HorizontalFlip(p=0.5), "
               "A.Shift(p=1), A.Tint(p=1), A.BoxErase(p=1)], seed=0)")
AL_BODY = ("import cv2, albumentations as al; pipe = al.Compose([al.RandomCrop({crop}, {crop}, p=1), "
           "al.HorizontalFlip(p=0.5), al.Affine(translate_percent={{'x': (-0.1, 0.1), 'y': (-0.1, 0.1)}}, "
           "interpolation=cv2.INTER_NEAREST, p=1), al.RGBShift(r_shift_limit=20, g_shift_limit=20, b_shift_limit=20, p=1), al.Erasing(p=1)], seed=0)")


def run_child(code, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env,
                         timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"child failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def startup(repeats, cold_repeats, progress):
    size, crop = 256, 224
    rows = []
    numba_flags = []

    progress("start-up: imports")
    stats = {"augkit": [], "albumentations": []}
    np_times = []
    for _ in range(repeats):
        for mod in ("augkit", "albumentations"):  # interleaved
            r = run_child(IMPORT_CODE.format(mod=mod))
            stats[mod].append(r["lib"])
            np_times.append(r["numpy"])
            if mod == "augkit":
                numba_flags.append(r["numba_loaded"])
    med = {k: statistics.median(v) for k, v in stats.items()}
    rows.append(["`import numpy` (loaded first in each child)", f"{1e3 * statistics.median(np_times):.0f} ms",
                 "", ""])
    rows.append(["`import augkit` vs `import albumentations` (after numpy)", f"{1e3 * med['augkit']:.0f} ms",
                 f"{1e3 * med['albumentations']:.0f} ms", f"{med['albumentations'] / med['augkit']:.1f}× faster"
                 if med["augkit"] < med["albumentations"] else
                 f"{med['augkit'] / med['albumentations']:.1f}× slower"])

    progress("start-up: first call, warm cache")
    ak_code = FIRST_CALL_CODE.format(size=size, crop=crop, body=AUGKIT_BODY.format(crop=crop))
    al_code = FIRST_CALL_CODE.format(size=size, crop=crop, body=AL_BODY.format(crop=crop))
    run_child(ak_code)  # make sure the on-disk numba cache is current
    warm, peer = [], []
    for _ in range(repeats):
        warm.append(run_child(ak_code))
        peer.append(run_child(al_code))
    wt = statistics.median(r["total"] for r in warm)
    wf = statistics.median(r["first"] for r in warm)
    pt = statistics.median(r["total"] for r in peer)
    pf = statistics.median(r["first"] for r in peer)
    rows.append(["import + build + first pipeline call, warm numba cache", f"{1e3 * wt:.0f} ms", f"{1e3 * pt:.0f} ms",
                 f"{pt / wt:.1f}× faster" if wt < pt else f"{wt / pt:.1f}× slower"])
    rows.append(["first pipeline call alone, warm numba cache", f"{1e3 * wf:.0f} ms", f"{1e3 * pf:.1f} ms", ""])

    progress("start-up: first call, cold compile")
    cold = []
    for _ in range(cold_repeats):
        with tempfile.TemporaryDirectory(prefix="augkit-numba-cold-") as d:
            cold.append(run_child(ak_code, {"NUMBA_CACHE_DIR": d}))
    ct = statistics.median(r["total"] for r in cold)
    cf = statistics.median(r["first"] for r in cold)
    rows.append(["import + build + first pipeline call, cold (empty `NUMBA_CACHE_DIR`)", f"{1e3 * ct:.0f} ms",
                 "", ""])
    rows.append(["first pipeline call alone, cold compile", f"{1e3 * cf:.0f} ms", "", ""])

    head = ["start-up (fresh interpreter, median)", "augkit", "albumentations", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    ok = not any(numba_flags)
    lines.append(f"`'numba' not in sys.modules` after `import augkit`: **{ok}** "
                 f"({len(numba_flags)} fresh interpreter(s) checked)")
    lines.append(f"Start-up figures: median of {repeats} fresh interpreters ({cold_repeats} for cold compile), "
                 f"{size}×{size} input, crop {crop}.")
    return "\n".join(lines)


# ---------------------------------------------------------------- header

def machine_header(args):
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.strip().startswith("Model name"):
                model = line.split(":", 1)[1].strip()
                break
    except Exception:  # noqa: BLE001
        pass
    lines = [
        "# augkit vs albumentations",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()} / processor `{platform.processor() or '?'}` / "
        f"lscpu model `{model or '?'}` / os.cpu_count() = {os.cpu_count()} / {platform.platform()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"albumentations {al.__version__}, cv2 {cv2.__version__}, augkit {augkit.__version__}",
        f"- threads: cv2 {cv2.getNumThreads()}, numba 1 (batch rows say otherwise; numba max "
        f"{numba.config.NUMBA_NUM_THREADS}), OMP/OPENBLAS/MKL = 1",
        f"- load average at start (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- mode: {'quick' if args.quick else 'full'}; sizes {' '.join(map(str, args.sizes))}; "
        f"{args.passes} passes of ~{args.pass_s:g} s each, median; augkit/peer passes interleaved",
    ]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one size, fewer and shorter passes (~30 s smoke run)")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="image sides (default 256 512; quick: 256)")
    ap.add_argument("--out", default=None, help="also write the Markdown report to this file")
    ap.add_argument("--passes", type=int, default=None, help="timed passes per contender (default 7; quick: 3)")
    ap.add_argument("--pass-s", type=float, default=None, help="seconds per pass (default 0.2; quick: 0.05)")
    ap.add_argument("--batch", type=int, default=64, help="batch size for the batch rows (default 64)")
    ap.add_argument("--no-startup", action="store_true", help="skip the fresh-interpreter start-up section")
    args = ap.parse_args(argv)
    if args.sizes is None:
        args.sizes = [256] if args.quick else [256, 512]
    if args.passes is None:
        args.passes = 3 if args.quick else 7
    if args.pass_s is None:
        args.pass_s = 0.05 if args.quick else 0.2
    for s in args.sizes:
        if s < 16:
            ap.error(f"--sizes: each size must be >= 16, got {s}")
    warmup = 3 if args.quick else 5

    def progress(msg):
        print(f"  ... {msg}", file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    header = machine_header(args)
    print(header, flush=True)
    table, notes = Table(), []
    for size in args.sizes:
        bench_size(size, table, notes, args.passes, args.pass_s, warmup, args.batch, progress)
    threading_layer = "?"
    try:
        threading_layer = numba.threading_layer()
    except Exception:  # noqa: BLE001
        pass
    parts = [header, "", "## Throughput", "", table.markdown(), ""]
    notes = list(dict.fromkeys(notes))
    notes += [
        f"Single-image rows: {SINGLE_TARGET_NOTE}, transforms called directly (`t(image=img)`), pipelines through "
        "their Compose; crop = 7/8 of the side. "
        "Batch rows: one `pipe.batch(stack)` per 64 images against albumentations' Compose called per image "
        "(per-sample parameters) writing into a preallocated stack; targets for batch at 256 only.",
        "The pipeline is RandomCrop → HorizontalFlip(p=0.5) → Shift/Affine → Tint/RGBShift → BoxErase/Erasing, "
        "all other steps p=1. CoarseDropout (defaults: 1–2 holes of 10–20% of each side) erases a different "
        "area than Erasing/BoxErase (2–33% of the image), so it is shown without a target.",
        f"numba threading layer: {threading_layer}.",
    ]
    parts += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    print("\n".join(parts[1:]), flush=True)
    if not args.no_startup:
        s = startup(1 if args.quick else 5, 1 if args.quick else 3, progress)
        parts += ["## Start-up", "", s, ""]
        print("## Start-up\n\n" + s + "\n", flush=True)
    footer = (f"Load average at end (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}. "
              f"Total benchmark time: {time.perf_counter() - t_start:.0f} s.")
    parts.append(footer)
    print(footer)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
