"""augkit.io: atomic writes (temporary names, clean-up, concurrency) and read-only decoding."""
import io
import itertools
import os
import threading

import numpy as np
import pytest
from PIL import Image

import augkit.io as aio
from augkit.io import TMP_SUFFIX, atomic_write, copy_file, read_image, write_image


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_taken_temporary_name_is_skipped_not_reused(tmp_path, monkeypatch):
    # a killed process whose id came back left a file under the next temporary name
    monkeypatch.setattr(aio, "_tmp_names", itertools.count(7))
    stale = tmp_path / f".x.png.{os.getpid()}-7{TMP_SUFFIX}"
    stale.write_bytes(b"left by a killed run")
    write_image(np.full((4, 5, 3), 9, np.uint8), tmp_path / "x.png")
    assert stale.read_bytes() == b"left by a killed run"  # O_EXCL: never written through
    assert read_image(tmp_path / "x.png").tolist() == np.full((4, 5, 3), 9, np.uint8).tolist()
    assert _names(tmp_path) == [stale.name, "x.png"]


def test_failures_leave_no_temporary_file_and_keep_the_old_one(tmp_path):
    target = tmp_path / "keep.bin"
    target.write_bytes(b"old")

    def broken(fh):
        fh.write(b"half")
        raise RuntimeError("encoder died")

    with pytest.raises(RuntimeError, match="encoder died"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OSError):  # the rename fails: a folder has the name
        write_image(np.zeros((2, 2), np.uint8), tmp_path / "folder.png")
    assert _names(tmp_path) == ["folder.png", "keep.bin"]


def test_threads_writing_one_path_never_mix_their_bytes(tmp_path):
    target = tmp_path / "same.bin"
    payloads = [bytes([i]) * 300_000 for i in range(8)]
    barrier = threading.Barrier(len(payloads))

    def write(data):
        barrier.wait()
        for _ in range(5):
            atomic_write(target, lambda fh: fh.write(data))

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_bytes() in payloads  # one writer's bytes, whole
    assert _names(tmp_path) == ["same.bin"]


def test_copy_file_and_atomic_write_round_trip(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    assert copy_file(src, tmp_path / "dst.bin").read_bytes() == src.read_bytes()
    assert atomic_write(str(tmp_path / "t.txt"), lambda fh: fh.write(b"text")).read_bytes() == b"text"


def test_read_image_is_writable_and_decode_matches_it(tmp_path):
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    write_image(image, tmp_path / "a.png")
    read = read_image(tmp_path / "a.png")
    assert read.flags.writeable and read.flags.c_contiguous
    decoded = aio._decode(tmp_path / "a.png", "RGB")
    np.testing.assert_array_equal(decoded, read)
    np.testing.assert_array_equal(read, image)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif", ".bmp", ".gif"])
def test_write_image_bytes_are_those_of_an_in_memory_encode(tmp_path, ext):
    # write_image encodes straight into its temporary file (Pillow then writes with the GIL
    # released); the bytes must be exactly what encoding into memory gives
    image = np.random.default_rng(4).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    fmt = aio.pillow_format(ext)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    assert write_image(image, tmp_path / f"x{ext}", quality=90).read_bytes() == buffer.getvalue()
    assert _names(tmp_path) == [f"x{ext}"]


def test_an_error_creating_the_temporary_file_names_the_output(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(name, flags, *args):
        if TMP_SUFFIX in os.fspath(name):
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args)
    monkeypatch.setattr(aio.os, "open", refuse)
    with pytest.raises(PermissionError) as info:
        write_image(np.zeros((2, 2, 3), np.uint8), tmp_path / "x.png")
    assert info.value.filename == str(tmp_path / "x.png") and TMP_SUFFIX not in str(info.value)
    assert _names(tmp_path) == []


def test_a_long_legal_name_is_written_and_its_temporary_name_stays_short(tmp_path, monkeypatch):
    name = "x" * 240 + "_aug0.png"                    # 249 bytes: legal (NAME_MAX 255)
    seen = []
    real_open = os.open

    def record(path, flags, *args):
        seen.append(os.fspath(path))
        return real_open(path, flags, *args)
    monkeypatch.setattr(aio.os, "open", record)
    write_image(np.zeros((4, 4), np.uint8), tmp_path / name)
    assert _names(tmp_path) == [name]
    tmp = os.path.basename(seen[0])
    assert os.path.dirname(seen[0]) == str(tmp_path)
    assert tmp.startswith(".xxxx") and tmp.endswith(TMP_SUFFIX) and len(tmp.encode()) <= 100
    short = []
    monkeypatch.setattr(aio.os, "open", lambda path, *a: short.append(os.fspath(path)) or real_open(path, *a))
    wide = "\U0001F600" * 61 + ".png"                  # 248 bytes of UTF-8, 4 to a character
    write_image(np.zeros((4, 4), np.uint8), tmp_path / wide)
    assert (tmp_path / wide).is_file() and len(os.path.basename(short[0]).encode()) < 255


@pytest.mark.parametrize("array, message", [
    (np.zeros((4, 4), np.int64), r"array must be uint8 or float32.*got int64"),
    (np.zeros((4, 4)), r"array must be uint8 or float32.*got float64"),
    (np.zeros((4, 4, 5), np.uint8), r"array must be .*\(H, W, 1\|2\|3\|4\).*got shape \(4, 4, 5\)"),
    (np.zeros((1, 4, 4, 3), np.uint8), r"array must be .*got shape \(1, 4, 4, 3\)"),
    (np.zeros((0, 4), np.uint8), r"array must be .*got shape \(0, 4\)"),
    ("not an image", r"array must be uint8 or float32 \(0..255 units\), got a str;"),
    (None, r"array must be uint8 or float32 \(0..255 units\), got a NoneType;"),
])
def test_write_image_checks_the_array_up_front(tmp_path, array, message):
    with pytest.raises((TypeError, ValueError), match="write_image: " + message):
        write_image(array, tmp_path / "x.png")
    assert _names(tmp_path) == []


@pytest.mark.parametrize("quality, error", [(0, ValueError), (500, ValueError), (101, ValueError),
                                            ("high", TypeError), (True, TypeError), (90.5, TypeError)])
def test_write_image_checks_quality(tmp_path, quality, error):
    with pytest.raises(error, match=rf"write_image: quality must be an int from 1 to 100 or None, got {quality!r}"):
        write_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.jpg", quality=quality)
    assert _names(tmp_path) == []
    assert write_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "y.jpg", quality=np.int64(100)).is_file()


def test_reading_a_folder_says_it_is_a_directory(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory") as info:
        read_image(tmp_path / "d.png")
    assert "FIFO" not in str(info.value) and str(tmp_path / "d.png") in str(info.value)
