"""taimatsu.nn.parallel in one process: DataParallel, and what DDP and SyncBatchNorm do without
a process group (the multi-rank tests are in tests/distributed/test_ddp.py)."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from taimatsu.nn.parallel import DataParallel, DistributedDataParallel
from tests.helpers import needs_torch, torch


def test_ddp_needs_process_group():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(taimatsu.nn.Linear(2, 2))


@needs_torch
def test_sync_batchnorm_single_process_is_batchnorm():
    x = np.random.default_rng(0).standard_normal((6, 3, 4)).astype(np.float32)
    ours, theirs = taimatsu.nn.SyncBatchNorm(3), torch.nn.BatchNorm1d(3)
    out = ours(taimatsu.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-6)


def test_data_parallel_without_gpu_passes_through():
    if taimatsu.cuda.is_available():
        pytest.skip("a GPU is present: DataParallel moves the module (see the cuda test)")
    taimatsu.manual_seed(0)
    inner = taimatsu.nn.Linear(3, 2)
    model = DataParallel(inner)
    assert model.device_ids == [] and model.module is inner
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    x = taimatsu.randn(4, 3)
    model(x).sum().backward()
    np.testing.assert_allclose(inner.weight.grad.numpy(), x.sum(0).expand(2, 3).numpy(),
                               rtol=1e-6)


@pytest.mark.cuda
@pytest.mark.skipif(not taimatsu.cuda.is_available(), reason="needs a GPU (CuPy)")
def test_data_parallel_one_gpu():
    inner = taimatsu.nn.Linear(3, 2)
    model = DataParallel(inner, device_ids=[0])
    assert inner.weight.device == taimatsu.device("cuda", 0)
    out = model(taimatsu.randn(4, 3))  # a cpu input is copied to the module's device
    assert out.device == taimatsu.device("cuda", 0)
    inner.cpu()
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on "
                                           "device cuda:0"):
        model(taimatsu.randn(4, 3))


@pytest.mark.parametrize("kwargs", [{"mixed_precision": object()},
                                    {"skip_all_reduce_unused_params": True},
                                    {"bucket_cap_mb_list": [1, 25]}])
def test_ddp_refuses_unsupported_options(kwargs):
    with pytest.raises(NotImplementedError, match=f"{next(iter(kwargs))} is not supported"):
        DistributedDataParallel(taimatsu.nn.Linear(2, 2), **kwargs)
