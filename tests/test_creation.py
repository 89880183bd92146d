"""Tensor creation, random streams and ``manual_seed``."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch, to_np, torch


def test_tensor_infers_pytorch_dtypes(device):
    assert taimatsu.tensor([1, 2], device=device).dtype is taimatsu.int64
    assert taimatsu.tensor([1.0, 2], device=device).dtype is taimatsu.float32
    assert taimatsu.tensor([True, False], device=device).dtype is taimatsu.bool
    assert taimatsu.tensor(np.zeros(2), device=device).dtype is taimatsu.float64
    assert taimatsu.tensor(3, device=device).shape == ()
    assert taimatsu.tensor([], device=device).shape == (0,)
    assert taimatsu.tensor([[1, 2], [3, 4]], dtype=taimatsu.float16, device=device).dtype \
        is taimatsu.float16


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t = taimatsu.tensor(a)
    s = taimatsu.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0 if hasattr(t, "__getitem__") else True
    assert s.numpy()[0] == 5
    s.add_(1)
    assert a[1] == 1


def test_as_tensor_shares_when_it_can():
    a = np.ones(3, dtype=np.float32)
    t = taimatsu.as_tensor(a)
    a[0] = 7
    assert t.numpy()[0] == 7
    assert taimatsu.as_tensor([1, 2]).dtype is taimatsu.int64


def test_tensor_from_list_of_tensors():
    t = taimatsu.tensor([taimatsu.tensor(1.0), taimatsu.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0]


def test_bad_data():
    with pytest.raises(TypeError):
        taimatsu.tensor("abc")
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        taimatsu.zeros(2, -1)


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
def test_filled(device, fn):
    t = getattr(taimatsu, fn)(2, 3, device=device)
    assert t.shape == (2, 3) and t.dtype is taimatsu.float32 and t.device == taimatsu.device(device)
    t2 = getattr(taimatsu, fn)((2, 3), dtype=taimatsu.int64, device=device, requires_grad=False)
    assert t2.dtype is taimatsu.int64
    like = getattr(taimatsu, fn + "_like")(t2)
    assert like.shape == (2, 3) and like.dtype is taimatsu.int64


def test_full_and_like(device):
    assert taimatsu.full((2,), 7, device=device).dtype is taimatsu.int64
    assert taimatsu.full((2,), 7.0, device=device).dtype is taimatsu.float32
    assert to_np(taimatsu.full_like(taimatsu.zeros(2, device=device), 3)).tolist() == [3.0, 3.0]


def test_requires_grad_keyword(device):
    t = taimatsu.zeros(2, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_arange_linspace_eye(device):
    assert to_np(taimatsu.arange(5, device=device)).tolist() == [0, 1, 2, 3, 4]
    assert taimatsu.arange(5).dtype is taimatsu.int64
    assert taimatsu.arange(0, 1, 0.25).dtype is taimatsu.float32
    np.testing.assert_allclose(to_np(taimatsu.arange(0, 1, 0.25, device=device)),
                               [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(to_np(taimatsu.linspace(0, 1, 5, device=device)),
                               np.linspace(0, 1, 5))
    np.testing.assert_array_equal(to_np(taimatsu.eye(3, 2, device=device)), np.eye(3, 2))
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        taimatsu.arange(0, 1, 0)


def test_manual_seed_reproduces_streams(device):
    taimatsu.manual_seed(42)
    a = to_np(taimatsu.randn(5, device=device))
    b = to_np(taimatsu.rand(5, device=device))
    taimatsu.manual_seed(42)
    np.testing.assert_array_equal(a, to_np(taimatsu.randn(5, device=device)))
    np.testing.assert_array_equal(b, to_np(taimatsu.rand(5, device=device)))
    taimatsu.manual_seed(43)
    assert not np.array_equal(a, to_np(taimatsu.randn(5, device=device)))


def test_random_ranges(device):
    r = to_np(taimatsu.randint(3, 7, (1000,), device=device))
    assert r.min() >= 3 and r.max() < 7 and r.dtype == np.int64
    assert to_np(taimatsu.randint(5, (3,), device=device)).max() < 5
    p = to_np(taimatsu.randperm(10, device=device))
    assert sorted(p.tolist()) == list(range(10))
    u = to_np(taimatsu.rand(1000, device=device))
    assert u.min() >= 0 and u.max() < 1
    n = to_np(taimatsu.normal(2.0, 3.0, (20000,), device=device))
    assert abs(n.mean() - 2.0) < 0.1 and abs(n.std() - 3.0) < 0.1
    mean = taimatsu.zeros(3, device=device)
    assert taimatsu.normal(mean, 1.0).shape == (3,)


def test_inplace_fills(device):
    t = taimatsu.empty(1000, device=device)
    t.normal_(1.0, 2.0)
    assert abs(to_np(t).mean() - 1.0) < 0.3
    t.uniform_(-2, -1)
    assert to_np(t).min() >= -2 and to_np(t).max() < -1
    t.fill_(3)
    assert set(to_np(t).tolist()) == {3.0}
    t.zero_()
    assert to_np(t).sum() == 0


def test_random_fill_on_leaf_requiring_grad_fails(device):
    w = taimatsu.zeros(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.normal_()
    with taimatsu.no_grad():
        w.normal_()
    assert to_np(w).std() > 0


def test_fill_with_tensor_value_is_differentiable(device):
    v = taimatsu.tensor(2.0, device=device, requires_grad=True)
    x = taimatsu.zeros(3, device=device)
    x.fill_(v)
    x.sum().backward()
    assert v.grad.item() == 3.0


def test_new_methods(device):
    t = taimatsu.ones(2, dtype=taimatsu.float64, device=device)
    assert t.new_zeros(3).dtype is taimatsu.float64 and t.new_zeros(3).shape == (3,)
    assert t.new_ones((2, 2)).shape == (2, 2)
    assert t.new_full((2,), 4).tolist() == [4.0, 4.0]
    assert t.new_tensor([1, 2]).dtype is taimatsu.float64


def test_dlpack_round_trip():
    t = taimatsu.arange(4)
    u = taimatsu.from_dlpack(t.numpy())
    assert u.tolist() == [0, 1, 2, 3]


# ------------------------------------------------------------------ draws, limits, legacy types
def test_multinomial_frequencies_and_shapes():
    taimatsu.manual_seed(0)
    p = taimatsu.tensor([0.1, 0.2, 0.7])
    draws = taimatsu.multinomial(p, 20000, replacement=True)
    assert draws.dtype is taimatsu.int64 and draws.shape == (20000,)
    freq = np.bincount(draws.numpy(), minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.015)
    rows = taimatsu.tensor([[1.0, 0.0, 3.0, 0.0], [0.0, 2.0, 0.0, 2.0]])
    picks = rows.multinomial(2)
    assert picks.shape == (2, 2)
    for r, row in enumerate(picks.tolist()):  # without replacement: distinct, non-zero weights
        assert len(set(row)) == 2 and all(rows[r, i].item() > 0 for i in row)


def test_multinomial_without_replacement_follows_successive_draws():
    # P(first = 0) = 0.5 and P(second = 0 | first = 1) = 0.5 / 0.7 for weights (0.5, 0.3, 0.2).
    taimatsu.manual_seed(1)
    picks = taimatsu.multinomial(taimatsu.tensor([[0.5, 0.3, 0.2]]).expand(20000, 3), 2).numpy()
    assert abs((picks[:, 0] == 0).mean() - 0.5) < 0.015
    second = picks[picks[:, 0] == 1, 1]
    assert abs((second == 0).mean() - 0.5 / 0.7) < 0.03


@pytest.mark.parametrize("weights, n, replacement, match", [
    ([0.0, 0.0], 1, True, r"invalid multinomial distribution \(sum of probabilities <= 0\)"),
    ([-1.0, 2.0], 1, True, "probability tensor contains either `inf`, `nan` or element < 0"),
    ([1.0, float("nan")], 1, True, "probability tensor contains"),
    ([1.0, 2.0], 3, False, "cannot sample n_sample > prob_dist.size"),
    ([[[1.0]]], 1, True, "prob_dist must be 1 or 2 dim"),
])
def test_multinomial_errors(weights, n, replacement, match):
    for lib in (taimatsu, torch) if torch is not None else (taimatsu,):
        with pytest.raises(RuntimeError, match=match):
            lib.multinomial(lib.tensor(weights), n, replacement)


def test_bernoulli_and_distribution_fills():
    taimatsu.manual_seed(0)
    assert taimatsu.bernoulli(taimatsu.tensor([0.0, 1.0])).tolist() == [0.0, 1.0]
    x = taimatsu.full((20000,), 0.3).bernoulli()
    assert abs(x.mean().item() - 0.3) < 0.015 and x.dtype is taimatsu.float32
    g = taimatsu.zeros(20000, dtype=taimatsu.float64).geometric_(0.25)
    assert g.min().item() >= 1 and abs(g.mean().item() - 4.0) < 0.15
    ln = taimatsu.zeros(20000, dtype=taimatsu.float64).log_normal_(0.0, 0.5)
    assert abs(ln.log().mean().item()) < 0.02 and abs(ln.log().std().item() - 0.5) < 0.02
    c = taimatsu.zeros(20000, dtype=taimatsu.float64).cauchy_(1.0, 2.0)
    assert abs(c.median().item() - 1.0) < 0.1  # (a Cauchy has no mean: test its median)


@pytest.mark.parametrize("fill, match", [
    (lambda t: t.geometric_(0), r"geometric_ expects p to be in \(0, 1\), but got p=0"),
    (lambda t: t.geometric_(1.5), "geometric_ expects p to be in"),
    (lambda t: t.log_normal_(std=-1), "log_normal_ expects std > 0.0, but found std=-1"),
    (lambda t: t.cauchy_(sigma=-1), "cauchy_ expects sigma > 0.0, but found sigma=-1"),
    (lambda t: t.exponential_(-1), "exponential_ expects lambda > 0.0, but found lambda=-1"),
])
def test_distribution_fills_refuse_bad_parameters(fill, match):
    for lib in (taimatsu, torch) if torch is not None else (taimatsu,):
        t = lib.zeros(3)
        with pytest.raises(RuntimeError, match=match):
            fill(t)
        assert t.tolist() == [0.0, 0.0, 0.0]


@needs_torch
@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_pytorch(name):
    ours, theirs = taimatsu.finfo(getattr(taimatsu, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs)
    assert taimatsu.finfo().dtype == "float32"


@needs_torch
@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_pytorch(name):
    ours, theirs = taimatsu.iinfo(getattr(taimatsu, name)), torch.iinfo(getattr(torch, name))
    assert (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min,
                                                          theirs.dtype)


def test_finfo_iinfo_refuse_the_other_kind():
    with pytest.raises(TypeError, match="requires a floating point input type"):
        taimatsu.finfo(taimatsu.int32)
    with pytest.raises(TypeError, match="requires an integer input type"):
        taimatsu.iinfo(taimatsu.float32)


@pytest.mark.parametrize("name, dtype", [("FloatTensor", "float32"), ("LongTensor", "int64"),
                                         ("BoolTensor", "bool"), ("ByteTensor", "uint8"),
                                         ("DoubleTensor", "float64")])
def test_legacy_constructors(name, dtype):
    cls = getattr(taimatsu, name)
    data = cls([1, 0])
    assert data.dtype is getattr(taimatsu, dtype) and data.tolist() == [1, 0]
    assert cls(2, 3).shape == (2, 3) and cls().shape == (0,)
    assert isinstance(data, cls) and isinstance(data, taimatsu.Tensor)
    other = taimatsu.FloatTensor if name != "FloatTensor" else taimatsu.LongTensor
    assert not isinstance(data, other)


@needs_torch
@pytest.mark.parametrize("index", [(slice(1, None),), (slice(1, None), slice(2, None)),
                                   (1,), (Ellipsis, 3)])
def test_storage_offset_matches_pytorch(index):
    a = np.arange(12.0).reshape(3, 4)
    assert taimatsu.tensor(a)[index].storage_offset() == torch.tensor(a)[index].storage_offset()
