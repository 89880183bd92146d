"""Moving tensors and modules between dtypes, devices and layouts (``Tensor.to/cuda/cpu/type``,
``Module.to/cuda/cpu/type/half/...``), ``taimatsu.cuda.set_device`` / ``device``, and the errors
for tensors on different devices.

Everything the CPU can show is compared with PyTorch's CPU build. The tests named ``*_on_cuda``
need device ``cuda``: with a GPU (or ``TAIMATSU_CUPY_DOUBLE=1``) they run here; without one,
``test_cuda_paths_on_the_double`` runs them in a subprocess on the CuPy test double.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

import taimatsu
import taimatsu.nn.functional as F
from taimatsu.ops import convert
from tests.helpers import compare, gradcheck, rand, torch

pytestmark = pytest.mark.cuda  # (kept in the cuda-only pass: these run on device cuda)

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
needs_cuda = pytest.mark.skipif(not taimatsu.cuda.is_available(),
                                reason="needs device cuda (a GPU or TAIMATSU_CUPY_DOUBLE=1)")
no_cuda = pytest.mark.skipif(taimatsu.cuda.is_available(),
                             reason="checks PyTorch's CPU-only behaviour: a device cuda exists")

def _cpu(x):
    """``x.cpu`` (taimatsu's lives in ops.convert until the lead wires it into Tensor)."""
    return functools.partial(convert.cpu, x) if isinstance(x, taimatsu.Tensor) else x.cpu


def _outcome(fn, T):
    """What ``fn(T)`` gives, comparable across libraries: for a tensor its dtype name, device
    type, shape, strides and whether it is the input itself; for an error its type and first
    line."""
    x = T.ones(2, 3)
    try:
        r = fn(T, x)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e).split("\n")[0]
    if isinstance(r, str):
        return r
    return (str(r.dtype).split(".")[-1], r.device.type, tuple(r.shape), r.stride(), r is x)


