"""Fusing a sequence of primitive operations into one rendering pass.

Every transform describes its sampled effect as a short list of primitive
operations (``ops``):

``("g", rows, cols, fill, fill_mask)``
    geometric: one integer map per axis, ``rows = (sign, offset, size, lo, hi)``
    means output row ``r`` reads input row ``sign * r + offset`` when
    ``lo <= r < hi`` and is ``fill`` otherwise (``sign`` is +1 or -1).
``("c", scale, offset)``
    colour: ``out = image * scale[c] + offset[c]`` per channel (float64 arrays),
    rounded half up and saturated for uint8.
``("e", boxes, fill, noise_seed, fill_mask)``
    erase: rectangles ``(x0, y0, x1, y1)`` (pixels, max exclusive) painted with
    ``fill`` (a number, a per-channel tuple or ``"random"``).

:class:`Plan` folds such a list, in order, into a single geometric map, one
colour map and a list of boxes in output coordinates; :func:`render` then runs
one kernel over it. Two geometric steps whose uncovered areas would show
different fill colours cannot share one map: the plan then ends and a new one
starts on its output (``segments``). The NumPy executor :func:`render_numpy`
does the same job with array slicing; it is the reference the kernel is
tested against and the path masks take.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import mask_fill_vector, read_only

_kernels = None


def kernels():
    """The compiled kernels, imported on first use so ``import augkit`` stays cheap."""
    global _kernels
    if _kernels is None:
        from . import _kernels as module
        _kernels = module
    return _kernels


# ---------------------------------------------------------------- axis maps

def axis_identity(n):
    return (1, 0, n, 0, n)


def axis_flip(n):
    return (-1, n - 1, n, 0, n)


def axis_crop(start, stop):
    return (1, start, stop - start, 0, stop - start)


def axis_pad(n, before, after):
    return (1, -before, n + before + after, before, before + n)


def axis_shift(n, d):
    # Any shift by more than the size leaves only fill, and moves every box and keypoint out.
    d = max(-n - 1, min(n + 1, d))
    lo, hi = max(0, d), min(n, n + d)
    if hi <= lo:
        lo = hi = 0
    return (1, -d, n, lo, hi)


def _preimage(lo, hi, g):
    """Output interval of ``g`` whose images fall in ``[lo, hi)``."""
    sign, off = g[0], g[1]
    if sign == 1:
        return lo - off, hi - off
    return off - hi + 1, off - lo + 1


def compose_axis(m, g):
    """The map of ``m`` after ``g``: ``g`` maps new coordinates to ``m``'s output."""
    g_sign, g_off, g_size, g_lo, g_hi = g
    if g_sign == 1 and g_off == 0 and g_lo == 0 and g_hi == g_size == m[2]:
        return m  # g leaves this axis alone (a flip or shift along the other one)
    m_sign, m_off, _, m_lo, m_hi = m
    if g_sign == 1:
        plo, phi = m_lo - g_off, m_hi - g_off
    else:
        plo, phi = g_off - m_hi + 1, g_off - m_lo + 1
    lo = g_lo if g_lo > plo else plo
    hi = g_hi if g_hi < phi else phi
    if hi <= lo:
        lo = hi = 0
    return (m_sign * g_sign, m_sign * g_off + m_off, g_size, lo, hi)


def map_interval(a, b, g):
    """Where the half-open interval ``[a, b)`` of the input of ``g`` lands, clipped to ``g``'s valid part."""
    lo, hi = _preimage(a, b, g)
    return max(lo, g[3]), min(hi, g[4])


def map_edges(x, g):
    """Map pixel-edge coordinates (floats, any shape) through an axis map."""
    if g[0] == 1:
        return x - g[1]
    return (g[1] + 1) - x


# ---------------------------------------------------------------- colours

def tint_u8(scale, offset):
    """The uint8 form of ``x * scale + offset``: ``("add", k)`` when every scale is 1, else a LUT."""
    if all(v == 1.0 for v in scale):
        # Beyond +-256 an offset saturates every level alike: clamped, it fits any integer type.
        return ("add", np.array([math.floor(min(max(o, -256.0), 256.0) + 0.5) for o in offset], dtype=np.int64))
    scale, offset = np.asarray(scale, np.float64), np.asarray(offset, np.float64)
    levels = np.arange(256, dtype=np.float64)
    table = np.floor(levels[None, :] * scale[:, None] + offset[:, None] + 0.5)
    return ("lut", np.clip(table, 0, 255).astype(np.uint8))


