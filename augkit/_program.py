"""Flat pipelines as programs for :mod:`augkit._kernels`, and the parameters of built-in transforms.

A *flat* pipeline is one built-in transform, or a :class:`~augkit.Compose`
whose children are all built-in transforms. For an input with ``channels``
channels of a given dtype it becomes a :class:`Program`: a few arrays that
the numba code reads to sample every parameter from one block of uniforms,
fold the steps into one kernel call and render, with a single crossing from
Python into compiled code per call (or per batch). Everything else (nested
compositions, OneOf/SomeOf, user transforms) takes the general path, where
each built-in still samples through the same numba function
(:func:`sample_builtin`), so a transform's parameters are the same numbers on
every path.
"""
from __future__ import annotations

import threading

import numpy as np

from . import core as _core
from . import plan as _plan

# The numba module (augkit._kernels), imported on first use: ``import augkit`` compiles nothing.
fused = _plan.kernels


OK, FALLBACK, TOO_SMALL = 0, 1, 2   # as in augkit._kernels
HFLIP, VFLIP, CROP, CENTER, RCROP = range(5)   # kind codes there
ERASE = 7                            # BoxErase's kind code there
KIND, PROB, UOFF, FILL = 8, 9, 10, 11  # the program table's columns there
_EMPTY = np.zeros(0, np.float64)
_NOT_FLAT = object()


def _builtin_types():
    from . import transforms as T
    return (T.HorizontalFlip, T.VerticalFlip, T.Crop, T.CenterCrop, T.RandomCrop, T.Shift, T.Tint, T.BoxErase)


_BUILTINS = None


def is_builtin(t):
    """True for the built-in transform classes themselves (not subclasses, which may sample differently)."""
    global _BUILTINS
    if _BUILTINS is None:
        _BUILTINS = _builtin_types()
    return type(t) in _BUILTINS


def _flat(pipe):
    from .compose import Compose
    if is_builtin(pipe):
        return [pipe], -1.0
    if type(pipe) is Compose and all(is_builtin(t) for t in pipe.transforms):
        return list(pipe.transforms), float(pipe.p)
    return None


def program_for(pipe, channels, dtype):
    """The :class:`Program` of ``pipe`` for this many channels and dtype, or None when it is not flat.

    Built once per (channels, dtype) and kept on the transform; setting any
    transform's public attribute (``t.p = 0.2``) makes every pipeline rebuild
    its programs on its next call. Changes inside a container (appending to a
    Compose's list) are not seen: build a new pipeline for those.
    """
    cache = pipe.__dict__.get("_programs")
    version = _core.SETTINGS_VERSION[0]
    if cache is None or cache.get("version") != version:
        # First call, or some transform's settings were changed since: build afresh.
        cache = pipe.__dict__["_programs"] = {"version": version}
    key = (channels, dtype.char)
    prog = cache.get(key)
    if prog is None:
        flat = _flat(pipe)
        if flat is None:
            _check_fills(pipe, channels, dtype)
            prog = _NOT_FLAT
        else:
            prog = Program(flat[0], flat[1], channels, dtype)
        cache[key] = prog
    return None if prog is _NOT_FLAT else prog


def _check_fills(t, channels, dtype):
    """Check the fill of every built-in in ``t``'s tree against this image, as a
    :class:`Program` does for its own: a bad fill fails on every call of any
    pipeline, not only when the transform runs and uncovers something."""
    from .compose import _Container
    from .transforms import _Builtin
    if isinstance(t, _Builtin):
        _plan._fill_vector(t.program_fill, channels, dtype, type(t).__name__, "fill")
    if isinstance(t, _Container):   # not a user transform's own attribute of that name
        for child in t.transforms:
            if isinstance(child, _core.Transform):
                _check_fills(child, channels, dtype)


def _cfg_row(t):
    row = np.zeros(8, np.float64)
    values = t.program_cfg()
    row[:len(values)] = values
    return row


def _row_width(leaves, channels):
    width = max(3, 1 + 2 * channels)
    for t in leaves:
        if t.kind == ERASE:
            width = max(width, 3 + 4 * t.count[1])
    return width


# Each thread's workspace for single compiled calls (see Program.run_u8).
_LOCAL = threading.local()


