"""Differential fuzzer: the same call on taimatsu and on PyTorch must end the same way.

Hypothesis draws an entry of :data:`CALLS` (creation, elementwise, reduction, shape, indexing
get and set, in-place, autograd, and nn/optim constructor validation) and its arguments: shapes
that are 0-d, empty, broadcastable or deliberately mismatched, several dtypes, non-contiguous
layouts, out-of-range dims and values. Each call runs on both libraries from the same NumPy data;
the outcome must agree:

- both succeed: same shape, same dtype, equal values (NaN equal to NaN);
- both raise: the same exception type (by its builtin base), and every input tensor unchanged
  (values, version counter, ``.grad``) — a refused call must change nothing;
- anything else is a divergence and fails.

The quick profile runs in the normal suite (12 derandomised examples per entry, seconds).
Explore with ``TAIMATSU_FUZZ_EXAMPLES=250 pytest tests/fuzz --hypothesis-profile long`` (about
20 000 examples over the table, new ones each run).
Every divergence found is fixed with a regular test or listed in :data:`KNOWN` with its reason
(and in docs/differences.md).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taimatsu
from tests.helpers import torch

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install "
                                "torch==2.13.0): the differential fuzzer needs it as the oracle")

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]
FLOATS = ["float32", "float64"]


# ---------------------------------------------------------------------------- argument strategies
@st.composite
def arrays(draw, dtypes=DTYPES, max_dims=3, shape=None):
    """A NumPy array spec: (values, dtype name, non-contiguous?)."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 3), max_size=max_dims)))
    dtype = draw(st.sampled_from(dtypes))
    n = int(np.prod(shape))
    if dtype == "bool":
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    elif dtype == "uint8":
        vals = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    elif dtype in ("int64", "int32"):
        vals = draw(st.lists(st.integers(-9, 9), min_size=n, max_size=n))
    else:  # small halves: exact in every float dtype, so results agree to the bit mostly
        vals = draw(st.lists(st.integers(-8, 8).map(lambda v: v / 2), min_size=n, max_size=n))
    arr = np.array(vals, dtype=dtype).reshape(shape)
    return arr, draw(st.booleans()) and arr.ndim >= 2


def broadcast_pairs():
    """Two array specs whose shapes broadcast — or, one time in four, need not."""
    @st.composite
    def pair(draw):
        a = draw(arrays())
        shape = a[0].shape
        if draw(st.integers(0, 3)) == 0:
            b = draw(arrays())
        else:
            keep = [s if draw(st.booleans()) else 1 for s in shape]
            cut = draw(st.integers(0, len(keep)))
            b = draw(arrays(shape=tuple(keep[cut:])))
        return a, b
    return pair()


def dims(ndim_hint=3):
    return st.integers(-4, 3)


def scalars():
    return st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -1.5, 2.0, True, False]))


# ---------------------------------------------------------------------------- the call table
def _t(lib, spec, requires_grad=False):
    """A tensor of ``lib`` from an array spec (a transposed view when non-contiguous)."""
    arr, non_contiguous = spec
    src = np.ascontiguousarray(np.swapaxes(arr, -1, -2)) if non_contiguous else arr
    t = lib.tensor(src.copy())
    if non_contiguous:
        t = t.transpose(-1, -2)
    if requires_grad and arr.dtype.kind == "f":
        t.requires_grad_(True)
    return t


CALLS = {}


def call(name, *strategies):
    """Register ``fn(lib, *drawn)`` under ``name`` with the strategies of its arguments."""
    def register(fn):
        CALLS[name] = (fn, strategies)
        return fn
    return register


# creation
call("tensor", st.one_of(
    st.lists(st.integers(-300, 300), max_size=3),
    st.lists(st.lists(st.integers(0, 3), max_size=2), max_size=2),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-(2 ** 65), 2 ** 65)), st.sampled_from(DTYPES + [None]))(
    lambda T, data, dt: T.tensor(data, dtype=None if dt is None else getattr(T, dt)))
