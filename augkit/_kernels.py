"""numba kernels: private, unchecked, pure functions of arrays and plain numbers.

One kernel renders a whole fused plan (see :mod:`augkit.plan`): it reads each
needed source pixel once through a per-axis integer map ``src = sign * dst +
offset``, maps its colour, writes it once, paints the fill outside the valid
rectangle and then the constant erase boxes. The callers in ``plan.py`` have
validated everything; nothing here checks its arguments.

``geo`` packs the map as ``[r_sign, r_off, r_lo, r_hi, c_sign, c_off, c_lo,
c_hi]``: output rows ``r_lo <= r < r_hi`` (and the same for columns) read the
source, the rest is fill. ``mode`` picks the colour map for uint8: 0 copy,
1 ``clip(x + add[c], 0, 255)`` (as a saturating byte add then a saturating
byte subtract), 2 lookup table ``lut[c, v]``. Float
images apply ``k`` affine steps ``x * scale[k, c] + offset[k, c]`` in order, in
float32, exactly as the unfused transforms do one after another.

Why the code looks the way it does (measured on the project machine, 256x256x3):

- Flat ``uint64`` indices: numba adds negative-index wraparound to signed
  indices, which stops LLVM from vectorising; unsigned indices let the
  reversed-row copy of a flip run at copy speed (~10 us instead of ~100 us).
- Explicit loops instead of slice assignment: slice copies go through memcpy,
  which is several times slower on this CPU when source and destination sit
  at certain distances apart.
- LLVM's saturating ``uadd.sat``/``usub.sat`` on bytes: numba widens uint8
  arithmetic to int64 (4 lanes per vector); the intrinsics keep 32 lanes, and
  a tint costs ~14 us instead of ~55 us.

This module is imported lazily (first render), so ``import augkit`` compiles
nothing; ``cache=True`` keeps compiled code on disk between processes.
"""
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

_OPTS = dict(cache=True, nogil=True)


def _saturating(name):
    @intrinsic
    def op(typingctx, a, b):
        def codegen(context, builder, signature, args):
            i8 = ir.IntType(8)
            fn = builder.module.declare_intrinsic(name, [i8], ir.FunctionType(i8, [i8, i8]))
            return builder.call(fn, args)
        return types.uint8(types.uint8, types.uint8), codegen
    return op


_add_sat = _saturating("llvm.uadd.sat")
_sub_sat = _saturating("llvm.usub.sat")


