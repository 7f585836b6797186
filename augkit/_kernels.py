"""numba kernels: private, unchecked, pure functions of arrays and plain numbers.

One kernel renders a whole fused plan (see :mod:`augkit.plan`): it reads each
needed source pixel once through a per-axis integer map ``src = sign * dst +
offset``, maps its colour, writes it once, paints the fill outside the valid
rectangle and then the constant erase boxes. The callers in ``plan.py`` have
validated everything; nothing here checks its arguments.

Pixels under an erase box are written twice (the row, then at once the box's
part of it), on purpose: a kernel that wrote every output pixel exactly once,
each row split into runs of source, fill and box around the boxes, was
measured slower in an in-process A/B on 256x256x3 (one box: single calls 1.10x
the time; three boxes, batch of 64: 1.31x; the 5-transform pipeline 1.11x).
The second write of a box lands in cache lines the row just wrote.

``geo`` packs the map as ``[r_sign, r_off, r_lo, r_hi, c_sign, c_off, c_lo,
c_hi]``: output rows ``r_lo <= r < r_hi`` (and the same for columns) read the
source, the rest is fill. ``mode`` picks the colour map for uint8: 0 copy,
1 ``clip(x + add[c], 0, 255)`` (as a saturating byte add then a saturating
byte subtract), 2 lookup table ``lut[c, v]``. Float
images apply ``k`` affine steps ``x * scale[k, c] + offset[k, c]`` in order, in
float32, exactly as the unfused transforms do one after another.

Why the code looks the way it does (measured on the project machine, 256x256x3):

- The row loops (uint8 and float32) move bytes through small intrinsics on raw addresses
  (:func:`_byte_op`: 32-byte copies and saturating adds, an overlapping last
  vector, then bytes), never through an array slice per row (each slice costs
  a pair of reference-counting calls: ~8 us of a flip went to them) nor
  through a loop left to LLVM's vectoriser, which guards its vector loop with
  a no-overlap check hoisted out of the row loop; for rows read bottom-up (a
  vertical flip) the check always failed and the copy went a byte at a time,
  ~8x slower.
- Flat ``uint64`` indices where indices remain: numba adds negative-index
  wraparound to signed indices, which stops LLVM from vectorising.
- No slice assignment or ``np.copyto``: those go through memcpy, which is
  several times slower on this CPU when source and destination sit at certain
  distances apart.
- LLVM's saturating ``uadd.sat``/``usub.sat`` on bytes: numba widens uint8
  arithmetic to int64 (4 lanes per vector); the intrinsics keep 32 lanes, and
  a tint costs a few microseconds instead of ~55 us.
- Horizontal flips go through a row buffer that stays in L1: the source is
  read forwards, the buffer written backwards, then copied forwards into the
  output with the colour map. Writing the output row backwards was ~1.5x
  slower for a flip of 64 images out of cache (float32: ~1.25x). 3-byte
  pixels are reversed 16 at a time with byte shuffles (:func:`_reverse_x3`; 32 at a time
  where the CPU has AVX-512 VBMI).
- The row helpers are compiled functions the kernels call (a call per row
  segment), not numba-inlined copies (``inline="always"``, kept for a few
  one-liners), which numba typed and lowered once per call site. Against the
  inlined version, in one process: the 5-transform batch 0.89-0.91x the time,
  single calls 0.92-0.96x, a cold compile of the first pipeline call and batch
  ~28 s against ~32 s.
- Erase boxes are painted on each row just after it is written, while it is in
  L1; painted after the whole image, they cost ~6 us of a ~45 us 256x256 image
  in a batch of 64. With the row buffer above, the 5-transform batch took
  0.82-0.89x its former time. (An erase alone is one flat copy, then the boxes:
  copying row by row to paint them in L1 was ~1.1x slower.)

This module is imported lazily (first render), so ``import augkit`` compiles
nothing; ``cache=True`` keeps compiled code on disk between processes.

**All of augkit's compiled rendering code lives in this one file**, on purpose:
numba's on-disk cache checks only the source file of the function it caches,
while a compiled function carries the code of everything it calls. With the
single-call entry point in one file and the kernel in another, editing the
kernel left the entry point running its old copy from the cache (found the
hard way; ``tests/test_program.py`` now checks that no cached function here
calls compiled code from another module).

Flat pipelines, sampled, planned and rendered in one call
----------------------------------------------------------
A flat pipeline (one built-in transform, or a :class:`~augkit.Compose` whose
children are all built-in transforms) is described by one table (see
:mod:`augkit._program`): per transform a row of settings, its kind code, its
probability, where its uniforms start, and its fill colour. From one block of uniforms drawn in Python
(``rng.random(k)``), :func:`sample_all` computes every transform's parameters
into a row of numbers (converted to the recorded dicts only when asked), and
:func:`plan_u8` folds them into the fused kernel's arguments exactly as
:class:`augkit.plan.Plan` folds primitive ops: one integer map per axis, one
colour map (saturating add or lookup table), a fill colour and constant erase
boxes in output coordinates. What this cannot hold (two geometric steps whose
uncovered areas show different fills, noise-filled boxes) is reported as
``FALLBACK`` and rendered by the general Python path from the same
parameters, so results never depend on the path (tested).

Sampling happens only here, for single calls, batches and the general path
alike: the same uniforms always give the same parameters.

A single call (:func:`run_u8`) allocates nothing but its output: the
parameters, the plan and the kernel's rows of constants live in a byte
workspace that each calling thread keeps between calls (laid out by
:func:`_ws_layout`). numba still makes a small record for each array it is
handed, hence one table rather than five arrays per program. Before, a call made
~32 allocations in compiled code; a lone flip on a 4x4 image took 7.7 us, now 7.1.

A lone flip or crop (a program of one such transform, no Compose around it)
goes shorter still once its first call has run: :meth:`augkit._program.Program.run_lone`
samples its window in Python, by the same rules as :func:`sample_leaf`, and
:func:`lone_u8` copies the rows: no plan, no workspace, one array handed in.
On the Intel Xeon machine a 4x4 flip call took ~2.8 us instead of ~4.9 us,
and albumentations' ~3.1 us (``tests/test_lone.py`` checks the pixels and the
draws against the general call).

Uniform layout per transform (``n_uniforms`` in transforms.py must agree):
random transforms start with their ``p`` draw (used or not), then
RandomCrop ``x, y``; Shift ``dx, dy``; Tint ``n`` offsets then ``n`` scales
(``n`` = channels, or 1 without ``per_channel``); BoxErase a count draw,
22 per possible box (10 tries x (area, ratio), then y, x) and a noise seed.
Crop and CenterCrop draw nothing. A Compose wrapper draws its own ``p`` first.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._cache_load import load_without_refresh

_OPTS = dict(cache=True, nogil=True)


def _byte_op(width, saturate):
    """An intrinsic on ``width`` bytes at raw addresses: ``dst = src`` or, with ``saturate``,
    ``dst = (src +sat pos) -sat neg``. Unaligned loads and stores, no bounds, no alias checks.

    The row loops below move bytes through these rather than through array
    slices or loops LLVM vectorises on its own: a slice per row costs reference
    counting calls (~8 us of a 256x256x3 flip went to them), and LLVM's
    vectorised copy guards itself with a no-overlap check that it hoists out
    of the row loop, which fails for rows read bottom-up (a vertical flip fell
    back to a byte-at-a-time copy, ~8x slower).
    """
    @intrinsic
    def op(typingctx, dst_addr, src_addr, pos_addr, neg_addr):
        def codegen(context, builder, signature, args):
            i8 = ir.IntType(8)
            ty = ir.VectorType(i8, width) if width > 1 else i8
            suffix = f"v{width}i8" if width > 1 else "i8"

            def at(addr):
                return builder.inttoptr(addr, ty.as_pointer())
            value = builder.load(at(args[1]), align=1)
            if saturate:
                fnty = ir.FunctionType(ty, [ty, ty])
                add = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.uadd.sat.{suffix}")
                sub = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.usub.sat.{suffix}")
                value = builder.call(add, [value, builder.load(at(args[2]), align=1)])
                value = builder.call(sub, [value, builder.load(at(args[3]), align=1)])
            builder.store(value, at(args[0]), align=1)
            return context.get_dummy_value()
        return types.void(types.uint64, types.uint64, types.uint64, types.uint64), codegen
    return op


_move32, _move1 = _byte_op(32, False), _byte_op(1, False)
_addsat32, _addsat1 = _byte_op(32, True), _byte_op(1, True)
_Z = np.uint64(0)
_V = np.uint64(32)


@njit(**_OPTS)
def _move_bytes(dst, src, count):
    """Copy ``count`` bytes from address ``src`` to ``dst`` (regions must not overlap)."""
    if count >= _V:
        j = _Z
        while j + _V <= count:
            _move32(dst + j, src + j, _Z, _Z)
            j += _V
        if j < count:   # the last, partial vector: one more, overlapping what is written
            _move32(dst + count - _V, src + count - _V, _Z, _Z)
    else:
        for j in range(count):
            _move1(dst + j, src + j, _Z, _Z)


@njit(**_OPTS)
def _addsat_bytes(dst, src, pos, neg, count):
    """``dst[j] = (src[j] +sat pos[j]) -sat neg[j]`` for ``count`` bytes at these addresses.

    In place (``dst == src``) the last partial vector goes a byte at a time:
    redoing bytes already done would add twice.
    """
    j = _Z
    while j + _V <= count:
        _addsat32(dst + j, src + j, pos + j, neg + j)
        j += _V
    if j < count and dst != src and count >= _V:
        k = count - _V
        _addsat32(dst + k, src + k, pos + k, neg + k)
    else:
        for k in range(j, count):
            _addsat1(dst + k, src + k, pos + k, neg + k)


def _reverse_sources(n):
    """For each third of ``n`` reversed 3-byte pixels (``n`` bytes): the source byte of each output byte."""
    return [[(n - 1 - j // 3) * 3 + j % 3 for j in range(n * k, n * k + n)] for k in range(3)]


def _reverse_x3(n):
    """An intrinsic writing the ``n`` three-byte pixels at ``src_addr`` to ``dst_addr`` in reverse
    pixel order.

    Three ``n``-byte loads (the ``3n`` source bytes, once) and byte shuffles
    between them (``pshufb``/``vpermb`` on x86, ``tbl`` on ARM): each output
    third draws on two of the loaded vectors, the middle one on all three (two
    shuffles). numba's own loop moves one byte at a time here; six overlapping
    loads instead of three were ~10 % slower.
    """
    @intrinsic
    def reverse(typingctx, dst_addr, src_addr):
        def codegen(context, builder, signature, args):
            i8, i32 = ir.IntType(8), ir.IntType(32)
            vec = ir.VectorType(i8, n)
            mask_t = ir.VectorType(i32, n)
            dst = builder.inttoptr(args[0], i8.as_pointer())
            src = builder.inttoptr(args[1], i8.as_pointer())
            v = [builder.load(builder.bitcast(builder.gep(src, [ir.Constant(i32, n * q)]), vec.as_pointer()),
                              align=1) for q in range(3)]
            for k, sources in enumerate(_reverse_sources(n)):
                used = sorted({x // n for x in sources})
                if len(used) <= 2:
                    a, b = (used * 2)[:2]
                    mask = [x - n * a if x // n == a else n + x - n * b for x in sources]
                    out = builder.shuffle_vector(v[a], v[b], ir.Constant(mask_t, mask))
                else:   # bytes from all three: vectors 0 and 1 first, then 2 into the remaining places
                    first = builder.shuffle_vector(v[0], v[1],
                                                   ir.Constant(mask_t, [x if x < 2 * n else 0 for x in sources]))
                    mask = [j if x < 2 * n else n + x - 2 * n for j, x in enumerate(sources)]
                    out = builder.shuffle_vector(first, v[2], ir.Constant(mask_t, mask))
                builder.store(out, builder.bitcast(builder.gep(dst, [ir.Constant(i32, n * k)]), vec.as_pointer()),
                              align=1)
            return context.get_dummy_value()
        return types.void(types.uint64, types.uint64), codegen
    return reverse


def _wide_byte_permutes():
    """True when numba compiles for a CPU with AVX-512 VBMI (``vpermb``: any byte of two 32-byte
    registers into any place), where 32-pixel blocks beat 16-pixel ones. The features are the
    ones numba's JIT compiles with: ``NUMBA_CPU_FEATURES``, else the host's, without AVX under
    ``NUMBA_ENABLE_AVX=0``."""
    from numba.core import codegen, config
    features = config.CPU_FEATURES
    if features is None:
        features = codegen.get_host_cpu_features()
    return "+avx512vbmi" in (features or "").split(",")


_reverse16x3 = _reverse_x3(16)
# Blocks of 32 pixels where the CPU permutes bytes across 32-byte registers in one instruction
# (on an Intel Xeon with AVX-512 VBMI, a 256x256 flip took 0.87x the time of 16-pixel blocks);
# with AVX2 alone a 32-byte permute across its two halves takes several instructions, so 16.
_WIDE = _wide_byte_permutes()
_BLOCK = 32 if _WIDE else 16
_reverse_block = _reverse_x3(32) if _WIDE else _reverse16x3


_U1 = np.uint64(1)
_U2 = np.uint64(2)


@njit(**_OPTS)
def _pattern_into(row, values, n_pixels):
    """``values`` repeated ``n_pixels`` times at the start of ``row``; returns that part of it."""
    channels = values.shape[0]
    for x in range(n_pixels):
        for c in range(channels):
            row[x * channels + c] = values[c]
    return row[:n_pixels * channels]


@njit(inline="always", **_OPTS)
def _pattern_row(values, n_pixels):
    return _pattern_into(np.empty(max(n_pixels, 1) * values.shape[0], values.dtype), values, n_pixels)


@njit(**_OPTS)
def _fill_span(dst, start, fill, first, count, size):
    """Copy ``count`` items of ``size`` bytes from item ``first`` of the fill pattern at address
    ``fill`` to item ``start`` of the image at address ``dst``."""
    if count > 0:
        size = np.uint64(size)
        _move_bytes(dst + np.uint64(start) * size, fill + np.uint64(first) * size, np.uint64(count) * size)


@njit(**_OPTS)
def _box_patterns(buf, boxes, nbox, boxcols, row):
    """Box ``b``'s colour over its width at ``buf[b * row:]``, for :func:`_box_rows`."""
    for b in range(nbox):
        _pattern_into(buf[row * b:row * (b + 1)], boxcols[b], boxes[b, 3] - boxes[b, 2])


