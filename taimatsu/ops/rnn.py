"""Fused recurrences: one Function runs one layer and direction of an RNN, LSTM or GRU over a
whole sequence.

The sequence arrives in the packed layout of ``nn.utils.rnn.PackedSequence``: a 2-D ``(N, in)``
array whose rows are time-major, the rows of step ``t`` contiguous and ``batch_sizes[t]`` long,
longest sequences first (a padded ``(T, B, in)`` input is the same layout with every batch size
``B``). At step ``t`` only the first ``batch_sizes[t]`` rows of the state advance; the others keep
theirs, so a finished sequence holds its last state (forward) and a not-yet-started one holds its
initial state (reverse), which is exactly what each sequence's final hidden state must be.

Forward: the input projections of all steps are one matrix product, then one gate product per
step; backward through time runs on the arrays saved in forward, and the weight gradients are one
product each over all steps. Under ``create_graph`` the backward instead differentiates
:func:`composed`, the same recurrence written with differentiable tensor ops.
"""
from __future__ import annotations

from .._tensor_base import make
from ..autograd import grad as _autograd_grad
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from . import elementwise as _ew
from . import shape as _sh

__all__: list[str] = []

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid_(xp, a):
    """Sigmoid in place, as ``0.5 + 0.5 tanh(a / 2)``: never overflows and needs no temporaries."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _steps(batch_sizes, reverse):
    """``(row offset, batch size)`` of each step in processing order."""
    offsets, start = [], 0
    for n in batch_sizes:
        offsets.append((start, n))
        start += n
    return offsets[::-1] if reverse else offsets


# ------------------------------------------------------------------------ forward kernels
def _lstm_order(xp, H):
    """Gate rows reordered from PyTorch's ``i, f, g, o`` to ``o, i, f, g``: the three sigmoid
    gates side by side, so one slice activates them and one their derivative."""
    return xp.concatenate([xp.arange(3 * H, 4 * H), xp.arange(2 * H), xp.arange(2 * H, 3 * H)])


def _lstm_weights(xp, w_ih, w_hh, bias, order, H):
    """The input weight, the transposed hidden weight (contiguous: its product is ~15% faster)
    and the bias, in :func:`_lstm_order`, with the sigmoid gates' rows halved:
    ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so one tanh per step serves all four gates."""
    scale = xp.ones(4 * H, w_ih.dtype)
    scale[:3 * H] = 0.5
    w_hh_t = xp.ascontiguousarray((w_hh[order] * scale[:, None]).T)
    return (w_ih[order] * scale[:, None], w_hh_t,
            None if bias is None else bias[order] * scale)


def _lstm_forward(xp, xw, h, c, w_hh_t, w_hr, steps, saved):
    """LSTM over ``steps``. ``xw`` (N, 4H) holds the input projections plus both biases, in the
    halved :func:`_lstm_weights` form, and becomes the activations ``o, i, f, g``. ``h``, ``c``
    are the running states (updated in place)."""
    N, H = xw.shape[0], c.shape[1]
    out = xp.empty((N, h.shape[1]), xw.dtype)
    h_prev = xp.empty_like(out)
    c_prev, tanh_c = xp.empty((N, H), xw.dtype), xp.empty((N, H), xw.dtype)
    m_all = xp.empty_like(tanh_c) if w_hr is not None else None
    for o, n in steps:
        rows = slice(o, o + n)
        hp, cp = h[:n], c[:n]
        h_prev[rows], c_prev[rows] = hp, cp
        g = xw[rows]
        g += hp @ w_hh_t
        xp.tanh(g, out=g)
        sig = g[:, :3 * H]
        sig *= 0.5
        sig += 0.5
        cp *= g[:, 2 * H:3 * H]
        cp += g[:, H:2 * H] * g[:, 3 * H:]
        tc = xp.tanh(cp, out=tanh_c[rows])
        m = xp.multiply(g[:, :H], tc, out=m_all[rows] if m_all is not None else out[rows])
        if w_hr is not None:
            out[rows] = m @ w_hr.T
        h[:n] = out[rows]
    saved.update(acts=xw, h_prev=h_prev, c_prev=c_prev, tanh_c=tanh_c, m=m_all)
    return out


def _gru_forward(xp, xw, h, w_hh, b_hh, steps, saved):
    """GRU over ``steps``; ``xw`` (N, 3H) holds ``x @ w_ih.T + b_ih`` and becomes r, z, n."""
    H = h.shape[1]
    out = xp.empty((xw.shape[0], H), xw.dtype)
    h_prev, hh_n = xp.empty_like(out), xp.empty_like(out)
    w_hh_t = xp.ascontiguousarray(w_hh.T)
    for o, n in steps:
        rows = slice(o, o + n)
        hp = h[:n]
        h_prev[rows] = hp
        hh = hp @ w_hh_t
        if b_hh is not None:
            hh += b_hh
        g = xw[rows]
        g[:, :2 * H] += hh[:, :2 * H]
        _sigmoid_(xp, g[:, :2 * H])
        hh_n[rows] = hh[:, 2 * H:]
        nn = g[:, 2 * H:]
        nn += g[:, :H] * hh[:, 2 * H:]
        xp.tanh(nn, out=nn)
        hn = xp.subtract(hp, nn, out=out[rows])  # h' = n + z (h - n)
        hn *= g[:, H:2 * H]
        hn += nn
        h[:n] = hn
    saved.update(acts=xw, h_prev=h_prev, hh_n=hh_n)
    return out


def _rnn_forward(xp, xw, h, w_hh, relu, steps, saved):
    """Elman RNN over ``steps``; ``xw`` (N, H) holds the input projections plus both biases."""
    out = xw
    h_prev = xp.empty_like(xw)
    w_hh_t = xp.ascontiguousarray(w_hh.T)
    for o, n in steps:
        rows = slice(o, o + n)
        hp = h[:n]
        h_prev[rows] = hp
        g = xw[rows]
        g += hp @ w_hh_t
        if relu:
            xp.maximum(g, 0, out=g)
        else:
            xp.tanh(g, out=g)
        h[:n] = g
    saved.update(h_prev=h_prev)
    return out


# ----------------------------------------------------------------------- backward kernels
def _lstm_backward(xp, s, go, dh, dc, w_hh, w_hr, steps):
    """Gradients of the gate pre-activations (N, 4H, in :func:`_lstm_order`) and of the
    outputs feeding the projection (N, Hout, or None). ``w_hh`` is in that order too;
    ``dh``/``dc`` come in as the final states' gradients and leave as the initial states'."""
    acts, tanh_c, c_prev = s["acts"], s["tanh_c"], s["c_prev"]
    N, H = tanh_c.shape
    a4 = acts.reshape(N, 4, H)
    d_gates = xp.empty((N, 4, H), acts.dtype)
    d_out = xp.empty_like(go) if w_hr is not None else None
    # NOTE: per step on small arrays, not every step's factors at once: those large arrays
    # fall out of cache, which measured 25% slower.
    for o, n in reversed(steps):
        rows = slice(o, o + n)
        dhn = dh[:n] + go[rows]
        if w_hr is not None:
            d_out[rows] = dhn
            dhn = dhn @ w_hr
        a, tc, d = a4[rows], tanh_c[rows], d_gates[rows]
        dcn = tc * tc
        xp.subtract(1, dcn, out=dcn)
        dcn *= a[:, 0]
        dcn *= dhn
        dcn += dc[:n]  # dc + dh * o * tanh'(c)
        xp.multiply(dhn, tc, out=d[:, 0])  # o
        xp.multiply(dcn, a[:, 3], out=d[:, 1])  # i
        xp.multiply(dcn, c_prev[rows], out=d[:, 2])  # f
        xp.multiply(dcn, a[:, 1], out=d[:, 3])  # g
        sig = 1 - a[:, :3]
        sig *= a[:, :3]
        d[:, :3] *= sig
        th = a[:, 3] * a[:, 3]
        xp.subtract(1, th, out=th)
        d[:, 3] *= th
        xp.multiply(dcn, a[:, 2], out=dc[:n])
        dh[:n] = d.reshape(n, 4 * H) @ w_hh
    return d_gates.reshape(N, 4 * H), d_out


def _gru_backward(xp, s, go, dh, w_hh, steps):
    """Gradients of the input-side (N, 3H) and hidden-side (N, 3H) gate pre-activations."""
    acts, h_prev, hh_n = s["acts"], s["h_prev"], s["hh_n"]
    H = h_prev.shape[1]
    d_x = xp.empty_like(acts)
    d_h = xp.empty_like(acts)
    for o, n in reversed(steps):
        rows = slice(o, o + n)
        dhn = dh[:n] + go[rows]
        a = acts[rows]
        r, z, nn = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        dx, dhh = d_x[rows], d_h[rows]
        dn = dhn * (1 - z) * (1 - nn * nn)
        dx[:, 2 * H:] = dn
        xp.multiply(dn, r, out=dhh[:, 2 * H:])
        xp.multiply(dn, hh_n[rows], out=dx[:, :H])  # d r
        dx[:, :H] *= r * (1 - r)
        xp.subtract(h_prev[rows], nn, out=dx[:, H:2 * H])  # d z
        dx[:, H:2 * H] *= dhn * z * (1 - z)
        dhh[:, :2 * H] = dx[:, :2 * H]
        dh_direct = dhn * z
        dh_direct += dhh @ w_hh
        dh[:n] = dh_direct
    return d_x, d_h


def _rnn_backward(xp, out, go, dh, w_hh, relu, steps):
    d_pre = xp.empty_like(out)
    for o, n in reversed(steps):
        rows = slice(o, o + n)
        d = xp.add(dh[:n], go[rows], out=d_pre[rows])
        if relu:
            d *= out[rows] > 0
        else:
            d *= 1 - out[rows] * out[rows]
        dh[:n] = d @ w_hh
    return d_pre


# ----------------------------------------------------------------------------- the node
class Recurrence(Function):
    """One layer and direction of ``mode`` (``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"``, ``"GRU"``)
    over a packed sequence ``x`` (N, in) with ``batch_sizes`` (a tuple of ints, non-increasing).

    Returns ``(output (N, Hout), h_n (B, Hout))``, and ``c_n (B, H)`` as a third output for LSTM.
    ``c0``, the biases and ``w_hr`` may be None.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, batch_sizes, reverse):
        xp = x.xp
        steps = _steps(batch_sizes, reverse)
        w_in = w_ih._data
        bias = None if b_ih is None else b_ih._data
        if bias is not None and mode != "GRU":  # GRU's hidden bias sits inside its reset gate
            bias = bias + b_hh._data
        if mode == "LSTM":
            H = c0._data.shape[1]
            w_in, w_hh_t, bias = _lstm_weights(xp, w_in, w_hh._data, bias, _lstm_order(xp, H), H)
        xw = x._data @ w_in.T
        if bias is not None:
            xw += bias
        h = h0._data.copy()
        saved = {}
        if mode == "LSTM":
            c = c0._data.copy()
            out = _lstm_forward(xp, xw, h, c, w_hh_t, None if w_hr is None else w_hr._data,
                                steps, saved)
            result = (make(out, x.device), make(h, x.device), make(c, x.device))
        elif mode == "GRU":
            out = _gru_forward(xp, xw, h, w_hh._data, None if b_hh is None else b_hh._data,
                               steps, saved)
            result = (make(out, x.device), make(h, x.device))
        else:
            out = _rnn_forward(xp, xw, h, w_hh._data, mode == "RNN_RELU", steps, saved)
            result = (make(out, x.device), make(h, x.device))
        if any(ctx.needs_input_grad):
            # (the caller may write into the output it gets: keep our own copy for RNN's derivative)
            ctx.arrays, ctx.out = saved, out.copy() if mode.startswith("RNN") else None
            ctx.args = (mode, batch_sizes, reverse)
            ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        return result

    @staticmethod
    def backward(ctx, g_out, g_h, g_c=None):
        tensors = ctx.saved_tensors
        needs = ctx.needs_input_grad[:8]
        if _grad_state.enabled:  # create_graph: differentiate the composed recurrence
            return _composed_grads(tensors, needs, ctx.args, (g_out, g_h, g_c)) + (None,) * 3
        x, _, _, w_ih, w_hh, _, _, w_hr = tensors
        mode, batch_sizes, reverse = ctx.args
        xp, dev, s = x.xp, x.device, ctx.arrays
        steps = _steps(batch_sizes, reverse)
        go = g_out._data
        dh = g_h._data.copy()
        dc = g_c._data.copy() if mode == "LSTM" else None
        d_hr = d_hidden = None
        w_in, w_h = w_ih._data, w_hh._data
        restore = None  # the gate rows' order back to PyTorch's, for LSTM's reordered gates
        if mode == "LSTM":
            order = _lstm_order(xp, dc.shape[1])
            w_in, w_h, restore = w_in[order], w_h[order], xp.argsort(order)
            d_x, d_out = _lstm_backward(xp, s, go, dh, dc, w_h,
                                        None if w_hr is None else w_hr._data, steps)
            d_hidden = d_x
            if needs[7]:
                d_hr = make(d_out.T @ s["m"], dev)
        elif mode == "GRU":
            d_x, d_hidden = _gru_backward(xp, s, go, dh, w_hh._data, steps)
        else:
            d_x = d_hidden = _rnn_backward(xp, ctx.out, go, dh, w_hh._data,
                                           mode == "RNN_RELU", steps)
        def rows(a):
            return make(a if restore is None else a[restore], dev)

        grads = [
            make(d_x @ w_in, dev) if needs[0] else None,
            make(dh, dev) if needs[1] else None,
            make(dc, dev) if needs[2] else None,
            rows(d_x.T @ x._data) if needs[3] else None,
            rows(d_hidden.T @ s["h_prev"]) if needs[4] else None,
            rows(d_x.sum(0)) if needs[5] else None,
            rows(d_hidden.sum(0)) if needs[6] else None,
            d_hr,
        ]
        return tuple(grads) + (None,) * 3


