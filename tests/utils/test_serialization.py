"""save / load: PyTorch's zip format both ways, a loader that runs no code, atomic saves."""
from __future__ import annotations

import collections
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import taimatsu
from taimatsu import nn
from tests.helpers import needs_torch, to_np

try:
    import torch
except ImportError:
    torch = None

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def values(dtype: str, shape=(3, 4)):
    rng = np.random.default_rng(0)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith(("int", "uint")):
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def make_archive(pkl: bytes, storages: dict | None = None, prefix: str = "archive",
                 extra_names: tuple = ()) -> bytes:
    """A zip laid out as PyTorch's, holding ``pkl`` as data.pkl (for crafted checkpoints)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{prefix}/data.pkl", pkl)
        zf.writestr(f"{prefix}/byteorder", "little")
        for key, data in (storages or {}).items():
            zf.writestr(f"{prefix}/data/{key}", data)
        for name in extra_names:
            zf.writestr(name, b"x")
        zf.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


def storage_pickle(size, stride, offset=0, numel=4, storage="FloatStorage", key="0") -> bytes:
    """data.pkl for one tensor written opcode by opcode (any metadata, however wrong)."""
    def tup(xs):
        return b"(" + b"".join(b"J" + int(x).to_bytes(4, "little", signed=True) for x in xs) + b"t"

    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("
            b"(X\x07\x00\x00\x00storagectorch\n" + storage.encode() + b"\n"
            b"X" + len(key).to_bytes(4, "little") + key.encode() + b"X\x03\x00\x00\x00cpu"
            b"J" + numel.to_bytes(4, "little", signed=True) + b"tQ"
            b"J" + offset.to_bytes(4, "little", signed=True) + tup(size) + tup(stride)
            + b"\x89ccollections\nOrderedDict\n)RtR.")


# ------------------------------------------------------------------------- interchange
@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_taimatsu_to_torch_every_dtype(dtype, tmp_path):
    a = values(dtype)
    taimatsu.save({"t": taimatsu.tensor(a), "s": taimatsu.tensor(a)[1]}, tmp_path / "x.pt")
    out = torch.load(tmp_path / "x.pt", weights_only=True)
    assert out["t"].dtype == getattr(torch, dtype) and out["s"].shape == (4,)
    np.testing.assert_array_equal(out["t"].numpy(), a)
    np.testing.assert_array_equal(out["s"].numpy(), a[1])


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_to_taimatsu_every_dtype(dtype, tmp_path):
    a = values(dtype)
    torch.save({"t": torch.tensor(a), "e": torch.tensor(a)[:0]}, tmp_path / "x.pt")
    out = taimatsu.load(tmp_path / "x.pt")
    assert out["t"].dtype == getattr(taimatsu, dtype) and out["e"].shape == (0, 4)
    np.testing.assert_array_equal(out["t"].numpy(), a)


@needs_torch
def test_views_keep_sharing_both_ways(tmp_path):
    base = taimatsu.arange(24, dtype=taimatsu.float32)
    views = {"base": base, "t": base[2:14].view(3, 4).t(), "step": base[1::3],
             "expand": base[5:6].expand(3, 2), "scalar": base[7]}
    taimatsu.save(views, tmp_path / "v.pt")
    tv = torch.load(tmp_path / "v.pt", weights_only=True)
    ptr = tv["base"].untyped_storage().data_ptr()
    for k, v in views.items():
        assert tv[k].untyped_storage().data_ptr() == ptr, k
        assert tv[k].stride() == v.stride() and tuple(tv[k].shape) == tuple(v.shape)
        np.testing.assert_array_equal(tv[k].numpy(), v.numpy())
    assert len(zipfile.ZipFile(tmp_path / "v.pt").namelist()) == 7  # one storage only

    tb = torch.arange(24.0)
    torch.save({"base": tb, "t": tb[2:14].view(3, 4).t(), "step": tb[1::3]}, tmp_path / "w.pt")
    back = taimatsu.load(tmp_path / "w.pt")
    assert back["t"].stride() == (1, 4) and back["step"].stride() == (3,)
    back["base"][2] = 100.0  # still one storage: the views see the write
    assert back["t"][0, 0].item() == 100.0
    np.testing.assert_array_equal(back["step"].numpy(), tb[1::3].numpy())
    taimatsu.save(back, tmp_path / "again.pt")  # loaded views still save as one storage
    assert sum("/data/" in n for n in zipfile.ZipFile(tmp_path / "again.pt").namelist()) == 1


def test_views_numpy_cannot_express_are_copied():
    a = taimatsu.arange(6.0)
    buf = io.BytesIO()
    taimatsu.save({"flip": a.flip(0), "a": a}, buf)
    buf.seek(0)
    out = taimatsu.load(buf)
    assert out["flip"].tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0] and out["a"].tolist() == a.tolist()


@needs_torch
def test_structures_both_ways(tmp_path):
    obj = collections.OrderedDict(
        n=None, i=3, f=2.5, b=True, s="text", by=b"\x00\xff", c=1 + 2j, st={1, 2},
        ba=bytearray(b"ab"), nested=[(1, [2.0, {"k": (None,)}])],
        size=taimatsu.Size([2, 3]), dtypes=[taimatsu.float16, taimatsu.int64, taimatsu.bool],
        dev=taimatsu.device("cpu"), cuda=taimatsu.device("cuda:1"),
        p=nn.Parameter(taimatsu.ones(2)), frozen=nn.Parameter(taimatsu.zeros(1),
                                                              requires_grad=False))
    taimatsu.save(obj, tmp_path / "o.pt")
    t = torch.load(tmp_path / "o.pt", weights_only=True)
    assert isinstance(t, collections.OrderedDict) and list(t) == list(obj)
    assert t["size"] == torch.Size([2, 3]) and t["dtypes"] == [torch.float16, torch.int64,
                                                                torch.bool]
    assert t["dev"] == torch.device("cpu") and t["cuda"] == torch.device("cuda:1")
    assert isinstance(t["p"], torch.nn.Parameter) and t["p"].requires_grad
    assert not t["frozen"].requires_grad
    for k in ("n", "i", "f", "b", "s", "by", "c", "st", "ba", "nested"):
        assert t[k] == obj[k] and type(t[k]) is type(obj[k]), k
    torch.save(t, tmp_path / "back.pt")
    r = taimatsu.load(tmp_path / "back.pt")
    assert isinstance(r["size"], taimatsu.Size) and r["size"] == (2, 3)
    assert r["dtypes"] == obj["dtypes"] and r["cuda"] == taimatsu.device("cuda:1")
    assert isinstance(r["p"], nn.Parameter) and r["p"].requires_grad
    for k in ("n", "i", "f", "b", "s", "by", "c", "st", "ba", "nested"):
        assert r[k] == obj[k] and type(r[k]) is type(obj[k]), k


@needs_torch
def test_requires_grad_and_tensor_in_state_dict_metadata(tmp_path):
    lin = torch.nn.Linear(2, 3)
    torch.save(lin.state_dict(), tmp_path / "l.pt")  # has the _metadata attribute (BUILD)
    sd = taimatsu.load(tmp_path / "l.pt")
    assert sd._metadata[""]["version"] == 1 if hasattr(sd, "_metadata") else True
    m = nn.Linear(2, 3)
    m.load_state_dict(sd)
    np.testing.assert_array_equal(to_np(m.weight), lin.weight.detach().numpy())


@needs_torch
def test_model_optimizer_scheduler_state_dicts_interchange(tmp_path):
    taimatsu.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = taimatsu.optim.Adam(model.parameters(), lr=0.01)
    sched = taimatsu.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        model(taimatsu.randn(5, 3)).pow(2).mean().backward()
        opt.step()
        sched.step()
    ckpt = {"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(),
            "epoch": 3}
    taimatsu.save(ckpt, tmp_path / "ck.pt")
    t = torch.load(tmp_path / "ck.pt", weights_only=True)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    tmodel.load_state_dict(t["model"])
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    topt.load_state_dict(t["optim"])
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.5)
    tsched.load_state_dict(t["sched"])
    assert tsched.get_last_lr() == sched.get_last_lr()
    np.testing.assert_array_equal(topt.state_dict()["state"][0]["exp_avg"].numpy(),
                                  to_np(opt.state_dict()["state"][0]["exp_avg"]))
    torch.save({"model": tmodel.state_dict(), "optim": topt.state_dict(),
                "sched": tsched.state_dict()}, tmp_path / "t.pt")
    back = taimatsu.load(tmp_path / "t.pt")
    model2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    model2.load_state_dict(back["model"])
    opt2 = taimatsu.optim.Adam(model2.parameters(), lr=0.01)
    opt2.load_state_dict(back["optim"])
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(to_np(p), to_np(q))
    assert opt2.state_dict()["param_groups"][0]["lr"] == opt.state_dict()["param_groups"][0]["lr"]


def test_module_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    model(taimatsu.randn(6, 4))  # moves the running stats
    taimatsu.save(model.state_dict(), tmp_path / "m.pt")
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    other.load_state_dict(taimatsu.load(tmp_path / "m.pt"))
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(to_np(a), to_np(b))


# ------------------------------------------------------------------------- files, locations
def test_paths_pathlike_file_objects_and_streams(tmp_path):
    t = taimatsu.arange(5)
    taimatsu.save(t, str(tmp_path / "a.pt"))
    taimatsu.save(t, tmp_path / "b.pt")
    with open(tmp_path / "c.pt", "wb") as f:
        taimatsu.save(t, f)
    for name in ("a", "b", "c"):
        assert taimatsu.load(tmp_path / f"{name}.pt").tolist() == [0, 1, 2, 3, 4]
    assert zipfile.ZipFile(tmp_path / "a.pt").namelist()[0] == "a/data.pkl"
    assert zipfile.ZipFile(tmp_path / "c.pt").namelist()[0] == "archive/data.pkl"
    with open(tmp_path / "c.pt", "rb") as f:
        assert taimatsu.load(f).tolist() == [0, 1, 2, 3, 4]

    class Stream(io.RawIOBase):  # not seekable
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    assert taimatsu.load(Stream((tmp_path / "a.pt").read_bytes())).tolist() == [0, 1, 2, 3, 4]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_storage_alignment_and_records(tmp_path):
    taimatsu.save({"a": taimatsu.ones(3), "b": taimatsu.zeros(2, dtype=taimatsu.int8)},
                  tmp_path / "x.pt")
    zf = zipfile.ZipFile(tmp_path / "x.pt")
    assert zf.namelist() == ["x/data.pkl", "x/.format_version", "x/.storage_alignment",
                             "x/byteorder", "x/data/0", "x/data/1", "x/version",
                             "x/.data/serialization_id"]
    assert zf.read("x/byteorder") == b"little" and zf.read("x/version") == b"3\n"
    raw = (tmp_path / "x.pt").read_bytes()
    for name in ("x/data/0", "x/data/1"):
        info = zf.getinfo(name)
        n, e = (int.from_bytes(raw[info.header_offset + o:info.header_offset + o + 2], "little")
                for o in (26, 28))
        assert (info.header_offset + 30 + n + e) % 64 == 0


@needs_torch
def test_map_location_forms(tmp_path):
    torch.save({"a": torch.ones(2)}, tmp_path / "a.pt")
    # the location rewritten to cuda:1, as a GPU machine would have saved it
    src = zipfile.ZipFile(tmp_path / "a.pt")
    path = tmp_path / "cuda.pt"
    with zipfile.ZipFile(path, "w") as zf:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("data.pkl"):
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:1")
                assert b"cuda:1" in data
            zf.writestr(name, data)
    if not taimatsu.cuda.is_available():
        with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA"):
            taimatsu.load(path)
    for ml in ("cpu", taimatsu.device("cpu"), {"cuda:1": "cpu"}, lambda s, loc: s,
               lambda s, loc: None if loc == "cpu" else s.cpu()):
        out = taimatsu.load(path, map_location=ml)
        assert out["a"].device == taimatsu.device("cpu") and out["a"].tolist() == [1.0, 1.0]
    seen = []
    taimatsu.load(path, map_location=lambda s, loc: seen.append((loc, s.numel())) or s)
    assert seen == [("cuda:1", 2)]
    with pytest.raises(RuntimeError, match="don't know how to restore data location 'tpu'"):
        taimatsu.load(tmp_path / "a.pt", map_location="tpu")


def test_mmap_is_copy_on_write(tmp_path):
    taimatsu.save({"w": taimatsu.arange(1000.0)}, tmp_path / "m.pt")
    before = (tmp_path / "m.pt").read_bytes()
    out = taimatsu.load(tmp_path / "m.pt", mmap=True)
    chain, obj = [], out["w"]._data
    while obj is not None:  # the tensor's memory comes from a np.memmap of the file
        chain.append(obj)
        obj = getattr(obj, "base", None)
    assert any(isinstance(o, np.memmap) for o in chain)
    out["w"][0] = -1.0  # allowed, like PyTorch's MAP_PRIVATE, and never written back
    assert out["w"][0].item() == -1.0
    assert (tmp_path / "m.pt").read_bytes() == before
    assert taimatsu.load(tmp_path / "m.pt")["w"][0].item() == 0.0
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        taimatsu.load(io.BytesIO(before), mmap=True)


# ------------------------------------------------------------------------- no code on load
class _Evil:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def _hostile(sentinel):
    cmd = f"touch {sentinel}"
    return {
        "os.system": pickle.dumps(_Evil(os.system, cmd), protocol=2),
        "builtins.eval": pickle.dumps(_Evil(eval, f"open({str(sentinel)!r}, 'w')"), protocol=2),
        "subprocess.Popen": pickle.dumps(_Evil(subprocess.Popen, ["touch", str(sentinel)]),
                                         protocol=4),
        "builtins.exec (INST)": b"(S'open(%r, \"w\")'\nibuiltins\nexec\n." % str(sentinel).encode(),
        "builtins.exec (OBJ)": b"\x80\x02cbuiltins\nexec\n(X" + len(f"open({str(sentinel)!r},'w')")
        .to_bytes(4, "little") + f"open({str(sentinel)!r},'w')".encode() + b"o.",
        "nested in a dict": pickle.dumps({"ok": 1, "bad": [_Evil(os.system, cmd)]}, protocol=2),
    }


@pytest.mark.parametrize("kind", list(_hostile("x")))
@pytest.mark.parametrize("wrapped", [False, True])
def test_hostile_pickles_run_nothing(kind, wrapped, tmp_path):
    sentinel = tmp_path / "PWNED"
    payload = _hostile(sentinel)[kind]
    path = tmp_path / "evil.pt"
    path.write_bytes(make_archive(payload) if wrapped else payload)
    err = pickle.UnpicklingError if wrapped else RuntimeError
    with pytest.raises(err) as info:
        taimatsu.load(path)
    if wrapped and "(INST)" not in kind and "(OBJ)" not in kind:
        name = {"os.system": "posix.system", "subprocess.Popen": "subprocess.Popen",
                "builtins.eval": "builtins.eval", "nested in a dict": "posix.system"}[kind]
        assert f"GLOBAL {name} is not an allowed global" in str(info.value)
    time.sleep(0.05)
    assert not sentinel.exists()


@pytest.mark.parametrize("pkl, match", [
    # an allowed function used as a class by NEWOBJ
    (b"\x80\x02ctorch\nSize\n)\x81.", "NEWOBJ of"),
    # BUILD on a Size (allowed global, not an allowed BUILD target)
    (b"\x80\x02ctorch\nSize\n)\x85R}b.", "BUILD of Size is not allowed"),
    # _codecs.encode with a codec that imports a module
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.",
     "_codecs.encode is only allowed"),
    # an extension code registered in copyreg
    (b"\x80\x02\x82\x01.", "opcode b'\\\\x82' is not allowed"),
    # a persistent id that is not a storage
    (b"\x80\x02X\x01\x00\x00\x00aQ.", "unknown persistent id"),
    # _rebuild_tensor_v2 on something that is not an archive storage
    (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(K\x00K\x00)\x29\x89}tR.",
     "needs a storage from the archive"),
    (b"\x80\x02ctorch\ncomplex64\n.", "dtype taimatsu does not support"),
    (b"\x80\x02]q\x00(K\x01", "malformed pickle"),  # truncated
    (b"\x80\x02r\xff\xff\xff\xffK\x01.", "malformed pickle"),  # a huge memo index is only a key
])
def test_pickle_tricks_refused(pkl, match, tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(make_archive(pkl))
    with pytest.raises((pickle.UnpicklingError, RuntimeError), match=match):
        taimatsu.load(path)


@pytest.mark.parametrize("size, stride, offset, numel, storage_bytes, match", [
    ((4,), (1,), 1, 4, 16, "out of bounds for storage of size 16"),  # reads past the end
    ((2, 3), (3, 1), 0, 4, 16, "out of bounds"),
    ((1 << 20, 1 << 20), (1, 1), 0, 4, 16, "out of bounds"),  # a huge view of a small storage
    ((1 << 30, 1 << 30, 1 << 30), (0, 0, 0), 0, 4, 16, "out of bounds"),  # exabytes of zeros
    ((-1,), (1,), 0, 4, 16, "invalid tensor"),
    ((2,), (-1,), 1, 4, 16, "invalid tensor"),
    ((2,), (1,), -1, 4, 16, "invalid tensor"),
    ((2,), (1,), 0, 1 << 30, 16, "holds 16 bytes but the checkpoint describes"),  # 4 GiB claim
    ((2,), (1,), 0, 4, 8, "holds 8 bytes"),
    ((2,), (1, 1), 0, 4, 16, "invalid tensor"),
])
def test_tensor_metadata_checked_before_allocation(size, stride, offset, numel, storage_bytes,
                                                   match, tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(make_archive(storage_pickle(size, stride, offset, numel),
                                  {"0": b"\0" * storage_bytes}))
    with pytest.raises(RuntimeError, match=match):
        taimatsu.load(path)


def test_valid_handmade_checkpoint_loads(tmp_path):
    path = tmp_path / "x.pt"
    data = np.arange(4, dtype=np.float32).tobytes()
    path.write_bytes(make_archive(storage_pickle((2,), (2,), 1, 4), {"0": data}))
    assert taimatsu.load(path).tolist() == [1.0, 3.0]


@pytest.mark.parametrize("case, match", [
    ("names", "unsafe or unexpected entry name"),
    ("absolute", "unsafe or unexpected entry name"),
    ("key", "unsafe storage key"),
    ("missing", "failed locating file data/0"),
    ("compressed", "is compressed"),
    ("not zip", "not a zip archive"),
    ("no data.pkl", "failed locating file data.pkl"),
])
def test_archive_problems(case, match, tmp_path):
    good = storage_pickle((2,), (1,), 0, 4)
    blob = {
        "names": lambda: make_archive(good, {"0": b"\0" * 16}, extra_names=("archive/../x",)),
        "absolute": lambda: make_archive(good, {"0": b"\0" * 16}, extra_names=("/etc/x",)),
        "key": lambda: make_archive(storage_pickle((2,), (1,), 0, 4, key="../../0"),
                                    {"0": b"\0" * 16}),
        "missing": lambda: make_archive(good),
        "not zip": lambda: b"\x80\x02K\x01.",
        "no data.pkl": lambda: make_archive(good).replace(b"data.pkl", b"data.pkx"),
    }
    if case == "compressed":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("archive/data.pkl", good)
        raw = buf.getvalue()
    else:
        raw = blob[case]()
    (tmp_path / "x.pt").write_bytes(raw)
    with pytest.raises(RuntimeError, match=match):
        taimatsu.load(tmp_path / "x.pt")


class Custom:
    def __init__(self, v=0):
        self.v = v


def test_weights_only_false_and_safe_globals(tmp_path):
    path = tmp_path / "c.pt"
    taimatsu.save({"c": Custom(3), "t": taimatsu.ones(1)}, path)
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL tests\.utils\.test_serialization"
                       r"\.Custom is not an allowed global"):
        taimatsu.load(path)
    out = taimatsu.load(path, weights_only=False)
    assert out["c"].v == 3 and out["t"].tolist() == [1.0]
    with taimatsu.serialization.safe_globals([Custom]):
        assert taimatsu.serialization.get_safe_globals() == [Custom]
        assert taimatsu.load(path)["c"].v == 3
    assert taimatsu.serialization.get_safe_globals() == []
    taimatsu.serialization.add_safe_globals([(Custom, "tests.utils.test_serialization.Custom")])
    try:
        assert taimatsu.load(path)["c"].v == 3
    finally:
        taimatsu.serialization.clear_safe_globals()
    taimatsu.serialization.add_safe_globals([os.system])  # still never allowed
    try:
        (tmp_path / "e.pt").write_bytes(make_archive(pickle.dumps(_Evil(os.system, "true"), 2)))
        with pytest.raises(pickle.UnpicklingError):
            taimatsu.load(tmp_path / "e.pt")
    finally:
        taimatsu.serialization.clear_safe_globals()


@needs_torch
def test_torch_pickled_with_weights_only_false(tmp_path):
    torch.save({"w": torch.ones(2), "c": Custom(5)}, tmp_path / "t.pt")
    out = taimatsu.load(tmp_path / "t.pt", weights_only=False)
    assert isinstance(out["w"], taimatsu.Tensor) and out["c"].v == 5


def test_bad_save_arguments(tmp_path):
    with pytest.raises(AttributeError, match="file-like object with a 'write' attribute"):
        taimatsu.save(1, 3)
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        taimatsu.save(1, tmp_path / "nope" / "x.pt")
    with pytest.raises(ValueError, match="pickle_protocol must be"):
        taimatsu.save(1, io.BytesIO(), pickle_protocol=1)


# ------------------------------------------------------------------------- atomic saves
_SAVER = textwrap.dedent("""
    import sys, taimatsu
    path = sys.argv[1]
    taimatsu.save({"v": 1, "t": taimatsu.ones(4)}, path)
    print("ready", flush=True)
    big = taimatsu.zeros(16 * 1024 * 1024)  # 64 MB: the kill lands while it is written
    while True:
        taimatsu.save({"v": 2, "t": big}, path)
