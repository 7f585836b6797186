"""Each kernel path against a plain-NumPy reference written independently of augkit.plan."""
import numpy as np
import pytest

from augkit import functional as F
from augkit import plan
from conftest import make_image


def ref_tint_u8(img, scale, offset):
    return np.clip(np.round(img.astype(np.float64) * scale + offset), 0, 255)


@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4, 5])
def test_flip_crop_pad_shift_match_slicing(channels):
    img = make_image(h=17, w=29, c=channels)
    assert np.array_equal(F.hflip(img), img[:, ::-1])
    assert np.array_equal(F.vflip(img), img[::-1])
    assert np.array_equal(F.crop(img, 3, 2, 20, 11), img[2:11, 3:20])
    padded = F.pad(img, 1, 2, 3, 4, fill=9)
    expect = np.full((20, 36) + img.shape[2:], 9, np.uint8)
    expect[1:18, 3:32] = img
    assert np.array_equal(padded, expect)
    for dx, dy in [(3, -2), (-5, 4), (0, 0), (40, 0), (-29, 17), (28, -16)]:
        out = F.shift(img, dx, dy, fill=200)
        expect = np.full_like(img, 200)
        h, w = img.shape[:2]
        ys, xs = slice(max(0, dy), min(h, h + dy)), slice(max(0, dx), min(w, w + dx))
        ysrc, xsrc = slice(max(0, -dy), min(h, h - dy)), slice(max(0, -dx), min(w, w - dx))
        if ys.stop > ys.start and xs.stop > xs.start:
            expect[ys, xs] = img[ysrc, xsrc]
        assert np.array_equal(out, expect), (dx, dy)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_tint_u8_within_one_level_of_round_clip(channels):
    img = make_image(h=40, w=40, c=channels)
    rng = np.random.default_rng(0)
    for _ in range(20):
        scale = rng.uniform(0, 2, channels)
        offset = rng.uniform(-60, 60, channels)
        out = F.tint(img, offset, scale)
        diff = np.abs(out.astype(np.int64) - ref_tint_u8(img, scale, offset))
        assert diff.max() <= 1
        # Exact where no .5 tie is involved: our rule is round-half-up.
        exact = np.clip(np.floor(img * scale + offset + 0.5), 0, 255)
        assert np.array_equal(out, exact)
    assert np.array_equal(F.tint(img, 300), np.full_like(img, 255))
    assert np.array_equal(F.tint(img, -300), np.zeros_like(img))


def test_tint_float_is_affine_unclipped_and_propagates_nan():
    img = make_image(dtype=np.float32)
    img[0, 0, 1] = np.nan
    out = F.tint(img, [1.0, -2.0, 0.5], [2.0, 1.0, 0.5])
    expect = img * np.float32([2.0, 1.0, 0.5]) + np.float32([1.0, -2.0, 0.5])
    assert np.array_equal(out, expect, equal_nan=True)
    assert np.isnan(out[0, 0, 1]) and not np.isnan(out[0, 0, 0])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_erase_constant_and_random(dtype):
    img = make_image(h=20, w=30, dtype=dtype)
    boxes = [[1, 2, 6, 9], [4, 5, 30, 20]]
    out = F.erase(img, boxes, fill=(3, 4, 5))
    expect = img.copy()
    for x0, y0, x1, y1 in boxes:
        expect[y0:y1, x0:x1] = np.array([3, 4, 5], dtype)
    assert np.array_equal(out, expect)
    noisy = F.erase(img, boxes, fill="random", noise_seed=5)
    assert np.array_equal(noisy, F.erase(img, boxes, fill="random", noise_seed=5))
    assert np.array_equal(noisy[:2], img[:2])
    patch = noisy[5:20, 4:30]
    if dtype == np.uint8:
        assert patch.std() > 30
    else:
        assert patch.min() >= 0 and patch.max() < 1


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("side, trials", [(30, 60), (140, 20)])
def test_kernel_equals_numpy_executor_on_random_plans(dtype, channels, side, trials):
    """Small images hit every short-row case (spans under one 32-byte vector, flips under one
    block of 16 pixels); larger ones whole vectors and blocks with partial ones after them."""
    rng = np.random.default_rng(channels + side)
    for trial in range(trials):
        h, w = rng.integers(1, side, 2)
        img = make_image(h=int(h), w=int(w), c=channels, dtype=dtype, seed=trial)
        ops = []
        for _ in range(rng.integers(1, 6)):
            kind = rng.integers(0, 5)
            if kind == 0:
                ops += F.hflip_ops(h, w) if rng.random() < 0.5 else F.vflip_ops(h, w)
            elif kind == 1:
                dx, dy = rng.integers(-w - 2, w + 2), rng.integers(-h - 2, h + 2)
                ops += F.shift_ops(h, w, int(dx), int(dy), float(rng.integers(0, 256)))
            elif kind == 2:
                ops += F.tint_ops(rng.uniform(0.5, 1.5, channels) if rng.random() < 0.5 else np.ones(channels),
                                  rng.uniform(-40, 40, channels))
            elif kind == 3:
                x0, y0 = rng.integers(0, w), rng.integers(0, h)
                x1, y1 = rng.integers(x0 + 1, w + 1), rng.integers(y0 + 1, h + 1)
                fill = "random" if rng.random() < 0.3 else float(rng.integers(0, 256))
                ops += F.erase_ops([(x0, y0, x1, y1)], fill, int(rng.integers(1 << 30)))
            else:
                t, b, l, r = (int(v) for v in rng.integers(0, 4, 4))
                ops += F.pad_ops(h, w, t, b, l, r, float(rng.integers(0, 256)))
                h, w = h + t + b, w + l + r
                x0, y0 = rng.integers(0, w), rng.integers(0, h)
                x1, y1 = rng.integers(x0 + 1, w + 1), rng.integers(y0 + 1, h + 1)
                ops += F.crop_ops(h, w, int(x0), int(y0), int(x1), int(y1))
                h, w = y1 - y0, x1 - x0
        fast = plan.run_ops(ops, img)
        slow = plan.run_ops(ops, img, reference=True)
        assert np.array_equal(fast, slow, equal_nan=True), (trial, ops)
