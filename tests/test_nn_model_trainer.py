import io

import numpy as np
import pytest

from nn.data import Batches
from nn.gradcheck import check_model
from nn.model import MLP, Sequential
from nn.optim import SGD, Adam
from nn.trainer import Trainer


def _xor(n_repeat=32):
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32).repeat(n_repeat, axis=0)
    y = np.array([0, 1, 1, 0]).repeat(n_repeat)
    return x, y


def _blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[6.0, 0.0], [-6.0, 0.0], [0.0, 6.0]])
    return (centres[y] + rng.standard_normal((n, 2))).astype(np.float32), y


@pytest.mark.parametrize("activation, init", [("relu", "he"), ("tanh", "xavier"), ("sigmoid", "xavier"),
                                              ("leaky_relu", "he"), ("elu", "he")])
def test_model_gradcheck_float64(activation, init):
    net = MLP([4, 6, 5, 3], activation=activation, init=init, rng=0, dtype=np.float64)
    for layer in net.layers:
        for p in layer.parameters():
            if p.name == "b":  # non-zero biases so their gradients are exercised
                p.data[:] = np.random.default_rng(1).standard_normal(p.data.shape) * 0.1
    x = np.random.default_rng(2).uniform(-2, 2, (5, 4))
    errs = check_model(net, x, np.array([0, 1, 2, 1, 0]))
    assert max(errs.values()) < 1e-7, errs


def test_model_gradcheck_with_dropout():
    net = MLP([4, 6, 3], activation="tanh", dropout=0.3, rng=0, dtype=np.float64)
    errs = check_model(net, np.random.default_rng(2).standard_normal((5, 4)), np.array([0, 1, 2, 1, 0]))
    assert max(errs.values()) < 1e-7, errs


