"""``out=`` against PyTorch, for every function that takes it (taimatsu/_out.py).

Each case runs the same call on PyTorch and taimatsu with ``out=``: the result must be written
into and returned as the given tensor(s), resized with PyTorch's warning, checked with PyTorch's
dtype rule, refused where autograd would be needed, and written through a non-contiguous out.
"""
from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np
import pytest

import taimatsu
from taimatsu._out import out_variant
from tests.helpers import needs_torch, rand, to_np, torch

pytestmark = [
    needs_torch,
    # PyTorch's own notices on two of the functions exercised, not about out=
    pytest.mark.filterwarnings("ignore:torch.ger is deprecated:UserWarning"),
    pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta:UserWarning"),
]


class Dt:
    """A dtype argument, resolved in each library (``Dt("float64")``)."""

    def __init__(self, name):
        self.name = name


X, Y = rand(2, 3, seed=1), rand(2, 3, seed=2)
P, Q = rand(2, 3, seed=3, low=0.1, high=0.9), rand(2, 3, seed=4, low=0.1, high=0.9)
B = X > 0
I1 = np.array([[3, 1, 4], [1, 5, 9]], dtype=np.int64)
I2 = np.array([[2, 7, 1], [8, 2, 8]], dtype=np.int64)
A24, B43, C23 = rand(2, 4, seed=5), rand(4, 3, seed=6), rand(2, 3, seed=7)
V2, V3, V4 = rand(2, seed=8), rand(3, seed=9), rand(4, seed=10)
T224, T243, T233 = rand(2, 2, 4, seed=11), rand(2, 4, 3, seed=12), rand(2, 3, 3, seed=13)
S3, S33 = rand(3, 3, seed=14), rand(3, 3, seed=15)
IDX = np.array([[0, 2, 1], [1, 0, 0]], dtype=np.int64)
ROWS = np.array([1, 0], dtype=np.int64)
EDGES = np.array([-0.5, 0.0, 0.5], dtype=np.float32)

# (name, args, kwargs); names resolve in both libraries ("linalg.cross" -> lib.linalg.cross).
CASES = [(n, (P if n in ("acos", "arccos", "asin", "arcsin", "atanh", "arctanh", "erfinv",
                         "special.erfinv", "log", "log10", "log2", "log1p", "special.log1p",
                         "digamma", "special.digamma", "special.psi", "lgamma",
                         "special.gammaln", "rsqrt", "sqrt", "logit", "special.logit")
              else P + 1 if n in ("acosh", "arccosh") else X,), {})
         for n in ("abs", "absolute", "acos", "arccos", "acosh", "arccosh", "asin", "arcsin",
                   "asinh", "arcsinh", "atan", "arctan", "atanh", "arctanh", "ceil", "cos",
                   "cosh", "deg2rad", "digamma", "erf", "erfinv", "exp", "exp2", "expm1", "fix",
                   "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "logit", "neg",
                   "negative", "rad2deg", "reciprocal", "round", "rsqrt", "sgn", "sigmoid",
                   "sign", "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh", "trunc",
                   "nan_to_num", "special.digamma", "special.erf", "special.erfinv",
                   "special.exp2", "special.expit", "special.expm1", "special.gammaln",
                   "special.log1p", "special.logit", "special.psi", "special.round",
                   "special.sinc")]
CASES += [(n, (X, Y), {}) for n in (
    "add", "sub", "subtract", "mul", "multiply", "atan2", "arctan2", "hypot", "maximum",
    "minimum", "fmax", "fmin", "copysign", "heaviside", "logaddexp", "logaddexp2", "eq", "ne",
    "not_equal", "lt", "less", "le", "less_equal", "gt", "greater", "ge", "greater_equal",
    "logical_and", "logical_or", "logical_xor")]
CASES += [(n, (X, P), {}) for n in ("div", "divide", "true_divide", "floor_divide", "fmod",
                                    "remainder")]
CASES += [(n, (I1, I2), {}) for n in ("bitwise_and", "bitwise_or", "bitwise_xor",
                                      "bitwise_left_shift", "bitwise_right_shift")]
