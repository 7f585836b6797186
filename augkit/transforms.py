"""The transform classes: settings and sampling over the functional ops.

Random transforms take ``p``, the probability of applying (0.5 by default as
in albumentations; 1.0 for :class:`RandomCrop`). Ranges are ``(min, max)``
pairs; ``min == max`` gives a fixed value.

Examples
--------
>>> import numpy as np
>>> import augkit as A
>>> img = np.zeros((64, 64, 3), np.uint8)
>>> out = A.Shift(dx=(-0.2, 0.2), dy=0, p=1.0)(image=img, rng=0)
>>> out["image"].shape
(64, 64, 3)
"""
from __future__ import annotations

import math

import numpy as np

from . import functional as F
from ._validate import check_fill, check_int, check_range
from .core import Transform

__all__ = ["HorizontalFlip", "VerticalFlip", "Crop", "CenterCrop", "RandomCrop", "Shift", "Tint", "BoxErase"]


def _fill_config(fill):
    return list(fill) if isinstance(fill, tuple) else fill


def _require(params, keys, owner):
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{owner}: recorded params {params!r} lack {', '.join(missing)}")


class HorizontalFlip(Transform):
    """Mirror left-right (column ``x`` becomes ``W - 1 - x``; box edge ``x`` becomes ``W - x``).

    Examples
    --------
    >>> import numpy as np
    >>> HorizontalFlip(p=1.0)(image=np.arange(3, dtype=np.uint8)[None])["image"].tolist()
    [[2, 1, 0]]
    """

    def __init__(self, p=0.5):
        super().__init__(p)

    def ops(self, params, shape):
        return F.hflip_ops(shape[0], shape[1])


class VerticalFlip(Transform):
    """Mirror top-bottom (row ``y`` becomes ``H - 1 - y``).

    Examples
    --------
    >>> import numpy as np
    >>> VerticalFlip(p=1.0)(image=np.arange(3, dtype=np.uint8)[:, None])["image"].ravel().tolist()
    [2, 1, 0]
    """

    def __init__(self, p=0.5):
        super().__init__(p)

    def ops(self, params, shape):
        return F.vflip_ops(shape[0], shape[1])


class Crop(Transform):
    """The fixed region ``x_min <= x < x_max``, ``y_min <= y < y_max`` (max exclusive).

    Examples
    --------
    >>> import numpy as np
    >>> Crop(1, 0, 3, 2)(image=np.zeros((4, 4), np.uint8))["image"].shape
    (2, 2)
    """

    deterministic = True

    def __init__(self, x_min, y_min, x_max, y_max):
        super().__init__(1.0)
        name = type(self).__name__
        self.x_min = check_int(x_min, name, "x_min", minimum=0)
        self.y_min = check_int(y_min, name, "y_min", minimum=0)
        self.x_max = check_int(x_max, name, "x_max")
        self.y_max = check_int(y_max, name, "y_max")
        if self.x_max <= self.x_min or self.y_max <= self.y_min:
            raise ValueError(f"{name}: need x_min < x_max and y_min < y_max, got x_min={self.x_min}, "
                             f"x_max={self.x_max}, y_min={self.y_min}, y_max={self.y_max}")

    def check_params(self, params, shape):
        super().check_params(params, shape)
        F._check_crop(shape[0], shape[1], self.x_min, self.y_min, self.x_max, self.y_max, type(self).__name__)

    def sample_params(self, rng, shape):
        self.check_params({}, shape)
        return {}

    def ops(self, params, shape):
        return F.crop_ops(shape[0], shape[1], self.x_min, self.y_min, self.x_max, self.y_max)

    def output_shape(self, params, shape):
        return (self.y_max - self.y_min, self.x_max - self.x_min, shape[2])

    def get_config(self):
        return {"x_min": self.x_min, "y_min": self.y_min, "x_max": self.x_max, "y_max": self.y_max}


