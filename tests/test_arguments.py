"""PyTorch's argument conventions, checked against PyTorch's results: the NumPy-style keyword
aliases on every function and method that has the aliased parameter, sequences given by keyword,
the overloads resolved by argument type, and the storage arguments of creation functions."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import taimatsu
from taimatsu import _arguments
from tests import _torch_signatures as ts
from tests.helpers import compare, gradcheck, needs_torch, to_np, torch

pytestmark = needs_torch

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(np.float32)


def _close(got, want):
    got, want = ts_flat(got), ts_flat(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(to_np(g), to_np(w), rtol=1e-5, atol=1e-6)


def ts_flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in ts_flat(x)]
    return [out]


# ---------------------------------------------------------------- dim=/axis= on every function
# What each function taking ``dim`` needs besides ``input``, by keyword (``T`` is taimatsu or
# torch; tensor_split's by position: PyTorch's keyword name depends on the argument's type);
# the functions not listed take only ``input`` and ``dim``.
def _index(T):
    return T.tensor([[0, 2], [1, 0], [2, 2]])


EXTRA = {
    "chunk": lambda T: {"chunks": 2},
    "cosine_similarity": lambda T: {"x2": T.tensor(X + 1)},
    "cross": lambda T: {"other": T.tensor(X + 1)},
    "gather": lambda T: {"index": _index(T)},
    "index_add": lambda T: {"index": T.tensor([0, 2]), "source": T.ones(3, 2)},
    "index_copy": lambda T: {"index": T.tensor([0, 2]), "source": T.ones(3, 2)},
    "index_fill": lambda T: {"index": T.tensor([0, 2]), "value": 5.0},
    "index_reduce": lambda T: {"index": T.tensor([0, 0]), "source": T.ones(3, 2),
                               "reduce": "amax"},
    "index_select": lambda T: {"index": T.tensor([3, 0])},
    "kthvalue": lambda T: {"k": 2},
    "nanquantile": lambda T: {"q": 0.3},
    "quantile": lambda T: {"q": 0.3},
    "narrow": lambda T: {"start": 1, "length": 2},
    "narrow_copy": lambda T: {"start": 1, "length": 2},
    "repeat_interleave": lambda T: {"repeats": 2},
    "scatter": lambda T: {"index": _index(T), "src": T.ones(3, 2)},
    "scatter_add": lambda T: {"index": _index(T), "src": T.ones(3, 2)},
    "scatter_reduce": lambda T: {"index": _index(T), "src": T.ones(3, 2), "reduce": "prod"},
    "select": lambda T: {"index": 2},
    "select_scatter": lambda T: {"src": T.ones(3), "index": 1},
    "slice_scatter": lambda T: {"src": T.ones(3, 4)},
    "split_with_sizes": lambda T: {"split_sizes": [1, 3]},
    "take_along_dim": lambda T: {"indices": _index(T)},
    "tensor_split": lambda T: (2,),
    "topk": lambda T: {"k": 2},
    "unflatten": lambda T: {"sizes": (2, 2)},
}
DIM0 = {"cross": 0, "linalg.cross": 0, "Tensor.cross": 0}  # (the dim of length 3)


def _dim_names():
    names = []
    for q in ts.shared_names():
        if q.startswith("torch.nn.functional."):
            continue  # plain Python in PyTorch: no aliases
        ours = ts.pair(q)
        try:
            params = inspect.signature(ours).parameters
        except (TypeError, ValueError):
            continue
        short = q.rsplit(".", 1)[1].rstrip("_") if q.startswith("torch.Tensor.") else q[6:]
        python = (_arguments.PYTHON_METHODS if q.startswith("torch.Tensor.")
                  else _arguments.PYTHON_FUNCTIONS)
        if "dim" in params and short.split(".")[-1] not in python:
            names.append(q)
    return names


def _call(T, qualname, **kw):
    """``qualname`` called on ``X`` (a fresh tensor per call: some are in-place) with ``kw``."""
    x = T.tensor(X)
    name = qualname.rsplit(".", 1)[1]
    extra = EXTRA.get(name.rstrip("_"), lambda T: {})(T)
    args, kw = (extra, kw) if isinstance(extra, tuple) else ((), {**extra, **kw})
    if qualname.startswith("torch.Tensor."):
        return getattr(x, name)(*args, **kw)
    fn = ts.pair(qualname) if T is taimatsu else ts._resolve(qualname)
    if name in ("cat", "concat", "concatenate", "stack"):
        return fn([x, x], **kw)
    return fn(x, *args, **kw)


@pytest.mark.parametrize("qualname", _dim_names())
def test_axis_alias_matches_torch(qualname):
    d = DIM0.get(qualname[6:], 1)
    if qualname == "torch.concatenate":  # (its own parameter is named axis, as in NumPy)
        pytest.skip("concatenate names its parameter axis")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (index_reduce's "in beta" note)
        want = _call(torch, qualname, axis=d)
        got = _call(taimatsu, qualname, axis=d)
        plain = _call(taimatsu, qualname, dim=d)
    _close(got, want)
    _close(got, plain)


def _keepdim_names():
    return [q for q in _dim_names()
            if "keepdim" in inspect.signature(ts.pair(q)).parameters]


@pytest.mark.parametrize("qualname", _keepdim_names())
def test_keepdims_alias_matches_torch(qualname):
    want = _call(torch, qualname, axis=1, keepdims=True)
    got = _call(taimatsu, qualname, axis=1, keepdims=True)
    _close(got, want)
    assert ts_flat(got)[0].shape == ts_flat(want)[0].shape


@pytest.mark.parametrize("call", [
    lambda T, x: T.sum(x, dim=1, axis=1),
    lambda T, x: x.sum(axis=1, dim=1),
    lambda T, x: x.mean(1, keepdim=True, keepdims=True),
    lambda T, x: T.add(x, other=x, x2=x),
    lambda T, x: T.neg(input=x, x=x),
    lambda T, x: T.neg(x=x, a=x),
], ids=["sum-dim-axis", "method-axis-dim", "keepdim-keepdims", "other-x2", "input-x", "x-a"])
def test_name_and_alias_together_is_torchs_error(call):
    with pytest.raises(TypeError) as theirs:
        call(torch, torch.tensor(X))
    with pytest.raises(TypeError) as ours:
        call(taimatsu, taimatsu.tensor(X))
    assert str(ours.value) == str(theirs.value)


def test_python_level_lists_are_torchs():
    """The names left unwrapped are exactly the shared ones PyTorch writes in Python (of those
    the mechanism would wrap)."""
    for prefix, listed in (("torch.", _arguments.PYTHON_FUNCTIONS),
                           ("torch.Tensor.", _arguments.PYTHON_METHODS)):
        python = set()
        for q in ts.shared_names():
            name = q[len(prefix):]
            if not q.startswith(prefix) or "." in name or not inspect.isfunction(ts._resolve(q)):
                continue
            ours = inspect.getattr_static(taimatsu.Tensor, name) if prefix == "torch.Tensor." \
                else ts.pair(q)
            if _arguments.with_aliases(ours, method=prefix == "torch.Tensor.") is not ours:
                python.add(name)
        assert python == set(listed), prefix


@pytest.mark.parametrize("call", [
    lambda T, x: T.norm(x, axis=1), lambda T, x: x.split(2, axis=1),
    lambda T, x: T.unique(x, axis=0), lambda T, x: x.unflatten(axis=1, sizes=(2, 2)),
], ids=["norm", "split", "unique", "unflatten"])
def test_python_level_functions_take_no_alias_as_in_torch(call):
    for T in (torch, taimatsu):
        with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
            call(T, T.tensor(X))


def _unary_names():
    out = []
    for name in sorted(n for n in dir(taimatsu) if not n.startswith("_")):
        ours, theirs = getattr(taimatsu, name), getattr(torch, name, None)
        if not inspect.isfunction(ours) or theirs is None or not ts.overloads(f"torch.{name}"):
            continue
        required = [p for p in inspect.signature(ours).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                           p.POSITIONAL_ONLY)]
        if any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(ours).parameters.values()):
            continue  # (permute, reshape: not unary)
        if name.endswith("_like") or name in ("bernoulli", "poisson", "normal"):
            continue  # random or uninitialised values
        if [p.name for p in required] in (["input"], ["input", "other"]):
            out.append((name, len(required)))
    return out


@pytest.mark.parametrize("name,nargs", _unary_names())
def test_input_aliases_match_torch(name, nargs):
    """``x=``/``a=``/``x1=`` for ``input`` and ``x2=`` for ``other``, as PyTorch's parser."""
    pos = np.abs(X) + 0.5  # in every domain (log, sqrt, acosh needs >= 1: shifted below)
    for alias in ("x", "a", "x1"):
        kw = {alias: None}
        results = []
        for T in (torch, taimatsu):
            a = T.tensor(pos + 1.0)
            kw = {alias: a} if nargs == 1 else {alias: a, "x2": T.tensor(pos)}
            try:
                results.append(getattr(T, name)(**kw))
            except (TypeError, RuntimeError, NotImplementedError) as e:
                results.append(type(e))
        if isinstance(results[0], type):  # PyTorch refuses this dtype or form: so do we
            assert isinstance(results[1], type), name
            continue
        _close(results[1], results[0])


