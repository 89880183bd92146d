"""Small helpers shared by the op families: dims, operand preparation, device checks."""
from __future__ import annotations

import numpy as np

from .._tensor_base import TensorBase
from ..dtypes import KIND_CATEGORY, result_type


def wrap_dim(dim: int, ndim: int) -> int:
    """A dim in ``[-ndim, ndim)`` as a non-negative index (0-d tensors accept -1 and 0)."""
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim


def wrap_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, an int, or a sequence) as a sorted tuple of non-negative dims; None is all."""
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(wrap_dim(d, ndim) for d in ((dim,) if isinstance(dim, int) else dim))
    if len(set(dims)) != len(dims):
        repeated = next(d for i, d in enumerate(dims) if d in dims[:i])
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    return tuple(sorted(dims)) if ndim else ()  # a 0-d tensor accepts dim 0/-1 and keeps its shape


def check_same_device(op: str, *tensors, cpu_scalars: bool = True) -> None:
    """Mixing devices is an error naming both, PyTorch's "Expected all tensors to be on the same
    device, but found at least two devices, cuda:0 and cpu!".

    By default PyTorch's elementwise rule: 0-d CPU tensors mix freely, and the GPU is named
    first. ``cpu_scalars=False`` is its other kernels' rule: every tensor counts, and the first
    argument's device is named first.
    """
    first = None
    for t in tensors:
        if isinstance(t, TensorBase) and not (cpu_scalars and t._device.type == "cpu"
                                              and t._data.ndim == 0):
            if first is None:
                first = t._device
            elif t._device != first:
                pair = (t._device, first) if cpu_scalars and first.type == "cpu" else (
                    first, t._device)
                raise RuntimeError(
                    f"Expected all tensors to be on the same device, but found at least two "
                    f"devices, {pair[0]} and {pair[1]}! (when checking arguments for {op})")


def prepare(op: str, *operands):
    """Arrays for an elementwise op on tensors and Python scalars, cast to PyTorch's result dtype.

    Returns ``(device, arrays)``. Python scalars stay scalars when NumPy 2's weak-scalar rule
    already gives PyTorch's answer (a scalar of the same or a lower kind than the tensors).
    """
    if len(operands) == 2:  # the hot case: tensor op tensor-or-scalar, nothing to cast
        x, y = operands
        if isinstance(x, TensorBase):
            a = x._data
            if isinstance(y, TensorBase):
                if y._device is x._device and y._data.dtype == a.dtype:
                    return x._device, [a, y._data]
            elif type(y) is float:
                if a.dtype.kind == "f":
                    return x._device, [a, y]
            elif type(y) is int and (a.dtype.kind == "f" or a.dtype.itemsize == 8):
                return x._device, [a, y]  # (a small int dtype may overflow: see below)
    return _prepare_general(op, operands)


def _prepare_general(op, operands):
    dev = None
    dt = None
    mixed = False
    for x in operands:
        if isinstance(x, TensorBase):
            # (a CPU 0-d tensor rides along with tensors elsewhere, as a scalar would)
            if dev is None or (dev.type == "cpu" and x._device.type != "cpu"):
                dev = x._device
            if dt is None:
                dt = x._data.dtype
            elif x._data.dtype != dt:
                mixed = True
    for x in operands:
        if not isinstance(x, TensorBase):
            kind = _kind(x)
            # int tensor * 1.5 gives the default float; and a Python int beside a small int
            # dtype is cast (wrapping, as PyTorch does) where NumPy would raise OverflowError.
            if kind > KIND_CATEGORY[dt.kind] or (kind == 1 and dt.kind in "iu" and dt.itemsize < 8):
                mixed = True
    if len(operands) > 1:
        check_same_device(op, *operands)
    if not mixed:
        return dev, [_on(x._data, x, dev) if isinstance(x, TensorBase) else x for x in operands]
    target = result_type(*operands).np
    arrays = []
    for x in operands:
        if isinstance(x, TensorBase):
            a = x._data if x._data.dtype == target else x._data.astype(target)
            arrays.append(_on(a, x, dev))
        else:
            # (cast on the host, wrapping as PyTorch does; a scalar needs no copy to a device)
            arrays.append(np.asarray(x).astype(target)[()])
    return dev, arrays


def _on(a, x, dev):
    """``x``'s array ``a`` for an op on ``dev``: a CPU 0-d tensor beside tensors on another
    device goes as a NumPy scalar (a kernel argument, as in PyTorch: no copy to the device, and
    CuPy takes no NumPy arrays)."""
    return a if x._device is dev else a[()]


def _kind(x) -> int:
    if isinstance(x, bool):
        return 0
    if isinstance(x, int):
        return 1
    if isinstance(x, float):
        return 2
    raise TypeError(f"unsupported operand type {type(x).__name__}; expected a Tensor or a number")
