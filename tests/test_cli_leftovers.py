"""`augkit augment --quality` on outputs it cannot change, `augkit preview --n` without a pipeline,
and preview labels wider than their tile."""
import json

import numpy as np
import pytest
from PIL import Image, ImageFont

import augkit as A
import augkit.cli as cli
from augkit.cli import main
from augkit.io import read_image
from conftest import checksums


def _image(path, seed, shape=(12, 10, 3)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)


def _outputs(root):
    return {k: v for k, v in checksums(root).items() if k not in ("manifest.jsonl", "augkit_run.json")}


# --------------------------------------------------------------------------- augment --quality
@pytest.fixture
def mixed(tmp_path):
    """A PNG and a JPEG source."""
    root = tmp_path / "mixed"
    _image(root / "a.png", 0)
    _image(root / "b.jpg", 1)
    return root


@pytest.fixture
def pngs(tmp_path):
    root = tmp_path / "pngs"
    _image(root / "a.png", 0)
    _image(root / "sub" / "c.png", 2)
    return root


@pytest.mark.parametrize("case", ["--format png", "--format same, PNG sources only"])
def test_quality_does_not_block_resuming_outputs_it_cannot_change(case, mixed, pngs, tmp_path, capsys):
    src, fmt = (mixed, ["--format", "png"]) if case.startswith("--format png") else (pngs, [])
    dst = tmp_path / "out"
    assert main(["augment", str(src), str(dst), "--quality", "80", "--copies", "2", "-q", *fmt]) == 0
    first = _outputs(dst)
    assert first and all(name.endswith(".png") for name in first)
    capsys.readouterr()
    for quality in (["--quality", "30"], []):
        assert main(["augment", str(src), str(dst), *quality, "--copies", "2", *fmt]) == 0, case
        assert "0 processed (0 outputs), 2 skipped" in capsys.readouterr().err
        assert _outputs(dst) == first
    # A DST whose run file records a quality for PNG outputs (as earlier versions wrote) resumes too.
    run = dst / cli.RUN_FILE
    run.write_text(json.dumps({**json.loads(run.read_text()), "quality": 80}))
    assert main(["augment", str(src), str(dst), "--quality", "55", "--copies", "2", "-q", *fmt]) == 0
    assert _outputs(dst) == first


@pytest.mark.parametrize("fmt", [["--format", "jpg"], ["--format", "webp"], []])
def test_quality_still_refused_when_some_output_is_jpeg_or_webp(fmt, mixed, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["augment", str(mixed), str(dst), "--quality", "80", "-q", *fmt]) == 0
    before = checksums(dst)
    capsys.readouterr()
    for quality in (["--quality", "30"], []):   # [] is the default, 95
        assert main(["augment", str(mixed), str(dst), *quality, "-q", *fmt]) == 2
        assert "other options (quality differ)" in capsys.readouterr().err
    assert checksums(dst) == before
    assert main(["augment", str(mixed), str(dst), "--quality", "80", *fmt]) == 0
    assert "0 processed (0 outputs), 2 skipped" in capsys.readouterr().err


def test_quality_of_a_png_only_run_is_free_until_a_jpeg_source_arrives(pngs, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["augment", str(pngs), str(dst), "-q"]) == 0
    _image(pngs / "new.jpg", 3)
    assert main(["augment", str(pngs), str(dst), "--quality", "70"]) == 0   # the PNGs were not made with a quality
    assert "1 processed (1 outputs), 2 skipped" in capsys.readouterr().err
    assert json.loads((dst / cli.RUN_FILE).read_text())["quality"] == 70
    assert main(["augment", str(pngs), str(dst), "--quality", "50", "-q"]) == 2   # new_aug0.jpg was: strict now
    assert "quality differ" in capsys.readouterr().err


