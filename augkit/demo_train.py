"""The demo classifier behind ``augkit train``: data, split, perturbed copies, training runs.

This is the application layer that joins :mod:`augkit` and :mod:`nn` (neither
knows the other): images come from an :class:`~augkit.data.ImageFolder`, are
augmented by an :class:`~augkit.data.AugmentedDataset` and batched by a
:class:`~augkit.data.Loader`; an :class:`nn.MLP` learns from them with
:class:`nn.Trainer`. Everything is a plain function returning plain dicts, so
the CLI in :mod:`augkit.demo` only parses, prints and writes.

Randomness, all derived from one ``seed``:

- the stratified split: ``default_rng((seed, SPLIT_WORD))``;
- the weights: ``MLP(..., rng=seed)``;
- the augmentation of training image ``i`` in epoch ``e``: ``(seed, e, i)``;
- the perturbed copy ``c`` of held-out image ``i`` (``i`` its index in the
  whole folder): ``(seed, PERTURB_WORD, c, i)``.

Examples
--------
>>> from augkit.demo_train import load_folder, train_model
>>> from augkit.data import sample_path
>>> data = load_folder(sample_path("faces"))
>>> data.images.shape, data.classes
((200, 25, 25), ['face', 'not_face'])
>>> run = train_model(data, epochs=2, hidden=(16,), seed=0)
>>> sorted(run["final"])  # doctest: +NORMALIZE_WHITESPACE
['epochs', 'seconds', 'train_acc', 'train_clean_acc', 'val_acc', 'val_perturbed_acc',
 'val_perturbed_by_kind']
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

import nn

from . import presets as _presets
from ._validate import check_int
from .compose import Compose
from .data import AugmentedDataset, ImageFolder, Loader
from .transforms import BoxErase, Shift, Tint

# Words appended to the seed so that the split and the perturbed copies never
# share a stream with the weights (rng=seed) or the augmentation (seed, e, i).
SPLIT_WORD = 0x5B117
PERTURB_WORD = 0x9E27

OPTIMIZERS = ("sgd", "momentum", "adam")

#: The held-out perturbations: each is one of the training preset's three
#: transforms (same ranges as the "seed" preset), always applied.
PERTURBATIONS = {
    "shift": lambda: Compose([Shift(dx=0.1, dy=0.1, p=1.0)]),
    "tint": lambda: Compose([Tint(shift=30, p=1.0)]),
    "erase": lambda: Compose([BoxErase(p=1.0)]),
}

DEFAULTS = {
    "hidden": (64,),
    "activation": "relu",
    "init": "he",
    "epochs": 30,
    "batch_size": 16,
    "lr": 0.001,
    "optimizer": "adam",
    "seed": 0,
    "val_fraction": 0.5,
    "copies": 6,
    "workers": 1,
}

#: What ``sweep`` changes from `DEFAULTS` unless told otherwise: a deeper net
#: and plain SGD, where the initialisation decides whether training starts at all
#: (Adam's per-weight step sizes hide much of it).
SWEEP_DEFAULTS = {"hidden": (64,) * 6, "optimizer": "sgd", "lr": 0.05, "epochs": 20}


@dataclass
class FolderData:
    """An image folder decoded into memory: ``images`` (N, H, W[, C]) uint8, ``labels`` (N,)."""

    images: np.ndarray
    labels: np.ndarray
    classes: list
    root: str
    skipped: list = field(default_factory=list)

    def __len__(self):
        return len(self.labels)


# --------------------------------------------------------------------------- data
def _parse_size(size):
    if size is None:
        return None
    if isinstance(size, int):
        size = (size, size)
    h, w = (int(s) for s in size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return h, w


_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _file_mode(path):
    """The Pillow mode in ``path``'s header, or None when it is no regular image file Pillow opens.

    Guarded as :func:`augkit.io.read_image` is: a FIFO or device is never opened
    (that would block), and any failure, a decompression bomb included, gives None.
    """
    import os
    import stat

    from PIL import Image

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with Image.open(path) as img:
            return img.mode
    except Exception:
        return None


def _first_image(folder, channels):
    """``(index, image, channels, failed)``: the first image of ``folder`` that decodes, in folder order.

    ``channels`` is kept when given, else gray when that image's file is grayscale,
    else rgb; ``image`` is decoded by ``folder`` for it (upright, EXIF orientation
    applied). ``failed`` lists ``(index, reason)`` for the files before it, which
    :func:`load_folder` skips. ``(None, None, channels, failed)`` when none decodes.
    Sets ``folder.mode`` for the channels found. (Before, the channels followed the
    first file Pillow could open, decodable or not: a truncated gray file first made
    a folder of colour photos gray.)
    """
    failed = []
    for i, (path, _) in enumerate(folder.samples):
        chosen = channels
        if chosen is None:
            chosen = "gray" if _file_mode(path) in _GRAY_MODES else "rgb"
        folder.mode = "L" if chosen == "gray" else "RGB"
        try:
            image, _ = folder[i]
        except OSError as exc:
            failed.append((i, f"{path}: {exc.__cause__ or exc}"))
            continue
        return i, image, chosen, failed
    if channels is not None:
        folder.mode = "L" if channels == "gray" else "RGB"
    return None, None, channels, failed


def scan_folder(root, size=None, channels=None):
    """``(folder, (height, width), channels, original)`` of ``root/<class>/...``, decoding one image.

    ``folder`` is an :class:`~augkit.data.ImageFolder` whose ``mode`` is set for
    ``channels``. The image is the first in folder order that decodes, the one
    :func:`load_folder` sizes the others by (files that fail before it are
    skipped, as there): ``original`` is its size as decoded (EXIF orientation
    applied), None when no image decodes; the size is ``size`` or, when None,
    ``original``; ``channels`` is ``channels`` or, when None, gray when that
    image's file is grayscale, else rgb. The other files are not opened, so the
    memory a run needs can be estimated (:func:`memory_estimate`) before they are
    loaded.

    Examples
    --------
    >>> from augkit.data import sample_path
    >>> folder, size, channels, original = scan_folder(sample_path("faces"))
    >>> len(folder), size, channels, original
    (200, (25, 25), 'gray', (25, 25))
    """
    folder, size, channels, _, image, _ = open_folder(root, size, channels)
    original = None if image is None else tuple(image.shape[:2])
    return folder, size or original, channels, original


def open_folder(root, size=None, channels=None):
    """``(folder, size, channels, first, image, failed)``: the arguments checked, the folder
    listed and its first image that decodes (:func:`_first_image`), once, for
    :func:`scan_folder` and :func:`load_folder` (``scanned=``) alike; ``size`` is as
    given (None: the images' own)."""
    size = _parse_size(size)
    if channels not in (None, "gray", "rgb"):
        raise ValueError(f"channels must be 'gray' or 'rgb', got {channels!r}")
    folder = ImageFolder(root, mode=None)
    first, image, channels, failed = _first_image(folder, channels)
    return folder, size, channels, first, image, failed


#: Resident memory of Python with NumPy, numba, Pillow and augkit loaded, before
#: any image: ``augkit train --size 1 --epochs 1`` peaks at 147 MiB (ru_maxrss).
BASE_BYTES = 160 * 2**20

#: Arrays of the network's size that training keeps per optimiser: weights,
#: gradients, the optimiser's scratch array and its state (velocity; Adam's two moments).
_NETWORK_COPIES = {"sgd": 3, "momentum": 4, "adam": 5}

#: Bytes per pixel of a full-size image while it is decoded and resized (Pillow's
#: image, the array made from it, the resize's copy): measured 10.0-10.1 for rgb
#: (JPEG and PNG, EXIF-rotated or not), 3-8 for gray (8: an rgb JPEG read as gray
#: and rotated).
DECODE_BYTES_PER_PIXEL = {"gray": 8, "rgb": 10}


def memory_estimate(n_train, n_val, image_shape, hidden, n_classes, *, optimizer=DEFAULTS["optimizer"],
                    batch_size=DEFAULTS["batch_size"], copies=DEFAULTS["copies"], workers=DEFAULTS["workers"],
                    original=None) -> dict:
    """Bytes that ``augkit train`` holds at its peak, by part, from its settings alone.

    The same for one :func:`train_model` run and for :func:`compare` and
    :func:`sweep`, which free each run before the next. With ``D = height * width
    * channels`` values per image, ``N = n_train + n_val`` images and ``P`` the
    network's parameters (``sum((a + 1) * b)`` over its layers ``a -> b``,
    float32), the parts are:

    - ``images``: uint8 arrays, ``D * (2 * N + copies * n_val)``: the folder as
      decoded, its training and held-out copies, the perturbed held-out copies;
    - ``inputs``: the standardised float32 rows, ``4 * D * (n_train + n_val * (1 + copies))``;
    - ``network``: ``4 * P * k`` with ``k`` = 3 for sgd, 4 for momentum, 5 for adam
      (weights, gradients, the optimiser's scratch array, velocity or the two moments);
    - ``batches``: ``batch_size * D * (2 * max(2, workers) + 1 + 8)``: the
      loader's uint8 batches in flight (its queue and the look-ahead into the next
      epoch) and two float32 batches;
    - ``decoding``: while :func:`load_folder` runs, before training: ``max(1,
      workers)`` full-size images of ``original`` (height, width; default the
      image size) at `DECODE_BYTES_PER_PIXEL`, next to the ``D * N`` bytes of the
      images resized so far. Only the first image's size is known here: later
      files much larger than it are under-counted (a 25x25 file first, then
      4000x3000 photos with 4 workers: 0.2 GiB estimated, 0.51 GiB measured),
      as are 16-bit gray files (~16 bytes a pixel);
    - ``base``: `BASE_BYTES`, Python and the libraries themselves;

    and ``total``: ``base + max(decoding + D * N, images + inputs + network + batches)``,
    the larger of the loading and the training peaks. Python integers throughout:
    no size overflows.

    Checked against the peak resident memory (ru_maxrss) of ``augkit train``
    on the shipped faces at 64x64 to 512x512 (gray and rgb, sgd and adam, hidden
    64 to 2048, workers 0 to 4, single runs and ``--sweep``): 0.98-1.04x of it;
    16 rgb photos of 4000x3000 read at 32x32: 1.09x, and 1.21x with 2 workers
    (the estimate has every thread hold a full image at once); in a fresh venv
    with the same NumPy and Pillow, six 3000x2000 photos read at 16x16 added
    more to the peak than estimated (0.76x), the allocator keeping more.
    tests/test_train_memory.py compares a run, a sweep and large photos.

    Examples
    --------
    >>> est = memory_estimate(100, 100, (5000, 5000), (64,), 2)
    >>> round(est["total"] / 2**30), round(est["network"] / 2**30)
    (133, 30)
    """
    shape = [int(s) for s in image_shape]
    d = math.prod(shape)
    sizes = [d, *(int(h) for h in hidden), int(n_classes)]
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    params = weights + sum(sizes[1:])
    if optimizer not in _NETWORK_COPIES:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    full = shape[:2] if original is None else [int(s) for s in original[:2]]
    n = int(n_train) + int(n_val)
    parts = {
        "images": d * (2 * n + copies * n_val),
        "inputs": 4 * d * (n_train + n_val * (1 + copies)),
        "network": 4 * params * _NETWORK_COPIES[optimizer],
        "batches": batch_size * d * (2 * max(2, workers) + 1 + 8),
        "decoding": max(1, workers) * math.prod(full) * DECODE_BYTES_PER_PIXEL["rgb" if len(shape) == 3 else "gray"],
        "base": BASE_BYTES,
    }
    training = parts["images"] + parts["inputs"] + parts["network"] + parts["batches"]
    parts["total"] = BASE_BYTES + max(parts["decoding"] + d * n, training)
    return parts


def load_folder(root, size=None, channels=None, workers=0, *, scanned=None) -> FolderData:
    """Decode every image of ``root/<class>/...`` into one uint8 array.

    Parameters
    ----------
    root : str or Path
    size : int or (height, width), optional
        Resize every image to this (bilinear). Default: the size of the first
        image that decodes; others are resized to it.
    channels : {"gray", "rgb"}, optional
        Default: gray when the first image that decodes is grayscale, else rgb.
    workers : int
        Decoding threads (0: decode in the calling thread).
    scanned : tuple, optional
        What :func:`open_folder` returned for ``root``, ``size`` and ``channels``,
        when the caller has it already: the folder is not listed and its first
        image not decoded again. Hand it over without keeping a reference, or
        the full-size first image stays in memory until this returns.

    Returns
    -------
    FolderData
        Files that cannot be decoded are left out and listed in ``skipped``
        as ``(path, reason)``.

    Raises
    ------
    ValueError
        No class folders, no images, fewer than two classes with images.

    Notes
    -----
    Each image is resized as soon as it is decoded, so the memory held is the
    resized images plus one full-size image per decoding thread (at most
    ``max(1, workers)``), whatever the size of the files.
    """
    from PIL import Image

    folder, size, channels, first, image, failed = scanned or open_folder(root, size, channels)
    scanned = None   # the first image is resized below: hold no full-size copy of it
    if first is None:
        raise ValueError(f"none of the {len(folder)} image files under {str(root)!r} could be read")
    _two_classes(folder, {label for _, label in folder.samples}, root)   # decoding can only lose classes
    if size is None:
        size = image.shape[:2]

    def fit(img):
        if img.shape[:2] != tuple(size):
            img = np.asarray(Image.fromarray(img).resize((size[1], size[0]), Image.Resampling.BILINEAR))
        return img

    def read(i):
        path, label = folder.samples[i]
        try:
            img, _ = folder[i]
        except OSError as exc:
            return None, label, f"{path}: {exc.__cause__ or exc}"
        return fit(img), label, None   # resized here, in the decoding thread: one full-size image each

    rest = list(range(first + 1, len(folder)))
    decoded = [(None, folder.samples[i][1], reason) for i, reason in failed]
    decoded.append((fit(image), folder.samples[first][1], None))
    del image
    if workers:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            decoded += pool.map(read, rest)
    else:
        decoded += [read(i) for i in rest]
    indices = [i for i, _ in failed] + [first] + rest
    skipped = [(str(folder.samples[i][0]), err) for i, (_, _, err) in zip(indices, decoded) if err]
    pairs = [(img, label) for img, label, err in decoded if err is None]
    del decoded
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    _two_classes(folder, set(labels.tolist()), root)
    images = [img for img, _ in pairs]
    del pairs
    return FolderData(np.stack(images), labels, list(folder.classes), str(root), skipped)


def _two_classes(folder, present, root):
    if len(present) < 2:
        names = [folder.classes[k] for k in sorted(present)]
        raise ValueError(f"a classifier needs at least two classes with images; {str(root)!r} has images "
                         f"only in {names} (expected root/<class>/<image> with one folder per class)")


def stratified_split(labels, val_fraction, seed):
    """``(train_idx, val_idx)``: ``val_fraction`` of each class held out, chosen by ``seed``.

    Every class with at least two images keeps at least one image on each side.

    Examples
    --------
    >>> tr, va = stratified_split([0] * 10 + [1] * 10, 0.2, seed=0)
    >>> len(tr), len(va), (va // 10).tolist().count(1)
    (16, 4, 2)
    """
    labels = np.asarray(labels)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    rng = np.random.default_rng((seed, SPLIT_WORD))
    train, val = [], []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        idx = idx[rng.permutation(len(idx))]
        n_val = int(round(val_fraction * len(idx)))
        if len(idx) >= 2:
            n_val = min(max(n_val, 1), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def perturbed_copies(images, labels, index, copies, seed):
    """``copies`` perturbed versions of every image: ``(images, labels, kinds)``.

    Copy ``c`` uses perturbation ``list(PERTURBATIONS)[c % 3]`` (shift, tint,
    erase in turn) with ``rng=(seed, PERTURB_WORD, c, index[i])``, so a copy
    depends only on the seed and on the image's place in the folder.
    """
    kinds = list(PERTURBATIONS)
    pipes = {k: PERTURBATIONS[k]() for k in kinds}
    out, out_labels, out_kinds = [], [], []
    for c in range(copies):
        kind = kinds[c % len(kinds)]
        for image, label, i in zip(images, labels, index):
            out.append(pipes[kind](image=image, rng=(seed, PERTURB_WORD, c, int(i)))["image"])
            out_labels.append(label)
            out_kinds.append(kind)
    if not out:
        return images[:0], np.asarray(labels)[:0], np.array([], dtype=object)
    return np.stack(out), np.asarray(out_labels), np.array(out_kinds)


def resolve_augment(augment):
    """``(pipeline or None, label)`` for a preset name, a pipeline file, ``"none"`` or a transform."""
    if augment is None or (isinstance(augment, str) and augment.lower() == "none"):
        return None, "none"
    if not isinstance(augment, str):
        return augment, type(augment).__name__
    if augment in _presets.PRESETS:
        return _presets.get_preset(augment), augment
    from pathlib import Path

    from .serialization import load

    path = Path(augment)
    if not path.is_file():
        raise ValueError(f"{augment!r} is neither a preset ({', '.join(_presets.preset_names())}), "
                         "'none', nor a pipeline file")
    return load(path), path.stem


class _Inputs:
    """uint8 images -> standardised float32 rows, with the training set's mean and std."""

    def __init__(self, images):
        x = images.astype(np.float32) / 255.0
        self.mean = float(x.mean())
        self.std = float(x.std()) or 1.0

    def __call__(self, images):
        x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        x *= 1.0 / (255.0 * self.std)
        x -= self.mean / self.std
        return x


def _optimizer(name, lr):
    if name == "sgd":
        return nn.SGD(lr)
    if name == "momentum":
        return nn.SGD(lr, momentum=0.9)
    if name == "adam":
        return nn.Adam(lr)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def _activation_summary(stats):
    acts = [s for s in stats if s["kind"] in nn.activations.NAMES]
    sat = [s["frac_saturated"] for s in acts if s["frac_saturated"] is not None]
    return {
        "frac_dead": float(np.mean([s["frac_dead"] for s in acts])) if acts else 0.0,
        "frac_saturated": float(np.mean(sat)) if sat else None,
        "last_hidden_std": float(acts[-1]["std"]) if acts else None,
    }


def _stats_or_diverged(model, x, when):
    """Per-layer activation statistics; a network whose activations overflowed has diverged."""
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            stats = nn.diagnostics.activation_stats(model, x)
        except ValueError:  # np.histogram refuses non-finite values
            if all(np.isfinite(p.data).all() for p in model.parameters()):
                raise   # not an overflow: report it as what it is
            stats = None
    if stats is None or not all(np.isfinite(s["std"]) for s in stats):
        raise FloatingPointError(f"training diverged: activations overflowed {when}")
    return stats


# --------------------------------------------------------------------------- one run
def train_model(data, *, augment="seed", hidden=DEFAULTS["hidden"], activation=DEFAULTS["activation"],
                init=DEFAULTS["init"], epochs=DEFAULTS["epochs"], batch_size=DEFAULTS["batch_size"],
                lr=DEFAULTS["lr"], optimizer=DEFAULTS["optimizer"], seed=DEFAULTS["seed"],
                val_fraction=DEFAULTS["val_fraction"], copies=DEFAULTS["copies"], workers=DEFAULTS["workers"],
                on_epoch=None, keep_model=True) -> dict:
    """Train the demo MLP on ``data`` (a :class:`FolderData`) and measure it.

    Parameters
    ----------
    augment : str, augkit transform or None
        Preset name, pipeline file, ``"none"``/None, or a pipeline object.
    hidden : sequence of int
        Hidden layer widths.
    activation, init : str
        Names from ``nn.activations.NAMES`` and ``nn.init.NAMES``.
    epochs, batch_size, lr, optimizer, seed, val_fraction : see ``augkit train --help``.
    copies : int
        Perturbed copies of each held-out image (0: none).
    workers : int
        Loader threads.
    on_epoch : callable, optional
        Called with each history record as it is made.
    keep_model : bool
        Put the trained model and input scaling in the result.

    Returns
    -------
    dict
        ``config``, ``history`` (one record per epoch: the `nn.Trainer`
        fields plus ``val_perturbed_acc``), ``final`` (``train_acc`` as seen in
        the last epoch, ``train_clean_acc``, ``val_acc``, ``val_perturbed_acc``,
        ``val_perturbed_by_kind``, ``epochs``, ``seconds``), ``activations``
        (per-layer `nn.diagnostics.activation_stats` on the held-out images,
        histograms included), ``summary`` (mean dead / saturated fractions of
        the hidden units) and, with ``keep_model``, ``model`` and ``inputs``.
    """
    epochs = check_int(epochs, "train_model", "epochs", minimum=1)
    seed = check_int(seed, "train_model", "seed", minimum=0)
    # A diverging run (large weights, too high a rate) is reported through the
    # trainer's FloatingPointError; NumPy's overflow warnings on the way are noise.
    with np.errstate(over="ignore", invalid="ignore"):
        return _train_model(data, augment, hidden, activation, init, epochs, batch_size, lr, optimizer, seed,
                            val_fraction, copies, workers, on_epoch, keep_model)


def _train_model(data, augment, hidden, activation, init, epochs, batch_size, lr, optimizer, seed, val_fraction,
                 copies, workers, on_epoch, keep_model):
    start = time.perf_counter()
    pipe, augment_label = resolve_augment(augment)
    hidden = tuple(int(h) for h in hidden)
    train_idx, val_idx = stratified_split(data.labels, val_fraction, seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise ValueError(f"{len(data)} images are too few to hold out val_fraction={val_fraction}")
    x_train, y_train = data.images[train_idx], data.labels[train_idx]
    x_val, y_val = data.images[val_idx], data.labels[val_idx]
    inputs = _Inputs(x_train)
    xp, yp, kp = perturbed_copies(x_val, y_val, val_idx, copies, seed)
    val = (inputs(x_val), y_val)
    pert = (inputs(xp), yp) if len(yp) else None
    clean_train = (inputs(x_train), y_train)

    dataset = AugmentedDataset(list(zip(x_train, y_train.tolist())), pipe, seed=seed)
    loader = Loader(dataset, batch_size=batch_size, shuffle=True, seed=seed, workers=workers)
    n_features = int(np.prod(data.images.shape[1:]))
    model = nn.MLP([n_features, *hidden, len(data.classes)], activation=activation, init=init, rng=seed)
    trainer = nn.Trainer(model, _optimizer(optimizer, lr))

    history = []
    with loader.session() as loader_epochs:  # one thread pool, the next epoch loaded early
        for epoch in range(epochs):
            def batches(_, e=epoch):
                for xb, yb in loader_epochs(e):
                    yield inputs(xb), yb
            try:
                record = trainer.fit(batches, epochs=1, val=val).records[0]
            except FloatingPointError:
                raise FloatingPointError(f"training diverged in epoch {epoch + 1} (loss became NaN or infinite)") \
                    from None
            record["epoch"] = epoch + 1
            record["val_perturbed_acc"] = trainer.evaluate(pert)["acc"] if pert else None
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)

    by_kind = {}
    if pert:
        pred = model.predict(pert[0])
        for kind in PERTURBATIONS:
            sel = kp == kind
            if sel.any():
                by_kind[kind] = float(np.mean(pred[sel] == yp[sel]))
    stats = _stats_or_diverged(model, val[0], f"after {epochs} epochs")
    last = history[-1]
    result = {
        "config": {"data": data.root, "classes": data.classes, "image_shape": list(data.images.shape[1:]),
                   "n_train": int(len(train_idx)), "n_val": int(len(val_idx)), "n_val_perturbed": int(len(yp)),
                   "augment": augment_label, "pipeline": pipe.to_dict() if pipe is not None else None,
                   "hidden": list(hidden), "activation": activation, "init": init, "epochs": epochs,
                   "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "seed": seed,
                   "val_fraction": val_fraction, "copies": copies, "workers": workers,
                   "input_mean": inputs.mean, "input_std": inputs.std},
        "history": history,
        "final": {"train_acc": last["train_acc"], "train_clean_acc": trainer.evaluate(clean_train)["acc"],
                  "val_acc": last["val_acc"], "val_perturbed_acc": last["val_perturbed_acc"],
                  "val_perturbed_by_kind": by_kind, "epochs": epochs,
                  "seconds": time.perf_counter() - start},
        "activations": stats,
        "summary": _activation_summary(stats),
    }
    if keep_model:
        result["model"] = model
        result["inputs"] = inputs
    return result


# --------------------------------------------------------------------------- studies
def _mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values))


