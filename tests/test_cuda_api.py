"""taimatsu.cuda and taimatsu.backends without a GPU behave as PyTorch's CPU-only build: same
answers, same exception types, PyTorch's messages."""
from __future__ import annotations

import re

import pytest

import taimatsu
import taimatsu.backends

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(taimatsu.cuda.is_available() or torch.cuda.is_available(),
                                reason="these check the behaviour without a GPU")

# Each call is run on both libraries: equal results, or the same exception type and message.
CALLS = {
    "is_available": lambda T: T.cuda.is_available(),
    "device_count": lambda T: T.cuda.device_count(),
    "current_device": lambda T: T.cuda.current_device(),
    "set_device_negative": lambda T: T.cuda.set_device(-1),
    "set_device_cpu": lambda T: T.cuda.set_device("cpu"),
    "set_device_none": lambda T: T.cuda.set_device(None),
    "set_device_bare_cuda": lambda T: T.cuda.set_device("cuda"),
    "get_device_name": lambda T: T.cuda.get_device_name(),
    "get_device_name_cpu": lambda T: T.cuda.get_device_name("cpu"),
    "get_device_properties": lambda T: T.cuda.get_device_properties(0),
    "get_device_capability": lambda T: T.cuda.get_device_capability(),
    "synchronize": lambda T: T.cuda.synchronize(),
    "manual_seed": lambda T: T.cuda.manual_seed(1),
    "manual_seed_all": lambda T: T.cuda.manual_seed_all(1),
    "manual_seed_bad": lambda T: T.cuda.manual_seed("x"),
    "seed": lambda T: T.cuda.seed(),
    "seed_all": lambda T: T.cuda.seed_all(),
    "initial_seed": lambda T: T.cuda.initial_seed(),
    "get_rng_state": lambda T: T.cuda.get_rng_state(),
    "memory_allocated": lambda T: T.cuda.memory_allocated(),
    "memory_allocated_arg": lambda T: T.cuda.memory_allocated("cuda:1"),
    "max_memory_allocated": lambda T: T.cuda.max_memory_allocated(),
    "memory_reserved": lambda T: T.cuda.memory_reserved(),
    "max_memory_reserved": lambda T: T.cuda.max_memory_reserved(),
    "empty_cache": lambda T: T.cuda.empty_cache(),
    "mem_get_info": lambda T: T.cuda.mem_get_info(),
    "Event": lambda T: T.cuda.Event(enable_timing=True),
    "Stream": lambda T: T.cuda.Stream(),
    "current_stream": lambda T: T.cuda.current_stream(),
    "default_stream": lambda T: T.cuda.default_stream(),
    "stream_none": lambda T: T.cuda.stream(None).__enter__(),
    "is_bf16_supported": lambda T: T.cuda.is_bf16_supported(),
    "device_context": lambda T: T.cuda.device(0).__enter__(),
    "device_context_negative": lambda T: T.cuda.device(-1).__enter__(),
    "device_context_cpu": lambda T: T.cuda.device("cpu"),
    "device_of_cpu_tensor": lambda T: T.cuda.device_of(T.zeros(1)).__enter__(),
    "cudnn_is_available": lambda T: T.backends.cudnn.is_available(),
    "cudnn_version": lambda T: T.backends.cudnn.version(),
    "cudnn_defaults": lambda T: [T.backends.cudnn.enabled, T.backends.cudnn.benchmark,
                                 T.backends.cudnn.deterministic, T.backends.cudnn.allow_tf32],
    "matmul_defaults": lambda T: [
        T.backends.cuda.matmul.allow_tf32,
        T.backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
        T.backends.cuda.matmul.allow_bf16_reduced_precision_reduction],
    "matmul_unknown": lambda T: T.backends.cuda.matmul.foo,
    "matmul_set_unknown": lambda T: setattr(T.backends.cuda.matmul, "foo", 1),
    "cuda_is_built": lambda T: T.backends.cuda.is_built(),
    "mps_is_available": lambda T: T.backends.mps.is_available(),
    "mps_is_built": lambda T: T.backends.mps.is_built(),
    "mkldnn_enabled": lambda T: T.backends.mkldnn.enabled,
    "cpu_capability": lambda T: T.backends.cpu.get_cpu_capability(),
}


def _outcome(fn, T):
    try:
        return "ok", fn(T)
    except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
        return type(e), str(e)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_matches_pytorch_cpu_build(name):
    ours, theirs = _outcome(CALLS[name], taimatsu), _outcome(CALLS[name], torch)
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok":
        assert ours[1] == theirs[1]
    else:  # ours may add what to install after PyTorch's words
        assert ours[1].startswith(theirs[1]), (ours, theirs)


def test_not_compiled_message_says_what_to_install():
    with pytest.raises(AssertionError, match=re.escape("pip install cupy")):
        taimatsu.cuda.current_device()


def test_out_of_memory_error_is_exported():
    assert issubclass(taimatsu.cuda.OutOfMemoryError, RuntimeError)


@pytest.mark.parametrize("T", [taimatsu, torch], ids=["taimatsu", "torch"])
def test_flags_are_settable(T):
    cudnn, matmul = T.backends.cudnn, T.backends.cuda.matmul
    saved = cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32
    try:
        cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32 = True, True, True
        assert (cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32) == (True, True, True)
    finally:
        cudnn.benchmark, cudnn.deterministic, matmul.allow_tf32 = saved


@pytest.mark.parametrize("T", [taimatsu, torch], ids=["taimatsu", "torch"])
def test_flags_context_sets_and_restores(T):
    cudnn = T.backends.cudnn
    with cudnn.flags(enabled=False, deterministic=True):
        assert (cudnn.enabled, cudnn.deterministic, cudnn.benchmark) == (False, True, False)
    assert (cudnn.enabled, cudnn.deterministic) == (True, False)