# NOTE: PyTorch's CPU recurrences record no single node; the name says what this one is.
Recurrence._node_name = "RecurrenceBackward0"


def _composed_grads(tensors, needs, args, grad_outputs):
    """The input gradients of :func:`composed`, with their own graph (for create_graph)."""
    with_grad = [t for t, need in zip(tensors, needs) if need]
    outs = composed(*tensors, *args)
    pairs = [(o, g) for o, g in zip(outs, grad_outputs) if g is not None]
    grads = iter(_autograd_grad([o for o, _ in pairs], with_grad, [g for _, g in pairs],
                                create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in needs)


def composed(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, batch_sizes, reverse):
    """:class:`Recurrence` written with differentiable tensor ops, step by step (the
    ``create_graph`` path, and the reference the fused node is tested against)."""
    from ..nn.functional.linear import linear  # (nn sits above ops: imported when used)

    H = w_hh.shape[1] if mode != "LSTM" else c0.shape[1]
    xw = linear(x, w_ih, b_ih)
    h, c = h0, c0
    B = h0.shape[0]
    outs = [None] * len(batch_sizes)
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    offsets = [o for o, _ in _steps(batch_sizes, False)]
    for t in order:
        o, n = offsets[t], batch_sizes[t]
        gx, hp = xw[o:o + n], h[:n]
        gh = linear(hp, w_hh, b_hh)
        if mode == "LSTM":
            gates = gx + gh
            i, f = gates[:, :H].sigmoid(), gates[:, H:2 * H].sigmoid()
            g, og = gates[:, 2 * H:3 * H].tanh(), gates[:, 3 * H:].sigmoid()
            c_new = f * c[:n] + i * g
            h_new = og * c_new.tanh()
            if w_hr is not None:
                h_new = linear(h_new, w_hr)
            c = c_new if n == B else _sh.cat([c_new, c[n:]])
        elif mode == "GRU":
            r = (gx[:, :H] + gh[:, :H]).sigmoid()
            z = (gx[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
            nn = (gx[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
            h_new = nn + z * (hp - nn)
        else:
            pre = gx + gh
            h_new = _ew.relu(pre) if mode == "RNN_RELU" else pre.tanh()
        outs[t] = h_new
        h = h_new if n == B else _sh.cat([h_new, h[n:]])
    out = _sh.cat(outs)
    return (out, h, c) if mode == "LSTM" else (out, h)
