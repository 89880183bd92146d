"""Gradient clipping: ``clip_grad_norm_`` (rescale all gradients together) and
``clip_grad_value_`` (clamp each element).

They run on the storage arrays, outside autograd, as PyTorch's do under ``no_grad``; nothing
synchronises with a GPU unless ``error_if_nonfinite`` asks for the norm's value.
"""
from __future__ import annotations

import math
import warnings

from ... import backend
from ..._tensor import Tensor
from ..._tensor_base import make
from ...creation import tensor as _tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(xp, a, p: float):
    """The ``p``-norm of array ``a`` seen as a vector, as a 0-d array of ``a``'s dtype."""
    a = a.reshape(-1)
    if a.size == 0:
        if math.isinf(p):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty "
                               "tensor because the operation does not have an identity")
        return xp.zeros((), a.dtype)
    if p == 2:
        return xp.sqrt(xp.vdot(a, a))
    a = xp.abs(a)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return (a != 0).sum().astype(a.dtype)
    if p == 1:
        return a.sum()
    return (a ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The norm of the norms of ``tensors`` (as if all were concatenated into one vector), on
    the first tensor's device. ``foreach`` is accepted for compatibility; one loop serves all."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _tensor(0.0)
    first = tensors[0].device
    xp = first.xp
    norms = [backend.to_device(_vector_norm(t.xp, t._data, norm_type), t.device, first)
             for t in tensors]
    total = _vector_norm(xp, xp.stack(norms), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return make(total, first)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients of ``parameters`` by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    # Kept as a device array (no .item()): clamping on the device avoids a host sync.
    coef = total_norm.xp.minimum(float(max_norm) / (total_norm._data + 1e-6), 1.0)
    with warnings.catch_warnings():  # a non-finite norm gives NaN gradients, as in PyTorch
        warnings.simplefilter("ignore", RuntimeWarning)
        for g in grads:
            g._data *= backend.to_device(coef, total_norm.device, g.device)
            g._bump_version()


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so that their total ``norm_type``-norm
    is at most ``max_norm``; returns the total norm before clipping.

    Example::

        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    """
    parameters = _as_list(parameters)  # may be a generator: it is walked twice
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element of ``parameters`` into ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is not None:
            g.xp.clip(g._data, -clip_value, clip_value, out=g._data)
            g._bump_version()
