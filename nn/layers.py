"""Layers with weights or randomness: `Linear` and `Dropout`.

Each ``forward`` caches what its ``backward`` needs; ``backward`` returns the
gradient with respect to the input and *overwrites* parameter gradients in
place (``Parameter.grad``), so a training step allocates no gradient arrays.
"""
from __future__ import annotations

import numpy as np

from . import _checks
from . import init as _init
from .base import Layer, Parameter

__all__ = ["Linear", "Dropout"]


class Linear(Layer):
    """Affine layer ``out = x @ W + b``.

    Parameters
    ----------
    d_in, d_out : int
        Input and output features.
    init : str or callable, default "he"
        A name from `nn.init.NAMES` or ``f(d_in, d_out, rng) -> (d_in, d_out)``.
    rng : Generator, int or None
        Source of the initial weights.
    dtype : float32 or float64, default float32
        Parameter dtype; inputs of another dtype are cast to it.

    Shapes: ``x (N, d_in) -> out (N, d_out)``; ``W (d_in, d_out)``, ``b (d_out,)``
    (bias starts at zero).

    Examples
    --------
    >>> import numpy as np
    >>> lin = Linear(3, 2, rng=0)
    >>> lin.forward(np.ones((4, 3), np.float32)).shape
    (4, 2)
    """

    def __init__(self, d_in: int, d_out: int, init="he", rng=None, dtype=np.float32):
        d_in = _checks.number("Linear", "d_in", d_in, low=1, integer=True)
        d_out = _checks.number("Linear", "d_out", d_out, low=1, integer=True)
        dtype = _checks.float_dtype("Linear", dtype)
        if not callable(init):
            _checks.choice("Linear", "init", init, _init.NAMES)
        w = _init.get(init)(d_in, d_out, _checks.generator("Linear", rng))
        w = np.array(w, dtype=dtype)  # a copy: the caller may keep (and reuse) what init returned
        if w.shape != (d_in, d_out):
            raise ValueError(f"Linear: init must return shape {(d_in, d_out)}, got {w.shape}")
        self.W = Parameter(w, "W", decay=True)
        self.b = Parameter(np.zeros(d_out, dtype), "b", decay=False)
        self.d_in, self.d_out = d_in, d_out
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.d_in:
            raise ValueError(f"Linear.forward: x must have shape (N, {self.d_in}), got {x.shape}")
        x = x.astype(self.W.data.dtype, copy=False)
        self.x = x
        out = x @ self.W.data
        out += self.b.data
        return out

    def backward(self, dout, input_grad: bool = True):
        """Write ``dW = x.T @ dout`` and ``db = sum(dout)``; return ``dout @ W.T``.

        ``input_grad=False`` skips ``dx`` (the first layer of a network does not
        need it, and it is a third of that layer's backward cost).
        """
        np.matmul(self.x.T, dout, out=self.W.grad)
        np.sum(dout, axis=0, out=self.b.grad)
        return dout @ self.W.data.T if input_grad else None

    def parameters(self):
        return [self.W, self.b]

    def __repr__(self):
        return f"Linear({self.d_in}, {self.d_out}, init={self.init_name!r}, dtype={self.W.data.dtype})"


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and
    scale survivors by ``1 / (1 - p)``; at inference, the identity.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    rng : Generator, int or None
        Source of the masks (pass a seed for reproducible training).

    Shapes: any ``(...)`` -> same shape.

    Examples
    --------
    >>> import numpy as np
    >>> d = Dropout(0.5, rng=0)
    >>> out = d.forward(np.ones((2, 4)))
    >>> sorted(set(out.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
    >>> d.eval().forward(np.ones(3))
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, rng=None):
        self.p = _checks.number("Dropout", "p", p, low=0.0, high=1.0, high_open=True)
        self.rng = _checks.generator("Dropout", rng)

    def forward(self, x):
        x = _checks.float_array("Dropout.forward", "x", x)
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