class _SizedCrop(Transform):
    def __init__(self, height, width, pad_if_needed, fill, fill_mask, p):
        super().__init__(p)
        name = type(self).__name__
        self.height = check_int(height, name, "height", minimum=1)
        self.width = check_int(width, name, "width", minimum=1)
        if not isinstance(pad_if_needed, bool):
            raise ValueError(f"{name}: pad_if_needed must be True or False, got {pad_if_needed!r}")
        self.pad_if_needed = pad_if_needed
        self.fill = check_fill(fill, name)
        self.fill_mask = check_fill(fill_mask, name, "fill_mask")

    def _padded(self, shape):
        h, w = shape[0], shape[1]
        if self.height > h or self.width > w:
            if not self.pad_if_needed:
                raise ValueError(f"{type(self).__name__}: crop size {self.height}x{self.width} (HxW) is larger "
                                 f"than the {h}x{w} image; use a smaller crop or pad_if_needed=True")
            return F.center_pad(h, w, self.height, self.width)
        return (0, 0, 0, 0)

    def output_shape(self, params, shape):
        return (self.height, self.width, shape[2])

    def get_config(self):
        return {"height": self.height, "width": self.width, "pad_if_needed": self.pad_if_needed,
                "fill": _fill_config(self.fill), "fill_mask": _fill_config(self.fill_mask), **super().get_config()}

    def _crop_ops(self, shape, x, y):
        h, w = shape[0], shape[1]
        top, bottom, left, right = self._padded(shape)
        ops = []
        if top or bottom or left or right:
            ops += F.pad_ops(h, w, top, bottom, left, right, self.fill, self.fill_mask)
            h, w = h + top + bottom, w + left + right
        if not (0 <= x <= w - self.width and 0 <= y <= h - self.height):
            raise ValueError(f"{type(self).__name__}: recorded crop corner (x={x}, y={y}) does not fit a "
                             f"{self.height}x{self.width} crop in a {h}x{w} image")
        return ops + F.crop_ops(h, w, x, y, x + self.width, y + self.height)


class CenterCrop(_SizedCrop):
    """The centred ``height x width`` region; ``pad_if_needed`` pads (centred, with ``fill``) first.

    Examples
    --------
    >>> import numpy as np
    >>> CenterCrop(2, 2)(image=np.zeros((5, 5), np.uint8))["image"].shape
    (2, 2)
    """

    deterministic = True

    def __init__(self, height, width, pad_if_needed=False, fill=0, fill_mask=0):
        super().__init__(height, width, pad_if_needed, fill, fill_mask, 1.0)

    def sample_params(self, rng, shape):
        self._padded(shape)
        return {}

    def ops(self, params, shape):
        return F.center_crop_ops(shape[0], shape[1], self.height, self.width, self.pad_if_needed, self.fill,
                                 self.fill_mask, type(self).__name__)


class RandomCrop(_SizedCrop):
    """A ``height x width`` region at a uniformly drawn position (``p=1.0`` by default).

    Params record the top-left corner ``x, y`` in the (padded, if
    ``pad_if_needed``) input.

    Examples
    --------
    >>> import numpy as np
    >>> RandomCrop(3, 4)(image=np.zeros((8, 8, 3), np.uint8), rng=1)["image"].shape
    (3, 4, 3)
    """

    def __init__(self, height, width, pad_if_needed=False, fill=0, fill_mask=0, p=1.0):
        super().__init__(height, width, pad_if_needed, fill, fill_mask, p)

    def sample_params(self, rng, shape):
        top, bottom, left, right = self._padded(shape)
        h, w = shape[0] + top + bottom, shape[1] + left + right
        u = rng.random(2).tolist()
        # floor(u * n) is uniform on 0..n-1; min() guards the u -> 1 rounding edge.
        return {"x": min(int(u[0] * (w - self.width + 1)), w - self.width),
                "y": min(int(u[1] * (h - self.height + 1)), h - self.height)}

    def check_params(self, params, shape):
        super().check_params(params, shape)
        _require(params, ("x", "y"), type(self).__name__)

    def ops(self, params, shape):
        return self._crop_ops(shape, int(params["x"]), int(params["y"]))


