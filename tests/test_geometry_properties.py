"""Image, mask, boxes and keypoints stay consistent (hypothesis property tests)."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import augkit as A

GEOMETRIC = [
    lambda: A.HorizontalFlip(p=1),
    lambda: A.VerticalFlip(p=1),
    lambda: A.Shift(dx=0.3, dy=0.3, p=1),
    lambda: A.RandomCrop(8, 9, pad_if_needed=True, p=1),
    lambda: A.CenterCrop(10, 7, pad_if_needed=True),
    lambda: A.Tint(p=1),
    lambda: A.BoxErase(p=1),
]


@st.composite
def scenes(draw):
    h = draw(st.integers(4, 24))
    w = draw(st.integers(4, 24))
    c = draw(st.sampled_from([None, 1, 2, 3, 4]))
    dtype = draw(st.sampled_from([np.uint8, np.float32]))
    x0 = draw(st.integers(0, w - 1))
    x1 = draw(st.integers(x0 + 1, w))
    y0 = draw(st.integers(0, h - 1))
    y1 = draw(st.integers(y0 + 1, h))
    chain = draw(st.lists(st.integers(0, len(GEOMETRIC) - 1), min_size=1, max_size=5))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return h, w, c, dtype, (x0, y0, x1, y1), chain, seed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_box_painted_in_mask_lands_where_the_box_says(scene):
    h, w, c, dtype, (x0, y0, x1, y1), chain, seed = scene
    pipe = A.Compose([GEOMETRIC[i]() for i in chain])
    shape = (h, w) if c is None else (h, w, c)
    image = np.random.default_rng(seed).integers(0, 256, shape).astype(dtype)
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = 1
    corners = [[x0, y0], [x1, y1], [x0 + 0.5, y0 + 0.5]]
    out = pipe(image=image, mask=mask, bboxes=[[x0, y0, x1, y1, 42]], keypoints=corners, rng=seed, record=True)
    assert out["image"].dtype == image.dtype and out["image"].ndim == image.ndim
    assert out["mask"].shape == out["image"].shape[:2]
    ys, xs = np.nonzero(out["mask"] == 1)
    if len(out["bboxes"]) == 0:
        assert len(ys) == 0
    else:
        bx0, by0, bx1, by1, label = out["bboxes"][0]
        assert label == 42
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (bx0, by0, bx1, by1)
    oh, ow = out["image"].shape[:2]
    kp = out["keypoints"]
    assert np.all((kp[:, 0] >= 0) & (kp[:, 0] <= ow) & (kp[:, 1] >= 0) & (kp[:, 1] <= oh))
    # Pixel-centre keypoint: when it survives, the mask pixel under it is the box's.
    centre = [p for p in kp if p[0] % 1 == 0.5]
    for px, py in centre:
        assert out["mask"][int(py), int(px)] == 1


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["pascal_voc", "coco", "yolo"]), st.integers(0, 10 ** 6))
def test_bbox_formats_round_trip_through_flips(fmt, seed):
    h, w = 20, 30
    img = np.zeros((h, w, 3), np.uint8)
    voc = np.array([[2.0, 3.0, 12.0, 19.0, 1.0]])
    box = {"pascal_voc": voc[0], "coco": [2, 3, 10, 16, 1],
           "yolo": [7 / 30, 11 / 20, 10 / 30, 16 / 20, 1]}[fmt]
    pipe = A.Compose([A.HorizontalFlip(p=1), A.VerticalFlip(p=1)], bbox_format=fmt)
    twice = A.Compose([pipe, pipe], bbox_format=fmt)
    out = twice(image=img, bboxes=[box], rng=seed)["bboxes"]
    assert np.allclose(out, [box])
    once = A.Compose([A.HorizontalFlip(p=1)])(image=img, bboxes=voc)["bboxes"]
    assert once.tolist() == [[30 - 12, 3, 30 - 2, 19, 1]]


def test_min_visibility_drops_mostly_hidden_boxes():
    img = np.zeros((20, 20), np.uint8)
    boxes = [[0, 0, 10, 10, 0], [15, 0, 20, 5, 1]]
    pipe = A.Compose([A.Shift(dx=(-8, -8), dy=0, unit="px", p=1)], min_visibility=0.3)
    out = pipe(image=img, bboxes=boxes)["bboxes"]
    assert out.tolist() == [[7, 0, 12, 5, 1]]
    loose = A.Compose([A.Shift(dx=(-8, -8), dy=0, unit="px", p=1)])(image=img, bboxes=boxes)["bboxes"]
    assert loose.tolist() == [[0, 0, 2, 10, 0], [7, 0, 12, 5, 1]]


def test_min_visibility_keeps_wholly_visible_and_threshold_boxes():
    # Moved boxes' areas are recomputed in float64 and may come out a few ulp smaller.
    img = np.zeros((20, 20), np.uint8)
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0, 15, 200)
    boxes = np.stack([x0, np.ones(200), x0 + rng.uniform(0.1, 5, 200), np.full(200, 2.0)], axis=1)
    for t in (A.HorizontalFlip(p=1), A.Shift(dx=(0.15, 0.15), dy=0, p=1)):
        kept = A.Compose([t], min_visibility=1.0)(image=img, bboxes=boxes[boxes[:, 2] <= 17])["bboxes"]
        assert len(kept) == (boxes[:, 2] <= 17).sum()
    assert A.Compose([A.HorizontalFlip(p=1)], min_visibility=1.0)(image=img, bboxes=[[0.1, 1, 0.3, 2]])[
        "bboxes"].tolist() == [[19.7, 1.0, 19.9, 2.0]]
    # Exactly at the threshold: half of the box stays visible.
    half = A.Compose([A.Shift(dx=(-5, -5), dy=0, unit="px", p=1)], min_visibility=0.5)
    assert half(image=img, bboxes=[[0, 0, 10, 10]])["bboxes"].tolist() == [[0, 0, 5, 10]]


def test_keypoints_leaving_the_image_are_dropped_and_extra_columns_kept():
    img = np.zeros((10, 10), np.uint8)
    out = A.Shift(dx=(3, 3), dy=0, unit="px", p=1)(image=img, keypoints=[[1, 1, 7], [8, 2, 9]])
    assert out["keypoints"].tolist() == [[4, 1, 7]]