@njit(**_OPTS)
def _box_rows(D, boxes, nbox, pats, row, r0, r1, out_w, channels, size):
    """Paint the constant boxes' parts on output rows ``r0 <= r < r1`` of the image at address
    ``D`` (items of ``size`` bytes); box ``b``'s row (its colour over its width) is at
    ``pats + b * row * size``."""
    for b in range(nbox):
        y0, y1 = max(boxes[b, 0], r0), min(boxes[b, 1], r1)
        count = np.uint64((boxes[b, 3] - boxes[b, 2]) * channels * size)
        pat = pats + np.uint64(b * row * size)
        for r in range(y0, y1):
            _move_bytes(D + np.uint64((r * out_w + boxes[b, 2]) * channels * size), pat, count)


@njit(**_OPTS)
def _reverse_span(src, buf, i0, n_valid, channels):
    """A pixel-reversed copy of one row's valid span into the start of ``buf``, a row buffer:
    ``i0`` is the flat index of the span's rightmost source pixel.

    The source is read forwards (the prefetcher follows an ascending stream),
    the buffer, which stays in L1, is written backwards; the kernels then copy
    it forwards into the output. (3-channel uint8 spans go through _flip3_u8.)
    """
    n = n_valid * channels
    s = src[i0 - n + channels:i0 + channels]
    d = buf[:n]
    C = np.uint64(channels)
    last = np.uint64(n - channels)
    if channels == 1:
        for t in range(np.uint64(n_valid)):
            d[last - t] = s[t]
    elif channels == 3:
        for t in range(np.uint64(n_valid)):
            k = t * np.uint64(3)
            o = last - k
            d[o] = s[k]
            d[o + _U1] = s[k + _U1]
            d[o + _U2] = s[k + _U2]
    elif channels == 4 and d.itemsize == 1:
        # RGBA bytes: move whole 4-byte pixels.
        d4 = d.view(np.uint32)
        s4 = s.view(np.uint32)
        top = np.uint64(n_valid - 1)
        for t in range(np.uint64(n_valid)):
            d4[top - t] = s4[t]
    else:
        for t in range(np.uint64(n_valid)):
            k = t * C
            o = last - k
            for c in range(C):
                d[o + c] = s[k + c]


