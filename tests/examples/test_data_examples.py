"""The data examples train, resume from their checkpoints, and explain missing data."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import taimatsu

pytest.importorskip("sklearn", reason="scikit-learn is not installed (the examples' data)")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FASHION = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
sys.path.insert(0, str(EXAMPLES))
import _common  # (the examples' shared helpers, found through the path above)


def run(example: str, *flags: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(EXAMPLES / example / "train.py"), "--no-progress",
                           *flags], check=False, capture_output=True, text=True, env=env,
                          timeout=120)


def final_accuracy(result: subprocess.CompletedProcess) -> float:
    assert result.returncode == 0, result.stderr
    return float(re.search(r"^test accuracy ([\d.]+)%$", result.stdout, re.MULTILINE).group(1)) / 100


def test_digits_mlp_learns(tmp_path):
    assert final_accuracy(run("digits_mlp", "--epochs", "2",
                              "--checkpoint", str(tmp_path / "c.pt"))) > 0.8  # chance: 0.1


def test_tabular_learns_with_workers(tmp_path):
    result = run("tabular", "--epochs", "2", "--workers", "2", "--checkpoint",
                 str(tmp_path / "c.pt"))
    assert final_accuracy(result) > 0.8  # always guessing the larger class: 0.63


def test_resume_continues_from_the_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    first = run("digits_mlp", "--epochs", "1", "--checkpoint", str(path))
    assert first.returncode == 0, first.stderr
    assert "resumed" not in first.stdout
    assert taimatsu.load(path)["epoch"] == 1
    second = run("digits_mlp", "--epochs", "2", "--checkpoint", str(path))
    assert second.returncode == 0, second.stderr
    assert "resumed from epoch 1" in second.stdout
    assert "epoch 1/2" not in second.stdout and "epoch 2/2" in second.stdout
    state = taimatsu.load(path)
    assert state["epoch"] == 2
    assert set(state) == {"epoch", "model", "optimizer", "scheduler"}
    assert state["scheduler"]["last_epoch"] == 2 * state["scheduler"]["T_0"] // 10
    whole = run("digits_mlp", "--epochs", "2", "--checkpoint", str(tmp_path / "whole.pt"))
    assert whole.returncode == 0, whole.stderr
    uninterrupted = taimatsu.load(tmp_path / "whole.pt")["model"]
    for key, value in state["model"].items():  # the same shuffles and dropout: the same weights
        assert taimatsu.equal(value, uninterrupted[key]), key


def test_fashion_mnist_missing_data_says_how_to_get_it(tmp_path):
    result = run("fashion_mnist", "--data", str(tmp_path))
    assert result.returncode == 2
    assert "apt-get install dataset-fashion-mnist" in result.stderr
    assert "--data" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not os.path.isfile(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")),
                    reason=f"Fashion-MNIST is not installed in {FASHION}")
def test_fashion_mnist_learns_on_a_subset(tmp_path):
    result = run("fashion_mnist", "--data", FASHION, "--epochs", "1", "--train-size", "1000",
                 "--test-size", "500", "--checkpoint", str(tmp_path / "c.pt"))
    assert final_accuracy(result) > 0.4  # chance: 0.1


def test_progress_falls_back_to_plain_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` fail
    assert list(_common.progress(range(20), "pass")) == list(range(20))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "pass: 2/20" and lines[-1] == "pass: 20/20" and len(lines) == 10
