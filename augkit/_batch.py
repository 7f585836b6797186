"""``Transform.batch``: per-sample parameters, one parallel kernel over the stack."""
from __future__ import annotations

import numpy as np

from . import plan as _plan
from ._validate import check_image, check_mask
from . import _batchfast as _fast
from .core import _seed_tuple, resolve_rng


def _check_stack(images, name):
    if not isinstance(images, np.ndarray):
        raise TypeError(f"batch: {name} must be a numpy.ndarray of shape (N, H, W) or (N, H, W, C), "
                        f"got {type(images).__name__}")
    if images.ndim not in (3, 4) or images.shape[0] == 0:
        raise ValueError(f"batch: {name} must have shape (N, H, W) or (N, H, W, C) with N >= 1, "
                         f"got shape {images.shape}")
    check_image(images[0], f"{name}[0]")
    if not images.flags.c_contiguous or not images.flags.writeable:
        images = np.array(images, order="C", copy=True)
    return images if images.ndim == 4 else images[..., None]


def sample_generators(pipe, n, rng):
    """The generator of each sample: ``(*s, i)`` for int/sequence seeds, else seeds drawn from a stream."""
    seed = _seed_tuple(rng)
    if seed is not None:
        resolve_rng(rng)  # validates the value
        return [np.random.default_rng(seed + (i,)) for i in range(n)]
    gen = resolve_rng(rng, None) if rng is not None else pipe._own_stream()
    return [np.random.default_rng(int(s)) for s in gen.integers(0, 2 ** 63 - 1, size=n)]


def run_batch(pipe, images, masks, rng, record):
    stack = _check_stack(images, "images")
    n, h, w, c = stack.shape
    if masks is not None:
        if not isinstance(masks, np.ndarray) or masks.shape[:3] != (n, h, w):
            raise ValueError(f"batch: masks must be an array with shape ({n}, {h}, {w}[, K]) to match images, "
                             f"got {getattr(masks, 'shape', type(masks).__name__)}")
        check_mask(masks[0], (h, w), "masks[0]")
    owner = type(pipe).__name__
    items = _fast.supported(pipe) if _seed_tuple(rng) is None else None
    if items is not None:
        gen = resolve_rng(rng, None) if rng is not None else pipe._own_stream()
        return _run_fast(pipe, items, images, stack, masks, gen, record)
    records, plans = [], []
    all_ops = []
    for gen in sample_generators(pipe, n, rng):
        steps = []
        rec, _ = pipe._sample(gen, (h, w, c), steps)
        ops = [op for t, p, s in steps for op in t.ops(p, s)]
        records.append(rec)
        all_ops.append(ops)
        plans.append(_plan.build_plans(ops, h, w, c, stack.dtype, owner=owner))
    shapes = {p[-1].out_shape for p in plans}
    if len(shapes) > 1:
        first = plans[0][-1].out_shape
        other = next(i for i, p in enumerate(plans) if p[-1].out_shape != first)
        raise ValueError(f"batch: all outputs must share one size, but sample 0 comes out {first[0]}x{first[1]} "
                         f"and sample {other} {plans[other][-1].out_shape[0]}x{plans[other][-1].out_shape[1]} "
                         f"(HxW); end the pipeline with a fixed-size crop")
    out_h, out_w = shapes.pop()
    out = np.empty((n, out_h, out_w, c), dtype=stack.dtype)
    if all(len(p) == 1 for p in plans):
        _render_batch([p[0] for p in plans], stack, out)
    else:
        for i, sample_plans in enumerate(plans):
            img = stack[i]
            for pl in sample_plans:
                img = _plan.render(pl, img)
            out[i] = img
    result = {"image": out if images.ndim == 4 else out[..., 0]}
    if masks is not None:
        result["mask"] = np.stack([_plan.run_ops_mask(ops, masks[i], owner=owner) for i, ops in enumerate(all_ops)])
    if record:
        result["params"] = records
    return result


def _replay_ops(pipe, record, shape):
    steps = []
    pipe._replay(record, shape, steps)
    return [op for t, p, s in steps for op in t.ops(p, s)]


def _run_fast(pipe, items, images, stack, masks, gen, record):
    n, h, w, c = stack.shape
    owner = type(pipe).__name__
    out, records, slow = _fast.fast_batch(pipe, items, stack, gen, record or masks is not None)
    for i in slow:
        # Fill colours the vectorised plan cannot hold: render this sample the general way.
        out[i] = _plan.run_ops(_replay_ops(pipe, records[i], (h, w, c)), stack[i], owner=owner)
    result = {"image": out if images.ndim == 4 else out[..., 0]}
    if masks is not None:
        result["mask"] = np.stack([_plan.run_ops_mask(_replay_ops(pipe, records[i], (h, w, c)), masks[i], owner=owner)
                                   for i in range(n)])
    if record:
        result["params"] = [records[i] for i in range(n)]
    return result


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
        k._render_u8_batch(stack, out, geo, mode, add, lut, fill, boxes, nbox, boxcols)
    else:
        steps = max(len(p.colour or []) for p in plans)
        scales = np.ones((n, steps, c), np.float32)
        offsets = np.zeros((n, steps, c), np.float32)
        for i, pl in enumerate(plans):
            # Missing steps are identities (x * 1 + 0), exact in float32.
            for j, (s, o) in enumerate(pl.colour or []):
                scales[i, j], offsets[i, j] = s, o
        k._render_f32_batch(stack, out, geo, scales, offsets, fill, boxes, nbox, boxcols)
    for i, (_, later) in enumerate(inside):
        _plan._paste(out[i], later)
