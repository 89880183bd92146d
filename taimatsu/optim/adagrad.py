"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""
from __future__ import annotations

from .._tensor_base import make
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _check_non_negative,
    _check_state_device,
    _effective_grad,
    _increment,
    _step_tensor,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, PyTorch's update step for step: ``sum += g * g``,
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``.

    As in PyTorch, the state (``step`` and ``sum``, filled with ``initial_accumulator_value``) is
    created for every parameter at construction.

    Example::

        opt = taimatsu.optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_non_negative("lr_decay value", lr_decay)
        _check_non_negative("weight_decay value", weight_decay)
        _check_non_negative("initial_accumulator_value value", initial_accumulator_value)
        _check_non_negative("epsilon value", eps)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p, initial_accumulator_value: float) -> None:
        state = self.state[p]
        state["step"] = _step_tensor()
        state["sum"] = make(p.xp.full_like(p._data, initial_accumulator_value), p.device)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        lr_decay, eps = group["lr_decay"], group["eps"]
        weight_decay, maximize = group["weight_decay"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            xp, param = p.xp, p._data
            state = self.state[p]
            if len(state) == 0:  # a parameter added later with add_param_group
                # NOTE: PyTorch fills it with the constructor's value, not the group's.
                self._init_state(p, self.defaults["initial_accumulator_value"])
            _check_state_device(p, state)
            step = _increment(state["step"])
            g, _ = _effective_grad(xp, param, p.grad._data, weight_decay, maximize)
            clr = lr / (1 + (step - 1) * lr_decay)
            total = state["sum"]._data
            buf = xp.multiply(g, g)  # the one scratch array the rule needs
            total += buf
            xp.sqrt(total, out=buf)
            buf += eps
            xp.divide(g, buf, out=buf)
            buf *= -clr
            param += buf
            p._bump_version()
