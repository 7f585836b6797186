"""Argument checking shared by the functional API and the transform classes.

Every error names the argument, what arrived and what is allowed, so that a
bad call fails here with a readable message instead of deep inside NumPy or
numba.
"""
from __future__ import annotations

import numbers

import numpy as np

IMAGE_DTYPES = (np.uint8, np.float32)
_FAST_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))   # native byte order only


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_image(image, name: str = "image") -> np.ndarray:
    """Return ``image`` as a 3-D ``(H, W, C)`` array ready for a kernel.

    The result is a C-contiguous, read-only view of the caller's array (a
    read-only copy when that is not contiguous): kernels never write to their
    input, and handing numba every source array read-only means one compiled
    specialisation serves writeable arrays and read-only ones (such as
    ``np.asarray(pil_image)``) alike, without copying either. 2-D images become
    ``(H, W, 1)`` views. Raises ``TypeError`` for anything that is not a uint8
    or float32 array and ``ValueError`` for bad shapes.
    """
    if type(image) is np.ndarray and image.ndim == 3 and image.dtype in _FAST_DTYPES and all(image.shape):
        # The common case first (measured: ~0.5 us of a ~15 us call went to the general checks).
        if image.flags.c_contiguous:
            return read_only(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of dtype uint8 or float32, "
                        f"got {type(image).__name__}")
    if image.dtype not in IMAGE_DTYPES:
        hint = ""
        if image.dtype.kind == "f":
            hint = f"; convert with {name}.astype(np.float32)"
        elif image.dtype.kind in "iub":
            hint = f"; convert with {name}.astype(np.uint8) if its values lie in 0..255"
        raise TypeError(f"{name} must have dtype uint8 or float32, got {image.dtype}{hint}")
    if image.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0 or (image.ndim == 3 and image.shape[2] == 0):
        raise ValueError(f"{name} must not be empty, got shape {image.shape}")
    if image.ndim == 2:
        image = image[:, :, None]
    if not image.flags.c_contiguous:
        image = np.array(image, order="C", copy=True)
    return read_only(image)


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (itself when it is read-only already)."""
    if not array.flags.writeable:
        return array
    view = array.view()
    view.setflags(write=False)
    return view


def check_mask(mask, image_hw, name: str = "mask") -> np.ndarray:
    """Validate a mask: ``(H, W)`` or ``(H, W, K)``, integer or bool, same H, W as the image."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(mask).__name__}")
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"{name} must have an integer, bool or float dtype, got {mask.dtype}")
    if mask.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, K), got shape {mask.shape}")
    if image_hw is not None and tuple(mask.shape[:2]) != tuple(image_hw):
        raise ValueError(f"{name} must have the image's height and width {tuple(image_hw)}, "
                         f"got shape {mask.shape}")
    return mask


