"""augkit train / init-study: reports, files, determinism, bad input (all at tiny sizes)."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nn
from augkit import demo
from augkit.cli import main
from augkit.data import sample_path
from augkit.demo_train import (PERTURBATIONS, compare, load_folder, perturbed_copies, stratified_split, sweep,
                               train_model)
from conftest import checksums

TINY = ["--epochs", "2", "--hidden", "8", "--copies", "3", "-q"]
TIMING = {"time", "data_time", "val_time", "seconds"}


@pytest.fixture(scope="module")
def faces():
    return load_folder(sample_path("faces"))


def _numbers(history):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in history]



@pytest.fixture
def folder(tmp_path):
    """Three classes of RGB images of mixed sizes, plus an unreadable file."""
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for k, name in enumerate(["cat", "dog", "owl"]):
        (root / name).mkdir(parents=True)
        for i in range(6):
            h, w = (12, 10) if i % 2 else (16, 16)
            img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8) + np.uint8(60 * k)
            Image.fromarray(img).save(root / name / f"{i}.png")
    (root / "dog" / "broken.png").write_bytes(b"not a png")
    return root


# --------------------------------------------------------------------------- building blocks
def test_stratified_split_is_per_class_disjoint_and_fixed_by_seed():
    labels = np.array([0] * 30 + [1] * 10 + [2] * 2)
    tr, va = stratified_split(labels, 0.3, seed=4)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(len(labels)))
    assert np.bincount(labels[va]).tolist() == [9, 3, 1]
    tr2, va2 = stratified_split(labels, 0.3, seed=4)
    assert np.array_equal(va, va2) and np.array_equal(tr, tr2)
    assert not np.array_equal(va, stratified_split(labels, 0.3, seed=5)[1])


def test_perturbed_copies_cycle_kinds_and_depend_only_on_seed_and_index(faces):
    images, labels = faces.images[:5], faces.labels[:5]
    index = np.arange(10, 15)
    x, y, kinds = perturbed_copies(images, labels, index, copies=4, seed=1)
    assert x.shape == (20, 25, 25) and x.dtype == np.uint8
    assert kinds.tolist() == ["shift"] * 5 + ["tint"] * 5 + ["erase"] * 5 + ["shift"] * 5
    assert y.tolist() == labels.tolist() * 4
    assert np.array_equal(x, perturbed_copies(images, labels, index, copies=4, seed=1)[0])
    # image 12 looks the same when perturbed alone
    alone = perturbed_copies(images[2:3], labels[2:3], index[2:3], copies=4, seed=1)[0]
    assert np.array_equal(alone[1], x[5 + 2])
    assert not np.array_equal(x, perturbed_copies(images, labels, index, copies=4, seed=2)[0])
    assert any(not np.array_equal(a, b) for a, b in zip(x[:5], images))
    assert set(PERTURBATIONS) == {"shift", "tint", "erase"}


def test_load_folder_resizes_skips_unreadable_and_keeps_classes(folder):
    data = load_folder(folder, size=(8, 9))
    assert data.images.shape == (18, 8, 9, 3) and data.images.dtype == np.uint8
    assert data.classes == ["cat", "dog", "owl"] and np.bincount(data.labels).tolist() == [6, 6, 6]
    assert [Path(p).name for p, _ in data.skipped] == ["broken.png"]
    assert load_folder(folder, channels="gray").images.shape == (18, 16, 16)


# --------------------------------------------------------------------------- train
def test_train_model_is_deterministic_and_worker_independent(faces):
    kw = dict(epochs=2, hidden=(8,), copies=3, seed=3)
    a = train_model(faces, **kw)
    b = train_model(faces, **kw)
    threaded = train_model(faces, workers=2, **kw)
    assert _numbers(a["history"]) == _numbers(b["history"]) == _numbers(threaded["history"])
    assert np.array_equal(a["model"].layers[0].W.data, threaded["model"].layers[0].W.data)
    other = train_model(faces, **{**kw, "seed": 4})
    assert _numbers(other["history"]) != _numbers(a["history"])
    assert a["config"]["n_train"] == 100 and a["config"]["n_val"] == 100 and a["config"]["n_val_perturbed"] == 300
    assert sorted(a["final"]["val_perturbed_by_kind"]) == ["erase", "shift", "tint"]
    for record in a["history"]:
        assert {"loss", "train_acc", "val_acc", "val_perturbed_acc", "data_time", "time"} <= set(record)
        assert 0.0 <= record["val_perturbed_acc"] <= 1.0


@pytest.mark.parametrize("kw, match", [
    (dict(epochs=0), r"train_model: epochs must be an integer >= 1, got 0"),
    (dict(epochs=1.5), r"train_model: epochs must be an integer, got 1.5"),
    (dict(seed=-1), r"train_model: seed must be an integer >= 0, got -1"),
    (dict(seed="a"), r"train_model: seed must be an integer, got 'a'"),
])
def test_train_model_checks_epochs_and_seed_first(faces, kw, match, monkeypatch):
    import augkit.demo_train as demo_train

    def not_before_the_checks(*args, **kwargs):
        raise AssertionError("work started before epochs and seed were checked")

    monkeypatch.setattr(demo_train, "resolve_augment", not_before_the_checks)
    with pytest.raises(ValueError, match=match):
        train_model(faces, hidden=(8,), **kw)


def test_augmentation_changes_training(faces):
    kw = dict(epochs=1, hidden=(8,), copies=0, seed=0)
    plain, augmented = train_model(faces, augment="none", **kw), train_model(faces, augment="seed", **kw)
    assert plain["final"]["val_perturbed_acc"] is None
    assert plain["history"][0]["loss"] != augmented["history"][0]["loss"]


def test_cli_train_writes_history_weights_and_plots(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    before = checksums(sample_path("faces"))
    assert main(["train", *TINY, "--seed", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "result: train accuracy" in text and "on perturbed copies" in text
    assert "gray from samples/faces (face" in text   # the shipped samples, wherever augkit is installed
    assert {p.name for p in out.iterdir()} == {"history.json", "history.csv", "model.npz", "learning_curves.png",
                                               "activations.png"}
    report = json.loads((out / "history.json").read_text())
    assert len(report["history"]) == 2 and report["config"]["seed"] == 2
    assert report["config"]["augment"] == "seed" and report["config"]["hidden"] == [8]
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[-1]["val_acc"]) == pytest.approx(report["final"]["val_acc"])
    model = nn.MLP.from_file(out / "model.npz")
    assert model.config["sizes"] == [625, 8, 2]
    for png in ("learning_curves.png", "activations.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert checksums(sample_path("faces")) == before

    again = tmp_path / "again"
    assert main(["train", *TINY, "--seed", "2", "--out", str(again)]) == 0
    second = json.loads((again / "history.json").read_text())
    assert _numbers(second["history"]) == _numbers(report["history"])


def test_cli_train_shows_a_data_folder_inside_the_working_folder_as_typed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(sample_path("faces").parent.parent)
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 0
    assert "gray from samples/faces (face 100, not_face 100)" in capsys.readouterr().out


def test_cli_train_on_any_folder_never_writes_into_it(folder, tmp_path, capsys):
    before = checksums(folder)
    out = tmp_path / "out"
    assert main(["train", str(folder), "--size", "10", *TINY, "--val-fraction", "0.34", "--out", str(out),
                 "--activation", "tanh", "--init", "xavier", "--optimizer", "momentum", "--lr", "0.01"]) == 0
    captured = capsys.readouterr()
    assert "broken.png" in captured.err
    assert "MLP 300-8-3, tanh, xavier" in captured.out
    assert checksums(folder) == before
    assert json.loads((out / "history.json").read_text())["config"]["n_val"] == 6


def test_cli_train_without_matplotlib_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(demo, "_pyplot", lambda: None)
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.png")) and (tmp_path / "history.json").exists()


def test_diverging_training_is_reported_without_traceback(capsys):
    code = main(["train", "--epochs", "2", "--hidden", "32,32,32", "--init", "large_gaussian", "--optimizer", "sgd",
                 "--lr", "50", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "diverged" in err and "Traceback" not in err


# --------------------------------------------------------------------------- compare / sweep
def test_compare_report_shape_and_determinism(faces, tmp_path, capsys):
    kw = dict(seeds=2, seed=1, epochs=1, hidden=(8,), copies=3)
    result = compare(faces, **kw)
    assert [(r["seed"], r["augment"]) for r in result["runs"]] == [(1, "none"), (1, "seed"), (2, "none"),
                                                                   (2, "seed")]
    assert set(result["summary"]) == {"none", "seed"}
    for s in result["summary"].values():
        assert set(s) == {"train_acc", "val_acc", "val_perturbed_acc", "val_shift_acc", "val_tint_acc",
                          "val_erase_acc"}
        mean, std = s["val_perturbed_acc"]
        assert 0.0 <= mean <= 1.0 and std >= 0.0
    again = compare(faces, **kw)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(again["runs"]) == strip(result["runs"])

    assert main(["train", "--compare", "--seeds", "2", *TINY, "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "| none |" in text and "| seed |" in text and "mean ± std over 2 seeds" in text
    assert {p.name for p in tmp_path.iterdir()} == {"compare.json", "compare.csv", "compare.md"}
    assert len(json.loads((tmp_path / "compare.json").read_text())["runs"]) == 4


def test_sweep_covers_every_pair_and_reports_unit_health(faces, tmp_path, capsys):
    result = sweep(faces, activations=["relu", "tanh"], inits=["small_gaussian", "he"], epochs=1, hidden=(8, 8),
                   copies=0, optimizer="sgd", lr=0.05)
    assert [(r["activation"], r["init"]) for r in result["runs"]] == [
        ("relu", "small_gaussian"), ("relu", "he"), ("tanh", "small_gaussian"), ("tanh", "he")]
    by = {(r["activation"], r["init"]): r for r in result["runs"]}
    assert by[("relu", "he")]["frac_saturated"] is None and by[("tanh", "he")]["frac_saturated"] is not None
    # 0.01 * randn through two layers: the last hidden layer is almost silent at init
    assert by[("tanh", "small_gaussian")]["init_last_hidden_std"] < 0.01 < by[("tanh", "he")]["init_last_hidden_std"]

    assert main(["train", "--sweep", "--activation", "relu,elu", "--init", "he,large_gaussian", "--hidden", "8,8",
                 "--epochs", "1", "--lr", "5", "-q", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| relu") or line.startswith("| elu")]
    assert len(rows) == 4
    assert {p.name for p in tmp_path.iterdir()} == {"sweep.json", "sweep.csv", "sweep.md"}
    runs = json.loads((tmp_path / "sweep.json").read_text())["runs"]
    assert len(runs) == 4 and all("error" in r or 0.0 <= r["val_acc"] <= 1.0 for r in runs)


# --------------------------------------------------------------------------- init-study
def test_init_study_prints_table_and_writes_png_and_json(tmp_path, capsys):
    png, js = tmp_path / "grid.png", tmp_path / "study.json"
    assert main(["init-study", "--depth", "3", "--width", "40", "--n", "50", "-o", str(png), "--json", str(js)]) == 0
    text = capsys.readouterr().out
    table = [line for line in text.splitlines() if line.split()[:1] and line.split()[0] in
             ("small_gaussian", "large_gaussian", "xavier", "he") and "layer" not in line]
    assert len(table) == 8 and all(len(line.split()) == 2 + 3 for line in table)
    assert png.read_bytes()[:4] == b"\x89PNG"
    study = json.loads(js.read_text())
    assert study["depth"] == 3 and len(study["runs"]) == 8
    small_tanh = next(r for r in study["runs"] if (r["init"], r["activation"]) == ("small_gaussian", "tanh"))
    assert small_tanh["layers"][2]["std"] < small_tanh["layers"][0]["std"]


def test_init_study_options(tmp_path, capsys):
    assert main(["init-study", "--depth", "2", "--width", "10", "--n", "20", "--inits", "he", "--activations", "all",
                 "--stat", "frac_zero", "--markdown", "-o", str(tmp_path / "x.png")]) == 0
    captured = capsys.readouterr()
    assert "per-layer frac_zero" in captured.err.lower() and "last layer:" in captured.err
    lines = captured.out.splitlines()   # --markdown: the table alone on stdout
    assert all(line.startswith("|") for line in lines) and len(lines) == 2 + 5
    assert sum(line.startswith("| he |") for line in lines) == 5


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("argv, needle", [
    (["train", "/no/such/folder"], "DATA"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--hidden", "8,x"], "--hidden"),
    (["train", "--val-fraction", "1.5"], "--val-fraction"),
    (["train", "--size", "3x"], "--size"),
    (["train", "--augment", "no-such-preset"], "--augment"),
    (["train", "--activation", "swish"], "--activation"),
    (["train", "--init", "zeros"], "--init"),
    (["train", "--activation", "relu,tanh"], "--activation"),
    (["train", "--optimizer", "lbfgs"], "--optimizer"),
    (["train", "--compare", "--sweep"], "--sweep"),
    (["train", "--compare", "--augment", "none"], "--compare"),
    (["train", "--seeds", "2"], "--seeds"),
    (["init-study", "-o", "grid.jpg"], "-o"),
    (["init-study", "--depth", "0"], "--depth"),
    (["init-study", "--activations", "swish"], "--activations"),
])
def test_bad_options_exit_2_with_one_clear_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_bad_data_folders(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    one = tmp_path / "one" / "only"
    one.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(one / "a.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(one / "b.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    for data, needle in [(tmp_path / "file.txt", "not a folder"), (tmp_path / "one", "two classes"),
                         (empty, "class sub-folders")]:
        assert main(["train", str(data), "-q"]) == 2
        assert needle in capsys.readouterr().err
    out_inside = sample_path("faces") / "out"
    assert main(["train", "--out", str(out_inside), "-q"]) == 2
    assert "inside DATA" in capsys.readouterr().err and not out_inside.exists()


def test_reports_written_by_an_interrupted_run_keep_the_previous_file(tmp_path):
    # A full disk in the middle of a report write: RLIMIT_FSIZE makes write()
    # fail with EFBIG past 4 KiB, in a child process so pytest's own files are spared.
    pytest.importorskip("resource")
    import subprocess
    import sys
    script = r"""
