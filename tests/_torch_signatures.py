"""PyTorch's signatures, read from PyTorch itself, for the public names taimatsu shares.

PyTorch's C++ functions and ``Tensor`` methods go through its argument parser, whose exact
signatures (names, overloads, keyword-only split, defaults) ship as generated type stubs,
``torch/_C/_VariableFunctions.pyi``, ``torch/_C/__init__.pyi`` (``TensorBase``) and
``torch/_C/_nn.pyi``: those are read first. Functions the stubs lack (``torch.linalg``,
``torch.special``, ``torch.fft``) carry their signature on the first line of their docstring
(``add(input, other, *, alpha=1, out=None) -> Tensor``) and further overloads on
``.. function:: max(input, dim, keepdim=False, *, out=None)`` lines. The docstrings alone are
not enough for ``Tensor`` methods: many are wrong there (``mul(value)`` where the parser takes
``other``, ``bitwise_and()`` with no argument, ``narrow(dimension, ...)``). Python functions
(``nn.functional``, a few ``torch.*`` and ``Tensor`` methods) use ``inspect.signature``.

``signatures()`` maps a qualified name (``"torch.add"``, ``"torch.Tensor.add"``,
``"torch.nn.functional.relu"``, ``"torch.linalg.cross"``) to its overloads; each overload is a
tuple of :class:`Param` (a method's without ``self``). ``documented(qualname)`` gives the
docstring's overloads alone (a second opinion where a stub is wrong). Names PyTorch leaves
undocumented (no docstring: ``torch.dropout``, ``torch.selu``, ...) are not PyTorch's public API
and are left out, as are named-tensor overloads. ``pair(qualname)`` gives the taimatsu object of
the same name. Run this file for a self-test and a summary.
"""
from __future__ import annotations

import ast
import functools
import inspect
import re
from pathlib import Path
from typing import NamedTuple

import taimatsu

try:
    import torch
except ImportError:  # the conformance test skips, saying why
    torch = None

POSITIONAL = "positional"        # may be given by position or keyword
KEYWORD = "keyword"              # keyword-only (after ``*``)
VAR_POSITIONAL = "var_positional"  # ``*size``: the rest of the positional arguments
VAR_KEYWORD = "var_keyword"      # ``**kwargs``

NO_DEFAULT = None  # Param.default when the parameter is required


class Param(NamedTuple):
    name: str
    kind: str
    default: str | None  # PyTorch's default as written (``"None"``, ``"torch.strided"``, ...);
    # ``"..."`` where the stub says only that there is one


# taimatsu namespace -> (torch namespace, name prefix). Tensor methods are handled on their own.
NAMESPACES = {
    "taimatsu": "torch",
    "taimatsu.nn.functional": "torch.nn.functional",
    "taimatsu.linalg": "torch.linalg",
    "taimatsu.special": "torch.special",
    "taimatsu.fft": "torch.fft",
}

_SEE = re.compile(r"See :(?:func|meth):`~?(torch(?:\.\w+)+)`")


def _split_top(text: str) -> list[str]:
    """Split ``text`` at commas outside brackets and quotes (defaults such as ``(1, 1)``)."""
    parts, depth, cur, quote = [], 0, [], None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def parse_signature(text: str) -> tuple[Param, ...]:
    """Parse a parameter list as PyTorch documents it (``input, dim, *, keepdim=False``)."""
    params, kind = [], POSITIONAL
    for part in _split_top(text.replace("\\*", "*")):
        if part == "*":
            kind = KEYWORD
            continue
        name, eq, default = part.partition("=")
        name = name.split(":")[0].strip()  # a few docstrings annotate: ``dim: int``
        if name.startswith("**"):
            params.append(Param(name[2:], VAR_KEYWORD, NO_DEFAULT))
        elif name.startswith("*"):
            params.append(Param(name[1:], VAR_POSITIONAL, NO_DEFAULT))
            kind = KEYWORD
        else:
            params.append(Param(name, kind, default.strip() if eq else NO_DEFAULT))
    return tuple(params)


def _call_text(line: str, name: str) -> str | None:
    """The parameter text of ``name(...)`` at the start of ``line`` (brackets balanced).

    The name may carry its namespace (``linalg.cross(``, ``Tensor.add(``)."""
    m = re.match(rf"\s*(?:\.\. (?:function|method):: )?(?:\w+\.)*{re.escape(name)}\(", line)
    if not m:
        return None
    depth, start = 1, m.end()
    for i in range(start, len(line)):
        depth += {"(": 1, ")": -1}.get(line[i], 0)
        if depth == 0:
            return line[start:i]
    return None


