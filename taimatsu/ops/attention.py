"""The fused attention kernel behind ``scaled_dot_product_attention`` and multi-head attention.

``softmax(q @ k^T * scale + mask) [* dropout] @ v`` is one node: the scores, the masking, the
softmax, the dropout and the two products run on the arrays in forward, and backward works on
the arrays too (two products per input, one softmax-Jacobian pass). Composed from tensor ops,
the same computation would record about ten nodes and keep as many score-sized temporaries
alive for backward; here only the probabilities (and the dropout mask) are kept.
"""
from __future__ import annotations

from .._tensor_base import make
from ..autograd import grad_mode
from ..autograd.function import Function
from ..dtypes import keep_dtype
from . import elementwise as _ew
from . import reduce as _red

_state = grad_mode.state
_causal_cache: dict = {}


def causal_mask(xp, device, L: int, S: int):
    """Bool ``(L, S)`` array, True above the diagonal: the positions a causal query may not see
    (top-left aligned, as PyTorch's ``is_causal``). Cached: every layer of every step asks."""
    key = (device, L, S)
    m = _causal_cache.get(key)
    if m is None:
        if len(_causal_cache) > 64:  # (a bound, for programs that vary the length every step)
            _causal_cache.clear()
        m = _causal_cache[key] = xp.triu(xp.ones((L, S), dtype=bool), 1)
    return m


def _swap(a):
    return a.swapaxes(-1, -2)


# NOTE: row sums and row dot products as matrix products: BLAS does them several times faster
# than NumPy's reductions over the last axis (measured: 0.1 ms vs 0.8 ms for 64 128x128 rows).
def _row_sum(xp, a):
    return a @ xp.ones((a.shape[-1], 1), dtype=a.dtype)


def _row_dot(a, b):
    return (a[..., None, :] @ b[..., :, None])[..., 0]


