"""Elementwise ops: arithmetic, unary math, comparisons, logical and bitwise ops, clamp, where.

Binary ops take tensors or Python numbers (in either position); ``prepare`` casts the operands to
PyTorch's result dtype, and the engine sums broadcast gradients back to each input's shape, so
backward ignores broadcasting. Ops that have no gradient (comparisons, logical and bitwise ops,
``isnan``...) compute straight on the arrays, outside autograd.
"""
from __future__ import annotations

import builtins
import inspect
import math
import numbers

from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..autograd import grad_mode
from ..autograd.function import Function, apply_inplace
from ..backend import erf as _backend_erf
from ..backend import refuses_writes
from ..dtypes import get_default_dtype, legacy_name, result_type
from ._autocast import autocast_op
from ._util import check_same_device, prepare

__all__ = [
    "abs", "absolute", "acos", "acosh", "add", "addcdiv", "addcmul", "allclose", "arccos",
    "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan",
    "atan2", "atanh", "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "ceil", "clamp", "clamp_max", "clamp_min", "clip",
    "cos", "cosh", "div", "divide", "eq", "equal", "erf", "exp", "exp2", "expm1", "fix",
    "floor", "floor_divide", "fmax", "fmin", "fmod", "frac", "ge", "greater", "greater_equal",
    "gt", "hypot", "isclose", "isfinite", "isinf", "isnan", "le", "lerp", "less", "less_equal",
    "log", "log1p", "log2", "log10", "logical_and", "logical_not", "logical_or", "logical_xor",
    "lt", "maximum", "minimum", "mul", "multiply", "nan_to_num", "ne", "neg", "negative",
    "not_equal", "positive", "pow", "reciprocal", "relu", "remainder", "round", "rsqrt",
    "rsub", "sgn", "sigmoid", "sign", "sin", "sinh", "sqrt", "square", "sub", "subtract",
    "tan", "tanh", "true_divide", "trunc", "where",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ---------------------------------------------------------------------------- operand helpers
def _number(x):
    """``x`` as an op operand: tensors and Python numbers pass; NumPy numbers become Python ones
    (PyTorch treats them alike, and NumPy would otherwise widen float32 by a float64 scalar)."""
    t = type(x)
    if isinstance(x, TensorBase) or t is float or t is int or t is bool:
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"unsupported operand type {t.__name__}; expected a Tensor or a number")


def _tensor(op: str, x, name: str = "input", pos: int = 1):
    """``x``, which must be a tensor (PyTorch's TypeError otherwise)."""
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _arrays(op: str, x, y):
    """``prepare`` for two operands, shapes checked: ``(device, a, b, numpy result dtype)``.

    The hot cases (a tensor and a same-dtype tensor on its device, or a Python number NumPy
    already promotes as PyTorch does) are decided here without a further call."""
    if isinstance(x, TensorBase):
        a = x._data
        if isinstance(y, TensorBase):
            b = y._data
            if y._device is x._device and b.dtype == a.dtype:
                if b.shape != a.shape:  # (inline: broadcasting a bias is common)
                    for n, m in zip(a.shape[::-1], b.shape[::-1]):
                        if n != m and n != 1 and m != 1:
                            _check_broadcast((a.shape, b.shape))  # raises PyTorch's error
                return x._device, a, b, a.dtype
        elif type(y) is float:
            if a.dtype.kind in "fV":
                return x._device, a, y, a.dtype
        elif type(y) is int and (a.dtype.kind in "fV" or a.dtype.itemsize == 8):
            return x._device, a, y, a.dtype  # (a small int dtype may overflow: prepare casts)
    elif isinstance(y, TensorBase):  # a number on the left (``1 - t``, ``2 * t``)
        b = y._data
        t = type(x)
        if (t is float and b.dtype.kind in "fV") or (
                t is int and (b.dtype.kind in "fV" or b.dtype.itemsize == 8)):
            return y._device, x, b, b.dtype
    dev, (a, b), dt = _arrays_n(op, x, y)
    return dev, a, b, dt


def _arrays_n(op: str, *operands):
    """``prepare`` plus the result dtype, shapes checked: ``(device, arrays, numpy dtype)``."""
    for o in operands:
        if isinstance(o, TensorBase):
            break
    else:
        raise TypeError(f"{op}(): expected at least one Tensor argument, got "
                        f"{', '.join(type(o).__name__ for o in operands)}")
    dev, arrays = prepare(op, *operands)
    dt = shape = None
    for a in arrays:
        s = getattr(a, "shape", None)  # Python numbers have none
        if s is not None:
            if shape is None:
                shape, dt = s, a.dtype
            elif s != shape:
                _check_broadcast([a.shape for a in arrays if hasattr(a, "shape")])
    return dev, arrays, dt


def _check_broadcast(shapes) -> None:
    """PyTorch's error for shapes that do not broadcast together (NumPy's is a ValueError)."""
    ndim = 0
    for s in shapes:
        ndim = builtins.max(ndim, len(s))
    for k in range(1, ndim + 1):
        size = 1
        for s in shapes:
            n = s[-k] if k <= len(s) else 1
            if n != 1:
                if size != 1 and n != size:
                    raise RuntimeError(f"The size of tensor a ({size}) must match the size of "
                                       f"tensor b ({n}) at non-singleton dimension {ndim - k}")
                size = n


def _float(x):
    """The array of ``x``, as the default float when it is an integer or bool tensor."""
    a = x._data
    if a.dtype.kind not in "fV":
        a = a.astype(get_default_dtype().np)
    return a


def _not_implemented(kernel: str, dev, dtype) -> NotImplementedError:
    """PyTorch's error for an op its kernels do not cover for ``dtype``."""
    return NotImplementedError(f"\"{kernel}_{dev.type}\" not implemented for "
                               f"'{legacy_name(dtype)}'")


_SAVED = object()  # marks a saved tensor's place among ``_save``'s values


def _save(ctx, *values) -> None:
    """Save operands for backward: tensors through ``save_for_backward`` (version-checked),
    Python numbers and None on ``ctx``. ``_saved(ctx)`` gives them back in order. Forwards call
    it only when a gradient is needed (recording), so the no-grad path saves nothing."""
    tensors = plain = ()
    mixed = False
    for v in values:  # (tuple concatenation: no per-value calls on this per-op path)
        if isinstance(v, TensorBase):
            tensors += (v,)
            plain += (_SAVED,)
        else:
            plain += (v,)
            mixed = True
    ctx.save_for_backward(*tensors)
    ctx.plain = plain if mixed else None


def _saved(ctx) -> tuple:
    if ctx.plain is None:  # tensors only
        return ctx.saved_tensors
    saved = ctx.saved_tensors
    out = ()  # (a loop, not a comprehension over an iterator: no per-value calls)
    k = 0
    for p in ctx.plain:
        if p is _SAVED:
            out += (saved[k],)
            k += 1
        else:
            out += (p,)
    return out


def _zeros(g):
    """A zero gradient shaped like ``g`` (PyTorch's ``zeros_like(grad)``: NaNs in ``g`` vanish)."""
    return make(g.xp.zeros_like(g._data), g._device)


# ---------------------------------------------------------------------------- add, sub, mul, div
def _check_alpha(dtype, alpha) -> None:
    """PyTorch's rules for ``alpha`` of add/sub given the result dtype (a NumPy dtype)."""
    if isinstance(alpha, bool):
        if dtype.kind != "b":
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif dtype.kind in "biu" and not isinstance(alpha, int):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number.")


class Add(Function):
    @staticmethod
    def forward(ctx, x, y, alpha):
        dev, a, b, dt = _arrays("add", x, y)
        if alpha != 1 or alpha is True:  # (True == 1, but a bool alpha has its rules)
            _check_alpha(dt, alpha)
            b = b * (builtins.bool(alpha) if dt.kind == "b" else alpha)
        ctx.alpha = alpha
        return make(a + b, dev)

    @staticmethod
    def backward(ctx, g):
        gy = None
        if ctx.needs_input_grad[1]:
            gy = g if ctx.alpha == 1 else g * ctx.alpha
        return g if ctx.needs_input_grad[0] else None, gy, None


