"""Activation layers; each ``forward`` is one call into ``nn.functional``."""
from __future__ import annotations

from ...creation import empty
from .. import functional as F
from .. import init as _init
from ..parameter import Parameter
from .module import Module

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]


def _inplace_str(inplace: bool, first: bool = False) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class _Unary(Module):
    """An activation without options: ``forward`` is ``_fn(input)``."""

    _fn = None  # the functional form, set by each subclass

    def forward(self, input):
        return type(self)._fn(input)


class _InplaceActivation(Module):
    """An activation whose only option is ``inplace`` (shown in the repr where PyTorch does)."""

    _fn = None
    _repr_inplace = False

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True) if self._repr_inplace else ""


class _DimActivation(Module):
    """A softmax-like activation along ``dim`` (None: PyTorch's deprecated implicit choice)."""

    _fn = None

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ReLU(_InplaceActivation):
    """``max(0, x)`` elementwise; ``inplace=True`` overwrites the input.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.relu
    _repr_inplace = True


class Hardtanh(Module):
    """``x`` clamped to ``[min_val, max_val]``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        # min_value / max_value are PyTorch's deprecated spellings of min_val / max_val.
        self.min_val = min_val if min_value is None else min_value
        self.max_val = max_val if max_value is None else max_value
        self.inplace = inplace
        if self.max_val <= self.min_val:
            raise AssertionError(
                f"max_val ({self.max_val}) must be greater than min_val ({self.min_val})")

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_str(self.inplace)}"


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class Sigmoid(_Unary):
    """``1 / (1 + exp(-x))`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.sigmoid


class Tanh(_Unary):
    """``tanh(x)`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.tanh


class GELU(Module):
    """``x * Phi(x)`` (Phi the standard normal CDF); ``approximate='tanh'`` uses the tanh formula.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)`` elementwise (also called swish).

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.silu
    _repr_inplace = True


class Softmax(_DimActivation):
    """``exp(x) / sum(exp(x))`` along ``dim``, so slices along ``dim`` sum to 1.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.softmax


class LogSoftmax(_DimActivation):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.log_softmax


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``; linear where ``beta * x > threshold``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class LogSigmoid(_Unary):
    """``log(sigmoid(x))`` elementwise, computed stably.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.logsigmoid


class Threshold(Module):
    """``x`` where ``x > threshold``, ``value`` elsewhere.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class RReLU(Module):
    """Randomized leaky ReLU: in training each non-positive element gets a slope drawn uniformly
    from ``[lower, upper]``; in eval mode the slope is ``(lower + upper) / 2``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_str(self.inplace)}"


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.hardsigmoid


class Hardswish(_InplaceActivation):
    """``x * relu6(x + 3) / 6`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.hardswish


class Mish(_InplaceActivation):
    """``x * tanh(softplus(x))`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.mish
    _repr_inplace = True


class SELU(_InplaceActivation):
    """``scale * elu(x, alpha)`` with ``alpha = 1.6732632...`` and ``scale = 1.0507009...``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.selu
    _repr_inplace = True


class CELU(Module):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class GLU(Module):
    """Gated linear unit ``a * sigmoid(b)``, ``a`` and ``b`` the halves of the input along
    ``dim``.

    Shape:
        - Input: ``(*, N, *)``; Output: ``(*, N / 2, *)`` (``N`` even, at ``dim``).
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Hardshrink(Module):
    """``x`` where ``|x| > lambd``, 0 elsewhere.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class PReLU(Module):
    """``x`` where positive, ``weight * x`` elsewhere, with a learnt slope: one shared
    (``num_parameters=1``) or one per channel (dim 1 of the input), initialised to ``init``.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.

    Example::

        >>> m = nn.PReLU(3)
        >>> m(torch.randn(2, 3, 4)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softsign(_Unary):
    """``x / (1 + |x|)`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.softsign


class Tanhshrink(_Unary):
    """``x - tanh(x)`` elementwise.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.tanhshrink


class Softmin(_DimActivation):
    """``softmax(-x)`` along ``dim``: slices sum to 1, smaller values weigh more.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    _fn = F.softmin


class Softmax2d(Module):
    """Softmax over the channels at each spatial location.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``; Output: the same shape.
    """

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D "
                             "instead")
        return F.softmax(input, -3, _stacklevel=5)
