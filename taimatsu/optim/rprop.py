"""Rprop: per-coordinate step sizes adapted from the sign of successive gradients."""
from __future__ import annotations

from .._tensor_base import make
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _effective_grad,
    _increment,
)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop, PyTorch's update step for step: where ``g * prev > 0`` the step size is multiplied
    by ``etas[1]``, where ``< 0`` by ``etas[0]`` (and that coordinate's gradient is set to 0, so it
    does not move), then clamped to ``step_sizes``; ``p -= sign(g) * step_size``, ``prev = g``.

    Example::

        opt = taimatsu.optim.Rprop(model.parameters(), lr=1e-2, etas=(0.5, 1.2))
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def _step_group(self, group) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        maximize = group["maximize"]
        for p, state in self._params_with_grad(group):
            xp, param = p.xp, p._data
            if len(state) == 0:
                self._lazy_state(p, state, "prev")
                state["step_size"] = make(xp.full_like(param, float(group["lr"])), p.device)
            _increment(state["step"])
            g, owned = _effective_grad(xp, param, p._grad._data, 0, maximize)
            prev, step_size = state["prev"]._data, state["step_size"]._data
            sign = xp.multiply(g, prev)
            flipped = sign < 0
            factor = xp.where(sign > 0, etaplus, xp.where(flipped, etaminus, 1.0))
            step_size *= factor.astype(step_size.dtype, copy=False)
            xp.clip(step_size, step_size_min, step_size_max, out=step_size)
            # prev becomes g with the sign-flipped coordinates zeroed (they skip this step)
            if not owned:
                g = g.copy()
            g[flipped] = 0
            prev[...] = g
            xp.sign(g, out=g)
            g *= step_size
            param -= g
            p._bump_version()
