"""Flat pipelines of built-ins (augkit._program / _kernels): one compiled call per image or per batch.

What must hold: the compiled path gives exactly what the general Python path
gives for the same parameters (replay), with or without masks, for single
calls and batches; a batch equals the single calls it stands for.
"""
import pickle

import numpy as np
import pytest

import augkit as A
from augkit._program import program_for
from conftest import make_image


def flat(pipe, c=3, dtype=np.uint8):
    return program_for(pipe, c, np.dtype(dtype)) is not None

PIPES = {
    "five": A.Compose([A.RandomCrop(20, 24), A.HorizontalFlip(), A.Shift(), A.Tint(), A.BoxErase()]),
    "every": A.Compose([A.VerticalFlip(), A.Crop(1, 2, 30, 27), A.CenterCrop(22, 24),
                        A.RandomCrop(30, 31, pad_if_needed=True, fill=(1, 2, 3)),
                        A.Shift(dx=(-6, 6), dy=4, unit="px", fill=9, p=0.7),
                        A.Tint(shift=30, scale=(0.5, 1.5), p=0.6), A.BoxErase(count=(0, 3), fill=(5, 6, 7), p=0.8),
                        A.Tint(per_channel=False, p=0.5), A.HorizontalFlip(), A.Shift(fill=(200, 0, 0), p=0.9),
                        A.BoxErase(p=0.5), A.Tint(p=0.5)]),
    "tints": A.Compose([A.Tint(p=0.5), A.Tint(p=0.5), A.Tint(scale=(0.8, 1.2), p=0.5)]),
    "clashing fills": A.Compose([A.Shift(fill=10, p=1), A.Tint(p=1), A.Shift(fill=200, p=1)]),
    "single": A.Shift(p=0.5),
}


@pytest.mark.parametrize("name", list(PIPES))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fast_batch_equals_replay_per_sample(name, dtype):
    pipe = PIPES[name]
    assert flat(pipe, 3, dtype)
    imgs = np.stack([make_image(h=28, w=33, dtype=dtype, seed=s) for s in range(24)])
    masks = (imgs[..., 0] > 0.5 if dtype == np.float32 else imgs[..., 0] > 128).astype(np.uint8)
    out = pipe.batch(imgs, masks=masks, rng=np.random.default_rng(7), record=True)
    assert len(out["params"]) == len(imgs)
    for i in range(len(imgs)):
        one = pipe.replay(out["params"][i], image=imgs[i], mask=masks[i])
        assert np.array_equal(out["image"][i], one["image"], equal_nan=True), (name, i, out["params"][i])
        assert np.array_equal(out["mask"][i], one["mask"])


def test_fast_batch_is_reproducible_and_varies():
    pipe = PIPES["five"]
    imgs = np.stack([make_image(seed=s) for s in range(8)])
    a = pipe.batch(imgs, rng=np.random.default_rng(3))["image"]
    b = pipe.batch(imgs, rng=np.random.default_rng(3))["image"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a[0], pipe.batch(imgs, rng=np.random.default_rng(4))["image"][0])


def test_unsupported_pipelines_take_the_general_path():
    assert not flat(A.Compose([A.OneOf([A.Shift()])]))
    assert not flat(A.Compose([A.Compose([A.Shift()])]))
    assert flat(A.Compose([A.BoxErase(fill="random")])) and flat(A.Compose([A.RandomCrop(5, 5, p=0.5)]))
    pipe = A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)], p=1)])
    imgs = np.stack([make_image(seed=s) for s in range(4)])
    out = pipe.batch(imgs, rng=np.random.default_rng(0), record=True)
    for i in range(4):
        assert np.array_equal(out["image"][i], pipe.replay(out["params"][i], image=imgs[i])["image"])


def _random_transform(draw, st, h, w):
    kind = draw(st.sampled_from(["hflip", "vflip", "crop", "center", "random_crop", "shift", "tint", "erase"]))
    p = draw(st.sampled_from([0.0, 0.5, 1.0]))
    fill = draw(st.sampled_from([0, 7, 255]))
    if kind == "hflip":
        return A.HorizontalFlip(p=p), (h, w)
    if kind == "vflip":
        return A.VerticalFlip(p=p), (h, w)
    if kind == "crop":
        x0, y0 = draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))
        x1, y1 = draw(st.integers(x0 + 1, w)), draw(st.integers(y0 + 1, h))
        return A.Crop(x0, y0, x1, y1), (y1 - y0, x1 - x0)
    if kind in ("center", "random_crop"):
        ch, cw = draw(st.integers(1, h + 4)), draw(st.integers(1, w + 4))
        t = (A.CenterCrop(ch, cw, pad_if_needed=True, fill=fill) if kind == "center"
             else A.RandomCrop(ch, cw, pad_if_needed=True, fill=fill, p=draw(st.sampled_from([0.0, 1.0]))))
        if kind == "random_crop" and t.p == 0.0:
            return t, (h, w)
        return t, (ch, cw)
    if kind == "shift":
        if draw(st.booleans()):
            return A.Shift(dx=draw(st.sampled_from([0.0, 0.3, 1.0])), dy=draw(st.sampled_from([0.0, 0.3])),
                           fill=fill, p=p), (h, w)
        # whole pixels, up to past the edges (only fill left)
        return A.Shift(dx=(-(w + 2), w + 2), dy=draw(st.sampled_from([0, (-(h + 2), h + 2)])), unit="px",
                       fill=fill, p=p), (h, w)
    if kind == "tint":
        return A.Tint(shift=draw(st.sampled_from([0, 30, 300])), scale=draw(st.sampled_from([(1, 1), (0.5, 1.5)])),
                      per_channel=draw(st.booleans()), p=p), (h, w)
    return A.BoxErase(count=draw(st.sampled_from([0, 1, (0, 3)])), fill=fill, p=p), (h, w)


