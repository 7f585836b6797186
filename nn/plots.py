"""PNG plots of activation statistics. matplotlib is imported only here, when a
function is called (``pip install augkit[plot]``)."""
from __future__ import annotations

import os

from ._io import atomic_write

__all__ = ["plot_activation_histograms", "plot_init_study", "save_figure"]


def _pyplot():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("nn.plots needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _write_figure(fig, path, dpi):
    """``fig.savefig(path, dpi=dpi)``, written atomically (the format from ``path``'s suffix,
    PNG without one, as matplotlib does)."""
    if hasattr(path, "write"):
        fig.savefig(path, dpi=dpi)
        return
    suffix = os.path.splitext(os.fspath(path))[1][1:].lower()
    atomic_write(path, lambda fh: fig.savefig(fh, dpi=dpi, format=suffix or None))


def save_figure(fig, path, title=None, dpi=100) -> str:
    """Title (optional), tight layout, write ``fig`` to ``path`` as PNG (atomically), close it;
    returns the path."""
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    try:
        _write_figure(fig, path, dpi)
    finally:
        _pyplot().close(fig)
    return str(path)


def _hist(ax, s, label):
    ax.stairs(s["hist"], s["edges"], fill=True, color="tab:blue")
    ax.set_title(f"{label}\nmean {s['mean']:.2g}  std {s['std']:.2g}", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_yticks([])


def plot_activation_histograms(stats, path, title=None, kinds=None) -> str:
    """One figure, one histogram per layer (the lecture's layout); writes a PNG.

    Parameters
    ----------
    stats : list of dict
        From `nn.diagnostics.activation_stats`.
    path : str or Path
    title : str, optional
    kinds : set of str, optional
        Only layers of these kinds (default: every activation layer, or every
        layer if there are none).

    Returns
    -------
    str
        The path written.
    """
    plt = _pyplot()
    if kinds is None:
        acts = [s for s in stats if s["kind"] in ("tanh", "sigmoid", "relu", "leaky_relu", "elu")]
        chosen = acts or list(stats)
    else:
        chosen = [s for s in stats if s["kind"] in kinds]
    if not chosen:
        raise ValueError(f"plot_activation_histograms: no layer of kinds {kinds!r} in stats")
    fig, axes = plt.subplots(1, len(chosen), figsize=(1.8 * len(chosen) + 1, 2.2), squeeze=False)
    for ax, s in zip(axes[0], chosen):
        _hist(ax, s, f"layer {s['index']} ({s['kind']})")
    return save_figure(fig, path, title, dpi=100)


def plot_init_study(study, path) -> str:
    """Histogram grid of `nn.experiments.init_study`: one row per
    (init, activation), one column per layer; writes a PNG and returns its path.
    """
    plt = _pyplot()
    runs = study["runs"]
    depth = study["depth"]
    fig, axes = plt.subplots(len(runs), depth, figsize=(1.6 * depth + 1, 1.5 * len(runs) + 0.6),
                             squeeze=False)
    for r, run in enumerate(runs):
        for c, s in enumerate(run["layers"]):
            ax = axes[r][c]
            _hist(ax, s, f"layer {c + 1}")
            if c == 0:
                ax.set_ylabel(f"{run['init']}\n{run['activation']}", fontsize=7)
    fig.suptitle(f"Activations of a {depth}-layer, {study['width']}-unit net on N(0, 1) input "
                 f"(n={study['n']}, seed={study['seed']})", fontsize=9)
    # tight_layout on a grid this size costs seconds; fixed margins look the same.
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.04, top=1 - 0.9 / fig.get_figheight(),
                        hspace=0.9, wspace=0.15)
    try:
        _write_figure(fig, path, 80)
    finally:
        plt.close(fig)
    return str(path)
