"""The contract every transform keeps (p=0, p=1, seeding, dtypes, purity, pickling, round trips, replay)."""
import copy
import json
import pickle

import numpy as np
import pytest

import augkit as A
from conftest import every_transform, make_image

TRANSFORMS = every_transform(p=1.0)
IDS = [repr(t).replace("\n", "") for t in TRANSFORMS]
DTYPES = [np.uint8, np.float32]


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [None, 1, 3])
def test_dtype_layout_and_input_untouched(t, dtype, channels):
    if channels != 3 and isinstance(getattr(t, "fill", None), tuple):
        pytest.skip("per-channel fill is for 3-channel images")
    img = make_image(c=channels, dtype=dtype)
    before = img.copy()
    out = t(image=img, rng=5)["image"]
    assert out.dtype == img.dtype
    assert out.ndim == img.ndim
    if channels is not None:
        assert out.shape[2] == channels
    assert out.flags.c_contiguous
    assert np.array_equal(img, before)
    assert not np.shares_memory(out, img)


@pytest.mark.parametrize("t", [t for t in TRANSFORMS if not t.deterministic], ids=lambda t: repr(t))
def test_p_zero_is_identity(t):
    img = make_image()
    t0 = A.from_dict({**t.to_dict(), "p": 0.0})
    out = t0(image=img, mask=img[..., 0], bboxes=[[1, 2, 10, 12]], keypoints=[[3.5, 4.5]], rng=0, record=True)
    assert np.array_equal(out["image"], img)
    assert np.array_equal(out["mask"], img[..., 0])
    assert out["bboxes"].tolist() == [[1, 2, 10, 12]]
    assert out["params"] is None


@pytest.mark.parametrize("t", [t for t in TRANSFORMS if not t.deterministic], ids=lambda t: repr(t))
def test_p_one_applies(t):
    img = make_image(h=40, w=50)
    changed = [not np.array_equal(t(image=img, rng=s)["image"], img) for s in range(8)]
    assert any(changed)


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
def test_same_rng_same_output_and_rng_forms(t):
    img = make_image()
    a = t(image=img, rng=(1, 2, 3))["image"]
    b = t(image=img, rng=(1, 2, 3))["image"]
    c = t(image=img, rng=np.random.default_rng([1, 2, 3]))["image"]
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert np.array_equal(t(image=img, rng=7)["image"], t(image=img, rng=7)["image"])


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
def test_pickle_and_dict_round_trip(t):
    img = make_image()
    for clone in (pickle.loads(pickle.dumps(t)), A.from_dict(json.loads(json.dumps(t.to_dict()))), copy.deepcopy(t)):
        assert clone == t
        assert repr(clone) == repr(t)
        assert np.array_equal(clone(image=img, rng=11)["image"], t(image=img, rng=11)["image"])


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
def test_replay_equals_recorded_call(t):
    img = make_image()
    mask = (img[..., 0] > 128).astype(np.uint8)
    boxes = [[2, 3, 20, 18, 5]]
    points = [[4.0, 5.0, 1], [30.0, 22.0, 2]]
    out = t(image=img, mask=mask, bboxes=boxes, keypoints=points, rng=3, record=True)
    json.dumps(out["params"])
    again = t.replay(json.loads(json.dumps(out["params"])), image=img, mask=mask, bboxes=boxes, keypoints=points)
    for key in ("image", "mask", "bboxes", "keypoints"):
        assert np.array_equal(again[key], out[key]), key
    other = make_image(seed=9)
    assert np.array_equal(t.replay(out["params"], image=other)["image"], t(image=other, rng=3)["image"])


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
def test_read_only_and_non_contiguous_inputs(t):
    img = make_image(h=46, w=62)
    view = img[::2, ::2]
    ro = view.copy()
    ro.setflags(write=False)
    expected = t(image=np.ascontiguousarray(view), rng=4)["image"]
    assert np.array_equal(t(image=view, rng=4)["image"], expected)
    assert np.array_equal(t(image=ro, rng=4)["image"], expected)


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
def test_batch_equals_per_sample(t):
    imgs = np.stack([make_image(seed=s) for s in range(5)])
    out = t.batch(imgs, rng=21)["image"]
    for i in range(len(imgs)):
        assert np.array_equal(out[i], t(image=imgs[i], rng=(21, i))["image"])