@njit(**_OPTS)
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


@njit(**_OPTS)
def _flip3_u8(S, D, i0, n_valid):
    """A pixel-reversed span of 3-byte pixels from the image at address ``S`` to the start of
    the buffer at address ``D``: ``i0`` is the byte offset of the span's rightmost source pixel.

    The output's last pixels first (they come from the span's first source
    pixels: a 16-pixel block when ``_BLOCK`` is 32 and 16 or more remain past the
    whole blocks, then pixel by pixel), then whole blocks of ``_BLOCK`` pixels
    (16, or 32 with AVX-512 VBMI) with byte shuffles: the order that reads the
    source forwards (the prefetcher follows an ascending stream; reading each row
    backwards was ~3x slower once out of cache).
    """
    s_a = S + np.uint64(i0 - 3 * (n_valid - 1))          # the leftmost source pixel of the span
    blocks = n_valid // _BLOCK
    x0 = blocks * _BLOCK      # output pixels from x0 on come from the span's first source pixels
    # Those first (a 16-pixel block when _BLOCK is 32 and 16 or more remain, then pixel by pixel),
    # then the whole blocks, in source order.
    last = S + np.uint64(i0)
    tail = x0
    if n_valid - x0 >= 16:
        tail = x0 + 16
    for x in range(np.uint64(tail), np.uint64(n_valid)):
        k = last - x * np.uint64(3)
        o = x * np.uint64(3)
        for c in range(3):
            _move1(D + o + c, k + c, _Z, _Z)
    if tail > x0:
        _reverse16x3(D + np.uint64(3 * x0), s_a + np.uint64(3 * (n_valid - x0 - 16)))
    for b in range(blocks - 1, -1, -1):
        _reverse_block(D + np.uint64(3 * _BLOCK * b), s_a + np.uint64(3 * (n_valid - _BLOCK - _BLOCK * b)))


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
def _row_range(geo, out_h, n_valid):
    """The output rows ``[r_lo, r_hi)`` that show source pixels (none when no column does)."""
    r_lo = min(max(geo[2], 0), out_h)
    r_hi = min(max(geo[3], r_lo), out_h)
    return r_lo, (r_lo if n_valid == 0 else r_hi)


@njit(inline="always", **_OPTS)
def _uncovers(geo, layout, out_h):
    """True when some output pixel shows the fill: a row or a column outside the valid rectangle."""
    r_lo, r_hi = _row_range(geo, out_h, layout[0])
    return r_lo > 0 or r_hi < out_h or layout[1] > 0 or layout[2] < layout[4]


@njit(**_OPTS)
def _valid_rows(geo, in_w, channels, out_h, layout, dst, fill_row):
    """Paint the rows wholly outside the valid rectangle of ``dst`` (flat) with ``fill_row``;
    return the two arrays' addresses, the valid rows ``[r_lo, r_hi)``, the flat source index
    of row ``r_lo``'s span and the source step from one row to the next.

    The valid rows then walk the source with a fixed step (see the kernels):
    measured on 64 images out of cache, 10-25 % faster than checking each row.
    """
    row_len = layout[4]
    r_lo, r_hi = _row_range(geo, out_h, layout[0])
    D = np.uint64(dst.ctypes.data)
    F = np.uint64(fill_row.ctypes.data)
    for r in range(r_lo):
        _fill_span(D, r * row_len, F, 0, row_len, dst.itemsize)
    for r in range(r_hi, out_h):
        _fill_span(D, r * row_len, F, 0, row_len, dst.itemsize)
    step = geo[0] * in_w * channels
    return D, F, r_lo, r_hi, ((geo[0] * r_lo + geo[1]) * in_w + layout[3]) * channels, step


