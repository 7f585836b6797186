"""Vectorised ``batch``: all N parameter sets drawn as arrays, all N plans built as arrays.

Used by :meth:`augkit.Transform.batch` when ``rng`` is a Generator or None
and the pipeline is a flat :class:`~augkit.Compose` of the built-in transforms
(or one such transform). It folds the sampled steps into per-sample kernel
arguments with NumPy array arithmetic instead of a Python loop per sample,
so a batch costs a handful of NumPy calls plus one parallel kernel.

It follows :mod:`augkit.plan` exactly (same axis maps, fills, colour maps and
boxes); samples it cannot express (two geometric steps whose uncovered areas
show different fill colours) are handed back to be rendered one by one from
their recorded params. Every sample's params are recorded in the same format
as a single call, and ``pipe.replay(params[i], image=images[i])`` reproduces
sample ``i`` exactly (tested in ``tests/test_batch_fast.py``).
"""
from __future__ import annotations

import math

import numpy as np

from . import plan as _plan
from .compose import Compose
from .transforms import BoxErase, CenterCrop, Crop, HorizontalFlip, RandomCrop, Shift, Tint, VerticalFlip

_SUPPORTED = (HorizontalFlip, VerticalFlip, Crop, CenterCrop, RandomCrop, Shift, Tint, BoxErase)


def supported(pipe):
    """The flat list of transforms when ``pipe`` can take the vectorised path, else None."""
    if type(pipe) in _SUPPORTED:
        items = [pipe]
    elif type(pipe) is Compose and pipe.p == 1.0 and all(type(t) in _SUPPORTED for t in pipe.transforms):
        items = list(pipe.transforms)
    else:
        return None
    for t in items:
        if isinstance(t, BoxErase) and t.fill == "random":
            return None
        # A crop that fires for some samples only gives mixed sizes mid-way: leave that to the loop.
        if isinstance(t, RandomCrop) and t.p not in (0.0, 1.0):
            return None
    return items


def _preimage(lo, hi, g_sign, g_off):
    """Where ``[lo, hi)`` of the previous coordinates comes from under g, per sample (array form
    of :func:`augkit.plan.map_interval` before clipping)."""
    plo = np.where(g_sign == 1, lo - g_off, g_off - hi + 1)
    phi = np.where(g_sign == 1, hi - g_off, g_off - lo + 1)
    return plo, phi


class _Axis:
    """Per-sample axis maps ``src = sign * dst + off`` valid on ``[lo, hi)``; ``size`` is shared."""

    def __init__(self, n, size):
        self.sign = np.ones(n, np.int64)
        self.off = np.zeros(n, np.int64)
        self.lo = np.zeros(n, np.int64)
        self.hi = np.full(n, size, np.int64)
        self.size = size

    def compose(self, g_sign, g_off, g_size, g_lo, g_hi):
        plo, phi = _preimage(self.lo, self.hi, g_sign, g_off)
        lo, hi = np.maximum(g_lo, plo), np.minimum(g_hi, phi)
        empty = hi <= lo
        self.off = self.sign * g_off + self.off
        self.sign = self.sign * g_sign
        self.lo, self.hi = np.where(empty, 0, lo), np.where(empty, 0, hi)
        self.size = g_size
        return plo, phi


