"""Many generators seeded like ``numpy.random.default_rng((*prefix, i))``, cheaply.

A dataset augments sample ``i`` of epoch ``e`` with the generator that
``rng=(seed, e, i)`` stands for: ``Generator(PCG64(SeedSequence((seed, e, i))))``.
Building one that way costs 17-36 us, mostly in ``SeedSequence`` hashing its
entropy and expanding it into PCG64's 256-bit seed; for the demo's 25x25
images that is more than the augmentation call itself (~23 us). Here one
numba loop computes the 256-bit seed of every index of a batch (~0.05 us
each) with numpy's published ``SeedSequence`` algorithm (``mix_entropy`` and
``generate_state`` in ``numpy/random/bit_generator.pyx``), and ``PCG64`` is
built from a seed sequence that hands those words over: ~5 us a generator in
all, and the draws are the same, bit for bit. A flat pipeline needs only
each sample's block of uniforms: :func:`uniform_rows` draws them for every
index in one numba call that runs numpy's PCG64 (128-bit LCG, XSL-RR output)
from those words, with no Generator at all (a seeded batch of 64 at 256 px
took 0.82x the time, a dataset batch of 16 small faces 0.73x).

A self-check on first use compares the words with numpy's own
``SeedSequence`` (and, for :func:`uniform_rows`, the draws with numpy's
``PCG64``); if a future numpy changed the algorithm, or an index or prefix
does not fit the fast path, both fall back to ``numpy.random.default_rng``,
so the results never depend on this module.
Import it lazily (it imports numba): ``import augkit`` stays cheap.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numpy.random.bit_generator import ISpawnableSeedSequence

from ._cache_load import load_without_refresh

_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_verified = None


_S16 = np.uint32(16)


@njit(cache=True, nogil=True)
def _hashmix(value, h, mult):  # pragma: no cover - compiled
    """SeedSequence's hashmix: the hashed value and the next hash constant."""
    v = np.uint32(value ^ h)
    h = np.uint32(h * mult)
    v = np.uint32(v * h)
    return np.uint32(v ^ (v >> _S16)), h


@njit(cache=True, nogil=True)
def _mix(x, y):  # pragma: no cover - compiled
    r = np.uint32(np.uint32(np.uint32(_MIX_L) * x) - np.uint32(np.uint32(_MIX_R) * y))
    return np.uint32(r ^ (r >> _S16))


@njit(cache=True, nogil=True)
def pcg64_seed_words(prefix_words, indices, out):  # pragma: no cover - compiled
    # out[k] = SeedSequence((*prefix, indices[k])).generate_state(4, uint64); every
    # entropy word here is one uint32 (the caller checks), pool size 4, no spawn key.
    n_ent = len(prefix_words) + 1
    ent = np.empty(n_ent, np.uint32)
    ent[:n_ent - 1] = prefix_words
    mixer = np.empty(4, np.uint32)
    mult_a, mult_b = np.uint32(_MULT_A), np.uint32(_MULT_B)
    for k in range(len(indices)):
        ent[n_ent - 1] = np.uint32(indices[k])
        h = np.uint32(_INIT_A)
        for i in range(4):
            mixer[i], h = _hashmix(ent[i] if i < n_ent else np.uint32(0), h, mult_a)
        for src in range(4):
            for dst in range(4):
                if src != dst:
                    v, h = _hashmix(mixer[src], h, mult_a)
                    mixer[dst] = _mix(mixer[dst], v)
        for src in range(4, n_ent):
            for dst in range(4):
                v, h = _hashmix(ent[src], h, mult_a)
                mixer[dst] = _mix(mixer[dst], v)
        hb = np.uint32(_INIT_B)
        for w in range(4):
            lo, hb = _hashmix(mixer[(2 * w) % 4], hb, mult_b)
            hi, hb = _hashmix(mixer[(2 * w + 1) % 4], hb, mult_b)
            out[k, w] = np.uint64(lo) | (np.uint64(hi) << np.uint64(32))


class _Words(ISpawnableSeedSequence):
    """A seed sequence that hands PCG64 precomputed words; anything else goes to numpy's own."""

    __slots__ = ("entropy", "_words", "_real")

    def __init__(self, entropy, words):
        self.entropy, self._words, self._real = entropy, words, None

    def _seed_sequence(self):
        if self._real is None:
            self._real = np.random.SeedSequence(self.entropy)
        return self._real

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words == 4 and (dtype is np.uint64 or np.dtype(dtype) == np.uint64):  # PCG64 asks for exactly this
            return self._words
        return self._seed_sequence().generate_state(n_words, dtype)

    def spawn(self, n_children):
        return self._seed_sequence().spawn(n_children)