def _as_lut(colour, channels):
    if colour is None:
        return np.tile(np.arange(256, dtype=np.uint8), (channels, 1))
    if colour[0] == "lut":
        return colour[1]
    levels = np.arange(256, dtype=np.int64)
    return np.clip(levels[None, :] + colour[1][:, None], 0, 255).astype(np.uint8)


def colour_u8(colour, values):
    """Apply a uint8 colour map to a small ``(..., C)`` uint8 array (fills, patches)."""
    if colour is None:
        return values
    if colour[0] == "add":
        if values.ndim == 1:
            return np.array([min(max(int(v) + int(k), 0), 255) for v, k in zip(values, colour[1])], np.uint8)
        return np.clip(values.astype(np.int64) + colour[1], 0, 255).astype(np.uint8)
    return colour[1][np.arange(values.shape[-1]), values]


def colour_f32(steps, values):
    """Apply float affine steps, in float32, one after another (as the kernel does)."""
    for scale, offset in steps:
        values = values * scale + offset
    return values.astype(np.float32, copy=False)


# ---------------------------------------------------------------- plan

class Plan:
    """One fused rendering pass over an image (or a mask, with ``for_mask=True``).

    Build it with :meth:`add` for each primitive op in order; :meth:`add`
    returns False when the op cannot join (its fill would clash with an
    earlier one) and the caller starts a new plan on this plan's output.
    """

    __slots__ = ("height", "width", "channels", "dtype", "for_mask", "rows", "cols",
                 "fill", "colour", "boxes", "owner")

    def __init__(self, height, width, channels, dtype, for_mask=False, owner="augkit"):
        self.height, self.width, self.channels = height, width, channels
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.for_mask = for_mask
        self.owner = owner
        self.rows = axis_identity(height)
        self.cols = axis_identity(width)
        self.fill = None            # (C,) array in output colours, or None while nothing is uncovered
        self.colour = None          # uint8: None | ("add", k) | ("lut", table); float: list of steps
        self.boxes = []             # [y0, y1, x0, x1, kind, value]: kind "c" constant (C,), "p" patch

    @property
    def out_shape(self):
        return self.rows[2], self.cols[2]

    def _fill_values(self, fill, name):
        if self.for_mask:
            return mask_fill_vector(fill, self.channels, self.dtype, self.owner, name)
        return _fill_vector(fill, self.channels, self.dtype, self.owner, name)

    def add(self, op) -> bool:
        kind = op[0]
        if kind == "g":
            return self._add_geometry(op)
        if kind == "c":
            if not self.for_mask:
                self._add_colour(op[1], op[2])
            return True
        return self._add_erase(op)

    def _add_geometry(self, op):
        _, g_rows, g_cols, fill, fill_mask = op
        if self.for_mask:
            fill = fill_mask
        new_rows = compose_axis(self.rows, g_rows)
        new_cols = compose_axis(self.cols, g_cols)
        adds_fill = (g_rows[3] > 0 or g_rows[4] < g_rows[2] or g_cols[3] > 0 or g_cols[4] < g_cols[2])
        # Checked even when nothing is uncovered, so a bad fill fails on every call, not by chance.
        fill_values = self._fill_values(fill, "fill_mask" if self.for_mask else "fill")
        if adds_fill:
            if self.fill is not None and not np.array_equal(self.fill, fill_values, equal_nan=True):
                # Earlier uncovered area is still visible unless g keeps only covered pixels.
                rlo, rhi = _preimage(self.rows[3], self.rows[4], g_rows)
                clo, chi = _preimage(self.cols[3], self.cols[4], g_cols)
                g_empty = g_rows[4] <= g_rows[3] or g_cols[4] <= g_cols[3]
                inside = rlo <= g_rows[3] and g_rows[4] <= rhi and clo <= g_cols[3] and g_cols[4] <= chi
                if not g_empty and not inside:
                    return False
        new_boxes = []
        for y0, y1, x0, x1, bkind, value in self.boxes:
            ny0, ny1 = map_interval(y0, y1, g_rows)
            nx0, nx1 = map_interval(x0, x1, g_cols)
            if ny1 <= ny0 or nx1 <= nx0:
                continue
            if bkind == "p":
                value = value[_patch_slice(y0, ny0, ny1, g_rows), _patch_slice(x0, nx0, nx1, g_cols)]
            new_boxes.append([ny0, ny1, nx0, nx1, bkind, value])
        self.boxes = new_boxes
        self.rows, self.cols = new_rows, new_cols
        if adds_fill:
            self.fill = fill_values
        return True

    def _add_colour(self, scale, offset):
        if self.dtype == np.uint8:
            new = tint_u8(scale, offset)
            if self.colour is None:
                self.colour = new
            elif new[0] == "add":
                table = _as_lut(self.colour, self.channels).astype(np.int64) + new[1][:, None]
                self.colour = ("lut", np.clip(table, 0, 255).astype(np.uint8))
            else:
                current = _as_lut(self.colour, self.channels)
                self.colour = ("lut", np.take_along_axis(new[1], current, axis=1))
            apply = lambda v: colour_u8(new, v)  # noqa: E731
        else:
            step = (np.asarray(scale, np.float32), np.asarray(offset, np.float32))
            self.colour = (self.colour or []) + [step]
            apply = lambda v: colour_f32([step], v)  # noqa: E731
        if self.fill is not None:
            self.fill = apply(self.fill)
        for box in self.boxes:
            box[5] = apply(box[5])

    def _add_erase(self, op):
        _, rects, fill, noise_seed, fill_mask = op
        if self.for_mask:
            if fill_mask is None:
                return True
            fill = fill_mask
        if fill == "random":
            noise = np.random.default_rng(noise_seed)
            for x0, y0, x1, y1 in rects:
                shape = (int(y1 - y0), int(x1 - x0), self.channels)
                if self.dtype == np.uint8:
                    patch = noise.integers(0, 256, size=shape, dtype=np.uint8)
                else:
                    patch = noise.random(size=shape, dtype=np.float32)
                self.boxes.append([y0, y1, x0, x1, "p", patch])
        else:
            values = self._fill_values(fill, "fill_mask" if self.for_mask else "fill")
            for x0, y0, x1, y1 in rects:
                self.boxes.append([y0, y1, x0, x1, "c", values])
        return True


