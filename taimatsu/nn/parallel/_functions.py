"""The synchronised batch norm node behind :class:`taimatsu.nn.SyncBatchNorm`.

Forward: every rank's per-channel count, mean and sum of squared deviations are all-gathered
and merged (Chan et al.'s pairwise formula: stable, and exact for unequal batch sizes), so each
rank normalises with the statistics of the whole group's batch. Backward: the two per-channel
sums the input gradient needs, ``sum(dy)`` and ``sum(dy * xhat)``, are all-reduced, which
makes each rank's input gradient the gradient of the sum of every rank's loss, as for one
batch norm over the concatenated batch. The weight and bias gradients stay local: the data
parallel wrapper averages them with the other parameters.

As PyTorch's, the node is differentiable once (its backward communicates, and a second
derivative through the other ranks' statistics is not provided): ``create_graph=True`` through
it raises when differentiated.
"""
from __future__ import annotations

from ... import distributed as dist
from ..._tensor_base import make
from ...autograd.function import Function, once_differentiable
from ...ops.normalization import (
    _acc_dtype,
    _combine,
    _param,
    _sum,
    _sum_prod,
    _update_running,
    affine,
)

__all__: list[str] = []


class SyncBatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, momentum, group):
        xp, a = x.xp, x._data
        nd, c = a.ndim, a.shape[1]
        axes = (0, *range(2, nd))
        cshape = (1, c) + (1,) * (nd - 2)
        acc = _acc_dtype(xp, a.dtype)
        a = a.astype(acc, copy=False)
        n = a.size // c
        mean = _sum(a, axes, xp) / n if n else xp.zeros(cshape, acc)
        xc = a - mean
        stats = xp.concatenate([xp.full(1, n, acc), mean.ravel(), _sum_prod(xc, xc, axes, xp)
                                .ravel()])
        world = dist.get_world_size(group)
        gathered = make(xp.empty((world, stats.size), acc), x._device)
        dist.all_gather_into_tensor(gathered, make(stats, x._device), group=group)
        g = gathered._data
        counts, means, m2s = g[:, :1], g[:, 1:c + 1], g[:, c + 1:]
        total = float(counts.sum())
        gmean = (counts * means).sum(0) / total
        gvar = (m2s + counts * (means - gmean) ** 2).sum(0) / total
        gmean, gvar = gmean.reshape(cshape), gvar.reshape(cshape)
        if running_mean is not None:
            _update_running((running_mean, running_var, momentum), gmean, gvar, int(total))
        rstd = (gvar + eps) ** -0.5
        xhat = (a - gmean) * rstd
        out = affine(xhat, _param(weight, cshape, acc), _param(bias, cshape, acc), xp)
        ctx.save_for_backward(weight)
        ctx.xhat, ctx.rstd, ctx.total, ctx.group = xhat, rstd, total, group
        return make(out.astype(x._data.dtype, copy=False), x._device)

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (weight,) = ctx.saved_tensors
        xhat, rstd = ctx.xhat, ctx.rstd
        xp = g.xp
        nd, c = xhat.ndim, xhat.shape[1]
        axes = (0, *range(2, nd))
        gy = g._data.astype(xhat.dtype, copy=False)
        sg = _sum(gy, axes, xp)
        sxg = _sum_prod(gy, xhat, axes, xp)
        gx = None
        if ctx.needs_input_grad[0]:
            both = make(xp.concatenate([sg.ravel(), sxg.ravel()]), g._device)
            dist.all_reduce(both, group=ctx.group)
            s = both._data.reshape((2,) + sg.shape) / ctx.total
            w = _param(weight, sg.shape, xhat.dtype)
            k = rstd if w is None else w * rstd
            gx = make(_combine(gy, xhat, s[1], s[0], k, xp).astype(g._data.dtype, copy=False),
                      g._device)
        gw = make(sxg.reshape(c), g._device) if ctx.needs_input_grad[1] else None
        gb = make(sg.reshape(c), g._device) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None, None
