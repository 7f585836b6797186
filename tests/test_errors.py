"""Bad input gets a ValueError/TypeError that names the argument, never a crash from deep inside."""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    ("replay channels", ValueError, r"recorded offset must be 3 finite numbers \(one per channel",
     lambda: A.Tint(p=1).replay({"offset": [1, 2], "scale": [1, 1]}, image=IMG)),
    # Recorded params from outside (a file, a hand-written dict) are checked like arguments.
    ("replay unknown key", ValueError, r"HorizontalFlip: recorded params \{'x': 1\} have unknown key\(s\) 'x'",
     lambda: A.HorizontalFlip(p=1).replay({"x": 1}, image=IMG)),
    ("replay extra key", ValueError, r"Shift: .*unknown key\(s\) 'z'; expected dx, dy",
     lambda: A.Shift(p=1).replay({"dx": 1, "dy": 0, "z": 3}, image=IMG)),
    ("replay fractional shift", ValueError, "Shift: recorded dx must be an integer, got 1.5",
     lambda: A.Shift(p=1).replay({"dx": 1.5, "dy": 0}, image=IMG)),
    ("replay text shift", ValueError, "Shift: recorded dy must be an integer, got 'a'",
     lambda: A.Shift(p=1).replay({"dx": 1, "dy": "a"}, image=IMG)),
    ("replay nan corner", ValueError, "RandomCrop: recorded x must be an integer, got nan",
     lambda: A.RandomCrop(4, 4).replay({"x": float("nan"), "y": 0}, image=IMG)),
    ("replay None corner", ValueError, "RandomCrop: recorded y must be an integer, got None",
     lambda: A.RandomCrop(4, 4).replay({"x": 0, "y": None}, image=IMG)),
    ("replay nan tint", ValueError, r"Tint: recorded scale must be 3 finite numbers .*got \[1, nan, 1\]",
     lambda: A.Tint(p=1).replay({"offset": [0, 0, 0], "scale": [1, float("nan"), 1]}, image=IMG)),
    ("replay text tint", ValueError, "Tint: recorded offset must be 3 finite numbers",
     lambda: A.Tint(p=1).replay({"offset": ["a", "b", "c"], "scale": [1, 1, 1]}, image=IMG)),
    ("replay tint beyond float32", ValueError, "within float32's range, got \\[1e\\+300, 0, 0\\]",
     lambda: A.Tint(p=1).replay({"offset": [1e300, 0, 0], "scale": [1, 1, 1]}, image=IMG)),
    ("replay infinite box", ValueError, "BoxErase: boxes must be whole-pixel rectangles",
     lambda: A.BoxErase(p=1).replay({"boxes": [[0, 0, float("inf"), 2]]}, image=IMG)),
    ("replay ragged boxes", ValueError, "BoxErase: boxes must be whole-pixel rectangles",
     lambda: A.BoxErase(p=1).replay({"boxes": [[0, 0, 2], [0, 0, 2, 2]]}, image=IMG)),
    ("replay huge box", ValueError, r"boxes\[0\] = \[0, 0, 1000000000000000019884624838656, 2\] must satisfy",
     lambda: A.BoxErase(p=1).replay({"boxes": [[0, 0, 1e30, 2]]}, image=IMG)),
    ("replay noise seed", ValueError, "BoxErase: recorded noise_seed must be an integer >= 0, got -1",
     lambda: A.BoxErase(fill="random", p=1).replay({"boxes": [], "noise_seed": -1}, image=IMG)),
    ("replay no noise seed", ValueError, r'lack noise_seed \(fill="random" needs it\)',
     lambda: A.BoxErase(fill="random", p=1).replay({"boxes": []}, image=IMG)),
    ("shift beyond the image", ValueError, r"Shift: dx values must be <= 1, got \(0.5, 2.0\)",
     lambda: A.Shift(dx=(0.5, 2))),
    ("px shift beyond 2**31", ValueError, r"Shift: dy values must be >= -2147483648, got \(-1099511627776, 0\)",
     lambda: A.Shift(dx=0, dy=(-2 ** 40, 0), unit="px")),
    ("px shift with a fractional default", ValueError,
     r'Shift: dy must hold whole numbers, got \(-0.1, 0.1\); with unit="px" give both dx and dy',
     lambda: A.Shift(dx=3, unit="px")),
    ("count too large", ValueError, "BoxErase: count must be at most 1024 boxes, got 100000",
     lambda: A.BoxErase(count=100_000)),
    ("batch shape", ValueError, r"\(N, H, W\) or \(N, H, W, C\)", lambda: PIPE.batch(np.zeros((2, 5), np.uint8))),
    ("functional crop", ValueError, "crop: the crop", lambda: A.functional.crop(IMG, 0, 0, 11, 3)),
    ("functional tint", ValueError, "tint: offset must be", lambda: A.functional.tint(IMG, [1, 2])),
    ("functional tint text", ValueError, "tint: scale must be a finite number or 3 finite numbers .*got 'x'",
     lambda: A.functional.tint(IMG, 1, "x")),
    ("functional erase", ValueError, r"erase: boxes\[0\]", lambda: A.functional.erase(IMG, [[0, 0, 11, 2]])),
    ("functional noise seed", ValueError, "erase: noise_seed must be an integer >= 0, got -1",
     lambda: A.functional.erase(IMG, [[0, 0, 2, 2]], fill="random", noise_seed=-1)),
    ("functional 1-D image", ValueError, r"image must have shape \(H, W\) or \(H, W, C\), got shape \(5,\)",
     lambda: A.functional.hflip(np.zeros(5, np.uint8))),
    ("functional mask list", TypeError, "mask must be a numpy.ndarray, got list",
     lambda: A.functional.vflip_mask([[1, 2]])),
    ("functional 1-D mask", ValueError, r"mask must have shape \(H, W\) or \(H, W, K\), got shape \(5,\)",
     lambda: A.functional.crop_mask(np.zeros(5), 0, 0, 1, 1)),
    ("functional fill_mask", ValueError, "shift_mask: fill_mask must be a number",
     lambda: A.functional.shift_mask(np.zeros((4, 4)), 1, 0, fill_mask="x")),
    ("functional pad_if_needed", ValueError, "center_crop: pad_if_needed must be True or False, got 'yes'",
     lambda: A.functional.center_crop(IMG, 12, 12, pad_if_needed="yes")),
    # A mask's fill must fit the mask's dtype and channels, as an image's fill must fit the image's.
    ("mask fill above uint8", ValueError, r"Shift: fill_mask for a uint8 mask must hold whole numbers in 0..255, "
     r"got \(300.0,\)", lambda: A.Shift(p=1, fill_mask=300)(image=IMG, mask=np.ones((10, 10), np.uint8))),
    ("mask fill fraction", ValueError, r"fill_mask for a uint8 mask must hold whole numbers",
     lambda: A.Shift(p=1, fill_mask=2.7)(image=IMG, mask=np.ones((10, 10), np.uint8))),
    ("mask fill negative int16", ValueError, r"fill_mask for a int16 mask must hold whole numbers in -32768..32767",
     lambda: A.Shift(p=1, fill_mask=-40000)(image=IMG, mask=np.ones((10, 10), np.int16))),
    ("mask fill bool", ValueError, r"fill_mask for a bool mask must hold whole numbers in 0..1, got \(2.0,\)",
     lambda: A.Shift(p=1, fill_mask=2)(image=IMG, mask=np.ones((10, 10), bool))),
    ("mask fill channels", ValueError, r"Shift: fill_mask has 3 values but the mask has 2 channel\(s\)",
     lambda: A.Shift(p=1, fill_mask=(1, 2, 3))(image=IMG, mask=np.ones((10, 10, 2), np.uint8))),
    ("mask fill for a 2-D mask", ValueError, r"fill_mask has 2 values but the mask has 1 channel\(s\)",
     lambda: A.Shift(p=1, fill_mask=(7, 9))(image=IMG, mask=np.ones((10, 10), np.uint8))),
    ("functional mask fill", ValueError, r"shift_mask: fill_mask for a uint8 mask must hold whole numbers",
     lambda: A.functional.shift_mask(np.ones((4, 4), np.uint8), 1, 0, fill_mask=300)),
    ("batch mask fill", ValueError, r"Shift: fill_mask for a uint8 mask",
     lambda: A.Shift(p=1, fill_mask=300).batch(np.stack([IMG, IMG]), masks=np.ones((2, 10, 10), np.uint8))),
    ("fill beyond float32", ValueError, r"Shift: fill values must lie within float32's range",
     lambda: A.Shift(fill=1e39)),
    ("fill_mask beyond float32 for a uint8 mask", ValueError, r"BoxErase: fill_mask for a uint8 mask",
     lambda: A.BoxErase(fill_mask=-1e39, p=1)(image=IMG, mask=np.ones((10, 10), np.uint8))),
    ("mask fill beyond int64's exact range", ValueError, r"fill_mask for a int64 mask must hold whole numbers in "
     r"-9007199254740992..9007199254740992, got \(9.223372036854776e\+18,\)",
     lambda: A.Shift(p=1, fill_mask=2.0 ** 63)(image=IMG, mask=np.ones((10, 10), np.int64))),
    ("mask fill integer that float64 would round", ValueError,
     r"Shift: fill_mask integers must lie within \+-2\*\*53 \(9007199254740992\), got 9007199254740993",
     lambda: A.Shift(fill_mask=2 ** 53 + 1)),
    ("mask fill beyond float32 for a float32 mask", ValueError, r"fill_mask for a float32 mask must lie within",
     lambda: A.Shift(p=1, fill_mask=1e39)(image=IMG, mask=np.ones((10, 10), np.float32))),
    ("p of a crop set after construction", ValueError, r"CenterCrop: p must be a probability in \[0, 1\], got -0.5",
     lambda: setattr(A.CenterCrop(2, 2), "p", -0.5)),
    ("bool as a crop corner", ValueError, r"crop: x_min must be an integer, got False",
     lambda: A.functional.crop(IMG, False, False, True, True)),
    ("bool as SomeOf's n", ValueError, r"SomeOf: n must be an integer, got True",
     lambda: A.SomeOf([A.HorizontalFlip()], n=True)),
    ("bool as a shift", ValueError, r"shift: dx must be an integer, got True",
     lambda: A.functional.shift(IMG, dx=True, dy=0)),
    ("bool recorded as a shift", ValueError, r"Shift: recorded dx must be an integer, got True",
     lambda: A.Shift(unit="px", dx=1, dy=0).replay({"dx": True, "dy": 0}, image=IMG)),
    ("an empty box table too narrow", ValueError, r"bboxes must have shape \(M, 4 \+ k\), got shape \(0, 3\)",
     lambda: PIPE(image=IMG, bboxes=np.zeros((0, 3)))),
    ("an empty keypoint table too narrow", ValueError, r"keypoints must have shape \(M, 2 \+ k\), got shape \(0, 1\)",
     lambda: PIPE(image=IMG, keypoints=np.zeros((0, 1)))),
    ("an id float64 cannot carry", ValueError, r"bboxes hold an integer beyond 2\*\*53",
     lambda: PIPE(image=IMG, bboxes=np.array([[0, 0, 2, 2, 2 ** 60]]))),
    ("functional erase of an empty 5-column table", ValueError, r"erase: boxes must be whole-pixel rectangles",
     lambda: A.functional.erase(IMG, np.zeros((0, 5)))),
    ("SomeOf of nothing", ValueError, r"SomeOf: n must be 0 when there are no transforms, got n=1",
     lambda: A.SomeOf([], n=1, replace=True)),
    # A bad fill fails on every call, whether or not the crop pads and on whichever path it runs.
    ("crop fill, flat pipeline", ValueError, r"CenterCrop: fill for a uint8 image must hold whole numbers",
     lambda: A.Compose([A.CenterCrop(5, 5, fill=2.5)])(image=IMG)),
    ("crop fill, general path", ValueError, r"CenterCrop: fill for a uint8 image must hold whole numbers",
     lambda: A.Compose([A.CenterCrop(5, 5, fill=2.5), A.OneOf([A.HorizontalFlip()])])(image=IMG)),
    ("crop fill, skipped on the general path", ValueError, r"RandomCrop: fill for a uint8 image",
     lambda: A.OneOf([A.RandomCrop(5, 5, fill=-1, p=0.5), A.HorizontalFlip()], p=0.0)(image=IMG)),
    ("crop fill, general path batch", ValueError, r"CenterCrop: fill for a uint8 image",
     lambda: A.Compose([A.CenterCrop(5, 5, fill=2.5), A.OneOf([A.HorizontalFlip()])]).batch(np.stack([IMG, IMG]))),
    ("functional crop fill", ValueError, r"center_crop: fill for a uint8 image must hold whole numbers",
     lambda: A.functional.center_crop(IMG, 5, 5, fill=2.5)),
    ("functional pad fill", ValueError, r"pad: fill has 2 values but the image has 3 channels",
     lambda: A.functional.pad(IMG, 0, 0, 0, 0, fill=(1, 2))),
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


