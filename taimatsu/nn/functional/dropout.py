"""Dropout: zeroing with a mask drawn from the device's default generator."""
from __future__ import annotations

from ..._tensor_base import make
from ...random import generator_for

__all__ = ["dropout"]


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask comes from the device's default generator (``manual_seed`` reproduces it); with
    ``training=False`` or ``p=0`` the input is returned as is.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    xp, a = input.xp, input._data
    if p == 1:
        mask = xp.zeros(a.shape, dtype=a.dtype)
    else:
        rng_dtype = a.dtype if a.dtype == xp.float64 else xp.float32
        keep = generator_for(input.device).rng.random(a.shape, dtype=rng_dtype) < 1 - p
        mask = keep.astype(a.dtype) * a.dtype.type(1 / (1 - p))
    mask = make(mask, input.device)
    return input.mul_(mask) if inplace else input * mask
