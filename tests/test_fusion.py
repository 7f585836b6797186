"""A fused pipeline gives exactly what its sampled transforms give applied one by one."""
import numpy as np
import pytest

import augkit as A
from augkit import plan
from conftest import every_transform, make_image


def unfused(pipe, out, img):
    cur = img
    for t, p in pipe.steps(out["params"], img.shape):
        cur = t.apply(cur, p)
    return cur


PIPELINES = {
    "every": A.Compose(every_transform(p=0.6)),
    "five": A.Compose([A.RandomCrop(20, 24), A.HorizontalFlip(), A.Shift(), A.Tint(), A.BoxErase()]),
    "fills_clash": A.Compose([A.Shift(dx=(5, 5), dy=(5, 5), unit="px", fill=10, p=1), A.Tint(scale=(0.5, 2), p=1),
                              A.Shift(dx=(5, 5), dy=(5, 5), unit="px", fill=200, p=1),
                              A.RandomCrop(40, 40, pad_if_needed=True, fill=(1, 2, 3), p=1)]),
    "erase_then_move": A.Compose([A.BoxErase(count=3, fill="random", p=1), A.HorizontalFlip(p=1),
                                  A.Shift(p=1), A.VerticalFlip(), A.Tint(p=1), A.CenterCrop(15, 17)]),
    "nested": A.Compose([A.OneOf([A.HorizontalFlip(p=1), A.Shift(p=2 / 3), A.Tint(p=0.2)], p=0.9),
                         A.SomeOf([A.VerticalFlip(), A.BoxErase(), A.Tint(), A.Shift()], n=2, p=0.8),
                         A.Compose([A.Tint(), A.SomeOf([A.BoxErase(fill=4), A.Shift()], n=3, replace=True)])]),
}


@pytest.mark.parametrize("name", list(PIPELINES))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fused_equals_one_by_one(name, dtype):
    pipe = PIPELINES[name]
    for seed in range(40):
        img = make_image(h=28 + seed % 5, w=33, dtype=dtype, seed=seed)
        out = pipe(image=img, rng=seed, record=True)
        assert np.array_equal(out["image"], unfused(pipe, out, img), equal_nan=True), (name, seed)


def test_clashing_fills_start_a_new_plan_and_still_agree():
    pipe = PIPELINES["fills_clash"]
    img = make_image(h=30, w=30)
    out = pipe(image=img, rng=0, record=True)
    shape = img.shape
    ops = []
    for t, p in pipe.steps(out["params"], img.shape):
        ops += t.ops(p, shape)
        shape = t.output_shape(p, shape)
    assert len(plan.build_plans(ops, 30, 30, 3, np.uint8)) >= 2
    assert np.array_equal(out["image"], unfused(pipe, out, img))
    # 30x30 padded by 5 on each side with (1, 2, 3); inside, the second shift's fill 200,
    # then the first shift's fill 10, tinted by the Tint that came after it.
    tint = out["params"][1]
    tinted = np.clip(np.floor(10 * np.array(tint["scale"]) + np.array(tint["offset"]) + 0.5), 0, 255)
    assert out["image"][0, 0].tolist() == [1, 2, 3]
    assert out["image"][5, 5].tolist() == [200, 200, 200]
    assert out["image"][12, 12].tolist() == tinted.tolist()


def test_mask_follows_geometry_only():
    pipe = A.Compose([A.Shift(dx=(3, 3), dy=(-2, -2), unit="px", fill=1, fill_mask=9, p=1), A.Tint(p=1),
                      A.HorizontalFlip(p=1), A.BoxErase(fill_mask=None, p=1)])
    img = make_image(h=10, w=12)
    mask = np.arange(120, dtype=np.int32).reshape(10, 12)
    out = pipe(image=img, mask=mask, rng=0)
    expect = np.full_like(mask, 9)
    expect[:8, 3:] = mask[2:, :9]
    assert np.array_equal(out["mask"], expect[:, ::-1])
