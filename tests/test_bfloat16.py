"""bfloat16 (through ml_dtypes): the dtype, its promotion, finfo, conversions, printing and saving,
and the elementwise / reduction / matmul / nn surface against PyTorch's bfloat16 results."""
from __future__ import annotations

import io
import pickle
import subprocess
import sys

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch, rand, torch

pytest.importorskip("ml_dtypes", reason="pip install 'taimatsu[bf16]'")
bf16 = taimatsu.bfloat16
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64")


def _np(t):
    """float64 values of a taimatsu or torch tensor of any dtype."""
    return np.asarray(t.detach().double().cpu().numpy())


def test_dtype_attributes():
    assert bf16.is_floating_point and bf16.is_signed and not bf16.is_complex
    assert bf16.itemsize == 2 and str(bf16).endswith(".bfloat16")
    assert pickle.loads(pickle.dumps(bf16)) is bf16
    x = taimatsu.ones(3, dtype=bf16)
    assert x.dtype is bf16 and x.is_floating_point() and x.element_size() == 2
    assert x.requires_grad_().requires_grad
    assert taimatsu.zeros(2).bfloat16().dtype is bf16


def test_import_does_not_load_ml_dtypes():
    code = "import sys, taimatsu; taimatsu.bfloat16; assert 'ml_dtypes' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_ml_dtypes_names_the_extra():
    code = ("import sys; sys.modules['ml_dtypes'] = None\n"
            "import taimatsu\n"
            "try:\n    taimatsu.zeros(2, dtype=taimatsu.bfloat16)\n"
            "except ModuleNotFoundError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert "pip install 'taimatsu[bf16]'" in out and "ml_dtypes" in out


@needs_torch
def test_promotion_matches_torch():
    for a in DTYPES:
        for b in DTYPES:
            got = taimatsu.promote_types(getattr(taimatsu, a if a != "bool" else "bool"),
                                         getattr(taimatsu, b))
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert got.name == str(want).split(".")[-1], (a, b)


@needs_torch
@pytest.mark.parametrize("other", [1, 2.5, True, "int64", "float16", "float32", "0d_float32",
                                   "0d_float64", "0d_int64"])
def test_result_dtype_with_tensors_and_scalars(other):
    def run(lib):
        x = lib.ones(3, dtype=lib.bfloat16)
        if isinstance(other, str):
            zero_d = other.startswith("0d_")
            dt = getattr(lib, other.removeprefix("0d_"))
            y = lib.ones((), dtype=dt) if zero_d else lib.ones(3, dtype=dt)
        else:
            y = other
        return (x + y).dtype, (y * x).dtype

    assert [str(d).split(".")[-1] for d in run(taimatsu)] == \
        [str(d).split(".")[-1] for d in run(torch)]


@needs_torch
def test_finfo_equals_torch():
    mine, ref = taimatsu.finfo(bf16), torch.finfo(torch.bfloat16)
    for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(mine, k) == getattr(ref, k), k
    assert mine.dtype == "bfloat16"


@needs_torch
def test_rounding_and_conversions_match_torch():
    vals = np.array([1.0, 1.00390625, 1.01171875, 3.1, -2.7e-3, 65504.0, 3.3e38, 1e-40,
                     np.inf, -np.inf], np.float32)
    mine, ref = taimatsu.tensor(vals).bfloat16(), torch.tensor(vals).bfloat16()
    np.testing.assert_array_equal(_np(mine), _np(ref))  # round to nearest even, as PyTorch
    np.testing.assert_array_equal(_np(taimatsu.tensor(vals, dtype=bf16)), _np(ref))
    assert np.isnan(_np(taimatsu.tensor([np.nan]).bfloat16())).all()
    assert mine[:3].half().dtype is taimatsu.float16 and mine.float().dtype is taimatsu.float32
    assert mine[0].item() == 1.0 and mine[:3].tolist() == ref[:3].tolist()
    ints = taimatsu.tensor([300, -7]).bfloat16()
    assert ints.tolist() == torch.tensor([300, -7]).bfloat16().tolist()
    assert _np(taimatsu.tensor([2.5, -3.7]).bfloat16().long()).tolist() == [2, -3]


def test_from_numpy_of_an_ml_dtypes_array():
    import ml_dtypes

    a = np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16)
    t = taimatsu.from_numpy(a)
    assert t.dtype is bf16 and t.numpy().dtype == a.dtype and t.tolist() == [1.5, -2.0]