def _entropy_words(values):
    """The 32-bit words SeedSequence makes of a sequence of non-negative ints: each int's words,
    least significant first (0 is one word), one after another."""
    words = []
    for v in values:
        if v < 2 ** 32:
            words.append(v)
            continue
        while v:
            words.append(v & 0xFFFFFFFF)
            v >>= 32
    return words


def _seed_words(prefix, indices, small=False):
    """The PCG64 seeds of ``(*prefix, i)`` for every ``i``, shape ``(n, 4)`` uint64, or None (no fast path).

    ``small=True``: the caller has checked that every index is below 2**32.
    """
    global _verified
    if not small and len(indices) and int(indices.max()) >= 2 ** 32:
        return None  # an index of several entropy words; numpy's own path handles it
    words = np.empty((len(indices), 4), np.uint64)
    pcg64_seed_words(np.asarray(_entropy_words(prefix), np.uint32), indices, words)
    if _verified is None:
        probe = np.array([0, 1, 2 ** 32 - 1], np.int64)
        got = np.empty((3, 4), np.uint64)
        for pre in ((0, 0), (12345, 7), (1,), (3, 1, 4, 1, 5)):
            pcg64_seed_words(np.asarray(pre, np.uint32), probe, got)
            want = [np.random.SeedSequence((*pre, int(i))).generate_state(4, np.uint64) for i in probe]
            if not np.array_equal(got, np.array(want)):
                _verified = False
                break
        else:
            _verified = True
    return words if _verified else None


def generator(seq):
    """``numpy.random.default_rng(seq)`` for a sequence of two or more non-negative ints, ~3x cheaper.

    What ``rng=(seed, epoch, index)`` means on every call (see
    :func:`augkit.core.resolve_rng`): ~8 us instead of ~17 us. Anything the
    fast path does not cover (a single int, a last number of 2**32 or more, a
    numpy whose ``SeedSequence`` differs) goes to numpy's own.
    """
    words = _seq_words(seq)
    if words is None:
        return np.random.default_rng(seq)
    return np.random.Generator(np.random.PCG64(_Words(tuple(seq), words[0])))


def _seq_words(seq):
    """The PCG64 seed of one sequence of two or more non-negative ints, shape ``(1, 4)``, or None
    (one number, a last number of 2**32 or more, or a numpy that seeds differently)."""
    if len(seq) < 2 or seq[-1] >= 2 ** 32:
        return None
    return _seed_words(seq[:-1], np.array(seq[-1:], np.int64), small=True)


def _checked(prefix, indices, caller):
    prefix = tuple(int(v) for v in prefix)
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if any(v < 0 for v in prefix) or (len(indices) and int(indices.min()) < 0):
        raise ValueError(f"{caller}: seeds must be non-negative, got prefix {prefix} and indices {indices}")
    return prefix, indices


def generators(prefix, indices):
    """``[numpy.random.default_rng((*prefix, i)) for i in indices]``, with the same draws, ~5x cheaper.

    Parameters
    ----------
    prefix : tuple of int
        Non-negative ints, such as ``(seed, epoch)``.
    indices : sequence of int
        Non-negative ints.

    Examples
    --------
    >>> import numpy as np
    >>> from augkit._seeds import generators
    >>> a, b = generators((0, 3), [5, 9])
    >>> a.random() == np.random.default_rng((0, 3, 5)).random()
    True
    """
    prefix, indices = _checked(prefix, indices, "generators")
    words = _seed_words(prefix, indices)
    if words is None:
        return [np.random.default_rng((*prefix, int(i))) for i in indices]
    Generator, PCG64 = np.random.Generator, np.random.PCG64
    return [Generator(PCG64(_Words((*prefix, i), row))) for i, row in zip(indices.tolist(), words)]


# ---------------------------------------------------------------- PCG64 draws in numba
# numpy's PCG64 (pcg64.h, not the DXSM variant): a 128-bit LCG, XSL-RR output; seeded from
# SeedSequence words w as state = w0:w1, increment = w2:w3 (pcg_setseq_128_srandom_r);
# Generator.random() is (next64 >> 11) * 2**-53. The 128-bit numbers are (high, low) pairs.
_U0, _U1 = np.uint64(0), np.uint64(1)
_S11, _S32, _S58, _S63 = np.uint64(11), np.uint64(32), np.uint64(58), np.uint64(63)
_U63, _U64 = np.uint64(63), np.uint64(64)
_LOW32 = np.uint64(0xFFFFFFFF)
_MULT_HI, _MULT_LO = np.uint64(2549297995355413924), np.uint64(4865540595714422341)