class Shift(Transform):
    """Translate by a whole number of pixels drawn uniformly per axis; the size is kept.

    Parameters
    ----------
    dx, dy : (min, max) or float
        Horizontal / vertical shift range; a single number ``v`` means ``(-v, v)``.
        Positive values move the content right / down.
    unit : {"fraction", "px"}
        ``"fraction"``: a uniform draw times the width/height, rounded to the
        nearest pixel. ``"px"``: a whole number drawn uniformly from ``min..max``
        inclusive.
    fill, fill_mask : number or per-channel sequence
        Value of the uncovered area in the image / the mask.
    p : float
        Probability of applying.

    Examples
    --------
    >>> import numpy as np
    >>> t = Shift(dx=(2, 2), dy=0, unit="px", p=1.0)
    >>> t(image=np.arange(5, dtype=np.uint8)[None])["image"].tolist()
    [[0, 0, 0, 1, 2]]
    """

    def __init__(self, dx=(-0.1, 0.1), dy=(-0.1, 0.1), unit="fraction", fill=0, fill_mask=0, p=0.5):
        super().__init__(p)
        name = type(self).__name__
        if unit not in ("fraction", "px"):
            raise ValueError(f'{name}: unit must be "fraction" or "px", got {unit!r}')
        self.unit = unit
        px = unit == "px"
        self.dx = check_range(dx, name, "dx", symmetric=True, integer=px)
        self.dy = check_range(dy, name, "dy", symmetric=True, integer=px)
        self.fill = check_fill(fill, name)
        self.fill_mask = check_fill(fill_mask, name, "fill_mask")

    def sample_params(self, rng, shape):
        (xlo, xhi), (ylo, yhi) = self.dx, self.dy
        if self.unit == "px":
            dy, dx = rng.integers((ylo, xlo), (yhi + 1, xhi + 1))
            return {"dx": int(dx), "dy": int(dy)}
        u = rng.random(2).tolist()
        dx = math.floor((xlo + u[0] * (xhi - xlo)) * shape[1] + 0.5)
        dy = math.floor((ylo + u[1] * (yhi - ylo)) * shape[0] + 0.5)
        return {"dx": int(dx), "dy": int(dy)}

    def check_params(self, params, shape):
        super().check_params(params, shape)
        _require(params, ("dx", "dy"), type(self).__name__)

    def ops(self, params, shape):
        return F.shift_ops(shape[0], shape[1], int(params["dx"]), int(params["dy"]), self.fill, self.fill_mask)

    def get_config(self):
        return {"dx": list(self.dx), "dy": list(self.dy), "unit": self.unit, "fill": _fill_config(self.fill),
                "fill_mask": _fill_config(self.fill_mask), **super().get_config()}


class Tint(Transform):
    """Per-channel colour shift and scale: ``out = clip(image * s_c + o_c)``.

    Parameters
    ----------
    shift : (min, max) or float
        Range of the offset ``o_c`` in image units (levels for uint8, the
        image's own units for float); a single number ``v`` means ``(-v, v)``.
    scale : (min, max)
        Range of the factor ``s_c`` (>= 0).
    per_channel : bool
        Draw ``(s_c, o_c)`` per channel (a colour tint); False draws one pair for
        all channels (a brightness change).
    p : float
        Probability of applying.

    uint8 results round half up and saturate to 0..255; float images are not
    clipped (any range is allowed).

    Examples
    --------
    >>> import numpy as np
    >>> Tint(shift=(10, 10), p=1.0)(image=np.full((1, 1, 3), 250, np.uint8))["image"].ravel().tolist()
    [255, 255, 255]
    """

    def __init__(self, shift=(-20, 20), scale=(1.0, 1.0), per_channel=True, p=0.5):
        super().__init__(p)
        name = type(self).__name__
        self.shift = check_range(shift, name, "shift", symmetric=True)
        self.scale = check_range(scale, name, "scale", low=0.0)
        if not isinstance(per_channel, bool):
            raise ValueError(f"{name}: per_channel must be True or False, got {per_channel!r}")
        self.per_channel = per_channel

    def sample_params(self, rng, shape):
        c = shape[2]
        n = c if self.per_channel else 1
        lo, hi = self.shift
        offset = [lo + u * (hi - lo) for u in rng.random(n).tolist()] if hi > lo else [lo] * n
        slo, shi = self.scale
        scale = [slo + u * (shi - slo) for u in rng.random(n).tolist()] if shi > slo else [slo] * n
        if n != c:
            offset, scale = offset * c, scale * c
        return {"offset": offset, "scale": scale}

    def check_params(self, params, shape):
        super().check_params(params, shape)
        _require(params, ("offset", "scale"), type(self).__name__)
        for key in ("offset", "scale"):
            if np.shape(params[key]) != (shape[2],):
                raise ValueError(f"{type(self).__name__}: recorded {key} {params[key]!r} needs one value per "
                                 f"channel, but the image has {shape[2]} channels")

    def ops(self, params, shape):
        return F.tint_ops(params["scale"], params["offset"])

    def get_config(self):
        return {"shift": list(self.shift), "scale": list(self.scale), "per_channel": self.per_channel,
                **super().get_config()}


