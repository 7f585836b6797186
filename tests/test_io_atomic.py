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
