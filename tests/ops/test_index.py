"""Indexing: x[key] get and set, masked_*, gather/scatter, index_*, take, nonzero."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

X = rand(3, 4, 5)
M2 = np.array([[True, False, True, False], [False, False, True, True], [True, True, False,
                                                                          False]])
M45 = np.random.default_rng(0).random((4, 5)) > 0.5


def _set(t, key, value):
    """``t[key] = value`` as an expression; returns ``t``."""
    t[key] = value
    return t


def _then(t, fn):
    """Run ``fn(t)`` (an in-place write, maybe through a view of ``t``) and return ``t``."""
    fn(t)
    return t


def _tensor(lib, a):
    return taimatsu.tensor(a) if lib is taimatsu else torch.tensor(a)


# ---------------------------------------------------------------------------- get: basic
BASIC = [
    lambda T, x: x[1],
    lambda T, x: x[-1],
    lambda T, x: x[1, 2],
    lambda T, x: x[1, 2, 3],
    lambda T, x: x[-1, -2, -3],
    lambda T, x: x[1:],
    lambda T, x: x[:, 1:3],
    lambda T, x: x[::2, :, 1::3],
    lambda T, x: x[:, -3:-1, ::4],
    lambda T, x: x[None],
    lambda T, x: x[:, None, 1],
    lambda T, x: x[..., 1],
    lambda T, x: x[1, ..., None, 2],
    lambda T, x: x[..., None],
    lambda T, x: x[...],
    lambda T, x: x[:],
    lambda T, x: x[5:],
    lambda T, x: x[1:100, -100:2],
    lambda T, x: x[2:1],
    lambda T, x: x[(1,)],
    lambda T, x: x[T.tensor(1), 2],
    lambda T, x: x[np.int64(2)],
    lambda T, x: x[T.tensor(0):T.tensor(2)],
]


@pytest.mark.parametrize("fn", BASIC)
def test_getitem_basic(fn, device):
    compare(fn, X, device=device)


@pytest.mark.parametrize("fn", BASIC[:12])
def test_getitem_basic_non_contiguous(fn, device):
    compare(fn, X, device=device, non_contiguous=True)


def test_basic_index_is_a_view(device):
    x = taimatsu.tensor(X, device=device)
    for key in [1, (1, 2, 3), (slice(None), None, slice(1, 3)), Ellipsis, slice(None, None, 2)]:
        v = x[key]
        assert v._base is x
        before = x._version_counter
        v.mul_(2)  # writes through into x
        assert x._version_counter == before + 1
    expect = X.copy()
    expect[1] *= 2
    expect[1, 2, 3] *= 2
    expect[:, 1:3] *= 2
    expect *= 2
    expect[::2] *= 2
    np.testing.assert_allclose(to_np(x), expect, rtol=1e-6)


def test_all_ints_give_a_0d_view(device):
    x = taimatsu.tensor(X, device=device)
    v = x[1, 2, 3]
    assert v.shape == () and v._base is x
    v.add_(1)
    assert np.isclose(x[1, 2, 3].item(), X[1, 2, 3] + 1)


def test_view_of_view_composes(device):
    x = taimatsu.tensor(X, device=device)
    v = x[1:][:, ::2][0, 1]
    assert v._base is x
    v.zero_()
    assert np.all(to_np(x)[1, 2] == 0)


# ---------------------------------------------------------------------------- get: advanced
IDX = np.array([2, 0, 2])  # a repeated index: the gradient accumulates
IDX2 = np.array([[0, 1], [2, 2]])
MASK0 = np.array([True, False, True])


ADVANCED = [
    lambda T, x: x[[0, 2]],
    lambda T, x: x[[2, 0, 2]],
    lambda T, x: x[[-1, 0]],
    lambda T, x: x[np.array([1, 2])],
    lambda T, x: x[[[0, 1], [2, 2]]],  # a nested list is read as a tuple (as PyTorch does)
    lambda T, x: x[1:, None, [0, 2]],
    lambda T, x: x[:, [0, 1], [1, 4]],
    lambda T, x: x[[0, 1], :, [1, 4]],  # non-adjacent: the indexed dim goes first
    lambda T, x: x[0, :, [0, 1]],  # PyTorch applies the int first: shape (4, 2)
    lambda T, x: x[[0, 1], :, 0],
    lambda T, x: x[:, [0, 1], 0],
    lambda T, x: x[None, [0, 1], None, [0, 1]],
    lambda T, x: x[[[0], [1]], [1, 2, 3]],  # broadcast index arrays
    lambda T, x: x[..., [4, 0]],
    lambda T, x: x[[True, False, True]],
    lambda T, x: x[:, [True, False, True, True]],
    lambda T, x: x[M2],
    lambda T, x: x[1, M45],
    lambda T, x: x[:, M2[0]],
    lambda T, x: x[True],
    lambda T, x: x[False],
    lambda T, x: x[[]],
    lambda T, x: x[[0, 1], 1:3, [2, 2]],
    lambda T, x: x[MASK0, :, [1, 3]],
    lambda T, x: x[1::2, [3, 0]][:, 1],
]


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("fn", ADVANCED)
def test_getitem_advanced(fn, device):
    compare(fn, X, device=device)


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("fn", ADVANCED[:10])
def test_getitem_advanced_non_contiguous(fn, device):
    compare(fn, X, device=device, non_contiguous=True)


@pytest.mark.parametrize("index", [IDX, IDX.astype(np.int32), IDX2, np.array(1), MASK0,
                                   np.array([[True, False, True, False]] * 3)])
def test_getitem_tensor_index(index, device):
    compare(lambda T, x, i: x[i], X, index, device=device)
    if index.dtype == bool:
        compare(lambda T, x, i: x[i, None, 1:], X, index, device=device)
    else:
        compare(lambda T, x, i: x[1:, i, None], X, index, device=device)
        compare(lambda T, x, i: x[..., i], X, index, device=device)


def test_getitem_0d_int_tensor_is_a_select_view(device):
    x = taimatsu.tensor(X, device=device)
    v = x[taimatsu.tensor(1)]
    assert v.shape == (4, 5) and v._base is x


def test_getitem_uint8_mask_warns(device):
    x = taimatsu.tensor(X, device=device)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        out = x[taimatsu.tensor(MASK0.astype(np.uint8), device=device)]
    np.testing.assert_array_equal(to_np(out), X[MASK0])


def test_getitem_cpu_index_on_any_device(device):
    x = taimatsu.tensor(X, device=device)
    out = x[taimatsu.tensor([2, 0])]
    assert out.device == x.device
    np.testing.assert_array_equal(to_np(out), X[[2, 0]])


def test_advanced_result_is_a_copy(device):
    x = taimatsu.tensor(X, device=device)
    y = x[[0, 1]]
    assert y._base is None
    y.zero_()
    np.testing.assert_array_equal(to_np(x), X)


def test_index_changed_after_forward_does_not_change_backward(device):
    x = taimatsu.tensor(X, device=device, requires_grad=True)
    i = taimatsu.tensor([0, 0, 1], device=device)
    y = x[i]
    i.zero_()
    y.sum().backward()
    expect = np.zeros_like(X)
    expect[0] = 2
    expect[1] = 1
    np.testing.assert_array_equal(to_np(x.grad), expect)


def test_getitem_0d_and_empty(device):
    s = np.array(2.5, dtype=np.float32)
    for fn in [lambda T, x: x[...], lambda T, x: x[None], lambda T, x: x[True],
               lambda T, x: x[False], lambda T, x: x[None, ..., None]]:
        compare(fn, s, device=device)
    e = np.zeros((0, 3), np.float32)
    for fn in [lambda T, x: x[:, [0, 2]], lambda T, x: x[:, 1], lambda T, x: x[[]],
               lambda T, x: x[1:], lambda T, x: x[np.zeros((0, 3), bool)]]:
        compare(fn, e, device=device)
    compare(lambda T, x: x[np.zeros(3, bool)], X, device=device)


# ---------------------------------------------------------------------------- get: gradcheck
@pytest.mark.parametrize("fn", [
    lambda x: x[1, ::2],
    lambda x: x[None, 1:, 2],
    lambda x: x[[2, 0, 2]],
    lambda x: x[0, :, [0, 1, 1]],
    lambda x: x[:, [True, False, True, True]],
    lambda x: x[MASK0, :, [1, 3]],
    lambda x: x[1::2, [3, 0]][:, 1],
])
def test_getitem_gradcheck(fn, device):
    gradcheck(fn, rand(3, 4, 5, seed=2), device=device)


# ---------------------------------------------------------------------------- get: errors
@pytest.mark.parametrize("key, exc, msg", [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), 7), IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
    (-4, IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
    ((Ellipsis, 0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
    ((Ellipsis, 0, Ellipsis, 1), IndexError, "an index can only have a single ellipsis"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
    (1.5, IndexError, (r"only integers, slices \(`:`\), ellipsis \(`...`\), None and long or "
                      r"byte Variables are valid indices \(got float\)")),
    ("a", IndexError, r"valid indices \(got str\)"),
    ([[5]], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), slice(None), [9]), IndexError,
     "index 9 is out of bounds for dimension 0 with size 5"),
    (([0], [9]), IndexError, "index 9 is out of bounds for dimension 1 with size 4"),
    (np.array([0.5]), IndexError, "tensors used as indices must be long, int, byte or bool"),
    ([True, False], IndexError, (r"The shape of the mask \[2\] at index 0 does not match the "
                                r"shape of the indexed tensor \[3, 4, 5\] at index 0")),
    ((slice(1, None), [True, False]), IndexError,
     (r"mask \[2\] at index 0 does not match the shape of the indexed tensor \[2, 4, 5\] at "
     r"index 1")),
    (np.ones((3, 3), bool), IndexError,
     (r"mask \[3, 3\] at index 1 does not match the shape of the indexed tensor \[3, 4, 5\] at "
     r"index 1")),
    (([0, 1], [0, 1, 2]), IndexError, (r"shape mismatch: indexing tensors could not be "
                                      r"broadcast together with shapes \[2\], \[3\]")),
    (slice(0.5, None), TypeError, "slice indices must be integers"),
    ({}, IndexError, r"\(got dict\)"),
])
def test_getitem_errors(key, exc, msg, device):
    x = taimatsu.tensor(X, device=device)
    with pytest.raises(exc, match=msg):
        x[key]


@pytest.mark.parametrize("shape, key", [
    ((2, 3, 4), (Ellipsis, Ellipsis)),
    ((2, 3, 4), (Ellipsis, 0, Ellipsis)),
    ((2, 3, 4), (0, Ellipsis, Ellipsis)),
    ((2, 3, 4), (Ellipsis, None, Ellipsis)),
    # PyTorch checks bounds only when the result has elements (found by the property test).
    ((1, 2, 1), (Ellipsis, slice(0, 0), [1])),
    ((1, 2, 1), (slice(0, 0), [5])),
    ((2, 0), ([5],)),
    ((0, 3), (slice(None), [7])),
    ((1, 2, 1), ([3], slice(0, 0))),
])
def test_getitem_like_pytorch_where_numpy_differs(shape, key, device):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    compare(lambda T, x: x[key], a, device=device)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("index, dtype, msg", [
    ([0, 3], "int64", "index 3 is out of bounds for dimension 0 with size 3"),
    ([-4, 1], "int32", "index -4 is out of bounds for dimension 0 with size 3"),
    ([[1], [5]], "int64", "index 5 is out of bounds for dimension 0 with size 3"),
])
def test_getitem_tensor_index_out_of_range(index, dtype, msg, requires_grad, device):
    # x[int tensor] gathers without checking bounds first: the error must be PyTorch's anyway,
    # and grad mode must be left as it was.
    x = taimatsu.tensor(X, device=device, requires_grad=requires_grad)
    idx = taimatsu.tensor(index, dtype=getattr(taimatsu, dtype), device=device)
    with pytest.raises(IndexError, match=msg):
        x[idx]
    assert taimatsu.is_grad_enabled()
    assert x._version[0] == 0


def test_getitem_tensor_index_empty_dim(device):
    x = taimatsu.zeros(0, 2, device=device)
    assert x[taimatsu.tensor([], dtype=taimatsu.int64, device=device)].shape == (0, 2)
    with pytest.raises(IndexError, match="out of bounds for dimension"):
        x[taimatsu.tensor([0], device=device)]


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "int16", "int8"])
def test_getitem_bad_index_dtype(dtype, device):
    x = taimatsu.tensor(X, device=device)
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or "
                                         "bool tensors"):
        x[taimatsu.tensor([0], dtype=getattr(taimatsu, dtype), device=device)]


def test_getitem_0d_errors(device):
    s = taimatsu.tensor(1.0, device=device)
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        s[0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        s[[0]]


# ---------------------------------------------------------------------------- set
SET_CASES = [  # (key, value shape or None for a scalar)
    (0, (5,)),
    (0, (1, 1, 5)),  # leading 1-dims are dropped
    ((slice(None), 0), (3, 5)),
    ((slice(None), 0), None),
    ((1, slice(1, 3), slice(None, None, 2)), (2, 3)),
    ((None, 1), (4, 1)),
    (Ellipsis, (5,)),
    ([0, 2], (2, 4, 5)),
    ([0, 2], (5,)),
    ((0, slice(None), [0, 1]), (4, 2)),  # PyTorch's region: the int goes first
    (([0, 1], slice(None), [1, 4]), (2, 4)),
    ((slice(None), [0, 1], [1, 4]), (3, 1)),
    ([True, False, True], (1, 5)),
    (M2, (6, 5)),
    ((1, M2[0]), None),
    ((slice(1, None), [3, 0]), (2, 1, 5)),
]


@pytest.mark.parametrize("key, vshape", SET_CASES)
def test_setitem_forward_and_backward(key, vshape, device):
    x = rand(3, 4, 5, seed=3)
    if vshape is None:
        compare(lambda T, a: _set(a * 1, key, 2.5), x, device=device)
    else:
        w = rand(*vshape, seed=4)
        compare(lambda T, a, w: _set(a * 1, key, w * 2), x, w, device=device)
        # x without history gets it from the value
        compare(lambda T, a, w: _set(a.detach() * 1, key, w * 2), x, w, device=device)


@pytest.mark.parametrize("key, vshape", SET_CASES[::3])
def test_setitem_through_a_view(key, vshape, device):
    x = rand(2, 3, 4, 5, seed=5)
    w = rand(*(vshape or ()), seed=6)
    compare(lambda T, a, w: _then(a * 1, lambda b: _set(b[1], key, w * 2)), x, w,
            device=device)
    compare(lambda T, a, w: _then(a * 1, lambda b: _set(b[:, 1:], (slice(None), 0), w.sum())),
            x, w, device=device)


def _augmented(x, key):
    x[key] += 2.0  # x.__getitem__, then __iadd__ on the result, then x.__setitem__
    return x


@pytest.mark.parametrize("key", [1, (slice(None), 2), [0, 2], MASK0])
def test_setitem_idioms(key, device):
    compare(lambda T, x: _augmented(x * 1, key), X, device=device)
    compare(lambda T, x: _set(x * 1, x > 0, 0.0), X, device=device)
    compare(lambda T, x: _then(x * 1, lambda y: _set(y, y < 0, y[y < 0] * 3)), X, device=device)


def test_setitem_fills_value_grad_from_nothing(device):
    """``x = zeros(3); x[0] = w; x.sum().backward()`` fills w.grad, as in PyTorch."""
    w = taimatsu.tensor(3.0, device=device, requires_grad=True)
    x = taimatsu.zeros(3, device=device)
    x[0] = w
    x[[1, 2]] = w * 2
    assert x.requires_grad
    (x * taimatsu.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert w.grad.item() == pytest.approx(1 + 2 * 2 + 3 * 2)


def test_setitem_view_of_graph_tensor(device):
    compare(lambda T, a, w: _then(a * 2, lambda b: _set(b.transpose(0, 1), [1, 0], w)),
            rand(3, 4), rand(3), device=device)


def test_setitem_value_dtypes(device):
    x = taimatsu.zeros(3, 4, dtype=taimatsu.int64, device=device)
    x[0] = 1.7  # cast as PyTorch does
    x[1] = taimatsu.tensor([1.5] * 4, device=device)
    x[taimatsu.tensor([True, False, True], device=device)] = taimatsu.tensor(4.0)
    np.testing.assert_array_equal(to_np(x), [[4] * 4, [1] * 4, [4] * 4])
    f = taimatsu.zeros(3, device=device)
    f[1] = taimatsu.tensor(2.0, dtype=taimatsu.float64, device=device)
    assert f.dtype == taimatsu.float32 and f[1].item() == 2.0


def test_setitem_bumps_version_and_is_seen_by_views(device):
    x = taimatsu.zeros(3, 4, device=device)
    v = x[1]
    before = x._version_counter
    x[1, 2] = 5.0
    assert x._version_counter > before and v[2].item() == 5.0
    x[taimatsu.tensor([[True] * 4] * 3, device=device)] = 0
    assert v[2].item() == 0.0


def test_setitem_mask_fast_no_grad(device):
    """``x[mask] = 0`` with no grad writes straight into storage: no node, no copy."""
    x = taimatsu.tensor(X, device=device)
    data = x._data
    x[taimatsu.tensor(X > 0, device=device)] = 0
    assert x.grad_fn is None and x._data is data
    np.testing.assert_array_equal(to_np(x), np.where(X > 0, 0, X))


def test_setitem_no_grad_on_leaf(device):
    w = taimatsu.tensor(X, device=device, requires_grad=True)
    with taimatsu.no_grad():
        w[0] = 1.0
        w[[1]] = 2.0
    assert w.is_leaf and w.grad_fn is None
    assert to_np(w)[0].sum() == 20 and to_np(w)[1].sum() == 40


def test_setitem_repeated_index_accumulate_via_index_put(device):
    compare(lambda T, x, w: (x * 1).index_put_((T.tensor([0, 0, 2]),), w * 1, accumulate=True),
            rand(3, 4), rand(3, 4, seed=1), device=device)
    compare(lambda T, x, w: T.index_put(x, (T.tensor([1]), T.tensor([2, 3])), w),
            rand(3, 4), rand(2), device=device)


@pytest.mark.parametrize("key", [0, (slice(None), 1), [0, 2], [True, False, True],
                                 (slice(1, None), [1, 3])])
def test_setitem_gradcheck(key, device):
    gradcheck(lambda a, w: _set(a * 1, key, w * 2), rand(3, 4, seed=7), rand(1, seed=8),
              device=device)


@pytest.mark.parametrize("key, value, exc, msg", [
    (5, 1.0, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (0, np.ones(2, np.float32), RuntimeError,
     (r"The expanded size of the tensor \(4\) must match the existing size \(2\) at "
     r"non-singleton dimension 0.  Target sizes: \[4\].  Tensor sizes: \[2\]")),
    ([0], np.ones(2, np.float32), RuntimeError,
     (r"shape mismatch: value tensor of shape \[2\] cannot be broadcast to indexing result of "
     r"shape \[1, 4\]")),
    ([0], np.ones(4, np.float64), RuntimeError,
     ("Index put requires the source and destination dtypes match, got Float for the "
     "destination and Double for the source.")),
    ([0], np.array(1.0, np.float64), RuntimeError, "Index put requires the source"),
    (0, [1.0, 2.0], TypeError, "can't assign a list to a torch.FloatTensor"),
    (0, np.ones(4), None, None),  # NumPy arrays are converted below; raw ones are rejected
    ((0, 0, 0), 1.0, IndexError, "too many indices for tensor of dimension 2"),
])
def test_setitem_errors_leave_tensor_unchanged(key, value, exc, msg, device):
    x = taimatsu.tensor(rand(3, 4), device=device)
    before = to_np(x).copy()
    if exc is None:
        with pytest.raises(TypeError, match="can't assign a numpy.ndarray to a torch.Float"):
            x[key] = value
    else:
        if isinstance(value, np.ndarray):
            value = taimatsu.tensor(value, device=device)
        with pytest.raises(exc, match=msg):
            x[key] = value
    np.testing.assert_array_equal(to_np(x), before)


def test_setitem_leaf_errors(device):
    x = taimatsu.tensor(rand(3, 4), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used"):
        x[[0]] = 1.0
    np.testing.assert_array_equal(to_np(x), rand(3, 4))


def test_setitem_into_expanded_tensor_errors(device):
    # PyTorch refuses a write that reaches one element twice (a zero stride over a dim of size
    # > 1), before writing anything; a sub-view without one writes the base (below).
    base = taimatsu.zeros(4, device=device)
    x = base.expand(3, 4)
    for write in (lambda: x.__setitem__((slice(None), 1), 1.0), lambda: x.__setitem__(
            slice(None, 2), 1.0), lambda: x.__setitem__(Ellipsis, 1.0), lambda: x.add_(1.0),
                  lambda: x.copy_(taimatsu.ones(4, device=device))):
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            write()
    np.testing.assert_array_equal(to_np(base), np.zeros(4, np.float32))


@needs_torch
def test_setitem_through_a_row_of_an_expanded_tensor(device):
    def fn(T, b):
        b = b * 1
        e = b.expand(3, 4)
        e[0] = 2.0
        e[1, 1] = 5.0
        e[2].mul_(3.0)
        return b

    compare(fn, rand(4), device=device)


# ---------------------------------------------------------------------------- masked ops
MASK_R = np.array([[True, False, False, True, True]] * 4)
MASK_B = np.array([True, False, True, False, False])


def test_masked_fill(device):
    compare(lambda T, x, m: x.masked_fill(m, -1.5), X, MASK_B, device=device)
    compare(lambda T, x, m: T.masked_fill(x, m, -1.5), X, MASK_R, device=device)
    compare(lambda T, x, m, v: x.masked_fill(m, v * 2), X, MASK_R, np.array(0.5, np.float32),
            device=device)
    compare(lambda T, x, m: x.masked_fill(m, 2), X[0], np.ones((2, 4, 5), bool), device=device)
    compare(lambda T, x, m: x.masked_fill(m, 2), X, MASK_B, device=device, non_contiguous=True)
    compare(lambda T, x, m: x.masked_fill(m, 2.7), X.astype(np.int64), MASK_B, device=device)
    compare(lambda T, x, m: x.masked_fill(m, 1.0), np.array(2.0, np.float32), np.array(True),
            device=device)
    compare(lambda T, x, m: x.masked_fill(m, 1.0), np.zeros((0, 5), np.float32), MASK_B,
            device=device)


def test_masked_fill_inplace(device):
    compare(lambda T, x, m, v: (x * 1).masked_fill_(m, v), X, MASK_B, np.array(3.0, np.float32),
            device=device)
    compare(lambda T, x, m: _then(x * 1, lambda b: b[1].masked_fill_(m, 0.0)), X, MASK_R,
            device=device)
    x = taimatsu.tensor(X, device=device)
    data = x._data
    x.masked_fill_(taimatsu.tensor(MASK_B, device=device), 0)
    assert x._data is data and np.all(to_np(x)[..., MASK_B] == 0)


def test_masked_fill_gradcheck(device):
    gradcheck(lambda x, v: x.masked_fill(taimatsu.tensor(MASK_B, device=device), v),
              rand(2, 5), rand(seed=1), device=device)


def test_masked_fill_errors(device):
    x = taimatsu.tensor(X, device=device)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got "
                                           "mask with dtype float"):
        x.masked_fill(taimatsu.tensor(MASK_B.astype(np.float32), device=device), 1)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got "
                                           "mask with dtype long int"):
        x.masked_fill_(taimatsu.tensor(MASK_B.astype(np.int64), device=device), 1)
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor, but got "
                                           r"tensor with 1 dimension\(s\)"):
        x.masked_fill(taimatsu.tensor(MASK_B, device=device), taimatsu.ones(1, device=device))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(5\) must match the size of "
                                           r"tensor b \(3\) at non-singleton dimension 2"):
        x.masked_fill(taimatsu.tensor(MASK0, device=device), 1)
    y = taimatsu.tensor(X[0, 0], device=device)
    with pytest.raises(RuntimeError, match=r"output with shape \[5\] doesn't match the "
                                           r"broadcast shape \[4, 5\]"):
        y.masked_fill_(taimatsu.tensor(MASK_R, device=device), 1)
    np.testing.assert_array_equal(to_np(x), X)
    np.testing.assert_array_equal(to_np(y), X[0, 0])


def test_masked_select(device):
    compare(lambda T, x, m: x.masked_select(m), X, MASK_B, device=device)
    compare(lambda T, x, m: T.masked_select(x, m), X[0, 0], MASK_R, device=device)
    compare(lambda T, x, m: x.masked_select(m), X, MASK_B, device=device, non_contiguous=True)
    gradcheck(lambda x: x.masked_select(taimatsu.tensor(MASK_R, device=device)), rand(5),
              device=device)
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        taimatsu.tensor(X).masked_select(taimatsu.tensor(MASK_B.astype(np.int64)))


def test_masked_scatter(device):
    src = rand(30, seed=9)
    compare(lambda T, x, m, s: x.masked_scatter(m, s), X, MASK_B, src, device=device)
    compare(lambda T, x, m, s: (x * 1).masked_scatter_(m, s[:24].reshape(4, 6)), X, MASK_B, src,
            device=device)
    compare(lambda T, x, m, s: x.masked_scatter(m, s), X[0, 0], MASK_R, src, device=device)
    gradcheck(lambda x, s: x.masked_scatter(taimatsu.tensor(MASK_R, device=device), s),
              rand(4, 5), rand(13), device=device)
    x = taimatsu.tensor(X, device=device)
    with pytest.raises(RuntimeError, match="Number of elements of source < number of ones in "
                                           "mask"):
        x.masked_scatter(taimatsu.tensor(MASK_B, device=device), taimatsu.ones(5, device=device))


# ---------------------------------------------------------------------------- gather / scatter
G_IDX = np.array([[[0, 1, 0], [2, 2, 1]], [[1, 0, 0], [0, 2, 2]]])  # (2, 2, 3) into dim 1 of X


def test_gather(device):
    idx = np.random.default_rng(0).integers(0, 5, (3, 4, 2))
    compare(lambda T, x, i: x.gather(2, i), X, idx, device=device)
    compare(lambda T, x, i: T.gather(x, 1, i), X, G_IDX, device=device)
    compare(lambda T, x, i: x.gather(-1, i), X, idx, device=device, non_contiguous=True)
    compare(lambda T, x, i: x.gather(0, i), X, np.zeros((2, 1, 1), np.int64), device=device)
    compare(lambda T, x, i: x.gather(0, i), X, G_IDX.astype(np.int32)[..., :2], device=device)
    compare(lambda T, x, i: x.gather(0, i), np.array(2.0, np.float32), np.array(0),
            device=device)
    compare(lambda T, x, i: x.gather(0, i), np.array([2.0, 3.0], np.float32), np.array(1),
            device=device)
    compare(lambda T, x, i: x.gather(1, i), X, np.zeros((3, 0, 5), np.int64), device=device)
    gradcheck(lambda x: x.gather(1, taimatsu.tensor(G_IDX, device=device)), rand(2, 3, 3),
              device=device)


@pytest.mark.parametrize("args, msg", [
    ((1, [[0, 5]]), r"index 5 is out of bounds for dimension 1 with size 4"),
    ((1, [[0, -1]]), r"index -1 is out of bounds for dimension 1 with size 4"),
    ((1, [0, 1]), "Index tensor must have the same number of dimensions as input tensor"),
    ((1, np.zeros((4, 2), np.int64)), (r"Size does not match at dimension 0 expected index "
                                      r"\[4, 2\] to be no larger than self \[3, 4\] apart from "
                                      r"dimension 1")),
    ((1, np.zeros((1, 2), np.float32)), r"gather\(\): Expected dtype int32/int64 for index"),
])
def test_gather_errors(args, msg, device):
    x = taimatsu.tensor(rand(3, 4), device=device)
    with pytest.raises(RuntimeError, match=msg):
        x.gather(args[0], taimatsu.tensor(np.asarray(args[1]), device=device))


def test_scatter(device):
    idx = np.array([[0, 1, 2, 0]])
    src = rand(1, 4, seed=3)
    compare(lambda T, x, i, s: x.scatter(0, i, s), rand(3, 5), idx, src, device=device)
    compare(lambda T, x, i: T.scatter(x, 1, i, 7.5), rand(3, 5), idx, device=device)
    compare(lambda T, x, i: x.scatter(1, i, value=7.5), rand(3, 5), idx, device=device)
    compare(lambda T, x, i, s: (x * 1).scatter_(0, i, s), rand(3, 5), idx, src, device=device)
    compare(lambda T, x, i, s: (x * 1).scatter_(0, i, s), rand(5, 3),
            np.array([[0, 4, 1], [2, 2, 3]]), rand(2, 3), device=device, non_contiguous=True)
    # a src larger than index: only its leading block is read (PyTorch's own backward
    # fails on this, so it is checked numerically)
    compare(lambda T, x, i: (x * 1).scatter_(1, i, -1.0), rand(3, 5), idx, device=device)
    gradcheck(lambda x, s: x.scatter(0, taimatsu.tensor(idx, device=device), s), rand(3, 5),
              rand(2, 5), device=device)


def test_scatter_add(device):
    idx = np.array([[0, 1, 2, 0], [2, 2, 2, 2]])  # repeats add up
    src = rand(2, 4, seed=3)
    compare(lambda T, x, i, s: x.scatter_add(0, i, s), rand(3, 5), idx, src, device=device)
    compare(lambda T, x, i, s: T.scatter_add(x, 1, i, s), rand(2, 5), idx, src, device=device)
    compare(lambda T, x, i, s: (x * 1).scatter_add_(0, i, s), rand(3, 5), idx, src,
            device=device)
    compare(lambda T, x, i, s: x.scatter_add(0, i, s), rand(3, 5), idx[:, :0], src[:, :0],
            device=device)
    gradcheck(lambda x, s: x.scatter_add(0, taimatsu.tensor(idx, device=device), s),
              rand(3, 5), rand(2, 5), device=device)
    # gather is the adjoint of scatter_add: their double backward goes through each other
    gradcheck(lambda x: taimatsu.zeros(3, 5, dtype=taimatsu.float64, device=device).scatter_add(
        0, taimatsu.tensor(idx, device=device), x * x), rand(2, 4), device=device)


@pytest.mark.parametrize("fn, msg", [
    (lambda x: x.scatter(1, taimatsu.tensor([[0, 7]]), 2.0),
     "index 7 is out of bounds for dimension 1 with size 4"),
    (lambda x: x.scatter_add(1, taimatsu.tensor([[0, -1]]), taimatsu.ones(2, 2)),
     "index -1 is out of bounds for dimension 1 with size 4"),
    (lambda x: x.scatter(1, taimatsu.tensor([[0, 1]]), taimatsu.ones(2, 2).double()),
     r"scatter\(\): Expected self.dtype to be equal to src.dtype"),
    (lambda x: x.scatter(1, taimatsu.tensor([[0, 1]] * 2), taimatsu.ones(1, 2)),
     (r"Expected index \[2, 2\] to be no larger than self \[3, 4\] apart from dimension 1 and "
     r"to be no larger size than src \[1, 2\]")),
    (lambda x: x.scatter(1, taimatsu.tensor([[0, 1, 2, 3]] * 4), 1.0),
     r"Expected index \[4, 4\] to be no larger than self \[3, 4\] apart from dimension 1"),
    (lambda x: x.scatter_(1, taimatsu.tensor([0, 1]), 1.0),
     "Index tensor must have the same number of dimensions as self tensor"),
    (lambda x: x.scatter_add_(1, taimatsu.tensor([[0.0]]), taimatsu.ones(1, 1)),
     r"scatter\(\): Expected dtype int32/int64 for index"),
])
def test_scatter_errors_leave_tensor_unchanged(fn, msg):
    x = taimatsu.tensor(rand(3, 4))
    with pytest.raises(RuntimeError, match=msg):
        fn(x)
    np.testing.assert_array_equal(to_np(x), rand(3, 4))
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        x.scatter_add(1, taimatsu.tensor([[0]]), 1.0)


def test_take_along_dim(device):
    idx = np.random.default_rng(1).integers(0, 4, (3, 2, 5))
    compare(lambda T, x, i: T.take_along_dim(x, i, 1), X, idx, device=device)
    compare(lambda T, x, i: x.take_along_dim(i, dim=2), X, np.array([[[0, 4]]]), device=device)
    compare(lambda T, x, i: T.take_along_dim(x, i), X, np.array([0, 59, 7]), device=device)
    with pytest.raises(RuntimeError, match="dtype of indices should be Long but got Int"):
        taimatsu.take_along_dim(taimatsu.tensor(X), taimatsu.tensor([[[0]]],
                                                                    dtype=taimatsu.int32), 1)


# ---------------------------------------------------------------------------- index_* ops
def test_index_select(device):
    compare(lambda T, x, i: x.index_select(0, i), X, np.array([2, 0, 2]), device=device)
    compare(lambda T, x, i: T.index_select(x, -1, i), X, np.array([4, 1], np.int32),
            device=device)
    compare(lambda T, x, i: x.index_select(1, i), X, np.array(3), device=device)
    compare(lambda T, x, i: x.index_select(1, i), X, np.zeros(0, np.int64), device=device)
    compare(lambda T, x, i: x.index_select(2, i), X, np.array([1, 1]), device=device,
            non_contiguous=True)
    compare(lambda T, x, i: x.index_select(0, i), np.array(2.0, np.float32), np.array([0]),
            device=device)
    gradcheck(lambda x: x.index_select(1, taimatsu.tensor([3, 0, 3], device=device)),
              rand(2, 4, 3), device=device)


@pytest.mark.parametrize("index, exc, msg", [
    ([0, 5], IndexError, "index out of range in self"),
    ([0, -1], IndexError, "index out of range in self"),
    ([[0, 1]], IndexError, r"index_select\(\): Index is supposed to be a vector"),
    (np.array([1.0]), RuntimeError, r"index_select\(\): Expected dtype int32 or int64 for index"),
])
def test_index_select_errors(index, exc, msg):
    with pytest.raises(exc, match=msg):
        taimatsu.tensor(rand(3, 4)).index_select(0, taimatsu.tensor(np.asarray(index)))


def test_index_add(device):
    src = rand(3, 4, 5, seed=11)
    compare(lambda T, x, i, s: x.index_add(0, i, s), X, np.array([2, 0, 2]), src,
            device=device)
    compare(lambda T, x, i, s: T.index_add(x, 1, i, s[:, :2], alpha=-2.0), X,
            np.array([3, 3], np.int32), src, device=device)
    compare(lambda T, x, i, s: (x * 1).index_add_(2, i, s[..., :1]), X, np.array([4]), src,
            device=device)
    compare(lambda T, x, i, s: (x * 1).index_add_(2, i, s[..., :1]), X, np.array([4]), src,
            device=device, non_contiguous=True)
    compare(lambda T, x, i, s: x.index_add(0, i, s[0, :1]), X[0], np.array(1), src,
            device=device)
    compare(lambda T, x, i, s: x.index_add(0, i, s), np.array(1.0, np.float32), np.array([0]),
            np.array(2.0, np.float32), device=device)
    gradcheck(lambda x, s: x.index_add(0, taimatsu.tensor([1, 1], device=device), s),
              rand(3, 2), rand(2, 2), device=device)


@pytest.mark.parametrize("index, src, exc, msg", [
    ([0, 5], (2, 4), RuntimeError, "index 5 is out of bounds for dimension 0 with size 3"),
    ([0, -1], (2, 4), RuntimeError, "index -1 is out of bounds for dimension 0 with size 3"),
    ([0, 1], (3, 4), RuntimeError, (r"index_add_\(\): Number of indices \(2\) should be equal to "
                                   r"source.size\(dim\): \(3\), for dim: 0")),
    ([0, 1], (2, 3), RuntimeError, (r"source tensor shape must match self tensor shape, excluding "
                                   r"the specified dimension. Got self.shape = \[3, 4\] "
                                   r"source.shape = \[2, 3\]")),
    ([[0, 1]], (2, 4), IndexError, r"index_add_\(\): Index is supposed to be a vector"),
])
def test_index_add_errors_leave_tensor_unchanged(index, src, exc, msg):
    x = taimatsu.tensor(rand(3, 4))
    with pytest.raises(exc, match=msg):
        x.index_add_(0, taimatsu.tensor(index), taimatsu.ones(*src))
    np.testing.assert_array_equal(to_np(x), rand(3, 4))
    with pytest.raises(RuntimeError, match=r"self \(Float\) and source \(Double\) must have the "
                                           "same scalar type"):
        x.index_add(0, taimatsu.tensor([0]), taimatsu.ones(1, 4, dtype=taimatsu.float64))


def test_index_copy_and_fill(device):
    src = rand(2, 4, 5, seed=12)
    compare(lambda T, x, i, s: x.index_copy(0, i, s), X, np.array([2, 0]), src, device=device)
    compare(lambda T, x, i, s: (x * 1).index_copy_(1, i, s), X, np.array([3, 1]),
            rand(3, 2, 5), device=device)
    compare(lambda T, x, i: x.index_fill(1, i, -2.0), X, np.array([3, -1]), device=device)
    compare(lambda T, x, i, v: (x * 1).index_fill_(2, i, v * 3), X, np.array([0, 4]),
            np.array(1.5, np.float32), device=device)
    gradcheck(lambda x, s: x.index_copy(0, taimatsu.tensor([2, 0], device=device), s),
              rand(3, 2), rand(2, 2), device=device)
    gradcheck(lambda x, v: x.index_fill(1, taimatsu.tensor([1], device=device), v), rand(3, 2),
              rand(), device=device)
    x = taimatsu.tensor(rand(3, 4))
    with pytest.raises(IndexError, match=r"index_copy_\(\): index 5 is out of bounds for "
                                         "dimension 0 with size 3"):
        x.index_copy(0, taimatsu.tensor([0, 5]), taimatsu.ones(2, 4))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.index_fill_(0, taimatsu.tensor([0, 5]), 1.0)
    with pytest.raises(IndexError, match=r"index_fill_\(\): Expected dtype int64 for index."):
        x.index_fill_(0, taimatsu.tensor([0], dtype=taimatsu.int32), 1.0)
    np.testing.assert_array_equal(to_np(x), rand(3, 4))


def test_take(device):
    compare(lambda T, x, i: x.take(i), X, np.array([[0, 59], [-1, 7]]), device=device)
    compare(lambda T, x, i: T.take(x, i), X, np.array([3, 3, 3]), device=device,
            non_contiguous=True)
    compare(lambda T, x, i: x.take(i), np.array(2.0, np.float32), np.array(0), device=device)
    gradcheck(lambda x: x.take(taimatsu.tensor([[5, 0], [5, -1]], device=device)), rand(2, 3),
              device=device)
    x = taimatsu.tensor(rand(3, 4))
    with pytest.raises(IndexError, match="out of range: tried to access index 12 on a tensor of "
                                         "12 elements."):
        x.take(taimatsu.tensor([0, 12]))
    with pytest.raises(RuntimeError, match=r"take\(\): Expected a long tensor for index, but got "
                                           "Int"):
        x.take(taimatsu.tensor([0], dtype=taimatsu.int32))


# ---------------------------------------------------------------------------- nonzero
@pytest.mark.parametrize("a", [
    np.array([[1.0, 0.0], [0.0, 2.0]], np.float32), np.array(3.0, np.float32),
    np.array(0.0, np.float32), np.array([[True, False, True]]), np.zeros((0, 3), np.int64),
    (X > 0.3).astype(np.int32),
])
def test_nonzero(a, device):
    compare(lambda T, x: T.nonzero(x), a, device=device, grad=False)
    compare(lambda T, x: x.nonzero(as_tuple=True), a, device=device, grad=False)
    compare(lambda T, x: T.argwhere(x), a, device=device, grad=False)
    compare(lambda T, x: x[T.nonzero(x, as_tuple=True)] if x.dim() else x, a, device=device,
            grad=False)
    compare(lambda T, x: T.where(x), a, device=device, grad=False)  # elementwise's 1-arg form


# ---------------------------------------------------------------------------- double backward
def test_getitem_and_setitem_second_order(device):
    gradcheck(lambda a: (a[[0, 0, 1], 1:] * a[:, None, [2, 0]].sum(0)), rand(3, 3),
              device=device)
    gradcheck(lambda a, w: _set(a * a, (slice(None), [1, 2]), w * w), rand(2, 3), rand(2, 1),
              device=device)


# ---------------------------------------------------------------------------- properties
@st.composite
def index_exprs(draw):
    """A shape and an index expression for it (ints, slices, None, ..., int lists, masks)."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    key = []
    dim = 0
    used_ellipsis = False
    n_list = draw(st.integers(1, 3))
    has_mask = False
    kinds = st.sampled_from(["int", "slice", "none", "ellipsis", "list", "mask", "int0d"])
    for _ in range(draw(st.integers(1, len(shape) + 1))):
        kind = draw(kinds)
        if kind == "none":
            key.append(None)
            continue
        if kind == "ellipsis":
            if not used_ellipsis:
                used_ellipsis = True
                key.append(Ellipsis)
            continue
        if dim >= len(shape):
            break
        n = shape[dim]
        if kind in ("int", "int0d", "list") and n == 0:
            continue
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "int0d":
            key.append(("int0d", draw(st.integers(-n, n - 1))))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n - 1, n + 1))
            stop = draw(st.none() | st.integers(-n - 1, n + 1))
            step = draw(st.none() | st.integers(1, 3))
            key.append(slice(start, stop, step))
        elif kind == "list" and not has_mask:
            key.append(draw(st.lists(st.integers(-n, n - 1), min_size=n_list, max_size=n_list)))
        elif kind == "mask" and not any(isinstance(k, list) for k in key) and not has_mask:
            has_mask = True
            bits = draw(st.lists(st.booleans(), min_size=n, max_size=n))
            key.append(("mask", np.array(bits, dtype=bool)))
        else:
            continue
        dim += 1
    return shape, key