class BoxErase(Transform):
    """Random Erasing (Zhong et al., 2017) as torchvision defines it.

    For each box: an area fraction drawn from ``scale``, an aspect ratio drawn
    log-uniformly from ``ratio``, ``h = round(sqrt(area * ratio))``,
    ``w = round(sqrt(area / ratio))``; up to 10 tries to fit inside the image,
    then a uniform position. A box that does not fit in 10 tries is skipped.

    Parameters
    ----------
    scale : (min, max)
        Erased area as a fraction of the image, ``0 < min <= max <= 1``.
    ratio : (min, max)
        Aspect ratio (height / width) range, ``0 < min <= max``.
    count : int or (min, max)
        Number of boxes (a range draws it uniformly, inclusive).
    fill : number, per-channel sequence or "random"
        ``"random"`` paints uniform noise in 0..255 (uint8) or [0, 1) (float).
    fill_mask : number or None
        ``None`` leaves masks alone; a number erases the mask under the boxes too.
    p : float
        Probability of applying.

    Examples
    --------
    >>> import numpy as np
    >>> out = BoxErase(scale=(0.25, 0.25), ratio=(1, 1), fill=7, p=1.0)(image=np.zeros((8, 8), np.uint8), rng=0)
    >>> int((out["image"] == 7).sum())
    16
    """

    def __init__(self, scale=(0.02, 0.33), ratio=(0.3, 3.3), count=1, fill=0, fill_mask=None, p=0.5):
        super().__init__(p)
        name = type(self).__name__
        self.scale = check_range(scale, name, "scale", low=0.0, low_open=True, high=1.0)
        self.ratio = check_range(ratio, name, "ratio", low=0.0, low_open=True)
        if isinstance(count, (int, np.integer)) and not isinstance(count, bool):
            self.count = (check_int(count, name, "count", minimum=0),) * 2
        else:
            self.count = check_range(count, name, "count", low=0, integer=True)
        self.fill = check_fill(fill, name, allow_random=True)
        self.fill_mask = None if fill_mask is None else check_fill(fill_mask, name, "fill_mask")
        self._log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))

    def sample_params(self, rng, shape):
        h, w = shape[0], shape[1]
        lo, hi = self.count
        n = lo if lo == hi else int(rng.integers(lo, hi + 1))
        boxes = []
        area = h * w
        (slo, shi), (rlo, rhi) = self.scale, self._log_ratio
        for _ in range(n):
            draws = rng.random(22).tolist()
            for t in range(10):
                erase_area = area * (slo + draws[2 * t] * (shi - slo))
                aspect = math.exp(rlo + draws[2 * t + 1] * (rhi - rlo))
                bh = int(round(math.sqrt(erase_area * aspect)))
                bw = int(round(math.sqrt(erase_area / aspect)))
                if 0 < bh < h and 0 < bw < w:
                    y = min(int(draws[20] * (h - bh + 1)), h - bh)
                    x = min(int(draws[21] * (w - bw + 1)), w - bw)
                    boxes.append([x, y, x + bw, y + bh])
                    break
        params = {"boxes": boxes}
        if self.fill == "random":
            params["noise_seed"] = int(rng.integers(0, 2 ** 63 - 1))
        return params

    def check_params(self, params, shape):
        super().check_params(params, shape)
        _require(params, ("boxes",), type(self).__name__)
        F._check_boxes(params["boxes"], shape[0], shape[1], type(self).__name__)
        if self.fill == "random":
            _require(params, ("noise_seed",), type(self).__name__)

    def ops(self, params, shape):
        return F.erase_ops(params["boxes"], self.fill, params.get("noise_seed"), self.fill_mask)

    def get_config(self):
        count = self.count[0] if self.count[0] == self.count[1] else list(self.count)
        return {"scale": list(self.scale), "ratio": list(self.ratio), "count": count,
                "fill": _fill_config(self.fill), "fill_mask": _fill_config(self.fill_mask), **super().get_config()}
