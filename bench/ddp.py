"""DDP's overlap at 2 ranks: backward time without communication, with DDP's bucketed
all-reduces started from the gradient hooks, and with one all-reduce after backward.

    python -m bench.run --only ddp          (with ``ddp`` in its WORKLOADS)
    python bench/ddp.py                     (the table alone)

The ranks run under ``python -m taimatsu.distributed.run`` (mpirun); rank 0 times each variant
in turn (interleaved rounds, the median) on an MLP of 4 x Linear(1024, 1024) (16 MiB of float32
gradients, several 4 MiB buckets) with a batch of 32 per rank.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, LAYERS, BATCH = 1024, 4, 32
VARIANTS = {
    "no_comm": "DDP backward, 2 ranks, no communication (no_sync)",
    "overlap": "DDP backward, 2 ranks, bucketed all-reduce overlapping backward",
    "after": "backward, 2 ranks, then one all-reduce of every gradient (no overlap)",
}


def _worker(steps: int, repeats: int) -> None:
    import taimatsu
    import taimatsu.distributed as dist
    from bench.run import interleave
    from taimatsu.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo")
    taimatsu.manual_seed(0)
    net = taimatsu.nn.Sequential(*[m for _ in range(LAYERS) for m in
                                   (taimatsu.nn.Linear(WIDTH, WIDTH), taimatsu.nn.Tanh())])
    model = DistributedDataParallel(net, bucket_cap_mb=4)
    x = taimatsu.randn(BATCH, WIDTH)

    def timed(variant):
        def run():
            total = 0.0
            for _ in range(steps):
                model.zero_grad()
                ctx = model.no_sync() if variant != "overlap" else contextlib.nullcontext()
                with ctx:
                    loss = model(x).square().mean()
                    dist.barrier()
                    start = time.perf_counter()
                    loss.backward()
                if variant == "after":
                    flat = taimatsu.cat([p.grad.reshape(-1) for p in model.parameters()])
                    dist.all_reduce(flat)
                total += time.perf_counter() - start
            return total / steps
        return run

    res = interleave({k: timed(k) for k in VARIANTS}, repeats)
    if dist.get_rank() == 0:
        print("RESULT " + json.dumps(res), flush=True)
    dist.destroy_process_group()


def bench(args) -> list[dict]:
    from bench.run import _row

    steps, repeats = (3, 2) if args.quick else (10, args.repeats or 5)
    cmd = [sys.executable, "-m", "taimatsu.distributed.run", "--nproc-per-node", "2",
           __file__, "--worker", str(steps), str(repeats)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    res = json.loads(line[len("RESULT "):])
    return [_row(label, {"taimatsu": res[k]}, "ms", 1000) for k, label in VARIANTS.items()]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        import argparse

        from bench.run import format_table

        rows = bench(argparse.Namespace(quick="--quick" in sys.argv, repeats=None))
        print(format_table(rows))
