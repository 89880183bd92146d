"""Learning-rate schedulers against PyTorch: the lr sequences, ``get_last_lr`` and
``state_dict``."""
from __future__ import annotations

import math
import warnings

import pytest

import taimatsu
from taimatsu.optim import SGD, lr_scheduler
from tests.helpers import needs_torch, torch

SCHEDULERS = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 11]}),
    ("MultiStepLR", {"milestones": [7, 3], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95 ** epoch}),
    ("LambdaLR", {"lr_lambda": [lambda epoch: 1 / (epoch + 1), lambda epoch: epoch // 3]}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SCHEDULERS)]


def _optimizer(lib):
    """Two groups with different learning rates."""
    a = lib.tensor([1.0], requires_grad=True)
    b = lib.tensor([2.0], requires_grad=True)
    return lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)


def _run(lib, name, kwargs, epochs=30):
    opt = _optimizer(lib)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    lrs = [sched.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return lrs, sched, opt


@needs_torch
@pytest.mark.parametrize(("name", "kwargs"), SCHEDULERS, ids=IDS)
def test_lr_sequence_matches_pytorch(name, kwargs):
    mine, sched, opt = _run(taimatsu, name, kwargs)
    ref, sched_ref, _ = _run(torch, name, kwargs)
    assert mine == ref  # the same formulas: equal floats, not just close
    sd, sd_ref = sched.state_dict(), sched_ref.state_dict()
    assert sorted(sd) == sorted(sd_ref)
    for key in sd:
        assert sd[key] == sd_ref[key], key
    assert opt.param_groups[0]["initial_lr"] == 0.1


@needs_torch
@pytest.mark.parametrize(("name", "kwargs"), SCHEDULERS, ids=IDS)
def test_state_dict_round_trip(name, kwargs):
    """A scheduler rebuilt from state dicts (optimizer and scheduler) continues the sequence."""
    full, _, _ = _run(taimatsu, name, kwargs, epochs=20)
    _, sched, opt = _run(taimatsu, name, kwargs, epochs=8)
    opt2 = _optimizer(taimatsu)
    sched2 = getattr(lr_scheduler, name)(opt2, **kwargs)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert sched2.get_last_lr() == full[8]
    for epoch in range(9, 21):
        opt2.step()
        sched2.step()
        assert sched2.get_last_lr() == full[epoch]


@needs_torch
@pytest.mark.parametrize(("name", "kwargs"), [s for s in SCHEDULERS if s[0] != "LambdaLR"],
                         ids=[i for i, s in zip(IDS, SCHEDULERS) if s[0] != "LambdaLR"])
def test_step_with_epoch_uses_closed_form(name, kwargs):
    lrs = []
    for lib in (taimatsu, torch):
        opt = _optimizer(lib)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 1, 8, 8, 15):
                opt.step()
                sched.step(epoch)
                seq.append(sched.get_last_lr())
        lrs.append(seq)
    assert lrs[0] == lrs[1]


@needs_torch
def test_resume_with_last_epoch():
    lrs = []
    for lib in (taimatsu, torch):
        opt = _optimizer(lib)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        seq = [sched.get_last_lr()]
        for _ in range(5):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        lrs.append(seq)
    assert lrs[0] == lrs[1]


def test_resume_without_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_optimizer(taimatsu), step_size=2, last_epoch=3)


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=2)


def test_lambda_count_must_match_groups():
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(_optimizer(taimatsu), lr_lambda=[lambda e: 1.0])


def test_warns_when_stepped_before_optimizer():
    opt = _optimizer(taimatsu)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2 = _optimizer(taimatsu)
        sched2 = lr_scheduler.StepLR(opt2, step_size=2)
        opt2.step()
        sched2.step()


def test_get_lr_outside_step_warns():
    sched = lr_scheduler.ExponentialLR(_optimizer(taimatsu), gamma=0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_scheduler_lr_drives_the_update():
    w = taimatsu.tensor([1.0], requires_grad=True)
    opt = SGD([w], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for expected in (1.0, 0.5, 0.25):
        before = float(w)
        w.grad = taimatsu.tensor([1.0])
        opt.step()
        assert math.isclose(before - float(w), expected)
        sched.step()


# ---------------------------------------------------------------------------- ReduceLROnPlateau
PLATEAU = [
    {},
    {"patience": 2},
    {"patience": 1, "cooldown": 2, "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.05},
    {"patience": 0, "threshold_mode": "abs", "threshold": 0.05, "min_lr": [0.02, 0.2]},
    {"patience": 0, "min_lr": 0.009, "eps": 1e-3},
]
METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.91, 0.92, 0.8, 0.85, 0.85,
           0.86, 0.87, 0.88, 0.95, 1.0, 1.1, 0.7, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8]


@needs_torch
@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_pytorch(kwargs):
    seqs, dicts = [], []
    for lib in (taimatsu, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        seq = []
        for m in METRICS:
            opt.step()
            sched.step(lib.tensor(m) if m > 0.95 else m)  # numbers or 0-d tensors
            seq.append(sched.get_last_lr())
        seqs.append(seq)
        dicts.append(sched.state_dict())
    assert seqs[0] == seqs[1]
    assert sorted(dicts[0]) == sorted(dicts[1])
    for key in dicts[0]:
        assert dicts[0][key] == dicts[1][key], key


def test_reduce_on_plateau_state_dict_round_trip():
    opt = _optimizer(taimatsu)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    full = []
    for m in METRICS:
        sched.step(m)
        full.append(sched.get_last_lr())
    opt = _optimizer(taimatsu)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for m in METRICS[:10]:
        sched.step(m)
    opt2 = _optimizer(taimatsu)
    opt2.load_state_dict(opt.state_dict())
    sched2 = lr_scheduler.ReduceLROnPlateau(opt2, mode="max")
    sched2.load_state_dict(sched.state_dict())
    for m, expected in zip(METRICS[10:], full[10:]):
        sched2.step(m)
        assert sched2.get_last_lr() == expected


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"factor": 1.0}, ValueError, "Factor should be < 1.0."),
    ({"mode": "up"}, ValueError, "mode up is unknown!"),
    ({"threshold_mode": "x"}, ValueError, "threshold mode x is unknown!"),
    ({"min_lr": [0.1]}, ValueError, "expected 2 min_lrs, got 1"),
])
def test_reduce_on_plateau_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        lr_scheduler.ReduceLROnPlateau(_optimizer(taimatsu), **kwargs)