@needs_torch
def test_repr_matches_torch():
    for vals in ([1.5, 2.25, 3.1], [1.0, 2.0], [1e-5, 3.0]):
        mine = repr(taimatsu.tensor(vals).bfloat16()).replace("taimatsu.", "torch.")
        assert mine == repr(torch.tensor(vals).bfloat16())


@needs_torch
def test_save_load_interchange(tmp_path):
    ref = torch.tensor([[1.5, -2.25], [3.1, 1e-3]]).bfloat16()
    path = tmp_path / "t.pt"
    torch.save({"w": ref, "dtype": torch.bfloat16}, path)
    got = taimatsu.load(path)
    assert got["dtype"] is bf16 and got["w"].dtype is bf16
    np.testing.assert_array_equal(_np(got["w"]), _np(ref))
    buf = io.BytesIO()
    taimatsu.save({"w": got["w"].t(), "dtype": bf16}, buf)
    buf.seek(0)
    back = torch.load(buf)
    assert back["dtype"] is torch.bfloat16 and back["w"].dtype is torch.bfloat16
    assert torch.equal(back["w"], ref.t())


# ------------------------------------------------------------------------------ ops
A, B = rand(3, 4), rand(3, 4, seed=1)
POS = rand(3, 4, seed=2, low=0.2, high=2.0)

# Exact: PyTorch computes these in float32 and rounds once, as ml_dtypes' ufuncs do.
EXACT = {
    "add": lambda T, x, y: x + y, "sub": lambda T, x, y: x - y, "mul": lambda T, x, y: x * y,
    "div": lambda T, x, y: x / y, "neg": lambda T, x, y: -x, "abs": lambda T, x, y: x.abs(),
    "exp": lambda T, x, y: x.exp(), "log": lambda T, x, y: y.log(), "sqrt": lambda T, x, y: y.sqrt(),
    "tanh": lambda T, x, y: x.tanh(), "sin": lambda T, x, y: x.sin(),
    "pow": lambda T, x, y: y ** x, "square": lambda T, x, y: x**2,
    "maximum": lambda T, x, y: T.maximum(x, y), "clamp": lambda T, x, y: x.clamp(-0.5, 0.5),
    "relu": lambda T, x, y: T.relu(x), "where": lambda T, x, y: T.where(x > 0, x, y),
    "floor": lambda T, x, y: (x * 4).floor(), "round": lambda T, x, y: (x * 4).round(),
    "sign": lambda T, x, y: x.sign(), "reciprocal": lambda T, x, y: y.reciprocal(),
    "rsqrt": lambda T, x, y: y.rsqrt(), "erf": lambda T, x, y: x.erf(),
    "add_scalar": lambda T, x, y: x + 1.5, "mul_int": lambda T, x, y: x * 3,
    "sum": lambda T, x, y: x.sum(), "sum_dim": lambda T, x, y: x.sum(0),
    "mean": lambda T, x, y: x.mean(), "mean_dim": lambda T, x, y: x.mean(1),
    "max": lambda T, x, y: x.max(), "amax": lambda T, x, y: x.amax(1),
    "argmax": lambda T, x, y: x.argmax(1), "sort": lambda T, x, y: x.sort(1)[0],
    "topk": lambda T, x, y: x.topk(2)[0], "cat": lambda T, x, y: T.cat([x, y]),
    "stack": lambda T, x, y: T.stack([x, y], 1), "t": lambda T, x, y: x.t().contiguous(),
    "index": lambda T, x, y: x[1:, ::2], "gather": lambda T, x, y: x.gather(1, T.tensor([[0], [1], [2]])),
    "eq": lambda T, x, y: x == y, "gt": lambda T, x, y: x > y, "isnan": lambda T, x, y: x.isnan(),
    "iadd": lambda T, x, y: x.clone().add_(y), "to_float": lambda T, x, y: x.float() * 3,
    "mm": lambda T, x, y: x.mm(y.t()), "matmul": lambda T, x, y: x @ y.t(),
    "bmm": lambda T, x, y: T.bmm(x[None], y.t()[None]),
    "linear": lambda T, x, y: T.nn.functional.linear(x, y),
    "max_pool2d": lambda T, x, y: T.nn.functional.max_pool2d(x[None], 2),
    "hardtanh": lambda T, x, y: T.nn.functional.hardtanh(x * 2),
}
# Within bfloat16's resolution: composites that round between steps here, and reductions
# whose summation order differs.
CLOSE = {
    "sigmoid": lambda T, x, y: x.sigmoid(), "gelu": lambda T, x, y: T.nn.functional.gelu(x),
    "softmax": lambda T, x, y: x.softmax(1), "log_softmax": lambda T, x, y: x.log_softmax(1),
    "logsumexp": lambda T, x, y: x.logsumexp(1), "var": lambda T, x, y: x.var(1),
    "std": lambda T, x, y: x.std(), "prod": lambda T, x, y: y.prod(1),
    "cumsum": lambda T, x, y: x.cumsum(1), "norm": lambda T, x, y: x.norm(),
    "layer_norm": lambda T, x, y: T.nn.functional.layer_norm(x, (4,)),
    "cross_entropy": lambda T, x, y: T.nn.functional.cross_entropy(x, T.tensor([0, 1, 2])),
    "mse_loss": lambda T, x, y: T.nn.functional.mse_loss(x, y),
    "conv2d": lambda T, x, y: T.nn.functional.conv2d(x[None, None], y[None, None, :2, :2]),
    "einsum": lambda T, x, y: T.einsum("ij,kj->ik", x, y), "inner": lambda T, x, y: T.inner(x, y),
    "avg_pool2d": lambda T, x, y: T.nn.functional.avg_pool2d(x[None], 2),
    "interpolate": lambda T, x, y: T.nn.functional.interpolate(x[None, None], scale_factor=2,
                                                               mode="bilinear"),
    "batch_norm": lambda T, x, y: T.nn.functional.batch_norm(x, None, None, training=True),
    "group_norm": lambda T, x, y: T.nn.functional.group_norm(x[None], 3),
}


