"""RMSprop, optionally centered and with momentum."""
from __future__ import annotations

from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _check_non_negative,
    _effective_grad,
    _ema_sq_,
    _increment,
    _lerp_,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, PyTorch's update step for step: ``v = alpha * v + (1 - alpha) * g * g``,
    ``avg = sqrt(v) + eps`` (``sqrt(v - gbar**2) + eps`` when ``centered``, with ``gbar`` the
    running mean of ``g``), then ``p -= lr * g / avg``, or through a momentum buffer
    ``b = momentum * b + g / avg``, ``p -= lr * b``.

    Example::

        opt = taimatsu.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99)
    """

    def __init__(self, params, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_non_negative("epsilon value", eps)
        _check_non_negative("momentum value", momentum)
        _check_non_negative("weight_decay value", weight_decay)
        _check_non_negative("alpha value", alpha)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        alpha, eps, weight_decay = group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "square_avg",
                             *(("momentum_buffer",) if momentum > 0 else ()),
                             *(("grad_avg",) if centered else ()))
            _increment(state["step"])
            g, _ = _effective_grad(xp, param, p.grad._data, weight_decay, maximize)
            square_avg = state["square_avg"]._data
            buf = xp.empty_like(param)  # the one scratch array the rule needs
            _ema_sq_(xp, square_avg, g, alpha, buf)
            if centered:
                grad_avg = state["grad_avg"]._data
                _lerp_(xp, grad_avg, g, 1 - alpha, buf)
                xp.multiply(grad_avg, grad_avg, out=buf)
                xp.subtract(square_avg, buf, out=buf)
                xp.sqrt(buf, out=buf)
            else:
                xp.sqrt(square_avg, out=buf)
            buf += eps
            xp.divide(g, buf, out=buf)
            if momentum > 0:
                momentum_buffer = state["momentum_buffer"]._data
                momentum_buffer *= momentum
                momentum_buffer += buf
                xp.multiply(momentum_buffer, -lr, out=buf)
            else:
                buf *= -lr
            param += buf
            p._bump_version()