""")


def test_save_killed_midway_leaves_previous_file(tmp_path):
    path = tmp_path / "ck.pt"
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE,
                            cwd=os.getcwd(), env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while not any(p.endswith(".tmp") and (tmp_path / p).stat().st_size > 1 << 20
                      for p in os.listdir(tmp_path)):
            assert time.monotonic() < deadline, "the save never started"
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    out = taimatsu.load(path)
    assert out["v"] in (1, 2) and out["t"].numel() in (4, 16 * 1024 * 1024)


@needs_torch
def test_pickle_module_and_pickle_load_args_as_torch(tmp_path):
    import torch

    path = tmp_path / "m.pt"
    taimatsu.save({"w": taimatsu.ones(2)}, path, pickle_module=pickle)
    for lib in (taimatsu, torch):
        with pytest.raises(RuntimeError, match="Can not safely load weights when explicit "
                                               "pickle_module"):
            lib.load(path, pickle_module=pickle, weights_only=True)
    # A named pickle module means full pickle (weights_only False), as in PyTorch.
    assert to_np(taimatsu.load(path, pickle_module=pickle)["w"]).tolist() == [1.0, 1.0]
    assert to_np(taimatsu.load(path, encoding="latin1")["w"]).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):
        taimatsu.load(path, no_such_argument=1)  # not an argument of pickle.Unpickler
    with pytest.raises(NotImplementedError, match="pickle_module=json"):
        import json
        taimatsu.save({}, path, pickle_module=json)
    with pytest.raises(NotImplementedError, match="legacy"):
        taimatsu.save({}, path, _use_new_zipfile_serialization=False)
    assert to_np(taimatsu.load(path)["w"]).tolist() == [1.0, 1.0]  # the failed saves kept it


@needs_torch
def test_without_the_byteorder_record_both_read_little_endian(tmp_path):
    import torch

    path = tmp_path / "nb.pt"
    taimatsu.save({"x": taimatsu.arange(3.0)}, path, _disable_byteorder_record=True)
    assert not any(n.endswith("/byteorder") for n in zipfile.ZipFile(path).namelist())
    assert torch.load(path)["x"].tolist() == [0.0, 1.0, 2.0]
    assert to_np(taimatsu.load(path)["x"]).tolist() == [0.0, 1.0, 2.0]
