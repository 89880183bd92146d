"""Padding layers: constant (and zero), reflection, replication and circular, for 1-3 dims.

Each ``forward`` is one call to :func:`nn.functional.pad`; a class only fixes the mode, the
number of padded dims (``padding`` as an int pads every side by it) and the input check, so the
fifteen public classes are made from five bases by ``_layer``.
"""
from __future__ import annotations

from .. import functional as F
from .conv import _ntuple
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d"]


class _PadNd(Module):
    _mode = "constant"
    _dims = 0  # padded spatial dims, set by each class

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._dims)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input):
        # The module, unlike F.pad, checks the rank itself (with a ValueError).
        n = input.dim()
        if n not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"expected {self._dims + 1}D or {self._dims + 2}D input "
                             f"(got {n}D input)")
        return F.pad(input, self.padding, "circular")


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class _ZeroPad:
    """Mixin: a constant pad whose value is fixed at zero."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _doc(kind: str, dims: int) -> str:
    names = ("(left, right)", "(left, right, top, bottom)",
             "(left, right, top, bottom, front, back)")[dims - 1]
    shape = ("W", "H, W", "D, H, W")[dims - 1]
    return (f"Pads the last {dims} dim(s) of the input {kind}.\n\n"
            f"``padding`` is an int (every side) or a {2 * dims}-tuple {names}.\n\n"
            f"Shape:\n    - Input: ``(N, C, {shape})`` or ``(C, {shape})``; Output: each padded "
            "dim grows by its two amounts.\n")


def _layer(name: str, bases: tuple, dims: int, kind: str) -> type:
    """One public layer class: a base fixed to ``dims`` padded dims, with its docstring."""
    return type(name, bases, {"__doc__": _doc(kind, dims), "_dims": dims, "__module__": __name__,
                              "__qualname__": name})


_CONSTANT, _ZERO = "with the constant ``value``", "with zeros"
_REFLECT = "by reflection about the edge (the edge itself not repeated)"
_REPLICATE, _CIRCULAR = "by repeating the edge value", "by wrapping around (periodic)"

ConstantPad1d, ConstantPad2d, ConstantPad3d = (
    _layer(f"ConstantPad{d}d", (_ConstantPadNd,), d, _CONSTANT) for d in (1, 2, 3))
ZeroPad1d, ZeroPad2d, ZeroPad3d = (
    _layer(f"ZeroPad{d}d", (_ZeroPad, base), d, _ZERO)
    for d, base in zip((1, 2, 3), (ConstantPad1d, ConstantPad2d, ConstantPad3d)))
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (
    _layer(f"ReflectionPad{d}d", (_ReflectionPadNd,), d, _REFLECT) for d in (1, 2, 3))
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (
    _layer(f"ReplicationPad{d}d", (_ReplicationPadNd,), d, _REPLICATE) for d in (1, 2, 3))
CircularPad1d, CircularPad2d, CircularPad3d = (
    _layer(f"CircularPad{d}d", (_CircularPadNd,), d, _CIRCULAR) for d in (1, 2, 3))
