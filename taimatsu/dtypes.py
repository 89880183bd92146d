"""dtype objects, the default dtype, and PyTorch's type-promotion rules.

NumPy and PyTorch promote differently (int64 + float32 is float64 in NumPy, float32 in PyTorch;
a 0-d tensor or a Python scalar does not widen a tensor of the same kind). ``result_type`` is the
one place that decides; ops cast their inputs to what it says.
"""
from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, e.g. ``taimatsu.float32``; ``.np`` is the NumPy dtype behind it."""

    __slots__ = ("_category", "is_floating_point", "is_signed", "itemsize", "name", "np")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_signed = category == _FLOAT or self.np.kind == "i"
        self._category = category

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"taimatsu.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self) -> dtype:
        return self


class _BFloat16(dtype):
    """``bfloat16``, whose NumPy dtype comes from the optional ``ml_dtypes`` package: it is
    imported on first use (``.np``), so ``import taimatsu`` neither needs nor pays for it."""

    __slots__ = ()

    def __init__(self):
        self.name, self.itemsize, self._category = "bfloat16", 2, _FLOAT
        self.is_floating_point = self.is_signed = True

    @property
    def np(self):
        return _ml_dtypes().bfloat16.dtype


_BOOL, _INT, _FLOAT = 0, 1, 2
# The category (bool < int < float) of a NumPy dtype kind: promotion and in-place casts use it.
# NOTE: ml_dtypes' bfloat16 is a NumPy user dtype of kind "V" (void); taimatsu has no other.
KIND_CATEGORY = {"b": _BOOL, "u": _INT, "i": _INT, "f": _FLOAT, "V": _FLOAT}

bool_ = dtype("bool", np.bool_, _BOOL)
uint8 = dtype("uint8", np.uint8, _INT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
bfloat16 = _BFloat16()
_FROM_NAME = {d.name: d for d in (*ALL, bfloat16)}
_ml = None  # the ml_dtypes module once loaded


def _ml_dtypes():
    """ml_dtypes, imported once; registers bfloat16's NumPy dtype so arrays map back to it."""
    global _ml
    if _ml is None:
        try:
            import ml_dtypes
        except ImportError:
            raise ModuleNotFoundError(
                "taimatsu.bfloat16 needs the ml_dtypes package (NumPy has no bfloat16): "
                "pip install 'taimatsu[bf16]'") from None
        _FROM_NP[np.dtype(ml_dtypes.bfloat16)] = bfloat16
        _ml = ml_dtypes
    return _ml


def keep_dtype(out, like):
    """The array ``out`` in the dtype of the array ``like``. NumPy's matmul of ml_dtypes
    bfloat16 arrays accumulates and returns float32; PyTorch accumulates in float32 too, then
    rounds to bfloat16: product kernels pass their result through this."""
    return out if out.dtype == like.dtype else out.astype(like.dtype)


def _by_name(name: str) -> dtype:
    return _FROM_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The taimatsu dtype for a NumPy dtype; raises TypeError for unsupported ones."""
    d = _FROM_NP.get(np_dtype)
    if d is None:
        np_dtype = np.dtype(np_dtype)
        if np_dtype.name == "bfloat16" and np_dtype.kind == "V":  # an array made with ml_dtypes
            _ml_dtypes()
        d = _FROM_NP.get(np_dtype)
        if d is None:
            raise TypeError(
                f"can't convert np.ndarray of type {np_dtype}. The only supported types "
                "are: float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, and "
                "bool."
            )
    return d


_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of float tensors made from Python floats (float32 unless changed)."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """A ``dtype`` argument as PyTorch accepts it: a taimatsu dtype, or the Python types
    ``float`` (float64), ``int`` (int64) and ``bool``; strings and NumPy dtypes are refused."""
    if isinstance(d, dtype):
        return d
    found = _PYTHON_TYPES.get(d) if isinstance(d, type) else None
    if found is None:
        kind = type(d)
        name = kind.__name__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"argument 'dtype' must be torch.dtype, not {name}")
    return found


_PYTHON_TYPES = {float: float64, int: int64, bool: bool_}


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """PyTorch's promotion of two dtypes: any float beats any integer; otherwise the wider one."""
    a, b = type1, type2
    if a is b:
        return a
    ca, cb = a._category, b._category
    if ca == _FLOAT or cb == _FLOAT:
        if ca != cb:
            return a if ca == _FLOAT else b
        if a.itemsize == b.itemsize:  # float16 with bfloat16: neither holds the other
            return float32
        return a if a.itemsize > b.itemsize else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """Combine a higher-priority group's dtype with a lower one's (dim > 0-d > Python scalar):
    the lower group only matters when it is of a higher category (bool < int < float)."""
    if higher is None:
        return lower
    if lower is None or higher._category >= lower._category:
        return higher
    return promote_types(higher, lower)


def scalar_dtype(value) -> dtype:
    """The dtype a Python scalar takes on its own (``tensor(1.5)`` is the default float)."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return _default_float
    if isinstance(value, np.generic):
        return from_numpy_dtype(value.dtype)
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


def result_type(*operands) -> dtype:
    """The dtype PyTorch gives an op over ``operands`` (tensors and Python scalars).

    Tensors with dimensions decide, unless a 0-d tensor or a scalar is of a higher category.
    """
    dim = zero = scal = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.data.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        elif x is not None:
            s = _scalar_category_dtype(x)
            scal = s if scal is None else promote_types(scal, s)
    return _combine(_combine(dim, zero), scal)


def _scalar_category_dtype(value) -> dtype:
    # A wrapped Python number takes the default dtype of its category.
    if isinstance(value, bool):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_float
    raise TypeError(f"unsupported operand type {type(value).__name__}")


_LEGACY = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
           "bfloat16": "BFloat16"}


def legacy_name(np_dtype) -> str:
    """PyTorch's old type name used in its error messages ("Float", "Long", ...)."""
    return _LEGACY[np_dtype.name]


_C_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
           "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
           "bool": "bool", "bfloat16": "c10::BFloat16"}


def c_type_name(np_dtype) -> str:
    """The C++ element type PyTorch names in some messages ("double", "long int", ...)."""
    return _C_TYPE[np_dtype.name]


class finfo:
    """Machine limits of a floating dtype (``taimatsu.finfo(taimatsu.float16).max``)."""

    def __init__(self, type=None):
        d = _default_float if type is None else type
        if not isinstance(d, dtype) or not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        info = np.finfo(d.np)
        self.bits, self.dtype = info.bits, d.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision  # (PyTorch: a power of ten, not rounded)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype (``taimatsu.iinfo(taimatsu.int32).max``)."""

    def __init__(self, type):
        if not isinstance(type, dtype) or type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(np.uint8 if type.np.kind == "b" else type.np)
        self.bits, self.dtype = info.bits, type.name
        self.max, self.min = (1, 0) if type.np.kind == "b" else (int(info.max), int(info.min))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
