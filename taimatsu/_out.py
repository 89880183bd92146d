"""PyTorch's ``out=`` keyword: one decorator gives a public function PyTorch's semantics.

``@out_variant`` adds a keyword-only ``out=None`` to a function that computes its result the
ordinary way. Given ``out``, the result is computed first (so ``out`` may be an input) and then
written into ``out`` (a tuple of tensors for functions returning several), which is returned:
a wrong-shaped ``out`` is resized (with PyTorch's warning when it held elements), its version is
bumped as for any in-place write, and a non-contiguous ``out`` is written through. Refused, before
anything is written: an ``out`` needing autograd, a dtype ``out`` cannot hold, another device,
and an ``out`` partially overlapping an input.

PyTorch's ops differ in how ``out``'s dtype is checked; ``dtype=`` names the rule:

- ``"cast"`` (elementwise, ``cat``, ``mean``/``std``/``var``): the result dtype must cast to
  ``out``'s (PyTorch's ``can_cast``: not float to integer, not a number to bool); it is cast.
- ``"exact"`` (``mm``, ``sort``, ``gather``, ...): ``out`` must have the result's dtype.
- ``"out"`` (``sum``, ``prod``, ``cumsum``, factories): ``out``'s dtype is the function's
  ``dtype=`` argument when that is not given, then as ``"exact"``. ``factory=True`` also takes
  ``device=`` from ``out`` and lets ``requires_grad=`` mark ``out``.
- ``"any"`` (``bernoulli``, whose 0/1 draws every dtype holds): any dtype; the result is cast.

Functions returning several tensors (``max(x, dim)``, ``sort``, ...) check each exactly, as all
of PyTorch's do, whatever the rule for their one-tensor overloads (``max(x)`` casts).

``differentiable=True`` marks the functions PyTorch composes from other ops (``inner``,
``quantile``, ...): there ``out=`` is not refused for inputs requiring grad but recorded as an
in-place copy into ``out``, so gradients flow through it.
"""
from __future__ import annotations

import functools
import inspect
import warnings

from ._tensor_base import TensorBase
from .autograd import grad_mode
from .autograd.function import (
    _check_inplace_allowed,
    _check_no_partial_overlap,
    check_inplace_result,
)
from .backend import device as _device
from .dtypes import KIND_CATEGORY, c_type_name, legacy_name, to_dtype

_state = grad_mode.state


def resized_warning(old: tuple, new: tuple) -> str:
    """PyTorch's warning when a non-empty ``out`` of shape ``old`` is resized to ``new``."""
    return (
        f"An output with one or more elements was resized since it had shape {list(old)}, which "
        f"does not match the required output shape {list(new)}. This behavior is deprecated, "
        "and in a future PyTorch release outputs will not be resized unless they have zero "
        "elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
        "elements with t.resize_(0).")


class _Spec:
    """How one function writes ``out``: its name (for messages) and the rules above."""

    __slots__ = ("cast_error", "differentiable", "dtype", "factory", "name", "resize_warning")

    def __init__(self, name, dtype, factory, resize_warning, differentiable, cast_error):
        if dtype not in ("cast", "exact", "out", "any"):
            raise ValueError(f"out_variant: dtype must be 'cast', 'exact', 'out' or 'any', not "
                             f"{dtype!r}")
        self.name, self.dtype, self.factory = name, dtype, factory
        self.resize_warning, self.differentiable = resize_warning, differentiable
        self.cast_error = cast_error


def out_variant(fn=None, *, dtype: str = "cast", factory: bool = False,
                resize_warning=resized_warning, differentiable: bool = False, cast_error=None):
    """Give ``fn`` PyTorch's keyword-only ``out=None`` (see the module docstring).

    ``resize_warning(old_shape, new_shape)`` words the warning for resizing a non-empty ``out``
    (returning None, or None itself: resize silently, as the factories do).
    ``cast_error(result_dtype, out_dtype)`` makes the exception for a refused cast where PyTorch
    raises its own (``cat``'s TypeError).
    """
    if fn is None:
        return functools.partial(out_variant, dtype=dtype, factory=factory,
                                 resize_warning=resize_warning, differentiable=differentiable,
                                 cast_error=cast_error)
    spec = _Spec(fn.__name__, dtype, factory, resize_warning, differentiable, cast_error)
    sig = inspect.signature(fn)
    if "out" in sig.parameters:
        raise TypeError(f"{fn.__qualname__} already has an 'out' parameter")
    wrapper = _generate(fn, sig, spec)
    functools.update_wrapper(wrapper, fn)
    params = list(sig.parameters.values())
    at = len(params) - (params[-1].kind is inspect.Parameter.VAR_KEYWORD if params else 0)
    params.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
    wrapper.__signature__ = sig.replace(parameters=params)
    return wrapper


