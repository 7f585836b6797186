"""Networks: `Sequential` (a list of layers) and `MLP` (built from sizes)."""
from __future__ import annotations

import json

import numpy as np

from . import _checks, _io
from . import activations as _act
from . import init as _init
from .base import Layer
from .layers import Dropout, Linear

__all__ = ["Sequential", "MLP"]


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    Parameters
    ----------
    layers : list of Layer

    Shapes: ``x (N, d_in) -> scores (N, d_out)`` for a stack of Linear layers.

    Examples
    --------
    >>> import numpy as np
    >>> from nn.layers import Linear
    >>> from nn.activations import ReLU
    >>> net = Sequential([Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1)])
    >>> net.forward(np.ones((2, 4), np.float32)).shape
    (2, 3)
    >>> net.backward(np.ones((2, 3), np.float32)).shape
    (2, 4)
    """

    def __init__(self, layers):
        layers = list(layers)
        first_at = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"Sequential: layers[{i}] must be an nn Layer, got {type(layer).__name__}")
            # A layer keeps its forward input for backward: used twice, the second
            # forward overwrites what the first backward needs (wrong gradients).
            j = first_at.setdefault(id(layer), i)
            if j != i:
                name = type(layer).__name__
                raise ValueError(f"Sequential: layers[{j}] and layers[{i}] are the same {name} instance; "
                                 f"each position needs its own layer object (e.g. two {name}(...) calls)")
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout, input_grad: bool = True):
        """Backpropagate ``dout`` (N, d_out); fill every ``Parameter.grad``.

        Returns the gradient with respect to the input, or None when
        ``input_grad=False`` (training does not need it, and skipping it saves
        the first Linear layer's largest product).
        """
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            if i == 0 and not input_grad and isinstance(layer, Linear):
                return layer.backward(dout, input_grad=False)
            dout = layer.backward(dout)
        return dout

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def train(self, mode: bool = True):
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Class predictions ``argmax(scores)`` in inference mode, shape ``(N,)``.

        ``x`` of shape ``(N, ...)`` is flattened to ``(N, d)``, as `nn.Trainer` does for training.
        Runs in batches of ``batch_size``; restores the previous mode afterwards.
        """
        batch_size = _checks.number(f"{type(self).__name__}.predict", "batch_size", batch_size, low=1, integer=True)
        x = np.asarray(x)
        if x.ndim > 2:
            x = x.reshape(len(x), -1)
        was = self.training
        self.eval()
        try:
            out = [self.forward(x[i:i + batch_size]).argmax(axis=1)
                   for i in range(0, len(x), batch_size)]
        finally:
            self.train(was)
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def state(self) -> dict:
        """Parameter arrays keyed ``"<layer index>.<name>"`` (copies)."""
        return {f"{i}.{p.name}": p.data.copy()
                for i, layer in enumerate(self.layers) for p in layer.parameters()}

    def load_state(self, state) -> "Sequential":
        """Copy arrays from ``state`` (as made by `state`) into the parameters."""
        for i, layer in enumerate(self.layers):
            for p in layer.parameters():
                key = f"{i}.{p.name}"
                if key not in state:
                    raise ValueError(f"load: weights have no entry {key!r}; found {sorted(state)}")
                a = np.asarray(state[key])
                if a.shape != p.data.shape:
                    raise ValueError(f"load: {key} must have shape {p.data.shape}, got {a.shape}")
                p.data[...] = a
        return self

    def save(self, path) -> None:
        """Write the weights to a ``.npz`` file (atomically: an interrupted save keeps the old file)."""
        _io.savez(path, **self.state())

    def load(self, path) -> "Sequential":
        """Read weights saved by `save` into this (same-shaped) network; returns self."""
        with np.load(path) as f:
            return self.load_state({k: f[k] for k in f.files if not k.startswith("__")})

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"{type(self).__name__}([\n  {inner}\n])"


def _spawn(rng, n):
    """``n`` generators independent of ``rng``'s stream, from children of its ``SeedSequence``.

    Spawning draws nothing from ``rng``, so its stream is what it would be
    without them; for an int seed the children are fixed, hence reproducible.
    A Generator whose seed sequence cannot spawn falls back to one draw from
    ``rng``, which the caller makes after the weights.
    """
    seq = getattr(rng.bit_generator, "seed_seq", None) or getattr(rng.bit_generator, "_seed_seq", None)
    try:
        return [np.random.default_rng(child) for child in seq.spawn(n)]
    except (AttributeError, NotImplementedError):
        return [np.random.default_rng(s) for s in np.random.SeedSequence(int(rng.integers(2**62))).spawn(n)]


class MLP(Sequential):
    """Multi-layer perceptron: ``Linear -> activation [-> Dropout]`` per hidden
    layer, and a final Linear producing class scores.

    Parameters
    ----------
    sizes : sequence of int
        ``[d_in, hidden_1, ..., d_out]``, at least two entries.
    activation : str, default "relu"
        Name from `nn.activations.NAMES`.
    init : str, default "he"
        Name from `nn.init.NAMES`.
    dropout : float in [0, 1), default 0
        Dropout after each hidden activation (none if 0).
    rng : Generator, int or None
        Seeds the weights and dropout masks: same seed, same network. The
        weights are drawn from ``rng`` exactly as without dropout, so the same
        seed gives the same initial weights whatever ``dropout`` is; each
        Dropout's masks come from an independent child of the seed
        (``SeedSequence.spawn``), so the same seed and ``dropout`` also give
        the same masks. Spawning advances the seed sequence's child counter:
        streams you spawn later from the same Generator differ from the
        masks', but the first children of a fresh ``default_rng(seed)`` are
        the masks' own streams.
    dtype : float32 or float64, default float32
    activation_kwargs : dict, optional
        E.g. ``{"alpha": 0.1}`` for leaky_relu.

    Examples
    --------
    >>> import numpy as np
    >>> net = MLP([2, 16, 2], activation="tanh", init="xavier", rng=0)
    >>> net.predict(np.zeros((3, 2), np.float32)).shape
    (3,)
    """

    def __init__(self, sizes, activation="relu", init="he", dropout=0.0, rng=None,
                 dtype=np.float32, activation_kwargs=None):
        sizes = list(sizes) if np.iterable(sizes) else sizes
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError(f"MLP: sizes must be a sequence of at least two layer widths, got {sizes!r}")
        for i, s in enumerate(sizes):
            _checks.number("MLP", f"sizes[{i}]", s, low=1, integer=True)
        _checks.choice("MLP", "activation", activation, _act.NAMES)
        _checks.choice("MLP", "init", init, _init.NAMES)
        dropout = _checks.number("MLP", "dropout", dropout, low=0.0, high=1.0, high_open=True)
        dtype = _checks.float_dtype("MLP", dtype)
        rng = _checks.generator("MLP", rng)
        kwargs = dict(activation_kwargs or {})
        linears = [Linear(a, b, init=init, rng=rng, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:])]
        # Mask seeds come from a stream of their own: drawn from ``rng`` between the
        # weight draws, they would shift every later layer's weights when dropout is on.
        mask_rngs = _spawn(rng, len(linears) - 1) if dropout else []
        layers = []
        for i, linear in enumerate(linears):
            layers.append(linear)
            if i < len(linears) - 1:
                layers.append(_act.get(activation, **kwargs))
                if dropout:
                    layers.append(Dropout(dropout, rng=mask_rngs[i]))
        super().__init__(layers)
        self.config = {"sizes": [int(s) for s in sizes], "activation": activation, "init": init,
                       "dropout": dropout, "dtype": dtype.name, "activation_kwargs": kwargs}

    def save(self, path) -> None:
        """Write weights and the constructor arguments to a ``.npz`` file (atomically, as `Sequential.save`)."""
        _io.savez(path, __config__=np.array(json.dumps(self.config)), **self.state())

    @classmethod
    def from_file(cls, path, rng=None) -> "MLP":
        """Rebuild an MLP saved with `save` (architecture and weights).

        Examples
        --------
        >>> import tempfile, os, numpy as np
        >>> net = MLP([3, 4, 2], rng=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> net.save(path)
        >>> bool(np.array_equal(MLP.from_file(path).layers[0].W.data, net.layers[0].W.data))
        True
        """
        with np.load(path) as f:
            if "__config__" not in f.files:
                raise ValueError(f"MLP.from_file: {path!s} holds no MLP configuration "
                                 "(was it written by MLP.save?)")
            config = json.loads(str(f["__config__"]))
        return cls(rng=rng, **config).load(path)
