"""Odd folders and odd files for `augkit augment` and `augkit preview`: one clear line, never a traceback."""
import os
import threading

import numpy as np
import pytest
from PIL import Image

from augkit.cli import main
from augkit.data import ImageFolder
from augkit.io import read_image
from conftest import manifest


def _image(path, seed=0, shape=(9, 7, 3)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path



def test_a_destination_that_cannot_be_created_is_bad_usage(tmp_path, capsys):
    src = tmp_path / "src"
    _image(src / "a.png")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["augment", str(src), str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"DST {str(blocker / 'out')!r} cannot be written" in err, err
    assert blocker.read_text() == "not a folder"


def test_preview_output_that_cannot_be_written_is_bad_usage(tmp_path, capsys):
    image = _image(tmp_path / "a.png")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "grid.png"
    assert main(["preview", str(image), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"-o {out}: cannot write" in err, err


def test_a_file_name_that_is_not_utf8_is_augmented_like_any_other(tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "out"
    _image(src / "ok.png")
    odd = os.fsencode(src) + b"/odd\xff name.png"
    with open(odd, "wb") as fh:
        fh.write((src / "ok.png").read_bytes())
    assert main(["augment", str(src), str(dst), "--workers", "1"]) == 0, capsys.readouterr().err
    assert os.path.isfile(os.fsencode(dst) + b"/odd\xff name_aug0.png")
    assert len(manifest(dst)) == 2
    # and the run resumes (the manifest's names match the files on disk)
    assert main(["augment", str(src), str(dst)]) == 0
    assert "0 processed (0 outputs), 2 skipped" in capsys.readouterr().err


def test_a_fifo_named_like_an_image_costs_one_line_not_the_run(tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "out"
    _image(src / "ok.png")
    os.mkfifo(src / "pipe.png")
    result = []
    run = threading.Thread(target=lambda: result.append(main(["augment", str(src), str(dst), "--workers", "1"])),
                           daemon=True)
    run.start()
    run.join(20)
    if run.is_alive():  # release the reader blocked on the FIFO before failing
        with open(src / "pipe.png", "wb"):
            pass
        run.join(10)
        pytest.fail("augment blocked on a FIFO in SRC")
    assert result == [1]
    err = capsys.readouterr().err
    assert "failed pipe.png: not a regular file" in err, err
    assert (dst / "ok_aug0.png").is_file()
    assert [e["source"] for e in manifest(dst) if "error" in e] == ["pipe.png"]


def test_symlinked_class_folders_are_augmented_and_loops_are_not_followed(tmp_path, capsys):
    src, dst, elsewhere = tmp_path / "src", tmp_path / "out", tmp_path / "elsewhere"
    _image(src / "a" / "one.png")
    _image(elsewhere / "cats" / "two.png", seed=1)
    os.symlink(elsewhere / "cats", src / "cats")            # a class folder kept on another disk
    os.symlink(src, src / "a" / "loop")                      # a link back up the tree
    assert main(["augment", str(src), str(dst), "-q"]) == 0
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.png")) == ["a/one_aug0.png",
                                                                                  "cats/two_aug0.png"]
    assert not (dst / "cats").is_symlink()
    # ImageFolder sees the same classes
    assert ImageFolder(src).classes == ["a", "cats"]


def test_a_symlink_in_src_to_dst_is_not_read_as_a_source(tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "out"
    _image(src / "a" / "one.png")
    assert main(["augment", str(src), str(dst), "-q"]) == 0
    os.symlink(dst, src / "outputs")
    assert main(["augment", str(src), str(dst)]) == 0
    assert "0 processed (0 outputs), 1 skipped" in capsys.readouterr().err
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.png")) == ["a/one_aug0.png"]
    assert read_image(dst / "a/one_aug0.png").shape == (9, 7, 3)


def test_a_folder_that_cannot_be_listed_is_reported_not_silently_skipped(tmp_path, capsys, monkeypatch):
    src, dst = tmp_path / "src", tmp_path / "out"
    _image(src / "a" / "one.png")
    _image(src / "locked" / "two.png")
    real_scandir = os.scandir

    def scandir(path="."):  # what a folder without read permission does (tests may run as root)
        if os.fspath(path) == os.fspath(src / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert main(["augment", str(src), str(dst), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "failed locked/: cannot list folder: Permission denied" in err and "1 processed" in err
    assert "1 failed" in err, err
    assert [e for e in manifest(dst) if "error" in e] == [{"source": "locked/",
                                                           "error": "cannot list folder: Permission denied"}]


def test_include_original_copies_the_bytes_when_only_the_extension_spelling_changes(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)).save(
        src / "photo.jpeg", quality=70)
    assert main(["augment", str(src), str(dst), "--include-original", "--format", "jpg", "-q"]) == 0
    assert (dst / "photo.jpg").read_bytes() == (src / "photo.jpeg").read_bytes()  # JPEG either way: no re-encode


def test_ctrl_c_before_the_run_starts_is_status_130_without_a_traceback(tmp_path, capsys, monkeypatch):
    import augkit.cli as cli

    src = tmp_path / "src"
    _image(src / "a.png")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_scan", interrupted)
    assert main(["augment", str(src), str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert "augkit augment: interrupted" in err and "Traceback" not in err


def test_images_whose_values_have_no_known_range_are_refused_per_file(tmp_path, capsys):
    """A float TIFF (0..1? 0..255?) or 32-bit integers beyond 16 bits: one line each, not black output."""
    src = tmp_path / "src"
    _image(src / "ok.png")
    Image.fromarray(np.random.default_rng(1).random((5, 6)).astype(np.float32), mode="F").save(src / "float.tif")
    Image.fromarray(np.array([[0, 70000]], np.int32), mode="I").save(src / "wide.tif")
    Image.fromarray(np.array([[0, 65535, 1000]], np.uint16)).save(src / "sixteen.png")   # 16-bit: fine
    for name, message in (("float.tif", "32-bit float images"), ("wide.tif", r"outside 0..65535 are not supported \(got 0..70000\)")):
        with pytest.raises(ValueError, match=message):
            read_image(src / name, mode=None)
    assert read_image(src / "sixteen.png", mode=None).max() == 255
    assert main(["augment", str(src), str(tmp_path / "out"), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "failed float.tif: ValueError: 32-bit float images" in err
    assert "failed wide.tif: ValueError: 32-bit integer images" in err
    assert "2 processed (2 outputs), 0 skipped, 2 failed" in err and "Traceback" not in err


def test_a_folder_without_images_says_so(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "cats").mkdir(parents=True)
    (src / "cats" / "notes.txt").write_text("no images here\n")
    assert main(["augment", str(src), str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"no images under {str(src)!r}" in err and "0 processed" in err


def test_preview_of_a_large_photo_shows_reduced_tiles(tmp_path, capsys):
    """A 3000x2100 photo: tiles augmented at full size, shown at 1/3, so the grid stays ~3,100 px wide."""
    big = _image(tmp_path / "big.png", shape=(2100, 3000, 3))
    out = tmp_path / "grid.png"
    assert main(["preview", str(big), "--preset", "seed", "--n", "3", "-o", str(out)]) == 0
    grid = read_image(out)
    assert grid.shape[1] < 2 * (1000 + 6) + 6 + 1 and grid.shape[0] < 2 * (700 + 16 + 6) + 6 + 1  # 2x2 at 1/3
    original = np.asarray(Image.open(big).reduce(3))
    np.testing.assert_array_equal(grid[6 + 16:6 + 16 + 700, 6:6 + 1000], original)   # the first tile


def test_settings_too_large_for_memory_get_one_line(monkeypatch, capsys):
    """A command that runs out of memory (init-study --width 100000 asks for a 37 GiB weight
    matrix) ends with one line naming the command, exit status 1, no traceback."""
    import nn.experiments

    def huge(*args, **kwargs):
        raise MemoryError("Unable to allocate 37.3 GiB for an array with shape (100000, 100000)")
    monkeypatch.setattr(nn.experiments, "init_study", huge)
    assert main(["init-study", "--width", "100000", "--depth", "2", "--n", "4"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("augkit init-study: error: not enough memory for these settings (Unable to allocate 37.3 GiB"), err


@pytest.mark.parametrize("case, needle", [
    ("json_is_folder", "--json {d}/outdir: is a folder"),
    ("json_under_file", "--json {d}/afile/s.json: {d}/afile is a file, not a folder"),
    ("png_under_file", "-o {d}/afile/a.png: {d}/afile is a file, not a folder"),
])
def test_init_study_output_paths_are_checked_before_computing(case, needle, tmp_path, capsys, monkeypatch):
    import nn.experiments

    def not_before_the_paths_are_checked(*args, **kwargs):
        raise AssertionError("init_study ran before its output paths were checked")

    monkeypatch.setattr(nn.experiments, "init_study", not_before_the_paths_are_checked)
    (tmp_path / "outdir").mkdir()
    (tmp_path / "afile").write_text("x")
    png, js = {"json_is_folder": ("a.png", "outdir"), "json_under_file": ("a.png", "afile/s.json"),
               "png_under_file": ("afile/a.png", None)}[case]
    argv = ["init-study", "--depth", "2", "--width", "20", "--n", "30", "-o", str(tmp_path / png)]
    assert main(argv + (["--json", str(tmp_path / js)] if js else [])) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and needle.format(d=tmp_path) in err and len(err.strip().splitlines()) == 1, err
    assert (tmp_path / "afile").read_text() == "x"
