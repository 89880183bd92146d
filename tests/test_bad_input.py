"""Bad input is refused as PyTorch refuses it: the same exception type, a message with the
values, and nothing changed. Each case was accepted silently (or failed with another type)
before; PyTorch's own outcome is checked alongside where it is installed."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import taimatsu
from tests.helpers import to_np, torch


def _keep(make):
    """``make(T)``, remembered as ``.last`` so a case can take two views of one tensor."""
    def build(T):
        build.last = make(T)
        return build.last
    return build


_arange4 = _keep(lambda T: T.arange(4.0))
_ones22 = _keep(lambda T: T.ones(2, 2))


def _both(build):
    """Run ``build(lib)`` for taimatsu and (if installed) torch; return their exceptions."""
    outcomes = []
    for lib in (taimatsu, torch):
        if lib is None:
            continue
        try:
            build(lib)
        except Exception as e:  # noqa: BLE001 (the exception is the result under test)
            outcomes.append(e)
        else:
            outcomes.append(None)
    return outcomes


CASES = {
    # creation: values that do not fit, data that is not numbers, bad sizes and dtypes
    "uint8 overflow": (lambda T: T.tensor(300, dtype=T.uint8), RuntimeError,
                       "value cannot be converted to type uint8 without overflow"),
    "int32 overflow": (lambda T: T.tensor([1e10], dtype=T.int32), RuntimeError,
                       "cannot be converted to type int32 without overflow"),
    "int8 list overflow": (lambda T: T.tensor([1, 200], dtype=T.int8), RuntimeError,
                           "without overflow"),
    "nan to int": (lambda T: T.tensor(float("nan"), dtype=T.int64), RuntimeError,
                   "without overflow"),
    "int beyond int64": (lambda T: T.tensor(2 ** 70), ValueError, "Overflow when unpacking"),
    "uint64-only int": (lambda T: T.tensor([2 ** 63]), ValueError, "Overflow when unpacking"),
    "None": (lambda T: T.tensor(None), RuntimeError, "Could not infer dtype of NoneType"),
    "None inside": (lambda T: T.tensor([1, None]), RuntimeError,
                    "Could not infer dtype of NoneType"),
    "object": (lambda T: T.tensor(object()), RuntimeError, "Could not infer dtype of object"),
    "dict": (lambda T: T.tensor({1: 2}), RuntimeError, "Could not infer dtype of dict"),
    "strings": (lambda T: T.tensor(["a", "b"]), ValueError, "too many dimensions 'str'"),
    "str": (lambda T: T.tensor("a"), TypeError, "invalid data type 'str'"),
    "ragged": (lambda T: T.tensor([[1, 2], [3]]), ValueError,
               r"expected sequence of length 2 at dim 1 \(got 1\)"),
    "ragged deep": (lambda T: T.tensor([[[1], [2]], [[3], [4, 5]]]), ValueError,
                    r"expected sequence of length 1 at dim 2 \(got 2\)"),
    "float size": (lambda T: T.zeros(2.5), TypeError, "must be tuple of ints"),
    "float in size": (lambda T: T.ones((2, 2.5)), TypeError, "tuple of ints"),
    "str dtype": (lambda T: T.zeros(2, dtype="float32"), TypeError,
                  "argument 'dtype' must be torch.dtype, not str"),
    "numpy dtype": (lambda T: T.zeros(2, dtype=np.float32), TypeError,
                    "argument 'dtype' must be torch.dtype, not type"),
    "int requires grad": (lambda T: T.tensor([1, 2], requires_grad=True), RuntimeError,
                          "Only Tensors of floating point and complex dtype can require"),
    "full overflow": (lambda T: T.full((2,), 300, dtype=T.uint8), RuntimeError,
                      "value cannot be converted to type uint8_t without overflow"),
    "full nan int": (lambda T: T.full((2,), float("nan"), dtype=T.int64), RuntimeError,
                     "without overflow"),
    "fill overflow": (lambda T: T.zeros(2, dtype=T.uint8).fill_(300), RuntimeError,
                      "without overflow"),
    "negative float into uint8": (lambda T: T.zeros(0, dtype=T.uint8).fill_(-1.5), RuntimeError,
                                  "without overflow"),
    "masked_fill overflow": (lambda T: T.zeros(2, dtype=T.uint8).masked_fill_(
        T.tensor([True, False]), 256), RuntimeError, "without overflow"),
    "seed too large": (lambda T: T.manual_seed(2 ** 70), ValueError, "Overflow when unpacking"),
    "negative strides": (lambda T: T.from_numpy(np.arange(4)[::-1]), ValueError,
                         "negative strides are not currently supported"),
    "int of many": (lambda T: int(T.ones(2)), ValueError,
                    "only one element tensors can be converted to Python scalars"),
    "float of many": (lambda T: float(T.ones(2)), ValueError, "only one element tensors"),
    "arange nan": (lambda T: T.arange(0, float("nan")), RuntimeError, "unsupported range: 0 -> nan"),
    "arange inf": (lambda T: T.arange(0, float("inf")), RuntimeError, "unsupported range"),
    "arange step sign": (lambda T: T.arange(0, 5, -1), RuntimeError,
                         "upper bound and lower bound inconsistent with step sign"),
    "linspace steps": (lambda T: T.linspace(0, 1, steps=-1), RuntimeError,
                       "number of steps must be non-negative"),
    "randint bounds": (lambda T: T.randint(5, 3, (2,)), RuntimeError,
                       "random_ expects 'from' to be less than 'to', but got from=5 >= to=3"),
    "optimizer lr str": (lambda T: T.optim.SGD([T.zeros(2, requires_grad=True)], lr="0.1"),
                         TypeError, "not supported between instances of"),
    # random draws into the wrong dtype or with bad parameters
    "randn int": (lambda T: T.randn(2, dtype=T.int64), NotImplementedError,
                  "\"normal_kernel_cpu\" not implemented for 'Long'"),
    "rand bool": (lambda T: T.rand(2, dtype=T.bool), NotImplementedError,
                  "\"check_uniform_bounds\" not implemented for 'Bool'"),
    "rand uint8": (lambda T: T.rand(2, dtype=T.uint8), NotImplementedError, "'Byte'"),
    # in-place writes whose input overlaps the output other than exactly
    "overlap shifted": (lambda T: _arange4(T)[1:].add_(_arange4.last[:-1]), RuntimeError,
                        "some elements of the input tensor and the written-to tensor refer"),
    "overlap transpose": (lambda T: _ones22(T).add_(_ones22.last.t()), RuntimeError,
                          "single memory location"),
    "overlap row": (lambda T: _ones22(T).add_(_ones22.last[0]), RuntimeError,
                    "single memory location"),
    "overlap setitem": (lambda T: _arange4(T).__setitem__(slice(1, None), _arange4.last[:-1]),
                        RuntimeError, "single memory location"),
    "overlap copy_": (lambda T: _arange4(T)[1:].copy_(_arange4.last[:-1]), RuntimeError,
                      "single memory location"),
    # requests too large for memory
    "too large": (lambda T: T.empty(10 ** 13), RuntimeError,
                  "can't allocate memory: you tried to allocate 40000000000000 bytes"),
    "too large int8": (lambda T: T.zeros(2 ** 62, dtype=T.int8), RuntimeError,
                       "you tried to allocate 4611686018427387904 bytes"),
    "too large op": (lambda T: T.ones(1).expand(10 ** 12) + 1, RuntimeError,
                     "you tried to allocate 4000000000000 bytes"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_as_pytorch_refuses(name):
    build, exc, msg = CASES[name]
    outcomes = _both(build)
    ours = outcomes[0]
    assert type(ours) is exc, f"{name}: got {ours!r}"
    assert pytest.raises(exc, build, taimatsu).match(msg)
    if len(outcomes) > 1:  # the case is PyTorch's behaviour, not only ours
        assert isinstance(outcomes[1], exc), f"PyTorch gave {outcomes[1]!r}"


@pytest.mark.parametrize("build", [
    lambda T: T.tensor(-1, dtype=T.uint8),  # negatives wrap in unsigned types, as in C
    lambda T: T.full((2,), -1, dtype=T.uint8),
    lambda T: T.zeros(2, dtype=T.uint8).fill_(-1),
    lambda T: T.tensor([1.5, 2 ** 70]),  # huge ints among floats are floats
    lambda T: T.tensor(-2 ** 63),
    lambda T: _ones22(T).add_(_ones22.last),  # exact overlap is fine
    lambda T: T.manual_seed(-1),
    lambda T: T.manual_seed(2 ** 64 - 1),
    lambda T: T.zeros(2, dtype=float),  # Python types as dtypes
    lambda T: T.floor_divide(T.zeros(0, dtype=T.int64), 0),  # nothing is divided
    lambda T: T.remainder(T.zeros(0, dtype=T.int64), T.tensor(0)),
])
def test_accepted_as_pytorch_accepts(build):
    ours = np.asarray(to_np(build(taimatsu))) if not isinstance(
        build(taimatsu), taimatsu.Generator) else None
    if torch is not None:
        theirs = build(torch)
        if ours is not None:
            np.testing.assert_array_equal(ours, to_np(theirs))
            assert str(build(taimatsu).dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def test_python_float_dtype_is_float64():
    assert taimatsu.zeros(2, dtype=float).dtype is taimatsu.float64
    assert taimatsu.zeros(2, dtype=int).dtype is taimatsu.int64


def test_seed_is_taken_modulo_2_64_and_a_bad_one_changes_nothing():
    taimatsu.manual_seed(-1)
    assert taimatsu.initial_seed() == 2 ** 64 - 1
    a = taimatsu.rand(3)
    with pytest.raises(ValueError):
        taimatsu.manual_seed(2 ** 70)
    assert taimatsu.initial_seed() == 2 ** 64 - 1
    taimatsu.manual_seed(-1)
    np.testing.assert_array_equal(to_np(taimatsu.rand(3)), to_np(a))


@pytest.mark.parametrize("fill, match", [
    (lambda t: t.normal_(0, -1), "normal expects std >= 0.0, but found std -1"),
    (lambda t: t.uniform_(2, 1),
     r"uniform_ expects to return a \[from, to\) range, but found from=2 > to=1"),
    (lambda t: t.bernoulli_(2.0), r"bernoulli_ expects p to be in \[0, 1\], but got p=2"),
    (lambda t: t.bernoulli_(-0.5), r"bernoulli_ expects p to be in \[0, 1\]"),
    (lambda t: t.bernoulli_(taimatsu.tensor([0.5, 1.5])), "Expected p_in >= 0 && p_in <= 1"),
])
def test_random_fill_with_bad_parameters_raises_before_touching_the_tensor(fill, match):
    t = taimatsu.tensor([7.0, 8.0])
    version = t._version_counter
    with pytest.raises(RuntimeError, match=match):
        fill(t)
    np.testing.assert_array_equal(to_np(t), [7.0, 8.0])
    assert t._version_counter == version


def test_random_fill_of_an_integer_tensor_raises():
    t = taimatsu.zeros(2, dtype=taimatsu.int64)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        t.normal_()
    np.testing.assert_array_equal(to_np(t), [0, 0])


def test_overlapping_inplace_leaves_the_tensor_unchanged():
    x = taimatsu.arange(4.0)
    with pytest.raises(RuntimeError, match="single memory location"):
        x[1:].add_(x[:-1])
    np.testing.assert_array_equal(to_np(x), [0.0, 1.0, 2.0, 3.0])
    assert x._version_counter == 0


def test_too_many_dims_names_the_limit():
    with pytest.raises(RuntimeError, match="at most 64 dimensions"):
        taimatsu.zeros([1] * 65)


@pytest.mark.parametrize("build, match", [
    (lambda: taimatsu.tensor(taimatsu.ones(2)), "To copy construct from a tensor"),
    (lambda: taimatsu.from_numpy(np.broadcast_to(np.arange(3.0), (3,))),
     "The given NumPy array is not writable"),
])
def test_warns_as_pytorch_warns(build, match):
    from taimatsu import creation

    creation._warned.clear()
    with pytest.warns(UserWarning, match=match):
        build()


# ---------------------------------------------------------------------- assignments
def test_grad_assignment_is_validated():
    t = taimatsu.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"assign a gradient of size '\[3\]' to a tensor of "
                       r"size '\[2\]'"):
        t.grad = taimatsu.ones(3)
    with pytest.raises(RuntimeError, match="with dtype 'double' to a tensor with grad_dtype "
                       "'Float'"):
        t.grad = taimatsu.ones(2, dtype=taimatsu.float64)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but got "
                       "grad of type int"):
        t.grad = 5
    with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
        t.grad = t
    assert t.grad is None
    t.grad = taimatsu.full((2,), 3.0)
    t.grad = None
    assert t.grad is None


def test_a_refused_grad_never_reaches_an_optimizer():
    # Before: a wrong-shaped .grad broadcast into a silent wrong SGD update, and Adam created
    # its state before failing.
    w = taimatsu.nn.Parameter(taimatsu.ones(3))
    for opt in (taimatsu.optim.SGD([w], lr=0.1), taimatsu.optim.Adam([w], lr=0.1)):
        with pytest.raises(RuntimeError, match="size"):
            w.grad = taimatsu.ones(1)
        opt.step()
        np.testing.assert_array_equal(to_np(w), [1.0, 1.0, 1.0])
        assert not opt.state


def test_requires_grad_assignment_is_validated():
    i = taimatsu.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype"):
        i.requires_grad = True
    assert i.requires_grad is False
    x = taimatsu.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad = False
    assert y.requires_grad and y.grad_fn is not None
    y.requires_grad = True  # a no-op on a non-leaf, as in PyTorch
    with pytest.raises(RuntimeError, match="requires_grad must be a bool"):
        x.requires_grad = 1
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        i.requires_grad_()


@pytest.mark.parametrize("attr", ["grad_fn", "device", "is_leaf", "shape", "dtype", "ndim", "T",
                                  "mT", "data_ptr"])
def test_read_only_attributes_refuse_assignment(attr):
    x = taimatsu.ones(2, 2, requires_grad=True)
    y = x * 2
    before = (y.grad_fn, y.device, y.shape, y.dtype)
    with pytest.raises(AttributeError):
        setattr(y, attr, None)
    assert (y.grad_fn, y.device, y.shape, y.dtype) == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y.sum().backward()  # the graph is intact
    np.testing.assert_array_equal(to_np(x.grad), np.full((2, 2), 2.0))