def _m(T, *shape):
    """The same values for both libraries: drawn from a generator seeded by the shape."""
    rng = np.random.default_rng(list(shape))
    return T.tensor(rng.standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("call", [
    lambda T: T.mm(x=_m(T, 2, 3), mat2=_m(T, 3, 4)),
    lambda T: T.bmm(a=_m(T, 2, 2, 3), mat2=_m(T, 2, 3, 4)),
    lambda T: T.mv(x1=_m(T, 2, 3), vec=_m(T, 3)),
    lambda T: T.dot(x=_m(T, 3), tensor=_m(T, 3) + 1),
    lambda T: T.outer(x=_m(T, 3), vec2=_m(T, 2)),
    lambda T: T.matmul(x1=_m(T, 2, 3), x2=_m(T, 3, 4)),
    lambda T: T.addmm(x=_m(T, 4), mat1=_m(T, 2, 3), mat2=_m(T, 3, 4), beta=0.5),
    lambda T: T.linalg.cross(x=_m(T, 2, 3), other=_m(T, 2, 3) + 1, axis=1),
    lambda T: T.linalg.matmul(x=_m(T, 2, 3), other=_m(T, 3, 2)),
], ids=["mm", "bmm", "mv", "dot", "outer", "matmul", "addmm", "linalg.cross", "linalg.matmul"])
def test_linear_algebra_aliases_match_torch(call):
    _close(call(taimatsu), call(torch))


# ------------------------------------------------------------- sequences given by keyword
@pytest.mark.parametrize("call", [
    lambda T, x: x.permute(dims=(1, 0)),
    lambda T, x: T.permute(x, dims=(1, 0)),
    lambda T, x: x.view(size=(4, 3)),
    lambda T, x: x.reshape(shape=(2, 6)),
    lambda T, x: x.expand(size=(2, 3, 4)),
    lambda T, x: x.repeat(repeats=(2, 1)),
    lambda T, x: x.tile(dims=(2,)),
    lambda T, x: x.flip(dims=(0,)),
    lambda T, x: x.flip(dims=[0, 1]),
    lambda T, x: x.broadcast_to(size=(2, 3, 4)),
    lambda T, x: x.hsplit(indices=[1, 3]),
    lambda T, x: x.hsplit(1, 3),
    lambda T, x: T.zeros(size=(2, 3)),
    lambda T, x: T.ones(size=[2]),
], ids=["permute", "torch.permute", "view", "reshape", "expand", "repeat", "tile", "flip",
        "flip-list", "broadcast_to", "hsplit-kw", "hsplit-varargs", "zeros", "ones"])
def test_sequence_by_keyword_matches_torch(call):
    _close(call(taimatsu, taimatsu.tensor(X)), call(torch, torch.tensor(X)))


def test_sequence_by_keyword_and_position_is_an_error():
    with pytest.raises(TypeError, match="multiple values for argument 'dims'"):
        taimatsu.tensor(X).permute(1, dims=(1, 0))


# ---------------------------------------------------------------- overloads by argument type
@pytest.mark.parametrize("call", [
    lambda T, x, y: T.max(x), lambda T, x, y: T.max(x, 1), lambda T, x, y: T.max(x, y),
    lambda T, x, y: x.max(y), lambda T, x, y: x.max(dim=0, keepdim=True),
    lambda T, x, y: T.min(x), lambda T, x, y: T.min(x, 0), lambda T, x, y: x.min(y),
    lambda T, x, y: T.min(x, dim=1, keepdim=False),
    lambda T, x, y: T.max(x, other=y), lambda T, x, y: x.min(other=y),
], ids=["max", "max-dim", "max-other", "max-method-other", "max-method-dim", "min",
        "min-dim", "min-method-other", "min-dim-kw", "max-other-kw", "min-method-other-kw"])
def test_max_min_overloads(call, device):
    compare(call, X, RNG.standard_normal((3, 4)).astype(np.float32), device=device)


@pytest.mark.parametrize("dtype", ["int32", "uint8", "int16", "float64", "bool"])
def test_view_dtype_reinterprets_bits(dtype, device):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) + 0.25
    if dtype == "bool":
        a = np.ones((3, 4), np.uint8).astype(np.float32) * 0  # only 0/1 bytes are bools
        a = (a > 0).astype(np.uint8)
    for by_kw in (False, True):
        got = taimatsu.tensor(a, device=device)
        want = torch.tensor(a)
        d_ours, d_theirs = getattr(taimatsu, dtype), getattr(torch, dtype)
        got = got.view(dtype=d_ours) if by_kw else got.view(d_ours)
        want = want.view(d_theirs)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(to_np(got), to_np(want))


