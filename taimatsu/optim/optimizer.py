"""``Optimizer``: PyTorch's contract (``param_groups``, ``state``, ``state_dict``) over in-place
array updates.

Subclasses implement ``_step_group(group)``: it reads the group's options once and updates each
parameter that has a gradient by writing straight into ``p._data`` with ``xp`` ufuncs (``out=``,
augmented assignment), so no autograd node is ever built and no array is allocated beyond what the
update rule needs. Every update bumps the parameter's version counter, so a graph that saved the
old value refuses to backpropagate through it, as in PyTorch.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .. import backend
from .. import dtypes as _dt
from .._tensor_base import TensorBase, make
from ..autograd.grad_mode import enable_grad
from ..ops._util import check_same_device

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a default that every parameter group must set itself (``defaults={"lr": required}``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------------- argument checks
def _check_lr(lr) -> None:
    if isinstance(lr, TensorBase) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= (lr.item() if isinstance(lr, TensorBase) else lr):  # (a str raises TypeError)
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_non_negative(what: str, value) -> None:
    """PyTorch's ``Invalid <what>: <value>`` error for options that must be >= 0."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value}")


def _check_betas(betas) -> None:
    """PyTorch's check of Adam-style ``betas``: each in [0, 1)."""
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


def _check_adam_args(lr, eps, betas, weight_decay) -> None:
    """The checks every Adam-style optimizer makes first, in PyTorch's order."""
    _check_lr(lr)
    _check_non_negative("epsilon value", eps)
    _check_betas(betas)
    _check_non_negative("weight_decay value", weight_decay)


def _check_differentiable(differentiable: bool) -> None:
    if differentiable:
        raise NotImplementedError(
            "differentiable=True is not supported: taimatsu optimizers update parameters in place "
            "outside autograd"
        )


# ---------------------------------------------------------------------------- update helpers
def _scalar_state(value: float):
    """A 0-d float tensor on the CPU holding ``value``, as PyTorch keeps ``step`` and other scalar
    state (in the default dtype's precision), so reading it never synchronises with a GPU."""
    dt = np.float64 if _dt.get_default_dtype() is _dt.float64 else np.float32
    return make(np.full((), value, dt), backend.CPU)


def _step_tensor():
    """A fresh ``step`` counter (0-d CPU tensor)."""
    return _scalar_state(0.0)


def _increment(step_t) -> float:
    """``step_t += 1`` in place; returns the new count as a Python float."""
    arr = step_t._data
    arr += 1
    return float(arr)


def _zeros_state(p):
    return make(p.xp.zeros_like(p._data), p.device)


def _effective_grad(xp, param, grad, weight_decay: float, maximize: bool):
    """PyTorch's ``grad = -grad if maximize``, then ``grad = grad + weight_decay * param``.

    Returns ``(g, owned)``: ``owned`` says ``g`` is a new array the caller may overwrite; when it is
    False, ``g`` is the ``.grad`` storage itself and must stay untouched. At most one array is made.
    """
    if weight_decay != 0:
        g = xp.multiply(param, weight_decay)
        # wd * param is computed first so one array holds the result; IEEE addition commutes and
        # a - b == a + (-b), so this is still PyTorch's (-grad) + wd * param / grad + wd * param.
        if maximize:
            g -= grad
        else:
            g += grad
        return g, True
    if maximize:
        return xp.negative(grad), True
    return grad, False


def _ema_sq_(xp, avg, g, decay: float, buf) -> None:
    """``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``, with ``buf`` as scratch."""
    avg *= decay
    xp.multiply(g, 1 - decay, out=buf)  # addcmul's (value * g) * g
    buf *= g
    avg += buf


def _decayed_grad(xp, param, grad, lr: float, weight_decay: float, decoupled: bool,
                  maximize: bool):
    """The gradient with weight decay: added to it (L2), or, when ``decoupled``, applied to the
    parameter itself (``p *= 1 - lr * weight_decay``, AdamW-style). See ``_effective_grad``."""
    if not decoupled:
        return _effective_grad(xp, param, grad, weight_decay, maximize)[0]
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    return _effective_grad(xp, param, grad, 0, maximize)[0]


def _lerp_(xp, start, end, weight: float, buf) -> None:
    """``start.lerp_(end, weight)`` with PyTorch's two-sided formula, using ``buf`` as scratch."""
    xp.subtract(end, start, out=buf)
    if abs(weight) < 0.5:
        buf *= weight
        start += buf
    else:
        buf *= 1 - weight
        xp.subtract(end, buf, out=start)


def _check_state_device(p, state: dict) -> None:
    """PyTorch's device error when a parameter moved (``model.cuda()`` after some steps) but
    its optimizer state did not (0-d CPU ``step`` counters stay on the CPU, as in PyTorch)."""
    dev = p._device
    for v in state.values():  # (a cheap scan on every step; the full check names the devices)
        if isinstance(v, TensorBase) and v._device is not dev and v._data.ndim:
            check_same_device("step", p, *state.values())


