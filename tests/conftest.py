import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import augkit as A


def make_image(h=23, w=31, c=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if c is None else (h, w, c)
    if dtype == np.uint8:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.normal(0.5, 0.3, size=shape).astype(np.float32)


def every_transform(p=0.5):
    """One configured instance of every transform class, for the contract tests."""
    return [
        A.HorizontalFlip(p=p),
        A.VerticalFlip(p=p),
        A.Crop(2, 3, 17, 19),
        A.CenterCrop(11, 13),
        A.CenterCrop(30, 40, pad_if_needed=True, fill=7),
        A.RandomCrop(15, 20, p=p),
        A.RandomCrop(30, 35, pad_if_needed=True, fill=(1, 2, 3), p=p),
        A.Shift(p=p),
        A.Shift(dx=(-5, 5), dy=3, unit="px", fill=(9, 8, 7), fill_mask=255, p=p),
        A.Tint(p=p),
        A.Tint(shift=(-30, 10), scale=(0.5, 1.5), per_channel=False, p=p),
        A.BoxErase(p=p),
        A.BoxErase(count=(1, 3), fill="random", fill_mask=3, p=p),
        A.BoxErase(scale=(0.1, 0.2), fill=(10, 20, 30), p=p),
    ]


@pytest.fixture
def image():
    return make_image()


def checksums(root):
    """sha256 of every file under ``root``, by relative POSIX path."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def manifest(dst):
    """The entries of ``dst/manifest.jsonl``."""
    return [json.loads(line) for line in (Path(dst) / "manifest.jsonl").read_text().splitlines()]


def process_state(pid):
    """The one-letter state of process ``pid`` from /proc (``"Z"`` for a zombie), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(pid):
    """Live (not zombie) processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def wait_until_exited(pids, timeout):
    """Wait up to ``timeout`` seconds for every process in ``pids`` to exit (a zombie counts);
    True when they all did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(process_state(p) in (None, "Z") for p in pids):
            return True
        time.sleep(0.05)
    return all(process_state(p) in (None, "Z") for p in pids)


def noise_folder(src, seed, n=60):
    """``n`` 128x128 PNGs of incompressible noise: slow enough to encode that a signal lands mid-run."""
    (src / "noise").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(src / "noise" / f"n{i:03d}.png",
                                                                                compress_level=0)


def signal_mid_run(command, dst, signum, before=None, **popen):
    """Start ``command`` and send it ``signum`` once its manifest lists 3 outputs (calling
    ``before(proc)`` just before); the process."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, **popen)
    manifest_file = dst / "manifest.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest_file.exists() and manifest_file.read_text().count("\n") >= 3:
            if before is not None:
                before(proc)
            proc.send_signal(signum)
            break
        time.sleep(0.002)
    return proc
