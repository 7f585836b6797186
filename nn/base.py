"""The two building blocks every other module uses: `Parameter` and `Layer`."""
from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and the gradient a backward pass writes next to it.

    Parameters
    ----------
    data : ndarray
        The values; optimisers update them in place (and may hold views of
        them), so change them in place too: ``p.data[...] = new``.
    name : str
        Short name used in diagnostics and saved files (``"W"``, ``"b"``).
    decay : bool
        Whether optimisers apply weight decay to it (weights yes, biases no).

    Attributes
    ----------
    grad : ndarray
        Same shape and dtype as ``data``. ``backward`` *overwrites* it (it does
        not accumulate), so there is nothing to zero between steps.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.ones((2, 3), np.float32), "W")
    >>> p.grad.shape, p.grad.dtype
    ((2, 3), dtype('float32'))
    """

    __slots__ = ("data", "grad", "name", "decay")

    def __init__(self, data: np.ndarray, name: str = "param", decay: bool = True):
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)
        self.name = name
        self.decay = decay

    @property
    def shape(self):
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.data.shape}, dtype={self.data.dtype})"


class Layer:
    """Base class: ``forward(x) -> out`` caches what ``backward(dout) -> dx`` needs.

    Subclasses with weights override `parameters`. ``training`` switches layers
    such as Dropout between their training and inference behaviour.
    """

    training = True

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract hook
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def backward(self, dout: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract hook
        raise NotImplementedError(f"{type(self).__name__} must define backward(dout)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def parameters(self) -> list[Parameter]:
        """Trainable parameters of this layer (none by default)."""
        return []

    def train(self, mode: bool = True) -> "Layer":
        """Switch to training (``mode=True``) or inference behaviour; returns self."""
        self.training = bool(mode)
        return self

    def eval(self) -> "Layer":
        """Shorthand for ``train(False)``."""
        return self.train(False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