CASES += [
    ("add", (X, 2.0), {"alpha": 3}), ("pow", (P, Y), {}), ("pow", (X, 2), {}),
    ("xlogy", (P, Q), {}), ("special.xlogy", (P, Q), {}), ("special.xlog1py", (P, Q), {}),
    ("polygamma", (1, P), {}), ("special.polygamma", (1, P), {}), ("lerp", (X, Y, 0.3), {}),
    ("addcmul", (X, Y, P), {"value": 0.5}), ("addcdiv", (X, Y, P), {"value": 2}),
    ("clamp", (X, -0.5, 0.5), {}), ("clip", (X, -0.5), {}), ("clamp_min", (X, 0.0), {}),
    ("clamp_max", (X, 0.0), {}), ("hardshrink", (X, 0.3), {}),
    ("nn.functional.hardshrink", (X, 0.3), {}), ("where", (B, X, Y), {}), ("logical_not", (X,), {}),
    ("bitwise_not", (I1,), {}),
    # reductions
    ("all", (B, 1), {}), ("any", (B, 0), {}), ("amax", (X, 0), {}), ("amin", (X, 1), {}),
    ("aminmax", (X,), {"dim": 0}), ("argmax", (X, 0), {}), ("argmin", (X, 1), {}),
    ("argsort", (X,), {"stable": True}), ("cummax", (X, 0), {}), ("cummin", (X, 1), {}),
    ("cumprod", (X, 0), {}), ("cumsum", (X, 1), {}), ("kthvalue", (X, 2), {}),
    ("log_softmax", (X, 0), {}), ("logcumsumexp", (X, 1), {}), ("logsumexp", (X, 0), {}),
    ("special.logsumexp", (X, 1), {}), ("max", (X, 0), {}), ("max", (X,), {}),
    ("max", (X, Y), {}), ("min", (X, 1), {}), ("min", (X,), {}), ("min", (X, Y), {}),
    ("mean", (X, 0), {}), ("median", (X, 1), {}), ("mode", (X, 0), {}),
    ("nanmean", (X, 0), {}), ("nansum", (X, 1), {}), ("norm", (X,), {}),
    ("prod", (X, 0), {}), ("softmax", (X, 1), {}), ("sort", (X,), {}),
    ("sort", (X, 0), {"descending": True}), ("std", (X, 0), {}), ("sum", (X, 1), {}),
    ("topk", (X, 2), {}), ("var", (X, 1), {}),
    ("scatter_reduce", (X, 1, IDX, Y, "sum"), {}),
    # linear algebra
    ("addbmm", (C23, T224, T243), {}), ("addmm", (C23, A24, B43), {"beta": 0.5}),
    ("addmv", (V2, A24, V4), {}), ("addr", (C23, V2, V3), {}), ("baddbmm", (T233[:, :2], T224,
                                                                           T243), {}),
    ("bmm", (T224, T243), {}), ("cross", (S3, S33), {"dim": 1}),
    ("linalg.cross", (S3, S33), {}), ("dot", (V3, V3), {}), ("vdot", (V3, V3), {}),
    ("ger", (V2, V3), {}), ("outer", (V2, V3), {}), ("inner", (X, Y), {}),
    ("kron", (X, Y), {}), ("matmul", (A24, B43), {}), ("linalg.matmul", (A24, B43), {}),
    ("mm", (A24, B43), {}), ("mv", (A24, V4), {}), ("tensordot", (X, Y), {"dims": 2}),
    # shape
    ("cat", ([X, Y],), {}), ("concat", ([X, Y], 1), {}), ("concatenate", ([X, Y],), {}),
    ("column_stack", ([X, Y],), {}), ("dstack", ([X, Y],), {}), ("hstack", ([X, Y],), {}),
    ("vstack", ([X, Y],), {}), ("row_stack", ([X, Y],), {}), ("stack", ([X, Y], 1), {}),
    ("diag", (X,), {}), ("diag", (V3, 1), {}), ("narrow_copy", (X, 1, 1, 2), {}),
    ("slice_scatter", (X, Y[:, :1]), {"dim": 1, "start": 1, "end": 2}), ("tril", (X,), {}),
    ("triu", (X, 1), {}),
    # indexing
    ("gather", (X, 1, IDX), {}), ("index_add", (X, 0, ROWS, Y), {"alpha": 2}),
    ("index_copy", (X, 0, ROWS, Y), {}), ("index_select", (X, 1, ROWS), {}),
    ("masked_select", (X, B), {}), ("nonzero", (X,), {}), ("scatter", (X, 1, IDX, Y), {}),
    ("scatter_add", (X, 1, IDX, Y), {}), ("take", (X, ROWS), {}),
    ("index_reduce", (X, 0, ROWS, Y, "prod"), {}),
    ("take_along_dim", (X, IDX, 1), {}),
    # sorting
    ("bucketize", (X, EDGES), {}), ("searchsorted", (EDGES, X), {}),
    ("histc", (X,), {"bins": 4, "min": -1, "max": 1}), ("msort", (X,), {}),
    ("quantile", (X, 0.3), {"dim": 1}), ("nanquantile", (X, 0.5), {"dim": 0}),
    # creation
    ("arange", (5,), {}), ("arange", (1.0, 2.0, 0.25), {}), ("eye", (3,), {}),
    ("eye", (2, 3), {}), ("full", ((2, 3), 1.5), {}), ("linspace", (0, 1, 5), {}),
    ("logspace", (0, 1, 4), {}), ("ones", (2, 3), {}), ("zeros", ((3,),), {}),
]
# Values depend on the generator (or are undefined): shape and dtype are compared.
RANDOM = [("empty", (2, 3), {}), ("rand", (2, 3), {}), ("randn", (4,), {}),
          ("randint", (0, 5, (2, 3)), {}), ("randperm", (5,), {}),
          ("normal", (0.0, 1.0, (3,)), {}), ("bernoulli", (P,), {}),
          ("multinomial", (P, 2), {})]
