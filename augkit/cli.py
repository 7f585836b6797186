"""The ``augkit`` command: ``augment``, ``preview``, ``presets`` (and more from :mod:`augkit.demo`).

Every subcommand is an argparse sub-parser whose ``func(args) -> int`` does
the work. Expected failures raise :class:`UsageError`, which :func:`main`
prints as one line and turns into exit status 2; argparse reports bad options
with status 2 too (its usage lines, then one error line naming the option). A module ``augkit/demo.py``, when present, adds its commands
through ``demo.add_commands(subparsers)`` using the same convention.

Examples
--------
>>> from augkit.cli import main
>>> main(["presets"])  # doctest: +ELLIPSIS
seed ...
0
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import hashlib
import importlib
import json
import math
import os
import posixpath
import signal
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import SimpleQueue

import numpy as np

import augkit

from . import _procs
from . import presets as _presets
from .io import (IMAGE_EXTENSIONS, TMP_SUFFIX, _decode, copy_file, pillow_format, read_image, walk_folder,
                 write_image)

MANIFEST = "manifest.jsonl"
RUN_FILE = "augkit_run.json"
PREVIEW_SIDE = 1024   # preview tiles of larger images are shown reduced by a whole factor to about this
FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
QUALITY_FORMATS = {"JPEG", "WEBP"}   # the Pillow formats that write_image passes --quality to


class UsageError(Exception):
    """A bad argument or input that ends the command with exit status 2 and this message."""


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _int_at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value
    return parse


def _quality(text):
    value = _int_at_least(1)(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 100, got {text!r}")
    return value


def _add_pipeline_options(parser, default_help):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--pipeline", metavar="FILE", help="pipeline file written by augkit.save (JSON or YAML)")
    group.add_argument("--preset", metavar="NAME", choices=_presets.preset_names(),
                       help=f"built-in pipeline: {', '.join(_presets.preset_names())} ({default_help})")


@contextlib.contextmanager
def writing(option, value):
    """Create the folder of the file ``value`` names, then run the block that writes it; a failed
    write (no permission, a full disk) becomes a one-line usage error naming ``option``."""
    try:
        Path(value).parent.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as exc:
        raise UsageError(f"{option} {value}: cannot write ({exc.strerror or exc}); "
                         "give a path in a folder you can write to") from None


def _printable(text: str) -> str:
    """``text`` (a path) as any stdout can print it: bytes of a file name that are not valid in
    the file system's encoding show as escapes instead of failing under a strict encoding."""
    return os.fsencode(text).decode("utf-8", errors="backslashreplace")


def _pipeline(args, default="seed"):
    """The (pipeline, label) chosen by --pipeline / --preset; (None, None) when neither and no default."""
    if args.pipeline is not None:
        if not args.pipeline:   # an unset $VAR in a script: not the default pipeline without a word
            raise UsageError("--pipeline '': give a pipeline file (JSON or YAML), or leave the option out")
        try:
            return augkit.load(args.pipeline), Path(args.pipeline).stem
        except ValueError as exc:
            raise UsageError(f"--pipeline {args.pipeline}: {exc}") from None
    name = args.preset or default
    return (None, None) if name is None else (_presets.get_preset(name), name)