_FILL_CACHE = {}


def _fill_vector(fill, channels, dtype, owner, name):
    """:func:`augkit._validate.fill_vector`, memoised (fills are few; plans are built per call).

    The arrays stay writeable although nothing writes to them: numba compiles a
    separate kernel specialisation for read-only arguments.
    """
    # repr, not the value: -0.0 == 0.0 would otherwise share one cached array.
    key = (repr(fill), channels, dtype.char)
    values = _FILL_CACHE.get(key)
    if values is None:
        from ._validate import fill_vector
        values = fill_vector(fill, channels, dtype, owner, name)
        if len(_FILL_CACHE) < 4096:
            _FILL_CACHE[key] = values
    return values


def _patch_slice(old_start, new_lo, new_hi, g):
    first = g[0] * new_lo + g[1] - old_start
    if g[0] == 1:
        return slice(first, first + (new_hi - new_lo))
    stop = first - (new_hi - new_lo)
    return slice(first, stop if stop >= 0 else None, -1)


def build_plans(ops, height, width, channels, dtype, for_mask=False, owner="augkit"):
    """Fold ``ops`` into as few plans as fill colours allow (usually one)."""
    plans = [Plan(height, width, channels, dtype, for_mask, owner)]
    for op in ops:
        if not plans[-1].add(op):
            h, w = plans[-1].out_shape
            plans.append(Plan(h, w, channels, dtype, for_mask, owner))
            if not plans[-1].add(op):  # pragma: no cover - a fresh plan accepts any op
                raise AssertionError("a fresh plan refused an op")
    return plans


# ---------------------------------------------------------------- execution

def _geo(plan):
    r, c = plan.rows, plan.cols
    return np.array([r[0], r[1], r[3], r[4], c[0], c[1], c[3], c[4]], dtype=np.int64)


def _split_boxes(plan):
    """Constant boxes the kernel can paint (those before the first patch) and the rest."""
    k = 0
    while k < len(plan.boxes) and plan.boxes[k][4] == "c":
        k += 1
    return plan.boxes[:k], plan.boxes[k:]


def _paste(out, boxes):
    for y0, y1, x0, x1, _, value in boxes:
        out[y0:y1, x0:x1] = value


_EMPTY_BOXES = np.zeros((0, 4), dtype=np.int64)


