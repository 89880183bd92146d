"""The schedulers added after the first seven, against PyTorch: the lr (and cycled momentum) of
every group after every one of 300 steps, the state dict's keys and values, round trips, and
refusing a state dict of another kind of scheduler."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch, torch

STEPS = 300


def _sgd(lib):
    a = lib.tensor([1.0], requires_grad=True)
    b = lib.tensor([2.0], requires_grad=True)
    return lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)


def _adam(lib):
    a = lib.tensor([1.0], requires_grad=True)
    b = lib.tensor([2.0], requires_grad=True)
    return lib.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.01)


def _sched(lib, name, opt, kwargs):
    ls = lib.optim.lr_scheduler
    if name == "SequentialLR":
        children = [ls.LinearLR(opt, start_factor=0.2, total_iters=7),
                    ls.ExponentialLR(opt, gamma=0.99),
                    ls.CosineAnnealingLR(opt, T_max=40)]
        return ls.SequentialLR(opt, schedulers=children, milestones=[7, 100])
    if name == "ChainedScheduler":
        return ls.ChainedScheduler([ls.ConstantLR(opt, factor=0.5, total_iters=4),
                                    ls.ExponentialLR(opt, gamma=0.99),
                                    ls.CosineAnnealingWarmRestarts(opt, T_0=13)])
    return getattr(ls, name)(opt, **kwargs)


class Halving:
    """A callable object, whose ``__dict__`` the state dict keeps."""

    def __init__(self):
        self.rate = 0.5

    def __call__(self, x):
        return self.rate ** x


CASES = [
    ("MultiplicativeLR", {"lr_lambda": lambda epoch: 0.99}, _sgd),
    ("MultiplicativeLR", {"lr_lambda": [lambda e: 0.98, lambda e: 1.0 if e % 10 else 0.5]},
     _sgd),
    ("ConstantLR", {}, _sgd),
    ("ConstantLR", {"factor": 0.3, "total_iters": 17}, _sgd),
    ("LinearLR", {}, _sgd),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.05, "total_iters": 150}, _sgd),
    ("PolynomialLR", {}, _sgd),
    ("PolynomialLR", {"total_iters": 250, "power": 2.5}, _sgd),
    ("CosineAnnealingWarmRestarts", {"T_0": 10}, _sgd),
    ("CosineAnnealingWarmRestarts", {"T_0": 7, "T_mult": 2, "eta_min": 0.001}, _sgd),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 20}, _sgd),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": [0.1, 0.3], "step_size_up": 15,
                  "step_size_down": 25, "mode": "triangular2"}, _sgd),
    ("CyclicLR", {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 30, "mode": "exp_range",
                  "gamma": 0.995}, _adam),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 20, "scale_fn": Halving(),
                  "scale_mode": "iterations", "base_momentum": 0.5,
                  "max_momentum": 0.95}, _sgd),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 20,
                  "cycle_momentum": False}, _sgd),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": STEPS}, _sgd),
    ("OneCycleLR", {"max_lr": [0.1, 0.5], "epochs": 30, "steps_per_epoch": 10,
                    "anneal_strategy": "linear", "pct_start": 0.25}, _adam),
    ("OneCycleLR", {"max_lr": 0.05, "total_steps": STEPS, "three_phase": True,
                    "div_factor": 10.0, "final_div_factor": 100.0}, _sgd),
    ("OneCycleLR", {"max_lr": 0.05, "total_steps": STEPS, "cycle_momentum": False}, _sgd),
    ("SequentialLR", {}, _sgd),
    ("ChainedScheduler", {}, _sgd),
    # the earlier schedulers, over the same 300 steps
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.99 ** epoch}, _sgd),
    ("StepLR", {"step_size": 30, "gamma": 0.7}, _sgd),
    ("MultiStepLR", {"milestones": [50, 120, 120, 260]}, _adam),
    ("ExponentialLR", {"gamma": 0.995}, _sgd),
    ("CosineAnnealingLR", {"T_max": 70, "eta_min": 0.001}, _sgd),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _observe(opt):
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _run(lib, name, kwargs, make_opt, steps=STEPS):
    opt = make_opt(lib)
    sched = _sched(lib, name, opt, kwargs)
    seen = [(sched.get_last_lr(), _observe(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        seen.append((sched.get_last_lr(), _observe(opt)))
    return seen, sched, opt


def _assert_same(mine, ref):
    for i, ((lrs, groups), (lrs_ref, groups_ref)) in enumerate(zip(mine, ref)):
        np.testing.assert_allclose(lrs, lrs_ref, rtol=1e-13, err_msg=f"step {i}")
        for g, g_ref in zip(groups, groups_ref):
            for v, v_ref in zip(g, g_ref):
                if v_ref is None:
                    assert v is None
                else:
                    np.testing.assert_allclose(v, v_ref, rtol=1e-13, err_msg=f"step {i}")


def _plain(value):
    """State-dict values made comparable across frameworks."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "lr_lambdas"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@needs_torch
