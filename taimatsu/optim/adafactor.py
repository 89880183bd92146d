"""Adafactor: Adam-like steps with a factored (row and column) second-moment estimate."""
from __future__ import annotations

import math

import numpy as np

from .._tensor_base import make
from .optimizer import (
    Optimizer,
    _check_lr,
    _check_state_device,
    _increment,
    _step_tensor,
    _zeros_state,
)

__all__ = ["Adafactor"]


def _rms(xp, a) -> float:
    """``a.norm(2) / sqrt(a.numel())``, as one float."""
    return float(xp.sqrt(xp.vdot(a, a))) / math.sqrt(a.size)


class Adafactor(Optimizer):
    """Adafactor as in ``torch.optim.Adafactor``, step for step.

    With ``beta2_t = 1 - t**beta2_decay``, a parameter with two or more dimensions keeps
    ``row_var`` (mean of ``g**2`` over the last dim) and ``col_var`` (over the one before), both
    averaged with weight ``t**beta2_decay``; the variance estimate is
    ``row_var @ col_var / max(mean(row_var), eps1)``. Vectors keep a full ``variance``. The update
    ``u = g / sqrt(max(var, eps1**2))`` is divided by ``max(1, rms(u) / d)`` and scaled by
    ``max(eps2, rms(p)) * min(lr, 1/sqrt(t))``. ``weight_decay`` decays ``p`` by
    ``1 - lr * weight_decay``. ``eps=(None, 1e-3)``: ``eps1`` defaults to the dtype's machine
    epsilon.

    Example::

        opt = taimatsu.optim.Adafactor(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3),
                 d: float = 1.0, weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        beta2_decay, (eps1, eps2) = group["beta2_decay"], group["eps"]
        d, weight_decay, maximize = group["d"], group["weight_decay"], group["maximize"]
        for p in group["params"]:
            if p._grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            xp, param = p.xp, p._data
            grad = p._grad._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                if grad.ndim > 1:
                    state["row_var"] = make(xp.zeros(grad.shape[:-1] + (1,), grad.dtype),
                                            p.device)
                    state["col_var"] = make(
                        xp.zeros(grad.shape[:-2] + (1,) + grad.shape[-1:], grad.dtype), p.device)
                else:
                    state["variance"] = _zeros_state(p)
            _check_state_device(p, state)
            step = _increment(state["step"])
            e1 = float(np.finfo(param.dtype).eps) if eps1 is None else eps1
            one_minus_beta2_t = step ** beta2_decay
            rho_t = min(lr, 1 / (step ** 0.5))
            alpha = max(eps2, _rms(xp, param)) * rho_t
            if weight_decay != 0:
                param *= 1 - lr * weight_decay
            g = -grad if maximize else grad
            squared = xp.multiply(g, g)
            if grad.ndim > 1:
                row_var, col_var = state["row_var"]._data, state["col_var"]._data
                row_var += one_minus_beta2_t * (squared.mean(axis=-1, keepdims=True) - row_var)
                col_var += one_minus_beta2_t * (squared.mean(axis=-2, keepdims=True) - col_var)
                update = xp.matmul(row_var, col_var)
                update /= xp.maximum(row_var.mean(axis=-2, keepdims=True), e1)
            else:
                variance = state["variance"]._data
                variance += one_minus_beta2_t * (squared - variance)
                update = variance.copy()
            xp.maximum(update, e1 * e1, out=update)
            xp.sqrt(update, out=update)
            xp.divide(g, update, out=update)
            denom = max(1.0, _rms(xp, update) / d)
            update *= -alpha / denom
            param += update
            p._bump_version()
