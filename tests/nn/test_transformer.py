"""Transformer layers and stacks against PyTorch from identical weights (loaded by state-dict
key): outputs, input and parameter gradients, masks, norm_first, activations, train vs eval."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
from tests.helpers import compare, needs_torch, rand, to_np, torch
from tests.nn.attention_helpers import check_param_grads, pair

pytestmark = needs_torch

SRC = rand(5, 2, 16, seed=1)  # (S, N, E)
TGT = rand(4, 2, 16, seed=2)
KPM = np.array([[False, False, False, True, True], [False] * 5])


def check(make, *arrays, train=False, device="cpu", call=None, atol=1e-5, **kw):
    tm, pm = pair(make, train, device)

    def run(T, *xs):
        m = tm if T is taimatsu else pm
        return (call or (lambda m, *xs: m(*xs, **kw)))(m, *xs)

    compare(run, *arrays, device=device, atol=atol)
    check_param_grads(tm, pm)


def enc_layer(**kw):
    return lambda nn: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, **kw)


def dec_layer(**kw):
    return lambda nn: nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0, **kw)


# ------------------------------------------------------------------ layers
@pytest.mark.parametrize("kw", [{}, {"norm_first": True}, {"activation": "gelu"},
                                {"bias": False}, {"layer_norm_eps": 1e-3}],
                         ids=["post", "pre", "gelu", "nobias", "eps"])
def test_encoder_layer(device, kw):
    check(enc_layer(**kw), SRC, device=device)


def test_encoder_layer_callable_activation_and_batch_first(device):
    check(lambda nn: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0,
                                                activation=nn.functional.silu), SRC,
          device=device)
    check(enc_layer(batch_first=True, norm_first=True), np.ascontiguousarray(
        SRC.transpose(1, 0, 2)), device=device)
    check(enc_layer(), SRC[:, 0], device=device)  # unbatched


@pytest.mark.parametrize("mask", ["causal_float", "causal_bool", "kpm", "both"])
def test_encoder_layer_masks(device, mask):
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)

    def call(m, x):
        T = taimatsu if isinstance(m, tnn.Module) else torch
        kw = {}
        if mask in ("causal_float", "both"):
            kw["src_mask"] = T.tensor(causal, device=x.device)
            kw["is_causal"] = True
        if mask == "causal_bool":
            kw["src_mask"] = T.tensor(np.isinf(causal), device=x.device)
        if mask in ("kpm", "both"):
            kw["src_key_padding_mask"] = T.tensor(
                KPM if mask == "kpm" else np.where(KPM, -np.inf, 0).astype(np.float32),
                device=x.device)
        return m(x, **kw)

    check(enc_layer(), SRC, device=device, call=call)


def test_encoder_layer_train_vs_eval(device):
    # dropout 0 in train: exactly PyTorch's; dropout 0.3 in eval: ignored by both
    check(enc_layer(), SRC, train=True, device=device)
    check(lambda nn: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.3), SRC, train=False,
          device=device)
    m = tnn.TransformerEncoderLayer(16, 4, 32, dropout=0.3).to(device)
    x = taimatsu.tensor(SRC, device=device)
    assert not np.allclose(to_np(m(x)), to_np(m(x)))
    m.eval()
    np.testing.assert_array_equal(to_np(m(x)), to_np(m(x)))


@pytest.mark.parametrize("kw", [{}, {"norm_first": True}, {"activation": "gelu"},
                                {"bias": False}], ids=["post", "pre", "gelu", "nobias"])
def test_decoder_layer(device, kw):
    check(dec_layer(**kw), TGT, SRC, device=device)


def test_decoder_layer_masks(device):
    tgt_mask = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    mem_mask = np.random.default_rng(0).random((4, 5)) > 0.7

    def call(m, t, s):
        T = taimatsu if isinstance(m, tnn.Module) else torch
        return m(t, s, tgt_mask=T.tensor(tgt_mask, device=t.device),
                 memory_mask=T.tensor(mem_mask, device=t.device),
                 tgt_key_padding_mask=T.tensor(KPM[:, 1:], device=t.device),
                 memory_key_padding_mask=T.tensor(KPM, device=t.device), tgt_is_causal=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (float tgt_mask with bool padding: both warn)
        check(dec_layer(), TGT, SRC, device=device, call=call)
        check(dec_layer(batch_first=True), np.ascontiguousarray(TGT.transpose(1, 0, 2)),
              np.ascontiguousarray(SRC.transpose(1, 0, 2)), device=device,
              call=lambda m, t, s: m(t, s))


# ------------------------------------------------------------------ stacks
def test_encoder_stack(device):
    def make(nn):
        return nn.TransformerEncoder(enc_layer()(nn), 2, norm=nn.LayerNorm(16))

    check(make, SRC, device=device)
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    check(make, SRC, device=device,
          call=lambda m, x: m(x, mask=(taimatsu if isinstance(m, tnn.Module) else torch)
                              .tensor(mask)))


def test_encoder_nested_tensor_path_zeroes_padding(device):
    """Where PyTorch runs inference on nested tensors, padded positions come back as zeros."""
    tm, pm = pair(lambda nn: nn.TransformerEncoder(enc_layer(batch_first=True)(nn), 2),
                  train=False, device=device)
    x = np.ascontiguousarray(SRC.transpose(1, 0, 2))
    with torch.no_grad():
        ref = pm(torch.tensor(x), src_key_padding_mask=torch.tensor(KPM)).numpy()
    with taimatsu.no_grad():
        ours = to_np(tm(taimatsu.tensor(x, device=device),
                        src_key_padding_mask=taimatsu.tensor(KPM, device=device)))
    assert np.all(ref[0, 3:] == 0) and np.all(ours[0, 3:] == 0)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_decoder_stack(device):
    def make(nn):
        return nn.TransformerDecoder(dec_layer(norm_first=True)(nn), 2, norm=nn.LayerNorm(16))

    check(make, TGT, SRC, device=device)


def test_transformer(device):
    def make(nn):
        return nn.Transformer(16, 4, 2, 1, 32, dropout=0.0)

    mask = taimatsu.nn.Transformer.generate_square_subsequent_mask(4)
    ref = torch.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(to_np(mask), ref.numpy())
    check(make, SRC, TGT, device=device,
          call=lambda m, s, t: m(s, t, tgt_mask=(taimatsu if isinstance(m, tnn.Module)
                                                 else torch).tensor(ref.numpy())))
    check(lambda nn: nn.Transformer(16, 4, 1, 1, 32, dropout=0.0, batch_first=True,
                                    norm_first=True, activation="gelu"),
          np.ascontiguousarray(SRC.transpose(1, 0, 2)),
          np.ascontiguousarray(TGT.transpose(1, 0, 2)), device=device)


def test_transformer_custom_parts_and_init():
    enc = tnn.TransformerEncoder(tnn.TransformerEncoderLayer(16, 4, 32), 1,
                                 enable_nested_tensor=False)
    dec = tnn.TransformerDecoder(tnn.TransformerDecoderLayer(16, 4, 32), 1)
    model = tnn.Transformer(16, 4, custom_encoder=enc, custom_decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    # every matrix re-initialised xavier-uniform, vectors untouched
    w = to_np(model.encoder.layers[0].linear1.weight)
    assert np.abs(w).max() <= np.sqrt(6 / (16 + 32))
    assert np.all(to_np(model.encoder.layers[0].norm1.weight) == 1)
    # the stack's layers are copies, not the same module
    stack = tnn.TransformerEncoder(tnn.TransformerEncoderLayer(16, 4, 32), 2,
                                   enable_nested_tensor=False)
    assert stack.layers[0].linear1.weight is not stack.layers[1].linear1.weight
    m = tnn.Transformer.generate_square_subsequent_mask(3, dtype=taimatsu.float64)
    assert m.dtype == taimatsu.float64


def test_enable_nested_tensor_warning():
    with pytest.warns(UserWarning, match="use_nested_tensor is False because encoder_layer."
                      "norm_first was True"):
        tnn.TransformerEncoder(tnn.TransformerEncoderLayer(16, 4, 32, norm_first=True), 1)


def test_bad_input():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        tnn.TransformerEncoderLayer(16, 4, activation="tanh")
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        tnn.TransformerEncoderLayer(16, 3)
    model = tnn.Transformer(16, 4, 1, 1, 32)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(taimatsu.zeros(5, 2, 16), taimatsu.zeros(4, 3, 16))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        model(taimatsu.zeros(5, 2, 16), taimatsu.zeros(4, 2, 8))
    layer = tnn.TransformerEncoderLayer(16, 4, 32)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is .*\[5, 4\].*should be \(5, 5\)"):
        layer(taimatsu.zeros(5, 2, 16), src_mask=taimatsu.zeros(5, 4))
