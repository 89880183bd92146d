"""Shape and view ops: values and gradients against PyTorch, float64 gradcheck, view semantics
(shared storage and version counter, in-place writes through views), errors, property tests."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from taimatsu._tensor_base import make
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

A = rand(3, 4)
B = rand(2, 3, 4, seed=1)
C = rand(4, 1, 3, seed=2)
V = rand(5, seed=3)
S = rand(seed=4)  # 0-d

# (id, fn(T, *tensors), inputs, non-contiguous inputs also valid)
CASES = [
    ("view", lambda T, x: x.view(4, 3), (A,), False),
    ("view_infer", lambda T, x: x.view(-1, 2), (B,), False),
    ("view_as", lambda T, x, y: x.view_as(y), (A, rand(2, 6, seed=5)), False),
    ("view_0d", lambda T, x: x.view(1, 1), (S,), True),
    ("view_empty", lambda T, x: x.view(-1, 3, 2), (rand(0, 6),), True),
    ("reshape", lambda T, x: x.reshape(2, 6), (A,), True),
    ("reshape_fn", lambda T, x: T.reshape(x, (-1,)), (B,), True),
    ("reshape_0d", lambda T, x: x.reshape(()), (rand(1, 1),), True),
    ("reshape_as", lambda T, x, y: x.reshape_as(y), (A, rand(6, 2, seed=5)), True),
    ("flatten", lambda T, x: x.flatten(), (B,), True),
    ("flatten_range", lambda T, x: T.flatten(x, 1, 2), (B,), True),
    ("flatten_0d", lambda T, x: x.flatten(), (S,), True),
    ("ravel", lambda T, x: T.ravel(x), (A,), True),
    ("unflatten", lambda T, x: x.unflatten(1, (2, -1)), (A,), True),
    ("unflatten_fn", lambda T, x: T.unflatten(x, -1, (2, 1, 2)), (B,), True),
    ("squeeze_all", lambda T, x: x.squeeze(), (C,), True),
    ("squeeze_dim", lambda T, x: T.squeeze(x, 1), (C,), True),
    ("squeeze_noop", lambda T, x: x.squeeze(0), (C,), True),
    ("squeeze_tuple", lambda T, x: x.squeeze((0, 1)), (rand(1, 3, 1),), True),
    ("squeeze_0d", lambda T, x: x.squeeze(0), (S,), True),
    ("unsqueeze", lambda T, x: x.unsqueeze(1), (A,), True),
    ("unsqueeze_neg", lambda T, x: T.unsqueeze(x, -1), (A,), True),
    ("unsqueeze_0d", lambda T, x: x.unsqueeze(0), (S,), True),
    ("permute", lambda T, x: x.permute(2, 0, 1), (B,), True),
    ("permute_tuple", lambda T, x: T.permute(x, (1, -1, 0)), (B,), True),
    ("permute_0d", lambda T, x: x.permute(()), (S,), True),
    ("transpose", lambda T, x: x.transpose(0, 2), (B,), True),
    ("transpose_0d", lambda T, x: x.transpose(0, -1), (S,), True),
    ("swapaxes", lambda T, x: T.swapaxes(x, 0, 1), (A,), True),
    ("swapdims", lambda T, x: x.swapdims(-1, 0), (B,), True),
    ("t", lambda T, x: x.t(), (A,), True),
    ("t_1d", lambda T, x: T.t(x), (V,), True),
    ("T", lambda T, x: x.T, (A,), True),
    ("mT", lambda T, x: x.mT, (B,), True),
    ("mH", lambda T, x: x.mH, (B,), True),
    ("H", lambda T, x: x.H, (A,), True),
    ("adjoint", lambda T, x: T.adjoint(x), (B,), True),
    ("movedim", lambda T, x: x.movedim(0, -1), (B,), True),
    ("movedim_tuple", lambda T, x: T.movedim(x, (0, 1), (2, 0)), (B,), True),
    ("moveaxis", lambda T, x: T.moveaxis(x, -1, 0), (B,), True),
    ("movedim_0d", lambda T, x: T.movedim(x, 0, -1), (S,), True),
    ("expand", lambda T, x: x.expand(2, 4, 5, 3), (C,), True),
    ("expand_neg1", lambda T, x: x.expand(-1, 2, -1), (C,), True),
    ("expand_noop", lambda T, x: x.expand(1, 3, 4), (A,), True),
    ("expand_0d", lambda T, x: x.expand(2, 3), (S,), True),
    ("expand_as", lambda T, x, y: x.expand_as(y), (C, rand(2, 4, 2, 3, seed=6)), True),
    ("broadcast_to", lambda T, x: T.broadcast_to(x, (4, 5, 3)), (C,), True),
    ("broadcast_tensors", lambda T, x, y: T.broadcast_tensors(x, y), (C, rand(2, 1, seed=7)), True),
    ("repeat", lambda T, x: x.repeat(2, 1, 3), (A,), True),
    ("repeat_0d", lambda T, x: x.repeat(2, 3), (S,), True),
    ("repeat_zero", lambda T, x: x.repeat(0, 2), (A,), True),
    ("tile", lambda T, x: T.tile(x, (2,)), (A,), True),
    ("tile_method", lambda T, x: x.tile(2, 1, 1), (A,), True),
    ("contiguous", lambda T, x: x.contiguous(), (A,), True),
    ("clone", lambda T, x: T.clone(x), (A,), True),
    ("cat", lambda T, x, y: T.cat([x, y], 1), (A, rand(3, 2, seed=8)), True),
    ("cat_neg_dim", lambda T, x, y: T.cat((x, y, x), dim=-2), (A, rand(1, 4, seed=8)), True),
    ("cat_skip_empty", lambda T, x, y: T.cat([x, y, x], 1), (A, rand(0),), True),
    ("cat_all_empty", lambda T, x, y: T.cat([x, y], 0), (rand(0), rand(0, seed=1)), True),
    ("cat_empty_dim", lambda T, x, y: T.cat([x, y], 1), (rand(3, 0), A), True),
    ("concat", lambda T, x, y: T.concat([x, y]), (A, A), True),
    ("concatenate", lambda T, x, y: T.concatenate([x, y], axis=1), (A, A), True),
    ("stack", lambda T, x, y: T.stack([x, y]), (A, A), True),
    ("stack_last", lambda T, x, y: T.stack([x, y], -1), (A, A), True),
    ("stack_0d", lambda T, x, y: T.stack([x, y]), (S, S), True),
    ("hstack", lambda T, x, y: T.hstack([x, y]), (A, rand(3, 2)), True),
    ("hstack_1d", lambda T, x, y: T.hstack([x, y]), (V, S), True),
    ("vstack", lambda T, x, y: T.vstack([x, y]), (A, rand(4)), True),
    ("row_stack", lambda T, x, y: T.row_stack((x, y)), (A, A), True),
    ("dstack", lambda T, x, y: T.dstack([x, y]), (A, A), True),
    ("column_stack", lambda T, x, y: T.column_stack([x, y]), (A, rand(3)), True),
    ("atleast_1d", lambda T, x, y: T.atleast_1d(x, y), (S, A), True),
    ("atleast_2d", lambda T, x: T.atleast_2d(x), (V,), True),
    ("atleast_3d", lambda T, x, y, z: T.atleast_3d([x, y, z]), (S, V, A), True),
    ("split", lambda T, x: x.split(3, 1), (A,), True),
    ("split_fn", lambda T, x: T.split(x, 2), (V,), True),
    ("split_sizes", lambda T, x: T.split(x, [1, 0, 3], dim=-1), (A,), True),
    ("split_with_sizes", lambda T, x: x.split_with_sizes([2, 1]), (A,), True),
    ("split_empty", lambda T, x: x.split(2), (rand(0, 2),), True),
    ("chunk", lambda T, x: x.chunk(3, 1), (A,), True),
    ("chunk_fn", lambda T, x: T.chunk(x, 4), (rand(6),), True),
    ("chunk_empty", lambda T, x: x.chunk(3), (rand(0, 2),), True),
    ("unbind", lambda T, x: x.unbind(1), (A,), True),
    ("unbind_fn", lambda T, x: T.unbind(x), (B,), True),
    ("tensor_split_n", lambda T, x: x.tensor_split(3, 1), (rand(2, 7),), True),
    ("tensor_split_idx", lambda T, x: T.tensor_split(x, (1, -1), dim=1), (A,), True),
    ("tensor_split_overlap", lambda T, x: x.tensor_split([3, 1], 1), (A,), True),
    ("hsplit", lambda T, x: T.hsplit(x, 2), (A,), True),
    ("vsplit", lambda T, x: x.vsplit([1]), (A,), True),
    ("dsplit", lambda T, x: T.dsplit(x, 2), (B,), True),
    ("narrow", lambda T, x: x.narrow(1, 1, 2), (A,), True),
    ("narrow_neg", lambda T, x: T.narrow(x, -1, -3, 3), (B,), True),
    ("narrow_empty", lambda T, x: x.narrow(0, 3, 0), (A,), True),
    ("narrow_copy", lambda T, x: T.narrow_copy(x, 0, 1, 2), (A,), True),
    ("select", lambda T, x: x.select(1, -1), (A,), True),
    ("select_to_0d", lambda T, x: T.select(x, 0, 2), (V,), True),
    ("flip", lambda T, x: x.flip(0, 1), (A,), True),
    ("flip_fn", lambda T, x: T.flip(x, (-1,)), (B,), True),
    ("flip_0d", lambda T, x: T.flip(x, ()), (S,), True),
    ("fliplr", lambda T, x: T.fliplr(x), (A,), True),
    ("flipud", lambda T, x: x.flipud(), (A,), True),
    ("roll", lambda T, x: x.roll(1, 1), (A,), True),
    ("roll_flat", lambda T, x: T.roll(x, 5), (A,), True),
    ("roll_multi", lambda T, x: T.roll(x, (1, -2), (0, 2)), (B,), True),
    ("rot90", lambda T, x: x.rot90(), (A,), True),
    ("rot90_k", lambda T, x: T.rot90(x, 2, [1, 2]), (B,), True),
    ("rot90_neg", lambda T, x: T.rot90(x, -1, (1, 0)), (A,), True),
    ("rot90_0", lambda T, x: T.rot90(x, 4), (A,), True),
    ("diagonal", lambda T, x: x.diagonal(), (A,), True),
    ("diagonal_offset", lambda T, x: T.diagonal(x, -1, 2, 0), (B,), True),
    ("diagonal_out_of_range", lambda T, x: x.diagonal(9), (A,), True),
    ("diag_1d", lambda T, x: T.diag(x, 1), (V,), True),
    ("diag_2d", lambda T, x: x.diag(-1), (A,), True),
    ("diag_embed", lambda T, x: T.diag_embed(x), (A,), True),
    ("diag_embed_dims", lambda T, x: T.diag_embed(x, -1, 0, 2), (A,), True),
    ("unfold", lambda T, x: x.unfold(1, 2, 1), (A,), True),
    ("unfold_step", lambda T, x: x.unfold(0, 2, 3), (rand(7, 3),), True),
    ("unfold_0d", lambda T, x: x.unfold(0, 1, 1), (S,), True),
    ("unfold_empty", lambda T, x: x.unfold(1, 0, 1), (rand(3, 0),), True),
    ("repeat_interleave", lambda T, x: x.repeat_interleave(2, 1), (A,), True),
    ("repeat_interleave_flat", lambda T, x: T.repeat_interleave(x, 3), (A,), True),
    ("repeat_interleave_counts", lambda T, x: T.repeat_interleave(x, T.tensor([1, 0, 2]), dim=0),
     (A,), True),
    ("repeat_interleave_one_count", lambda T, x: x.repeat_interleave(T.tensor([2]), dim=-1),
     (A,), True),
    ("tril", lambda T, x: x.tril(), (A,), True),
    ("tril_k", lambda T, x: T.tril(x, -1), (B,), True),
    ("triu", lambda T, x: T.triu(x, 1), (A,), True),
    ("select_scatter", lambda T, x, y: T.select_scatter(x, y, 1, -1), (A, rand(3, seed=9)), True),
    ("slice_scatter", lambda T, x, y: x.slice_scatter(y, 1, 1, None, 2), (A, rand(3, 2)), True),
    ("diagonal_scatter", lambda T, x, y: T.diagonal_scatter(x, y, 1), (A, rand(3, seed=9)), True),
]

IDS = [c[0] for c in CASES]


def _nc_applicable(inputs):
    """compare(non_contiguous=True) transposes the last two dims, which changes the layout only
    when both are longer than 1."""
    big = [a for a in inputs if a.ndim >= 2]
    return bool(big) and all(min(a.shape[-2:]) > 1 for a in big)


NC_CASES = [c for c in CASES if c[3] and _nc_applicable(c[2])]


@needs_torch
@pytest.mark.parametrize("name,fn,inputs,nc_ok", CASES, ids=IDS)
def test_matches_pytorch(device, name, fn, inputs, nc_ok):
    compare(fn, *inputs, device=device)


@needs_torch
@pytest.mark.parametrize("name,fn,inputs,nc_ok", NC_CASES, ids=[c[0] for c in NC_CASES])
def test_matches_pytorch_non_contiguous(device, name, fn, inputs, nc_ok):
    compare(fn, *inputs, device=device, non_contiguous=True)


@pytest.mark.parametrize("name,fn,inputs,nc_ok", CASES, ids=IDS)
def test_gradcheck(device, name, fn, inputs, nc_ok):
    gradcheck(lambda *xs: fn(taimatsu, *xs), *inputs, device=device)


@pytest.mark.parametrize("name,fn,inputs,nc_ok", NC_CASES, ids=[c[0] for c in NC_CASES])
def test_gradcheck_through_transposed_input(device, name, fn, inputs, nc_ok):
    """Gradients are right when the input arrives as a non-contiguous view."""
    def through_t(*xs):
        # Same values and shape, but a transposed memory layout for inputs with 2+ dims.
        return fn(taimatsu, *(x.transpose(0, 1).contiguous().transpose(0, 1) if x.ndim >= 2
                              else x for x in xs))

    gradcheck(through_t, *inputs, device=device, second_order=False)


# ------------------------------------------------------------------------------ view semantics
def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@needs_torch
@pytest.mark.parametrize("name,fn,inputs,nc_ok", CASES, ids=IDS)
def test_view_or_copy_like_pytorch(name, fn, inputs, nc_ok):
    """Each result aliases its input exactly when PyTorch's does."""
    tt = [taimatsu.tensor(a) for a in inputs]
    pt = [torch.tensor(a) for a in inputs]
    for a, b in zip(_outputs(fn(taimatsu, *tt)), _outputs(fn(torch, *pt))):
        if any(a is x for x in tt):  # e.g. contiguous() of a contiguous tensor: itself
            assert any(b is x for x in pt)
            continue
        t_alias = any(np.shares_memory(a.numpy(), x.numpy()) for x in tt) and a.numel() > 0
        p_alias = any(b.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
                      for x in pt) and b.numel() > 0
        assert t_alias == p_alias, f"{name}: aliases input: taimatsu {t_alias}, torch {p_alias}"
        if t_alias:
            assert a._is_view and any(a._version is x._version for x in tt)