def _key_for(lib, key):
    out = []
    for k in key:
        if isinstance(k, tuple) and k[0] == "mask":
            out.append(_tensor(lib, k[1]))
        elif isinstance(k, tuple) and k[0] == "int0d":
            out.append(_tensor(lib, np.array(k[1])))
        else:
            out.append(k)
    return tuple(out)


def _torch_get(a, key):
    """PyTorch's ``a[key]``, or None where it raises an IndexError (as taimatsu must)."""
    try:
        out = torch.tensor(a)[_key_for(torch, key)]
    except IndexError:
        with pytest.raises(IndexError):
            taimatsu.tensor(a)[_key_for(taimatsu, key)]
        return None
    if a.size == 0:  # PyTorch checks no bounds when there is nothing to read; we always do
        try:
            taimatsu.tensor(a)[_key_for(taimatsu, key)]
        except IndexError:
            return None
    return out


@needs_torch
@settings(max_examples=60, deadline=None)
@given(index_exprs())
def test_property_getitem_matches_torch(expr):
    shape, key = expr
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    if _torch_get(a, key) is not None:
        compare(lambda T, x: x[_key_for(T, key)], a)


@needs_torch
@settings(max_examples=60, deadline=None)
@given(index_exprs(), st.booleans(), st.booleans())
def test_property_setitem_matches_torch(expr, scalar, drop_lead):
    shape, key = expr
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    region = _torch_get(a, key)
    if region is None:
        return
    ids = region.reshape(-1).tolist()
    if scalar or len(set(ids)) != len(ids):  # repeated targets: the winner is unspecified
        compare(lambda T, x: _set(x * 1, _key_for(T, key), -1.0), a)
        return
    vshape = tuple(region.shape)
    if drop_lead and vshape:
        vshape = (1,) + vshape[1:]  # broadcast along the first dim
    w = rand(*vshape, seed=len(ids))
    compare(lambda T, x, w: _set(x * 1, _key_for(T, key), w * 2), a, w)


