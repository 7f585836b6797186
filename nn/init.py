"""Weight initialisations: ``f(d_in, d_out, rng=None) -> ndarray (d_in, d_out)``.

The lecture's picture for a deep tanh net fed N(0, 1) input: `small_gaussian`
(0.01 randn) makes activations collapse to zero layer after layer,
`large_gaussian` (0.5 randn) pins them at +-1, `xavier` (randn / sqrt(d_in))
keeps them alive, and `he` (randn * sqrt(2 / d_in)) does the same for ReLU.

``rng`` is a ``numpy.random.Generator``, an int seed, a sequence of ints or
None (fresh entropy); global NumPy random state is never used.
"""
from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["small_gaussian", "large_gaussian", "gaussian", "xavier", "glorot_normal",
           "glorot_uniform", "he", "he_uniform", "get", "NAMES"]


def _prepare(owner, d_in, d_out, rng, dtype):
    d_in = _checks.number(owner, "d_in", d_in, low=1, integer=True)
    d_out = _checks.number(owner, "d_out", d_out, low=1, integer=True)
    dtype = _checks.float_dtype(owner, dtype)
    return d_in, d_out, _checks.generator(owner, rng), dtype


def _normal(owner, d_in, d_out, std, rng, dtype):
    """``std(d_in, d_out) * randn``; ``std`` is a number or a function of the dims."""
    d_in, d_out, rng, dtype = _prepare(owner, d_in, d_out, rng, dtype)
    s = std(d_in, d_out) if callable(std) else std
    w = rng.standard_normal((d_in, d_out), dtype=dtype)
    w *= dtype.type(s)
    return w


def _uniform(owner, d_in, d_out, limit, rng, dtype):
    """Uniform on [-a, a], ``a = limit(d_in, d_out)``."""
    d_in, d_out, rng, dtype = _prepare(owner, d_in, d_out, rng, dtype)
    a = limit(d_in, d_out)
    w = rng.random((d_in, d_out), dtype=dtype)
    w *= dtype.type(2 * a)
    w -= dtype.type(a)
    return w


def _gain(owner, gain):
    return _checks.number(owner, "gain", gain, low=0.0, low_open=True)


def gaussian(d_in, d_out, rng=None, *, std=1.0, dtype=np.float64):
    """``std * randn(d_in, d_out)``.

    Examples
    --------
    >>> gaussian(3, 2, rng=0, std=0.1).shape
    (3, 2)
    """
    std = _checks.number("gaussian", "std", std, low=0.0, low_open=True)
    return _normal("gaussian", d_in, d_out, std, rng, dtype)


def small_gaussian(d_in, d_out, rng=None, *, std=0.01, dtype=np.float64):
    """``0.01 * randn``: fine for shallow nets, collapses deep ones to zero.

    Examples
    --------
    >>> round(float(small_gaussian(1000, 1000, rng=0).std()), 3)
    0.01
    """
    std = _checks.number("small_gaussian", "std", std, low=0.0, low_open=True)
    return _normal("small_gaussian", d_in, d_out, std, rng, dtype)


def large_gaussian(d_in, d_out, rng=None, *, std=0.5, dtype=np.float64):
    """``0.5 * randn``: saturates tanh/sigmoid units, gradients vanish.

    Examples
    --------
    >>> round(float(large_gaussian(1000, 1000, rng=0).std()), 2)
    0.5
    """
    std = _checks.number("large_gaussian", "std", std, low=0.0, low_open=True)
    return _normal("large_gaussian", d_in, d_out, std, rng, dtype)


def xavier(d_in, d_out, rng=None, *, gain=1.0, dtype=np.float64):
    """``gain * randn / sqrt(d_in)`` — the lecture's form of Xavier init.

    Keeps the variance of a linear (or tanh, near 0) layer's output equal to
    its input's.

    Examples
    --------
    >>> round(float(xavier(400, 1000, rng=0).std()), 3)
    0.05
    """
    gain = _gain("xavier", gain)
    return _normal("xavier", d_in, d_out, lambda i, o: gain / np.sqrt(i), rng, dtype)


def glorot_normal(d_in, d_out, rng=None, *, gain=1.0, dtype=np.float64):
    """Glorot & Bengio normal: Var = gain^2 * 2 / (d_in + d_out).

    Examples
    --------
    >>> round(float(glorot_normal(1000, 1000, rng=0).var() * 1000), 2)
    1.0
    """
    gain = _gain("glorot_normal", gain)
    return _normal("glorot_normal", d_in, d_out,
                   lambda i, o: gain * np.sqrt(2.0 / (i + o)), rng, dtype)


def glorot_uniform(d_in, d_out, rng=None, *, gain=1.0, dtype=np.float64):
    """Glorot & Bengio uniform on [-a, a], a = gain * sqrt(6 / (d_in + d_out)),
    so Var = gain^2 * 2 / (d_in + d_out).

    Examples
    --------
    >>> w = glorot_uniform(1000, 1000, rng=0)
    >>> bool(abs(w).max() <= np.sqrt(6 / 2000))
    True
    """
    gain = _gain("glorot_uniform", gain)
    return _uniform("glorot_uniform", d_in, d_out,
                    lambda i, o: gain * np.sqrt(6.0 / (i + o)), rng, dtype)


def he(d_in, d_out, rng=None, *, gain=np.sqrt(2.0), dtype=np.float64):
    """He / Kaiming normal: ``randn * sqrt(2 / d_in)`` (``gain / sqrt(d_in)``).

    ReLU zeroes half its inputs, halving the variance; the factor 2 restores it.

    Examples
    --------
    >>> round(float(he(500, 1000, rng=0).std()), 3)
    0.063
    """
    gain = _gain("he", gain)
    return _normal("he", d_in, d_out, lambda i, o: gain / np.sqrt(i), rng, dtype)


def he_uniform(d_in, d_out, rng=None, *, gain=np.sqrt(2.0), dtype=np.float64):
    """He uniform on [-a, a], a = gain * sqrt(3 / d_in), so Var = 2 / d_in.

    Examples
    --------
    >>> w = he_uniform(600, 100, rng=0)
    >>> bool(abs(w).max() <= np.sqrt(6 / 600))
    True
    """
    gain = _gain("he_uniform", gain)
    return _uniform("he_uniform", d_in, d_out, lambda i, o: gain * np.sqrt(3.0 / i), rng, dtype)


_REGISTRY = {
    "small_gaussian": small_gaussian,
    "large_gaussian": large_gaussian,
    "xavier": xavier,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "he": he,
    "he_uniform": he_uniform,
}
NAMES = tuple(_REGISTRY)


def get(name):
    """Return the init function called ``name`` (a callable passes through).

    Examples
    --------
    >>> get("he") is he
    True
    """
    if callable(name):
        return name
    _checks.choice("nn.init.get", "name", name, NAMES)
    return _REGISTRY[name]
