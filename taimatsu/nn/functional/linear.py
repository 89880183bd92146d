"""Linear maps: ``linear`` (one fused node) and ``bilinear``."""
from __future__ import annotations

import math

from ..._tensor_base import make
from ...autograd.function import Function
from ...dtypes import keep_dtype
from ...ops import linalg as _la
from ...ops._autocast import autocast_op

__all__ = ["bilinear", "linear"]


class Linear(Function):
    """``x @ w.T + b`` for a 2-D ``x`` and already-checked operands (``b`` may be None).

    One BLAS call reads the weight transposed as a view, and the weight's gradient is computed
    as ``g.T @ x``, which comes out in the weight's own ``(out, in)`` layout: a gradient of
    ``w.t()`` would be a transposed view, which the engine must copy before storing in ``.grad``.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        need_x, need_w, _ = ctx.needs_input_grad
        if need_x or need_w:
            ctx.save_for_backward(x if need_w else None, w if need_x else None)
        out = x._data @ w._data.T
        if b is not None:
            out += b._data
        return make(keep_dtype(out, x._data), x.device)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        return (g.mm(w) if need_x else None, g.t().mm(x) if need_w else None,
                g.sum(0) if need_b else None)


class _LinearNoBias(Linear):
    pass


# PyTorch's node names for linear: the addmm or mm that its 2-D case dispatches to.
Linear._node_name = "AddmmBackward0"
_LinearNoBias._node_name = "MmBackward0"


@autocast_op
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, one fused op; N-D inputs are folded into one 2-D product.

    Shape: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)``, output ``(*, out)``.
    """
    x, w = input._data, weight._data
    if x.ndim == 0 or w.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {w.ndim}D")
    if w.ndim != 2:  # a 1-D weight gives a dot product per row
        out = _la.matmul(input, weight.t())
        return out if bias is None else out + bias
    n_in = x.shape[-1]
    n_out, w_in = w.shape
    if x.ndim != 2:
        lead = x.shape[:-1]
        rows = math.prod(lead)
        if n_in != w_in:  # PyTorch reports the folded 2-D product
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{n_in} and "
                               f"{w_in}x{n_out})")
        return linear(input.reshape(rows, n_in), weight, bias).reshape(*lead, n_out)
    dt = x.dtype
    if (n_in == w_in and w.dtype == dt and dt.kind in "fcV" and input.device is weight.device
            and (bias is None or (bias._data.shape == (n_out,) and bias._data.dtype == dt
                                  and bias.device is input.device))):
        return Linear.apply(input, weight, bias) if bias is not None else \
            _LinearNoBias.apply(input, weight, None)
    # Mixed dtypes or devices, integer weights, a broadcast bias: mm / addmm check and report.
    return input.mm(weight.t()) if bias is None else _la.addmm(bias, input, weight.t())


@autocast_op
def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = input1 @ weight[o] @ input2 + bias[o]``.

    Shape: input1 ``(*, in1)``, input2 ``(*, in2)``, weight ``(out, in1, in2)``, output
    ``(*, out)``.
    """
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError("bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    n_out, n1, n2 = weight.shape
    lead = tuple(input1.shape[:-1])
    rows = math.prod(lead)
    # (rows, in1) @ (in1, out*in2), then contract in2 against input2: two BLAS-friendly passes.
    w = weight.permute(1, 0, 2).reshape(n1, n_out * n2)
    t = input1.reshape(rows, n1).mm(w).reshape(rows, n_out, n2)
    out = (t * input2.reshape(rows, 1, n2)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, n_out)
