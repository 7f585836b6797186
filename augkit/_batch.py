"""``Transform.batch``: per-sample parameters, one parallel kernel over the stack."""
from __future__ import annotations

import threading

import numpy as np

from . import _program
from . import plan as _plan
from ._validate import check_image, check_mask, read_only
from .core import _seed_tuple, plain_seed_sequence, resolve_rng


def _check_stack(images, name):
    if not isinstance(images, np.ndarray):
        raise TypeError(f"batch: {name} must be a numpy.ndarray of shape (N, H, W) or (N, H, W, C), "
                        f"got {type(images).__name__}")
    if images.ndim not in (3, 4) or images.shape[0] == 0:
        raise ValueError(f"batch: {name} must have shape (N, H, W) or (N, H, W, C) with N >= 1, "
                         f"got shape {images.shape}")
    check_image(images[0], f"{name}[0]")
    if not images.flags.c_contiguous:
        images = np.array(images, order="C", copy=True)
    # Read-only, as every source handed to numba (see check_image): no copy, one specialisation.
    return read_only(images if images.ndim == 4 else images[..., None])


class SeedRows:
    """Per-sample seeds: sample ``k`` draws as ``rng=(*prefix, indices[k])`` would.

    What a batch seeded with an int or a sequence, and a dataset's batch, stand for.
    A flat pipeline needs only each sample's uniforms: they are drawn in numba
    straight from the seeds (:func:`augkit._seeds.uniform_rows`, the same numbers
    as numpy's PCG64), without building a Generator per sample (~5 us each, more
    than the augmentation of a small image). Other pipelines get the Generators.
    """

    __slots__ = ("prefix", "indices")

    def __init__(self, prefix, indices):
        self.prefix, self.indices = tuple(prefix), indices

    def __len__(self):
        return len(self.indices)

    def generators(self):
        from ._seeds import generators
        return generators(self.prefix, self.indices)

    def uniform_rows(self, k):
        from ._seeds import uniform_rows
        return uniform_rows(self.prefix, self.indices, k)


class MixedSizes(ValueError):
    """The samples of a batch came out in different sizes."""


def _sizes_error(sizes):
    first = tuple(sizes[0])
    other = next(i for i in range(len(sizes)) if tuple(sizes[i]) != first)
    raise MixedSizes(f"batch: all outputs must share one size, but sample 0 comes out {first[0]}x{first[1]} "
                     f"and sample {other} {sizes[other][0]}x{sizes[other][1]} (HxW); end the pipeline with "
                     f"a fixed-size crop")


def run_batch(pipe, images, masks, rng, record):
    stack = _check_stack(images, "images")
    n, h, w, c = stack.shape
    if masks is not None:
        if not isinstance(masks, np.ndarray) or masks.shape[:3] != (n, h, w):
            raise ValueError(f"batch: masks must be an array with shape ({n}, {h}, {w}[, K]) to match images, "
                             f"got {getattr(masks, 'shape', type(masks).__name__)}")
        check_mask(masks[0], (h, w), "masks[0]")
    gens = _per_sample_generators(rng, n)
    gen = None
    if gens is None:
        if not ((type(rng) is int and rng >= 0) or plain_seed_sequence(rng)):
            # Plain seeds need no Generator; anything else is resolved (and so checked).
            gen = resolve_rng(rng, None) if rng is not None else pipe._own_stream()
        seed = _seed_tuple(rng)
        if seed is not None:  # an int or a sequence: sample i draws from (*seed, i)
            gens, gen = SeedRows(seed, range(n)), None
    prog = _program.program_for(pipe, c, stack.dtype)
    if prog is not None:
        return _run_program(pipe, prog, images, stack, masks, gen, gens, record)
    if isinstance(gens, SeedRows):
        gens = gens.generators()
    # The general path: sample i walks the pipeline with its own generator (gens[i] or
    # (*seed, i)), or all samples share ``gen`` in order -- exactly what N single calls would do.
    records, steps_all = [], []
    for i in range(n):
        sample_gen = gen if gens is None else gens[i]
        steps = []
        rec, _ = pipe._sample(sample_gen, (h, w, c), steps)
        records.append(rec)
        steps_all.append(steps)
    return _render_steps(pipe, images, stack, masks, records, steps_all, record)