# --------------------------------------------------------------------------- augment
def _source_key(rel: str) -> int:
    """A stable 64-bit number for a source's relative path: its outputs do not depend on other files."""
    # surrogateescape: a name that is not UTF-8 hashes as its bytes on disk instead of ending the run
    return int.from_bytes(hashlib.blake2b(rel.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")


def _scan(src: Path, dst: Path):
    """Image files under ``src`` (sorted relative POSIX paths), the number of other files, unreadable
    folders, and ``{real path: path under src}`` of every folder the scan went through.

    Linked folders are followed (not ``dst``, not loops: see :func:`augkit.io.walk_folder`);
    a folder that cannot be listed is ``(relative path + "/", reason)``.
    """
    images, others, unlisted = [], 0, []
    folders = {}
    top = os.path.normpath(os.fspath(src))

    def relative(path):
        rel = os.path.relpath(path, top).replace(os.sep, "/")
        return "" if rel == "." else rel + "/"

    def cannot_list(exc):
        unlisted.append((relative(exc.filename), f"cannot list folder: {exc.strerror or exc}"))
        folders.setdefault(os.path.realpath(exc.filename), exc.filename)

    for dirpath, filenames in walk_folder(top, skip=dst, onerror=cannot_list):
        folders.setdefault(os.path.realpath(dirpath), dirpath)
        prefix = relative(dirpath)
        for name in filenames:
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                images.append(prefix + name)
            else:
                others += 1
    return sorted(images), others, sorted(unlisted), folders


def _src_folder_above(path, src_folders):
    """The folder of SRC's scan (as a path under SRC) that holds the real path of ``path``, or None."""
    real = Path(os.path.realpath(path))
    for folder in (real, *real.parents):
        if str(folder) in src_folders:
            return src_folders[str(folder)]
    return None


def _check_outputs_outside_src(dst: Path, out_folders, src_folders):
    """Refuse, before anything is written, a DST or output folder that leads into SRC through a link.

    ``_check_folders`` compares the paths as given; links can still lead a
    DST into a folder that SRC's scan reads (DST inside a folder SRC links
    to), or an output folder into SRC (DST/cls a link to SRC/cls).
    """
    inside = _src_folder_above(dst, src_folders)
    if inside is not None:
        raise UsageError(f"DST {str(dst)!r} is inside {inside!r}, a folder SRC reads (through a link); choose a "
                         "folder outside SRC and the folders it links to (SRC is never written to)")
    for folder in out_folders:
        target = dst / folder
        inside = _src_folder_above(target, src_folders)
        if inside is not None:
            raise UsageError(f"DST folder {str(target)!r} leads into SRC ({inside!r}) through a link; remove the "
                             "link or choose another DST (SRC is never written to)")


def _outputs(rel, copies, fmt, include_original):
    """``[(copy, output_rel)]`` for one source; copy None is the original."""
    stem, ext = posixpath.splitext(rel)
    if fmt != "same":
        ext = FORMATS[fmt]
    outs = [(None, stem + ext)] if include_original else []
    return outs + [(k, f"{stem}_aug{k}{ext}") for k in range(copies)]


def _failure_reason(path: Path, exc: Exception) -> str:
    from PIL import UnidentifiedImageError

    try:
        info = path.stat()
    except OSError as stat_exc:
        return f"cannot read: {stat_exc.strerror or stat_exc}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, not an image file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, device or socket)"
    if info.st_size == 0:
        return "empty file (0 bytes)"
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image (unknown format or corrupt header)"
    text = str(exc).replace(str(path), Path(path).name)
    if "truncated" in text:
        return f"truncated image data ({text})"
    return f"{type(exc).__name__}: {text}"


def _resolve(path: Path, label: str) -> Path:
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: a symbolic link loop (Python < 3.13)
        reason = "a symbolic link loop" if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == \
            errno.ELOOP else (getattr(exc, "strerror", None) or str(exc))
        raise UsageError(f"{label} {str(path)!r} cannot be resolved ({reason}); choose another folder") from None


def _check_folders(src: Path, dst: Path):
    rsrc, rdst = _resolve(src, "SRC"), _resolve(dst, "DST")
    if not src.exists():
        raise UsageError(f"SRC {str(src)!r} does not exist")
    if not src.is_dir():
        raise UsageError(f"SRC {str(src)!r} is not a folder (augment takes a folder of images)")
    if rdst == rsrc:
        raise UsageError(f"DST {str(dst)!r} is SRC; choose a folder outside SRC (SRC is never written to)")
    if rsrc in rdst.parents:
        raise UsageError(f"DST {str(dst)!r} is inside SRC {str(src)!r}; choose a folder outside SRC "
                         "(SRC is never written to)")
    if rdst in rsrc.parents:
        raise UsageError(f"SRC {str(src)!r} is inside DST {str(dst)!r}; choose a DST that does not contain SRC")
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"DST {str(dst)!r} exists and is not a folder")


def _read_manifest(path: Path):
    """Complete lines of an existing manifest (a line cut short by a kill is ignored)."""
    entries = []
    if not path.exists():
        return entries
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return entries


def _write_lines_atomic(path: Path, lines):
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _line(entry) -> str:
    return json.dumps(entry, separators=(",", ":")) + "\n"


def _process(job, src, dst, pipe, seed, quality):
    """Decode one source and write its pending outputs; returns ([(output, manifest line)], error or None).

    Runs on a worker thread; the manifest lines are made here so that the
    main thread, which holds the GIL for them, has little to do per image.
    """
    rel, key, todo = job
    path = os.path.join(src, rel)
    try:
        image = _decode(path, mode=None)  # read-only: the pipeline never writes its input
    except Exception as exc:  # any decoder failure is a per-file report, never the end of the run
        return [], _failure_reason(Path(path), exc)
    entries = []
    try:
        for k, out_rel in todo:
            target = os.path.join(dst, out_rel)
            if k is None:
                if pillow_format(posixpath.splitext(out_rel)[1]) == pillow_format(posixpath.splitext(rel)[1]):
                    copy_file(path, target)  # same format (.jpeg -> .jpg too): the bytes, not a re-encode
                else:
                    write_image(image, target, quality)
                entries.append((out_rel, _line({"source": rel, "output": out_rel, "copy": None, "params": None})))
                continue
            rng = [seed, key, k]
            out = pipe(image=image, rng=rng, record=True)
            write_image(out["image"], target, quality)
            entries.append((out_rel, _line({"source": rel, "output": out_rel, "copy": k, "rng": rng,
                                            "params": out["params"]})))
    except Exception as exc:
        return entries, f"{type(exc).__name__}: {exc}"
    return entries, None


def _changed_options(previous, config):
    """The names of the options in ``config`` that differ from those of the run file ``previous``
    (all of them when it could not be read).

    A quality of None (no output is JPEG or WebP, the formats it affects) on
    either side matches any: the other run's quality changed no file of this one.
    """
    if not isinstance(previous, dict):
        return sorted(config)
    return sorted(k for k in config if previous.get(k) != config[k]
                  and not (k == "quality" and None in (previous.get(k), config[k])))


def _cmd_augment(args) -> int:
    src, dst = Path(args.src), Path(args.dst)
    _check_folders(src, dst)
    pipe, pipe_name = _pipeline(args)
    run_path, manifest_path = dst / RUN_FILE, dst / MANIFEST

    # The plan comes first: whether --quality matters depends on the formats of the outputs.
    sources, ignored, unlisted, src_folders = _scan(src, dst)
    plan = [(rel, _outputs(rel, args.copies, args.format, args.include_original)) for rel in sources]
    seen = {}
    for rel, outs in plan:
        for _, out_rel in outs:
            if out_rel in seen:
                hint = "use --format same or rename one of them" if args.format != "same" else "rename one of them"
                raise UsageError(f"{rel} and {seen[out_rel]} would both write {out_rel}; {hint}")
            seen[out_rel] = rel
    formats = {pillow_format(ext) for ext in {posixpath.splitext(o)[1] for o in seen}}
    quality = args.quality if args.quality is not None else 95
    config = {"pipeline": pipe.to_dict(), "seed": args.seed, "copies": args.copies, "format": args.format,
              "quality": quality if formats & QUALITY_FORMATS else None, "include_original": args.include_original}

    previous = None
    if run_path.exists():
        try:
            previous = json.loads(run_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        changed = _changed_options(previous, config)
        if changed and not args.overwrite:
            raise UsageError(f"DST {str(dst)!r} holds outputs made with other options ({', '.join(changed)} "
                             "differ); re-run with the same options to resume, add --overwrite to redo them, "
                             "or choose another DST")
    elif dst.exists() and any(dst.iterdir()) and not args.overwrite:
        raise UsageError(f"DST {str(dst)!r} is not empty and holds no {RUN_FILE} (not an augkit output folder); "
                         "choose a new or empty folder, or add --overwrite to write into it anyway")

    if not sources and not unlisted:
        print(f"augkit augment: no images under {str(src)!r} (files ending in "
              f"{', '.join(IMAGE_EXTENSIONS)}; hidden files are skipped)", file=sys.stderr)
    if args.quality is not None and seen and config["quality"] is None and not args.quiet:
        print(f"augkit augment: note: --quality {args.quality} changes nothing here: it applies to JPEG and WebP "
              f"outputs, and these are {', '.join(sorted(formats))}", file=sys.stderr)

    done = {}
    if not args.overwrite:
        for entry in _read_manifest(manifest_path):
            out_rel = entry.get("output")
            if out_rel in seen and "error" not in entry and (dst / out_rel).is_file():
                done[out_rel] = entry
    jobs, skipped = [], 0
    for rel, outs in plan:
        todo = [(k, o) for k, o in outs if o not in done]
        if todo:
            jobs.append((rel, _source_key(rel), todo))
        else:
            skipped += 1

    out_folders = sorted({posixpath.dirname(o) for _, _, todo in jobs for _, o in todo} | {""})
    _check_outputs_outside_src(dst, out_folders, src_folders)

    if args.dry_run:
        for rel, reason in unlisted:
            print(f"augkit augment: cannot read {rel}: {reason}", file=sys.stderr)
        for rel, _, todo in jobs:
            for _, out_rel in todo:
                print(_printable(f"{rel} -> {out_rel}"))
        if not args.quiet:
            print(f"augment (dry run): {len(jobs)} images to process ({sum(len(t) for *_, t in jobs)} outputs), "
                  f"{skipped} already done, {ignored} non-image files ignored; pipeline {pipe_name}; "
                  f"nothing written", file=sys.stderr)
        return 0

    try:
        for folder in out_folders:
            (dst / folder).mkdir(parents=True, exist_ok=True)
        for stale in dst.rglob(f"*{TMP_SUFFIX}"):  # left by a killed run; ours by name, never a user's file
            stale.unlink()
        _write_lines_atomic(run_path, [json.dumps({"augkit_version": augkit.__version__, **config}, indent=2)
                                       + "\n"])
        _write_lines_atomic(manifest_path, [_line(e) for e in done.values()])
    except OSError as exc:
        raise UsageError(f"DST {str(dst)!r} cannot be written ({exc.strerror or exc}: "
                         f"{exc.filename if exc.filename is not None else dst}); choose a folder you can write to") \
            from None

    results = {out_rel: _line(entry) for out_rel, entry in done.items()}
    failures = {}
    processed = written = 0
    start = time.perf_counter()
    quiet = args.quiet or not sys.stderr.isatty()
    from tqdm import tqdm

    context = (src, dst, pipe, args.seed, quality)
    use_processes = args.workers > 1 and len(jobs) > 1 and not args.threads and _procs.available()
    # Worker processes are forked here, before the progress bar starts its monitor thread.
    with _stop_on_signals() as stop, open(manifest_path, "a", encoding="utf-8") as manifest, \
            _worker_processes(jobs, context, args.workers if use_processes else 0) as procs, \
            tqdm(total=len(jobs), unit="img", disable=quiet, file=sys.stderr, desc="augment") as bar:
        for rel, reason in unlisted:
            manifest.write(_line({"source": rel, "error": reason}))
            bar.write(f"augkit augment: failed {rel}: {reason}", file=sys.stderr)

        def collect(rel, result):
            nonlocal processed, written
            entries, error = result
            for out_rel, line in entries:
                manifest.write(line)
                results[out_rel] = line
            written += len(entries)
            if error is None:
                processed += 1
            else:
                failures[rel] = error
                manifest.write(_line({"source": rel, "error": error}))
                bar.write(f"augkit augment: failed {rel}: {error}", file=sys.stderr)
            manifest.flush()
            bar.update(1)

        if procs is not None:
            procs.drive(stop, collect)
        elif args.workers == 1:
            # One worker works on this thread: handing each image to a pool thread and its
            # result back costs two GIL hand-offs per image (~0.2 ms on a 2-ms image).
            for job in jobs:
                if stop.is_set():
                    break
                collect(job[0], _process(job, *context))
        else:
            _run_pool(jobs, args.workers, stop, collect, context)
    interrupted = processed + len(failures) < len(jobs)  # stopped by a signal before the end
    elapsed = time.perf_counter() - start

    if interrupted:
        print(f"augkit augment: interrupted after {processed} images; run the same command again to resume",
              file=sys.stderr)
        return 130
    order = {o: i for i, o in enumerate(seen)}
    lines = [results[o] for o in sorted(results, key=order.__getitem__)]
    lines += [_line({"source": rel, "error": failures[rel]}) for rel in sources if rel in failures]
    lines += [_line({"source": rel, "error": reason}) for rel, reason in unlisted]
    _write_lines_atomic(manifest_path, lines)
    failed = len(failures) + len(unlisted)
    if not args.quiet:
        rate = processed / elapsed if elapsed > 0 else 0.0
        extra = f", {ignored} non-image files ignored" if ignored else ""
        print(f"augkit augment: {processed} processed ({written} outputs), {skipped} skipped, {failed} failed"
              f"{extra} in {elapsed:.2f} s, {rate:.1f} images/s -> {dst}", file=sys.stderr)
    return 1 if failed else 0


def _process_job(job, context):
    return _process(job, *context)


@contextlib.contextmanager
def _worker_processes(jobs, context, workers):
    """A :class:`augkit._procs.Pool` of ``workers`` forked processes running ``_process`` (None for 0).

    The compiled kernels are loaded here first, so that the children inherit
    them instead of each loading its own.
    """
    if not workers:
        yield None
        return
    _load_kernels(context[2])
    try:
        pool = _procs.Pool(jobs, functools.partial(_process_job, context=context), workers)
    except OSError as exc:   # fork refused (a process limit, memory): the same work on threads
        print(f"augkit augment: cannot start worker processes ({exc.strerror or exc}); using threads",
              file=sys.stderr)
        yield None
        return
    with pool:
        yield pool


def _load_kernels(pipe):
    """Run the pipeline and the pixel repacks once on a small image: what they compile or load from
    numba's cache is then in this process (an image too small for a crop still loads the kernel)."""
    from PIL import Image

    from . import _pixels

    try:
        pipe(image=np.zeros((64, 64, 3), np.uint8), rng=0, record=True)
    except Exception:  # best effort: a pipeline this image does not suit still loaded its kernels, and
        pass           # whatever was not loaded, each worker loads for itself
    _pixels.rgb_array(Image.new("RGB", (8, 8)))
    _pixels.rgbx_image(np.zeros((8, 8, 3), np.uint8))


def _run_pool(jobs, workers, stop, collect, context):
    """Run ``_process(job, *context)`` for ``jobs`` on ``workers`` threads; ``collect(source, result)`` on this one.

    Each finished job's future lands in ``finished`` (its done-callback runs on
    the worker): this thread takes them in completion order with one blocking
    get() per image, instead of wait(FIRST_COMPLETED), which adds and removes a
    waiter on every running future each time. A few jobs per worker are queued
    ahead so that no worker waits on this thread. Once ``stop`` is set, jobs
    not started are cancelled and the running ones finished.
    """
    upcoming = iter(jobs)
    running = {}
    finished = SimpleQueue()
    with ThreadPoolExecutor(workers, thread_name_prefix="augkit-augment") as pool:
        def refill():
            while len(running) < 2 * workers + 2 and not stop.is_set():
                job = next(upcoming, None)
                if job is None:
                    return
                future = pool.submit(_process, job, *context)
                running[future] = job[0]
                future.add_done_callback(finished.put)

        refill()
        while running and not stop.is_set():
            future = finished.get()
            collect(running.pop(future), future.result())
            refill()
        for future in running:
            future.cancel()
        for future, rel in running.items():
            if not future.cancelled():
                collect(rel, future.result())


@contextlib.contextmanager
def _stop_on_signals():
    """An Event set by Ctrl-C or SIGTERM while the block runs, instead of an exception.

    The run checks it between images: images in hand are finished and listed
    in the manifest, nothing is left half-written, and the command ends with
    status 130. (Outside the main thread no handler can be installed; the
    Event then stays clear.)
    """
    stop = threading.Event()
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[signum] = signal.signal(signum, lambda *_: stop.set())
            except ValueError:  # not in the main thread
                break
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# --------------------------------------------------------------------------- preview
def _demo_tiles(image_shape, n):
    from .transforms import BoxErase, HorizontalFlip, RandomCrop, Shift, Tint

    h, w = image_shape[:2]
    crop = (max(1, round(h * 0.75)), max(1, round(w * 0.75)))
    singles = [("shift", Shift(dx=0.2, dy=0.2, p=1.0)), ("tint", Tint(shift=40, p=1.0)),
               ("box erase", BoxErase(scale=(0.05, 0.2), p=1.0)), ("flip", HorizontalFlip(p=1.0)),
               ("crop", RandomCrop(*crop))]
    full = augkit.Compose([HorizontalFlip(), Shift(dx=0.1, dy=0.1, p=0.8), Tint(shift=30, p=0.8),
                           BoxErase(p=0.5), RandomCrop(*crop)])
    return [(name, augkit.Compose([t])) for name, t in singles] + \
        [(f"all five #{k + 1}", full) for k in range(3 if n is None else n)]


def _fit_label(label, font, width):
    """``label`` as drawn in ``font`` within ``width`` pixels: whole when it fits, else its start and
    its end (a tile's "#k") around "..."."""
    def fits(text):
        return font.getbbox(text)[2] <= width
    if fits(label):
        return label
    for keep in range(len(label) - 1, 0, -1):
        text = label[:(keep + 1) // 2] + "..." + label[len(label) - keep // 2:]
        if fits(text):
            return text
    return ""


def _grid(tiles, columns):
    from PIL import Image, ImageDraw, ImageFont

    arrays = [np.asarray(np.clip(np.rint(a), 0, 255).astype(np.uint8) if a.dtype != np.uint8 else a) for _, a in tiles]
    big = max(max(a.shape[:2]) for a in arrays)
    zoom = max(1, math.ceil(128 / big))  # tiny images (25 px faces) are enlarged, pixel for pixel
    cell_h = max(a.shape[0] for a in arrays) * zoom
    cell_w = max(max(a.shape[1] for a in arrays) * zoom, 90)
    label_h, pad = 16, 6
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * (cell_w + pad) + pad, rows * (cell_h + label_h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for i, ((label, _), array) in enumerate(zip(tiles, arrays)):
        tile = Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array).convert("RGB")
        if zoom > 1:
            tile = tile.resize((tile.width * zoom, tile.height * zoom), Image.NEAREST)
        x0 = pad + (i % columns) * (cell_w + pad)
        y0 = pad + (i // columns) * (cell_h + label_h + pad)
        draw.text((x0, y0 + 1), _fit_label(label, font, cell_w), fill="black", font=font)
        sheet.paste(tile, (x0 + (cell_w - tile.width) // 2, y0 + label_h + (cell_h - tile.height) // 2))
    return np.asarray(sheet)


def input_or_sample(value, label, *sample):
    """``Path(value)``, or the shipped sample ``sample`` when the argument was left out."""
    if value is not None:
        return Path(value)
    from .data import sample_path
    try:
        return sample_path(*sample)
    except FileNotFoundError as exc:
        raise UsageError(f"no {label} given and {exc}") from None


def _cmd_preview(args) -> int:
    path = input_or_sample(args.image, "IMAGE", "images", "astronaut.png")
    if args.image is not None and not path.is_file():
        raise UsageError(f"IMAGE {args.image!r} is not a file")
    try:
        image = read_image(path, mode="RGB")
    except Exception as exc:
        raise UsageError(f"IMAGE {str(path)!r} cannot be read: {_failure_reason(path, exc)}") from None
    pipe, name = _pipeline(args, default=None)
    if pipe is None:
        variants = _demo_tiles(image.shape, args.n)
    else:
        variants = [(f"{name} #{k + 1}", pipe) for k in range(8 if args.n is None else args.n)]
    # A phone photo (4000x3000) would make a 12000x9000 grid: tiles are augmented at full size,
    # then shown reduced, all by the same whole factor (sizes stay comparable).
    factor = max(1, math.ceil(max(image.shape[:2]) / PREVIEW_SIDE))

    def shown(array):
        if factor == 1:
            return array
        from PIL import Image
        return np.asarray(Image.fromarray(array).reduce(factor))
    tiles = [("original" if factor == 1 else f"original, shown at 1/{factor}", shown(image))]
    for k, (label, transform) in enumerate(variants):
        try:
            tiles.append((label, shown(transform(image=image, rng=(args.seed, k))["image"])))
        except ValueError as exc:
            raise UsageError(f"the pipeline cannot run on {path.name} ({image.shape[1]}x{image.shape[0]}): {exc}") \
                from None
    out = Path(args.output)
    if out.suffix.lower() not in (".png",):
        raise UsageError(f"-o {args.output}: the preview is a PNG file; give a path ending in .png")
    grid = _grid(tiles, math.ceil(math.sqrt(len(tiles))))
    with writing("-o", args.output):
        write_image(grid, out)
    print(_printable(str(out)))
    return 0


# --------------------------------------------------------------------------- presets
def _cmd_presets(args) -> int:
    from .serialization import FORMAT_VERSION

    if args.name is None:
        width = max(map(len, _presets.preset_names()))
        for name in _presets.preset_names():
            print(f"{name:<{width}}  {_presets.describe(name)}")
        return 0
    if args.name not in _presets.PRESETS:
        raise UsageError(f"unknown preset {args.name!r}; choose one of {', '.join(_presets.preset_names())}")
    print(json.dumps({"augkit_format": FORMAT_VERSION, "pipeline": _presets.get_preset(args.name).to_dict()},
                     indent=2))
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``augkit`` argument parser, with the commands of :mod:`augkit.demo` when that module exists."""
    parser = argparse.ArgumentParser(prog="augkit", description="Fast, reproducible image augmentation.")
    parser.add_argument("--version", action="version", version=f"augkit {augkit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("augment", help="augment a folder of images into another folder",
                       description="Augment every image under SRC into DST, keeping the folder tree; "
                                   "writes DST/manifest.jsonl. Re-running resumes.")
    p.add_argument("src", metavar="SRC", help="folder of images (never written to)")
    p.add_argument("dst", metavar="DST", help="output folder (created; must not be inside SRC)")
    _add_pipeline_options(p, "default: seed")
    p.add_argument("--copies", type=_int_at_least(1), default=1, metavar="N", help="augmented copies per image (1)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, metavar="S", help="random seed (0)")
    p.add_argument("--workers", type=_int_at_least(1), default=_cpu_count(), metavar="W",
                   help=f"worker processes decoding, augmenting and encoding (number of CPUs: {_cpu_count()}); "
                        "threads where processes cannot be forked (not Linux); with 1, the work is done in "
                        "this process")
    p.add_argument("--threads", action="store_true",
                   help="run the workers as threads of this process instead of forked processes")
    p.add_argument("--format", choices=["same", *FORMATS], default="same", help="output format (same as input)")
    p.add_argument("--quality", type=_quality, metavar="Q",
                   help="JPEG/WebP quality 1-100 (95); other formats ignore it (a note says so), and resuming "
                        "a DST without JPEG/WebP outputs accepts any Q")
    p.add_argument("--include-original", action="store_true", help="also put each original into DST")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    p.add_argument("--dry-run", action="store_true", help="list what would be written; write nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary (failures still shown)")
    p.set_defaults(func=_cmd_augment)

    p = sub.add_parser("preview", help="write a PNG grid of an image and its augmented versions",
                       description="Write one PNG grid: the original and augmented versions, each labelled. "
                                   "Without a pipeline: one tile per transform (shift, tint, box erase, flip, "
                                   "crop), then the five together.")
    p.add_argument("image", metavar="IMAGE", nargs="?", help="image file (default: the sample astronaut)")
    _add_pipeline_options(p, "default: one tile per transform")
    p.add_argument("--n", type=_int_at_least(1), metavar="N",
                   help="number of samples of the pipeline (8); without one, of the five transforms together, "
                        "shown after the tiles per transform (3)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, metavar="S", help="random seed (0)")
    p.add_argument("-o", "--output", default="preview.png", metavar="PATH", help="output PNG (preview.png)")
    p.set_defaults(func=_cmd_preview)

    p = sub.add_parser("presets", help="list the built-in pipelines, or print one as a pipeline file",
                       description="List the built-in pipelines; with NAME, print that pipeline as JSON "
                                   "(save it and edit it, then pass it to --pipeline).")
    p.add_argument("name", metavar="NAME", nargs="?", help="a preset to print")
    p.set_defaults(func=_cmd_presets)

    try:
        demo = importlib.import_module(f"{__package__}.demo")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.demo":
            raise
    else:
        demo.add_commands(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``augkit`` command line; returns the exit status (0 ok, 1 some inputs failed, 2 bad usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one-line usage error (or the help)
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"augkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`
        return 0
    except MemoryError as exc:  # e.g. init-study --width 100000: a 37 GiB weight matrix
        detail = f" ({exc})" if str(exc) else ""
        print(f"augkit {args.command}: error: not enough memory for these settings{detail}; use smaller ones",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C outside augment's own handler (scanning SRC, preview, ...)
        print(f"augkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
