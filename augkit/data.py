"""Datasets and a batch loader: fresh, reproducible variations every epoch.

- :class:`AugmentedDataset` wraps any indexable dataset; sample ``i`` in epoch
  ``e`` is augmented with the generator derived from ``(seed, e, i)``, so it
  looks the same whatever the worker count, order or process, and differs
  between epochs.
- :class:`ImageFolder` reads ``root/<class>/<file>`` lazily with Pillow
  (``cache=True`` keeps the decoded images in memory for later epochs).
- :class:`Loader` yields stacked NumPy batches, decoding and augmenting on
  threads, a whole batch per task, identically for any number of workers.

Examples
--------
>>> import augkit as A
>>> from augkit.data import AugmentedDataset, ImageFolder, Loader, sample_path
>>> faces = ImageFolder(sample_path("faces"), mode="L")
>>> train = AugmentedDataset(faces, A.Compose([A.Shift(), A.Tint()]), seed=0)
>>> loader = Loader(train, batch_size=32, seed=0)
>>> images, labels = next(iter(loader.epoch(0)))
>>> images.shape, labels.shape
((32, 25, 25), (32,))
"""
from __future__ import annotations

import itertools
import numbers
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ._batch import MixedSizes as _MixedSizes
from ._batch import SeedRows as _SeedRows
from .core import Transform as _Transform
from .io import IMAGE_EXTENSIONS, MODES, read_image, walk_folder

_TARGET_KEYS = ("image", "mask", "bboxes", "keypoints")
# A third seed word no sample index reaches, so that the shuffle stream of
# epoch e never coincides with the augmentation stream (seed, e, i) of a sample.
_SHUFFLE_WORD = 2**62 + 0x5EED


