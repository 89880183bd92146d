"""PyTorch's NumPy-compatible keyword aliases, applied where functions leave the package.

PyTorch's C++ argument parser accepts ``axis`` for ``dim``, ``keepdims`` for ``keepdim``,
``x``/``a``/``x1`` for ``input`` and ``x2`` for ``other`` (``numpy_compatibility_arg_names`` in
``torch/csrc/utils/python_arg_parser.cpp``), on every function and ``Tensor`` method it parses,
and rejects a call that gives both a name and its alias. taimatsu gives the same at its export
boundary only: the public top-level functions (``taimatsu/__init__.py``, ``taimatsu.linalg``,
``taimatsu.special``) and the ``Tensor`` methods (``taimatsu/_tensor.py``), so that calls between
ops inside the package pay nothing. ``nn.functional`` is plain Python in PyTorch, without
aliases, and is left alone.

The parser also takes a ``*size``-style parameter by keyword as one sequence
(``x.permute(dims=(1, 0))``), given here the same way. Overloads that PyTorch resolves by
argument type (``max(x, dim)`` / ``max(x, other)``, ``view(*size)`` / ``view(dtype)``) are
resolved inside the function they belong to, from the type of the argument in the shared
position.

Cost: one Python frame per call (about 0.1 us positional, 0.3 us with keywords, measured on
``x.sum(1)``); a call with none of these keywords passes straight through.
"""
from __future__ import annotations

import functools
import inspect

ALIASES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input", "x1": "input",
           "x2": "other"}

# The functions and methods that PyTorch writes in Python (torch/functional.py,
# torch/_tensor.py) and that would otherwise be wrapped: its parser never sees their arguments,
# so they take neither form there and get none here (tests/test_arguments.py checks both lists
# against torch).
PYTHON_FUNCTIONS = frozenset({
    "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes",
    "broadcast_tensors", "cartesian_prod", "einsum", "meshgrid", "norm", "split", "unique",
    "unique_consecutive",
})
PYTHON_METHODS = frozenset({"norm", "split", "unflatten", "unique", "unique_consecutive"})


def _parameters(fn, method: bool) -> list[inspect.Parameter] | None:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature take no aliases
        return None
    return params[1:] if method else params  # ``self`` is never given by keyword


def _rename(name: str, renames: dict[str, str], kwargs: dict) -> dict:
    # PyTorch's parser takes a parameter's own name before its aliases, and the last alias in
    # its list (x, a, x1) before earlier ones; any other it reports as unexpected.
    for alias in reversed(renames):
        if alias in kwargs:
            target = renames[alias]
            if target in kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument '{alias}'")
            kwargs[target] = kwargs.pop(alias)
    return kwargs


def with_aliases(fn, method: bool = False):
    """``fn`` accepting PyTorch's keyword forms of the parameters it has; ``fn`` itself when
    there are none to add.

    Two forms: the NumPy aliases above, and a ``*size``-style parameter given by keyword as one
    sequence (``x.permute(dims=(1, 0))``, ``zeros(size=(2, 3))``), as PyTorch's parser takes it
    when no element was given by position. The tables are computed once here; a call that uses
    neither costs one set test. ``functools.wraps`` keeps ``inspect.signature`` showing ``fn``'s
    own signature.
    """
    params = _parameters(fn, method)
    if params is None:
        return fn
    names = {p.name for p in params}
    renames = {alias: name for alias, name in ALIASES.items()
               if name in names and alias not in names}
    star = next((i for i, p in enumerate(params) if p.kind is p.VAR_POSITIONAL), None)
    if not renames and star is None:
        return fn
    var = params[star].name if star is not None else None
    before = star + method if star is not None else 0  # positional slots before ``*var``
    keys = frozenset(renames) | ({var} if var else set())
    name = fn.__name__

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs and not keys.isdisjoint(kwargs):
            if renames:
                kwargs = _rename(name, renames, kwargs)
            if var in kwargs:
                if len(args) > before:
                    raise TypeError(f"{name}() got multiple values for argument '{var}'")
                args = (*args, kwargs.pop(var))
        return fn(*args, **kwargs)

    return call


def export(namespace: dict, names) -> None:
    """Replace each public function ``namespace[name]`` by its alias-accepting form."""
    for name in names:
        obj = namespace[name]
        if inspect.isfunction(obj) and name not in PYTHON_FUNCTIONS:
            namespace[name] = with_aliases(obj)


def methods(cls: type) -> type:
    """Give ``cls`` (``Tensor``) the alias-accepting form of each public method it has.

    The wrapped form replaces the method where it is defined (the op family's ``*Methods``
    mixin, or the class itself), so each method still belongs to its family."""
    for name in dir(cls):
        if name.startswith("_") or name in PYTHON_METHODS:
            continue
        obj = inspect.getattr_static(cls, name)
        if inspect.isfunction(obj):
            wrapped = with_aliases(obj, method=True)
            if wrapped is not obj:
                owner = next(c for c in cls.__mro__ if vars(c).get(name) is obj)
                setattr(owner, name, wrapped)
    return cls
