"""Loss workloads (forward + backward of one loss), taimatsu vs PyTorch in one run: CTC (a
dynamic programme over time) and the class-hinge losses (pairwise terms per sample).

    python -m bench.run --only loss          (once wired into bench/run.py's WORKLOADS)
"""
from __future__ import annotations

import numpy as np

import taimatsu
from bench.run import _row, interleave, timed, torch


def _ctc(lib, steps=100, batch=32, classes=30, target_len=30):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((steps, batch, classes)).astype(np.float32),
                   requires_grad=True)
    targets = lib.tensor(rng.integers(1, classes, (batch, target_len)))
    in_lens = lib.tensor(np.full(batch, steps))
    tg_lens = lib.tensor(rng.integers(target_len // 3, target_len + 1, batch))

    def step():
        x.grad = None
        lib.nn.functional.ctc_loss(x.log_softmax(2), targets, in_lens, tg_lens).backward()

    return step


def _multi_margin(lib, batch=256, classes=100):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, classes)).astype(np.float32), requires_grad=True)
    target = lib.tensor(rng.integers(0, classes, batch))

    def step():
        x.grad = None
        lib.nn.functional.multi_margin_loss(x, target, p=2).backward()

    return step


def _multilabel_margin(lib, batch=64, classes=50, labels=5):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, classes)).astype(np.float32), requires_grad=True)
    target = np.full((batch, classes), -1)
    target[:, :labels] = np.argsort(rng.random((batch, classes)), 1)[:, :labels]
    target = lib.tensor(target)

    def step():
        x.grad = None
        lib.nn.functional.multilabel_margin_loss(x, target).backward()

    return step


def bench(args) -> list[dict]:
    n = 10 if not args.quick else 3
    rows = []
    for label, make in [("ctc_loss T100 N32 C30 S30 fwd+bwd", _ctc),
                        ("multi_margin_loss p=2 256x100 fwd+bwd", _multi_margin),
                        ("multilabel_margin_loss 64x50 fwd+bwd", _multilabel_margin)]:
        cands = {"taimatsu": timed(make(taimatsu), n)}
        if torch is not None:
            cands["pytorch"] = timed(make(torch), n)
        rows.append(_row(label, interleave(cands, args.repeats), "ms", 1000))
    return rows
