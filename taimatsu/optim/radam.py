"""RAdam: Adam with the variance of the adaptive learning rate rectified in early steps."""
from __future__ import annotations

from .optimizer import (
    Optimizer,
    _check_adam_args,
    _check_differentiable,
    _decayed_grad,
    _ema_sq_,
    _increment,
    _lerp_,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, PyTorch's update step for step.

    ``rho_inf = 2 / (1 - beta2) - 1``, ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``. While
    ``rho_t <= 5`` the step is SGD with momentum, ``p -= lr * m / (1 - beta1**t)``; after that it is
    the bias-corrected Adam step times the rectification ``r_t``. ``decoupled_weight_decay=True``
    decays the parameter (``p *= 1 - lr * weight_decay``) instead of the gradient.

    Example::

        opt = taimatsu.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, eps, betas, weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps, weight_decay, maximize = group["eps"], group["weight_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "exp_avg", "exp_avg_sq")
            step = _increment(state["step"])
            g = _decayed_grad(xp, param, p._grad._data, lr, weight_decay, decoupled, maximize)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            buf = xp.empty_like(param)
            _lerp_(xp, exp_avg, g, 1 - beta1, buf)
            _ema_sq_(xp, exp_avg_sq, g, beta2, buf)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            # PyTorch's order of operations: ((m / bc1) * lr) * adaptive * rect
            update = xp.divide(exp_avg, bias_correction1)
            update *= lr
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                xp.sqrt(exp_avg_sq, out=buf)
                buf += eps
                xp.divide(bias_correction2 ** 0.5, buf, out=buf)
                update *= buf
                update *= rect
            param -= update
            p._bump_version()