VIEW_OPS = [
    ("view", lambda x: x.view(12)),
    ("reshape", lambda x: x.reshape(2, 6)),
    ("flatten", lambda x: x.flatten()),
    ("unflatten", lambda x: x.unflatten(1, (2, 2))),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0)),
    ("unsqueeze", lambda x: x.unsqueeze(2)),
    ("permute", lambda x: x.permute(1, 0)),
    ("transpose", lambda x: x.transpose(0, 1)),
    ("t", lambda x: x.t()),
    ("T", lambda x: x.T),
    ("mT", lambda x: x.mT),
    ("movedim", lambda x: x.movedim(0, 1)),
    ("expand", lambda x: x.expand(1, 3, 4)),
    ("narrow", lambda x: x.narrow(1, 1, 2)),
    ("select", lambda x: x.select(0, 1)),
    ("split", lambda x: x.split(2, 1)[1]),
    ("chunk", lambda x: x.chunk(3)[2]),
    ("unbind", lambda x: x.unbind(1)[3]),
    ("tensor_split", lambda x: x.tensor_split(2, 1)[0]),
    ("diagonal", lambda x: x.diagonal(1)),
    ("unfold", lambda x: x.unfold(1, 2, 2)),
    ("chain", lambda x: x.t().narrow(0, 1, 2).select(1, 2)),
]