def _random_transforms(draw, st, h, w, min_count=1):
    """Up to 6 random built-in transforms that fit one after another on an h x w input."""
    transforms, size = [], (h, w)
    for _ in range(draw(st.integers(min_count, 6))):
        t, size = _random_transform(draw, st, *size)
        transforms.append(t)
    return transforms


_F32 = 3.4e38


def _extreme_transform(draw, st, p):
    """A built-in at the edges of what its constructor takes (float32-sized tints, shifts by
    the whole image or 2**31 pixels, erase ratios of 1e300)."""
    kind = draw(st.sampled_from(["tint", "shift", "shift_px", "erase", "crop", "flip"]))
    if kind == "tint":
        lo = draw(st.sampled_from([-_F32, -1e30, -300.0, -0.5, 0.0, 255.5]))
        hi = max(lo, min(_F32, draw(st.sampled_from([lo + 1, 1e30, _F32, 300.0]))))
        slo = draw(st.sampled_from([0.0, 1e-30, 0.5, 1.0, 1e30]))
        return A.Tint(shift=(lo, hi), scale=(slo, max(slo, draw(st.sampled_from([1.0, 2.0, _F32])))),
                      per_channel=draw(st.booleans()), p=p)
    if kind == "shift":
        return A.Shift(dx=draw(st.sampled_from([0.0, 1.0, (-1.0, -1.0), (1.0, 1.0)])),
                       dy=draw(st.sampled_from([0.0, 1.0, (0.999, 1.0)])), fill=draw(st.sampled_from([0, 255])), p=p)
    if kind == "shift_px":
        return A.Shift(dx=draw(st.sampled_from([(-2 ** 31, 2 ** 31), (2 ** 31, 2 ** 31), (-5, 5)])),
                       dy=draw(st.sampled_from([0, (-2 ** 31, -2 ** 31)])), unit="px", p=p)
    if kind == "erase":
        return A.BoxErase(scale=draw(st.sampled_from([(1e-300, 1e-300), (1e-300, 1.0), (1.0, 1.0)])),
                          ratio=draw(st.sampled_from([(1e-300, 1e300), (1e300, 1e300), (1e-300, 1e-300), (0.3, 3.3)])),
                          count=draw(st.sampled_from([1, (0, 5), 20])), fill=draw(st.sampled_from([0, "random"])), p=p)
    if kind == "crop":
        return A.RandomCrop(draw(st.integers(1, 12)), draw(st.integers(1, 12)), pad_if_needed=True, fill=200)
    return draw(st.sampled_from([A.HorizontalFlip(p=p), A.VerticalFlip(p=p)]))