def _is_bool(v) -> bool:
    return isinstance(v, bool) or (isinstance(v, TensorBase) and v._data.dtype.kind == "b")


class Sub(Function):
    @staticmethod
    def forward(ctx, x, y, alpha):
        if (x._data.dtype.kind == "b" if isinstance(x, TensorBase) else type(x) is bool) or (
                y._data.dtype.kind == "b" if isinstance(y, TensorBase) else type(y) is bool):
            if _is_bool(x) and _is_bool(y):
                raise RuntimeError(
                    "Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                    "the `^` or `logical_xor()` operator instead.")
            raise RuntimeError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        dev, a, b, dt = _arrays("sub", x, y)
        if alpha != 1 or alpha is True:  # (True == 1, but a bool alpha has its rules)
            _check_alpha(dt, alpha)
            b = b * alpha
        ctx.alpha = alpha
        return make(a - b, dev)

    @staticmethod
    def backward(ctx, g):
        gy = None
        if ctx.needs_input_grad[1]:
            gy = -g if ctx.alpha == 1 else g * -ctx.alpha
        return g if ctx.needs_input_grad[0] else None, gy, None


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, _ = _arrays("mul", x, y)
        need = ctx.needs_input_grad
        if need[0] or need[1]:
            _save(ctx, y if need[0] else None, x if need[1] else None)
        return make(a * b, dev)

    @staticmethod
    def backward(ctx, g):
        y, x = _saved(ctx)
        need = ctx.needs_input_grad
        return g * y if need[0] else None, g * x if need[1] else None


class Div(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, dt = _arrays("div", x, y)
        if dt.kind not in "fV":  # bool/int true division gives the default float, computed in it
            f = get_default_dtype().np
            a = a.astype(f) if hasattr(a, "dtype") else a
            b = b.astype(f) if hasattr(b, "dtype") else b
        need = ctx.needs_input_grad
        if need[0] or need[1]:
            _save(ctx, x if need[1] else None, y)
        return make(dev.xp.true_divide(a, b), dev)

    @staticmethod
    def backward(ctx, g):
        x, y = _saved(ctx)
        need = ctx.needs_input_grad
        return g / y if need[0] else None, -g * x / (y * y) if need[1] else None


def _check_divisor(a, b) -> None:
    """Integer division by zero is an error in PyTorch (NumPy would give 0 with a warning),
    unless the result is empty (nothing is divided)."""
    if getattr(a, "size", 1) == 0 or getattr(b, "size", 1) == 0:
        return
    if (b == 0) if not hasattr(b, "dtype") else builtins.bool((b == 0).any()):
        raise RuntimeError("ZeroDivisionError")


def _rounding_div(op, x, y, mode):
    """``x / y`` rounded toward zero (``"trunc"``) or down (``"floor"``), as PyTorch computes it."""
    dev, a, b, dt = _arrays(op, x, y)
    xp = dev.xp
    if dt.kind == "b":
        raise _not_implemented(f"div_{mode}", dev, dt)
    if dt.kind in "iu":
        _check_divisor(a, b)
        out = xp.floor_divide(a, b)
        if mode == "trunc":  # floor and trunc differ when inexact with operands of opposite signs
            out = out + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
    elif mode == "floor":
        out = xp.floor_divide(a, b)  # Python's floor division, which PyTorch's matches
    else:
        out = xp.trunc(xp.true_divide(a, b))
    return make(out, dev)


class DivRounding(Function):
    """Rounded division: its gradient is zero (PyTorch's ``div(..., rounding_mode=...)``)."""

    @staticmethod
    def forward(ctx, x, y, mode):
        return _rounding_div("div", x, y, mode)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return _zeros(g) if need[0] else None, _zeros(g) if need[1] else None, None


class FloorDivide(Function):
    """``x // y``: PyTorch defines no derivative, and says so when one is asked for."""

    @staticmethod
    def forward(ctx, x, y):
        return _rounding_div("floor_divide", x, y, "floor")

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


@out_variant
def add(input, other, *, alpha=1):
    """``input + alpha * other``, broadcasting."""
    # (Tensors and Python floats, nearly every call, need no conversion: skip the call.)
    if not (type(other) is float or isinstance(other, TensorBase)):
        other = _number(other)
    if not isinstance(input, TensorBase):
        input = _number(input)
    result = Add.apply(input, other, alpha)
    return result


@out_variant
def sub(input, other, *, alpha=1):
    """``input - alpha * other``, broadcasting."""
    if not (type(other) is float or isinstance(other, TensorBase)):
        other = _number(other)
    if not isinstance(input, TensorBase):
        input = _number(input)
    result = Sub.apply(input, other, alpha)
    return result


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    return Sub.apply(_number(other), _number(input), alpha)


@out_variant
def mul(input, other):
    """``input * other``, broadcasting."""
    if not (type(other) is float or isinstance(other, TensorBase)):
        other = _number(other)
    if not isinstance(input, TensorBase):
        input = _number(input)
    result = Mul.apply(input, other)
    return result


@out_variant
def div(input, other, *, rounding_mode=None):
    """``input / other``; ``rounding_mode`` ``"trunc"`` or ``"floor"`` rounds the quotient.

    Without a rounding mode, integer and bool inputs give the default float (``1 / 2 == 0.5``).
    """
    if not (type(other) is float or isinstance(other, TensorBase)):
        other = _number(other)
    if not isinstance(input, TensorBase):
        input = _number(input)
    if rounding_mode is None:
        result = Div.apply(input, other)
        return result
    if rounding_mode in ("floor", "trunc"):
        return DivRounding.apply(input, other, rounding_mode)
    raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


@out_variant(differentiable=True)
def floor_divide(input, other):
    """``input // other``: the quotient rounded down (Python's ``//``)."""
    return FloorDivide.apply(_number(input), _number(other))


subtract, multiply, divide = sub, mul, div


@out_variant
def true_divide(input, other):
    """``input / other`` (``div`` without a rounding mode, as PyTorch's ``true_divide``)."""
    return div(input, other)


# ---------------------------------------------------------------------------- remainder, pow
class _Modulo(Function):
    """``x`` modulo ``y`` with NumPy's ``kernel``; the gradient for ``y`` is ``-g`` times the
    quotient rounded the same way (``rounding``)."""

    kernel = rounding = ""

    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, dt = _arrays(ctx.kernel, x, y)
        if dt.kind == "b":
            raise _not_implemented(ctx.kernel, dev, dt)
        if dt.kind in "iu":
            _check_divisor(a, b)
        if ctx.needs_input_grad[1]:
            _save(ctx, x, y)
        return make(getattr(dev.xp, ctx.kernel)(a, b), dev)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gy = None
        if need[1]:  # (x and y are saved only then)
            x, y = _saved(ctx)
            gy = -g * div(x, y, rounding_mode=ctx.rounding)
        return g if need[0] else None, gy


class Remainder(_Modulo):
    """Python's ``%``: the result has the divisor's sign."""

    kernel, rounding = "remainder", "floor"


class Fmod(_Modulo):
    """C's ``fmod``: the result has the dividend's sign."""

    kernel, rounding = "fmod", "trunc"


@out_variant
def remainder(input, other):
    """Python-style modulus ``input % other`` (the sign of ``other``)."""
    return Remainder.apply(_number(input), _number(other))


@out_variant
def fmod(input, other):
    """C-style modulus (the sign of ``input``)."""
    return Fmod.apply(_tensor("fmod", input), _number(other))


def _int_pow(xp, a, b):
    """Integer powers. A negative exponent truncates ``1 / a**n`` as PyTorch's kernel does:
    1 for a base of 1, +-1 for -1, else 0 (NumPy refuses negative integer powers)."""
    if not hasattr(b, "dtype"):
        return xp.power(a, b)
    neg = b < 0
    if not neg.any():
        return xp.power(a, b)
    out = xp.power(a, xp.where(neg, 0, b))
    inverse = xp.where(a == 1, 1, xp.where(a == -1, 1 - 2 * (b & 1), 0))
    return xp.where(neg, inverse, out).astype(out.dtype, copy=False)


def _log_scalar(v: float) -> float:
    return math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan)


class Pow(Function):
    @staticmethod
    def forward(ctx, x, e):
        dev, a, b, dt = _arrays("pow", x, e)
        if dt.kind == "b":
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        if dt.kind in "iu" and not isinstance(e, TensorBase) and e < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        out = make(_int_pow(dev.xp, a, b) if dt.kind in "iu" else dev.xp.power(a, b), dev)
        need = ctx.needs_input_grad
        if need[0] or need[1]:
            _save(ctx, x, e, out if need[1] else None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, e, out = _saved(ctx)
        need = ctx.needs_input_grad
        gx = ge = None
        if need[0]:  # e * x**(e - 1), and exactly 0 where e == 0 (even at x == 0)
            if isinstance(e, TensorBase):
                gx = where(e == 0, 0.0, g * (e * x.pow(e - 1)))
            elif e == 2:  # the common square: no pow in backward
                gx = g * (x * 2)
            else:
                gx = _zeros(g) if e == 0 else g * (e * x.pow(e - 1))
        if need[1]:  # x**e * log(x), and 0 where x == 0 and e >= 0
            if isinstance(x, TensorBase):
                ge = g * where((x == 0) & (e >= 0), 0.0, out * x.log())
            elif x == 0:
                ge = g * where(e >= 0, 0.0, out * -math.inf)
            else:
                ge = g * (out * _log_scalar(x))
        return gx, ge


@out_variant
def pow(input, exponent):
    """``input ** exponent``; either may be a number (``pow(2, t)``), not both.

    Integer tensors to negative integer (scalar) powers are an error, as in PyTorch.
    """
    if not (type(exponent) is int or type(exponent) is float or isinstance(exponent, TensorBase)):
        exponent = _number(exponent)
    if not isinstance(input, TensorBase):
        input = _number(input)
    result = Pow.apply(input, exponent)
    return result


@out_variant
def square(input):
    """``input * input`` (bool inputs give int64, as ``pow(input, 2)`` does)."""
    return Pow.apply(_tensor("square", input), 2)


# ---------------------------------------------------------------------------- lerp, addcmul
class Lerp(Function):
    @staticmethod
    def forward(ctx, start, end, weight):
        a, b = start._data, end._data
        if b.dtype != a.dtype:
            raise RuntimeError(f"expected dtype {legacy_name(a.dtype).lower()} for `end` but got "
                               f"dtype {legacy_name(b.dtype).lower()}")
        dev = start._device
        if a.dtype.kind not in "fV":
            raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for "
                                      f"'{legacy_name(a.dtype)}'")
        check_same_device("lerp", start, end, weight)
        _check_broadcast([a.shape, b.shape] + ([weight._data.shape]
                                               if isinstance(weight, TensorBase) else []))
        # PyTorch's two-sided formula: exact at both ends (weight 0 gives start, 1 gives end).
        diff = b - a
        if isinstance(weight, TensorBase):
            w = weight._data
            if w.dtype != a.dtype:
                if w.ndim:
                    raise RuntimeError(f"expected dtype {legacy_name(a.dtype).lower()} for "
                                       f"`weight` but got dtype {legacy_name(w.dtype).lower()}")
                w = w.astype(a.dtype)
            out = dev.xp.where(dev.xp.abs(w) < 0.5, a + w * diff, b - diff * (1 - w))
        elif builtins.abs(weight) < 0.5:
            out = a + weight * diff
        else:
            out = b - diff * (1 - weight)
        need = ctx.needs_input_grad
        _save(ctx, *((start, end) if need[2] else (None, None)), weight)
        return make(out, dev)

    @staticmethod
    def backward(ctx, g):
        start, end, w = _saved(ctx)
        need = ctx.needs_input_grad
        return (g * (1 - w) if need[0] else None, g * w if need[1] else None,
                g * (end - start) if need[2] else None)


@out_variant
def lerp(input, end, weight):
    """``input + weight * (end - input)``; ``weight`` is a number or a tensor."""
    return Lerp.apply(_tensor("lerp", input), _tensor("lerp", end, "end", 2), _number(weight))


@out_variant
@autocast_op
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    return add(input, mul(tensor1, tensor2), alpha=value)


def _check_addcdiv(tensor1, tensor2) -> None:
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")


@out_variant
@autocast_op
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    _check_addcdiv(tensor1, tensor2)
    return add(input, div(tensor1, tensor2), alpha=value)


# ---------------------------------------------------------------------------- unary math
class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        if x._data.dtype.kind == "b":
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return make(-x._data, x._device)

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        if x._data.dtype.kind == "b":
            raise _not_implemented("abs", x._device, x._data.dtype)
        ctx.save_for_backward(x)
        return make(x.xp.abs(x._data), x._device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.sign()


class Sign(Function):
    @staticmethod
    def forward(ctx, x):
        a = x._data
        return make(a.copy() if a.dtype.kind == "b" else x.xp.sign(a), x._device)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        if x._data.dtype.kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")
        out = make(x._device.xp.maximum(x._data, 0), x._device)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return where(out > 0, g, 0.0)


class _FloatUnary(Function):
    """Base of the floating-point maths ``out = f(x)``: integer and bool inputs compute in the
    default float. Each op (made by ``_float_unary``) gives ``f(xp, a)`` and its
    ``derivative(g, saved)``, where ``saved`` is the input or, with ``uses_output``, the output."""

    uses_output = False

    @staticmethod
    def forward(ctx, x):
        cls = type(ctx)
        a = x._data
        out = make(cls.f(x._device.xp, a if a.dtype.kind in "fV" else _float(x)), x._device)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out if cls.uses_output else x)
        return out

    @staticmethod
    def backward(ctx, g):
        return type(ctx).derivative(g, ctx.saved_tensors[0])


def _float_unary(name, f, derivative, uses_output=False):
    """A ``_FloatUnary`` Function class (its graph node is named ``<name>Backward0``)."""
    return type(name, (_FloatUnary,), {"f": staticmethod(f), "derivative": staticmethod(derivative),
                                       "uses_output": uses_output, "__qualname__": name})


def _sigmoid(xp, a):
    e = xp.exp(-xp.abs(a))  # exp of a non-positive number: never overflows
    r = 1 / (1 + e)
    return xp.where(a >= 0, r, e * r)


Exp = _float_unary("Exp", lambda xp, a: xp.exp(a), lambda g, out: g * out, True)
Exp2 = _float_unary("Exp2", lambda xp, a: xp.exp2(a), lambda g, out: g * out * _LN2, True)
Expm1 = _float_unary("Expm1", lambda xp, a: xp.expm1(a), lambda g, out: g * (out + 1), True)
Log = _float_unary("Log", lambda xp, a: xp.log(a), lambda g, x: g / x)
Log1p = _float_unary("Log1p", lambda xp, a: xp.log1p(a), lambda g, x: g / (x + 1))
Log2 = _float_unary("Log2", lambda xp, a: xp.log2(a), lambda g, x: g / (x * _LN2))
Log10 = _float_unary("Log10", lambda xp, a: xp.log10(a), lambda g, x: g / (x * _LN10))
Sqrt = _float_unary("Sqrt", lambda xp, a: xp.sqrt(a), lambda g, out: g / (2 * out), True)
Rsqrt = _float_unary("Rsqrt", lambda xp, a: 1 / xp.sqrt(a),
                     lambda g, out: -0.5 * g * out.pow(3), True)
Reciprocal = _float_unary("Reciprocal", lambda xp, a: 1 / a, lambda g, out: -g * (out * out), True)
Sin = _float_unary("Sin", lambda xp, a: xp.sin(a), lambda g, x: g * x.cos())
Cos = _float_unary("Cos", lambda xp, a: xp.cos(a), lambda g, x: g * -x.sin())
Tan = _float_unary("Tan", lambda xp, a: xp.tan(a), lambda g, out: g * (1 + out * out), True)
Asin = _float_unary("Asin", lambda xp, a: xp.arcsin(a), lambda g, x: g * (1 - x * x).rsqrt())
Acos = _float_unary("Acos", lambda xp, a: xp.arccos(a), lambda g, x: g * -(1 - x * x).rsqrt())
Atan = _float_unary("Atan", lambda xp, a: xp.arctan(a), lambda g, x: g / (x * x + 1))
Sinh = _float_unary("Sinh", lambda xp, a: xp.sinh(a), lambda g, x: g * x.cosh())
Cosh = _float_unary("Cosh", lambda xp, a: xp.cosh(a), lambda g, x: g * x.sinh())
Tanh = _float_unary("Tanh", lambda xp, a: xp.tanh(a), lambda g, out: g * (1 - out * out), True)
Asinh = _float_unary("Asinh", lambda xp, a: xp.arcsinh(a), lambda g, x: g * (x * x + 1).rsqrt())
Acosh = _float_unary("Acosh", lambda xp, a: xp.arccosh(a), lambda g, x: g * (x * x - 1).rsqrt())
Atanh = _float_unary("Atanh", lambda xp, a: xp.arctanh(a), lambda g, x: g / (1 - x * x))
Sigmoid = _float_unary("Sigmoid", _sigmoid, lambda g, out: g * (1 - out) * out, True)
Erf = _float_unary("Erf", _backend_erf,
                   lambda g, x: _TWO_OVER_SQRT_PI * (-(x * x)).exp() * g)


class _RoundingUnary(Function):
    """floor/ceil/trunc: integers come back unchanged (as a copy); the gradient is zero."""

    @staticmethod
    def forward(ctx, x):
        a = x._data
        if a.dtype.kind == "b":
            raise _not_implemented(f"{type(ctx).__name__.lower()}_vml", x._device, a.dtype)
        return make(type(ctx).f(x.xp, a) if a.dtype.kind in "fV" else a.copy(), x._device)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


Floor = type("Floor", (_RoundingUnary,), {"f": staticmethod(lambda xp, a: xp.floor(a))})
Ceil = type("Ceil", (_RoundingUnary,), {"f": staticmethod(lambda xp, a: xp.ceil(a))})
Trunc = type("Trunc", (_RoundingUnary,), {"f": staticmethod(lambda xp, a: xp.trunc(a))})


class Round(Function):
    """Round half to even, optionally at ``decimals`` digits (PyTorch's formula: scale by a power
    of ten in the tensor's dtype, round, scale back)."""

    @staticmethod
    def forward(ctx, x, decimals):
        a, xp = x._data, x.xp
        kind = a.dtype.kind
        if kind == "b" or (decimals and kind not in "fV"):
            raise _not_implemented("round", x._device, a.dtype)
        if kind not in "fV":
            return make(a.copy(), x._device)
        if decimals == 0:
            return make(xp.rint(a), x._device)
        scale = a.dtype.type(10.0 ** builtins.abs(decimals))
        out = xp.rint(a * scale) / scale if decimals > 0 else xp.rint(a / scale) * scale
        return make(out, x._device)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g), None


