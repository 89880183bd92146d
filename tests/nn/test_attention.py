"""scaled_dot_product_attention, multi_head_attention_forward and MultiheadAttention against
PyTorch (identical weights), the fused kernel's two backward paths, gradchecks, bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as TF
from taimatsu.ops.attention import Attention
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch
from tests.nn.attention_helpers import check_param_grads, pair

QKV = (rand(2, 3, 4, 8, seed=1), rand(2, 3, 5, 8, seed=2), rand(2, 3, 5, 6, seed=3))
BOOL_MASK = np.random.default_rng(4).random((4, 5)) > 0.4
BOOL_MASK[1] = False  # a fully masked row: zeros out, no gradient (PyTorch's safe softmax)


def sdpa(**kw):
    return lambda T, q, k, v, *m: T.nn.functional.scaled_dot_product_attention(
        q, k, v, *m, **kw)


# ------------------------------------------------------------------ SDPA against PyTorch
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}, {"dropout_p": 0.0}],
                         ids=["plain", "causal", "scale", "p0"])
def test_sdpa_matches_torch(device, kw):
    compare(sdpa(**kw), *QKV, device=device)


@pytest.mark.parametrize("mask", [
    BOOL_MASK,                                                          # (L, S) bool
    np.where(BOOL_MASK, 0.5, -np.inf).astype(np.float32),               # float with -inf
    rand(2, 1, 4, 5, seed=5),                                           # float, broadcast heads
    np.random.default_rng(6).random((2, 3, 1, 5)) > 0.3,                # bool, broadcast queries
    rand(5, seed=7),                                                    # 1-D, broadcast all
], ids=["bool2d", "float_inf", "float4d", "bool4d", "float1d"])
def test_sdpa_masks(device, mask):
    # A float mask gets a gradient too (it is added to the scores).
    compare(sdpa(), *QKV, mask, device=device)


def test_sdpa_causal_rectangular_and_3d(device):
    q = rand(3, 7, 4, seed=8)
    k, v = rand(3, 5, 4, seed=9), rand(3, 5, 2, seed=10)
    compare(sdpa(is_causal=True), q, k, v, device=device)  # L > S: top-left aligned
    compare(sdpa(is_causal=True), k, q, rand(3, 7, 2), device=device)  # L < S


def test_sdpa_unbatched_and_broadcast_batch(device):
    compare(sdpa(), rand(4, 8), rand(5, 8), rand(5, 3), device=device)
    compare(sdpa(), rand(2, 3, 4, 8), rand(1, 3, 5, 8), rand(2, 1, 5, 6), device=device)


def test_sdpa_gqa(device):
    q = rand(2, 6, 4, 8)
    k, v = rand(2, 2, 5, 8, seed=1), rand(2, 2, 5, 3, seed=2)
    compare(sdpa(enable_gqa=True), q, k, v, device=device)
    compare(sdpa(enable_gqa=True, is_causal=True), q, k, rand(2, 3, 5, 3), device=device)


def test_sdpa_non_contiguous_and_float64(device):
    compare(sdpa(), *QKV, device=device, non_contiguous=True)
    compare(sdpa(is_causal=True), *(a.astype(np.float64) for a in QKV), device=device,
            atol=1e-10, rtol=1e-10)


def test_sdpa_empty(device):
    compare(sdpa(), rand(2, 0, 8), rand(2, 5, 8), rand(2, 5, 8), device=device)
    compare(sdpa(), rand(2, 4, 8), rand(2, 0, 8), rand(2, 0, 8), device=device)


# ------------------------------------------------------------------ gradcheck, backward paths
@pytest.mark.parametrize("kw,mask", [({}, None), ({"is_causal": True}, None),
                                     ({}, BOOL_MASK), ({}, rand(4, 5, seed=3))],
                         ids=["plain", "causal", "bool", "float"])
def test_sdpa_gradcheck(device, kw, mask):
    args = [a[:1, :2] for a in QKV] + ([] if mask is None else [mask])
    gradcheck(lambda q, k, v, *m: TF.scaled_dot_product_attention(q, k, v, *m, **kw), *args,
              device=device)


def _grads(create_graph, fn, arrays, device):
    ts = [taimatsu.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    gs = [taimatsu.tensor(rand(*o.shape, seed=11 + i), device=device)
          for i, o in enumerate(outs)]
    diff = [t for t in ts if t.requires_grad]
    return [to_np(g) for g in taimatsu.autograd.grad(outs, diff, gs, create_graph=create_graph)]


def _weights_case(q, k, v):
    """The kernel with two outputs: the attention and the dropped-out probabilities."""
    keep = (np.random.default_rng(0).random((2, 3, 4, 5)) > 0.2).astype(np.float32) / 0.8
    return Attention.apply(q, k, v, None, taimatsu.tensor(keep, device=q.device), 0.4, True,
                           False, True)


@pytest.mark.parametrize("case", ["causal", "bool", "float_mask", "dropout", "weights"])
def test_array_and_composed_backward_agree(device, case):
    """The fused node's backward on arrays (create_graph off) and its composed, differentiable
    fallback (create_graph on) give the same gradients."""
    arrays = list(QKV)
    if case == "float_mask":
        arrays.append(rand(1, 3, 4, 5, seed=5))
    if case == "bool":
        arrays.append(BOOL_MASK)

    def fn(q, k, v, *m):
        taimatsu.manual_seed(3)  # the same dropout mask on both runs
        return TF.scaled_dot_product_attention(q, k, v, *m, is_causal=case == "causal",
                                               dropout_p=0.3 if case == "dropout" else 0.0)

    fn = _weights_case if case == "weights" else fn
    a = _grads(False, fn, arrays, device)
    b = _grads(True, fn, arrays, device)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_weights_output_gradgradcheck(device):
    q, k, v = (a[:1, :1] for a in QKV)
    gradcheck(lambda q, k, v: Attention.apply(q, k, v, None, None, 0.5, True, True, True),
              q, k, v, device=device)


# ------------------------------------------------------------------ dropout
def test_sdpa_dropout_uses_taimatsus_generator(device):
    q, k, v = (taimatsu.tensor(a, device=device) for a in QKV)
    taimatsu.manual_seed(5)
    a = TF.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    taimatsu.manual_seed(5)
    b = TF.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    c = TF.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert np.array_equal(to_np(a), to_np(b)) and not np.array_equal(to_np(a), to_np(c))
    # p = 1 drops everything; the expectation over many masks is the undropped output
    assert np.all(to_np(TF.scaled_dot_product_attention(q, k, v, dropout_p=1.0)) == 0)
    ones = taimatsu.ones(1, 1, 3, 4000, device=device)
    kk = taimatsu.zeros(1, 1, 4000, 1, device=device)
    out = TF.scaled_dot_product_attention(taimatsu.zeros(1, 1, 3, 1, device=device), kk,
                                          ones.transpose(-1, -2), dropout_p=0.25)
    assert abs(float(out.mean()) - 1.0) < 0.05


# ------------------------------------------------------------------ bad input
def _qkv(device):
    return [taimatsu.tensor(a, device=device) for a in QKV]


def test_sdpa_errors(device):
    q, k, v = _qkv(device)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal"):
        TF.scaled_dot_product_attention(q, k, v, taimatsu.ones(4, 5, dtype=taimatsu.bool,
                                                                device=device), is_causal=True)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(5\) must match the size of "
                       r"tensor b \(6\).*\[4, 6\].*\[2, 3, 4, 5\]"):
        TF.scaled_dot_product_attention(q, k, v, taimatsu.ones(4, 6, device=device))
    with pytest.raises(RuntimeError, match=r"\[2, 3, 2, 4, 5\].*\[2, 3, 4, 5\]"):
        TF.scaled_dot_product_attention(q, k, v, taimatsu.ones(2, 3, 2, 4, 5, device=device))
    with pytest.raises(RuntimeError, match="attn_mask.dtype: long int and  query.dtype: float"):
        TF.scaled_dot_product_attention(q, k, v, taimatsu.ones(4, 5, dtype=taimatsu.int64,
                                                                device=device))
    with pytest.raises(RuntimeError, match="attn_mask.dtype: double and  query.dtype: float"):
        TF.scaled_dot_product_attention(q, k, v, taimatsu.ones(4, 5, dtype=taimatsu.float64,
                                                                device=device))
    with pytest.raises(RuntimeError, match="query.dtype: double key.dtype: float"):
        TF.scaled_dot_product_attention(q.double(), k, v)
    with pytest.raises(RuntimeError, match="at least 2 dimensional.*query.dim: 1"):
        TF.scaled_dot_product_attention(q[0, 0, 0], k, v)
    with pytest.raises(RuntimeError, match=r"key \[2, 3, 5, 7\]"):
        TF.scaled_dot_product_attention(q, k[..., :7], v)
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1"):
        TF.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        TF.scaled_dot_product_attention(q, k[:, :2], v[:, :2])
    with pytest.raises(RuntimeError, match="Number of heads in key and value must divide"):
        TF.scaled_dot_product_attention(taimatsu.zeros(2, 3, 4, 8, device=device), k[:, :2],
                                        v[:, :2], enable_gqa=True)


@needs_torch
def test_sdpa_error_types_match_torch():
    q, k, v = (torch.tensor(a) for a in QKV)
    for args, kw in [((torch.ones(4, 5, dtype=torch.bool),), {"is_causal": True}),
                     ((torch.ones(4, 6),), {}), ((torch.ones(4, 5, dtype=torch.int64),), {})]:
        with pytest.raises(RuntimeError):
            torch.nn.functional.scaled_dot_product_attention(q, k, v, *args, **kw)


# ------------------------------------------------------------------ MultiheadAttention
def check_mha(make, *arrays, train=False, device="cpu", **kw):
    """Outputs (attention and weights), input and parameter gradients against PyTorch."""
    tm, pm = pair(make, train, device)

    def run(T, *xs):
        m = tm if T is taimatsu else pm
        q = xs[0]
        k = xs[1] if len(xs) > 1 and xs[1] is not None else q
        v = xs[2] if len(xs) > 2 and xs[2] is not None else k
        masks = {name: x for name, x in zip(("key_padding_mask", "attn_mask"), xs[3:])
                 if x is not None}
        out, w = m(q, k, v, **masks, **kw)
        return (out,) if w is None else (out, w)

    compare(run, *arrays, device=device)
    check_param_grads(tm, pm)


X = rand(4, 2, 8, seed=20)  # (L, N, E)
KPM = np.array([[False, False, True, True], [False, False, False, False]])


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"need_weights": False}, {"average_attn_weights": False}],
                         ids=["weights", "no_weights", "per_head"])
def test_mha_self_attention(device, kw):
    check_mha(lambda nn: nn.MultiheadAttention(8, 2), X, device=device, **kw)


@needs_torch
def test_mha_options(device):
    y = rand(6, 2, 8, seed=21)
    check_mha(lambda nn: nn.MultiheadAttention(8, 4, bias=False), X, y, device=device)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, add_bias_kv=True), X, y, device=device)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, add_zero_attn=True), X, y, device=device)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True), X,
              None, None, KPM, BOOL_MASK[:, :4], device=device)
    # kdim / vdim: separate q/k/v_proj_weight
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, kdim=3, vdim=5), X, rand(6, 2, 3),
              rand(6, 2, 5), device=device)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, kdim=3, vdim=5), X, rand(6, 2, 3),
              rand(6, 2, 5), device=device, need_weights=False)


@needs_torch
def test_mha_batch_first_and_unbatched(device):
    xb = np.ascontiguousarray(X.transpose(1, 0, 2))
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), xb, device=device)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), xb, rand(2, 5, 8),
              device=device, need_weights=False)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2), X[:, 0], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (bool key_padding_mask with a float attn_mask)
        check_mha(lambda nn: nn.MultiheadAttention(8, 2), X[:, 0], None, None, KPM[0],
                  rand(2, 4, 4, seed=3), device=device, need_weights=False)


@needs_torch
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("masks", ["kpm_bool", "kpm_float", "attn2d_bool", "attn3d_float",
                                   "both_bool", "fully_masked"])
def test_mha_masks(device, masks, need_weights):
    kpm_f = np.where(KPM, -np.inf, 0.0).astype(np.float32)
    attn3 = rand(4, 4, 4, seed=5)
    causal = np.triu(np.ones((4, 4), bool), 1)
    full_row = causal.copy()
    full_row[2] = True  # every key hidden from query 2: NaN with weights, 0 without (PyTorch)
    arg = {"kpm_bool": (KPM, None), "kpm_float": (kpm_f, None), "attn2d_bool": (None, causal),
           "attn3d_float": (None, attn3), "both_bool": (KPM, causal),
           "fully_masked": (None, full_row)}[masks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_mha(lambda nn: nn.MultiheadAttention(8, 2), X, None, None, *arg, device=device,
                  need_weights=need_weights)


@needs_torch
def test_mha_is_causal_hint(device):
    mask = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    for need_weights in (False, True):
        check_mha(lambda nn: nn.MultiheadAttention(8, 2), X, None, None, None, mask,
                  device=device, is_causal=True, need_weights=need_weights)


@needs_torch
def test_mha_train_eval_dropout(device):
    # dropout 0 in train mode: exactly PyTorch's; eval mode ignores the layer's dropout
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, dropout=0.0), X, train=True, device=device)
    check_mha(lambda nn: nn.MultiheadAttention(8, 2, dropout=0.5), X, train=False, device=device)
    m = tnn.MultiheadAttention(8, 2, dropout=0.5).to(device)
    x = taimatsu.tensor(X, device=device)
    taimatsu.manual_seed(1)
    a = m(x, x, x)[0]
    taimatsu.manual_seed(2)
    b = m(x, x, x)[0]
    assert not np.allclose(to_np(a), to_np(b))
    # dropped-out weights: each kept probability doubled, the dropped ones zero
    w = to_np(m(x, x, x, average_attn_weights=False)[1])
    m.eval()
    w_eval = to_np(m(x, x, x, average_attn_weights=False)[1])
    assert np.all(np.isclose(w, 0) | np.isclose(w, 2 * w_eval, rtol=1e-5))


def test_mha_init_and_names():
    m = tnn.MultiheadAttention(8, 2, add_bias_kv=True)
    assert list(dict(m.named_parameters())) == ["in_proj_weight", "in_proj_bias", "bias_k",
                                                "bias_v", "out_proj.weight", "out_proj.bias"]
    assert np.all(to_np(m.in_proj_bias) == 0) and np.all(to_np(m.out_proj.bias) == 0)
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform over the packed (24, 8) weight
    w = to_np(m.in_proj_weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    s = tnn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert s._qkv_same_embed_dim is False and s.in_proj_weight is None
    assert [n for n, _ in s.named_parameters()] == ["q_proj_weight", "k_proj_weight",
                                                   "v_proj_weight", "out_proj.weight"]
    assert tuple(s.k_proj_weight.shape) == (8, 3) and s.out_proj.bias is None


def test_mha_bad_input(device):
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        tnn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim=0 and num_heads=2"):
        tnn.MultiheadAttention(0, 2)
    m = tnn.MultiheadAttention(8, 2).to(device)
    x = taimatsu.tensor(X, device=device)
    before = to_np(m.in_proj_weight).copy()
    with pytest.raises(RuntimeError, match=r"2D attn_mask is .*\[4, 5\].*should be \(4, 4\)"):
        m(x, x, x, attn_mask=taimatsu.zeros(4, 5, device=device))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is .*\[3, 4, 4\].*should be "
                       r"\(4, 4, 4\)"):
        m(x, x, x, attn_mask=taimatsu.zeros(3, 4, 4, device=device))
    with pytest.raises(AssertionError, match="expected `attn_mask` to be `None`, 2-D or 3-D"):
        m(x, x, x, attn_mask=taimatsu.zeros(1, 1, 4, 4, device=device))
    with pytest.raises(AssertionError, match=r"key_padded_mask.shape\[1\] to be 4, but got 3"):
        m(x, x, x, key_padding_mask=taimatsu.zeros(2, 3, dtype=taimatsu.bool, device=device))
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask"):
        m(x, x, x, key_padding_mask=taimatsu.zeros(2, 4, dtype=taimatsu.int64, device=device))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        m(x[..., :6], x[..., :6], x[..., :6])
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        m(x, x[0], x[0])
    assert np.array_equal(to_np(m.in_proj_weight), before) and m.in_proj_weight.grad is None


@needs_torch
def test_mha_warns_on_mismatched_masks():
    m = tnn.MultiheadAttention(8, 2)
    x = taimatsu.tensor(X)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        m(x, x, x, key_padding_mask=taimatsu.tensor(KPM), attn_mask=taimatsu.zeros(4, 4))


@needs_torch
def test_multi_head_attention_forward_static_kv(device):
    """The functional form with PyTorch's signature, including static_k / static_v."""
    tm, pm = pair(lambda nn: nn.MultiheadAttention(8, 2), device=device)
    sk, sv = rand(4, 6, 4, seed=1), rand(4, 6, 4, seed=2)

    def run(T, x, sk, sv):
        m = tm if T is taimatsu else pm
        return T.nn.functional.multi_head_attention_forward(
            x, x, x, 8, 2, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
            m.out_proj.weight, m.out_proj.bias, training=True, static_k=sk, static_v=sv)

    compare(run, X, sk, sv, device=device)
