"""autocast: op dtypes under CPU autocast against PyTorch's, values and gradients, the policy
table, nesting, the decorator, thread-local state, weight caching and the error paths."""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import taimatsu
from taimatsu.ops import _autocast as ac
from tests.helpers import needs_torch, rand, torch


def _tensors(lib, arrays):
    ts = []
    for a in arrays:
        t = lib.tensor(a.copy())
        if a.dtype.kind == "f":
            t.requires_grad_()
        ts.append(t)
    return ts


def _np(t):
    return np.asarray(t.detach().float().cpu().numpy(), dtype=np.float64)


def autocast_compare(fn, *arrays, rtol=2e-2, atol=2e-2, grad=True):
    """``fn(lib, *tensors)`` under ``lib.autocast("cpu")`` on both libraries: the output dtype,
    its values (bfloat16 tolerance) and the float32 leaves' gradients must agree."""
    tt, pt = _tensors(taimatsu, arrays), _tensors(torch, arrays)
    with taimatsu.autocast("cpu"):
        out_t = fn(taimatsu, *tt)
    with torch.autocast("cpu"):
        out_p = fn(torch, *pt)
    assert str(out_t.dtype).split(".")[-1] == str(out_p.dtype).split(".")[-1], \
        f"dtype {out_t.dtype} != {out_p.dtype}"
    np.testing.assert_allclose(_np(out_t), _np(out_p), rtol=rtol, atol=atol)
    if not grad:
        return
    g = np.random.default_rng(1).standard_normal(tuple(out_p.shape)).astype(np.float32)
    out_p.backward(torch.tensor(g).to(out_p.dtype))
    out_t.backward(taimatsu.tensor(g).to(out_t.dtype))
    for a, b in zip(tt, pt):
        if b.grad is not None:
            assert a.grad is not None and a.grad.dtype is a.dtype  # float32 leaves, float32 grads
            scale = max(1.0, np.abs(_np(b.grad)).max())
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=rtol, atol=atol * scale)


X, W, B = rand(4, 6), rand(5, 6, seed=1), rand(5, seed=2)
M, V, P = rand(4, 4, seed=3), rand(4, seed=4), rand(4, 4, seed=5, low=0.1, high=0.9)
B3 = rand(2, 4, 4, seed=6)
IMG, K2 = rand(1, 2, 5, 5, seed=7), rand(3, 2, 3, 3, seed=8)
VOL = rand(1, 2, 4, 4, 4, seed=9)
T4 = np.array([0, 1, 3, 2])
F = "nn.functional"


def _f(lib):
    return lib.nn.functional


