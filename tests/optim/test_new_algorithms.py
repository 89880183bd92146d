"""The optimizers added after the first five, against PyTorch: 200 steps of a small regression
from the same weights, in two parameter groups with different options, comparing the parameters
and the state after every step; then the state dict round trips (``state_dict`` /
``load_state_dict``, ``copy.deepcopy``, ``taimatsu.save`` / ``load`` where it exists)."""
from __future__ import annotations

import copy
import io

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch, to_np, torch
from tests.optim.regression import Problem, assert_close, make

# (name, defaults, options of the second group)
CASES = [
    ("Adadelta", {}, {"lr": 0.5}),
    ("Adadelta", {"rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}, {"maximize": True}),
    ("Adamax", {}, {"lr": 0.01}),
    ("Adamax", {"betas": (0.3, 0.5), "weight_decay": 0.1}, {"eps": 1e-3, "maximize": True}),
    ("NAdam", {}, {"lr": 0.01}),
    ("NAdam", {"weight_decay": 0.1}, {"momentum_decay": 0.1, "betas": (0.5, 0.9)}),
    ("NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"maximize": True}),
    ("RAdam", {}, {"lr": 0.01}),
    ("RAdam", {"betas": (0.5, 0.6), "weight_decay": 0.1}, {"maximize": True}),
    ("RAdam", {"weight_decay": 0.2, "decoupled_weight_decay": True}, {"eps": 1e-3}),
    ("ASGD", {}, {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "t0": 20, "lambd": 1e-2}, {"alpha": 0.5, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.01, "maximize": True}, {"t0": 5}),
    ("Rprop", {}, {"lr": 0.001}),
    ("Rprop", {"etas": (0.3, 1.5), "step_sizes": (1e-4, 0.02)}, {"maximize": True}),
    ("Adafactor", {}, {"lr": 0.05}),
    ("Adafactor", {"beta2_decay": -0.5, "d": 2.0, "weight_decay": 0.1},
     {"eps": (1e-20, 1e-2), "maximize": True}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]
STEPS = 200


def _groups(params, options):
    return [{"params": [params[0]]}, {"params": [params[1]], **options}]


def _state_np(state):
    return {k: to_np(v) if hasattr(v, "shape") else v for k, v in state.items()}


def _assert_state_equal(opt, opt_ref, mine, ref, rtol=1e-12):
    for p, q in zip(mine.params, ref.params):
        s, s_ref = _state_np(opt.state[p]), _state_np(opt_ref.state[q])
        assert sorted(s) == sorted(s_ref)
        for key in s:
            np.testing.assert_allclose(s[key], s_ref[key], rtol=rtol, atol=1e-15, err_msg=key)


def _step(prob, opt):
    opt.zero_grad()
    prob.loss().backward()
    opt.step()


def _step_both(mine, ref, opt, opt_ref):
    """One step of each, PyTorch's parameters given taimatsu's gradients: the two frameworks'
    matmuls round differently, and 200 steps would amplify that; the rules must agree."""
    opt.zero_grad()
    mine.loss().backward()
    for p, q in zip(mine.params, ref.params):
        q.grad = torch.tensor(to_np(p.grad))
    opt.step()
    opt_ref.step()


@needs_torch
@pytest.mark.parametrize(("name", "defaults", "options"), CASES, ids=IDS)
def test_matches_pytorch_every_step(name, defaults, options, device):
    mine, ref = Problem(taimatsu, device=device), Problem(torch)
    opt = make(taimatsu, name, _groups(mine.params, options), defaults)
    opt_ref = make(torch, name, _groups(ref.params, options), defaults)
    assert opt.state_dict()["param_groups"] == opt_ref.state_dict()["param_groups"]
    for i in range(STEPS):
        _step_both(mine, ref, opt, opt_ref)
        assert_close(mine.values(), ref.values(), rtol=1e-12, atol=1e-15)
        if i % 20 == 0 or i == STEPS - 1:
            _assert_state_equal(opt, opt_ref, mine, ref)
    assert repr(opt) == repr(opt_ref)


def _restored(name, defaults, options, prob, opt, device):
    """``(problem, optimizer)`` copies of ``prob``/``opt`` made in each supported way."""
    cls = getattr(taimatsu.optim, name)

    def fresh():
        copy_prob = Problem(taimatsu, device=device)
        for p, v in zip(copy_prob.params, prob.values()):
            p.data = taimatsu.tensor(v, device=device)
        return copy_prob, cls(_groups(copy_prob.params, options), **defaults)

    copy_prob, loaded = fresh()
    loaded.load_state_dict(opt.state_dict())
    yield copy_prob, loaded
    copy_prob = Problem(taimatsu, device=device)
    copy_prob.params, deep = copy.deepcopy((prob.params, opt))
    yield copy_prob, deep
    if hasattr(taimatsu, "save") and hasattr(taimatsu, "load"):
        buf = io.BytesIO()
        taimatsu.save(opt.state_dict(), buf)
        buf.seek(0)
        copy_prob, from_file = fresh()
        from_file.load_state_dict(taimatsu.load(buf))
        yield copy_prob, from_file


@pytest.mark.parametrize(("name", "defaults", "options"), CASES, ids=IDS)
def test_state_dict_round_trip_continues(name, defaults, options, device):
    """10 steps, a round trip, 10 more steps: the same as 20 steps straight (to float32
    precision: loading casts 0-d float32 state such as NAdam's ``mu_product`` or ASGD's ``eta`` to
    the parameter's dtype, as PyTorch does)."""
    straight = Problem(taimatsu, device=device)
    opt = make(taimatsu, name, _groups(straight.params, options), defaults)
    for _ in range(20):
        _step(straight, opt)
    half = Problem(taimatsu, device=device)
    opt_half = make(taimatsu, name, _groups(half.params, options), defaults)
    for _ in range(10):
        _step(half, opt_half)
    for prob, restored in _restored(name, defaults, options, half, opt_half, device):
        assert type(restored) is type(opt_half)
        for _ in range(10):
            _step(prob, restored)
        assert_close(prob.values(), straight.values(), rtol=1e-6)


def test_update_in_place(device):
    for name, defaults, options in CASES[::2]:
        prob = Problem(taimatsu, device=device)
        arrays = [p._data for p in prob.params]
        opt = make(taimatsu, name, _groups(prob.params, options), defaults)
        for _ in range(3):
            _step(prob, opt)
        for p, arr in zip(prob.params, arrays):
            assert p._data is arr and p._version[0] >= 3, name
            assert p.is_leaf and p.grad_fn is None


# ---------------------------------------------------------------------------- LBFGS
LBFGS_CASES = [
    {},
    {"lr": 0.5, "max_iter": 5, "history_size": 3},
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 7, "max_eval": 9},
    {"lr": 0.8, "tolerance_grad": 1e-3, "tolerance_change": 1e-4},
]


def _lbfgs_run(lib, kwargs, steps, device="cpu"):
    prob = Problem(lib, device=device) if lib is taimatsu else Problem(lib)
    opt = lib.optim.LBFGS(prob.params, **kwargs)
    losses = []

    def closure():
        opt.zero_grad()
        loss = prob.loss()
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(opt.step(closure).item())
    return prob, opt, losses


@needs_torch
@pytest.mark.parametrize("kwargs", LBFGS_CASES, ids=[str(k) for k in LBFGS_CASES])
def test_lbfgs_matches_pytorch(kwargs, device):
    mine, opt, losses = _lbfgs_run(taimatsu, kwargs, 3, device)
    ref, opt_ref, losses_ref = _lbfgs_run(torch, kwargs, 3)
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-9)
    assert_close(mine.values(), ref.values(), rtol=1e-7, atol=1e-10)
    state, state_ref = opt.state[mine.params[0]], opt_ref.state[ref.params[0]]
    assert sorted(state) == sorted(state_ref)
    for key in ("func_evals", "n_iter"):
        assert state[key] == state_ref[key], key
    assert len(state["old_dirs"]) == len(state_ref["old_dirs"])
    np.testing.assert_allclose(to_np(state["d"]), state_ref["d"].numpy(), rtol=1e-6, atol=1e-9)
    assert opt.state_dict()["param_groups"] == opt_ref.state_dict()["param_groups"]


def test_lbfgs_round_trip_continues(device):
    """Two steps, a round trip (deepcopy, state_dict, save/load where it exists), two more: the
    same losses as four steps straight."""
    kwargs = {"max_iter": 3, "history_size": 4}
    _, _, straight = _lbfgs_run(taimatsu, kwargs, 4, device)
    prob, opt, first = _lbfgs_run(taimatsu, kwargs, 2, device)
    copies = [copy.deepcopy((prob.params, opt))]
    sds = [opt.state_dict()]
    if hasattr(taimatsu, "save") and hasattr(taimatsu, "load"):
        buf = io.BytesIO()
        taimatsu.save(opt.state_dict(), buf)
        buf.seek(0)
        sds.append(taimatsu.load(buf))
    for sd in sds:
        params = [taimatsu.tensor(v, device=device, requires_grad=True) for v in prob.values()]
        loaded = taimatsu.optim.LBFGS(params, **kwargs)
        loaded.load_state_dict(sd)
        copies.append((params, loaded))
    for params, opt2 in copies:
        prob2 = Problem(taimatsu, device=device)
        prob2.params = params

        def closure(prob2=prob2, opt2=opt2):
            opt2.zero_grad()
            loss = prob2.loss()
            loss.backward()
            return loss

        rest = [float(opt2.step(closure)) for _ in range(2)]
        np.testing.assert_allclose(first + rest, straight, rtol=1e-12)


def test_lbfgs_refuses_groups_and_missing_closure():
    a = taimatsu.tensor([1.0], requires_grad=True)
    b = taimatsu.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        taimatsu.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = taimatsu.optim.LBFGS([a])
    with pytest.raises(ValueError, match="per-parameter options"):
        opt.add_param_group({"params": [b]})
    with pytest.raises(TypeError, match="closure"):
        opt.step()
    opt = taimatsu.optim.LBFGS([a], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(lambda: (a * a).sum())
    assert a.tolist() == [1.0]


# ---------------------------------------------------------------------------- SparseAdam
@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.05, "betas": (0.5, 0.7), "maximize": True}])
def test_sparse_adam_matches_pytorch_sparse_gradients(kwargs, device):
    """A dense gradient with zero rows (an embedding lookup) steps like PyTorch's SparseAdam
    given the same gradient as a sparse tensor."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((10, 3))
    w = taimatsu.tensor(w0.copy(), device=device, requires_grad=True)
    w_ref = torch.tensor(w0.copy(), requires_grad=True)
    opt = taimatsu.optim.SparseAdam([w], **kwargs)
    opt_ref = torch.optim.SparseAdam([w_ref], **kwargs)
    for _ in range(STEPS):
        rows = rng.choice(10, size=4, replace=False)
        g = np.zeros((10, 3))
        g[rows] = rng.standard_normal((4, 3))
        w.grad = taimatsu.tensor(g, device=device)
        w_ref.grad = torch.tensor(g).to_sparse()
        opt.step()
        opt_ref.step()
    np.testing.assert_allclose(to_np(w), w_ref.detach().numpy(), rtol=1e-12)
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(to_np(opt.state[w][key]), opt_ref.state[w_ref][key].numpy(),
                                   rtol=1e-12, atol=1e-300)
    assert opt.state[w]["step"] == opt_ref.state[w_ref]["step"] == STEPS


def test_sparse_adam_bad_options():
    w = taimatsu.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: 0"):
        taimatsu.optim.SparseAdam([w], lr=0)
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        taimatsu.optim.SparseAdam([w], eps=0)


# ---------------------------------------------------------------------------- Muon
def _ns_float64(grad, ns_coefficients, ns_steps, eps):
    """PyTorch's Newton-Schulz iteration without its bfloat16 cast."""
    a, b, c = ns_coefficients
    x = grad.double()
    if grad.size(0) > grad.size(1):
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if grad.size(0) > grad.size(1) else x


