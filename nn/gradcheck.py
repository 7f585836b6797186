"""Numerical gradient checks by central differences.

Compare the analytic gradients of a layer, activation, loss or whole model
with central differences (see `numerical_gradient`), entry by entry, and report the largest
relative error ``|a - n| / max(|a| + |n|, floor)`` (the CS231n measure, with
``floor = 1e-6`` rather than 1e-8: see `relative_error`). In
float64 a correct backward gives errors around 1e-9 or below; anything over
1e-6 points to a bug. Run checks in float64 and away from kinks (ReLU at 0):
the default stencil probes up to 2h = 2e-3 either side of each value.
"""
from __future__ import annotations

import copy

import numpy as np

from . import _checks
from .losses import softmax_cross_entropy

__all__ = ["numerical_gradient", "relative_error", "check_layer", "check_loss", "check_model"]


def relative_error(analytic, numeric, floor: float = 1e-6) -> float:
    """Largest elementwise ``|a - n| / max(|a| + |n|, floor)``.

    Entries smaller than ``floor`` are compared on an absolute scale: a
    numerical derivative carries round-off of about ``eps * |f| / h`` (~1e-13
    here), so for an exactly-zero analytic gradient (a dead ReLU unit) a
    relative error is noise, not information. With ``floor = 1e-6`` an error
    below 1e-7 still means such entries agree to 1e-13.

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
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-3, order: int = 4) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` w.r.t. ``x``.

    ``x`` is perturbed in place (and restored), so ``f`` must read it.
    ``order=2`` is the textbook ``(f(x+h) - f(x-h)) / 2h`` (error O(h^2), best
    with h ~ 1e-5); ``order=4`` (default) uses the five-point stencil
    ``(f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h`` (error O(h^4)), which
    allows a larger h and so loses far less to rounding: relative errors of
    1e-10 instead of 1e-7 on gradients of a few units' loss.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda: float((x ** 2).sum()), x).round(9)
    array([2., 4.])
    """
    h = _checks.number("numerical_gradient", "h", h, low=0.0, low_open=True)
    _checks.choice("numerical_gradient", "order", order, (2, 4))
    grad = np.zeros(x.shape, np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])

    def at(i, old, delta):
        x[i] = old + delta
        return f()

    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        if order == 2:
            grad[i] = (at(i, old, h) - at(i, old, -h)) / (2 * h)
        else:
            # Differences first: equal values then give exactly 0 (f - 8f + 8f - f need not).
            d1 = at(i, old, h) - at(i, old, -h)
            d2 = at(i, old, 2 * h) - at(i, old, -2 * h)
            grad[i] = (8 * d1 - d2) / (12 * h)
        x[i] = old
    return grad


def _as_float64(owner, x):
    x = np.array(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError(f"{owner}: x must not be empty")
    return x


def check_layer(layer, x, rng=0, h: float = 1e-3) -> dict:
    """Check ``layer.backward`` for its input and every parameter.

    The scalar checked is ``sum(forward(x) * g)`` for a fixed random ``g``
    with ``0.5 <= |g| <= 1.5``.
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
    gen = _checks.generator("check_layer", rng)
    # |g| in [0.5, 1.5]: no entry's gradient is accidentally tiny, where round-off
    # (~eps * |f| / h) would swamp a relative comparison.
    g = gen.uniform(0.5, 1.5, out.shape) * gen.choice([-1.0, 1.0], out.shape)

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


def check_loss(loss_fn, scores, labels, h: float = 1e-3) -> float:
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


def check_model(model, x, y, loss=softmax_cross_entropy, h: float = 1e-3) -> dict:
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
