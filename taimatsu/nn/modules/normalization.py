"""Normalization layers: ``LayerNorm``, ``RMSNorm``, ``GroupNorm``, ``LocalResponseNorm`` and
``CrossMapLRN2d``."""
from __future__ import annotations

from ... import creation
from .. import functional as F
from .. import init
from ..functional.normalization import _cross_map_lrn2d, _normalized_shape
from ..parameter import Parameter
from .module import Module

__all__ = ["CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]


def _register_affine(module, shape, affine: bool, bias: bool, device, dtype) -> None:
    """Register a norm's ``weight`` and ``bias`` of ``shape`` (None when absent)."""
    weight = Parameter(creation.empty(shape, device=device, dtype=dtype)) if affine else None
    module.register_parameter("weight", weight)
    has_bias = affine and bias
    module.register_parameter(
        "bias", Parameter(creation.empty(shape, device=device, dtype=dtype)) if has_bias else None)


def _reset_affine(module) -> None:
    """PyTorch's start: weight ones, bias zeros."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LocalResponseNorm(Module):
    """Normalises each element by the mean square of ``size`` neighbouring channels:
    ``x / (k + alpha * mean(x^2)) ** beta``.

    Shape:
        - Input: ``(N, C, *)``; Output: same shape.

    Example::

        >>> lrn = nn.LocalResponseNorm(2)
        >>> lrn(torch.randn(32, 5, 24, 24)).shape
        torch.Size([32, 5, 24, 24])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(LocalResponseNorm):
    """The legacy (Lua Torch) cross-channel LRN over a 4D input, with PyTorch's numerics.

    Shape:
        - Input: ``(N, C, H, W)``; Output: same shape.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__(size, alpha, beta, k)

    def forward(self, input):
        return _cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dims of each sample, then applies an
    element-wise ``weight`` (ones) and ``bias`` (zeros), each of shape ``normalized_shape``.

    ``elementwise_affine=False`` drops both; ``bias=False`` only the bias.

    Shape:
        - Input: ``(N, *)`` ending in ``normalized_shape``; Output: same shape.

    Example::

        >>> ln = nn.LayerNorm(10)
        >>> ln(torch.randn(20, 5, 10)).shape
        torch.Size([20, 5, 10])
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims;
    ``eps=None`` uses the machine epsilon of the input's dtype.

    Shape:
        - Input: ``(N, *)`` ending in ``normalized_shape``; Output: same shape.

    Example::

        >>> rms = nn.RMSNorm([2, 3])
        >>> rms(torch.randn(2, 2, 3)).shape
        torch.Size([2, 2, 3])
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.register_parameter("weight", Parameter(creation.empty(
            self.normalized_shape, device=device, dtype=dtype)) if elementwise_affine else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalises each sample over groups of ``num_channels / num_groups`` channels, then
    scales and shifts per channel (``affine``: weight ones, bias zeros).

    Shape:
        - Input: ``(N, C, *)`` with ``C = num_channels``; Output: same shape.

    Example::

        >>> m = nn.GroupNorm(3, 6)
        >>> m(torch.randn(20, 6, 10, 10)).shape
        torch.Size([20, 6, 10, 10])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