def _reverse16_masks():
    """For each 16-byte third of 16 reversed 3-byte pixels: two source windows and a shuffle mask."""
    masks = []
    for k in range(3):
        src = [(15 - j // 3) * 3 + j % 3 for j in range(16 * k, 16 * k + 16)]
        a, b = min(src), max(src) - 15      # two 16-byte windows that cover every byte needed
        masks.append((a, b, [s - a if s - a < 16 else 16 + s - b for s in src]))
    return masks


@intrinsic
def _reverse16x3(typingctx, dst_addr, src_addr):
    """Write the 16 three-byte pixels at ``src_addr`` to ``dst_addr`` in reverse pixel order.

    Six 16-byte loads and three two-input byte shuffles (``pshufb`` on x86,
    ``tbl`` on ARM); numba's own loop moves one byte at a time here.
    """
    def codegen(context, builder, signature, args):
        i8, i32 = ir.IntType(8), ir.IntType(32)
        vec = ir.VectorType(i8, 16)
        dst = builder.inttoptr(args[0], i8.as_pointer())
        src = builder.inttoptr(args[1], i8.as_pointer())
        for k, (a, b, mask) in enumerate(_reverse16_masks()):
            lo = builder.load(builder.bitcast(builder.gep(src, [ir.Constant(i32, a)]), vec.as_pointer()), align=1)
            hi = builder.load(builder.bitcast(builder.gep(src, [ir.Constant(i32, b)]), vec.as_pointer()), align=1)
            out = builder.shuffle_vector(lo, hi, ir.Constant(ir.VectorType(i32, 16), mask))
            builder.store(out, builder.bitcast(builder.gep(dst, [ir.Constant(i32, 16 * k)]), vec.as_pointer()),
                          align=1)
        return context.get_dummy_value()
    return types.void(types.uint64, types.uint64), codegen

_U1 = np.uint64(1)
_U2 = np.uint64(2)


@njit(inline="always", **_OPTS)
def _pattern_row(values, n_pixels):
    channels = values.shape[0]
    row = np.empty(max(n_pixels, 1) * channels, values.dtype)
    for x in range(n_pixels):
        for c in range(channels):
            row[x * channels + c] = values[c]
    return row


@njit(inline="always", **_OPTS)
def _fill_span(dst, start, fill_row, first, count):
    if count > 0:
        d = dst[start:start + count]
        f = fill_row[first:first + count]
        for j in range(np.uint64(count)):
            d[j] = f[j]


@njit(inline="always", **_OPTS)
def _boxes(out, boxes, nbox, boxcols):
    out_w, channels = out.shape[1], out.shape[2]
    dst = out.reshape(-1)
    for b in range(nbox):
        y0, y1, x0, x1 = boxes[b, 0], boxes[b, 1], boxes[b, 2], boxes[b, 3]
        row = _pattern_row(boxcols[b], x1 - x0)
        for r in range(y0, y1):
            _fill_span(dst, (r * out_w + x0) * channels, row, 0, (x1 - x0) * channels)


@njit(inline="always", **_OPTS)
def _copy_span(src, dst, i0, o0, n_valid, channels, c_sign):
    """Copy one row's valid span, forwards or (for a horizontal flip) pixel-reversed.

    ``i0`` is the flat index of the first source pixel read: the leftmost for
    a forward map, the rightmost for a reversed one. Working on slice views of
    the row (rather than offsets into the whole image) lets LLVM vectorise
    whatever order the rows come in (a vertical flip reads them backwards).
    """
    n = n_valid * channels
    d = dst[o0:o0 + n]
    if c_sign == 1:
        s = src[i0:i0 + n]
        for j in range(np.uint64(n)):
            d[j] = s[j]
        return
    s = src[i0 - n + channels:i0 + channels]
    C = np.uint64(channels)
    last = np.uint64(n - channels)
    if channels == 3:
        # uint8: whole blocks of 16 pixels with byte shuffles, then the rest one pixel at a time.
        blocks = n_valid // 16 if d.itemsize == 1 else 0
        d_addr = np.uint64(d.ctypes.data)
        s_addr = np.uint64(s.ctypes.data)
        # Blocks in the order that reads the source forwards (the prefetcher follows an
        # ascending stream; reading each row backwards was ~3x slower once out of cache).
        for b in range(blocks - 1, -1, -1):
            _reverse16x3(d_addr + np.uint64(48 * b), s_addr + np.uint64(3 * (n_valid - 16 - 16 * b)))
        for x in range(np.uint64(blocks * 16), np.uint64(n_valid)):
            k = last - x * np.uint64(3)
            o = x * np.uint64(3)
            d[o] = s[k]
            d[o + _U1] = s[k + _U1]
            d[o + _U2] = s[k + _U2]
    elif channels == 1:
        # One byte (or float) per pixel: a plain reversal, source forwards.
        for t in range(np.uint64(n_valid)):
            d[last - t] = s[t]
    elif channels == 4 and d.itemsize == 1:
        # RGBA bytes: move whole 4-byte pixels.
        d4 = d.view(np.uint32)
        s4 = s.view(np.uint32)
        top = np.uint64(n_valid - 1)
        for t in range(np.uint64(n_valid)):
            d4[top - t] = s4[t]
    else:
        # Source forwards, destination backwards (see above).
        for t in range(np.uint64(n_valid)):
            k = t * C
            o = last - t * C
            for c in range(C):
                d[o + c] = s[k + c]


@njit(inline="always", **_OPTS)
def _lut3(s, d, lut, n_pixels):
    """``d = lut[channel, s]`` for 3-channel pixels, one table row per channel.

    A pixel at a time, each channel through its own table: no per-byte channel
    offsets to load (~3x faster than the generic loop below, measured 256x256x3).
    """
    l0, l1, l2 = lut[0], lut[1], lut[2]
    for x in range(np.uint64(n_pixels)):
        k = x * np.uint64(3)
        d[k] = l0[s[k]]
        d[k + _U1] = l1[s[k + _U1]]
        d[k + _U2] = l2[s[k + _U2]]


@njit(inline="always", **_OPTS)
def _is_identity(geo, in_shape, out_shape):
    return (in_shape[0] == out_shape[0] and in_shape[1] == out_shape[1] and geo[0] == 1 and geo[1] == 0
            and geo[2] == 0 and geo[3] == out_shape[0] and geo[4] == 1 and geo[5] == 0 and geo[6] == 0
            and geo[7] == out_shape[1])


@njit(inline="always", **_OPTS)
def _layout(geo, out_w, channels):
    """Per-image constants: valid columns, their flat offsets in a row, the first source column."""
    c_sign, c_off, c_lo, c_hi = geo[4], geo[5], geo[6], geo[7]
    n_valid = max(c_hi - c_lo, 0)
    left = c_lo * channels
    right = c_hi * channels if n_valid > 0 else left
    first_col = c_off + c_lo if c_sign == 1 else c_off - c_lo
    return n_valid, left, right, first_col, out_w * channels


@njit(inline="always", **_OPTS)
def _valid_rows(geo, in_w, channels, out_h, layout, dst, fill_row):
    """Paint the rows wholly outside the valid rectangle; return the valid rows ``[r_lo, r_hi)``,
    the flat source index of row ``r_lo``'s span and the source step from one row to the next.

    The valid rows then walk the source with a fixed step (see the kernels):
    measured on 64 images out of cache, 10-25 % faster than checking each row.
    """
    n_valid, row_len = layout[0], layout[4]
    r_lo = min(max(geo[2], 0), out_h)
    r_hi = min(max(geo[3], r_lo), out_h)
    if n_valid == 0:
        r_hi = r_lo
    for r in range(r_lo):
        _fill_span(dst, r * row_len, fill_row, 0, row_len)
    for r in range(r_hi, out_h):
        _fill_span(dst, r * row_len, fill_row, 0, row_len)
    step = geo[0] * in_w * channels
    return r_lo, r_hi, ((geo[0] * r_lo + geo[1]) * in_w + layout[3]) * channels, step


@njit(inline="always", **_OPTS)
def _fill_sides(dst, ob, fill_row, layout):
    """Paint the fill left and right of a valid row's span (row starting at flat index ``ob``)."""
    left, right, row_len = layout[1], layout[2], layout[4]
    if left > 0 or right < row_len:
        _fill_span(dst, ob, fill_row, 0, left)
        _fill_span(dst, ob + right, fill_row, right, row_len - right)


@njit(**_OPTS)
def _render_u8(img, out, geo, mode, add, lut, fill, boxes, nbox, boxcols):
    in_w = img.shape[1]
    out_h, out_w, channels = out.shape
    src = img.reshape(-1)
    dst = out.reshape(-1)
    lut_flat = lut.reshape(-1)
    layout = _layout(geo, out_w, channels)
    n_valid, left, c_sign = layout[0], layout[1], geo[4]
    fill_row = _pattern_row(fill, out_w)
    # clip(x + k) == saturating (x + pos) then saturating (- neg), all in bytes.
    pos = np.empty(channels, np.uint8)
    neg = np.empty(channels, np.uint8)
    for c in range(channels):
        pos[c] = min(max(add[c], 0), 255)
        neg[c] = min(max(-add[c], 0), 255)
    # Per-image rows of per-channel constants, only for the colour mode in use (a row of
    # uint64 LUT offsets is 8 bytes a byte: worth skipping when there is no table).
    pos_row = _pattern_row(pos, n_valid if mode == 1 else 0)
    neg_row = _pattern_row(neg, n_valid if mode == 1 else 0)
    chan_row = _pattern_row(np.arange(channels).astype(np.uint64) * np.uint64(256), n_valid if mode == 2 else 0)
    n = n_valid * channels
    if mode == 0 and _is_identity(geo, img.shape, out.shape):
        # Nothing moves (an erase alone, say): one flat copy, no per-row work.
        for j in range(np.uint64(dst.size)):
            dst[j] = src[j]
        _boxes(out, boxes, nbox, boxcols)
        return
    # Forward spans read a slice of the source row and write through flat unsigned indices.
    # (Flat indices on the source as well were as fast while the rows go forwards, but ~8x
    # slower for a vertical flip, whose source rows go backwards: LLVM's vectorised loop
    # lost its footing on a base that falls by a row each time. Measured, 256x256x3.)
    row_len = layout[4]
    r_lo, r_hi, i0, step = _valid_rows(geo, in_w, channels, out_h, layout, dst, fill_row)
    for r in range(r_lo, r_hi):
        ob = r * row_len
        _fill_sides(dst, ob, fill_row, layout)
        o0 = ob + left
        if mode == 0:
            if c_sign == 1:
                s = src[i0:i0 + n]
                b = np.uint64(o0)
                for j in range(np.uint64(n)):
                    dst[b + j] = s[j]
            else:
                _copy_span(src, dst, i0, o0, n_valid, channels, c_sign)
            i0 += step
            continue
        d = dst[o0:o0 + n]
        if c_sign == -1:
            _copy_span(src, dst, i0, o0, n_valid, channels, c_sign)
            # In place on the span just written (still in L1); written with d
            # alone so LLVM sees no aliasing and vectorises.
            if mode == 1:
                for j in range(np.uint64(n)):
                    d[j] = _sub_sat(_add_sat(d[j], pos_row[j]), neg_row[j])
            elif channels == 3:
                _lut3(d, d, lut, n_valid)
            else:
                for j in range(np.uint64(n)):
                    d[j] = lut_flat[chan_row[j] + np.uint64(d[j])]
        else:
            s = src[i0:i0 + n]
            b = np.uint64(o0)
            if mode == 1:
                for j in range(np.uint64(n)):
                    dst[b + j] = _sub_sat(_add_sat(s[j], pos_row[j]), neg_row[j])
            elif channels == 3:
                _lut3(s, dst[o0:o0 + n], lut, n_valid)
            else:
                for j in range(np.uint64(n)):
                    dst[b + j] = lut_flat[chan_row[j] + np.uint64(s[j])]
        i0 += step
    _boxes(out, boxes, nbox, boxcols)


@njit(**_OPTS)
def _render_f32(img, out, geo, scales, offsets, fill, boxes, nbox, boxcols):
    in_w = img.shape[1]
    out_h, out_w, channels = out.shape
    src = img.reshape(-1)
    dst = out.reshape(-1)
    layout = _layout(geo, out_w, channels)
    n_valid, left, c_sign = layout[0], layout[1], geo[4]
    fill_row = _pattern_row(fill, out_w)
    steps = scales.shape[0]
    scale_rows = np.empty((steps, max(n_valid, 1) * channels), np.float32)
    offset_rows = np.empty((steps, max(n_valid, 1) * channels), np.float32)
    for k in range(steps):
        scale_rows[k] = _pattern_row(scales[k], n_valid)
        offset_rows[k] = _pattern_row(offsets[k], n_valid)
    n = n_valid * channels
    row_len = layout[4]
    r_lo, r_hi, i0, step = _valid_rows(geo, in_w, channels, out_h, layout, dst, fill_row)
    for r in range(r_lo, r_hi):
        ob = r * row_len
        _fill_sides(dst, ob, fill_row, layout)
        o0 = ob + left
        _copy_span(src, dst, i0, o0, n_valid, channels, c_sign)
        i0 += step
        d = dst[o0:o0 + n]
        for k in range(steps):
            sk = scale_rows[k]
            ok = offset_rows[k]
            for j in range(np.uint64(n)):
                d[j] = d[j] * sk[j] + ok[j]
    _boxes(out, boxes, nbox, boxcols)


@njit(parallel=True, **_OPTS)
def _render_u8_batch(imgs, outs, geo, mode, add, lut, fill, boxes, nbox, boxcols):
    for n in prange(imgs.shape[0]):
        _render_u8(imgs[n], outs[n], geo[n], mode[n], add[n], lut[n], fill[n], boxes[n], nbox[n], boxcols[n])


@njit(parallel=True, **_OPTS)
def _render_f32_batch(imgs, outs, geo, scales, offsets, fill, boxes, nbox, boxcols):
    for n in prange(imgs.shape[0]):
        _render_f32(imgs[n], outs[n], geo[n], scales[n], offsets[n], fill[n], boxes[n], nbox[n], boxcols[n])