@njit(**_OPTS)
def _row_start(D, F, r, layout, size):
    """Paint the fill left and right of valid row ``r``'s span (image at address ``D``, fill
    pattern at ``F``, items of ``size`` bytes); return the flat index where the span starts."""
    left, right, row_len = layout[1], layout[2], layout[4]
    ob = r * row_len
    if left > 0 or right < row_len:
        _fill_span(D, ob, F, 0, left, size)
        _fill_span(D, ob + right, F, right, row_len - right, size)
    return ob + left


@njit(inline="always", **_OPTS)
def _aligned(n):
    return (n + 63) // 64 * 64


@njit(inline="always", **_OPTS)
def u8_scratch_bytes(out_w, channels, maxb):
    """Bytes of scratch :func:`_render_u8` works in for outputs ``out_w`` pixels wide with up
    to ``maxb`` erase boxes."""
    return (12 + maxb) * out_w * channels + 2 * channels + 96


@njit(**_OPTS)
def _render_u8(img, out, geo, mode, add, lut, fill, boxes, nbox, boxcols, scratch):
    """Render one uint8 image; ``scratch`` (bytes, 8-aligned) holds the per-image rows of
    constants when it has :func:`u8_scratch_bytes`, else the kernel allocates its own."""
    in_w = img.shape[1]
    out_h, out_w, channels = out.shape
    src = img.reshape(-1)
    dst = out.reshape(-1)
    lut_flat = lut.reshape(-1)
    layout = _layout(geo, out_w, channels)
    n_valid, c_sign = layout[0], geo[4]
    row = out_w * channels
    need = u8_scratch_bytes(out_w, channels, boxes.shape[0])
    if scratch.size < need:
        scratch = np.empty(need, np.uint8)
    # scratch: [LUT offsets (uint64, 8 rows' bytes) | fill | pos | neg | flipped row |
    #           pos, neg per channel | each box's row: its colour over its width]
    fill_row = scratch[8 * row:9 * row]
    if _uncovers(geo, layout, out_h):
        # Built only when some pixel shows the fill (~0.5 us a 256-pixel row otherwise wasted
        # on every flip and crop).
        _pattern_into(fill_row, fill, out_w)
    # clip(x + k) == saturating (x + pos) then saturating (- neg), all in bytes.
    pos = scratch[12 * row:12 * row + channels]
    neg = scratch[12 * row + channels:12 * row + 2 * channels]
    for c in range(channels):
        pos[c] = min(max(add[c], 0), 255)
        neg[c] = min(max(-add[c], 0), 255)
    # Per-image rows of per-channel constants, only for the colour mode in use (a row of
    # uint64 LUT offsets is 8 bytes a byte: worth skipping when there is no table).
    pos_row = _pattern_into(scratch[9 * row:10 * row], pos, n_valid if mode == 1 else 0)
    neg_row = _pattern_into(scratch[10 * row:11 * row], neg, n_valid if mode == 1 else 0)
    flip_row = scratch[11 * row:12 * row]
    pats = _aligned(12 * row + 2 * channels)
    pats_a = np.uint64(scratch.ctypes.data) + np.uint64(pats)
    chan_row = scratch[:8 * row].view(np.uint64)
    if mode == 2 and channels != 3:
        for x in range(n_valid):
            for c in range(channels):
                chan_row[x * channels + c] = np.uint64(256 * c)
    n = n_valid * channels
    S = np.uint64(src.ctypes.data)
    D = np.uint64(dst.ctypes.data)
    if mode == 0 and _is_identity(geo, img.shape, out.shape):
        # Nothing moves (an erase alone, say): one flat copy, no per-row work.
        _move_bytes(D, S, np.uint64(dst.size))
        _box_patterns(scratch[pats:], boxes, nbox, boxcols, row)
        _box_rows(D, boxes, nbox, pats_a, row, 0, out_h, out_w, channels, 1)
        return
    _box_patterns(scratch[pats:], boxes, nbox, boxcols, row)
    # Rows move through raw addresses (see _byte_op), a source row at a fixed step from the last.
    pos_a = np.uint64(pos_row.ctypes.data)
    neg_a = np.uint64(neg_row.ctypes.data)
    B = np.uint64(flip_row.ctypes.data)
    nb = np.uint64(n)
    D, F, r_lo, r_hi, i0, step = _valid_rows(geo, in_w, channels, out_h, layout, dst, fill_row)
    for r in range(r_lo, r_hi):
        o0 = _row_start(D, F, r, layout, 1)
        d_a = D + np.uint64(o0)
        if c_sign == 1:
            s_a = S + np.uint64(i0)
            if mode == 0:
                _move_bytes(d_a, s_a, nb)
            elif mode == 1:
                _addsat_bytes(d_a, s_a, pos_a, neg_a, nb)
            elif channels == 3:
                _lut3(src[i0:i0 + n], dst[o0:o0 + n], lut, n_valid)
            else:
                a = np.uint64(i0)
                b = np.uint64(o0)
                for j in range(nb):
                    dst[b + j] = lut_flat[chan_row[j] + np.uint64(src[a + j])]
        else:
            # Pixel-reversed into the row buffer (in L1), then forwards into the output with
            # the colour map: writing each output row backwards, as the reversal itself does,
            # ran ~1.5x slower once the images were out of cache (batch of 64, 256x256x3).
            if channels == 3:
                _flip3_u8(S, B, i0, n_valid)
            else:
                _reverse_span(src, flip_row, i0, n_valid, channels)
            if mode == 0:
                _move_bytes(d_a, B, nb)
            elif mode == 1:
                _addsat_bytes(d_a, B, pos_a, neg_a, nb)
            elif channels == 3:
                _lut3(flip_row, dst[o0:o0 + n], lut, n_valid)
            else:
                b = np.uint64(o0)
                for j in range(nb):
                    dst[b + j] = lut_flat[chan_row[j] + np.uint64(flip_row[j])]
        # The boxes' parts on this row while it is still in L1: painting them after the
        # whole image cost ~6 us of 45 per 256x256 image of a batch of 64 (out of cache
        # by then).
        if nbox > 0:
            _box_rows(D, boxes, nbox, pats_a, row, r, r + 1, out_w, channels, 1)
        i0 += step
    # And on the rows that are all fill.
    _box_rows(D, boxes, nbox, pats_a, row, 0, r_lo, out_w, channels, 1)
    _box_rows(D, boxes, nbox, pats_a, row, r_hi, out_h, out_w, channels, 1)


