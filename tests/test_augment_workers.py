"""``augkit augment`` with worker processes (Linux), worker threads (--threads) and one worker."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import augkit.cli as cli
from augkit import _procs
from augkit.cli import main
from conftest import checksums, children, noise_folder, signal_mid_run, wait_until_exited

linux_only = pytest.mark.skipif(not _procs.available(), reason="worker processes are forked on Linux only")


def _folder(root, n=24):
    """Nested classes, gray, RGBA, palette and JPEG files, and three that cannot be read."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / ("cats" if i % 2 else "dogs" / Path("deep" if i % 3 == 0 else ""))
        folder.mkdir(parents=True, exist_ok=True)
        rgb = rng.integers(0, 256, (20 + i, 18 + 2 * i, 3), dtype=np.uint8)
        kind = i % 4
        if kind == 0:
            Image.fromarray(rgb).save(folder / f"im{i:02d}.png")
        elif kind == 1:
            Image.fromarray(rgb[..., 0]).save(folder / f"im{i:02d}.png")
        elif kind == 2:
            Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(folder / f"im{i:02d}.png")
        else:
            Image.fromarray(rgb).save(folder / f"im{i:02d}.jpg", quality=90)
    (root / "cats" / "empty.png").write_bytes(b"")
    (root / "cats" / "text.jpg").write_text("not a JPEG\n")
    whole = (root / "dogs" / "im02.png").read_bytes()
    (root / "dogs" / "cut.png").write_bytes(whole[:len(whole) // 2])
    return root


@linux_only
@pytest.mark.parametrize("fmt", ["same", "jpg"])
def test_processes_threads_and_one_worker_write_the_same_bytes(tmp_path, monkeypatch, capsys, fmt):
    src = _folder(tmp_path / "src")
    before = checksums(src)
    forked = []

    class Counting(_procs.Pool):
        def __init__(self, jobs, work, workers):
            super().__init__(jobs, work, workers)
            forked.append(len(self.children))

    monkeypatch.setattr(cli._procs, "Pool", Counting)
    runs = {}
    for name, extra in (("one", ["--workers", "1"]), ("processes", ["--workers", "2"]),
                        ("threads", ["--workers", "2", "--threads"]), ("three", ["--workers", "3"])):
        assert main(["augment", str(src), str(tmp_path / name), "--copies", "2", "--format", fmt, *extra]) == 1
        err = capsys.readouterr().err
        assert "24 processed (48 outputs), 0 skipped, 3 failed" in err, err
        runs[name] = checksums(tmp_path / name)
    assert forked == [2, 3]          # processes for 2 and 3 workers, not for --threads or 1 worker
    assert runs["one"] == runs["processes"] == runs["threads"] == runs["three"]
    assert checksums(src) == before
    assert not children(os.getpid())   # every worker was reaped


@linux_only
def test_a_worker_process_that_dies_fails_its_image_only(tmp_path, monkeypatch, capsys):
    src = _folder(tmp_path / "src")
    real = cli._process

    def process(job, *context):   # runs in a worker process
        if job[0] == "cats/im05.png":
            os._exit(9)           # as if killed (out of memory, say)
        return real(job, *context)
    monkeypatch.setattr(cli, "_process", process)
    dst = tmp_path / "out"
    assert main(["augment", str(src), str(dst), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "failed cats/im05.png: worker process died" in err
    assert "23 processed (23 outputs), 0 skipped, 4 failed" in err, err
    monkeypatch.setattr(cli, "_process", real)
    assert main(["augment", str(src), str(dst), "--workers", "2", "-q"]) == 1   # the re-run does the one left
    assert (dst / "cats" / "im05_aug0.png").is_file()


@linux_only
def test_no_worker_outlives_a_killed_run(tmp_path):
    """SIGKILL to the command: its worker processes notice and exit, leaving no stray workers."""
    src, dst = tmp_path / "src", tmp_path / "out"
    noise_folder(src, seed=5, n=80)
    workers = []
    proc = signal_mid_run([sys.executable, "-m", "augkit", "augment", str(src), str(dst), "--workers", "2",
                           "--copies", "3"], dst, signal.SIGKILL, before=lambda p: workers.extend(children(p.pid)),
                          stderr=subprocess.DEVNULL)
    assert proc.wait(30) == -signal.SIGKILL, "the run ended before it could be killed"
    assert len(workers) == 2
    assert wait_until_exited(workers, timeout=20)
    for path in dst.rglob("*_aug*.png"):   # whatever has its final name is complete
        if not path.name.startswith("."):
            assert Image.open(path).size == (128, 128)


@linux_only
def test_when_fork_is_refused_the_threads_do_the_work(tmp_path, monkeypatch, capsys):
    src = _folder(tmp_path / "src")
    assert main(["augment", str(src), str(tmp_path / "want"), "--workers", "1", "-q"]) == 1
    capsys.readouterr()

    def refuse():
        raise BlockingIOError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(_procs.os, "fork", refuse)
    assert main(["augment", str(src), str(tmp_path / "got"), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "cannot start worker processes (Resource temporarily unavailable); using threads" in err
    assert "24 processed (24 outputs), 0 skipped, 3 failed" in err
    assert checksums(tmp_path / "got") == checksums(tmp_path / "want")
