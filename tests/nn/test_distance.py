"""Distances (pairwise_distance, cosine_similarity, pdist and their Modules) against PyTorch,
float64 gradcheck and gradgradcheck, and error cases."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as F
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np

# (x1 shape, x2 shape): batched, unbatched, broadcast, 0-d and empty.
PAIR_SHAPES = [((4, 5), (4, 5)), ((5,), (5,)), ((4, 5), (5,)), ((4, 1), (4, 3)),
               ((2, 3, 4), (2, 3, 4)), ((), ()), ((0, 3), (0, 3))]


@needs_torch
@pytest.mark.parametrize("shapes", PAIR_SHAPES, ids=str)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), 0.5])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(shapes, p, keepdim, device):
    if shapes == ((0, 3), (0, 3)) and p == float("inf"):
        pytest.skip("an inf-norm of an empty dim has no identity (PyTorch raises too)")
    a, b = shapes
    compare(lambda T, x, y: T.nn.functional.pairwise_distance(x, y, p, 1e-6, keepdim),
            np.asarray(rand(*a)), np.asarray(rand(*b, seed=1)), device=device)


@needs_torch
def test_pairwise_distance_eps_and_non_contiguous(device):
    compare(lambda T, x, y: T.nn.functional.pairwise_distance(x, y, eps=0.1), rand(3, 4),
            rand(3, 4, seed=1), device=device, non_contiguous=True)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_pairwise_distance_gradcheck(p, device):
    gradcheck(lambda x, y: F.pairwise_distance(x, y, p), rand(3, 4), rand(3, 4, seed=1),
              device=device)
    gradcheck(lambda x, y: F.pairwise_distance(x, y, p, keepdim=True), rand(4), rand(4, seed=1),
              device=device)


@needs_torch
@pytest.mark.parametrize("shapes,dim", [(((4, 5), (4, 5)), 1), (((5,), (5,)), 0),
                                        (((4, 5), (4, 5)), 0), (((2, 3), (2, 1, 3)), -1),
                                        (((2, 3, 4), (2, 3, 4)), 1), (((0, 3), (0, 3)), 1)],
                         ids=str)
def test_cosine_similarity_matches_torch(shapes, dim, device):
    a, b = shapes
    compare(lambda T, x, y: T.nn.functional.cosine_similarity(x, y, dim), rand(*a),
            rand(*b, seed=1), device=device)
    compare(lambda T, x, y: T.nn.functional.cosine_similarity(x, y, dim, eps=0.5), rand(*a),
            rand(*b, seed=1), device=device)


@needs_torch
def test_cosine_similarity_tiny_norms_pass_gradient_unclamped(device):
    # PyTorch clamps the norms in place under no_grad: the gradient is not cut at eps.
    x = np.full((2, 3), 1e-9, dtype=np.float64)
    x[1] = 0.0
    compare(lambda T, x, y: T.nn.functional.cosine_similarity(x, y), x,
            np.ones((2, 3)), device=device, rtol=1e-6)


@needs_torch
def test_cosine_similarity_non_contiguous(device):
    compare(lambda T, x, y: T.nn.functional.cosine_similarity(x, y, dim=0), rand(3, 4),
            rand(3, 4, seed=1), device=device, non_contiguous=True)


def test_cosine_similarity_gradcheck(device):
    gradcheck(lambda x, y: F.cosine_similarity(x, y), rand(3, 4), rand(3, 4, seed=1),
              device=device)
    gradcheck(lambda x, y: F.cosine_similarity(x, y, dim=-1), rand(2, 3), rand(1, 3, seed=1),
              device=device)


@needs_torch
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("n", [5, 1, 0])
def test_pdist_matches_torch(p, n, device):
    # (PyTorch 2.13's pdist backward crashes the process on 0 rows: forward only there)
    compare(lambda T, x: T.nn.functional.pdist(x, p), rand(n, 3), device=device, grad=n > 0)


@needs_torch
def test_pdist_duplicate_rows_and_non_contiguous(device):
    x = rand(4, 3)
    x[2] = x[0]  # a zero distance: PyTorch's gradient there is 0
    compare(lambda T, x: T.nn.functional.pdist(x), x, device=device)
    compare(lambda T, x: T.nn.functional.pdist(x), rand(3, 4), device=device,
            non_contiguous=True)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_pdist_gradcheck(p, device):
    gradcheck(lambda x: F.pdist(x, p), rand(4, 3), device=device)


@needs_torch
def test_distance_modules_match_torch(device):
    import torch

    for make in (lambda nn: nn.PairwiseDistance(), lambda nn: nn.PairwiseDistance(1.0, 0.1, True),
                 lambda nn: nn.CosineSimilarity(), lambda nn: nn.CosineSimilarity(0, 1e-3)):
        assert repr(make(tnn)) == repr(make(torch.nn))
        compare(lambda T, x, y, make=make: make(T.nn)(x, y), rand(3, 4), rand(3, 4, seed=1),
                device=device)
    m = tnn.PairwiseDistance(p=3.0, eps=0.5, keepdim=True)
    assert (m.norm, m.eps, m.keepdim) == (3.0, 0.5, True)
    m = tnn.CosineSimilarity(dim=2, eps=0.1)
    assert (m.dim, m.eps) == (2, 0.1)


def test_distance_errors(device):
    def t(*shape):
        return taimatsu.tensor(rand(*shape), device=device)

    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(t(2, 3, 1))
    with pytest.raises(RuntimeError, match="pdist only supports non-negative p values"):
        F.pdist(t(2, 3), -1.0)
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet "
                                           "common dtype is Long"):
        F.cosine_similarity(taimatsu.arange(3, device=device), taimatsu.arange(3, device=device),
                            dim=0)
    with pytest.raises(RuntimeError, match="must match the size"):
        F.cosine_similarity(t(2, 3), t(2, 4))
    with pytest.raises(RuntimeError, match="must match the size"):
        F.pairwise_distance(t(2, 3), t(2, 4))
    x = t(3, 4).requires_grad_()
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.cosine_similarity(x, x, dim=2)
    assert x.grad is None
    np.testing.assert_array_equal(to_np(x), rand(3, 4))