# Every argument form of Tensor.to / type / cpu, good and bad, as lambdas of (library, x).
TENSOR_FORMS = {
    "none": lambda T, x: x.to(),
    "dtype": lambda T, x: x.to(T.float64),
    "same_dtype": lambda T, x: x.to(T.float32),
    "python_float": lambda T, x: x.to(float),
    "python_int": lambda T, x: x.to(int),
    "dtype_nonblocking": lambda T, x: x.to(T.float64, True),
    "dtype_nonblocking_copy": lambda T, x: x.to(T.float32, False, True),
    "device": lambda T, x: x.to("cpu"),
    "device_object": lambda T, x: x.to(T.device("cpu")),
    "device_dtype": lambda T, x: x.to("cpu", T.float16),
    "device_dtype_bools": lambda T, x: x.to("cpu", T.float64, True, True),
    "device_same_copy": lambda T, x: x.to("cpu", T.float32, False, True),
    "none_dtype": lambda T, x: x.to(None, T.float64),
    "none_none": lambda T, x: x.to(None, None),
    "device_none": lambda T, x: x.to("cpu", None),
    "kw_all": lambda T, x: x.to(device="cpu", dtype=T.int64, non_blocking=True, copy=True),
    "kw_dtype_none": lambda T, x: x.to(dtype=None),
    "kw_python_type": lambda T, x: x.to(dtype=float),
    "kw_copy": lambda T, x: x.to(copy=True),
    "kw_nonblocking": lambda T, x: x.to(non_blocking=True),
    "device_kw_dtype": lambda T, x: x.to("cpu", dtype=T.float64),
    "tensor": lambda T, x: x.to(T.ones(1, dtype=T.int32)),
    "tensor_bools": lambda T, x: x.to(T.ones(1, dtype=T.float32), True, True),
    "kw_tensor": lambda T, x: x.to(tensor=T.ones(1, dtype=T.float64)),
    "tensor_0d": lambda T, x: x.to(T.zeros((), dtype=T.int16)),
    "format_same": lambda T, x: x.to(memory_format=T.contiguous_format),
    "format_preserve": lambda T, x: x.to(T.float64, memory_format=T.preserve_format),
    "format_none": lambda T, x: x.to(T.float64, False, False, memory_format=None),
    "format_rank": lambda T, x: x.to(memory_format=T.channels_last),
    "format_rank_3d": lambda T, x: x.to(memory_format=T.channels_last_3d),
    # errors
    "two_dtypes": lambda T, x: x.to(T.float64, T.float32),
    "two_devices": lambda T, x: x.to("cpu", "cpu"),
    "dtype_then_device": lambda T, x: x.to(T.float16, "cpu"),
    "dtype_twice": lambda T, x: x.to(T.float64, dtype=T.float64),
    "device_twice": lambda T, x: x.to("cpu", dtype=T.float64, device="cpu"),
    "unknown_kw": lambda T, x: x.to(foo=1),
    "unknown_kws": lambda T, x: x.to(T.float64, foo=1),
    "other_kw": lambda T, x: x.to(other=T.ones(1)),
    "tensor_and_dtype": lambda T, x: x.to(T.ones(1), dtype=T.float64),
    "tensor_and_device": lambda T, x: x.to(T.ones(1), "cpu"),
    "int_nonblocking": lambda T, x: x.to(T.float64, 1),
    "none_nonblocking": lambda T, x: x.to(None, T.float64, None),
    "kw_int_nonblocking": lambda T, x: x.to(T.float64, non_blocking=1),
    "kw_none_copy": lambda T, x: x.to(T.float64, copy=None),
    "bool_as_device": lambda T, x: x.to("cpu", True),
    "too_many_bools": lambda T, x: x.to(T.float64, True, True, True),
    "five_positional": lambda T, x: x.to("cpu", T.float64, True, True, True),
    "bad_format": lambda T, x: x.to(T.float64, memory_format=3),
    "format_positional": lambda T, x: x.to(T.contiguous_format),
    "dtype_as_device": lambda T, x: x.to(device=T.float64),
    "list": lambda T, x: x.to([1]),
    "float_then_dtype": lambda T, x: x.to(1.5, T.float64),
    "negative_index": lambda T, x: x.to(-1),
    "bad_device_string": lambda T, x: x.to("cuda:x"),
    # Tensor.type
    "type_name": lambda T, x: x.type(),
    "type_dtype": lambda T, x: x.type(T.float64),
    "type_same": lambda T, x: x.type(T.float32),
    "type_nonblocking": lambda T, x: x.type(T.int32, True),
    "type_kw": lambda T, x: x.type(dtype=T.int16, non_blocking=True),
    "type_none": lambda T, x: x.type(None),
    "type_legacy": lambda T, x: x.type("torch.DoubleTensor"),
    "type_legacy_same": lambda T, x: x.type("torch.FloatTensor"),
    "type_legacy_long": lambda T, x: x.type("torch.LongTensor"),
    "type_bad_name": lambda T, x: x.type("float64"),
    "type_python_type": lambda T, x: x.type(float),
    "type_int": lambda T, x: x.type(3),
    # Tensor.cpu
    "cpu": lambda T, x: _cpu(x)(),
    "cpu_format": lambda T, x: _cpu(x)(memory_format=T.contiguous_format),
    "cpu_format_rank": lambda T, x: _cpu(x)(memory_format=T.channels_last),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(TENSOR_FORMS))
def test_tensor_forms_match_pytorch(name):
    fn = TENSOR_FORMS[name]
    ours, theirs = _outcome(fn, taimatsu), _outcome(fn, torch)
    if isinstance(theirs, tuple) and len(theirs) == 2 and ours[0] == theirs[0]:
        # Errors: PyTorch's type and words (device strings list PyTorch's many device types).
        assert ours[1][:40] == theirs[1][:40], (ours, theirs)
    else:
        assert ours == theirs


@needs_torch
@pytest.mark.parametrize("fmt, shape", [("channels_last", (2, 3, 4, 5)),
                                        ("channels_last_3d", (2, 3, 2, 4, 5)),
                                        ("contiguous_format", (2, 3, 4, 5))])
@pytest.mark.parametrize("source", ["contiguous", "permuted", "channels_last"])
def test_memory_format_strides_match_pytorch(fmt, shape, source):
    a = rand(*shape)

    def run(T):
        x = T.tensor(a)
        if source == "permuted":
            x = x.transpose(1, -1).contiguous().transpose(1, -1)
        elif source == "channels_last" and len(shape) == 4:
            x = x.to(memory_format=T.channels_last)
        y = x.to(T.float64, memory_format=getattr(T, fmt))
        z = x.to(memory_format=getattr(T, fmt))
        return y.stride(), z.stride(), z is x, y.numpy().tolist()

    assert run(taimatsu) == run(torch)


