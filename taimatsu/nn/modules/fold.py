"""Fold (col2im) and Unfold (im2col) layers."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Sum sliding-block columns ``(N, C * prod(kernel_size), L)`` into an ``(N, C,
    *output_size)`` image; overlapping blocks add up. The adjoint of :class:`Unfold`.

    Shape:
        - Input: ``(N, C * kh * kw, L)`` or ``(C * kh * kw, L)``; Output: ``(N, C, *output_size)``
          or ``(C, *output_size)``.
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Extract sliding local blocks of an ``(N, C, H, W)`` input as columns
    ``(N, C * prod(kernel_size), L)`` (im2col).

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``; Output: ``(N, C * kh * kw, L)`` or
          ``(C * kh * kw, L)``.
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