# (name, fn, arrays): the ops of PyTorch's CPU lists that taimatsu has, and ops on no list.
CASES = [
    # lower precision (bfloat16)
    ("mm", lambda T, a, b: T.mm(a, b), (M, M)),
    ("matmul", lambda T, a, b: T.matmul(a, b), (B3, M)),
    ("__matmul__", lambda T, a, b: a @ b, (M, M)),
    ("bmm", lambda T, a, b: T.bmm(a, b), (B3, B3)),
    ("addmm", lambda T, c, a, b: T.addmm(c, a, b), (M, M, M)),
    ("baddbmm", lambda T, c, a, b: T.baddbmm(c, a, b), (B3, B3, B3)),
    ("addbmm", lambda T, c, a, b: T.addbmm(c, a, b), (M, B3, B3)),
    ("linear", lambda T, x, w, b: _f(T).linear(x, w, b), (X, W, B)),
    ("linear_3d", lambda T, x, w: _f(T).linear(x, w), (rand(2, 3, 6), W)),
    ("conv1d", lambda T, x, w: _f(T).conv1d(x, w, padding=1), (B3, rand(3, 4, 3))),
    ("conv2d", lambda T, x, w: _f(T).conv2d(x, w), (IMG, K2)),
    ("conv3d", lambda T, x, w: _f(T).conv3d(x, w), (VOL, rand(3, 2, 2, 2, 2))),
    ("conv_transpose1d", lambda T, x, w: _f(T).conv_transpose1d(x, w), (B3, rand(4, 2, 3))),
    ("conv_transpose2d", lambda T, x, w: _f(T).conv_transpose2d(x, w, stride=2),
     (IMG, rand(2, 3, 2, 2))),
    ("conv_transpose3d", lambda T, x, w: _f(T).conv_transpose3d(x, w),
     (VOL, rand(2, 1, 2, 2, 2))),
    ("prelu", lambda T, x, w: _f(T).prelu(x, w), (M, rand(1))),
    ("einsum", lambda T, a, b: T.einsum("bij,jk->bik", a, b), (B3, M)),
    ("inner", lambda T, a, b: T.inner(a, b), (M, P)),
    # float32
    ("prod", lambda T, a: T.prod(a.bfloat16() * 0 + 1.01, 1), (M,)),
    ("trace", lambda T, a: T.trace(a.bfloat16()), (M,)),
    ("cdist", lambda T, a, b: T.cdist(a.bfloat16(), b.bfloat16()), (M, P)),
    ("quantile", lambda T, a: T.quantile(a.bfloat16(), 0.3), (V,)),
    ("nanquantile", lambda T, a: T.nanquantile(a.bfloat16(), 0.7), (V,)),
    # (every input bfloat16, so that a float32 result is the policy's, not promotion's)
    ("mse_loss", lambda T, a, b: _f(T).mse_loss(a.bfloat16(), b.bfloat16()), (M, P)),
    ("l1_loss", lambda T, a, b: _f(T).l1_loss(a.bfloat16(), b.bfloat16()), (M, P)),
    ("smooth_l1_loss", lambda T, a, b: _f(T).smooth_l1_loss(a.bfloat16(), b.bfloat16()), (M, P)),
    ("huber_loss", lambda T, a, b: _f(T).huber_loss(a.bfloat16(), b.bfloat16()), (M, P)),
    ("cross_entropy", lambda T, a, t: _f(T).cross_entropy(a.bfloat16(), t), (M, T4)),
    ("nll_loss", lambda T, a, t: _f(T).nll_loss(a.bfloat16(), t), (M, T4)),
    ("kl_div", lambda T, a, b: _f(T).kl_div(a.bfloat16(), b.bfloat16(), reduction="batchmean"),
     (M, P)),
    ("binary_cross_entropy",
     lambda T, a, b: _f(T).binary_cross_entropy(a.bfloat16(), b.bfloat16()), (P, P)),
    ("binary_cross_entropy_with_logits",
     lambda T, a, b: _f(T).binary_cross_entropy_with_logits(a.bfloat16(), b.bfloat16()), (M, P)),
    ("cosine_embedding_loss", lambda T, a, b: _f(T).cosine_embedding_loss(
        a.bfloat16(), b.bfloat16(), T.ones(4, dtype=T.bfloat16)), (M, P)),
    ("hinge_embedding_loss", lambda T, a: _f(T).hinge_embedding_loss(
        a.bfloat16(), T.ones(4, 4, dtype=T.bfloat16)), (M,)),
    ("margin_ranking_loss", lambda T, a, b: _f(T).margin_ranking_loss(
        a.bfloat16(), b.bfloat16(), T.ones(4, dtype=T.bfloat16)), (V, V)),
    ("multi_margin_loss", lambda T, a, t: _f(T).multi_margin_loss(a.bfloat16(), t), (M, T4)),
    ("multilabel_margin_loss",
     lambda T, a, t: _f(T).multilabel_margin_loss(a.bfloat16(), t.repeat(4, 1)), (M, T4)),
    ("soft_margin_loss", lambda T, a: _f(T).soft_margin_loss(
        a.bfloat16(), T.ones(4, 4, dtype=T.bfloat16)), (M,)),
    ("triplet_margin_loss", lambda T, a, b, c: _f(T).triplet_margin_loss(
        a.bfloat16(), b.bfloat16(), c.bfloat16()), (M, P, M)),
    ("poisson_nll_loss",
     lambda T, a, b: _f(T).poisson_nll_loss(a.bfloat16(), b.bfloat16()), (M, P)),
    ("ctc_loss", lambda T, a: _f(T).ctc_loss(
        a.reshape(5, 2, 3).bfloat16().log_softmax(2), T.tensor([[1, 2], [1, 1]]),
        T.tensor([5, 5]), T.tensor([2, 2])), (rand(30, seed=12),)),
    ("avg_pool3d", lambda T, x: _f(T).avg_pool3d(x.bfloat16(), 2), (VOL,)),
    ("max_pool3d", lambda T, x: _f(T).max_pool3d(x.bfloat16(), 2), (VOL,)),
    ("adaptive_avg_pool3d", lambda T, x: _f(T).adaptive_avg_pool3d(x.bfloat16(), 2), (VOL,)),
    ("adaptive_max_pool3d", lambda T, x: _f(T).adaptive_max_pool3d(x.bfloat16(), 2), (VOL,)),
    ("grid_sample", lambda T, x, g: _f(T).grid_sample(x.bfloat16(), g, align_corners=False),
     (IMG, rand(1, 3, 3, 2, seed=11))),
    # promote (the widest input dtype)
    ("cat_mixed", lambda T, a, b: T.cat([a, b.bfloat16()]), (M, P)),
    ("cat_lower", lambda T, a, b: T.cat([a.bfloat16(), b.bfloat16()]), (M, P)),
    ("stack", lambda T, a, b: T.stack([a, b.bfloat16()]), (M, P)),
    ("index_copy", lambda T, a, b: T.index_copy(a, 0, T.tensor([2]), b[:1].bfloat16()), (M, P)),
    # on no CPU list: they run in their inputs' dtype
    ("relu", lambda T, a: _f(T).relu(a.bfloat16()), (M,)),
    ("gaussian_nll_loss", lambda T, a, b, c: _f(T).gaussian_nll_loss(
        a.bfloat16(), b.bfloat16(), c.bfloat16() + 1), (M, M, P)),
    ("multilabel_soft_margin_loss", lambda T, a, b: _f(T).multilabel_soft_margin_loss(
        a.bfloat16(), b.bfloat16()), (M, P)),
    ("softmax", lambda T, a: _f(T).softmax(a.bfloat16(), 1), (M,)),
    ("layer_norm", lambda T, a: _f(T).layer_norm(a.bfloat16(), (4,)), (M,)),
    ("exp", lambda T, a: a.bfloat16().exp(), (M,)),
    ("sum", lambda T, a: a.bfloat16().sum(), (M,)),
    ("add_mixed", lambda T, a, b: a + b.bfloat16(), (M, P)),
    ("mv", lambda T, a, b: T.mv(a, b), (M, V)),
    ("dot", lambda T, a, b: T.dot(a, b), (V, V)),
]


