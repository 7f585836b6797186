"""Composition semantics, randomness and batches."""
import numpy as np
import pytest

import augkit as A
from conftest import make_image


def test_compose_seed_stream_is_reproducible_and_advances():
    img = make_image()
    a, b = A.Compose([A.Shift(), A.Tint()], seed=1), A.Compose([A.Shift(), A.Tint()], seed=1)
    outs_a = [a(image=img)["image"] for _ in range(4)]
    outs_b = [b(image=img)["image"] for _ in range(4)]
    assert all(np.array_equal(x, y) for x, y in zip(outs_a, outs_b))
    assert not all(np.array_equal(outs_a[0], x) for x in outs_a[1:])


def test_rng_sequence_differs_by_index():
    pipe = A.Compose([A.Shift(p=1), A.Tint(p=1)])
    img = make_image()
    assert not np.array_equal(pipe(image=img, rng=(0, 0, 1))["image"], pipe(image=img, rng=(0, 0, 2))["image"])


def test_returned_keys_are_the_inputs_given():
    pipe = A.Compose([A.HorizontalFlip()])
    img = make_image()
    assert set(pipe(image=img)) == {"image"}
    assert set(pipe(image=img, mask=img[..., 0], record=True)) == {"image", "mask", "params"}
    assert set(pipe(image=img, bboxes=[], keypoints=[])) == {"image", "bboxes", "keypoints"}


def test_one_of_uses_children_p_as_weights():
    pipe = A.OneOf([A.HorizontalFlip(p=3 / 4), A.VerticalFlip(p=1 / 4)], p=1.0)
    img = make_image()
    picks = [pipe(image=img, rng=s, record=True)["params"]["index"] for s in range(2000)]
    assert abs(np.mean(np.array(picks) == 0) - 0.75) < 0.04
    # The picked child is applied even though its own p < 1.
    out = pipe(image=img, rng=0, record=True)
    expect = img[:, ::-1] if out["params"]["index"] == 0 else img[::-1]
    assert np.array_equal(out["image"], expect)


def test_one_of_p_gates_the_block():
    pipe = A.OneOf([A.HorizontalFlip(p=1)], p=0.3)
    applied = [pipe(image=make_image(), rng=s, record=True)["params"] is not None for s in range(2000)]
    assert abs(np.mean(applied) - 0.3) < 0.04


def test_some_of_applies_n_in_listed_order():
    pipe = A.SomeOf([A.Shift(dx=(1, 1), dy=0, unit="px"), A.Crop(0, 0, 10, 10), A.HorizontalFlip()], n=2)
    img = make_image(h=20, w=20)
    seen = set()
    for s in range(60):
        out = pipe(image=img, rng=s, record=True)
        idx = out["params"]["indices"]
        assert len(idx) == 2 and idx == sorted(idx) and len(set(idx)) == 2
        seen.add(tuple(idx))
        cur = img
        for i in idx:
            cur = pipe.transforms[i].apply(cur, out["params"]["params"][idx.index(i)])
        assert np.array_equal(out["image"], cur)
    assert seen == {(0, 1), (0, 2), (1, 2)}


def test_some_of_with_replacement_can_repeat():
    pipe = A.SomeOf([A.Shift(dx=(1, 1), dy=0, unit="px"), A.Tint()], n=3, replace=True)
    reps = [pipe(image=make_image(), rng=s, record=True)["params"]["indices"] for s in range(30)]
    assert any(len(set(r)) < len(r) for r in reps)


def test_nesting_and_compose_p():
    inner = A.Compose([A.HorizontalFlip(p=1)], p=0.5)
    pipe = A.Compose([inner, A.VerticalFlip(p=1)])
    img = make_image()
    results = {pipe(image=img, rng=s, record=True)["params"][0] is None for s in range(40)}
    assert results == {True, False}


def test_batch_with_generator_and_masks_and_record():
    pipe = A.Compose([A.RandomCrop(16, 16), A.HorizontalFlip(), A.Shift(fill_mask=5), A.Tint(), A.BoxErase(fill_mask=7)])
    imgs = np.stack([make_image(seed=s) for s in range(6)])
    masks = (imgs[..., 0] > 100).astype(np.uint8)
    out = pipe.batch(imgs, masks=masks, rng=np.random.default_rng(3), record=True)
    assert out["image"].shape == (6, 16, 16, 3) and out["mask"].shape == (6, 16, 16)
    for i in range(6):
        again = pipe.replay(out["params"][i], image=imgs[i], mask=masks[i])
        assert np.array_equal(again["image"], out["image"][i])
        assert np.array_equal(again["mask"], out["mask"][i])
    gray = pipe.batch(imgs[..., 0], rng=(4, 5))["image"]
    assert gray.shape == (6, 16, 16)
    assert np.array_equal(gray[2], pipe(image=imgs[2, ..., 0], rng=(4, 5, 2))["image"])


def test_batch_float_and_multi_plan_samples():
    pipe = A.Compose([A.Shift(fill=1, p=1), A.Shift(fill=2, p=1), A.Tint(scale=(0.5, 2), p=1)])
    imgs = np.stack([make_image(dtype=np.float32, seed=s) for s in range(4)])
    out = pipe.batch(imgs, rng=1)["image"]
    for i in range(4):
        assert np.array_equal(out[i], pipe(image=imgs[i], rng=(1, i))["image"])


def test_batch_rejects_mixed_output_sizes():
    pipe = A.OneOf([A.CenterCrop(10, 10), A.CenterCrop(12, 12)], p=1)
    with pytest.raises(ValueError, match="share one size"):
        pipe.batch(np.stack([make_image()] * 20), rng=0)
