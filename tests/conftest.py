"""The ``device`` fixture: cpu always; cuda too when TAIMATSU_TEST_DEVICE=cuda or CuPy sees a GPU."""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

import taimatsu

# Property tests draw the same examples on every run (CI is deterministic); the "long" profile
# (`pytest --hypothesis-profile long tests/fuzz`) explores afresh with many more examples.
settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("long", max_examples=20000, deadline=None)
settings.load_profile("default")


def _devices():
    want = os.environ.get("TAIMATSU_TEST_DEVICE", "")
    if want == "cuda":
        if not taimatsu.cuda.is_available():
            raise RuntimeError("TAIMATSU_TEST_DEVICE=cuda but CuPy sees no GPU")
        return ["cuda"] if os.environ.get("TAIMATSU_TEST_ONLY_CUDA") else ["cpu", "cuda"]
    if want == "cpu":
        return ["cpu"]
    return ["cpu", "cuda"] if taimatsu.cuda.is_available() else ["cpu"]


DEVICES = _devices()


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    """With TAIMATSU_TEST_ONLY_CUDA (CI's second pass, on the CuPy double) only the tests that run
    on device cuda are collected: those taking ``device`` and those marked ``cuda``. The others
    do not touch the device and already ran in the CPU pass."""
    if not os.environ.get("TAIMATSU_TEST_ONLY_CUDA"):
        return
    keep, drop = [], []
    for item in items:
        on_cuda = "device" in item.fixturenames or item.get_closest_marker("cuda") is not None
        (keep if on_cuda else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(autouse=True)
def _restore_state():
    """Each test starts with grad mode on, float32 default and a fixed seed."""
    taimatsu.manual_seed(0)
    yield
    taimatsu.backend._PENDING_CHECKS.clear()  # a deferred device check stays with its test
    taimatsu.set_default_dtype(taimatsu.float32)
    taimatsu.autograd.grad_mode.state.enabled = True


def pytest_report_header(config):
    try:
        import torch

        oracle = f"PyTorch {torch.__version__} (comparison oracle)"
    except ImportError:
        oracle = "PyTorch not installed: comparisons with PyTorch are skipped"
    return [f"taimatsu devices: {', '.join(DEVICES)}", oracle]
