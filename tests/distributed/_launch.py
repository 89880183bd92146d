"""Run a Python snippet on N MPI ranks and collect what each rank reports.

Tests of distributed code cannot run inside the pytest process: each check launches one job with
``mpirun -np N`` (or with taimatsu's torchrun-style launcher) and inspects the per-rank results.
A launch costs about a second on this machine, so put many checks into one snippet.

Usage::

    from tests.distributed._launch import launch, requires_mpi

    pytestmark = requires_mpi          # skips (with the reason) where mpirun/mpi4py are absent

    def test_rank_sum():
        res = launch('''
            import taimatsu as torch
            import taimatsu.distributed as dist
            dist.init_process_group("gloo")
            t = torch.tensor([float(dist.get_rank())])
            dist.all_reduce(t)
            result = {"rank": dist.get_rank(), "sum": t.item()}   # what this rank reports
        ''', nprocs=2)
        assert [r["sum"] for r in res.results] == [1.0, 1.0]

The snippet runs as ``__main__`` on every rank (``sys.argv`` is ``[snippet.py, *args]``). Whatever
it binds to the global name ``result`` (anything picklable; None if unset) comes back in
``LaunchResult.results[rank]``. An exception in a rank makes the job exit non-zero; ``launch``
then raises AssertionError with the job's output unless ``check=False``. A job running past
``timeout`` seconds is killed (its whole process group) and reported with ``timed_out=True``.

``launcher="run"`` starts the job with ``python -m taimatsu.distributed.run --nproc-per-node N``
instead of ``mpirun``; ``launcher_args`` are extra flags for the launcher (either kind) and
``env`` extra environment variables for every rank.
"""
from __future__ import annotations

import os
import pickle
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_OUT_VAR = "TAIMATSU_LAUNCH_OUT"

# Open MPI refuses root without --allow-run-as-root, and without --oversubscribe it refuses more
# ranks than cores (this machine has 2; tests use 4). Unbound ranks share the cores with others.
MPIRUN_FLAGS = ("--allow-run-as-root", "--oversubscribe", "--bind-to", "none")


def _skip_reason() -> str | None:
    if shutil.which("mpirun") is None:
        return "mpirun not found (install Open MPI: apt-get install openmpi-bin libopenmpi-dev)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py not installed (pip install 'taimatsu[mpi]')"
    return None


SKIP_REASON = _skip_reason()
requires_mpi = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


@dataclass
class LaunchResult:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    timed_out: bool
    results: list = field(default_factory=list)  # per rank: the snippet's `result`, or None

    def describe(self) -> str:
        state = "timed out" if self.timed_out else f"exit {self.returncode}"
        return (f"job {state} after {self.elapsed:.1f}s\n--- stdout ---\n{self.stdout}"
                f"\n--- stderr ---\n{self.stderr}")


def launch(code: str | None = None, nprocs: int = 2, *, script: str | None = None,
           args: tuple | list = (), timeout: float = 60.0, env: dict | None = None,
           launcher: str = "mpirun", launcher_args: tuple | list = (),
           check: bool = True) -> LaunchResult:
    """Run ``code`` (dedented source) or the file ``script`` on ``nprocs`` ranks (module doc)."""
    if (code is None) == (script is None):
        raise ValueError("launch needs exactly one of code= or script=")
    with tempfile.TemporaryDirectory(prefix="taimatsu-launch-") as tmp:
        if script is None:
            script = os.path.join(tmp, "snippet.py")
            with open(script, "w") as f:
                f.write(textwrap.dedent(code))
        rank_cmd = [sys.executable, "-m", "tests.distributed._launch", script, *map(str, args)]
        if launcher == "mpirun":
            cmd = ["mpirun", *MPIRUN_FLAGS, *launcher_args, "-np", str(nprocs), *rank_cmd]
        elif launcher == "run":
            cmd = [sys.executable, "-m", "taimatsu.distributed.run", "--nproc-per-node",
                   str(nprocs), *launcher_args, *rank_cmd[1:]]
        else:
            raise ValueError(f"launcher must be 'mpirun' or 'run', got {launcher!r}")
        path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
        full_env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=path)
        full_env.update(env or {})
        full_env[_OUT_VAR] = tmp
        start = time.monotonic()
        # A new session so that a timeout can kill mpirun and every rank it started, nothing else.
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        elapsed = time.monotonic() - start
        results = []
        for rank in range(nprocs):
            path = os.path.join(tmp, f"rank{rank}.pkl")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    results.append(pickle.load(f))
            else:
                results.append(None)
    res = LaunchResult(proc.returncode, out, err, elapsed, timed_out, results)
    if check and (timed_out or proc.returncode != 0):
        raise AssertionError(res.describe())
    return res


def _rank() -> int:
    for var in ("RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0


def _rank_main(argv: list[str]) -> None:
    """Per-rank entry: run the snippet as __main__ and save its `result` for the parent."""
    sys.argv = list(argv)
    scope = runpy.run_path(argv[0], run_name="__main__")
    out_dir = os.environ[_OUT_VAR]
    path = os.path.join(out_dir, f"rank{_rank()}.pkl")
    with open(path + ".tmp", "wb") as f:
        pickle.dump(scope.get("result"), f)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    _rank_main(sys.argv[1:])
