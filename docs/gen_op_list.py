"""Write docs/ops.md, the list of ops and Tensor methods, from the code itself.

    .venv/bin/python docs/gen_op_list.py           # rewrite docs/ops.md
    .venv/bin/python docs/gen_op_list.py --check   # exit 1 if docs/ops.md is out of date

Functions come from the ``__all__`` of ``taimatsu/creation.py`` and of every public module in
``taimatsu/ops/``; Tensor methods from ``dir(taimatsu.Tensor)`` without private names, grouped by
the class (and so the family) that defines them.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
import types
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # this checkout's taimatsu, installed or not

import taimatsu
import taimatsu.ops

OUT = DOCS / "ops.md"

HEADER = """\
# Ops reference

Generated from the code by `.venv/bin/python docs/gen_op_list.py` (run from the repository
root); do not edit by hand. `--check` tells whether this page is out of date.

Every function below is `taimatsu.<name>`, with PyTorch's signature. The *method* column shows
where `x.<name>(...)` exists as a Tensor method, the *in-place* column `x.<name>_(...)`.
"""


def family_modules():
    """``(title, module)`` for creation.py and each public module of taimatsu/ops/."""
    yield "taimatsu/creation.py", importlib.import_module("taimatsu.creation")
    for info in sorted(pkgutil.iter_modules(taimatsu.ops.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield f"taimatsu/ops/{info.name}.py", importlib.import_module(
                f"taimatsu.ops.{info.name}")


def public_names(module) -> tuple[list[str], list[str]]:
    """The functions in ``module.__all__``, and its other public names (e.g. namespaces)."""
    names = sorted(getattr(module, "__all__", []))
    funcs = [n for n in names if callable(getattr(module, n))]
    return funcs, [n for n in names if n not in funcs]


def first_line(obj) -> str:
    """The first paragraph of ``obj``'s docstring on one line (a module's may span lines)."""
    doc = (inspect.getdoc(obj) or "").strip()
    text = " ".join(doc.split("\n\n")[0].split())
    return re.sub(r":\w+:`([^`]+)`", r"`\1`", text).replace("|", "\\|")  # Sphinx roles


def tensor_members() -> dict[str, list[tuple[str, bool]]]:
    """Public Tensor members grouped by the module of the class defining them:
    ``{module: [(name, is_attribute)]}``."""
    groups: dict[str, list[tuple[str, bool]]] = {}
    for name in sorted(n for n in dir(taimatsu.Tensor) if not n.startswith("_")):
        owner = next(c for c in taimatsu.Tensor.__mro__ if name in c.__dict__)
        raw = owner.__dict__[name]
        is_attr = not (callable(raw) or isinstance(raw, (staticmethod, classmethod)))
        groups.setdefault(owner.__module__, []).append((name, is_attr))
    return groups


def render() -> str:
    lines = [HEADER]
    methods = {n for n in dir(taimatsu.Tensor) if not n.startswith("_")}
    modules = list(family_modules())
    counted = set()
    for title, module in modules:
        names, others = public_names(module)
        counted.update(names + others)
        lines.append(f"\n## `{title}` ({len(names)} functions)\n")
        summary = first_line(module)
        if summary:
            lines.append(summary + "\n")
        if others:
            lines.append("Also exports " + ", ".join(f"`{n}`" for n in others) + ".\n")
        if not names:
            lines.append("No public functions (its Tensor methods are listed below).\n")
            continue
        lines.append("| function | method | in-place | summary |")
        lines.append("|---|---|---|---|")
        for n in names:
            meth = "yes" if n in methods else ""
            inplace = f"`{n}_`" if f"{n}_" in methods else ""
            lines.append(f"| `{n}` | {meth} | {inplace} | {first_line(getattr(module, n))} |")

    groups = tensor_members()
    total = sum(len(v) for v in groups.values())
    lines.append(f"\n## Tensor methods and attributes ({total})\n")
    lines.append("Grouped by the module whose class defines them; attributes (properties) are "
                 "in *italics*.\n")
    for mod in sorted(groups):
        items = groups[mod]
        shown = ", ".join(f"*`{n}`*" if attr else f"`{n}`" for n, attr in items)
        lines.append(f"- `{mod}` ({len(items)}): {shown}")

    top = sorted(n for n in dir(taimatsu) if not n.startswith("_") and n not in counted
                 and not isinstance(getattr(taimatsu, n), types.ModuleType)
                 and type(getattr(taimatsu, n)).__module__ != "__future__")  # annotations
    lines.append(f"\n## Other top-level names ({len(top)})\n")
    lines.append("dtypes, devices, grad modes, random-state functions and the like: "
                 + ", ".join(f"`{n}`" for n in top) + ".")
    subs = sorted(n for n in dir(taimatsu) if not n.startswith("_")
                  and isinstance(getattr(taimatsu, n), types.ModuleType)
                  and getattr(taimatsu, n).__name__.startswith("taimatsu."))
    lines.append("\nSubmodules: " + ", ".join(f"`taimatsu.{n}`" for n in subs) + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run .venv/bin/python docs/gen_op_list.py")
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
