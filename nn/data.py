"""Minibatches from in-memory arrays, reproducible for a seed.

`Batches` is the simplest thing `nn.trainer.Trainer.fit` accepts: a callable
``epoch -> iterable of (x, y)`` whose order for epoch ``e`` depends only on
``(seed, e)`` — so a resumed or repeated run sees the same batches.
"""
from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["Batches"]


class Batches:
    """Split ``(x, y)`` into minibatches, reshuffled every epoch.

    Parameters
    ----------
    x : ndarray (N, ...)
    y : ndarray (N,)
    batch_size : int, default 128
    shuffle : bool, default True
    seed : int >= 0 or None, default 0
        The order of epoch ``e`` is drawn from ``default_rng((seed, e))``;
        None draws a fresh order every time.
    drop_last : bool, default False
        Skip a final batch smaller than ``batch_size``.

    Examples
    --------
    >>> import numpy as np
    >>> b = Batches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=1)
    >>> [len(yb) for xb, yb in b(0)]
    [4, 4, 2]
    >>> [yb.tolist() for _, yb in b(3)] == [yb.tolist() for _, yb in b(3)]
    True
    """

    def __init__(self, x, y, batch_size=128, shuffle=True, seed=0, drop_last=False):
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"Batches: x and y must have the same length, got {len(x)} and {len(y)}")
        self.x, self.y = x, y
        self.batch_size = _checks.number("Batches", "batch_size", batch_size, low=1, integer=True)
        self.shuffle = bool(shuffle)
        self.seed = None if seed is None else _checks.number("Batches", "seed", seed, low=0, integer=True)
        self.drop_last = bool(drop_last)

    def __len__(self):
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __call__(self, epoch: int = 0):
        n = len(self.x)
        order = None
        if self.shuffle:
            order = np.random.default_rng(None if self.seed is None else (self.seed, epoch)).permutation(n)
        for i in range(len(self)):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            if order is None:
                yield self.x[sl], self.y[sl]
            else:
                idx = order[sl]
                yield self.x[idx], self.y[idx]

    def __iter__(self):
        return self(0)
