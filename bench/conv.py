"""Convolution workloads: a small CNN's training step and a ResNet-style block, taimatsu vs
PyTorch in one run, with the peak memory of each step.

    python -m bench.run --only conv          (once wired into bench/run.py's WORKLOADS)
"""
from __future__ import annotations

import os
import subprocess
import sys

import taimatsu
from bench.run import ROOT, _row, interleave, sgd_step, timed, torch


def _cnn(lib, batch=64):
    """Conv2d(1,32,3)-ReLU-Conv2d(32,64,3)-ReLU-MaxPool2d(2)-Flatten-Linear(9216,10), SGD."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 10))
    return sgd_step(lib, model, lib.randn(batch, 1, 28, 28), lib.randint(0, 10, (batch,)))


def _resnet_block(lib, batch=32, channels=64, size=32):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input, ReLU; SGD on the mean square."""
    nn = lib.nn
    lib.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x):
            out = self.bn1(self.conv1(x)).relu()
            return (self.bn2(self.conv2(out)) + x).relu()

    model = Block()
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x = lib.randn(batch, channels, size, size)

    def step():
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    return step


WORKLOADS = {"cnn b64 28x28 (conv-conv-pool-linear)": _cnn,
             "resnet block b32 64ch 32x32": _resnet_block}


_PEAK = """
import sys
sys.path.insert(0, {root!r})
import {lib} as lib
from bench.conv import WORKLOADS
if {lib!r} == "torch":
    lib.set_num_threads(1)

def rss(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024

step = WORKLOADS[{name!r}](lib)
step()
base = rss("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to the current RSS
for _ in range(3):
    step()
print(rss("VmHWM:") - base)
"""


def _peak_mib(lib: str, name: str) -> float:
    """Peak RSS above the settled state during three steps, in a fresh process (so one
    framework's allocator cache does not count against the other)."""
    code = _PEAK.format(root=str(ROOT), lib=lib, name=name)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, cwd=ROOT, env=env)
    if out.returncode:
        raise RuntimeError(f"peak-memory run of {name!r} on {lib} failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def bench(args) -> list[dict]:
    steps = 10 if not args.quick else 3
    rows = []
    for name, make in WORKLOADS.items():
        cands = {"taimatsu": timed(make(taimatsu), steps)}
        if torch is not None:
            cands["pytorch"] = timed(make(torch), steps)
        rows.append(_row(name, interleave(cands, args.repeats), "ms/step", 1000))
        mem = {"taimatsu": _peak_mib("taimatsu", name)}
        if torch is not None:
            mem["pytorch"] = _peak_mib("torch", name)
        rows.append(_row(f"{name}: peak", mem, "MiB", 1))
    return rows