def check_p(p, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (0.0 <= float(p) <= 1.0):
        raise ValueError(f"{owner}: p must be a probability in [0, 1], got {_short(p)}")
    return float(p)


def check_int(value, owner: str, name: str, minimum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name} must be an integer, got {_short(value)}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{owner}: {name} must be an integer, got {_short(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value}")
    return value


def check_range(value, owner: str, name: str, *, symmetric: bool = False,
                low: float | None = None, high: float | None = None,
                low_open: bool = False, integer: bool = False) -> tuple:
    """Parse a ``(min, max)`` pair; a single number ``v`` means ``(-v, v)`` when ``symmetric``.

    ``low``/``high`` bound the allowed values (``low_open`` excludes ``low``
    itself). Returns a tuple of two floats (or ints with ``integer=True``).
    """
    allowed = "a (min, max) pair with min <= max"
    if symmetric:
        allowed += " or a single number v meaning (-v, v)"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not symmetric:
            raise ValueError(f"{owner}: {name} must be {allowed}, got {_short(value)}")
        v = float(value)
        if v < 0:
            raise ValueError(f"{owner}: {name} as a single number must be >= 0 (it means (-v, v)), got {v}")
        pair = (-v, v)
    else:
        try:
            items = list(value)
        except TypeError:
            raise ValueError(f"{owner}: {name} must be {allowed}, got {_short(value)}") from None
        if len(items) != 2 or not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in items):
            raise ValueError(f"{owner}: {name} must be {allowed}, got {_short(value)}")
        pair = (float(items[0]), float(items[1]))
    if not all(np.isfinite(pair)):
        raise ValueError(f"{owner}: {name} must be finite, got {pair}")
    if pair[0] > pair[1]:
        raise ValueError(f"{owner}: {name} must be {allowed}, got {pair} (min > max)")
    if integer:
        if not all(float(x).is_integer() for x in pair):
            raise ValueError(f"{owner}: {name} must hold whole numbers, got {pair}")
        pair = (int(pair[0]), int(pair[1]))
    shown = (lambda v: str(int(v))) if integer else (lambda v: f"{v:g}")
    if low is not None and (pair[0] < low or (low_open and pair[0] == low)):
        raise ValueError(f"{owner}: {name} values must be {'>' if low_open else '>='} {shown(low)}, got {pair}")
    if high is not None and pair[1] > high:
        raise ValueError(f"{owner}: {name} values must be <= {shown(high)}, got {pair}")
    return pair


F32_MAX = float(np.finfo(np.float32).max)


def check_channel_values(value, channels: int, owner: str, name: str, scalar: bool = False) -> np.ndarray:
    """One finite number per channel (or one for all, with ``scalar``), within float32's range
    (colours are applied in float32): a float64 array of ``channels`` values."""
    try:
        arr = np.asarray(value, dtype=np.float64)
        bools = np.asarray(value).dtype.kind == "b" or any(isinstance(v, bool) for v in np.ravel(
            np.asarray(value, dtype=object)))
    except (TypeError, ValueError):
        arr, bools = None, True
    if scalar and arr is not None and arr.ndim == 0:
        arr = np.full(channels, float(arr))
    if bools or arr.shape != (channels,) or not np.all(np.abs(arr) <= F32_MAX):
        many = f"{channels} finite numbers (one per channel of the image)"
        raise ValueError(f"{owner}: {name} must be {'a finite number or ' if scalar else ''}{many}, within "
                         f"float32's range, got {_short(value)}")
    return arr


def check_fill(fill, owner: str, name: str = "fill", allow_random: bool = False):
    """Validate a fill: a number, a per-channel sequence, or ``"random"`` where allowed.

    Returns a float, a tuple of floats or the string ``"random"``. The check
    against the image's channel count and dtype happens at call time in
    :func:`fill_vector`.
    """
    allowed = "a number or a per-channel sequence of numbers"
    if allow_random:
        allowed += ' or "random"'
    if isinstance(fill, str):
        if allow_random and fill == "random":
            return fill
        raise ValueError(f"{owner}: {name} must be {allowed}, got {_short(fill)}")
    scalar = isinstance(fill, numbers.Real) and not isinstance(fill, bool)
    if scalar:
        if not np.isfinite(fill):
            raise ValueError(f"{owner}: {name} must be finite, got {fill}")
        items = (fill,)
    else:
        try:
            items = tuple(fill)
        except TypeError:
            raise ValueError(f"{owner}: {name} must be {allowed}, got {_short(fill)}") from None
        if not items or not all(isinstance(x, numbers.Real) and not isinstance(x, bool) and np.isfinite(x)
                                for x in items):
            raise ValueError(f"{owner}: {name} must be {allowed}, got {_short(fill)}")
    # Images are uint8 or float32: a fill beyond float32's range would turn into infinity. (Masks
    # may be float64: their fills are checked against the mask's dtype when used, mask_fill_vector.)
    if name == "fill_mask" and any(isinstance(x, numbers.Integral) and abs(x) > 2 ** 53 for x in items):
        # Kept as float64, exact for whole numbers up to 2**53 only: a larger integer would round.
        raise ValueError(f"{owner}: {name} integers must lie within +-2**53 (9007199254740992), "
                         f"got {_short(fill)}")
    if name != "fill_mask" and not all(abs(float(x)) <= F32_MAX for x in items):
        raise ValueError(f"{owner}: {name} values must lie within float32's range (about +-3.4e38), "
                         f"got {_short(fill)}")
    return float(fill) if scalar else tuple(float(x) for x in items)


def fill_vector(fill, channels: int, dtype, owner: str, name: str = "fill") -> np.ndarray:
    """Turn a validated fill into a ``(C,)`` array of the image's dtype."""
    return _fill_array(fill, channels, dtype, owner, name, "image", "channels")


def mask_fill_vector(fill, channels: int, dtype, owner: str, name: str = "fill_mask") -> np.ndarray:
    """Turn a validated mask fill into a ``(K,)`` array of the mask's dtype: one number or one per
    mask channel, representable in that dtype (whole numbers within its range; 0 or 1 for bool)."""
    return _fill_array(fill, channels, dtype, owner, name, "mask", "channel(s)")


def _fill_array(fill, channels, dtype, owner, name, target, unit):
    """A fill as one value per channel of ``target`` (an image or a mask) in its dtype, or a
    ValueError naming ``name``: integer dtypes take whole numbers within their range (and within
    2**53, where float64, in which fills arrive, stops being exact), float dtypes their range."""
    values = np.asarray(fill, np.float64)
    if values.ndim == 0:
        values = np.full(channels, values)
    if values.shape != (channels,):
        raise ValueError(f"{owner}: {name} has {values.size} values but the {target} has {channels} "
                         f"{unit}; give one number or exactly {channels}")
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        lo, hi = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        lo, hi = max(lo, -2 ** 53), min(hi, 2 ** 53)
        if np.any(values < lo) or np.any(values > hi) or np.any(values != np.round(values)):
            raise ValueError(f"{owner}: {name} for a {dtype} {target} must hold whole numbers in {lo}..{hi}, "
                             f"got {tuple(values.tolist())}")
    elif np.any(np.abs(values) > np.finfo(dtype).max):
        raise ValueError(f"{owner}: {name} for a {dtype} {target} must lie within +-{np.finfo(dtype).max:.4g}, "
                         f"got {tuple(values.tolist())}")
    return values.astype(dtype)
