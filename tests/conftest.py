import numpy as np
import pytest

import augkit as A


def make_image(h=23, w=31, c=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if c is None else (h, w, c)
    if dtype == np.uint8:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.normal(0.5, 0.3, size=shape).astype(np.float32)


def every_transform(p=0.5):
    """One configured instance of every transform class, for the contract tests."""
    return [
        A.HorizontalFlip(p=p),
        A.VerticalFlip(p=p),
        A.Crop(2, 3, 17, 19),
        A.CenterCrop(11, 13),
        A.CenterCrop(30, 40, pad_if_needed=True, fill=7),
        A.RandomCrop(15, 20, p=p),
        A.RandomCrop(30, 35, pad_if_needed=True, fill=(1, 2, 3), p=p),
        A.Shift(p=p),
        A.Shift(dx=(-5, 5), dy=3, unit="px", fill=(9, 8, 7), fill_mask=255, p=p),
        A.Tint(p=p),
        A.Tint(shift=(-30, 10), scale=(0.5, 1.5), per_channel=False, p=p),
        A.BoxErase(p=p),
        A.BoxErase(count=(1, 3), fill="random", fill_mask=3, p=p),
        A.BoxErase(scale=(0.1, 0.2), fill=(10, 20, 30), p=p),
    ]


@pytest.fixture
def image():
    return make_image()
