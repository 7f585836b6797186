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

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _checks

__all__ = ["Optimizer", "SGD", "Adam"]


#: Parameters with fewer elements than this are updated on the calling thread:
#: below ~64k floats a thread hand-off costs more than the update itself.
PARALLEL_MIN_SIZE = 1 << 16


class Optimizer:
    """Shared machinery: learning-rate lookup, step counter, per-parameter state,
    and optional multi-threaded updates of large parameters.

    ``threads > 1`` splits each large parameter into row blocks updated on a
    thread pool (NumPy releases the GIL inside its element-wise loops), which
    matters because an update is memory-bound and single-threaded otherwise.
    The result is identical to ``threads=1``. The blocks are views of
    ``Parameter.data``/``grad``: change parameter values in place
    (``p.data[...] = new``), never by rebinding ``p.data``.

    To checkpoint, pickle (or deepcopy) the optimiser together with the model,
    as one object such as ``(model, opt)``: the restored optimiser carries its
    step counter and its state for the restored parameters, so training
    resumes exactly.
    """

    def __init__(self, lr, weight_decay=0.0, threads=1):
        name = type(self).__name__
        if not callable(lr):
            lr = _checks.number(name, "lr", lr, low=0.0, low_open=True)
        self.lr = lr
        self.weight_decay = _checks.number(name, "weight_decay", weight_decay, low=0.0)
        self.threads = _checks.number(name, "threads", threads, low=1, integer=True)
        self.t = 0
        self._state: dict[int, dict] = {}
        self._pool = None

    def current_lr(self) -> float:
        """The learning rate the next `step` will use."""
        return float(self.lr(self.t)) if callable(self.lr) else self.lr

    def _state_names(self, p) -> tuple:  # pragma: no cover - abstract hook
        raise NotImplementedError(f"{type(self).__name__} must define _state_names(param) -> names of its state arrays")

    def _decayed(self, data, grad, decay, out):
        """``grad + weight_decay * data`` in ``out`` when this parameter decays, else ``grad`` itself."""
        if not (self.weight_decay and decay):
            return grad
        np.multiply(data, self.weight_decay, out=out)
        out += grad
        return out

    def _state_for(self, p):
        entry = self._state.get(id(p))
        if entry is None or entry["param"] is not p:
            arrays = {"tmp": np.empty_like(p.data)}
            for n in self._state_names(p):
                arrays[n] = np.zeros_like(p.data)
            entry = {"param": p, "arrays": arrays, "blocks": self._blocks(p, arrays)}
            self._state[id(p)] = entry
        return entry

    def _blocks(self, p, arrays) -> list:
        """Row blocks ``(data, grad, state)`` of a large parameter, as views; [] when not split."""
        rows = p.data.shape[0] if p.data.ndim else 0
        if not (self.threads > 1 and p.data.size >= PARALLEL_MIN_SIZE and rows >= self.threads):
            return []
        cuts = np.linspace(0, rows, self.threads + 1).astype(int)
        return [(p.data[a:b], p.grad[a:b], {k: v[a:b] for k, v in arrays.items()})
                for a, b in zip(cuts[:-1], cuts[1:])]

    def step(self, params) -> None:
        """Apply one update to every parameter in ``params``."""
        lr = self.current_lr()
        jobs = []
        for p in params:
            entry = self._state_for(p)
            if entry["blocks"]:
                jobs += [(data, grad, p.decay, st) for data, grad, st in entry["blocks"]]
            else:
                self._update(p.data, p.grad, p.decay, entry["arrays"], lr)
        if jobs:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="nn-optim")
            for f in [self._pool.submit(self._update, *job, lr) for job in jobs]:
                f.result()
        self.t += 1

    def _update(self, data, grad, decay, st, lr):  # pragma: no cover - abstract hook
        raise NotImplementedError(f"{type(self).__name__} must define _update(data, grad, decay, state, lr)")

    # State is keyed by id(param), which pickle and deepcopy do not keep: a copy
    # taken together with the model re-keys it by the restored parameters, and
    # rebuilds the thread blocks, which must be views of the restored arrays.
    def __getstate__(self):
        state = dict(self.__dict__, _pool=None)
        state["_state"] = [{"param": e["param"], "arrays": e["arrays"]} for e in self._state.values()]
        return state

    def __setstate__(self, state):
        entries = state.pop("_state")
        if isinstance(entries, dict):  # pickled before state was saved as a list
            entries = entries.values()
        self.__dict__.update(state)
        self._state = {id(e["param"]): dict(e, blocks=self._blocks(e["param"], e["arrays"]))
                       for e in entries}


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
    threads : int >= 1, default 1
        Threads for updating large parameters (see `Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> from nn.base import Parameter
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 2.0
    >>> SGD(lr=0.1).step([p]); p.data
    array([0.8])
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0, threads=1):
        super().__init__(lr, weight_decay, threads)
        self.momentum = _checks.number("SGD", "momentum", momentum, low=0.0, high=1.0, high_open=True)
        if nesterov not in (True, False):
            raise ValueError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)

    def _state_names(self, p):
        return ("v",) if self.momentum else ()

    def _update(self, data, grad, decay, st, lr):
        tmp = st["tmp"]
        g = self._decayed(data, grad, decay, tmp)
        if self.momentum:
            v = st["v"]
            v *= self.momentum
            v += g
            if self.nesterov:
                np.multiply(g, -lr, out=tmp)
                data += tmp
                np.multiply(v, -lr * self.momentum, out=tmp)
                data += tmp
                return
            g = v
        np.multiply(g, -lr, out=tmp)
        data += tmp

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
    threads : int >= 1, default 1
        Threads for updating large parameters (see `Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> from nn.base import Parameter
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 5.0
    >>> Adam(lr=0.1).step([p]); p.data.round(6)
    array([0.9])
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, threads=1):
        super().__init__(lr, weight_decay, threads)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (_checks.number("Adam", "betas[0]", b1, low=0.0, high=1.0, high_open=True),
                      _checks.number("Adam", "betas[1]", b2, low=0.0, high=1.0, high_open=True))
        self.eps = _checks.number("Adam", "eps", eps, low=0.0, low_open=True)

    def _state_names(self, p):
        return ("m", "v", "g") if self.weight_decay and p.decay else ("m", "v")

    def _update(self, data, grad, decay, st, lr):
        b1, b2 = self.betas
        tmp, m, v = st["tmp"], st["m"], st["v"]
        g = self._decayed(data, grad, decay, st.get("g"))
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
        data += tmp

    def __repr__(self):
        return f"Adam(lr={self.lr!r}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