class Frac(Function):
    @staticmethod
    def forward(ctx, x):
        a = x._data
        if a.dtype.kind not in "fV":
            raise _not_implemented("frac", x._device, a.dtype)
        return make(a - x.xp.trunc(a), x._device)

    @staticmethod
    def backward(ctx, g):
        return g


class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        a = x._data
        if a.dtype.kind not in "fV":
            return make(a.copy(), x._device)
        ctx.save_for_backward(x)
        return make(x.xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf), x._device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * isfinite(x), None, None, None


def _unary_function(name, fn_class, doc, out_dtype="cast"):
    """The public ``name(input, *, out=None)`` for a one-input Function class (``out_dtype``:
    its ``out=`` dtype rule, see taimatsu/_out.py; None: no ``out=``)."""

    def fn(input):
        if not isinstance(input, TensorBase):
            _tensor(name, input)  # raises PyTorch's TypeError
        return fn_class.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn if out_dtype is None else out_variant(fn, dtype=out_dtype)


neg = _unary_function("neg", Neg, "``-input``.", "exact")
abs = _unary_function("abs", Abs, "Absolute value of each element.", "exact")
sign = _unary_function("sign", Sign, "-1, 0 or 1 by the sign of each element (bools unchanged).",
                       "exact")
relu = _unary_function("relu", Relu, "``max(input, 0)`` elementwise.", None)
exp = _unary_function("exp", Exp, "``e ** input``.")
exp2 = _unary_function("exp2", Exp2, "``2 ** input``.")
expm1 = _unary_function("expm1", Expm1, "``exp(input) - 1``, accurate near 0.")
log = _unary_function("log", Log, "Natural logarithm.")
log1p = _unary_function("log1p", Log1p, "``log(1 + input)``, accurate near 0.")
log2 = _unary_function("log2", Log2, "Base-2 logarithm.")
log10 = _unary_function("log10", Log10, "Base-10 logarithm.")
sqrt = _unary_function("sqrt", Sqrt, "Square root.")
rsqrt = _unary_function("rsqrt", Rsqrt, "``1 / sqrt(input)``.")
reciprocal = _unary_function("reciprocal", Reciprocal, "``1 / input`` (integers give floats).")
sin = _unary_function("sin", Sin, "Sine.")
cos = _unary_function("cos", Cos, "Cosine.")
tan = _unary_function("tan", Tan, "Tangent.")
asin = _unary_function("asin", Asin, "Inverse sine.")
acos = _unary_function("acos", Acos, "Inverse cosine.")
atan = _unary_function("atan", Atan, "Inverse tangent.")
sinh = _unary_function("sinh", Sinh, "Hyperbolic sine.")
cosh = _unary_function("cosh", Cosh, "Hyperbolic cosine.")
tanh = _unary_function("tanh", Tanh, "Hyperbolic tangent.")
asinh = _unary_function("asinh", Asinh, "Inverse hyperbolic sine.")
acosh = _unary_function("acosh", Acosh, "Inverse hyperbolic cosine.")
atanh = _unary_function("atanh", Atanh, "Inverse hyperbolic tangent.")
sigmoid = _unary_function("sigmoid", Sigmoid, "``1 / (1 + exp(-input))``, without overflow.")
erf = _unary_function("erf", Erf, "The error function.")
floor = _unary_function("floor", Floor, "Round down (integers unchanged).", "exact")
ceil = _unary_function("ceil", Ceil, "Round up (integers unchanged).", "exact")
trunc = _unary_function("trunc", Trunc, "Round toward zero (integers unchanged).", "exact")
frac = _unary_function("frac", Frac, "``input - trunc(input)``.", "exact")

