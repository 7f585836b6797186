"""Stateless, validated image functions with explicit parameters.

These are the building blocks the transform classes use. Each takes an image
``(H, W)`` or ``(H, W, C)`` of dtype uint8 or float32 and returns a new array
of the same dtype and layout; the input is never modified.

Examples
--------
>>> import numpy as np
>>> from augkit import functional as F
>>> img = np.arange(12, dtype=np.uint8).reshape(3, 4)
>>> F.hflip(img)[0].tolist()
[3, 2, 1, 0]
>>> F.shift(img, dx=1, dy=0, fill=9)[0].tolist()
[9, 0, 1, 2]
"""
from __future__ import annotations

import numpy as np

from . import plan as _plan
from ._validate import _short, check_channel_values, check_fill, check_image, check_int, check_mask

__all__ = ["hflip", "vflip", "crop", "pad", "center_crop", "shift", "tint", "erase",
           "hflip_mask", "vflip_mask", "crop_mask", "shift_mask"]


# ------------------------------------------------------------ primitive ops
# Each returns the list of primitive operations (see augkit.plan) that one
# transform step amounts to, for an input of height h and width w.

def hflip_ops(h, w):
    return [("g", _plan.axis_identity(h), _plan.axis_flip(w), 0.0, 0)]


def vflip_ops(h, w):
    return [("g", _plan.axis_flip(h), _plan.axis_identity(w), 0.0, 0)]


def crop_ops(h, w, x_min, y_min, x_max, y_max):
    return [("g", _plan.axis_crop(y_min, y_max), _plan.axis_crop(x_min, x_max), 0.0, 0)]


def pad_ops(h, w, top, bottom, left, right, fill=0.0, fill_mask=0):
    return [("g", _plan.axis_pad(h, top, bottom), _plan.axis_pad(w, left, right), fill, fill_mask)]


def shift_ops(h, w, dx, dy, fill=0.0, fill_mask=0):
    return [("g", _plan.axis_shift(h, dy), _plan.axis_shift(w, dx), fill, fill_mask)]


def center_pad(h, w, height, width):
    """Padding ``(top, bottom, left, right)`` that brings ``(h, w)`` up to at least ``(height, width)``.

    The odd extra pixel goes to the bottom/right.
    """
    ph, pw = max(0, height - h), max(0, width - w)
    return ph // 2, ph - ph // 2, pw // 2, pw - pw // 2


def tint_ops(scale, offset):
    return [("c", scale, offset)]


def erase_ops(boxes, fill=0.0, noise_seed=None, fill_mask=None):
    """``boxes``: whole-pixel ``(x_min, y_min, x_max, y_max)`` rows, already validated."""
    return [("e", boxes, fill, noise_seed, fill_mask)]


# ------------------------------------------------------------ public functions

def _run(image, owner, make_ops, fill=None):
    """Check ``image`` first (and ``fill`` against it, whether or not anything is uncovered),
    then run ``make_ops(h, w)`` on it: same dtype and layout out."""
    img3 = check_image(image)
    if fill is not None:
        _plan._fill_vector(fill, img3.shape[2], img3.dtype, owner, "fill")
    out = _plan.run_ops(make_ops(img3.shape[0], img3.shape[1]), img3, owner=owner)
    return out.reshape(out.shape[:2]) if image.ndim == 2 else out


def _run_mask(mask, owner, make_ops):
    mask = check_mask(mask, None)
    return _plan.run_ops_mask(make_ops(mask.shape[0], mask.shape[1]), mask, owner=owner)


def hflip(image):
    """Mirror left-right: column ``x`` becomes ``W - 1 - x``."""
    return _run(image, "hflip", hflip_ops)


def vflip(image):
    """Mirror top-bottom: row ``y`` becomes ``H - 1 - y``."""
    return _run(image, "vflip", vflip_ops)


def _check_crop(h, w, x_min, y_min, x_max, y_max, owner):
    vals = [check_int(v, owner, n) for v, n in ((x_min, "x_min"), (y_min, "y_min"), (x_max, "x_max"), (y_max, "y_max"))]
    x_min, y_min, x_max, y_max = vals
    if not (0 <= x_min < x_max <= w and 0 <= y_min < y_max <= h):
        raise ValueError(f"{owner}: the crop (x_min={x_min}, y_min={y_min}, x_max={x_max}, y_max={y_max}) must "
                         f"satisfy 0 <= x_min < x_max <= {w} and 0 <= y_min < y_max <= {h} for a "
                         f"{h}x{w} (HxW) image")
    return vals


def crop(image, x_min, y_min, x_max, y_max):
    """The region ``image[y_min:y_max, x_min:x_max]`` (max exclusive) as a new contiguous array."""
    return _run(image, "crop", lambda h, w: crop_ops(h, w, *_check_crop(h, w, x_min, y_min, x_max, y_max, "crop")))


def _check_pads(values, owner):
    return [check_int(v, owner, n, minimum=0) for v, n in zip(values, ("top", "bottom", "left", "right"))]


def pad(image, top, bottom, left, right, fill=0):
    """Pad with a constant ``fill`` (a number or a per-channel sequence)."""
    fill = check_fill(fill, "pad")
    pads = _check_pads((top, bottom, left, right), "pad")
    return _run(image, "pad", lambda h, w: pad_ops(h, w, *pads, fill=fill), fill)


