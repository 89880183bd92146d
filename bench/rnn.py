"""Character LSTM language-model training step, taimatsu vs PyTorch CPU in one run.

    python -m bench.run --only rnn      (with ``"rnn": bench.rnn.bench`` in WORKLOADS)

Embedding 96 -> 64, 2-layer LSTM 256, batch 32, 64 steps, Linear head, cross_entropy, Adam.
"""
from __future__ import annotations

import numpy as np

import taimatsu

try:
    import torch
except ImportError:
    torch = None

VOCAB, EMBED, HIDDEN, LAYERS, BATCH, STEPS = 96, 64, 256, 2, 32, 64


def char_lstm_step(lib, seed: int = 0):
    """One training step of the character LM, built with ``lib`` (taimatsu or torch)."""
    nn = lib.nn
    lib.manual_seed(seed)

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.lstm = nn.LSTM(EMBED, HIDDEN, LAYERS, batch_first=True)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            out, _ = self.lstm(self.embed(x))
            return self.head(out)

    model = CharLM()
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, (BATCH, STEPS + 1))
    x, y = lib.tensor(tokens[:, :-1]), lib.tensor(tokens[:, 1:])

    def step():
        opt.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return step


def bench(args) -> list[dict]:
    from bench.run import _row, interleave, numpy_step_seconds

    steps = 3 if args.quick else 10
    # (numpy_step_seconds times any step function: one warm-up call, then ``steps`` calls)
    libs = {"taimatsu": taimatsu, "pytorch": torch} if torch is not None else {"taimatsu": taimatsu}
    cands = {name: (lambda lib=lib: numpy_step_seconds(char_lstm_step, steps, lib=lib))
             for name, lib in libs.items()}
    label = f"char LSTM LM {LAYERS}x{HIDDEN} b{BATCH} T{STEPS} Adam"
    return [_row(label, interleave(cands, args.repeats), "ms/step", 1000)]