ALL = CASES + RANDOM


# Functions whose PyTorch signature has out= that no case above exercises, and why.
NOT_EXERCISED = {
    "torch.nn.functional.normalize": "out= pending in nn/functional/normalization.py",
}


def test_every_function_with_out_is_exercised():
    from tests import _torch_signatures as ts

    with_out = {q for q, overloads in ts.signatures().items()
                if not q.startswith("torch.Tensor.")
                and any(p.name == "out" for o in overloads for p in o)}
    exercised = {f"torch.{name}" for name, _, _ in ALL}
    assert with_out - exercised == set(NOT_EXERCISED)


def _ids(cases):
    """Test ids: the name, numbered where a name has several cases (``max-1``)."""
    seen = {}
    ids = []
    for name, _, _ in cases:
        seen[name] = seen.get(name, 0) + 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return ids


def _resolve(lib, name):
    return functools.reduce(getattr, name.split("."), lib)


def _build(lib, value, requires_grad=False):
    if isinstance(value, np.ndarray):
        t = (taimatsu.tensor if lib is taimatsu else torch.tensor)(value.copy())
        return t.requires_grad_() if requires_grad and value.dtype.kind == "f" else t
    if isinstance(value, list):
        return [_build(lib, v, requires_grad) for v in value]
    if isinstance(value, Dt):
        return getattr(lib, value.name)
    return value


def _call(lib, case, requires_grad=False, **extra):
    name, args, kwargs = case
    args = [_build(lib, a, requires_grad) for a in args]
    kwargs = {k: _build(lib, v) for k, v in kwargs.items()}
    return _resolve(lib, name)(*args, **kwargs, **extra)


def _tensors(result):
    return tuple(result) if isinstance(result, tuple) else (result,)


def _empty(lib, like, shape=(0,), dtype=None):
    return lib.empty(shape, dtype=like.dtype if dtype is None else dtype)


def _outs(lib, result, make):
    outs = tuple(make(r) for r in _tensors(result))
    return outs if isinstance(result, tuple) else outs[0]


def _dtype(t) -> str:
    return str(t.dtype).split(".")[-1]


def _same(a, b):
    assert tuple(a.shape) == tuple(b.shape), f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    assert _dtype(a) == _dtype(b)
    np.testing.assert_allclose(to_np(a).astype(np.float64), to_np(b).astype(np.float64),
                               rtol=1e-4, atol=1e-5)


def _run(lib, case, make, **extra):
    """``(out, returned, resize warnings)`` of the call with ``out=make(plain result)``."""
    plain = _call(lib, case)
    out = _outs(lib, plain, make)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        returned = _call(lib, case, out=out, **extra)
    return out, returned, [str(w.message) for w in caught if "resized" in str(w.message)]


def _outcome(lib, case, make, **extra):
    """The exception raised, or the written outs."""
    try:
        out, _, _ = _run(lib, case, make, **extra)
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        return e
    return _tensors(out)


# PyTorch's messages for a refused out dtype that taimatsu words the same (the others are
# per-op texts: "all only supports bool tensor for result, got: Float", ...).
SHARED_MESSAGES = ("result type ", "Expected out tensor to have dtype ")


