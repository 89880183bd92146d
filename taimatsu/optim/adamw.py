"""AdamW: Adam with weight decay applied to the parameters directly (decoupled)."""
from __future__ import annotations

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """AdamW: ``p *= 1 - lr * weight_decay`` before the Adam step, instead of adding
    ``weight_decay * p`` to the gradient (so the decay stays out of the moment estimates).

    Example::

        opt = taimatsu.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state) -> None:
        # A state dict saved by Adam loads into AdamW as AdamW, as in PyTorch.
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