@pytest.mark.parametrize("name,op", VIEW_OPS, ids=[v[0] for v in VIEW_OPS])
def test_view_shares_storage_and_version(device, name, op):
    base = taimatsu.arange(12.0, device=device).reshape(3, 4).clone()
    v = op(base)
    assert v._base is base and v._version is base._version
    ref = op(base.clone()).clone()
    v.mul_(10)  # written through the view: seen by the base
    np.testing.assert_array_equal(to_np(v), to_np(ref) * 10)
    assert base._version_counter == 1 and v._version_counter == 1
    assert to_np(base).sum() == 66 + 9 * to_np(ref).sum()
    base.add_(1)  # written through the base: seen by the view
    np.testing.assert_array_equal(to_np(v), to_np(ref) * 10 + 1)
    assert v._version_counter == 2


def test_view_of_view_has_root_base(device):
    base = taimatsu.zeros(2, 3, 4, device=device)
    v = base.permute(2, 0, 1).select(0, 1).t()
    assert v._base is base
    v.fill_(5.0)
    assert to_np(base)[:, :, 1].sum() == 30 and to_np(base).sum() == 30


def test_view_of_non_contiguous_raises(device):
    x = taimatsu.zeros(3, 4, device=device).t()
    with pytest.raises(RuntimeError, match=re.escape(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")):
        x.view(12)
    assert x.view(4, 1, 3).shape == (4, 1, 3)  # splitting/adding unit dims is still a view
    y = x.reshape(12)  # reshape copies instead
    assert y._base is None and y._version is not x._version
    y.add_(1)
    assert to_np(x).sum() == 0


def test_reshape_is_view_when_strides_allow(device):
    x = taimatsu.zeros(2, 3, 4, device=device).permute(1, 0, 2)  # not contiguous
    assert x.reshape(3, 2, 2, 2)._base is x._base  # splitting a dim never needs a copy
    assert x.reshape(3, 8)._base is None  # merging dims of strides (12, 1) does


def test_contiguous_returns_self_or_copy(device):
    x = taimatsu.ones(2, 3, device=device)
    assert x.contiguous() is x
    y = x.t()
    z = y.contiguous()
    assert z is not y and z.is_contiguous() and z._base is None
    np.testing.assert_array_equal(to_np(z), to_np(y))


def test_clone_does_not_share_memory(device):
    x = taimatsu.ones(2, 3, device=device)
    c = x.clone()
    c.mul_(3)
    assert to_np(x).sum() == 6 and c._version is not x._version


def test_flatten_same_dim_returns_input(device):
    x = taimatsu.ones(2, 3, device=device)
    assert x.flatten(1, 1) is x and taimatsu.atleast_2d(x) is x


def test_views_of_leaf_carry_grad_fn(device):
    x = taimatsu.ones(2, 3, device=device, requires_grad=True)
    assert x.t().grad_fn is not None and x.t().requires_grad
    with taimatsu.no_grad():
        assert not x.t().requires_grad


# ------------------------------------------------------------------------------ in-place on views
def _inplace_select_of_t(T, a):
    b = a.clone()
    b.t().select(0, 0).mul_(2)
    return b


def _inplace_getitem_of_t(T, a):
    b = a.clone()
    b.t()[0].mul_(2)
    return b


def _inplace_narrow_then_use(T, a, w):
    b = a * 1
    b.narrow(1, 1, 2).mul_(w.narrow(1, 0, 2))
    return b.exp()


def _inplace_diagonal_zero(T, a):
    b = a.clone()
    b.diagonal().zero_()
    return b * b


def _inplace_split_piece(T, a, w):
    b = a.clone()
    b.unsqueeze(0).permute(0, 2, 1).select(0, 0).narrow(0, 1, 2).mul_(w)
    return b


def _inplace_base_after_view(T, a):
    b = a.clone()
    v = b.transpose(0, 1)
    b.mul_(3)
    return v * 2, b


def _inplace_view_chain_reshape(T, a):
    b = a.clone()
    b.view(-1).narrow(0, 6, 5).mul_(b.view(-1).narrow(0, 0, 5).clone())
    return b


def _inplace_through_expand_noop(T, a):
    b = a.clone()
    b.expand(1, 3, 4).select(0, 0).add_(1.5)
    return b


@needs_torch
@pytest.mark.parametrize("fn,inputs", [
    (_inplace_select_of_t, (A,)),
    (_inplace_getitem_of_t, (A,)),
    (_inplace_narrow_then_use, (A, rand(3, 2, seed=3))),
    (_inplace_diagonal_zero, (A,)),
    (_inplace_split_piece, (A, rand(2, 3, seed=4))),
    (_inplace_view_chain_reshape, (A,)),
    (_inplace_through_expand_noop, (A,)),
], ids=["select_of_t", "getitem_of_t", "narrow_mul_tensor", "diagonal_zero", "chain",
        "view_narrow", "expand_noop"])
def test_inplace_on_views_matches_pytorch(device, fn, inputs):
    compare(fn, *inputs, device=device)


@needs_torch
def test_view_used_after_inplace_on_base(device):
    compare(_inplace_base_after_view, A, device=device)


def test_inplace_on_view_grad_example(device):
    a = taimatsu.tensor(A, device=device, requires_grad=True)
    b = a.clone()
    b.t().select(0, 0).mul_(2)
    b.sum().backward()
    expected = np.ones((3, 4), np.float32)
    expected[:, 0] = 2
    np.testing.assert_array_equal(to_np(a.grad), expected)


def test_inplace_on_view_gradcheck(device):
    def f(a, w):
        b = a * 1
        b.t().narrow(0, 1, 2).mul_(w)
        return b

    gradcheck(f, A, rand(2, 3, seed=5), device=device)


def test_view_of_leaf_inplace_is_an_error(device):
    a = taimatsu.ones(2, 3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        a.t().mul_(2)
    assert to_np(a).sum() == 6


def test_tril_triu_inplace(device):
    x = taimatsu.tensor(A, device=device)
    assert x.tril_(-1) is x
    np.testing.assert_array_equal(to_np(x), np.tril(A, -1))
    y = taimatsu.tensor(A, device=device)
    y.t().triu_()  # through a view: the base changes
    np.testing.assert_array_equal(to_np(y), np.triu(A.T).T)


def test_tril_triu_inplace_gradcheck(device):
    gradcheck(lambda a: (a * 1).tril_(1).transpose(0, 1).triu_(), A, device=device)


@needs_torch
def test_tril_inplace_autograd_matches_pytorch(device):
    def fn(T, a):
        b = a * 2
        b.triu_(1)
        b.transpose(-1, -2).tril_()
        return b

    compare(fn, B, device=device)


# ------------------------------------------------------------------------------ cat specifics
@needs_torch
@pytest.mark.parametrize("dtypes", [
    ("float32", "float64"), ("int64", "float32"), ("int32", "uint8"), ("bool", "uint8"),
    ("bool", "bool"), ("float16", "int8"),
], ids=lambda d: "-".join(d))
def test_cat_promotes_like_pytorch(device, dtypes):
    arrays = [(rand(2, 2, seed=i) * 5).astype(d) for i, d in enumerate(dtypes)]
    compare(lambda T, x, y: T.cat([x, y], 1), *arrays, device=device)
    compare(lambda T, x, y: T.stack([x, y]), *arrays, device=device)


@needs_torch
def test_cat_skipped_empty_still_promotes_and_gets_grad(device):
    compare(lambda T, x, y: T.cat([x, y], -1), rand(0).astype(np.float64), A, device=device)


def test_cat_grad_dtype_follows_inputs(device):
    x = taimatsu.ones(2, device=device, requires_grad=True)
    y = taimatsu.ones(3, dtype=taimatsu.float64, device=device, requires_grad=True)
    out = taimatsu.cat([x, y])
    assert out.dtype == taimatsu.float64
    out.sum().backward()
    assert x.grad.dtype == taimatsu.float32 and y.grad.dtype == taimatsu.float64


@pytest.mark.parametrize("op", ["cat", "stack"])
def test_device_mismatch_is_an_error(op):
    # The check runs before any array work, so a CUDA-labelled shell tests it without a GPU.
    x = taimatsu.ones(2)
    y = make(np.ones(2, np.float32), taimatsu.device("cuda"))
    with pytest.raises(RuntimeError, match=re.escape(
            "Expected all tensors to be on the same device, but found at least two devices, cpu "
            f"and cuda:0! (when checking arguments for {op})")):
        getattr(taimatsu, op)([x, y])


# ------------------------------------------------------------------------------ errors
ERRORS = [
    (lambda T: T.zeros(2, 3).view(4, -1), RuntimeError,
     "shape '[4, -1]' is invalid for input of size 6"),
    (lambda T: T.zeros(2, 3).view(5), RuntimeError, "shape '[5]' is invalid for input of size 6"),
    (lambda T: T.zeros(2, 3).reshape(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda T: T.zeros(2, 3).reshape(-2, 3), RuntimeError,
     "invalid shape dimension -2 at index 0 of shape [-2, 3]"),
    (lambda T: T.zeros(0).view(-1, 0), RuntimeError,
     ("cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified dimension "
     "size -1 can be any value and is ambiguous")),
    (lambda T: T.zeros(2, 3, 4).flatten(2, 1), RuntimeError,
     "flatten() has invalid args: start_dim cannot come after end_dim"),
    (lambda T: T.zeros(2, 3).unflatten(1, (2, 2)), RuntimeError,
     ("unflatten: Provided sizes [2, 2] don't multiply up to the size of dim 1 (3) in the input "
     "tensor")),
    (lambda T: T.zeros(2, 6).unflatten(1, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda T: T.zeros(2, 3).squeeze(2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda T: T.zeros(2, 3).unsqueeze(-4), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got -4)"),
    (lambda T: T.zeros(2, 3).permute(0, 1, 2), RuntimeError,
     "input.dim() = 2 is not equal to len(dims) = 3"),
    (lambda T: T.zeros(2, 3).permute(0, 0), RuntimeError,
     "permute(): duplicate dims are not allowed."),
    (lambda T: T.zeros(2, 3).permute(0, 2), IndexError, "Dimension out of range"),
    (lambda T: T.zeros(2, 3).transpose(0, 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda T: T.zeros(2, 3, 4).t(), RuntimeError,
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda T: T.zeros(3).mT, RuntimeError,
     "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."),
    (lambda T: T.zeros(3).mH, RuntimeError,
     "tensor.mH is only supported on matrices or batches of matrices. Got 1-D tensor."),
    (lambda T: T.zeros(3).adjoint(), RuntimeError,
     "tensor.adjoint() is only supported on matrices or batches of matrices. Got 1-D tensor."),
    (lambda T: T.zeros(2, 3, 4).H, RuntimeError,
     "tensor.H is only supported on matrices (2-D tensors). Got 3-D tensor."),
    (lambda T: T.zeros(2, 3).movedim((0, 1), (0,)), RuntimeError,
     ("movedim: Invalid source or destination dims: source ([0, 1] dims) should contain the same "
     "number of dims as destination ([0] dims)")),
    (lambda T: T.zeros(2, 3).movedim((0, 0), (0, 1)), RuntimeError,
     "movedim: repeated dim in `source` ([0, 0])"),
    (lambda T: T.zeros(2, 3).movedim((0, 1), (1, -1)), RuntimeError,
     "movedim: repeated dim in `destination` ([1, -1])"),
    (lambda T: T.zeros(2, 3).expand(3), RuntimeError,
     ("the number of sizes provided (1) must be greater or equal to the number of dimensions in "
     "the tensor (2)")),
    (lambda T: T.zeros(2, 3).expand(4, 3), RuntimeError,
     ("The expanded size of the tensor (4) must match the existing size (2) at non-singleton "
     "dimension 0.  Target sizes: [4, 3].  Tensor sizes: [2, 3]")),
    (lambda T: T.zeros(2, 3).expand(-1, 2, 3), RuntimeError,
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    (lambda T: T.broadcast_tensors(T.zeros(2, 3), T.zeros(4, 3)), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0"),
    (lambda T: T.broadcast_tensors(T.zeros(3), T.zeros(2, 4)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"),
    (lambda T: T.broadcast_shapes((2, 3), (4, 3)), RuntimeError,
     ("Attempting to broadcast a dimension of length 4 at -2! Mismatching argument at index 1 had "
     "(4, 3); but expected shape should be broadcastable to [2, 3]")),
    (lambda T: T.zeros(2, 3).repeat(2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"),
    (lambda T: T.zeros(2, 3).repeat(2, -1), RuntimeError,
     "Trying to create tensor with negative dimension -3: [4, -3]"),
    (lambda T: T.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    (lambda T: T.cat(T.zeros(2, 3)), TypeError, "must be tuple of Tensors, not Tensor"),
    (lambda T: T.cat([T.zeros(2), 1]), TypeError,
     "expected Tensor as element 1 in argument 0, but got int"),
    (lambda T: T.cat([T.zeros(()), T.zeros(())]), RuntimeError,
     "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda T: T.cat([T.zeros(2, 2), T.zeros(2)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda T: T.cat([T.zeros(2, 2), T.zeros(3, 3)], 1), RuntimeError,
     ("Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for "
     "tensor number 1 in the list.")),
    (lambda T: T.cat([T.zeros(0), T.zeros(3, 4), T.zeros(0, 3)], 0), RuntimeError,
     ("Sizes of tensors must match except in dimension 0. Expected size 4 but got size 3 for "
     "tensor number 2 in the list.")),
    (lambda T: T.cat([T.zeros(2, 2), T.zeros(2, 3)], 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda T: T.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda T: T.stack([T.zeros(2, 3), T.zeros(2, 4)]), RuntimeError,
     ("stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry "
     "1")),
    (lambda T: T.stack([T.zeros(2, 3), T.zeros(2, 3)], 3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda T: T.zeros(5).split([2, 2]), RuntimeError,
     ("split_with_sizes expects split_sizes to sum exactly to 5 (input tensor's size at dimension "
     "0), but got split_sizes=[2, 2]")),
    (lambda T: T.zeros(5).split(0), RuntimeError,
     "split_size can only be 0 if dimension size is 0, but got dimension size of 5"),
    (lambda T: T.zeros(5).split(-1), RuntimeError,
     "split expects split_size be non-negative, but got split_size=-1"),
    (lambda T: T.zeros(5).chunk(0), RuntimeError,
     "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda T: T.zeros(5).tensor_split(0), RuntimeError,
     "number of sections must be larger than 0, got 0"),
    (lambda T: T.zeros(2, 4).hsplit(3), RuntimeError,
     ("torch.hsplit attempted to split along dimension 1, but the size of the dimension 4 is not "
     "divisible by the split_size 3!")),
    (lambda T: T.vsplit(T.zeros(4), 2), RuntimeError,
     ("torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with 1 "
     "dimensions!")),
    (lambda T: T.zeros(()).unbind(), IndexError,
     "Dimension specified as 0 but tensor has no dimensions"),
    (lambda T: T.zeros(5).narrow(0, 6, 1), IndexError,
     "start out of range (expected to be in range of [-5, 5], but got 6)"),
    (lambda T: T.zeros(5).narrow(0, 2, 4), RuntimeError,
     "start (2) + length (4) exceeds dimension size (5)."),
    (lambda T: T.zeros(5).narrow(0, 2, -1), RuntimeError, "narrow(): length must be non-negative."),
    (lambda T: T.zeros(()).narrow(0, 0, 1), RuntimeError,
     "narrow() cannot be applied to a 0-dim tensor."),
    (lambda T: T.zeros(3, 4).select(0, 5), IndexError,
     "select(): index 5 out of range for tensor of size [3, 4] at dimension 0"),
    (lambda T: T.zeros(3, 4).select(1, -5), IndexError,
     "select(): index -5 out of range for tensor of size [3, 4] at dimension 1"),
    (lambda T: T.zeros(()).select(0, 0), IndexError,
     "select() cannot be applied to a 0-dim tensor."),
    (lambda T: T.zeros(3).fliplr(), RuntimeError, "Input must be >= 2-d."),
    (lambda T: T.zeros(()).flipud(), RuntimeError, "Input must be >= 1-d."),
    (lambda T: T.zeros(3, 4).roll(1, (0, 1)), RuntimeError,
     "shifts and dimensions must align. shifts: 1, dims:2"),
    (lambda T: T.zeros(3, 4).roll((1, 2)), RuntimeError,
     "shifts and dimensions must align. shifts: 2, dims:0"),
    (lambda T: T.zeros(3, 4).rot90(1, (0, 0)), RuntimeError,
     "expected rotation dims to be different, but got dim0 = 0 and dim1 = 0"),
    (lambda T: T.zeros(3, 4).rot90(1, (0,)), RuntimeError,
     "expected total rotation dims == 2, but got dims = 1"),
    (lambda T: T.zeros(3, 5).unfold(1, 6, 2), RuntimeError,
     "maximum size for tensor at dimension 1 is 5 but size is 6"),
    (lambda T: T.zeros(3, 5).unfold(1, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    (lambda T: T.zeros(2, 3).repeat_interleave(T.tensor([1, 2, 0]), 0), RuntimeError,
     ("repeats must have the same size as input along dim, but got repeats.size(0) = 3 and "
     "input.size(0) = 2")),
    (lambda T: T.zeros(2, 3).repeat_interleave(T.tensor([1, -2]), 0), RuntimeError,
     "repeats can not be negative"),
    (lambda T: T.zeros(2, 3).repeat_interleave(-1, 1), RuntimeError,
     "Repeats must be non-negative"),
    (lambda T: T.zeros(2, 3).repeat_interleave(T.tensor([[1, 2]]), 0), RuntimeError,
     "repeats must be 0-dim or 1-dim tensor"),
    (lambda T: T.zeros(3).tril(), RuntimeError,
     "tril: input tensor must have at least 2 dimensions"),
    (lambda T: T.zeros(3, 4).diagonal(0, 1, -1), RuntimeError,
     "diagonal dimensions cannot be identical 1, -1"),
    (lambda T: T.zeros(3, 4, 5).diag(), RuntimeError, "diag(): Supports 1D or 2D tensors. Got 3D"),
    (lambda T: T.select_scatter(T.zeros(2, 2), T.zeros(3), 0, 0), RuntimeError,
     "expected src to have a size equal to the slice of self. src size = [3], slice size = [2]"),
    (lambda T: T.slice_scatter(T.zeros(4), T.zeros(2), 0, None, None, -1), RuntimeError,
     "slice step must be positive"),
]


@needs_torch
@pytest.mark.parametrize("fn,exc,msg", ERRORS, ids=[f"err{i}" for i in range(len(ERRORS))])
def test_errors_match_pytorch(fn, exc, msg):
    """Same exception type as PyTorch, with PyTorch's message."""
    with pytest.raises(exc, match=re.escape(msg)):
        fn(taimatsu)
    with pytest.raises(exc, match=re.escape(msg)):
        fn(torch)


@pytest.mark.parametrize("fn", [lambda x: x.squeeze((0, 0)), lambda x: x.flip(0, -2)],
                         ids=["squeeze", "flip"])
def test_repeated_dims_error(fn):
    # PyTorch names the dim ("dim 0 appears ..."); the shared wrap_dims helper names the list.
    with pytest.raises(RuntimeError, match="appears multiple times in the list of dims"):
        fn(taimatsu.zeros(2, 3))


def test_errors_leave_inputs_unchanged(device):
    x = taimatsu.tensor(A, device=device, requires_grad=True)
    y = x * 1
    for bad in (lambda: y.view(5), lambda: taimatsu.cat([y, y.t()], 0),
                lambda: y.t().view(12), lambda: y.expand(4, 4)):
        with pytest.raises(RuntimeError):
            bad()
    assert y._version_counter == 0 and x.grad is None
    np.testing.assert_array_equal(to_np(y), A)
    z = taimatsu.zeros(3, device=device)
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        z.tril_()
    assert z._version_counter == 0


# ------------------------------------------------------------------------------ misc behaviour
def test_shape_arguments_accept_size_and_lists(device):
    x = taimatsu.zeros(2, 3, device=device)
    assert x.view(taimatsu.Size([3, 2])).shape == (3, 2)
    assert x.reshape([6]).shape == (6,)
    assert x.expand(taimatsu.Size([4, 2, 3])).shape == (4, 2, 3)
    assert x.permute([1, 0]).shape == (3, 2)
    assert x.view(taimatsu.tensor(3), 2).shape == (3, 2)
    with pytest.raises(TypeError):
        x.view(3, 2.0)


@needs_torch
def test_out_argument(device):
    def fn(T, x, y):
        out = T.zeros(3, 8, dtype=T.float64, device=x.device)
        res = T.cat([x, y], 1, out=out)
        assert res is out
        out2 = T.zeros(2, 3, 4, device=x.device)
        T.stack([x, y], out=out2)
        out3 = T.zeros(3, 4, device=x.device)
        T.tril(x, out=out3)
        return out, out2, out3

    compare(fn, A, rand(3, 4, seed=1), device=device, grad=False)


def test_broadcast_shapes_returns_size():
    s = taimatsu.broadcast_shapes((2, 1), (3,), 1)
    assert isinstance(s, taimatsu.Size) and s == (2, 3)


def test_expand_is_read_only_broadcast_but_noop_expand_is_writable(device):
    x = taimatsu.ones(3, 1, device=device)
    e = x.expand(3, 4)
    assert e.stride() == (1, 0)
    w = taimatsu.ones(3, device=device).expand(1, 3)
    w.mul_(2)
    assert w._base is not None and to_np(w._base).sum() == 6


def test_iteration_unbinds(device):
    x = taimatsu.tensor(A, device=device, requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r._base is x for r in rows)
    taimatsu.stack(rows[::-1]).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), np.ones((3, 4)))


@needs_torch
def test_repeat_interleave_counts_only(device):
    compare(lambda T, c: T.repeat_interleave(c), np.array([2, 0, 3]), device=device)


def test_unfold_overlapping_windows_sum_gradients(device):
    x = taimatsu.ones(5, device=device, requires_grad=True)
    x.unfold(0, 3, 1).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [1, 2, 3, 2, 1])


def test_int_tensors_shape_ops(device):
    x = taimatsu.arange(6, device=device).view(2, 3)
    assert x.t().contiguous().dtype == taimatsu.int64
    assert taimatsu.cat([x, x.bool()], 0).dtype == taimatsu.int64
    np.testing.assert_array_equal(to_np(x.flip(0).roll(1, 1).tril()),
                                  np.tril(np.roll(np.arange(6).reshape(2, 3)[::-1], 1, 1)))


# ------------------------------------------------------------------------------ property tests
def _shapes(max_dims=4, max_size=4):
    return st.lists(st.integers(0, max_size), min_size=0, max_size=max_dims).map(tuple)


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape=_shapes(), data=st.data())
def test_property_reshape(shape, data):
    numel = int(np.prod(shape))
    rng = data.draw(st.randoms(use_true_random=False))
    target = list(shape)
    rng.shuffle(target)
    merged = []
    for s in target:  # merge random neighbours and insert unit dims: same number of elements
        if merged and rng.random() < 0.4:
            merged[-1] *= s
        else:
            merged.append(s)
        if rng.random() < 0.2:
            merged.append(1)
    if merged and numel and rng.random() < 0.5:
        merged[rng.randrange(len(merged))] = -1
    transposed = data.draw(st.booleans())
    compare(lambda T, x: (x.t() if transposed and x.ndim == 2 else x).reshape(merged),
            _data(shape))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape=_shapes(), data=st.data())
def test_property_permute(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    neg = data.draw(st.booleans())
    dims = [d - len(shape) if neg else d for d in perm]
    compare(lambda T, x: x.permute(*dims).contiguous().view(-1) if shape else x.permute(dims),
            _data(shape))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape=_shapes(max_size=3), data=st.data())
def test_property_expand(shape, data):
    shape = tuple(1 if data.draw(st.booleans()) else s for s in shape)
    lead = data.draw(st.lists(st.integers(0, 3), max_size=2))
    sizes = list(lead) + [data.draw(st.integers(0, 3)) if s == 1 else
                          data.draw(st.sampled_from([s, -1])) for s in shape]
    compare(lambda T, x: x.expand(tuple(sizes)) * 1, _data(shape))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape=_shapes(max_size=3), data=st.data())
def test_property_broadcast(shape, data):
    def derived():
        dropped = shape[data.draw(st.integers(0, len(shape))):]
        return tuple(1 if data.draw(st.booleans()) else s for s in dropped)

    shapes = [derived() for _ in range(data.draw(st.integers(1, 3)))]
    arrays = [_data(s, seed=i) for i, s in enumerate(shapes)]
    assert tuple(taimatsu.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    compare(lambda T, *xs: [y * 1 for y in T.broadcast_tensors(*xs)], *arrays)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape=_shapes().filter(lambda s: len(s) >= 1), data=st.data())
def test_property_cat_split(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = data.draw(st.integers(0, 3))
    size = data.draw(st.integers(1, 3))
    compare(lambda T, x, y: T.cat([x, y], dim).split(size, dim), _data(shape),
            _data(tuple(other), seed=1))


# ------------------------------------------------------------------ index grids and combinations
@needs_torch
@pytest.mark.parametrize("row,col,offset", [(3, 4, 0), (3, 4, 1), (4, 3, -2), (3, 3, 5),
                                            (3, 3, -5), (0, 3, 0), (1, 1, 0)])
def test_tri_indices_match_pytorch(device, row, col, offset):
    for name in ("triu_indices", "tril_indices"):
        ours = getattr(taimatsu, name)(row, col, offset, device=device)
        theirs = getattr(torch, name)(row, col, offset)
        assert ours.dtype == taimatsu.int64
        np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    assert taimatsu.triu_indices(3, 3, dtype=taimatsu.int32).dtype == taimatsu.int32
    with pytest.raises(RuntimeError, match="row must be non-negative, got-1"):
        taimatsu.tril_indices(-1, 3)


V2 = rand(2, seed=31)
V3 = rand(3, seed=32)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, a, b: T.meshgrid(a, b, indexing="ij"), lambda T, a, b: T.meshgrid(a, b, a,
                                                                               indexing="xy"),
    lambda T, a, b: T.meshgrid([a, b], indexing="xy"), lambda T, a, b: T.meshgrid(a[0], b,
                                                                                indexing="ij"),
    lambda T, a, b: T.cartesian_prod(a, b), lambda T, a, b: T.cartesian_prod(a, b, a),
    lambda T, a, b: T.cartesian_prod(b), lambda T, a, b: T.block_diag(a, b, a.reshape(1, 2)),
    lambda T, a, b: T.block_diag(b.reshape(3, 1), a[0], b[:0]), lambda T, a, b: T.block_diag(a),
    lambda T, a, b: T.diagflat(a), lambda T, a, b: b.diagflat(-1),
    lambda T, a, b: T.combinations(b), lambda T, a, b: T.combinations(b, 3),
    lambda T, a, b: T.combinations(b, 2, with_replacement=True),
    lambda T, a, b: T.combinations(a, 3), lambda T, a, b: T.combinations(a, 0),
], ids=["meshgrid_ij", "meshgrid_xy3", "meshgrid_list", "meshgrid_0d", "cartesian_prod",
        "cartesian_prod3", "cartesian_prod1", "block_diag", "block_diag_mixed",
        "block_diag_one", "diagflat", "diagflat_offset", "combinations", "combinations3",
        "combinations_replacement", "combinations_too_long", "combinations_0"])
def test_grids_match_pytorch(device, fn):
    compare(fn, V2, V3, device=device)
    gradcheck(lambda a, b: fn(taimatsu, a, b), V2, V3, device=device)


@needs_torch
def test_grid_dtypes_and_2d_inputs(device):
    m = rand(2, 3, seed=33)
    compare(lambda T, x: (T.diagflat(x, 1), T.block_diag(x, x.t())), m, device=device,
            non_contiguous=True)
    compare(lambda T: T.block_diag(T.ones(1, 2, dtype=T.int64), T.ones(1)), device=device)
    compare(lambda T: T.block_diag(), device=device)
    compare(lambda T: T.combinations(T.tensor([1, 2, 3]), 2), device=device)
    compare(lambda T: T.cartesian_prod(T.tensor([1, 2]), T.tensor([3, 4, 5])), device=device)


@needs_torch
@pytest.mark.parametrize("fn,match", [
    (lambda T: T.meshgrid(T.ones(2, 2), indexing="ij"),
     "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got"),
    (lambda T: T.meshgrid(T.ones(2), T.ones(2, dtype=T.int64), indexing="ij"),
     "meshgrid expects all tensors to have the same dtype"),
    (lambda T: T.meshgrid(T.ones(2), indexing="foo"),
     "torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: foo"),
    (lambda T: T.combinations(T.ones(2, 2)), r"Expect a 1D vector, but got shape \[2, 2\]"),
    (lambda T: T.combinations(T.ones(2), -1), "Expect a non-negative number, but got -1"),
    (lambda T: T.block_diag(T.ones(1, 1, 1)),
     "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input 0 has 3 dimensions"),
], ids=["meshgrid_2d", "meshgrid_dtypes", "meshgrid_indexing", "combinations_2d",
        "combinations_r", "block_diag_3d"])
def test_grid_errors_match_pytorch(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn(torch)
    with pytest.raises(RuntimeError, match=match):
        fn(taimatsu)


def test_meshgrid_warns_without_indexing(device):
    a = taimatsu.ones(2, device=device)
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        x, y = taimatsu.meshgrid(a, taimatsu.ones(3, device=device))
    assert x.shape == (2, 3) and y.shape == (2, 3)


# ------------------------------------------------------------------ as_strided
@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x: x.as_strided((3, 3), (1, 2)), lambda T, x: T.as_strided(x, (2, 2), (1, 1), 3),
    lambda T, x: x.t().as_strided((2, 3), (2, 1)), lambda T, x: x[1:].as_strided((2, 3), (1, 1)),
    lambda T, x: x.as_strided((4, 0), (1, 1)), lambda T, x: x.as_strided((), ()),
    lambda T, x: x.as_strided((2, 3), (0, 1)),
], ids=["overlapping", "offset", "transposed", "view_offset", "empty", "0d", "stride0"])
def test_as_strided_matches_pytorch(device, fn):
    x = rand(3, 4, seed=34)
    compare(fn, x, device=device)
    gradcheck(lambda t: fn(taimatsu, t), x, device=device)


@needs_torch
def test_as_strided_outside_the_input_view(device):
    # Reads storage before the view x[1:] starts: values as PyTorch's; no gradcheck, since the
    # leaf elements read there are not reachable from the view in the graph (in PyTorch too).
    compare(lambda T, x: x[1:].as_strided((2,), (3,), 0), rand(3, 4, seed=34), device=device)


def test_as_strided_is_a_view(device):
    x = taimatsu.arange(6.0, device=device)
    v = x.as_strided((2, 2), (1, 2))
    x.add_(1)
    assert v.tolist() == [[1.0, 3.0], [2.0, 4.0]] and v._base is x


@needs_torch
@pytest.mark.parametrize("fn,match", [
    (lambda T: T.arange(6.0).as_strided((3, 3), (1, 2)),
     (r"setStorage: sizes \[3, 3\], strides \[1, 2\], storage offset 0, and itemsize 4 "
      r"requiring a storage size of 28 are out of bounds for storage of size 24")),
    (lambda T: T.arange(6.0).as_strided((2, 2), (1, 1), 5),
     r"storage offset 5, and itemsize 4 requiring a storage size of 32"),
    (lambda T: T.arange(6.0).as_strided((2,), (-1,)),
     r"as_strided: Negative strides are not supported at the moment, got strides: \[-1\]"),
], ids=["bounds", "offset_bounds", "negative"])
def test_as_strided_errors_match_pytorch(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn(torch)
    with pytest.raises(RuntimeError, match=match):
        fn(taimatsu)


@pytest.mark.parametrize("shape, src, dst", [
    ((2, 4), "float32", "int32"), ((2, 4), "float32", "int16"), ((2, 4), "int16", "float32"),
    ((3,), "int64", "float64"), ((), "float32", "int32"), ((2, 8), "uint8", "float64"),
])
def test_view_dtype_reinterprets_bits_like_pytorch(shape, src, dst):
    import torch
    a = np.arange(1, 1 + int(np.prod(shape)), dtype=src).reshape(shape)
    ours = taimatsu.tensor(a).view(getattr(taimatsu, dst))
    theirs = torch.tensor(a).view(getattr(torch, dst))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tuple(ours.shape) == tuple(theirs.shape) and not ours.requires_grad


def test_view_dtype_shares_memory_and_version():
    x = taimatsu.zeros(2)
    y = x.view(taimatsu.int32)
    y.add_(1)
    assert x._version_counter == 1 and x[0].item() != 0.0


@pytest.mark.parametrize("build, match", [
    (lambda T: T.ones(4, 2).t().view(T.int16),
     "self.stride\\(-1\\) must be 1 to view Float as Short"),
    (lambda T: T.ones(3, dtype=T.int16).view(T.float32), "must be divisible by 2 to view Short"),
    (lambda T: T.ones((), dtype=T.int16).view(T.float32), "self.dim\\(\\) cannot be 0"),
])
def test_view_dtype_errors(build, match):
    with pytest.raises(RuntimeError, match=match):
        build(taimatsu)


def test_T_of_more_than_two_dims_warns():
    with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
        assert taimatsu.ones(2, 3, 4).T.shape == (4, 3, 2)