def test_view_dtype_and_shape_together_is_an_error():
    with pytest.raises(TypeError, match="either a shape or a dtype"):
        taimatsu.tensor(X).view(3, 4, dtype=taimatsu.int32)


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_mode(mode, device):
    b = RNG.uniform(0.5, 2, (3, 4)).astype(np.float32)
    compare(lambda T, x, y: T.div(x, y, rounding_mode=mode), X * 5, b, device=device,
            grad=mode is None)
    compare(lambda T, x, y: x.div(y, rounding_mode=mode), X * 5, b, device=device,
            grad=mode is None)


def test_true_divide_has_no_rounding_mode():
    x = taimatsu.tensor(X)
    np.testing.assert_allclose(to_np(taimatsu.true_divide(x, 2)), X / 2)
    with pytest.raises(TypeError):
        taimatsu.true_divide(x, 2, rounding_mode="floor")


def _scatter_index():
    return np.array([[0, 1, 0, 2], [0, 0, 0, 1]])


@pytest.mark.parametrize("reduce", ["add", "multiply"])
@pytest.mark.parametrize("src", ["tensor", "number"])
def test_scatter_reduce_keyword_matches_torch(reduce, src, device):
    idx = _scatter_index()
    s = RNG.standard_normal((2, 4)).astype(np.float32) if src == "tensor" else 1.5

    def run(T):
        x = T.tensor(X, device=device if T is taimatsu else "cpu")
        i = T.tensor(idx, device=device if T is taimatsu else "cpu")
        v = T.tensor(s, device=device if T is taimatsu else "cpu") if src == "tensor" else s
        out = x.scatter(0, i, v, reduce=reduce)
        fn = T.scatter(x, 0, i, v, reduce=reduce)
        x.scatter_(0, i, v, reduce=reduce)
        return out, fn, x

    _close(run(taimatsu), run(torch))


