"""Embedding, EmbeddingBag and one_hot against PyTorch; the lookup's gradient gradchecked."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as TF
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

INDEX = np.array([[1, 2, 2, 9], [0, 1, 1, 1], [4, 4, 4, 4]])  # repeated indices accumulate


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"padding_idx": -1},
                                {"scale_grad_by_freq": True},
                                {"scale_grad_by_freq": True, "padding_idx": 4}])
def test_embedding_matches_pytorch(kw, device):
    compare(lambda T, w, i: T.nn.functional.embedding(i, w, **kw), rand(10, 3), INDEX,
            device=device)


@needs_torch
def test_sparse_true_gives_the_dense_gradient(device):
    def dense(T, w, i):
        return T.nn.functional.embedding(i, w, sparse=T is taimatsu)

    compare(dense, rand(10, 3), INDEX, device=device)


@needs_torch
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3, 2)])
def test_embedding_index_shapes(shape, device):
    idx = np.random.default_rng(0).integers(0, 6, shape)
    compare(lambda T, w, i: T.nn.functional.embedding(i, w), rand(6, 4), idx, device=device)
    compare(lambda T, w, i: T.nn.functional.embedding(i, w), rand(6, 4), idx.astype(np.int32),
            device=device, non_contiguous=True)


@needs_torch
@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_max_norm_renormalises_rows_in_place(max_norm, norm_type, device):
    w0 = rand(10, 3, low=-2, high=2)
    res = []
    for lib in (taimatsu, torch):
        w = lib.tensor(w0.copy(), requires_grad=True)
        if lib is taimatsu:
            w = w.to(device).detach().requires_grad_()
        idx = lib.tensor(INDEX) if lib is torch else taimatsu.tensor(INDEX, device=device)
        out = lib.nn.functional.embedding(idx, w, max_norm=max_norm, norm_type=norm_type)
        out.pow(2).sum().backward()
        res.append([to_np(out), to_np(w), to_np(w.grad)])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    untouched = [r for r in range(10) if r not in INDEX]
    np.testing.assert_array_equal(res[0][1][untouched], w0[untouched])


def test_embedding_gradcheck(device):
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: not derivatives)
    gradcheck(lambda w: TF.embedding(taimatsu.tensor(INDEX, device=device), w), rand(10, 3),
              device=device)


def test_scaled_gradient_is_differentiable(device):
    w = taimatsu.tensor(rand(10, 3, dtype=np.float64), device=device, requires_grad=True)
    idx = taimatsu.tensor(INDEX, device=device)
    out = TF.embedding(idx, w, padding_idx=2, scale_grad_by_freq=True)
    (g,) = taimatsu.autograd.grad(out.pow(2).sum(), w, create_graph=True)
    (gg,) = taimatsu.autograd.grad(g.sum(), w)
    # The scaled gradient is 2 w[r] on every used row but the padding one: its derivative 2.
    want = np.zeros((10, 3))
    want[np.unique(INDEX)] = 2.0
    want[2] = 0.0
    np.testing.assert_allclose(to_np(gg), want)
    if torch is not None:  # PyTorch agrees
        wp = torch.tensor(to_np(w), requires_grad=True)
        outp = torch.nn.functional.embedding(torch.tensor(INDEX), wp, padding_idx=2,
                                             scale_grad_by_freq=True)
        (gp,) = torch.autograd.grad(outp.pow(2).sum(), wp, create_graph=True)
        np.testing.assert_allclose(to_np(g), gp.detach().numpy())
        np.testing.assert_allclose(to_np(gg), torch.autograd.grad(gp.sum(), wp)[0].numpy())


@needs_torch
def test_embedding_module_and_from_pretrained():
    torch.manual_seed(0)
    pm = torch.nn.Embedding(10, 3, padding_idx=-2, max_norm=1.5)
    tm = tnn.Embedding(10, 3, padding_idx=-2, max_norm=1.5)
    assert repr(tm) == repr(pm) and tm.padding_idx == 8
    np.testing.assert_array_equal(to_np(tm.weight[8]), np.zeros(3))
    assert list(tm.state_dict()) == ["weight"]
    tm.load_state_dict({"weight": taimatsu.tensor(pm.weight.detach().numpy())})
    idx = np.array([[8, 1], [3, 3]])
    np.testing.assert_allclose(to_np(tm(taimatsu.tensor(idx))),
                               pm(torch.tensor(idx)).detach().numpy(), rtol=1e-6)
    table = taimatsu.randn(4, 2)
    frozen = tnn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.weight.shape == (4, 2)
    np.testing.assert_array_equal(to_np(frozen(taimatsu.tensor([3]))), to_np(table[3:]))
    trainable = tnn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dim"):
        tnn.Embedding.from_pretrained(taimatsu.randn(4))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        tnn.Embedding(3, 2, padding_idx=3)


def test_embedding_bad_index_raises_and_changes_nothing():
    emb = tnn.Embedding(5, 2, max_norm=0.1)
    before = to_np(emb.weight).copy()
    with pytest.raises(IndexError, match="index 5 is out of range for an embedding table of 5 "
                                         "rows"):
        emb(taimatsu.tensor([[0, 5]]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(taimatsu.tensor([-1, 2]))
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices' to have "
                                           "one of the following scalar types: Long, Int; but "
                                           "got torch.FloatTensor instead"):
        emb(taimatsu.tensor([0.0, 1.0]))
    np.testing.assert_array_equal(to_np(emb.weight), before)  # no renorm happened


# -------------------------------------------------------------------------- EmbeddingBag
BAG_INPUT = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0])
BAG_OFFSETS = np.array([0, 2, 2, 5])  # bags [0, 2), [2, 2) (empty), [2, 5), [5, 10)


@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                {"include_last_offset": True}])
def test_embedding_bag_offsets(mode, kw, device):
    offsets = np.append(BAG_OFFSETS, len(BAG_INPUT)) if kw.get("include_last_offset") else \
        BAG_OFFSETS
    compare(lambda T, w, i, o: T.nn.functional.embedding_bag(i, w, o, mode=mode, **kw),
            rand(10, 3), BAG_INPUT, offsets, device=device)


@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_input(mode, device):
    compare(lambda T, w, i: T.nn.functional.embedding_bag(i, w, mode=mode, padding_idx=4),
            rand(10, 3), INDEX, device=device)



@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq(mode, device):
    # NOTE: PyTorch 2.13's embedding_bag scales by wrong counts (index 9, seen once, gets 1/4);
    # the reference is its documented meaning: embedding's scaling, then the bag reduction.
    def run(T, w, i):
        if T is torch:
            rows = T.nn.functional.embedding(i, w, scale_grad_by_freq=True)
            return rows.sum(1) if mode == "sum" else rows.mean(1)
        return T.nn.functional.embedding_bag(i, w, mode=mode, scale_grad_by_freq=True)

    compare(run, rand(10, 3), INDEX, device=device)


@needs_torch
def test_embedding_bag_per_sample_weights(device):
    compare(lambda T, w, i, o, p: T.nn.functional.embedding_bag(
        i, w, o, mode="sum", per_sample_weights=p, padding_idx=0),
        rand(10, 3), BAG_INPUT, BAG_OFFSETS, rand(10, seed=2), device=device)


def test_embedding_bag_gradcheck(device):
    idx, off = taimatsu.tensor(BAG_INPUT, device=device), taimatsu.tensor(BAG_OFFSETS,
                                                                           device=device)
    for mode in ("sum", "mean", "max"):
        gradcheck(lambda w, mode=mode: TF.embedding_bag(idx, w, off, mode=mode, padding_idx=2),
                  rand(10, 3), device=device)
    gradcheck(lambda w, p: TF.embedding_bag(idx, w, off, mode="sum", per_sample_weights=p),
              rand(10, 3), rand(10, seed=1), device=device)


@needs_torch
def test_embedding_bag_module():
    torch.manual_seed(0)
    pm = torch.nn.EmbeddingBag(10, 3, mode="max", padding_idx=-3)
    tm = tnn.EmbeddingBag(10, 3, mode="max", padding_idx=-3)
    assert repr(tm) == repr(pm) and tm.padding_idx == 7
    tm.load_state_dict({"weight": taimatsu.tensor(pm.weight.detach().numpy())})
    got = tm(taimatsu.tensor(BAG_INPUT), taimatsu.tensor(BAG_OFFSETS))
    want = pm(torch.tensor(BAG_INPUT), torch.tensor(BAG_OFFSETS))
    np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=1e-6)
    bag = tnn.EmbeddingBag.from_pretrained(taimatsu.randn(4, 2), mode="sum")
    assert not bag.weight.requires_grad and bag.mode == "sum"


def test_embedding_bag_errors():
    w = taimatsu.randn(10, 3)
    idx, off = taimatsu.tensor(BAG_INPUT), taimatsu.tensor(BAG_OFFSETS)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for "
                                                  "mode='sum' \\(got mode='mean'\\)"):
        TF.embedding_bag(idx, w, off, per_sample_weights=taimatsu.ones(10))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        TF.embedding_bag(idx, w)
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        TF.embedding_bag(taimatsu.tensor(INDEX), w, off)
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        TF.embedding_bag(idx, w, off, mode="min")
    with pytest.raises(ValueError, match="max mode does not support scaling the gradient"):
        TF.embedding_bag(idx, w, off, mode="max", scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        TF.embedding_bag(idx, w, taimatsu.tensor([1, 3]))
    with pytest.raises(IndexError, match="index 10 is out of range for an embedding table of 10"):
        TF.embedding_bag(taimatsu.tensor([10, 1]), w, taimatsu.tensor([0]))


# ------------------------------------------------------------------------------ one_hot
@needs_torch
@pytest.mark.parametrize("num_classes", [-1, 12])
@pytest.mark.parametrize("shape", [(), (7,), (2, 3)])
def test_one_hot_matches_pytorch(shape, num_classes, device):
    idx = np.random.default_rng(0).integers(0, 10, shape)
    compare(lambda T, i: T.nn.functional.one_hot(i, num_classes), idx, device=device)


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
        TF.one_hot(taimatsu.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        TF.one_hot(taimatsu.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="Class values must be non-negative."):
        TF.one_hot(taimatsu.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="Can not infer total number of classes"):
        TF.one_hot(taimatsu.tensor([], dtype=taimatsu.int64))
    assert tuple(TF.one_hot(taimatsu.tensor([], dtype=taimatsu.int64), 4).shape) == (0, 4)