class Attention(Function):
    """``softmax(q @ k^T * scale + mask) @ v`` over the last two dims; batch dims broadcast.

    ``mask`` is None, a bool tensor (True = may attend) or a float tensor added to the scores;
    ``causal`` hides keys after each query; ``keep`` (None or a tensor shaped like the scores,
    0 or ``1 / (1 - dropout_p)``) is the dropout mask; ``safe`` gives fully masked rows zero
    probabilities (SDPA) rather than NaN (the softmax of multi-head attention's
    ``need_weights`` path). With ``need_weights`` the (dropped-out) probabilities are a second
    output.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, keep, scale, causal, safe, need_weights):
        xp = q.xp
        # (scaling the queries, not the scores: L x E values rather than L x S)
        s = (q._data * q._data.dtype.type(scale)) @ _swap(k._data)
        if mask is not None:
            m = mask._data
            if m.dtype == bool:
                xp.copyto(s, -xp.inf, where=~m)
            else:
                s += m
        if causal:
            xp.copyto(s, -xp.inf, where=causal_mask(xp, q.device, s.shape[-2], s.shape[-1]))
        if s.shape[-1]:  # (a max over no keys is undefined; such rows attend to nothing)
            top = s.max(axis=-1, keepdims=True)
            if safe and (mask is not None or causal):
                top[xp.isneginf(top)] = 0  # a fully masked row: exp(-inf) = 0 everywhere
            s -= top
            xp.exp(s, out=s)
            total = _row_sum(xp, s)
            if safe and (mask is not None or causal):
                total[total == 0] = 1
            s /= total
        p = make(s, q.device)
        if keep is not None:
            keep = keep._data
            pd = make(s * keep, q.device)
        else:
            pd = p
        out = make(keep_dtype(pd._data @ v._data, v._data), q.device)
        ctx.args = (scale, causal, safe, keep)
        ctx.set_materialize_grads(False)
        if any(ctx.needs_input_grad):
            # Saved: the inputs, the probabilities, and the dropped-out ones when they are an
            # output (so an in-place change to the returned weights is caught).
            ctx.save_for_backward(q, k, v, mask, p, pd if keep is not None and need_weights
                                  else None)
        return (out, pd) if need_weights else out

    @staticmethod
    def backward(ctx, g_out, g_w=None):
        q, k, v, mask, p, pd = ctx.saved_tensors
        scale, keep = ctx.args[0], ctx.args[3]
        need_q, need_k, need_v, need_m = ctx.needs_input_grad[:4]
        if _state.enabled:  # create_graph: the same gradients, composed from tensor ops
            return _composed_backward(ctx, g_out, g_w, q, k, v, mask) + (None,) * 6
        pa = p._data
        pda = pa if keep is None else (pd._data if pd is not None else pa * keep)
        gp = None
        gv = None
        if g_out is not None:
            go = g_out._data
            if need_v:
                gv = make(_swap(pda) @ go, q.device)
            if not (need_q or need_k or need_m):
                return (None, None, gv) + (None,) * 7
            gp = go @ _swap(v._data)
        if g_w is not None:
            gp = g_w._data.copy() if gp is None else gp + g_w._data
        if gp is None:
            return (None,) * 10
        if keep is not None:
            gp *= keep
        # d softmax: p * (gp - sum(gp * p)), written in gp's buffer.
        gp -= _row_dot(gp, pa)
        gp *= pa
        gq = gk = gm = None
        if need_q:
            gq = gp @ k._data
            gq *= gq.dtype.type(scale)
            gq = make(gq, q.device)
        if need_k:
            gk = _swap(gp) @ q._data
            gk *= gk.dtype.type(scale)
            gk = make(gk, q.device)
        if need_m:
            gm = make(gp, q.device)
        return gq, gk, gv, gm, None, None, None, None, None, None


def _composed_backward(ctx, g_out, g_w, q, k, v, mask):
    """Attention's gradients with differentiable tensor ops: the probabilities are recomputed
    from ``q`` and ``k`` so that gradients of these gradients flow back to them."""
    scale, causal, safe, keep = ctx.args
    need_q, need_k, need_v, need_m = ctx.needs_input_grad[:4]
    p = composed_probabilities(q, k, mask, scale, causal, safe)
    keep_t = None if keep is None else make(keep, q.device)
    pd = p if keep_t is None else p * keep_t
    gp = None
    gv = None
    if g_out is not None:
        if need_v:
            gv = pd.transpose(-1, -2) @ g_out
        gp = g_out @ v.transpose(-1, -2)
    if g_w is not None:
        gp = g_w if gp is None else gp + g_w
    if gp is None:
        return (None, None, None, None)
    if keep_t is not None:
        gp = gp * keep_t
    gs = p * (gp - (gp * p).sum(-1, keepdim=True))
    gq = gs @ k * scale if need_q else None
    gk = gs.transpose(-1, -2) @ q * scale if need_k else None
    return gq, gk, gv, gs if need_m else None


def composed_probabilities(q, k, mask, scale, causal, safe):
    """``softmax(q @ k^T * scale + mask)`` from tensor ops (Attention's differentiable twin)."""
    s = q @ k.transpose(-1, -2) * scale
    hidden = None
    if mask is not None:
        if mask._data.dtype == bool:
            hidden = _ew.logical_not(mask)
        else:
            s = s + mask
    if causal:
        c = make(causal_mask(q.xp, q.device, s.shape[-2], s.shape[-1]), q.device)
        hidden = c if hidden is None else hidden | c
    if hidden is not None:
        s = s.masked_fill(hidden, float("-inf"))
    if not (safe and (mask is not None or causal)) or s.shape[-1] == 0:
        return _red.softmax(s, -1)
    # A fully masked row gets zero probabilities and no gradient (its scores are replaced
    # before the softmax, so no NaN reaches the backward pass either).
    dead = make(q.xp.isneginf(s._data).all(axis=-1, keepdims=True), q.device)
    p = _red.softmax(_ew.where(dead, 0.0, s), -1)
    return _ew.where(dead, 0.0, p)
