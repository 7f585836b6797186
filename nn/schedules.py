"""Learning-rate schedules: each factory returns a pure function ``f(step) -> lr``.

``step`` is the number of optimiser updates already made (0 for the first).
Pass the function as ``lr=`` to any optimiser in `nn.optim`.

Examples
--------
>>> f = step_decay(0.1, step_size=100, gamma=0.5)
>>> f(0), f(99), f(100), f(250)
(0.1, 0.1, 0.05, 0.025)
"""
from __future__ import annotations

import math

from . import _checks

__all__ = ["constant", "step_decay", "exponential_decay", "cosine", "warmup"]


def _lr(owner, lr, name="lr"):
    return _checks.number(owner, name, lr, low=0.0, low_open=True)


def constant(lr):
    """``f(step) = lr``.

    Examples
    --------
    >>> constant(0.1)(1000)
    0.1
    """
    lr = _lr("constant", lr)
    return lambda step: lr


def step_decay(lr, step_size, gamma=0.1):
    """``lr * gamma ** (step // step_size)``.

    Examples
    --------
    >>> step_decay(1.0, 10)(25)
    0.010000000000000002
    """
    lr = _lr("step_decay", lr)
    step_size = _checks.number("step_decay", "step_size", step_size, low=1, integer=True)
    gamma = _checks.number("step_decay", "gamma", gamma, low=0.0, low_open=True)
    return lambda step: lr * gamma ** (step // step_size)


def exponential_decay(lr, gamma):
    """``lr * gamma ** step``, ``0 < gamma <= 1`` (a decay).

    Examples
    --------
    >>> exponential_decay(1.0, 0.5)(3)
    0.125
    """
    lr = _lr("exponential_decay", lr)
    gamma = _checks.number("exponential_decay", "gamma", gamma, low=0.0, low_open=True, high=1.0)
    return lambda step: lr * gamma ** step


def cosine(lr, total_steps, min_lr=0.0):
    """Cosine annealing from ``lr`` to ``min_lr`` over ``total_steps``, then ``min_lr``.

    Examples
    --------
    >>> f = cosine(1.0, 100)
    >>> f(0), round(f(50), 6), f(100), f(200)
    (1.0, 0.5, 0.0, 0.0)
    """
    lr = _lr("cosine", lr)
    total = _checks.number("cosine", "total_steps", total_steps, low=1, integer=True)
    min_lr = _checks.number("cosine", "min_lr", min_lr, low=0.0, high=lr)

    def f(step):
        s = min(step, total)
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * s / total))
    return f


def warmup(schedule, warmup_steps):
    """Linear warm-up over ``warmup_steps``, then ``schedule`` (a float or a schedule).

    During warm-up ``f(step) = base(warmup_steps) * (step + 1) / warmup_steps``.

    Examples
    --------
    >>> f = warmup(0.1, 4)
    >>> [round(f(s), 3) for s in range(6)]
    [0.025, 0.05, 0.075, 0.1, 0.1, 0.1]
    """
    base = schedule if callable(schedule) else constant(_lr("warmup", schedule, "schedule"))
    n = _checks.number("warmup", "warmup_steps", warmup_steps, low=1, integer=True)

    def f(step):
        return base(n) * (step + 1) / n if step < n else base(step)
    return f