@pytest.mark.parametrize(("name", "kwargs", "make_opt"), CASES, ids=IDS)
def test_matches_pytorch_every_step(name, kwargs, make_opt):
    mine, sched, opt = _run(taimatsu, name, kwargs, make_opt)
    ref, sched_ref, opt_ref = _run(torch, name, kwargs, make_opt)
    _assert_same(mine, ref)
    sd, sd_ref = sched.state_dict(), sched_ref.state_dict()
    assert sorted(sd) == sorted(sd_ref)
    assert _plain(sd) == _plain(sd_ref)
    groups = opt.state_dict()["param_groups"]
    groups_ref = opt_ref.state_dict()["param_groups"]
    assert [sorted(g) for g in groups] == [sorted(g) for g in groups_ref]


def _restored(name, kwargs, make_opt, sched, opt):
    """Schedulers equal to ``sched`` made by state-dict round trips and by deepcopy."""
    opt2 = make_opt(taimatsu)
    sched2 = _sched(taimatsu, name, opt2, kwargs)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    yield sched2, opt2
    if "lr_lambda" not in kwargs and "scale_fn" not in kwargs:  # (functions do not pickle)
        import io
        buf = io.BytesIO()
        taimatsu.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
        buf.seek(0)
        loaded = taimatsu.load(buf)
        opt3 = make_opt(taimatsu)
        sched3 = _sched(taimatsu, name, opt3, kwargs)
        opt3.load_state_dict(loaded["opt"])
        sched3.load_state_dict(loaded["sched"])
        yield sched3, opt3
    sched4, opt4 = copy.deepcopy((sched, opt))
    yield sched4, opt4


@pytest.mark.parametrize(("name", "kwargs", "make_opt"), CASES, ids=IDS)
def test_round_trip_continues(name, kwargs, make_opt):
    full, _, _ = _run(taimatsu, name, kwargs, make_opt, steps=60)
    _, sched, opt = _run(taimatsu, name, kwargs, make_opt, steps=25)
    for sched2, opt2 in _restored(name, kwargs, make_opt, sched, opt):
        assert sched2.get_last_lr() == full[25][0]
        for i in range(26, 61):
            opt2.step()
            sched2.step()
            assert (sched2.get_last_lr(), _observe(opt2)) == full[i], i


@needs_torch
@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_fractional_epochs(T_mult):
    lrs = []
    for lib in (taimatsu, torch):
        opt = _sgd(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=T_mult)
        seq = []
        for epoch in range(40):
            for i in range(4):
                opt.step()
                sched.step(epoch + i / 4)
                seq.append(sched.get_last_lr() + [sched.T_cur, sched.T_i, sched.last_epoch])
        lrs.append(seq)
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=1e-13)


