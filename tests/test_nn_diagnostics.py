import numpy as np
import pytest

from nn import diagnostics, experiments
from nn.model import MLP


@pytest.fixture(scope="module")
def study():
    # The lecture's setting (depth 10, width 500, n 1000), the four inits it shows.
    return experiments.init_study(activations=("tanh", "relu"))


def _std(study, init, act):
    run = next(r for r in study["runs"] if r["init"] == init and r["activation"] == act)
    return np.array([l["std"] for l in run["layers"]]), run["layers"]


def test_small_gaussian_tanh_collapses_like_the_lecture(study):
    std, _ = _std(study, "small_gaussian", "tanh")
    # Lecture: 0.21, 0.048, 0.011, 0.0024, 0.00053, ... ~0. Near 0 tanh is linear, so each
    # layer multiplies the std by 0.01 * sqrt(500) = 0.224; 5 % covers sampling at n=1000.
    np.testing.assert_allclose(std[:5], [0.21, 0.048, 0.011, 0.0024, 0.00053], rtol=0.05)
    assert np.all(std[1:] / std[:-1] < 0.25)
    assert std[-1] < 1e-5  # 0.21 * 0.224**9 ~ 3e-7: "collapsed to zero"


def test_large_gaussian_tanh_saturates(study):
    std, layers = _std(study, "large_gaussian", "tanh")
    # Pre-activations have std ~0.5 * sqrt(500) * 0.96 ~ 11, so P(|z| > atanh(0.99) = 2.65)
    # ~ 0.81: at least 70 % saturated in every layer, and the values sit at +-1 (std > 0.9).
    assert all(l["frac_saturated"] > 0.7 for l in layers)
    assert np.all(std > 0.9)


def test_xavier_tanh_stays_alive(study):
    std, layers = _std(study, "xavier", "tanh")
    # Lecture: a smooth decline (0.63 ... ~0.2 at layer 10), neither collapsed nor saturated.
    assert np.all((std > 0.15) & (std < 0.7))
    assert all(l["frac_saturated"] < 0.05 for l in layers)


def test_he_relu_is_stable_and_xavier_relu_decays(study):
    he, layers = _std(study, "he", "relu")
    # Lecture: ~0.82-0.85 at every layer. Theory for ReLU of N(0, 2): std = sqrt(1 - 1/pi) = 0.826;
    # finite width (500) lets it wander a few percent per layer, so allow [0.7, 1.0].
    assert np.all((he > 0.7) & (he < 1.0))
    # Even with He init, deep random ReLU layers lose units (zero on all 1000 samples):
    # measured 0 % at layer 1 rising to ~10 % at layer 10 at seed 0.
    assert layers[0]["frac_dead"] == 0 and all(l["frac_dead"] < 0.15 for l in layers)
    xav, _ = _std(study, "xavier", "relu")
    # Without the factor 2, ReLU halves the variance each layer: 2**-4.5 = 0.044 over 9 layers.
    assert xav[-1] < 0.1 * xav[0]


def test_init_study_structure_and_table(study):
    assert {"depth", "width", "n", "seed", "runs"} <= set(study)
    assert len(study["runs"]) == 8 and all(len(r["layers"]) == 10 for r in study["runs"])
    md = experiments.format_std_table(study)
    lines = md.splitlines()
    assert lines[0].startswith("| init | activation | L1 |") and len(lines) == 10
    assert "| small_gaussian | tanh | 0.21 | 0.047 |" in md
    text = experiments.format_std_table(study, stat="frac_saturated", fmt="text")
    assert text.splitlines()[1].split()[:3] == ["small_gaussian", "tanh", "0"]
    assert " - " in text  # saturation is undefined for relu