@pytest.mark.parametrize("case", ALL, ids=_ids(ALL))
def test_written_into_and_returned(case):
    for lib in (torch, taimatsu):
        out, returned, caught = _run(lib, case, lambda r, lib=lib: _empty(lib, r))
        assert not caught
        if isinstance(out, tuple):
            assert all(a is b for a, b in zip(returned, out))
        else:
            assert returned is out
        if lib is torch:
            want, want_returned = out, returned
    if isinstance(out, tuple):  # the same named tuple as without out=, with PyTorch's fields
        assert type(returned) is type(_call(taimatsu, case))
        assert all(getattr(want_returned, f) is w for f, w in zip(returned._fields, want))
    if case in RANDOM:
        for a, b in zip(_tensors(out), _tensors(want)):
            assert tuple(a.shape) == tuple(b.shape) and _dtype(a) == _dtype(b)
        return
    for a, b in zip(_tensors(out), _tensors(want)):
        _same(a, b)


@pytest.mark.parametrize("case", RANDOM[1:], ids=_ids(RANDOM[1:]))
def test_random_out_draws_as_without_out(case):
    taimatsu.manual_seed(3)
    plain = _call(taimatsu, case)
    out = _empty(taimatsu, plain)
    taimatsu.manual_seed(3)
    assert _call(taimatsu, case, out=out) is out
    _same(out, plain)


@pytest.mark.parametrize("case", ALL, ids=_ids(ALL))
def test_resized_with_pytorch_warning(case):
    got = {}
    for lib in (torch, taimatsu):
        out, _, caught = _run(lib, case, lambda r, lib=lib: _empty(lib, r, (7,)))
        got[lib] = (out, [m.split(" (Triggered internally")[0] for m in caught])
    if case[0] in ("kthvalue", "mode"):
        # PyTorch resizes these outs with the reduced dim kept, and names those shapes
        assert len(got[taimatsu][1]) == len(got[torch][1])
    else:
        assert got[taimatsu][1] == got[torch][1]
    for a, b in zip(_tensors(got[taimatsu][0]), _tensors(got[torch][0])):
        assert tuple(a.shape) == tuple(b.shape)
        if case not in RANDOM:
            _same(a, b)


def _other_dtype(lib, r):
    """A dtype unlike the result's: float64 for floats, float32 for integers and bools."""
    return lib.float64 if r.dtype == lib.float32 else lib.float32


# Where the call differs from PyTorch's through its dtype= argument, not through out= (out= only
# hands out's dtype on): strict xfails, so each flips to a failure the day it is fixed.
_BOOL_KERNEL = "taimatsu accepts dtype=bool here; PyTorch's kernel raises NotImplementedError"
DTYPE_GAPS = {
    "int64-nansum": "PyTorch's out= path runs its nansum kernel, which has no int64 version",
    "bool-nansum": "PyTorch's out= path runs its nansum kernel, which has no bool version",
    "int64-arange-2": "PyTorch casts step 0.25 to int64 (0) first and raises ValueError",
    **{f"bool-{n}": _BOOL_KERNEL for n in ("cumsum", "cumprod", "arange", "arange-2",
                                           "linspace", "logspace", "randint", "randperm")},
}


def _dtype_params():
    for kind in ("other", "int64", "bool"):
        for case, name in zip(ALL, _ids(ALL)):
            reason = DTYPE_GAPS.get(f"{kind}-{name}")
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            yield pytest.param(case, kind, id=f"{kind}-{name}", marks=marks)


@pytest.mark.parametrize(("case", "kind"), list(_dtype_params()))
def test_dtype_rule_as_pytorch(case, kind):
    def maker(lib):
        def make(r):
            dt = _other_dtype(lib, r) if kind == "other" else getattr(lib, kind)
            return _empty(lib, r, dtype=dt)
        return make

    want = _outcome(torch, case, maker(torch))
    got = _outcome(taimatsu, case, maker(taimatsu))
    if isinstance(want, Exception):
        assert type(got) is type(want) or (isinstance(got, RuntimeError)
                                           and isinstance(want, RuntimeError)), f"{got!r}"
        if str(want).startswith(SHARED_MESSAGES):
            assert str(got) == str(want)
        return
    assert not isinstance(got, Exception), f"taimatsu raised {got!r}; PyTorch did not"
    for a, b in zip(got, want):
        if case in RANDOM:
            assert _dtype(a) == _dtype(b)
        else:
            _same(a, b)


