"""All-reduce time on 2 ranks: taimatsu.distributed vs mpi4py on NumPy arrays (the floor, in the
"numpy" column) vs PyTorch's gloo backend, for 16 B, 1, 10 and 40 MB of float32.

    python -m bench.run --only distributed      (once wired into bench/run.py's WORKLOADS)
    python -m bench.distributed                 (prints the rows)

``bench`` starts a 2-rank job with taimatsu's launcher; each rank runs ``rank_main`` below, which
times the three all-reduces interleaved (the same sizes, the same order on both ranks).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from functools import partial

import numpy as np

# (label, float32 elements, calls per timing, unit, seconds -> unit); 16 B shows the per-call cost
SIZES = (("16 B", 4, 500, "us", 1e6), ("1 MB", 2**18, 40, "ms", 1e3),
         ("10 MB", 10 * 2**18, 4, "ms", 1e3), ("40 MB", 40 * 2**18, 2, "ms", 1e3))


def rank_main(out: str, repeats: int) -> None:
    from mpi4py import MPI

    import taimatsu
    import taimatsu.distributed as dist
    from bench.run import _row, interleave, timed, torch

    dist.init_process_group("gloo")
    comm, rank = MPI.COMM_WORLD, dist.get_rank()
    if torch is not None:
        port = comm.bcast(29400 + os.getpid() % 500 if rank == 0 else None, root=0)
        torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                             rank=rank, world_size=dist.get_world_size())
    rows = []
    for label, n, calls, unit, scale in SIZES:
        arr = np.ones(n, np.float32)
        t = taimatsu.ones(n)
        candidates = {"taimatsu": partial(dist.all_reduce, t),
                      "numpy": partial(comm.Allreduce, MPI.IN_PLACE, arr)}
        if torch is not None:
            candidates["pytorch"] = partial(torch.distributed.all_reduce, torch.ones(n))
        # each timing starts with an untimed all-reduce, which also lines the two ranks up
        res = interleave({k: timed(fn, calls) for k, fn in candidates.items()}, repeats)
        rows.append(_row(f"all_reduce {label} float32, 2 ranks", res, unit, scale))
    if rank == 0:
        with open(out, "w") as f:
            json.dump(rows, f)
    if torch is not None:
        torch.distributed.destroy_process_group()
    dist.destroy_process_group()


def bench(args) -> list[dict]:
    repeats = 3 if args.quick else 7
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS",
                                                                               "1"))
        subprocess.run([sys.executable, "-m", "taimatsu.distributed.run", "--nproc-per-node",
                        "2", "-m", "bench.distributed", "--rank", out, str(repeats)],
                       cwd=root, env=env, check=True, timeout=600)
        with open(out) as f:
            return json.load(f)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rank"]:
        rank_main(sys.argv[2], int(sys.argv[3]))
    else:
        from types import SimpleNamespace

        from bench.run import format_table

        print(format_table(bench(SimpleNamespace(quick="--quick" in sys.argv))))
