"""Bad input gets a ValueError/TypeError that names the argument, never a crash from deep inside."""
import numpy as np
import pytest

import augkit as A

IMG = np.zeros((10, 10, 3), np.uint8)
PIPE = A.Compose([A.Shift(p=1), A.Tint(p=1), A.BoxErase(p=1)])

CASES = [
    ("int64 image", TypeError, "dtype uint8 or float32, got int64", lambda: PIPE(image=np.zeros((4, 4), np.int64))),
    ("float64 image", TypeError, r"astype\(np.float32\)", lambda: PIPE(image=np.zeros((4, 4)))),
    ("not an array", TypeError, "numpy.ndarray", lambda: PIPE(image=[[1, 2]])),
    ("4-D image", ValueError, r"\(H, W\) or \(H, W, C\)", lambda: PIPE(image=np.zeros((2, 4, 4, 3), np.uint8))),
    ("1-D image", ValueError, r"got shape \(10,\)", lambda: PIPE(image=np.zeros(10, np.uint8))),
    ("empty image", ValueError, "must not be empty", lambda: PIPE(image=np.zeros((0, 4, 3), np.uint8))),
    ("no channels", ValueError, "must not be empty", lambda: PIPE(image=np.zeros((4, 4, 0), np.uint8))),
    ("p > 1", ValueError, "Shift: p must be a probability in \\[0, 1\\], got 1.5", lambda: A.Shift(p=1.5)),
    ("p < 0", ValueError, "Tint: p", lambda: A.Tint(p=-0.1)),
    ("tint beyond float32", ValueError, r"Tint: shift values must be >= -3.40282e\+38, got \(-1e\+300, 1e\+300\)",
     lambda: A.Tint(shift=1e300)),
    ("tint above float32", ValueError, r"Tint: shift values must be <= 3.40282e\+38, got \(0.0, 1e\+300\)",
     lambda: A.Tint(shift=(0, 1e300))),
    ("scale beyond float32", ValueError, "Tint: scale values must be <= 3.40282e", lambda: A.Tint(scale=(1, 1e39))),
    ("p text", ValueError, "p must be", lambda: A.HorizontalFlip(p="a")),
    ("inverted dx", ValueError, r"dx must be .*min > max", lambda: A.Shift(dx=(0.2, -0.1))),
    ("inverted scale", ValueError, r"BoxErase: scale .*\(0.5, 0.2\)", lambda: A.BoxErase(scale=(0.5, 0.2))),
    ("scale above 1", ValueError, "scale values must be <= 1", lambda: A.BoxErase(scale=(0.5, 1.2))),
    ("ratio zero", ValueError, "ratio values must be > 0", lambda: A.BoxErase(ratio=(0, 1))),
    ("RandomCrop too large", ValueError, "larger than the 10x10 image", lambda: A.RandomCrop(20, 20)(image=IMG)),
    ("CenterCrop too large", ValueError, "pad_if_needed=True", lambda: A.CenterCrop(20, 5)(image=IMG)),
    ("Crop outside", ValueError, "x_max <= 10", lambda: A.Crop(0, 0, 20, 5)(image=IMG)),
    ("Crop inverted", ValueError, "x_min < x_max", lambda: A.Crop(5, 0, 2, 5)),
    ("box outside", ValueError, r"bboxes\[0\] lies outside", lambda: PIPE(image=IMG, bboxes=[[0, 0, 20, 5]])),
    ("box inverted", ValueError, r"bboxes\[1\] must have x_min < x_max",
     lambda: PIPE(image=IMG, bboxes=[[0, 0, 2, 2], [5, 0, 2, 5]])),
    ("box columns", ValueError, r"shape \(M, 4 \+ k\)", lambda: PIPE(image=IMG, bboxes=[[1, 2, 3]])),
    ("box nan", ValueError, "non-finite", lambda: PIPE(image=IMG, bboxes=[[1, 2, np.nan, 4]])),
    ("box text", ValueError, "array-like of numbers", lambda: PIPE(image=IMG, bboxes=[["a", 2, 3, 4]])),
    ("yolo not normalised", ValueError, "normalised to \\[0, 1\\]",
     lambda: A.Compose([], bbox_format="yolo")(image=IMG, bboxes=[[0.5, 0.5, 3, 0.2]])),
    ("bbox_format", ValueError, "bbox_format must be one of", lambda: A.Compose([], bbox_format="xyxy")),
    ("mask size", ValueError, "mask must have the image's height and width", lambda: PIPE(image=IMG, mask=np.zeros((9, 10)))),
    ("mask dtype", TypeError, "mask must have an integer", lambda: PIPE(image=IMG, mask=np.zeros((10, 10), "U1"))),
    ("keypoint outside", ValueError, r"keypoints\[0\] lies outside", lambda: PIPE(image=IMG, keypoints=[[11, 2]])),
    ("fill length", ValueError, "fill has 2 values but the image has 3 channels",
     lambda: A.Shift(fill=(1, 2), p=1)(image=IMG, rng=0)),
    ("fill range", ValueError, "whole numbers in 0..255",
     lambda: A.Shift(dx=(2, 2), dy=0, unit="px", fill=300, p=1)(image=IMG)),
    ("fill text", ValueError, "fill must be a number", lambda: A.Shift(fill="red")),
    ("unit", ValueError, 'unit must be "fraction" or "px"', lambda: A.Shift(unit="cm")),
    ("px fractions", ValueError, "whole numbers", lambda: A.Shift(dx=(0.5, 2), unit="px")),
    ("rng negative", ValueError, "non-negative", lambda: PIPE(image=IMG, rng=-1)),
    ("rng float", TypeError, "rng must be", lambda: PIPE(image=IMG, rng=1.5)),
    ("child not a transform", ValueError, r"transforms\[1\] must be an augkit transform", lambda: A.Compose([A.Shift(), "x"])),
    ("OneOf weights", ValueError, "at least one child with p > 0", lambda: A.OneOf([A.Shift(p=0)])),
    ("SomeOf n", ValueError, "n must be <= the number of transforms", lambda: A.SomeOf([A.Shift()], n=3)),
    ("count", ValueError, "count must be an integer >= 0", lambda: A.BoxErase(count=-1)),
    ("replay shape", ValueError, "do not match this pipeline", lambda: PIPE.replay([None], image=IMG)),
    ("replay fields", ValueError, "lack dy", lambda: PIPE.replay([{"dx": 1}, None, None], image=IMG)),
    ("replay channels", ValueError, "one value per channel",
     lambda: A.Tint(p=1).replay({"offset": [1, 2], "scale": [1, 1]}, image=IMG)),
    ("batch shape", ValueError, r"\(N, H, W\) or \(N, H, W, C\)", lambda: PIPE.batch(np.zeros((2, 5), np.uint8))),
    ("functional crop", ValueError, "crop: the crop", lambda: A.functional.crop(IMG, 0, 0, 11, 3)),
    ("functional tint", ValueError, "tint: offset must be", lambda: A.functional.tint(IMG, [1, 2])),
    ("functional erase", ValueError, r"erase: boxes\[0\]", lambda: A.functional.erase(IMG, [[0, 0, 11, 2]])),
]


@pytest.mark.parametrize("name,exc,pattern,call", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named(name, exc, pattern, call):
    with pytest.raises(exc, match=pattern):
        call()


def test_nan_propagates_in_float_images():
    img = np.full((6, 6, 3), 0.5, np.float32)
    img[2, 3] = np.nan
    out = A.Compose([A.Tint(p=1), A.Shift(dx=(1, 1), dy=0, unit="px", p=1)])(image=img, rng=0)["image"]
    assert np.isnan(out[2, 4]).all() and np.isfinite(out[2, 3]).all()