def _autograd_params():
    for case, name in zip(CASES, _ids(CASES)):
        # PyTorch refuses argsort(stable=True, out=) for an input requiring grad (it runs sort,
        # whose values are differentiable); taimatsu decides by its int64 result: nothing to refuse
        marks = [pytest.mark.xfail(reason="refused by PyTorch through sort", strict=True)] \
            if name == "argsort" else []
        yield pytest.param(case, id=name, marks=marks)


@pytest.mark.parametrize("case", list(_autograd_params()))
def test_autograd_refused_as_pytorch(case):
    outcomes = {}
    for lib in (torch, taimatsu):
        plain = _call(lib, case)
        out = _outs(lib, plain, lambda r, lib=lib: _empty(lib, r))
        try:
            _call(lib, case, requires_grad=True, out=out)
            outcomes[lib] = None
        except RuntimeError as e:
            outcomes[lib] = str(e).split("(): ", 1)[-1]
    assert outcomes[taimatsu] == outcomes[torch]


# narrow_copy's out= in PyTorch refills out's storage contiguously, ignoring its strides.
STRIDED = [c for c in CASES if c[0] != "narrow_copy"]


@pytest.mark.parametrize("case", STRIDED, ids=_ids(STRIDED))
def test_noncontiguous_out_written_through(case):
    got = {}
    for lib in (torch, taimatsu):
        plain = _call(lib, case)
        bases = []

        def make(r, lib=lib, bases=bases):
            # every other element of a buffer, dims reversed (a 0-d result: one element of it)
            base = lib.zeros(tuple(r.shape)[::-1] + (2,), dtype=r.dtype)
            bases.append(base)
            view = base[..., 0]
            return view.permute(*reversed(range(r.dim()))) if r.dim() else view

        out = _outs(lib, plain, make)
        _call(lib, case, out=out)
        got[lib] = bases
    for a, b in zip(got[taimatsu], got[torch]):
        _same(a, b)


def test_out_may_be_an_input():
    # computed first, then written (PyTorch's mm reads x while writing it: zeros here)
    x = taimatsu.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert taimatsu.add(x, x, out=x) is x
    assert taimatsu.mm(x, x, out=x) is x
    assert x.tolist() == [[28.0, 40.0], [60.0, 88.0]] and x._version[0] == 2
    _, indices = taimatsu.sort(x.flip(0).reshape(-1), out=(x.reshape(-1), taimatsu.empty(0)
                                                                .long()))
    assert x.tolist() == [[28.0, 40.0], [60.0, 88.0]] and indices.tolist() == [2, 3, 0, 1]


def test_partial_overlap_refused():
    x = taimatsu.arange(6.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        taimatsu.add(x[:3], 1, out=x[1:4])
    assert x.tolist() == [0, 1, 2, 3, 4, 5] and x._version[0] == 0


def test_version_bumped_once_and_saved_tensors_notice():
    x = taimatsu.ones(3, requires_grad=True)
    buf = taimatsu.zeros(3)
    y = x * buf  # saves buf
    v = buf._version[0]
    taimatsu.add(taimatsu.ones(3), 1, out=buf)
    assert buf._version[0] == v + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_errors_change_nothing():
    out = taimatsu.zeros(2, 3, dtype=taimatsu.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        taimatsu.add(taimatsu.ones(2, 3), 1, out=out)
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype float, but got "
                                           "double instead"):
        taimatsu.mm(taimatsu.ones(2, 2), taimatsu.ones(2, 2),
                    out=taimatsu.zeros(7, dtype=taimatsu.float64))
    with pytest.raises(TypeError, match="argument 'out' must be tuple of Tensors, not Tensor"):
        taimatsu.sort(taimatsu.ones(3), out=taimatsu.zeros(3))
    with pytest.raises(TypeError, match="argument 'out' must be a tuple of 2 Tensors, not of 1"):
        taimatsu.sort(taimatsu.ones(3), out=[taimatsu.zeros(3)])
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not tuple"):
        taimatsu.add(taimatsu.ones(3), 1, out=(taimatsu.zeros(3),))
    with pytest.raises(RuntimeError, match=r"dtype Int does not match dtype of out parameter "
                                           r"\(Long\)"):
        taimatsu.randint(3, (2,), dtype=taimatsu.int32, out=out)
    assert out.tolist() == [[0, 0, 0], [0, 0, 0]] and out._version[0] == 0


def test_out_requiring_grad_refused_in_grad_mode_only():
    w = taimatsu.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="add\\(\\): functions with out=... arguments don't "
                                           "support automatic differentiation"):
        taimatsu.add(taimatsu.ones(3), 1, out=w)
    with taimatsu.no_grad():
        taimatsu.add(taimatsu.ones(3), 1, out=w)
    assert w.tolist() == [2, 2, 2] and w.requires_grad and w.is_leaf