def test_extreme_settings_agree_on_every_path():
    """Settings at their limits give the same pixels through the compiled call, the general
    path, replay and a seeded batch (a compiled tint once turned 1e30 into an undefined integer)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        transforms = [_extreme_transform(draw, st, draw(st.sampled_from([0.5, 1.0])))
                      for _ in range(draw(st.integers(1, 4)))]
        return A.Compose(transforms), draw(st.sampled_from([np.uint8, np.float32])), draw(st.integers(0, 2 ** 32))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(cases())
    def check(case):
        pipe, dtype, seed = case
        imgs = np.stack([make_image(h=7, w=9, c=3, dtype=dtype, seed=seed % 1000 + i) for i in range(3)])
        with np.errstate(over="ignore", invalid="ignore"):   # float32 tints may reach inf, as documented
            one = pipe(image=imgs[0], rng=seed, record=True)
            others = [pipe(image=imgs[0], mask=np.zeros((7, 9), np.uint8), rng=seed)["image"],
                      pipe.replay(one["params"], image=imgs[0])["image"]]
            for other in others:
                assert np.array_equal(other, one["image"], equal_nan=True), (pipe, one["params"])
            stack = pipe.batch(imgs, rng=seed)["image"]   # crops here always apply: one size
            for i in range(3):
                assert np.array_equal(stack[i], pipe(image=imgs[i], rng=(seed, i))["image"], equal_nan=True), pipe

    check()


def test_fast_batch_matches_replay_on_random_pipelines():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        h, w = draw(st.integers(2, 14)), draw(st.integers(2, 14))
        c = draw(st.sampled_from([1, 3, 4]))
        dtype = draw(st.sampled_from([np.uint8, np.float32]))
        transforms = _random_transforms(draw, st, h, w)
        return h, w, c, dtype, transforms, draw(st.integers(0, 2 ** 32 - 1))

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cases())
    def check(case):
        h, w, c, dtype, transforms, seed = case
        pipe = A.Compose(transforms)
        assert flat(pipe, c, dtype)
        imgs = np.stack([make_image(h=h, w=w, c=c, dtype=dtype, seed=seed % 1000 + i) for i in range(5)])
        out = pipe.batch(imgs, rng=np.random.default_rng(seed), record=True)
        for i in range(len(imgs)):
            one = pipe.replay(out["params"][i], image=imgs[i])["image"]
            assert np.array_equal(out["image"][i], one, equal_nan=True), (transforms, out["params"][i])

    check()


def test_fused_single_calls_match_one_by_one_on_random_pipelines():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        h, w = draw(st.integers(2, 14)), draw(st.integers(2, 14))
        transforms = _random_transforms(draw, st, h, w)
        return h, w, draw(st.sampled_from([1, 3])), draw(st.sampled_from([np.uint8, np.float32])), transforms, \
            draw(st.integers(0, 2 ** 32 - 1))

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cases())
    def check(case):
        h, w, c, dtype, transforms, seed = case
        pipe = A.Compose(transforms)
        img = make_image(h=h, w=w, c=c, dtype=dtype, seed=seed % 1000)
        out = pipe(image=img, rng=seed, record=True)
        cur = img
        for t, p in pipe.steps(out["params"], img.shape):
            cur = t.apply(cur, p)
        assert np.array_equal(out["image"], cur, equal_nan=True), (transforms, out["params"])

    check()


PIPE_IDS = list(PIPES)


@pytest.mark.parametrize("name", PIPE_IDS + ["nested", "oneof", "noise"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_batch_equals_the_single_calls_it_stands_for(name, dtype):
    pipe = {"nested": A.Compose([A.Compose([A.Shift(p=0.7), A.Tint()]), A.HorizontalFlip()]),
            "oneof": A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)], p=0.8), A.BoxErase()]),
            "noise": A.Compose([A.BoxErase(fill="random", p=0.7), A.VerticalFlip()])}.get(name) or PIPES[name]
    imgs = np.stack([make_image(h=28, w=33, dtype=dtype, seed=s) for s in range(12)])
    gen_batch = pipe.batch(imgs, rng=np.random.default_rng(11), record=True)
    gen = np.random.default_rng(11)
    seq_batch = pipe.batch(imgs, rng=(5, 2))
    for i in range(len(imgs)):
        one = pipe(image=imgs[i], rng=gen, record=True)
        assert np.array_equal(gen_batch["image"][i], one["image"], equal_nan=True), (name, i)
        assert gen_batch["params"][i] == one["params"]
        assert np.array_equal(seq_batch["image"][i], pipe(image=imgs[i], rng=(5, 2, i))["image"], equal_nan=True)


@pytest.mark.parametrize("name", PIPE_IDS)
def test_compiled_single_call_equals_general_path(name):
    """No mask: compiled planning; with a mask: the Python plan. Same image, same params."""
    pipe = PIPES[name]
    for s in range(30):
        img = make_image(h=28, w=33, seed=s)
        fast = pipe(image=img, rng=s, record=True)
        general = pipe(image=img, mask=np.zeros(img.shape[:2], np.uint8), rng=s, record=True)
        assert fast["params"] == general["params"]
        assert np.array_equal(fast["image"], general["image"]), (name, s, fast["params"])
        assert np.array_equal(fast["image"], pipe.replay(fast["params"], image=img)["image"])


def test_builtin_subclass_that_samples_its_own_way_is_respected():
    class FixedShift(A.Shift):
        def sample_params(self, rng, shape):
            return {"dx": 2, "dy": 0}

    img = make_image(h=6, w=8, seed=0)
    t = FixedShift(p=1.0, fill=0)
    assert not flat(t)
    assert t(image=img, rng=0, record=True)["params"] == {"dx": 2, "dy": 0}
    assert np.array_equal(A.Compose([t])(image=img, rng=1)["image"][:, 2:], img[:, :-2])


def test_sample_params_of_builtins_is_forced_and_reproducible():
    t = A.Shift(dx=(3, 3), dy=(-1, -1), unit="px", p=0.0)
    assert t.sample_params(np.random.default_rng(0), (10, 10, 3)) == {"dx": 3, "dy": -1}
    assert A.Tint(p=0.0).sample_params(np.random.default_rng(1), (4, 4, 3)) == \
        A.Tint(p=0.0).sample_params(np.random.default_rng(1), (4, 4, 3))


def test_each_compiled_function_has_one_specialisation():
    """uint8 and float32, 2-D and 3-D, single calls, batches, masks and trees: no extra compiles."""
    from augkit import _batch, _kernels
    pipe = A.Compose([A.CenterCrop(30, 30), A.RandomCrop(36, 36, pad_if_needed=True), A.VerticalFlip(),
                      A.Shift(p=0.8), A.Tint(scale=(0.5, 1.5)), A.BoxErase(count=(0, 2)), A.HorizontalFlip()])
    tree = A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)]), A.HorizontalFlip()])
    for dtype in (np.uint8, np.float32):
        img = make_image(h=40, w=41, dtype=dtype, seed=1)
        for t in (pipe, tree, A.HorizontalFlip(p=1), A.Crop(0, 0, 5, 5)):
            t(image=img, rng=0)
            t(image=img[..., 0], rng=1)
            t(image=img, mask=np.zeros((40, 41), np.uint8), rng=2, record=True)
            t.batch(np.stack([img, img]), rng=3)
            t.batch(np.stack([img, img])[..., 0], rng=np.random.default_rng(4), record=True)
            frozen = img.copy()
            frozen.flags.writeable = False   # e.g. np.asarray(pil_image): same specialisations
            t(image=frozen, rng=6)
            t(image=frozen, rng=6)           # a repeat call: the short way in (lone flips and crops too)
            t(image=img, rng=6)              # ... with a writeable input
            t(image=frozen[::-1], rng=7)     # not contiguous: copied
            with _batch._PARALLEL:           # another thread in the parallel kernel: planned serially
                t.batch(np.stack([img, img]), rng=9)
            stack = np.stack([img, img])
            stack.flags.writeable = False
            t.batch(stack, rng=8)
        big = make_image(h=600, w=610, dtype=dtype, seed=2)   # over _batch.SERIAL_BYTES: parallel kernel
        for t in (A.Compose([A.HorizontalFlip(), A.Tint()]), tree):
            t.batch(np.stack([big, big]), rng=5)
    # The functions Python calls (numba compiles helpers they call per call site; those are
    # part of these, not separate entries a user pays for).
    entries = [_kernels.run_u8, _kernels.lone_u8, _kernels._ws_layout, _kernels.plan_u8_batch, _kernels.plan_render_u8_batch, _kernels.sample_batch, _kernels.sample_leaf,
               _kernels._render_u8, _kernels._render_f32, _kernels._render_u8_batch, _kernels._render_f32_batch]
    for d in entries:
        assert len(d.signatures) == 1, (d.py_func.__name__, d.signatures)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_large_batches_take_the_parallel_kernel_and_still_equal_single_calls(dtype):
    from augkit import _batch
    pipes = [A.Compose([A.RandomCrop(290, 300), A.HorizontalFlip(), A.Shift(), A.Tint(), A.BoxErase()]),
             A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)]), A.HorizontalFlip()])]
    imgs = np.stack([make_image(h=300, w=310, dtype=dtype, seed=s) for s in range(6)])
    for pipe in pipes:
        out = pipe.batch(imgs, rng=(7,))["image"]
        assert out.nbytes >= _batch.SERIAL_BYTES
        for i in range(len(imgs)):
            assert np.array_equal(out[i], pipe(image=imgs[i], rng=(7, i))["image"], equal_nan=True)


def test_compiled_and_general_paths_agree_on_random_pipelines():
    """Same rng, with and without a mask (compiled vs Python planning): same image, same params."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        h, w = draw(st.integers(2, 14)), draw(st.integers(2, 14))
        transforms = _random_transforms(draw, st, h, w, min_count=0)
        lone = len(transforms) == 1 and draw(st.booleans())
        pipe = transforms[0] if lone else A.Compose(transforms, p=draw(st.sampled_from([1.0, 0.7])))
        return h, w, draw(st.sampled_from([1, 3, 4])), pipe, draw(st.integers(0, 2 ** 32 - 1))

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cases())
    def check(case):
        h, w, c, pipe, seed = case
        img = make_image(h=h, w=w, c=c, seed=seed % 1000)
        fast = pipe(image=img, rng=seed, record=True)
        general = pipe(image=img, mask=np.ones((h, w), np.uint8), rng=seed, record=True)
        assert fast["params"] == general["params"]
        assert np.array_equal(fast["image"], general["image"]), (pipe, fast["params"])

    check()


