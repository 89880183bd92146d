"""Adam (and, with ``decoupled_weight_decay=True``, AdamW), with AMSGrad and maximize."""
from __future__ import annotations

from .._tensor_base import TensorBase
from .optimizer import (
    Optimizer,
    _check_adam_args,
    _check_differentiable,
    _decayed_grad,
    _ema_sq_,
    _increment,
    _lerp_,
)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, PyTorch's single-tensor update step for step.

    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g * g``, then
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)`` (``v`` replaced by its
    running maximum with ``amsgrad``). ``state[p]["step"]`` is a 0-d CPU tensor, as in PyTorch.

    Example::

        opt = taimatsu.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_adam_args(lr, eps, betas, weight_decay)
        if not (all(isinstance(b, float) for b in betas)
                or all(isinstance(b, TensorBase) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        amsgrad, maximize = group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "exp_avg", "exp_avg_sq",
                             *(("max_exp_avg_sq",) if amsgrad else ()))
            step = _increment(state["step"])
            g = _decayed_grad(xp, param, p._grad._data, lr, weight_decay, decoupled, maximize)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            buf = xp.empty_like(param)  # the one scratch array the rule needs
            _lerp_(xp, exp_avg, g, 1 - beta1, buf)
            _ema_sq_(xp, exp_avg_sq, g, beta2, buf)

            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5
            if amsgrad:
                second = state["max_exp_avg_sq"]._data
                xp.maximum(second, exp_avg_sq, out=second)
            else:
                second = exp_avg_sq
            # denom = sqrt(v) / sqrt(bias_correction2) + eps: eps after the bias correction
            xp.sqrt(second, out=buf)
            buf /= bias_correction2_sqrt
            buf += eps
            xp.divide(exp_avg, buf, out=buf)
            buf *= -step_size
            param += buf
            p._bump_version()
