"""taimatsu.accelerator without a GPU behaves as PyTorch's CPU-only build."""
from __future__ import annotations

import pytest

import taimatsu
import taimatsu.accelerator

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(taimatsu.cuda.is_available() or torch.cuda.is_available(),
                                reason="these check the behaviour without an accelerator")


@pytest.mark.parametrize("T", [taimatsu, torch], ids=["taimatsu", "torch"])
def test_queries(T):
    assert T.accelerator.is_available() is False
    assert T.accelerator.current_accelerator() is None
    assert T.accelerator.current_accelerator(check_available=True) is None
    assert T.accelerator.device_count() == 0


@pytest.mark.parametrize("T", [taimatsu, torch], ids=["taimatsu", "torch"])
@pytest.mark.parametrize("call", [
    lambda A: A.current_device_index(), lambda A: A.set_device_index(0),
    lambda A: A.synchronize(), lambda A: A.device_index(0).__enter__(), lambda A: A.empty_cache(),
    lambda A: A.memory_allocated(), lambda A: A.max_memory_allocated(),
    lambda A: A.memory_reserved(), lambda A: A.max_memory_reserved(),
    lambda A: A.reset_peak_memory_stats(),
])
def test_device_calls_raise(T, call):
    with pytest.raises(RuntimeError,
                       match="Cannot access accelerator device when none is available."):
        call(T.accelerator)


def test_device_agnostic_idiom_picks_cpu():
    acc = taimatsu.accelerator
    dev = acc.current_accelerator() if acc.is_available() else taimatsu.device("cpu")
    assert taimatsu.ones(2, device=dev).device.type == "cpu"


def test_pin_memory_without_an_accelerator_is_pytorchs_error():
    x = taimatsu.ones(2)
    assert x.is_pinned() is False
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is "
                       "available"):
        x.pin_memory()