def test_changed_settings_reach_the_compiled_pipeline():
    img = make_image(h=10, w=12, seed=3)
    flip = A.HorizontalFlip(p=0.0)
    pipe = A.Compose([flip, A.Shift(dx=(2, 2), dy=0, unit="px", p=0.0)])
    assert np.array_equal(pipe(image=img, rng=0)["image"], img)
    flip.p = 1.0                                  # a child's setting, after the pipeline has run
    pipe.transforms[1].p = 1.0
    out = pipe(image=img, rng=0)["image"]
    assert np.array_equal(out, A.Compose([A.HorizontalFlip(p=1.0), A.Shift(dx=(2, 2), dy=0, unit="px", p=1.0)])(
        image=img, rng=0)["image"])
    assert not np.array_equal(out, img)
    tree = A.Compose([A.OneOf([A.Shift(dx=(3, 3), dy=0, unit="px", p=1.0)], p=1.0)])   # general path
    tree(image=img, rng=0)
    tree.transforms[0].transforms[0].dx = (1, 1)
    assert tree(image=img, rng=0, record=True)["params"][0]["params"] == {"dx": 1, "dy": 0}


def test_batch_seeds_of_any_size_are_the_single_calls_seeds():
    # np.asarray((0, 2**64 - 1)) is float64: the batch must not read its seed through it.
    imgs = np.stack([make_image(h=6, w=7, seed=s) for s in range(3)])
    pipe = A.Tint(shift=20, p=1)
    for seed in ((0, 2 ** 64 - 1), [2 ** 63, 5], (2 ** 64 - 1,), (1, 2 ** 70, 3)):
        out = pipe.batch(imgs, rng=seed)["image"]
        for i in range(3):
            assert np.array_equal(out[i], pipe(image=imgs[i], rng=(*seed, i))["image"]), (seed, i)
            assert np.array_equal(out[i], pipe(image=imgs[i], rng=np.random.default_rng([*seed, i]))["image"])


def test_float_batch_keeps_every_bit_of_samples_it_does_not_tint():
    # A batch pads samples with fewer colour steps with identity steps; -0.0 must stay -0.0.
    imgs = np.stack([np.array([[[-0.0, 0.0, -0.0]]], np.float32)] * 8)
    pipe = A.Compose([A.Tint(shift=(0.5, 0.5), p=0.5), A.HorizontalFlip(p=0.5)])
    out = pipe.batch(imgs, rng=3, record=True)
    tinted = [rec[0] is not None for rec in out["params"]]
    assert any(tinted) and not all(tinted)
    for i in range(8):
        single = pipe(image=imgs[i], rng=(3, i))["image"]
        assert np.array_equal(np.signbit(out["image"][i]), np.signbit(single))
        if not tinted[i]:
            assert np.signbit(out["image"][i]).tolist() == [[[True, False, True]]]


def test_every_changed_setting_is_seen_on_every_path_and_in_what_is_saved():
    """Values derived from settings (a fill, BoxErase's ratio, OneOf's weights) are read when
    used: a change after the first call reaches the compiled call, the general path (with a
    mask), a batch and a reloaded copy alike."""
    img = np.full((4, 6, 3), 100, np.uint8)
    mask = np.zeros((4, 6), np.uint8)
    shift = A.Shift(dx=(2, 2), dy=0, unit="px", fill=0, p=1.0)
    shift(image=img, rng=0)
    shift.fill = 50
    for out in (shift(image=img, rng=0)["image"], shift(image=img, mask=mask, rng=0)["image"],
                shift.batch(img[None], rng=0)["image"][0], A.from_dict(shift.to_dict())(image=img, rng=0)["image"]):
        assert out[0, :, 0].tolist() == [50, 50, 100, 100, 100, 100]
    crop = A.RandomCrop(6, 8, pad_if_needed=True, fill=0)
    crop(image=img, rng=0)
    crop.fill = 9
    assert crop(image=img, rng=0)["image"][0, 0, 0] == 9 == crop(image=img, mask=mask, rng=0)["image"][0, 0, 0]

    erase = A.BoxErase(scale=(0.125, 0.125), ratio=(1, 1), p=1.0)   # 128 of 32 x 32 pixels
    blank = np.zeros((32, 32), np.uint8)
    x0, y0, x1, y1 = erase(image=blank, rng=0, record=True)["params"]["boxes"][0]
    assert (x1 - x0, y1 - y0) == (11, 11)
    erase(image=blank, mask=blank, rng=0)
    erase.ratio = (2.0, 2.0)   # height / width: 16 tall, 8 wide
    for params in (erase(image=blank, rng=0, record=True)["params"],
                   erase(image=blank, mask=blank, rng=0, record=True)["params"],
                   A.from_dict(erase.to_dict())(image=blank, rng=0, record=True)["params"]):
        x0, y0, x1, y1 = params["boxes"][0]
        assert (x1 - x0, y1 - y0) == (8, 16)

    first, second = A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)
    one = A.OneOf([first, second], p=1.0)
    picks = {one(image=img, rng=i, record=True)["params"]["index"] for i in range(20)}
    assert picks == {0, 1}
    first.p = 0.0   # a child's p is its weight
    assert {one(image=img, rng=i, record=True)["params"]["index"] for i in range(20)} == {1}
    one.transforms = [second]
    assert one(image=img, rng=0, record=True)["params"]["index"] == 0
    second.p = 0.0
    with pytest.raises(ValueError, match=r"OneOf: needs at least one child with p > 0"):
        one(image=img, rng=0)

    pipe = A.Compose([A.Tint(p=1.0)], seed=3)
    a = pipe(image=img)["image"]
    pipe(image=img)
    pipe.seed = 3   # the own stream starts again from the (new) seed
    assert np.array_equal(pipe(image=img)["image"], a)


