"""Optimisers with one interface: ``opt.step(params)`` updates in place.

``params`` is a list of `nn.base.Parameter` (``model.parameters()``); each
parameter's ``grad`` must hold the gradient from the last backward pass.
State (velocity, moments) is created on the first step and reused, so steps
allocate nothing. ``lr`` is a float or a schedule ``f(step) -> lr`` from
`nn.schedules`; ``step`` counts the updates made before the current one.
Weight decay is L2 (``g += weight_decay * w``) on parameters whose
``decay`` flag is set (weights, not biases).
"""
from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Shared machinery: learning-rate lookup, step counter, per-parameter state."""

    def __init__(self, lr, weight_decay=0.0):
        name = type(self).__name__
        if not callable(lr):
            lr = _checks.number(name, "lr", lr, low=0.0, low_open=True)
        self.lr = lr
        self.weight_decay = _checks.number(name, "weight_decay", weight_decay, low=0.0)
        self.t = 0
        self._state: dict[int, dict] = {}

    def current_lr(self) -> float:
        """The learning rate the next `step` will use."""
        return float(self.lr(self.t)) if callable(self.lr) else self.lr

    def _state_for(self, p, names):
        st = self._state.get(id(p))
        if st is None or st["param"] is not p:
            st = {"param": p, "tmp": np.empty_like(p.data)}
            for n in names:
                st[n] = np.zeros_like(p.data)
            self._state[id(p)] = st
        return st

    def step(self, params) -> None:
        """Apply one update to every parameter in ``params``."""
        lr = self.current_lr()
        for p in params:
            self._update(p, lr)
        self.t += 1

    def _update(self, p, lr):  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Same update as ``torch.optim.SGD``: ``v = momentum * v + g``; the step is
    ``-lr * v`` (or ``-lr * (g + momentum * v)`` with ``nesterov=True``).

    Parameters
    ----------
    lr : float or callable
        Learning rate, or schedule ``f(step) -> lr``.
    momentum : float in [0, 1), default 0
    nesterov : bool, default False
        Needs ``momentum > 0``.
    weight_decay : float >= 0, default 0

    Examples
    --------
    >>> import numpy as np
    >>> from nn.base import Parameter
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 2.0
    >>> SGD(lr=0.1).step([p]); p.data
    array([0.8])
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum = _checks.number("SGD", "momentum", momentum, low=0.0, high=1.0, high_open=True)
        if nesterov not in (True, False):
            raise ValueError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)

    def _decayed_grad(self, p, tmp):
        """``grad + weight_decay * data`` (in ``tmp``) or ``grad`` itself."""
        if self.weight_decay and p.decay:
            np.multiply(p.data, self.weight_decay, out=tmp)
            tmp += p.grad
            return tmp
        return p.grad

    def _update(self, p, lr):
        st = self._state_for(p, ("v",) if self.momentum else ())
        tmp = st["tmp"]
        g = self._decayed_grad(p, tmp)
        if self.momentum:
            v = st["v"]
            v *= self.momentum
            v += g
            if self.nesterov:
                np.multiply(g, -lr, out=tmp)
                p.data += tmp
                np.multiply(v, -lr * self.momentum, out=tmp)
                p.data += tmp
                return
            g = v
        np.multiply(g, -lr, out=tmp)
        p.data += tmp

    def __repr__(self):
        return (f"SGD(lr={self.lr!r}, momentum={self.momentum}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay})")


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, as ``torch.optim.Adam``.

    Parameters
    ----------
    lr : float or callable, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment, each in [0, 1).
    eps : float > 0, default 1e-8
    weight_decay : float >= 0, default 0
        L2 penalty added to the gradient (not decoupled as in AdamW).

    Examples
    --------
    >>> import numpy as np
    >>> from nn.base import Parameter
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 5.0
    >>> Adam(lr=0.1).step([p]); p.data.round(6)
    array([0.9])
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (_checks.number("Adam", "betas[0]", b1, low=0.0, high=1.0, high_open=True),
                      _checks.number("Adam", "betas[1]", b2, low=0.0, high=1.0, high_open=True))
        self.eps = _checks.number("Adam", "eps", eps, low=0.0, low_open=True)

    def _update(self, p, lr):
        b1, b2 = self.betas
        decay = bool(self.weight_decay and p.decay)
        st = self._state_for(p, ("m", "v", "g") if decay else ("m", "v"))
        tmp, m, v = st["tmp"], st["m"], st["v"]
        g = p.grad
        if decay:
            g = st["g"]
            np.multiply(p.data, self.weight_decay, out=g)
            g += p.grad
        m *= b1
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        t = self.t + 1
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        np.sqrt(v, out=tmp)
        tmp *= 1 / np.sqrt(c2)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= -lr / c1
        p.data += tmp

    def __repr__(self):
        return f"Adam(lr={self.lr!r}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
