"""Padding and resampling workloads: forward + backward of F.pad (reflect), F.interpolate
(nearest, bilinear) and F.grid_sample, taimatsu vs PyTorch in one run.

    python -m bench.run --only resample      (once wired into bench/run.py's WORKLOADS)
    python -m bench.resample [--quick]       (standalone)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import taimatsu
from bench.run import _row, interleave, torch

WORKLOADS = {
    "pad reflect 2 (32,32,32,32)": (
        (32, 32, 32, 32), lambda F, x: F.pad(x, (2, 2, 2, 2), mode="reflect")),
    "interpolate nearest x2 (16,32,32,32)": (
        (16, 32, 32, 32), lambda F, x: F.interpolate(x, scale_factor=2)),
    "interpolate bilinear x2 (16,32,32,32)": (
        (16, 32, 32, 32), lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear")),
    "grid_sample bilinear (8,16,32,32)": (
        (8, 16, 32, 32), None),
}


def _warp(lib, F, x):
    theta = lib.tensor([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]]] * x.shape[0])
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def _step(lib, shape, fn, steps):
    F = lib.nn.functional
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x = lib.tensor(data, requires_grad=True)

    def once():
        y = fn(F, x) if fn is not None else _warp(lib, F, x)
        y.sum().backward()
        x.grad = None

    def run():
        once()
        start = time.perf_counter()
        for _ in range(steps):
            once()
        return (time.perf_counter() - start) / steps

    return run


def bench(args) -> list[dict]:
    steps = 3 if args.quick else 10
    rows = []
    for label, (shape, fn) in WORKLOADS.items():
        cands = {"taimatsu": _step(taimatsu, shape, fn, steps)}
        if torch is not None:
            cands["pytorch"] = _step(torch, shape, fn, steps)
        rows.append(_row(label, interleave(cands, args.repeats), "ms/step", 1000))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    from bench.run import format_table

    print(format_table(bench(parser.parse_args())))