def test_init_study_is_deterministic_for_a_seed():
    a = experiments.init_study(depth=3, width=40, n=50, seed=1)
    assert a == experiments.init_study(depth=3, width=40, n=50, seed=1)
    assert a != experiments.init_study(depth=3, width=40, n=50, seed=2)


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    from nn.plots import plot_activation_histograms
    s = experiments.init_study(depth=3, width=30, n=40)
    path = experiments.plot_init_study(s, tmp_path / "grid.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    net = MLP([10, 20, 20, 3], activation="tanh", init="xavier", rng=0)
    stats = diagnostics.activation_stats(net, np.random.default_rng(0).standard_normal((30, 10)))
    path = plot_activation_histograms(stats, tmp_path / "h.png", title="tanh")
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_array_stats_values():
    h = np.array([[0.0, 0.995, -0.5], [0.0, -1.0, 0.2]])
    s = diagnostics.array_stats(h, "tanh", bins=4)
    assert s["frac_saturated"] == pytest.approx(2 / 6)
    assert s["frac_zero"] == pytest.approx(2 / 6) and s["frac_dead"] == pytest.approx(1 / 3)
    assert s["mean"] == pytest.approx(h.mean()) and s["std"] == pytest.approx(h.std())
    assert sum(s["hist"]) == 6 and s["edges"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    sig = diagnostics.array_stats(np.array([[0.005, 0.5, 0.995]]), "sigmoid")
    assert sig["frac_saturated"] == pytest.approx(2 / 3)
    assert diagnostics.array_stats(h, "relu")["frac_saturated"] is None


def test_activation_stats_detects_dead_relu_units():
    net = MLP([5, 8, 2], rng=0)
    net.layers[0].b.data[:3] = -100.0  # these three units can never fire on this input
    stats = diagnostics.activation_stats(net, np.random.default_rng(0).standard_normal((64, 5)))
    relu = stats[1]
    assert relu["kind"] == "relu" and relu["frac_dead"] == pytest.approx(3 / 8)


def test_gradient_norms_vanish_through_saturated_layers():
    x = np.random.default_rng(0).standard_normal((64, 50)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 64)

    def first_layer_ratio(init):
        net = MLP([50] + [50] * 6 + [3], activation="tanh", init=init, rng=0)
        g = diagnostics.gradient_norms(net, x, y)
        return g[0]["grad_out_norm"] / g[-1]["grad_out_norm"]

    # Going back through each layer multiplies the gradient by W^T (and tanh' <= 1):
    # with 0.01*randn that is a factor ~0.01*sqrt(50) = 0.07 per layer, ~1e-7 over six;
    # with Xavier the factor is ~1, so the signal reaching layer 1 stays within ~20x.
    assert first_layer_ratio("small_gaussian") < 1e-4
    assert first_layer_ratio("xavier") > 0.05


def test_gradient_norms_runs_in_training_mode_and_restores_the_mode():
    net = MLP([4, 32, 3], dropout=0.5, rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((8, 4))
    y = np.arange(8) % 3
    net.eval()
    a = diagnostics.gradient_norms(net, x, y)
    assert not net.training and not net.layers[2].training
    assert net.layers[2].mask is not None, "dropout should have been applied (training mode)"
    b = diagnostics.gradient_norms(net, x, y)
    assert a != b  # fresh dropout masks
    net.train()
    diagnostics.gradient_norms(net, x, y)
    assert net.training


def test_gradient_norms_restores_the_mode_when_it_fails():
    net = MLP([4, 8, 3], rng=0).eval()
    with pytest.raises(ValueError):
        diagnostics.gradient_norms(net, np.ones((2, 4)), np.array([0, 7]))
    assert not net.training


@pytest.mark.parametrize("call, match", [
    (lambda: experiments.init_study(inits=["zeros"]), "init_study: inits must be one of .*got 'zeros'"),
    (lambda: experiments.init_study(activations=["swish"]), "activations must be one of 'sigmoid'.*got 'swish'"),
    (lambda: experiments.init_study(depth=0), r"depth must lie in \[1, inf\), got 0"),
    (lambda: experiments.format_std_table({"runs": [], "depth": 1}, fmt="html"), "fmt must be one of"),
    (lambda: diagnostics.array_stats(np.zeros(3)), r"h must have shape \(N, D\), got \(3,\)"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_array_stats_survives_overflowed_activations():
    from nn.diagnostics import array_stats

    h = np.array([[1.0, np.inf], [np.nan, 2.0], [0.0, 3.0]])
    s = array_stats(h, "relu", bins=3)
    assert s["frac_nonfinite"] == pytest.approx(2 / 6)
    assert sum(s["hist"]) == 4


def test_stats_of_activations_that_vanished_below_float32s_normal_range():
    # 60 layers of 0.01 * randn: activations ~1e-40, subnormal in float32; np.histogram cannot
    # split their range into 50 bins of nonzero width in that dtype.
    from nn.diagnostics import array_stats
    h = (np.arange(12, dtype=np.float32).reshape(4, 3) + 1) * np.float32(1e-41)
    s = array_stats(h, "relu")
    assert sum(s["hist"]) == 12 and s["std"] < 1e-39
