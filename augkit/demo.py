"""``augkit train`` and ``augkit init-study``: the demo classifier and the lecture's experiment.

:mod:`augkit.cli` calls :func:`add_commands` to register them. The training
work lives in :mod:`augkit.demo_train`; this module parses options, prints
progress and tables, and writes the output files.

- ``augkit train [DATA]`` trains an :class:`nn.MLP` on an image folder (the
  shipped ``samples/faces`` by default), fed by an :class:`augkit.data.Loader`
  over an :class:`augkit.data.AugmentedDataset`; prints accuracy on the
  training images, the held-out images and perturbed copies of them.
- ``augkit train --compare``: with and without augmentation, over seeds.
- ``augkit train --sweep``: every activation x initialisation.
- ``augkit init-study``: :func:`nn.experiments.init_study` as a table and PNG.

Examples
--------
>>> from augkit.cli import main
>>> main(["train", "--epochs", "1", "--hidden", "8", "--quiet"])  # doctest: +ELLIPSIS
augkit train: ...
0
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .cli import _int_at_least, writing  # cli imports this module lazily (build_parser), so no cycle
from .io import atomic_write

PLOT_MISSING = "matplotlib is not installed: PNG plots skipped (pip install 'augkit[plot]' to get them)"


def _usage_error():
    from .cli import UsageError

    return UsageError


# --------------------------------------------------------------------------- option parsing
def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (exclusive), got {text!r}")
    return value


#: The largest side ``--size`` takes: Pillow's resize takes C ints.
MAX_SIDE = 2**31 - 1


def _size(text):
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be N or HxW with positive integers (e.g. 25 or 32x24), got {text!r}")
    if max(values) > MAX_SIDE:
        raise argparse.ArgumentTypeError(f"each side must be from 1 to {MAX_SIDE} pixels, got {text!r}")
    return (values[0], values[0]) if len(values) == 1 else tuple(values)


def _hidden(text):
    parts = [p for p in text.replace(",", " ").split()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be one or more positive layer widths (e.g. 64 or 128,64), "
                                         f"got {text!r}")
    return values


def _names(allowed):
    def parse(text):
        if text == "all":
            return list(allowed)
        values = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if not values or bad:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(allowed)} (comma-separated for several, "
                                             f"or 'all'), got {text!r}")
        return values
    return parse


# --------------------------------------------------------------------------- helpers
def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _out_dir(args, data_root=None):
    if args.out is None:
        return None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise _usage_error()(f"--out {args.out!r} exists and is not a folder")
    if data_root is not None:
        rdata, rout = Path(data_root).resolve(), out.resolve()
        if rout == rdata or rdata in rout.parents:
            raise _usage_error()(f"--out {args.out!r} is inside DATA {str(data_root)!r}; choose a folder outside "
                                 "DATA (DATA is never written to)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _check_file_path(option, value, wanted):
    """Usage error unless ``value`` can name a file to write: not a folder, and no file where a folder must be.

    Checked before the work starts, so a bad path costs a line, not the whole run.
    """
    path = Path(value)
    if path.is_dir():
        raise _usage_error()(f"{option} {value}: is a folder; give {wanted}")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise _usage_error()(f"{option} {value}: {folder} is a file, not a folder, so nothing "
                                     "can be written under it")
            break


def _write_text(path, text):
    """Write ``text`` as UTF-8 atomically: an interrupted run keeps the previous report whole."""
    data = text.encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))


def _write_json(path, obj):
    _write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _write_csv(path, rows):
    keys = []
    for row in rows:
        keys += [k for k in row if k not in keys and not isinstance(row[k], (dict, list))]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=keys, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    _write_text(path, text.getvalue())


def _fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def _pm(pair):
    mean, std = pair
    return "-" if mean is None else f"{mean:.3f} ± {std:.3f}"


def _markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


# --------------------------------------------------------------------------- plots
def plot_learning_curves(history, path, title=None):
    """Loss and accuracy per epoch (train as seen, held-out, perturbed held-out); writes a PNG."""
    from nn.plots import save_figure

    plt = _pyplot()
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax_loss.plot(epochs, [r["loss"] for r in history], label="train (augmented)")
    ax_loss.plot(epochs, [r["val_loss"] for r in history], label="validation")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend(fontsize=8)
    ax_acc.plot(epochs, [r["train_acc"] for r in history], label="train (augmented)")
    ax_acc.plot(epochs, [r["val_acc"] for r in history], label="validation")
    if history and history[0].get("val_perturbed_acc") is not None:
        ax_acc.plot(epochs, [r["val_perturbed_acc"] for r in history], label="validation, perturbed copies")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0.4, 1.01)
    ax_acc.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path, title, dpi=90)


# --------------------------------------------------------------------------- train
def _physical_memory():
    """Bytes of physical memory, or None where the system does not tell (then no run is refused)."""
    try:
        pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page if pages > 0 and page > 0 else None


def _cgroup_memory(proc="/proc/self/cgroup", sys="/sys/fs/cgroup"):
    """The memory limit of this process's cgroup in bytes (Linux; v2 ``memory.max``, v1
    ``memory/memory.limit_in_bytes``), or None where there is none or it cannot be read.

    The smallest limit on the way from the process's own cgroup up to the root of
    the hierarchy (a parent, such as a systemd slice, may set it), and at the
    mount's root (a container's own cgroup is often mounted there). A line or a
    file that cannot be parsed counts as no limit. ``proc`` and ``sys`` are where
    the process's cgroup list and the cgroup file system are (for tests).
    """
    folders = []
    try:
        with open(proc, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        base = (sys if hierarchy == "0" and controllers == "" else
                os.path.join(sys, "memory") if "memory" in controllers.split(",") else None)
        if base is None:
            continue
        name = "memory.max" if base == sys else "memory.limit_in_bytes"
        steps = [p for p in path.strip().strip("/").split("/") if p]
        for k in range(len(steps), -1, -1):   # the process's own cgroup, then each parent
            folders.append(os.path.join(base, *steps[:k], name))
    folders += [os.path.join(sys, "memory.max"), os.path.join(sys, "memory", "memory.limit_in_bytes")]
    limits = []
    for path in dict.fromkeys(folders):
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("ascii", errors="replace").strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 2**60:   # "max" (v2) or a huge number (v1): no limit
            limits.append(int(text))
    return min(limits) if limits else None


def _memory_limit():
    """``(bytes, words)``: the memory a run may use and what limits it, or ``(None, None)`` when unknown."""
    physical, group = _physical_memory(), _cgroup_memory()
    if group is not None and (physical is None or group < physical):
        return group, "this process's cgroup limit of"
    return physical, "this machine's" if physical else None


def _gib(n):
    return f"{n / 2**30:.1f} GiB"


#: Estimates above this are shown in the run's header.
SHOW_MEMORY_ABOVE = 2**30


def _check_memory(args, folder, size, channels, original, settings):
    """The memory note for the header (None below `SHOW_MEMORY_ABOVE`), or a usage error.

    The run is refused, before the images are decoded (all but the first, which
    gives their default size), when :func:`augkit.demo_train.memory_estimate`
    exceeds the memory the process may use: the machine's physical memory, or
    its cgroup's limit (``memory.max``) where that is smaller. It would swap or
    die late. The error names the option to change and suggests a size whose
    estimate fits in three quarters of that memory.
    """
    from .demo_train import memory_estimate, stratified_split

    labels = [label for _, label in folder.samples]
    if original is None or len(set(labels)) < 2:
        return None   # no image decodes, or one class: load_folder reports it
    train_idx, val_idx = stratified_split(labels, settings["val_fraction"], args.seed)

    def estimate(hw):
        shape = hw if channels == "gray" else (*hw, 3)
        return memory_estimate(len(train_idx), len(val_idx), shape, settings["hidden"], len(folder.classes),
                               optimizer=settings["optimizer"], batch_size=settings["batch_size"],
                               copies=settings["copies"], workers=settings["workers"], original=original)

    est, (available, whose) = estimate(size), _memory_limit()
    if available is None or est["total"] <= available:
        if est["total"] <= SHOW_MEMORY_ABOVE:
            return None
        return f"memory about {_gib(est['total'])}" + (f" of {_gib(available)}" if available else "") + " (estimate)"
    h, w = size
    what = f"--size {h}x{w}" if args.size else f"the images' own size {h}x{w} (no --size given)"
    if args.hidden:
        what += f" with --hidden {','.join(map(str, settings['hidden']))}"
    message = (f"{what}: training would need about {_gib(est['total'])} of memory (images {_gib(est['images'])} "
               f"as uint8 and {_gib(est['inputs'])} as float32, network with {settings['optimizer']} state "
               f"{_gib(est['network'])}), more than {whose} {_gib(available)}; ")
    budget = 0.75 * available   # a quarter left for the system and whatever else runs

    def scaled(f):
        return max(1, int(h * f)), max(1, int(w * f))

    smallest = estimate((1, 1))
    if smallest["total"] > budget:
        if smallest["network"] > smallest["total"] / 2:
            raise _usage_error()(message + "the network alone is too large: use narrower --hidden layers")
        if smallest["decoding"] > smallest["total"] / 2:
            oh, ow = original
            raise _usage_error()(message + f"decoding the full-size {oh}x{ow} images alone needs "
                                 f"{_gib(smallest['decoding'])}" + (": use fewer --workers"
                                                                    if settings["workers"] > 1 else ""))
        raise _usage_error()(message + f"even --size 1x1 would need {_gib(smallest['total'])}")
    lo, hi = 0.0, 1.0   # the largest scale whose estimate fits, by bisection
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if estimate(scaled(mid))["total"] <= budget else (lo, mid)
    fh, fw = scaled(lo)
    narrower = " or narrower --hidden layers" if est["network"] > est["total"] / 4 else ""
    raise _usage_error()(message + f"try --size {fh}x{fw} or smaller{narrower}")


def _load(args, settings):
    """``(root, data, memory note)``: DATA checked, its memory need estimated, then decoded."""
    from .cli import input_or_sample
    from . import demo_train

    UsageError = _usage_error()
    root = input_or_sample(args.data, "DATA", "faces")
    if args.data is not None:
        if not root.exists():
            raise UsageError(f"DATA {args.data!r} does not exist")
        if not root.is_dir():
            raise UsageError(f"DATA {args.data!r} is not a folder (expected DATA/<class>/<image>)")
    try:
        # The folder listed and its first image decoded once, for the memory check and the load;
        # handed over (popped) so that only load_folder holds the full-size image.
        scan = [demo_train.open_folder(root, size=args.size, channels=args.channels)]
        folder, size, channels, _, image, _ = scan[0]
        original = None if image is None else tuple(image.shape[:2])
        del image
        memory = _check_memory(args, folder, size or original, channels, original, settings)
        data = demo_train.load_folder(root, size=args.size, channels=args.channels, workers=args.workers,
                                      scanned=scan.pop())
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(f"DATA {str(root)!r}: {str(exc).removeprefix('ImageFolder: ')}") from None
    for path, reason in data.skipped:
        print(f"augkit train: skipped unreadable {reason}", file=sys.stderr)
    counts = np.bincount(data.labels, minlength=len(data.classes))
    short = [c for c, n in zip(data.classes, counts) if 0 < n < 2]
    if short:
        raise UsageError(f"DATA {str(root)!r}: class {short[0]!r} has fewer than 2 images; each class needs at "
                         "least 2 (one to train on, one to hold out)")
    return root, data, memory


def _settings(args, sweep=False):
    from .demo_train import DEFAULTS, SWEEP_DEFAULTS

    chosen = {k: getattr(args, k) for k in ("hidden", "epochs", "batch_size", "lr", "optimizer")}
    base = {**DEFAULTS, **(SWEEP_DEFAULTS if sweep else {})}
    out = {k: (base[k] if v is None else v) for k, v in chosen.items()}
    out["hidden"] = tuple(out["hidden"])
    out.update(val_fraction=args.val_fraction, copies=args.copies, workers=args.workers)
    return out


def _augment(args):
    from .demo_train import resolve_augment

    try:
        resolve_augment(args.augment)
    except ValueError as exc:
        raise _usage_error()(f"--augment {exc}") from None
    return args.augment


def _shown(path):
    """``path`` as a user would type it: ``samples/...`` for the samples shipped with augkit (wherever
    it is installed), relative to the working folder when it lies inside it, else as given."""
    from .data import sample_path
    bases = [(Path.cwd(), None)]
    try:
        bases.insert(0, (sample_path("faces").parent, "samples"))
    except FileNotFoundError:   # installed without its samples: the user's own DATA still works
        pass
    for base, name in bases:
        try:
            rel = Path(path).resolve().relative_to(base.resolve())
        except (ValueError, OSError):
            continue
        return Path(name, rel) if name else rel
    return path


def _describe(root, data, settings, augment):
    root = _shown(root)
    shape = data.images.shape[1:]
    kind = "gray" if len(shape) == 2 else f"{shape[2]}-channel"
    counts = np.bincount(data.labels, minlength=len(data.classes))
    classes = ", ".join(f"{c} {n}" for c, n in zip(data.classes, counts))
    return (f"{len(data)} images {shape[0]}x{shape[1]} {kind} from {root} ({classes}); "
            f"validation fraction {settings['val_fraction']}, {settings['copies']} perturbed copies of each "
            f"validation image; augment: {augment}")


def _cmd_train(args) -> int:
    if args.compare and args.sweep:
        raise _usage_error()("--compare and --sweep are separate studies; choose one")
    if args.seeds is not None and not args.compare:
        raise _usage_error()("--seeds is for --compare (several seeds); use --seed for one run")
    augment = _augment(args)
    if args.compare and str(augment).lower() == "none":
        raise _usage_error()("--compare trains with and without --augment; give a preset or pipeline file, not none")
    root, data, memory = _load(args, _settings(args, sweep=args.sweep))
    out = _out_dir(args, root)
    memory = f"; {memory}" if memory else ""
    if args.compare:
        return _run_compare(args, root, data, augment, out, memory)
    if args.sweep:
        return _run_sweep(args, root, data, augment, out, memory)
    return _run_single(args, root, data, augment, out, memory)


def _single_activation(args, name):
    values = getattr(args, name)
    if values is None:
        return None
    if len(values) != 1:
        raise _usage_error()(f"--{name} takes one name for a single run (a list is for --sweep), got "
                             f"{','.join(values)}")
    return values[0]


def _run_single(args, root, data, augment, out, memory=""):
    from .demo_train import DEFAULTS, train_model

    settings = _settings(args)
    activation = _single_activation(args, "activation") or DEFAULTS["activation"]
    init = _single_activation(args, "init") or DEFAULTS["init"]
    sizes = [int(np.prod(data.images.shape[1:])), *settings["hidden"], len(data.classes)]
    print(f"augkit train: {_describe(root, data, settings, augment)}")
    print(f"model: MLP {'-'.join(map(str, sizes))}, {activation}, {init} init; {settings['optimizer']} "
          f"lr {settings['lr']}, batch {settings['batch_size']}, {settings['epochs']} epochs, seed {args.seed}"
          f"{memory}", flush=True)
    epochs = settings["epochs"]

    def show(r):
        if not args.quiet:
            print(f"epoch {r['epoch']:>3}/{epochs}  loss {r['loss']:.4f}  train {r['train_acc']:.3f}  "
                  f"val {r['val_acc']:.3f}  val perturbed {_fmt(r['val_perturbed_acc'])}  "
                  f"{r['time']:.2f}s (data {r['data_time']:.2f}s)", file=sys.stderr, flush=True)

    try:
        run = train_model(data, augment=augment, activation=activation, init=init, seed=args.seed,
                          on_epoch=show, **settings)
    except FloatingPointError as exc:
        print(f"augkit train: {exc}; try a lower --lr or another --init", file=sys.stderr)
        return 1
    except ValueError as exc:  # e.g. a pipeline file whose crop does not fit these images
        raise _usage_error()(f"cannot train on {root}: {exc}") from None
    f = run["final"]
    kinds = ", ".join(f"{k} {v:.3f}" for k, v in f["val_perturbed_by_kind"].items())
    print(f"result: train accuracy {f['train_clean_acc']:.3f}, validation accuracy {f['val_acc']:.3f} "
          f"({run['config']['n_val']} images), on perturbed copies {_fmt(f['val_perturbed_acc'])}"
          + (f" ({kinds})" if kinds else "") + f"; {f['seconds']:.1f} s")
    if out is None:
        print("(add --out DIR to save the history, weights, learning curves and activation histograms)")
        return 0
    history = [{k: v for k, v in r.items()} for r in run["history"]]
    _write_json(out / "history.json", {"config": run["config"], "final": f, "summary": run["summary"],
                                       "history": history,
                                       "activations": [{k: v for k, v in s.items() if k not in ("hist", "edges")}
                                                       for s in run["activations"]]})
    _write_csv(out / "history.csv", history)
    run["model"].save(out / "model.npz")
    written = ["history.json", "history.csv", "model.npz"]
    if _pyplot() is None:
        print(PLOT_MISSING)
    else:
        from nn.plots import plot_activation_histograms

        title = (f"{activation} / {init}, augment {run['config']['augment']}, seed {args.seed}")
        plot_learning_curves(run["history"], out / "learning_curves.png", title=title)
        plot_activation_histograms(run["activations"], out / "activations.png",
                                   title=f"hidden activations on the validation images after training ({title})")
        written += ["learning_curves.png", "activations.png"]
    print(f"wrote {out}: {', '.join(written)}")
    return 0


def compare_table(result) -> str:
    """The markdown table of a `augkit.demo_train.compare` result."""
    rows = []
    for label, s in result["summary"].items():
        rows.append([label, _pm(s["train_acc"]), _pm(s["val_acc"]), _pm(s["val_perturbed_acc"]),
                     _pm(s["val_shift_acc"]), _pm(s["val_tint_acc"]), _pm(s["val_erase_acc"])])
    return _markdown(["augment", "train", "validation (clean)", "validation (perturbed)", "shifted", "tinted",
                      "erased"], rows)


def _run_compare(args, root, data, augment, out, memory=""):
    from .demo_train import DEFAULTS, compare

    settings = _settings(args)
    seeds = args.seeds or 5
    activation = _single_activation(args, "activation") or DEFAULTS["activation"]
    init = _single_activation(args, "init") or DEFAULTS["init"]
    print(f"augkit train --compare: {_describe(root, data, settings, augment)}")
    print(f"model: hidden {list(settings['hidden'])}, {activation}, {init} init; {settings['optimizer']} lr "
          f"{settings['lr']}, batch {settings['batch_size']}, {settings['epochs']} epochs; seeds {args.seed}.."
          f"{args.seed + seeds - 1}, each trained without and with augmentation{memory}", flush=True)

    def show(r):
        if not args.quiet:
            print(f"seed {r['seed']}  augment {r['augment']:<8} val {r['val_acc']:.3f}  "
                  f"val perturbed {_fmt(r['val_perturbed_acc'])}  {r['seconds']:.1f}s", file=sys.stderr, flush=True)

    start = time.perf_counter()
    try:
        result = compare(data, seeds=seeds, seed=args.seed, augment=augment, activation=activation, init=init,
                         on_run=show, **settings)
    except FloatingPointError as exc:
        print(f"augkit train: {exc}; try a lower --lr or another --init", file=sys.stderr)
        return 1
    except ValueError as exc:
        raise _usage_error()(f"cannot train on {root}: {exc}") from None
    print(f"mean ± std over {seeds} seeds ({time.perf_counter() - start:.1f} s):")
    table = compare_table(result)
    print(table)
    if out is not None:
        _write_report(out, "compare", result, table)
    return 0


def _write_report(out, name, result, table):
    _write_json(out / f"{name}.json", result)
    _write_csv(out / f"{name}.csv", result["runs"])
    _write_text(out / f"{name}.md", table + "\n")
    print(f"wrote {out}: {name}.json, {name}.csv, {name}.md")


def sweep_table(result) -> str:
    """The markdown table of a `augkit.demo_train.sweep` result."""
    rows = []
    for r in result["runs"]:
        if r.get("error"):
            rows.append([r["activation"], r["init"], "diverged"] + ["-"] * 7)
            continue
        rows.append([r["activation"], r["init"], _fmt(r["train_acc"]), _fmt(r["val_acc"]),
                     _fmt(r["val_perturbed_acc"]), f"{r['init_last_hidden_std']:.2g}",
                     _fmt(r["init_frac_dead"], 2), _fmt(r["frac_dead"], 2),
                     _fmt(r["init_frac_saturated"], 2), _fmt(r["frac_saturated"], 2)])
    return _markdown(["activation", "init", "train", "validation", "val. perturbed", "last std at init",
                      "dead at init", "dead after", "saturated at init", "saturated after"], rows)


def _run_sweep(args, root, data, augment, out, memory=""):
    import nn

    from .demo_train import sweep

    settings = _settings(args, sweep=True)
    activations = args.activation or list(nn.activations.NAMES)
    inits = args.init or list(nn.init.NAMES)
    print(f"augkit train --sweep: {_describe(root, data, settings, augment)}")
    print(f"model: hidden {list(settings['hidden'])}; {settings['optimizer']} lr {settings['lr']}, batch "
          f"{settings['batch_size']}, {settings['epochs']} epochs, seed {args.seed}; "
          f"{len(activations)} activations x {len(inits)} inits{memory}", flush=True)

    def show(r):
        if not args.quiet:
            what = "diverged" if r.get("error") else f"val {r['val_acc']:.3f}  dead {r['frac_dead']:.2f}"
            print(f"{r['activation']:<10} {r['init']:<15} {what}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    try:
        result = sweep(data, activations=activations, inits=inits, augment=augment, seed=args.seed,
                       on_run=show, **settings)
    except ValueError as exc:
        raise _usage_error()(f"cannot train on {root}: {exc}") from None
    print(f"after {settings['epochs']} epochs ({time.perf_counter() - start:.1f} s); dead = hidden units that are "
          "0 for every validation image; last std = std of the last hidden layer's activations; saturated = tanh |h| > 0.99 or sigmoid h < 0.01 or > 0.99 "
          "(mean over hidden layers):")
    table = sweep_table(result)
    print(table)
    if out is not None:
        _write_report(out, "sweep", result, table)
    return 0


# --------------------------------------------------------------------------- init-study
def _cmd_init_study(args) -> int:
    from nn.experiments import format_std_table, init_study, plot_init_study

    UsageError = _usage_error()
    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise UsageError(f"-o {args.output}: the histogram grid is a PNG file; give a path ending in .png")
    _check_file_path("-o", args.output, "a path ending in .png")
    if args.json is not None:
        if not args.json:
            raise UsageError("--json '': give a file path such as study.json, or leave the option out")
        _check_file_path("--json", args.json, "a file path such as study.json")
    start = time.perf_counter()
    study = init_study(depth=args.depth, width=args.width, n=args.n, inits=args.inits,
                       activations=args.activations, seed=args.seed)
    elapsed = time.perf_counter() - start
    # With --markdown only the table goes to stdout (`> table.md` gives a Markdown file); the rest to stderr.
    notes = sys.stderr if args.markdown else sys.stdout
    print(f"augkit init-study: {args.depth} layers x {args.width} units, no bias, {args.n} N(0, 1) inputs, "
          f"seed {args.seed} ({elapsed:.1f} s). Per-layer {args.stat} of the activations:", file=notes)
    print(format_std_table(study, stat=args.stat, fmt="markdown" if args.markdown else "text"))
    lines = []
    for r in study["runs"]:
        last = r["layers"][-1]
        extra = []
        if last["frac_saturated"] is not None:
            extra.append(f"{last['frac_saturated']:.0%} saturated")
        if r["activation"] in ("relu",):
            extra.append(f"{last['frac_zero']:.0%} zero")
        lines.append(f"  {r['init']:<15} {r['activation']:<10} layer {args.depth}: std {last['std']:.2g}"
                     + (f", {', '.join(extra)}" if extra else ""))
    print("last layer:\n" + "\n".join(lines), file=notes)
    if args.json:
        with writing("--json", args.json):   # checked paths can still fail: no permission, a full disk
            _write_json(Path(args.json), study)
    if _pyplot() is None:
        print(PLOT_MISSING, file=notes)
        return 0
    with writing("-o", args.output):
        plot_init_study(study, out)
    print(f"wrote {out}", file=notes)
    return 0


# --------------------------------------------------------------------------- registration
def add_commands(subparsers) -> None:
    """Add ``train`` and ``init-study`` to the ``augkit`` sub-parsers."""
    import nn

    from . import presets as _presets
    from .demo_train import DEFAULTS, OPTIMIZERS, SWEEP_DEFAULTS

    d, s = DEFAULTS, SWEEP_DEFAULTS
    p = subparsers.add_parser(
        "train", help="train the demo classifier (with augmentation, --compare, --sweep)",
        description="Train a small MLP on an image folder (DATA/<class>/<image>; default: the shipped "
                    "samples/faces, 100 faces and 100 non-faces, 25x25 gray), fed by augkit.data.Loader over "
                    "an AugmentedDataset. Prints accuracy on the training images, on the held-out images and "
                    "on perturbed (shifted / tinted / box-erased) copies of them.",
        epilog="--compare: the same model with and without augmentation over several seeds. --sweep: every "
               "activation x initialisation (defaults then: hidden 6x64, sgd, lr 0.05, 20 epochs).")
    p.add_argument("data", metavar="DATA", nargs="?", help="image folder, one sub-folder per class "
                                                          "(default: samples/faces); never written to")
    p.add_argument("--size", type=_size, metavar="N|HxW", help="resize images to this (default: the first image's)")
    p.add_argument("--channels", choices=["gray", "rgb"], help="colour layout (default: the first image's)")
    p.add_argument("--augment", default="seed", metavar="PRESET|FILE|none",
                   help=f"training augmentation: a preset ({', '.join(_presets.preset_names())}), a pipeline "
                        "file, or none (default: seed = shift + tint + box erase)")
    p.add_argument("--activation", type=_names(nn.activations.NAMES), metavar="NAME",
                   help=f"{', '.join(nn.activations.NAMES)} (default {d['activation']}; --sweep: a comma list, "
                        "default all)")
    p.add_argument("--init", type=_names(nn.init.NAMES), metavar="NAME",
                   help=f"{', '.join(nn.init.NAMES)} (default {d['init']}; --sweep: a comma list, default all)")
    p.add_argument("--hidden", type=_hidden, metavar="W[,W...]",
                   help=f"hidden layer widths (default {','.join(map(str, d['hidden']))}; --sweep "
                        f"{','.join(map(str, s['hidden']))})")
    p.add_argument("--epochs", type=_int_at_least(1), metavar="N", help=f"epochs (default {d['epochs']})")
    p.add_argument("--batch-size", type=_int_at_least(1), metavar="N", help=f"batch size ({d['batch_size']})")
    p.add_argument("--lr", type=_positive_float, metavar="RATE", help=f"learning rate (default {d['lr']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help=f"sgd, momentum (SGD with momentum 0.9) or adam (default {d['optimizer']})")
    p.add_argument("--seed", type=_int_at_least(0), default=d["seed"], metavar="S",
                   help="seed of the split, weights, augmentation and perturbed copies (0)")
    p.add_argument("--val-fraction", type=_fraction, default=d["val_fraction"], metavar="F",
                   help=f"held-out fraction of each class, a stratified split fixed by the seed ({d['val_fraction']})")
    p.add_argument("--copies", type=_int_at_least(0), default=d["copies"], metavar="K",
                   help=f"perturbed copies of each held-out image, shift / tint / erase in turn ({d['copies']})")
    p.add_argument("--workers", type=_int_at_least(0), default=d["workers"], metavar="W",
                   help=f"loader threads (default {d['workers']}: it augments the next batches while the "
                        "network trains; 0 augments in the training thread; results are the same for any "
                        "value; see benchmarks/RESULTS.md)")
    study = p.add_mutually_exclusive_group()
    study.add_argument("--compare", action="store_true", help="train with and without augmentation over seeds")
    study.add_argument("--sweep", action="store_true", help="train every activation x init pair")
    p.add_argument("--seeds", type=_int_at_least(1), metavar="N", help="seeds for --compare (5)")
    p.add_argument("--out", metavar="DIR", help="write history, weights and plots (or the study's tables) here")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-epoch / per-run progress")
    p.set_defaults(func=_cmd_train)

    from nn.experiments import DEFAULT_ACTIVATIONS, DEFAULT_INITS

    p = subparsers.add_parser(
        "init-study", help="the lecture's initialisation experiment: per-layer table and histogram grid",
        description="Feed N(0, 1) inputs through a deep bias-free net for every initialisation x activation; "
                    "print the per-layer standard deviation of the activations and write the histogram grid.")
    p.add_argument("--depth", type=_int_at_least(1), default=10, metavar="L", help="layers (10)")
    p.add_argument("--width", type=_int_at_least(1), default=500, metavar="D", help="units per layer (500)")
    p.add_argument("--n", type=_int_at_least(1), default=1000, metavar="N", help="input samples (1000)")
    p.add_argument("--inits", type=_names(nn.init.NAMES), default=list(DEFAULT_INITS), metavar="NAMES",
                   help=f"comma list or all ({','.join(DEFAULT_INITS)})")
    p.add_argument("--activations", type=_names(nn.activations.NAMES), default=list(DEFAULT_ACTIVATIONS),
                   metavar="NAMES", help=f"comma list or all ({','.join(DEFAULT_ACTIVATIONS)})")
    p.add_argument("--seed", type=_int_at_least(0), default=0, metavar="S", help="random seed (0)")
    p.add_argument("--stat", choices=["std", "mean", "frac_saturated", "frac_zero", "frac_dead"], default="std",
                   help="statistic in the table (std)")
    p.add_argument("--markdown", action="store_true",
                   help="print the table as Markdown, alone on stdout (the other lines go to stderr)")
    p.add_argument("-o", "--output", default="init_study.png", metavar="PATH",
                   help="histogram grid PNG (init_study.png)")
    p.add_argument("--json", metavar="PATH", help="also write the full study (per-layer stats, histograms) as JSON")
    p.set_defaults(func=_cmd_init_study)