negative, absolute, sgn, fix = neg, abs, sign, trunc
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def positive(input):
    """``input`` itself (``+input``); an error for bool tensors."""
    if _tensor("positive", input)._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@out_variant(dtype="exact")
def round(input, *, decimals=0):
    """Round half to even, at ``decimals`` decimal digits (negative: tens, hundreds...)."""
    return Round.apply(_tensor("round", input), decimals)


@out_variant(dtype="exact")
def nan_to_num(input, nan=None, posinf=None, neginf=None):
    """Replace NaN by ``nan`` (default 0) and infinities by ``posinf``/``neginf`` (default: the
    dtype's largest/lowest finite value)."""
    return NanToNum.apply(_tensor("nan_to_num", input), 0.0 if nan is None else nan, posinf,
                          neginf)


# ---------------------------------------------------------------------------- binary math
class Atan2(Function):
    @staticmethod
    def forward(ctx, y, x):
        dev, a, b, dt = _arrays("atan2", y, x)
        if dt.kind not in "fV":
            f = get_default_dtype().np
            a, b = a.astype(f), b.astype(f)
        ctx.save_for_backward(y, x)
        return make(dev.xp.arctan2(a, b), dev)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved_tensors
        r = (y * y + x * x).reciprocal()
        need = ctx.needs_input_grad
        return g * x * r if need[0] else None, g * -y * r if need[1] else None


