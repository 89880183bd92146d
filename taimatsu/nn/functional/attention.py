"""Attention: scaled_dot_product_attention and multi_head_attention_forward."""
from __future__ import annotations

import math
import warnings

from ... import creation
from ..._tensor_base import make
from ...ops import shape as _shape
from ...ops._autocast import autocast_op
from ...ops._util import check_same_device
from ...ops.attention import Attention
from ...ops.linalg import _CPP_NAME
from ...size import broadcast_shapes
from .dropout import _check_p, _keep_mask
from .linear import linear

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _dropout_keep(like, shape: tuple, p: float):
    """The dropout mask of the attention probabilities as a tensor (None when nothing drops):
    0 or ``1 / (1 - p)``, drawn from taimatsu's generator as ``F.dropout`` draws its masks."""
    if p == 0:
        return None
    keep = _keep_mask(like, shape, p)
    if p < 1:
        keep *= keep.dtype.type(1 / (1 - p))
    return make(keep, like.device)


def _check_mask_dtype(attn_mask, query) -> None:
    md, qd = attn_mask._data.dtype, query._data.dtype
    if md != bool and md != qd:
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_CPP_NAME.get(md.name, md.name)} and  query.dtype: "
            f"{_CPP_NAME.get(qd.name, qd.name)} instead.")


def _check_mask_shape(attn_mask, scores: tuple) -> None:
    m = tuple(attn_mask._data.shape)
    try:
        ok = broadcast_shapes(scores, m) == scores
    except RuntimeError as e:
        raise RuntimeError(f"{e} (attn_mask of shape {list(m)} does not broadcast to the "
                           f"attention weights' shape {list(scores)})") from None
    if not ok:
        raise RuntimeError(f"attn_mask of shape {list(m)} does not broadcast to the attention "
                           f"weights' shape {list(scores)}")


@autocast_op
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False):
    """``softmax(query @ key^T * scale + mask) @ value``, one fused node.

    ``attn_mask`` is a bool tensor (True: may attend) or a float tensor added to the scores,
    broadcastable to ``(..., L, S)``; ``is_causal`` hides each query's later keys (top-left
    aligned). ``dropout_p`` drops probabilities with taimatsu's generator (the function has
    no training flag: pass 0 in eval). ``scale`` defaults to ``1 / sqrt(E)``. With
    ``enable_gqa``, key and value may have fewer heads (dim -3) than the query, each shared by
    a group of query heads. Rows with every key masked give zeros.

    Shape: query ``(N, ..., Hq, L, E)``, key ``(N, ..., H, S, E)``, value ``(N, ..., H, S, Ev)``,
    output ``(N, ..., Hq, L, Ev)``.

    Example::

        >>> q = torch.randn(2, 4, 16, 8)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        torch.Size([2, 4, 16, 8])
    """
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    check_same_device("scaled_dot_product_attention", query, key, value, attn_mask)
    q, k, v = query._data, key._data, value._data
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but "
                           f"got query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} "
                           "instead.")
    if not q.dtype == k.dtype == v.dtype:
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_CPP_NAME.get(q.dtype.name)} key.dtype: "
                           f"{_CPP_NAME.get(k.dtype.name)} and value.dtype: "
                           f"{_CPP_NAME.get(v.dtype.name)} instead.")
    if q.dtype.kind not in "fV":
        raise RuntimeError(f"scaled_dot_product_attention expects floating inputs, but got "
                           f"query.dtype: {_CPP_NAME.get(q.dtype.name, q.dtype.name)}")
    if k.shape[-1] != q.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {list(q.shape)}, key "
                           f"{list(k.shape)} and value {list(v.shape)} do not fit: expected "
                           "key.size(-1) == query.size(-1) and key.size(-2) == value.size(-2)")
    if dropout_p < 0.0 or dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and v.ndim >= 3 and (
            k.shape[-3] != q.shape[-3] or v.shape[-3] != q.shape[-3]):
        hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads "
                               f"in query (query has {hq}, key {hk}, value {hv})")
        # Query head i reads key/value head i // (hq / hk): repeat each kv head for its group.
        key = _shape.repeat_interleave(key, hq // hk, dim=-3)
        value = _shape.repeat_interleave(value, hq // hv, dim=-3)
        k, v = key._data, value._data
    scores = broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]) + (q.shape[-2],
                                                                           k.shape[-2])
    if attn_mask is not None:
        _check_mask_dtype(attn_mask, query)
        _check_mask_shape(attn_mask, scores)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    keep = _dropout_keep(query, scores, dropout_p)
    return Attention.apply(query, key, value, attn_mask, keep, scale, is_causal, True, False)