@needs_torch
def test_preserve_format_keeps_strides_like_pytorch():
    def run(T):
        x = T.ones(3, 4).t()
        return [x.to(T.float64).stride(), x.to(copy=True).stride(), x.to(T.int32).stride()]

    assert run(taimatsu) == run(torch)


def test_to_gradient_flows_back_through_dtype_changes(device):
    a = rand(3, 4)
    compare(lambda T, x: (x.to(T.float64) * 3).to(T.float32), a, device=device)
    compare(lambda T, x: x.to(T.float16).to(T.float32).sin(), a, device=device, atol=1e-3)
    compare(lambda T, x: x.t().to(T.float64, copy=True), a, device=device)
    compare(lambda T, x: x.type(T.float64) * x.to(x.to(T.float64)), a, device=device)


def test_to_gradcheck(device):
    a = rand(2, 3).astype(np.float64)
    gradcheck(lambda x: x.to(taimatsu.float64, copy=True) ** 2, a, device=device)
    gradcheck(lambda x: convert.convert(x.reshape(1, 1, 2, 3), None, None, False,
                                        convert.channels_last).sin(), a, device=device)


def test_to_empty_and_0d(device):
    for shape in [(), (0,), (2, 0, 3)]:
        x = taimatsu.zeros(shape, device=device)
        y = x.to(taimatsu.float64)
        assert y.shape == x.shape and y.dtype is taimatsu.float64 and y.device == x.device


def test_copy_true_gives_new_storage():
    x = taimatsu.ones(3)
    y = x.to(copy=True)
    y.add_(1)
    assert x.tolist() == [1.0, 1.0, 1.0] and y is not x


def test_grad_fn_is_pytorchs():
    x = taimatsu.ones(2, requires_grad=True)
    assert x.to(taimatsu.float64).grad_fn.name() == "ToCopyBackward0"
    assert x.to(copy=True).grad_fn.name() == "ToCopyBackward0"
    assert x.to(taimatsu.float32) is x


# ------------------------------------------------------------------ Module conversions
def _pair(T):
    """The same small model in ``T``: a conv (4-D weight), batch norm (an int64 buffer), a
    linear layer."""
    nn = T.nn
    return nn.Sequential(nn.Conv2d(2, 3, 2), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 2))