def _per_sample_generators(rng, n):
    """``rng`` as one Generator per sample when it is a list or tuple of Generators (or
    :class:`SeedRows`, kept as they are), else None."""
    if isinstance(rng, SeedRows):
        if len(rng) != n:
            raise ValueError(f"batch: rng as per-sample seeds needs one per sample ({n}), got {len(rng)}")
        return rng
    if isinstance(rng, (list, tuple)) and rng and isinstance(rng[0], np.random.Generator):
        if len(rng) != n or not all(isinstance(g, np.random.Generator) for g in rng):
            raise ValueError(f"batch: rng as a sequence of Generators needs one numpy.random.Generator per "
                             f"sample ({n}), got {len(rng)} items of types "
                             f"{sorted({type(g).__name__ for g in rng})}")
        return list(rng)
    return None


def _render_steps(pipe, images, stack, masks, records, steps_all, record, out=None, todo=None):
    """Render samples from their sampled steps (all of them, or those in ``todo`` into ``out``)."""
    n, h, w, c = stack.shape
    owner = type(pipe).__name__
    todo = range(n) if todo is None else todo
    all_ops = {i: [op for t, p, s in steps_all[i] for op in t.ops(p, s)] for i in todo}
    plans = {i: _plan.build_plans(all_ops[i], h, w, c, stack.dtype, owner=owner) for i in todo}
    if out is None:
        sizes = [plans[i][-1].out_shape for i in todo]
        if len(set(sizes)) > 1:
            _sizes_error(sizes)
        out = np.empty((n,) + sizes[0] + (c,), dtype=stack.dtype)
    if all(len(plans[i]) == 1 for i in todo) and len(todo) == n:
        _render_batch([plans[i][0] for i in todo], stack, out)
    else:
        for i in todo:
            img = stack[i]
            for pl in plans[i]:
                img = _plan.render(pl, img)
            out[i] = img
    result = {"image": out if images.ndim == 4 else out[..., 0]}
    if masks is not None:
        result["mask"] = np.stack([_plan.run_ops_mask(all_ops[i], masks[i], owner=owner) for i in range(n)])
    if record:
        result["params"] = records
    return result


def _run_program(pipe, prog, images, stack, masks, gen, gens, record):
    """A flat pipeline: every sample's uniforms in one array, sampled (and planned) in compiled code."""
    n, h, w, c = stack.shape
    us = gens.uniform_rows(prog.k) if isinstance(gens, SeedRows) else prog.uniform_rows(n, gen, gens)
    fast = stack.dtype == np.uint8 and masks is None
    out = None
    if fast:
        # The stack takes the first sample's output size (every sample must give the same).
        first, _ = prog.sample(us[0], (h, w))
        if first[0] == _program.OK:
            out, meta, prow, skipped = prog.plan_render_batch(us, stack, (int(first[1]), int(first[2])), _launch)
            if not skipped and not record:
                # Every sample rendered, all one size: nothing to check (what follows the kernel
                # runs with cold caches, ~10 us a NumPy call, measured).
                return {"image": out if images.ndim == 4 else out[..., 0]}
    if out is None:
        meta, prow = prog.sample_batch(us, h, w)   # not uint8, masks, or a crop too big (raised below)
    bad = np.flatnonzero(meta[:, 0] == _program.TOO_SMALL)
    if len(bad):
        prog.raise_too_small(meta[bad[0]], prow[bad[0]], (h, w, c))
    sizes = meta[:, 1:3]
    if (sizes != sizes[0]).any():
        _sizes_error(sizes.tolist())
    records, steps_all = zip(*[prog.records(meta[i], prow[i], (h, w, c)) for i in range(n)]) \
        if (record or not fast or (meta[:, 0] != _program.OK).any()) else (None, None)
    if not fast:
        return _render_steps(pipe, images, stack, masks, list(records), list(steps_all), record)
    slow = np.flatnonzero(meta[:, 0] == _program.FALLBACK)
    if len(slow):
        # What one kernel call cannot hold (clashing fills, noise boxes): the general path, same params.
        _render_steps(pipe, images, stack, None, records, steps_all, False, out=out, todo=list(slow))
    result = {"image": out if images.ndim == 4 else out[..., 0]}
    if record:
        result["params"] = list(records)
    return result