MUON_CASES = [
    {},
    {"lr": 0.02, "nesterov": False, "weight_decay": 0.0},
    {"lr": 0.01, "momentum": 0.5, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3},
]


@needs_torch
@pytest.mark.parametrize("kwargs", MUON_CASES, ids=[str(k) for k in MUON_CASES])
def test_muon_matches_pytorch(kwargs, device, monkeypatch):
    """Everything but the bfloat16 of PyTorch's Newton-Schulz: 200 steps step for step, with a
    float64 iteration patched into PyTorch's Muon; two groups, tall and wide matrices."""
    import torch.optim._muon as muon_ref
    monkeypatch.setattr(muon_ref, "_zeropower_via_newtonschulz", _ns_float64)
    rng = np.random.default_rng(1)
    shapes = [(5, 3), (3, 6)]
    init = [0.5 * rng.standard_normal(s) for s in shapes]
    mine = [taimatsu.tensor(a.copy(), device=device, requires_grad=True) for a in init]
    ref = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = taimatsu.optim.Muon([{"params": [mine[0]]}, {"params": [mine[1]], "lr": 0.005}],
                              **kwargs)
    opt_ref = torch.optim.Muon([{"params": [ref[0]]}, {"params": [ref[1]], "lr": 0.005}],
                               **kwargs)
    for _ in range(STEPS):
        for p, q in zip(mine, ref):
            g = rng.standard_normal(p.shape) + to_np(p)
            p.grad = taimatsu.tensor(g, device=device)
            q.grad = torch.tensor(g)
        opt.step()
        opt_ref.step()
    for p, q in zip(mine, ref):
        np.testing.assert_allclose(to_np(p), q.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(to_np(opt.state[p]["momentum_buffer"]),
                                   opt_ref.state[q]["momentum_buffer"].numpy(), rtol=1e-12)
    assert opt.state_dict()["param_groups"] == opt_ref.state_dict()["param_groups"]


@needs_torch
def test_muon_newton_schulz_close_to_pytorch_bfloat16():
    import torch.optim._muon as muon_ref

    from taimatsu.optim.muon import _zeropower_via_newtonschulz
    g = np.random.default_rng(2).standard_normal((6, 4))
    mine = _zeropower_via_newtonschulz(np, g, (3.4445, -4.7750, 2.0315), 5, 1e-7)
    ref = muon_ref._zeropower_via_newtonschulz(torch.tensor(g), (3.4445, -4.7750, 2.0315), 5,
                                               1e-7).float().numpy()
    np.testing.assert_allclose(mine, ref, atol=3e-2)  # bfloat16 has 8 bits of mantissa


def test_muon_refuses_non_matrices():
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .*\[3\]"):
        taimatsu.optim.Muon([taimatsu.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="Adjust learning rate function foo is not supported"):
        taimatsu.optim.Muon([taimatsu.zeros(3, 3, requires_grad=True)], adjust_lr_fn="foo")


@needs_torch
@pytest.mark.parametrize(("name", "defaults", "options"), CASES, ids=IDS)
def test_matches_pytorch_float32(name, defaults, options, device):
    """float32 parameters and state stay float32 and follow PyTorch's to float32 precision."""
    mine = Problem(taimatsu, np.float32, device=device)
    ref = Problem(torch, np.float32)
    opt = make(taimatsu, name, _groups(mine.params, options), defaults)
    opt_ref = make(torch, name, _groups(ref.params, options), defaults)
    for _ in range(50):
        _step_both(mine, ref, opt, opt_ref)
    assert_close(mine.values(), ref.values(), rtol=1e-5, atol=1e-6)
    for p in mine.params:
        assert p.dtype is taimatsu.float32
        for key, value in opt.state[p].items():
            if hasattr(value, "shape") and value.dim() > 0:
                assert value.dtype is taimatsu.float32, key
