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
import numbers

import numpy as np

from . import functional as F
from ._validate import F32_MAX, _short, check_channel_values, check_fill, check_int, check_range
from ._program import sample_builtin
from .core import Transform

__all__ = ["HorizontalFlip", "VerticalFlip", "Crop", "CenterCrop", "RandomCrop", "Shift", "Tint", "BoxErase"]


def _fill_config(fill):
    return list(fill) if isinstance(fill, tuple) else fill


def _require(params, keys, owner, optional=()):
    """Recorded ``params`` must hold ``keys`` and nothing but them and ``optional``."""
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{owner}: recorded params {_short(params)} lack {', '.join(missing)}")
    unknown = [k for k in params if k not in keys and k not in optional]
    if unknown:
        expected = ", ".join((*keys, *optional)) or "no keys (it records {})"
        raise ValueError(f"{owner}: recorded params {_short(params)} have unknown key(s) "
                         f"{', '.join(map(repr, unknown))}; expected {expected}")


# |dx|, |dy| allowed with unit="px": far beyond any image, and exact in the float64 program table.
_MAX_PX_SHIFT = 2 ** 31
# BoxErase's most boxes per call (each costs 22 uniforms per call).
_MAX_BOXES = 1024


class _Builtin(Transform):
    """What the built-in transforms share: they sample from a fixed block of uniforms.

    ``kind`` is the transform's code in :mod:`augkit._kernels`, which computes
    the parameters (the same numbers on every path); ``n_uniforms(channels)``
    is the size of the block, ``program_cfg()`` the settings row it reads,
    ``program_fill`` the fill colour a geometric step uses, and
    ``params_from_row`` turns the numbers back into the recorded dict, whose
    keys are ``record_keys`` (and maybe ``optional_keys``): replay rejects
    others, so a subclass that records other keys names them there. The
    values of ``int_keys`` must be whole numbers.
    """

    kind = -1
    record_keys = ()        # the keys of a recorded params dict
    optional_keys = ()
    int_keys = ()           # those of them that hold a whole number of pixels

    @property
    def program_fill(self):
        """The fill colour of a geometric step: read from ``fill`` when used (a changed ``fill`` is
        seen), unless a subclass set its own."""
        if "_program_fill" in self.__dict__:
            return self.__dict__["_program_fill"]
        fill = getattr(self, "fill", 0.0)
        return 0.0 if isinstance(fill, str) else fill

    @program_fill.setter
    def program_fill(self, value):
        self.__dict__["_program_fill"] = value

    def check_params(self, params, shape):
        super().check_params(params, shape)
        name = type(self).__name__
        _require(params, self.record_keys, name, self.optional_keys)
        for key in self.int_keys:
            check_int(params[key], name, f"recorded {key}")

    def n_uniforms(self, channels):
        return 0 if self.deterministic else 1

    def program_cfg(self):
        return []

    def params_from_row(self, row, channels):
        return {}

    def check_fits(self, shape):
        """Raise ``ValueError`` when this transform cannot run on an input of ``shape``."""

    def sample_params(self, rng, shape):
        """Draw this transform's parameters for an input of ``shape`` (as if applied)."""
        params = sample_builtin(self, rng, shape, force=True)
        if params is None:  # pragma: no cover - forced sampling always applies
            raise AssertionError("forced sampling did not apply")
        return params

    def _sample(self, rng, shape, steps, force=False):
        if type(self).sample_params is not _Builtin.sample_params:
            return super()._sample(rng, shape, steps, force)  # a subclass that samples its own way
        params = sample_builtin(self, rng, shape, force=force)
        if params is None:
            return None, shape
        steps.append((self, params, shape))
        return params, self.output_shape(params, shape)


class HorizontalFlip(_Builtin):
    """Mirror left-right (column ``x`` becomes ``W - 1 - x``; box edge ``x`` becomes ``W - x``).

    Examples
    --------
    >>> import numpy as np
    >>> HorizontalFlip(p=1.0)(image=np.arange(3, dtype=np.uint8)[None])["image"].tolist()
    [[2, 1, 0]]
    """

    kind = 0

    def __init__(self, p=0.5):
        super().__init__(p)

    def ops(self, params, shape):
        return F.hflip_ops(shape[0], shape[1])


class VerticalFlip(_Builtin):
    """Mirror top-bottom (row ``y`` becomes ``H - 1 - y``).

    Examples
    --------
    >>> import numpy as np
    >>> VerticalFlip(p=1.0)(image=np.arange(3, dtype=np.uint8)[:, None])["image"].ravel().tolist()
    [2, 1, 0]
    """

    kind = 1

    def __init__(self, p=0.5):
        super().__init__(p)

    def ops(self, params, shape):
        return F.vflip_ops(shape[0], shape[1])