def compare(data, *, seeds=5, seed=0, augment="seed", on_run=None, **kwargs) -> dict:
    """Train with ``augment`` and without, for seeds ``seed .. seed + seeds - 1``.

    Returns ``{"config", "runs": [{"seed", "augment", "val_acc", "val_perturbed_acc",
    "val_perturbed_by_kind", "train_acc", "seconds"}], "summary": {label: {metric:
    [mean, std]}}}`` with labels ``"none"`` and the augmentation's.
    """
    _, label = resolve_augment(augment)
    if label == "none":
        raise ValueError("compare needs an augmentation to compare with none; got augment='none'")
    runs = []
    for s in range(seed, seed + seeds):
        for aug in ("none", augment):
            r = train_model(data, augment=aug, seed=s, keep_model=False, **kwargs)
            f = r["final"]
            row = {"seed": s, "augment": r["config"]["augment"], "train_acc": f["train_clean_acc"],
                   "val_acc": f["val_acc"], "val_perturbed_acc": f["val_perturbed_acc"],
                   "val_perturbed_by_kind": f["val_perturbed_by_kind"], "seconds": f["seconds"]}
            runs.append(row)
            if on_run is not None:
                on_run(row)
    summary = {}
    for lab in ("none", label):
        rows = [r for r in runs if r["augment"] == lab]
        summary[lab] = {m: list(_mean_std([r[m] for r in rows]))
                        for m in ("train_acc", "val_acc", "val_perturbed_acc")}
        for kind in PERTURBATIONS:
            summary[lab][f"val_{kind}_acc"] = list(_mean_std([r["val_perturbed_by_kind"].get(kind) for r in rows]))
    config = {"seeds": list(range(seed, seed + seeds)), "augment": label, **{k: v for k, v in kwargs.items()
                                                                            if k != "on_epoch"}}
    return {"config": config, "runs": runs, "summary": summary}