import resource, signal, sys
from pathlib import Path
import numpy as np
from augkit import demo
out = Path(sys.argv[1])
demo._write_json(out / "r.json", {"old": 1})
demo._write_csv(out / "r.csv", [{"old": 1}])
demo._write_report(out, "rep", {"runs": [{"old": 1}]}, "old")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
big = np.arange(5000)
for write in (lambda: demo._write_json(out / "r.json", {"new": big}),
              lambda: demo._write_csv(out / "r.csv", [{"new": i} for i in big]),
              lambda: demo._write_report(out, "rep", {"runs": [{"new": 1}]}, "new\n" * 5000)):
    try:
        write()
    except OSError:
        pass
    else:
        sys.exit("the write should have failed at the file-size limit")
"""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r.json").read_text()) == {"old": 1}
    assert (tmp_path / "r.csv").read_bytes() == b"old\r\n1\r\n"
    assert (tmp_path / "rep.md").read_text() == "old\n"     # its JSON and CSV were small enough to be replaced
    assert (tmp_path / "rep.csv").read_bytes() == b"new\r\n1\r\n"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["r.csv", "r.json", "rep.csv", "rep.json", "rep.md"], "no temporary file may be left"


def test_a_users_data_folder_is_described_without_the_shipped_samples(tmp_path, monkeypatch):
    import augkit.data

    def missing(*parts):
        raise FileNotFoundError("augkit sample data faces not found")

    monkeypatch.setattr(augkit.data, "sample_path", missing)
    monkeypatch.chdir(tmp_path)
    assert str(demo._shown(tmp_path / "mine" / "faces")) == "mine/faces"
    assert demo._shown("/elsewhere/data") == "/elsewhere/data"