class Crop(_Builtin):
    """The fixed region ``x_min <= x < x_max``, ``y_min <= y < y_max`` (max exclusive).

    Examples
    --------
    >>> import numpy as np
    >>> Crop(1, 0, 3, 2)(image=np.zeros((4, 4), np.uint8))["image"].shape
    (2, 2)
    """

    deterministic = True
    kind = 2

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

    def program_cfg(self):
        return [self.x_min, self.y_min, self.x_max, self.y_max]

    def check_fits(self, shape):
        self.check_params({}, shape)

    def ops(self, params, shape):
        return F.crop_ops(shape[0], shape[1], self.x_min, self.y_min, self.x_max, self.y_max)

    def output_shape(self, params, shape):
        return (self.y_max - self.y_min, self.x_max - self.x_min, shape[2])

    def get_config(self):
        return {"x_min": self.x_min, "y_min": self.y_min, "x_max": self.x_max, "y_max": self.y_max}


class _SizedCrop(_Builtin):
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

    def program_cfg(self):
        return [self.height, self.width, int(self.pad_if_needed)]

    def check_fits(self, shape):
        self._padded(shape)

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
    kind = 3

    def __init__(self, height, width, pad_if_needed=False, fill=0, fill_mask=0):
        super().__init__(height, width, pad_if_needed, fill, fill_mask, 1.0)

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

    kind = 4

    def __init__(self, height, width, pad_if_needed=False, fill=0, fill_mask=0, p=1.0):
        super().__init__(height, width, pad_if_needed, fill, fill_mask, p)

    def n_uniforms(self, channels):
        return 3

    def params_from_row(self, row, channels):
        return {"x": int(row[1]), "y": int(row[2])}

    record_keys = int_keys = ("x", "y")

    def ops(self, params, shape):
        return self._crop_ops(shape, int(params["x"]), int(params["y"]))