def test_mlp_structure():
    net = MLP([8, 16, 16, 4], activation="elu", dropout=0.2, rng=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Linear", "ELU", "Dropout", "Linear", "ELU", "Dropout", "Linear"]
    assert [p.shape for p in net.parameters()] == [(8, 16), (16,), (16, 16), (16,), (16, 4), (4,)]
    assert net.parameters()[0].data.dtype == np.float32


def test_xor_learned_to_100_percent():
    x, y = _xor()
    net = MLP([2, 16, 2], activation="tanh", init="xavier", rng=0)
    h = Trainer(net, Adam(0.05)).fit(Batches(x, y, 16, seed=0), epochs=40)
    assert (net.predict(x) == y).all()
    assert h["loss"][-1] < h["loss"][0]


def test_separable_blobs_to_100_percent_with_validation():
    x, y = _blobs()
    net = MLP([2, 32, 3], rng=0)
    h = Trainer(net, SGD(0.05, momentum=0.9)).fit(Batches(x, y, 32, seed=1), epochs=10, val=_blobs(seed=1))
    # Unit-variance blobs 6 apart (~4.2 std along the line between centres) are
    # separable at this seed with a wide margin, so anything short of 100 % is a failure.
    assert (net.predict(x) == y).mean() == 1.0
    assert h["val_acc"][-1] > 0.99


def test_training_is_reproducible_for_a_fixed_seed():
    def run():
        x, y = _blobs()
        net = MLP([2, 16, 16, 3], dropout=0.2, rng=7)
        h = Trainer(net, Adam(0.01)).fit(Batches(x, y, 32, seed=3), epochs=3, val=(x, y))
        return h, net
    (h1, n1), (h2, n2) = run(), run()
    assert h1["loss"] == h2["loss"] and h1["val_acc"] == h2["val_acc"]
    for p, q in zip(n1.parameters(), n2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    x, y = _blobs()
    other = Trainer(MLP([2, 16, 16, 3], dropout=0.2, rng=8), Adam(0.01)).fit(Batches(x, y, 32, seed=3), epochs=3)
    assert other["loss"] != h1["loss"]


def test_callable_train_gets_each_epoch_and_history_fields():
    x, y = _blobs(64)
    seen = []

    def epoch_batches(epoch):
        seen.append(epoch)
        return [(x[:32] + epoch, y[:32]), (x[32:], y[32:])]

    h = Trainer(MLP([2, 4, 3], rng=0), SGD(0.01)).fit(epoch_batches, epochs=3,
                                                      val=[(x[:10], y[:10]), (x[10:20], y[10:20])])
    assert seen == [0, 1, 2]
    rec = h.records[-1]
    for key in ("epoch", "loss", "train_acc", "val_loss", "val_acc", "time", "data_time", "val_time", "lr"):
        assert key in rec, key
    assert rec["epoch"] == 3 and rec["samples"] == 64 and rec["batches"] == 2
    assert 0 <= rec["data_time"] <= rec["time"]


def test_data_time_measures_waiting_for_batches():
    import time
    x, y = _blobs(40)

    def slow(epoch):
        for i in range(0, 40, 10):
            time.sleep(0.02)
            yield x[i:i + 10], y[i:i + 10]

    rec = Trainer(MLP([2, 4, 3], rng=0), SGD(0.01)).fit(slow, epochs=1).records[0]
    assert rec["data_time"] >= 0.08 and rec["data_time"] <= rec["time"]


def test_generator_used_twice_is_an_error():
    x, y = _blobs(20)
    gen = ((x[i:i + 10], y[i:i + 10]) for i in (0, 10))
    with pytest.raises(ValueError, match="train yielded no batches in epoch 2"):
        Trainer(MLP([2, 4, 3], rng=0), SGD(0.01)).fit(gen, epochs=2)


def test_early_stopping_restores_best_weights():
    x, y = _blobs(200)
    xv, yv = _blobs(200, seed=5)
    net = MLP([2, 64, 3], rng=0)
    # A learning rate this high makes validation loss bounce; patience 1 stops at the first rise.
    h = Trainer(net, SGD(2.0, momentum=0.9)).fit(Batches(x, y, 20, seed=0), epochs=30,
                                                 val=(xv, yv), patience=1)
    assert h.stopped_early and len(h) < 30
    best = int(np.argmin(h["val_loss"]))
    assert h.best_epoch == best + 1
    res = Trainer(net, SGD(0.1)).evaluate((xv, yv))
    assert res["loss"] == pytest.approx(h["val_loss"][best], rel=1e-5)


def test_a_stop_asked_by_on_epoch_end_still_counts_its_epoch_for_the_best_weights():
    x, y = _blobs(200)
    xv, yv = _blobs(200, seed=5)
    net = MLP([2, 16, 3], rng=0)
    h = Trainer(net, SGD(0.05)).fit(Batches(x, y, 20, seed=0), epochs=10, val=(xv, yv), patience=5,
                                    on_epoch_end=lambda record, trainer: record["epoch"] == 3)
    assert h.stopped_early and len(h) == 3
    assert h["val_loss"][2] < min(h["val_loss"][:2]) and h.best_epoch == 3   # still improving at the stop
    assert Trainer(net, SGD(0.1)).evaluate((xv, yv))["loss"] == pytest.approx(h["val_loss"][2], rel=1e-6)


def test_the_recorded_lr_is_the_one_the_epochs_last_update_used():
    from nn.schedules import step_decay
    x, y = _blobs(40)
    used = []
    opt = SGD(step_decay(0.1, step_size=2, gamma=0.5))
    step = opt.step
    opt.step = lambda params: (used.append(opt.current_lr()), step(params))[1]
    h = Trainer(MLP([2, 4, 3], rng=0), opt).fit(Batches(x, y, 20, seed=0), epochs=3)
    assert used == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    assert h["lr"] == [0.1, 0.05, 0.025]


def test_a_non_finite_loss_stops_before_the_update():
    x, y = _blobs(60)
    net = MLP([2, 8, 3], rng=0)
    trainer = Trainer(net, SGD(0.1))
    trainer.fit(Batches(x, y, 20, seed=0), epochs=1)
    before = net.state()
    bad = x.copy()
    bad[25] = np.nan
    with pytest.raises(FloatingPointError, match=r"batch 2 \(its inputs hold NaN or infinity\); the weights are "
                                                 r"those from before that batch"):
        trainer.fit(Batches(bad, y, 20, shuffle=False), epochs=1)
    after = net.state()
    assert all(np.isfinite(v).all() for v in after.values())
    with pytest.raises(FloatingPointError, match="Trainer.train_step: loss became nan; the update was skipped"):
        trainer.train_step(bad[20:40], y[20:40])
    assert all(np.array_equal(net.state()[k], after[k]) for k in after)
    assert not all(np.array_equal(before[k], after[k]) for k in before)   # batch 1 did update


def test_predict_takes_the_images_the_trainer_takes():
    x = np.random.default_rng(0).random((20, 4, 4)).astype(np.float32)
    y = np.arange(20) % 2
    net = MLP([16, 8, 2], rng=0)
    Trainer(net, SGD(0.1)).fit(Batches(x, y, 10, seed=0), epochs=1)
    assert np.array_equal(net.predict(x), net.predict(x.reshape(20, -1)))


def test_no_batches_from_a_callable_says_why():
    x, y = _blobs(10)
    with pytest.raises(ValueError, match=r"with drop_last=True, a batch size larger than the data gives no batch"):
        Trainer(MLP([2, 4, 3], rng=0), SGD(0.1)).fit(Batches(x, y, 64, drop_last=True), epochs=1)


def test_schedules_check_their_arguments():
    from nn.schedules import exponential_decay, warmup
    with pytest.raises(ValueError, match=r"exponential_decay: gamma must lie in \(0.0, 1.0\], got 1.5"):
        exponential_decay(1.0, 1.5)
    with pytest.raises(ValueError, match=r"warmup: schedule must be a real number, got 'x'"):
        warmup("x", 3)


def test_progress_display():
    x, y = _blobs(64)
    out = io.StringIO()
    Trainer(MLP([2, 4, 3], rng=0), SGD(0.01), progress=True, stream=out).fit(Batches(x, y, 32), epochs=2, val=(x, y))
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  loss") and "val_acc" in lines[1]


def test_uint8_image_batches_are_cast_and_flattened():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 4, 4, 3), dtype=np.uint8)
    y = rng.integers(0, 2, 16)
    h = Trainer(MLP([48, 8, 2], rng=0), SGD(1e-4)).fit([(x, y)], epochs=1, val=(x, y))
    assert np.isfinite(h["loss"][0])


