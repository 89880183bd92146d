"""Transformer workloads, taimatsu vs PyTorch in one run: a tiny GPT training step and an
``nn.TransformerEncoderLayer`` training step.

    python -m bench.transformer [--quick]     (or through bench.run once wired)
"""
from __future__ import annotations

import types
from functools import partial
from pathlib import Path

import taimatsu
from bench.run import _row, interleave, numpy_step_seconds

try:
    import torch
except ImportError:
    torch = None

GPT_SOURCE = Path(__file__).resolve().parent.parent / "examples" / "tiny_gpt" / "model.py"


def gpt_module(lib):
    """examples/tiny_gpt/model.py run against ``lib``: the same program, the other import."""
    src = GPT_SOURCE.read_text()
    if lib is not taimatsu:
        src = src.replace("import taimatsu as torch", "import torch")
    mod = types.ModuleType(f"tiny_gpt_model_{lib.__name__}")
    exec(compile(src, str(GPT_SOURCE), "exec"), mod.__dict__)  # noqa: S102 - our own example
    return mod


def gpt_step(lib, vocab=96, T=128, batch=16):
    """One AdamW step of the tiny GPT: 2 pre-norm blocks, d 128, 4 heads, causal SDPA, GELU
    (GPT-2's tanh form), weight-tied head."""
    lib.manual_seed(0)
    model = gpt_module(lib).GPT(vocab, T, d_model=128, n_head=4, n_layer=2)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    x = lib.randint(0, vocab, (batch, T))
    y = lib.randint(0, vocab, (batch, T))

    def step():
        opt.zero_grad()
        loss = model(x, y)
        loss.backward()
        opt.step()
    return step


def encoder_layer_step(lib, d=128, heads=4, ff=512, T=64, batch=32):
    """One Adam step of ``nn.TransformerEncoderLayer`` (default dropout 0.1, batch first)."""
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(d, heads, ff, batch_first=True)
    opt = lib.optim.Adam(layer.parameters(), lr=1e-3)
    x = lib.randn(batch, T, d)
    target = lib.randn(batch, T, d)

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.mse_loss(layer(x), target)
        loss.backward()
        opt.step()
    return step


def bench(args) -> list[dict]:
    steps = 10 if not args.quick else 3
    rows = []
    for label, make in (("tiny GPT step (2 blocks, d128, T128, b16)", gpt_step),
                        ("TransformerEncoderLayer step (d128, T64, b32)", encoder_layer_step)):
        # numpy_step_seconds builds the step (untimed), runs it once, then times ``steps``.
        libs = {"taimatsu": taimatsu} | ({"pytorch": torch} if torch is not None else {})
        cands = {name: partial(numpy_step_seconds, partial(make, lib), steps)
                 for name, lib in libs.items()}
        rows.append(_row(label, interleave(cands, args.repeats), "ms/step", 1000))
    return rows


if __name__ == "__main__":
    import argparse

    from bench.run import format_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    if torch is not None:
        torch.set_num_threads(1)
    print(format_table(bench(a)))
