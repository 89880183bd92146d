"""Layers: convolutions, transposed convolutions and their lazy forms."""
from __future__ import annotations

import math

from ...autograd.grad_mode import no_grad
from ...creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d"]

_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _ntuple(value, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """The state and checks shared by every convolution layer (PyTorch's ``_ConvNd``)."""

    _dims = 0  # spatial dims, set by each class

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None) -> None:
        super().__init__()
        n = self._dims
        kernel_size, stride, dilation = (_ntuple(v, n) for v in (kernel_size, stride, dilation))
        output_padding = _ntuple(output_padding, n)
        if not isinstance(padding, str):
            padding = _ntuple(padding, n)
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's (last dim first) amounts for the non-zero padding modes.
        if padding == "valid":
            pads = [(0, 0)] * n
        elif padding == "same":
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                    for d, k in zip(dilation, kernel_size)]
        else:
            pads = [(p, p) for p in padding]
        self._reversed_padding_repeated_twice = [p for pair in reversed(pads) for p in pair]
        shape = ((in_channels, out_channels // groups) if transposed else
                 (out_channels, in_channels // groups)) + kernel_size
        self.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform(a=sqrt(5)): uniform in ±1/sqrt(fan_in), PyTorch's default, as the bias.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """A convolution layer; each subclass names its functional form."""

    _conv = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False,
                         0, groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        conv = type(self)._conv
        if self.padding_mode != "zeros":
            return conv(F.pad(input, self._reversed_padding_repeated_twice,
                              mode=self.padding_mode), weight, bias, self.stride, 0,
                        self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over an input of ``in_channels`` planes.

    ``weight`` is ``(out_channels, in_channels/groups, kernel_size)``, initialised as PyTorch
    does (``kaiming_uniform_(a=sqrt(5))``; bias uniform in ``±1/sqrt(fan_in)``). ``padding`` is an
    int, a tuple, ``"valid"`` or ``"same"``; ``padding_mode`` is zeros, reflect, replicate or
    circular.

    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``; Output: ``(N, C_out, L_out)``,
          ``L_out = (L + 2*padding - dilation*(kernel_size-1) - 1) // stride + 1``.
    """

    _dims = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over an input of ``in_channels`` planes.

    ``weight`` is ``(out_channels, in_channels/groups, kH, kW)``, initialised as PyTorch does.

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``; Output: ``(N, C_out, H_out, W_out)``.

    Example::

        >>> m = nn.Conv2d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50, 100)).shape
        torch.Size([20, 33, 24, 49])
    """

    _dims = 2
    _conv = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over an input of ``in_channels`` planes.

    Shape:
        - Input: ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; Output: ``(N, C_out, D_out, H_out,
          W_out)``.
    """

    _dims = 3
    _conv = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution layer; ``forward(input, output_size=None)`` picks the output
    padding that gives ``output_size``."""

    _conv = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims: int, dilation=None) -> tuple:
        if output_size is None:
            return _ntuple(self.output_padding, num_spatial_dims)
        batched = input.dim() == num_spatial_dims + 2
        lead = 2 if batched else 1
        output_size = list(output_size)
        if len(output_size) == lead + num_spatial_dims:
            output_size = output_size[lead:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(f"ConvTranspose{num_spatial_dims}D: for {input.dim()}D input, "
                             f"output_size must have {num_spatial_dims} or "
                             f"{lead + num_spatial_dims} elements (got {len(output_size)})")
        spatial = input.shape[lead:]
        low = [(spatial[d] - 1) * stride[d] - 2 * padding[d] +
               (dilation[d] if dilation is not None else 1) * (kernel_size[d] - 1) + 1
               for d in range(num_spatial_dims)]
        high = [lo + s - 1 for lo, s in zip(low, stride)]
        for size, lo, hi in zip(output_size, low, high):
            if not lo <= size <= hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {low} to {high} (for an input of "
                                 f"{list(spatial)})")
        return tuple(size - lo for size, lo in zip(output_size, low))

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, self._dims, self.dilation)
        return type(self)._conv(input, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of ``Conv1d`` with respect to its input).

    ``weight`` is ``(in_channels, out_channels/groups, kernel_size)``.

    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``; Output: ``(N, C_out, L_out)``,
          ``L_out = (L-1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1``.
    """

    _dims = 1
    _conv = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (the gradient of ``Conv2d`` with respect to its input).

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``; Output: ``(N, C_out, H_out, W_out)``.

    Example::

        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> up(torch.randn(1, 16, 12, 12), output_size=[1, 8, 24, 24]).shape
        torch.Size([1, 8, 24, 24])
    """

    _dims = 2
    _conv = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution (the gradient of ``Conv3d`` with respect to its input).

    Shape:
        - Input: ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; Output: ``(N, C_out, D_out,
          H_out, W_out)``.
    """

    _dims = 3
    _conv = staticmethod(F.conv_transpose3d)


# ------------------------------------------------------------------------------ lazy forms
class _LazyConvXdMixin(LazyModuleMixin):
    """``in_channels`` from the first input; the weight and bias are materialised then."""

    def _lazy_init(self, out_channels, bias, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if not self.has_uninitialized_params():
            return
        n = self._dims
        if input.dim() not in (n + 1, n + 2):
            raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        in_channels = input.shape[1 if input.dim() == n + 2 else 0]
        if in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        self.in_channels = in_channels
        shape = ((in_channels, self.out_channels // self.groups) if self.transposed else
                 (self.out_channels, in_channels // self.groups)) + self.kernel_size
        with no_grad():
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


def _lazy_conv(eager: type, transposed: bool) -> type:
    """The lazy class of ``eager``: the same arguments without ``in_channels``."""

    if transposed:
        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                     groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                     device=None, dtype=None) -> None:
            # bias=False here: the bias is created below as a placeholder.
            super(cls, self).__init__(0, 0, kernel_size, stride, padding, output_padding, groups,
                                      False, dilation, padding_mode, device, dtype)
            self._lazy_init(out_channels, bias, device, dtype)
    else:
        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                     groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                     device=None, dtype=None) -> None:
            super(cls, self).__init__(0, 0, kernel_size, stride, padding, dilation, groups,
                                      False, padding_mode, device, dtype)
            self._lazy_init(out_channels, bias, device, dtype)

    name = f"Lazy{eager.__name__}"
    cls = type(name, (_LazyConvXdMixin, eager), {
        "__init__": __init__, "cls_to_become": eager, "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"A ``{eager.__name__}`` whose ``in_channels`` is inferred from the first "
                   f"input; it becomes a ``{eager.__name__}`` then.",
    })
    return cls


LazyConv1d = _lazy_conv(Conv1d, False)
LazyConv2d = _lazy_conv(Conv2d, False)
LazyConv3d = _lazy_conv(Conv3d, False)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d, True)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d, True)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d, True)