def _run(lib, fn, grad):
    x = lib.tensor(A).bfloat16().requires_grad_(grad)
    y = lib.tensor(POS).bfloat16().requires_grad_(grad)
    return fn(lib, x, y), (x, y)


def _check(fn, exact):
    mine, _ = _run(taimatsu, fn, False)
    ref, _ = _run(torch, fn, False)
    assert str(mine.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    if exact:
        np.testing.assert_array_equal(_np(mine), _np(ref))
    else:
        np.testing.assert_allclose(_np(mine), _np(ref), rtol=1.6e-2, atol=1e-2)


@needs_torch
@pytest.mark.parametrize("name", list(EXACT))
def test_exact_ops_match_torch(name):
    _check(EXACT[name], exact=True)


@needs_torch
@pytest.mark.parametrize("name", list(CLOSE))
def test_ops_close_to_torch(name):
    _check(CLOSE[name], exact=False)


GRAD_OPS = ("add", "mul", "div", "exp", "tanh", "pow", "sum_dim", "mean", "mm", "linear",
            "softmax", "log_softmax", "layer_norm", "cross_entropy", "conv2d", "max_pool2d", "cat",
            "einsum", "avg_pool2d", "interpolate", "batch_norm")


@needs_torch
@pytest.mark.parametrize("name", GRAD_OPS)
def test_backward_matches_torch(name):
    """Gradients of bfloat16 leaves come back in bfloat16, close to PyTorch's."""
    fn = EXACT.get(name) or CLOSE[name]
    outs = {}
    for lib in (taimatsu, torch):
        out, leaves = _run(lib, fn, True)
        g = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
        out.backward(lib.tensor(g).bfloat16())
        outs[lib] = leaves
    for a, b in zip(outs[taimatsu], outs[torch]):
        if b.grad is None:
            assert a.grad is None
            continue
        assert a.grad.dtype is bf16
        scale = max(1.0, np.abs(_np(b.grad)).max())
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=3e-2, atol=2e-2 * scale)


@needs_torch
def test_mixed_dtype_errors_match_torch():
    x, y = taimatsu.ones(2, 2, dtype=bf16), taimatsu.ones(2, 2)
    with pytest.raises(RuntimeError) as mine:
        taimatsu.mm(x, y)
    with pytest.raises(RuntimeError) as ref:
        torch.mm(torch.ones(2, 2, dtype=torch.bfloat16), torch.ones(2, 2))
    assert str(mine.value) == str(ref.value)
    assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]]  # nothing changed


def test_matmul_accumulates_in_float32():
    """A long dot product of bfloat16 values: accumulated in float32, rounded once."""
    n = 4096
    a = taimatsu.full((1, n), 1.0 + 2**-7, dtype=bf16)
    exact = n * (1.0 + 2**-7)
    assert abs((a @ a.t()).item() - exact * (1.0 + 2**-7)) / exact < 2**-7
    assert abs(a.sum().item() - exact) / exact < 2**-7  # a bfloat16 running sum stalls at 512
