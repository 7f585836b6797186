"""Per-layer statistics that make the lecture's lessons measurable.

For a model and an input batch: each layer's activation mean, std, histogram,
fraction saturated, fraction exactly zero and fraction of dead units; after a
backward pass, the gradient norm reaching each layer and each parameter's.
Plots of these live in `nn.plots`.
"""
from __future__ import annotations

import numpy as np

from . import _checks
from .activations import ELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import softmax_cross_entropy

__all__ = ["array_stats", "activation_stats", "gradient_norms", "SATURATION"]

#: How "saturated" is defined per activation: the outer 1 % of the output range,
#: where the derivative is a few percent of its maximum or less (tanh' = 1 - 0.99^2
#: ~ 0.02 of its peak 1; sigmoid' at 0.01/0.99 ~ 0.0099, 0.04 of its peak 0.25).
SATURATION = {
    "tanh": "|h| > 0.99",
    "sigmoid": "h < 0.01 or h > 0.99",
}

_KIND = {Tanh: "tanh", Sigmoid: "sigmoid", ReLU: "relu", LeakyReLU: "leaky_relu", ELU: "elu"}
_HIST_RANGE = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def _saturated(h, kind):
    if kind == "tanh":
        return float(np.mean(np.abs(h) > 0.99))
    if kind == "sigmoid":
        return float(np.mean((h < 0.01) | (h > 0.99)))
    return None


def array_stats(h, activation=None, bins: int = 50, hist_range=None) -> dict:
    """Statistics of one layer's output ``h`` (N samples x D units).

    Parameters
    ----------
    h : ndarray (N, D)
    activation : str, optional
        Name of the activation that produced ``h``; decides the saturation
        test (`SATURATION`) and the default histogram range (tanh [-1, 1],
        sigmoid [0, 1], otherwise the data's [min, max]).
    bins : int
    hist_range : (float, float), optional

    Returns
    -------
    dict
        ``frac_nonfinite`` (entries that are inf or NaN), ``mean``, ``std``
        (inf/NaN when such entries exist), ``frac_saturated`` (None where not defined),
        ``frac_zero`` (entries exactly 0), ``frac_dead`` (units 0 for every
        sample), ``hist`` (counts, list of int) and ``edges`` (list of float).

    Examples
    --------
    >>> import numpy as np
    >>> s = array_stats(np.array([[0.0, 1.0], [0.0, 2.0]]), "relu", bins=2)
    >>> s["frac_zero"], s["frac_dead"], s["hist"]
    (0.5, 0.5, [2, 2])
    """
    h = np.asarray(h)
    if h.ndim != 2:
        raise ValueError(f"array_stats: h must have shape (N, D), got {h.shape}")
    bins = _checks.number("array_stats", "bins", bins, low=1, integer=True)
    if hist_range is None:
        hist_range = _HIST_RANGE.get(activation)
    finite = np.isfinite(h)
    values = h if finite.all() else h[finite]
    if hist_range is None:
        # Overflowed activations (inf/NaN after a diverged run) are counted in
        # frac_nonfinite and left out of the histogram, whose range they would break.
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        hist_range = (lo, hi if hi > lo else lo + 1.0)
    try:
        counts, edges = np.histogram(values, bins=bins, range=hist_range)
    except ValueError:
        # Values so close together (activations vanished to ~1e-40, subnormal in float32) that the
        # bins would have no width in their dtype: one wider range holds them all.
        lo = hist_range[0]
        counts, edges = np.histogram(values, bins=bins, range=(lo, lo + max(1.0, abs(lo))))
    zero = h == 0
    return {
        "frac_nonfinite": float((~finite).mean()),
        "mean": float(h.mean(dtype=np.float64)),
        "std": float(h.std(dtype=np.float64)),
        "frac_saturated": _saturated(h, activation),
        "frac_zero": float(zero.mean()),
        "frac_dead": float(zero.all(axis=0).mean()),
        "hist": counts.tolist(),
        "edges": edges.tolist(),
    }


def activation_stats(model, x, bins: int = 50) -> list[dict]:
    """Run ``x`` through ``model`` (inference mode) and describe every layer's output.

    Returns one dict per layer of ``model.layers``: ``index``, ``layer``
    (its repr), ``kind`` (activation name or class name) and the
    `array_stats` fields.

    Examples
    --------
    >>> import numpy as np
    >>> from nn.model import MLP
    >>> net = MLP([20, 30, 30, 2], activation="tanh", init="small_gaussian", rng=0)
    >>> stats = activation_stats(net, np.random.default_rng(0).standard_normal((50, 20)))
    >>> [s["kind"] for s in stats]
    ['Linear', 'tanh', 'Linear', 'tanh', 'Linear']
    >>> stats[3]["std"] < stats[1]["std"]
    True
    """
    was = getattr(model, "training", True)
    model.train(False)
    out = []
    try:
        h = np.asarray(x)
        for i, layer in enumerate(model.layers):
            h = layer.forward(h)
            kind = _KIND.get(type(layer), type(layer).__name__)
            flat = h.reshape(len(h), -1)
            out.append({"index": i, "layer": repr(layer), "kind": kind,
                        **array_stats(flat, kind, bins=bins)})
    finally:
        model.train(was)
    return out


def gradient_norms(model, x, y, loss=softmax_cross_entropy) -> list[dict]:
    """Forward and backward one batch; report the gradient flowing into each layer.

    Returns one dict per layer: ``index``, ``layer``, ``grad_out_norm`` (L2
    norm of d loss / d layer output), ``grad_in_norm`` (d loss / d layer
    input) and ``params`` (``{name: L2 norm of its gradient}``). Vanishing
    gradients show as ``grad_out_norm`` shrinking towards the first layer.
    The model runs in training mode (its mode is restored afterwards);
    parameters are not updated.

    Examples
    --------
    >>> import numpy as np
    >>> from nn.model import MLP
    >>> net = MLP([4, 8, 3], rng=0)
    >>> g = gradient_norms(net, np.ones((5, 4), np.float32), np.array([0, 1, 2, 0, 1]))
    >>> sorted(g[0]["params"])
    ['W', 'b']
    """
    was = getattr(model, "training", True)
    model.train(True)
    out = []
    try:
        scores = model.forward(x)
        _, d = loss(scores, y)
        for i in range(len(model.layers) - 1, -1, -1):
            layer = model.layers[i]
            d_in = layer.backward(d)
            out.append({"index": i, "layer": repr(layer),
                        "grad_out_norm": float(np.linalg.norm(d)),
                        "grad_in_norm": float(np.linalg.norm(d_in)),
                        "params": {p.name: float(np.linalg.norm(p.grad)) for p in layer.parameters()}})
            d = d_in
    finally:
        model.train(was)
    return out[::-1]