@njit(**_OPTS)
def _render_f32(img, out, geo, scales, offsets, fill, boxes, nbox, boxcols):
    in_w = img.shape[1]
    out_h, out_w, channels = out.shape
    src = img.reshape(-1)
    dst = out.reshape(-1)
    layout = _layout(geo, out_w, channels)
    n_valid, c_sign = layout[0], geo[4]
    fill_row = _pattern_row(fill, out_w if _uncovers(geo, layout, out_h) else 0)
    steps = scales.shape[0]
    scale_rows = np.empty((steps, max(n_valid, 1) * channels), np.float32)
    offset_rows = np.empty((steps, max(n_valid, 1) * channels), np.float32)
    for k in range(steps):
        _pattern_into(scale_rows[k], scales[k], n_valid)
        _pattern_into(offset_rows[k], offsets[k], n_valid)
    n = n_valid * channels
    row = out_w * channels
    flip_row = np.empty(max(row, 1), np.float32)
    pats = np.empty((max(nbox, 1), max(row, 1)), np.float32)
    for b in range(nbox):
        _pattern_into(pats[b], boxcols[b], boxes[b, 3] - boxes[b, 2])
    P = np.uint64(pats.ctypes.data)
    S = np.uint64(src.ctypes.data)
    B = np.uint64(flip_row.ctypes.data)
    nb = np.uint64(4 * n)
    D, F, r_lo, r_hi, i0, step = _valid_rows(geo, in_w, channels, out_h, layout, dst, fill_row)
    for r in range(r_lo, r_hi):
        o0 = _row_start(D, F, r, layout, 4)
        # As in _render_u8: spans move through raw addresses, flipped ones through a row buffer.
        if c_sign == 1:
            _move_bytes(D + np.uint64(4 * o0), S + np.uint64(4 * i0), nb)
        else:
            _reverse_span(src, flip_row, i0, n_valid, channels)
            _move_bytes(D + np.uint64(4 * o0), B, nb)
        i0 += step
        d = dst[o0:o0 + n]
        for k in range(steps):
            sk = scale_rows[k]
            ok = offset_rows[k]
            for j in range(np.uint64(n)):
                d[j] = d[j] * sk[j] + ok[j]
        if nbox > 0:
            _box_rows(D, boxes, nbox, P, row, r, r + 1, out_w, channels, 4)
    _box_rows(D, boxes, nbox, P, row, 0, r_lo, out_w, channels, 4)
    _box_rows(D, boxes, nbox, P, row, r_hi, out_h, out_w, channels, 4)


@njit(parallel=True, **_OPTS)
def _render_u8_batch(imgs, outs, geo, mode, add, lut, fill, boxes, nbox, boxcols):
    need = u8_scratch_bytes(outs.shape[2], outs.shape[3], boxes.shape[1])
    for n in prange(imgs.shape[0]):
        _render_u8(imgs[n], outs[n], geo[n], mode[n], add[n], lut[n], fill[n], boxes[n], nbox[n], boxcols[n],
                   np.empty(need, np.uint8))


@njit(parallel=True, **_OPTS)
def _render_f32_batch(imgs, outs, geo, scales, offsets, fill, boxes, nbox, boxcols):
    for n in prange(imgs.shape[0]):
        _render_f32(imgs[n], outs[n], geo[n], scales[n], offsets[n], fill[n], boxes[n], nbox[n], boxcols[n])


# ================================================================ flat pipelines
HFLIP, VFLIP, CROP, CENTER, RCROP, SHIFT, TINT, ERASE = range(8)
OK, FALLBACK, TOO_SMALL = 0, 1, 2
# A program's table has a row per transform: its 8 settings, then these columns, then its fill colour.
KIND, PROB, UOFF, FILL = 8, 9, 10, 11


# ---------------------------------------------------------------- sampling

@njit(**_OPTS)
def sample_leaf(kind, p, cfg, force, u, prow, h, w, c):
    """Parameters of one transform from its uniforms ``u`` into ``prow`` (``prow[0]`` = applied).

    Returns ``(status, out_h, out_w)``; ``TOO_SMALL`` when a crop does not fit.
    """
    prow[:] = 0.0
    if kind == CROP:
        if cfg[2] > w or cfg[3] > h:
            return TOO_SMALL, h, w
        prow[0] = 1.0
        return OK, int(cfg[3] - cfg[1]), int(cfg[2] - cfg[0])
    if kind == CENTER:
        ch, cw = int(cfg[0]), int(cfg[1])
        if (ch > h or cw > w) and cfg[2] == 0:
            return TOO_SMALL, h, w
        prow[0] = 1.0
        return OK, ch, cw
    if not force and not u[0] < p:
        return OK, h, w
    prow[0] = 1.0
    if kind == HFLIP or kind == VFLIP:
        return OK, h, w
    if kind == RCROP:
        ch, cw = int(cfg[0]), int(cfg[1])
        if (ch > h or cw > w) and cfg[2] == 0:
            return TOO_SMALL, h, w
        hh, ww = max(h, ch), max(w, cw)
        # floor(u * n) is uniform on 0..n-1; min() guards the u -> 1 rounding edge.
        prow[1] = min(int(u[1] * (ww - cw + 1)), ww - cw)
        prow[2] = min(int(u[2] * (hh - ch + 1)), hh - ch)
        return OK, ch, cw
    if kind == SHIFT:
        xlo, xhi, ylo, yhi = cfg[0], cfg[1], cfg[2], cfg[3]
        if cfg[4] != 0:  # whole pixels, min..max inclusive
            prow[1] = xlo + min(math.floor(u[1] * (xhi - xlo + 1)), xhi - xlo)
            prow[2] = ylo + min(math.floor(u[2] * (yhi - ylo + 1)), yhi - ylo)
        else:
            prow[1] = math.floor((xlo + u[1] * (xhi - xlo)) * w + 0.5)
            prow[2] = math.floor((ylo + u[2] * (yhi - ylo)) * h + 0.5)
        return OK, h, w
    if kind == TINT:
        lo, hi, slo, shi = cfg[0], cfg[1], cfg[2], cfg[3]
        n = c if cfg[4] != 0 else 1
        for ch in range(c):
            j = ch if cfg[4] != 0 else 0
            prow[1 + ch] = lo + u[1 + j] * (hi - lo)
            prow[1 + c + ch] = slo + u[1 + n + j] * (shi - slo)
        return OK, h, w
    # ERASE: torchvision's Random Erasing, up to 10 tries per box.
    slo, shi, rlo, rhi = cfg[0], cfg[1], cfg[2], cfg[3]
    clo, chi = int(cfg[4]), int(cfg[5])
    count = clo if clo == chi else clo + min(int(u[1] * (chi - clo + 1)), chi - clo)
    area = h * w
    nb = 0
    for b in range(count):
        d = 2 + 22 * b
        for t in range(10):
            erase_area = area * (slo + u[d + 2 * t] * (shi - slo))
            aspect = math.exp(rlo + u[d + 2 * t + 1] * (rhi - rlo))
            bh = int(np.rint(math.sqrt(erase_area * aspect)))
            bw = int(np.rint(math.sqrt(erase_area / aspect)))
            if 0 < bh < h and 0 < bw < w:
                y = min(int(u[d + 20] * (h - bh + 1)), h - bh)
                x = min(int(u[d + 21] * (w - bw + 1)), w - bw)
                k = 3 + 4 * nb
                prow[k], prow[k + 1], prow[k + 2], prow[k + 3] = x, y, x + bw, y + bh
                nb += 1
                break
    prow[1] = nb
    prow[2] = math.floor(u[2 + 22 * chi] * 9007199254740992.0)  # a 53-bit noise seed
    return OK, h, w


