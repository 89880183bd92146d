"""Conformance with PyTorch's own signatures, read from PyTorch's argument-parser stubs and
docstrings (``tests/_torch_signatures.py``).

For every public name taimatsu shares with PyTorch (top level, ``Tensor`` methods,
``nn.functional``, ``linalg``, ``special``, ``fft``), taimatsu's one Python signature must accept
each PyTorch overload (see :func:`check` for the rule): parameter names, positional/keyword-only
split and defaults. A new function that deviates fails here the day it lands; ``out=`` is
checked on its own (``test_out_parameter``).
"""
from __future__ import annotations

import ast
import inspect

import pytest

from tests import _torch_signatures as ts
from tests.helpers import needs_torch

pytestmark = needs_torch

SIGS = ts.signatures() if ts.torch is not None else {}

# Overloads that PyTorch documents wrongly, or that no single Python signature can take.
EXCEPTIONS = {
    "torch.Tensor.uniform_": "PyTorch's parameters are named ``from`` and ``to``; ``from`` is a "
                             "Python keyword, so no Python signature can have it (the stub's "
                             "``from_`` is refused by PyTorch itself); ours are ``a``, ``b``",
    "torch.linspace": "the stub's ``steps=None`` overload is refused by PyTorch itself "
                      "(``torch.linspace(0, 1)`` raises) and the docstring omits pin_memory, "
                      "which PyTorch takes",
    "torch.logspace": "as torch.linspace: the stub's ``steps=None`` is refused by PyTorch, the "
                      "docstring omits pin_memory",
    "torch.special.round": "PyTorch's stub and docstring omit ``decimals``, which "
                           "torch.special.round takes (``special.round(t, decimals=1)`` works)",
}

# Parameters whose default is None in taimatsu where PyTorch documents a value: None stands for
# "not given", so that the call can be told apart from one giving the value (PyTorch's own
# parser does the same, natively).
SENTINEL_DEFAULTS = {
    "unbiased": "std/var(unbiased=...) and correction= together are PyTorch's error; unbiased "
                "not given means correction=1, PyTorch's documented unbiased=True",
}

# Mismatches in files this test's author does not own, with the change each needs; a name
# leaves this list when fixed (the test fails for a listed name that conforms).
PENDING: dict[str, str] = {}

# Names whose PyTorch signature has ``out=`` but taimatsu's does not yet (issue 13's out= part:
# H7 removes a name here when its out= lands; the test fails for a listed name that has it).
OUT_PENDING = {
    # nn/functional/normalization.py: its own ``out=None`` must become ``@out_variant`` (cast)
    "torch.nn.functional.normalize",
}


# PyTorch defaults that mean what ``None`` means there (the parser takes ``None`` for them)
_MEANS_NONE = {"torch.strided", "strided", "torch.preserve_format"}


def _value(text: str):
    """A default's value for comparison: literals parsed, dtypes/layouts by their bare name."""
    text = text.replace("torch.", "").replace("taimatsu.", "")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _same_default(name: str, torch_text: str, ours) -> bool:
    if ours is inspect.Parameter.empty:
        return False
    if torch_text == "...":  # the stub does not say which
        return True
    if ours is None and (torch_text in _MEANS_NONE or name in SENTINEL_DEFAULTS):
        return True
    want = _value(torch_text)
    got = ours if isinstance(ours, (int, float, str, bool, type(None), tuple, list)) \
        else _value(repr(ours))
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        return list(want) == list(got)
    return type(want) is type(got) and want == got or (
        not isinstance(want, bool) and not isinstance(got, bool)
        and isinstance(want, (int, float)) and isinstance(got, (int, float)) and want == got)


def _ours(qualname: str) -> list[inspect.Parameter]:
    params = list(inspect.signature(ts.pair(qualname)).parameters.values())
    return params[1:] if qualname.startswith("torch.Tensor.") else params


def _without_out(overloads):
    return [tuple(p for p in o if p.name != "out") for o in overloads]