@needs_torch
@pytest.mark.parametrize("name", ["ConstantLR", "LinearLR", "PolynomialLR"])
def test_step_with_epoch_uses_closed_form(name):
    seqs = []
    for lib in (taimatsu, torch):
        opt = _sgd(lib)
        sched = getattr(lib.optim.lr_scheduler, name)(opt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seq = []
            for epoch in (3, 1, 8, 2, 15):
                opt.step()
                sched.step(epoch)
                seq.append(sched.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-13)


def test_one_cycle_past_the_end():
    opt = _sgd(taimatsu)
    sched = taimatsu.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        sched.step()


@pytest.mark.parametrize(("call", "match"), [
    (lambda ls, o: ls.ConstantLR(o, factor=1.5), "between 0 and 1"),
    (lambda ls, o: ls.LinearLR(o, start_factor=0), "greater than 0"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=0), "positive integer T_0, but got 0"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "T_mult >= 1"),
    (lambda ls, o: ls.CyclicLR(o, 0.1, 1.0, mode="sine"), "mode is invalid"),
    (lambda ls, o: ls.CyclicLR(o, [0.1], 1.0), "base_lr must have the same length"),
    (lambda ls, o: ls.OneCycleLR(o, max_lr=0.1), "either total_steps OR"),
    (lambda ls, o: ls.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=2.0),
     "pct_start, but got 2.0"),
    (lambda ls, o: ls.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"),
     "'cos' or 'linear'"),
    (lambda ls, o: ls.SequentialLR(o, [ls.StepLR(o, 2)], milestones=[3]), "one more than"),
    (lambda ls, o: ls.ChainedScheduler([]), "at least one scheduler"),
    (lambda ls, o: ls.MultiplicativeLR(o, lr_lambda=3), "lr_lambda should be a function"),
])
def test_bad_arguments(call, match):
    opt = _sgd(taimatsu)
    before = copy.deepcopy(opt.param_groups)
    with pytest.raises(ValueError if "function" not in match else TypeError, match=match):
        call(taimatsu.optim.lr_scheduler, opt)
    # (initial_lr aside: the StepLR built inside the SequentialLR case sets it, legitimately)
    assert [{k: v for k, v in g.items() if k not in ("params", "initial_lr")}
            for g in opt.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in before]


def test_cycle_momentum_needs_momentum():
    opt = taimatsu.optim.Adagrad([taimatsu.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        taimatsu.optim.lr_scheduler.CyclicLR(opt, 0.1, 1.0)


def test_schedulers_need_one_optimizer():
    ls = taimatsu.optim.lr_scheduler
    a, b = _sgd(taimatsu), _sgd(taimatsu)
    with pytest.raises(ValueError, match="belong to the same optimizer"):
        ls.ChainedScheduler([ls.StepLR(a, 2), ls.StepLR(b, 2)])


@pytest.mark.parametrize(("saved", "loader"), [
    (lambda ls, o: ls.StepLR(o, 3), lambda ls, o: ls.CosineAnnealingLR(o, T_max=10)),
    (lambda ls, o: ls.ExponentialLR(o, 0.9), lambda ls, o: ls.StepLR(o, 3)),
    (lambda ls, o: ls.CyclicLR(o, 0.1, 1.0), lambda ls, o: ls.OneCycleLR(o, 1.0, 10)),
    (lambda ls, o: ls.LinearLR(o), lambda ls, o: ls.LambdaLR(o, lambda e: 1.0)),
])
def test_state_dict_of_another_kind_is_refused(saved, loader):
    ls = taimatsu.optim.lr_scheduler
    sd = saved(ls, _sgd(taimatsu)).state_dict()
    target = loader(ls, _sgd(taimatsu))
    before = copy.deepcopy({k: v for k, v in target.__dict__.items() if k != "optimizer"})
    with pytest.raises(ValueError, match=f"not saved by {type(target).__name__}"):
        target.load_state_dict(sd)
    after = {k: v for k, v in target.__dict__.items() if k != "optimizer"}
    assert sorted(after) == sorted(before) and math.isclose(after["last_epoch"],
                                                            before["last_epoch"])


def test_optimizer_state_dict_of_another_kind_is_refused():
    w = taimatsu.tensor([1.0, 2.0], requires_grad=True)
    sgd = taimatsu.optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    sgd.step()
    adam = taimatsu.optim.NAdam([w])
    groups = [{k: v for k, v in g.items() if k != "params"} for g in adam.param_groups]
    with pytest.raises(ValueError, match="not saved by NAdam: parameter group 0 has no 'betas'"):
        adam.load_state_dict(sgd.state_dict())
    assert len(adam.state) == 0
    assert [{k: v for k, v in g.items() if k != "params"} for g in adam.param_groups] == groups