class Hypot(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, dt = _arrays("hypot", x, y)
        if dt.kind not in "fV":
            raise _not_implemented("hypot", dev, dt)
        out = make(dev.xp.hypot(a, b), dev)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        need = ctx.needs_input_grad
        return g * x / out if need[0] else None, g * y / out if need[1] else None


class Maximum(Function):
    """Elementwise max, NaN-propagating; ties send half the gradient to each side."""

    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, _ = _arrays("maximum", x, y)
        ctx.save_for_backward(x, y)
        return make(type(ctx).f(dev.xp, a, b), dev)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shared = where(x == y, g / 2, g)
        lose_x, lose_y = type(ctx).losers(x, y)
        need = ctx.needs_input_grad
        return (where(lose_x, 0.0, shared) if need[0] else None,
                where(lose_y, 0.0, shared) if need[1] else None)

    f = staticmethod(lambda xp, a, b: xp.maximum(a, b))
    losers = staticmethod(lambda x, y: (x < y, x > y))


class Minimum(Maximum):
    f = staticmethod(lambda xp, a, b: xp.minimum(a, b))
    losers = staticmethod(lambda x, y: (x > y, x < y))


class Fmax(Function):
    """Elementwise max ignoring NaN (NaN only where both are NaN)."""

    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, _ = _arrays("fmax", x, y)
        ctx.save_for_backward(x, y)
        return make(type(ctx).f(dev.xp, a, b), dev)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        x_wins = type(ctx).wins(x, y) | y.isnan()
        need = ctx.needs_input_grad
        return (where(x_wins, g, 0.0) if need[0] else None,
                where(x_wins, 0.0, g) if need[1] else None)

    f = staticmethod(lambda xp, a, b: xp.fmax(a, b))
    wins = staticmethod(lambda x, y: x >= y)


class Fmin(Fmax):
    f = staticmethod(lambda xp, a, b: xp.fmin(a, b))
    wins = staticmethod(lambda x, y: x <= y)


def _binary_tensors(name, fn_class, doc):
    """The public ``name(input, other, *, out=None)`` for a Function of two tensors."""

    def fn(input, other):
        return fn_class.apply(_tensor(name, input), _tensor(name, other, "other", 2))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return out_variant(fn)


atan2 = _binary_tensors("atan2", Atan2, "The angle of the point ``(other, input)``, in radians.")
hypot = _binary_tensors("hypot", Hypot, "``sqrt(input**2 + other**2)`` without overflow.")
maximum = _binary_tensors("maximum", Maximum, "Elementwise maximum (NaN if either is NaN).")
minimum = _binary_tensors("minimum", Minimum, "Elementwise minimum (NaN if either is NaN).")
fmax = _binary_tensors("fmax", Fmax, "Elementwise maximum, ignoring NaN.")
fmin = _binary_tensors("fmin", Fmin, "Elementwise minimum, ignoring NaN.")
arctan2 = atan2


# ---------------------------------------------------------------------------- clamp, where
class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        if lo is None or hi is None:  # one bound, the common case (``clamp(min=0)``)
            bound = hi if lo is None else lo
            dev, a, b, dt = _arrays("clamp", x, bound)
            if dt.kind == "b" and not isinstance(bound, TensorBase):
                # PyTorch's bool kernels cover only one tensor bound (clamp_min/clamp_max)
                raise _not_implemented("clamp_scalar", dev, dt)
            out = (dev.xp.maximum if hi is None else dev.xp.minimum)(a, b)
        else:
            dev, (a, b_lo, b_hi), dt = _arrays_n("clamp", x, lo, hi)
            if dt.kind == "b":
                tensors = isinstance(lo, TensorBase) and isinstance(hi, TensorBase)
                raise _not_implemented("clamp" if tensors else "clamp_scalar", dev, dt)
            out = dev.xp.minimum(dev.xp.maximum(a, b_lo), b_hi)
        need = ctx.needs_input_grad
        if need[0] or need[1] or need[2]:
            _save(ctx, x, lo, hi)
        return make(out, dev)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = _saved(ctx)
        need = ctx.needs_input_grad
        gx = glo = ghi = None
        if need[0]:  # inside [lo, hi], bounds included (NaN inputs get none)
            keep = x >= lo if lo is not None else None
            if hi is not None:
                keep = x <= hi if keep is None else keep & (x <= hi)
            gx = where(keep, g, 0.0)
        if need[1]:
            took = x < lo if hi is None else (x < lo) & (lo < hi)
            glo = where(took, g, 0.0)
        if need[2]:  # an upper bound below the lower one wins everywhere
            took = x > hi if lo is None else (x > hi) | (hi < lo)
            ghi = where(took, g, 0.0)
        return gx, glo, ghi


def _bound(b):
    return None if b is None else _number(b)


@out_variant(dtype="exact")
def clamp(input, min=None, max=None):
    """Limit ``input`` to ``[min, max]`` (numbers or tensors; either may be None, not both)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if not isinstance(input, TensorBase):
        _tensor("clamp", input)  # raises PyTorch's TypeError
    if not (min is None or type(min) is float or type(min) is int):
        min = _number(min)  # (tensors pass unchanged)
    if not (max is None or type(max) is float or type(max) is int):
        max = _number(max)
    result = Clamp.apply(input, min, max)
    return result


@out_variant(dtype="exact")
def clamp_min(input, min):
    """``clamp(input, min=min)``."""
    return clamp(input, min, None)


@out_variant(dtype="exact")
def clamp_max(input, max):
    """``clamp(input, max=max)``."""
    return clamp(input, None, max)


clip = clamp


_SAME_WIDTH_INT = {2: "int16", 4: "int32", 8: "int64"}


def _keep_or_zero(a, mask):
    """``where(mask, a, 0.0)`` for a float array: AND its bits with 0 or all-ones. Exact (+0.0
    where ``mask`` is false, even for inf/nan in ``a``) and ~10x faster than NumPy's ``where``,
    whose branches mispredict on random masks."""
    # NOTE: a primitive because np.where costs ~250 us on a (128, 512) ReLU gradient.
    itype = _SAME_WIDTH_INT[a.dtype.itemsize]
    bits = -mask.astype(itype)  # 0 or -1 (all bits set)
    return (a.view(itype) & bits).view(a.dtype)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, x, y):
        c = condition._data
        if c.dtype.kind != "b":
            raise RuntimeError("where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {legacy_name(c.dtype)}")
        dev = condition._device
        x_tensor, y_tensor = isinstance(x, TensorBase), isinstance(y, TensorBase)
        if not ((not x_tensor or (x._device is dev and x._data.shape == c.shape)) and
                (not y_tensor or (y._device is dev and y._data.shape == c.shape))):
            check_same_device("where", condition, x, y)
            _check_broadcast([c.shape] + [v._data.shape for v in (x, y)
                                          if isinstance(v, TensorBase)])
        if x_tensor or y_tensor:
            dev, a, b, dt = _arrays("where", x, y)
            xp = dev.xp
        else:  # two numbers: their own promotion, on the condition's device
            xp = dev.xp
            dt = result_type(x, y).np
            a, b = xp.asarray(x, dtype=dt), xp.asarray(y, dtype=dt)
        need = ctx.needs_input_grad
        if need[1] or need[2]:
            ctx.save_for_backward(condition)
        if b.__class__ is float and b == 0.0 and a.__class__ is not float and \
                a.dtype.kind in "fV" and a.shape == c.shape:
            return make(_keep_or_zero(a, c), dev)  # relu/clamp/max backward: the hot case
        out = xp.where(c, a, b)
        return make(out if out.dtype == dt else out.astype(dt), dev)

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (None, where(c, g, 0.0) if need[1] else None,
                where(c, 0.0, g) if need[2] else None)


@out_variant(dtype="exact")
def where(condition, input=None, other=None):
    """``input`` where ``condition`` is True, else ``other`` (tensors or numbers, broadcast).

    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``.
    """
    if input is None and other is None:
        return _tensor("where", condition, "condition").nonzero(as_tuple=True)
    if not isinstance(condition, TensorBase):
        _tensor("where", condition, "condition")  # raises PyTorch's TypeError
    if not (type(input) is float or isinstance(input, TensorBase)):
        input = _number(input)
    if not (type(other) is float or isinstance(other, TensorBase)):
        other = _number(other)
    result = Where.apply(condition, input, other)
    return result


# ---------------------------------------------------------------------------- comparisons
def _compared(x, y, op, ufunc):
    """``x <op> y`` (a bool tensor) for a tensor ``x`` and a tensor or Python number ``y``."""
    dev, a, b, _ = _arrays(op, x, y)
    return make(getattr(dev.xp, ufunc)(a, b), dev)


def _compare(op, ufunc, input, other):
    return _compared(_tensor(op, input), _number(other), op, ufunc)


@out_variant
def eq(input, other):
    """``input == other`` elementwise (bool tensor), compared in the promoted dtype."""
    return _compare("eq", "equal", input, other)


@out_variant
def ne(input, other):
    """``input != other`` elementwise."""
    return _compare("ne", "not_equal", input, other)


@out_variant
def lt(input, other):
    """``input < other`` elementwise."""
    return _compare("lt", "less", input, other)


@out_variant
def le(input, other):
    """``input <= other`` elementwise."""
    return _compare("le", "less_equal", input, other)


@out_variant
def gt(input, other):
    """``input > other`` elementwise."""
    return _compare("gt", "greater", input, other)


@out_variant
def ge(input, other):
    """``input >= other`` elementwise."""
    return _compare("ge", "greater_equal", input, other)


not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(input, other) -> bool:
    """True when both have the same shape and equal elements."""
    if _tensor("equal", input)._data.shape != _tensor("equal", other, "other", 2)._data.shape:
        check_same_device("equal", input, other)
        return False
    _, (a, b) = prepare("equal", input, other)
    return builtins.bool((a == b).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` elementwise (equal infinities are close)."""
    a, b = input._data, _tensor("isclose", other, "other", 2)._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"{legacy_name(a.dtype)} did not match {legacy_name(b.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    check_same_device("isclose", input, other)
    _check_broadcast([a.shape, b.shape])
    xp = input.xp
    close = a == b
    if equal_nan and a.dtype.kind in "fV":
        close |= xp.isnan(a) & xp.isnan(b)
    if rtol or atol:
        if a.dtype.kind == "b":
            f = get_default_dtype().np
            a, b = a.astype(f), b.astype(f)
        diff = xp.abs(a - b)
        allowed = atol + xp.abs(rtol * (b if b.dtype.kind in "fV" else
                                        b.astype(get_default_dtype().np)))
        close |= xp.isfinite(diff) & (diff <= allowed)
    return make(close, input._device)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element pair is ``isclose``."""
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _float_test(name, ufunc, non_float):
    """``isnan``-style tests: integers and bools are never NaN/inf, always finite."""

    def fn(input):
        a = _tensor(name, input)._data
        xp = input.xp
        if a.dtype.kind in "fV":
            return make(getattr(xp, ufunc)(a), input._device)
        return make(xp.full(a.shape, non_float, dtype=bool), input._device)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Bool tensor: whether each element {name[2:]} (``{ufunc}``)."
    return fn


isnan = _float_test("isnan", "isnan", False)
isinf = _float_test("isinf", "isinf", False)
isfinite = _float_test("isfinite", "isfinite", True)


# ---------------------------------------------------------------------------- logical, bitwise
def _logical(op, ufunc, input, other):
    _tensor(op, input)
    _tensor(op, other, "other", 2)
    check_same_device(op, input, other)
    _check_broadcast([input._data.shape, other._data.shape])
    return make(getattr(input.xp, ufunc)(input._data, other._data), input._device)


@out_variant
def logical_and(input, other):
    """Elementwise ``input and other`` (nonzero is True); bool result."""
    return _logical("logical_and", "logical_and", input, other)


@out_variant
def logical_or(input, other):
    """Elementwise ``input or other``; bool result."""
    return _logical("logical_or", "logical_or", input, other)


@out_variant
def logical_xor(input, other):
    """Elementwise exclusive or of truth values; bool result."""
    return _logical("logical_xor", "logical_xor", input, other)


@out_variant
def logical_not(input):
    """Elementwise ``not input``; bool result."""
    a = _tensor("logical_not", input)._data
    return make(input.xp.logical_not(a), input._device)


def _bitwise(op, ufunc, input, other, allow_bool=True):
    dev, a, b, dt = _arrays(op, _number(input), _number(other))
    if dt.kind in "fV" or (dt.kind == "b" and not allow_bool):
        raise _not_implemented(op, dev, dt)
    return make(getattr(dev.xp, ufunc)(a, b), dev)


@out_variant
def bitwise_and(input, other):
    """``input & other`` for integer and bool tensors."""
    return _bitwise("bitwise_and", "bitwise_and", input, other)


@out_variant
def bitwise_or(input, other):
    """``input | other`` for integer and bool tensors."""
    return _bitwise("bitwise_or", "bitwise_or", input, other)


@out_variant
def bitwise_xor(input, other):
    """``input ^ other`` for integer and bool tensors."""
    return _bitwise("bitwise_xor", "bitwise_xor", input, other)


@out_variant
def bitwise_left_shift(input, other):
    """``input << other`` for integer tensors."""
    return _bitwise("lshift", "left_shift", input, other, allow_bool=False)


@out_variant
def bitwise_right_shift(input, other):
    """``input >> other`` (arithmetic shift) for integer tensors."""
    return _bitwise("rshift", "right_shift", input, other, allow_bool=False)


@out_variant(dtype="exact")
def bitwise_not(input):
    """``~input``: bitwise not of integers, logical not of bools."""
    a = _tensor("bitwise_not", input)._data
    if a.dtype.kind in "fV":
        raise _not_implemented("bitwise_not", input._device, a.dtype)
    return make(input.xp.invert(a), input._device)


# ---------------------------------------------------------------------------- in-place
class CompareInto(Function):
    """A comparison written into a tensor in place (``x.gt_(y)``): 0/1 in ``x``'s dtype and, as
    in PyTorch, differentiable with a zero gradient (``x``'s old history no longer applies)."""

    @staticmethod
    def forward(ctx, x, other, compare):
        return make(compare(x, other)._data.astype(x._data.dtype), x._device)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return _zeros(g) if need[0] else None, _zeros(g) if need[1] else None, None


def _compare_inplace(compare):
    """The method ``Tensor.<compare>_``."""

    def method(self, other):
        return apply_inplace(self, lambda t, o: CompareInto.apply(t, o, compare), _number(other))

    method.__name__ = method.__qualname__ = compare.__name__ + "_"
    return method


def _fits(shape, target) -> bool:
    """True when ``shape`` broadcasts to ``target`` without growing it."""
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


def _inplace(target, fn, args, kwargs, fast=None):
    """``target.<fn>_(*args, **kwargs)``: ``fn``'s result written into ``target``.

    When nothing is recorded, ``target`` is floating point, and the operands already have its
    dtype and broadcast to its shape, ``fast(xp, out, *operand_arrays, **kwargs)`` computes
    straight into the storage (no temporary result, no copy); otherwise ``apply_inplace`` writes
    ``fn``'s result, raising PyTorch's errors for a dtype or shape that does not fit.
    """
    fast_path = None
    dst = target._data
    # (Expanded views are read-only: apply_inplace raises PyTorch's error for them.)
    if fast is not None and dst.dtype.kind in "fV" and not refuses_writes(dst):
        dev = target._device
        operands = ()  # (tuple concatenation: no per-operand calls on this per-step path)
        for a in args:  # each operand: a same-dtype tensor that fits, a Python number, or None
            if isinstance(a, TensorBase):
                b = a._data
                if a._device is not dev or b.dtype != dst.dtype or (
                        b.shape != dst.shape and not _fits(b.shape, dst.shape)):
                    break
                operands += (b,)
            elif a is None or type(a) is float or type(a) is int or type(a) is bool:
                operands += (a,)
            else:
                break
        else:
            if not grad_mode.state.enabled:  # nothing can be recorded (optimizer updates):
                fast(dev.xp, dst, *operands, **kwargs)  # what apply_inplace would do, inline
                target._version[0] += 1
                return target

            def fast_path(t, *_, operands=operands):
                fast(t._device.xp, t._data, *operands, **kwargs)

    return apply_inplace(target, lambda t, *a: fn(t, *a, **kwargs), *args, fast=fast_path)


def _inplace_method(fn, fast=None, nargs=1):
    """The method ``Tensor.<fn>_``, taking ``fn``'s parameters after ``input`` (as PyTorch's
    in-place variants do, less ``out``); ``nargs`` (0 or 1) says whether the first of them is
    a tensor operand, which ``fast`` receives positionally."""
    params = [p for p in list(inspect.signature(fn).parameters.values())[1:] if p.name != "out"]
    operand = params[0].name if nargs else None

    def method(self, *args, **kwargs):
        if operand is not None:
            if not args and operand in kwargs:
                args = (kwargs.pop(operand),)
            if args and not (type(args[0]) is float or isinstance(args[0], TensorBase)):
                args = (_number(args[0]), *args[1:])
        return _inplace(self, fn, args, kwargs, fast)

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *params])
    return method


