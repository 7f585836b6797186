"""MLP seeds: dropout draws its masks from its own stream, so it never changes the initial weights."""
import copy
import hashlib
import pickle

import numpy as np
import pytest

from nn import MLP


def _weights(net):
    return [p.data for p in net.parameters()]


def _digest(net):
    h = hashlib.sha256()
    for a in _weights(net):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _masks(net, x, steps=3):
    """The dropout masks of ``steps`` training-mode forward passes, in layer order."""
    out = []
    for _ in range(steps):
        net.forward(x)
        out += [layer.mask.copy() for layer in net.layers if type(layer).__name__ == "Dropout"]
    return out


# sha256 (first 16 hex digits) of the parameters of MLP(sizes, activation, init, rng=seed) as
# built before dropout got its own stream (commit 979a28a): float32, then float64.
# dropout=0 networks must keep these weights bit for bit.
BEFORE = [
    (([7, 5, 4, 3], "relu", "he", 0), "6a38107d610b6c37", "26e5dc63b78d017e"),
    (([7, 5, 4, 3], "tanh", "xavier", 3), "9c71a4767dcdff71", "d42ccc469470d273"),
    (([10, 8, 2], "relu", "he", 11), "7752ca9bea04d676", "b4445e3c28b66815"),
    (([625, 64, 2], "relu", "he", 0), "c5072a427b538c1c", "2995f29d00a5a889"),
]


@pytest.mark.parametrize("case, f32, f64", BEFORE)
def test_dropout_free_networks_keep_their_weights(case, f32, f64):
    sizes, activation, init, seed = case
    assert _digest(MLP(sizes, activation=activation, init=init, rng=seed)) == f32
    assert _digest(MLP(sizes, activation=activation, init=init, rng=seed, dtype=np.float64)) == f64


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("sizes", [[6, 9, 7, 5, 3], [4, 8, 2]])
def test_dropout_does_not_change_the_initial_weights(seed, sizes):
    plain = MLP(sizes, rng=seed)
    for p in (0.5, 0.1):
        dropped = MLP(sizes, dropout=p, rng=seed)
        assert len(_weights(dropped)) == len(_weights(plain))
        for a, b in zip(_weights(dropped), _weights(plain)):
            np.testing.assert_array_equal(a, b)


def test_dropout_does_not_change_the_weights_from_a_generator():
    plain = MLP([6, 9, 7, 3], rng=np.random.default_rng(4))
    dropped = MLP([6, 9, 7, 3], dropout=0.5, rng=np.random.default_rng(4))
    for a, b in zip(_weights(dropped), _weights(plain)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(5))
def test_masks_repeat_for_the_same_seed_and_differ_between_seeds(seed):
    x = np.ones((8, 6), np.float32)
    first = _masks(MLP([6, 16, 16, 3], dropout=0.5, rng=seed), x)
    again = _masks(MLP([6, 16, 16, 3], dropout=0.5, rng=seed), x)
    other = _masks(MLP([6, 16, 16, 3], dropout=0.5, rng=seed + 1), x)
    assert len(first) == 6
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))
    # each Dropout layer has a stream of its own, not a copy of its neighbour's
    assert not np.array_equal(first[0], first[1])


def test_one_generator_gives_two_networks_different_masks():
    g = np.random.default_rng(0)
    x = np.ones((8, 6), np.float32)
    a, b = MLP([6, 16, 3], dropout=0.5, rng=g), MLP([6, 16, 3], dropout=0.5, rng=g)
    assert not np.array_equal(_masks(a, x)[0], _masks(b, x)[0])


@pytest.mark.parametrize("restore", ["pickle", "deepcopy"])
def test_copies_continue_the_same_masks(restore):
    x = np.ones((8, 6), np.float32)
    net = MLP([6, 16, 16, 3], dropout=0.5, rng=2)
    _masks(net, x, steps=1)
    twin = pickle.loads(pickle.dumps(net)) if restore == "pickle" else copy.deepcopy(net)
    for a, b in zip(_masks(net, x), _masks(twin, x)):
        np.testing.assert_array_equal(a, b)


def test_save_and_from_file_keep_dropout_and_weights(tmp_path):
    net = MLP([6, 16, 16, 3], dropout=0.5, rng=2)
    path = tmp_path / "w.npz"
    net.save(path)
    back = MLP.from_file(path, rng=2)
    assert [type(layer).__name__ for layer in back.layers] == [type(layer).__name__ for layer in net.layers]
    for a, b in zip(_weights(back), _weights(net)):
        np.testing.assert_array_equal(a, b)
    x = np.ones((8, 6), np.float32)
    for a, b in zip(_masks(back, x), _masks(MLP([6, 16, 16, 3], dropout=0.5, rng=2), x)):
        np.testing.assert_array_equal(a, b)


def test_a_generator_that_cannot_spawn_still_keeps_the_weights():
    """A bit generator seeded the legacy (RandomState) way has no seed sequence to spawn from."""
    def legacy():
        bg = np.random.MT19937()
        if not hasattr(bg, "_legacy_seeding"):
            pytest.skip("this numpy has no legacy MT19937 seeding")
        bg._legacy_seeding(5)
        return np.random.Generator(bg)
    plain = MLP([4, 8, 8, 2], rng=legacy())
    dropped, again = MLP([4, 8, 8, 2], dropout=0.5, rng=legacy()), MLP([4, 8, 8, 2], dropout=0.5, rng=legacy())
    for a, b in zip(_weights(dropped), _weights(plain)):
        np.testing.assert_array_equal(a, b)
    x = np.ones((8, 4), np.float32)
    for a, b in zip(_masks(dropped, x), _masks(again, x)):
        np.testing.assert_array_equal(a, b)