def test_quality_that_changes_nothing_gets_a_note(mixed, pngs, tmp_path, capsys):
    assert main(["augment", str(mixed), str(tmp_path / "a"), "--format", "png", "--quality", "80"]) == 0
    err = capsys.readouterr().err
    assert "note: --quality 80 changes nothing here: it applies to JPEG and WebP outputs, and these are PNG" in err
    assert main(["augment", str(pngs), str(tmp_path / "b"), "--quality", "80", "--dry-run"]) == 0
    assert "note: --quality 80" in capsys.readouterr().err
    assert main(["augment", str(pngs), str(tmp_path / "c"), "--quality", "80", "-q"]) == 0
    assert capsys.readouterr().err == ""                                             # -q: nothing
    assert main(["augment", str(pngs), str(tmp_path / "d")]) == 0                    # no --quality: nothing
    assert "note" not in capsys.readouterr().err
    assert main(["augment", str(mixed), str(tmp_path / "e"), "--quality", "80"]) == 0    # b.jpg: it matters
    assert "note" not in capsys.readouterr().err


# --------------------------------------------------------------------------- preview --n, labels
@pytest.fixture
def labels(monkeypatch):
    """The labels of every grid the preview command draws."""
    drawn = []
    grid = cli._grid

    def spy(tiles, columns):
        drawn.append([label for label, _ in tiles])
        return grid(tiles, columns)
    monkeypatch.setattr(cli, "_grid", spy)
    return drawn


def test_preview_n_without_pipeline_keeps_the_tile_per_transform(labels, tmp_path, capsys):
    image = tmp_path / "im.png"
    _image(image, 0, (40, 48, 3))
    singles = ["original", "shift", "tint", "box erase", "flip", "crop"]
    assert main(["preview", str(image), "-o", str(tmp_path / "a.png")]) == 0
    assert main(["preview", str(image), "--n", "2", "-o", str(tmp_path / "b.png")]) == 0
    assert main(["preview", str(image), "--n", "5", "-o", str(tmp_path / "c.png")]) == 0
    assert main(["preview", str(image), "--preset", "seed", "--n", "2", "-o", str(tmp_path / "d.png")]) == 0
    assert labels == [singles + ["all five #1", "all five #2", "all five #3"],
                      singles + ["all five #1", "all five #2"],
                      singles + [f"all five #{k}" for k in range(1, 6)],
                      ["original", "seed #1", "seed #2"]]
    assert read_image(tmp_path / "b.png").shape[:2] == read_image(tmp_path / "a.png").shape[:2]   # 3 x 3 both


def test_fit_label_keeps_start_and_end_within_the_width():
    font = ImageFont.load_default(size=12)
    assert cli._fit_label("all five #1", font, 90) == "all five #1"
    long = "my_long_experiment_pipeline_name #12"
    fitted = cli._fit_label(long, font, 90)
    assert fitted.startswith("my_") and fitted.endswith(" #12") and "..." in fitted
    assert font.getbbox(fitted)[2] <= 90 < font.getbbox(long)[2]
    for width in range(20, font.getbbox(long)[2] + 2):
        assert font.getbbox(cli._fit_label(long, font, width))[2] <= width
    assert cli._fit_label(long, font, font.getbbox(long)[2]) == long
    assert cli._fit_label(long, font, 0) == ""


def test_preview_labels_stay_inside_their_cells(tmp_path):
    image = tmp_path / "narrow.png"
    _image(image, 0, (300, 40, 3))
    pipeline = tmp_path / "MMMM_a_long_pipeline_name_WWWW.json"
    A.save(A.Compose([A.HorizontalFlip()]), pipeline)
    out = tmp_path / "grid.png"
    assert main(["preview", str(image), "--pipeline", str(pipeline), "--n", "3", "-o", str(out)]) == 0
    sheet = read_image(out)
    # _grid's layout for 40 x 300 tiles: cells 90 px wide (the minimum) under 16-px labels, 6 px apart.
    pad, cell_w, cell_h, label_h = 6, 90, 300, 16
    assert sheet.shape[:2] == (pad + 2 * (cell_h + label_h + pad), pad + 2 * (cell_w + pad))
    inside = np.zeros(sheet.shape[1], bool)
    for column in range(2):
        inside[pad + column * (cell_w + pad):][:cell_w] = True
    for row in range(2):
        band = sheet[pad + row * (cell_h + label_h + pad):][:label_h]
        ink = (band < 128).any(axis=(0, 2))
        outside = np.flatnonzero(ink & ~inside)
        assert outside.size == 0, f"label row {row} drawn outside its cells at x = {outside}"
        for column in range(2):
            assert ink[pad + column * (cell_w + pad):][:cell_w].any()    # and each label is there