def from_docstring(doc: str | None, name: str) -> list[tuple[Param, ...]]:
    """The overloads a docstring documents: its first signature line and its ``..`` lines."""
    lines = (doc or "").strip().splitlines()
    found = []
    for i, line in enumerate(lines):
        if i > 0 and not line.lstrip().startswith(".. "):
            continue
        # a long signature wraps onto the next lines: give the bracket matcher a few of them
        text = _call_text(" ".join(lines[i:i + 4]), name)
        if text is not None:
            found.append(parse_signature(text))
    return found


def from_python(fn) -> tuple[Param, ...] | None:
    """The signature of a Python function (``nn.functional``), as :class:`Param`s."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: POSITIONAL,
        inspect.Parameter.POSITIONAL_OR_KEYWORD: POSITIONAL,
        inspect.Parameter.KEYWORD_ONLY: KEYWORD,
        inspect.Parameter.VAR_POSITIONAL: VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD: VAR_KEYWORD,
    }
    return tuple(
        Param(p.name, kinds[p.kind],
              NO_DEFAULT if p.default is inspect.Parameter.empty else repr(p.default))
        for p in sig.parameters.values()
    )


def _lookup(root, qualname: str):
    """``root.<qualname less its first part>`` (None where it is missing)."""
    obj = root
    for part in qualname.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _resolve(qualname: str):
    return _lookup(torch, qualname)


def _drop_input(overloads):
    """A function's overloads as a method's: without the leading ``input``/``self``."""
    return [o[1:] for o in overloads if o and o[0].name in ("input", "self")]


def _from_ast(fn: ast.FunctionDef, method: bool) -> tuple[Param, ...]:
    a = fn.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [Param(p.arg, POSITIONAL, None if d is None else ast.unparse(d))
              for p, d in zip(positional, defaults)]
    if a.vararg:
        params.append(Param(a.vararg.arg, VAR_POSITIONAL, NO_DEFAULT))
    params += [Param(p.arg, KEYWORD, None if d is None else ast.unparse(d))
               for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append(Param(a.kwarg.arg, VAR_KEYWORD, NO_DEFAULT))
    return tuple(params[1:] if method else params)


@functools.cache
def _stubs(filename: str, cls: str | None = None) -> dict[str, list[tuple[Param, ...]]]:
    """``{name: overloads}`` from one of torch's generated stub files (a class's methods)."""
    tree = ast.parse((Path(torch.__file__).parent / "_C" / filename).read_text())
    body = tree.body
    if cls is not None:
        body = next(n.body for n in body if isinstance(n, ast.ClassDef) and n.name == cls)
    found: dict[str, list[tuple[Param, ...]]] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            found.setdefault(node.name, []).append(_from_ast(node, cls is not None))
    return found


def _stub_overloads(qualname: str) -> list[tuple[Param, ...]]:
    ns, name = qualname.rsplit(".", 1)
    if ns == "torch.Tensor":
        return _stubs("__init__.pyi", "TensorBase").get(name, [])
    if ns == "torch.nn.functional":
        found = _stubs("_nn.pyi").get(name) or _stubs("_VariableFunctions.pyi").get(name, [])
    elif ns == "torch":
        found = _stubs("_VariableFunctions.pyi").get(name, [])
    else:
        return []
    # A top-level overload with a parameter the stub calls ``self`` is one the parser takes only
    # positionally: a deprecated order (``add(input, alpha, other)``) or a Number operand
    # (``bitwise_and(5, t)``, ``where(c, 1.0, t)``); its keyword form is the ``input`` overload's.
    # Named-tensor overloads (a ``names`` parameter) are left out: taimatsu has no named tensors.
    return [o for o in found if all(p.name not in ("self", "names") for p in o)]


def overloads(qualname: str) -> list[tuple[Param, ...]]:
    """PyTorch's overloads of ``qualname`` (``[]`` if PyTorch documents none)."""
    obj = _resolve(qualname)
    if obj is None:
        return []
    sig = from_python(obj) if inspect.isfunction(obj) else None
    if sig is not None and [p.kind for p in sig] != [VAR_POSITIONAL, VAR_KEYWORD]:
        # plain Python (nn.functional, a few torch.* and Tensor methods); a bare
        # ``(*args, **kwargs)`` dispatcher (F.max_pool2d) documents itself in its docstring
        return _drop_input([sig]) if qualname.startswith("torch.Tensor.") else [sig]
    if not (obj.__doc__ or "").strip():  # undocumented (torch.dropout, torch.selu, ...)
        return []
    return _stub_overloads(qualname) or documented(qualname)


