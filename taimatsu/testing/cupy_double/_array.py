"""The double's device array: a NumPy array in a shell that behaves as ``cupy.ndarray`` does.

Every crossing between host and device is explicit, as with CuPy: ``__array__`` raises, NumPy
arrays given to device functions raise TypeError, and the crossings CuPy allows (``asarray`` of
host data, ``get``, ``item``, ``float(a)``, host arrays used as indices or assigned into device
arrays, printing) are counted in :data:`TRANSFERS`.
"""
from __future__ import annotations

import operator
import threading
import weakref

import numpy as np

DEVICE_NAME = "taimatsu CuPy test double (NumPy arrays, no GPU)"

TRANSFERS = {"host_to_device": 0, "host_to_device_bytes": 0,
             "device_to_host": 0, "device_to_host_bytes": 0}


def record(direction: str, nbytes: int) -> None:
    TRANSFERS[direction] += 1
    TRANSFERS[direction + "_bytes"] += int(nbytes)


# NOTE: CuPy's exact refusal; NumPy raises it from np.asarray(dev), np.array(dev), etc.
_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
             "construct a NumPy array explicitly.")


class _Pool:
    """Bytes of live device arrays (CuPy's default memory pool): ``used`` is what live arrays
    hold, ``held`` what the pool keeps (freed blocks stay until ``free_all_blocks``)."""

    def __init__(self):
        self.used = 0
        self.held = 0
        self.limit = 0
        self.hooks = threading.local()  # CuPy's memory hooks are per thread

    def malloc(self, nbytes: int, ptr: int) -> None:
        size = -(-nbytes // 512) * 512  # CuPy rounds every allocation up to 512 bytes
        self.used += size
        self.held = max(self.held, self.used)
        for hook in getattr(self.hooks, "active", ()):
            hook.malloc_postprocess(0, nbytes, size, ptr, 0)

    def free(self, nbytes: int) -> None:
        self.used -= -(-nbytes // 512) * 512


POOL = _Pool()
_OWNERS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _pointer(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


class _Flags:
    """CuPy's ``ndarray.flags``: only these three (no ``writeable``: device memory is)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, arr):
        self.c_contiguous = arr._a.flags.c_contiguous
        self.f_contiguous = arr._a.flags.f_contiguous
        self.owndata = arr.base is None

    def __getitem__(self, name):
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
               "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(f"{name} is not defined for cupy.ndarray.flags")
        return getattr(self, key)

    def __repr__(self):
        return "\n".join(f"  {k.upper()} : {getattr(self, k)}" for k in self.__slots__)


class _Device:
    """``cupy.cuda.Device``: the double has one device, 0."""

    def __init__(self, device=None):
        index = 0 if device is None else int(getattr(device, "id", device))
        if index != 0:
            from . import _cuda

            raise _cuda.CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self.id = 0

    compute_capability = "90"

    def synchronize(self):
        pass

    def use(self):
        pass

    @property
    def mem_info(self):
        from . import _cuda

        return _cuda.memGetInfo()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


DEVICE0 = _Device()


class _MemoryPointer:
    """``cupy.cuda.MemoryPointer``: the address of an array's first element."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: int):
        self.ptr = ptr

    device = DEVICE0
    device_id = 0


class ndarray:
    """A device array of the double (wraps a NumPy array that no one else sees)."""

    __slots__ = ("__weakref__", "_a", "_owned", "base")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("the CuPy double builds arrays from shape and dtype only")
        _init(self, np.empty(shape, dtype, order=order), None)

    # -- what CuPy's arrays have beyond NumPy's, and the refusals --
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True):
        record("device_to_host", self._a.nbytes)
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray: {type(arr)}")
        if arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("Shape or dtype mismatch")
        record("host_to_device", arr.nbytes)
        self._a[...] = arr

    def item(self, *args):
        record("device_to_host", self._a.itemsize)
        return self._a.item(*args)

    def tolist(self):
        record("device_to_host", self._a.nbytes)
        return self._a.tolist()

    def tobytes(self, order="C"):
        record("device_to_host", self._a.nbytes)
        return self._a.tobytes(order)

    def _scalar(self, convert):
        record("device_to_host", self._a.itemsize)
        return convert(self._a)

    def __bool__(self):
        return self._scalar(bool)

    def __int__(self):
        return self._scalar(int)

    def __float__(self):
        return self._scalar(float)

    def __complex__(self):
        return self._scalar(complex)

    def __repr__(self):
        record("device_to_host", self._a.nbytes)
        return repr(self._a)

    def __str__(self):
        record("device_to_host", self._a.nbytes)
        return str(self._a)

    def __format__(self, spec):
        return self._scalar(lambda a: format(a.item() if a.ndim == 0 else a, spec))

    def __reduce__(self):
        return (_unpickle, (self.get(),))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __len__(self):
        return len(self._a)

    def __hash__(self):
        raise TypeError("unhashable type: 'cupy.ndarray'")

    # -- metadata --
    @property
    def flags(self):
        return _Flags(self)

    @property
    def data(self):
        return _MemoryPointer(_pointer(self._a))

    device = DEVICE0

    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value  # AttributeError (as CuPy's) when a copy would be needed

    # strides, dtype, size, ndim, nbytes, itemsize: read off the NumPy array (below the class)

    @property
    def T(self):
        return wrap(self._a.T, self)

    @property
    def mT(self):
        return wrap(np.swapaxes(self._a, -1, -2), self)

    @property
    def real(self):
        return wrap(self._a.real, self)

    @property
    def imag(self):
        return wrap(self._a.imag, self)

    @property
    def flat(self):
        return wrap(self._a.reshape(-1), self)

    # -- indexing: host indices and host values are transfers, as in CuPy --
    def __getitem__(self, key):
        key = _index(key)
        try:
            return wrap(self._a[key], self)
        except IndexError:
            return wrap(self._a[wrapped_key(key, self._a.shape)], self)

    def __setitem__(self, key, value):
        if isinstance(value, (np.ndarray, list)):
            value = _from_host(value)
        key, value = _index(key), unwrap(value)
        try:
            self._a[key] = value
        except IndexError:
            self._a[wrapped_key(key, self._a.shape)] = value

    def take(self, indices, axis=None, out=None):
        return take(self, indices, axis, out)

    # -- NumPy's functions and ufuncs called on device arrays run on the device --
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import _modules

        fn = _modules.UFUNCS.get(ufunc.__name__)
        if fn is None:
            return NotImplemented
        return getattr(fn, method)(*inputs, **kwargs) if method != "__call__" \
            else fn(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import _modules

        fn = _modules.FUNCTIONS.get(func.__name__)
        if fn is None:
            return NotImplemented
        return fn(*args, **kwargs)


for _name in ("strides", "dtype", "size", "ndim", "nbytes", "itemsize"):
    setattr(ndarray, _name, property(operator.attrgetter("_a." + _name)))


def _unpickle(host):
    return _from_host(host)


def _init(self, a: np.ndarray, base) -> None:
    self._a = a
    self.base = base
    self._owned = 0
    if base is None:
        _OWNERS[id(a)] = self
        self._owned = a.nbytes
        POOL.malloc(a.nbytes, _pointer(a))


def _finalize(self) -> None:
    # (POOL is None when arrays outlive the module at interpreter exit: nothing to count then)
    if self._owned and POOL is not None:
        POOL.free(self._owned)


ndarray.__del__ = _finalize


def _writable(a: np.ndarray) -> np.ndarray:
    """Device memory is always writable (CuPy's broadcast and diagonal views too)."""
    if not a.flags.writeable:
        try:
            a.flags.writeable = True
        except ValueError:  # NumPy refuses for some views: re-view the memory as writable
            a = np.asarray(_Memory(a))
    return a


class _Memory:
    """Writable access to the memory of a read-only NumPy view (``base`` keeps it alive)."""

    def __init__(self, a: np.ndarray):
        iface = dict(a.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface
        self.base = a


def _root(a: np.ndarray) -> np.ndarray:
    """The NumPy array that owns ``a``'s memory."""
    while True:
        base = a.base
        if isinstance(base, _Memory):
            base = base.base
        if not isinstance(base, np.ndarray):
            return a
        a = base


def wrap(a, like=None):
    """The device array for a NumPy result ``a`` (0-d arrays for NumPy's scalars, as CuPy
    returns). A view of a device array's memory gets that array's owner as ``base``."""
    if isinstance(a, np.generic):
        a = np.asarray(a)
    if like is not None and a is like._a:
        return like
    root = _root(a)
    owner = _OWNERS.get(id(root))
    if owner is not None and owner._a is root and root is a:
        return owner
    out = object.__new__(ndarray)
    if root is a:
        _init(out, a, None)
        return out
    if owner is None or owner._a is not root:
        owner = object.__new__(ndarray)
        _init(owner, root, None)
    _init(out, _writable(a), owner)
    return out


def _from_host(value, dtype=None, copy=True):
    """A device copy of host data (the H2D transfer CuPy makes for ``asarray``)."""
    a = np.array(value, dtype=dtype, copy=copy)
    if a.dtype.kind in "OUSV":
        raise ValueError(f"Unsupported dtype {a.dtype}")
    record("host_to_device", a.nbytes)
    out = object.__new__(ndarray)
    _init(out, a if a.base is None and a.flags.owndata else a.copy(), None)
    return out


def unwrap(x):
    """The NumPy array behind a device argument; host arrays are refused as CuPy refuses them."""
    cls = x.__class__
    if cls is ndarray:
        return x._a
    if cls is np.ndarray:
        raise TypeError(f"Unsupported type {cls}")
    if cls is list or cls is tuple:
        return cls(unwrap(v) for v in x)
    return x


def _index(key):
    """An index with host index arrays moved to the device (CuPy converts them: a transfer)."""
    if key.__class__ is tuple:
        return tuple(_index(k) for k in key)
    if key.__class__ is ndarray:
        return key._a
    if isinstance(key, (np.ndarray, list)):
        a = np.asarray(key)
        record("host_to_device", a.nbytes)
        return a
    return key


def wrapped_key(key, shape):
    """``key`` with its integer arrays taken modulo their dimension: CuPy wraps out-of-range
    array indices around where NumPy raises (plain ints raise in both)."""
    key = key if key.__class__ is tuple else (key,)
    used = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype.kind == "b" else 1
               for k in key if k is not None and k is not Ellipsis)
    out, d = [], 0
    for k in key:
        if k is None:
            out.append(k)
            continue
        if k is Ellipsis:
            d += len(shape) - used
        elif isinstance(k, np.ndarray) and k.dtype.kind == "b":
            d += k.ndim - 1
        elif isinstance(k, np.ndarray) and k.dtype.kind in "iu" and shape[d]:
            k = k % shape[d]
        out.append(k)
        d += 1
    return tuple(out)


def take(a, indices, axis=None, out=None):
    """``cupy.take``: out-of-range indices wrap around (CuPy's only mode)."""
    a_, i_, out_ = unwrap(a), unwrap(indices), unwrap(out)
    return rewrap(np.take(a_, i_, axis, out_, mode="wrap"), [a, out])


def take_along_axis(arr, indices, axis):
    """``cupy.take_along_axis``: out-of-range indices wrap around, as CuPy's fancy indexing."""
    a, i = unwrap(arr), unwrap(indices)
    n = a.size if axis is None else a.shape[axis]
    return wrap(np.take_along_axis(a, i % n if n else i, axis))


def rewrap(result, inputs):
    """Wrap a NumPy function's result; an input returned unchanged stays the same object."""
    if isinstance(result, (np.ndarray, np.generic)):
        for x in inputs:
            if x.__class__ is ndarray and x._a is result:
                return x
        return wrap(result)
    if isinstance(result, tuple):  # (NumPy's named tuples, as linalg.qr's: CuPy's are plain)
        return tuple(rewrap(r, inputs) for r in result)
    if result.__class__ is list:
        return [rewrap(r, inputs) for r in result]
    return result


def _device_args(args, kwargs):
    """Unwrapped args and kwargs, and the device arrays among them (to keep ``out=`` identity)."""
    inputs = [a for a in args if a.__class__ is ndarray]
    out = kwargs.get("out")
    if out is not None:
        inputs.extend(out if isinstance(out, tuple) else (out,))
    return (tuple(unwrap(a) for a in args), {k: unwrap(v) for k, v in kwargs.items()}, inputs)


def _method(name):
    np_method = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        a, k, inputs = _device_args(args, kwargs)
        return rewrap(np_method(self._a, *a, **k), [self, *inputs])

    method.__name__ = name
    return method


def _inplace(name):
    np_method = getattr(np.ndarray, name)

    def method(self, other):
        np_method(self._a, unwrap(other))
        return self

    method.__name__ = name
    return method


_DUNDER_OPS = {
    "__abs__", "__add__", "__and__", "__divmod__", "__eq__", "__floordiv__", "__ge__", "__gt__",
    "__invert__", "__le__", "__lshift__", "__lt__", "__matmul__", "__mod__", "__mul__", "__ne__",
    "__neg__", "__or__", "__pos__", "__pow__", "__radd__", "__rand__", "__rdivmod__",
    "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__", "__rmul__", "__ror__", "__rpow__",
    "__rrshift__", "__rshift__", "__rsub__", "__rtruediv__", "__rxor__", "__sub__", "__truediv__",
    "__xor__",
}
_INPLACE_OPS = {
    "__iadd__", "__iand__", "__ifloordiv__", "__ilshift__", "__imod__", "__imul__", "__ior__",
    "__ipow__", "__irshift__", "__isub__", "__itruediv__", "__ixor__",
}


def install_methods(names) -> None:
    """Give :class:`ndarray` the methods of CuPy's list that NumPy's arrays have, computed by
    NumPy: only those (a method CuPy lacks is an AttributeError here too)."""
    for name in names:
        if name in ndarray.__dict__ or not hasattr(np.ndarray, name):
            continue
        if name in _INPLACE_OPS:
            setattr(ndarray, name, _inplace(name))
        elif name in _DUNDER_OPS or not name.startswith("_"):
            setattr(ndarray, name, _method(name))


def as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided``: a writable view with the given strides."""
    view = np.lib.stride_tricks.as_strided(unwrap(x), shape, strides, writeable=True)
    return wrap(view)