@njit(**_OPTS)
def sample_all(tab, top, u, prow, shapes, h, w, c):
    """Sample every transform of a flat program; ``shapes[i]`` gets the (h, w) each one sees.

    ``tab`` is the program's table (a row per transform: settings, then the
    ``KIND``, ``PROB`` and ``UOFF`` columns, then the fill), ``top`` the wrapping
    Compose's ``p`` (its draw is ``u[0]``), or -1 for a lone transform. Returns
    ``(status, top_applied, out_h, out_w, leaf)``; ``leaf`` is the transform
    that failed when status is ``TOO_SMALL``.
    """
    prow[:] = 0.0
    if top >= 0 and not u[0] < top:
        return OK, False, h, w, -1
    # A run-time False, not the literal: a literal would compile a second sample_leaf.
    force = tab.shape[0] < 0
    for i in range(tab.shape[0]):
        shapes[i, 0], shapes[i, 1] = h, w
        o = int(tab[i, UOFF])
        status, h, w = sample_leaf(int(tab[i, KIND]), tab[i, PROB], tab[i, :8], force, u[o:], prow[i], h, w, c)
        if status != OK:
            return status, True, h, w, i
    return OK, True, h, w, -1


# ---------------------------------------------------------------- planning (uint8)

@njit(**_OPTS)
def _set_axis(a, sign, off, size, lo, hi):
    a[0], a[1], a[2], a[3], a[4] = sign, off, size, lo, hi


@njit(**_OPTS)
def _compose(m, g):
    """``m`` after ``g`` in place (see :func:`augkit.plan.compose_axis`)."""
    if g[0] == 1:
        plo, phi = m[3] - g[1], m[4] - g[1]
    else:
        plo, phi = g[1] - m[4] + 1, g[1] - m[3] + 1
    lo = max(g[3], plo)
    hi = min(g[4], phi)
    if hi <= lo:
        lo = hi = 0
    m[1] = m[0] * g[1] + m[1]
    m[0] = m[0] * g[0]
    m[2], m[3], m[4] = g[2], lo, hi


@njit(**_OPTS)
def _preimage(lo, hi, g):
    if g[0] == 1:
        return lo - g[1], hi - g[1]
    return g[1] - hi + 1, g[1] - lo + 1


@njit(**_OPTS)
def _add_geometry(rows, cols, g_rows, g_cols, fillv, state, fill, boxes, bcol):
    """Fold one geometric step; False when its fill clashes with a visible earlier one.

    ``state`` = [has_fill, colour mode, number of boxes].
    """
    adds_fill = g_rows[3] > 0 or g_rows[4] < g_rows[2] or g_cols[3] > 0 or g_cols[4] < g_cols[2]
    c = fill.shape[0]
    if adds_fill and state[0] == 1:
        same = True
        for k in range(c):
            if fill[k] != fillv[k]:
                same = False
        if not same:
            rlo, rhi = _preimage(rows[3], rows[4], g_rows)
            clo, chi = _preimage(cols[3], cols[4], g_cols)
            g_empty = g_rows[4] <= g_rows[3] or g_cols[4] <= g_cols[3]
            inside = rlo <= g_rows[3] and g_rows[4] <= rhi and clo <= g_cols[3] and g_cols[4] <= chi
            if not g_empty and not inside:
                return False
    kept = 0
    for b in range(state[2]):
        ny0, ny1 = _preimage(boxes[b, 0], boxes[b, 1], g_rows)
        nx0, nx1 = _preimage(boxes[b, 2], boxes[b, 3], g_cols)
        ny0, ny1 = max(ny0, g_rows[3]), min(ny1, g_rows[4])
        nx0, nx1 = max(nx0, g_cols[3]), min(nx1, g_cols[4])
        if ny1 <= ny0 or nx1 <= nx0:
            continue
        boxes[kept, 0], boxes[kept, 1], boxes[kept, 2], boxes[kept, 3] = ny0, ny1, nx0, nx1
        for k in range(c):
            bcol[kept, k] = bcol[b, k]
        kept += 1
    state[2] = kept
    _compose(rows, g_rows)
    _compose(cols, g_cols)
    if adds_fill:
        state[0] = 1
        for k in range(c):
            fill[k] = fillv[k]
    return True


@njit(**_OPTS)
def _add_tint(scale, offset, state, add, lut, fill, bcol, table):
    """Fold ``x * scale + offset`` (rounded half up, saturated) into the uint8 colour map.

    As in :func:`augkit.plan.tint_u8`: all scales 1 is a saturating add (which
    stays an add when nothing came before), anything else a lookup table; two
    maps in a row compose into one table (``table``: a ``(c, 256)`` scratch).
    """
    c = add.shape[0]
    plain = True
    for k in range(c):
        if scale[k] != 1.0:
            plain = False
    # Offsets and levels are clamped to +-256 before they become integers: beyond that every
    # level saturates alike, and a float beyond int64 has no integer value at all.
    if plain and state[1] == 0:
        for k in range(c):
            add[k] = math.floor(min(max(offset[k], -256.0), 256.0) + 0.5)
        state[1] = 1
        # the fill and the boxes painted so far take the new map too
        for k in range(c):
            if state[0] == 1:
                fill[k] = min(max(fill[k] + add[k], 0), 255)
            for b in range(state[2]):
                bcol[b, k] = min(max(bcol[b, k] + add[k], 0), 255)
        return
    for k in range(c):
        ks = math.floor(min(max(offset[k], -256.0), 256.0) + 0.5)
        for v in range(256):
            x = v + ks if plain else math.floor(min(max(v * scale[k] + offset[k], -256.0), 256.0) + 0.5)
            table[k, v] = min(max(x, 0), 255)
    for k in range(c):
        for v in range(256):
            # what the colour map so far makes of level v, then the new map
            prev = v if state[1] == 0 else (min(max(v + add[k], 0), 255) if state[1] == 1 else lut[k, v])
            lut[k, v] = table[k, prev]
        if state[0] == 1:
            fill[k] = table[k, fill[k]]
        for b in range(state[2]):
            bcol[b, k] = table[k, bcol[b, k]]
    state[1] = 2


_PLAN_INTS = 23   # int64 scratch of plan_u8: four axis maps of 5, then a state of 3