def test_scatter_reduce_keyword_on_ints():
    idx = _scatter_index()
    a = np.arange(12).reshape(3, 4)
    got = taimatsu.tensor(a).scatter(0, taimatsu.tensor(idx), 3, reduce="multiply")
    want = torch.tensor(a).scatter(0, torch.tensor(idx), 3, reduce="multiply")
    np.testing.assert_array_equal(to_np(got), to_np(want))
    assert got.dtype == taimatsu.int64


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_keyword_gradient(reduce):
    """Differentiable here (PyTorch's backward raises for scatter with reduce=)."""
    idx = taimatsu.tensor(_scatter_index())
    gradcheck(lambda x, s: x.scatter(0, idx, s, reduce=reduce), X.astype(np.float64),
              RNG.standard_normal((2, 4)))


def test_scatter_bad_reduce_is_torchs_error_and_changes_nothing():
    for T in (torch, taimatsu):
        x = T.tensor(X)
        with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
            x.scatter_(0, T.tensor(_scatter_index()), 1.0, reduce="sum")
        np.testing.assert_array_equal(to_np(x), X)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_reduce_matches_torch(reduce, include_self, dim, device):
    index = np.array([0, 2, 0]) if dim == 0 else np.array([3, 0, 3])
    shape = (3, 4) if dim == 0 else (3, 3)
    src = RNG.standard_normal(shape).astype(np.float32)

    def fn(T, x, s):
        i = T.tensor(index, device=x.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's "in beta" note)
            return T.index_reduce(x, dim, i, s, reduce, include_self=include_self)

    compare(fn, X, src, device=device)
    compare(lambda T, x, s: fn(T, x, s) * 1, X, src, device=device, non_contiguous=True)


def test_index_reduce_method_and_inplace(device):
    for T in (taimatsu, torch):
        dev = device if T is taimatsu else "cpu"
        x = T.tensor(X, device=dev)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = x.index_reduce(1, T.tensor([1, 1], device=dev), T.ones(3, 2, device=dev) * 2,
                                 "prod")
            x.index_reduce_(1, T.tensor([1, 1], device=dev), T.ones(3, 2, device=dev) * 2,
                            "prod")
        if T is taimatsu:
            ours = (out, x)
        else:
            _close(ours, (out, x))


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_gradcheck(reduce, include_self):
    idx = taimatsu.tensor([0, 2, 0])
    gradcheck(lambda x, s: x.index_reduce(0, idx, s, reduce, include_self=include_self),
              RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)))


