"""Losses: ``loss(scores, labels) -> (loss, dscores)``, averaged over the batch."""
from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["softmax_cross_entropy", "softmax", "SoftmaxCrossEntropy"]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for any finite scores.

    Shapes: ``(N, C) -> (N, C)``. Integer scores (or nested lists) are
    computed in float64; the input is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[1000.0, 1000.0]]))
    array([[0.5, 0.5]])
    """
    scores = _checks.float_array("softmax", "scores", scores)
    if scores.ndim != 2:
        raise ValueError(f"softmax: scores must have shape (N, C), got {scores.shape}")
    z = scores - scores.max(axis=1, keepdims=True)
    # Shifting by the row max makes every exponent <= 0: no overflow; very
    # negative ones underflow to 0, which is correct.
    with np.errstate(under="ignore"):
        np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _check(scores, labels):
    scores = _checks.float_array("softmax_cross_entropy", "scores", scores)
    if scores.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: scores must have shape (N, C), got {scores.shape}")
    labels = np.asarray(labels)
    if labels.shape != (scores.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError("softmax_cross_entropy: labels must be integers of shape "
                         f"({scores.shape[0]},), got dtype {labels.dtype} shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {scores.shape[1] - 1}], "
                         f"got values in [{labels.min()}, {labels.max()}]")
    return scores, labels


def softmax_cross_entropy(scores, labels):
    """Mean cross-entropy of softmax(scores) against integer labels.

    Parameters
    ----------
    scores : ndarray (N, C)
        Unnormalised class scores (logits), float32 or float64.
    labels : ndarray (N,)
        Integer class indices in ``[0, C)``.

    Returns
    -------
    loss : float
        ``mean(logsumexp(scores) - scores[label])``.
    dscores : ndarray (N, C)
        Gradient of the loss, same dtype as ``scores``:
        ``(softmax(scores) - onehot(labels)) / N``.

    Examples
    --------
    >>> import numpy as np
    >>> loss, d = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))
    >>> round(loss, 4), d.tolist()
    (0.6931, [[0.5, -0.5]])
    """
    scores, labels = _check(scores, labels)
    n = scores.shape[0]
    rows = np.arange(n)
    shifted = scores - scores.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        p = np.exp(shifted)
    sums = p.sum(axis=1)
    loss = float(np.mean(np.log(sums) - shifted[rows, labels]))
    p /= sums[:, None]
    p[rows, labels] -= 1
    p /= n
    return loss, p


class SoftmaxCrossEntropy:
    """`softmax_cross_entropy` as an object (``loss(scores, labels)``).

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(SoftmaxCrossEntropy()(np.zeros((2, 4)), np.array([0, 3]))[0], np.log(4)))
    True
    """

    def __call__(self, scores, labels):
        return softmax_cross_entropy(scores, labels)

    def __repr__(self):
        return "SoftmaxCrossEntropy()"
