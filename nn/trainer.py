"""Training loop: epochs over any iterable of ``(x, y)`` batches.

The loop is float32 end to end by default: batches are cast once on arrival,
parameter gradients are written in place, and the optimiser updates in place.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from . import _checks
from .losses import softmax_cross_entropy

__all__ = ["Trainer", "History"]

_MONITORS = ("val_loss", "val_acc", "loss", "train_acc")


class History:
    """Per-epoch records of a `Trainer.fit` run.

    Each record is a dict with ``epoch``, ``loss`` (mean training loss),
    ``train_acc`` (accuracy on the training batches as seen, i.e. augmented
    and with dropout active), ``time`` (seconds of the training pass, data
    waiting included), ``data_time`` (seconds spent waiting for the next batch
    from the iterable), ``lr`` (the learning rate of the epoch's last update) and, when
    validating, ``val_loss``, ``val_acc`` and ``val_time``.

    Examples
    --------
    >>> h = History(); h.records.append({"epoch": 1, "loss": 0.5})
    >>> h["loss"], len(h)
    ([0.5], 1)
    """

    def __init__(self):
        self.records: list[dict] = []
        self.best_epoch: int | None = None
        self.stopped_early = False

    def __getitem__(self, key):
        return [r.get(key) for r in self.records]

    def __len__(self):
        return len(self.records)

    def __repr__(self):
        return f"History({len(self)} epochs, best_epoch={self.best_epoch}, stopped_early={self.stopped_early})"


def _is_array_pair(val):
    """An ``(x, y)`` pair of whole arrays (y may be a list), not an iterable of batches."""
    return isinstance(val, (tuple, list)) and len(val) == 2 and isinstance(val[0], np.ndarray)


class Trainer:
    """Fit a model with an optimiser and a loss.

    Parameters
    ----------
    model : Sequential
        Anything with ``forward``, ``backward(dout, input_grad=False)``,
        ``parameters()`` and ``train(mode)``.
    optimizer : nn.optim.Optimizer
    loss : callable, default `nn.losses.softmax_cross_entropy`
        ``loss(scores, labels) -> (loss, dscores)``.
    dtype : float32 or float64, default float32
        Batches are cast to it on arrival (uint8 images become float32);
        ``(N, ...)`` inputs are flattened to ``(N, features)``.
    progress : bool, default False
        Print a line per epoch (and a batch counter on a terminal).
    stream : file, default sys.stderr
        Where progress goes.

    Examples
    --------
    >>> import numpy as np
    >>> from nn.model import MLP
    >>> from nn.optim import SGD
    >>> from nn.data import Batches
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((200, 2)).astype(np.float32); y = (x[:, 0] > 0).astype(int)
    >>> t = Trainer(MLP([2, 8, 2], rng=0), SGD(0.1, momentum=0.9))
    >>> h = t.fit(Batches(x, y, 32, seed=0), epochs=5, val=(x, y))
    >>> h["val_acc"][-1] > 0.9
    True
    """

    def __init__(self, model, optimizer, loss=softmax_cross_entropy, dtype=np.float32,
                 progress=False, stream=None):
        for attr in ("forward", "backward", "parameters", "train"):
            if not hasattr(model, attr):
                raise ValueError(f"Trainer: model must have .{attr}(), got {type(model).__name__}")
        if not hasattr(optimizer, "step"):
            raise ValueError(f"Trainer: optimizer must have .step(params), got {type(optimizer).__name__}")
        if not callable(loss):
            raise ValueError(f"Trainer: loss must be callable (scores, labels) -> (loss, dscores), got {loss!r}")
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.params = model.parameters()
        self.dtype = _checks.float_dtype("Trainer", dtype)
        self.progress = bool(progress)
        self.stream = stream

    # -- one batch -----------------------------------------------------------
    def _prepare(self, x, y):
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if x.ndim != 2:
            x = x.reshape(len(x), -1)
        return x, np.asarray(y)

    def train_step(self, x, y):
        """Forward, loss, backward and update on one batch; returns ``(loss, n_correct)``.

        A loss that is not finite raises ``FloatingPointError`` before the update, so the
        weights stay as they were before this batch.
        """
        loss, n_correct = self._step(x, y)
        if not np.isfinite(loss):
            raise FloatingPointError(f"Trainer.train_step: loss became {loss}; the update was skipped")
        return loss, n_correct

    def _step(self, x, y):
        """:meth:`train_step` that returns a non-finite loss instead of raising (no update then)."""
        x, y = self._prepare(x, y)
        scores = self.model.forward(x)
        loss, dscores = self.loss(scores, y)
        if not np.isfinite(loss):   # one float: finite batches pay nothing for it
            return loss, 0
        self.model.backward(dscores, input_grad=False)
        self.optimizer.step(self.params)
        return loss, int(np.count_nonzero(scores.argmax(axis=1) == y))

    # -- evaluation ----------------------------------------------------------
    def _val_batches(self, val, epoch, batch_size):
        if _is_array_pair(val):
            x, y = val[0], np.asarray(val[1])
            if len(x) != len(y):
                raise ValueError(f"Trainer.fit: val x and y must have the same length, got {len(x)} and {len(y)}")
            return ((x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size))
        return val(epoch) if callable(val) else val

    def evaluate(self, data, batch_size: int = 1024, epoch: int = 0) -> dict:
        """Mean loss and accuracy in inference mode.

        ``data`` is an ``(x, y)`` pair (``x`` an array, ``y`` an array or
        list), an iterable of batches or a callable ``epoch -> iterable``.
        Returns ``{"loss": ..., "acc": ...}``.
        """
        batch_size = _checks.number("Trainer.evaluate", "batch_size", batch_size, low=1, integer=True)
        was = getattr(self.model, "training", True)
        self.model.train(False)
        total = correct = 0
        loss_sum = 0.0
        try:
            for x, y in self._val_batches(data, epoch, batch_size):
                x, y = self._prepare(x, y)
                scores = self.model.forward(x)
                loss, _ = self.loss(scores, y)
                loss_sum += loss * len(y)
                correct += int(np.count_nonzero(scores.argmax(axis=1) == y))
                total += len(y)
        finally:
            self.model.train(was)
        if total == 0:
            raise ValueError("Trainer.evaluate: data yielded no samples")
        return {"loss": loss_sum / total, "acc": correct / total}

    # -- the loop ------------------------------------------------------------
    def fit(self, train, epochs: int, val=None, *, patience=None, monitor="val_loss",
            min_delta=0.0, restore_best=True, val_batch_size=1024, progress=None,
            on_epoch_end=None) -> History:
        """Train for up to ``epochs`` epochs.

        Parameters
        ----------
        train : iterable of (x, y) or callable epoch -> iterable of (x, y)
            A callable is called with the epoch index (0-based) each epoch, so a
            pipeline can serve a fresh augmented view every time; a plain
            iterable (a list, `nn.data.Batches`) is iterated once per epoch.
        epochs : int >= 1
        val : (x, y) pair, iterable of batches or callable, optional
            Evaluated after every epoch in inference mode. In a pair, ``x`` is
            an array and ``y`` an array or list of labels.
        patience : int, optional
            Early stopping: stop after ``patience`` epochs without improving
            ``monitor`` by more than ``min_delta``.
        monitor : {"val_loss", "val_acc", "loss", "train_acc"}
        min_delta : float >= 0
        restore_best : bool, default True
            With ``patience``, end with the weights of the best epoch.
        val_batch_size : int
            Batch size used when ``val`` is a pair of arrays.
        progress : bool, optional
            Overrides the trainer's ``progress`` for this call.
        on_epoch_end : callable, optional
            Called as ``on_epoch_end(record, trainer)`` after each epoch (after
            validation), with that epoch's history record (a dict it may add
            fields to, e.g. extra metrics); returning True stops training.

        Returns
        -------
        History
        """
        epochs = _checks.number("Trainer.fit", "epochs", epochs, low=1, integer=True)
        _checks.choice("Trainer.fit", "monitor", monitor, _MONITORS)
        min_delta = _checks.number("Trainer.fit", "min_delta", min_delta, low=0.0)
        val_batch_size = _checks.number("Trainer.fit", "val_batch_size", val_batch_size, low=1, integer=True)
        if patience is not None:
            patience = _checks.number("Trainer.fit", "patience", patience, low=1, integer=True)
            if monitor.startswith("val") and val is None:
                raise ValueError(f"Trainer.fit: monitor={monitor!r} needs val data, got val=None")
        if not callable(train) and not hasattr(train, "__iter__"):
            raise ValueError("Trainer.fit: train must be an iterable of (x, y) batches or a "
                             f"callable epoch -> iterable, got {type(train).__name__}")
        if on_epoch_end is not None and not callable(on_epoch_end):
            raise ValueError("Trainer.fit: on_epoch_end must be a callable (record, trainer) -> bool or None, "
                             f"got {type(on_epoch_end).__name__}")
        show = self.progress if progress is None else bool(progress)
        stream = self.stream or sys.stderr
        self.params = self.model.parameters()
        history = History()
        best, best_state, waited = None, None, 0
        sign = -1.0 if monitor.endswith("acc") else 1.0  # minimise sign * value

        for epoch in range(epochs):
            record = self._train_epoch(train, epoch, epochs, show, stream)
            if val is not None:
                t0 = time.perf_counter()
                res = self.evaluate(val, batch_size=val_batch_size, epoch=epoch)
                record.update(val_loss=res["loss"], val_acc=res["acc"],
                              val_time=time.perf_counter() - t0)
            stop = bool(on_epoch_end(record, self)) if on_epoch_end is not None else False
            history.records.append(record)
            if show:
                print(_format_record(record, epochs), file=stream, flush=True)
            if patience is not None:
                # Before honouring a stop asked by on_epoch_end: this epoch may be the best.
                value = sign * record[monitor]
                if best is None or value < best - min_delta:
                    best, waited, history.best_epoch = value, 0, record["epoch"]
                    if restore_best:
                        best_state = self.model.state()
                else:
                    waited += 1
                    stop = stop or waited >= patience
            if stop:
                history.stopped_early = True
                break
        if best_state is not None:
            self.model.load_state(best_state)
        return history

    def _train_epoch(self, train, epoch, epochs, show, stream):
        self.model.train(True)
        batches = train(epoch) if callable(train) else train
        tty = show and getattr(stream, "isatty", lambda: False)()
        loss_sum, correct, total, n_batches = 0.0, 0, 0, 0
        data_time = 0.0
        start = time.perf_counter()
        it = iter(batches)
        current_lr = getattr(self.optimizer, "current_lr", lambda: None)
        lr = None
        while True:
            t0 = time.perf_counter()
            try:
                x, y = next(it)
            except StopIteration:
                data_time += time.perf_counter() - t0
                break
            data_time += time.perf_counter() - t0
            lr = current_lr()
            loss, n_correct = self._step(x, y)
            if not np.isfinite(loss):
                # The inputs are looked at only now, so that finite batches pay nothing for it.
                cause = ("its inputs hold NaN or infinity" if not np.all(np.isfinite(np.asarray(x, float)))
                         else "learning rate too high?")
                raise FloatingPointError(f"Trainer.fit: loss became {loss} at epoch {epoch + 1}, "
                                         f"batch {n_batches + 1} ({cause}); the weights are those from "
                                         "before that batch")
            n = len(y)
            loss_sum += loss * n
            correct += n_correct
            total += n
            n_batches += 1
            if tty and n_batches % 10 == 0:
                print(f"\repoch {epoch + 1}/{epochs}  batch {n_batches}  loss {loss_sum / total:.4f}",
                      end="", file=stream, flush=True)
        elapsed = time.perf_counter() - start
        if tty:
            print("\r", end="", file=stream)
        if total == 0:
            why = ("its iterable for this epoch was empty; with drop_last=True, a batch size larger than the "
                   "data gives no batch" if callable(train) else
                   "a generator is used up after one pass; pass a callable epoch -> iterable")
            raise ValueError(f"Trainer.fit: train yielded no batches in epoch {epoch + 1} ({why})")
        return {"epoch": epoch + 1, "loss": loss_sum / total, "train_acc": correct / total,
                "time": elapsed, "data_time": data_time, "lr": lr,
                "batches": n_batches, "samples": total}


def _format_record(r, epochs):
    s = f"epoch {r['epoch']}/{epochs}  loss {r['loss']:.4f}  train_acc {r['train_acc']:.4f}"
    if "val_loss" in r:
        s += f"  val_loss {r['val_loss']:.4f}  val_acc {r['val_acc']:.4f}"
    return s + f"  {r['time']:.3f}s (data {r['data_time']:.3f}s)"
