import numpy as np
import pytest

from nn import init

D_IN, D_OUT = 1500, 2000  # 3M draws: sample std is within ~0.04 % of the truth (1 sigma)

# name -> (expected std as a function of (d_in, d_out), uniform?)
FORMULAS = {
    "small_gaussian": (lambda i, o: 0.01, False),
    "large_gaussian": (lambda i, o: 0.5, False),
    "xavier": (lambda i, o: 1 / np.sqrt(i), False),
    "glorot_normal": (lambda i, o: np.sqrt(2 / (i + o)), False),
    "glorot_uniform": (lambda i, o: np.sqrt(2 / (i + o)), True),
    "he": (lambda i, o: np.sqrt(2 / i), False),
    "he_uniform": (lambda i, o: np.sqrt(2 / i), True),
}


@pytest.mark.parametrize("name", init.NAMES)
def test_empirical_mean_and_std_match_formula(name):
    std_fn, uniform = FORMULAS[name]
    w = init.get(name)(D_IN, D_OUT, rng=0)
    std = std_fn(D_IN, D_OUT)
    assert w.shape == (D_IN, D_OUT) and w.dtype == np.float64
    # Tolerances are ~10 standard errors: the sample mean has se std/sqrt(N) ~ 6e-4 std,
    # the sample std has se ~ std/sqrt(2N) ~ 4e-4 std (less for uniform).
    assert abs(w.mean()) < 6e-3 * std
    assert abs(w.std() / std - 1) < 4e-3
    if uniform:
        limit = std * np.sqrt(3)
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    else:
        # Gaussian: about 4.55 % of draws beyond 2 std (binomial se ~ 0.012 %).
        assert abs(np.mean(np.abs(w) > 2 * std) - 0.0455) < 0.0015


def test_std_and_gain_keywords():
    assert abs(init.small_gaussian(1000, 1000, rng=0, std=0.02).std() - 0.02) < 1e-4
    assert abs(init.large_gaussian(1000, 1000, rng=0, std=2.0).std() - 2.0) < 1e-2
    assert abs(init.xavier(400, 1000, rng=0, gain=2.0).std() - 0.1) < 5e-4
    assert abs(init.he(400, 1000, rng=0, gain=1.0).std() - 0.05) < 5e-4
    assert abs(init.glorot_uniform(1000, 1000, rng=0, gain=3.0).std() - 3 * np.sqrt(1e-3)) < 3e-4


def test_dtype_keyword():
    assert init.he(10, 20, rng=0, dtype=np.float32).dtype == np.float32


def test_seed_reproducible_and_generator_accepted():
    a = init.he(30, 40, rng=5)
    np.testing.assert_array_equal(a, init.he(30, 40, rng=5))
    np.testing.assert_array_equal(a, init.he(30, 40, rng=np.random.default_rng(5)))
    assert not np.array_equal(a, init.he(30, 40, rng=6))


def test_global_numpy_random_state_is_untouched():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for name in init.NAMES:
        init.get(name)(10, 10)
        init.get(name)(10, 10, rng=1)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_get_unknown_name_lists_allowed():
    with pytest.raises(ValueError) as err:
        init.get("orthogonal")
    assert "'orthogonal'" in str(err.value)
    assert all(repr(n) in str(err.value) for n in init.NAMES)


@pytest.mark.parametrize("call, match", [
    (lambda: init.he(0, 5), r"he: d_in must lie in \[1, inf\), got 0"),
    (lambda: init.he(5, 2.5), "he: d_out must be an integer, got 2.5"),
    (lambda: init.xavier("3", 5), "xavier: d_in must be an integer, got '3'"),
    (lambda: init.small_gaussian(3, 3, std=-1), r"std must lie in \(0.0, inf\), got -1"),
    (lambda: init.he(3, 3, gain=0), r"gain must lie in \(0.0, inf\), got 0"),
    (lambda: init.he(3, 3, rng="seed"), "rng must be None, an int seed"),
    (lambda: init.he(3, 3, dtype=np.int32), "dtype must be float32 or float64"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