def _cast_state(param, value, key):
    """A deep copy of a loaded state value, with tensors moved to ``param``'s device and floating
    tensors cast to its dtype (except ``step``, which stays where PyTorch keeps it)."""
    if isinstance(value, TensorBase):
        value = value.detach()
        if key == "step":
            return value.to(copy=True)
        if param.is_floating_point():
            return value.to(device=param.device, dtype=param.dtype, copy=True)
        return value.to(device=param.device, copy=True)
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v, None) for v in value)
    return deepcopy(value)


# Options that only choose an implementation or were added in later PyTorch versions.
_FLAGS = ("foreach", "fused", "maximize", "capturable", "differentiable",
          "decoupled_weight_decay")


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter groups,
            each with a ``"params"`` entry and options that override ``defaults``).
        defaults: the default value of each option for groups that do not set it.
    """

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        if isinstance(params, TensorBase):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self._add_param_groups(groups)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------------ parameter groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to ``param_groups``."""
        self._add_param_groups([param_group])

    def _add_param_groups(self, groups: list) -> None:
        """Check every group first, then add them all: a bad group changes nothing."""
        checked = [self._check_group(g) for g in groups]
        seen = set(chain.from_iterable(g["params"] for g in self.param_groups))
        named = None if not self.param_groups else "param_names" in self.param_groups[0]
        for _, params, names in checked:
            if named is not None and named != bool(names):
                which = "with names" if names else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
            named = bool(names)
            if not seen.isdisjoint(params):
                raise ValueError("some parameters appear in more than one parameter group")
            seen.update(params)
        for group, params, names in checked:
            if len(params) != len(set(params)):
                warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                              "in future, this will cause an error; see "
                              "github.com/pytorch/pytorch/issues/40967 for more information",
                              stacklevel=4)
            group["params"] = params
            if names:
                group["param_names"] = names
            for name, default in self.defaults.items():
                group.setdefault(name, default)
            self.param_groups.append(group)

    def _check_group(self, group) -> tuple[dict, list, list]:
        """Validate one group without changing it: returns it, its tensors and their names."""
        if not isinstance(group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(group)}")
        params = group["params"]
        if isinstance(params, TensorBase):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param names "
                             "are missing")
        if names:
            params = [p[1] for p in params]
        for p in params:
            if not isinstance(p, TensorBase):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not (p.is_leaf or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
        return group, params, names

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad = False
                g._data.fill(0)
                g._bump_version()

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given.

        ``closure`` re-evaluates the model (forward and backward) and returns the loss; it runs
        with gradients enabled even when ``step`` is called under ``no_grad``.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _params_with_grad(self, group: dict[str, Any]):
        """``(p, state)`` for each parameter of ``group`` that has a gradient."""
        for p in group["params"]:
            if p._grad is not None:
                state = self.state[p]
                if state:
                    _check_state_device(p, state)
                yield p, state

    @staticmethod
    def _lazy_state(p, state: dict, *zero_keys: str, **scalars: float) -> dict:
        """On a parameter's first step: a ``step`` counter, 0-d CPU tensors holding the given
        ``scalars`` and a zero buffer per key."""
        if len(state) == 0:
            state["step"] = _step_tensor()
            for key, value in scalars.items():
                state[key] = _scalar_state(value)
            for key in zero_keys:
                state[key] = _zeros_state(p)
        return state

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    # ------------------------------------------------------------------ saving and loading
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``, PyTorch's
        format: parameters are numbered in group order and the state holds live tensors."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, TensorBase) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a :meth:`state_dict` (deep-copied; tensors moved to each parameter's device and
        dtype). The group count and sizes are checked before anything changes."""
        groups = self.param_groups
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{type(self).__name__}.load_state_dict expects an optimizer state "
                             "dict with 'state' and 'param_groups' entries, got "
                             + (f"keys {sorted(map(str, state_dict))}"
                                if isinstance(state_dict, dict) else _typename(state_dict)))
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        # A state dict of another algorithm lacks this one's options (SGD's has no "betas"):
        # refuse it here rather than fail, or step wrongly, later. The flags may be missing from
        # dicts saved by older PyTorch versions; they take this optimizer's defaults.
        for i, saved in enumerate(saved_groups):
            missing = sorted(k for k in self.defaults if k not in saved and k not in _FLAGS)
            if missing:
                raise ValueError(
                    f"loaded state dict was not saved by {type(self).__name__}: parameter "
                    f"group {i} has no {', '.join(map(repr, missing))} option (it has "
                    f"{', '.join(sorted(k for k in saved if k != 'params'))})")
            for k in _FLAGS:
                if k in self.defaults:
                    saved.setdefault(k, self.defaults[k])
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v, None)
            else:
                state[k] = deepcopy(v)
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})
