"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from .._tensor_base import make
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _check_non_negative,
    _check_state_device,
    _effective_grad,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), PyTorch's update step for step.

    With momentum ``mu`` the buffer is ``b = mu * b + (1 - dampening) * g`` (``b = g`` on the
    first step) and the step uses ``b``, or ``g + mu * b`` with ``nesterov=True``.

    Example::

        opt = taimatsu.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_non_negative("momentum value", momentum)
        _check_non_negative("weight_decay value", weight_decay)
        _check_differentiable(differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        momentum, dampening = group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        maximize = group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            xp, param = p.xp, p._data
            # `owned`: g is a scratch array of ours (not .grad, not the momentum buffer)
            g, owned = _effective_grad(xp, param, p.grad._data, weight_decay, maximize)
            if momentum != 0:
                state = self.state[p]
                _check_state_device(p, state)
                buf_t = state.get("momentum_buffer")
                if buf_t is None:
                    buf = g if owned else g.copy()
                    state["momentum_buffer"] = make(buf, p.device)
                    owned = False
                else:
                    buf = buf_t._data
                    buf *= momentum
                    if dampening == 0:
                        buf += g
                    elif owned:  # g is not needed after this (nesterov forbids dampening)
                        g *= 1 - dampening
                        buf += g
                    else:
                        buf += g * (1 - dampening)
                if nesterov:
                    step = xp.multiply(buf, momentum)
                    step += g
                    g, owned = step, True
                else:
                    g, owned = buf, False
            if owned:
                g *= -lr
                param += g
            else:
                param += g * -lr
            p._bump_version()