call("zeros", st.lists(st.integers(-1, 3), max_size=3), st.sampled_from(DTYPES))(
    lambda T, size, dt: T.zeros(size, dtype=getattr(T, dt)))
call("full", st.lists(st.integers(0, 3), max_size=2), st.integers(-300, 300),
     st.sampled_from(DTYPES))(lambda T, size, v, dt: T.full(size, v, dtype=getattr(T, dt)))
call("arange", st.integers(-5, 5), st.integers(-5, 5), st.integers(-2, 2))(
    lambda T, a, b, s: T.arange(a, b, s))
call("linspace", st.integers(-3, 3), st.integers(-3, 3), st.integers(-2, 5))(
    lambda T, a, b, n: T.linspace(a, b, n))
call("eye", st.integers(0, 3), st.integers(0, 3))(lambda T, n, m: T.eye(n, m))

# elementwise
for _name in ("add", "sub", "mul", "div", "maximum", "minimum", "eq", "lt", "pow", "remainder",
              "atan2", "logical_and", "bitwise_and", "floor_divide"):
    call(_name, broadcast_pairs())(
        lambda T, ab, _n=_name: getattr(T, _n)(_t(T, ab[0]), _t(T, ab[1])))
for _name in ("neg", "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "floor", "sign",
              "logical_not", "bitwise_not", "reciprocal", "relu"):
    call(_name, arrays())(lambda T, a, _n=_name: getattr(T, _n)(_t(T, a)))
call("add scalar", arrays(), scalars())(lambda T, a, s: T.add(_t(T, a), s))
call("mul scalar", arrays(), scalars())(lambda T, a, s: _t(T, a) * s)
call("clamp", arrays(), st.one_of(st.none(), st.integers(-2, 2)),
     st.one_of(st.none(), st.integers(-2, 2)))(
    lambda T, a, lo, hi: T.clamp(_t(T, a), lo, hi))
call("where", broadcast_pairs(), arrays(dtypes=["bool"]))(
    lambda T, ab, c: T.where(_t(T, c), _t(T, ab[0]), _t(T, ab[1])))

# reductions
for _name in ("sum", "mean", "prod", "amax", "amin", "argmax", "std", "logsumexp", "all",
              "any", "count_nonzero", "cumsum", "softmax"):
    call(_name, arrays(), dims())(lambda T, a, d, _n=_name: getattr(T, _n)(_t(T, a), d))
call("sum all", arrays())(lambda T, a: T.sum(_t(T, a)))
call("max dim", arrays(), dims(), st.booleans())(
    lambda T, a, d, k: tuple(T.max(_t(T, a), d, keepdim=k)))
call("sum keepdim", arrays(), dims(), st.booleans())(
    lambda T, a, d, k: T.sum(_t(T, a), d, keepdim=k))

# shape
call("reshape", arrays(), st.lists(st.integers(-1, 4), max_size=3))(
    lambda T, a, s: _t(T, a).reshape(s))
call("view", arrays(), st.lists(st.integers(-1, 4), max_size=3))(
    lambda T, a, s: _t(T, a).view(s))
call("permute", arrays(), st.lists(st.integers(-3, 3), max_size=3))(
    lambda T, a, p: _t(T, a).permute(p))
call("transpose", arrays(), dims(), dims())(lambda T, a, i, j: _t(T, a).transpose(i, j))
call("squeeze", arrays(), dims())(lambda T, a, d: _t(T, a).squeeze(d))
call("unsqueeze", arrays(), dims())(lambda T, a, d: _t(T, a).unsqueeze(d))
call("expand", arrays(), st.lists(st.integers(-1, 3), max_size=4))(
    lambda T, a, s: _t(T, a).expand(s))
call("flatten", arrays(), dims(), dims())(lambda T, a, i, j: _t(T, a).flatten(i, j))
call("cat", broadcast_pairs(), dims())(lambda T, ab, d: T.cat([_t(T, ab[0]), _t(T, ab[1])], d))
call("stack", broadcast_pairs(), dims())(
    lambda T, ab, d: T.stack([_t(T, ab[0]), _t(T, ab[1])], d))