@needs_torch
@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_cpu_op_matches_torch(name, fn, arrays):
    autocast_compare(fn, *arrays)


def test_every_listed_op_is_wrapped_and_tested():
    """The policy table names only functions that carry the autocast wrapper, and every CPU
    entry is exercised above (or below, for the nn modules' attention)."""
    import taimatsu.nn.functional as fn
    from taimatsu.ops import linalg

    spaces = (taimatsu, fn, linalg)  # (Tensor methods call these, or are them: __matmul__)
    for device_type, table in ac.POLICIES.items():
        for name in table:
            found = [getattr(s, name) for s in spaces + (taimatsu.Tensor,) if hasattr(s, name)]
            assert found, f"{device_type}: {name} is not a taimatsu function"
            assert all(hasattr(f, "__wrapped__") for f in found[:1]), f"{name} is not wrapped"
    tested = {c[0].split("_mixed")[0].split("_lower")[0].split("_3d")[0] for c in CASES}
    missing = set(ac.POLICIES["cpu"]) - tested - {
        "scaled_dot_product_attention"}
    assert not missing, missing


# PyTorch's documented CUDA lists ("CUDA Ops that can autocast to float16 / float32", and the
# promote list), restricted to the ops taimatsu wraps: the cuda table must agree with them.
def _words(text: str) -> list:
    return text.split()


