"""Numerical gradient checks by central differences.

Compare the analytic gradients of a layer, activation, loss or whole model
with ``(f(x + h) - f(x - h)) / 2h``, entry by entry, and report the largest
relative error ``|a - n| / max(|a| + |n|, 1e-8)`` (the CS231n measure). In
float64 a correct backward gives errors around 1e-9 or below; anything over
1e-6 points to a bug. Run checks in float64 and away from kinks (ReLU at 0).
"""
from __future__ import annotations

import copy

import numpy as np

from . import _checks
from .losses import softmax_cross_entropy

__all__ = ["numerical_gradient", "relative_error", "check_layer", "check_loss", "check_model"]


def relative_error(analytic, numeric) -> float:
    """Largest elementwise ``|a - n| / max(|a| + |n|, 1e-8)``.

    Examples
    --------
    >>> import numpy as np
    >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    """
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.shape != n.shape:
        raise ValueError(f"relative_error: shapes differ, got {a.shape} and {n.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` w.r.t. ``x``.

    ``x`` is perturbed in place (and restored), so ``f`` must read it.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda: float((x ** 2).sum()), x).round(6)
    array([2., 4.])
    """
    h = _checks.number("numerical_gradient", "h", h, low=0.0, low_open=True)
    grad = np.zeros(x.shape, np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def _as_float64(owner, x):
    x = np.array(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError(f"{owner}: x must not be empty")
    return x


def check_layer(layer, x, rng=0, h: float = 1e-6) -> dict:
    """Check ``layer.backward`` for its input and every parameter.

    The scalar checked is ``sum(forward(x) * g)`` for a fixed random ``g``.
    Layers that draw random numbers (Dropout) are re-run from a copy of their
    state before each evaluation, so every forward pass sees the same mask.

    Parameters
    ----------
    layer : Layer
        Use float64 parameters (``Linear(..., dtype=np.float64)``).
    x : ndarray
        Input batch; converted to float64.
    rng : seed or Generator
        For ``g``.

    Returns
    -------
    dict
        ``{"x": err, "<param name>": err, ...}`` — max relative errors.

    Examples
    --------
    >>> import numpy as np
    >>> from nn.activations import Tanh
    >>> check_layer(Tanh(), np.linspace(-2, 2, 6).reshape(2, 3))["x"] < 1e-7
    True
    """
    x = _as_float64("check_layer", x)
    snapshot = copy.deepcopy(layer)
    out = copy.deepcopy(snapshot).forward(x)
    g = _checks.generator("check_layer", rng).standard_normal(out.shape)

    def run(target):
        fresh = copy.deepcopy(snapshot)
        _sync_params(fresh, target)
        return float(np.sum(fresh.forward(x) * g))

    work = copy.deepcopy(snapshot)
    work.forward(x)
    errors = {"x": relative_error(work.backward(g.copy()), numerical_gradient(lambda: run(snapshot), x, h))}
    for i, (p, q) in enumerate(zip(work.parameters(), snapshot.parameters())):
        num = numerical_gradient(lambda: run(snapshot), q.data, h)
        errors[_unique(errors, p.name, i)] = relative_error(p.grad, num)
    return errors


def _sync_params(dst, src):
    for p, q in zip(dst.parameters(), src.parameters()):
        p.data[...] = q.data


def _unique(errors, name, i):
    return name if name not in errors else f"{name}{i}"


def check_loss(loss_fn, scores, labels, h: float = 1e-6) -> float:
    """Check ``dscores`` of ``loss_fn(scores, labels) -> (loss, dscores)``.

    Examples
    --------
    >>> import numpy as np
    >>> check_loss(softmax_cross_entropy, np.random.default_rng(0).standard_normal((4, 3)),
    ...            np.array([0, 2, 1, 1])) < 1e-7
    True
    """
    scores = _as_float64("check_loss", scores)
    _, d = loss_fn(scores.copy(), labels)
    return relative_error(d, numerical_gradient(lambda: float(loss_fn(scores, labels)[0]), scores, h))


def check_model(model, x, y, loss=softmax_cross_entropy, h: float = 1e-6) -> dict:
    """Check a whole model's parameter and input gradients through ``loss``.

    Returns ``{"x": err, "<layer index>.<param>": err, ...}``. Use a float64
    model (``MLP(..., dtype=np.float64)``).

    Examples
    --------
    >>> import numpy as np
    >>> from nn.model import MLP
    >>> net = MLP([3, 5, 2], activation="tanh", rng=0, dtype=np.float64)
    >>> x = np.random.default_rng(1).standard_normal((4, 3))
    >>> max(check_model(net, x, np.array([0, 1, 1, 0])).values()) < 1e-7
    True
    """
    x = _as_float64("check_model", x)
    snapshot = copy.deepcopy(model)

    def run(target):
        fresh = copy.deepcopy(snapshot)
        _sync_params(fresh, target)
        return float(loss(fresh.forward(x), y)[0])

    work = copy.deepcopy(snapshot)
    _, d = loss(work.forward(x), y)
    errors = {"x": relative_error(work.backward(d), numerical_gradient(lambda: run(snapshot), x, h))}
    for li, layer in enumerate(snapshot.layers):
        for p, q in zip(work.layers[li].parameters(), layer.parameters()):
            errors[f"{li}.{q.name}"] = relative_error(p.grad, numerical_gradient(lambda: run(snapshot), q.data, h))
    return errors