@njit(**_OPTS)
def plan_u8(tab, top, u, prow, shapes, h, w, c, geo, add, lut, fill, boxes, bcol, meta, ints, table):
    """Sample and fold a flat program for a uint8 image into the kernel's arguments.

    ``meta`` gets [status, out_h, out_w, colour mode, number of boxes, failing
    transform, Compose applied]. ``lut`` must be ``(c, 256)``; ``ints``
    (``_PLAN_INTS`` int64) and ``table`` (``(c, 256)`` uint8) are scratch.
    """
    status, applied, oh, ow, leaf = sample_all(tab, top, u, prow, shapes, h, w, c)
    meta[0], meta[1], meta[2], meta[5], meta[6] = status, oh, ow, leaf, 1 if applied else 0
    meta[3] = meta[4] = 0
    if status != OK:
        return
    rows, cols, g_rows, g_cols = ints[0:5], ints[5:10], ints[10:15], ints[15:20]
    _set_axis(rows, 1, 0, h, 0, h)
    _set_axis(cols, 1, 0, w, 0, w)
    state = ints[20:23]  # has_fill, colour mode, boxes
    state[:] = 0
    add[:] = 0
    fill[:] = 0
    for i in range(tab.shape[0]):
        if prow[i, 0] == 0.0:
            continue
        kind, ph, pw, q, f = int(tab[i, KIND]), shapes[i, 0], shapes[i, 1], prow[i], tab[i, FILL:FILL + c]
        cfg = tab[i]
        ok = True
        # (Flips and crops uncover nothing, so _add_geometry never reads their fill ``f``.)
        if kind == HFLIP:
            _set_axis(g_rows, 1, 0, ph, 0, ph)
            _set_axis(g_cols, -1, pw - 1, pw, 0, pw)
            ok = _add_geometry(rows, cols, g_rows, g_cols, f, state, fill, boxes, bcol)
        elif kind == VFLIP:
            _set_axis(g_rows, -1, ph - 1, ph, 0, ph)
            _set_axis(g_cols, 1, 0, pw, 0, pw)
            ok = _add_geometry(rows, cols, g_rows, g_cols, f, state, fill, boxes, bcol)
        elif kind == CROP:
            x0, y0, x1, y1 = int(cfg[0]), int(cfg[1]), int(cfg[2]), int(cfg[3])
            _set_axis(g_rows, 1, y0, y1 - y0, 0, y1 - y0)
            _set_axis(g_cols, 1, x0, x1 - x0, 0, x1 - x0)
            ok = _add_geometry(rows, cols, g_rows, g_cols, f, state, fill, boxes, bcol)
        elif kind == CENTER or kind == RCROP:
            ch, cw = int(cfg[0]), int(cfg[1])
            top_pad, left_pad = max(0, ch - ph) // 2, max(0, cw - pw) // 2
            hh, ww = max(ph, ch), max(pw, cw)
            if hh != ph or ww != pw:
                _set_axis(g_rows, 1, -top_pad, hh, top_pad, top_pad + ph)
                _set_axis(g_cols, 1, -left_pad, ww, left_pad, left_pad + pw)
                ok = _add_geometry(rows, cols, g_rows, g_cols, f, state, fill, boxes, bcol)
            if kind == CENTER:
                y, x = (hh - ch) // 2, (ww - cw) // 2
            else:
                x, y = int(q[1]), int(q[2])
            _set_axis(g_rows, 1, y, ch, 0, ch)
            _set_axis(g_cols, 1, x, cw, 0, cw)
            ok = ok and _add_geometry(rows, cols, g_rows, g_cols, f, state, fill, boxes, bcol)
        elif kind == SHIFT:
            dx, dy = int(q[1]), int(q[2])
            lo, hi = max(0, dy), min(ph, ph + dy)
            if hi <= lo:
                lo = hi = 0
            _set_axis(g_rows, 1, -dy, ph, lo, hi)
            lo, hi = max(0, dx), min(pw, pw + dx)
            if hi <= lo:
                lo = hi = 0
            _set_axis(g_cols, 1, -dx, pw, lo, hi)
            ok = _add_geometry(rows, cols, g_rows, g_cols, f, state, fill, boxes, bcol)
        elif kind == TINT:
            _add_tint(q[1 + c:1 + 2 * c], q[1:1 + c], state, add, lut, fill, bcol, table)
        else:  # ERASE
            if cfg[6] != 0:
                ok = False  # noise patches: the general path paints them
            else:
                for b in range(int(q[1])):
                    k = 3 + 4 * b
                    n = state[2]
                    boxes[n, 0], boxes[n, 1] = int(q[k + 1]), int(q[k + 3])
                    boxes[n, 2], boxes[n, 3] = int(q[k]), int(q[k + 2])
                    for j in range(c):
                        bcol[n, j] = f[j]
                    state[2] = n + 1
        if not ok:
            meta[0] = FALLBACK
            geo[:] = 0  # an all-fill plan, never used for pixels
            state[2] = 0
            meta[3] = meta[4] = 0
            return
    geo[0], geo[1], geo[2], geo[3] = rows[0], rows[1], rows[3], rows[4]
    geo[4], geo[5], geo[6], geo[7] = cols[0], cols[1], cols[3], cols[4]
    meta[3], meta[4] = state[1], state[2]


# ---------------------------------------------------------------- entry points

@njit(**_OPTS)
def _ws_layout(tab, width, w, c):
    """Where the parts of :func:`run_u8`'s workspace start, for inputs ``w`` pixels wide (each
    on a 64-byte boundary): meta, params rows, shapes, ints, geo, add, boxes, lut, table,
    fill, box colours, render scratch, and the end; then how many boxes it has room for."""
    n = tab.shape[0]
    maxb = 0
    out_w = w   # the widest output: a crop or pad may be wider than the input
    for i in range(n):
        kind = int(tab[i, KIND])
        if kind == ERASE:
            maxb += int(tab[i, 5])
        elif kind == CENTER or kind == RCROP:
            out_w = max(out_w, int(tab[i, 1]))
    maxb = max(maxb, 1)
    meta = 0
    prow = meta + _aligned(8 * 7)
    shapes = prow + _aligned(8 * n * width)
    ints = shapes + _aligned(8 * 2 * n)
    geo = ints + _aligned(8 * _PLAN_INTS)
    add = geo + _aligned(8 * 8)
    boxes = add + _aligned(8 * c)
    lut = boxes + _aligned(8 * 4 * maxb)
    table = lut + _aligned(256 * c)
    fill = table + _aligned(256 * c)
    bcol = fill + _aligned(c)
    scratch = bcol + _aligned(maxb * c)
    end = scratch + _aligned(u8_scratch_bytes(out_w, c, maxb))
    return (meta, prow, shapes, ints, geo, add, boxes, lut, table, fill, bcol, scratch, end), maxb


