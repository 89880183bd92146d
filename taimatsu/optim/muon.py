"""Muon: momentum SGD whose update for each 2-D weight is orthogonalised by Newton-Schulz."""
from __future__ import annotations

import math

from .optimizer import Optimizer, _check_lr, _check_state_device, _lerp_, _zeros_state

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _zeropower_via_newtonschulz(xp, grad, ns_coefficients, ns_steps: int, eps: float):
    """``ns_steps`` quintic Newton-Schulz iterations ``X = a X + (b A + c A @ A) @ X`` with
    ``A = X @ X.T``, from ``X = G / max(|G|_F, eps)``: an approximation of ``U V^T`` (``G = U S V^T``)
    with singular values roughly in (0.5, 1.5), as PyTorch's Muon computes it.

    NOTE: PyTorch runs this in bfloat16; NumPy has no bfloat16, so it runs in the parameter's
    dtype here (more precise; the updates agree with PyTorch's to bfloat16 precision).
    """
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = grad.T if tall else grad  # iterate on the wide side: the Gram matrix is the small one
    x = x / max(float(xp.sqrt(xp.vdot(x, x))), eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        update = gram @ gram
        update *= c
        update += b * gram
        step = update @ x
        x *= a
        x += step
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))  # "match_rms_adamw"


class Muon(Optimizer):
    """Muon, PyTorch's update step for step (up to the bfloat16 of its Newton-Schulz iteration).

    ``B = lerp(B, g, 1 - momentum)``; the update ``U = lerp(g, B, momentum)`` (Nesterov) or ``B``
    is orthogonalised, ``O = NS(U)``; then ``p *= 1 - lr * weight_decay`` and
    ``p -= adjusted_lr * O``, where ``adjusted_lr = lr * sqrt(max(1, rows / cols))``
    (``adjust_lr_fn="original"``) or ``lr * 0.2 * sqrt(max(rows, cols))`` (``"match_rms_adamw"``).
    Only 2-D parameters: optimise biases and embeddings with e.g. AdamW.

    Example::

        hidden = [p for p in model.parameters() if p.ndim == 2]
        opt = taimatsu.optim.Muon(hidden, lr=2e-2, momentum=0.95)
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps: float = EPS,
                 ns_steps: int = DEFAULT_NS_STEPS, adjust_lr_fn: str | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _step_group(self, group) -> None:
        lr = float(group["lr"])
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        for p in group["params"]:
            if p._grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            xp, param, grad = p.xp, p._data, p._grad._data
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = _zeros_state(p)
            _check_state_device(p, state)
            buf = state["momentum_buffer"]._data
            scratch = xp.empty_like(param)
            _lerp_(xp, buf, grad, 1 - momentum, scratch)
            if group["nesterov"]:
                update = grad.copy()
                _lerp_(xp, update, buf, momentum, scratch)
            else:
                update = buf
            ortho = _zeropower_via_newtonschulz(xp, update, group["ns_coefficients"],
                                                group["ns_steps"], group["eps"])
            adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], param.shape)
            param *= 1 - lr * weight_decay
            ortho *= -adjusted_lr
            param += ortho
            p._bump_version()
