"""``augkit train`` estimates its memory before loading anything, and refuses what the machine cannot hold.

The machine's memory is monkeypatched, and `load_folder` is replaced where a run
must stop before decoding; only the test that compares the estimate with measured
peaks runs real trainings (in child processes, ~350 MiB at most each).
"""
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import augkit.demo as demo
import augkit.demo_train as demo_train
from augkit.cli import main

GiB = 2**30


class Decoded(Exception):
    """Raised by a stand-in `load_folder`: the run got past the memory check."""


def _no_decoding(monkeypatch):
    def load_folder(*args, **kwargs):
        raise Decoded
    monkeypatch.setattr(demo_train, "load_folder", load_folder)


def _machine(monkeypatch, nbytes, cgroup=None):
    monkeypatch.setattr(demo, "_physical_memory", lambda: nbytes)
    monkeypatch.setattr(demo, "_cgroup_memory", lambda: cgroup)


def _refused(monkeypatch, capsys, argv, memory):
    """The one error line of ``augkit`` run with ``argv`` on a machine of ``memory`` bytes, which must
    refuse it (status 2) before decoding the images."""
    _machine(monkeypatch, memory)
    _no_decoding(monkeypatch)
    assert main(argv) == 2
    return _one_error_line(capsys)


def _one_error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err.strip()


def test_memory_estimate_arithmetic_by_hand():
    from augkit.demo_train import BASE_BYTES, DECODE_BYTES_PER_PIXEL, memory_estimate

    # D = 20 * 30 * 3 = 1800 values per image; 10 training and 6 held-out images;
    # network 1800 -> 8 -> 4 -> 3: 1800*8 + 8*4 + 4*3 = 14444 weights, 8 + 4 + 3 = 15 biases.
    est = memory_estimate(10, 6, (20, 30, 3), (8, 4), 3, optimizer="adam", batch_size=5, copies=2, workers=1)
    assert est["images"] == 1800 * (2 * 16 + 2 * 6) == 79200
    assert est["inputs"] == 4 * 1800 * (10 + 6 * 3) == 201600
    assert est["network"] == 4 * 14459 * 5 == 289180       # weights, grads, scratch, two moments
    assert est["batches"] == 5 * 1800 * (2 * 2 + 1 + 8) == 117000
    assert est["decoding"] == 600 * DECODE_BYTES_PER_PIXEL["rgb"] and est["base"] == BASE_BYTES
    assert est["total"] == 79200 + 201600 + 289180 + 117000 + BASE_BYTES   # training outweighs loading
    assert "previous" not in est   # a sweep frees each run's networks before the next

    sweep = memory_estimate(10, 6, (20, 30, 3), (8, 4), 3, optimizer="sgd", batch_size=5, copies=2, workers=4)
    assert sweep["network"] == 4 * 14459 * 3 == 173508       # weights, grads, scratch
    assert sweep["batches"] == 5 * 1800 * (2 * 4 + 1 + 8) == 153000
    assert memory_estimate(10, 6, (20, 30, 3), (8, 4), 3, optimizer="momentum")["network"] == 4 * 14459 * 4


def test_full_size_images_count_while_they_are_decoded():
    """16 photos of 4000x3000 read at 32x32: loading (one full image per decoding thread) outweighs training."""
    from augkit.demo_train import BASE_BYTES, DECODE_BYTES_PER_PIXEL, memory_estimate

    for workers in (0, 1, 4):
        est = memory_estimate(8, 8, (32, 32, 3), (64,), 2, copies=0, workers=workers, original=(4000, 3000))
        decoding = max(1, workers) * 4000 * 3000 * DECODE_BYTES_PER_PIXEL["rgb"]
        assert est["decoding"] == decoding
        assert est["total"] == BASE_BYTES + decoding + 32 * 32 * 3 * 16
    gray = memory_estimate(8, 8, (32, 32), (64,), 2, original=(4000, 3000))
    assert gray["decoding"] == 4000 * 3000 * DECODE_BYTES_PER_PIXEL["gray"]
    assert memory_estimate(8, 8, (32, 32), (64,), 2)["decoding"] == 32 * 32 * DECODE_BYTES_PER_PIXEL["gray"]


