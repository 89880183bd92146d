"""GradScaler against torch.amp.GradScaler("cpu"): scale, skipped steps and parameters over a
run with injected infs and nans, the per-optimizer stage checks, state_dict and pickling."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import taimatsu
import taimatsu.amp

torch = pytest.importorskip("torch")


def _model(T, w, b):
    lin = T.nn.Linear(4, 3)
    lin.load_state_dict({"weight": T.tensor(w), "bias": T.tensor(b)})
    return lin


def _run(T, steps, bad, **scaler_kw):
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)).astype(np.float32), np.zeros(3, np.float32)
    model = _model(T, w, b)
    opt = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = T.amp.GradScaler("cpu", **scaler_kw)
    scales, stepped = [], []
    for i in range(steps):
        x = T.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        scaler.scale(loss).backward()
        if i in bad:  # an overflowed gradient, as float16 would give
            model.weight.grad[0, 0] = bad[i]
        before = model.bias.detach().clone()
        scaler.step(opt)
        stepped.append(not bool((model.bias == before).all()))
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, stepped, model.state_dict(), scaler.state_dict()


def test_run_with_infs_matches_pytorch():
    bad = {2: float("inf"), 3: float("nan"), 9: -float("inf"), 20: float("nan")}
    kw = {"init_scale": 2.0**10, "growth_interval": 3}
    ours, theirs = _run(taimatsu, 30, bad, **kw), _run(torch, 30, bad, **kw)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert [i for i, s in enumerate(ours[1]) if not s] == sorted(bad)
    for k, v in theirs[2].items():
        np.testing.assert_allclose(ours[2][k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
    assert ours[3] == theirs[3]


def test_growth_stops_before_float32_overflow():
    kw = {"init_scale": 2.0**126, "growth_interval": 1}
    assert _run(taimatsu, 3, {}, **kw)[0] == _run(torch, 3, {}, **kw)[0]


def _setup(T):
    p = T.nn.Parameter(T.ones(3))
    opt = T.optim.SGD([p], lr=1.0)
    scaler = T.amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale((p * 2).sum()).backward()
    return p, opt, scaler


def test_unscale_divides_gradients():
    for T in (taimatsu, torch):
        p, opt, scaler = _setup(T)
        scaler.unscale_(opt)
        np.testing.assert_array_equal(p.grad.numpy(), [2.0, 2.0, 2.0])
        scaler.step(opt)  # does not unscale again
        np.testing.assert_array_equal(p.detach().numpy(), [-1.0, -1.0, -1.0])


@pytest.mark.parametrize("calls, message", [
    (("unscale_", "unscale_"),
     "unscale_\\(\\) has already been called on this optimizer since the last update\\(\\)."),
    (("step", "unscale_"), "unscale_\\(\\) is being called after step\\(\\)."),
    (("step", "step"), "step\\(\\) has already been called since the last update\\(\\)."),
])
def test_stage_errors(calls, message):
    for T in (taimatsu, torch):
        p, opt, scaler = _setup(T)
        getattr(scaler, calls[0])(opt)
        grad = p.grad.clone()
        with pytest.raises(RuntimeError, match=message):
            getattr(scaler, calls[1])(opt)
        assert bool((p.grad == grad).all())  # nothing changed
        scaler.update()
        scaler.scale((p * 2).sum()).backward()
        scaler.step(opt)  # a fresh iteration works again


def test_errors_before_scale_and_bad_arguments():
    for T in (taimatsu, torch):
        scaler = T.amp.GradScaler("cpu")
        with pytest.raises(AssertionError, match="Attempted update but _scale is None"):
            scaler.update()
        with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
            scaler.step(None)
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable"):
            scaler.scale(3.0)
        with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
            T.amp.GradScaler("cpu", growth_factor=1.0)
        with pytest.raises(AssertionError, match="The backoff factor must be < 1.0."):
            T.amp.GradScaler("cpu", backoff_factor=1.0)
        _p, opt, scaler = _setup(T)
        with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
            scaler.step(opt, closure=lambda: None)
        half = T.nn.Parameter(T.ones(2, dtype=T.float16))
        scaler.scale(half.float().sum()).backward()
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
            scaler.unscale_(T.optim.SGD([half], lr=1.0))


def test_scale_nested_outputs_and_dtype():
    for T in (taimatsu, torch):
        scaler = T.amp.GradScaler("cpu", init_scale=8.0)
        a, (b,) = scaler.scale([T.ones(1), (T.ones(2),)])
        assert a.tolist() == [8.0] and b.tolist() == [8.0, 8.0]
        assert scaler.scale(T.ones(1, dtype=T.float16)).dtype == T.float16
        assert next(iter(scaler.scale(iter([T.ones(1)])))).tolist() == [8.0]


def test_update_new_scale():
    for T in (taimatsu, torch):
        _p, _opt, scaler = _setup(T)
        scaler.update(16.0)
        assert scaler.get_scale() == 16.0
        scaler.update(T.tensor(2.0))
        assert scaler.get_scale() == 2.0
        reason = "new_scale should be a float or a 1-element"
        with pytest.raises(AssertionError, match=reason):
            scaler.update(T.ones(2))
        with pytest.raises(AssertionError, match=reason):
            scaler.update(T.ones(1, requires_grad=True))


def test_disabled_is_pass_through():
    for T in (taimatsu, torch):
        p = T.nn.Parameter(T.ones(2))
        opt = T.optim.SGD([p], lr=1.0)
        scaler = T.amp.GradScaler("cpu", enabled=False)
        loss = (p * 3).sum()
        assert scaler.scale(loss) is loss
        loss.backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        assert p.tolist() == [-2.0, -2.0]
        assert scaler.get_scale() == 1.0 and scaler.state_dict() == {}
        assert not scaler.is_enabled()
        scaler.load_state_dict({})


def test_state_dict_round_trip_and_keys():
    _p, opt, scaler = _setup(taimatsu)
    _tp, topt, tscaler = _setup(torch)
    for s, o in ((scaler, opt), (tscaler, topt)):
        s.step(o)
        s.update()
    assert scaler.state_dict() == tscaler.state_dict()
    fresh = taimatsu.amp.GradScaler("cpu")
    fresh.load_state_dict(tscaler.state_dict())
    assert fresh.state_dict() == tscaler.state_dict()
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        fresh.load_state_dict({})
    fresh.set_growth_factor(3.0)
    fresh.set_backoff_factor(0.25)
    fresh.set_growth_interval(7)
    assert (fresh.get_growth_factor(), fresh.get_backoff_factor(),
            fresh.get_growth_interval()) == (3.0, 0.25, 7)


def test_pickle_only_between_iterations():
    _p, opt, scaler = _setup(taimatsu)
    scaler.step(opt)
    with pytest.raises(AssertionError, match="may only be pickled at the beginning"):
        pickle.dumps(scaler)
    scaler.update()
    again = pickle.loads(pickle.dumps(scaler))
    assert again.state_dict() == scaler.state_dict()


def test_cuda_scaler_without_gpu_warns_and_disables():
    for T in (taimatsu, torch):
        if T.cuda.is_available():
            pytest.skip("a GPU is present")
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling."):
            assert not T.amp.GradScaler().is_enabled()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with pytest.warns(FutureWarning, match=r"torch.cuda.amp.GradScaler\(args...\)"):
                T.cuda.amp.GradScaler()