def test_shifts_beyond_the_image_leave_only_fill():
    """A recorded shift of any size (10**30 as well) gives what a shift just past the edge gives:
    only fill, and every box and keypoint dropped."""
    img = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    pipe = A.Compose([A.Shift(fill=7, p=1)])
    boxes, points = [[0, 0, 8, 6], [2, 1, 3, 2]], [[0, 0], [8, 6], [3.5, 2]]
    for dx, dy in ((10 ** 30, 0), (0, -10 ** 30), (9, 0), (-1e30, 1e30)):
        out = pipe.replay([{"dx": dx, "dy": dy}], image=img, bboxes=boxes, keypoints=points)
        assert (out["image"] == 7).all()
        assert out["bboxes"].shape == (0, 4) and out["keypoints"].shape == (0, 2)
    assert (A.functional.shift(img, 10 ** 30, 0, fill=3) == 3).all()
    assert (A.functional.shift_mask(img[..., 0], 0, -10 ** 30, fill_mask=2) == 2).all()


@pytest.mark.parametrize("shift,scale,expected", [
    ((1e30, 1e30), (1.0, 1.0), 255), ((-1e30, -1e30), (1.0, 1.0), 0), ((255.4, 255.4), (1.0, 1.0), 255),
    ((0.0, 0.0), (1e30, 1e30), 255), ((-1e20, -1e20), (2.0, 2.0), 0), ((3e38, 3e38), (3e38, 3e38), 255),
])
def test_extreme_tints_saturate_on_every_path(shift, scale, expected):
    """uint8 tints far beyond 0..255 saturate alike on the compiled call, the batch, the general
    path (with a mask) and replay. The compiled code once turned 1e30 into an integer it
    cannot hold and left such images unchanged."""
    img = np.full((5, 6, 3), 100, np.uint8)
    t = A.Tint(shift=shift, scale=scale, p=1)
    one = t(image=img, record=True)
    outs = [one["image"], t(image=img, mask=np.zeros((5, 6), np.uint8))["image"],
            t.batch(np.stack([img] * 3))["image"][2], t.replay(one["params"], image=img)["image"],
            A.functional.tint(img, one["params"]["offset"], one["params"]["scale"])]
    for out in outs:
        assert (out == expected).all()
    # then a second colour map on top: the clamped first one composes like the exact one
    two = A.Compose([t, A.Tint(shift=(-10, -10), scale=(0.5, 0.5), p=1)])
    want = np.floor(expected * 0.5 - 10 + 0.5).clip(0, 255)
    assert (two(image=img)["image"] == want).all()
    assert (two(image=img, mask=np.zeros((5, 6), np.uint8))["image"] == want).all()


