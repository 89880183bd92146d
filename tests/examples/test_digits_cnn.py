"""The digits CNN example trains: a couple of epochs already lift accuracy far above chance."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import taimatsu

pytest.importorskip("sklearn", reason="scikit-learn is not installed (the example's data)")

PATH = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn" / "train.py"


def test_digits_cnn_learns():
    spec = importlib.util.spec_from_file_location("digits_cnn_train", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc, _ = mod.train(taimatsu, epochs=2, progress=False)
    assert acc > 0.8  # chance is 0.1