def _generate(fn, sig, spec):
    """A wrapper with ``fn``'s own parameters plus ``out``, written out as source.

    NOTE: generated, not ``def wrapper(*args, out=None, **kwargs)``: packing and unpacking the
    arguments costs 130-260 ns a call, passing them by name ~55 ns (measured on a two-argument
    function), and the out=None path runs on every ``taimatsu.add`` a program makes.
    """
    P = inspect.Parameter
    params = list(sig.parameters.values())
    head, call, pos, kw = [], [], [], []
    defaults = {}
    star = False  # whether the header has its bare or var-positional star yet (None: out placed)
    for i, p in enumerate(params):
        default = ""
        if p.default is not P.empty:
            defaults[f"_d{i}"] = p.default
            default = f"=_d{i}"
        if p.kind is P.VAR_POSITIONAL:
            head.append(f"*{p.name}")
            call.append(f"*{p.name}")
            pos.append(f"*{p.name}")
            star = True
        elif p.kind is P.VAR_KEYWORD:
            head.append("out=None" if star else "*, out=None")
            head.append(f"**{p.name}")
            call.append(f"**{p.name}")
            kw.append(f"**{p.name}")
            star = None
        elif p.kind is P.KEYWORD_ONLY:
            if not star:
                head.append("*")
                star = True
            head.append(p.name + default)
            call.append(f"{p.name}={p.name}")
            kw.append(f"{p.name!r}: {p.name}")
        else:
            head.append(p.name + default)
            call.append(p.name)
            pos.append(p.name)
        if p.kind is P.POSITIONAL_ONLY and (i + 1 == len(params)
                                            or params[i + 1].kind is not P.POSITIONAL_ONLY):
            head.append("/")
    if star is not None:
        head.append("out=None" if star else "*, out=None")
    src = (f"def _wrapper({', '.join(head)}):\n"
           f"    if out is None:\n"
           f"        return _fn({', '.join(call)})\n"
           f"    return _write(_spec, out, _fn, ({', '.join(pos)}{',' if pos else ''}), "
           f"{{{', '.join(kw)}}})\n")
    namespace = {"_fn": fn, "_write": _write, "_spec": spec, **defaults}
    # (the source is built from fn's own signature above, never from outside data). Functions
    # with the same parameters share one compiled source: compiling each cost ~25 ms of import.
    code = _CODE.get(src)
    if code is None:
        code = _CODE[src] = compile(src, "<out_variant>", "exec")
    exec(code, namespace)  # noqa: S102
    wrapper = namespace["_wrapper"]
    wrapper.__code__ = wrapper.__code__.replace(co_name=fn.__name__,
                                                co_qualname=fn.__qualname__)  # (tracebacks)
    return wrapper


_CODE: dict[str, object] = {}  # generated source -> its compiled module code


# ------------------------------------------------------------------------- the out= path
def _autograd_error(name: str) -> RuntimeError:
    return RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                        "differentiation, but one of the arguments requires grad.")


def _tensors(values):
    """The tensors among call arguments, one level into lists (``cat``'s ``tensors``)."""
    for v in values:
        if isinstance(v, TensorBase):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from (t for t in v if isinstance(t, TensorBase))


