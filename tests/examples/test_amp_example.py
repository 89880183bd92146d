"""examples/amp_device_agnostic trains under CPU bfloat16 autocast, as the same program on PyTorch."""
from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch, torch

pytest.importorskip("sklearn", reason="the example's data is scikit-learn's digits")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "amp_device_agnostic" / "train.py"


def _load():
    return SimpleNamespace(**runpy.run_path(str(EXAMPLE), run_name="amp_device_agnostic"))


@pytest.fixture(autouse=True)
def _keep_backend_flags():
    """The example sets the cuDNN/TF32 flags: later tests see them as they were."""
    libs = (taimatsu, torch) if torch is not None else (taimatsu,)
    saved = [(lib.backends.cudnn.benchmark, lib.backends.cuda.matmul.allow_tf32) for lib in libs]
    yield
    for lib, (benchmark, tf32) in zip(libs, saved):
        lib.backends.cudnn.benchmark, lib.backends.cuda.matmul.allow_tf32 = benchmark, tf32


@needs_torch
def test_same_losses_as_pytorch_from_the_same_weights():
    """Two epochs on the CPU from identical weights, in the same batch order: bfloat16 autocast
    on both."""
    train = _load()
    torch.manual_seed(0)
    pm = train.build(torch)
    tm = train.build(taimatsu)
    tm.load_state_dict({k: taimatsu.tensor(v.numpy()) for k, v in pm.state_dict().items()})
    run = {"epochs": 2, "shuffle": False, "device": "cpu", "log": lambda s: None}
    lp, acc_p, _ = train.train(torch, model=pm, **run)
    lt, acc_t, _ = train.train(taimatsu, model=tm, **run)
    assert len(lt) == len(lp) == 44
    # bfloat16 keeps 8 bits of mantissa: the runs agree to mixed-precision tolerance.
    np.testing.assert_allclose(lt, lp, rtol=0.02, atol=0.01)
    assert lt[-1] < 0.5 * lt[0]
    assert abs(acc_t - acc_p) < 0.05
    assert all(p.dtype is taimatsu.float32 and p.grad.dtype is taimatsu.float32
               for p in tm.parameters())


def test_main_runs(capsys):
    assert _load().main(["--epochs", "1", "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert "taimatsu on " in out and ": epoch 1, last loss" in out


@needs_torch
@pytest.mark.cuda
@pytest.mark.skipif(not taimatsu.cuda.is_available(), reason="needs CUDA (or the CuPy double)")
def test_cuda_float16_run_reaches_pytorch_cpu_losses():
    """On cuda the same program takes float16 autocast and a GradScaler; its losses follow
    PyTorch's CPU bfloat16 run to mixed-precision tolerance."""
    train = _load()
    torch.manual_seed(0)
    pm = train.build(torch)
    tm = train.build(taimatsu)
    tm.load_state_dict({k: taimatsu.tensor(v.numpy()) for k, v in pm.state_dict().items()})
    lt, _, _ = train.train(taimatsu, epochs=1, model=tm, shuffle=False, log=lambda s: None)
    lp, _, _ = train.train(torch, epochs=1, model=pm, shuffle=False, log=lambda s: None)
    assert next(tm.parameters()).device.type == "cuda"
    np.testing.assert_allclose(lt, lp, rtol=0.05, atol=0.05)
