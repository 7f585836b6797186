import numpy as np
import pytest

from nn import schedules
from nn.base import Parameter
from nn.optim import SGD, Adam


def _params(seed=0):
    rng = np.random.default_rng(seed)
    w = Parameter(rng.standard_normal((3, 4)), "W", decay=True)
    b = Parameter(rng.standard_normal(4), "b", decay=False)
    return [w, b]


def _run(opt, steps=5, seed=0):
    params = _params(seed)
    grads = np.random.default_rng(seed + 100)
    for _ in range(steps):
        for p in params:
            p.grad[...] = grads.standard_normal(p.data.shape)
        opt.step(params)
    return params


def _reference_sgd(lr, mu, nesterov, wd, steps=5, seed=0):
    params = _params(seed)
    grads = np.random.default_rng(seed + 100)
    vel = [np.zeros_like(p.data) for p in params]
    for _ in range(steps):
        for p, v in zip(params, vel):
            g = grads.standard_normal(p.data.shape) + (wd * p.data if p.decay else 0)
            v[...] = mu * v + g
            p.data -= lr * (g + mu * v if nesterov else (v if mu else g))
    return params


@pytest.mark.parametrize("mu, nesterov, wd", [(0.0, False, 0.0), (0.9, False, 0.0),
                                              (0.9, True, 0.0), (0.5, False, 0.1), (0.9, True, 0.01)])
def test_sgd_matches_reference(mu, nesterov, wd):
    got = _run(SGD(0.1, momentum=mu, nesterov=nesterov, weight_decay=wd))
    for p, q in zip(got, _reference_sgd(0.1, mu, nesterov, wd)):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13)


def test_adam_first_step_is_lr_times_sign():
    p = Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad[:] = [10.0, -0.001, 0.0]
    Adam(lr=0.01).step([p])
    np.testing.assert_allclose(p.data, [0.99, -1.99, 3.0], rtol=1e-6)


def test_optimisers_match_pytorch():
    torch = pytest.importorskip("torch")
    cases = [(SGD(0.05, momentum=0.9, nesterov=True), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
             (Adam(0.01, betas=(0.8, 0.99), eps=1e-6), lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6))]
    for ours, make_theirs in cases:
        got = _run(ours, steps=7)
        ref = [torch.tensor(p.data, requires_grad=True) for p in _params()]
        opt = make_theirs(ref)
        grads = np.random.default_rng(100)
        for _ in range(7):
            for t in ref:
                t.grad = torch.tensor(grads.standard_normal(tuple(t.shape)))
            opt.step()
        for p, t in zip(got, ref):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10)


def test_adam_weight_decay_only_on_decay_params():
    w = Parameter(np.ones(2), decay=True)
    b = Parameter(np.ones(2), decay=False)
    opt = Adam(0.1, weight_decay=1.0)
    opt.step([w, b])  # zero gradient: only the decay term can move anything
    assert np.all(w.data < 1) and np.all(b.data == 1)


def test_schedule_as_lr_and_step_counter():
    opt = SGD(schedules.step_decay(1.0, step_size=2, gamma=0.5))
    p = Parameter(np.zeros(1))
    lrs = []
    for _ in range(5):
        lrs.append(opt.current_lr())
        p.grad[:] = 1.0
        opt.step([p])
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert p.data[0] == pytest.approx(-3.25)
    assert opt.t == 5


def test_schedules_are_pure_functions_of_step():
    f = schedules.cosine(0.1, 100, min_lr=0.01)
    assert [f(s) for s in (0, 100, 1000)] == [0.1, pytest.approx(0.01), pytest.approx(0.01)]
    assert f(37) == f(37)
    assert schedules.exponential_decay(2.0, 0.5)(3) == 0.25
    w = schedules.warmup(schedules.constant(0.2), 4)
    assert [w(s) for s in range(6)] == pytest.approx([0.05, 0.1, 0.15, 0.2, 0.2, 0.2])


@pytest.mark.parametrize("call, match", [
    (lambda: SGD(0), r"SGD: lr must lie in \(0.0, inf\), got 0"),
    (lambda: SGD(0.1, momentum=1.0), r"SGD: momentum must lie in \[0.0, 1.0\), got 1.0"),
    (lambda: SGD(0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda: SGD(0.1, weight_decay=-1), r"weight_decay must lie in \[0.0, inf\), got -1"),
    (lambda: Adam(betas=0.9), r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda: Adam(betas=(0.9, 1.0)), r"betas\[1\] must lie in \[0.0, 1.0\), got 1.0"),
    (lambda: Adam(eps=0), r"eps must lie in \(0.0, inf\), got 0"),
    (lambda: schedules.step_decay(0.1, 0), r"step_size must lie in \[1, inf\), got 0"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("make", [lambda th: SGD(0.1, momentum=0.9, weight_decay=0.01, threads=th),
                                  lambda th: SGD(0.1, momentum=0.9, nesterov=True, threads=th),
                                  lambda th: Adam(0.01, weight_decay=0.1, threads=th)])
def test_threaded_updates_equal_single_threaded(make):
    def run(threads):
        rng = np.random.default_rng(0)
        # 300 x 300 = 90,000 elements: above PARALLEL_MIN_SIZE, so it is split in blocks
        params = [Parameter(rng.standard_normal((300, 300)), "W"), Parameter(rng.standard_normal(300), "b", decay=False)]
        opt = make(threads)
        for _ in range(3):
            for p in params:
                p.grad[...] = rng.standard_normal(p.data.shape)
            opt.step(params)
        return opt, params
    opt2, p2 = run(2)
    assert opt2._state[id(p2[0])]["blocks"], "the large parameter should have been split"
    for a, b in zip(run(1)[1], p2):
        np.testing.assert_array_equal(a.data, b.data)


def test_threads_argument_is_checked():
    with pytest.raises(ValueError, match=r"SGD: threads must lie in \[1, inf\), got 0"):
        SGD(0.1, threads=0)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9, weight_decay=0.01),
                                  lambda: SGD(0.1, momentum=0.9, nesterov=True, threads=2),
                                  lambda: Adam(0.01, weight_decay=0.1),
                                  lambda: Adam(0.01, threads=2)])
@pytest.mark.parametrize("restore", ["pickle", "deepcopy"])
def test_state_survives_checkpoint_with_the_model(make, restore):
    # A checkpoint of (model, optimiser) taken together must resume exactly: the
    # restored optimiser finds its momentum / moments for the restored parameters,
    # and its thread blocks update the restored arrays, not copies of the old ones.
    import copy
    import pickle

    from nn.model import MLP
    from nn.trainer import Trainer
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    model, opt = MLP([300, 256, 2], rng=0), make()   # 300 x 256 weights: split in blocks when threads=2
    trainer = Trainer(model, opt)
    for _ in range(3):
        trainer.train_step(x, y)
    pair = (model, opt)
    m2, o2 = pickle.loads(pickle.dumps(pair)) if restore == "pickle" else copy.deepcopy(pair)
    assert o2.t == opt.t
    if opt.threads > 1:
        assert o2._state[id(m2.layers[0].W)]["blocks"], "the restored large weight should be split"
    resumed = Trainer(m2, o2)
    for _ in range(2):
        trainer.train_step(x, y)
        resumed.train_step(x, y)
    for a, b in zip(model.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
