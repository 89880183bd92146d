"""Per-rank trampoline of the launcher: set torchrun's per-rank variables, then exec the program.

    mpirun -np N python -m taimatsu.distributed._worker python train.py ...

Open MPI tells each process its place (OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_LOCAL_RANK); the
program sees them as RANK, LOCAL_RANK, GROUP_RANK and ROLE_RANK, exactly as under torchrun. The
exec keeps the process (and so its MPI identity): MPI is initialised later, by the program.
"""
from __future__ import annotations

import os
import sys


def rank_env(environ) -> dict[str, str]:
    rank = int(environ["OMPI_COMM_WORLD_RANK"])
    per_node = int(environ.get("TAIMATSU_NPROC_PER_NODE") or environ["OMPI_COMM_WORLD_LOCAL_SIZE"])
    env = {"RANK": str(rank), "LOCAL_RANK": environ["OMPI_COMM_WORLD_LOCAL_RANK"],
           "GROUP_RANK": environ.get("TAIMATSU_NODE_RANK", str(rank // per_node)),
           "ROLE_RANK": str(rank)}
    # Started by plain mpirun (not the launcher): fill in the job-wide variables too.
    size = environ["OMPI_COMM_WORLD_SIZE"]
    for var, value in (("WORLD_SIZE", size), ("ROLE_WORLD_SIZE", size),
                       ("LOCAL_WORLD_SIZE", environ["OMPI_COMM_WORLD_LOCAL_SIZE"]),
                       ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500")):
        if var not in environ:
            env[var] = value
    return env


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: mpirun -np N python -m taimatsu.distributed._worker PROGRAM [ARGS...]")
    if "OMPI_COMM_WORLD_RANK" not in os.environ:
        sys.exit("taimatsu.distributed._worker runs under mpirun (Open MPI), which sets "
                 "OMPI_COMM_WORLD_RANK; start it with python -m taimatsu.distributed.run")
    os.environ.update(rank_env(os.environ))
    if os.environ.get("TAIMATSU_LOCAL_RANK_ARG") == "1":  # taimatsu.distributed.launch's way
        argv = [*argv, f"--local-rank={os.environ['LOCAL_RANK']}"]
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        sys.exit(f"taimatsu.distributed._worker: cannot run {argv[0]!r}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
