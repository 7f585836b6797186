import warnings

import numpy as np
import pytest

from nn import activations as A
from nn.gradcheck import check_layer

ALL = [A.Sigmoid(), A.Tanh(), A.ReLU(), A.LeakyReLU(0.1), A.ELU(0.7)]
IDS = [repr(a) for a in ALL]


def _x_away_from_zero(seed=0, shape=(4, 6)):
    # Central differences straddling a kink are meaningless; keep |x| >= 0.1.
    x = np.random.default_rng(seed).uniform(0.1, 3.0, shape)
    return x * np.random.default_rng(seed + 1).choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_gradcheck_float64(act):
    assert check_layer(act, _x_away_from_zero())["x"] < 1e-7


@pytest.mark.parametrize("act", ALL, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_in_equals_dtype_out(act, dtype):
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    out = act.forward(x)
    assert out.dtype == dtype and out.shape == x.shape
    assert act.backward(np.ones_like(out)).dtype == dtype


@pytest.mark.parametrize("act", ALL, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_floating_point_warnings_at_plus_minus_1000(act, dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = act.forward(x)
            dx = act.backward(np.ones_like(out))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))


def test_sigmoid_values():
    s = A.Sigmoid()
    out = s.forward(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0]))
    expected = [0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1.0)), 1.0]
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=0)
    # sigmoid'(0) = 1/4 is its maximum; saturated ends give (almost) nothing back.
    np.testing.assert_allclose(s.backward(np.ones(5)), [0.0, *(out[1:4] * (1 - out[1:4])), 0.0])
    assert s.backward(np.ones(5))[2] == 0.25


def test_sigmoid_is_not_zero_centred():
    out = A.Sigmoid().forward(np.random.default_rng(0).standard_normal(10000))
    assert out.min() > 0 and abs(out.mean() - 0.5) < 0.01


def test_tanh_values():
    t = A.Tanh()
    out = t.forward(np.array([-1000.0, -0.5, 0.0, 0.5, 1000.0]))
    np.testing.assert_allclose(out, [-1.0, np.tanh(-0.5), 0.0, np.tanh(0.5), 1.0], rtol=1e-15)
    np.testing.assert_array_equal(t.backward(np.ones(5))[[0, 2, 4]], [0.0, 1.0, 0.0])


def test_relu_values_and_gradient_at_zero_is_zero():
    r = A.ReLU()
    np.testing.assert_array_equal(r.forward(np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])),
                                  [0.0, 0.0, 0.0, 2.0, 1000.0])
    np.testing.assert_array_equal(r.backward(np.full(5, 3.0)), [0.0, 0.0, 0.0, 3.0, 3.0])


def test_leaky_relu_values_and_gradient_at_zero_is_alpha():
    lr = A.LeakyReLU(alpha=0.2)
    np.testing.assert_allclose(lr.forward(np.array([-1000.0, -1.0, 0.0, 2.0])), [-200.0, -0.2, 0.0, 2.0])
    np.testing.assert_allclose(lr.backward(np.ones(4)), [0.2, 0.2, 0.2, 1.0])
    assert A.LeakyReLU().alpha == 0.01


def test_elu_values_and_gradient_at_zero_is_alpha():
    e = A.ELU(alpha=0.5)
    out = e.forward(np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0]))
    np.testing.assert_allclose(out, [-0.5, 0.5 * (np.exp(-1.0) - 1), 0.0, 2.0, 1000.0], rtol=1e-15)
    np.testing.assert_allclose(e.backward(np.ones(5)), [0.0, 0.5 * np.exp(-1.0), 0.5, 1.0, 1.0],
                               rtol=1e-15)
    assert A.ELU().alpha == 1.0


def test_backward_does_not_modify_dout():
    for act in ALL:
        out = act.forward(np.linspace(-2, 2, 8))
        dout = np.ones_like(out)
        act.backward(dout)
        np.testing.assert_array_equal(dout, 1.0)


def test_get_by_name():
    for name, cls in [("sigmoid", A.Sigmoid), ("tanh", A.Tanh), ("relu", A.ReLU),
                      ("leaky_relu", A.LeakyReLU), ("elu", A.ELU)]:
        assert type(A.get(name)) is cls
    assert A.get("leaky_relu", alpha=0.3).alpha == 0.3
    assert A.get("elu", alpha=2.0).alpha == 2.0


def test_unknown_name_lists_allowed_names():
    with pytest.raises(ValueError) as err:
        A.get("swish")
    msg = str(err.value)
    assert "name" in msg and "'swish'" in msg
    for allowed in A.NAMES:
        assert repr(allowed) in msg


@pytest.mark.parametrize("bad, match", [
    (lambda: A.LeakyReLU(alpha=-0.1), r"alpha must lie in \[0.0, 1.0\), got -0.1"),
    (lambda: A.LeakyReLU(alpha="big"), "alpha must be a real number, got 'big'"),
    (lambda: A.ELU(alpha=0), r"alpha must lie in \(0.0, inf\), got 0"),
    (lambda: A.get("relu", alpha=0.1), "bad keyword arguments"),
    (lambda: A.Tanh().forward(np.array(["a"])), "x must be a float32 or float64 array, got dtype <U1"),
])
def test_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_matches_pytorch_float64():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.concatenate([np.linspace(-30, 30, 121), [0.0, -1000.0, 1000.0]])
    g = np.random.default_rng(0).standard_normal(x.shape)
    pairs = [(A.Sigmoid(), torch.sigmoid), (A.Tanh(), torch.tanh), (A.ReLU(), torch.relu),
             (A.LeakyReLU(0.05), lambda t: F.leaky_relu(t, 0.05)), (A.ELU(0.8), lambda t: F.elu(t, 0.8))]
    for ours, theirs in pairs:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        yt = theirs(xt)
        yt.backward(torch.tensor(g))
        out = ours.forward(x.copy())
        np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-13, atol=1e-300, err_msg=repr(ours))
        # 1 - tanh^2 near saturation is a cancellation: both libraries agree to
        # rounding of values ~1, i.e. ~1e-16 absolute, not relative.
        np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-12, atol=1e-15,
                                   err_msg=repr(ours))