# Below this many output bytes a batch runs on the calling thread alone (numba's parallel
# kernel with one thread: one compiled call for the whole stack, ~3x faster than a call per
# image for 64 small ones): waking numba's thread pool for a few small images costs more than
# it saves, and its spinning threads then compete with whatever runs next (the demo's small
# MLP trained ~2x slower beside them, measured).
SERIAL_BYTES = 1 << 20

# One parallel kernel launch at a time, process-wide. numba's "workqueue" threading layer (what
# numba falls back to without OpenMP or TBB) aborts the whole process when two threads launch
# parallel code at once, which a Loader with several workers would do; with the other layers
# two launches at once only oversubscribe the cores. A batch that finds the lock taken renders
# on its own thread, one image at a time, instead of waiting.
_PARALLEL = threading.Lock()


def _launch(kernel, out, *args):
    """Run ``kernel(*args)`` (a parallel batch kernel writing ``out``) if no other thread is in
    one, on one thread for small outputs, and return what it returns (True for None). None when
    the caller must render image by image."""
    if not _PARALLEL.acquire(blocking=False):
        return None
    try:
        if out.nbytes >= SERIAL_BYTES:
            result = kernel(*args)
        else:
            import numba
            threads = numba.get_num_threads()
            numba.set_num_threads(1)      # per calling thread in numba
            try:
                result = kernel(*args)
            finally:
                numba.set_num_threads(threads)
    finally:
        _PARALLEL.release()
    return True if result is None else result


def _render_u8_stack(stack, out, geo, mode, add, lut, fill, boxes, nbox, bcol):
    k = _plan.kernels()
    if not _launch(k._render_u8_batch, out, stack, out, geo, mode, add, lut, fill, boxes, nbox, bcol):
        for i in range(len(out)):
            k._render_u8(stack[i], out[i], geo[i], mode[i], add[i], lut[i], fill[i], boxes[i], nbox[i], bcol[i],
                         _plan.NO_SCRATCH)


def _render_batch(plans, stack, out):
    k = _plan.kernels()
    n, c = len(plans), stack.shape[3]
    dtype = stack.dtype
    geo = np.empty((n, 8), np.int64)
    fill = np.zeros((n, c), dtype)
    inside = [_plan._split_boxes(p) for p in plans]
    nbox = np.array([len(a) for a, _ in inside], np.int64)
    bmax = max(1, int(nbox.max()))
    boxes = np.zeros((n, bmax, 4), np.int64)
    boxcols = np.zeros((n, bmax, c), dtype)
    for i, pl in enumerate(plans):
        geo[i] = _plan._geo(pl)
        if pl.fill is not None:
            fill[i] = pl.fill
        for j, b in enumerate(inside[i][0]):
            boxes[i, j] = b[:4]
            boxcols[i, j] = b[5]
    if dtype == np.uint8:
        mode = np.zeros(n, np.int64)
        add = np.zeros((n, c), np.int64)
        any_lut = any(p.colour is not None and p.colour[0] == "lut" for p in plans)
        lut = np.zeros((n, c, 256) if any_lut else (n, 1, 256), np.uint8)
        for i, pl in enumerate(plans):
            if pl.colour is None:
                continue
            if pl.colour[0] == "add":
                mode[i], add[i] = 1, pl.colour[1]
            else:
                mode[i], lut[i] = 2, pl.colour[1]
        _render_u8_stack(stack, out, geo, mode, add, lut, fill, boxes, nbox, boxcols)
    else:
        steps = max(len(p.colour or []) for p in plans)
        scales = np.ones((n, steps, c), np.float32)
        offsets = np.full((n, steps, c), -0.0, np.float32)
        for i, pl in enumerate(plans):
            # Missing steps are identities, x * 1 + (-0.0): exact in float32 for every value, -0.0
            # included (x + 0.0 would turn it into +0.0). Only a signalling NaN comes out quiet.
            for j, (s, o) in enumerate(pl.colour or []):
                scales[i, j], offsets[i, j] = s, o
        if not _launch(k._render_f32_batch, out, stack, out, geo, scales, offsets, fill, boxes, nbox, boxcols):
            for i in range(n):
                k._render_f32(stack[i], out[i], geo[i], scales[i], offsets[i], fill[i], boxes[i], nbox[i], boxcols[i])
    for i, (_, later) in enumerate(inside):
        _plan._paste(out[i], later)
