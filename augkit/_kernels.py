"""numba kernels: private, unchecked, pure functions of arrays and plain numbers.

One kernel renders a whole fused plan (see :mod:`augkit.plan`): it reads each
needed source pixel once through a per-axis integer map ``src = sign * dst +
offset``, maps its colour, writes it once, paints the fill outside the valid
rectangle and then the constant erase boxes. The callers in ``plan.py`` have
validated everything; nothing here checks its arguments.

``geo`` packs the map as ``[r_sign, r_off, r_lo, r_hi, c_sign, c_off, c_lo,
c_hi]``: output rows ``r_lo <= r < r_hi`` (and the same for columns) read the
source, the rest is fill. ``mode`` picks the colour map for uint8: 0 copy,
1 saturating add of ``add[c]``, 2 lookup table ``lut[c, v]``. Float images
apply ``k`` affine steps ``x * scale[k, c] + offset[k, c]`` in order, in
float32, exactly as the unfused transforms do one after another.

This module is imported lazily (first render), so ``import augkit`` compiles
nothing; ``cache=True`` keeps compiled code on disk between processes.
"""
import numpy as np
from numba import njit, prange

_OPTS = dict(cache=True, nogil=True)


@njit(inline="always", **_OPTS)
def _pattern_row(values, n_pixels):
    channels = values.shape[0]
    row = np.empty(n_pixels * channels, values.dtype)
    for x in range(n_pixels):
        for c in range(channels):
            row[x * channels + c] = values[c]
    return row


@njit(**_OPTS)
def _render_u8(img, out, geo, mode, add, lut, fill, boxes, nbox, boxcols):
    in_w = img.shape[1]
    out_h, out_w, channels = out.shape
    src = img.reshape(-1)
    dst = out.reshape(-1)
    r_sign, r_off, r_lo, r_hi = geo[0], geo[1], geo[2], geo[3]
    c_sign, c_off, c_lo, c_hi = geo[4], geo[5], geo[6], geo[7]
    row_len = out_w * channels
    fill_row = _pattern_row(fill, out_w)
    n_valid = c_hi - c_lo
    add_row = _pattern_row(add.astype(np.int16), max(n_valid, 0))
    for r in range(out_h):
        ob = r * row_len
        if r < r_lo or r >= r_hi or n_valid <= 0:
            dst[ob:ob + row_len] = fill_row
            continue
        sr = r_sign * r + r_off
        ib = sr * in_w * channels
        dst[ob:ob + c_lo * channels] = fill_row[:c_lo * channels]
        dst[ob + c_hi * channels:ob + row_len] = fill_row[c_hi * channels:]
        o0 = ob + c_lo * channels
        if c_sign == 1:
            i0 = ib + (c_off + c_lo) * channels
            n = n_valid * channels
            if mode == 0:
                dst[o0:o0 + n] = src[i0:i0 + n]
            elif mode == 1:
                for j in range(n):
                    v = np.int16(src[i0 + j]) + add_row[j]
                    dst[o0 + j] = np.uint8(min(max(v, 0), 255))
            else:
                for x in range(n_valid):
                    for c in range(channels):
                        dst[o0 + x * channels + c] = lut[c, src[i0 + x * channels + c]]
        else:
            # Reversed columns: the source pixel of output column x is c_off - x.
            if mode == 0:
                if channels == 3:
                    for x in range(n_valid):
                        s = ib + (c_off - c_lo - x) * 3
                        d = o0 + x * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                else:
                    for x in range(n_valid):
                        s = ib + (c_off - c_lo - x) * channels
                        d = o0 + x * channels
                        for c in range(channels):
                            dst[d + c] = src[s + c]
            elif mode == 1:
                for x in range(n_valid):
                    s = ib + (c_off - c_lo - x) * channels
                    d = o0 + x * channels
                    for c in range(channels):
                        v = np.int16(src[s + c]) + add_row[c]
                        dst[d + c] = np.uint8(min(max(v, 0), 255))
            else:
                for x in range(n_valid):
                    s = ib + (c_off - c_lo - x) * channels
                    d = o0 + x * channels
                    for c in range(channels):
                        dst[d + c] = lut[c, src[s + c]]
    for b in range(nbox):
        y0, y1, x0, x1 = boxes[b, 0], boxes[b, 1], boxes[b, 2], boxes[b, 3]
        for r in range(y0, y1):
            for x in range(x0, x1):
                for c in range(channels):
                    out[r, x, c] = boxcols[b, c]


@njit(**_OPTS)
def _render_f32(img, out, geo, scales, offsets, fill, boxes, nbox, boxcols):
    in_w = img.shape[1]
    out_h, out_w, channels = out.shape
    src = img.reshape(-1)
    dst = out.reshape(-1)
    r_sign, r_off, r_lo, r_hi = geo[0], geo[1], geo[2], geo[3]
    c_sign, c_off, c_lo, c_hi = geo[4], geo[5], geo[6], geo[7]
    row_len = out_w * channels
    fill_row = _pattern_row(fill, out_w)
    n_valid = c_hi - c_lo
    steps = scales.shape[0]
    for r in range(out_h):
        ob = r * row_len
        if r < r_lo or r >= r_hi or n_valid <= 0:
            dst[ob:ob + row_len] = fill_row
            continue
        sr = r_sign * r + r_off
        ib = sr * in_w * channels
        dst[ob:ob + c_lo * channels] = fill_row[:c_lo * channels]
        dst[ob + c_hi * channels:ob + row_len] = fill_row[c_hi * channels:]
        o0 = ob + c_lo * channels
        for x in range(n_valid):
            if c_sign == 1:
                s = ib + (c_off + c_lo + x) * channels
            else:
                s = ib + (c_off - c_lo - x) * channels
            d = o0 + x * channels
            for c in range(channels):
                v = src[s + c]
                for k in range(steps):
                    v = v * scales[k, c] + offsets[k, c]
                dst[d + c] = v
    for b in range(nbox):
        y0, y1, x0, x1 = boxes[b, 0], boxes[b, 1], boxes[b, 2], boxes[b, 3]
        for r in range(y0, y1):
            for x in range(x0, x1):
                for c in range(channels):
                    out[r, x, c] = boxcols[b, c]


@njit(parallel=True, **_OPTS)
def _render_u8_batch(imgs, outs, geo, mode, add, lut, fill, boxes, nbox, boxcols):
    for n in prange(imgs.shape[0]):
        _render_u8(imgs[n], outs[n], geo[n], mode[n], add[n], lut[n], fill[n], boxes[n], nbox[n], boxcols[n])


@njit(parallel=True, **_OPTS)
def _render_f32_batch(imgs, outs, geo, scales, offsets, fill, boxes, nbox, boxcols):
    for n in prange(imgs.shape[0]):
        _render_f32(imgs[n], outs[n], geo[n], scales[n], offsets[n], fill[n], boxes[n], nbox[n], boxcols[n])
