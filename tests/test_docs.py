"""The documentation's examples run, and the op list is current with the code."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_docs_example_runs():
    out = subprocess.run([sys.executable, str(DOCS / "check_examples.py")], capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_op_list_is_current():
    out = subprocess.run([sys.executable, str(DOCS / "gen_op_list.py"), "--check"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