@pytest.mark.parametrize("key,exc,msg", [
    ((5, slice(None)), IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((0, slice(None), 7), IndexError, "index 7 is out of bounds for dimension 2 with size 5"),
    ((9, "a"), IndexError, r"valid indices \(got str\)"),
    ((slice(None), slice(None, None, 0)), ValueError, "slice step cannot be zero"),
    ((slice(0.5, None), "a"), IndexError, r"valid indices \(got str\)"),
    ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
])
def test_getitem_basic_tuple_errors(key, exc, msg, device):
    # Tuples of ints and slices take a fast path that must leave the errors to the general one.
    x = taimatsu.tensor(X, device=device)
    with pytest.raises(exc, match=msg):
        x[key]


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_getitem_int_tensor_fast_path(dtype, device):
    x = taimatsu.tensor(X, device=device, requires_grad=True)
    idx = taimatsu.tensor([2, -1, 0, 2], dtype=getattr(taimatsu, dtype), device=device)
    y = x[idx]
    assert np.array_equal(to_np(y.detach()), X[[2, -1, 0, 2]])
    y.sum().backward()
    assert np.array_equal(to_np(x.grad)[:, 0, 0], [1.0, 0.0, 3.0])
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[taimatsu.tensor([0, 3], dtype=getattr(taimatsu, dtype), device=device)]


@pytest.mark.parametrize("shape", [(5, 3), (5, 2, 3), (5, 0)])
def test_getitem_int_tensor_gradient_sums_repeats(shape, device):
    # The gradient adds rows as flat elements (_as_elements): the same sums as row by row.
    rng = np.random.default_rng(3)
    x = taimatsu.tensor(rng.standard_normal(shape).astype(np.float32), device=device,
                        requires_grad=True)
    idx = np.array([[4, -1, 0], [4, 4, 2]])
    g = rng.standard_normal(idx.shape + shape[1:]).astype(np.float32)
    x[taimatsu.tensor(idx, device=device)].backward(taimatsu.tensor(g, device=device))
    want = np.zeros(shape, np.float32)
    np.add.at(want, (idx,), g)
    assert np.array_equal(to_np(x.grad), want)


@pytest.mark.parametrize("transpose", [False, True])
def test_index_put_accumulate_rows(transpose, device):
    # A non-contiguous target cannot be flattened in place: it takes the row-wise path.
    rng = np.random.default_rng(4)
    base = rng.standard_normal((4, 4)).astype(np.float32)
    x = taimatsu.tensor(base, device=device)
    x = x.t() if transpose else x
    want = base.T.copy() if transpose else base.copy()
    idx = np.array([1, -1, 1])
    v = rng.standard_normal((3, 4)).astype(np.float32)
    x.index_put_((taimatsu.tensor(idx, device=device),), taimatsu.tensor(v, device=device),
                 accumulate=True)
    np.add.at(want, (idx,), v)
    assert np.array_equal(to_np(x), want)