@njit(**_OPTS)
def run_u8(img, tab, top, width, u, ws):
    """One call: sample, plan and render; returns the output, or an empty array when the
    general path must take over.

    Everything but the output lives in ``ws``, a byte workspace that the
    caller keeps between calls (nothing else is allocated), laid out by
    :func:`_ws_layout`: the caller reads the meta (as in :func:`plan_u8`) and
    the ``(n, width)`` params rows back from it when it records the parameters
    or hands them to the general path.
    """
    h, w, c = img.shape
    n = tab.shape[0]
    at, maxb = _ws_layout(tab, width, w, c)
    if ws.size < at[12]:
        raise ValueError("augkit: run_u8's workspace is too small")
    meta = ws[at[0]:at[0] + 56].view(np.int64)
    prow = ws[at[1]:at[1] + 8 * n * width].view(np.float64).reshape((n, width))
    shapes = ws[at[2]:at[2] + 16 * n].view(np.int64).reshape((n, 2))
    ints = ws[at[3]:at[3] + 8 * _PLAN_INTS].view(np.int64)
    geo = ws[at[4]:at[4] + 64].view(np.int64)
    add = ws[at[5]:at[5] + 8 * c].view(np.int64)
    boxes = ws[at[6]:at[6] + 32 * maxb].view(np.int64).reshape((maxb, 4))
    lut = ws[at[7]:at[7] + 256 * c].reshape((c, 256))
    table = ws[at[8]:at[8] + 256 * c].reshape((c, 256))
    fill = ws[at[9]:at[9] + c]
    bcol = ws[at[10]:at[10] + maxb * c].reshape((maxb, c))
    plan_u8(tab, top, u, prow, shapes, h, w, c, geo, add, lut, fill, boxes, bcol, meta, ints, table)
    if meta[0] != OK:
        return np.empty((0, 0, c), np.uint8)
    out = np.empty((meta[1], meta[2], c), np.uint8)
    _render_u8(img, out, geo, meta[3], add, lut, fill, boxes, meta[4], bcol, ws[at[11]:at[12]])
    return out


@njit(**_OPTS)
def lone_u8(img, kind, x, y, out_h, out_w):
    """A lone flip or crop of a uint8 image, already sampled: the ``out_h x out_w`` window at
    column ``x``, row ``y``, mirrored left-right for ``HFLIP`` or top-bottom for ``VFLIP``
    (whose window is the whole image).

    What :func:`run_u8` renders for these programs, without its plan and
    workspace (~1.4 us of a call): rows move through raw addresses, and a
    3-channel left-right flip writes each row's reversed blocks straight into
    the output (one pass; the row buffer of :func:`_render_u8` pays off for
    batches out of cache, not for one image).
    """
    h, w, c = img.shape
    out = np.empty((out_h, out_w, c), np.uint8)
    src = img.reshape(-1)
    dst = out.reshape(-1)
    row = out_w * c
    S = np.uint64(img.ctypes.data)
    D = np.uint64(out.ctypes.data)
    src_row = np.uint64(w * c)
    dst_row = np.uint64(row)
    C = np.uint64(c)
    for r in range(out_h):
        sr = h - 1 - r if kind == VFLIP else y + r
        s = S + np.uint64(sr) * src_row
        d = D + np.uint64(r) * dst_row
        if kind != HFLIP:
            _move_bytes(d, s + np.uint64(x) * C, dst_row)
        elif c == 3:
            _flip3_u8(s, d, 3 * (w - 1), w)
        elif c == 1 or c == 4:   # straight into the output row: a vectorised loop, 4-byte words
            _reverse_span(src, dst[r * row:(r + 1) * row], (sr * w + w - 1) * c, w, c)
        else:   # byte by byte: for 2 channels faster than _reverse_span's general loop
            last = s + np.uint64(w - 1) * C
            for t in range(np.uint64(w)):
                for ch in range(C):
                    _move1(d + t * C + ch, last - t * C + ch, _Z, _Z)
    return out


@njit(parallel=True, **_OPTS)
def plan_render_u8_batch(tab, top, us, imgs, outs, prow, geo, add, lut, fill, boxes, bcol, meta):
    """:func:`plan_u8` and :func:`_render_u8` for every sample of a uint8 stack, in parallel.

    ``outs`` is sized for the first sample's output; a sample whose plan is not
    ``OK`` or gives another size is planned (``meta``, ``prow``) but not
    rendered: the caller raises, or renders it on the general path. Returns how
    many were not rendered (0: the caller need not look at ``meta``). Planning
    here rather than in a serial pass first (:func:`plan_u8_batch`, ~1.4 us a
    sample) let the 5-transform batch of 64 at 256 px run 2 threads 1.81x as
    fast as 1 (1.69x before) and take 0.85x the time on 2 threads
    (``benchmarks/runs/versions_planrender.md``).
    """
    n, h, w, c = imgs.shape
    oh, ow = outs.shape[1], outs.shape[2]
    need = u8_scratch_bytes(ow, c, boxes.shape[1])
    skipped = 0
    for i in prange(n):
        shapes = np.empty((tab.shape[0], 2), np.int64)
        ints = np.empty(_PLAN_INTS, np.int64)
        table = np.empty((c, 256), np.uint8)
        plan_u8(tab, top, us[i], prow[i], shapes, h, w, c,
                geo[i], add[i], lut[i], fill[i], boxes[i], bcol[i], meta[i], ints, table)
        if meta[i, 0] == OK and meta[i, 1] == oh and meta[i, 2] == ow:
            _render_u8(imgs[i], outs[i], geo[i], meta[i, 3], add[i], lut[i], fill[i], boxes[i], meta[i, 4],
                       bcol[i], np.empty(need, np.uint8))
        else:
            skipped += 1
    return skipped


@njit(**_OPTS)
def plan_u8_batch(tab, top, us, prow, h, w, c, geo, add, lut, fill, boxes, bcol, meta):
    """:func:`plan_u8` for every row of ``us``, serially (when the parallel kernel is busy)."""
    shapes = np.empty((tab.shape[0], 2), np.int64)
    ints = np.empty(_PLAN_INTS, np.int64)
    table = np.empty((c, 256), np.uint8)
    for i in range(us.shape[0]):
        plan_u8(tab, top, us[i], prow[i], shapes, h, w, c,
                geo[i], add[i], lut[i], fill[i], boxes[i], bcol[i], meta[i], ints, table)


@njit(**_OPTS)
def sample_batch(tab, top, us, prow, h, w, c, meta):
    """:func:`sample_all` for every row of ``us``; ``meta[i]`` as in :func:`plan_u8` (no colour, no boxes)."""
    shapes = np.empty((tab.shape[0], 2), np.int64)
    for i in range(us.shape[0]):
        status, applied, oh, ow, leaf = sample_all(tab, top, us[i], prow[i], shapes, h, w, c)
        meta[i, 0], meta[i, 1], meta[i, 2], meta[i, 5], meta[i, 6] = status, oh, ow, leaf, 1 if applied else 0
        meta[i, 3] = meta[i, 4] = 0


# Cached code loads without numba's registry refresh (see augkit._cache_load).
load_without_refresh(globals())
