"""Data-parallel training of the digits CNN with DistributedDataParallel, on 1, 2 or 4 ranks.

    python -m taimatsu.distributed.run --nproc-per-node 2 examples/ddp_digits/train.py
    mpirun --allow-run-as-root --oversubscribe -np 4 python examples/ddp_digits/train.py
    python examples/ddp_digits/train.py --scaling 1,2,4      # launches each, prints a table

The model is examples/digits_cnn's, with its batch norms turned into ``SyncBatchNorm``; each
rank reads its shard of every epoch's shuffle through ``DistributedSampler`` and takes
``batch_size / world_size`` samples of each global batch, so every world size trains on the same
global batches: the accuracy is the same on 1, 2 and 4 ranks (up to dropout's random masks,
which differ per rank) and only the time per epoch changes. Rank 0 prints.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _digits_cnn():
    """examples/digits_cnn/train.py, for its data loader and model."""
    spec = importlib.util.spec_from_file_location("digits_cnn_train",
                                                  HERE.parent / "digits_cnn" / "train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def train(epochs: int, batch_size: int, lr: float, seed: int):
    """Train on the launched ranks; returns ``(test accuracy, seconds per epoch, rank,
    world size)``."""
    import taimatsu as torch
    import taimatsu.distributed as dist
    from taimatsu.nn.parallel import DistributedDataParallel
    from taimatsu.utils.data import DataLoader, TensorDataset
    from taimatsu.utils.data.distributed import DistributedSampler

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if batch_size % world:
        raise SystemExit(f"--batch-size {batch_size} must be divisible by the {world} ranks")
    cnn = _digits_cnn()
    x_train, x_test, y_train, y_test = cnn.load(seed)
    torch.manual_seed(seed + rank)  # other inits and dropout masks per rank:
    model = DistributedDataParallel(  # the wrap copies rank 0's weights to every rank
        torch.nn.SyncBatchNorm.convert_sync_batchnorm(cnn.build(torch)))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    data = TensorDataset(torch.tensor(x_train), torch.tensor(y_train))
    sampler = DistributedSampler(data, seed=seed, drop_last=True)
    loader = DataLoader(data, batch_size=batch_size // world, sampler=sampler)
    times = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        model.train()
        dist.barrier()
        start = time.perf_counter()
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        dist.barrier()
        times.append(time.perf_counter() - start)
        if rank == 0:
            print(f"epoch {epoch + 1}: {times[-1]:.2f} s", flush=True)
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor(x_test)).argmax(1).numpy()
    dist.destroy_process_group()
    return float((pred == y_test).mean()), times, rank, world


def scaling(ranks: list[int], argv: list[str]) -> list[tuple[int, float, float]]:
    """Launch this program on each number of ranks; ``(ranks, accuracy, s/epoch)`` rows."""
    rows = []
    for n in ranks:
        cmd = [sys.executable, "-m", "taimatsu.distributed.run", "--nproc-per-node", str(n),
               __file__, *argv]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [str(HERE.parents[1]), os.environ.get("PYTHONPATH")])))
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        acc, per_epoch = re.search(r"test accuracy ([\d.]+)%, ([\d.]+) s/epoch", out).groups()
        rows.append((n, float(acc) / 100, float(per_epoch)))
        print(f"{n} rank(s): test accuracy {float(acc):.2f}%, {float(per_epoch):.2f} s/epoch",
              flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64, help="global batch (all ranks)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scaling", help="comma-separated rank counts to launch in turn (1,2,4)")
    args = p.parse_args(argv)
    if args.scaling:
        scaling([int(n) for n in args.scaling.split(",")],
                ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr",
                 str(args.lr), "--seed", str(args.seed)])
        return 0
    acc, times, rank, world = train(args.epochs, args.batch_size, args.lr, args.seed)
    # The first epoch includes warm-up; the steady time per epoch is the mean of the others.
    steady = times[1:] or times
    if rank == 0:
        print(f"world size {world}: test accuracy {acc:.2%}, "
              f"{sum(steady) / len(steady):.2f} s/epoch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