_CUDA_FP16 = _words(
    "__matmul__ addbmm addmm addmv addr baddbmm bmm chain_matmul multi_dot conv1d conv2d conv3d "
    "conv_transpose1d conv_transpose2d conv_transpose3d GRUCell linear LSTMCell matmul mm mv "
    "prelu RNNCell"
)
_CUDA_FP32 = _words(
    "__pow__ __rdiv__ __rpow__ __rtruediv__ acos asin binary_cross_entropy_with_logits cosh "
    "cosine_embedding_loss cdist cosine_similarity cross_entropy cumprod cumsum dist erfinv exp "
    "expm1 group_norm hinge_embedding_loss kl_div l1_loss layer_norm log log_softmax log10 "
    "log1p log2 margin_ranking_loss mse_loss multilabel_margin_loss multi_margin_loss nll_loss "
    "norm normalize pdist poisson_nll_loss pow prod reciprocal rsqrt sinh smooth_l1_loss "
    "soft_margin_loss softmax softmin softplus sum renorm tan triplet_margin_loss"
)
_CUDA_PROMOTE = _words(
    "addcdiv addcmul atan2 bilinear cross dot grid_sample index_put scatter_add tensordot"
)


def test_cuda_table_follows_pytorch_lists():
    table = ac.POLICIES["cuda"]
    for name, policy in table.items():
        if policy == ac.LOWER:
            # einsum (a composite of bmm), scaled_dot_product_attention: newer than the docs' list
            assert name in _CUDA_FP16 or name in ("einsum", "scaled_dot_product_attention")
        elif policy in (ac.FP32, ac.FP32_OPT_DTYPE):
            # (logsumexp, huber_loss: in autocast_mode.cpp's CUDA list, newer than the docs')
            assert name in _CUDA_FP32 or name in ("logsumexp", "huber_loss"), name
        elif policy == ac.PROMOTE:
            assert name in _CUDA_PROMOTE, name
        else:
            assert (name, policy) == ("binary_cross_entropy", ac.BANNED)
    spaces = (taimatsu, taimatsu.nn.functional, taimatsu.Tensor)
    unwrapped = {n for n in _CUDA_FP16 + _CUDA_FP32 + _CUDA_PROMOTE
                 if n not in table and any(hasattr(s, n) for s in spaces)}
    # The known gap (docs/amp.md): elementwise math keeps its inputs' dtype under CUDA autocast.
    assert unwrapped == set(_words(
        "__pow__ __rpow__ __rtruediv__ acos asin atan2 cosh erfinv exp expm1 log log10 log1p "
        "log2 norm pow reciprocal rsqrt sinh tan"))


def test_cuda_dtype_logic():
    """The cuda table's dtypes, decided without a GPU: float16, float32 and the promotion."""
    f16, f32, f64 = taimatsu.float16, taimatsu.float32, taimatsu.float64
    assert ac.cast_dtype(ac.LOWER, "cuda") is f16
    assert ac.cast_dtype(ac.FP32, "cuda") is f32
    assert ac.cast_dtype(ac.FP32_OPT_DTYPE, "cuda") is f32
    assert ac.cast_dtype(ac.PROMOTE, "cuda", [f16, f16]) is f16
    assert ac.cast_dtype(ac.PROMOTE, "cuda", [f16, f32]) is f32
    assert ac.cast_dtype(ac.PROMOTE, "cuda", [f16, f64]) is f16  # float64 is left alone
    assert ac.cast_dtype(ac.LOWER, "cpu") is taimatsu.bfloat16


@pytest.mark.cuda
@pytest.mark.skipif(not taimatsu.cuda.is_available(), reason="needs CUDA (or the CuPy double)")
def test_cuda_region_float16():
    x = taimatsu.randn(4, 4, device="cuda", requires_grad=True)
    with taimatsu.autocast("cuda"):
        y = x @ x
        s = taimatsu.softmax(y, 1)
        s_explicit = taimatsu.softmax(y, 1, dtype=taimatsu.float16)
        c = taimatsu.cat([y, x])
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            taimatsu.nn.functional.binary_cross_entropy(s, s.detach())
    assert (y.dtype, s.dtype, s_explicit.dtype, c.dtype) == (
        taimatsu.float16, taimatsu.float32, taimatsu.float16, taimatsu.float32)
    s.sum().backward()
    assert x.grad.dtype is taimatsu.float32