call("split", arrays(), st.integers(-1, 3), dims())(
    lambda T, a, n, d: tuple(T.split(_t(T, a), n, d)))
call("chunk", arrays(), st.integers(-1, 3), dims())(
    lambda T, a, n, d: tuple(T.chunk(_t(T, a), n, d)))
call("flip", arrays(), st.lists(st.integers(-3, 3), max_size=2))(
    lambda T, a, d: T.flip(_t(T, a), d))
call("roll", arrays(), st.integers(-3, 3), dims())(lambda T, a, s, d: T.roll(_t(T, a), s, d))
call("narrow", arrays(), dims(), st.integers(-3, 3), st.integers(-1, 3))(
    lambda T, a, d, s, n: _t(T, a).narrow(d, s, n))

# indexing: get and set (keys from ints, slices, None, ellipsis, index lists, masks)
_KEY_ITEM = st.one_of(
    st.integers(-4, 3),
    st.builds(slice, st.one_of(st.none(), st.integers(-4, 4)),
              st.one_of(st.none(), st.integers(-4, 4)), st.one_of(st.none(), st.integers(1, 2))),
    st.just(None), st.just(Ellipsis),
    st.lists(st.integers(-4, 3), max_size=3),
)
_KEYS = st.lists(_KEY_ITEM, max_size=3).map(tuple)


def _key(T, key):
    return tuple(T.tensor(k) if isinstance(k, list) and k else k for k in key)


call("getitem", arrays(), _KEYS)(lambda T, a, k: _t(T, a)[_key(T, k)])
call("getitem mask", arrays(), arrays(dtypes=["bool"]))(lambda T, a, m: _t(T, a)[_t(T, m)])


def _setitem(T, a, key, value):
    x = _t(T, a).clone()
    x[_key(T, key)] = value
    return x


call("setitem", arrays(), _KEYS, scalars())(_setitem)
call("index_select", arrays(), dims(), st.lists(st.integers(-1, 3), max_size=3))(
    lambda T, a, d, i: T.index_select(_t(T, a), d, T.tensor(i, dtype=T.int64)))
call("gather", arrays(), dims(), arrays(dtypes=["int64"]))(
    lambda T, a, d, i: T.gather(_t(T, a), d, _t(T, i).clamp(0, 2)))


# in-place: the target must change only on success
def _inplace(method):
    def run(T, ab):
        x = _t(T, ab[0])
        getattr(x, method)(_t(T, ab[1]))
        return x
    return run


for _name in ("add_", "mul_", "sub_", "div_", "copy_", "clamp_min_", "pow_"):
    call(_name, broadcast_pairs())(_inplace(_name))
call("fill_", arrays(), scalars())(lambda T, a, v: _t(T, a).fill_(v))
call("masked_fill_", arrays(), arrays(dtypes=["bool"]), scalars())(
    lambda T, a, m, v: _t(T, a).masked_fill_(_t(T, m), v))
def _shifted_add(T, a, k):
    x = _t(T, a)
    return x[k:].add_(x[:x.shape[0] - k]) if x.dim() else x.add_(x)


call("overlap add_", arrays(max_dims=2), st.integers(0, 2))(_shifted_add)


# autograd
def _backward(T, a, b, create_graph):
    x = _t(T, a, requires_grad=True)
    y = _t(T, b, requires_grad=True)
    (x * y).sum().backward(create_graph=create_graph)
    return tuple(g for g in (x.grad, y.grad) if g is not None)


call("backward", broadcast_pairs(), st.booleans())(
    lambda T, ab, cg: _backward(T, ab[0], ab[1], cg))
call("autograd.grad", arrays(dtypes=FLOATS), st.integers(0, 2))(
    lambda T, a, n: T.autograd.grad((_t(T, a, True) ** 2).sum(), [_t(T, a, True)] * n,
                                    allow_unused=True))