# ------------------------------------------------------------------ multi-head attention
def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """PyTorch's checks of the input ranks; returns whether the input is batched."""
    nd = query.dim()
    if nd not in (2, 3):
        raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                             f"{nd}-D query tensor")
    kind = "batched (3-D)" if nd == 3 else "unbatched (2-D)"
    if key.dim() != nd or value.dim() != nd:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {nd}-D but "
                             f"found {key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != nd - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{nd - 1}-D but found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or "
                                 f"3-D but found {attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if nd == 2 and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                 f"{attn_mask.shape}")
    return nd == 3


def _canonical_mask(mask, mask_name: str, other, other_name: str, dtype):
    """A bool mask as a float one (-inf where True), after PyTorch's dtype checks."""
    if mask is None:
        return None
    md = mask._data.dtype
    if md != bool and md.kind not in "fV":
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if other is not None and other._data.dtype != md:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      "same type for both instead.", stacklevel=3)
    if md != bool:
        return mask
    return creation.zeros_like(mask, dtype=dtype).masked_fill_(mask, float("-inf"))


def _pad_key(mask):
    """A float mask with one more key column, 0 (visible): for ``bias_k`` / ``add_zero_attn``."""
    if mask is None:
        return None
    zero = creation.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype, device=mask.device)
    return _shape.cat([mask, zero], -1)


def _in_projection(query, key, value, w, b, ws):
    """q, k, v projected by the packed ``w`` (``(3E, E)``) or by the separate ``ws``.

    For self-attention (one input) the packed weight is one product, split after."""
    if ws is None and query is key and key is value:
        return linear(query, w, b).chunk(3, -1)
    if ws is None:
        ws = w.chunk(3)
    bs = (None,) * 3 if b is None else b.chunk(3)
    return tuple(linear(x, wi, bi) for x, wi, bi in zip((query, key, value), ws, bs))


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v,
                                 add_zero_attn: bool, dropout_p: float, out_proj_weight,
                                 out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True,
                                 is_causal: bool = False):
    """Multi-head attention as ``nn.MultiheadAttention`` computes it; returns
    ``(attn_output, attn_weights or None)``.

    Shape: query ``(L, N, E)`` or ``(L, E)``; key and value ``(S, N, E_k)``; key_padding_mask
    ``(N, S)`` (True or -inf: ignore that key); attn_mask ``(L, S)`` or ``(N * num_heads, L, S)``;
    output ``(L, N, E)``; weights ``(N, L, S)`` averaged over heads, else ``(N, num_heads, L, S)``.
    """
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = (x.unsqueeze(1) for x in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint lets the kernel mask by position instead
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
        is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     "is None")
        ws = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {key.shape} does not match value shape "
                                 f"{value.shape}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        ws = None
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(1, 1, tgt_len, src_len)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (bsz, src_len):
        i = 0 if key_padding_mask.shape[0] != bsz else 1
        raise AssertionError(f"Expected key_padded_mask.shape[{i}] to be {(bsz, src_len)[i]}, "
                             f"but got {key_padding_mask.shape[i]}")
    check_same_device("multi_head_attention_forward", query, key, value, in_proj_weight,
                      out_proj_weight, attn_mask, key_padding_mask)

    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, ws)
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = _shape.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = _shape.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")
    # (L, N, E) -> (N, heads, L, head_dim): heads become a batch dim of the kernel.
    q = q.reshape(tgt_len, bsz, num_heads, head_dim).permute(1, 2, 0, 3)
    k = _heads(k, static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz, num_heads, head_dim)
    if add_zero_attn:
        zeros = creation.zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = _shape.cat([k, zeros], 2)
        v = _shape.cat([v, zeros], 2)
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    src_len = k.shape[2]
    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    _check_p(dropout_p)
    scores = (bsz, num_heads, tgt_len, src_len)
    keep = _dropout_keep(q, scores, dropout_p)
    # NOTE: with need_weights PyTorch computes an explicit softmax, whose fully masked rows are
    # NaN; without, it calls scaled_dot_product_attention, whose rows are zeros ("safe").
    res = Attention.apply(q, k, v, attn_mask, keep, 1 / math.sqrt(head_dim), is_causal,
                          not need_weights, need_weights)
    out, weights = res if need_weights else (res, None)
    out = out.permute(2, 0, 1, 3).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if weights is not None and average_attn_weights:
        weights = weights.mean(dim=1)
    if not is_batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights


def _heads(x, static, name: str, bsz: int, num_heads: int, head_dim: int):
    """Projected keys or values ``(S, N, E)`` as ``(N, heads, S, head_dim)``; a given
    ``static_k``/``static_v`` ``(N * heads, S, head_dim)`` replaces them."""
    if static is None:
        return x.reshape(x.shape[0], bsz, num_heads, head_dim).permute(1, 2, 0, 3)
    if static.size(0) != bsz * num_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz * num_heads}, but got "
                             f"{static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return static.reshape(bsz, num_heads, static.size(1), head_dim)
