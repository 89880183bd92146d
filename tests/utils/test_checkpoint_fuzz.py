"""A hypothesis fuzzer mutating valid checkpoints: every outcome is a correct load or a documented
error (pickle.UnpicklingError or RuntimeError), nothing runs, and memory stays bounded.

Quick by default (derandomized, a few hundred cases per strategy); set
TAIMATSU_FUZZ_EXAMPLES=5000 for a long run.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import tracemalloc
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taimatsu
from taimatsu import nn

EXAMPLES = int(os.environ.get("TAIMATSU_FUZZ_EXAMPLES", "250"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
MEMORY_BOUND = 32 << 20  # bytes; the checkpoint itself is under 2 KiB


def _checkpoint() -> bytes:
    w = taimatsu.arange(12.0).view(3, 4)
    obj = collections.OrderedDict(
        w=w, t=w.t(), row=w[1], ints=taimatsu.arange(5, dtype=taimatsu.int16),
        p=nn.Parameter(taimatsu.ones(2)), meta={"a": [1, 2.5, "s", None, True], "b": b"xy",
                                                "size": taimatsu.Size([3, 4]),
                                                "dt": taimatsu.float16,
                                                "dev": taimatsu.device("cpu")})
    buf = io.BytesIO()
    taimatsu.save(obj, buf)
    return buf.getvalue()


VALID = _checkpoint()
_ZIP = zipfile.ZipFile(io.BytesIO(VALID))
ENTRIES = {name: _ZIP.read(name) for name in _ZIP.namelist()}
PKL = ENTRIES["archive/data.pkl"]
ALLOWED_LEAVES = (type(None), bool, int, float, complex, str, bytes, bytearray, taimatsu.Tensor,
                  taimatsu.Size, taimatsu.dtype, taimatsu.device)


def _rezip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _check_value(obj, depth=0) -> None:
    """A successful load holds only what the allow-list can build."""
    assert depth < 10_000
    if isinstance(obj, (dict, collections.OrderedDict)):
        for k, v in obj.items():
            _check_value(k, depth + 1)
            _check_value(v, depth + 1)
    elif isinstance(obj, (list, tuple, set)):
        for v in obj:
            _check_value(v, depth + 1)
    else:
        assert isinstance(obj, ALLOWED_LEAVES), type(obj)
        if isinstance(obj, taimatsu.Tensor):
            assert obj._data.size * obj._data.itemsize < MEMORY_BOUND or 0 in obj._data.strides


def _load_bounded(blob: bytes) -> None:
    tracemalloc.start()
    try:
        try:
            out = taimatsu.load(io.BytesIO(blob))
        except (pickle.UnpicklingError, RuntimeError):
            return
        _check_value(out)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MEMORY_BOUND, f"load peaked at {peak} bytes"


def _mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for kind, pos, value in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == 0:
            buf[pos] = value
        elif kind == 1:
            buf.insert(pos, value)
        elif kind == 2:
            del buf[pos]
        else:
            buf[pos:pos + 4] = value.to_bytes(1, "little") * 4  # a big or odd 32-bit number
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 16), st.integers(0, 255)),
                 min_size=1, max_size=6)


def test_valid_checkpoint_loads():
    out = taimatsu.load(io.BytesIO(VALID))
    assert out["t"].tolist() == out["w"].t().tolist() and out["meta"]["b"] == b"xy"


@FUZZ
@given(EDITS, st.one_of(st.none(), st.integers(0, len(VALID))))
def test_fuzz_whole_file(edits, truncate):
    blob = _mutate(VALID, edits)
    _load_bounded(blob if truncate is None else blob[:truncate])


@FUZZ
@given(EDITS)
def test_fuzz_pickle_inside_a_valid_zip(edits):
    _load_bounded(_rezip({**ENTRIES, "archive/data.pkl": _mutate(PKL, edits)}))


@FUZZ
@given(st.sampled_from(sorted(n for n in ENTRIES if "/data/" in n)), st.integers(0, 64),
       st.booleans())
def test_fuzz_storage_sizes(name, cut, drop):
    entries = dict(ENTRIES)
    if drop:
        del entries[name]
    else:
        entries[name] = entries[name][:max(len(entries[name]) - cut, 0)]
    _load_bounded(_rezip(entries))
