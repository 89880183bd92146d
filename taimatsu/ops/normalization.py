"""The fused normalization node behind batch, instance, group, layer and RMS norms.

Every one of these norms standardises ``x`` over some ``axes`` with statistics computed from
``x`` itself, then applies an optional per-feature affine map. One Function does that whole
forward and its backward on arrays; when ``create_graph`` is on, its backward is the same
formula written with Tensor ops on a recomputed, differentiable ``xhat``, so every order of
derivative stays exact. The formulas below run on arrays and on Tensors alike (only the
reductions, and in-place reuse of temporaries on arrays, differ), so the two paths cannot
drift apart; the tests hold them against each other and against PyTorch.
"""
from __future__ import annotations

import math

from .._tensor_base import make
from ..autograd import grad_mode
from ..autograd.function import Function

__all__: list[str] = []


def _letters(ndim: int, axes: tuple) -> tuple[str, str]:
    """einsum subscripts of an ``ndim``-d operand and of its reduction over ``axes``
    (``("abcd", "b")`` for batch norm)."""
    idx = "abcdefghijklmnopqrstuvwxyz"[:ndim]
    return idx, "".join(c for i, c in enumerate(idx) if i not in axes)


def _keep(r, shape: tuple, axes: tuple):
    """A reduction result reshaped as ``keepdims=True`` would have left it."""
    return r.reshape(tuple(1 if i in axes else s for i, s in enumerate(shape)))


# NOTE: on arrays, reductions are einsum calls: one pass, no temporary for a product, and
# 2-3x faster than NumPy's ``(a * b).sum(axis)`` over a trailing or strided set of axes.
# The helpers take ``xp`` (numpy or cupy) for arrays, None for Tensors.
def _sum(v, axes, xp):
    if xp is None:
        return v.sum(axes, keepdim=True)
    idx, out = _letters(v.ndim, axes)
    return _keep(xp.einsum(f"{idx}->{out}", v), v.shape, axes)


def _sum_prod(a, b, axes, xp):
    """``sum(a * b)`` over ``axes``, kept as size-1 dims (``a`` and ``b`` of one shape)."""
    if xp is None:
        return (a * b).sum(axes, keepdim=True)
    idx, out = _letters(a.ndim, axes)
    return _keep(xp.einsum(f"{idx},{idx}->{out}", a, b), a.shape, axes)


def _inv_count(v, axes) -> float:
    """``1 / n`` for a mean over ``axes`` of ``v`` (NaN when they are empty, as PyTorch's)."""
    n = math.prod(v.shape[i] for i in axes)
    return 1 / n if n else math.nan


def standardize(x, axes: tuple, eps: float, centered: bool, xp=None):
    """``(xhat, rstd, mean, var)`` of ``x`` (an array with its ``xp``, or a Tensor) over
    ``axes``, with the biased variance.

    ``centered=False`` is RMS normalisation: ``mean`` is None and ``var`` is the mean square.
    """
    inv_n = _inv_count(x, axes)
    mean = _sum(x, axes, xp) * inv_n if centered else None
    xc = x - mean if centered else x
    var = _sum_prod(xc, xc, axes, xp) * inv_n
    rstd = (var + eps) ** -0.5
    if xp is not None and centered:  # ``xc`` is a temporary of our own: scale it in place
        xc *= rstd
        return xc, rstd, mean, var
    return xc * rstd, rstd, mean, var


def affine(xhat, w, b, xp=None):
    """``xhat * w + b`` with either factor absent (None); on arrays (``xp``) in one buffer."""
    if w is None:
        return xhat + b if b is not None else xhat
    out = xhat * w
    if b is None:
        return out
    if xp is None:
        return out + b
    out += b
    return out


def _param_axes(ndim: int, wshape: tuple) -> tuple:
    """The axes of an ``ndim``-d input along which a ``wshape``-shaped parameter broadcasts."""
    lead = ndim - len(wshape)
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(wshape) if s == 1)


def _grads(g, xhat, rstd, w, axes, centered, waxes, need, xp):
    """Gradients of ``affine(standardize(x))`` for x, weight and bias (None where not needed);
    weight and bias come back in their broadcast (``wshape``) layout.

    ``gx = k * (gy - xhat * mean(gy * xhat) - mean(gy))`` (the last term only when centered).
    A weight constant along the normalised axes (batch and instance norms) factors out of both
    means into ``k``, so they reduce ``g`` itself; when the parameters' sums run over those same
    axes (batch norm), the two reductions are the parameter gradients as well.
    """
    need_x, need_w, need_b = need
    gx = gw = gb = sxg = sg = None
    outer = w is None or all(w.shape[i - (g.ndim - w.ndim)] == 1 for i in axes
                             if i >= g.ndim - w.ndim)
    if need_x:
        gy, k = (g, rstd if w is None else w * rstd) if outer else (g * w, rstd)
        inv_n = _inv_count(g, axes)
        sxg = _sum_prod(gy, xhat, axes, xp)
        sg = _sum(gy, axes, xp) if centered else None
        gx = _combine(gy, xhat, sxg * inv_n, None if sg is None else sg * inv_n, k, xp)
    shared = need_x and outer and waxes == axes
    if need_w:
        gw = sxg if shared else _sum_prod(g, xhat, waxes, xp)
    if need_b:
        gb = sg if shared and sg is not None else _sum(g, waxes, xp)
    return gx, gw, gb


