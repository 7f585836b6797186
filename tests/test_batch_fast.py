"""The vectorised batch path (Generator or None rng): every sample equals the replay of its params."""
import numpy as np
import pytest

import augkit as A
from augkit import _batchfast
from conftest import make_image

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
    assert _batchfast.supported(pipe) is not None
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
    assert _batchfast.supported(A.Compose([A.OneOf([A.Shift()])])) is None
    assert _batchfast.supported(A.Compose([A.BoxErase(fill="random")])) is None
    assert _batchfast.supported(A.Compose([A.RandomCrop(5, 5, p=0.5)])) is None
    pipe = A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)], p=1)])
    imgs = np.stack([make_image(seed=s) for s in range(4)])
    out = pipe.batch(imgs, rng=np.random.default_rng(0), record=True)
    for i in range(4):
        assert np.array_equal(out["image"][i], pipe.replay(out["params"][i], image=imgs[i])["image"])
