"""Matrix products (ops/linalg.py) against PyTorch: forward, backward, float64 gradcheck and
gradgradcheck, broadcast batch dims, 1-D / empty / non-contiguous operands, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
import taimatsu.linalg
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

# (left shape, right shape) pairs covering every matmul case
MATMUL_SHAPES = [
    ((3,), (3,)),  # dot -> 0-d
    ((2, 3), (3,)),  # mv
    ((3,), (3, 4)),  # vector @ matrix
    ((2, 3), (3, 4)),  # mm
    ((5, 2, 3), (3, 4)),  # batched @ matrix (folded)
    ((5, 2, 3), (3,)),  # batched @ vector (folded)
    ((3,), (5, 3, 4)),  # vector @ batched
    ((2, 3), (5, 3, 4)),  # matrix @ batched
    ((5, 2, 3), (5, 3, 4)),  # bmm-like
    ((2, 1, 2, 3), (4, 3, 5)),  # broadcast batch dims
    ((1, 2, 3), (4, 3, 2)),  # size-1 batch broadcast
    ((4, 1, 2, 3), (1, 3, 3, 2)),  # both sides broadcast
    ((0, 3), (3, 4)),  # empty
    ((2, 0), (0, 4)),  # empty contraction: zeros
    ((2, 3), (3, 0)),
    ((0, 2, 3), (3, 4)),
    ((2, 0, 3), (2, 3, 4)),
    ((0,), (0,)),
    ((3, 0), (0,)),
]


def _strided(*shapes):
    """True when ``compare(non_contiguous=True)`` can give every matrix operand as a transposed
    (truly non-contiguous) view: it is not empty and its last two dims are > 1."""
    return all(len(s) < 2 or (s[-1] > 1 and s[-2] > 1 and 0 not in s) for s in shapes)


def _ids(shapes):
    return [f"{a}@{b}" for a, b in shapes]


def same_error(fn, *arrays):
    """``fn`` raises the same exception type and message in taimatsu and PyTorch; returns the
    taimatsu inputs so callers can check they are unchanged."""
    if torch is None:
        pytest.skip("PyTorch is not installed: comparison skipped")
    errors, inputs = [], []
    for lib in (taimatsu, torch):
        ts = [lib.tensor(a.copy()) if isinstance(a, np.ndarray) else a for a in arrays]
        inputs.append(ts)
        with pytest.raises(Exception) as info:
            fn(lib, *ts)
        errors.append(info.value)
    assert type(errors[0]) is type(errors[1]), (errors[0], errors[1])
    assert str(errors[0]) == str(errors[1])
    for a, t in zip(arrays, inputs[0]):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(to_np(t), a)
    return inputs[0]


# --------------------------------------------------------------------------- matmul
@needs_torch
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=_ids(MATMUL_SHAPES))
def test_matmul_matches_torch(sa, sb, device):
    compare(lambda T, a, b: T.matmul(a, b), rand(*sa), rand(*sb, seed=1), device=device)


# non-empty cases with a matrix operand (an empty or 1-D array is always contiguous)
STRIDED = [s for s in MATMUL_SHAPES if max(len(s[0]), len(s[1])) > 1 and _strided(*s)]


@needs_torch
@pytest.mark.parametrize("sa,sb", STRIDED, ids=_ids(STRIDED))
def test_matmul_non_contiguous(sa, sb, device):
    compare(lambda T, a, b: a @ b, rand(*sa), rand(*sb, seed=1), device=device,
            non_contiguous=True)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:12], ids=_ids(MATMUL_SHAPES[:12]))
def test_matmul_gradcheck(sa, sb, device):
    gradcheck(lambda a, b: a @ b, rand(*sa), rand(*sb, seed=1), device=device)


@needs_torch
def test_operator_and_methods(device):
    compare(lambda T, a, b: (a @ b, a.matmul(b), b.__rmatmul__(a)), rand(2, 3), rand(3, 4),
            device=device)


def test_matmul_with_non_tensor_is_a_type_error():
    a = taimatsu.ones(2, 2)
    with pytest.raises(TypeError, match="unsupported operand"):
        a @ 2
    with pytest.raises(TypeError, match="unsupported operand"):
        2 @ a
    with pytest.raises(TypeError, match=r"matmul\(\): argument 'input' \(position 1\) must be "
                                        "Tensor, not int"):
        taimatsu.matmul(2, a)


@needs_torch
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8])
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                                   ((2, 2, 3), (3, 4)), ((2, 2, 3), (2, 3, 4))])
def test_integer_matmul(dtype, sa, sb, device):
    a = np.arange(np.prod(sa)).reshape(sa).astype(dtype) % 5
    b = np.arange(np.prod(sb)).reshape(sb).astype(dtype) % 3
    compare(lambda T, x, y: x @ y, a, b, device=device)


@needs_torch
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((4, 8), (8, 5)), ((2, 4, 8), (8,)),
                                   ((2, 4, 8), (2, 8, 3))])
def test_float16_matmul(sa, sb, device):
    compare(lambda T, a, b: a @ b, rand(*sa, dtype=np.float16), rand(*sb, seed=1,
            dtype=np.float16), device=device, atol=1e-2, rtol=1e-2)


def test_matmul_forward_is_one_product_on_contiguous_batches():
    # the folded batch result has the exact shape and a fresh contiguous array
    a = taimatsu.tensor(rand(4, 3, 5))
    w = taimatsu.tensor(rand(5, 2))
    y = a @ w
    assert tuple(y.shape) == (4, 3, 2) and y.is_contiguous()
    np.testing.assert_allclose(to_np(y), to_np(a) @ to_np(w), rtol=1e-6)


@needs_torch
def test_operand_only_the_other_grad_needs_is_not_saved(device):
    # h is saved only for x's gradient, which nobody needs: changing h in place after the
    # product is allowed (as in PyTorch, whose mm saves operands conditionally too).
    def f(T, x, w):
        h = w * 1
        y = x.detach() @ h
        h.mul_(2)
        return y

    compare(f, rand(3, 4), rand(4, 2), device=device)


def test_backward_computes_only_the_needed_product(device, monkeypatch):
    from taimatsu.ops import linalg

    calls = []
    for cls in (linalg.Matmul, linalg.Mm):  # every product (``@`` may go straight to Mm)
        real = cls.forward
        monkeypatch.setattr(cls, "forward", staticmethod(
            lambda ctx, a, b, real=real: calls.append(1) or real(ctx, a, b)))
    x = taimatsu.tensor(rand(2, 3, 4), device=device)
    w = taimatsu.tensor(rand(4, 5), device=device, requires_grad=True)
    y = linalg.Matmul.apply(x, w)
    calls.clear()
    y.sum().backward()
    assert len(calls) == 1 and x.grad is None and tuple(w.grad.shape) == (4, 5)


@needs_torch
def test_create_graph_through_matmul(device):
    def f(T, a, b):
        y = (a @ b).sum()
        (ga,) = T.autograd.grad(y, [a], create_graph=True)
        return (ga * ga).sum()

    compare(f, rand(2, 3, 4), rand(4, 5, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("sa,sb", [
    ((), (2, 3)), ((2, 3), ()), ((), ()),  # 0-d
    ((3, 4), (5, 6)), ((3, 4), (5,)), ((5,), (3, 4)), ((4,), (5,)),  # sizes
    ((2, 3, 4), (5, 6)), ((2, 3, 4), (5,)), ((5,), (2, 3, 4)), ((4, 5), (2, 6, 3)),
    ((2, 2, 3, 4), (2, 2, 5, 6)), ((2, 3, 4), (3, 4, 5)), ((2, 1, 3, 4), (3, 5, 6)),
])
def test_matmul_shape_errors(sa, sb):
    same_error(lambda T, a, b: T.matmul(a, b), rand(*sa), rand(*sb, seed=1))


@needs_torch
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 6)), ((4,), (4,)), ((3, 4), (4,)),
                                   ((4,), (4, 6)), ((2, 3, 4), (4, 6)), ((2, 3, 4), (4,)),
                                   ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))])
@pytest.mark.parametrize("other", [np.int64, np.float64, np.float16])
def test_matmul_dtype_errors(sa, sb, other):
    same_error(lambda T, a, b: a @ b, rand(*sa), rand(*sb, seed=1).astype(other))


@needs_torch
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 6)), ((4,), (4,)), ((3, 4), (4,)),
                                   ((2, 3, 4), (2, 4, 5))])
def test_bool_matmul_is_not_implemented(sa, sb):
    same_error(lambda T, a, b: a @ b, np.ones(sa, bool), np.ones(sb, bool))


def test_device_mismatch():
    if not taimatsu.cuda.is_available():
        pytest.skip("needs a GPU (CuPy) to mix devices")
    a, b = taimatsu.ones(2, 2), taimatsu.ones(2, 2, device="cuda")
    for fn in (taimatsu.matmul, taimatsu.mm, taimatsu.dot, taimatsu.vdot, taimatsu.mv):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            fn(a, b if fn is not taimatsu.mv else b[0])


# --------------------------------------------------------------------------- mm, bmm, mv, dot
@needs_torch
@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((0, 3), (3, 4)), ((2, 0), (0, 4))])
def test_mm(sa, sb, device):
    compare(lambda T, a, b: (T.mm(a, b), a.mm(b)), rand(*sa), rand(*sb, seed=1), device=device)
    if _strided(sa, sb):
        compare(lambda T, a, b: T.mm(a, b), rand(*sa), rand(*sb, seed=1), device=device,
                non_contiguous=True)
    gradcheck(taimatsu.mm, rand(*sa), rand(*sb, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("sa,sb", [((3, 4), (5,)), ((3,), (3, 4)), ((3, 4), (5, 6)),
                                   ((2, 3, 4), (4, 5)), ((3, 4), (4, 6))])
def test_mm_errors(sa, sb):
    b = rand(*sb, seed=1)
    if (sa, sb) != ((3, 4), (4, 6)):
        same_error(lambda T, x, y: T.mm(x, y), rand(*sa), b)
    same_error(lambda T, x, y: T.mm(x, y), rand(*sa), b.astype(np.int64))


@needs_torch
@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (2, 4, 5)), ((0, 3, 4), (0, 4, 5)),
                                   ((2, 0, 4), (2, 4, 5)), ((2, 3, 0), (2, 0, 5))])
def test_bmm(sa, sb, device):
    compare(lambda T, a, b: (T.bmm(a, b), a.bmm(b)), rand(*sa), rand(*sb, seed=1), device=device)
    if _strided(sa, sb):
        compare(lambda T, a, b: T.bmm(a, b), rand(*sa), rand(*sb, seed=1), device=device,
                non_contiguous=True)
    gradcheck(taimatsu.bmm, rand(*sa), rand(*sb, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("sa,sb,dt", [((3, 4), (3, 4, 5), None), ((2, 3, 4), (4, 5), None),
                                      ((2, 3, 4), (3, 4, 5), None), ((2, 3, 4), (2, 5, 5), None),
                                      ((2, 3, 4), (2, 4, 5), np.float64),
                                      ((2, 3, 4), (2, 4, 5), bool)])
def test_bmm_errors(sa, sb, dt):
    a, b = rand(*sa), rand(*sb, seed=1)
    if dt is bool:
        a = a > 0
    if dt is not None:
        b = b.astype(dt)
    same_error(lambda T, x, y: T.bmm(x, y), a, b)


@needs_torch
@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((0, 4), (4,)), ((3, 0), (0,))])
def test_mv(sa, sb, device):
    compare(lambda T, a, b: (T.mv(a, b), a.mv(b)), rand(*sa), rand(*sb, seed=1), device=device)
    if _strided(sa, sb):
        compare(lambda T, a, b: T.mv(a, b), rand(*sa), rand(*sb, seed=1), device=device,
                non_contiguous=True)
    gradcheck(taimatsu.mv, rand(*sa), rand(*sb, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("sa,sb,dt", [((3, 4), (5,), None), ((4,), (4,), None),
                                      ((3, 4), (3, 4), None), ((3, 4), (), None),
                                      ((3, 4), (4,), np.float64), ((3, 4), (4,), bool)])
def test_mv_errors(sa, sb, dt):
    a, b = rand(*sa), rand(*sb, seed=1)
    if dt is bool:
        a = a > 0
    if dt is not None:
        b = b.astype(dt)
    same_error(lambda T, x, y: T.mv(x, y), a, b)


@needs_torch
@pytest.mark.parametrize("fn", ["dot", "vdot"])
def test_dot_and_vdot(fn, device):
    compare(lambda T, a, b: (getattr(T, fn)(a, b), getattr(a, fn)(b)), rand(5), rand(5, seed=1),
            device=device)
    compare(lambda T, a, b: getattr(T, fn)(a, b), rand(0), rand(0, seed=1), device=device)
    compare(lambda T, a, b: getattr(T, fn)(a, b), np.arange(4), np.arange(4) + 1, device=device)
    gradcheck(getattr(taimatsu, fn), rand(5), rand(5, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("fn", ["dot", "vdot"])
@pytest.mark.parametrize("sa,sb,dt", [((4,), (5,), None), ((2, 4), (4,), None),
                                      ((4,), (2, 4), None), ((), (), None),
                                      ((4,), (5,), np.float64), ((4,), (4,), bool)])
def test_dot_errors(fn, sa, sb, dt):
    a, b = rand(*sa), rand(*sb, seed=1)
    if dt is bool:
        a, b = a > 0, b > 0
    elif dt is not None:
        b = b.astype(dt)
    same_error(lambda T, x, y: getattr(T, fn)(x, y), a, b)


@needs_torch
@pytest.mark.parametrize("fn", ["outer", "ger"])
def test_outer(fn, device):
    compare(lambda T, a, b: (getattr(T, fn)(a, b), getattr(a, fn)(b)), rand(3), rand(4, seed=1),
            device=device)
    compare(lambda T, a, b: getattr(T, fn)(a, b), rand(0), rand(4, seed=1), device=device)
    compare(lambda T, a, b: T.outer(a, b), np.arange(3), rand(4), device=device)  # promotes
    gradcheck(getattr(taimatsu, fn), rand(3), rand(4, seed=1), device=device)
    same_error(lambda T, a, b: T.outer(a, b), rand(3), rand(4, 1))
    same_error(lambda T, a, b: T.outer(a, b), rand(), rand(4))


# --------------------------------------------------------------------------- fused add*
ADDMM_INPUTS = [(3, 5), (5,), (1, 5), (3, 1), (1,), ()]


@needs_torch
@pytest.mark.parametrize("si", ADDMM_INPUTS)
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1), (2, 0)])
def test_addmm(si, beta, alpha, device):
    compare(lambda T, i, a, b: T.addmm(i, a, b, beta=beta, alpha=alpha), rand(*si, seed=2),
            rand(3, 4), rand(4, 5, seed=1), device=device)


@needs_torch
def test_addmm_method_non_contiguous_empty_and_grad_subsets(device):
    compare(lambda T, i, a, b: i.addmm(a, b, beta=0.5), rand(3, 5), rand(3, 4), rand(4, 5),
            device=device, non_contiguous=True)
    compare(lambda T, i, a, b: T.addmm(i, a, b), rand(5), rand(0, 4), rand(4, 5), device=device)
    compare(lambda T, i, a, b: T.addmm(i, a, b), rand(5), rand(3, 0), rand(0, 5), device=device)
    for need in [(True, False, False), (False, True, False), (False, False, True)]:
        ts = [taimatsu.tensor(x, device=device, requires_grad=r)
              for x, r in zip((rand(5), rand(3, 4), rand(4, 5)), need)]
        taimatsu.addmm(*ts, alpha=2).sum().backward()
        assert [t.grad is not None for t in ts] == list(need)


def test_addmm_gradcheck(device):
    for si in [(3, 5), (5,), ()]:
        gradcheck(lambda i, a, b: taimatsu.addmm(i, a, b, beta=0.5, alpha=-1.5),
                  rand(*si, seed=2), rand(3, 4), rand(4, 5, seed=1), device=device)


@needs_torch
def test_addmm_beta_zero_ignores_nan(device):
    compare(lambda T, i, a, b: T.addmm(i, a, b, beta=0), np.full(5, np.nan, np.float32),
            rand(3, 4), rand(4, 5), device=device)


@needs_torch
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 1.5), (2, 3)])
def test_addmm_integer(beta, alpha, device):
    i, a, b = np.arange(5), np.arange(12).reshape(3, 4), np.arange(20).reshape(4, 5) % 3
    compare(lambda T, x, y, z: T.addmm(x, y, z, beta=beta, alpha=alpha), i, a, b, device=device)


@needs_torch
@pytest.mark.parametrize("si,sa,sb,di,da,db", [
    ((3, 6), (3, 4), (5, 6), None, None, None), ((2, 6), (3, 4), (4, 6), None, None, None),
    ((1, 3, 6), (3, 4), (4, 6), None, None, None), ((6,), (4,), (4, 6), None, None, None),
    ((6,), (3, 4), (4,), None, None, None), ((3, 6), (3, 4), (4, 6), None, None, np.float64),
    ((3, 6), (3, 4), (4, 6), np.float64, None, None), ((3, 6), (3, 4), (4, 6), None, np.float64,
                                                       None),
    ((2, 6), (3, 4), (4, 6), np.float64, None, None), ((3, 6), (3, 4), (4, 6), bool, bool, bool),
])
def test_addmm_errors(si, sa, sb, di, da, db):
    arrays = [rand(*s, seed=k) for k, s in enumerate((si, sa, sb))]
    arrays = [x if d is None else (x > 0 if d is bool else x.astype(d))
              for x, d in zip(arrays, (di, da, db))]
    same_error(lambda T, i, a, b: T.addmm(i, a, b), *arrays)


@needs_torch
def test_addmm_inplace(device):
    compare(lambda T, i, a, b: (i * 1).addmm_(a, b, beta=0.5, alpha=2), rand(3, 5), rand(3, 4),
            rand(4, 5), device=device)
    i = taimatsu.tensor(rand(3, 5), device=device)
    i.addmm_(taimatsu.tensor(rand(3, 4), device=device),
             taimatsu.tensor(rand(4, 5, seed=1), device=device))
    np.testing.assert_allclose(to_np(i), rand(3, 5) + rand(3, 4) @ rand(4, 5, seed=1), rtol=1e-5)
    same_error(lambda T, i, a, b: i.addmm_(a, b), rand(5), rand(3, 4), rand(4, 5))


@needs_torch
@pytest.mark.parametrize("si", [(3,), (1,), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0)])
def test_addmv(si, beta, alpha, device):
    compare(lambda T, i, a, b: (T.addmv(i, a, b, beta=beta, alpha=alpha),
                                i.addmv(a, b, beta=beta, alpha=alpha)),
            rand(*si, seed=2), rand(3, 4), rand(4, seed=1), device=device)
    gradcheck(lambda i, a, b: taimatsu.addmv(i, a, b, beta=beta, alpha=alpha),
              rand(*si, seed=2), rand(3, 4), rand(4, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("si,sa,sb,dt", [((2,), (3, 4), (4,), None), ((3,), (3, 4), (5,), None),
                                         ((3, 1), (3, 4), (4,), None), ((3,), (4,), (4,), None),
                                         ((3,), (3, 4), (4,), np.float64)])
def test_addmv_errors(si, sa, sb, dt):
    b = rand(*sb, seed=1)
    same_error(lambda T, i, x, y: T.addmv(i, x, y), rand(*si), rand(*sa),
               b if dt is None else b.astype(dt))


@needs_torch
@pytest.mark.parametrize("si", [(2, 3, 5), (3, 5), (5,), (1, 1, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0)])
def test_baddbmm(si, beta, alpha, device):
    compare(lambda T, i, a, b: (T.baddbmm(i, a, b, beta=beta, alpha=alpha),
                                i.baddbmm(a, b, beta=beta, alpha=alpha)),
            rand(*si, seed=2), rand(2, 3, 4), rand(2, 4, 5, seed=1), device=device)
    gradcheck(lambda i, a, b: taimatsu.baddbmm(i, a, b, beta=beta, alpha=alpha),
              rand(*si, seed=2), rand(2, 3, 4), rand(2, 4, 5, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("si", [(3, 5), (5,), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0)])
def test_addbmm(si, beta, alpha, device):
    compare(lambda T, i, a, b: (T.addbmm(i, a, b, beta=beta, alpha=alpha),
                                i.addbmm(a, b, beta=beta, alpha=alpha)),
            rand(*si, seed=2), rand(2, 3, 4), rand(2, 4, 5, seed=1), device=device)
    compare(lambda T, i, a, b: T.addbmm(i, a, b), rand(3, 5), rand(0, 3, 4), rand(0, 4, 5),
            device=device)
    gradcheck(lambda i, a, b: taimatsu.addbmm(i, a, b, beta=beta, alpha=alpha),
              rand(*si, seed=2), rand(2, 3, 4), rand(2, 4, 5, seed=1), device=device)


@needs_torch
def test_inplace_baddbmm_addbmm_addmv(device):
    compare(lambda T, i, a, b: (i * 1).baddbmm_(a, b, alpha=2), rand(2, 3, 5), rand(2, 3, 4),
            rand(2, 4, 5), device=device)
    compare(lambda T, i, a, b: (i * 1).addbmm_(a, b, beta=0.5), rand(3, 5), rand(2, 3, 4),
            rand(2, 4, 5), device=device)
    compare(lambda T, i, a, b: (i * 1).addmv_(a, b, beta=0.5), rand(3), rand(3, 4), rand(4),
            device=device)


@needs_torch
@pytest.mark.parametrize("fn", ["baddbmm", "addbmm"])
@pytest.mark.parametrize("si,sa,sb,di,db", [
    ((3, 3), (2, 3, 4), (2, 4, 6), None, None), ((3, 5), (3, 4), (2, 4, 5), None, None),
    ((3, 5), (2, 3, 4), (2, 5, 5), None, None), ((3, 5), (2, 3, 4), (3, 4, 5), None, None),
    ((3, 5), (2, 3, 4), (2, 4, 5), np.float64, None),
    ((3, 5), (2, 3, 4), (2, 4, 5), None, np.float64),
    ((3, 5), (2, 3, 4), (2, 4, 5), np.float64, np.float64),
])
def test_baddbmm_addbmm_errors(fn, si, sa, sb, di, db):
    i, b = rand(*si), rand(*sb, seed=1)
    same_error(lambda T, x, y, z: getattr(T, fn)(x, y, z), i if di is None else i.astype(di),
               rand(*sa), b if db is None else b.astype(db))


# --------------------------------------------------------------------------- einsum
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),  # a view
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),  # summed-away subscript
    ("ii->i", [(3, 3)]),  # diagonal (a view)
    ("ii", [(3, 3)]),  # trace
    ("iij->j", [(3, 3, 2)]),
    ("ij,ij->i", [(1, 4), (3, 4)]),  # size-1 broadcast
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),  # three operands
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 2)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 3), (3, 2)]),
    ("ij,ik,il->jkl", [(3, 2), (3, 2), (3, 2)]),
    ("i,ij,j->", [(3,), (3, 4), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),  # ellipsis with broadcast
    ("...ij,...jk", [(2, 1, 3, 4), (3, 4, 5)]),
    ("...i,...i->...", [(2, 3), (1, 3)]),
    ("i...->...", [(3, 2, 2)]),
    ("Ba,aB", [(2, 3), (3, 2)]),  # upper-case subscripts
    ("b A , a b", [(2, 3), (3, 2)]),  # spaces
    ("ij,jk->ik", [(0, 4), (4, 5)]),  # empty
    ("ij,jk->ik", [(3, 0), (0, 5)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),  # diagonal with another operand
    ("ij,j->i", [(3, 4), (1,)]),  # operand larger than the other's size 1
    ("i,i,i->i", [(3,), (3,), (3,)]),
]


@needs_torch
@pytest.mark.parametrize("eq,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_torch(eq, shapes, device):
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    compare(lambda T, *ops: T.einsum(eq, *ops), *arrays, device=device)


@pytest.mark.parametrize("eq,shapes", [c for c in EINSUM_CASES if 0 not in sum(c[1], ())],
                         ids=[c[0] for c in EINSUM_CASES if 0 not in sum(c[1], ())])
def test_einsum_gradcheck(eq, shapes, device):
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    gradcheck(lambda *ops: taimatsu.einsum(eq, *ops), *arrays, device=device)


@needs_torch
def test_einsum_call_forms(device):
    a, b = rand(2, 3), rand(3, 4, seed=1)
    compare(lambda T, x, y: T.einsum("ij,jk", [x, y]), a, b, device=device)
    compare(lambda T, x, y: T.einsum(x, [0, 1], y, [1, 26], [0, 26]), a, b, device=device)
    compare(lambda T, x, y: T.einsum(x, [0, 1], y, [1, 26]), a, b, device=device)
    compare(lambda T, x: T.einsum(x, [Ellipsis, 0], [0, Ellipsis]), rand(2, 3, 4), device=device)
    compare(lambda T, x, y: T.einsum("i,i", x, y), np.arange(3), np.arange(3), device=device)
    compare(lambda T, x: T.einsum("ij->ji", x), a, device=device, non_contiguous=True)


def test_einsum_view_shares_storage():
    x = taimatsu.tensor(rand(3, 3))
    d = taimatsu.einsum("ii->i", x)
    assert d._base is x
    t = taimatsu.einsum("ij->ji", x)
    assert t._base is x and not t.is_contiguous()


@needs_torch
@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (5, 6)]), ("ij,jk", [(3, 4)]), ("ij", [(3, 4), (4, 5)]),
    ("ij", [(4,)]), ("ij", [(2, 3, 4)]), ("ii", [(3, 4)]), ("ijk...->...", [(2, 3)]),
    ("..i", [(2, 3)]), ("...i...", [(2, 3)]), ("i.j", [(2, 3)]), ("ij->i->j", [(2, 3)]),
    ("ij-i", [(2, 3)]), ("i1->", [(2, 4)]), ("ij->ii", [(2, 4)]), ("ij->k", [(3, 4)]),
    ("...i,...i->...", [(2, 3), (4, 3)]), ("ij,ij->i", [(2, 4), (3, 4)]),
])
def test_einsum_errors(eq, shapes):
    same_error(lambda T, *ops: T.einsum(eq, *ops), *[rand(*s) for s in shapes])


@needs_torch
def test_einsum_argument_errors():
    same_error(lambda T, a, b: T.einsum("ij,jk", a, b), rand(2, 3), rand(3, 4).astype(np.float64))
    same_error(lambda T, a, b: T.einsum("i,i", a, b), np.ones(2, np.int32), np.ones(2, np.int64))
    same_error(lambda T, a: T.einsum(a, [0, 52]), rand(2, 3))
    same_error(lambda T, a: T.einsum(3, a), rand(2, 3))
    same_error(lambda T, a: T.einsum("ij", a, 3), rand(2, 3))
    same_error(lambda T: T.einsum())


# --------------------------------------------------------------------------- tensordot etc.
@needs_torch
@pytest.mark.parametrize("dims,sb", [(2, (3, 4, 5)), (1, (4, 5)), (0, (3, 2)),
                                     (([1, 2], [0, 1]), (3, 4, 5)), ([[1, 2], [0, 1]], (3, 4, 5)),
                                     (([2], [1]), (3, 4, 5)), (([-1, 1], [1, 0]), (3, 4, 5))])
def test_tensordot(dims, sb, device):
    compare(lambda T, a, b: T.tensordot(a, b, dims=dims), rand(2, 3, 4), rand(*sb, seed=1),
            device=device)
    gradcheck(lambda a, b: taimatsu.tensordot(a, b, dims=dims), rand(2, 3, 4),
              rand(*sb, seed=1), device=device)


@needs_torch
def test_tensordot_tensor_dims(device):
    compare(lambda T, a, b: T.tensordot(a, b, dims=T.tensor([[1, 2], [0, 1]])), rand(2, 3, 4),
            rand(3, 4, 5, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("dims", [-1, 4, ([1], [0, 1]), ([1, 1], [0, 0]), 1, (1, 0)])
def test_tensordot_errors(dims):
    same_error(lambda T, a, b: T.tensordot(a, b, dims=dims), rand(2, 3, 4), rand(3, 4, 5))
    same_error(lambda T, a, b: T.tensordot(a, b), rand(2, 3, 4), rand(3, 4, 5).astype(np.float64))


@needs_torch
@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 3)), ((3,), (3,)), ((2, 2, 3), (3,)),
                                   ((), (4, 4)), ((3,), ())])
def test_inner(sa, sb, device):
    compare(lambda T, a, b: (T.inner(a, b), a.inner(b)), rand(*sa), rand(*sb, seed=1),
            device=device)
    gradcheck(taimatsu.inner, rand(*sa), rand(*sb, seed=1), device=device)
    same_error(lambda T, a, b: T.inner(a, b), rand(2, 3), rand(4, 4))


@needs_torch
@pytest.mark.parametrize("sa,sb", [((2, 3), (4,)), ((2,), (3,)), ((2, 3), (2, 2)),
                                   ((2, 1, 3), (2, 2)), ((), (3,)), ((0, 2), (3, 1))])
def test_kron(sa, sb, device):
    compare(lambda T, a, b: (T.kron(a, b), a.kron(b)), rand(*sa), rand(*sb, seed=1),
            device=device)
    if 0 not in sa:
        gradcheck(taimatsu.kron, rand(*sa), rand(*sb, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (0, 3)])
def test_trace(shape, device):
    compare(lambda T, a: (T.trace(a), a.trace()), rand(*shape), device=device)
    if 0 not in shape:
        gradcheck(taimatsu.trace, rand(*shape), device=device)


@needs_torch
@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.uint8, np.float16, np.float64])
def test_trace_dtypes(dtype, device):
    compare(lambda T, a: T.trace(a), (np.arange(9).reshape(3, 3) % 4).astype(dtype),
            device=device)


@needs_torch
def test_trace_errors():
    same_error(lambda T, a: T.trace(a), rand(3, 3, 3))
    same_error(lambda T, a: T.trace(a), rand())
    same_error(lambda T, a: T.trace(a), np.ones((2, 2), bool))


# --------------------------------------------------------------------------- property test
def _batch(draw, n):
    return tuple(draw(st.integers(1, 3)) for _ in range(n))


@st.composite
def matmul_shapes(draw):
    """Random matmul-compatible shapes, 1-D to 4-D, with broadcast batch dims."""
    n, k, m = draw(st.integers(0, 3)), draw(st.integers(1, 4)), draw(st.integers(0, 3))
    da, db = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = _batch(draw, max(da, db) - 2) if max(da, db) > 2 else ()

    def side(nd, mat):
        if nd == 1:
            return (k,)
        own = list(batch[len(batch) - (nd - 2):]) if nd > 2 else []
        own = [1 if draw(st.booleans()) else s for s in own]  # broadcast some batch dims
        return tuple(own) + mat

    return side(da, (n, k)), side(db, (k, m))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(matmul_shapes(), st.booleans())
def test_matmul_property(shapes, non_contiguous):
    sa, sb = shapes
    compare(lambda T, a, b: T.matmul(a, b), rand(*sa), rand(*sb, seed=1),
            non_contiguous=non_contiguous and _strided(sa, sb))


@needs_torch
@pytest.mark.parametrize("op,shapes", [
    ("mm", [(2, 3), (3, 4)]), ("bmm", [(2, 2, 3), (2, 3, 4)]), ("mv", [(2, 3), (3,)]),
    ("dot", [(3,), (3,)]), ("matmul", [(2, 3), (3, 4)]), ("matmul", [(3,), (3,)]),
    ("matmul", [(2, 3), (3,)]), ("addmm", [(4,), (2, 3), (3, 4)]),
    ("addmv", [(2,), (2, 3), (3,)]), ("baddbmm", [(4,), (2, 2, 3), (2, 3, 4)]),
    ("trace", [(3, 3)]),
])
def test_node_names_match_torch(op, shapes):
    names = []
    for lib in (taimatsu, torch):
        ts = [lib.tensor(rand(*s), requires_grad=True) for s in shapes]
        names.append(type(getattr(lib, op)(*ts).grad_fn).__name__
                     if lib is torch else getattr(lib, op)(*ts).grad_fn.name())
    assert names[0] == names[1]


@needs_torch
@pytest.mark.parametrize("cshape", [(4,), (2, 4), (1, 4), (2, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_addmm_bias_shapes_fast_and_general_paths(cshape, beta, alpha, device):
    # (4,) and (2, 4) take addmm's fast path, the others its general checks: same answers.
    compare(lambda T, c, a, b: T.addmm(c, a, b, beta=beta, alpha=alpha), rand(*cshape),
            rand(2, 3, seed=1), rand(3, 4, seed=2), device=device)


def test_mm_fast_path_keeps_errors(device):
    a = taimatsu.tensor(rand(2, 3), device=device)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(2x3 and 2x3\)"):
        a @ a
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        taimatsu.mm(a, a.t().double())
    with pytest.raises(NotImplementedError, match="addmm_impl_cpu_"):
        a.bool() @ a.t().bool()
    with pytest.raises(TypeError, match=r"mm\(\): argument 'mat2' \(position 2\) must be Tensor"):
        taimatsu.mm(a, 2)


def test_mm_backward_on_arrays_matches_the_recorded_path(device):
    # Outside create_graph, 2-D products differentiate on the arrays; with create_graph through
    # Tensor ops. Both must give the same gradients (non-contiguous operands included).
    a_np, b_np = rand(5, 3), rand(4, 3).T
    grads = []
    for create_graph in (False, True):
        a = taimatsu.tensor(a_np, device=device, requires_grad=True)
        b = taimatsu.tensor(b_np, device=device, requires_grad=True)
        ga, gb = taimatsu.autograd.grad((a @ b).sum(), (a, b), create_graph=create_graph)
        grads.append((ga.detach().cpu().numpy(), gb.detach().cpu().numpy()))
    for x, y in zip(*grads):
        np.testing.assert_array_equal(x, y)


def test_hooked_gradient_of_another_dtype_is_refused_before_mm_backward(device):
    a = taimatsu.tensor(rand(2, 3).astype(np.float32), device=device, requires_grad=True)
    b = taimatsu.tensor(rand(3, 4).astype(np.float32), device=device, requires_grad=True)
    out = a @ b
    out.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match="has changed the type of value"):
        out.sum().backward()


# ------------------------------------------------------------------ addr, cross, cdist
V3 = rand(3, seed=21)
V4 = rand(4, seed=22)
M34 = rand(3, 4, seed=23)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, m, a, b: T.addr(m, a, b), lambda T, m, a, b: m.addr(a, b, beta=0.5, alpha=2),
    lambda T, m, a, b: T.addr(m[0], a, b, alpha=-1), lambda T, m, a, b: T.addr(m[:, :1], a, b),
], ids=["plain", "scaled", "broadcast_row", "broadcast_col"])
def test_addr_matches_pytorch(device, fn):
    compare(fn, M34, V3, V4, device=device)
    gradcheck(lambda m, a, b: fn(taimatsu, m, a, b), M34, V3, V4, device=device)


def test_addr_beta0_gradcheck(device):
    gradcheck(lambda m, a, b: taimatsu.addr(m, a, b, beta=0), M34, V3, V4, device=device)


@needs_torch
def test_addr_integers_inplace_and_errors(device):
    compare(lambda T, m, a, b: T.addr(m, a, b, beta=2, alpha=3), np.ones((2, 2), np.int64),
            np.array([1, 2]), np.array([3, 4]), device=device)
    compare(lambda T, m, a, b: (m * 1).addr_(a, b, alpha=0.5), M34, V3, V4, device=device)
    compare(lambda T, m, a, b: T.addr(m * float("nan"), a, b, beta=0), M34, V3, V4,
            device=device)  # (NaN in input does not reach the result)
    for fn, match in [
        (lambda T: T.addr(T.ones(2, 2), T.ones(2, 2), T.ones(2)),
         "addr: Expected 1-D argument vec1, but got 2-D"),
        (lambda T: T.addr(T.ones(3, 2), T.ones(2), T.ones(2)),
         r"The expanded size of the tensor \(2\) must match the existing size \(3\)"),
    ]:
        with pytest.raises(RuntimeError, match=match):
            fn(torch)
        with pytest.raises(RuntimeError, match=match):
            fn(taimatsu)


C1 = rand(2, 3, 3, seed=24)
C2 = rand(1, 3, 3, seed=25)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, a, b: T.cross(a, b, dim=1), lambda T, a, b: T.linalg.cross(a, b),
    lambda T, a, b: a.cross(b, 2), lambda T, a, b: T.linalg.cross(a[:, :1], b),
    lambda T, a, b: T.linalg.cross(a[0, 0], b[0, 1]),
], ids=["cross_dim1", "linalg_cross", "method", "broadcast", "vectors"])
def test_cross_matches_pytorch(device, fn):
    compare(fn, C1, C2, device=device)
    compare(fn, C1, C2, device=device, non_contiguous=True)
    gradcheck(lambda a, b: fn(taimatsu, a, b), C1, C2, device=device)


@needs_torch
def test_cross_default_dim_warns_and_errors():
    a, b = rand(3, 2, seed=26), rand(3, 2, seed=27)
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg"):
        out = taimatsu.cross(taimatsu.tensor(a), taimatsu.tensor(b))
    np.testing.assert_allclose(to_np(out), torch.linalg.cross(torch.tensor(a), torch.tensor(b),
                                                              dim=0).numpy(), rtol=1e-6)
    for fn, match in [
        (lambda T: T.linalg.cross(T.ones(4), T.ones(4)),
         "linalg.cross: inputs dimension -1 must have length 3. Got 4 and 4"),
        (lambda T: T.cross(T.ones(3, 2), T.ones(3, 2), dim=1),
         "linalg.cross: inputs dimension 1 must have length 3. Got 2 and 2"),
        (lambda T: T.linalg.cross(T.ones(2, 3), T.ones(4, 3)),
         r"The size of tensor a \(2\) must match the size of tensor b \(4\)"),
        (lambda T: T.linalg.cross(T.ones(2, 3), T.ones(3)),
         "linalg.cross: inputs must have the same number of dimensions."),
    ]:
        with pytest.raises(RuntimeError, match=match):
            fn(torch)
        with pytest.raises(RuntimeError, match=match):
            fn(taimatsu)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="no dimension of size 3"):
        taimatsu.cross(taimatsu.ones(2, 4), taimatsu.ones(2, 4))


X1 = np.random.default_rng(28).standard_normal((2, 5, 3))
X2 = np.random.default_rng(29).standard_normal((2, 4, 3))


@needs_torch
@pytest.mark.parametrize("p", [0.0, 1.0, 1.5, 2.0, 3.0, float("inf")])
def test_cdist_matches_pytorch(device, p):
    compare(lambda T, a, b: T.cdist(a, b, p=p), X1, X2, device=device)
    compare(lambda T, a, b: T.cdist(a[0], b[0], p, "donot_use_mm_for_euclid_dist"), X1, X2,
            device=device, non_contiguous=True)
    compare(lambda T, a, b: T.cdist(a, b[1], p=p), X1, X2, device=device)  # batch broadcast
    if p not in (0.0,):
        gradcheck(lambda a, b: taimatsu.cdist(a, b, p=p), X1, X2, device=device)


@needs_torch
@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_compute_modes(device, mode):
    a = np.random.default_rng(30).standard_normal((2, 30, 3))  # 30 rows: past the mm threshold
    compare(lambda T, x, y: T.cdist(x, y, compute_mode=mode), a, X2, device=device)
    compare(lambda T, x, y: T.cdist(x, y, compute_mode=mode), a.astype(np.float32),
            X2.astype(np.float32), device=device, atol=1e-4)
    compare(lambda T, x, y: T.cdist(x, y, compute_mode=mode), X1, X2[0], device=device)
    gradcheck(lambda x, y: taimatsu.cdist(x, y, compute_mode=mode), a[:, :4], X2,
              device=device)


@needs_torch
def test_cdist_zero_distance_gradient_and_errors(device):
    compare(lambda T, a: T.cdist(a, a), X1[0], device=device)
    compare(lambda T, a, b: T.cdist(a, b), X1[0, :0], X2[0], device=device)
    for fn, match in [
        (lambda T: T.cdist(T.ones(3, 2), T.ones(4, 3)),
         "X1 and X2 must have the same number of columns. X1: 2 X2: 3"),
        (lambda T: T.cdist(T.ones(3), T.ones(3)),
         "cdist only supports at least 2D tensors, X1 got: 1D"),
        (lambda T: T.cdist(T.ones(3, 2), T.ones(4, 2), p=-1),
         "cdist only supports non-negative p values"),
    ]:
        with pytest.raises(RuntimeError, match=match):
            fn(torch)
        with pytest.raises(RuntimeError, match=match):
            fn(taimatsu)