def _combine(gy, xhat, proj, mg, k, xp):
    """``k * (gy - xhat * proj - mg)`` (``mg`` may be None); on arrays in one buffer."""
    if xp is None:
        gx = gy - xhat * proj
        if mg is not None:
            gx = gx - mg
        return gx * k
    gx = xhat * proj
    xp.subtract(gy, gx, out=gx)
    if mg is not None:
        gx -= mg
    gx *= k
    return gx


class NativeNorm(Function):
    """``affine(standardize(x, axes))`` with ``weight``/``bias`` (or None) viewed as ``wshape``.

    ``running``, when given, is ``(running_mean, running_var, momentum)``: tensors of
    ``(C,)`` updated in place from this batch's statistics (averaged over any leading
    per-instance axes; the variance unbiased), as PyTorch's kernels do during forward.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, axes, wshape, eps, centered, running):
        xp, a = x.xp, x._data
        acc = _acc_dtype(xp, a.dtype)
        w, b = _param(weight, wshape, acc), _param(bias, wshape, acc)
        xhat, rstd, mean, var = standardize(a.astype(acc, copy=False), axes, eps, centered, xp)
        if running is not None:
            _update_running(running, mean, var, a.size // rstd.size)
        res = affine(xhat, w, b, xp)
        out = make(res.astype(a.dtype, copy=False), x.device)
        if any(ctx.needs_input_grad):
            # Without weight and bias the output may be ``xhat`` itself: saved as the output,
            # an in-place change to it is caught instead of silently corrupting the gradient.
            plain = out._data is xhat
            ctx.save_for_backward(x, weight, out if plain else None)
            ctx.xhat, ctx.rstd = None if plain else xhat, rstd
            ctx.cfg = (axes, wshape, eps, centered, bias.shape if bias is not None else None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight, out = ctx.saved_tensors
        axes, wshape, eps, centered, bshape = ctx.cfg
        need = ctx.needs_input_grad[:3]
        waxes = _param_axes(g.ndim, wshape)
        create_graph = grad_mode.is_grad_enabled()
        if create_graph:  # the same formula in Tensor ops on a differentiable recomputation
            xhat, rstd, _, _ = standardize(x, axes, eps, centered)
            w = weight.reshape(wshape) if weight is not None else None
            gx, gw, gb = _grads(g, xhat, rstd, w, axes, centered, waxes, need, None)
        else:
            xhat = ctx.xhat if out is None else out._data
            w = _param(weight, wshape, xhat.dtype)
            gx, gw, gb = _grads(g._data.astype(xhat.dtype, copy=False), xhat, ctx.rstd, w, axes,
                                centered, waxes, need, g.xp)
        # From the broadcast layout back to the parameters' own shapes (arrays and Tensors alike).
        gw = gw if gw is None else gw.reshape(tuple(weight.shape))
        gb = gb if gb is None else gb.reshape(tuple(bshape))
        if not create_graph:
            gx, gw, gb = (v if v is None else make(v, g.device) for v in (gx, gw, gb))
        return gx, gw, gb, None, None, None, None, None


def _acc_dtype(xp, dtype):
    # NOTE: half-precision sums over a batch overflow (65504) and lose digits: accumulate in
    # float32, as PyTorch's kernels do.
    return dtype if dtype.itemsize >= 4 else xp.float32


def _param(t, wshape, dtype):
    """A weight or bias array viewed as ``wshape``, in ``dtype`` (None stays None)."""
    return None if t is None else t._data.reshape(wshape).astype(dtype, copy=False)


def _update_running(running, mean, var, n: int) -> None:
    """``stat = (1 - momentum) * stat + momentum * batch_stat`` per channel, in place."""
    rm, rv, momentum = running
    c = rm._data.size if rm is not None else rv._data.size
    if rm is not None:
        batch = mean.reshape(-1, c).mean(0).astype(rm._data.dtype, copy=False)
        rm._data *= 1 - momentum
        rm._data += momentum * batch
        rm._bump_version()
    if rv is not None:
        # PyTorch keeps the unbiased variance (n / (n - 1)) in the running estimate.
        unbiased = var.reshape(-1, c).mean(0) * (n / max(n - 1, 1))
        rv._data *= 1 - momentum
        rv._data += momentum * unbiased.astype(rv._data.dtype, copy=False)
        rv._bump_version()


# PyTorch's node names for the norms built on this node (for ``grad_fn`` and error messages).
class NativeBatchNorm(NativeNorm):
    pass


class NativeLayerNorm(NativeNorm):
    pass


class NativeGroupNorm(NativeNorm):
    pass


class RmsNorm(NativeNorm):
    pass


RmsNorm._node_name = "MulBackward0"  # (PyTorch composes rms_norm; its last node is a mul)
