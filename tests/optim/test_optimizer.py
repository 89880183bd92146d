"""The ``Optimizer`` contract: construction and its errors, parameter groups, ``zero_grad``,
closures, ``state_dict`` / ``load_state_dict``."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import taimatsu
from taimatsu.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from taimatsu.optim.optimizer import required
from tests.helpers import needs_torch, to_np, torch
from tests.optim.regression import Problem, assert_close, make

ALL = [SGD, Adam, AdamW, Adagrad, RMSprop]
# options that make each optimizer keep every kind of state it has
FULL_STATE = {
    "SGD": {"lr": 0.05, "momentum": 0.9},
    "Adam": {"lr": 0.05, "amsgrad": True},
    "AdamW": {"lr": 0.05, "amsgrad": True},
    "Adagrad": {"lr": 0.1, "initial_accumulator_value": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
}


def _leaf(*values, device="cpu"):
    return taimatsu.tensor(list(values), device=device, requires_grad=True)


# ---------------------------------------------------------------------------- construction
@pytest.mark.parametrize("cls", ALL)
def test_empty_parameter_list(cls):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls([])


@pytest.mark.parametrize("cls", ALL)
def test_non_leaf_tensor(cls):
    w = _leaf(1.0, 2.0)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        cls([w * 2])


def test_non_leaf_that_retains_grad_is_accepted():
    w = _leaf(1.0, 2.0)
    h = w * 2
    h.retain_grad()
    assert SGD([h]).param_groups[0]["params"][0] is h


@pytest.mark.parametrize("cls", ALL)
def test_non_tensor_param(cls):
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is int"):
        cls([_leaf(1.0), 3])
    with pytest.raises(TypeError, match="numpy.ndarray"):
        cls([np.zeros(2)])


def test_tensor_instead_of_iterable():
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "):
        SGD(_leaf(1.0))


def test_set_of_params():
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {_leaf(1.0)}}])


@pytest.mark.parametrize(("cls", "kwargs", "message"), [
    (SGD, {"lr": -0.1}, "Invalid learning rate: -0.1"),
    (Adam, {"lr": -0.1}, "Invalid learning rate: -0.1"),
    (AdamW, {"lr": -0.1}, "Invalid learning rate: -0.1"),
    (Adagrad, {"lr": -0.1}, "Invalid learning rate: -0.1"),
    (RMSprop, {"lr": -0.1}, "Invalid learning rate: -0.1"),
    (SGD, {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    (SGD, {"weight_decay": -1.0}, "Invalid weight_decay value: -1.0"),
    (SGD, {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
     "Nesterov momentum requires a momentum and zero dampening"),
    (Adam, {"betas": (1.5, 0.999)}, r"Invalid beta parameter at index 0: 1.5"),
    (Adam, {"betas": (0.9, 1.0)}, r"Invalid beta parameter at index 1: 1.0"),
    (AdamW, {"betas": (-0.1, 0.999)}, r"Invalid beta parameter at index 0: -0.1"),
    (Adam, {"betas": (0, 0.999)}, "betas must be either both floats or both Tensors"),
    (Adam, {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    (Adam, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (AdamW, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (Adagrad, {"lr_decay": -0.1}, "Invalid lr_decay value: -0.1"),
    (Adagrad, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (Adagrad, {"initial_accumulator_value": -0.1},
     "Invalid initial_accumulator_value value: -0.1"),
    (Adagrad, {"eps": -0.1}, "Invalid epsilon value: -0.1"),
    (RMSprop, {"alpha": -0.1}, "Invalid alpha value: -0.1"),
    (RMSprop, {"eps": -0.1}, "Invalid epsilon value: -0.1"),
    (RMSprop, {"momentum": -0.1}, "Invalid momentum value: -0.1"),
    (RMSprop, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
])
def test_invalid_options(cls, kwargs, message):
    w = _leaf(1.0, 2.0)
    group = {"params": [w]}
    with pytest.raises(ValueError, match=message):
        cls([group], **kwargs)
    assert group == {"params": [w]}  # the caller's group is left as it was
    np.testing.assert_array_equal(to_np(w), [1.0, 2.0])


@needs_torch
@pytest.mark.parametrize("cls", ALL)
def test_invalid_options_match_pytorch(cls):
    """Same exception type and message as PyTorch for a negative learning rate."""
    with pytest.raises(ValueError) as mine:
        cls([_leaf(1.0)], lr=-0.5)
    with pytest.raises(ValueError) as ref:
        getattr(torch.optim, cls.__name__)([torch.ones(1, requires_grad=True)], lr=-0.5)
    assert str(mine.value) == str(ref.value)


def test_differentiable_is_refused():
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        Adam([_leaf(1.0)], differentiable=True)


def test_required_option():
    class Plain(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Plain([_leaf(1.0)])
    assert Plain([{"params": [_leaf(1.0)], "lr": 0.1}]).param_groups[0]["lr"] == 0.1
    with pytest.raises(NotImplementedError):
        Plain([{"params": [_leaf(1.0)], "lr": 0.1}]).step()


# ---------------------------------------------------------------------------- parameter groups
def test_param_groups_take_defaults():
    a, b = _leaf(1.0), _leaf(2.0)
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    g0, g1 = opt.param_groups
    assert g0["params"] == [a] and g0["lr"] == 0.1 and g0["momentum"] == 0
    assert g1["params"][0] is b and g1["lr"] == 0.5 and g1["momentum"] == 0.9
    assert opt.defaults["lr"] == 0.1


def test_named_parameters():
    a, b = _leaf(1.0), _leaf(2.0)
    opt = SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["params"][1] is b
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    with pytest.raises(ValueError, match="Some param names are missing"):
        SGD([("a", a), b])
    with pytest.raises(ValueError, match="cannot add param group without names"):
        opt.add_param_group({"params": [_leaf(3.0)]})


def test_parameter_in_two_groups_changes_nothing():
    a, b, c = _leaf(1.0), _leaf(2.0), _leaf(3.0)
    first, second = {"params": [a, b]}, {"params": [b], "lr": 0.5}
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        SGD([first, second], lr=0.1)
    assert first == {"params": [a, b]} and second == {"params": [b], "lr": 0.5}

    opt = SGD([a], lr=0.1)
    groups_before = copy.copy(opt.param_groups)
    extra = {"params": [c, a]}
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group(extra)
    assert opt.param_groups == groups_before and extra == {"params": [c, a]}
    opt.add_param_group({"params": [c], "momentum": 0.5})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["lr"] == 0.1


def test_bad_group_in_init_leaves_other_groups_unchanged():
    a = _leaf(1.0)
    good = {"params": [a]}
    with pytest.raises(TypeError):
        SGD([good, {"params": ["x"]}], lr=0.1)
    assert good == {"params": [a]}


def test_duplicate_parameter_in_group_warns():
    a = _leaf(1.0)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        SGD([a, a], lr=0.1)


# ---------------------------------------------------------------------------- zero_grad
def test_zero_grad_sets_to_none(device):
    w = _leaf(1.0, 2.0, device=device)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # nothing to reset is fine
    assert w.grad is None


def test_zero_grad_to_zeros_in_place(device):
    w = _leaf(1.0, 2.0, device=device)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward(create_graph=True)
    grad = w.grad
    assert grad.requires_grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and not grad.requires_grad and grad.grad_fn is None
    np.testing.assert_array_equal(to_np(grad), [0.0, 0.0])
    (w * w).sum().backward()
    np.testing.assert_array_equal(to_np(w.grad), [2.0, 4.0])


# ---------------------------------------------------------------------------- closure
@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_closure(name, device):
    mine, ref = Problem(taimatsu, device=device), Problem(torch)
    losses = []
    for lib, prob in ((taimatsu, mine), (torch, ref)):
        opt = make(lib, name, prob.params, {"lr": 0.05})

        def closure(opt=opt, prob=prob):
            opt.zero_grad()
            loss = prob.loss()
            loss.backward()
            return loss

        run = []
        for _ in range(5):
            with lib.no_grad():  # the closure re-enables gradients itself
                run.append(float(opt.step(closure)))
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-9)
    assert_close(mine.values(), ref.values(), rtol=1e-9)


def test_step_without_closure_returns_none():
    w = _leaf(1.0)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    assert opt.step() is None


# ---------------------------------------------------------------------------- state_dict
@pytest.mark.parametrize("name", list(FULL_STATE))
def test_state_dict_round_trip(name, device):
    """save -> new optimizer on copies of the parameters -> load -> continue equals the
    uninterrupted run (which goes on with its own state: the load copied it)."""
    kwargs = FULL_STATE[name]
    prob = Problem(taimatsu, device=device)
    opt = make(taimatsu, name, prob.params, kwargs)
    prob.train(opt, steps=10)

    resumed = Problem(taimatsu, device=device)
    for p, q in zip(resumed.params, prob.params):
        p._data[...] = q._data
    saved = opt.state_dict()
    opt2 = make(taimatsu, name, resumed.params, {"lr": 123.0})
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    assert opt2.param_groups[0]["params"] == resumed.params

    prob.train(opt, steps=10)
    resumed.train(opt2, steps=10)
    assert_close(resumed.values(), prob.values(), rtol=1e-12)
    for p, q in zip(prob.params, resumed.params):
        assert sorted(opt.state[p]) == sorted(opt2.state[q])
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(to_np(opt2.state[q][key]), to_np(value))


@needs_torch
@pytest.mark.parametrize("name", list(FULL_STATE))
def test_state_dict_format_matches_pytorch(name):
    mine, ref = Problem(taimatsu), Problem(torch)
    opt, opt_ref = (make(lib, name, prob.params, FULL_STATE[name])
                    for lib, prob in ((taimatsu, mine), (torch, ref)))
    mine.train(opt, steps=3)
    ref.train(opt_ref, steps=3)
    sd, sd_ref = opt.state_dict(), opt_ref.state_dict()
    assert sd["param_groups"] == sd_ref["param_groups"]
    assert sorted(sd["state"]) == sorted(sd_ref["state"]) == [0, 1]
    for i in sd["state"]:
        assert sorted(sd["state"][i]) == sorted(sd_ref["state"][i])
        for key, value in sd["state"][i].items():
            ref_value = sd_ref["state"][i][key]
            assert isinstance(value, taimatsu.Tensor)
            assert tuple(value.shape) == tuple(ref_value.shape)
            assert str(value.dtype).split(".")[-1] == str(ref_value.dtype).split(".")[-1]
            np.testing.assert_allclose(to_np(value), to_np(ref_value), rtol=1e-9)


def test_step_counter_is_a_cpu_tensor(device):
    w = _leaf(1.0, 2.0, device=device)
    opt = Adam([w], lr=0.1)
    for _ in range(3):
        (w * w).sum().backward()
        opt.step()
    step = opt.state[w]["step"]
    assert isinstance(step, taimatsu.Tensor) and step.dim() == 0
    assert step.device.type == "cpu" and step.dtype is taimatsu.float32 and float(step) == 3.0


def test_load_state_dict_casts_to_parameter_dtype():
    w32 = taimatsu.tensor([1.0, 2.0], dtype=taimatsu.float64, requires_grad=True)
    opt = SGD([w32], lr=0.1, momentum=0.9)
    (w32 * w32).sum().backward()
    opt.step()
    w = _leaf(1.0, 2.0)  # float32
    opt2 = SGD([w], lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    buf = opt2.state[w]["momentum_buffer"]
    assert buf.dtype is taimatsu.float32
    assert buf._data is not opt.state[w32]["momentum_buffer"]._data


@pytest.mark.parametrize(("groups", "message"), [
    (lambda a, b: [{"params": [a]}, {"params": [b]}],
     "loaded state dict has a different number of parameter groups"),
    (lambda a, b: [{"params": [a, b]}],
     ("loaded state dict contains a parameter group that doesn't match the size of "
      "optimizer's group")),
])
def test_load_state_dict_mismatch_changes_nothing(groups, message):
    w = _leaf(1.0, 2.0)
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    state_before, groups_before = opt.state, opt.param_groups
    exp_avg = to_np(opt.state[w]["exp_avg"]).copy()

    other = Adam(groups(_leaf(3.0), _leaf(4.0)), lr=0.5)
    for p in other.param_groups[0]["params"]:
        (p * p).sum().backward()
    other.step()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(other.state_dict())
    assert opt.state is state_before and opt.param_groups is groups_before
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["params"][0] is w
    np.testing.assert_array_equal(to_np(opt.state[w]["exp_avg"]), exp_avg)


def test_load_state_dict_from_adam_into_adamw_stays_decoupled():
    w = _leaf(1.0)
    opt = AdamW([w])
    opt.load_state_dict(Adam([_leaf(1.0)]).state_dict())
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


def test_deepcopy_of_optimizer():
    w = _leaf(1.0, 2.0)
    opt = SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["lr"] == 0.1
    p = clone.param_groups[0]["params"][0]
    np.testing.assert_array_equal(to_np(clone.state[p]["momentum_buffer"]),
                                  to_np(opt.state[w]["momentum_buffer"]))
