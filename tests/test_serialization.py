import json

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