def _write(spec, out, fn, args, kwargs):
    name = spec.name
    several = isinstance(out, (tuple, list))
    outs = tuple(out) if several else (out,)
    for o in outs:
        if not isinstance(o, TensorBase):
            kind = "tuple of Tensors" if several else "Tensor"
            raise TypeError(f"{name}(): argument 'out' must be {kind}, not {type(o).__name__}")
        if _state.enabled and o._requires_grad:
            if not spec.differentiable:
                raise _autograd_error(name)
            _check_inplace_allowed(o)  # (the copy into out would refuse it, after resizing)
    if spec.dtype == "out":
        kwargs = _dtype_from_out(spec, outs[0], kwargs)
    requires_grad = kwargs.pop("requires_grad", False) if spec.factory else False
    for t in _tensors(args + tuple(kwargs.values())):
        for o in outs:
            if t._version is o._version and t is not o:
                _check_no_partial_overlap(o, t)
    result = fn(*args, **kwargs)
    exact = isinstance(result, tuple)
    results = result if exact else (result,)
    if exact != several:
        kind = "tuple of Tensors" if exact else "Tensor"
        raise TypeError(f"{name}(): argument 'out' must be {kind}, not {type(out).__name__}")
    if len(outs) != len(results):
        raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(results)} Tensors, "
                        f"not of {len(outs)}")
    for r, o in zip(results, outs):
        _check(spec, r, o, exact)
    for r, o in zip(results, outs):
        _store(spec, r, o)
    if requires_grad:
        out.requires_grad_(True)
    if isinstance(result, TensorBase):
        return out
    return outs if type(result) is tuple else type(result)(*outs)  # (named tuples rebuilt)


def _dtype_from_out(spec, o, kwargs):
    """``kwargs`` (a fresh dict) with ``dtype`` (for factories also ``device``) from ``out``."""
    given = kwargs.get("dtype")
    if given is None:
        kwargs["dtype"] = o.dtype
    elif spec.factory and to_dtype(given) != o.dtype:
        raise RuntimeError(f"dtype {legacy_name(to_dtype(given).np)} does not match dtype of out "
                           f"parameter ({legacy_name(o._data.dtype)})")
    if spec.factory:
        given = kwargs.get("device")
        if given is None:
            kwargs["device"] = o._device
        elif _device(given).type != o._device.type:
            raise RuntimeError(f"device type {_device(given).type} does not match device type "
                               f"of out parameter ({o._device.type})")
    return kwargs


def _check(spec, r, o, exact: bool) -> None:
    """Refuse writing result ``r`` into ``o`` as PyTorch does (nothing is written yet)."""
    if _state.enabled and r._requires_grad and not spec.differentiable:
        raise _autograd_error(spec.name)
    if r._device != o._device:
        if spec.dtype == "cast" and not exact:  # (TensorIterator's words, as for its inputs)
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {r._device} and {o._device}!")
        raise RuntimeError(f"Expected out tensor to have device {r._device}, but got "
                           f"{o._device} instead")
    src, dst = r._data.dtype, o._data.dtype
    if (exact or spec.dtype in ("exact", "out")) and src != dst:
        raise RuntimeError(f"Expected out tensor to have dtype {c_type_name(src)}, but got "
                           f"{c_type_name(dst)} instead")
    if spec.cast_error is not None and KIND_CATEGORY[src.kind] > KIND_CATEGORY[dst.kind]:
        raise spec.cast_error(src, dst)
    # (the cast rule; an expanded out is refused)
    check_inplace_result(o, dst if spec.dtype == "any" else src, o._data.shape)


def _store(spec, r, o) -> None:
    src = r._data
    dst = o._data
    if dst.shape != src.shape:
        message = spec.resize_warning and dst.size and spec.resize_warning(dst.shape, src.shape)
        if message:
            # stacklevel: warn at the caller's line (user code -> wrapper -> _write -> _store)
            warnings.warn(message, UserWarning, stacklevel=4)
        o._data = o.xp.empty(src.shape, dst.dtype)
        if o._base is not None:
            # NOTE: a resized view gets storage of its own. PyTorch resizes the shared storage
            # in place, which an array view cannot do; the base keeps its values.
            o._base = o._view_fn = None
            o._version = [o._version[0]]
    if _state.enabled and r._requires_grad:  # (a differentiable function): recorded
        o.copy_(r)
        return
    o._data[...] = src
    o._version[0] += 1
