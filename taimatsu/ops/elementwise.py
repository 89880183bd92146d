"""Elementwise ops: arithmetic, unary math, comparisons, logical ops, clamp, where.

Binary ops take tensors or Python scalars; ``prepare`` casts to PyTorch's result dtype, and the
engine sums broadcast gradients back to each input's shape, so backward ignores broadcasting.
"""
from __future__ import annotations

from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace, check_inplace_result
from ..dtypes import get_default_dtype, result_type
from ._util import as_tensor_like, prepare

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg",
           "negative", "exp", "log", "relu", "rsub"]


# ---------------------------------------------------------------------------- arithmetic
class Add(Function):
    @staticmethod
    def forward(ctx, x, y, alpha):
        dev, (a, b) = prepare("add", x, y)
        ctx.alpha = alpha
        return make(a + b if alpha == 1 else a + alpha * b, dev)

    @staticmethod
    def backward(ctx, g):
        gy = None
        if ctx.needs_input_grad[1]:
            gy = g if ctx.alpha == 1 else g * ctx.alpha
        return g if ctx.needs_input_grad[0] else None, gy, None


class Sub(Function):
    @staticmethod
    def forward(ctx, x, y, alpha):
        dev, (a, b) = prepare("sub", x, y)
        _check_not_bool("sub", a, b)
        ctx.alpha = alpha
        return make(a - b if alpha == 1 else a - alpha * b, dev)

    @staticmethod
    def backward(ctx, g):
        gy = None
        if ctx.needs_input_grad[1]:
            gy = -g if ctx.alpha == 1 else g * -ctx.alpha
        return g if ctx.needs_input_grad[0] else None, gy, None


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, (a, b) = prepare("mul", x, y)
        ctx.save_for_backward(x if isinstance(y, TensorBase) else None,
                              y if isinstance(y, TensorBase) else None)
        ctx.scalar = None if isinstance(y, TensorBase) else y
        return make(a * b, dev)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = g * (ctx.scalar if y is None else y)
        if ctx.needs_input_grad[1]:
            gy = g * x
        return gx, gy


class Div(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, (a, b) = prepare("div", x, y)
        ctx.save_for_backward(x if isinstance(y, TensorBase) else None,
                              y if isinstance(y, TensorBase) else None)
        ctx.scalar = None if isinstance(y, TensorBase) else y
        out = dev.xp.true_divide(a, b)
        if _int_like(a) and _int_like(b):  # int / int: PyTorch gives the default float
            out = out.astype(get_default_dtype().np)
        return make(out, dev)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = g / (ctx.scalar if y is None else y)
        if ctx.needs_input_grad[1]:
            gy = -g * x / (y * y)
        return gx, gy


class RoundingDiv(Function):
    """Division rounded toward zero or down; its gradient is zero almost everywhere."""

    @staticmethod
    def forward(ctx, x, y, mode):
        dev, (a, b) = prepare("div", x, y)
        xp = dev.xp
        if _int_like(a) and _int_like(b):
            out = xp.floor_divide(a, b)
            if mode == "trunc":  # floor and trunc differ when the signs differ and it is inexact
                out = out + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
        else:
            q = xp.true_divide(a, b)
            out = xp.floor(q) if mode == "floor" else xp.trunc(q)
        return make(out, dev)

    @staticmethod
    def backward(ctx, g):
        return g * 0, g * 0, None


def _int_like(a) -> bool:
    """True for integer/bool arrays and Python ints (whose true division is float)."""
    kind = a.dtype.kind if hasattr(a, "dtype") else ("f" if isinstance(a, float) else "i")
    return kind in "biu"


def _check_not_bool(op, a, b):
    if getattr(a, "dtype", None) == bool and getattr(b, "dtype", None) == bool:
        raise RuntimeError(
            f"Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with broadcasting."""
    return _out(Add.apply(input, other, alpha), out)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other`` with broadcasting."""
    return _out(Sub.apply(input, other, alpha), out)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    return Sub.apply(_lift(other, input), input, alpha)


def mul(input, other, *, out=None):
    """``input * other`` with broadcasting."""
    if not isinstance(input, TensorBase):  # 2 * x
        input, other = other, input
    return _out(Mul.apply(input, other), out)


def div(input, other, *, rounding_mode=None, out=None):
    """``input / other``; ``rounding_mode`` ``"trunc"`` or ``"floor"`` rounds the quotient."""
    if rounding_mode is None:
        return _out(Div.apply(_lift(input, other), other), out)
    if rounding_mode in ("floor", "trunc"):
        return _out(RoundingDiv.apply(_lift(input, other), other, rounding_mode), out)
    raise RuntimeError(
        "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


subtract, multiply, divide, true_divide = sub, mul, div, div


def _lift(x, like):
    """A Python scalar on the left of an op becomes a 0-d tensor beside ``like``."""
    return x if isinstance(x, TensorBase) else as_tensor_like(x, like)


def _out(result, out):
    """Support PyTorch's ``out=`` argument: copy the result into ``out`` and return it."""
    if out is None:
        return result
    out.copy_(result)
    return out


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        if x._data.dtype.kind == "b":
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                "to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return make(-x._data, x.device)

    @staticmethod
    def backward(ctx, g):
        return -g


def neg(input):
    return Neg.apply(input)


negative = neg


# ---------------------------------------------------------------------------- unary math
class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = make(x.xp.exp(_float(x)), x.device)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return make(x.xp.log(_float(x)), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        out = make(x.xp.maximum(x._data, 0), x.device)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out > 0)


def _float(x):
    """The array of ``x``, as the default float when it is an integer or bool tensor."""
    a = x._data
    if a.dtype.kind != "f":
        a = a.astype(get_default_dtype().np)
    return a


def exp(input):
    return Exp.apply(input)


def log(input):
    return Log.apply(input)


def relu(input):
    return Relu.apply(input)


# ---------------------------------------------------------------------------- Tensor methods
def _inplace_binary(ufunc_name, fn):
    """An in-place method ``x.op_(other)``: writes straight into storage when nothing records."""

    def method(self, other, **kwargs):
        def fast(t, o):
            dev, (a, b) = prepare(ufunc_name, t, o)
            alpha = kwargs.get("alpha", 1)
            check_inplace_result(t, result_type(t, o).np, t.xp.broadcast_shapes(
                t._data.shape, getattr(b, "shape", ())))
            if alpha != 1:
                b = b * alpha
            getattr(t.xp, ufunc_name)(t._data, b, out=t._data, casting="unsafe")

        return apply_inplace(self, lambda t, o: fn(t, o, **kwargs), other, fast=fast)

    method.__name__ = fn.__name__ + "_"
    return method


class ElementwiseMethods:
    """The elementwise ``Tensor`` methods and operators."""

    __slots__ = ()
    add = add
    sub = subtract = sub
    mul = multiply = mul
    div = divide = true_divide = div
    neg = negative = neg
    exp = exp
    log = log
    relu = relu
    __add__ = __radd__ = add
    __sub__ = sub
    __mul__ = __rmul__ = mul
    __truediv__ = div
    __neg__ = neg

    def __rsub__(self, other):
        return rsub(self, other)

    def __rtruediv__(self, other):
        return div(_lift(other, self), self)

    add_ = __iadd__ = _inplace_binary("add", add)
    sub_ = __isub__ = _inplace_binary("subtract", sub)
    mul_ = __imul__ = _inplace_binary("multiply", mul)
    div_ = __itruediv__ = _inplace_binary("true_divide", div)