_KEYS = ["dx", "dy", "x", "y", "offset", "scale", "boxes", "noise_seed", "index", "params", "indices", "z"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.integers(-20, 20),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)), max_leaves=12)
_RECORDS = st.one_of(_VALUES, st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=4),
                     st.lists(st.one_of(st.none(), st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=3)),
                              max_size=4))
_REPLAYED = [A.HorizontalFlip(p=1), A.Crop(1, 1, 5, 5), A.CenterCrop(4, 4), A.RandomCrop(5, 6), A.Shift(p=1),
             A.Tint(p=1), A.BoxErase(p=1), A.BoxErase(fill="random", p=1), A.Compose([A.Shift(p=1), A.Tint(p=1)]),
             A.OneOf([A.Shift(p=1), A.Tint(p=1)]), A.SomeOf([A.Shift(p=1), A.Tint(p=1), A.HorizontalFlip()], n=2)]
_NAMED = re.compile(r"^(Compose|OneOf|SomeOf|HorizontalFlip|Crop|CenterCrop|RandomCrop|Shift|Tint|BoxErase): ")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(range(len(_REPLAYED))), _RECORDS)
def test_any_recorded_params_replay_or_raise_a_named_error(which, params):
    """Whatever a params file holds, replay applies it or raises ValueError/TypeError naming the
    transform, never an error from int() or NumPy (it did for {"x": None} and many more)."""
    t = _REPLAYED[which]
    try:
        t.replay(params, image=IMG)
    except (ValueError, TypeError) as err:
        assert _NAMED.match(str(err)), (type(t).__name__, params, err)
