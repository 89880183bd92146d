"""taimatsu.utils.safetensors: both paths (the safetensors package and the built-in reader/writer),
interchange with safetensors.torch, and bad files."""
from __future__ import annotations

import json

import numpy as np
import pytest

import taimatsu
from taimatsu import nn
from taimatsu.utils import safetensors as S
from tests.helpers import to_np

try:
    import safetensors.torch as st_torch
    import torch
except ImportError:
    st_torch = torch = None

needs_package = pytest.mark.skipif(S._numpy_api() is None, reason="the safetensors package is not "
                                   "installed (pip install safetensors)")
needs_st_torch = pytest.mark.skipif(st_torch is None, reason="safetensors and torch are needed")


@pytest.fixture(params=["package", "builtin"])
def path_kind(request, monkeypatch):
    if request.param == "package":
        if S._numpy_api() is None:
            pytest.skip("the safetensors package is not installed (pip install safetensors)")
    else:
        monkeypatch.setattr(S, "_numpy_api", lambda: None)
    return request.param


def tensors():
    rng = np.random.default_rng(0)
    return {
        "f32": taimatsu.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        "f64": taimatsu.tensor(rng.standard_normal(5)),
        "f16": taimatsu.tensor(rng.standard_normal((2, 2)).astype(np.float16)),
        "i64": taimatsu.arange(6).view(2, 3), "i32": taimatsu.arange(3, dtype=taimatsu.int32),
        "i16": taimatsu.arange(2, dtype=taimatsu.int16), "i8": taimatsu.tensor([-1, 2],
                                                                              dtype=taimatsu.int8),
        "u8": taimatsu.tensor([1, 255], dtype=taimatsu.uint8),
        "b": taimatsu.tensor([True, False]), "scalar": taimatsu.tensor(3.5),
        "empty": taimatsu.zeros(0, 3),
    }


def check_equal(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k, v in a.items():
        assert str(v.dtype).split(".")[-1] == str(b[k].dtype).split(".")[-1], k
        np.testing.assert_array_equal(to_np(v), to_np(b[k]))


def test_round_trip_file_and_bytes(path_kind, tmp_path):
    ts = tensors()
    S.save_file(ts, tmp_path / "m.safetensors", metadata={"format": "pt"})
    check_equal(S.load_file(tmp_path / "m.safetensors"), ts)
    check_equal(S.load(S.save(ts)), ts)
    loaded = S.load_file(tmp_path / "m.safetensors")
    loaded["f32"][0, 0] = 9.0  # loaded tensors are writable and independent of the file
    assert S.load_file(tmp_path / "m.safetensors")["f32"][0, 0].item() == ts["f32"][0, 0].item()


@needs_package
def test_builtin_writer_is_byte_identical_to_the_package(monkeypatch):
    ts = tensors()
    with_package = S.save(ts, metadata={"k": "v"})
    monkeypatch.setattr(S, "_numpy_api", lambda: None)
    assert S.save(ts, metadata={"k": "v"}) == with_package
    check_equal(S.load(with_package), ts)


@needs_st_torch
def test_interchange_with_safetensors_torch(path_kind, tmp_path):
    ts = tensors()
    S.save_file(ts, tmp_path / "a.safetensors")
    check_equal(ts, st_torch.load_file(tmp_path / "a.safetensors"))
    ref = {k: torch.tensor(to_np(v)) for k, v in ts.items()}
    st_torch.save_file(ref, tmp_path / "b.safetensors")
    check_equal(S.load_file(tmp_path / "b.safetensors"), ref)
    check_equal(S.load(st_torch.save(ref)), ref)


@needs_st_torch
def test_bfloat16_interchange_with_safetensors_torch(path_kind, tmp_path):
    pytest.importorskip("ml_dtypes", reason="taimatsu.bfloat16 needs ml_dtypes")
    values = np.array([[1.5, -2.0, 3.0e38], [0.0, 1.0e-3, -7.25]], np.float32)
    ts = {"bf": taimatsu.tensor(values).bfloat16(), "f32": taimatsu.tensor(values),
          "i8": taimatsu.tensor([1, -2], dtype=taimatsu.int8)}
    ref = {"bf": torch.tensor(values).bfloat16(), "f32": torch.tensor(values),
           "i8": torch.tensor([1, -2], dtype=torch.int8)}

    def check(ours, theirs):
        assert sorted(ours) == sorted(theirs)
        assert ours["bf"].dtype == taimatsu.bfloat16 and theirs["bf"].dtype == torch.bfloat16
        for k in ours:  # (bfloat16 -> float32 is exact)
            np.testing.assert_array_equal(to_np(ours[k].float() if k == "bf" else ours[k]),
                                          theirs[k].float().numpy() if k == "bf" else
                                          theirs[k].numpy())

    S.save_file(ts, tmp_path / "a.safetensors")
    check(ts, st_torch.load_file(tmp_path / "a.safetensors"))
    assert S.save(ts) == st_torch.save(ref)  # the same bytes (the same dtype order)
    st_torch.save_file(ref, tmp_path / "b.safetensors")
    check(S.load_file(tmp_path / "b.safetensors"), ref)
    check(S.load(st_torch.save(ref)), ref)


def test_state_dict_round_trip(path_kind, tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    S.save_file(model.state_dict(), tmp_path / "m.safetensors")
    other = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    other.load_state_dict(S.load_file(tmp_path / "m.safetensors"))
    check_equal(dict(model.state_dict()), dict(other.state_dict()))


def test_save_refuses_what_safetensors_torch_refuses(path_kind):
    a = taimatsu.ones(4)
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        S.save({"a": a, "b": a[:2]})
    with pytest.raises(ValueError, match="non contiguous tensor: `t`"):
        S.save({"t": taimatsu.ones(2, 3).t()})
    with pytest.raises(ValueError, match="Key `1` is invalid"):
        S.save({1: a})


def _file(header: dict, data: bytes, length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    n = len(text) if length is None else length
    return n.to_bytes(8, "little") + text + data


@pytest.mark.parametrize("blob", [
    b"\x01",
    _file({}, b"", length=1 << 40),  # a header length past the end
    b"\x04\x00\x00\x00\x00\x00\x00\x00nope",
    _file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
    _file({"a": {"dtype": "F32", "shape": [1 << 40], "data_offsets": [0, 4]}}, b"\0" * 4),
    _file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
    _file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
    # (dtypes the format has and taimatsu lacks)
    _file({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
    _file({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
    _file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
    _file([1, 2], b""),
])
def test_bad_files_raise_value_error(path_kind, blob, tmp_path):
    with pytest.raises(ValueError):
        S.load(blob)
    (tmp_path / "x.safetensors").write_bytes(blob)
    with pytest.raises(ValueError):
        S.load_file(tmp_path / "x.safetensors")
