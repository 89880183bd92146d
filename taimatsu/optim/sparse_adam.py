"""SparseAdam ("lazy Adam"): Adam moments and parameters updated only where there is gradient."""
from __future__ import annotations

import math

from .optimizer import Optimizer, _check_betas, _check_state_device, _typename, _zeros_state

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """SparseAdam, PyTorch's update rule on the coordinates that have a gradient.

    taimatsu has no sparse tensors, so gradients are always dense. NOTE: where PyTorch refuses a
    dense gradient, this SparseAdam takes the nonzero entries of the dense gradient as the sparse
    gradient's support (what ``nn.Embedding(sparse=True)`` would have produced: the looked-up
    rows): only there are ``exp_avg``, ``exp_avg_sq`` and the parameter updated, exactly as
    PyTorch updates a sparse gradient's ``_values()``. ``state["step"]`` is a Python int, as in
    PyTorch.

    Example::

        emb = taimatsu.nn.Embedding(10000, 64)
        opt = taimatsu.optim.SparseAdam(emb.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        complex_params = [i for i, p in enumerate(self.param_groups[0]["params"])
                          if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps, maximize = group["eps"], group.get("maximize", False)
        for p in group["params"]:
            if p._grad is None:
                continue
            if p.is_complex():
                raise ValueError(f"SparseAdam does not support complex parameters, got "
                                 f"{_typename(p)} of dtype {p.dtype}")
            xp = p.xp
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0
                state["exp_avg"] = _zeros_state(p)
                state["exp_avg_sq"] = _zeros_state(p)
            _check_state_device(p, state)
            state["step"] += 1
            step = state["step"]
            # flat views: the parameter and the moments are updated at the gradient's support
            grad = p._grad._data.reshape(-1)
            idx = xp.flatnonzero(grad)
            if idx.size == 0:
                continue
            values = -grad[idx] if maximize else grad[idx]
            exp_avg = state["exp_avg"]._data.reshape(-1)
            exp_avg_sq = state["exp_avg_sq"]._data.reshape(-1)
            old_avg, old_sq = exp_avg[idx], exp_avg_sq[idx]
            numer = values - old_avg
            numer *= 1 - beta1
            exp_avg[idx] += numer
            denom = values * values
            denom -= old_sq
            denom *= 1 - beta2
            exp_avg_sq[idx] += denom
            numer += old_avg
            denom += old_sq
            xp.sqrt(denom, out=denom)
            denom += eps
            step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            numer /= denom
            numer *= -step_size
            p._data.reshape(-1)[idx] += numer
            p._bump_version()