class Shift(_Builtin):
    """Translate by a whole number of pixels drawn uniformly per axis; the size is kept.

    Parameters
    ----------
    dx, dy : (min, max) or float
        Horizontal / vertical shift range; a single number ``v`` means ``(-v, v)``.
        Positive values move the content right / down. Fractions lie in
        ``[-1, 1]`` (a shift by the whole size leaves only fill); pixels within
        ``+-2**31``.
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

    kind = 5

    def __init__(self, dx=(-0.1, 0.1), dy=(-0.1, 0.1), unit="fraction", fill=0, fill_mask=0, p=0.5):
        super().__init__(p)
        name = type(self).__name__
        if unit not in ("fraction", "px"):
            raise ValueError(f'{name}: unit must be "fraction" or "px", got {unit!r}')
        self.unit = unit
        px = unit == "px"
        # A shift by the whole image or more leaves only fill: fractions lie in [-1, 1].
        limit = _MAX_PX_SHIFT if px else 1.0
        try:
            self.dx = check_range(dx, name, "dx", symmetric=True, integer=px, low=-limit, high=limit)
            self.dy = check_range(dy, name, "dy", symmetric=True, integer=px, low=-limit, high=limit)
        except ValueError as err:
            if px and "whole numbers" in str(err):
                # The defaults are fractions: with unit="px" both axes need pixels.
                raise ValueError(f'{err}; with unit="px" give both dx and dy in whole pixels '
                                 f"(the default (-0.1, 0.1) is a fraction), e.g. dy=0") from None
            raise
        self.fill = check_fill(fill, name)
        self.fill_mask = check_fill(fill_mask, name, "fill_mask")


    def n_uniforms(self, channels):
        return 3

    def program_cfg(self):
        return [*self.dx, *self.dy, int(self.unit == "px")]

    def params_from_row(self, row, channels):
        return {"dx": int(row[1]), "dy": int(row[2])}

    record_keys = int_keys = ("dx", "dy")

    def ops(self, params, shape):
        return F.shift_ops(shape[0], shape[1], int(params["dx"]), int(params["dy"]), self.fill, self.fill_mask)

    def get_config(self):
        return {"dx": list(self.dx), "dy": list(self.dy), "unit": self.unit, "fill": _fill_config(self.fill),
                "fill_mask": _fill_config(self.fill_mask), **super().get_config()}


class Tint(_Builtin):
    """Per-channel colour shift and scale: ``out = clip(image * s_c + o_c)``.

    Parameters
    ----------
    shift : (min, max) or float
        Range of the offset ``o_c`` in image units (levels for uint8, the
        image's own units for float); a single number ``v`` means ``(-v, v)``.
    scale : (min, max)
        Range of the factor ``s_c`` (>= 0). Both ranges must lie within
        float32's (about +-3.4e38), in which tints are computed.
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

    kind = 6

    def __init__(self, shift=(-20, 20), scale=(1.0, 1.0), per_channel=True, p=0.5):
        super().__init__(p)
        name = type(self).__name__
        # Tints are applied in float32 (uint8 through a table made from them): beyond its range they overflow.
        self.shift = check_range(shift, name, "shift", symmetric=True, low=-F32_MAX, high=F32_MAX)
        self.scale = check_range(scale, name, "scale", low=0.0, high=F32_MAX)
        if not isinstance(per_channel, bool):
            raise ValueError(f"{name}: per_channel must be True or False, got {per_channel!r}")
        self.per_channel = per_channel


    def n_uniforms(self, channels):
        return 1 + 2 * (channels if self.per_channel else 1)

    def program_cfg(self):
        return [*self.shift, *self.scale, int(self.per_channel)]

    def params_from_row(self, row, channels):
        values = row[1:1 + 2 * channels].tolist()
        return {"offset": values[:channels], "scale": values[channels:]}

    record_keys = ("offset", "scale")

    def check_params(self, params, shape):
        super().check_params(params, shape)
        for key in self.record_keys:
            check_channel_values(params[key], shape[2], type(self).__name__, f"recorded {key}")

    def ops(self, params, shape):
        return F.tint_ops(params["scale"], params["offset"])

    def get_config(self):
        return {"shift": list(self.shift), "scale": list(self.scale), "per_channel": self.per_channel,
                **super().get_config()}


class BoxErase(_Builtin):
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
        Number of boxes (a range draws it uniformly, inclusive), at most 1024.
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

    kind = 7

    def __init__(self, scale=(0.02, 0.33), ratio=(0.3, 3.3), count=1, fill=0, fill_mask=None, p=0.5):
        super().__init__(p)
        name = type(self).__name__
        self.scale = check_range(scale, name, "scale", low=0.0, low_open=True, high=1.0)
        self.ratio = check_range(ratio, name, "ratio", low=0.0, low_open=True)
        if isinstance(count, numbers.Real) and not isinstance(count, (bool, np.bool_)):   # 2 or 2.0
            self.count = (check_int(count, name, "count", minimum=0),) * 2
        else:
            self.count = check_range(count, name, "count", low=0, integer=True)
        if self.count[1] > _MAX_BOXES:
            raise ValueError(f"{name}: count must be at most {_MAX_BOXES} boxes, got {count!r}")
        self.fill = check_fill(fill, name, allow_random=True)
        self.fill_mask = None if fill_mask is None else check_fill(fill_mask, name, "fill_mask")


    def n_uniforms(self, channels):
        # p, count, 10 tries x (area, ratio) + (y, x) per possible box, noise seed
        return 3 + 22 * self.count[1]

    def program_cfg(self):
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        return [*self.scale, *log_ratio, *self.count, int(self.fill == "random")]

    def params_from_row(self, row, channels):
        n = int(row[1])
        coords = row[3:3 + 4 * n].astype(np.int64).tolist()
        params = {"boxes": [coords[4 * b:4 * b + 4] for b in range(n)]}
        if self.fill == "random":
            params["noise_seed"] = int(row[2])
        return params

    record_keys = ("boxes",)
    optional_keys = ("noise_seed",)   # recorded with fill="random"; ignored otherwise

    def check_params(self, params, shape):
        super().check_params(params, shape)
        name = type(self).__name__
        F._check_boxes(params["boxes"], shape[0], shape[1], name)
        if self.fill == "random" and "noise_seed" not in params:
            raise ValueError(f'{name}: recorded params {_short(params)} lack noise_seed (fill="random" needs it)')
        if params.get("noise_seed") is not None:
            check_int(params["noise_seed"], name, "recorded noise_seed", minimum=0)

    def ops(self, params, shape):
        return F.erase_ops(params["boxes"], self.fill, params.get("noise_seed"), self.fill_mask)

    def get_config(self):
        count = self.count[0] if self.count[0] == self.count[1] else list(self.count)
        return {"scale": list(self.scale), "ratio": list(self.ratio), "count": count,
                "fill": _fill_config(self.fill), "fill_mask": _fill_config(self.fill_mask), **super().get_config()}