def center_crop(image, height, width, pad_if_needed=False, fill=0):
    """The centred ``height x width`` region; pads with ``fill`` first when ``pad_if_needed``."""
    fill = check_fill(fill, "center_crop")
    if not isinstance(pad_if_needed, bool):
        raise ValueError(f"center_crop: pad_if_needed must be True or False, got {pad_if_needed!r}")
    return _run(image, "center_crop",
                lambda h, w: center_crop_ops(h, w, height, width, pad_if_needed, fill, 0, "center_crop"), fill)


def center_crop_ops(h, w, height, width, pad_if_needed, fill, fill_mask, owner):
    height = check_int(height, owner, "height", minimum=1)
    width = check_int(width, owner, "width", minimum=1)
    ops = []
    if height > h or width > w:
        if not pad_if_needed:
            raise ValueError(f"{owner}: crop size {height}x{width} (HxW) is larger than the {h}x{w} image; "
                             f"use a smaller crop or pad_if_needed=True")
        top, bottom, left, right = center_pad(h, w, height, width)
        ops += pad_ops(h, w, top, bottom, left, right, fill, fill_mask)
        h, w = h + top + bottom, w + left + right
    y0, x0 = (h - height) // 2, (w - width) // 2
    ops += crop_ops(h, w, x0, y0, x0 + width, y0 + height)
    return ops


def shift(image, dx, dy, fill=0):
    """Translate by whole pixels: positive ``dx`` moves content right, positive ``dy`` down.

    The uncovered area gets ``fill``; the output keeps the input's size.
    """
    dx, dy = check_int(dx, "shift", "dx"), check_int(dy, "shift", "dy")
    fill = check_fill(fill, "shift")
    return _run(image, "shift", lambda h, w: shift_ops(h, w, dx, dy, fill))


def tint(image, offset, scale=1.0):
    """Per-channel affine colour change ``clip(image * scale[c] + offset[c])``.

    ``offset`` and ``scale`` are numbers or per-channel sequences. uint8 results
    are rounded half up and saturated to 0..255; float images are not clipped.
    """
    img3 = check_image(image)
    channels = img3.shape[2]
    offset = check_channel_values(offset, channels, "tint", "offset", scalar=True)
    scale = check_channel_values(scale, channels, "tint", "scale", scalar=True)
    return _run(image, "tint", lambda h, w: tint_ops(scale.tolist(), offset.tolist()))


def _check_boxes(boxes, h, w, owner):
    bad = (f"{owner}: boxes must be whole-pixel rectangles (x_min, y_min, x_max, y_max) with shape (M, 4), "
           f"got {_short(boxes)}")
    try:
        arr = np.asarray(boxes)
    except (TypeError, ValueError):   # ragged rows
        raise ValueError(bad) from None
    if arr.size == 0 and (arr.ndim == 1 or arr.shape[-1] == 4):   # [] or an empty (0, 4) table
        return []
    if (arr.ndim != 2 or arr.shape[1] != 4 or arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr))
            or np.any(arr != np.round(arr))):
        raise ValueError(bad)
    rows = [[int(v) for v in row] for row in arr.tolist()]   # Python ints: no overflow in the check
    for i, (x0, y0, x1, y1) in enumerate(rows):
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"{owner}: boxes[{i}] = {rows[i]} must satisfy 0 <= x_min < x_max <= {w} "
                             f"and 0 <= y_min < y_max <= {h}")
    return rows


def erase(image, boxes, fill=0, noise_seed=None):
    """Paint rectangles ``(x_min, y_min, x_max, y_max)`` with ``fill``.

    ``fill`` is a number, a per-channel sequence or ``"random"``: uniform noise
    in 0..255 (uint8) or [0, 1) (float) from ``numpy.random.default_rng(noise_seed)``.
    """
    fill = check_fill(fill, "erase", allow_random=True)
    if noise_seed is not None:
        noise_seed = check_int(noise_seed, "erase", "noise_seed", minimum=0)
    return _run(image, "erase", lambda h, w: erase_ops(_check_boxes(boxes, h, w, "erase"), fill, noise_seed))


def hflip_mask(mask):
    """:func:`hflip` for a mask of any dtype."""
    return _run_mask(mask, "hflip_mask", hflip_ops)


def vflip_mask(mask):
    """:func:`vflip` for a mask of any dtype."""
    return _run_mask(mask, "vflip_mask", vflip_ops)


def crop_mask(mask, x_min, y_min, x_max, y_max):
    """:func:`crop` for a mask of any dtype."""
    return _run_mask(mask, "crop_mask",
                     lambda h, w: crop_ops(h, w, *_check_crop(h, w, x_min, y_min, x_max, y_max, "crop_mask")))


def shift_mask(mask, dx, dy, fill_mask=0):
    """:func:`shift` for a mask of any dtype (nearest; ``fill_mask`` where uncovered)."""
    dx, dy = check_int(dx, "shift_mask", "dx"), check_int(dy, "shift_mask", "dy")
    fill_mask = check_fill(fill_mask, "shift_mask", "fill_mask")
    return _run_mask(mask, "shift_mask", lambda h, w: shift_ops(h, w, dx, dy, 0.0, fill_mask))
