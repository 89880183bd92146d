"""The CuPy test double: its strictness (always), and taimatsu on it (with
``TAIMATSU_CUPY_DOUBLE=1 TAIMATSU_TEST_DEVICE=cuda``): the GPU defects it exposed stay fixed, and
a training step of the tutorial net makes no host<->device transfer after warm-up."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import taimatsu
from taimatsu import backend
from taimatsu.testing import cupy_double

pytestmark = pytest.mark.cuda  # (kept in the cuda-only pass: these run on device cuda)

NAMES = json.loads((pathlib.Path(cupy_double.__file__).parent / "cupy14_names.json").read_text())
cp, cpx = cupy_double.load()

on_double = pytest.mark.skipif(
    not (taimatsu.cuda.is_available()
         and taimatsu.cuda.get_device_name() == cupy_double.DEVICE_NAME),
    reason="taimatsu runs on the double only with TAIMATSU_CUPY_DOUBLE=1")


def _public(mod):
    return {n for n in vars(mod) if not n.startswith("_")}


# ------------------------------------------------------------------ the double is strict

@pytest.mark.parametrize("mod, listing", [
    (cp, "cupy"), (cp.cuda, "cuda"), (cp.cuda.runtime, "cuda.runtime"), (cp.random, "random"),
    (cp.linalg, "linalg"), (cp.lib.stride_tricks, "lib.stride_tricks"), (cpx, "cupyx"),
    (cpx.scipy.special, "cupyx.scipy.special")])
def test_only_cupys_names(mod, listing):
    assert _public(mod) <= set(NAMES[listing])
    assert len(_public(mod)) > 0


def test_classes_have_only_cupys_methods():
    a = cp.zeros(3)
    assert {n for n in dir(a) if not n.startswith("_")} <= set(NAMES["ndarray"])
    g = cp.random.Generator(cp.random.XORWOW(0))
    assert {n for n in dir(g) if not n.startswith("_")} - {"bit_generator"} <= set(
        NAMES["random.Generator"])
    assert not hasattr(g, "permutation") and not hasattr(g, "normal")
    assert not hasattr(a.flags, "writeable")
    assert (a.flags.c_contiguous, a.flags.f_contiguous, a.flags.owndata) == (True, True, True)


def test_missing_names_say_why():
    with pytest.raises(AttributeError, match="exists in CuPy 14.* does not implement"):
        cp.fuse  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'writeable_everything'"):
        cp.writeable_everything  # noqa: B018


def test_no_implicit_conversion():
    a = cp.arange(3.0)
    msg = "Implicit conversion to a NumPy array is not allowed"
    with pytest.raises(TypeError, match=msg):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.array([1.0]) + a
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.add(a, np.ones(3))
    with pytest.raises(TypeError, match="Unsupported type"):
        a * np.array(2.0)
    assert isinstance(a * np.float64(2.0), cp.ndarray)  # NumPy scalars are kernel arguments
    np.testing.assert_array_equal(cp.asnumpy(a), [0.0, 1.0, 2.0])


def test_numpy_functions_dispatch_to_the_device():
    a = cp.arange(4.0)
    assert isinstance(np.exp(a), cp.ndarray)
    assert isinstance(np.concatenate([a, a]), cp.ndarray)


def test_reductions_return_0d_arrays():
    a = cp.arange(6.0).reshape(2, 3)
    for r in (a.sum(), a.max(), cp.mean(a), a.all(), cp.argmax(a)):
        assert isinstance(r, cp.ndarray) and r.ndim == 0


def test_broadcast_views_are_writable_as_cupys():
    a = cp.zeros(3)
    b = cp.broadcast_to(a, (2, 3))
    assert b.base is a and b.strides[0] == 0
    b[0, 1] = 5.0
    assert float(a[1]) == 5.0


def test_views_keep_their_owner():
    a = cp.zeros((2, 3))
    assert a[0].base is a and a.T.base is a and a[0][1:].base is a
    assert a.copy().base is None


def test_transfers_are_counted():
    before = cupy_double.transfers()
    a = cp.asarray(np.ones(4, np.float32))
    assert cupy_double.transfers()["host_to_device"] == before["host_to_device"] + 1
    assert cupy_double.transfers()["host_to_device_bytes"] == before["host_to_device_bytes"] + 16
    mid = cupy_double.transfers()
    b = a * 2 + a.sum()
    assert cupy_double.transfers() == mid  # device work only
    b.get()
    float(b[0])
    after = cupy_double.transfers()
    assert after["device_to_host"] == mid["device_to_host"] + 2


def test_out_of_range_array_indices_wrap_as_cupys():
    a = cp.arange(5)
    idx = cp.asarray(np.array([1, 7, -8]))
    np.testing.assert_array_equal(a[idx].get(), [1, 2, 2])
    np.testing.assert_array_equal(cp.take(a, idx).get(), [1, 2, 2])


def test_generator_state_lives_on_the_device():
    g = cp.random.Generator(cp.random.XORWOW(3))
    saved = g.bit_generator._state.copy()
    first = g.random(4).get()
    g.bit_generator._state[...] = saved
    np.testing.assert_array_equal(g.random(4).get(), first)


def test_device_says_it_is_the_double():
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    assert "double" in name and cp.cuda.runtime.getDeviceCount() == 1


# ----------------------------------------------- the GPU defects, found and fixed on the double

@on_double
def test_first_grad_write():
    x = taimatsu.ones(3, device="cuda", requires_grad=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 2.0, 2.0])


@on_double
def test_cpu_0d_tensor_with_cuda_tensor():
    x = taimatsu.ones(3, device="cuda")
    before = cupy_double.transfers()
    outs = [x + taimatsu.tensor(2.0), taimatsu.tensor(2.0) * x,
            x + taimatsu.tensor(2, dtype=taimatsu.int64)]
    assert cupy_double.transfers() == before  # the 0-d value rides as a kernel argument
    for out in outs:
        assert out.device == taimatsu.device("cuda", 0)
    np.testing.assert_array_equal(outs[1].cpu().numpy(), [2.0, 2.0, 2.0])


@on_double
def test_randperm_on_cuda():
    p = taimatsu.randperm(50, device="cuda")
    assert p.device.type == "cuda" and p.dtype == taimatsu.int64
    np.testing.assert_array_equal(np.sort(p.cpu().numpy()), np.arange(50))


@on_double
@pytest.mark.parametrize("write", [lambda e: e.add_(1), lambda e: e.__setitem__(slice(0, 2), 1),
                                   lambda e: e.mul_(taimatsu.ones(3, device="cuda"))])
def test_write_into_expanded_view_refused(write):
    base = taimatsu.zeros(1, device="cuda")
    e = base.expand(3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        write(e)
    assert base.item() == 0.0 and base._version[0] == 0


@on_double
def test_cuda_rng_state_round_trip():
    taimatsu.cuda.manual_seed(3)
    taimatsu.rand(3, device="cuda")
    state = taimatsu.cuda.get_rng_state()
    assert state.device.type == "cpu" and state.dtype == taimatsu.uint8
    a = taimatsu.rand(3, device="cuda")
    taimatsu.cuda.set_rng_state(state)
    b = taimatsu.rand(3, device="cuda")
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    now = taimatsu.cuda.get_rng_state()
    with pytest.raises(RuntimeError, match="RNG state is wrong size"):
        taimatsu.cuda.set_rng_state(state[:-1])
    np.testing.assert_array_equal(taimatsu.cuda.get_rng_state().numpy(), now.numpy())


_BAD = {
    "getitem": (lambda T, x, i: x[i], IndexError,
                "index 5 is out of bounds for dimension 0 with size 4"),
    "gather": (lambda T, x, i: x.gather(0, i), RuntimeError,
               "index 5 is out of bounds for dimension 0 with size 4"),
    "index_select": (lambda T, x, i: x.index_select(0, i), IndexError, "index out of range"),
    "take": (lambda T, x, i: x.take(i), IndexError,
             "out of range: tried to access index 5 on a tensor of 4 elements"),
    "cross_entropy": (lambda T, x, i: T.nn.functional.cross_entropy(x.reshape(1, 4), i[:1]),
                      IndexError, "Target 5 is out of bounds"),
    "nll_loss": (lambda T, x, i: T.nn.functional.nll_loss(x.reshape(1, 4), i[:1]),
                 IndexError, "Target 5 is out of bounds"),
    "bce": (lambda T, x, i: T.nn.functional.binary_cross_entropy(x + 1, x), RuntimeError,
            "all elements of input should be between 0 and 1"),
}


@pytest.fixture
def asynchronous(monkeypatch):
    """Device checks deferred to the next sync, as on a GPU without CUDA_LAUNCH_BLOCKING=1."""
    monkeypatch.setattr(backend, "LAUNCH_BLOCKING", False)


@on_double
@pytest.mark.parametrize("case", sorted(_BAD))
def test_bounds_checks_wait_for_a_sync(case, asynchronous):
    """The checks run on the device; their error comes at the next sync with the host (as
    PyTorch's device-side asserts do), and nothing is copied to the host before."""
    fn, exc, msg = _BAD[case]
    x = taimatsu.arange(4.0, device="cuda") / 4
    i = taimatsu.tensor([5, 1], device="cuda")
    before = cupy_double.transfers()
    fn(taimatsu, x, i)
    assert cupy_double.transfers()["device_to_host"] == before["device_to_host"]
    with pytest.raises(exc, match=msg):
        taimatsu.cuda.synchronize()
    taimatsu.cuda.synchronize()  # reported once


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bounds_checks_raise_at_once_on_the_cpu_and_with_launch_blocking(case, device,
                                                                          monkeypatch):
    monkeypatch.setattr(backend, "LAUNCH_BLOCKING", True)
    fn, exc, msg = _BAD[case]
    with pytest.raises(exc, match=msg):
        fn(taimatsu, taimatsu.arange(4.0, device=device) / 4,
           taimatsu.tensor([5, 1], device=device))


@on_double
def test_tutorial_training_step_makes_no_transfer(asynchronous):
    """The tutorial net (Sequential + MSELoss + Adam) trains on the device without a single
    host<->device copy once warmed up: nothing synchronises unless the user asks."""
    taimatsu.manual_seed(0)
    x = taimatsu.randn(64, 1000, device="cuda")
    y = taimatsu.randn(64, 10, device="cuda")
    model = taimatsu.nn.Sequential(taimatsu.nn.Linear(1000, 100), taimatsu.nn.ReLU(),
                                   taimatsu.nn.Linear(100, 10)).to("cuda")
    loss_fn = taimatsu.nn.MSELoss(reduction="sum")
    opt = taimatsu.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    first = step().item()
    before = cupy_double.transfers()
    for _ in range(3):
        loss = step()
    assert cupy_double.transfers() == before
    assert loss.item() < first
