"""Flatten parameters into one vector and back (e.g. for second-order or evolutionary methods)."""
from __future__ import annotations

from ..._tensor import Tensor
from ...ops.shape import cat
from ..modules.module import _typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, first):
    """The device of the first parameter; a parameter elsewhere is an error, as in PyTorch."""
    if first is None:
        return param.device
    if param.device != first:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return first


def parameters_to_vector(parameters) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-D tensor (differentiable)."""
    first = None
    flat = []
    for param in parameters:
        first = _check_same_device(param, first)
        flat.append(param.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Make each of ``parameters`` hold its consecutive slice of ``vec`` (sharing ``vec``'s
    memory, as PyTorch does; the Parameter objects themselves are kept)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    first = None
    pointer = 0
    for param in parameters:
        first = _check_same_device(param, first)
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
