"""Run every ```python block of every docs/*.md; exit 1 if any fails.

    .venv/bin/python docs/check_examples.py              # all pages
    .venv/bin/python docs/check_examples.py docs/nn.md   # some pages

Each block runs on its own in a fresh interpreter (so seeds, the default dtype and grad mode
never leak from one block to the next), with ``import taimatsu as torch`` prepended when the
block does not have that line itself. Blocks are self-checking: they use ``assert`` for the
claims the text makes, and a block followed directly by a ```text block must print exactly that
text (how the pages show exact error messages).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
OUTPUT = re.compile(r"\s*^```text[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
IMPORT = "import taimatsu as torch\n"


def blocks(path: Path):
    """``(line number, code, expected output or None)`` of each python block in ``path``."""
    text = path.read_text(encoding="utf-8")
    for m in FENCE.finditer(text):
        out = OUTPUT.match(text, m.end())
        yield (text.count("\n", 0, m.start(1)) + 1, m.group(1),
               out.group(1).strip() if out else None)


def prepare(code: str) -> str:
    if re.search(r"^import taimatsu as torch\s*$", code, re.MULTILINE):
        return code
    return IMPORT + code


def run(path: Path, line: int, code: str, expected: str | None):
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", prepare(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode == 0 and expected is not None and proc.stdout.strip() != expected:
        return path, line, 1, f"printed:\n{proc.stdout.strip()}\nexpected:\n{expected}"
    return path, line, proc.returncode, output


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    paths = [Path(a).resolve() for a in argv if a != "-v"] or sorted(DOCS.glob("*.md"))
    jobs = [(p, *block) for p in paths for block in blocks(p)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        results = list(pool.map(lambda j: run(*j), jobs))
    failed = 0
    for path, line, rc, output in results:
        where = f"{path.relative_to(ROOT)}:{line}"
        if rc != 0:
            failed += 1
            print(f"FAIL {where}\n{output.rstrip()}\n")
        elif verbose:
            print(f"ok   {where}")
    per_page = {}
    for path, *_ in results:
        per_page[path.name] = per_page.get(path.name, 0) + 1
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(per_page.items()))
    print(f"{len(results) - failed}/{len(results)} examples passed in "
          f"{time.perf_counter() - start:.1f} s ({counts})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