def _geometry(t, params, applied, shape):
    """Per-sample axis maps (sign, off, size, lo, hi) of one geometric step; identity where not applied."""
    h, w = shape[0], shape[1]
    n = applied.shape[0]
    one = np.ones(n, np.int64)

    def ident(size):
        return [one, np.zeros(n, np.int64), size, np.zeros(n, np.int64), np.full(n, size, np.int64)]

    rows, cols = ident(h), ident(w)
    if isinstance(t, (HorizontalFlip, VerticalFlip)):
        axis, size = (cols, w) if isinstance(t, HorizontalFlip) else (rows, h)
        axis[0] = np.where(applied, -1, 1)
        axis[1] = np.where(applied, size - 1, 0)
        return rows, cols, None
    if isinstance(t, Shift):
        for axis, d, size in ((rows, params["dy"], h), (cols, params["dx"], w)):
            d = np.where(applied, d, 0)
            lo, hi = np.maximum(0, d), np.minimum(size, size + d)
            empty = hi <= lo
            axis[1], axis[3], axis[4] = -d, np.where(empty, 0, lo), np.where(empty, 0, hi)
        return rows, cols, (t.fill, t.fill_mask)
    # Crops: the same for every sample (Crop, CenterCrop) or a per-sample corner (RandomCrop).
    if isinstance(t, Crop):
        x0, y0 = np.full(n, t.x_min), np.full(n, t.y_min)
        out_h, out_w, pad = t.y_max - t.y_min, t.x_max - t.x_min, (0, 0, 0, 0)
    else:
        pad = t._padded(shape)
        out_h, out_w = t.height, t.width
        if isinstance(t, CenterCrop):
            ph, pw = h + pad[0] + pad[1], w + pad[2] + pad[3]
            x0, y0 = np.full(n, (pw - out_w) // 2), np.full(n, (ph - out_h) // 2)
        else:
            x0, y0 = params["x"], params["y"]
    top, _, left, _ = pad
    # Pad then crop folds into one map: output r reads padded row y0 + r, i.e. input row y0 + r - top.
    rows = [one, y0 - top, out_h, np.clip(top - y0, 0, out_h), np.clip(top + h - y0, 0, out_h)]
    cols = [one, x0 - left, out_w, np.clip(left - x0, 0, out_w), np.clip(left + w - x0, 0, out_w)]
    fill = (t.fill, t.fill_mask) if any(pad) else None
    return rows, cols, fill


def _sample(t, gen, n, shape):
    """Draw ``applied`` (n,) and the params arrays of one transform for n samples."""
    if t.deterministic or t.p == 1.0:
        applied = np.ones(n, bool)
    elif t.p == 0.0:
        applied = np.zeros(n, bool)
    else:
        applied = gen.random(n) < t.p
    h, w, c = shape
    if isinstance(t, RandomCrop):
        top, bottom, left, right = t._padded(shape)
        ph, pw = h + top + bottom, w + left + right
        u = gen.random((2, n))
        return applied, {"x": np.minimum((u[0] * (pw - t.width + 1)).astype(np.int64), pw - t.width),
                         "y": np.minimum((u[1] * (ph - t.height + 1)).astype(np.int64), ph - t.height)}
    if isinstance(t, Shift):
        (xlo, xhi), (ylo, yhi) = t.dx, t.dy
        if t.unit == "px":
            return applied, {"dx": gen.integers(xlo, xhi + 1, n), "dy": gen.integers(ylo, yhi + 1, n)}
        u = gen.random((2, n))
        return applied, {"dx": np.floor((xlo + u[0] * (xhi - xlo)) * w + 0.5).astype(np.int64),
                         "dy": np.floor((ylo + u[1] * (yhi - ylo)) * h + 0.5).astype(np.int64)}
    if isinstance(t, Tint):
        k = c if t.per_channel else 1
        lo, hi = t.shift
        offset = lo + gen.random((n, k)) * (hi - lo) if hi > lo else np.full((n, k), lo)
        slo, shi = t.scale
        scale = slo + gen.random((n, k)) * (shi - slo) if shi > slo else np.full((n, k), slo)
        return applied, {"offset": np.broadcast_to(offset, (n, c)), "scale": np.broadcast_to(scale, (n, c))}
    if isinstance(t, BoxErase):
        return applied, _sample_boxes(t, gen, n, h, w)
    return applied, {}


def _sample_boxes(t, gen, n, h, w):
    lo, hi = t.count
    counts = np.full(n, lo) if lo == hi else gen.integers(lo, hi + 1, n)
    slots = max(int(counts.max()), 0)
    (slo, shi), (rlo, rhi) = t.scale, t._log_ratio
    draws = gen.random((n, slots, 22))
    area = h * w * (slo + draws[..., 0:20:2] * (shi - slo))
    aspect = np.exp(rlo + draws[..., 1:20:2] * (rhi - rlo))
    # Python's round() (half to even) is what the single-call path uses; np.rint matches it.
    bh = np.rint(np.sqrt(area * aspect)).astype(np.int64)
    bw = np.rint(np.sqrt(area / aspect)).astype(np.int64)
    fits = (bh > 0) & (bh < h) & (bw > 0) & (bw < w)
    first = np.argmax(fits, axis=2)
    ok = fits.any(axis=2) & (np.arange(slots)[None, :] < counts[:, None])
    bh = np.take_along_axis(bh, first[..., None], 2)[..., 0]
    bw = np.take_along_axis(bw, first[..., None], 2)[..., 0]
    y = np.minimum((draws[..., 20] * (h - bh + 1)).astype(np.int64), h - bh)
    x = np.minimum((draws[..., 21] * (w - bw + 1)).astype(np.int64), w - bw)
    return {"boxes": np.stack([x, y, x + bw, y + bh], axis=-1), "ok": ok}


def _record(t, params, applied, i):
    if not applied[i]:
        return None
    if isinstance(t, RandomCrop):
        return {"x": int(params["x"][i]), "y": int(params["y"][i])}
    if isinstance(t, Shift):
        return {"dx": int(params["dx"][i]), "dy": int(params["dy"][i])}
    if isinstance(t, Tint):
        return {"offset": params["offset"][i].tolist(), "scale": params["scale"][i].tolist()}
    if isinstance(t, BoxErase):
        return {"boxes": params["boxes"][i][params["ok"][i]].tolist()}
    return {}


def _fill_rows(fill, n, c, dtype, owner):
    return np.broadcast_to(_plan._fill_vector(fill, c, np.dtype(dtype), owner, "fill"), (n, c))


class _Colour:
    """Per-sample uint8 colour maps (identity / saturating add / LUT) or float32 affine steps."""

    def __init__(self, n, c, dtype):
        self.n, self.c, self.u8 = n, c, dtype == np.uint8
        self.mode = np.zeros(n, np.int64)
        self.add = np.zeros((n, c), np.int64)
        self.lut = None
        self.steps = []

    def apply_tint(self, scale, offset, applied):
        if not self.u8:
            s = np.where(applied[:, None], scale, 1.0).astype(np.float32)
            o = np.where(applied[:, None], offset, 0.0).astype(np.float32)
            self.steps.append((s, o))
            return lambda v: (v * s.reshape(s.shape[:1] + (1,) * (v.ndim - 2) + s.shape[1:])
                              + o.reshape(o.shape[:1] + (1,) * (v.ndim - 2) + o.shape[1:])).astype(np.float32)
        additive = applied & np.all(scale == 1.0, axis=1)
        k_new = np.where(additive[:, None], np.floor(offset + 0.5), 0).astype(np.int64)
        levels = np.arange(256, dtype=np.float64)
        lut_new = None
        needs_lut = applied & (~additive | (self.mode != 0))
        if needs_lut.any():
            idx = np.nonzero(needs_lut)[0]
            lut_new = np.tile(levels.astype(np.uint8), (len(idx), self.c, 1))
            general = ~additive[idx]
            if general.any():
                g = idx[general]
                table = np.floor(levels * scale[g][..., None] + offset[g][..., None] + 0.5)
                lut_new[general] = np.clip(table, 0, 255).astype(np.uint8)
            adds = ~general
            if adds.any():
                a = idx[adds]
                lut_new[adds] = np.clip(levels + k_new[a][..., None], 0, 255).astype(np.uint8)
            # Compose with the current map of those samples.
            current = self._as_lut(idx)
            composed = np.take_along_axis(lut_new, current.astype(np.int64), axis=2)
            if self.lut is None:
                self.lut = np.tile(levels.astype(np.uint8), (self.n, self.c, 1))
            self.lut[idx] = composed
            self.mode[idx] = 2
        simple = applied & additive & (self.mode == 0)
        self.mode[simple] = 1
        self.add[simple] = k_new[simple]

        def colour(v):
            # v: (n, ..., c) uint8 values (fills, box colours) -> mapped through this step.
            out = v.astype(np.int64)
            flat = out.reshape(self.n, -1, self.c)
            if lut_new is not None:
                tables = np.tile(levels.astype(np.uint8), (self.n, self.c, 1))
                tables[needs_lut] = lut_new
                mapped = np.swapaxes(np.take_along_axis(tables, np.swapaxes(flat, 1, 2), axis=2), 1, 2)
                flat = np.where(needs_lut[:, None, None], mapped, flat)
            simple_add = applied & additive & ~needs_lut
            flat = np.where(simple_add[:, None, None], np.clip(flat + k_new[:, None, :], 0, 255), flat)
            return flat.reshape(v.shape).astype(np.uint8)
        return colour

    def _as_lut(self, idx):
        levels = np.arange(256, dtype=np.int64)
        out = np.tile(levels, (len(idx), self.c, 1))
        mode = self.mode[idx]
        adds = mode == 1
        out[adds] = np.clip(levels + self.add[idx][adds][..., None], 0, 255)
        if self.lut is not None:
            luts = mode == 2
            out[luts] = self.lut[idx][luts]
        return out.astype(np.uint8)


def fast_batch(pipe, items, stack, gen, record):
    """Render ``stack`` (N, H, W, C) through ``items``; returns (out, records, slow_indices)."""
    n, h, w, c = stack.shape
    dtype = stack.dtype
    owner = type(pipe).__name__
    shape = (h, w, c)
    rows, cols = _Axis(n, h), _Axis(n, w)
    fill = np.zeros((n, c), dtype)
    has_fill = np.zeros(n, bool)
    slow = np.zeros(n, bool)
    colour = _Colour(n, c, dtype)
    boxes = np.zeros((n, 0, 4), np.int64)     # y0, y1, x0, x1 in current coordinates
    box_ok = np.zeros((n, 0), bool)
    box_col = np.zeros((n, 0, c), dtype)
    sampled = []
    for t in items:
        applied, params = _sample(t, gen, n, shape)
        sampled.append((t, params, applied))
        if isinstance(t, Tint):
            mapper = colour.apply_tint(np.asarray(params["scale"], np.float64),
                                       np.asarray(params["offset"], np.float64), applied)
            fill = mapper(fill)
            if box_col.shape[1]:
                box_col = mapper(box_col)
            continue
        if isinstance(t, BoxErase):
            b = params["boxes"]
            new = np.stack([b[..., 1], b[..., 3], b[..., 0], b[..., 2]], axis=-1)
            boxes = np.concatenate([boxes, new], axis=1)
            box_ok = np.concatenate([box_ok, params["ok"] & applied[:, None]], axis=1)
            values = _fill_rows(t.fill, n, c, dtype, type(t).__name__)
            box_col = np.concatenate([box_col, np.repeat(values[:, None, :], new.shape[1], axis=1)], axis=1)
            continue
        if not applied.any():
            continue  # e.g. RandomCrop(p=0): nothing to fold (crops are all-or-none, see supported())
        g_rows, g_cols, g_fill = _geometry(t, params, applied, shape)
        adds = (g_rows[3] > 0) | (g_rows[4] < g_rows[2]) | (g_cols[3] > 0) | (g_cols[4] < g_cols[2])
        if g_fill is not None:
            values = _fill_rows(g_fill[0], n, c, dtype, type(t).__name__)
            differs = has_fill & adds & np.any(fill != values, axis=1)
            if differs.any():
                rlo, rhi = _preimage(rows.lo, rows.hi, g_rows[0], g_rows[1])
                clo, chi = _preimage(cols.lo, cols.hi, g_cols[0], g_cols[1])
                g_empty = (g_rows[4] <= g_rows[3]) | (g_cols[4] <= g_cols[3])
                inside = (rlo <= g_rows[3]) & (g_rows[4] <= rhi) & (clo <= g_cols[3]) & (g_cols[4] <= chi)
                slow |= differs & ~g_empty & ~inside
            fill = np.where(adds[:, None], values, fill)
            has_fill |= adds
        if boxes.shape[1]:
            y0, y1 = _preimage(boxes[..., 0], boxes[..., 1], g_rows[0][:, None], g_rows[1][:, None])
            x0, x1 = _preimage(boxes[..., 2], boxes[..., 3], g_cols[0][:, None], g_cols[1][:, None])
            y0, y1 = np.maximum(y0, g_rows[3][:, None]), np.minimum(y1, g_rows[4][:, None])
            x0, x1 = np.maximum(x0, g_cols[3][:, None]), np.minimum(x1, g_cols[4][:, None])
            boxes = np.stack([y0, y1, x0, x1], axis=-1)
            box_ok &= (y1 > y0) & (x1 > x0)
        rows.compose(*g_rows)
        cols.compose(*g_cols)
        shape = (g_rows[2], g_cols[2], c)
    out = np.empty((n, rows.size, cols.size, c), dtype)
    geo = np.stack([rows.sign, rows.off, rows.lo, rows.hi, cols.sign, cols.off, cols.lo, cols.hi], axis=1)
    geo = np.ascontiguousarray(geo, dtype=np.int64)
    # Keep each sample's surviving boxes first, in their original order.
    order = np.argsort(~box_ok, axis=1, kind="stable")
    boxes = np.ascontiguousarray(np.take_along_axis(boxes, order[..., None], 1))
    box_col = np.ascontiguousarray(np.take_along_axis(box_col, order[..., None], 1))
    nbox = box_ok.sum(axis=1).astype(np.int64)
    if boxes.shape[1] == 0:
        boxes, box_col = np.zeros((n, 1, 4), np.int64), np.zeros((n, 1, c), dtype)
    k = _plan.kernels()
    fill = np.ascontiguousarray(fill, dtype)
    if dtype == np.uint8:
        lut = colour.lut if colour.lut is not None else np.zeros((n, 1, 256), np.uint8)
        k._render_u8_batch(stack, out, geo, colour.mode, colour.add, np.ascontiguousarray(lut), fill, boxes, nbox,
                           box_col)
    else:
        if colour.steps:
            scales = np.ascontiguousarray(np.stack([s for s, _ in colour.steps], axis=1))
            offsets = np.ascontiguousarray(np.stack([o for _, o in colour.steps], axis=1))
        else:
            scales = offsets = np.zeros((n, 0, c), np.float32)
        k._render_f32_batch(stack, out, geo, scales, offsets, fill, boxes, nbox, box_col)
    slow_idx = np.nonzero(slow)[0]
    records = None
    if record or len(slow_idx):
        want = range(n) if record else slow_idx
        records = {}
        for i in want:
            recs = [_record(t, p, a, i) for t, p, a in sampled]
            records[int(i)] = recs if type(pipe) is Compose else recs[0]
    return out, records, slow_idx