def test_out_on_the_device(device):
    x = taimatsu.tensor(X, device=device)
    out = taimatsu.empty(0, device=device)
    assert taimatsu.add(x, 1, out=out) is out and out.device == x.device
    np.testing.assert_allclose(to_np(out), X + 1, rtol=1e-6)
    values, indices = taimatsu.empty(0, device=device), taimatsu.empty(0, dtype=taimatsu.int64,
                                                                       device=device)
    taimatsu.sort(x, out=(values, indices))
    np.testing.assert_allclose(to_np(values), np.sort(X), rtol=1e-6)
    z = taimatsu.zeros(2, out=taimatsu.empty(5, dtype=taimatsu.int64, device=device))
    assert z.device == x.device and z.dtype == taimatsu.int64 and z.tolist() == [0, 0]


def test_out_on_another_device_refused(device):
    if device == "cpu":
        pytest.skip("needs a second device: CUDA (or the CuPy double)")
    x = taimatsu.tensor(X, device=device)
    out = taimatsu.zeros(2, 3)
    with pytest.raises(RuntimeError, match="found at least two devices, cuda:0 and cpu!"):
        taimatsu.add(x, 1, out=out)
    with pytest.raises(RuntimeError, match="Expected out tensor to have device cuda:0, but got "
                                           "cpu instead"):
        taimatsu.mm(x, x.t(), out=out)
    with pytest.raises(RuntimeError, match=r"device type cuda does not match device type of out "
                                           r"parameter \(cpu\)"):
        taimatsu.zeros(2, 3, device=device, out=out)
    assert out.tolist() == [[0.0] * 3] * 2 and out._version[0] == 0


def test_factory_requires_grad_marks_out():
    out = taimatsu.empty(0)
    r = taimatsu.zeros(2, requires_grad=True, out=out)
    assert r is out and out.requires_grad and out.is_leaf


def test_arange_resize_warning():
    with pytest.warns(UserWarning, match=r"The number of elements in the out tensor of shape "
                                         r"\[3\] is 3 which does not match the computed number "
                                         r"of elements 5"):
        taimatsu.arange(5, out=taimatsu.empty(3))


def test_resized_view_keeps_base():
    base = taimatsu.zeros(4)
    view = base[:2]
    with pytest.warns(UserWarning, match="was resized"):
        taimatsu.add(taimatsu.ones(3), 1, out=view)
    assert view.tolist() == [2, 2, 2] and base.tolist() == [0, 0, 0, 0]


def test_signature_is_truthful():
    def f(input, other, *, alpha=1):
        """Doc."""
        return input

    g = out_variant(f)
    assert str(inspect.signature(g)) == "(input, other, *, alpha=1, out=None)"
    assert g.__name__ == "f" and g.__doc__ == "Doc." and g.__wrapped__ is f
    params = inspect.signature(taimatsu.zeros).parameters
    assert params["out"].kind is inspect.Parameter.KEYWORD_ONLY

    def h(a, /, b=2, *args, c, **kw):
        return a, b, args, c, kw

    w = out_variant(h)
    assert str(inspect.signature(w)) == "(a, /, b=2, *args, c, out=None, **kw)"
    assert w(1, c=3) == (1, 2, (), 3, {}) and w(1, 5, 6, c=3, d=4) == (1, 5, (6,), 3, {"d": 4})


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_mean_pairs_take_a_tuple(name):
    # PyTorch's docstrings list out= here though its binding refuses it; taimatsu takes it.
    x = taimatsu.tensor(X)
    outs = (taimatsu.empty(0), taimatsu.empty(0))
    r = getattr(taimatsu, name)(x, 1, out=outs)
    assert r[0] is outs[0] and r[1] is outs[1]
    want = getattr(torch, name)(torch.tensor(X), 1)
    _same(r[0], want[0])
    _same(r[1], want[1])