@pytest.mark.parametrize("make, name, value, message", [
    (lambda: A.Shift(), "p", 2, r"Shift: p must be a probability in \[0, 1\], got 2"),
    (lambda: A.Shift(), "dx", "a", r"Shift: dx must be a \(min, max\) pair"),
    (lambda: A.Shift(unit="fraction"), "unit", "cm", r'Shift: unit must be "fraction" or "px"'),
    (lambda: A.Shift(dx=(2, 2), dy=0, unit="px"), "dx", (0.5, 1), r"Shift: dx must hold whole numbers"),
    (lambda: A.Tint(), "shift", (5, 1), r"Tint: shift must be a \(min, max\) pair with min <= max"),
    (lambda: A.BoxErase(), "count", 5000, r"BoxErase: count must be at most 1024"),
    (lambda: A.BoxErase(), "fill", "noise", r'BoxErase: fill must be a number or a per-channel sequence'),
    (lambda: A.RandomCrop(4, 4), "height", 0, r"RandomCrop: height must be an integer >= 1, got 0"),
    (lambda: A.Compose([A.HorizontalFlip()]), "transforms", [1], r"Compose: transforms\[0\] must be an augkit"),
    (lambda: A.Compose([A.HorizontalFlip()]), "seed", -1, r"Compose: seed must be None or a non-negative int"),
    (lambda: A.SomeOf([A.HorizontalFlip(), A.VerticalFlip()], n=2), "transforms", [A.HorizontalFlip()],
     r"SomeOf: n must be <= the number of transforms \(1\)"),
    (lambda: A.SomeOf([A.HorizontalFlip()], n=1), "n", -1, r"SomeOf: n must be an integer >= 0"),
])
def test_setting_a_bad_value_after_construction_fails_at_once_like_the_constructor(make, name, value, message):
    t = make()
    before = t.to_dict()
    with pytest.raises(ValueError, match=message):
        setattr(t, name, value)
    assert t.to_dict() == before   # the old setting stays
    clone = pickle.loads(pickle.dumps(t))   # copies check too
    with pytest.raises(ValueError, match=message):
        setattr(clone, name, value)


def test_objects_pickled_by_an_earlier_augkit_and_subclasses_setting_program_fill_still_work():
    img = make_image(h=6, w=8, seed=1)
    one = A.OneOf([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)], p=1.0)
    shift = A.Shift(dx=(2, 2), dy=0, unit="px", fill=7, p=1.0)
    erase = A.BoxErase(p=1.0)
    expected = [t(image=img, rng=3)["image"] for t in (one, shift, erase)]
    # What c701e48 kept on these instances (derived at construction then): stale copies in a pickle.
    one.__dict__["_weights"] = np.array([1.0, 0.0])
    shift.__dict__["program_fill"] = 0.0
    erase.__dict__["_log_ratio"] = (0.0, 0.0)
    for t, want in zip((one, shift, erase), expected):
        assert np.array_equal(pickle.loads(pickle.dumps(t))(image=img, rng=3)["image"], want)

    class Framed(A.Shift):   # a subclass that sets program_fill, as it could before (a plain attribute then)
        def __init__(self):
            super().__init__(dx=(2, 2), dy=0, unit="px", p=1.0)
            self.program_fill = 0.0

    framed = Framed()
    assert framed.program_fill == 0.0
    assert np.array_equal(framed(image=img, rng=0)["image"], A.Shift(dx=(2, 2), dy=0, unit="px", p=1.0)(
        image=img, rng=0)["image"])


def test_a_float64_mask_takes_any_float64_fill():
    img, mask = make_image(h=3, w=4, seed=0), np.ones((3, 4), np.float64)
    out = A.Shift(dx=(2, 2), dy=0, unit="px", fill_mask=1e39, p=1)(image=img, mask=mask)["mask"]
    assert out[0].tolist() == [1e39, 1e39, 1.0, 1.0]


def test_a_user_transform_with_its_own_transforms_attribute_runs_in_a_pipeline():
    class Wrap(A.Transform):
        deterministic = True

        def __init__(self, fn):
            super().__init__(p=1.0)
            self.transforms = fn   # not augkit children

        def ops(self, params, shape):
            return A.functional.hflip_ops(shape[0], shape[1])

    img = make_image(h=4, w=4, seed=2)
    out = A.Compose([Wrap(lambda x: x), A.HorizontalFlip(p=1.0)])(image=img)["image"]
    assert np.array_equal(out, img)


