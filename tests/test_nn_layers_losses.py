import warnings

import numpy as np
import pytest

from nn.gradcheck import check_layer, check_loss, numerical_gradient, relative_error
from nn.layers import Dropout, Linear
from nn.losses import softmax, softmax_cross_entropy


def test_linear_gradcheck_float64():
    lin = Linear(5, 4, init="xavier", rng=0, dtype=np.float64)
    lin.b.data[:] = np.random.default_rng(1).standard_normal(4)  # exercise a non-zero bias
    errs = check_layer(lin, np.random.default_rng(2).standard_normal((3, 5)))
    assert set(errs) == {"x", "W", "b"}
    assert max(errs.values()) < 1e-7, errs


def test_gradcheck_detects_a_wrong_backward():
    class Broken(Linear):
        def backward(self, dout, input_grad=True):
            dx = super().backward(dout, input_grad)
            self.W.grad *= 1.01
            return dx
    errs = check_layer(Broken(3, 2, rng=0, dtype=np.float64), np.ones((2, 3)))
    assert errs["W"] > 1e-3 and errs["x"] < 1e-7


def test_linear_forward_values_and_zero_bias():
    lin = Linear(2, 3, rng=0, dtype=np.float64)
    np.testing.assert_array_equal(lin.b.data, 0)
    x = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(lin.forward(x), x @ lin.W.data)
    assert lin.forward(x.astype(np.float32)).dtype == np.float64
    assert Linear(2, 3, rng=0).forward(np.ones((1, 2))).dtype == np.float32


def test_linear_uses_named_init():
    w = Linear(400, 600, init="small_gaussian", rng=0).W.data
    assert abs(w.std() - 0.01) < 2e-4
    w = Linear(400, 600, rng=0).W.data  # default He
    assert abs(w.std() - np.sqrt(2 / 400)) < 1e-3


def test_linear_copies_the_array_a_custom_init_returns():
    w0 = np.full((3, 2), 0.5, np.float32)   # e.g. reference weights the caller keeps
    a = Linear(3, 2, init=lambda i, o, rng: w0)
    b = Linear(3, 2, init=lambda i, o, rng: w0)
    assert not np.shares_memory(a.W.data, w0) and not np.shares_memory(a.W.data, b.W.data)
    a.forward(np.ones((4, 3), np.float32))
    a.backward(np.ones((4, 2), np.float32))
    a.W.data -= 0.1 * a.W.grad
    np.testing.assert_array_equal(w0, 0.5)
    np.testing.assert_array_equal(b.W.data, 0.5)


def test_linear_skips_input_grad_on_request():
    lin = Linear(3, 2, rng=0)
    lin.forward(np.ones((4, 3), np.float32))
    assert lin.backward(np.ones((4, 2), np.float32), input_grad=False) is None
    np.testing.assert_allclose(lin.b.grad, [4.0, 4.0])


@pytest.mark.parametrize("call, match", [
    (lambda: Linear(0, 3), r"Linear: d_in must lie in \[1, inf\), got 0"),
    (lambda: Linear(3, 3, init="zeros"), "Linear: init must be one of 'small_gaussian'.*got 'zeros'"),
    (lambda: Linear(3, 3, dtype=np.float16), "dtype must be float32 or float64"),
    (lambda: Linear(3, 2).forward(np.ones((2, 4))), r"x must have shape \(N, 3\), got \(2, 4\)"),
    (lambda: Dropout(1.0), r"Dropout: p must lie in \[0.0, 1.0\), got 1.0"),
])
def test_layer_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dropout_gradcheck_with_fixed_mask():
    errs = check_layer(Dropout(0.4, rng=3), np.random.default_rng(0).standard_normal((6, 7)))
    assert errs["x"] < 1e-7


def test_dropout_train_vs_eval_and_scaling():
    d = Dropout(0.25, rng=0)
    x = np.ones((400, 500), np.float32)
    out = d.forward(x)
    assert out.dtype == np.float32
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.005  # 200k Bernoulli draws: se ~ 0.001
    assert abs(out.mean() - 1.0) < 0.01           # inverted dropout keeps the expectation
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), out)
    d.eval()
    assert d.forward(x) is x
    np.testing.assert_array_equal(d.backward(x), x)


def test_dropout_seeded_masks_repeat():
    x = np.ones((10, 10))
    np.testing.assert_array_equal(Dropout(0.5, rng=1).forward(x), Dropout(0.5, rng=1).forward(x))


def test_softmax_cross_entropy_gradcheck_float64():
    rng = np.random.default_rng(0)
    assert check_loss(softmax_cross_entropy, rng.standard_normal((5, 4)) * 3, rng.integers(0, 4, 5)) < 1e-7


def test_softmax_cross_entropy_values():
    loss, d = softmax_cross_entropy(np.zeros((2, 5)), np.array([0, 4]))
    assert loss == pytest.approx(np.log(5), rel=1e-15)
    np.testing.assert_allclose(d, (np.full((2, 5), 0.2) - np.eye(5)[[0, 4]]) / 2)
    scores = np.array([[1.0, 2.0, 3.0]])
    expected = np.log(np.exp(scores).sum()) - 1.0
    assert softmax_cross_entropy(scores, np.array([0]))[0] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_stable_for_large_scores(dtype):
    scores = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            loss, d = softmax_cross_entropy(scores, np.array([1, 2]))
            p = softmax(scores.copy())
    # Row 1: the true class is 2000 below the max -> loss 2000; row 2: a tie -> log 2.
    assert loss == pytest.approx((2000 + np.log(2)) / 2, rel=1e-6)
    assert d.dtype == dtype and np.all(np.isfinite(d))
    np.testing.assert_allclose(d, [[0.5, -0.5, 0.0], [0.0, 0.25, -0.25]], atol=1e-7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def test_softmax_accepts_int_and_list_scores():
    expected = softmax(np.array([[1.0, 2.0], [0.0, 0.0]]))
    np.testing.assert_allclose(softmax(np.array([[1, 2], [0, 0]])), expected, rtol=1e-15)
    np.testing.assert_allclose(softmax([[1.0, 2.0], [0.0, 0.0]]), expected, rtol=1e-15)
    with pytest.raises(ValueError, match="softmax: scores must be a float32 or float64 array, got dtype <U1"):
        softmax([["a", "b"]])
    with pytest.raises(ValueError, match=r"softmax: scores must have shape \(N, C\), got \(2,\)"):
        softmax([1.0, 2.0])


def test_softmax_keeps_its_input():
    s = np.array([[1.0, 2.0]])
    softmax(s)
    np.testing.assert_array_equal(s, [[1.0, 2.0]])


@pytest.mark.parametrize("scores, labels, match", [
    (np.zeros(3), np.array([0]), r"scores must have shape \(N, C\), got \(3,\)"),
    (np.zeros((2, 3)), np.array([0, 3]), r"labels must lie in \[0, 2\], got values in \[0, 3\]"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), "labels must be integers of shape"),
    (np.zeros((2, 3)), np.array([0]), r"labels must be integers of shape \(2,\)"),
])
def test_loss_bad_arguments(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        softmax_cross_entropy(scores, labels)


def test_numerical_gradient_and_relative_error_helpers():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.sum(np.sin(x))), x), np.cos(x), rtol=1e-9)
    assert relative_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(2), np.zeros(3))
