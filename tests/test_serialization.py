import json
import re

import numpy as np
import pytest

import augkit as A
from conftest import every_transform, make_image


def pipeline():
    return A.Compose([A.OneOf([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=0.5)]),
                      A.SomeOf(every_transform(p=0.7)[5:], n=3), A.Tint(per_channel=False)],
                     seed=4, bbox_format="coco", min_visibility=0.25)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, suffix):
    pipe = pipeline()
    path = A.save(pipe, tmp_path / f"p{suffix}")
    back = A.load(path)
    assert back == pipe and back.to_dict() == pipe.to_dict()
    img = make_image(h=40, w=40)
    for s in range(10):
        a = pipe(image=img, bboxes=[[1, 1, 10, 10]], rng=s)
        b = back(image=img, bboxes=[[1, 1, 10, 10]], rng=s)
        assert np.array_equal(a["image"], b["image"]) and np.array_equal(a["bboxes"], b["bboxes"])
    assert not list(tmp_path.glob("*.tmp"))


def test_to_dict_is_plain_json():
    d = pipeline().to_dict()
    assert json.loads(json.dumps(d)) == d
    assert A.to_dict(pipeline()) == d


@pytest.mark.parametrize("data,pattern", [
    ({"name": "Blur"}, "unknown transform 'Blur'"),
    ({"name": "Shift", "dz": 1}, "unknown field 'dz' for Shift"),
    ({"dx": 1}, "missing field 'name'"),
    ({"name": "Crop", "x_min": 0}, "needs field"),
    ({"name": "Compose", "transforms": [{"name": "Shift", "p": 3}]}, r"transforms\[0\]: Shift: p must be"),
    ({"name": "Compose", "transforms": "Shift"}, "transforms must be a list"),
    ([1, 2], "must be a mapping"),
])
def test_bad_descriptions_name_the_field(data, pattern):
    with pytest.raises(ValueError, match=pattern):
        A.from_dict(data)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="cannot read pipeline file"):
        A.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        A.load(bad)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("pipeline: [\n  - name: Shift\n   bad")
    with pytest.raises(ValueError, match=r"not valid YAML \(line 2, column 3: expected the node content") as info:
        A.load(bad_yaml)
    assert "\n" not in str(info.value)   # one line, as errors are everywhere else
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"augkit_format": 99, "pipeline": {"name": "Tint"}}))
    with pytest.raises(ValueError, match="augkit_format 99"):
        A.load(future)


def test_sample_pipeline_files_load():
    from pathlib import Path
    folder = Path(__file__).resolve().parent.parent / "samples" / "pipelines"
    files = sorted(folder.glob("*.json")) + sorted(folder.glob("*.yaml"))
    assert files
    for f in files:
        assert isinstance(A.load(f), A.Compose)


_NAMES = ["Compose", "OneOf", "SomeOf", "HorizontalFlip", "VerticalFlip", "Crop", "CenterCrop", "RandomCrop", "Shift",
          "Tint", "BoxErase", "Nope"]
_FIELDS = ["transforms", "p", "dx", "dy", "unit", "fill", "fill_mask", "shift", "scale", "per_channel", "ratio",
           "count", "height", "width", "pad_if_needed", "x_min", "y_min", "x_max", "y_max", "n", "replace", "seed",
           "bbox_format", "min_visibility", "zz"]


def _descriptions():
    from hypothesis import strategies as st
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.integers(-5, 30),
                        st.floats(allow_nan=True, allow_infinity=True), st.floats(-2, 2), st.text(max_size=3),
                        st.sampled_from(_NAMES + ["px", "fraction", "random", "coco", "yolo"]))

    def node(inner):
        return st.one_of(st.lists(inner, max_size=4),
                         st.fixed_dictionaries({"name": st.one_of(st.sampled_from(_NAMES), inner)},
                                               optional={f: inner for f in _FIELDS}),
                         st.dictionaries(st.sampled_from(["name"] + _FIELDS), inner, max_size=4))
    return st.recursive(scalars, node, max_leaves=15)


def test_any_description_loads_or_raises_a_named_error():
    """Whatever a pipeline file holds, from_dict builds a pipeline that runs, or raises
    ValueError/TypeError naming the field (a list as a name once raised 'unhashable type')."""
    from hypothesis import HealthCheck, given, settings

    img = np.zeros((9, 11, 3), np.uint8)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_descriptions())
    def check(description):
        try:
            pipe = A.from_dict(description)
        except (ValueError, TypeError) as err:
            assert str(err).startswith("pipeline"), (description, err)
            return
        try:
            pipe(image=img, rng=0)
        except (ValueError, TypeError) as err:   # e.g. a crop larger than the image: named
            assert re.match(r"^\w+: ", str(err)), (description, err)

    check()


def test_load_skips_a_byte_order_mark_and_names_a_file_that_is_not_utf8(tmp_path):
    pipe = A.Compose([A.Shift(p=1), A.BoxErase(count=2.0)])   # a count of 2.0, as a hand-edited file may hold
    assert pipe.transforms[1].count == (2, 2)
    for name in ("p.json", "p.yaml"):
        path = tmp_path / name
        A.save(pipe, path)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())   # what Windows Notepad writes
        assert A.load(path) == pipe
    bad = tmp_path / "u16.json"
    bad.write_text(json.dumps(pipe.to_dict()), encoding="utf-16")
    with pytest.raises(ValueError, match=r"load: .*u16.json' is not UTF-8 text"):
        A.load(bad)