def test_settings_assigned_are_normalised_like_the_constructors_and_other_attributes_pass():
    t = A.Shift(dx=(2, 2), dy=0, unit="px")
    t.dx = 3
    assert t.dx == (-3, 3) and t.to_dict()["dx"] == [-3, 3]
    t.p = 1
    assert type(t.p) is float
    t.note = "anything"   # not a setting: kept as given
    assert t.note == "anything"


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_read_only_inputs_are_read_in_place_and_outputs_are_writeable(dtype):
    """A read-only image (np.asarray of a Pillow image is one) is neither copied nor written;
    what comes back is a fresh, writeable array, on every path."""
    img = make_image(h=40, w=41, dtype=dtype, seed=3)
    frozen = img.copy()
    frozen.flags.writeable = False
    pipes = [A.HorizontalFlip(p=1), A.Compose([A.RandomCrop(30, 30), A.Tint(p=1), A.BoxErase(p=1)]),
             A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)]), A.HorizontalFlip()]), A.Tint(p=0.0)]
    for pipe in pipes:
        a = pipe(image=frozen, rng=1)["image"]
        b = pipe(image=img, rng=1)["image"]
        assert np.array_equal(a, b, equal_nan=True)
        assert a.flags.writeable and not np.shares_memory(a, frozen)
        m = pipe(image=frozen, mask=np.zeros((40, 41), np.uint8), rng=1)
        assert np.array_equal(m["image"], b, equal_nan=True) and m["image"].flags.writeable
        stack = np.stack([img, img])
        frozen_stack = stack.copy()
        frozen_stack.flags.writeable = False
        out = pipe.batch(frozen_stack, rng=2)["image"]
        assert np.array_equal(out, pipe.batch(stack, rng=2)["image"], equal_nan=True)
        assert out.flags.writeable and not np.shares_memory(out, frozen_stack)
    assert np.array_equal(frozen, img)


def test_cached_numba_code_calls_only_code_from_its_own_file():
    """numba's disk cache checks only the file of the function it caches, but the cached code
    includes every compiled function it calls: one calling into another file would keep running
    that file's old code after an edit. Each module's compiled functions may call compiled
    functions of their own module only."""
    import importlib
    import pkgutil

    import augkit
    from numba.core.dispatcher import Dispatcher
    from numba.core.registry import CPUDispatcher

    checked = 0
    for info in pkgutil.iter_modules(augkit.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"augkit.{info.name}")
        own = {name: obj for name, obj in vars(module).items() if isinstance(obj, Dispatcher)}
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher):
                assert obj.py_func.__module__ == module.__name__, (
                    f"augkit.{info.name}.{name} is compiled code from {obj.py_func.__module__}: keep compiled "
                    f"functions that call each other in one file (numba's cache would go stale)")
        for name, d in own.items():
            for callee in d.py_func.__code__.co_names:
                target = vars(module).get(callee)
                if isinstance(target, Dispatcher):
                    assert target.py_func.__module__ == module.__name__
            checked += 1
    assert checked >= 10   # _kernels and _seeds hold the compiled code


