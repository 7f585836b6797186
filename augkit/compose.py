"""Composition: :class:`Compose`, :class:`OneOf`, :class:`SomeOf`.

A composition samples its children in order and hands the whole sampled
sequence to one fused rendering pass (see :mod:`augkit.plan`).

Examples
--------
>>> import numpy as np
>>> import augkit as A
>>> pipe = A.Compose([A.RandomCrop(32, 32), A.HorizontalFlip(), A.Tint()], seed=0)
>>> pipe(image=np.zeros((48, 48, 3), np.uint8))["image"].shape
(32, 32, 3)
"""
from __future__ import annotations

import numbers

import numpy as np

from . import bbox as _bbox
from ._validate import _short, check_int
from .core import Transform


def _check_children(transforms, owner):
    if isinstance(transforms, Transform) or not hasattr(transforms, "__iter__"):
        raise ValueError(f"{owner}: transforms must be a list of transforms, got {transforms!r}")
    items = list(transforms)
    for i, t in enumerate(items):
        if not isinstance(t, Transform):
            raise ValueError(f"{owner}: transforms[{i}] must be an augkit transform, got {t!r}")
    return items


class _Container(Transform):
    def __init__(self, transforms, p):
        super().__init__(p)
        self.transforms = _check_children(transforms, type(self).__name__)

    def get_config(self):
        return {"transforms": [t.to_dict() for t in self.transforms], **super().get_config()}

    def _settings(self):
        return {**self.get_config(), "transforms": list(self.transforms)}

    def __repr__(self):
        inner = ",\n".join("  " + "\n  ".join(repr(t).splitlines()) for t in self.transforms)
        rest = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "transforms")
        return f"{type(self).__name__}([\n{inner}\n], {rest})"

    def __len__(self):
        return len(self.transforms)

    def __getitem__(self, i):
        return self.transforms[i]

    def _bad_record(self, record):
        raise ValueError(f"{type(self).__name__}: recorded params {_short(record)} do not match this pipeline")

    def _child_index(self, i):
        """True for a valid index of a child (an int, not a bool)."""
        return type(i) is int and 0 <= i < len(self.transforms)


class Compose(_Container):
    """Apply transforms in order, as one fused pass.

    Parameters
    ----------
    transforms : list of Transform
    p : float
        Probability of applying the whole sequence.
    seed : int or None
        Seed of the pipeline's own stream, used by calls without ``rng=``
        (fresh entropy when None).
    bbox_format : {"pascal_voc", "coco", "yolo"}
        Format of the first four box columns, in and out.
    min_visibility : float
        Boxes whose visible area falls below this fraction of their area before
        the pipeline are dropped.
    """

    def __init__(self, transforms, p=1.0, seed=None, bbox_format="pascal_voc", min_visibility=0.0):
        super().__init__(transforms, p)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"Compose: seed must be None or a non-negative int, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.bbox_format = _bbox.check_format(bbox_format)
        if isinstance(min_visibility, bool) or not isinstance(min_visibility, numbers.Real) \
                or not 0.0 <= min_visibility <= 1.0:
            raise ValueError(f"Compose: min_visibility must be a number in [0, 1], got {min_visibility!r}")
        self.min_visibility = float(min_visibility)

    def _sample(self, rng, shape, steps, force=False):
        if not force and self.p < 1.0 and (self.p == 0.0 or rng.random() >= self.p):
            return None, shape
        records = []
        for t in self.transforms:
            rec, shape = t._sample(rng, shape, steps)
            records.append(rec)
        return records, shape

    def _replay(self, record, shape, steps):
        if record is None:
            return shape
        if not isinstance(record, (list, tuple)) or len(record) != len(self.transforms):
            self._bad_record(record)
        for t, rec in zip(self.transforms, record):
            shape = t._replay(rec, shape, steps)
        return shape

    def get_config(self):
        cfg = super().get_config()
        cfg.update(seed=self.seed, bbox_format=self.bbox_format, min_visibility=self.min_visibility)
        return cfg


class OneOf(_Container):
    """Apply exactly one child, picked with probability proportional to the children's ``p``.

    The picked child is applied unconditionally; the whole block applies with
    probability ``p``.
    """

    def __init__(self, transforms, p=0.5):
        super().__init__(transforms, p)
        self._probabilities()

    def _probabilities(self):
        """The children's ``p`` as probabilities, read when used: setting a child's ``p`` is seen.

        (Not ``_weights``: a OneOf pickled by an earlier augkit holds an array by that name.)
        """
        weights = np.array([t.p for t in self.transforms], dtype=np.float64)
        if len(weights) == 0 or not np.all(np.isfinite(weights) & (weights >= 0)) or not weights.sum() > 0:
            raise ValueError("OneOf: needs at least one child with p > 0 and none below 0 (children's p are the "
                             f"weights), got {[t.p for t in self.transforms]}")
        return weights / weights.sum()

    def _sample(self, rng, shape, steps, force=False):
        if not force and self.p < 1.0 and (self.p == 0.0 or rng.random() >= self.p):
            return None, shape
        index = int(rng.choice(len(self.transforms), p=self._probabilities()))
        rec, shape = self.transforms[index]._sample(rng, shape, steps, force=True)
        return {"index": index, "params": rec}, shape

    def _replay(self, record, shape, steps):
        if record is None:
            return shape
        if not isinstance(record, dict) or set(record) != {"index", "params"} or not self._child_index(record["index"]):
            self._bad_record(record)
        return self.transforms[record["index"]]._replay(record["params"], shape, steps)


class SomeOf(_Container):
    """Apply ``n`` children picked uniformly, in the order they are listed, each unconditionally.

    ``replace=True`` draws with replacement (a child may run more than once).
    """

    def __init__(self, transforms, n, replace=False, p=1.0):
        super().__init__(transforms, p)
        self.n = check_int(n, "SomeOf", "n", minimum=0)
        if not isinstance(replace, bool):
            raise ValueError(f"SomeOf: replace must be True or False, got {replace!r}")
        self.replace = replace
        if self.n > 0 and not self.transforms:
            raise ValueError(f"SomeOf: n must be 0 when there are no transforms, got n={self.n}")
        if not replace and self.n > len(self.transforms):
            raise ValueError(f"SomeOf: n must be <= the number of transforms ({len(self.transforms)}) "
                             f"when replace=False, got {self.n}")

    def _sample(self, rng, shape, steps, force=False):
        if not force and self.p < 1.0 and (self.p == 0.0 or rng.random() >= self.p):
            return None, shape
        picked = sorted(int(i) for i in rng.choice(len(self.transforms), size=self.n, replace=self.replace))
        records = []
        for i in picked:
            rec, shape = self.transforms[i]._sample(rng, shape, steps, force=True)
            records.append(rec)
        return {"indices": picked, "params": records}, shape

    def _replay(self, record, shape, steps):
        if record is None:
            return shape
        if (not isinstance(record, dict) or set(record) != {"indices", "params"}
                or not isinstance(record["indices"], list) or not isinstance(record["params"], list)
                or not len(record["indices"]) == len(record["params"]) == self.n
                or not all(self._child_index(i) for i in record["indices"])):
            self._bad_record(record)
        for i, rec in zip(record["indices"], record["params"]):
            shape = self.transforms[i]._replay(rec, shape, steps)
        return shape

    def get_config(self):
        cfg = super().get_config()
        cfg.update(n=self.n, replace=self.replace)
        return cfg