def test_huge_sizes_do_not_overflow():
    """NumPy's int64 product wrapped: 3037000500**2 gave a negative estimate, 4294967296**2 gave 0."""
    from augkit.demo_train import memory_estimate

    for side in (3037000500, 4294967296, 2**31 - 1):
        est = memory_estimate(100, 100, (side, side), (64,), 2)
        assert est["inputs"] == 4 * side * side * (100 + 100 * 7)
        assert est["network"] == 4 * (side * side * 64 + 64 + 64 * 2 + 2) * 5
        assert all(isinstance(v, int) and v > 0 for v in est.values()), est


@pytest.mark.parametrize("size", ["3037000500x3037000500", "4294967296x4294967296", "2147483648", "1x99999999999"])
def test_a_size_side_beyond_pillows_limit_is_a_usage_error(size, monkeypatch, capsys):
    _machine(monkeypatch, 8 * GiB)
    _no_decoding(monkeypatch)
    assert main(["train", "--size", size]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (f"augkit train: error: argument --size: each side must be from 1 to "
                                    f"2147483647 pixels, got '{size}'")


def test_the_largest_side_allowed_is_refused_by_the_estimate(monkeypatch, capsys):
    line = _refused(monkeypatch, capsys, ["train", "--size", "2147483647x2147483647"], 8 * GiB)
    assert line.startswith("augkit train: error: --size 2147483647x2147483647: training would need about "), line
    assert re.search(r"more than this machine's 8\.0 GiB; try --size (\d+)x\1 or smaller$", line), line


def test_the_5000x5000_run_of_the_issue_is_estimated_honestly():
    """200 gray faces at 5000x5000, the default network and Adam: ~133 GiB, most of it the images as floats."""
    from augkit.demo_train import memory_estimate

    est = memory_estimate(100, 100, (5000, 5000), (64,), 2)
    d = 5000 * 5000
    assert est["inputs"] == 4 * d * (100 + 100 * 7)
    assert est["network"] == 4 * (d * 64 + 64 + 64 * 2 + 2) * 5
    assert 132 * GiB < est["total"] < 134 * GiB


def test_too_large_a_size_is_refused_before_any_image_is_decoded(monkeypatch, capsys):
    from augkit.demo_train import memory_estimate

    line = _refused(monkeypatch, capsys, ["train", "--size", "5000x5000"], 8 * GiB)
    assert line.startswith("augkit train: error: --size 5000x5000: training would need about 132.6 GiB of memory "
                           "("), line
    assert "more than this machine's 8.0 GiB; try --size " in line and "--hidden" not in line
    h, w = map(int, re.search(r"try --size (\d+)x(\d+) or smaller$", line).groups())
    assert h == w
    # the suggestion fits in three quarters of the memory, and is not needlessly small
    fits = lambda s: memory_estimate(100, 100, (s, s), (64,), 2)["total"] <= 6 * GiB  # noqa: E731
    assert fits(h) and not fits(h + 2)


def test_a_refusal_names_hidden_when_it_was_given(monkeypatch, capsys):
    line = _refused(monkeypatch, capsys, ["train", "--size", "1500", "--hidden", "1024"], 8 * GiB)
    assert line.startswith("augkit train: error: --size 1500x1500 with --hidden 1024: training would need about")
    assert re.search(r"try --size \d+x\d+ or smaller or narrower --hidden layers$", line), line


def test_a_network_too_large_at_any_size_says_so(monkeypatch, capsys):
    line = _refused(monkeypatch, capsys, ["train", "--hidden", "100000,100000"], 8 * GiB)
    assert line.startswith("augkit train: error: the images' own size 25x25 (no --size given) with --hidden "
                           "100000,100000: training would need about 187.6 GiB"), line
    assert line.endswith("more than this machine's 8.0 GiB; the network alone is too large: use narrower "
                         "--hidden layers")


def test_large_images_without_size_are_refused_too(monkeypatch, capsys, tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((2000, 1500), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    line = _refused(monkeypatch, capsys, ["train", str(tmp_path)], GiB)
    assert line.startswith("augkit train: error: the images' own size 2000x1500 (no --size given): training "
                           "would need about"), line
    assert re.search(r"more than this machine's 1\.0 GiB; try --size \d+x\d+ or smaller", line), line


@pytest.mark.parametrize("study", [[], ["--compare", "--seeds", "1"], ["--sweep"]])
def test_every_study_is_checked(study, monkeypatch, capsys):
    _machine(monkeypatch, 8 * GiB)
    _no_decoding(monkeypatch)
    assert main(["train", "--size", "5000", *study]) == 2
    assert "more than this machine's 8.0 GiB" in _one_error_line(capsys)


def test_unknown_physical_memory_refuses_nothing(monkeypatch):
    _machine(monkeypatch, None)
    _no_decoding(monkeypatch)
    with pytest.raises(Decoded):
        main(["train", "--size", "5000x5000"])


def test_physical_memory_where_the_system_does_not_tell(monkeypatch):
    got = demo._physical_memory()
    assert got is None or (isinstance(got, int) and got > 0)

    def unknown(name):
        raise ValueError(f"unrecognized configuration name {name!r}")
    monkeypatch.setattr(demo.os, "sysconf", unknown)
    assert demo._physical_memory() is None


def test_a_large_estimate_that_fits_is_shown_in_the_header(monkeypatch, capsys):
    _machine(monkeypatch, 1024 * GiB)
    monkeypatch.setattr(demo, "SHOW_MEMORY_ABOVE", 0)
    assert main(["train", "--epochs", "1", "--hidden", "4", "--copies", "0", "-q"]) == 0
    model_line = [line for line in capsys.readouterr().out.splitlines() if line.startswith("model:")][0]
    assert re.search(r"seed 0; memory about \d+\.\d GiB of 1024\.0 GiB \(estimate\)$", model_line), model_line


def test_a_small_run_shows_no_estimate(capsys):
    assert main(["train", "--epochs", "1", "--hidden", "4", "--copies", "0", "-q"]) == 0
    assert "memory" not in capsys.readouterr().out


# --------------------------------------------------------------------------- the first image, probed safely
def _faces_like(root, classes=("a", "b"), n=3, size=(25, 25)):
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            Image.fromarray(np.full(size, 40 * i + 100 * c, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_a_decompression_bomb_first_is_skipped_as_load_folder_skips_it(tmp_path, monkeypatch, capsys):
    import PIL.Image

    root = _faces_like(tmp_path / "data")
    Image.new("L", (60, 60)).save(root / "a" / "0.png")          # 3600 pixels > 2 x the limit: an error
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    folder, size, channels, original = demo_train.scan_folder(root, channels="gray")
    assert (size, channels, original) == ((25, 25), "gray", (25, 25))
    assert main(["train", str(root), "--channels", "gray", "--epochs", "1", "--hidden", "4", "-q"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "skipped unreadable" in captured.err
    assert "6 images 25x25 gray" in captured.out


def test_a_first_image_over_pillows_pixel_limit_warns_as_pillow_does(tmp_path, monkeypatch):
    """The probe leaves warnings alone: swapping the process's warning filters (catch_warnings)
    is not safe beside other threads, and every other file over the limit warns too."""
    import warnings

    import PIL.Image

    root = _faces_like(tmp_path / "data")
    Image.new("L", (40, 40)).save(root / "a" / "0.png")          # 1600 pixels: between 1 and 2 x the limit
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert demo_train.scan_folder(root)[1:] == ((40, 40), "gray", (40, 40))
    assert any(issubclass(w.category, PIL.Image.DecompressionBombWarning) for w in seen)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs here")
def test_a_fifo_first_is_skipped_not_waited_on(tmp_path):
    import os
    import threading

    root = _faces_like(tmp_path / "data")
    fifo = root / "a" / "0.png"
    os.mkfifo(fifo)
    got = []
    probe = threading.Thread(target=lambda: got.append(demo_train.scan_folder(root, channels="gray")), daemon=True)
    probe.start()
    probe.join(10)
    hung = probe.is_alive()
    if hung:   # release the blocked open (a writer that closes at once), so that the thread ends
        with open(fifo, "wb"):
            pass
        probe.join(10)
    assert not hung, "scan_folder opened the FIFO and waited for a writer"
    assert got[0][1:] == ((25, 25), "gray", (25, 25))


def test_a_truncated_first_image_does_not_decide_the_size(tmp_path, monkeypatch, capsys):
    """Its header says 2000x2000, its data is cut: load_folder skips it, so the run is 25x25, not refused."""
    root = _faces_like(tmp_path / "data")
    Image.new("L", (2000, 2000)).save(root / "a" / "0.png")
    with open(root / "a" / "0.png", "r+b") as fh:
        fh.truncate(200)
    assert demo_train.scan_folder(root)[1:] == ((25, 25), "gray", (25, 25))
    assert demo_train.load_folder(root).images.shape == (6, 25, 25)
    _machine(monkeypatch, GiB)
    assert main(["train", str(root), "--epochs", "1", "--hidden", "4", "-q"]) == 0
    captured = capsys.readouterr()
    assert "skipped unreadable" in captured.err and "6 images 25x25 gray" in captured.out


def test_exif_rotated_images_are_sized_as_decoded(tmp_path, monkeypatch, capsys):
    """Phone photos stored 40 wide and 30 high with orientation 6 decode 40 high and 30 wide."""
    root = tmp_path / "data"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            exif = Image.Exif()
            exif[0x0112] = 6
            Image.fromarray(np.full((30, 40, 3), 30 * i + 100 * (c == "b"), np.uint8)).save(
                root / c / f"{i}.jpg", exif=exif.tobytes())
    assert demo_train.load_folder(root).images.shape == (6, 40, 30, 3)
    assert demo_train.scan_folder(root)[1:] == ((40, 30), "rgb", (40, 30))
    _machine(monkeypatch, 2 * 2**20)   # 2 MiB: refused, naming the size as decoded
    _no_decoding(monkeypatch)
    assert main(["train", str(root)]) == 2
    assert _one_error_line(capsys).startswith("augkit train: error: the images' own size 40x30 (no --size given)")


# --------------------------------------------------------------------------- decoding one image at a time
def test_load_folder_keeps_one_full_size_image_at_a_time(tmp_path, monkeypatch):
    """Each image is resized as soon as it is decoded: no full-size image outlives its own read."""
    import weakref

    from augkit.data import ImageFolder

    root = tmp_path / "data"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((60, 80), 20 * i + 100 * (c == "b"), np.uint8)).save(root / c / f"{i}.png")
    read, full, alive_at_read = ImageFolder._read, [], []

    def tracked(self, path):
        alive_at_read.append(sum(ref() is not None for ref in full))
        image = read(self, path)
        full.append(weakref.ref(image))
        return image
    monkeypatch.setattr(ImageFolder, "_read", tracked)
    data = demo_train.load_folder(root, size=8, workers=0)
    assert data.images.shape == (8, 8, 8)
    assert alive_at_read == [0] * 8, alive_at_read   # before: every full-size image was kept to the end


def _expected(root, size, mode, skip=()):
    """What load_folder returned before it resized in the decoding thread: every image decoded, then resized."""
    from augkit.data import ImageFolder
    from augkit.io import read_image

    paths = [p for p, _ in ImageFolder(root, mode=None).samples if p.name not in skip]
    images = [read_image(p, mode) for p in paths]
    size = size or images[0].shape[:2]
    return np.stack([img if img.shape[:2] == tuple(size) else
                     np.asarray(Image.fromarray(img).resize((size[1], size[0]), Image.Resampling.BILINEAR))
                     for img in images])


@pytest.mark.parametrize("workers", [0, 3])
def test_load_folder_results_are_unchanged(tmp_path, workers):
    rng = np.random.default_rng(1)
    root = tmp_path / "data"
    for c in ("a", "b", "c"):
        (root / c).mkdir(parents=True)
        for i in range(5):
            h, w = [(30, 40), (17, 23), (40, 30), (30, 40), (64, 9)][i]
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    (root / "a" / "00.png").write_bytes(b"not an image")          # first in folder order: skipped
    for size in (None, (12, 20), (30, 40)):
        data = demo_train.load_folder(root, size=size, workers=workers)
        assert np.array_equal(data.images, _expected(root, size, "RGB", skip={"00.png"}))
        assert data.labels.tolist() == [0] * 5 + [1] * 5 + [2] * 5
        assert [p for p, _ in data.skipped] == [str(root / "a" / "00.png")]
    gray = demo_train.load_folder(root, channels="gray", workers=workers)
    assert np.array_equal(gray.images, _expected(root, None, "L", skip={"00.png"}))


# --------------------------------------------------------------------------- data errors before the memory check
def test_a_single_class_is_reported_before_the_memory_check(tmp_path, monkeypatch, capsys):
    root = _faces_like(tmp_path / "data", classes=("only",))
    _machine(monkeypatch, 8 * GiB)
    assert main(["train", str(root), "--size", "5000"]) == 2
    line = _one_error_line(capsys)
    assert "a classifier needs at least two classes with images" in line and "memory" not in line, line


def test_a_folder_of_unreadable_files_is_reported_before_the_memory_check(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            (root / c / f"{i}.png").write_bytes(b"not an image")
    _machine(monkeypatch, 8 * GiB)
    assert main(["train", str(root), "--size", "5000"]) == 2
    line = _one_error_line(capsys)
    assert "none of the 6 image files" in line and "could be read" in line and "memory" not in line, line


# --------------------------------------------------------------------------- cgroup limits
def test_a_cgroup_limit_below_physical_memory_is_the_limit(monkeypatch, capsys):
    _machine(monkeypatch, 1024 * GiB, cgroup=8 * GiB)
    _no_decoding(monkeypatch)
    assert main(["train", "--size", "5000"]) == 2
    assert "more than this process's cgroup limit of 8.0 GiB; try --size" in _one_error_line(capsys)
    _machine(monkeypatch, 8 * GiB, cgroup=1024 * GiB)      # a larger cgroup limit changes nothing
    assert main(["train", "--size", "5000"]) == 2
    assert "more than this machine's 8.0 GiB; try --size" in _one_error_line(capsys)


@pytest.mark.parametrize("files, expected", [
    ({"cgroup": "0::/user.slice/job\n", "user.slice/job/memory.max": "4294967296\n"}, 4 * GiB),
    ({"cgroup": "0::/job\n", "job/memory.max": "max\n"}, None),
    ({"cgroup": "0::/\n", "memory.max": "1073741824\n"}, GiB),
    ({"cgroup": "4:memory:/docker/x\n", "memory/docker/x/memory.limit_in_bytes": "2147483648\n"}, 2 * GiB),
    ({"cgroup": "4:memory:/\n", "memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),   # v1: none
    ({}, None),
    # A parent's limit (a systemd slice) below the process's own "max", and the smaller of two.
    ({"cgroup": "0::/user.slice/job\n", "user.slice/job/memory.max": "max\n",
      "user.slice/memory.max": "3221225472\n"}, 3 * GiB),
    ({"cgroup": "0::/a/b\n", "a/b/memory.max": "2147483648\n", "a/memory.max": "4294967296\n"}, 2 * GiB),
    ({"cgroup": "4:memory:/docker/x\n", "memory/docker/x/memory.limit_in_bytes": "9223372036854771712\n",
      "memory/docker/memory.limit_in_bytes": "1073741824\n"}, GiB),
    # A malformed line does not hide the lines after it; bytes that are not text are no limit.
    ({"cgroup": "garbage\n0::/job\n", "job/memory.max": "1073741824\n"}, GiB),
    ({"cgroup": "0::/job\n", "job/memory.max": b"\xff\xfe12"}, None),
])
def test_cgroup_memory_reads_v1_and_v2(files, expected, tmp_path):
    for name, text in files.items():
        path = tmp_path / ("proc_cgroup" if name == "cgroup" else f"sys/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert demo._cgroup_memory(proc=tmp_path / "proc_cgroup", sys=tmp_path / "sys") == expected


# --------------------------------------------------------------------------- a sweep frees each run
def test_sweep_frees_each_runs_networks_before_the_next_trains(monkeypatch):
    """Before, the previous run's trained network and its fresh copy (weights and gradients each) stayed alive."""
    import weakref

    import nn
    from augkit.data import sample_path

    live = weakref.WeakSet()

    class MLP(nn.MLP):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            live.add(self)
    monkeypatch.setattr(nn, "MLP", MLP)
    train, alive_at_start = demo_train.train_model, []

    def counting(*args, **kwargs):
        alive_at_start.append(len(live))
        return train(*args, **kwargs)
    monkeypatch.setattr(demo_train, "train_model", counting)
    data = demo_train.load_folder(sample_path("faces"), size=8)
    result = demo_train.sweep(data, activations=["relu", "tanh"], inits=["he"], epochs=1, hidden=(4,), copies=0)
    assert alive_at_start == [0, 0], alive_at_start
    assert [r["activation"] for r in result["runs"]] == ["relu", "tanh"]
    assert all(r["init_last_hidden_std"] is not None for r in result["runs"])


# --------------------------------------------------------------------------- the estimate against a measured peak
_PEAK = """
import json, resource, sys
import augkit.demo_train as demo_train
from augkit.cli import main
estimates, estimate = [], demo_train.memory_estimate
def recording(*args, **kwargs):
    parts = estimate(*args, **kwargs)
    estimates.append(parts["total"])
    return parts
demo_train.memory_estimate = recording
rc = main(["train", *sys.argv[1:], "--epochs", "1", "-q"])
# VmHWM: this process's own peak; ru_maxrss would start at the forking pytest's size
peak = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"rc": rc, "estimate": estimates[0], "peak": peak}))
"""


def _peaks(cases, cwd):
    """``{name: (estimate, peak resident memory)}`` in bytes: each case ``augkit train`` in a fresh
    process, run side by side."""
    import json
    import os
    import subprocess
    import sys

    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc/self/status (VmHWM) here")
    import augkit

    # the augkit under test, wherever the children start
    path = os.pathsep.join([str(Path(augkit.__file__).resolve().parents[1]),
                            *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": path}
    procs = {name: subprocess.Popen([sys.executable, "-c", _PEAK, *args], cwd=cwd, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
             for name, args in cases.items()}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        got = json.loads(stdout.splitlines()[-1])
        assert got["rc"] == 0, stdout
        out[name] = got["estimate"], got["peak"] * 1024   # VmHWM is in kB
    return out


def _check_against_peak(peaks, base="base", low=0.85, high=1.2, bounds=None):
    """Beyond a tiny run's (Python and the libraries, which vary between machines), the estimate is
    within ``low``-``high`` of the measured peak (``bounds[name]`` instead where given)."""
    base_est, base_peak = peaks[base]
    wrong = []
    for name, (est, peak) in peaks.items():
        ratio = (est - base_est) / (peak - base_peak) if name != base else 1.0
        lo, hi = (bounds or {}).get(name, (low, high))
        if not lo <= ratio <= hi:
            wrong.append(f"{name}: estimate {est / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, beyond the tiny "
                         f"run's {base_est / 2**20:.0f} and {base_peak / 2**20:.0f} MiB: {ratio:.2f}x")
    assert not wrong, "; ".join(wrong)


def test_the_estimate_matches_the_measured_peak_of_a_run_and_a_sweep(tmp_path):
    """A run whose network dominates (adam), a --sweep that must not keep the previous run's networks
    (before: 0.7x), and large photos read at 16x16 (before: every full-size image held to the end)."""
    from augkit.data import sample_path

    faces = str(sample_path("faces"))
    y, x = np.mgrid[0:2000, 0:3000]
    for c in ("cat", "dog"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(3):
            im = np.stack([(x // 16 + i * 7) % 256, (y // 12 + (c == "dog") * 90) % 256, ((x + y) // 20) % 256], -1)
            Image.fromarray(im.astype(np.uint8)).save(tmp_path / "photos" / c / f"{i}.jpg", quality=90)
    photos = [str(tmp_path / "photos"), "--size", "16", "--copies", "0"]
    cases = {
        "base": [faces, "--size", "1", "--hidden", "1", "--copies", "0"],
        "single": [faces, "--size", "128", "--hidden", "1024", "--copies", "2"],
        "sweep": [faces, "--size", "128", "--hidden", "1024", "--copies", "0", "--sweep", "--activation", "relu",
                  "--init", "he,xavier"],
        "photos": photos,
    }
    # Every case once before measuring: with a cold numba cache a child compiles, and compiling
    # takes memory no estimate counts (0.76-0.84x when this test ran first in a fresh clone).
    _peaks(cases, cwd=tmp_path)
    peaks = _peaks(cases, cwd=tmp_path)
    # Decoding large JPEGs is where the allocator shows: the photos' peak beyond the tiny run's
    # measured 0.76x the estimate's in a fresh venv (CI) and 1.02x in the system Python, the same
    # NumPy and Pillow (MALLOC_ARENA_MAX=1 lowers both). Holding every full-size image, as before,
    # gave 0.01-0.22x: the wider bounds still fail on that.
    _check_against_peak(peaks, bounds={"photos": (0.6, 1.5)})


def test_a_refusal_for_decoding_alone_says_so(monkeypatch, capsys):
    _machine(monkeypatch, GiB)
    _no_decoding(monkeypatch)
    monkeypatch.setattr(demo_train, "DECODE_BYTES_PER_PIXEL", {"gray": 10**6, "rgb": 10**6})
    assert main(["train", "--workers", "4"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("augkit train: error: the images' own size 25x25 (no --size given): training would "
                           "need about 2.5 GiB"), line
    assert line.endswith("decoding the full-size 25x25 images alone needs 2.3 GiB: use fewer --workers"), line


def test_a_one_class_folder_of_unreadable_files_says_none_could_be_read(tmp_path):
    (tmp_path / "a").mkdir()
    for i in range(3):
        (tmp_path / "a" / f"{i}.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="none of the 3 image files .* could be read"):
        demo_train.load_folder(tmp_path)


def test_channels_follow_the_first_file_that_decodes(tmp_path):
    """A truncated gray file first does not make a folder of colour photos gray."""
    import io

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(1, 3):
            Image.fromarray(np.full((20, 30, 3), (60 * i, 20, 200 - 40 * i), np.uint8)).save(tmp_path / c / f"{i}.png")
    buf = io.BytesIO()
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(buf, format="PNG")
    (tmp_path / "a" / "0.png").write_bytes(buf.getvalue()[:50])   # a gray header, its pixels cut short
    data = demo_train.load_folder(tmp_path)
    assert data.images.shape == (4, 20, 30, 3) and len(data.skipped) == 1
    assert demo_train.scan_folder(tmp_path)[2] == "rgb"