def test_batches_from_many_threads_at_once_are_safe_on_any_threading_layer(tmp_path):
    """numba's workqueue layer aborts the process when two threads launch parallel code at once;
    large batches from several threads (a Loader with workers) must neither crash nor differ."""
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import threading, numba, numpy as np, augkit as A
        imgs = np.random.default_rng(0).integers(0, 256, (6, 300, 310, 3), dtype=np.uint8)  # > 1 MiB out
        pipe = A.Compose([A.RandomCrop(290, 300), A.HorizontalFlip(), A.Tint()])
        small = imgs[:, :40, :50]                                  # < 1 MiB out: one thread
        small_pipe = A.Compose([A.RandomCrop(30, 40), A.HorizontalFlip(), A.Tint()])
        want = pipe.batch(imgs, rng=(1,))["image"]
        want_small = small_pipe.batch(small, rng=(2,))["image"]
        bad = []
        def work():
            for _ in range(6):
                if not np.array_equal(pipe.batch(imgs, rng=(1,))["image"], want):
                    bad.append(1)
                if not np.array_equal(small_pipe.batch(small, rng=(2,))["image"], want_small):
                    bad.append(2)
        threads = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(numba.threading_layer(), len(bad))
    """)
    env = dict(__import__("os").environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["workqueue", "0"], done.stdout


def test_single_calls_allocate_nothing_in_compiled_code_but_the_output():
    """Issue 3: no per-call allocation beyond the output. numba counts its allocations when
    NUMBA_NRT_STATS=1; a call on a flat pipeline may make only the output and the small
    records numba keeps for each array it is handed (four: image, program table, uniforms,
    workspace), however many transforms, boxes or colour tables the pipeline has; a lone flip
    or crop, only the output and its image's record."""
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import numpy as np, augkit as A
        from numba.core.runtime import rtsys
        img = np.random.default_rng(0).integers(0, 256, (64, 70, 3), dtype=np.uint8)
        pipes = [A.HorizontalFlip(p=1), A.VerticalFlip(p=1), A.RandomCrop(40, 50), A.Tint(p=1),
                 A.Tint(scale=(0.5, 1.5), p=1), A.BoxErase(count=(2, 4), p=1),
                 A.Compose([A.RandomCrop(60, 60), A.HorizontalFlip(p=0.5), A.Shift(p=1), A.Tint(p=1),
                            A.Tint(scale=(0.8, 1.2), p=1), A.BoxErase(count=3, p=1)])]
        counts = []
        for pipe in pipes:
            pipe(image=img, rng=0)
            before = rtsys.get_allocation_stats().alloc
            for s in range(10):
                pipe(image=img, rng=s)
            counts.append((rtsys.get_allocation_stats().alloc - before) / 10)
        print(*counts)
    """)
    env = dict(__import__("os").environ, NUMBA_NRT_STATS="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = [float(x) for x in done.stdout.split()]
    # The lone flips and crop take run_lone: the output and the image's record only.
    assert len(counts) == 7 and all(c <= 1 + 1 for c in counts[:3]), counts
    assert all(c == counts[3] for c in counts[3:]), counts
    assert counts[3] <= 1 + 4, counts


def test_single_calls_from_many_threads_equal_serial_ones():
    """Each thread works in its own workspace (grown for wider inputs): concurrent calls on one
    pipeline give exactly the serial results and params. (With one workspace shared by all
    threads, this saw ~60 wrong results in 1,440 calls.)"""
    import threading
    pipe = A.Compose([A.HorizontalFlip(), A.Shift(p=1), A.Tint(scale=(0.5, 1.5), p=1), A.BoxErase(p=1)])
    imgs = [make_image(h=300, w=[31, 500, 240][i % 3], seed=i) for i in range(12)]
    want = [pipe(image=im, rng=(5, i), record=True) for i, im in enumerate(imgs)]
    bad = []

    def work():
        for _ in range(30):
            for i, im in enumerate(imgs):
                got = pipe(image=im, rng=(5, i), record=True)
                if not (np.array_equal(got["image"], want[i]["image"]) and got["params"] == want[i]["params"]):
                    bad.append(i)
    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert bad == []


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_batch_kernel_equals_the_numpy_executor(channels, dtype):
    """The parallel kernels against NumPy (not against replay, which shares their row code):
    flips, shifts that uncover whole rows, tints and up to 7 erase boxes that also cover fill
    rows, painted row by row; images wide enough for whole vectors and blocks of 16 pixels."""
    from augkit import plan
    rng = np.random.default_rng(channels)
    for trial in range(6):
        h, w = (int(v) for v in rng.integers(30, 90, 2))
        imgs = np.stack([make_image(h=h, w=w, c=channels, dtype=dtype, seed=10 * trial + i) for i in range(9)])
        pipe = A.Compose([A.HorizontalFlip(p=0.5), A.Shift(dx=(-0.6, 0.6), dy=(-0.6, 0.6), p=0.8),
                          A.Tint(p=0.7), A.VerticalFlip(p=0.5), A.BoxErase(count=(0, 4), p=0.8),
                          A.Tint(scale=(0.7, 1.3), p=0.3), A.BoxErase(count=(1, 3), fill=(9, 99, 199, 7)[:channels]),
                          A.RandomCrop(h - 3, w - 5)])
        out = pipe.batch(imgs, rng=trial, record=True)
        for i in range(len(imgs)):
            ops, shape = [], imgs[i].shape
            for t, p in pipe.steps(out["params"][i], shape):
                ops += t.ops(p, shape)
                shape = t.output_shape(p, shape)
            want = plan.run_ops(ops, imgs[i], reference=True)
            assert np.array_equal(out["image"][i], want, equal_nan=True), (trial, i, out["params"][i])


def test_the_short_way_in_equals_the_general_path_on_random_pipelines():
    """Repeat calls (the pipeline's own stream, a Generator or seeds) take the short way into
    the compiled call (Transform.__call__); a twin called with a mask takes the general path.
    Drawing the same uniforms, they must give the same images and raise the same errors,
    call after call, for heights that change (same width) and crops that stop fitting."""
    import copy

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        h, w = data.draw(st.integers(2, 14)), data.draw(st.integers(2, 14))
        c = data.draw(st.sampled_from([1, 3, 4]))
        seed = data.draw(st.integers(0, 2 ** 32 - 1))
        heights = data.draw(st.lists(st.integers(1, 16), min_size=2, max_size=5))
        stream = data.draw(st.sampled_from(["own", "generator", "seeds"]))
        transforms = _random_transforms(data.draw, st, h, w)
        if len(transforms) == 1:
            transforms[0].seed = seed
            short, general = transforms[0], copy.deepcopy(transforms[0])
        else:
            short, general = A.Compose(transforms, seed=seed), A.Compose(copy.deepcopy(transforms), seed=seed)
        g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
        for i, hh in enumerate([h] + heights):
            img = make_image(h=hh, w=w, c=c, seed=(seed + i) % 1000)
            kw1, kw2 = {"own": ({}, {}), "generator": ({"rng": g1}, {"rng": g2}),
                        "seeds": ({"rng": (seed, i)}, {"rng": (seed, i)})}[stream]
            try:
                want = general(image=img, mask=np.zeros((hh, w), np.uint8), **kw2)["image"]
            except ValueError as e:
                with pytest.raises(ValueError) as got:
                    short(image=img, **kw1)
                assert str(got.value) == str(e)
                continue
            assert np.array_equal(short(image=img, **kw1)["image"], want), (transforms, i)

    check()


def test_the_short_way_in_is_taken_and_falls_back_with_the_same_uniforms(monkeypatch):
    """A repeat call takes the short way; where clashing fills make the compiled plan hand
    over to the general path (here when the second shift applies), it does so with the
    uniforms already drawn, not fresh ones."""
    from augkit.core import Transform
    handed_over = []
    finish = Transform._finish
    monkeypatch.setattr(Transform, "_finish", lambda self, *a: handed_over.append(1) or finish(self, *a))

    def make():
        return A.Compose([A.Shift(dx=(2, 2), dy=0, unit="px", fill=10, p=1), A.Tint(p=1),
                          A.Shift(dx=0, dy=(2, 2), unit="px", fill=200, p=0.5)], seed=4)
    short, general = make(), make()
    for i in range(12):
        img = make_image(h=9 + i, w=11, seed=i)
        want = general(image=img, mask=np.zeros((9 + i, 11), np.uint8))["image"]
        n, short_way = len(handed_over), short.__dict__.get("_fast") is not None
        assert np.array_equal(short(image=img)["image"], want), i
        if short_way and len(handed_over) > n:
            break
    else:
        raise AssertionError("no call took the short way and then handed over")


def test_the_short_way_in_sees_changed_settings_and_leaves_inputs_alone():
    img = make_image(h=10, w=12, seed=3)
    before = img.copy()
    flip = A.HorizontalFlip(p=1.0)
    gen = np.random.default_rng(0)
    assert np.array_equal(flip(image=img, rng=gen)["image"], img[:, ::-1])
    assert np.array_equal(flip(image=img, rng=gen)["image"], img[:, ::-1])   # the short way
    flip.p = 0.0
    out = flip(image=img, rng=gen)["image"]
    assert np.array_equal(out, img) and out is not img and out.flags.writeable
    assert np.array_equal(img, before)
    crop = A.RandomCrop(8, 8)
    crop(image=img)
    with pytest.raises(ValueError, match="RandomCrop"):
        crop(image=img[:5].copy())        # same width and channels, too short for the crop


_FRESH_PROCESS_CODE = r"""
import hashlib, json, sys
import numpy as np
import numba
before = "numba.np.arraymath" in sys.modules
import augkit as A
from augkit import _kernels, _pixels, _seeds
from PIL import Image

def digest(a):
    return hashlib.md5(np.ascontiguousarray(a).tobytes()).hexdigest()

rng = np.random.default_rng(0)
imgs = rng.integers(0, 256, (96, 96, 96, 3), dtype=np.uint8)   # a batch over 1 MiB: parallel
pipe = A.Compose([A.RandomCrop(80, 80), A.HorizontalFlip(), A.Shift(p=1), A.Tint(p=1), A.BoxErase(p=1)], seed=3)
out = {}
out["u8 single"] = digest(pipe(image=imgs[0], rng=1)["image"])        # the very first compiled call
out["registries loaded by the first call"] = (not before) and "numba.np.arraymath" in sys.modules
out["u8 single, record"] = json.dumps(pipe(image=imgs[1], rng=2, record=True)["params"])
out["f32 single"] = digest(pipe(image=imgs[2].astype(np.float32) / 255, rng=3)["image"])
out["mask"] = digest(pipe(image=imgs[3], mask=imgs[3, :, :, 0].copy(), rng=4)["mask"])
out["tree"] = digest(A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)])])(image=imgs[4], rng=5)["image"])
numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
out["u8 batch, parallel"] = digest(pipe.batch(imgs, rng=(6, 1))["image"])
out["u8 batch, small"] = digest(pipe.batch(imgs[:3], rng=7)["image"])
out["f32 batch"] = digest(pipe.batch(imgs.astype(np.float32), rng=8)["image"])
out["seeds"] = [int(g.integers(1 << 30)) for g in _seeds.generators((9, 2), [0, 1, 5])]
rgb = Image.fromarray(imgs[5])
out["rgb repack"] = digest(_pixels.rgb_array(rgb)) if _pixels.rgb_array(rgb) is not None else None
rgbx = _pixels.rgbx_image(imgs[6].copy())
out["rgbx repack"] = digest(np.asarray(rgbx)) if rgbx is not None else None
try:
    _kernels.run_u8(imgs[0], pipe._programs[(3, "B")].tab, -1.0, 8, np.zeros(50), np.zeros(8, np.uint8))
