"""Activation functions as layers: forward and backward side by side.

Each layer keeps the dtype of its input (float32 in, float32 out), is stable for
any finite input (no overflow at x = +-1000) and follows PyTorch's conventions
for the derivative at a kink: ReLU'(0) = 0, LeakyReLU'(0) = alpha, ELU'(0) = alpha.

The lecture's one-line summary of each is in its docstring.
"""
from __future__ import annotations

import numpy as np

from . import _checks
from .base import Layer

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "get", "NAMES"]


class Sigmoid(Layer):
    """``1 / (1 + exp(-x))``: saturates at both ends (gradient -> 0), outputs are
    all positive (not zero-centred), and exp is comparatively expensive.

    Shapes: any ``(...)`` -> same shape.

    Examples
    --------
    >>> import numpy as np
    >>> Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """

    def forward(self, x):
        x = _checks.float_array("Sigmoid.forward", "x", x)
        # exp(-|x|) never overflows; for x << 0 it underflows to 0, which is the
        # right answer, so that (harmless) underflow is silenced here.
        with np.errstate(under="ignore"):
            e = np.exp(-np.abs(x))
        pos = 1.0 / (1.0 + e)
        self.out = np.where(x >= 0, pos, e * pos)
        return self.out

    def backward(self, dout):
        s = self.out
        return dout * s * (1.0 - s)


class Tanh(Layer):
    """``tanh(x)``: zero-centred, but still saturates at +-1 and kills gradients.

    Shapes: any ``(...)`` -> same shape.

    Examples
    --------
    >>> import numpy as np
    >>> Tanh().forward(np.array([-1000.0, 0.0, 1000.0]))
    array([-1.,  0.,  1.])
    """

    def forward(self, x):
        x = _checks.float_array("Tanh.forward", "x", x)
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        t = self.out
        return dout * (1.0 - t * t)


class ReLU(Layer):
    """``max(0, x)``: cheap and non-saturating for x > 0, but a unit whose input
    stays negative gets zero gradient forever ("dead ReLU"). ReLU'(0) = 0.

    Shapes: any ``(...)`` -> same shape.

    Examples
    --------
    >>> import numpy as np
    >>> ReLU().forward(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    """

    def forward(self, x):
        x = _checks.float_array("ReLU.forward", "x", x)
        self.mask = x > 0
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, dout):
        return dout * self.mask


class LeakyReLU(Layer):
    """``x if x > 0 else alpha * x``: a small slope keeps negative units alive.
    The slope ``alpha`` is a hyper-parameter. LeakyReLU'(0) = alpha.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for x <= 0, in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReLU(0.1).forward(np.array([-2.0, 0.0, 3.0]))
    array([-0.2,  0. ,  3. ])
    """

    def __init__(self, alpha: float = 0.01):
        self.alpha = _checks.number("LeakyReLU", "alpha", alpha, low=0.0, high=1.0, high_open=True)

    def forward(self, x):
        x = _checks.float_array("LeakyReLU.forward", "x", x)
        self.mask = x > 0
        return np.where(self.mask, x, self.alpha * x)

    def backward(self, dout):
        return np.where(self.mask, dout, self.alpha * dout)

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class ELU(Layer):
    """``x if x > 0 else alpha * (exp(x) - 1)``: smooth negative side that
    saturates at ``-alpha``, mean activations closer to zero. ELU'(0) = alpha.

    Parameters
    ----------
    alpha : float, default 1.0
        Negative saturation value, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> ELU().forward(np.array([-1000.0, 0.0, 2.0]))
    array([-1.,  0.,  2.])
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = _checks.number("ELU", "alpha", alpha, low=0.0, low_open=True)

    def forward(self, x):
        x = _checks.float_array("ELU.forward", "x", x)
        self.mask = x > 0
        # expm1 only sees the negative side, so large positive x cannot overflow;
        # exp(-1000) underflowing to 0 is exact enough and silenced.
        with np.errstate(under="ignore"):
            neg = self.alpha * np.expm1(np.minimum(x, 0))
        self.out = np.where(self.mask, x, neg)
        return self.out

    def backward(self, dout):
        # For x <= 0, d/dx alpha*(e^x - 1) = alpha*e^x = out + alpha.
        return np.where(self.mask, dout, dout * (self.out + self.alpha))

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


_REGISTRY = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
}
NAMES = tuple(_REGISTRY)


def get(name: str, **kwargs) -> Layer:
    """Build an activation layer by name.

    Parameters
    ----------
    name : {"sigmoid", "tanh", "relu", "leaky_relu", "elu"}
    **kwargs
        Passed to the class (``alpha`` for leaky_relu and elu).

    Examples
    --------
    >>> get("leaky_relu", alpha=0.2)
    LeakyReLU(alpha=0.2)
    """
    if isinstance(name, Layer):
        return name
    _checks.choice("nn.activations.get", "name", name, NAMES)
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"nn.activations.get: bad keyword arguments {kwargs!r} for {name!r}: {err}") from None
