"""Adadelta: steps scaled by the ratio of running RMS of updates to running RMS of gradients."""
from __future__ import annotations

from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _check_non_negative,
    _effective_grad,
    _ema_sq_,
    _increment,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, PyTorch's update step for step: ``v = rho * v + (1 - rho) * g * g``,
    ``delta = sqrt(u + eps) / sqrt(v + eps) * g``, ``u = rho * u + (1 - rho) * delta**2``,
    ``p -= lr * delta`` (state ``square_avg`` = v, ``acc_delta`` = u).

    Example::

        opt = taimatsu.optim.Adadelta(model.parameters(), lr=1.0, rho=0.9)
    """

    def __init__(self, params, lr=1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative("epsilon value", eps)
        _check_non_negative("weight_decay value", weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        rho, eps = group["rho"], group["eps"]
        weight_decay, maximize = group["weight_decay"], group["maximize"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "square_avg", "acc_delta")
            _increment(state["step"])
            g, _ = _effective_grad(xp, param, p._grad._data, weight_decay, maximize)
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            std = xp.empty_like(param)
            _ema_sq_(xp, square_avg, g, rho, std)
            xp.add(square_avg, eps, out=std)
            xp.sqrt(std, out=std)
            delta = xp.add(acc_delta, eps)
            xp.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            _ema_sq_(xp, acc_delta, delta, rho, std)
            delta *= -lr
            param += delta
            p._bump_version()
