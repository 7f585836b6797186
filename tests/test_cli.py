"""The augkit command line, end to end on folders made here."""
import json
import os
import re
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import augkit as A
import augkit.cli as cli
from augkit.cli import main
from augkit.io import read_image
from conftest import checksums, manifest, noise_folder, signal_mid_run

BROKEN = {"cats/truncated.png", "dogs/empty.png", "dogs/deep/notes.jpg"}



def _outputs(root):
    return {k: v for k, v in checksums(root).items() if k not in ("manifest.jsonl", "augkit_run.json")}



@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    (root / "cats").mkdir(parents=True)
    (root / "dogs" / "deep").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(root / "cats" / "rgb.png")
    Image.fromarray(rgb).save(root / "cats" / "photo.jpg", quality=90)
    Image.fromarray(rgb[:, :, 0]).save(root / "dogs" / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full((12, 10), 128, np.uint8)])).save(root / "dogs" / "deep" / "rgba.png")
    Image.fromarray(rgb).save(root / "top.png")
    whole = (root / "cats" / "rgb.png").read_bytes()
    (root / "cats" / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (root / "dogs" / "empty.png").write_bytes(b"")
    (root / "dogs" / "deep" / "notes.jpg").write_text("this is text, not a JPEG\n")
    (root / "README.txt").write_text("ignored: not an image extension\n")
    return root


def test_augment_end_to_end(src, tmp_path, capsys):
    before = checksums(src)
    dst = tmp_path / "out"
    assert main(["augment", str(src), str(dst), "--copies", "2", "--workers", "2", "--seed", "4"]) == 1
    err = capsys.readouterr().err
    for rel in BROKEN:
        assert f"failed {rel}" in err
    assert "empty file (0 bytes)" in err and "not a readable image" in err and "truncated" in err
    assert "5 processed (10 outputs), 0 skipped, 3 failed" in err and "images/s" in err
    assert checksums(src) == before

    outputs = _outputs(dst)
    good = ["cats/photo.jpg", "cats/rgb.png", "dogs/deep/rgba.png", "dogs/gray.png", "top.png"]
    expected = {str(Path(r).with_name(f"{Path(r).stem}_aug{k}{Path(r).suffix}").as_posix()) for r in good for k in (0, 1)}
    assert set(outputs) == expected
    assert read_image(dst / "dogs/gray_aug0.png", mode=None).shape == (12, 10)
    assert read_image(dst / "dogs/deep/rgba_aug1.png", mode=None).shape == (12, 10, 4)

    entries = manifest(dst)
    done = [e for e in entries if "error" not in e]
    assert sorted(e["output"] for e in done) == sorted(expected)
    assert {e["source"] for e in entries if "error" in e} == BROKEN
    # every manifest line replays to its output (PNG is lossless)
    pipe = A.load(A.save(A.from_dict(json.loads((dst / "augkit_run.json").read_text())["pipeline"]),
                         tmp_path / "p.json"))
    for entry in done:
        if entry["output"].endswith(".png"):
            image = read_image(src / entry["source"], mode=None)
            np.testing.assert_array_equal(pipe.replay(entry["params"], image=image)["image"],
                                          read_image(dst / entry["output"], mode=None))
            np.testing.assert_array_equal(pipe(image=image, rng=entry["rng"])["image"],
                                          read_image(dst / entry["output"], mode=None))


@pytest.mark.parametrize("fmt", ["webp", "jpg"])
def test_outputs_byte_identical_for_any_workers_and_reruns(src, tmp_path, capsys, fmt):
    # one worker runs on the calling thread, more on a thread pool: the same bytes (outputs
    # and manifest) either way
    runs = []
    for name, workers in (("w1", "1"), ("w3", "3")):
        main(["augment", str(src), str(tmp_path / name), "--copies", "2", "--workers", workers, "--format", fmt])
        runs.append(checksums(tmp_path / name))
    assert runs[0] == runs[1]
    assert len([k for k in runs[0] if k.endswith(f".{fmt}")]) == 10
    # a re-run skips everything and leaves every byte as it was
    assert main(["augment", str(src), str(tmp_path / "w1"), "--copies", "2", "--format", fmt]) == 1
    assert "0 processed (0 outputs), 5 skipped, 3 failed" in capsys.readouterr().err
    assert checksums(tmp_path / "w1") == runs[0]


def test_resume_repairs_every_kill_state(src, tmp_path):
    for rel in BROKEN:
        (src / rel).unlink()
    clean, dst = tmp_path / "clean", tmp_path / "out"
    assert main(["augment", str(src), str(clean), "--copies", "2", "-q"]) == 0
    assert main(["augment", str(src), str(dst), "--copies", "2", "-q"]) == 0
    # what a kill can leave: a missing output, an output renamed but not yet in the manifest,
    # a manifest line cut short, a temporary file
    (dst / "cats/rgb_aug1.png").unlink()
    lines = (dst / "manifest.jsonl").read_text().splitlines(keepends=True)
    kept = [line for line in lines if '"output":"top_aug0.png"' not in line]
    (dst / "manifest.jsonl").write_text("".join(kept) + kept[-1][:20])
    (dst / "cats" / ".rgb_aug1.png.x1y2.augkit-tmp").write_bytes(b"\x89PNG half")
    assert main(["augment", str(src), str(dst), "--copies", "2", "-q"]) == 0
    assert checksums(dst) == checksums(clean)
    assert len(manifest(dst)) == 10 and len({e["output"] for e in manifest(dst)}) == 10


def test_resume_after_a_real_kill(tmp_path, capsys):
    src, dst, clean = tmp_path / "src", tmp_path / "out", tmp_path / "clean"
    noise_folder(src, seed=1)
    command = [sys.executable, "-m", "augkit", "augment", str(src), str(dst), "--workers", "1", "--copies", "2"]
    proc = signal_mid_run(command, dst, signal.SIGKILL, stderr=subprocess.DEVNULL)
    assert proc.wait(30) == -signal.SIGKILL, "the run ended before it could be killed"
    made = [p for p in dst.rglob("*_aug*.png") if not p.name.startswith(".")]
    assert 0 < len(made) < 120
    for path in made:  # whatever has its final name is complete
        assert read_image(path).shape == (128, 128, 3)
    assert main(command[3:]) == 0
    skipped = int(re.search(r"(\d+) skipped", capsys.readouterr().err).group(1))
    assert skipped > 0  # the re-run resumed instead of starting over
    assert main(["augment", str(src), str(clean), "--copies", "2", "-q"]) == 0
    assert checksums(dst) == checksums(clean)
    outputs = [e["output"] for e in manifest(dst)]
    assert len(outputs) == len(set(outputs)) == 120


def test_sigterm_stops_cleanly_with_status_130_and_resumes(tmp_path, capsys):
    src, dst, clean = tmp_path / "src", tmp_path / "out", tmp_path / "clean"
    noise_folder(src, seed=2)
    command = [sys.executable, "-m", "augkit", "augment", str(src), str(dst), "--workers", "2", "--copies", "2"]
    proc = signal_mid_run(command, dst, signal.SIGTERM, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted after" in err
    # in-flight images were finished, not abandoned: no temporary file, and every
    # output the manifest lists is there and complete
    assert not [p for p in dst.rglob("*") if p.name.startswith(".")]
    listed = [e["output"] for e in manifest(dst)]
    assert 0 < len(listed) < 120 and len(listed) == len(set(listed))
    for out in listed:
        assert read_image(dst / out).shape == (128, 128, 3)
    assert main(command[3:]) == 0
    assert int(re.search(r"(\d+) skipped", capsys.readouterr().err).group(1)) > 0
    assert main(["augment", str(src), str(clean), "--copies", "2", "-q"]) == 0
    assert checksums(dst) == checksums(clean)


@pytest.mark.parametrize("workers, signum", [("1", signal.SIGTERM), ("1", signal.SIGINT), ("2", signal.SIGINT)])
def test_a_signal_finishes_the_images_in_hand_then_stops_with_130(tmp_path, capsys, monkeypatch, workers, signum):
    src, dst, clean = tmp_path / "src", tmp_path / "out", tmp_path / "clean"
    src.mkdir()
    rng = np.random.default_rng(3)
    for i in range(64):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(src / f"n{i:02d}.png")
    real_process, calls, main_pid = cli._process, [], os.getpid()

    def process(job, *context):  # runs on a worker thread, or on the main thread with one worker
        calls.append(job[0])
        if len(calls) == 2:  # Ctrl-C or SIGTERM while the second image is in hand
            os.kill(main_pid, signum)
        return real_process(job, *context)

    monkeypatch.setattr(cli, "_process", process)
    assert main(["augment", str(src), str(dst), "--copies", "2", "--workers", workers]) == 130
    assert "interrupted after" in capsys.readouterr().err
    assert not [p for p in dst.rglob("*") if p.name.startswith(".")]  # nothing half-written
    listed = [e["output"] for e in manifest(dst)]
    assert len(listed) == len(set(listed))
    if workers == "1":
        assert len(listed) == 4  # the image in hand was finished, no other started
    assert 4 <= len(listed) < 128
    for out in listed:
        assert read_image(dst / out).shape == (16, 16, 3)
    monkeypatch.setattr(cli, "_process", real_process)
    assert main(["augment", str(src), str(dst), "--copies", "2"]) == 0
    assert int(re.search(r"(\d+) skipped", capsys.readouterr().err).group(1)) == len(listed) // 2
    assert main(["augment", str(src), str(clean), "--copies", "2", "-q"]) == 0
    assert checksums(dst) == checksums(clean)


def test_refuses_unsafe_folders_and_bad_usage(src, tmp_path, capsys):
    before = checksums(src)
    cases = [
        (["augment", str(src), str(src / "cats" / "out")], "inside SRC"),
        (["augment", str(src), str(src)], "is SRC"),
        (["augment", str(src / "cats"), str(src)], "SRC"),
        (["augment", str(tmp_path / "missing"), str(tmp_path / "o")], "does not exist"),
        (["augment", str(src), str(tmp_path / "o"), "--copies", "0"], "--copies: must be an integer >= 1, got '0'"),
        (["augment", str(src), str(tmp_path / "o"), "--preset", "nope"], "--preset: invalid choice: 'nope'"),
        (["augment", str(src), str(tmp_path / "o"), "--quality", "101"], "--quality"),
        (["augment", str(src), str(tmp_path / "o"), "--format", "gif"], "--format"),
    ]
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "Shift", "dx": "far"}')
    cases.append((["augment", str(src), str(tmp_path / "o"), "--pipeline", str(bad)], f"--pipeline {bad}"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert checksums(src) == before
    assert not (tmp_path / "o").exists()


def test_existing_destination_rules(src, tmp_path, capsys):
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "precious.txt").write_text("mine")
    assert main(["augment", str(src), str(dst)]) == 2
    assert "not an augkit output folder" in capsys.readouterr().err
    other = tmp_path / "other"
    main(["augment", str(src), str(other), "-q"])
    assert main(["augment", str(src), str(other), "--seed", "1"]) == 2
    assert "seed differ" in capsys.readouterr().err
    first = _outputs(other)
    assert main(["augment", str(src), str(other), "--seed", "1", "--overwrite", "-q"]) == 1
    assert _outputs(other).keys() == first.keys() and _outputs(other) != first


def test_dry_run_writes_nothing(src, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["augment", str(src), str(dst), "--dry-run", "--copies", "2", "--format", "png"]) == 0
    captured = capsys.readouterr()
    assert "cats/photo.jpg -> cats/photo_aug1.png" in captured.out
    assert "8 images to process (16 outputs)" in captured.err
    assert not dst.exists()


def test_include_original_and_format_conversion(src, tmp_path):
    dst = tmp_path / "out"
    assert main(["augment", str(src), str(dst), "--include-original", "--format", "jpg", "--quality", "80",
                 "-q"]) == 1
    assert (dst / "cats/photo.jpg").read_bytes() == (src / "cats/photo.jpg").read_bytes()  # same format: copied
    assert read_image(dst / "cats/rgb.jpg").shape == (12, 10, 3)
    assert read_image(dst / "dogs/deep/rgba_aug0.jpg").shape == (12, 10, 3)
    originals = [e for e in manifest(dst) if e.get("copy", 0) is None]
    assert len(originals) == 5


def test_preview_grid(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["preview", "-o", str(out)]) == 0
    grid = read_image(out)
    assert grid.shape[0] > 3 * 256 and grid.shape[1] > 3 * 256  # 3 x 3 tiles of the astronaut
    face = sorted((Path(A.__file__).resolve().parent.parent / "samples" / "faces" / "face").glob("*.png"))[0]
    small = tmp_path / "small.png"
    assert main(["preview", str(face), "--preset", "strong", "--n", "3", "--seed", "2", "-o", str(small)]) == 0
    sheet = read_image(small)
    assert 2 * 150 < sheet.shape[1] < 3 * 150  # 2 x 2 tiles of 25 px faces enlarged 6 times
    original = read_image(face).repeat(6, axis=0).repeat(6, axis=1)
    np.testing.assert_array_equal(sheet[22:172, 6:156], original)  # first tile, below its label
    assert main(["preview", str(face), "--preset", "strong", "--n", "3", "--seed", "2",
                 "-o", str(tmp_path / "again.png")]) == 0
    assert small.read_bytes() == (tmp_path / "again.png").read_bytes()
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    assert main(["preview", str(bad)]) == 2
    assert "not a readable image" in capsys.readouterr().err


def test_presets_list_and_print_round_trip(tmp_path, capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("seed ") and "box erase" in listing
    assert main(["presets", "seed"]) == 0
    path = tmp_path / "seed.json"
    path.write_text(capsys.readouterr().out)
    assert [t.__class__.__name__ for t in A.load(path)] == ["Shift", "Tint", "BoxErase"]
    assert main(["presets", "nope"]) == 2


def test_demo_module_adds_commands(monkeypatch, capsys):
    def add_commands(subparsers):
        p = subparsers.add_parser("hello")
        p.set_defaults(func=lambda args: print("hi from demo") or 0)

    monkeypatch.setitem(sys.modules, "augkit.demo", types.SimpleNamespace(add_commands=add_commands))
    assert main(["hello"]) == 0
    assert capsys.readouterr().out == "hi from demo\n"


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "augkit", "augment", "--help"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0 and "--include-original" in result.stdout



def test_refuses_a_dst_inside_a_folder_src_reads_through_a_link(src, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere" / "linked"
    elsewhere.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(elsewhere / "b.png")
    os.symlink(elsewhere, src / "linked")                 # SRC/linked is part of SRC's scan
    before = checksums(elsewhere)
    dst = elsewhere / "out"                               # ... so DST would land under SRC/linked/out
    for extra in ([], ["--dry-run"]):
        assert main(["augment", str(src), str(dst), "-q", *extra]) == 2
        err = capsys.readouterr().err
        assert f"DST {str(dst)!r}" in err and "linked" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1
    assert not dst.exists() and checksums(elsewhere) == before


def test_refuses_output_folders_that_lead_into_src_through_a_link(src, tmp_path, capsys):
    before = checksums(src)
    for linked in ("cats", "dogs"):                       # dogs: the output folder dogs/deep is under the link
        dst = tmp_path / f"out_{linked}"
        dst.mkdir()
        os.symlink(src / linked, dst / linked)
        assert main(["augment", str(src), str(dst), "-q", "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert str(dst / linked) in err and "SRC" in err and "Traceback" not in err, err
        assert checksums(src) == before
        assert sorted(p.name for p in dst.iterdir()) == [linked]   # nothing written, not even the run file


def test_a_dst_that_is_a_symlink_loop_is_a_usage_error(src, tmp_path, capsys):
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    assert main(["augment", str(src), str(loop), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"DST {str(loop)!r}" in err and "loop" in err and "Traceback" not in err, err


def test_an_empty_pipeline_option_is_refused_not_ignored(src, tmp_path, capsys):
    assert main(["augment", str(src), str(tmp_path / "out"), "--pipeline", ""]) == 2
    assert "--pipeline '': give a pipeline file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["init-study", "--depth", "2", "--width", "4", "--n", "4", "--json", "", "-o",
                 str(tmp_path / "s.png")]) == 2
    assert "--json '': give a file path" in capsys.readouterr().err


def test_a_pipeline_nested_too_deeply_is_a_usage_error(src, tmp_path, capsys):
    d = {"name": "HorizontalFlip", "p": 1.0}
    for _ in range(400):
        d = {"name": "Compose", "transforms": [d]}
    (tmp_path / "deep.json").write_text(json.dumps(d))
    assert main(["augment", str(src), str(tmp_path / "out"), "--pipeline", str(tmp_path / "deep.json")]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_dry_run_lists_names_any_stdout_can_print_and_is_quiet_with_q(tmp_path, capsys):
    root = tmp_path / "src"
    root.mkdir()
    name = os.fsdecode(b"bad\xff name.png")   # not UTF-8: a surrogate escape in Python
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / name)
    assert main(["augment", str(root), str(tmp_path / "out"), "--dry-run", "-q"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "bad\\xff name.png -> bad\\xff name_aug0.png"
    out.encode("utf-8")   # strict: no surrogates left
    assert "dry run" not in err


def test_a_name_clash_with_format_same_does_not_suggest_format_same(tmp_path, capsys):
    root = tmp_path / "src"
    root.mkdir()
    for name in ("a.png", "a_aug0.png"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / name)
    assert main(["augment", str(root), str(tmp_path / "out"), "--include-original", "--format", "same"]) == 2
    err = capsys.readouterr().err
    assert "would both write a_aug0.png; rename one of them" in err and "--format same" not in err
