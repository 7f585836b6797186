"""Argument checks shared by the nn modules.

Every error names the argument, shows what arrived and says what is allowed,
so a user can fix the call without reading the source.
"""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def choice(owner: str, arg: str, value, allowed) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{owner}: {arg} must be one of {names}, got {value!r}")


def number(owner: str, arg: str, value, *, low=None, high=None,
           low_open=False, high_open=False, integer=False) -> float:
    """Check a real number (optionally an integer) against a range.

    Returns the value as ``int`` or ``float``.
    """
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a real number"
        raise ValueError(f"{owner}: {arg} must be {what}, got {value!r}")
    ok = isinstance(value, numbers.Integral) or np.isfinite(value)   # np.isfinite fails on ints beyond int64
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        lb = "(" if low_open or low is None else "["
        hb = ")" if high_open or high is None else "]"
        raise ValueError(f"{owner}: {arg} must lie in {lb}{lo}, {hi}{hb}, got {value!r}")
    return int(value) if integer else float(value)


def float_dtype(owner: str, dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in FLOAT_DTYPES:
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dtype!r}")
    return dt


def float_array(owner: str, arg: str, x) -> np.ndarray:
    """Return ``x`` as an array, unchanged if it is already float32/float64.

    Other numeric input (ints, lists) becomes float64; anything else is an error.
    """
    a = np.asarray(x)
    if a.dtype.type in FLOAT_DTYPES:
        return a
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    raise ValueError(f"{owner}: {arg} must be a float32 or float64 array, got dtype {a.dtype}")


def generator(owner: str, rng) -> np.random.Generator:
    """``np.random.default_rng(rng)`` with a ValueError that names ``rng``."""
    if isinstance(rng, np.random.Generator):
        return rng
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: rng must be None, an int seed, a sequence of ints "
                         f"or a numpy.random.Generator, got {rng!r}") from None