def _is_operand(x) -> bool:
    return isinstance(x, TensorBase) or type(x) in (float, int, bool) or isinstance(
        x, numbers.Number)


def _operator(fn, reflected=False, direct=None, *extra):
    """A Python operator method: ``fn(self, other)``, or ``fn(other, self)`` when reflected.

    With ``direct``, a tensor or Python float/int operand (nearly every call) skips ``fn``'s
    argument conversion: ``direct(self, other, *extra)`` (``direct(other, self, *extra)``
    reflected) is what ``fn`` computes for such operands."""
    if direct is None:
        direct = fn
    if reflected:
        def op(self, other):
            t = type(other)
            if t is float or t is int or isinstance(other, TensorBase):
                return direct(other, self, *extra)
            return fn(other, self) if _is_operand(other) else NotImplemented
    else:
        def op(self, other):
            t = type(other)
            if t is float or t is int or isinstance(other, TensorBase):
                return direct(self, other, *extra)
            return fn(self, other) if _is_operand(other) else NotImplemented

    op.__name__ = op.__qualname__ = fn.__name__
    return op


def _fast_add(xp, out, b, alpha=1):
    if alpha != 1 or alpha is True:  # (True == 1, but a bool alpha has its rules)
        _check_alpha(out.dtype, alpha)
        b = b * alpha
    xp.add(out, b, out=out)


