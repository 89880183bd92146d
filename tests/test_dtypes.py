"""dtype objects, aliases, the default dtype and PyTorch's promotion rules."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import taimatsu
from tests.helpers import needs_torch

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_aliases():
    assert taimatsu.float is taimatsu.float32
    assert taimatsu.double is taimatsu.float64
    assert taimatsu.half is taimatsu.float16
    assert taimatsu.long is taimatsu.int64
    assert taimatsu.int is taimatsu.int32
    assert taimatsu.short is taimatsu.int16
    assert repr(taimatsu.float32) == "taimatsu.float32"
    assert taimatsu.float32.is_floating_point and not taimatsu.int64.is_floating_point


@needs_torch
@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    import torch

    ours = taimatsu.promote_types(getattr(taimatsu, a), getattr(taimatsu, b))
    theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert ours.name == str(theirs).split(".")[-1]


def test_default_dtype_round_trip():
    assert taimatsu.get_default_dtype() is taimatsu.float32
    taimatsu.set_default_dtype(taimatsu.float64)
    assert taimatsu.tensor(1.5).dtype is taimatsu.float64
    assert taimatsu.zeros(2).dtype is taimatsu.float64
    taimatsu.set_default_dtype(taimatsu.float32)
    assert taimatsu.tensor([1.5]).dtype is taimatsu.float32
    with pytest.raises(TypeError, match="floating-point"):
        taimatsu.set_default_dtype(taimatsu.int64)


def test_python_scalars_do_not_upcast_float32(device):
    x = taimatsu.ones(2, device=device)
    assert (x * 2.5).dtype is taimatsu.float32
    assert (x + 1).dtype is taimatsu.float32


def test_int_tensor_with_float_scalar_gives_default_float(device):
    x = taimatsu.tensor([1, 2], device=device)
    assert (x * 1.5).dtype is taimatsu.float32
    assert (x / 2).dtype is taimatsu.float32
    assert (x + 1).dtype is taimatsu.int64


def test_zero_dim_tensor_does_not_widen(device):
    x = taimatsu.ones(3, device=device)
    s = taimatsu.tensor(2.0, dtype=taimatsu.float64, device=device)
    assert (x * s).dtype is taimatsu.float32
    i = taimatsu.tensor([1, 2], dtype=taimatsu.int32, device=device)
    assert (i * s).dtype is taimatsu.float64  # higher category: the 0-d tensor decides


def test_int_and_float_tensors_give_float(device):
    i = taimatsu.tensor([1, 2], device=device)
    f = taimatsu.ones(2, device=device)
    assert (i + f).dtype is taimatsu.float32
    assert np.allclose((i + f).numpy() if device == "cpu" else (i + f).cpu().numpy(), [2, 3])


def test_unsupported_numpy_dtype():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type complex128"):
        taimatsu.from_numpy(np.zeros(2, dtype=np.complex128))
