"""Trainer speed: nn vs PyTorch CPU on the same MLP, data and batch order.

MLP 3072 -> 512 -> 512 -> 10 (ReLU), softmax cross-entropy, SGD (lr 0.01,
momentum 0.9), batch 128, 5,000 random float32 samples. Each thread count runs
and library runs in its own subprocess with OPENBLAS/OMP/MKL_NUM_THREADS set,
plus threadpoolctl limits (if installed) and ``torch.set_num_threads``.
Processes of the two libraries alternate so that machine noise hits both
alike; the median epoch time (warm-up epochs excluded) is reported.

Usage::

    python benchmarks/bench_trainer.py [--epochs 4] [--rounds 2] [--threads 1 2] [--markdown]

Note: if OPENBLAS_CORETYPE is set in the environment it can select a slower
kernel for numpy's OpenBLAS; run with ``env -u OPENBLAS_CORETYPE`` to avoid it
(the script prints whether it was set).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [3072, 512, 512, 10]
N, BATCH, LR, MOMENTUM = 5000, 128, 0.01, 0.9


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], N)
    return x, y


def _child(lib: str, threads: int, epochs: int) -> dict:
    """Time ``epochs`` epochs (after one warm-up) of one library in this process."""
    sys.path.insert(0, ROOT)
    import nn
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=threads)
    except ImportError:
        pass
    x, y = _data()
    batches = nn.Batches(x, y, BATCH, seed=0)
    version = np.__version__
    if lib == "nn":
        model = nn.MLP(SIZES, activation="relu", init="he", rng=0)
        # The optimiser gets the same thread budget as BLAS for its element-wise update.
        trainer = nn.Trainer(model, nn.SGD(LR, momentum=MOMENTUM, threads=threads))

        def epoch(e):
            return trainer.fit(lambda _: batches(e), epochs=1).records[0]["time"]
    else:
        import torch
        version = torch.__version__
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        tm = torch.nn.Sequential(torch.nn.Linear(3072, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                 torch.nn.ReLU(), torch.nn.Linear(512, 10))
        opt = torch.optim.SGD(tm.parameters(), lr=LR, momentum=MOMENTUM)
        loss_fn = torch.nn.CrossEntropyLoss()

        def epoch(e):
            t0 = time.perf_counter()
            for xb, yb in batches(e):
                xt, yt = torch.from_numpy(xb), torch.from_numpy(yb)
                opt.zero_grad(set_to_none=True)
                out = tm(xt)
                loss = loss_fn(out, yt)
                loss.backward()
                opt.step()
                # nn's trainer also accumulates loss and accuracy; do the same work here
                float(loss)
                int((out.argmax(1) == yt).sum())
            return time.perf_counter() - t0
    times = [epoch(e) for e in range(epochs + 1)][1:]  # epoch 0 is warm-up
    return {"lib": lib, "threads": threads, "times": times, "version": version,
            "threadpoolctl": limiter is not None}


def _run_child(lib, threads, epochs):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--child", lib, "--child-threads", str(threads),
                          "--epochs", str(epochs)], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _machine() -> dict:
    model = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4, help="timed epochs per process (after 1 warm-up)")
    ap.add_argument("--rounds", type=int, default=2, help="processes per library and thread count, alternating")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--child", choices=["nn", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.child_threads, args.epochs)))
        return

    try:
        import torch  # noqa: F401  (only to know whether to time it)
        libs = ["nn", "torch"]
    except ImportError:
        libs = ["nn"]
    info = _machine()
    rows = []
    for t in args.threads:
        times = {lib: [] for lib in libs}
        # Each library in its own process (OpenMP and OpenBLAS worker threads spinning
        # in one process would fight over the cores), alternating to share machine noise.
        for _ in range(args.rounds):
            for lib in libs:
                r = _run_child(lib, t, args.epochs)
                times[lib] += r["times"]
                info[lib] = r["version"]
                info["threadpoolctl"] = r["threadpoolctl"]
        rows.append((t, times))

    print(f"# machine: {info['cpu']}, {info['cores']} cores; python {info['python']}, numpy {info['numpy']}, "
          f"torch {info.get('torch', 'not installed')}; threadpoolctl {'yes' if info['threadpoolctl'] else 'no'}; "
          f"OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}")
    print(f"# MLP {'-'.join(map(str, SIZES))} ReLU, softmax CE, SGD momentum {MOMENTUM}, batch {BATCH}, "
          f"{N} samples; median over {args.rounds} processes x {args.epochs} epochs (after 1 warm-up each)")
    if args.markdown:
        print("\n| threads | nn s/epoch | torch s/epoch | nn / torch | nn min | torch min |")
        print("|---|---|---|---|---|---|")
    for t, times in rows:
        nn_med, nn_min = statistics.median(times["nn"]), min(times["nn"])
        th = times.get("torch")
        cells = [str(t), f"{nn_med:.3f}"]
        cells += [f"{statistics.median(th):.3f}", f"{nn_med / statistics.median(th):.2f}"] if th else ["-", "-"]
        cells += [f"{nn_min:.3f}", f"{min(th):.3f}" if th else "-"]
        if args.markdown:
            print("| " + " | ".join(cells) + " |")
        else:
            print(f"threads {cells[0]}: nn {cells[1]} s/epoch, torch {cells[2]} s/epoch, "
                  f"nn/torch {cells[3]} (fastest epochs: nn {cells[4]}, torch {cells[5]})")


if __name__ == "__main__":
    main()