@needs_torch
def test_sdpa_dtype():
    q = rand(2, 3, 4)
    for lib in (taimatsu, torch):
        t = lib.tensor(q)
        with lib.autocast("cpu"):
            out = lib.nn.functional.scaled_dot_product_attention(t, t, t)
        assert str(out.dtype).endswith("bfloat16")


# ------------------------------------------------------------------------ the region itself
def test_state_and_nesting():
    cpu = "cpu"
    assert not taimatsu.is_autocast_enabled(cpu)
    assert taimatsu.get_autocast_dtype(cpu) is taimatsu.bfloat16
    assert taimatsu.get_autocast_dtype("cuda") is taimatsu.float16
    x = taimatsu.randn(3, 3)
    with taimatsu.autocast(cpu):
        assert taimatsu.is_autocast_enabled(cpu) and not taimatsu.is_autocast_enabled("cuda")
        assert taimatsu.mm(x, x).dtype is taimatsu.bfloat16
        with taimatsu.autocast(cpu, enabled=False):
            assert not taimatsu.is_autocast_enabled(cpu)
            assert taimatsu.mm(x, x).dtype is taimatsu.float32
            with taimatsu.autocast(cpu, dtype=taimatsu.float16):
                assert taimatsu.get_autocast_dtype(cpu) is taimatsu.float16
                assert taimatsu.mm(x, x).dtype is taimatsu.float16
            assert taimatsu.get_autocast_dtype(cpu) is taimatsu.bfloat16
        assert taimatsu.mm(x, x).dtype is taimatsu.bfloat16
    assert not taimatsu.is_autocast_enabled(cpu)
    assert taimatsu.mm(x, x).dtype is taimatsu.float32


def test_exit_on_exception_restores_state():
    with pytest.raises(ValueError), taimatsu.autocast("cpu"):
        raise ValueError
    assert not taimatsu.is_autocast_enabled("cpu") and ac._enabled_count == 0


def test_decorator():
    @taimatsu.autocast("cpu")
    def f(a):
        """doc"""
        return taimatsu.mm(a, a)

    x = taimatsu.randn(2, 2)
    assert f(x).dtype is taimatsu.bfloat16 and f.__doc__ == "doc"
    assert taimatsu.mm(x, x).dtype is taimatsu.float32
    with pytest.raises(TypeError, match="requires a callable"):
        taimatsu.autocast("cpu")(3)


def test_amp_and_torch_names():
    assert taimatsu.amp.autocast is taimatsu.autocast
    assert taimatsu.amp.is_autocast_available("cpu")
    assert not taimatsu.amp.is_autocast_available("mps")
    with pytest.warns(FutureWarning, match=r"torch.amp.autocast\('cuda', args...\)"):
        a = taimatsu.cuda.amp.autocast(enabled=False)
    assert a.device == "cuda" and a.fast_dtype is taimatsu.float16


def test_thread_local():
    seen = {}

    def worker():
        seen["enabled"] = taimatsu.is_autocast_enabled("cpu")
        x = taimatsu.randn(2, 2)
        seen["dtype"] = taimatsu.mm(x, x).dtype

    with taimatsu.autocast("cpu"):
        th = threading.Thread(target=worker)
        th.start()
        th.join()
    assert seen == {"enabled": False, "dtype": taimatsu.float32}