def _check_count(value, owner, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def sample_path(*parts) -> Path:
    """Path of the project's sample data: ``sample_path("images", "astronaut.png")``.

    Raises ``FileNotFoundError`` naming the path when the samples are not there
    (they ship inside the installed package and in the source checkout).

    Examples
    --------
    >>> from augkit.data import sample_path
    >>> sample_path("images", "astronaut.png").name
    'astronaut.png'
    """
    import augkit

    package = Path(augkit.__file__).resolve().parent
    # Installed (pip install .): the data ships inside the package as augkit/samples;
    # editable or source checkout: the repository's samples/ folder.
    for root in (package / "samples", package.parent / "samples"):
        path = root.joinpath(*parts)
        if path.exists():
            return path
    raise FileNotFoundError(f"augkit sample data {'/'.join(parts) or 'samples'} not found in {package / 'samples'} "
                            f"or {package.parent / 'samples'}; reinstall augkit (pip install .) from a source checkout")


class AugmentedDataset:
    """A dataset whose items are augmented afresh each epoch, reproducibly.

    Parameters
    ----------
    dataset : object with ``__len__`` and ``__getitem__``
        Items are an image array (or anything ``numpy.asarray`` turns into
        one, such as a PIL image), an ``(image, label)`` pair, or a dict with
        ``"image"`` and optional ``"mask"``, ``"bboxes"``, ``"keypoints"``
        (augmented together) and other fields (passed through unchanged).
    pipeline : augkit.Transform or None
        Usually a :class:`augkit.Compose`; None passes items through (for a
        validation set that should share the code path).
    seed : int
        Sample ``i`` of epoch ``e`` uses ``rng=(seed, e, i)``.

    Notes
    -----
    Works as a PyTorch ``Dataset`` by duck typing (no torch import). With
    PyTorch's worker processes, call :meth:`set_epoch` before each epoch as
    with ``DistributedSampler``; the result does not depend on the workers.

    Examples
    --------
    >>> import numpy as np, augkit as A
    >>> from augkit.data import AugmentedDataset
    >>> images = np.zeros((10, 8, 8, 3), np.uint8)
    >>> ds = AugmentedDataset(images, A.Compose([A.Tint(p=1.0)]), seed=1)
    >>> a = ds[3]; ds.set_epoch(1); b = ds[3]
    >>> a.shape, bool((a == b).all())
    ((8, 8, 3), False)
    """

    def __init__(self, dataset, pipeline, seed=0):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError("AugmentedDataset: dataset must have __len__ and __getitem__, "
                            f"got {type(dataset).__name__}")
        if pipeline is not None and not callable(pipeline):
            raise TypeError(f"AugmentedDataset: pipeline must be an augkit transform or None, got {pipeline!r}")
        self.dataset = dataset
        self.pipeline = pipeline
        self.seed = _check_count(seed, "AugmentedDataset", "seed", 0)
        self.epoch = 0

    def set_epoch(self, epoch):
        """Select the epoch whose variations ``__getitem__`` returns."""
        self.epoch = _check_count(epoch, "AugmentedDataset", "epoch", 0)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.get(index, self.epoch)

    def get(self, index, epoch):
        """Item ``index`` as augmented in ``epoch`` (does not change :attr:`epoch`)."""
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"AugmentedDataset: index must be an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"AugmentedDataset: index {index} out of range for {n} items")
        index = int(index) % n
        epoch = _check_count(epoch, "AugmentedDataset", "epoch", 0)
        return self._augment(self.dataset[index], (self.seed, epoch, index))

    def get_batch(self, indices, epoch):
        """``[self.get(i, epoch) for i in indices]``, with less overhead per item.

        Items of one shape go through one ``pipeline.batch`` call; for a flat
        pipeline their uniforms are drawn straight from the seeds ``(seed, epoch,
        i)`` in numba, otherwise the generators of ``(seed, epoch, i)`` are built
        together (see :mod:`augkit._seeds`): the same draws as
        ``rng=(seed, epoch, i)`` either way. This is what :class:`Loader` calls.
        """
        n = len(self)
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise TypeError(f"AugmentedDataset: indices must be a sequence of ints, got {indices!r}")
        if idx.size and not (-n <= int(idx.min()) and int(idx.max()) < n):
            bad = next(int(i) for i in idx if not -n <= i < n)
            raise IndexError(f"AugmentedDataset: index {bad} out of range for {n} items")
        idx = (idx.astype(np.int64) % n).tolist() if idx.size else []
        epoch = _check_count(epoch, "AugmentedDataset", "epoch", 0)
        if type(self).get is not AugmentedDataset.get:  # a subclass's own get() has the last word
            return [self.get(i, epoch) for i in idx]
        items = [self.dataset[i] for i in idx]
        if self.pipeline is None:
            return items
        if isinstance(self.pipeline, _Transform):
            seeds = _SeedRows((self.seed, epoch), idx)
            images = self._stackable(items)
            if images is not None:
                try:
                    out = self.pipeline.batch(images, rng=seeds)["image"]
                except _MixedSizes:
                    pass
                else:
                    return [(out[k], it[1]) for k, it in enumerate(items)] if isinstance(items[0], tuple) \
                        else list(out)
            rngs = seeds.generators()
        else:  # any other callable sees the documented tuple
            rngs = [(self.seed, epoch, i) for i in idx]
        return [self._augment(item, rng) for item, rng in zip(items, rngs)]

    def _stackable(self, items):
        """Plain images or ``(image, label)`` pairs of one shape, stacked for one ``pipeline.batch`` call.

        ``batch`` with one Generator per sample gives exactly what the calls one
        by one give (tested); None when the items do not fit that (dicts, mixed
        shapes, invalid images -- those get the per-item path and its errors).
        """
        cls = type(self.pipeline)
        if len(items) < 2 or cls.__call__ is not _Transform.__call__ or cls.batch is not _Transform.batch:
            return None
        pairs = isinstance(items[0], tuple)
        images = [it[0] if pairs else it for it in items]
        first = images[0]
        if not (isinstance(first, np.ndarray) and first.dtype in (np.uint8, np.float32) and first.ndim in (2, 3)
                and first.size):
            return None
        for it, im in zip(items, images):
            if (isinstance(it, tuple) != pairs or (pairs and len(it) != 2) or not isinstance(im, np.ndarray)
                    or im.shape != first.shape or im.dtype != first.dtype):
                return None
        return np.stack(images)

    def _augment(self, item, rng):
        if self.pipeline is None:
            return item
        if isinstance(item, dict):
            if "image" not in item:
                raise ValueError(f"AugmentedDataset: dict items need an 'image' key, got keys {sorted(item)}")
            targets = {k: item[k] for k in _TARGET_KEYS if item.get(k) is not None}
            targets["image"] = np.asarray(targets["image"])
            out = self.pipeline(**targets, rng=rng)
            return {**item, **out}
        if isinstance(item, tuple) and len(item) == 2:
            image, label = item
            return self.pipeline(image=np.asarray(image), rng=rng)["image"], label
        if isinstance(item, (tuple, list)):
            raise ValueError("AugmentedDataset: items must be an image, an (image, label) pair or a dict, "
                             f"got a {type(item).__name__} of length {len(item)}")
        return self.pipeline(image=np.asarray(item), rng=rng)["image"]

    def __repr__(self):
        return f"AugmentedDataset({len(self)} items, seed={self.seed}, epoch={self.epoch}, pipeline={self.pipeline!r})"


class ImageFolder:
    """Images stored as ``root/<class>/.../<file>``, loaded lazily with Pillow.

    Parameters
    ----------
    root : str or Path
    extensions : tuple of str
        File suffixes counted as images (case-insensitive).
    mode : {"RGB", "L", "RGBA", None}
        Conversion applied on read (see :func:`augkit.io.read_image`); EXIF
        orientation is always applied.
    cache : bool
        Keep every decoded image in memory after its first read, so that
        later epochs skip decoding (for a folder that fits in memory; a 25x25
        PNG costs ~150 us to decode, ~2 us to copy from the cache). Items are the same
        as without the cache: each read returns a fresh, writable copy, so
        a caller that changes it cannot change the cache. Files are read
        the first time an item is asked for, not at construction; a file
        that fails to read is not cached and fails again next time.

    Attributes
    ----------
    classes : list of str
        Sorted class folder names; the label of ``classes[k]`` is ``k``.
    class_to_idx : dict
    samples : list of (Path, int)
        Every image and its label, sorted by class then path.
    targets : list of int

    Examples
    --------
    >>> from augkit.data import ImageFolder, sample_path
    >>> faces = ImageFolder(sample_path("faces"), mode="L")
    >>> faces.classes, len(faces)
    (['face', 'not_face'], 200)
    >>> image, label = faces[0]
    >>> image.shape, label
    ((25, 25), 0)
    >>> cached = ImageFolder(sample_path("faces"), mode="L", cache=True)
    >>> bool((cached[0][0] == image).all())
    True
    """

    def __init__(self, root, extensions=IMAGE_EXTENSIONS, mode="RGB", cache=False):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: root {str(root)!r} is not a folder")
        if mode not in MODES:
            raise ValueError(f"ImageFolder: mode must be one of 'RGB', 'L', 'RGBA' or None, got {mode!r}")
        if (not isinstance(extensions, (tuple, list, set, frozenset)) or not extensions
                or not all(isinstance(e, str) for e in extensions)):
            raise ValueError(f"ImageFolder: extensions must be a non-empty tuple of suffixes such as ('.png',), "
                             f"got {extensions!r}")
        self.extensions = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
        if not isinstance(cache, bool):
            raise ValueError(f"ImageFolder: cache must be True or False, got {cache!r}")
        self.mode = mode
        self.cache = cache
        self._decoded = {}
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not self.classes:
            raise ValueError(f"ImageFolder: {str(root)!r} has no class sub-folders (expected root/<class>/<image>)")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = []
        for name in self.classes:
            for path in sorted(_walk(self.root / name)):
                if path.suffix.lower() in self.extensions:
                    self.samples.append((path, self.class_to_idx[name]))
        if not self.samples:
            raise ValueError(f"ImageFolder: no files with extensions {', '.join(self.extensions)} under {str(root)!r}")
        self.targets = [label for _, label in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        n = len(self.samples)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"ImageFolder: index must be an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"ImageFolder: index {index} out of range for {n} images (allowed: {-n}..{n - 1})")
        path, label = self.samples[int(index)]
        if self.cache:
            # Keyed by what is read, so that changing mode later reads afresh.
            key = (path, self.mode)
            image = self._decoded.get(key)
            if image is None:
                image = self._decoded[key] = self._read(path)
            return image.copy(), label
        return self._read(path), label

    def _read(self, path):
        try:
            return read_image(path, self.mode)
        except Exception as exc:
            raise OSError(f"ImageFolder: cannot read {path}: {exc}") from exc

    def __repr__(self):
        cache = ", cache=True" if self.cache else ""
        return (f"ImageFolder({str(self.root)!r}, {len(self)} images, classes={self.classes}, "
                f"mode={self.mode!r}{cache})")


def _walk(folder):
    for dirpath, filenames in walk_folder(folder):
        for name in filenames:
            yield Path(dirpath) / name


def collate(items):
    """Stack a list of items into a batch.

    ``(image, label)`` pairs give ``(images, labels)``; arrays give one
    stacked array; dicts give a dict of stacked arrays (fields whose values
    differ in shape, such as boxes, stay lists).
    """
    if not len(items):
        raise ValueError("collate: items must be a non-empty list of items (a batch of at least one), got none")
    first = items[0]
    if isinstance(first, tuple) and len(first) == 2:
        return _stack([x for x, _ in items], "images"), np.asarray([y for _, y in items])
    if isinstance(first, dict):
        out = {}
        for key in first:
            values = [item[key] for item in items]
            arrays = [np.asarray(v) for v in values]
            same = all(a.shape == arrays[0].shape for a in arrays)
            out[key] = np.stack(arrays) if same and arrays[0].dtype != object else values
        return out
    return _stack(items, "images")


def _stack(arrays, what):
    # Copied straight into one preallocated array (~2x cheaper than a list of
    # arrays and np.stack for small images); mixed dtypes go to np.stack, which
    # promotes them.
    first = np.asarray(arrays[0])
    out = np.empty((len(arrays),) + first.shape, first.dtype)
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.shape != first.shape:
            if a.shape[2:] != first.shape[2:] or a.ndim != first.ndim:  # channels differ: a crop cannot help
                advice = ("read every image with one layout (ImageFolder(..., mode=\"RGB\") or mode=\"L\"; "
                          "read_image(path, mode=\"RGB\")), or convert them to one channel count")
            else:
                advice = "add a RandomCrop or CenterCrop to the pipeline"
            raise ValueError(f"Loader: {what} in a batch must share one shape to be stacked, got {first.shape} "
                             f"and {a.shape} (item {i} of the batch); {advice}")
        if a.dtype != first.dtype:
            return np.stack([np.asarray(x) for x in arrays])
        out[i] = a
    return out


class Loader:
    """Stacked NumPy batches from a dataset, decoded and augmented on threads.

    Parameters
    ----------
    dataset : object with ``__len__`` and ``__getitem__``
        An :class:`AugmentedDataset` (its epoch is set for you), an
        :class:`ImageFolder`, or any indexable of arrays / pairs / dicts.
    batch_size : int
    shuffle : bool
        Order of epoch ``e`` is a permutation drawn from ``(seed, e)``.
    seed : int
    drop_last : bool
        Drop the last, smaller batch.
    workers : int
        Threads that load and augment items concurrently (0: in the calling
        thread). Batches are identical for every value.
    prefetch : int
        Batches loaded ahead of the consumer when ``workers > 0`` (at least
        ``workers``: each thread loads and stacks whole batches).

    Notes
    -----
    ``loader.epoch(e)`` (or ``loader(e)``) iterates epoch ``e``; plain
    iteration runs epochs 0, 1, 2, ... in turn, so a loader can be passed to a
    trainer either as an iterable or as a callable ``epoch -> iterable``. A
    consumer that stops early (``break``, an exception) shuts the threads
    down; call ``.close()`` on the iterator to do so explicitly. Iterate one
    epoch at a time: epochs share the dataset's ``set_epoch``.

    Examples
    --------
    >>> import numpy as np
    >>> from augkit.data import Loader
    >>> data = [(np.full((4, 4), i, np.uint8), i % 2) for i in range(10)]
    >>> loader = Loader(data, batch_size=4, seed=0, workers=2)
    >>> len(loader), [y.tolist() for _, y in loader.epoch(0)] == [y.tolist() for _, y in loader.epoch(0)]
    (3, True)
    """

    def __init__(self, dataset, batch_size, shuffle=True, seed=0, drop_last=False, workers=0, prefetch=2):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"Loader: dataset must have __len__ and __getitem__, got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = _check_count(batch_size, "Loader", "batch_size", 1)
        if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
            raise ValueError(f"Loader: shuffle and drop_last must be True or False, got {shuffle!r}, {drop_last!r}")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = _check_count(seed, "Loader", "seed", 0)
        self.workers = _check_count(workers, "Loader", "workers", 0)
        self.prefetch = _check_count(prefetch, "Loader", "prefetch", 1)
        self.next_epoch = 0

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def order(self, epoch):
        """The sample indices of ``epoch``, in the order batches take them."""
        epoch = _check_count(epoch, "Loader", "epoch", 0)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng((self.seed, epoch, _SHUFFLE_WORD)).permutation(n)

    def __call__(self, epoch):
        return self.epoch(epoch)

    def __iter__(self):
        epoch = self.next_epoch
        self.next_epoch += 1
        return self.epoch(epoch)

    def epoch(self, epoch):
        """An iterator over the batches of ``epoch``."""
        epoch = self._begin(epoch)
        if self.workers == 0:
            batches, load = self._plan(epoch)
            return map(load, batches)
        return self._threaded(epoch)

    def session(self):
        """A context manager giving a callable ``epoch -> batches`` that keeps its threads between epochs.

        Same batches as :meth:`epoch`; with ``workers > 0`` one thread pool
        serves every epoch. When the loader reads items with their epoch
        pinned (an :class:`AugmentedDataset`, or a dataset with
        ``get(index, epoch)``), or the dataset has no ``set_epoch``, once the
        last batches of epoch ``e`` are queued it starts loading the first
        batches of ``e + 1`` (used if ``e + 1`` is asked for next, dropped
        otherwise). Short epochs then do not wait for a fresh pool and a first
        batch each time. A dataset whose items follow ``set_epoch`` alone (a
        wrapper forwarding it, say) is not read ahead: its epoch ``e + 1``
        starts when asked for, after ``set_epoch(e + 1)``. Leaving the
        ``with`` block shuts the threads down.

        >>> import numpy as np
        >>> data = [(np.full((2, 2), i, np.uint8), i) for i in range(6)]
        >>> loader = Loader(data, batch_size=4, seed=0, workers=1)
        >>> with loader.session() as epochs:
        ...     got = [[y.tolist() for _, y in epochs(e)] for e in range(2)]
        >>> got == [[y.tolist() for _, y in loader.epoch(e)] for e in range(2)]
        True
        """
        return _Session(self)

    def _begin(self, epoch):
        """Check ``epoch`` and tell the dataset (``set_epoch``), as every epoch starts."""
        epoch = _check_count(epoch, "Loader", "epoch", 0)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        return epoch

    def _plan(self, epoch):
        order = self.order(epoch)
        stop = len(self) * self.batch_size
        batches = [order[i:min(i + self.batch_size, stop)] for i in range(0, stop, self.batch_size)]
        return batches, self._batch_loader(epoch)

    def _epoch_pinned(self):
        """Whether items are read with their epoch given per call (not through ``set_epoch``)."""
        dataset = self.dataset
        return isinstance(dataset, AugmentedDataset) or callable(getattr(dataset, "get", None))

    def _batch_loader(self, epoch):
        # Items are read with this epoch pinned (AugmentedDataset.get), so two epoch
        # iterators alive at once, or a set_epoch elsewhere, cannot mix epochs.
        dataset = self.dataset
        if isinstance(dataset, AugmentedDataset):
            return lambda idx: collate(dataset.get_batch(idx, epoch))
        fetch = (lambda i: dataset.get(i, epoch)) if self._epoch_pinned() else dataset.__getitem__
        return lambda idx: collate([fetch(i) for i in idx.tolist()])

    def _threaded(self, epoch):
        # A session of one epoch: its pool lives as long as this iterator.
        session = _Session(self, lookahead=False)
        try:
            yield from session._run(epoch)
        finally:
            session.close()

    def __repr__(self):
        return (f"Loader({len(self.dataset)} items, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"seed={self.seed}, drop_last={self.drop_last}, workers={self.workers})")


class _Session:
    """:meth:`Loader.session`: one thread pool for many epochs, the next epoch's first batches early."""

    def __init__(self, loader, lookahead=True):
        self.loader = loader
        # Loading epoch e + 1 early is right only when its items do not depend on a
        # set_epoch(e + 1) that has not happened yet (it happens when e + 1 is asked for).
        self.lookahead = lookahead and (loader._epoch_pinned() or not hasattr(loader.dataset, "set_epoch"))
        self.pool = None
        self.ahead = None       # (epoch, pending futures, remaining batches, load)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __call__(self, epoch):
        if self.loader.workers == 0:
            return self.loader.epoch(epoch)
        return self._run(self.loader._begin(epoch))

    def _start(self, epoch):
        # One task per batch, not per item: a future costs ~10-20 us of Python,
        # as much as augmenting a small image, and a batch in one thread keeps
        # its items together. Batches are independent, so any thread count
        # gives the same batches.
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.loader.workers, thread_name_prefix="augkit-loader")
        batches, load = self.loader._plan(epoch)
        todo = iter(batches)
        depth = max(self.loader.prefetch, self.loader.workers)
        pending = deque(self.pool.submit(load, idx) for idx in itertools.islice(todo, depth))
        return pending, todo, load

    def _drop_ahead(self):
        if self.ahead is not None:
            for future in self.ahead[1]:
                future.cancel()
            self.ahead = None

    def _run(self, epoch):
        if self.ahead is not None and self.ahead[0] == epoch:
            _, pending, todo, load = self.ahead
            self.ahead = None
        else:
            self._drop_ahead()
            pending, todo, load = self._start(epoch)
        try:
            while pending:
                future = pending.popleft()
                idx = next(todo, None)
                if idx is not None:
                    pending.append(self.pool.submit(load, idx))
                elif self.lookahead and self.ahead is None:
                    # Everything of this epoch is queued: start on the next one.
                    self.ahead = (epoch + 1, *self._start(epoch + 1))
                yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self):
        """Drop what was loaded ahead and shut the threads down (waiting for running tasks)."""
        self._drop_ahead()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
