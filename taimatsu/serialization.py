"""``save`` / ``load`` in PyTorch's own file format, with a loader that runs no code.

The format (PyTorch's default since 1.6) is an uncompressed zip archive whose entries all sit
under one folder named after the file (``archive/`` for file objects)::

    archive/data.pkl                  the pickled object; tensors refer to storages by key
    archive/.format_version           b"1"
    archive/.storage_alignment        b"64": each storage's bytes start at a multiple of 64
    archive/byteorder                 b"little"
    archive/data/0, archive/data/1    the raw bytes of each storage
    archive/version                   b"3\\n"
    archive/.data/serialization_id    a 40-digit id of this save

In ``data.pkl`` a tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` and a storage is the persistent id ``("storage",
torch.FloatStorage, key, location, numel)``; dtypes, ``torch.Size`` and ``torch.device`` are
pickled under their ``torch`` names. Nothing of PyTorch is imported: the names are only text.

Loading with ``weights_only=True`` (the default, as in PyTorch 2.6+) unpickles with
:class:`_WeightsUnpickler`: ``find_class`` returns only the globals of the allow-list below
(mapped to taimatsu's own objects), ``BUILD`` and ``NEWOBJ`` only act on allow-listed classes,
and the opcodes that reach code through other doors (``INST``, ``OBJ``, ``EXT*``) are refused.
Every storage size, tensor offset, size and stride is checked against the archive entry's real
size before anything is allocated. ``weights_only=False`` is full pickle: it can run any code a
file contains, so use it only on files you trust.

Errors a bad file raises (nothing else escapes ``load``):

- ``pickle.UnpicklingError``: the pickle names a global or opcode outside the allow-list, or is
  malformed (truncated, wrong types, inconsistent tensor metadata reported by the pickle itself).
- ``RuntimeError``: the archive is wrong (not a zip, compressed, missing or unsafe entries, a
  storage smaller than the tensor that views it, an unknown device, an unsupported dtype).
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import math
import os
import pickle
import secrets
import sys
import zipfile
from typing import ClassVar

import numpy as np

from . import backend
from . import dtypes as _dt
from ._tensor import Tensor
from ._tensor_base import make
from .size import Size

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "load", "safe_globals",
           "save"]

DEFAULT_PROTOCOL = 2  # PyTorch's
_ALIGNMENT = 64
_ZIP_LOCAL_HEADER = 30  # fixed part of a zip local file header
_ZIP64_EXTRA = 20  # zipfile adds this to the local header of entries near 4 GiB

# torch's legacy storage class names, which the format uses to carry a storage's dtype.
_STORAGE_DTYPES = {
    "FloatStorage": _dt.float32, "DoubleStorage": _dt.float64, "HalfStorage": _dt.float16,
    "LongStorage": _dt.int64, "IntStorage": _dt.int32, "ShortStorage": _dt.int16,
    "CharStorage": _dt.int8, "ByteStorage": _dt.uint8, "BoolStorage": _dt.bool_,
    "BFloat16Storage": _dt.bfloat16,
}
_STORAGE_NAMES = {d.name: name for name, d in _STORAGE_DTYPES.items()}
# PyTorch dtypes taimatsu cannot hold: named in the error instead of "not allowed".
_UNSUPPORTED_DTYPES = ("complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf",
                       "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "qint8",
                       "quint8", "qint32", "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8",
                       "QInt32")


# ----------------------------------------------------------------------------------- saving
class _Global:
    """A ``module.name`` written into the pickle as a GLOBAL without importing it."""

    __slots__ = ("module", "name")

    def __new__(cls, module: str, name: str) -> _Global:  # noqa: PYI034 - interned, not Self
        g = _GLOBALS.get((module, name))
        if g is None:
            g = _GLOBALS[(module, name)] = object.__new__(cls)
            g.module, g.name = module, name
        return g


_GLOBALS: dict = {}  # one _Global per name, so the pickle memo writes each GLOBAL once



_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")


class _StorageRef:
    """One storage of the archive being written: its key, bytes and where it lived."""

    __slots__ = ("array", "key", "location")

    def __init__(self, key: str, array, location: str):
        self.key, self.array, self.location = key, array, location


class _Pickler(pickle._Pickler):
    """Pickles taimatsu tensors, dtypes, devices and sizes under PyTorch's names.

    NOTE: the pure-Python pickler is used because only it lets us write a GLOBAL for a name
    (``torch.float32``) that is not importable here; ``data.pkl`` is small, the bytes of the
    tensors go to their own entries.
    """

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol: int):
        super().__init__(file, protocol)
        self.storages: dict[int, _StorageRef] = {}  # id(owner array) -> its storage

    def save_torch_global(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = save_torch_global

    def save_dtype(self, obj) -> None:
        self.save(_Global("torch", obj.name))

    dispatch[_dt.dtype] = save_dtype
    dispatch[type(_dt.bfloat16)] = save_dtype  # (its own class: its NumPy dtype loads lazily)

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            storage_type = _Global("torch", _STORAGE_NAMES[_dt.from_numpy_dtype(obj.array.dtype)
                                                          .name])
            return ("storage", storage_type, obj.key, obj.location, obj.array.size)
        return None

    def save(self, obj, save_persistent_id=True):
        reduced = self._reduce_torch(obj)
        if reduced is None:
            super().save(obj, save_persistent_id)
            return
        seen = self.memo.get(id(obj))
        if seen is not None:
            self.write(self.get(seen[0]))
            return
        # NOTE: written by hand: pickle's save_reduce insists the function be callable here.
        func, args = reduced
        self.save(func)
        self.save(args)
        self.write(pickle.REDUCE)
        self.memoize(obj)

    def _reduce_torch(self, obj):
        """``(global, args)`` for the objects PyTorch pickles as a call, else None."""
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter

            if isinstance(obj, Parameter):
                return (_REBUILD_PARAMETER, (obj.detach(), obj.requires_grad,
                                             collections.OrderedDict()))
            storage, offset, stride = self._storage_of(obj)
            return (_REBUILD_TENSOR, (storage, offset, tuple(obj.shape), stride,
                                      obj.requires_grad, collections.OrderedDict()))
        if isinstance(obj, Size):
            return (_Global("torch", "Size"), (tuple(obj),))
        if isinstance(obj, backend.device):
            return (_Global("torch", "device"),
                    (obj.type,) if obj.index is None else (obj.type, obj.index))
        return None

    def _storage_of(self, t: Tensor):
        """The storage ``t`` views, its offset and strides in elements. Tensors viewing one
        array share one storage; views PyTorch cannot express (negative or fractional strides,
        a dtype other than the owner's) are saved as their own compact copy."""
        arr = t._data
        owner = _owner(arr)
        item = arr.itemsize
        offset = t.data_ptr() - make(owner, t.device).data_ptr()
        shareable = (owner.flags.c_contiguous and owner.dtype == arr.dtype and offset >= 0
                     and offset % item == 0 and all(s >= 0 and s % item == 0
                                                    for s in arr.strides))
        if not shareable:
            owner = t.device.xp.ascontiguousarray(arr)
            offset = 0
        ref = self.storages.get(id(owner))
        if ref is None:
            ref = _StorageRef(str(len(self.storages)), owner, str(t.device))
            self.storages[id(owner)] = ref
        if not shareable:
            return ref, 0, tuple(s // item for s in owner.strides)
        return ref, offset // item, tuple(s // item for s in arr.strides)


def _owner(arr):
    """The array whose memory ``arr`` views (itself if it owns its memory)."""
    while True:
        base = arr.base
        if base is not None and not backend.is_array(base):
            # NumPy's as_strided (how load builds views) wraps the array it views in an
            # object that keeps it as .base
            base = getattr(base, "base", None)
        if base is None or not backend.is_array(base):
            return arr
        arr = base


def _aligned_extra(zf_pos: int, name: str, nbytes: int) -> bytes:
    """The local-header extra field that makes an entry's data start on a 64-byte boundary."""
    zip64 = nbytes * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own test for adding a zip64 extra
    start = zf_pos + _ZIP_LOCAL_HEADER + len(name.encode()) + 4 + (_ZIP64_EXTRA if zip64 else 0)
    pad = -start % _ALIGNMENT
    return b"FB" + pad.to_bytes(2, "little") + b"\0" * pad  # "FB": the id PyTorch uses


def _write_archive(obj, f, prefix: str, protocol: int, byteorder: bool) -> None:
    data = io.BytesIO()
    pickler = _Pickler(data, protocol)
    pickler.dump(obj)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        def record(name: str, payload) -> None:
            full = f"{prefix}/{name}"
            info = zipfile.ZipInfo(full)
            info.compress_type = zipfile.ZIP_STORED
            nbytes = memoryview(payload).nbytes
            info.file_size = nbytes
            info.extra = _aligned_extra(zf.fp.tell(), full, nbytes)
            with zf.open(info, "w") as w:
                w.write(payload)

        record("data.pkl", data.getvalue())
        record(".format_version", b"1")
        record(".storage_alignment", str(_ALIGNMENT).encode())
        if byteorder:  # (without the record, readers assume little-endian, as PyTorch's)
            record("byteorder", sys.byteorder.encode())
        for ref in pickler.storages.values():
            host = backend.to_numpy(ref.array)
            record(f"data/{ref.key}", host.reshape(-1).view(np.uint8))
        record("version", b"3\n")
        record(".data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())


def _check_pickle_module(op: str, pickle_module) -> None:
    """Only the standard ``pickle`` can read and write the format's persistent storages."""
    if pickle_module is not pickle:
        raise NotImplementedError(f"taimatsu.{op}() uses the standard pickle module; "
                                  f"pickle_module={getattr(pickle_module, '__name__', pickle_module)}"
                                  " is not supported")


def save(obj, f, pickle_module=pickle, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` (tensors, state dicts, containers) to ``f`` in PyTorch's zip format.

    ``f`` is a path (``str`` / ``os.PathLike``) or a binary file object. Saving to a path is
    atomic: the archive is written to a temporary file in the same folder, flushed, fsynced and
    renamed over ``f``, so a crash mid-save leaves the previous file intact.

    Example::

        >>> taimatsu.save(model.state_dict(), "model.pt")   # torch.load can read it too
    """
    _check_pickle_module("save", pickle_module)
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("taimatsu.save() writes PyTorch's zip format only; the legacy "
                                  "format (_use_new_zipfile_serialization=False) is not supported")
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be an int in [2, {pickle.HIGHEST_PROTOCOL}], "
                         f"got {pickle_protocol!r}")
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise AttributeError(f"expected 'f' to be string, path, or a file-like object with a "
                                 f"'write' attribute, got {type(f).__name__}")
        _write_archive(obj, f, "archive", pickle_protocol, not _disable_byteorder_record)
        return
    path = os.fspath(f)
    prefix = os.path.splitext(os.path.basename(path))[0] or "archive"
    atomic_write(path, lambda out: _write_archive(obj, out, prefix, pickle_protocol,
                                                  not _disable_byteorder_record))


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it and rename it over
    ``path``: readers see the old file or the complete new one, never a part."""
    folder, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    while True:  # O_EXCL: never write into a file someone else created
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    # The rename is durable only once the folder's entry is on disk; not every OS allows it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------- safe globals
_user_safe_globals: set = set()
# Even when a user allows them, these modules are never imported from a checkpoint (PyTorch's).
_BLOCKED_MODULES = frozenset({"sys", "os", "posix", "nt", "subprocess"})


def add_safe_globals(safe_globals: list) -> None:
    """Allow extra globals in ``weights_only`` loads: each item is a class/function or a
    ``(obj, "module.qualname")`` tuple naming it as the file does."""
    _user_safe_globals.update(safe_globals)


def get_safe_globals() -> list:
    """The user-added globals allowed in ``weights_only`` loads."""
    return list(_user_safe_globals)


def clear_safe_globals() -> None:
    """Forget every user-added safe global."""
    _user_safe_globals.clear()


class safe_globals:
    """Context manager: the given globals are allowed in ``weights_only`` loads inside it."""

    def __init__(self, safe_globals: list):
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        _user_safe_globals.difference_update(self.safe_globals)


def _user_globals() -> dict:
    out = {}
    for g in _user_safe_globals:
        if isinstance(g, tuple):
            if len(g) != 2 or not isinstance(g[1], str):
                raise ValueError(f"Expected tuple of (global, str of full path), got {g!r}")
            out[g[1]] = g[0]
        else:
            out[f"{g.__module__}.{g.__qualname__}"] = g
    return out


# ----------------------------------------------------------------------------------- loading
class _StorageType:
    """What ``torch.FloatStorage`` & co. unpickle to: only the dtype matters."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype


_STORAGE_TYPES = {name: _StorageType(d) for name, d in _STORAGE_DTYPES.items()}
_UNTYPED_STORAGE = _StorageType(_dt.uint8)  # torch.storage.UntypedStorage counts bytes


def _int_tuple(value, what: str) -> tuple:
    if not isinstance(value, tuple) or not all(type(v) is int for v in value):
        raise pickle.UnpicklingError(f"Weights only load failed: tensor {what} must be a tuple of "
                                     f"ints, got {value!r:.80}")
    return value


def _check_encode(obj, encoding="utf-8", errors="strict"):
    # protocol 2 pickles bytes as _codecs.encode(str, "latin1"); other codecs import modules
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError("Weights only load failed: _codecs.encode is only allowed "
                                     "as encode(str, 'latin1')")
    return obj.encode("latin1")


def _size(*args):
    if len(args) > 1:
        raise pickle.UnpicklingError("Weights only load failed: torch.Size takes one argument")
    return Size(_int_tuple(tuple(args[0]) if args else (), "size"))


class _Loader:
    """Reads storages out of one archive and rebuilds tensors on the right device."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, raw, map_location, mmap_array):
        self.zf, self.prefix, self.raw = zf, prefix, raw
        self.map_location, self.mmap_array = map_location, mmap_array
        self.storages: dict[str, Tensor] = {}
        self.storage_ids: set[int] = set()  # only these may be viewed by _rebuild_tensor_v2
        try:
            order = zf.read(f"{prefix}/byteorder").decode() if f"{prefix}/byteorder" in \
                zf.NameToInfo else "little"
        except (zipfile.BadZipFile, UnicodeDecodeError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading record byteorder: {e}") from e
        if order not in ("little", "big"):
            raise RuntimeError(f"Unknown endianness type: {order!r}")
        self.byteorder = order

    # -- persistent ids: ("storage", storage_type, key, location, numel)
    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"Weights only load failed: unknown persistent id "
                                         f"{pid!r:.80}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType) or not isinstance(key, str) or \
                not isinstance(location, str) or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"Weights only load failed: malformed storage id "
                                         f"{pid!r:.80}")
        cached = self.storages.get(key)
        if cached is not None:
            if cached.dtype is not stype.dtype:
                raise RuntimeError(f"storage {key} is used with dtypes {cached.dtype} and "
                                   f"{stype.dtype}")
            return cached
        arr = self._read_storage(key, stype.dtype, numel)
        t = self._restore(arr, location)
        self.storages[key] = t
        self.storage_ids.add(id(t))
        return t

    def _read_storage(self, key: str, dtype, numel: int):
        if "/" in key or key in ("", ".", ".."):
            raise RuntimeError(f"unsafe storage key {key!r}")
        name = f"{self.prefix}/data/{key}"
        info = self.zf.NameToInfo.get(name)
        if info is None:
            raise RuntimeError(f"PytorchStreamReader failed locating file data/{key}: file not "
                               "found")
        nbytes = numel * dtype.itemsize
        if info.file_size != nbytes:
            raise RuntimeError(f"storage data/{key} holds {info.file_size} bytes but the "
                               f"checkpoint describes {numel} elements of {dtype} ({nbytes} bytes)")
        np_dtype = dtype.np.newbyteorder("<" if self.byteorder == "little" else ">")
        if self.mmap_array is not None:
            start = _data_offset(self.raw, info)
            arr = self.mmap_array[start:start + nbytes].view(np_dtype)
        else:
            arr = np.empty(numel, np_dtype)  # owns its memory: views of it save as one storage
            try:
                with self.zf.open(info) as r:
                    got = r.readinto(arr.view(np.uint8))
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise RuntimeError(f"PytorchStreamReader failed reading data/{key}: {e}") from e
            if got != nbytes:
                raise RuntimeError(f"PytorchStreamReader failed reading data/{key}: truncated")
        if not np_dtype.isnative:
            arr = arr.astype(dtype.np)
        return arr

    def _restore(self, arr, location: str) -> Tensor:
        """The storage ``arr`` (on the CPU) as a 1-D tensor where ``map_location`` says."""
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, backend.device)):
            out = ml(make(arr, backend.CPU), location)
            if out is not None:
                if not isinstance(out, Tensor):
                    raise RuntimeError(f"map_location returned {type(out).__name__}, expected the "
                                       "storage (a 1-D taimatsu tensor) or None")
                return make(out._data, out.device)
        elif isinstance(ml, dict):
            location = ml.get(location, location)
        elif ml is not None:
            location = str(ml)
        try:
            dev = backend.device(location)
        except (RuntimeError, ValueError, TypeError) as e:
            raise RuntimeError(f"don't know how to restore data location {location!r}: {e}") \
                from e
        if dev.type == "cuda" and not backend.cuda_is_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but taimatsu.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use taimatsu.load with "
                "map_location=taimatsu.device('cpu') to map your storages to the CPU.")
        return make(backend.to_device(arr, backend.CPU, dev), dev)

    # -- the rebuild functions the allow-list maps torch's names to
    def rebuild_tensor(self, storage, storage_offset, size, stride, requires_grad,
                       backward_hooks, metadata=None):
        if id(storage) not in self.storage_ids:
            raise pickle.UnpicklingError("Weights only load failed: _rebuild_tensor_v2 needs a "
                                         "storage from the archive")
        size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
        if type(storage_offset) is not int or not isinstance(requires_grad, bool):
            raise pickle.UnpicklingError("Weights only load failed: malformed tensor "
                                         f"(offset {storage_offset!r:.40}, requires_grad "
                                         f"{requires_grad!r:.40})")
        n = storage._data.size
        item = storage._data.itemsize
        if len(size) != len(stride) or storage_offset < 0 or any(s < 0 for s in size + stride):
            raise RuntimeError(f"invalid tensor: size {list(size)}, stride {list(stride)}, "
                               f"storage offset {storage_offset}")
        if 0 in size:
            needed = 0
        else:
            needed = storage_offset + 1 + sum((s - 1) * st for s, st in zip(size, stride))
        if needed > n or storage_offset > n or math.prod(size) * item > sys.maxsize // 2:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                f"{storage_offset}, and itemsize {item} requiring a storage size of "
                f"{needed * item} are out of bounds for storage of size {n * item}")
        xp = storage.device.xp
        arr = xp.lib.stride_tricks.as_strided(storage._data[storage_offset:], size,
                                              tuple(st * item for st in stride))
        t = make(arr, storage.device)
        if requires_grad:
            t.requires_grad_(True)
        return t

    @staticmethod
    def rebuild_parameter(data, requires_grad, backward_hooks):
        from .nn.parameter import Parameter

        if not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
            raise pickle.UnpicklingError("Weights only load failed: malformed parameter")
        return Parameter(data, requires_grad)

    def globals(self) -> dict:
        """The allow-list: ``module.name`` in the file -> the object it unpickles to."""
        g = {
            "collections.OrderedDict": collections.OrderedDict,
            "collections.Counter": collections.Counter,  # (MultiStepLR's milestones)
            "torch._utils._rebuild_tensor_v2": self.rebuild_tensor,
            "torch._utils._rebuild_parameter": self.rebuild_parameter,
            "torch.Size": _size,
            "torch.device": backend.device,
            "torch.storage.UntypedStorage": _UNTYPED_STORAGE,
            "torch.UntypedStorage": _UNTYPED_STORAGE,
            "_codecs.encode": _check_encode,
            "builtins.set": set,
            "builtins.bytearray": bytearray,
            "builtins.complex": complex,
        }
        for name, st in _STORAGE_TYPES.items():
            g[f"torch.{name}"] = st
        for d in (*_dt.ALL, _dt.bfloat16):
            g[f"torch.{d.name}"] = d
        for alias, name in (("float", "float32"), ("double", "float64"), ("half", "float16"),
                            ("long", "int64"), ("int", "int32"), ("short", "int16")):
            g[f"torch.{alias}"] = _dt._FROM_NAME[name]
        return g


# Opcodes that call or import outside find_class's allow-list, or need out-of-band buffers.
_REFUSED_OPCODES = {pickle.INST, pickle.OBJ, pickle.EXT1, pickle.EXT2, pickle.EXT4,
                    pickle.PERSID, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER}


class _Dispatch(dict):
    def __missing__(self, code):
        raise pickle.UnpicklingError(f"Weights only load failed: pickle opcode {bytes([code])!r} "
                                     "is not allowed")


class _WeightsUnpickler(pickle._Unpickler):
    """An unpickler that can only build what the allow-list names.

    NOTE: the pure-Python unpickler is used so that BUILD/NEWOBJ can be checked per opcode and so
    that memo indices are a dict (the C unpickler sizes an array by the largest index a file
    names, which a crafted file can make enormous).
    """

    dispatch = _Dispatch({k: v for k, v in pickle._Unpickler.dispatch.items()
                          if bytes([k]) not in _REFUSED_OPCODES})

    def __init__(self, file, loader: _Loader, pickle_load_args: dict):
        super().__init__(file, **pickle_load_args)
        self.allowed = loader.globals()
        self.user = _user_globals()
        self.classes = {v for v in (*self.allowed.values(), *self.user.values())
                        if isinstance(v, type)}
        self.persistent_load = loader.persistent_load

    def find_class(self, module: str, name: str):
        if self.proto < 3:  # protocol 2 writes Python 2 names: __builtin__.set
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        obj = self.allowed.get(full)
        if obj is not None:
            return obj
        if module == "torch" and name in _UNSUPPORTED_DTYPES or \
                module == "torch" and name.removesuffix("Storage") in _UNSUPPORTED_DTYPES:
            raise RuntimeError(f"the checkpoint holds {full}, a dtype taimatsu does not support")
        if full in self.user and module.split(".")[0] not in _BLOCKED_MODULES:
            return self.user[full]
        raise pickle.UnpicklingError(
            f"Weights only load failed: unsupported global: GLOBAL {full} is not an allowed "
            "global. If you trust the file, allow it with taimatsu.serialization."
            "add_safe_globals([...]) or load with weights_only=False (which can run arbitrary "
            "code from the file).")

    def load_newobj(self):
        if self.stack[-2] not in self.classes:
            raise pickle.UnpicklingError(f"Weights only load failed: NEWOBJ of "
                                         f"{self.stack[-2]!r:.60} is not allowed")
        super().load_newobj()

    def load_newobj_ex(self):
        if self.stack[-3] not in self.classes:
            raise pickle.UnpicklingError(f"Weights only load failed: NEWOBJ_EX of "
                                         f"{self.stack[-3]!r:.60} is not allowed")
        super().load_newobj_ex()

    def load_build(self):
        inst = self.stack[-2]
        if type(inst) is collections.OrderedDict:
            state = self.stack.pop()
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise pickle.UnpicklingError("Weights only load failed: BUILD of an OrderedDict "
                                             "needs a dict of attributes")
            inst.__dict__.update(state)  # e.g. a state dict's _metadata
            return
        if type(inst) not in self.classes or type(inst) in (set, bytearray, complex):
            raise pickle.UnpicklingError(f"Weights only load failed: BUILD of "
                                         f"{type(inst).__name__} is not allowed")
        super().load_build()

    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


class _FullUnpickler(pickle.Unpickler):
    """``weights_only=False``: plain pickle (unsafe), with PyTorch's names mapped to taimatsu's."""

    def __init__(self, file, loader: _Loader, pickle_load_args: dict):
        super().__init__(file, **pickle_load_args)
        self.allowed = loader.globals()
        self.persistent_load = loader.persistent_load

    def find_class(self, module: str, name: str):
        obj = self.allowed.get(f"{module}.{name}")
        return obj if obj is not None else super().find_class(module, name)


def _data_offset(raw, info: zipfile.ZipInfo) -> int:
    """Where an entry's bytes start: after its local header, whose extra field may differ from
    the central directory's."""
    if info.header_offset < 0:
        raise RuntimeError(f"bad local header offset for {info.filename}")
    raw.seek(info.header_offset)
    head = raw.read(_ZIP_LOCAL_HEADER)
    if len(head) != _ZIP_LOCAL_HEADER or head[:4] != b"PK\x03\x04":
        raise RuntimeError(f"bad local header for {info.filename}")
    name_len = int.from_bytes(head[26:28], "little")
    extra_len = int.from_bytes(head[28:30], "little")
    return info.header_offset + _ZIP_LOCAL_HEADER + name_len + extra_len


def _check_archive(zf: zipfile.ZipFile, raw, size: int) -> str:
    """Validate every entry of the archive; returns its folder prefix."""
    infos = zf.infolist()
    if not infos:
        raise RuntimeError("PytorchStreamReader failed reading zip archive: no records")
    prefix = infos[0].filename.split("/", 1)[0]
    seen = set()
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if name.startswith(("/", "\\")) or "\\" in name or ".." in parts or ":" in parts[0] or \
                name in seen or parts[0] != prefix or len(parts) < 2:
            raise RuntimeError(f"unsafe or unexpected entry name in the archive: {name!r}")
        seen.add(name)
        if info.compress_type != zipfile.ZIP_STORED:
            raise RuntimeError(f"entry {name!r} is compressed; PyTorch's format stores entries "
                               "uncompressed")
        if info.flag_bits & 0x1:
            raise RuntimeError(f"entry {name!r} is encrypted")
        if _data_offset(raw, info) + info.file_size > size:
            raise RuntimeError(f"entry {name!r} ({info.file_size} bytes) runs past the end of "
                               f"the file ({size} bytes)")
    if f"{prefix}/data.pkl" not in seen:
        raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
    return prefix


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):
    """Load an object saved by :func:`save` or by ``torch.save`` (PyTorch's zip format).

    ``map_location`` moves storages: a device or string (``"cpu"``), a dict from saved
    location to new one (``{"cuda:1": "cuda:0"}``), or ``fn(storage, location)`` returning the
    storage moved (``storage`` is a 1-D tensor of its elements) or None to keep the default.
    ``weights_only`` (default True) allows only tensors, containers, numbers, strings and the
    other names the format needs, and runs no code; ``False`` is full pickle and can execute
    anything the file contains. ``mmap=True`` maps the file instead of reading it: tensors
    are copy-on-write views of the file (writes to them never reach the file), as PyTorch's
    ``MAP_PRIVATE`` default.

    Example::

        >>> sd = taimatsu.load("model.pt", map_location="cpu")
    """
    if pickle_module is not None:
        if weights_only:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified")
        _check_pickle_module("load", pickle_module)
        weights_only = False  # (PyTorch's default when a pickle module is named)
    if weights_only is None:
        weights_only = True
    unknown = set(pickle_load_args) - {"encoding", "errors", "fix_imports"}
    if unknown:  # (what pickle.Unpickler takes; refused before the file is opened)
        raise TypeError(f"load() got an unexpected keyword argument '{min(unknown)}'")
    pickle_load_args.setdefault("encoding", "utf-8")
    opened = None
    if isinstance(f, (str, os.PathLike)):
        opened = raw = open(f, "rb")  # noqa: SIM115 - closed below
    else:
        if not hasattr(f, "read"):
            raise AttributeError(f"expected 'f' to be string, path, or a file-like object with a "
                                 f"'read' attribute, got {type(f).__name__}")
        raw = f
        if not (hasattr(f, "seekable") and f.seekable()):
            raw = io.BytesIO(f.read())
    try:
        start = raw.tell()
        mmap_array = None
        if mmap:
            try:
                raw.fileno()
            except (AttributeError, OSError) as e:  # e.g. io.BytesIO
                raise ValueError("f must be a file path in order to use the mmap argument") \
                    from e
            mmap_array = np.memmap(raw, dtype=np.uint8, mode="c")
        size = raw.seek(0, io.SEEK_END)
        raw.seek(start)
        if raw.read(4) != b"PK\x03\x04":
            raise RuntimeError("Invalid checkpoint: not a zip archive. taimatsu reads PyTorch's "
                               "zip format (torch.save's default since PyTorch 1.6).")
        raw.seek(start)
        try:
            zf = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {e}") from e
        with zf:
            prefix = _check_archive(zf, raw, size)
            loader = _Loader(zf, prefix, raw, map_location, mmap_array)
            try:
                data = zf.read(f"{prefix}/data.pkl")
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise RuntimeError(f"PytorchStreamReader failed reading data.pkl: {e}") from e
            if not weights_only:
                return _FullUnpickler(io.BytesIO(data), loader, pickle_load_args).load()
            try:
                return _WeightsUnpickler(io.BytesIO(data), loader, pickle_load_args).load()
            except (pickle.UnpicklingError, RuntimeError):
                raise
            except Exception as e:  # any failure of a hostile pickle is "malformed"
                raise pickle.UnpicklingError(f"Weights only load failed: malformed pickle "
                                             f"({type(e).__name__}: {e})") from e
    finally:
        if opened is not None:
            opened.close()