def test_save_and_load_roundtrip(tmp_path):
    net = MLP([3, 5, 2], activation="leaky_relu", activation_kwargs={"alpha": 0.2}, rng=0)
    path = tmp_path / "w.npz"
    net.save(path)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    other = MLP([3, 5, 2], activation="leaky_relu", activation_kwargs={"alpha": 0.2}, rng=1).load(path)
    np.testing.assert_array_equal(other.forward(x), net.forward(x))
    rebuilt = MLP.from_file(path)
    assert rebuilt.layers[1].alpha == 0.2
    np.testing.assert_array_equal(rebuilt.forward(x), net.forward(x))
    with pytest.raises(ValueError, match=r"load: 0.W must have shape \(3, 6\), got \(3, 5\)"):
        MLP([3, 6, 2]).load(path)


@pytest.mark.parametrize("make", [lambda seed: MLP([30, 8, 2], rng=seed),
                                  lambda seed: Sequential(MLP([30, 8, 2], rng=seed).layers)])
def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch, make):
    import numpy.lib.format as npy_format
    path = tmp_path / "w.npz"
    make(0).save(path)
    before = path.read_bytes()
    write_array, calls = npy_format.write_array, []

    def interrupted(*args, **kwargs):  # Ctrl-C (or a full disk) while the third array is written
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return write_array(*args, **kwargs)

    monkeypatch.setattr(npy_format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make(1).save(path)
    monkeypatch.undo()
    assert len(calls) == 3, "the interruption should have happened inside save"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"], "no temporary file may be left"
    make(1).load(path)


def test_a_long_legal_name_is_saved(tmp_path):
    # The temporary name beside the target stays short, so any name the file system takes works.
    for stem in ("w" * 240, "\U0001F600" * 61):   # 244 bytes, 248 bytes with the suffix
        MLP([3, 4, 2], rng=0).save(tmp_path / f"{stem}.npz")
        MLP([3, 4, 2], rng=1).load(tmp_path / f"{stem}.npz")
    assert len(list(tmp_path.iterdir())) == 2


def test_interrupted_plot_keeps_the_previous_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nn import plots
    import matplotlib.figure
    path = tmp_path / "h.png"
    study = {"runs": [{"init": "xavier", "activation": "tanh",
                       "layers": [{"hist": np.ones(4), "edges": np.arange(5.0), "mean": 0.0, "std": 1.0}]}],
             "depth": 1, "width": 4, "n": 8, "seed": 0}
    plots.plot_init_study(study, path)
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")
    savefig = matplotlib.figure.Figure.savefig

    def interrupted(self, fname, **kwargs):   # a full disk halfway through the PNG
        savefig(self, fname, **kwargs)
        if hasattr(fname, "truncate"):
            fname.truncate(100)
        else:
            with open(fname, "r+b") as fh:
                fh.truncate(100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted)
    with pytest.raises(OSError, match="No space left"):
        plots.plot_init_study(study, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["h.png"], "no temporary file may be left"
    plots.plot_init_study(study, tmp_path / "noext")   # no suffix: PNG, under the name given
    assert (tmp_path / "noext").read_bytes().startswith(b"\x89PNG")


def test_save_names_files_like_numpy_savez(tmp_path):
    net = MLP([3, 4, 2], rng=0)
    net.save(tmp_path / "a")          # np.savez appends .npz to a name without it ...
    net.save(str(tmp_path / "b.NPZ"))  # ... compared case-sensitively
    net.save(tmp_path / "c.npz")
    buf = io.BytesIO()
    net.save(buf)                      # and writes into an open file as it is
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.NPZ.npz", "c.npz"]
    buf.seek(0)
    np.testing.assert_array_equal(MLP([3, 4, 2], rng=1).load(buf).layers[0].W.data, net.layers[0].W.data)


def test_batches_accept_a_seed_that_is_none_or_a_numpy_integer():
    x, y = np.arange(10.0)[:, None], np.arange(10)
    assert Batches(x, y, 4, seed=None).seed is None
    first = [yb.tolist() for _, yb in Batches(x, y, 4, seed=np.int64(3))(0)]
    assert first == [yb.tolist() for _, yb in Batches(x, y, 4, seed=3)(0)]
    big = [yb.tolist() for _, yb in Batches(x, y, 4, seed=2 ** 64)(0)]   # beyond int64, as SeedSequence takes
    assert sorted(sum(big, [])) == list(range(10))


def test_val_labels_may_be_a_list():
    x, y = _blobs(60)
    t = Trainer(MLP([2, 8, 3], rng=0), SGD(0.1))
    h = t.fit(Batches(x, y, 16), epochs=1, val=(x, y.tolist()))
    assert h.records[0]["val_acc"] == t.evaluate((x, y))["acc"] == t.evaluate([x, list(y)])["acc"]


def test_the_same_layer_instance_twice_is_refused():
    from nn.activations import Tanh
    from nn.layers import Linear
    act = Tanh()
    with pytest.raises(ValueError, match=r"Sequential: layers\[1\] and layers\[3\] are the same Tanh instance"):
        Sequential([Linear(3, 4, rng=0), act, Linear(4, 4, rng=1), act, Linear(4, 2, rng=2)])
    lin = Linear(4, 4, rng=0)
    with pytest.raises(ValueError, match=r"layers\[0\] and layers\[2\] are the same Linear instance"):
        Sequential([lin, Tanh(), lin])


def test_predict_restores_mode_and_batches():
    net = MLP([3, 8, 4], dropout=0.5, rng=0)
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    p = net.predict(x, batch_size=3)
    assert p.shape == (10,) and net.training
    np.testing.assert_array_equal(p, net.predict(x))  # inference mode: no dropout noise


@pytest.mark.parametrize("call, match", [
    (lambda: MLP([3]), "MLP: sizes must be a sequence of at least two layer widths, got \\[3\\]"),
    (lambda: MLP([3, 0, 2]), r"sizes\[1\] must lie in \[1, inf\), got 0"),
    (lambda: MLP([3, 2], activation="gelu"), "MLP: activation must be one of 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'elu', got 'gelu'"),
    (lambda: MLP([3, 2], init="ones"), "MLP: init must be one of .*got 'ones'"),
    (lambda: MLP([3, 2], dropout=1), r"dropout must lie in \[0.0, 1.0\), got 1"),
    (lambda: Sequential([object()]), r"layers\[0\] must be an nn Layer, got object"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).fit([], epochs=0), r"epochs must lie in \[1, inf\), got 0"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).fit([], epochs=1, patience=2), "monitor='val_loss' needs val data"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).fit([], epochs=1, monitor="acc"), "monitor must be one of"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).fit(5, epochs=1), "train must be an iterable"),
    (lambda: Trainer(MLP([2, 2]), "sgd"), r"optimizer must have .step\(params\), got str"),
    (lambda: Batches(np.zeros((3, 2)), np.zeros(2)), "x and y must have the same length, got 3 and 2"),
    (lambda: Batches(np.zeros((3, 2)), np.zeros(3), seed=-1), r"Batches: seed must lie in \[0, inf\), got -1"),
    (lambda: Batches(np.zeros((3, 2)), np.zeros(3), seed=1.5), "Batches: seed must be an integer, got 1.5"),
    (lambda: Batches(np.zeros((3, 2)), np.zeros(3), seed="abc"), "Batches: seed must be an integer, got 'abc'"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).evaluate((np.zeros((3, 2)), np.zeros(3, int)), batch_size=0),
     r"Trainer.evaluate: batch_size must lie in \[1, inf\), got 0"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).fit([], epochs=1, val_batch_size=0),
     r"Trainer.fit: val_batch_size must lie in \[1, inf\), got 0"),
    (lambda: MLP([2, 2]).predict(np.zeros((3, 2)), batch_size=0), r"MLP.predict: batch_size must lie in \[1, inf\), got 0"),
    (lambda: Trainer(MLP([2, 2]), SGD(0.1)).evaluate((np.zeros((3, 2)), [0, 1])),
     "val x and y must have the same length, got 3 and 2"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_on_epoch_end_sees_each_record_can_add_fields_and_stop():
    import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    seen = []

    def callback(record, trainer):
        record["extra"] = record["epoch"] * 10
        seen.append(record["epoch"])
        return record["epoch"] == 3  # records count epochs from 1

    model = nn.MLP([4, 8, 2], rng=0)
    history = nn.Trainer(model, nn.SGD(0.1)).fit(nn.Batches(x, y, batch_size=16, seed=0), epochs=10,
                                                  on_epoch_end=callback)
    assert len(history.records) == len(seen) == 3
    assert seen == [r["epoch"] for r in history.records]
    assert history.records[-1]["extra"] == history.records[-1]["epoch"] * 10
    assert history.stopped_early
    with pytest.raises(ValueError, match="on_epoch_end must be a callable"):
        nn.Trainer(model, nn.SGD(0.1)).fit([(x, y)], epochs=1, on_epoch_end=3)


def test_non_finite_loss_stops_training_and_says_why():
    """A loss of NaN or infinity stops fit at that batch, blaming the inputs when they hold NaN
    and the learning rate otherwise."""
    x, y = _xor(4)
    bad = x.copy()
    bad[5, 1] = np.nan
    with pytest.raises(FloatingPointError, match=r"loss became nan at epoch 1, batch 2 \(its inputs hold NaN"):
        Trainer(MLP([2, 4, 2], rng=0), Adam()).fit(Batches(bad, y, batch_size=4, shuffle=False), 1)
    with pytest.raises(FloatingPointError, match=r"learning rate too high\?"), np.errstate(all="ignore"):
        Trainer(MLP([2, 64, 64, 2], init="large_gaussian", rng=0), SGD(lr=1e30)).fit(
            Batches(x * 1e3, y, batch_size=4, shuffle=False), 3)
