"""Dropout: element-wise, channel-wise (``dropout1d/2d/3d``) and alpha (SELU-preserving) forms,
with masks drawn from the device's default generator."""
from __future__ import annotations

import warnings

from ..._tensor_base import make
from ...random import generator_for

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d",
           "feature_alpha_dropout"]

# SELU's alpha * scale: the value a dropped unit takes in alpha dropout (its negative limit).
_ALPHA = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, shape: tuple, p: float):
    """An array of ``shape`` in the input's dtype: 1 with probability ``1 - p``, else 0."""
    xp, a = input.xp, input._data
    if p == 1:
        return xp.zeros(shape, dtype=a.dtype)
    rng_dtype = a.dtype if a.dtype == xp.float64 else xp.float32
    keep = generator_for(input.device).rng.random(shape, dtype=rng_dtype) < 1 - p
    return keep.astype(a.dtype)


def _drop(input, p: float, training: bool, inplace: bool, feature: bool, alpha: bool):
    """The one dropout kernel (ATen's): a mask per element, or per ``(N, C)`` channel with
    ``feature``; kept values scaled by ``1 / (1 - p)``, or for ``alpha`` mapped affinely so that
    a zero-mean, unit-variance input keeps its mean and variance."""
    if not training or p == 0 or input.numel() == 0:
        return input
    a = input._data
    if feature and a.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = a.shape[:2] + (1,) * (a.ndim - 2) if feature else a.shape
    keep = _keep_mask(input, shape, p)
    if not alpha:
        if p != 1:
            keep *= a.dtype.type(1 / (1 - p))
        mask = make(keep, input.device)
        return input.mul_(mask) if inplace else input * mask
    if p == 1:  # (ATen: every unit dropped gives zeros, not the alpha value)
        mask = make(keep, input.device)
        return input.mul_(mask) if inplace else input * mask
    s = 1.0 / ((_ALPHA * _ALPHA * p + 1) * (1 - p)) ** 0.5
    shift = make((keep - 1) * a.dtype.type(_ALPHA * s) + a.dtype.type(_ALPHA * s * p),
                 input.device)
    mask = make(keep * a.dtype.type(s), input.device)
    return input.mul_(mask).add_(shift) if inplace else input * mask + shift


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask comes from the device's default generator (``manual_seed`` reproduces it); with
    ``training=False`` or ``p=0`` the input is returned as is.
    """
    _check_p(p)
    return _drop(input, p, training, inplace, False, False)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout for SELU networks: dropped units take SELU's negative limit, and an affine map
    keeps a standardised input's mean 0 and variance 1. Note ``training`` defaults to False."""
    _check_p(p)
    return _drop(input, p, training, inplace, False, True)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False,
                          inplace: bool = False):
    """:func:`alpha_dropout` of whole channels (one draw per ``(N, C)`` pair)."""
    _check_p(p)
    return _drop(input, p, training, inplace, True, True)


def _channel_dropout(input, p, training, inplace, batched: bool):
    """Feature dropout; an unbatched input gets a batch dim for it and loses it again."""
    if batched:
        return _drop(input, p, training, inplace, True, False)
    out = _drop(input.unsqueeze(0), p, training, inplace, True, False)
    return input if inplace else out.squeeze(0)  # (in place, the view wrote into the input)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of a ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    _check_p(p)
    nd = input.dim()
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    return _channel_dropout(input, p, training, inplace, nd == 3)


def _warn_rank(name: str, nd: int, spatial: int) -> None:
    warnings.warn(
        f"{name}: Received a {nd}-D input to {name}, which is deprecated and will result in an "
        "error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {name} exists to provide channel-wise dropout on "
        f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of a ``(N, C, H, W)`` input with probability ``p``.

    NOTE: as in PyTorch, a 3D input is taken as ``(N, C, L)`` (1D channel dropout, with a
    warning), not as an unbatched ``(C, H, W)``.
    """
    _check_p(p)
    nd = input.dim()
    if nd not in (3, 4):
        _warn_rank("dropout2d", nd, 2)
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _drop(input, p, training, inplace, True, False)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of a ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with
    probability ``p``."""
    _check_p(p)
    nd = input.dim()
    if nd not in (4, 5):
        _warn_rank("dropout3d", nd, 3)
    return _channel_dropout(input, p, training, inplace, nd == 5)