@njit(cache=True, nogil=True)
def _mul_wide(a, b):  # pragma: no cover - compiled
    """The full 128-bit product of two uint64, as (high, low)."""
    a0, a1, b0, b1 = a & _LOW32, a >> _S32, b & _LOW32, b >> _S32
    p00, p01, p10 = a0 * b0, a0 * b1, a1 * b0
    mid = (p00 >> _S32) + (p01 & _LOW32) + (p10 & _LOW32)
    return a1 * b1 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32), (mid << _S32) | (p00 & _LOW32)


@njit(cache=True, nogil=True)
def _add128(hi, lo, add_hi, add_lo):  # pragma: no cover - compiled
    low = lo + add_lo
    return hi + add_hi + (_U1 if low < lo else _U0), low


@njit(cache=True, nogil=True)
def _step(hi, lo, inc_hi, inc_lo):  # pragma: no cover - compiled
    """state * multiplier + increment, modulo 2**128."""
    p_hi, p_lo = _mul_wide(lo, _MULT_LO)
    return _add128(p_hi + hi * _MULT_LO + lo * _MULT_HI, p_lo, inc_hi, inc_lo)


@njit(cache=True, nogil=True)
def pcg64_uniform_rows(words, out):  # pragma: no cover - compiled
    # out[i, :] = Generator(PCG64(seeded with words[i])).random(out.shape[1])
    for i in range(words.shape[0]):
        s_hi, s_lo, q_hi, q_lo = words[i, 0], words[i, 1], words[i, 2], words[i, 3]
        inc_hi, inc_lo = (q_hi << _U1) | (q_lo >> _S63), (q_lo << _U1) | _U1
        hi, lo = _step(_U0, _U0, inc_hi, inc_lo)
        hi, lo = _add128(hi, lo, s_hi, s_lo)
        hi, lo = _step(hi, lo, inc_hi, inc_lo)
        for j in range(out.shape[1]):
            hi, lo = _step(hi, lo, inc_hi, inc_lo)
            x, rot = hi ^ lo, hi >> _S58
            value = (x >> rot) | (x << ((_U64 - rot) & _U63))
            out[i, j] = np.float64(value >> _S11) * (1.0 / 9007199254740992.0)


_draws_verified = None


def uniform_rows(prefix, indices, k):
    """``np.array([numpy.random.default_rng((*prefix, i)).random(k) for i in indices])``, shape
    ``(n, k)``: the same numbers, drawn in one numba call without building the generators.

    A self-check on first use compares the draws with numpy's own PCG64; where it
    fails, or the seeds do not fit the fast path, the generators are built after all.
    """
    prefix, indices = _checked(prefix, indices, "uniform_rows")
    out = _rows(_seed_words(prefix, indices), k)
    if out is None:
        return np.array([g.random(k) for g in generators(prefix, indices)], np.float64).reshape(len(indices), k)
    return out


def _rows(words, k):
    """``k`` uniforms for each seed row of ``words`` drawn in numba, or None (no words, or the
    draws differ from numpy's: checked once, on first use)."""
    global _draws_verified
    if words is None:
        return None
    if _draws_verified is None:   # words came, so the seeding itself is verified
        probe = (0, 1, 2 ** 32 - 1)
        got = np.empty((3, 9))
        pcg64_uniform_rows(_seed_words((12345, 7), np.array(probe, np.int64)), got)
        _draws_verified = np.array_equal(got, [np.random.default_rng((12345, 7, i)).random(9) for i in probe])
    if not _draws_verified:
        return None
    out = np.empty((len(words), k))
    pcg64_uniform_rows(words, out)
    return out


def seeded_uniforms(seq, k):
    """``numpy.random.default_rng(seq).random(k)`` for a plain seed sequence such as
    ``(seed, epoch, index)``, drawn in numba without building a Generator (~2.7 us against
    ~9 us); None where this way does not apply (one number, a last number of 2**32 or more,
    a numpy that seeds or draws differently), and the caller builds the Generator.

    ``seq`` must hold non-negative Python ints (:func:`augkit.core.plain_seed_sequence`).
    """
    out = _rows(_seq_words(seq), k)
    return None if out is None else out[0]


# Cached code loads without numba's registry refresh (see augkit._cache_load).
load_without_refresh(globals())