call("requires_grad_", arrays())(lambda T, a: _t(T, a).requires_grad_())
call("grad assign", arrays(dtypes=FLOATS), arrays())(
    lambda T, a, b: setattr(_t(T, a, True), "grad", _t(T, b)))

# nn / optim constructor validation
call("Linear", st.integers(-1, 3), st.integers(-1, 3))(
    lambda T, i, o: T.nn.Linear(i, o).weight.shape)  # (the initial values differ by design)
call("Dropout", st.sampled_from([-0.5, 0.0, 0.5, 1.0, 1.5]))(lambda T, p: T.nn.Dropout(p).p)
call("SGD", st.sampled_from([-0.1, 0.0, 0.1]), st.sampled_from([-0.5, 0.0, 0.9]),
     st.booleans())(lambda T, lr, m, nest: T.optim.SGD(
         [T.nn.Parameter(T.ones(2))], lr=lr, momentum=m, nesterov=nest).defaults["lr"])
call("Adam", st.sampled_from([-0.1, 0.1, 0.01]), st.sampled_from([-0.1, 0.0, 0.9, 0.5, 1.0]),
     st.sampled_from([-1e-8, 1e-8, 1e-6]))(lambda T, lr, b1, eps: T.optim.Adam(
         [T.nn.Parameter(T.ones(2))], lr=lr, betas=(b1, 0.999), eps=eps).defaults["lr"])
@st.composite
def class_targets(draw):
    """Logits (N, C) and targets: in range, out of range, of the wrong shape or dtype."""
    n, c = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    x = draw(arrays(dtypes=FLOATS, shape=draw(st.sampled_from([(n, c), (c,), (n, c, 2)]))))
    y = draw(st.one_of(arrays(dtypes=["int64"], shape=(n,)).map(
        lambda a: (np.clip(a[0], -1, c), a[1])), arrays(dtypes=["int64", "float32"])))
    return x, y


call("CrossEntropyLoss", class_targets())(
    lambda T, xy: T.nn.CrossEntropyLoss()(_t(T, xy[0]), _t(T, xy[1])))
call("MSELoss", broadcast_pairs())(lambda T, ab: T.nn.functional.mse_loss(
    _t(T, ab[0]), _t(T, ab[1])))


# Divergences that are PyTorch's own inconsistencies or bugs, each with the cases it covers
# (``both_raise``: only when both libraries refuse the call, with different exception types).
def _empty(spec):
    return spec[0].size == 0


KNOWN = {
    "overlap add_": (
        ("overlapping views that are not dense pass PyTorch's check, and its result then depends "
        "on its loop order; taimatsu computes as if the input had been copied first"),
        lambda a, k: a[1], "any"),
    "gather": (
        ("PyTorch skips every check when the index is empty (gather(0-d input, 0, 0x0 index) is "
        "an empty tensor); taimatsu still checks the dims"), lambda a, d, i: _empty(i), "any"),
    "pow_": (
        ("for an in-place op on bool tensors PyTorch reports the output-shape mismatch before the "
        "missing kernel; taimatsu the other way round"),
        lambda ab: ab[0][0].dtype == bool, "both_raise"),
    "index_select": (
        ("an index out of range is an IndexError or a RuntimeError in PyTorch, by the dim and "
        "size of the input"), lambda a, d, i: True, "both_raise"),
    "CrossEntropyLoss": (
        ("on empty or 0-d inputs PyTorch's error depends on which of log_softmax and nll_loss "
        "checks first"), lambda xy: _empty(xy[0]) or xy[0][0].ndim == 0, "both_raise"),
    "expand": (
        ("PyTorch accepts -1 for a new leading dim when another size is 0 and makes a tensor of "
        "size -1 (a bug); taimatsu refuses it"),
        lambda a, size: 0 in size and -1 in size[:len(size) - a[0].ndim], "any"),
    "tensor": (
        ("PyTorch takes the shape of ragged nested lists from their first element when it is "
        "empty (tensor([[], [0]]) is 2x0); taimatsu refuses ragged data"),
        lambda data, dt: isinstance(data, list) and data and data[0] == [] and any(data),
        "any"),
}