def _fast_sub(xp, out, b, alpha=1):
    if alpha != 1 or alpha is True:  # (True == 1, but a bool alpha has its rules)
        _check_alpha(out.dtype, alpha)
        b = b * alpha
    xp.subtract(out, b, out=out)


def _fast_div(xp, out, b, rounding_mode=None):
    xp.true_divide(out, b, out=out)


def _fast_addcmul(xp, out, t1, t2, value=1):
    p = xp.multiply(t1, t2)
    if value != 1:
        p *= value  # in the temporary: one allocation per call, as hand-written NumPy
    xp.add(out, p, out=out)


def _fast_addcdiv(xp, out, t1, t2, value=1):
    q = xp.true_divide(t1, t2)
    if value != 1:
        q *= value
    xp.add(out, q, out=out)


def _fast_lerp(xp, out, end, weight):
    diff = end - out  # the same two-sided formula as Lerp, computed into ``out``
    if builtins.abs(weight) < 0.5:
        diff *= weight
        xp.add(out, diff, out=out)
    else:
        diff *= 1 - weight
        xp.subtract(end, diff, out=out)


def _fast_clamp(xp, out, lo, hi):
    if lo is not None:
        xp.maximum(out, lo, out=out)
    if hi is not None:
        xp.minimum(out, hi, out=out)


