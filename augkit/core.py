"""The base class every transform and every composition shares.

A transform holds settings (validated in ``__init__``) and draws random
values in :meth:`Transform.sample_params`; what a sampled transform does is
described by :meth:`Transform.ops` as primitive operations (see
:mod:`augkit.plan`), so that a pipeline can fuse them. The call convention,
randomness, recording, replay and batches live here, once, for all of them.
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

from . import _program
from . import bbox as _bbox
from . import plan as _plan
from ._validate import check_image, check_mask, check_p, read_only

REGISTRY: dict[str, type] = {}
# Modules whose transforms check settings assigned after construction (see Transform._checked_setting).
_CHECKED_MODULES = ("augkit.transforms", "augkit.compose")
_U8 = np.dtype(np.uint8)
_CACHES = ("_programs", "_fast", "_cfg")   # per-process caches kept in a transform's __dict__
_GENERATOR = np.random.Generator

# Bumped whenever a public attribute of any transform is set: compiled forms of pipelines
# (augkit._program) remember the value they were built at and are rebuilt when it moved.
SETTINGS_VERSION = [0]


_SEEDS = None


def _fast_seeds():
    """:mod:`augkit._seeds`, imported on first use (it imports numba; ``import augkit`` must not)."""
    global _SEEDS
    if _SEEDS is None:
        from . import _seeds
        _SEEDS = _seeds
    return _SEEDS


def plain_seed_sequence(rng):
    """True for a non-empty tuple or list of non-negative Python ints (a valid seed, checked fast)."""
    return (type(rng) is tuple or type(rng) is list) and bool(rng) and all(type(v) is int and v >= 0 for v in rng)


def resolve_rng(rng, fallback=None):
    """A ``numpy.random.Generator`` from ``rng``.

    ``rng`` may be a Generator (used as is), an int or a sequence of ints such
    as ``(seed, epoch, index)`` (a fresh generator seeded from exactly those
    numbers, so the same value always gives the same draws), or ``None`` (the
    ``fallback`` generator).
    """
    if rng is None:
        return fallback
    if isinstance(rng, np.random.Generator):
        return rng
    if plain_seed_sequence(rng):
        # The common case, (seed, epoch, index) of plain ints, without the slower ABC checks,
        # seeded by augkit._seeds (the same draws as numpy's SeedSequence, a third of the cost).
        return _fast_seeds().generator(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative int, a sequence of them or a Generator, got {rng}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, (list, tuple, np.ndarray)):
        seq = list(np.asarray(rng).ravel()) if isinstance(rng, np.ndarray) else list(rng)
        if not seq or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0 for v in seq):
            raise ValueError("rng must be a numpy.random.Generator, a non-negative int or a non-empty sequence "
                             f"of non-negative ints such as (seed, epoch, index), got {rng!r}")
        return np.random.default_rng([int(v) for v in seq])
    raise TypeError("rng must be a numpy.random.Generator, a non-negative int or a sequence of non-negative "
                    f"ints, got {type(rng).__name__}")


def _seed_tuple(rng):
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return (int(rng),)
    if isinstance(rng, (list, tuple)):
        # Item by item: np.asarray would turn (0, 2**64 - 1) into float64, 2**64 - 1 into 2**64.
        return tuple(int(v) for v in rng)
    if isinstance(rng, np.ndarray):
        return tuple(int(v) for v in rng.ravel())
    return None


def _tracked_init(init):
    """``init`` counting how deep in construction an instance is: ``_init_depth`` is 0 once the
    outermost constructor has returned (settings assigned from then on are checked)."""
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        state = self.__dict__
        depth = state.get("_init_depth", 0)
        state["_init_depth"] = depth + 1
        try:
            init(self, *args, **kwargs)
        finally:
            state["_init_depth"] = depth
    return __init__


class Transform:
    """Base class: settings, sampling, primitive ops, and the shared call convention.

    Subclasses set ``default_p``/``deterministic`` and implement
    ``sample_params(rng, shape)``, ``ops(params, shape)`` and, when the size
    changes, ``output_shape(params, shape)``. ``shape`` is always ``(H, W, C)``.
    """

    deterministic = False
    bbox_format = "pascal_voc"
    min_visibility = 0.0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls
        if "__init__" in cls.__dict__:
            cls.__init__ = _tracked_init(cls.__dict__["__init__"])

    def __init__(self, p=0.5):
        self.p = check_p(p, type(self).__name__)
        self._stream = None

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        if self.__dict__.get("_init_depth") == 0 and type(self).__module__ in _CHECKED_MODULES:
            value = self._checked_setting(name, value)
        object.__setattr__(self, name, value)
        if name == "seed":
            object.__setattr__(self, "_stream", None)   # the own stream restarts from the new seed
        SETTINGS_VERSION[0] += 1

    def _settings(self):
        """The constructor arguments as live values (what :meth:`_checked_setting` rebuilds from)."""
        return self.get_config()

    def _checked_setting(self, name, value):
        """``value`` for the setting ``name`` of a built-in after its constructor's checks.

        Setting an attribute of a built-in transform after construction runs the
        same checks the constructor does (with all the other settings as they
        are), so ``t.p = 2`` fails at once with the constructor's message rather
        than at some later call; attributes that are not constructor arguments
        are set as they are.
        """
        settings = self._settings()
        if name not in settings:
            # p is every transform's, even where the constructor takes none (a crop's: OneOf weighs by it).
            return check_p(value, type(self).__name__) if name == "p" else value
        settings[name] = value
        return type(self)(**settings).__dict__[name]

    def __getstate__(self):
        # Compiled forms and cached settings are rebuilt on first use. Their stamps count
        # SETTINGS_VERSION in this process; in another (an unpickled copy) a stale one could
        # match by chance and run settings the transform no longer has.
        return {k: v for k, v in self.__dict__.items() if k not in _CACHES}

    # ------------------------------------------------------- per transform
    def sample_params(self, rng, shape):
        """Draw this transform's random values for an input of ``shape``; returns a JSON-ready dict."""
        return {}

    def ops(self, params, shape):  # pragma: no cover - abstract hook; compositions override _sample instead
        raise NotImplementedError(f"{type(self).__name__} must define ops(params, shape) -> primitive ops")

    def output_shape(self, params, shape):
        return shape

    def check_params(self, params, shape):
        """Raise ``ValueError`` when recorded ``params`` cannot be replayed on ``shape``."""
        if not isinstance(params, dict):
            raise ValueError(f"{type(self).__name__}: recorded params must be a dict, got {params!r}")

    def get_config(self) -> dict:
        """The constructor arguments, as plain JSON-ready values."""
        return {} if self.deterministic else {"p": self.p}

    # ------------------------------------------------------- sampling walk
    def _sample(self, rng, shape, steps, force=False):
        """Append ``(transform, params, shape)`` for what runs; return (record, new shape)."""
        if not force and not self.deterministic:
            p = self.p
            if p < 1.0 and (p == 0.0 or rng.random() >= p):
                return None, shape
        params = self.sample_params(rng, shape)
        steps.append((self, params, shape))
        return params, self.output_shape(params, shape)

    def _replay(self, record, shape, steps):
        if record is None:
            return shape
        self.check_params(record, shape)
        steps.append((self, record, shape))
        return self.output_shape(record, shape)

    # ------------------------------------------------------- deterministic application
    def apply(self, image, params):
        """Apply with recorded ``params`` to an image (same dtype and layout out)."""
        img3 = check_image(image)
        self.check_params(params, img3.shape)
        out = _plan.run_ops(self.ops(params, img3.shape), img3, owner=type(self).__name__)
        return out.reshape(out.shape[:2]) if image.ndim == 2 else out

    def apply_to_mask(self, mask, params, image_shape):
        """Apply the geometric part of ``params`` to a mask (nearest, ``fill_mask``)."""
        mask = check_mask(mask, image_shape[:2])
        return _plan.run_ops_mask(self.ops(params, tuple(image_shape)), mask, owner=type(self).__name__)

    def apply_to_bboxes(self, bboxes, params, image_shape):
        """Map pascal_voc boxes ``(M, 4 + k)`` through ``params``; clipped, empty ones dropped."""
        boxes = _bbox.to_pascal(bboxes, "pascal_voc", image_shape[0], image_shape[1])
        return _bbox.boxes_through(self.ops(params, tuple(image_shape)), boxes)[0]

    def apply_to_keypoints(self, keypoints, params, image_shape):
        """Map keypoints ``(M, 2 + k)`` through ``params``; those leaving the image are dropped."""
        points = _bbox.check_keypoints(keypoints, image_shape[0], image_shape[1])
        return _bbox.keypoints_through(self.ops(params, tuple(image_shape)), points)

    # ------------------------------------------------------- calling convention
    def _own_stream(self):
        if self._stream is None:
            self._stream = np.random.default_rng(getattr(self, "seed", None))
        return self._stream

    def _uniforms(self, rng, prog):
        """The block of uniforms one call of the flat program ``prog`` draws: from ``rng``, or
        the own stream. Plain seed sequences such as ``(seed, epoch, index)`` are drawn straight
        from the seeds (the numbers ``resolve_rng(rng)`` would give), without a Generator."""
        if rng is None:
            return prog.uniforms(self._own_stream())
        if type(rng) is _GENERATOR:
            return prog.uniforms(rng)
        if plain_seed_sequence(rng):
            u = _fast_seeds().seeded_uniforms(rng, prog.k)
            if u is not None:
                return u
        return prog.uniforms(resolve_rng(rng))

    def __call__(self, *, image, mask=None, bboxes=None, keypoints=None, rng=None, record=False):
        """Augment one image (and its mask, boxes, keypoints); returns a dict with the same keys.

        ``rng`` is a Generator, an int or a sequence of ints such as ``(seed, epoch,
        index)``; the same value always gives the same output. ``record=True``
        adds ``"params"``, which :meth:`replay` applies again exactly.
        """
        fast = self.__dict__.get("_fast")
        if (fast is not None and type(image) is np.ndarray and image.shape[1:] == fast[1]
                and image.shape[0] and image.dtype == _U8 and image.flags.c_contiguous
                and fast[0] == SETTINGS_VERSION[0] and mask is None and bboxes is None
                and keypoints is None and not record):
            # The common call, checked in a few comparisons: a uint8 image of the width and
            # channels this flat pipeline last ran on, and nothing else but an rng.
            # Everything else takes the checks below.
            prog = fast[2]
            src = read_only(image)
            if prog.lone is not None and prog.lone_fits(image.shape[0], image.shape[1]):
                # A lone flip or crop: its draws (a flip's one as a float), then a copy or one
                # plain compiled call.
                if (rng is None or type(rng) is _GENERATOR) and prog.k == 1:
                    u = (self._own_stream() if rng is None else rng).random()
                else:
                    u = self._uniforms(rng, prog)
                return {"image": prog.run_lone(src, u)}
            out, meta, prow = prog.run_u8(src, self._uniforms(rng, prog), False)
            if out is not None:
                return {"image": out}
            return self._finish(prog, meta, prow, image, src, None, None, None, False)
        img3 = check_image(image)
        prog = _program.program_for(self, img3.shape[2], img3.dtype)
        if prog is None:
            gen = resolve_rng(rng, None) if rng is not None else self._own_stream()
            steps = []
            rec, _ = self._sample(gen, img3.shape, steps)
            out = self._execute(steps, image, img3, mask, bboxes, keypoints)
            if record:
                out["params"] = rec
            return out
        # A flat pipeline of built-ins: one block of uniforms, then compiled code.
        u = self._uniforms(rng, prog)
        if mask is None and bboxes is None and keypoints is None and img3.dtype == np.uint8:
            out_img, meta, prow = prog.run_u8(img3, u, record)
            if out_img is not None:
                # Later calls like this one take the short way in.
                self.__dict__["_fast"] = (SETTINGS_VERSION[0], img3.shape[1:], prog)
                result = {"image": out_img if image.ndim == 3 else out_img.reshape(out_img.shape[:2])}
                if record:
                    result["params"] = prog.records(meta, prow, img3.shape)[0]
                return result
        else:
            meta, prow = prog.sample(u, img3.shape)
        return self._finish(prog, meta, prow, image, img3, mask, bboxes, keypoints, record)

    def _finish(self, prog, meta, prow, image, img3, mask, bboxes, keypoints, record):
        """A flat pipeline's sampled parameters (``meta``, ``prow``) rendered by the general path."""
        if meta[0] == _program.TOO_SMALL:
            prog.raise_too_small(meta, prow, img3.shape)
        rec, steps = prog.records(meta, prow, img3.shape)
        out = self._execute(steps, image, img3, mask, bboxes, keypoints)
        if record:
            out["params"] = rec
        return out

    def replay(self, params, *, image, mask=None, bboxes=None, keypoints=None):
        """Apply recorded ``params`` (from ``record=True``) again, to this or another same-size image."""
        img3 = check_image(image)
        steps = []
        self._replay(params, img3.shape, steps)
        return self._execute(steps, image, img3, mask, bboxes, keypoints)

    def steps(self, params, shape):
        """The ``(transform, params)`` pairs that ``params`` applies, in order, for an input ``shape``."""
        shape = tuple(shape) if len(shape) == 3 else tuple(shape) + (1,)
        steps = []
        self._replay(params, shape, steps)
        return [(t, p) for t, p, _ in steps]

    def _execute(self, steps, image, img3, mask, bboxes, keypoints):
        owner = type(self).__name__
        ops = [op for t, p, s in steps for op in t.ops(p, s)]
        if mask is not None:
            mask = check_mask(mask, img3.shape[:2])
        out_img = _plan.run_ops(ops, img3, owner=owner)
        h, w = out_img.shape[:2]
        result = {"image": out_img.reshape(h, w) if image.ndim == 2 else out_img}
        if mask is not None:
            result["mask"] = _plan.run_ops_mask(ops, mask, owner=owner)
        if bboxes is not None:
            result["bboxes"] = self._boxes(ops, bboxes, img3.shape, (h, w))
        if keypoints is not None:
            points = _bbox.check_keypoints(keypoints, img3.shape[0], img3.shape[1])
            result["keypoints"] = _bbox.keypoints_through(ops, points)
        return result

    def _boxes(self, ops, bboxes, in_shape, out_hw):
        fmt = self.bbox_format
        boxes = _bbox.to_pascal(bboxes, fmt, in_shape[0], in_shape[1])
        before = _bbox.area(boxes)
        boxes, rows = _bbox.boxes_through(ops, boxes)
        if self.min_visibility > 0 and len(boxes):
            # A relative tolerance of 1e-9: areas recomputed after a move (x -> W - x, x + d) may
            # come out a few ulp smaller, and a box at the threshold (or wholly visible with
            # min_visibility=1) must stay.
            boxes = boxes[_bbox.area(boxes) * (1 + 1e-9) >= self.min_visibility * before[rows]]
        return _bbox.from_pascal(boxes, fmt, out_hw[0], out_hw[1])

    # ------------------------------------------------------- batches
    def batch(self, images, masks=None, rng=None, record=False):
        """Augment a stack ``(N, H, W[, C])``; every sample gets its own parameters.

        The result is exactly what N single calls give: sample ``i`` equals
        ``self(image=images[i], rng=(*s, i))`` when ``rng`` is an int or a
        sequence of ints ``s`` (an int counts as ``(s,)``) -- the path for
        datasets, where what sample ``i`` looks like must not depend on how
        samples are grouped; with a Generator or ``None`` (the pipeline's own
        stream) the samples draw from it in order, as
        ``[self(image=x, rng=gen) for x in images]`` would; a list of
        Generators gives sample ``i`` its own ``rng[i]``. All outputs must
        share one size. Small batches (under 1 MiB of output) render on the
        calling thread. Returns a dict with stacked ``"image"`` (and
        ``"mask"``, ``"params"``). Flat pipelines of built-ins render in one
        compiled kernel that runs samples in parallel on
        ``numba.get_num_threads()`` threads (set it with ``numba.set_num_threads``
        or the ``NUMBA_NUM_THREADS`` variable); on uint8 stacks without masks
        the same kernel plans each sample too. Masks, and samples that one
        kernel pass cannot hold (clashing fills, noise-filled boxes), take the
        general path; a batch that finds the parallel kernel busy in another
        thread renders on its own thread.
        """
        from ._batch import run_batch
        return run_batch(self, images, masks, rng, record)

    # ------------------------------------------------------- dunder
    def to_dict(self) -> dict:
        """A JSON-ready description; :func:`augkit.from_dict` rebuilds the transform."""
        return {"name": type(self).__name__, **self.get_config()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = object.__hash__


Transform.__init__ = _tracked_init(Transform.__init__)