class Program:
    """A flat pipeline as one table (a row per transform: settings, kind, probability, offset
    of its uniforms, fill colour) and the wrapping Compose's ``p``."""

    __slots__ = ("leaves", "top", "channels", "dtype", "tab", "k", "width", "maxb", "ws_layouts", "lone")

    def __init__(self, leaves, top, channels, dtype):
        self.leaves, self.top, self.channels, self.dtype = leaves, top, channels, np.dtype(dtype)
        self.tab = np.zeros((len(leaves), FILL + channels), np.float64)
        offset = 1 if top >= 0 else 0
        for i, t in enumerate(leaves):
            self.tab[i, :8] = _cfg_row(t)
            self.tab[i, KIND], self.tab[i, PROB], self.tab[i, UOFF] = t.kind, t.p, offset
            # Fills are checked here, for every transform, whether or not it will uncover anything.
            self.tab[i, FILL:] = _plan._fill_vector(t.program_fill, channels, self.dtype, type(t).__name__, "fill")
            offset += t.n_uniforms(channels)
        self.k = offset
        self.width = _row_width(leaves, channels)
        self.maxb = sum(t.count[1] for t in leaves if t.kind == ERASE)
        self.ws_layouts = {}   # input width -> (workspace bytes, where the params rows start)
        # A lone flip or crop of uint8 images: its kind, p and settings (see run_lone).
        self.lone = None
        if len(leaves) == 1 and top < 0 and leaves[0].kind <= RCROP and self.dtype == np.uint8:
            self.lone = (leaves[0].kind, float(self.tab[0, PROB]), [int(v) for v in self.tab[0, :4]])

    # -------------------------------------------------- single images
    def uniforms(self, gen):
        return gen.random(self.k) if self.k else _EMPTY

    def run_u8(self, img3, u, want_params):
        """Sample, plan and render a uint8 image in one compiled call: ``(output or None, meta,
        params rows)``; the output is None when the general path must take over (``meta`` says
        why), and meta and params are None unless it did or ``want_params``.

        Nothing is allocated but the output: the compiled call works in this thread's
        workspace, grown when an input needs more. When the workspace is read back (the
        parameters asked for, or handed to the general path), it is taken out while in use
        (a call that somehow re-enters on the same thread gets a fresh one).
        """
        w = img3.shape[1]
        layout = self.ws_layouts.get(w)
        if layout is None:
            at, _ = fused()._ws_layout(self.tab, self.width, w, self.channels)
            layout = self.ws_layouts[w] = (int(at[-1]), int(at[1]))   # the end; the params rows
        need, rows_at = layout
        ws = getattr(_LOCAL, "ws", None)
        if not want_params and ws is not None and ws.size >= need:
            # The common call reads nothing back, so the workspace stays in place; a hand-over
            # to the general path (an empty output) samples again below from the same uniforms.
            out = fused().run_u8(img3, self.tab, self.top, self.width, u, ws)
            if out.shape[0]:
                return out, None, None
        if ws is None or ws.size < need:
            ws = np.empty(max(need, 1 << 16), np.uint8)
        _LOCAL.ws = None
        try:
            out = fused().run_u8(img3, self.tab, self.top, self.width, u, ws)
            if out.shape[0] and not want_params:
                return out, None, None
            # The meta (first in the workspace) and the params rows, copied out before it goes back.
            meta = ws[:56].view(np.int64).copy()
            prow = ws[rows_at:rows_at + 8 * len(self.leaves) * self.width].view(np.float64).reshape(
                len(self.leaves), self.width).copy()
            return (out if out.shape[0] else None), meta, prow
        finally:
            _LOCAL.ws = ws

    def lone_fits(self, h, w):
        """True when :meth:`run_lone` renders this lone flip or crop for an ``h x w`` input: always
        for a flip; for a crop, when the crop lies inside (padding takes the general path)."""
        kind, _, cfg = self.lone
        if kind == CROP:
            return cfg[2] <= w and cfg[3] <= h
        return kind <= VFLIP or (cfg[0] <= h and cfg[1] <= w)

    def run_lone(self, img3, u):
        """A lone flip or crop of a uint8 image that :meth:`lone_fits`, from its uniforms ``u``
        (for a flip, its one draw may come as a float): the pixels :meth:`run_u8` gives for
        the same uniforms, sampled here as :func:`augkit._kernels.sample_leaf` does and
        rendered by :func:`augkit._kernels.lone_u8` in one plain call."""
        kind, p, cfg = self.lone
        h, w = img3.shape[0], img3.shape[1]
        if kind == CROP:
            x, y, oh, ow = cfg[0], cfg[1], cfg[3] - cfg[1], cfg[2] - cfg[0]
        elif kind == CENTER:
            oh, ow = cfg[0], cfg[1]
            x, y = (w - ow) // 2, (h - oh) // 2
        elif not (u if type(u) is float else u[0]) < p:
            return img3.copy()
        elif kind == RCROP:
            oh, ow = cfg[0], cfg[1]
            # floor(u * n), kept below n at the u -> 1 rounding edge, as sample_leaf draws it.
            x, y = min(int(u[1] * (w - ow + 1)), w - ow), min(int(u[2] * (h - oh + 1)), h - oh)
        else:
            x, y, oh, ow = 0, 0, h, w
        return fused().lone_u8(img3, kind, x, y, oh, ow)

    def sample(self, u, shape):
        """Sample only: (meta, params rows) with meta laid out as in :func:`augkit._kernels.plan_u8`."""
        meta = np.zeros((1, 7), np.int64)
        prow = np.empty((1, len(self.leaves), self.width), np.float64)
        fused().sample_batch(self.tab, self.top, u[None], prow, shape[0], shape[1], self.channels, meta)
        return meta[0], prow[0]

    # -------------------------------------------------- batches
    def uniform_rows(self, n, gen=None, gens=None):
        """``(n, k)`` uniforms: from ``gen`` in order, or from ``gens[i]`` for sample ``i``."""
        if gens is None:
            return gen.random((n, self.k))
        out = np.empty((n, self.k))
        for i, g in enumerate(gens):
            out[i] = g.random(self.k)
        return out

    def plan_render_batch(self, us, stack, out_hw, launch):
        """Plan every row of ``us`` and render each sample whose plan is ``OK`` and ``out_hw`` in
        size into a new stack, in one parallel kernel (``launch``, as :func:`augkit._batch._launch`);
        when that is busy, plan serially and render one image at a time. Returns
        ``(out, meta, prow, skipped)``: the samples not rendered (``skipped`` of them) are left
        for the caller."""
        n, h, w, c = stack.shape
        nb = max(self.maxb, 1)
        prow = np.empty((n, len(self.leaves), self.width), np.float64)
        geo = np.empty((n, 8), np.int64)
        add = np.empty((n, c), np.int64)
        lut = np.empty((n, c, 256), np.uint8)
        fill = np.empty((n, c), np.uint8)
        boxes = np.empty((n, nb, 4), np.int64)
        bcol = np.empty((n, nb, c), np.uint8)
        meta = np.empty((n, 7), np.int64)
        out = np.empty((n, *out_hw, c), np.uint8)
        k = fused()
        skipped = launch(k.plan_render_u8_batch, out, self.tab, self.top, us, stack, out, prow, geo, add, lut,
                         fill, boxes, bcol, meta)
        if skipped is None:
            k.plan_u8_batch(self.tab, self.top, us, prow, h, w, c, geo, add, lut, fill, boxes, bcol, meta)
            todo = np.flatnonzero((meta[:, 0] == OK) & (meta[:, 1] == out_hw[0]) & (meta[:, 2] == out_hw[1]))
            for i in todo:
                k._render_u8(stack[i], out[i], geo[i], meta[i, 3], add[i], lut[i], fill[i], boxes[i], meta[i, 4],
                             bcol[i], _plan.NO_SCRATCH)
            skipped = n - len(todo)
        return out, meta, prow, skipped

    def sample_batch(self, us, h, w):
        n = us.shape[0]
        meta = np.empty((n, 7), np.int64)
        prow = np.empty((n, len(self.leaves), self.width), np.float64)
        fused().sample_batch(self.tab, self.top, us, prow, h, w, self.channels, meta)
        return meta, prow

    # -------------------------------------------------- back to Python
    def records(self, meta, prow, shape):
        """The recorded params and the ``(transform, params, shape)`` steps of one sample."""
        steps = []
        if not meta[6]:
            return None, steps
        recs = []
        c = self.channels
        for t, row in zip(self.leaves, prow):
            if row[0] == 0.0:
                recs.append(None)
                continue
            params = t.params_from_row(row, c)
            steps.append((t, params, shape))
            shape = t.output_shape(params, shape)
            recs.append(params)
        return (recs if self.top >= 0 else recs[0]), steps

    def raise_too_small(self, meta, prow, shape):
        """Raise the failing crop's own error (``meta[5]`` says which transform)."""
        for t, row in zip(self.leaves[:meta[5]], prow):
            if row[0] != 0.0:
                shape = t.output_shape(t.params_from_row(row, self.channels), shape)
        self.leaves[meta[5]].check_fits(shape)
        raise AssertionError("a crop was reported too large but fits")  # pragma: no cover


def sample_builtin(t, rng, shape, force=False):
    """Parameters of built-in transform ``t`` for an input of ``shape`` (None when it does not apply).

    Draws ``t.n_uniforms(C)`` uniforms from ``rng`` whether or not it applies.
    """
    c = shape[2]
    k = t.n_uniforms(c)
    u = rng.random(k) if k else _EMPTY
    cached = t.__dict__.get("_cfg")
    version = _core.SETTINGS_VERSION[0]
    if cached is None or cached[0] != version:
        cached = t.__dict__["_cfg"] = (version, _cfg_row(t))
    cfg = cached[1]
    row = np.empty(_row_width([t], c), np.float64)
    status, _, _ = fused().sample_leaf(t.kind, float(t.p), cfg, force, u, row, shape[0], shape[1], c)
    if status == TOO_SMALL:
        t.check_fits(shape)
        raise AssertionError("a crop was reported too large but fits")  # pragma: no cover
    return t.params_from_row(row, c) if row[0] != 0.0 else None