except ValueError as e:
    out["error"] = str(e)
print(json.dumps(out))
"""


def test_cached_code_loads_the_same_without_numba_refresh_in_fresh_processes():
    """augkit._cache_load: in a fresh process with a warm cache every compiled entry point
    (single calls of both dtypes, masks, trees, parallel and small batches, seeds, the RGB
    repacks, a compiled raise) gives the same results whether numba refreshes its registries
    before loading (AUGKIT_NUMBA_REFRESH=1) or not, and the first call does not load them."""
    import json
    import os
    import subprocess
    import sys

    def run(**env):
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", _FRESH_PROCESS_CODE], capture_output=True,
                              text=True, env=dict(os.environ, **env), timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    usual = run(AUGKIT_NUMBA_REFRESH="1")     # also fills the cache, where a compile was needed
    quick = run(AUGKIT_NUMBA_REFRESH="0")
    assert usual["registries loaded by the first call"] is True
    assert quick["registries loaded by the first call"] is False
    for key in usual:
        if key != "registries loaded by the first call":
            assert quick[key] == usual[key], key
    assert quick["error"] == "augkit: run_u8's workspace is too small"
    assert len(quick["seeds"]) == 3


def test_copies_do_not_carry_compiled_forms_stamped_in_another_process():
    """A pickled or copied transform leaves its compiled forms behind: their version stamps
    count settings changes in the process that made them, so in another process a stale
    stamp could match by chance and run settings the transform no longer has."""
    import copy
    import pickle

    from augkit import core
    img = make_image(h=8, w=9, seed=2)
    flip = A.HorizontalFlip(p=1.0)
    flip(image=img)
    flip(image=img, rng=np.random.default_rng(0))
    stale = core.SETTINGS_VERSION[0]
    flip.p = 0.0                                  # the caches above are stale now
    now = core.SETTINGS_VERSION[0]
    try:
        for clone in (pickle.loads(pickle.dumps(flip)), copy.deepcopy(flip)):
            assert not {"_programs", "_fast", "_cfg"} & set(vars(clone)), vars(clone).keys()
            core.SETTINGS_VERSION[0] = stale      # as if the counter matched by chance
            assert np.array_equal(clone(image=img)["image"], img)
            assert np.array_equal(clone(image=img, rng=np.random.default_rng(1))["image"], img)
    finally:
        core.SETTINGS_VERSION[0] = max(now, core.SETTINGS_VERSION[0]) + 1


@pytest.mark.parametrize("name", ["five", "every", "clashing fills"])
def test_batches_planned_serially_equal_the_parallel_kernel(name):
    """A uint8 batch plans and renders in one parallel kernel; when another thread holds it, the
    batch plans serially and renders image by image: the same pixels and params either way,
    fallbacks (clashing fills) included."""
    from augkit import _batch
    pipe = PIPES[name]
    imgs = np.stack([make_image(h=40, w=44, seed=s) for s in range(9)])
    big = np.stack([make_image(h=300, w=310, seed=s) for s in range(6)])   # over SERIAL_BYTES
    for stack in (imgs, big):
        if name == "five" and stack is big:
            pipe = A.Compose([A.RandomCrop(290, 300), *PIPES[name].transforms[1:]])
        want = pipe.batch(stack, rng=(4, 2), record=True)
        with _batch._PARALLEL:
            got = pipe.batch(stack, rng=(4, 2), record=True)
        assert np.array_equal(got["image"], want["image"])
        assert got["params"] == want["params"]
        for i in (0, len(stack) - 1):
            assert np.array_equal(want["image"][i], pipe.replay(want["params"][i], image=stack[i])["image"])
