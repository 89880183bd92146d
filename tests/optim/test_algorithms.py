"""Every optimizer and option against PyTorch: 20 steps of a small regression from the same
weights, then the parameters, the state and the parameter groups are compared."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch, to_np, torch
from tests.optim.regression import Problem, assert_close, make

CASES = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "maximize": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.2,
             "maximize": True}),
    ("SGD", {"lr": 0.02, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1,
             "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9)}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.5)}),  # lerp weight >= 0.5 takes the other formula
    ("Adam", {"lr": 0.05, "eps": 1e-3}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.5}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "betas": (0.5, 0.7), "maximize": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3}),
    ("Adagrad", {"lr": 0.05, "maximize": True, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "eps": 1e-3}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "maximize": True}),
]
IDS = [f"{name}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for name, kw in CASES]


def _state_np(state):
    return {k: to_np(v) if hasattr(v, "shape") else v for k, v in state.items()}


@needs_torch
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_matches_pytorch_float64(name, kwargs, device):
    mine, ref = Problem(taimatsu, device=device), Problem(torch)
    opt, opt_ref = make(taimatsu, name, mine.params, kwargs), make(torch, name, ref.params, kwargs)
    mine.train(opt)
    ref.train(opt_ref)
    assert_close(mine.values(), ref.values(), rtol=1e-9)
    # the same state, under the same names, as PyTorch
    for p, q in zip(mine.params, ref.params):
        s, s_ref = _state_np(opt.state[p]), _state_np(opt_ref.state[q])
        assert sorted(s) == sorted(s_ref)
        for key in s:
            np.testing.assert_allclose(s[key], s_ref[key], rtol=1e-9, atol=1e-300)
    assert opt.state_dict()["param_groups"] == opt_ref.state_dict()["param_groups"]


@needs_torch
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_matches_pytorch_float32(name, kwargs, device):
    """float32 storage, with PyTorch's parameters fed taimatsu's gradients: float32 gradients
    computed by the two frameworks round differently, and Adam-like rules amplify that where a
    gradient is near zero; the update rules themselves must agree to float32 precision."""
    mine = Problem(taimatsu, np.float32, device=device)
    ref = [torch.tensor(v, requires_grad=True) for v in mine.values()]
    opt = make(taimatsu, name, mine.params, kwargs)
    opt_ref = make(torch, name, ref, kwargs)
    for _ in range(20):
        opt.zero_grad()
        mine.loss().backward()
        for p, q in zip(mine.params, ref):
            q.grad = torch.tensor(to_np(p.grad))
        opt.step()
        opt_ref.step()
    assert_close(mine.values(), [to_np(q) for q in ref], rtol=1e-5, atol=1e-6)
    assert all(p.dtype is taimatsu.float32 for p in mine.params)


@pytest.mark.parametrize(("name", "kwargs"), CASES[::3], ids=IDS[::3])
def test_updates_in_place_and_bumps_version(name, kwargs, device):
    prob = Problem(taimatsu, device=device)
    arrays = [p._data for p in prob.params]
    before = prob.values()
    opt = make(taimatsu, name, prob.params, kwargs)
    prob.train(opt, steps=3)
    for p, arr, old in zip(prob.params, arrays, before):
        assert p._data is arr  # same storage: the update wrote into it
        assert p._version[0] == 3
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        assert not np.array_equal(to_np(p), old)
    for state in opt.state.values():
        for v in state.values():
            assert not v.requires_grad and v.grad_fn is None


def test_update_does_not_touch_grad(device):
    prob = Problem(taimatsu, device=device)
    opt = taimatsu.optim.Adam(prob.params, lr=0.1, weight_decay=0.1, maximize=True)
    prob.loss().backward()
    grads = [to_np(p.grad).copy() for p in prob.params]
    opt.step()
    for p, g in zip(prob.params, grads):
        np.testing.assert_array_equal(to_np(p.grad), g)


def test_params_without_grad_are_skipped(device):
    w = taimatsu.tensor([1.0, 2.0], device=device, requires_grad=True)
    unused = taimatsu.tensor([3.0, 4.0], device=device, requires_grad=True)
    for cls in (taimatsu.optim.SGD, taimatsu.optim.Adam, taimatsu.optim.RMSprop):
        opt = cls([w, unused], lr=0.1, momentum=0.9) if cls is not taimatsu.optim.Adam else \
            cls([w, unused], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        np.testing.assert_array_equal(to_np(unused), [3.0, 4.0])
        assert unused not in opt.state and unused._version[0] == 0
        w.grad = None
    # Adagrad creates state for every parameter up front but still leaves `unused` alone
    opt = taimatsu.optim.Adagrad([w, unused])
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(to_np(unused), [3.0, 4.0])
    assert float(opt.state[unused]["step"]) == 0


def test_step_changes_saved_tensor_version():
    """A graph that saved a parameter refuses backward once the optimizer changed it."""
    w = taimatsu.tensor([1.0, 2.0], requires_grad=True)
    opt = taimatsu.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    stale = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        stale.backward()


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_per_group_options(name, device):
    options = {
        "SGD": ({"lr": 0.1, "momentum": 0.9, "nesterov": True}, {"lr": 0.01, "weight_decay": 0.2}),
        "Adam": ({"lr": 0.1, "amsgrad": True}, {"betas": (0.5, 0.6), "weight_decay": 0.1}),
        "AdamW": ({"lr": 0.1, "weight_decay": 0.3}, {"maximize": True}),
        "Adagrad": ({"lr": 0.2, "lr_decay": 0.05}, {"lr": 0.05, "weight_decay": 0.1}),
        "RMSprop": ({"centered": True, "momentum": 0.5}, {"alpha": 0.9, "weight_decay": 0.1}),
    }[name]
    defaults = {"lr": 0.02}
    mine, ref = Problem(taimatsu, device=device), Problem(torch)

    def groups(params):
        return [{"params": [params[0]], **options[0]}, {"params": [params[1]], **options[1]}]

    opt = make(taimatsu, name, groups(mine.params), defaults)
    opt_ref = make(torch, name, groups(ref.params), defaults)
    mine.train(opt)
    ref.train(opt_ref)
    assert_close(mine.values(), ref.values(), rtol=1e-9)
    assert opt.state_dict()["param_groups"] == opt_ref.state_dict()["param_groups"]


@needs_torch
def test_add_param_group_later(device):
    """A group added after some steps starts with fresh state, with its own options."""
    mine, ref = Problem(taimatsu, device=device), Problem(torch)
    runs = []
    for lib, prob in ((taimatsu, mine), (torch, ref)):
        opt = lib.optim.Adagrad([prob.params[0]], lr=0.1, initial_accumulator_value=0.3)
        prob.train(opt, steps=5)
        opt.add_param_group({"params": [prob.params[1]], "lr": 0.05})
        prob.train(opt, steps=5)
        runs.append((prob.values(), opt))
    assert_close(runs[0][0], runs[1][0], rtol=1e-9)
    assert runs[0][1].state_dict()["param_groups"] == runs[1][1].state_dict()["param_groups"]


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_repr_matches_pytorch(name):
    t = taimatsu.tensor([1.0], requires_grad=True)
    r = torch.tensor([1.0], requires_grad=True)
    kwargs = {"lr": 0.1, "momentum": 0.5} if name in ("SGD", "RMSprop") else {"lr": 0.1}
    groups = [{"params": [t]}, {"params": [taimatsu.tensor([2.0], requires_grad=True)],
                                "lr": 0.5}]
    groups_ref = [{"params": [r]}, {"params": [torch.tensor([2.0], requires_grad=True)],
                                    "lr": 0.5}]
    assert repr(make(taimatsu, name, groups, kwargs)) == repr(make(torch, name, groups_ref,
                                                                   kwargs))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_tensor_lr_equals_float_lr(name, device):
    """A 1-element tensor ``lr`` (as PyTorch allows) gives the same steps as the float."""
    runs = []
    for lr in (0.05, taimatsu.tensor(0.05, dtype=taimatsu.float64)):
        prob = Problem(taimatsu, device=device)
        prob.train(make(taimatsu, name, prob.params, {"lr": lr}), steps=5)
        runs.append(prob.values())
    assert_close(runs[0], runs[1], rtol=0)