def check(overloads, ours: list[inspect.Parameter]) -> list[str]:
    """What in ``overloads`` (one PyTorch overload set) the signature ``ours`` does not accept.

    One Python signature covers an overload set when:
    - each overload's positional parameters sit at the same positions in ours (or in ours'
      ``*args``); where the overloads put different names at one position (``max(input, dim)``
      and ``max(input, other)``: PyTorch picks by argument type), ours may use any of them;
    - a name keyword-only in every overload is keyword-only in ours, one positional in every
      overload positional in ours;
    - each PyTorch default is ours (ours may also default a parameter some overload omits);
    - ours requires nothing an overload lacks and has no parameter no overload has.
    """
    by_name = {p.name: p for p in ours if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    positional = [p for p in ours if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind == p.VAR_POSITIONAL for p in ours)
    var_kw = any(p.kind == p.VAR_KEYWORD for p in ours)
    at = {}  # position -> the names the overloads give it
    for o in overloads:
        for i, p in enumerate(q for q in o if q.kind == ts.POSITIONAL):
            at.setdefault(i, set()).add(p.name)
    problems = []
    for o in overloads:
        sig = ts.fmt(o)
        pos = [p for p in o if p.kind == ts.POSITIONAL]
        for i, p in enumerate(pos):
            slot = positional[i].name if i < len(positional) else None
            if slot == p.name:
                continue
            if len(at[i]) > 1 and (slot in at[i] or (slot is None and var_pos)):
                continue  # a type-resolved alternative at a position ours has
            if slot is None and var_pos and p.name not in by_name:
                continue  # taken by ours' *args
            problems.append(f"{sig}: positional {p.name!r} is not at position {i} in ours")
        for p in o:
            if p.kind == ts.VAR_POSITIONAL:
                if not var_pos:
                    problems.append(f"{sig}: ours takes no *{p.name}")
                continue
            if p.kind == ts.VAR_KEYWORD:
                if not var_kw:
                    problems.append(f"{sig}: ours takes no **{p.name}")
                continue
            mine = by_name.get(p.name)
            if mine is None:
                alternative = p.kind == ts.POSITIONAL and any(
                    len(names) > 1 and p.name in names for names in at.values())
                if not (var_kw or alternative or (p.kind == ts.POSITIONAL and var_pos)):
                    problems.append(f"{sig}: ours has no parameter {p.name!r}")
                continue
            if p.default is not None and not _same_default(p.name, p.default, mine.default):
                problems.append(f"{sig}: default of {p.name!r} is {mine.default!r} in ours")
        names = {p.name for p in o}
        for i, mine in enumerate(positional):
            if mine.default is mine.empty and mine.name not in names and i >= len(pos):
                problems.append(f"{sig}: ours requires {mine.name!r}")
        for mine in ours:
            if mine.kind == mine.KEYWORD_ONLY and mine.default is mine.empty \
                    and mine.name not in names:
                problems.append(f"{sig}: ours requires {mine.name!r}")
    torch_names = {p.name for o in overloads for p in o}
    for mine in ours:
        if mine.kind in (mine.VAR_POSITIONAL, mine.VAR_KEYWORD) or mine.name == "out":
            continue
        if mine.name not in torch_names:
            problems.append(f"ours has {mine.name!r}, which no PyTorch overload has")
            continue
        kinds = {p.kind for o in overloads for p in o if p.name == mine.name}
        if kinds == {ts.KEYWORD} and mine.kind != mine.KEYWORD_ONLY:
            problems.append(f"{mine.name!r} is keyword-only in PyTorch, positional in ours")
        alternative = any(len(names) > 1 and mine.name in names for names in at.values())
        if ts.KEYWORD not in kinds and mine.kind == mine.KEYWORD_ONLY and not alternative:
            problems.append(f"{mine.name!r} is positional in PyTorch, keyword-only in ours")
    return sorted(set(problems))


def mismatches(qualname: str) -> list[str]:
    """``check`` against PyTorch's parser stubs, or else against its docstring.

    Each source is wrong in places: the docstrings of many ``Tensor`` methods (``mul(value)``
    where the parser takes ``other``), the stubs of a few hand-written functions
    (``tensor(data, dtype=None, ...)`` positional where PyTorch's ``tensor`` takes one
    positional argument). A signature that accepts either one of PyTorch's own statements of
    the overload set conforms; the stub's objections are reported.
    """
    ours = _ours(qualname)
    problems = check(_without_out(SIGS[qualname]), ours)
    if problems:
        doc = ts.documented(qualname)
        if doc and not check(_without_out(doc), ours):
            return []
    return problems


def test_parser_self_test():
    ts._self_test()


@pytest.mark.parametrize("qualname", sorted(SIGS))
def test_signature(qualname):
    if qualname in EXCEPTIONS:
        pytest.skip(EXCEPTIONS[qualname])
    problems = mismatches(qualname)
    if qualname in PENDING:
        assert problems, f"{qualname} conforms now: remove it from PENDING"
        pytest.xfail(PENDING[qualname])
    assert not problems, f"{qualname}{inspect.signature(ts.pair(qualname))}:\n" + "\n".join(
        problems)


def test_exception_list_is_short_and_live():
    assert len(EXCEPTIONS) + len(SENTINEL_DEFAULTS) < 10
    for qualname in EXCEPTIONS:
        assert qualname in SIGS and mismatches(qualname), f"{qualname} needs no exception"


_WITH_OUT = sorted(q for q, o in SIGS.items() if any(p.name == "out" for ov in o for p in ov))


@pytest.mark.parametrize("qualname", _WITH_OUT)
def test_out_parameter(qualname):
    mine = {p.name: p for p in _ours(qualname)}.get("out")
    has_out = mine is not None and mine.kind == mine.KEYWORD_ONLY and mine.default is None
    if qualname in OUT_PENDING:
        assert not has_out, f"{qualname} has out= now: remove it from OUT_PENDING"
    else:
        assert has_out, f"{qualname} lacks PyTorch's keyword-only out=None"
