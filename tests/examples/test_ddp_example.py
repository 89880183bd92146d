"""The DDP digits example trains on 2 ranks: one epoch already lifts accuracy far above chance."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.distributed._launch import launch, requires_mpi

pytest.importorskip("sklearn", reason="scikit-learn is not installed (the example's data)")
pytestmark = requires_mpi

PATH = Path(__file__).resolve().parents[2] / "examples" / "ddp_digits" / "train.py"


def test_ddp_digits_two_ranks():
    res = launch(script=str(PATH), nprocs=2, args=("--epochs", "2"), timeout=180)
    found = re.search(r"world size 2: test accuracy ([\d.]+)%, ([\d.]+) s/epoch", res.stdout)
    assert found, res.describe()
    assert float(found.group(1)) > 80  # chance is 10%
    # rank 0 alone prints
    assert re.findall(r"^epoch \d+", res.stdout, re.MULTILINE) == ["epoch 1", "epoch 2"]
