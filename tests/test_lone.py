"""A lone flip or crop on uint8 images (Program.run_lone, _kernels.lone_u8): the short way a
single HorizontalFlip, VerticalFlip, Crop, CenterCrop or RandomCrop takes from its second
call on. It must give exactly what the general compiled call (run_u8) and the Python path
give for the same draws, consume the random stream exactly as they do, and leave the input
alone.
"""
import numpy as np
import pytest

import augkit as A
from augkit import _program
from conftest import make_image


def lone_transforms():
    return [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.HorizontalFlip(p=1.0), A.VerticalFlip(p=0.0),
            A.Crop(1, 2, 9, 7), A.CenterCrop(5, 6), A.RandomCrop(4, 7, p=0.7), A.RandomCrop(6, 8),
            A.RandomCrop(1, 1)]


def _takes_the_lone_way(t, img, monkeypatch):
    """Run ``t`` once the general way, then check that the next call takes run_lone only."""
    t(image=img, rng=0)
    calls = []
    real = _program.Program.run_lone
    monkeypatch.setattr(_program.Program, "run_u8", lambda *a: pytest.fail("run_u8 called"))
    monkeypatch.setattr(_program.Program, "run_lone", lambda self, *a: calls.append(1) or real(self, *a))
    t(image=img, rng=1)
    monkeypatch.undo()
    return len(calls) == 1


@pytest.mark.parametrize("c", [1, 2, 3, 4])
@pytest.mark.parametrize("hw", [(9, 9), (12, 17), (7, 16), (10, 33), (11, 50)])
def test_lone_calls_equal_the_general_path_and_draw_alike(c, hw, monkeypatch):
    img = make_image(h=hw[0], w=hw[1], c=c, seed=hw[1])
    before = img.copy()
    for t in lone_transforms():
        assert _takes_the_lone_way(t, img, monkeypatch), t
        for seed in range(12):
            # record=True always takes the general path (it samples in numba and renders in Python
            # or run_u8); an int, a (seed, epoch, index) tuple and a Generator each draw differently.
            for rng in (seed, (seed, 3, 1)):
                got = t(image=img, rng=rng)["image"]
                want = t(image=img, rng=rng, record=True)["image"]
                assert got.dtype == np.uint8 and got.flags.c_contiguous and got.flags.writeable
                assert np.array_equal(got, want), (t, c, hw, rng)
            g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
            got = t(image=img, rng=g1)["image"]
            want = t(image=img, rng=g2, record=True)["image"]
            assert np.array_equal(got, want), (t, c, hw, seed)
            assert g1.random() == g2.random()     # the same number of draws
        assert np.array_equal(img, before)


def test_lone_flips_and_crops_are_what_they_say():
    img = make_image(h=13, w=21, c=3, seed=4)
    assert np.array_equal(A.HorizontalFlip(p=1)(image=img)["image"], img[:, ::-1])
    assert np.array_equal(A.HorizontalFlip(p=1)(image=img)["image"], img[:, ::-1])   # twice: the lone way
    v = A.VerticalFlip(p=1)
    v(image=img)
    assert np.array_equal(v(image=img)["image"], img[::-1])
    crop = A.Crop(2, 3, 19, 10)
    crop(image=img)
    assert np.array_equal(crop(image=img)["image"], img[3:10, 2:19])
    center = A.CenterCrop(6, 10)
    center(image=img)
    assert np.array_equal(center(image=img)["image"], img[3:9, 5:15])
    never = A.HorizontalFlip(p=0)
    never(image=img)
    out = never(image=img)["image"]
    assert np.array_equal(out, img) and out is not img and not np.shares_memory(out, img)
    frozen = img.copy()
    frozen.flags.writeable = False               # e.g. np.asarray(pil_image)
    assert np.array_equal(never(image=frozen)["image"], img)


def test_random_crop_positions_match_the_recorded_ones():
    img = make_image(h=30, w=40, c=3, seed=5)
    crop = A.RandomCrop(10, 12)
    crop(image=img)
    seen = set()
    for seed in range(200):
        out = crop(image=img, rng=seed)["image"]
        x, y = (crop(image=img, rng=seed, record=True)["params"][k] for k in ("x", "y"))
        assert np.array_equal(out, img[y:y + 10, x:x + 12])
        seen.add((x, y))
    assert len(seen) > 100   # positions spread over the image


