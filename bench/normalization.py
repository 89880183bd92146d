"""LayerNorm and BatchNorm2d, forward + backward, taimatsu vs PyTorch (same data, one run).

    python -m bench.run --only normalization      (with ``normalization`` in its WORKLOADS)
"""
from __future__ import annotations

import time

import numpy as np

import taimatsu
from bench.run import _row, interleave

try:
    import torch
except ImportError:
    torch = None

# (label, module factory, input shape): a transformer's LayerNorm (batch 16 x T 128, d 128)
# and a ResNet block's BatchNorm2d (batch 32, 64 channels, 32 x 32).
CASES = (
    ("LayerNorm(128) fwd+bwd (2048x128)", lambda nn: nn.LayerNorm(128), (16, 128, 128)),
    ("BatchNorm2d(64) fwd+bwd (32x64x32x32)", lambda nn: nn.BatchNorm2d(64), (32, 64, 32, 32)),
)


def _runner(lib, make, shape, steps):
    """``run() -> seconds`` per forward + backward of ``make(lib.nn)`` on fixed data."""
    lib.manual_seed(0)
    m = make(lib.nn)
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x = lib.tensor(data, requires_grad=True)
    g = lib.tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32))

    def run():
        start = time.perf_counter()
        for _ in range(steps):
            x.grad = None
            m.zero_grad()
            m(x).backward(g)
        return (time.perf_counter() - start) / steps

    run()  # warm-up
    return run


def bench(args) -> list[dict]:
    steps = 20 if not args.quick else 5
    rows = []
    for label, make, shape in CASES:
        cands = {"taimatsu": _runner(taimatsu, make, shape, steps)}
        if torch is not None:
            cands["pytorch"] = _runner(torch, make, shape, steps)
        rows.append(_row(label, interleave(cands, args.repeats), "ms/step", 1000))
    return rows