@pytest.mark.parametrize("call,exc", [
    (lambda T, x: x.index_reduce(0, T.tensor([0]), T.ones(1, 4), "sum"), RuntimeError),
    (lambda T, x: x.index_reduce_(0, T.tensor([0, 1]), T.ones(1, 4), "prod"), RuntimeError),
    (lambda T, x: x.index_reduce_(0, T.tensor([0]), T.ones(1, 4, dtype=T.float64), "prod"),
     RuntimeError),
    (lambda T, x: x.index_reduce_(0, T.tensor([[0]]), T.ones(1, 4), "amax"), IndexError),
    (lambda T, x: x.index_reduce_(0, T.tensor([5]), T.ones(1, 4), "amax"), IndexError),
    (lambda T, x: x.index_reduce_(0, T.tensor([0]), T.ones(1, 3), "amin"), RuntimeError),
], ids=["reduce", "count", "dtype", "index-rank", "range", "shape"])
def test_index_reduce_errors_are_torchs_and_change_nothing(call, exc):
    messages = []
    for T in (torch, taimatsu):
        x = T.tensor(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(exc) as err:
                call(T, x)
        messages.append(str(err.value))
        np.testing.assert_array_equal(to_np(x), X)
    assert messages[1] == messages[0]


def test_flip_dims_keyword(device):
    compare(lambda T, x: T.flip(x, dims=(0, 1)), X, device=device)
    compare(lambda T, x: x.flip(dims=[1]), X, device=device)
    compare(lambda T, x: x.flip(0, 1), X, device=device, non_contiguous=True)


@pytest.mark.parametrize("call", [
    lambda T, x: T.sum(x, dtype=T.float64), lambda T, x: x.sum(dtype=T.float64),
    lambda T, x: x.sum(1, dtype=T.float64), lambda T, x: x.sum(axis=0, dtype=T.float64),
    lambda T, x: T.sum(x.to(T.int32), dtype=T.int64),
], ids=["sum", "method", "dim", "axis", "int"])
def test_sum_dtype(call, device):
    got = call(taimatsu, taimatsu.tensor(X, device=device))
    want = call(torch, torch.tensor(X))
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
    _close(got, want)


def test_sort_stable_is_keyword_only():
    x = taimatsu.tensor(X)
    for fn in (taimatsu.sort, taimatsu.argsort):
        with pytest.raises(TypeError):
            fn(x, 0, False, True)
        _close(fn(x, dim=0, stable=True), getattr(torch, fn.__name__)(
            torch.tensor(X), dim=0, stable=True))


def test_nan_to_num_default_and_inplace_positional():
    a = np.array([1.0, np.nan, np.inf, -np.inf], np.float32)
    for call in (lambda T, x: T.nan_to_num(x, nan=None), lambda T, x: x.nan_to_num(),
                 lambda T, x: x.clone().nan_to_num_(2.0, 3.0), lambda T, x: x.pow_(exponent=2)):
        _close(call(taimatsu, taimatsu.tensor(a)), call(torch, torch.tensor(a)))


def test_std_unbiased_and_correction_together_is_torchs_error():
    for T in (torch, taimatsu):
        with pytest.raises((RuntimeError, TypeError)):
            T.std(T.tensor(X), unbiased=True, correction=0)
    compare(lambda T, x: T.std(x, 0, False, True), X)
    compare(lambda T, x: x.var(unbiased=False), X)


@pytest.mark.parametrize("dt", ["float32", "float16"])
def test_mm_out_dtype(dt):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    x = taimatsu.tensor(a, dtype=getattr(taimatsu, dt))
    y = taimatsu.tensor(b, dtype=x.dtype)
    for got in (taimatsu.mm(x, y, taimatsu.float32), taimatsu.mm(x, y, out_dtype=taimatsu.float32),
                taimatsu.bmm(x[None], y[None], taimatsu.float32)[0],
                taimatsu.addmm(taimatsu.zeros(4, dtype=x.dtype), x, y, taimatsu.float32),
                taimatsu.baddbmm(taimatsu.zeros(1, 2, 4, dtype=x.dtype), x[None], y[None],
                                 taimatsu.float32)[0]):
        assert got.dtype == taimatsu.float32
        np.testing.assert_allclose(to_np(got), to_np(x).astype(np.float32) @ to_np(y), rtol=1e-5)
    if dt == "float32":
        with pytest.raises(RuntimeError, match="out_dtype must be the same as input dtype"):
            taimatsu.mm(x, y, taimatsu.float16)


# ------------------------------------------------------------------- creation storage args
@pytest.mark.parametrize("make", [
    lambda T, **k: T.zeros(2, 3, **k), lambda T, **k: T.ones(2, **k),
    lambda T, **k: T.empty(2, **k), lambda T, **k: T.full((2,), 1.0, **k),
    lambda T, **k: T.arange(3, **k), lambda T, **k: T.linspace(0, 1, 3, **k),
    lambda T, **k: T.logspace(0, 1, 3, **k), lambda T, **k: T.eye(2, **k),
    lambda T, **k: T.rand(2, **k), lambda T, **k: T.randn(2, **k),
    lambda T, **k: T.randint(3, (2,), **k), lambda T, **k: T.randperm(3, **k),
    lambda T, **k: T.zeros_like(T.ones(2), **k), lambda T, **k: T.rand_like(T.ones(2), **k),
    lambda T, **k: T.randint_like(T.ones(2), 5, **k),
    lambda T, **k: T.ones(1).new_zeros(2, **k), lambda T, **k: T.ones(1).new_full((2,), 3, **k),
    lambda T, **k: T.tril_indices(3, 3, **k), lambda T, **k: T.scalar_tensor(2, **k),
    lambda T, **k: T.normal(0.0, 1.0, (2,), **k),
], ids=["zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye", "rand",
        "randn", "randint", "randperm", "zeros_like", "rand_like", "randint_like", "new_zeros",
        "new_full", "tril_indices", "scalar_tensor", "normal"])
def test_creation_storage_arguments(make):
    ours = make(taimatsu, layout=taimatsu.strided, pin_memory=False)
    theirs = make(torch, layout=torch.strided, pin_memory=False)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    with pytest.raises(RuntimeError, match="pin_memory=True is not supported"):
        make(taimatsu, pin_memory=True)
    with pytest.raises(RuntimeError, match="strided layout only"):
        make(taimatsu, layout="sparse")


@pytest.mark.parametrize("call", [
    lambda T: T.empty_like(T.ones(3, 4).t()),
    lambda T: T.zeros_like(T.ones(3, 4).t(), memory_format=T.preserve_format),
    lambda T: T.full_like(T.ones(3, 4).t(), 2.0),
    lambda T: T.rand_like(T.ones(2, 3, 4).permute(2, 0, 1)),
    lambda T: T.ones_like(T.ones(3, 4).t(), memory_format=T.contiguous_format),
    lambda T: T.empty(2, 3, 4, 5, memory_format=T.channels_last),
    lambda T: T.empty(2, 3, 4, 5, 6, memory_format=T.channels_last_3d),
    lambda T: T.zeros_like(T.ones(2, 3, 4, 5), memory_format=T.channels_last),
    lambda T: T.ones(2, 3, 4, 5).clone(memory_format=T.channels_last),
    lambda T: T.ones(2, 3, 4, 5).contiguous(memory_format=T.channels_last),
    lambda T: T.ones(2, 3, 4, 5).contiguous(memory_format=T.channels_last).contiguous(),
    lambda T: T.ones(3, 4).t().contiguous(memory_format=T.contiguous_format),
], ids=["empty_like", "zeros_like-preserve", "full_like", "rand_like-3d", "ones_like-contiguous",
        "empty-channels_last", "empty-channels_last_3d", "zeros_like-channels_last",
        "clone-channels_last", "contiguous-channels_last", "back-to-contiguous",
        "contiguous_format"])
def test_memory_format_strides_match_torch(call):
    ours, theirs = call(taimatsu), call(torch)
    assert tuple(ours.stride()) == tuple(theirs.stride())
    assert tuple(ours.shape) == tuple(theirs.shape)


def test_channels_last_values_and_gradient():
    a = RNG.standard_normal((2, 3, 4, 5))
    compare(lambda T, x: x.clone(memory_format=T.channels_last) * 2, a)
    compare(lambda T, x: x.contiguous(memory_format=T.channels_last).sum(1), a)
    x = taimatsu.tensor(a)
    c = x.contiguous(memory_format=taimatsu.channels_last)
    assert c.contiguous(memory_format=taimatsu.channels_last) is c


@pytest.mark.parametrize("call", [
    lambda T: T.ones(2, 3).contiguous(memory_format=T.channels_last),
    lambda T: T.ones(2, 3).clone(memory_format=T.channels_last),
    lambda T: T.empty(2, memory_format=T.channels_last),
    lambda T: T.empty_like(T.ones(2, 3), memory_format=T.channels_last_3d),
], ids=["contiguous", "clone", "empty", "empty_like"])
def test_memory_format_rank_error_is_torchs(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(taimatsu)
    assert str(ours.value) == str(theirs.value)


def test_memory_format_must_be_one():
    with pytest.raises(TypeError, match="must be torch.memory_format"):
        taimatsu.ones(2).clone(memory_format="channels_last")


def test_layout_constants_pickle_as_themselves():
    import pickle
    for c in (taimatsu.strided, taimatsu.contiguous_format, taimatsu.channels_last):
        assert pickle.loads(pickle.dumps(c)) is c
    assert repr(taimatsu.strided) == "taimatsu.strided"


@pytest.mark.parametrize("convert", [taimatsu.asarray, taimatsu.from_dlpack])
def test_shares_memory_unless_copy(convert):
    a = np.arange(3.0)
    shared, copied = convert(a), convert(a, copy=True)
    a[0] = 7
    assert shared[0].item() == 7 and copied[0].item() == 0


def test_asarray_copy_false_and_requires_grad():
    with pytest.raises(ValueError, match="copy=False"):
        taimatsu.asarray([1, 2], copy=False)
    t = taimatsu.ones(2)
    assert taimatsu.asarray(t) is t
    g = taimatsu.asarray(t, requires_grad=True)
    assert g.requires_grad and not t.requires_grad


def test_from_dlpack_keywords():
    a = np.arange(3.0)
    assert taimatsu.from_dlpack(ext_tensor=a, device="cpu")[0].item() == 0


def test_set_rng_state_new_state_keyword():
    state = taimatsu.get_rng_state()
    first = taimatsu.rand(3)
    taimatsu.set_rng_state(new_state=state)
    np.testing.assert_array_equal(to_np(taimatsu.rand(3)), to_np(first))


def test_special_softmax_dtype_keyword_only():
    x = taimatsu.tensor(X)
    with pytest.raises(TypeError):
        taimatsu.special.softmax(x, 1, taimatsu.float64)
    _close(taimatsu.special.log_softmax(x, axis=1, dtype=taimatsu.float64),
           torch.special.log_softmax(torch.tensor(X), axis=1, dtype=torch.float64))


# --------------------------------------------------------------------------- the mechanism
def test_wrapper_keeps_signature_and_passes_through():
    assert inspect.signature(taimatsu.sum) == inspect.signature(taimatsu.ops.reduce.sum)
    assert taimatsu.sum.__wrapped__ is taimatsu.ops.reduce.sum
    assert taimatsu.exp.__wrapped__ is taimatsu.ops.elementwise.exp  # (``input``: x=, a=, x1=)
    assert taimatsu.Tensor.sum is not taimatsu.ops.reduce.sum  # methods are wrapped in place
    assert taimatsu.Tensor.sum.__wrapped__ is taimatsu.ops.reduce.sum
    # a function with none of the aliased parameters and no *args is not wrapped at all
    assert taimatsu.manual_seed is taimatsu.random.manual_seed
