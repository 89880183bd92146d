"""ASGD: averaged stochastic gradient descent (Polyak-Ruppert averaging in ``state["ax"]``)."""
from __future__ import annotations

from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _check_non_negative,
    _effective_grad,
    _increment,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD, PyTorch's update step for step: ``p *= 1 - lambd * eta``, ``p -= eta * g``,
    then the average ``ax += mu * (p - ax)`` (``ax = p`` while ``mu == 1``), and
    ``eta = lr / (1 + lambd * lr * t)**alpha``, ``mu = 1 / max(1, t - t0)``.

    ``eta`` and ``mu`` are 0-d state tensors (on the CPU here: there is no CUDA-graph capture
    whose device they would need to share).

    Example::

        opt = taimatsu.optim.ASGD(model.parameters(), lr=1e-2, t0=100)
        ...  # evaluate with the averaged weights: opt.state[p]["ax"]
    """

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_lr(lr)
        _check_non_negative("weight_decay value", weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        weight_decay, maximize = group["weight_decay"], group["maximize"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            self._lazy_state(p, state, "ax", eta=lr, mu=1.0)
            step = _increment(state["step"])
            g, owned = _effective_grad(xp, param, p._grad._data, weight_decay, maximize)
            eta_arr, mu_arr = state["eta"]._data, state["mu"]._data
            eta, mu = float(eta_arr), float(mu_arr)
            param *= 1 - lambd * eta
            if owned:
                g *= -eta
                param += g
            else:
                param += g * -eta
            ax = state["ax"]._data
            if mu != 1:
                buf = xp.subtract(param, ax)
                buf *= mu
                ax += buf
            else:
                ax[...] = param
            eta_arr[...] = lr / ((1 + lambd * lr * step) ** alpha)
            mu_arr[...] = 1 / max(1, step - t0)
            p._bump_version()