def render(plan, img):
    """Run ``plan`` on a C-contiguous ``(H, W, C)`` uint8/float32 image with the kernel."""
    if (not plan.boxes and plan.colour is None and plan.rows == axis_identity(plan.height)
            and plan.cols == axis_identity(plan.width)):
        # Nothing ran that changes a pixel: a plain copy. (Boxes stay with the kernel:
        # NumPy's broadcast assignment of a per-channel colour is ~7x slower than it.)
        return img.copy()
    k = kernels()
    img = read_only(img)  # every source reaches numba read-only: one specialisation (see check_image)
    out_h, out_w = plan.out_shape
    out = np.empty((out_h, out_w, plan.channels), dtype=plan.dtype)
    fill = plan.fill if plan.fill is not None else _zeros(plan.channels, plan.dtype)
    inside, later = _split_boxes(plan)
    if inside:
        boxes = np.array([b[:4] for b in inside], dtype=np.int64)
        boxcols = np.array([b[5] for b in inside], dtype=plan.dtype)
    else:
        boxes, boxcols = _EMPTY_BOXES, np.zeros((0, plan.channels), plan.dtype)
    if plan.dtype == np.uint8:
        colour = plan.colour
        if colour is None:
            mode, add, lut = 0, _zeros(plan.channels, np.int64), _NO_LUT
        elif colour[0] == "add":
            mode, add, lut = 1, colour[1], _NO_LUT
        else:
            mode, add, lut = 2, _zeros(plan.channels, np.int64), colour[1]
        k._render_u8(img, out, _geo(plan), mode, add, lut, fill, boxes, len(inside), boxcols, NO_SCRATCH)
    else:
        steps = plan.colour or []
        scales = np.array([s for s, _ in steps], np.float32).reshape(len(steps), plan.channels)
        offsets = np.array([o for _, o in steps], np.float32).reshape(len(steps), plan.channels)
        k._render_f32(img, out, _geo(plan), scales, offsets, fill, boxes, len(inside), boxcols)
    _paste(out, later)
    return out


_NO_LUT = np.zeros((1, 256), dtype=np.uint8)
NO_SCRATCH = np.zeros(0, dtype=np.uint8)   # the uint8 kernel then allocates its own


_ZEROS = {}


def _zeros(n, dtype):
    """A shared zero vector (kernels never write to their inputs; kept writeable, see _fill_vector)."""
    key = (n, np.dtype(dtype).char)
    z = _ZEROS.get(key)
    if z is None:
        z = _ZEROS[key] = np.zeros(n, dtype)
    return z


def render_numpy(plan, arr):
    """Run ``plan`` with NumPy slicing: the reference for :func:`render`, and the mask path.

    ``arr`` is ``(H, W)`` or ``(H, W, K)`` of any dtype; colour maps apply only
    to images (``plan.for_mask`` False).
    """
    out_h, out_w = plan.out_shape
    out = np.empty((out_h, out_w) + arr.shape[2:], dtype=arr.dtype)
    fill = plan.fill if plan.fill is not None else np.zeros(plan.channels, arr.dtype)
    out[...] = fill if arr.ndim == 3 else fill[0]
    (rs, ro, _, rlo, rhi), (cs, co, _, clo, chi) = plan.rows, plan.cols
    if rhi > rlo and chi > clo:
        block = arr[_axis_slice(rlo, rhi, rs, ro), _axis_slice(clo, chi, cs, co)]
        if not plan.for_mask and plan.colour is not None:
            block = colour_u8(plan.colour, block) if plan.dtype == np.uint8 else colour_f32(plan.colour, block)
        out[rlo:rhi, clo:chi] = block
    for y0, y1, x0, x1, _, value in plan.boxes:
        out[y0:y1, x0:x1] = value if arr.ndim == 3 else value[..., 0]
    return out


def _axis_slice(lo, hi, sign, off):
    first = sign * lo + off
    if sign == 1:
        return slice(first, first + hi - lo)
    stop = first - (hi - lo)
    return slice(first, stop if stop >= 0 else None, -1)


def run_ops(ops, image3, reference=False, owner="augkit"):
    """Apply primitive ops to a checked ``(H, W, C)`` image; returns a new array."""
    h, w, c = image3.shape
    out = image3
    for plan in build_plans(ops, h, w, c, image3.dtype, owner=owner):
        out = render_numpy(plan, out) if reference else render(plan, out)
    if out is image3:
        out = image3.copy()
    return out


def run_ops_mask(ops, mask, owner="augkit"):
    """Apply the geometric and erase parts of ``ops`` to a mask (nearest, ``fill_mask``)."""
    channels = mask.shape[2] if mask.ndim == 3 else 1
    out = mask
    for plan in build_plans(ops, mask.shape[0], mask.shape[1], channels, mask.dtype, for_mask=True, owner=owner):
        out = render_numpy(plan, out)
    return out
