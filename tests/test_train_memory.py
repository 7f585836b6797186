"""``augkit train`` estimates its memory before loading anything, and refuses what the machine cannot hold.

No test here allocates a large array: the machine's memory is monkeypatched, and
`load_folder` is replaced where a run must stop before decoding.
"""
import re

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


def _machine(monkeypatch, nbytes):
    monkeypatch.setattr(demo, "_physical_memory", lambda: nbytes)


def _one_error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err.strip()


def test_memory_estimate_arithmetic_by_hand():
    from augkit.demo_train import BASE_BYTES, memory_estimate

    # D = 20 * 30 * 3 = 1800 values per image; 10 training and 6 held-out images;
    # network 1800 -> 8 -> 4 -> 3: 1800*8 + 8*4 + 4*3 = 14444 weights, 8 + 4 + 3 = 15 biases.
    est = memory_estimate(10, 6, (20, 30, 3), (8, 4), 3, optimizer="adam", batch_size=5, copies=2, workers=1)
    assert est["images"] == 1800 * (2 * 16 + 2 * 6) == 79200
    assert est["inputs"] == 4 * 1800 * (10 + 6 * 3) == 201600
    assert est["network"] == 4 * 14459 * 5 == 289180       # weights, grads, scratch, two moments
    assert est["batches"] == 5 * 1800 * (2 * 2 + 1 + 8) == 117000
    assert est["previous"] == 0 and est["base"] == BASE_BYTES
    assert est["total"] == 79200 + 201600 + 289180 + 117000 + BASE_BYTES

    sweep = memory_estimate(10, 6, (20, 30, 3), (8, 4), 3, optimizer="sgd", batch_size=5, copies=2, workers=4,
                            sweep=True)
    assert sweep["network"] == 4 * 14459 * 3 == 173508       # weights, grads, scratch
    assert sweep["batches"] == 5 * 1800 * (2 * 4 + 1 + 8) == 153000
    assert sweep["previous"] == 4 * (2 * 14444 + 1800 * 6) == 158752
    assert memory_estimate(10, 6, (20, 30, 3), (8, 4), 3, optimizer="momentum")["network"] == 4 * 14459 * 4


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

    _machine(monkeypatch, 8 * GiB)
    _no_decoding(monkeypatch)
    assert main(["train", "--size", "5000x5000"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("augkit train: error: --size 5000x5000: training would need about 132.6 GiB of memory "
                           "("), line
    assert "more than this machine's 8.0 GiB; try --size " in line and "--hidden" not in line
    h, w = map(int, re.search(r"try --size (\d+)x(\d+) or smaller$", line).groups())
    assert h == w
    # the suggestion fits in three quarters of the memory, and is not needlessly small
    fits = lambda s: memory_estimate(100, 100, (s, s), (64,), 2)["total"] <= 6 * GiB  # noqa: E731
    assert fits(h) and not fits(h + 2)


def test_a_refusal_names_hidden_when_it_was_given(monkeypatch, capsys):
    _machine(monkeypatch, 8 * GiB)
    _no_decoding(monkeypatch)
    assert main(["train", "--size", "1500", "--hidden", "1024"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("augkit train: error: --size 1500x1500 with --hidden 1024: training would need about")
    assert re.search(r"try --size \d+x\d+ or smaller or narrower --hidden layers$", line), line


def test_a_network_too_large_at_any_size_says_so(monkeypatch, capsys):
    _machine(monkeypatch, 8 * GiB)
    _no_decoding(monkeypatch)
    assert main(["train", "--hidden", "100000,100000"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("augkit train: error: the images' own size 25x25 (no --size given) with --hidden "
                           "100000,100000: training would need about 187.6 GiB"), line
    assert line.endswith("more than this machine's 8.0 GiB; the network alone is too large: use narrower "
                         "--hidden layers")


def test_large_images_without_size_are_refused_too(monkeypatch, capsys, tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((2000, 1500), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    _machine(monkeypatch, GiB)
    _no_decoding(monkeypatch)
    assert main(["train", str(tmp_path)]) == 2
    line = _one_error_line(capsys)
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