def sweep(data, *, activations=None, inits=None, on_run=None, **kwargs) -> dict:
    """Train one model per (activation, init) pair; report accuracy and unit health.

    Returns ``{"config", "runs": [{"activation", "init", "train_acc", "val_acc",
    "val_perturbed_acc", "frac_dead", "frac_saturated", "last_hidden_std",
    "init_frac_dead", "init_frac_saturated", "init_last_hidden_std", "seconds"}]}``; the
    ``init_*`` fields describe the untrained network on the same held-out images.
    """
    activations = tuple(activations or nn.activations.NAMES)
    inits = tuple(inits or nn.init.NAMES)
    runs = []
    for act in activations:
        for ini in inits:
            row = {"activation": act, "init": ini}
            try:
                r = train_model(data, activation=act, init=ini, keep_model=True, **kwargs)
            except FloatingPointError as exc:
                row.update(train_acc=None, val_acc=None, val_perturbed_acc=None, frac_dead=None,
                           frac_saturated=None, last_hidden_std=None, error=str(exc))
            else:
                f = r["final"]
                row.update(train_acc=f["train_clean_acc"], val_acc=f["val_acc"],
                           val_perturbed_acc=f["val_perturbed_acc"], **r["summary"], seconds=f["seconds"])
                # The trained network is not needed any more: free it before building the fresh one, and
                # both (weights and gradients each) before the next run trains (memory_estimate counts neither).
                sizes = r.pop("model").config["sizes"]
                fresh = nn.MLP(sizes, activation=act, init=ini, rng=r["config"]["seed"])
                x_val = r["inputs"](data.images[stratified_split(data.labels, r["config"]["val_fraction"],
                                                                 r["config"]["seed"])[1]])
                try:
                    at_init = _activation_summary(_stats_or_diverged(fresh, x_val, "at initialisation"))
                except FloatingPointError:
                    at_init = {"frac_dead": None, "frac_saturated": None, "last_hidden_std": float("inf")}
                row.update({f"init_{k}": v for k, v in at_init.items()})
                del r, fresh, x_val
            runs.append(row)
            if on_run is not None:
                on_run(row)
    config = {"activations": list(activations), "inits": list(inits),
              **{k: v for k, v in kwargs.items() if k != "on_epoch"}}
    return {"config": config, "runs": runs}