def test_crops_that_do_not_fit_still_take_the_general_path():
    crop = A.RandomCrop(20, 20)
    crop(image=make_image(h=30, w=30, seed=1))
    with pytest.raises(ValueError, match="RandomCrop"):
        crop(image=make_image(h=10, w=30, seed=1))   # same width: the short way is tried first
    padded = A.RandomCrop(20, 20, pad_if_needed=True, fill=7)
    img = make_image(h=30, w=30, seed=2)
    padded(image=img)
    short = make_image(h=12, w=30, seed=3)
    for seed in range(10):
        assert np.array_equal(padded(image=short, rng=seed)["image"],
                              padded(image=short, rng=seed, record=True)["image"])


def test_lone_calls_see_changed_settings():
    img = make_image(h=10, w=12, seed=3)
    flip = A.HorizontalFlip(p=1.0)
    flip(image=img)
    assert np.array_equal(flip(image=img)["image"], img[:, ::-1])
    flip.p = 0.0
    assert np.array_equal(flip(image=img)["image"], img)
    crop = A.Crop(0, 0, 5, 5)
    crop(image=img)
    crop.x_max = 8
    assert np.array_equal(crop(image=img)["image"], img[:5, :8])


def test_own_stream_draws_alike_on_both_ways():
    img = make_image(h=16, w=20, seed=6)
    a, b = A.HorizontalFlip(), A.HorizontalFlip()
    a._stream, b._stream = np.random.default_rng(11), np.random.default_rng(11)
    outs_a = [a(image=img)["image"] for _ in range(40)]               # the lone way from the second call
    outs_b = [b(image=img, record=True)["image"] for _ in range(40)]  # the general way throughout
    assert all(np.array_equal(x, y) for x, y in zip(outs_a, outs_b))
    assert a._stream.random() == b._stream.random()


@pytest.mark.parametrize("w", [1, 5, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 80, 95, 96, 97, 255, 256])
def test_left_right_flips_of_every_width_on_every_path(w):
    """3-channel flips reverse whole blocks of pixels with byte shuffles (32 or 16 at a time,
    then a 16-pixel block, then single pixels): every width, lone, fused and batched."""
    img = make_image(h=5, w=w, c=3, seed=w)
    want = img[:, ::-1]
    lone = A.HorizontalFlip(p=1)
    for _ in range(2):
        assert np.array_equal(lone(image=img)["image"], want)
    fused = A.Compose([A.HorizontalFlip(p=1), A.Tint(p=0)])
    assert np.array_equal(fused(image=img)["image"], want)
    assert np.array_equal(fused.batch(np.stack([img, img]))["image"][1], want)
    if w > 3:   # a span that starts and ends inside the row
        crop = A.Compose([A.Crop(1, 0, w - 2, 5), A.HorizontalFlip(p=1)])
        assert np.array_equal(crop(image=img)["image"], img[:, 1:w - 2][:, ::-1])


def test_block_width_follows_numbas_target_cpu():
    """32-pixel blocks only when numba compiles for a CPU with AVX-512 VBMI; without it (here
    NUMBA_ENABLE_AVX=0, under which numba compiles without any AVX) 16-pixel blocks, which flip
    correctly too."""
    import os
    import subprocess
    import sys
    import tempfile
    code = ("import numpy as np\nfrom augkit import _kernels as K\n"
            "img = np.arange(7 * 83 * 3, dtype=np.uint32).astype(np.uint8).reshape(7, 83, 3)\n"
            "img.flags.writeable = False\n"
            "out = K.lone_u8(img, K.HFLIP, 0, 0, 7, 83)\n"
            "print(K._BLOCK, bool(np.array_equal(out, img[:, ::-1])))\n")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_ENABLE_AVX="0", NUMBA_CACHE_DIR=cache)
        env.pop("NUMBA_CPU_FEATURES", None)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["16", "True"], done.stdout