class ElementwiseMethods:
    """The elementwise ``Tensor`` methods and operators."""

    __slots__ = ()

    add, sub, subtract, mul, multiply = add, sub, sub, mul, mul
    div = divide = div
    true_divide = true_divide
    floor_divide, remainder, fmod, pow, square = floor_divide, remainder, fmod, pow, square
    neg = negative = neg
    positive, abs, absolute, sign, sgn, reciprocal = positive, abs, abs, sign, sign, reciprocal
    sqrt, rsqrt, exp, exp2, expm1 = sqrt, rsqrt, exp, exp2, expm1
    log, log1p, log2, log10 = log, log1p, log2, log10
    sin, cos, tan, sinh, cosh, tanh = sin, cos, tan, sinh, cosh, tanh
    asin = arcsin = asin
    acos = arccos = acos
    atan = arctan = atan
    asinh = arcsinh = asinh
    acosh = arccosh = acosh
    atanh = arctanh = atanh
    sigmoid, erf, relu = sigmoid, erf, relu
    floor, ceil, round, trunc, fix, frac = floor, ceil, round, trunc, trunc, frac
    nan_to_num = nan_to_num
    atan2 = arctan2 = atan2
    hypot, maximum, minimum, fmax, fmin = hypot, maximum, minimum, fmax, fmin
    clamp = clip = clamp
    clamp_min, clamp_max = clamp_min, clamp_max
    lerp, addcmul, addcdiv = lerp, addcmul, addcdiv
    eq, ne, lt, le, gt, ge = eq, ne, lt, le, gt, ge
    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge
    equal, isclose, allclose = equal, isclose, allclose
    isnan, isinf, isfinite = isnan, isinf, isfinite
    logical_and, logical_or, logical_xor, logical_not = (
        logical_and, logical_or, logical_xor, logical_not)
    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = (
        bitwise_and, bitwise_or, bitwise_xor, bitwise_not)
    bitwise_left_shift, bitwise_right_shift = bitwise_left_shift, bitwise_right_shift

    def rsub(self, other, *, alpha=1):
        return rsub(self, other, alpha=alpha)

    def where(self, condition, other):
        """``where(condition, self, other)``."""
        return where(condition, self, other)

    # -- in place (x.op_(...)); the hot ones used by optimizers write straight into storage
    def add_(self, other, *, alpha=1):
        if not (type(other) is float or isinstance(other, TensorBase)):
            other = _number(other)
        return _inplace(self, add, (other,), {"alpha": alpha}, _fast_add)

    def sub_(self, other, *, alpha=1):
        if not (type(other) is float or isinstance(other, TensorBase)):
            other = _number(other)
        return _inplace(self, sub, (other,), {"alpha": alpha}, _fast_sub)

    subtract_ = sub_
    mul_ = multiply_ = _inplace_method(mul, lambda xp, out, b: xp.multiply(out, b, out=out))

    def div_(self, other, *, rounding_mode=None):
        return _inplace(self, div, (_number(other),), {"rounding_mode": rounding_mode},
                        _fast_div if rounding_mode is None else None)

    divide_ = div_

    def true_divide_(self, other):
        return self.div_(other)
    floor_divide_ = _inplace_method(floor_divide)
    remainder_ = _inplace_method(remainder)
    fmod_ = _inplace_method(fmod)
    pow_ = _inplace_method(pow)
    atan2_ = arctan2_ = _inplace_method(atan2)
    hypot_ = _inplace_method(hypot)
    neg_ = negative_ = _inplace_method(neg, lambda xp, out: xp.negative(out, out=out), 0)
    abs_ = absolute_ = _inplace_method(abs, lambda xp, out: xp.abs(out, out=out), 0)
    sign_ = sgn_ = _inplace_method(sign, nargs=0)
    reciprocal_ = _inplace_method(reciprocal, nargs=0)
    square_ = _inplace_method(square, nargs=0)
    sqrt_ = _inplace_method(sqrt, lambda xp, out: xp.sqrt(out, out=out), 0)
    rsqrt_ = _inplace_method(rsqrt, nargs=0)
    exp_ = _inplace_method(exp, lambda xp, out: xp.exp(out, out=out), 0)
    exp2_ = _inplace_method(exp2, nargs=0)
    expm1_ = _inplace_method(expm1, nargs=0)
    log_ = _inplace_method(log, lambda xp, out: xp.log(out, out=out), 0)
    log1p_ = _inplace_method(log1p, nargs=0)
    log2_ = _inplace_method(log2, nargs=0)
    log10_ = _inplace_method(log10, nargs=0)
    sin_ = _inplace_method(sin, nargs=0)
    cos_ = _inplace_method(cos, nargs=0)
    tan_ = _inplace_method(tan, nargs=0)
    asin_ = arcsin_ = _inplace_method(asin, nargs=0)
    acos_ = arccos_ = _inplace_method(acos, nargs=0)
    atan_ = arctan_ = _inplace_method(atan, nargs=0)
    sinh_ = _inplace_method(sinh, nargs=0)
    cosh_ = _inplace_method(cosh, nargs=0)
    tanh_ = _inplace_method(tanh, lambda xp, out: xp.tanh(out, out=out), 0)
    asinh_ = arcsinh_ = _inplace_method(asinh, nargs=0)
    acosh_ = arccosh_ = _inplace_method(acosh, nargs=0)
    atanh_ = arctanh_ = _inplace_method(atanh, nargs=0)
    sigmoid_ = _inplace_method(sigmoid, nargs=0)
    erf_ = _inplace_method(erf, nargs=0)
    relu_ = _inplace_method(relu, lambda xp, out: xp.maximum(out, 0, out=out), 0)
    floor_ = _inplace_method(floor, lambda xp, out: xp.floor(out, out=out), 0)
    ceil_ = _inplace_method(ceil, lambda xp, out: xp.ceil(out, out=out), 0)
    trunc_ = fix_ = _inplace_method(trunc, lambda xp, out: xp.trunc(out, out=out), 0)
    frac_ = _inplace_method(frac, nargs=0)
    round_ = _inplace_method(round, nargs=0)
    nan_to_num_ = _inplace_method(nan_to_num, nargs=0)

    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        return _inplace(self, clamp, (_bound(min), _bound(max)), {}, _fast_clamp)

    clip_ = clamp_

    def clamp_min_(self, min):
        return self.clamp_(min, None)

    def clamp_max_(self, max):
        return self.clamp_(None, max)

    def lerp_(self, end, weight):
        weight = _number(weight)
        fast = None  # lerp itself raises for a tensor weight or an ``end`` of another dtype
        if not isinstance(weight, TensorBase) and _tensor("lerp_", end, "end")._data.dtype == \
                self._data.dtype:
            fast = _fast_lerp
        return _inplace(self, lerp, (end, weight), {}, fast)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return _inplace(self, addcmul, (tensor1, tensor2), {"value": value}, _fast_addcmul)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        _check_addcdiv(tensor1, tensor2)
        return _inplace(self, addcdiv, (tensor1, tensor2), {"value": value}, _fast_addcdiv)

    eq_ = _compare_inplace(eq)
    ne_ = _compare_inplace(ne)
    lt_ = _compare_inplace(lt)
    le_ = _compare_inplace(le)
    gt_ = _compare_inplace(gt)
    ge_ = _compare_inplace(ge)
    not_equal_, less_, less_equal_, greater_, greater_equal_ = ne_, lt_, le_, gt_, ge_
    logical_and_ = _inplace_method(logical_and)
    logical_or_ = _inplace_method(logical_or)
    logical_xor_ = _inplace_method(logical_xor)
    logical_not_ = _inplace_method(logical_not, nargs=0)
    bitwise_and_ = _inplace_method(bitwise_and)
    bitwise_or_ = _inplace_method(bitwise_or)
    bitwise_xor_ = _inplace_method(bitwise_xor)
    bitwise_not_ = _inplace_method(bitwise_not, nargs=0)
    bitwise_left_shift_ = _inplace_method(bitwise_left_shift)
    bitwise_right_shift_ = _inplace_method(bitwise_right_shift)

    # -- Python operators: NotImplemented for operands that are neither tensors nor numbers, so
    # Python tries the other side (and ``t == None`` is False), as in PyTorch.
    __add__ = __radd__ = _operator(add, False, Add.apply, 1)
    __sub__ = _operator(sub, False, Sub.apply, 1)
    __rsub__ = _operator(sub, True, Sub.apply, 1)
    __mul__ = __rmul__ = _operator(mul, False, Mul.apply)
    __truediv__ = _operator(div, False, Div.apply)
    __rtruediv__ = _operator(div, True, Div.apply)
    __floordiv__ = _operator(floor_divide)
    __rfloordiv__ = _operator(floor_divide, reflected=True)
    __mod__ = _operator(remainder)
    __rmod__ = _operator(remainder, reflected=True)
    __pow__ = _operator(pow, False, Pow.apply)
    __rpow__ = _operator(pow, True, Pow.apply)
    __and__ = __rand__ = _operator(bitwise_and)
    __or__ = __ror__ = _operator(bitwise_or)
    __xor__ = __rxor__ = _operator(bitwise_xor)
    __lshift__ = _operator(bitwise_left_shift)
    __rlshift__ = _operator(bitwise_left_shift, reflected=True)
    __rshift__ = _operator(bitwise_right_shift)
    __rrshift__ = _operator(bitwise_right_shift, reflected=True)
    __eq__ = _operator(eq, False, _compared, "eq", "equal")
    __ne__ = _operator(ne, False, _compared, "ne", "not_equal")
    __lt__ = _operator(lt, False, _compared, "lt", "less")
    __le__ = _operator(le, False, _compared, "le", "less_equal")
    __gt__ = _operator(gt, False, _compared, "gt", "greater")
    __ge__ = _operator(ge, False, _compared, "ge", "greater_equal")
    __iadd__ = _operator(add_)
    __isub__ = _operator(sub_)
    __imul__ = _operator(mul_)
    __itruediv__ = _operator(div_)
    __ifloordiv__ = _operator(floor_divide_)
    __imod__ = _operator(remainder_)
    __ipow__ = _operator(pow_)
    __iand__ = _operator(bitwise_and_)
    __ior__ = _operator(bitwise_or_)
    __ixor__ = _operator(bitwise_xor_)
    __ilshift__ = _operator(bitwise_left_shift_)
    __irshift__ = _operator(bitwise_right_shift_)
    __neg__ = neg
    __pos__ = positive
    __abs__ = abs

    def __invert__(self):
        if self._data.dtype.kind in "fV":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                            "tensors")
        return bitwise_not(self)