def _models():
    """taimatsu's and torch's model with identical weights (copied by state-dict key)."""
    ours, theirs = _pair(taimatsu), _pair(torch)
    ours.load_state_dict({k: taimatsu.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _describe(model):
    """Per state-dict key: dtype name, device type, strides; plus the grads' dtypes."""
    entries = {k: (str(v.dtype).split(".")[-1], v.device.type, v.stride())
               for k, v in model.state_dict().items()}
    grads = {n: str(p.grad.dtype).split(".")[-1] for n, p in model.named_parameters()
             if p.grad is not None}
    return entries, grads


MODULE_FORMS = {
    "dtype": lambda T, m: m.to(T.float64),
    "python_float": lambda T, m: m.to(float),
    "device": lambda T, m: m.to("cpu"),
    "device_dtype_nonblocking": lambda T, m: m.to("cpu", T.float64, True),
    "kw": lambda T, m: m.to(device="cpu", dtype=T.float16, non_blocking=True),
    "tensor": lambda T, m: m.to(T.ones(1, dtype=T.float64)),
    "dtype_nonblocking": lambda T, m: m.to(T.float64, True),
    "channels_last": lambda T, m: m.to(memory_format=T.channels_last),
    "dtype_channels_last": lambda T, m: m.to(T.float64, memory_format=T.channels_last),
    "contiguous": lambda T, m: m.to(memory_format=T.contiguous_format),
    "half": lambda T, m: m.half(),
    "double": lambda T, m: m.double(),
    "float": lambda T, m: m.double().float(),
    "bfloat16": lambda T, m: m.bfloat16(),
    "cpu": lambda T, m: m.cpu(),
    "type_dtype": lambda T, m: m.type(T.float64),
    "type_legacy": lambda T, m: m.type("torch.DoubleTensor"),
    "to_empty": lambda T, m: m.to_empty(device="cpu"),
    "to_empty_none": lambda T, m: m.to_empty(device=None, recurse=False),
    # errors
    "int_dtype": lambda T, m: m.to(T.int32),
    "int_tensor": lambda T, m: m.to(T.ones(1, dtype=T.int64)),
    "copy_kw": lambda T, m: m.to(copy=False),
    "copy_positional": lambda T, m: m.to(T.float64, True, True),
    "unknown_kw": lambda T, m: m.to(foo=1),
    "bad_positional": lambda T, m: m.to(T.float64, T.float32),
    "type_int": lambda T, m: m.type(T.int32),
    "cuda_cpu": lambda T, m: m.cuda("cpu"),
}


def _module_outcome(name, T):
    model = _models()[0 if T is taimatsu else 1]
    for p in model.parameters():
        p.grad = T.ones_like(p)
    params = list(model.parameters())
    before = _describe(model)
    try:
        out = MODULE_FORMS[name](T, model)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        assert _describe(model) == before, "a failed conversion changed the module"
        return type(e).__name__, str(e).split("\n")[0][:60]
    assert out is model
    # Parameters keep their identity (optimizers built earlier still hold them).
    assert all(a is b for a, b in zip(params, model.parameters()))
    return _describe(model)


@needs_torch
@pytest.mark.parametrize("name", sorted(MODULE_FORMS))
def test_module_forms_match_pytorch(name):
    assert _module_outcome(name, taimatsu) == _module_outcome(name, torch)


@needs_torch
def test_module_after_conversion_computes_like_pytorch():
    ours, theirs = _models()
    ours.eval().double()
    theirs.eval().double()
    x = rand(2, 2, 3, 3).astype(np.float64)
    np.testing.assert_allclose(ours(taimatsu.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_optimizer_keeps_parameters_through_module_to():
    model = taimatsu.nn.Linear(3, 2)
    opt = taimatsu.optim.SGD(model.parameters(), lr=0.5)
    model.double()
    assert opt.param_groups[0]["params"][0] is model.weight
    before = model.weight.detach().clone()
    model(taimatsu.ones(1, 3, dtype=taimatsu.float64)).sum().backward()
    opt.step()
    assert model.weight.dtype is taimatsu.float64
    assert np.allclose((before - model.weight).detach().numpy(), 0.5)


# ------------------------------------------------------------------ without a GPU
CUDA_CALLS = {
    "tensor_to_cuda": lambda T: T.ones(2).to("cuda"),
    "tensor_to_index": lambda T: T.ones(2).to(0),
    "tensor_to_cuda_1": lambda T: T.ones(2).to("cuda:1", T.float64),
    "module_cuda": lambda T: T.nn.Linear(2, 2).cuda(),
    "module_to_cuda": lambda T: T.nn.Linear(2, 2).to("cuda"),
    "set_device_0": lambda T: T.cuda.set_device(0),
    "set_device_negative": lambda T: T.cuda.set_device(-1),
    "set_device_bare": lambda T: T.cuda.set_device("cuda"),
    "set_device_cpu": lambda T: T.cuda.set_device("cpu"),
    "set_device_none": lambda T: T.cuda.set_device(None),
    "set_device_float": lambda T: T.cuda.set_device(1.5),
    "set_device_cpu_object": lambda T: T.cuda.set_device(T.device("cpu")),
    "current_device": lambda T: T.cuda.current_device(),
    "device_cpu": lambda T: T.cuda.device("cpu"),
    "device_enter": lambda T: T.cuda.device(0).__enter__(),
    "device_negative": lambda T: T.cuda.device(-1).__enter__(),
    "device_of_context": lambda T: T.cuda.device(T.cuda.device(3)).idx,
    "device_index": lambda T: T.cuda.device("cuda:2").idx,
}


def _call(fn, T):
    try:
        out = fn(T)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e), str(e)
    return "ok", out if isinstance(out, (int, type(None))) else type(out).__name__


@needs_torch
@no_cuda
@pytest.mark.parametrize("name", sorted(CUDA_CALLS))
def test_cuda_calls_without_gpu_match_pytorch(name):
    ours, theirs = _call(CUDA_CALLS[name], taimatsu), _call(CUDA_CALLS[name], torch)
    if theirs[0] is AttributeError:  # PyTorch's CPU build lacks _cuda_setDevice: ours says why
        assert ours[0] is AssertionError and "not compiled with CUDA" in ours[1]
        return
    assert ours[0] == theirs[0] or issubclass(ours[0], theirs[0]), (ours, theirs)
    assert ours[1] == theirs[1] or ours[1].startswith(theirs[1]), (ours, theirs)


@no_cuda
def test_missing_cuda_error_is_assertion_and_runtime_error():
    with pytest.raises(AssertionError, match="pip install cupy"):
        convert.cuda(taimatsu.ones(2))
    with pytest.raises(RuntimeError, match="pip install cupy"):
        taimatsu.ones(2).to("cuda")
    # (PyTorch's CPU build says "Cannot initialize CUDA without ATen_cuda library" here)
    with pytest.raises(RuntimeError, match="pip install cupy"):
        taimatsu.ones(2).type("torch.cuda.FloatTensor")


def test_cuda_argument_errors():
    x = taimatsu.ones(2)
    with pytest.raises(RuntimeError, match="Invalid device, must be cuda device"):
        convert.cuda(x, "cpu")
    with pytest.raises(RuntimeError, match="Device index must not be negative"):
        convert.cuda(x, -1)


def test_cpu_returns_self_for_cpu_tensors():
    x = taimatsu.ones(2)
    assert convert.cpu(x) is x


# ------------------------------------------------------------------ on device cuda
@pytest.mark.skipif(taimatsu.cuda.is_available() or os.environ.get("TAIMATSU_DEVICE_MOVES_CHILD"),
                    reason="device cuda exists here: the cuda tests run in this process")
def test_cuda_paths_on_the_double():
    """The ``*_on_cuda`` tests below, run on the CuPy test double in a subprocess."""
    env = dict(os.environ, TAIMATSU_CUPY_DOUBLE="1", TAIMATSU_TEST_DEVICE="cuda",
               TAIMATSU_DEVICE_MOVES_CHILD="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "on_cuda",
         "-W", "ignore::pytest.PytestUnraisableExceptionWarning", __file__],
        check=False, env=env, capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, proc.stdout[-2000:]


MIXED = {  # ops given one tensor on cuda and one on the CPU (c: cuda, h: host)
    "add": lambda c, h: c(3) + h(3),
    "add_reversed": lambda c, h: h(3) + c(3),
    "mul_inplace": lambda c, h: c(3).mul_(h(3)),
    "matmul": lambda c, h: c(2, 3) @ h(3, 2),
    "linear": lambda c, h: F.linear(c(2, 3), h(4, 3)),
    "conv2d": lambda c, h: F.conv2d(c(1, 1, 3, 3), h(1, 1, 2, 2)),
    "cat": lambda c, h: taimatsu.cat([c(2), h(2)]),
    "stack_0d": lambda c, h: taimatsu.stack([c(()), h(())]),
    "where": lambda c, h: taimatsu.where(c(3) > 0, c(3), h(3)),
    "gather": lambda c, h: c(3).gather(0, taimatsu.tensor([0, 1])),
    "index_select": lambda c, h: c(3).index_select(0, taimatsu.tensor([0, 1])),
    "mse_loss": lambda c, h: F.mse_loss(c(3), h(3)),
    "cross_entropy": lambda c, h: F.cross_entropy(c(2, 3), taimatsu.tensor([0, 1])),
    "cross_entropy_weight": lambda c, h: F.cross_entropy(
        c(2, 3), taimatsu.tensor([0, 1]).cuda(), weight=h(3)),
    "nll_loss_0d_target": lambda c, h: F.nll_loss(c(3), taimatsu.tensor(1)),
    "binary_cross_entropy": lambda c, h: F.binary_cross_entropy(c(3).sigmoid(), h(3).sigmoid()),
    "multi_margin_loss": lambda c, h: F.multi_margin_loss(c(2, 3), taimatsu.tensor([0, 1])),
    "multilabel_margin_loss": lambda c, h: F.multilabel_margin_loss(
        c(2, 3), taimatsu.tensor([[0, 1, -1], [1, -1, 0]])),
    "embedding": lambda c, h: F.embedding(taimatsu.tensor([0, 1]), c(3, 4)),
    "embedding_bag": lambda c, h: F.embedding_bag(taimatsu.tensor([0, 1]), c(3, 4),
                                                  taimatsu.tensor([0])),
    "layer_norm": lambda c, h: F.layer_norm(c(2, 3), (3,), h(3)),
    "rnn_cell": lambda c, h: taimatsu.nn.RNNCell(3, 4).cuda()(h(2, 3)),
}


@needs_cuda
@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixing_devices_is_an_error_naming_both_on_cuda(name):
    c = lambda *s: taimatsu.randn(*s).cuda()
    with pytest.raises(RuntimeError, match=r"Expected all tensors to be on the same device, but "
                                           r"found at least two devices, (cuda:0 and cpu|cpu and "
                                           r"cuda:0)!"):
        MIXED[name](c, taimatsu.randn)


@needs_cuda
def test_rnn_device_errors_name_pytorchs_words_on_cuda():
    lstm = taimatsu.nn.LSTM(3, 4).cuda()
    with pytest.raises(RuntimeError, match="Input and parameter tensors are not at the same "
                                           "device, found input tensor at cpu and parameter "
                                           "tensor at cuda:0"):
        lstm(taimatsu.randn(2, 1, 3))
    h = taimatsu.zeros(1, 1, 4)
    with pytest.raises(RuntimeError, match="Input and hidden tensors are not at the same device, "
                                           "found input tensor at cuda:0 and hidden tensor at cpu"):
        lstm(taimatsu.randn(2, 1, 3).cuda(), (h, h))


@needs_cuda
def test_cpu_scalars_mix_with_tensors_on_cuda():
    x = taimatsu.ones(3).cuda()
    s = taimatsu.tensor(2.0)
    assert (x * s).device.type == "cuda" and (s + x).tolist() == [3.0] * 3
    assert taimatsu.where(x > 0, x, s).device.type == "cuda"
    assert x.add_(s).tolist() == [3.0] * 3
    x[0] = s
    assert x.tolist() == [2.0, 3.0, 3.0]


@needs_cuda
def test_copy_and_indexing_cross_devices_on_cuda():
    x = taimatsu.zeros(3).cuda()
    x.copy_(taimatsu.tensor([1.0, 2.0, 3.0]))  # copy_ moves, as in PyTorch
    assert x.device.type == "cuda" and x.tolist() == [1.0, 2.0, 3.0]
    assert x[taimatsu.tensor([0, 2])].tolist() == [1.0, 3.0]  # host indices are moved too
    y = taimatsu.zeros(3)
    y.copy_(x)
    assert y.device.type == "cpu" and y.tolist() == [1.0, 2.0, 3.0]


@needs_cuda
def test_ctc_loss_takes_cpu_targets_on_cuda():
    lp = taimatsu.randn(5, 2, 4).log_softmax(2)
    targets, lens_in, lens_t = taimatsu.tensor([[1, 2], [3, 0]]), [5, 4], [2, 1]
    want = F.ctc_loss(lp, targets, lens_in, lens_t).item()
    got = F.ctc_loss(lp.cuda(), targets, taimatsu.tensor(lens_in), lens_t)
    assert got.device.type == "cuda" and np.isclose(got.item(), want)


@needs_cuda
def test_tensor_moves_on_cuda():
    x = taimatsu.arange(6.0).reshape(2, 3)
    forms = [x.to("cuda"), x.to(0), x.to("cuda:0"), x.to(taimatsu.device("cuda", 0)),
             convert.cuda(x), convert.cuda(x, 0), convert.cuda(x, "cuda:0", non_blocking=True),
             x.type("torch.cuda.FloatTensor"), x.to(taimatsu.ones(1).cuda())]
    for y in forms:
        assert y.device == taimatsu.device("cuda:0") and y.tolist() == x.tolist()
    g = forms[0]
    assert g.to("cuda") is g and convert.cuda(g) is g and g.to(0) is g
    assert convert.cpu(g).device.type == "cpu" and g.type("torch.DoubleTensor").device.type == "cpu"
    assert g.type(taimatsu.float64).device == g.device and g.type() == "torch.cuda.FloatTensor"
    assert g.to("cpu", taimatsu.float64, non_blocking=True).dtype is taimatsu.float64
    assert x.pin_memory().to("cuda", non_blocking=True).tolist() == x.tolist()
    with pytest.raises(RuntimeError, match="CUDA error: invalid device ordinal"):
        x.to("cuda:1")
    with pytest.raises(RuntimeError, match="CUDA error: invalid device ordinal"):
        convert.cuda(x, 7)


@needs_cuda
def test_gradients_cross_devices_on_cuda():
    w = taimatsu.ones(3, requires_grad=True)
    (w.to("cuda", taimatsu.float64) * 2).sum().backward()
    assert w.grad.device.type == "cpu" and w.grad.dtype is taimatsu.float32
    assert w.grad.tolist() == [2.0] * 3
    v = taimatsu.ones(3).cuda().requires_grad_()
    (convert.cpu(v) * 3).sum().backward()
    assert v.grad.device.type == "cuda" and v.grad.tolist() == [3.0] * 3


@needs_cuda
def test_root_gradient_on_another_device_is_refused_on_cuda():
    y = taimatsu.ones(2, device="cuda", requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="invalid gradient at index 0 - expected device cuda:0 "
                                           "but got cpu"):
        y.backward(taimatsu.ones(2))


@needs_cuda
def test_module_moves_on_cuda():
    model = taimatsu.nn.Sequential(taimatsu.nn.Linear(3, 4), taimatsu.nn.BatchNorm1d(4))
    params = list(model.parameters())
    for p in params:
        p.grad = taimatsu.ones_like(p)
    opt = taimatsu.optim.SGD(model.parameters(), lr=0.1)
    assert model.cuda() is model
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert {t.device.type for t in model.state_dict().values()} == {"cuda"}
    assert {p.grad.device.type for p in params} == {"cuda"}
    assert model[1].num_batches_tracked.dtype is taimatsu.int64
    model(taimatsu.randn(2, 3).cuda()).sum().backward()
    opt.step()
    model.to("cpu", taimatsu.float64)
    assert {(t.device.type, t.dtype) for t in model.state_dict().values()} == {
        ("cpu", taimatsu.float64), ("cpu", taimatsu.int64)}
    model.to(0)
    assert params[0].device.type == "cuda" and params[0].dtype is taimatsu.float64
    model.cpu().to(device="cuda", non_blocking=True)
    assert params[0].device.type == "cuda"
    model.to_empty(device="cpu")
    assert params[0].device.type == "cpu" and params[0].shape == (4, 3)


@needs_cuda
def test_failed_module_move_changes_nothing_on_cuda():
    model = taimatsu.nn.Linear(2, 2)
    for bad in (lambda: model.cuda(5), lambda: model.to("cuda:3"), lambda: model.cuda("cpu")):
        with pytest.raises(RuntimeError):
            bad()
        assert model.weight.device.type == "cpu" and model.bias.device.type == "cpu"


@needs_cuda
def test_set_device_and_device_context_on_cuda():
    cuda = taimatsu.cuda
    for good in (0, "cuda:0", taimatsu.device("cuda", 0), -1):
        cuda.set_device(good)
        assert cuda.current_device() == 0
    bare = "Expected a torch.device with a specified index or an integer, but got:cuda"
    for bad, kind, words in [("cuda", ValueError, bare),
                             ("cpu", ValueError, "Expected a cuda device, but got: cpu"),
                             (None, ValueError, "but got:None"),
                             (1.5, ValueError, "but got:1.5"),
                             (5, RuntimeError, "CUDA error: invalid device ordinal")]:
        with pytest.raises(kind, match=words):
            cuda.set_device(bad)
    assert cuda.current_device() == 0
    with cuda.device("cuda:0"):
        assert cuda.current_device() == 0
    with cuda.device(None), cuda.device(-1):
        assert cuda.current_device() == 0
    assert cuda.device("cuda").idx == 0 and cuda.device(cuda.device(0)).idx == 0
    with pytest.raises(RuntimeError, match="invalid device ordinal"), cuda.device(4):
        pass
    assert taimatsu.ones(1).to("cuda").device.index == cuda.current_device()


@needs_cuda
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                                  "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor", "SparseAdam"])
def test_optimizer_state_left_on_another_device_on_cuda(name):
    """``model.cuda()`` after some steps leaves the optimizer's state on the CPU: PyTorch's
    device error, not a crash inside the update (and a state loaded from the CPU is moved)."""
    make = {"SGD": lambda p: taimatsu.optim.SGD(p, lr=0.1, momentum=0.9)}.get(
        name, lambda p: getattr(taimatsu.optim, name)(p))
    model = taimatsu.nn.Linear(2, 2)
    opt = make(model.parameters())
    model(taimatsu.ones(1, 2)).sum().backward()
    opt.step()
    model.cuda()
    model(taimatsu.ones(1, 2).cuda()).sum().backward()
    before = model.weight.tolist()
    with pytest.raises(RuntimeError, match="found at least two devices, cuda:0 and cpu!"):
        opt.step()
    assert model.weight.tolist() == before
    fresh = make(model.parameters())
    fresh.load_state_dict(opt.state_dict())
    fresh.step()
    assert model.weight.tolist() != before
