"""Tensor attributes, conversions, devices and the Python protocol."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import taimatsu
from tests.helpers import to_np, torch


def test_metadata(device):
    t = taimatsu.zeros(2, 3, device=device)
    assert t.shape == (2, 3) and t.size() == taimatsu.Size([2, 3]) and t.size(1) == 3
    assert t.size(-1) == 3 and t.dim() == 2 and t.ndim == 2 and t.numel() == 6
    assert t.dtype is taimatsu.float32 and t.device == taimatsu.device(device)
    assert t.is_leaf and t.grad is None and t.grad_fn is None and not t.requires_grad
    assert repr(t.shape) == "taimatsu.Size([2, 3])"
    assert t.stride() == (3, 1) and t.element_size() == 4 and t.is_contiguous()
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.size(2)


def test_item_and_tolist(device):
    assert taimatsu.tensor([[2.5]], device=device).item() == 2.5
    assert taimatsu.tensor([[1, 2]], device=device).tolist() == [[1, 2]]
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        taimatsu.zeros(2, device=device).item()


def test_conversions(device):
    t = taimatsu.tensor([1.7, -2.2], device=device)
    assert t.long().dtype is taimatsu.int64 and t.long().tolist() == [1, -2]
    assert t.double().dtype is taimatsu.float64
    assert t.half().dtype is taimatsu.float16
    assert t.int().dtype is taimatsu.int32
    assert t.bool().tolist() == [True, True]
    assert t.float() is t  # nothing to change: the same tensor, as in PyTorch
    assert t.to(taimatsu.float32) is t and t.to(device) is t
    assert t.to(taimatsu.float64, copy=False).dtype is taimatsu.float64
    assert t.type() in ("torch.FloatTensor", "torch.cuda.FloatTensor")
    assert t.type(taimatsu.float64).dtype is taimatsu.float64
    assert t.to(taimatsu.zeros(1, dtype=taimatsu.float16)).dtype is taimatsu.float16


def test_to_is_differentiable(device):
    x = taimatsu.ones(2, device=device, requires_grad=True)
    y = x.double() * 2
    y.sum().backward()
    assert x.grad.dtype is taimatsu.float32 and x.grad.tolist() == [2.0, 2.0]


def test_cpu_round_trip_and_numpy():
    t = taimatsu.tensor([1.0, 2.0])
    assert t.cpu() is t
    arr = t.numpy()
    arr[0] = 9
    assert t.tolist() == [9.0, 2.0]
    assert np.asarray(t).tolist() == [9.0, 2.0]


def test_cuda_without_gpu_says_what_to_install():
    if taimatsu.cuda.is_available():
        pytest.skip("a GPU is present: this checks the message on machines without one")
    assert taimatsu.device("cuda").type == "cuda"
    with pytest.raises(RuntimeError, match="pip install cupy"):
        taimatsu.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="pip install cupy"):
        taimatsu.zeros(2).cuda()


def test_device_parsing():
    assert taimatsu.device("cuda:1").index == 1
    assert taimatsu.device("cuda", 2).index == 2
    assert str(taimatsu.device("cpu")) == "cpu"
    assert taimatsu.device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        taimatsu.device("tpu")


def test_device_mismatch_is_named():
    if not taimatsu.cuda.is_available():
        pytest.skip("needs a GPU: mixing devices can only happen where CUDA exists")
    with pytest.raises(RuntimeError, match="cpu and cuda:0|cuda:0 and cpu"):
        taimatsu.ones(2) + taimatsu.ones(2, device="cuda")


def test_python_protocol(device):
    t = taimatsu.tensor([1.0, 2.0, 3.0], device=device)
    assert len(t) == 3
    assert [float(v) for v in t] == [1.0, 2.0, 3.0]
    assert bool(taimatsu.tensor([1], device=device)) is True
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(taimatsu.tensor(1.0))
    assert int(taimatsu.tensor(3.9)) == 3 and float(taimatsu.tensor(2)) == 2.0
    assert [10, 20, 30][taimatsu.tensor(1)] == 20
    assert f"{taimatsu.tensor(2.5):.2f}" == "2.50"
    assert hash(t) == id(t) or isinstance(hash(t), int)


def test_repr_like_pytorch():
    assert repr(taimatsu.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(taimatsu.tensor([0.5, 0.25])) == "tensor([0.5000, 0.2500])"
    assert repr(taimatsu.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(taimatsu.tensor([1.0], dtype=taimatsu.float64)) == \
        "tensor([1.], dtype=taimatsu.float64)"
    assert repr(taimatsu.tensor(3.0, requires_grad=True)) == "tensor(3., requires_grad=True)"
    assert repr(taimatsu.zeros(0, 3)) == "tensor([], size=(0, 3))"


def test_pickle_and_deepcopy():
    t = taimatsu.tensor([1.0, 2.0], requires_grad=True)
    u = pickle.loads(pickle.dumps(t))
    assert u.tolist() == [1.0, 2.0] and u.requires_grad
    c = copy.deepcopy(t)
    assert c.tolist() == t.tolist() and c is not t
    c.data.add_(1)
    assert t.tolist() == [1.0, 2.0]


def test_legacy_constructor():
    assert taimatsu.Tensor([1, 2]).dtype is taimatsu.float32
    assert taimatsu.Tensor(2, 3).shape == (2, 3)


def test_is_tensor():
    assert taimatsu.is_tensor(taimatsu.zeros(1)) and not taimatsu.is_tensor(np.zeros(1))


def test_data_setter_swaps_storage(device):
    t = taimatsu.zeros(2, device=device, requires_grad=True)
    t.data = taimatsu.ones(3, device=device)
    assert to_np(t).tolist() == [1.0, 1.0, 1.0] and t.requires_grad


def test_floating_point_warnings_silent_in_ops_only():
    """log(0) and x/0 are silent, as in PyTorch; the user's own NumPy calls still warn."""
    import subprocess
    import sys

    code = ("import numpy as np, taimatsu as t\n"
            "assert t.tensor([0.0]).log().item() == float('-inf')\n"
            "assert (t.tensor([1.0]) / 0).item() == float('inf')\n"
            "try:\n    np.log(np.zeros(1))\nexcept RuntimeWarning:\n    print('user warns')\n")
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "user warns"


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("fmt", ["contiguous_format", "channels_last", "channels_last_3d",
                                 "preserve_format"])
@pytest.mark.parametrize("make", [lambda T: T.ones(2, 3), lambda T: T.ones(3, 4).t(),
                                  lambda T: T.ones(2, 3, 4, 5),
                                  lambda T: T.ones(2, 3, 4, 5).permute(0, 2, 3, 1).contiguous()
                                  .permute(0, 3, 1, 2),
                                  lambda T: T.ones(2, 3, 4, 5, 6)])
def test_is_contiguous_in_a_memory_format_as_torch(make, fmt):
    ours = make(taimatsu).is_contiguous(memory_format=getattr(taimatsu, fmt))
    assert ours == make(torch).is_contiguous(memory_format=getattr(torch, fmt))