def test_set_enabled_functions():
    taimatsu.set_autocast_enabled("cpu", True)
    try:
        assert taimatsu.is_autocast_enabled("cpu")
        taimatsu.set_autocast_dtype("cpu", taimatsu.float16)
        assert taimatsu.get_autocast_dtype("cpu") is taimatsu.float16
    finally:
        taimatsu.set_autocast_enabled("cpu", False)
        taimatsu.set_autocast_dtype("cpu", taimatsu.bfloat16)
    assert ac._enabled_count == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        taimatsu.autocast(0)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        taimatsu.autocast("tpu")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        taimatsu.is_autocast_enabled("tpu")
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of torch.bfloat16"):
        a = taimatsu.autocast("cpu", dtype=taimatsu.float64)
    x = taimatsu.randn(2, 2)
    with a:
        assert not taimatsu.is_autocast_enabled("cpu") and taimatsu.mm(x, x).dtype is x.dtype


@pytest.mark.skipif(taimatsu.cuda.is_available(), reason="CUDA is available")
def test_cuda_without_gpu_disables():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        region = taimatsu.autocast("cuda")
    with region:
        assert not taimatsu.is_autocast_enabled("cuda")


# ------------------------------------------------------------------------ weight cache
def test_parameter_cast_once_per_region():
    lin = taimatsu.nn.Linear(3, 3)
    x = taimatsu.randn(2, 3)
    with taimatsu.autocast("cpu"):
        a = ac._cast(lin.weight, taimatsu.bfloat16)
        assert ac._cast(lin.weight, taimatsu.bfloat16) is a
        with taimatsu.autocast("cpu"):  # nested: the same cache
            assert ac._cast(lin.weight, taimatsu.bfloat16) is a
        assert ac._cast(lin.weight, taimatsu.bfloat16) is a
        assert ac._cast(x, taimatsu.bfloat16) is not ac._cast(x, taimatsu.bfloat16)  # no grad
        lin(x).sum().backward()
    assert not ac.state.cache  # cleared by the outermost exit
    assert lin.weight.grad.dtype is taimatsu.float32
    with taimatsu.autocast("cpu", cache_enabled=False):
        assert ac._cast(lin.weight, taimatsu.bfloat16) is not \
            ac._cast(lin.weight, taimatsu.bfloat16)
    assert taimatsu.is_autocast_cache_enabled()


def test_cached_weight_used_twice_accumulates_grad():
    """Two uses of one parameter in a region share its cast; the gradient sums both uses."""
    w = rand(3, 3)
    grads = []
    for lib in (taimatsu, torch) if torch is not None else (taimatsu,):
        p = lib.tensor(w, requires_grad=True)
        x = lib.tensor(rand(2, 3, seed=1))
        with lib.autocast("cpu"):
            out = lib.nn.functional.linear(lib.nn.functional.linear(x, p), p)
        out.float().sum().backward()
        grads.append(_np(p.grad))
        assert str(p.grad.dtype).endswith("float32")
    if len(grads) == 2:
        np.testing.assert_allclose(grads[0], grads[1], rtol=2e-2, atol=2e-2)


def test_inside_op_no_recast():
    """Ops that an autocast op calls run as called (PyTorch excludes autocast below an op)."""
    x = taimatsu.randn(3, 3)
    with taimatsu.autocast("cpu"):
        out = taimatsu.nn.functional.cross_entropy(taimatsu.mm(x, x), taimatsu.tensor([0, 1, 2]))
    assert out.dtype is taimatsu.float32


def test_no_warning_on_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with taimatsu.autocast("cpu"):
            taimatsu.nn.Linear(2, 2)(taimatsu.randn(1, 2))


@needs_torch
def test_tensor_method_forms():
    """The Tensor methods of listed ops cast as the functions do."""
    def run(lib):
        m, b3 = lib.tensor(M), lib.tensor(B3)
        h = m.bfloat16()
        with lib.autocast("cpu"):
            return [t.dtype for t in (
                m.mm(m), m.matmul(m), b3.bmm(b3), m.addmm(m, m), b3.baddbmm(b3, b3),
                m.addbmm(b3, b3), h.prod(), h.trace(), h.quantile(0.5), h.nanquantile(0.5),
                m.index_copy(0, lib.tensor([1]), h[:1]), m.__matmul__(m))]

    assert [str(d).split(".")[-1] for d in run(taimatsu)] == \
        [str(d).split(".")[-1] for d in run(torch)]