# ---------------------------------------------------------------------------- the oracle
def _base(exc):
    """An exception's first builtin class (torch raises subclasses such as _LinAlgError)."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def _leaves(obj):
    if isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _leaves(o)
    else:
        yield obj


def _snapshot(t):
    data = t.detach().cpu().numpy().copy() if hasattr(t, "detach") else None
    return data, t._version, None if t.grad is None else t.grad.detach().cpu().numpy().copy()


class _Recorder:
    """Wraps ``lib.tensor`` to keep every tensor a call builds, so a failed call can be checked
    for having changed nothing."""

    def __init__(self, lib):
        self.lib, self.made = lib, []

    def __getattr__(self, name):
        attr = getattr(self.lib, name)
        if name != "tensor":
            return attr

        def tensor(*args, **kwargs):
            t = attr(*args, **kwargs)
            self.made.append((t, _snapshot(t)))
            return t
        return tensor


def _run(fn, lib, args):
    rec = _Recorder(lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn(rec, *args), rec
        except Exception as e:  # noqa: BLE001 (the exception is the outcome under test)
            return "raise", e, rec


def _as_numpy(v):
    if isinstance(v, (taimatsu.Tensor, torch.Tensor)):
        return v.detach().cpu().numpy(), str(v.dtype).split(".")[-1]
    if isinstance(v, (taimatsu.Size, torch.Size)):
        return np.asarray(tuple(v)), "size"
    return np.asarray(v), "scalar"


def check(name, args):
    fn, _ = CALLS[name]
    kind_tm, res_tm, rec_tm = _run(fn, taimatsu, args)
    kind_pt, res_pt, _ = _run(fn, torch, args)
    known = KNOWN.get(name)
    if known is not None and known[1](*args) and (
            known[2] == "any" or kind_tm == kind_pt == "raise"):
        return
    assert kind_tm == kind_pt, (
        f"{name}{args}: taimatsu {kind_tm} {res_tm!r} but PyTorch {kind_pt} {res_pt!r}")
    if kind_tm == "raise":
        assert _base(res_tm) is _base(res_pt), (
            f"{name}{args}: taimatsu raised {res_tm!r}, PyTorch {res_pt!r}")
        for t, (data, version, grad) in rec_tm.made:
            now = _snapshot(t)
            np.testing.assert_array_equal(now[0], data, err_msg=f"{name}: input changed")
            assert now[1] == version, f"{name}{args}: an input's version moved on failure"
            assert (now[2] is None) == (grad is None), f"{name}: an input's .grad changed"
        return
    tm, pt = list(_leaves(res_tm)), list(_leaves(res_pt))
    assert len(tm) == len(pt), f"{name}{args}: {len(tm)} results vs {len(pt)}"
    for a, b in zip(tm, pt):
        (va, da), (vb, db) = _as_numpy(a), _as_numpy(b)
        assert va.shape == vb.shape, f"{name}{args}: shape {va.shape} vs {vb.shape}"
        assert da == db, f"{name}{args}: dtype {da} vs {db}"
        if va.dtype.kind in "fc":
            np.testing.assert_allclose(va, vb, rtol=1e-5, atol=1e-6, equal_nan=True,
                                       err_msg=f"{name}{args}")
        else:
            np.testing.assert_array_equal(va, vb, err_msg=f"{name}{args}")


EXAMPLES = int(os.environ.get("TAIMATSU_FUZZ_EXAMPLES", "12"))  # per entry of the table


@pytest.mark.parametrize("name", sorted(CALLS))
def test_taimatsu_and_pytorch_agree(name):
    fn, strategies = CALLS[name]
    outcomes = set()

    @settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
    @given(st.tuples(*strategies))
    def run(args):
        outcomes.add(_run(fn, taimatsu, args)[0])
        check(name, args)

    run()
    # A table entry that can never succeed (a typo in its lambda) would test nothing.
    assert "ok" in outcomes, f"{name}: no drawn call succeeded"
