"""``layout`` and the storage arguments of creation functions: ``layout``, ``pin_memory`` and
``memory_format`` (whose constants, shared with ``Tensor.to``, live in ``ops/convert.py``).

A taimatsu tensor is one strided NumPy/CuPy array, so ``strided`` is the only layout; a memory
format is honoured by laying the new array out in it (``channels_last`` strides included);
pinned host memory does not exist and is refused rather than ignored.
"""
from __future__ import annotations

from .ops.convert import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)

# (the memory formats are re-exported here so that ``taimatsu.channels_last`` & co. exist)
__all__ = ["channels_last", "channels_last_3d", "contiguous_format", "layout", "memory_format",
           "preserve_format", "strided"]


class layout:
    """How a tensor's elements are stored (``torch.layout``); taimatsu has ``strided`` only."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"taimatsu.{self._name}"

    def __reduce__(self) -> str:
        return self._name  # a module global: pickles as the same object


strided = layout("strided")

_MemoryFormat = memory_format  # (the argument below shadows the class name)


def check_storage(op: str, layout=None, pin_memory=False, memory_format=None) -> None:
    """Refuse, with PyTorch's exception types, storage arguments taimatsu cannot honour."""
    if layout is not None and layout is not strided:
        raise RuntimeError(f"{op}(): taimatsu tensors have the strided layout only; got "
                           f"layout={layout!r}")
    if pin_memory:
        raise RuntimeError(f"{op}(): pin_memory=True is not supported: taimatsu has no pinned "
                           "host-memory allocator (CPU tensors are NumPy arrays)")
    if memory_format is not None and not isinstance(memory_format, _MemoryFormat):
        raise TypeError(f"{op}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(memory_format).__name__}")


def laid_out(xp, arr, memory_format, like=None):
    """``arr`` (a new array) laid out in ``memory_format``. ``preserve_format`` (and None) keep
    the stride order of ``like`` (the input of a ``*_like``, when on ``arr``'s device), as
    PyTorch does for a dense input; without ``like``, row-major."""
    if memory_format is None or memory_format is preserve_format:
        if like is None or like.shape != arr.shape or like.flags.c_contiguous:
            return arr
        out = xp.empty_like(like, dtype=arr.dtype)  # (order "K": like's stride order)
        out[...] = arr
        return out
    check_rank(memory_format, arr.ndim)
    return memory_format._layout(arr)


def check_rank(memory_format, ndim: int) -> None:
    """PyTorch's error for channels_last(_3d) on a tensor of another rank."""
    rank = memory_format._rank
    if rank is not None and ndim != rank:
        name = repr(memory_format).replace("taimatsu.", "")
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