def documented(qualname: str) -> list[tuple[Param, ...]]:
    """The overloads ``qualname``'s docstring states (through "See :func:`torch.x`")."""
    obj = _resolve(qualname)
    found = from_docstring(getattr(obj, "__doc__", None), qualname.rsplit(".", 1)[1])
    if not found and qualname.startswith("torch.Tensor."):
        see = _SEE.search(obj.__doc__ or "")
        if see and see.group(1) != qualname:
            found = _drop_input(documented(see.group(1)))
    return found


def pair(qualname: str):
    """The taimatsu object named like PyTorch's ``qualname`` (None where taimatsu lacks it)."""
    return _lookup(taimatsu, qualname)


def shared_names() -> list[str]:
    """Every public PyTorch name that taimatsu has too, as PyTorch qualified names."""
    names = []
    for tm_ns, torch_ns in NAMESPACES.items():
        try:
            tm_mod = functools.reduce(getattr, tm_ns.split(".")[1:], taimatsu)
        except AttributeError:  # a namespace not built yet (taimatsu.fft)
            continue
        torch_mod = _resolve(torch_ns)
        for name in sorted(dir(tm_mod)):
            if name.startswith("_") or not callable(getattr(torch_mod, name, None)):
                continue
            if callable(getattr(tm_mod, name)) and not inspect.isclass(getattr(tm_mod, name)):
                names.append(f"{torch_ns}.{name}")
    for name in sorted(vars(taimatsu.Tensor).keys() | _mixin_names()):
        if not name.startswith("_") and callable(getattr(torch.Tensor, name, None)) and \
                callable(getattr(taimatsu.Tensor, name, None)):
            names.append(f"torch.Tensor.{name}")
    return names


def _mixin_names() -> set[str]:
    return {n for cls in taimatsu.Tensor.__mro__ for n in vars(cls)}


def signatures() -> dict[str, list[tuple[Param, ...]]]:
    """``{qualname: overloads}`` for every shared name PyTorch documents a signature for."""
    out = {}
    for qualname in shared_names():
        found = overloads(qualname)
        if found:
            out[qualname] = found
    return out


def fmt(overload: tuple[Param, ...]) -> str:
    """An overload back as text, for messages: ``(input, dim, *, keepdim=False)``."""
    parts, star = [], False
    for p in overload:
        if p.kind == KEYWORD and not star:
            parts.append("*")
            star = True
        if p.kind == VAR_POSITIONAL:
            star = True
        prefix = {VAR_POSITIONAL: "*", VAR_KEYWORD: "**"}.get(p.kind, "")
        parts.append(prefix + p.name + ("" if p.default is None else f"={p.default}"))
    return "(" + ", ".join(parts) + ")"


def _self_test() -> None:
    assert parse_signature("input, other, *, alpha=1, out=None") == (
        Param("input", POSITIONAL, None), Param("other", POSITIONAL, None),
        Param("alpha", KEYWORD, "1"), Param("out", KEYWORD, "None"))
    assert parse_signature(r"*size, \*, dtype=None")[0] == Param("size", VAR_POSITIONAL, None)
    assert parse_signature("input, kernel_size=(1, 1)")[1].default == "(1, 1)"
    maxes = overloads("torch.max")
    assert [p.name for p in maxes[2]] == ["input", "dim", "keepdim", "out"], maxes
    assert len(maxes) == 3
    assert [p.name for p in from_docstring(torch.max.__doc__, "max")[1]] == [
        "input", "dim", "keepdim", "out"]
    assert [p.name for p in overloads("torch.Tensor.flip")[0]] == ["dims"]
    assert [p.name for p in overloads("torch.Tensor.mul")[0]] == ["other", "out"]
    assert [p.name for p in overloads("torch.linalg.cross")[0]] == ["input", "other", "dim", "out"]
    assert overloads("torch.Tensor.split")[0][0] == Param("split_size", POSITIONAL, None)
    assert overloads("torch.nn.functional.relu")[0][1] == Param("inplace", POSITIONAL, "False")


if __name__ == "__main__":
    _self_test()
    sigs = signatures()
    for q in shared_names():
        if q not in sigs:
            print("no documented signature:", q)
    print(f"{len(sigs)} shared names with documented signatures; self-test passed")
