"""The lecture's initialisation experiment, as one call.

Feed N(0, 1) input of shape (n, width) through ``depth`` bias-free layers of
``width`` units, ``h = act(h @ W)``, for every (init, activation) pair, and
record each layer's statistics. Typical use (what ``augkit init-study`` does)::

    study = init_study()
    print(format_std_table(study))
    plot_init_study(study, "init_study.png")
"""
from __future__ import annotations

import numpy as np

from . import _checks
from . import activations as _act
from . import init as _init
from .diagnostics import array_stats
from .plots import plot_init_study

__all__ = ["init_study", "format_std_table", "plot_init_study", "DEFAULT_INITS", "DEFAULT_ACTIVATIONS"]

DEFAULT_INITS = ("small_gaussian", "large_gaussian", "xavier", "he")
DEFAULT_ACTIVATIONS = ("tanh", "relu")


def _names(owner, arg, value, allowed):
    if isinstance(value, str):
        value = (value,)
    value = tuple(value)
    if not value:
        raise ValueError(f"{owner}: {arg} must name at least one of {', '.join(allowed)}, got ()")
    for v in value:
        _checks.choice(owner, arg, v, allowed)
    return value


def init_study(depth=10, width=500, n=1000, inits=DEFAULT_INITS, activations=DEFAULT_ACTIVATIONS,
               seed=0, bins=50, dtype=np.float32) -> dict:
    """Run the experiment for every init x activation.

    Parameters
    ----------
    depth, width, n : int
        Layers, units per layer, samples.
    inits : sequence of str
        Names from `nn.init.NAMES`.
    activations : sequence of str
        Names from `nn.activations.NAMES`.
    seed : int
        The input is drawn from ``default_rng(seed)``; the weights of init
        number ``i`` from ``default_rng((seed, i))`` — so every activation sees
        the same weights for a given init.
    bins : int
        Histogram bins per layer.
    dtype : float32 or float64
        float32 (the default) halves the time; the statistics agree to ~3 digits.

    Returns
    -------
    dict
        A plain structure: ``depth``, ``width``, ``n``, ``seed``, and ``runs``:
        a list of ``{"init", "activation", "layers": [stats per layer]}``
        with the fields of `nn.diagnostics.array_stats` (``mean``, ``std``,
        ``frac_saturated``, ``frac_zero``, ``frac_dead``, ``hist``, ``edges``).

    Examples
    --------
    >>> s = init_study(depth=3, width=50, n=100, inits=["small_gaussian"], activations=["tanh"])
    >>> [round(l["std"], 2) for l in s["runs"][0]["layers"]][0]
    0.07
    """
    owner = "init_study"
    depth = _checks.number(owner, "depth", depth, low=1, integer=True)
    width = _checks.number(owner, "width", width, low=1, integer=True)
    n = _checks.number(owner, "n", n, low=1, integer=True)
    seed = _checks.number(owner, "seed", seed, low=0, integer=True)
    inits = _names(owner, "inits", inits, _init.NAMES)
    activations = _names(owner, "activations", activations, _act.NAMES)
    dtype = _checks.float_dtype(owner, dtype)
    x = np.random.default_rng(seed).standard_normal((n, width), dtype=dtype)
    runs = []
    for i, init_name in enumerate(inits):
        wrng = np.random.default_rng((seed, i))
        f = _init.get(init_name)
        weights = [f(width, width, wrng, dtype=dtype) for _ in range(depth)]
        for act_name in activations:
            act = _act.get(act_name)
            h, layers = x, []
            for w in weights:
                h = act.forward(h @ w)
                layers.append(array_stats(h, act_name, bins=bins))
            runs.append({"init": init_name, "activation": act_name, "layers": layers})
    return {"depth": depth, "width": width, "n": n, "seed": seed, "runs": runs}


def format_std_table(study, stat="std", fmt="markdown", digits=2) -> str:
    """The per-layer table of ``stat`` (std by default), one row per run.

    Parameters
    ----------
    study : dict
        From `init_study`.
    stat : {"std", "mean", "frac_saturated", "frac_zero", "frac_dead"}
    fmt : {"markdown", "text"}
    digits : int
        Significant digits.

    Examples
    --------
    >>> s = init_study(depth=2, width=50, n=100, inits=["he"], activations=["relu"])
    >>> print(format_std_table(s, fmt="text").splitlines()[0])
    init  activation  L1    L2
    """
    _checks.choice("format_std_table", "stat", stat,
                   ("std", "mean", "frac_saturated", "frac_zero", "frac_dead"))
    _checks.choice("format_std_table", "fmt", fmt, ("markdown", "text"))
    digits = _checks.number("format_std_table", "digits", digits, low=1, integer=True)
    header = ["init", "activation"] + [f"L{i + 1}" for i in range(study["depth"])]

    def cell(v):
        return "-" if v is None else f"{v:.{digits}g}"

    rows = [[r["init"], r["activation"]] + [cell(l[stat]) for l in r["layers"]] for r in study["runs"]]
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[c]) for row in [header] + rows) for c in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip()
                     for row in [header] + rows)
