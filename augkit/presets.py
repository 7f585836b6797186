"""Built-in pipelines, by name (``augkit presets`` lists them).

Examples
--------
>>> from augkit.presets import get_preset
>>> [t.__class__.__name__ for t in get_preset("seed")]
['Shift', 'Tint', 'BoxErase']
"""
from __future__ import annotations

from .compose import Compose, OneOf
from .transforms import BoxErase, HorizontalFlip, RandomCrop, Shift, Tint, VerticalFlip

PRESETS = {
    "seed": ("shift + colour tint + random box erase: the three perturbations of the demo",
             lambda: [Shift(dx=0.1, dy=0.1, p=0.8), Tint(shift=30, p=0.8), BoxErase(p=0.5)]),
    "flip": ("horizontal flip only", lambda: [HorizontalFlip(p=0.5)]),
    "light": ("small shifts and brightness changes, no erasing",
              lambda: [Shift(dx=0.05, dy=0.05, p=0.5), Tint(shift=15, per_channel=False, p=0.5)]),
    "strong": ("flip, larger shifts, tint with contrast, up to 3 erased boxes",
               lambda: [HorizontalFlip(), Shift(dx=0.2, dy=0.2, p=0.9),
                        Tint(shift=40, scale=(0.7, 1.3), p=0.9), BoxErase(count=(1, 3), p=0.7)]),
    "classic": ("flip + shift + tint + erase, the five-transform benchmark pipeline minus the crop",
                lambda: [HorizontalFlip(), OneOf([Shift(p=1.0), VerticalFlip(p=0.2)], p=0.8),
                         Tint(), BoxErase()]),
}


def preset_names():
    return list(PRESETS)


def describe(name):
    return PRESETS[name][0]


def get_preset(name, seed=None, crop=None):
    """A :class:`Compose` for preset ``name``; ``crop=(h, w)`` prepends a ``RandomCrop``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    transforms = PRESETS[name][1]()
    if crop is not None:
        transforms = [RandomCrop(crop[0], crop[1], pad_if_needed=True)] + transforms
    return Compose(transforms, seed=seed)
