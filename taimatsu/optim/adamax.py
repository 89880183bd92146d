"""Adamax: Adam with the infinity norm of past gradients in place of the second moment."""
from __future__ import annotations

from .optimizer import (
    Optimizer,
    _check_adam_args,
    _check_differentiable,
    _effective_grad,
    _increment,
    _lerp_,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, PyTorch's update step for step: ``m = lerp(m, g, 1 - beta1)``,
    ``u = max(beta2 * u, |g| + eps)``, ``p -= lr / (1 - beta1**t) * m / u`` (state ``exp_avg``,
    ``exp_inf``).

    Example::

        opt = taimatsu.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_adam_args(lr, eps, betas, weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps, weight_decay, maximize = group["eps"], group["weight_decay"], group["maximize"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "exp_avg", "exp_inf")
            step = _increment(state["step"])
            g, _ = _effective_grad(xp, param, p._grad._data, weight_decay, maximize)
            exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
            buf = xp.empty_like(param)  # the one scratch array the rule needs
            _lerp_(xp, exp_avg, g, 1 - beta1, buf)
            exp_inf *= beta2
            xp.abs(g, out=buf)
            buf += eps
            xp.maximum(exp_inf, buf, out=exp_inf)
            clr = lr / (1 - beta1 ** step)
            xp.divide(exp_avg, exp_inf, out=buf)
            buf *= -clr
            param += buf
            p._bump_version()
