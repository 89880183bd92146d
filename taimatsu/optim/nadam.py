"""NAdam: Adam with Nesterov momentum and a momentum schedule (``momentum_decay``)."""
from __future__ import annotations

from .optimizer import (
    Optimizer,
    _check_adam_args,
    _check_differentiable,
    _check_non_negative,
    _decayed_grad,
    _ema_sq_,
    _increment,
    _lerp_,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, PyTorch's update step for step.

    ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))``; ``mu_product`` (state, a 0-d CPU
    tensor) is the running product of the ``mu_t``. With ``denom = sqrt(v / (1 - beta2**t)) + eps``
    the step is ``p -= lr * (1 - mu_t) / (1 - mu_product) * g / denom
    + lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom``. ``decoupled_weight_decay=True``
    decays the parameter (``p *= 1 - lr * weight_decay``) instead of the gradient.

    Example::

        opt = taimatsu.optim.NAdam(model.parameters(), lr=2e-3, momentum_decay=4e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, eps, betas, weight_decay)
        _check_non_negative("momentum_decay value", momentum_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        momentum_decay, maximize = group["momentum_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "exp_avg", "exp_avg_sq", mu_product=1.0)
            step = _increment(state["step"])
            bias_correction2 = 1 - beta2 ** step
            g = _decayed_grad(xp, param, p._grad._data, lr, weight_decay, decoupled, maximize)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            mu_product_arr = state["mu_product"]._data
            mu_product_arr *= mu
            mu_product = float(mu_product_arr)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            buf = xp.empty_like(param)
            _lerp_(xp, exp_avg, g, 1 - beta1, buf)
            _ema_sq_(xp, exp_avg_sq, g, beta2, buf)
            denom = xp.divide(exp_avg_sq, bias_correction2)
            xp.sqrt(denom, out=denom)
            denom += eps
            xp.divide(g, denom, out=buf)
            buf *= -lr * (1.0 - mu) / (1.0 - mu_product)
            param += buf
            xp.divide(exp_avg, denom, out=buf)
            buf *= -lr * mu_next / (1.0 - mu_product * mu_next)
            param += buf
            p._bump_version()
