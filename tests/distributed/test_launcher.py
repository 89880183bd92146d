"""The launcher (python -m taimatsu.distributed.run), plain mpirun, failures, timeouts, spawn."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from taimatsu.distributed import run as launcher
from tests.distributed._launch import MPIRUN_FLAGS, ROOT, launch, requires_mpi

pytestmark = requires_mpi

_ENV_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
             "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID")


def _run(cmd: list[str], env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``cmd`` from the repository root, outside any MPI job (no OMPI_* variables)."""
    env = {k: v for k, v in env.items() if not k.startswith("OMPI_")}
    return subprocess.run(cmd, check=False, cwd=ROOT, env=dict(env, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=timeout)


def _python(code: str, env: dict | None = None):
    """Run ``code`` in a plain (not MPI-launched) Python process."""
    full_env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
    return _run([sys.executable, "-c", textwrap.dedent(code)],
                dict(full_env, OMP_NUM_THREADS="1", **(env or {})))


def _reports(tmp_path) -> list[str]:
    """What each rank wrote to its own file under ``tmp_path / "out"`` (REPORT_DIR): mpirun may
    interleave the ranks' stdout, even within a line."""
    return sorted(p.read_text() for p in (tmp_path / "out").iterdir())


def _report_env(tmp_path, env: dict) -> dict:
    (tmp_path / "out").mkdir()
    return dict(env, REPORT_DIR=str(tmp_path / "out"))


# a rank's program: report(text) writes text to REPORT_DIR/<RANK>
_REPORT = ("import os\ndef report(text, rank=None):\n"
           "    name = os.environ['RANK'] if rank is None else str(rank)\n"
           "    with open(os.path.join(os.environ['REPORT_DIR'], name), 'w') as f:\n"
           "        f.write(text)\n")


def test_launcher_sets_torchrun_environment():
    res = launch('''
        import os, sys
        import taimatsu.distributed as dist
        env = {k: os.environ.get(k) for k in ENV_VARS}
        dist.init_process_group("gloo")
        result = {"env": env, "argv": sys.argv[1:], "rank": dist.get_rank(),
                  "size": dist.get_world_size(), "elastic": dist.is_torchelastic_launched(),
                  "omp": os.environ.get("OMP_NUM_THREADS")}
    '''.replace("ENV_VARS", repr(_ENV_VARS)), nprocs=2, launcher="run", args=("--lr", "0.1"),
                 launcher_args=("--master-port", "29611", "--master_addr", "10.1.2.3"),
                 env={"OMP_NUM_THREADS": "1"})
    run_ids = set()
    for rank, r in enumerate(res.results):
        env = r["env"]
        assert r["rank"] == rank and r["size"] == 2 and r["elastic"]
        assert env["RANK"] == env["LOCAL_RANK"] == env["ROLE_RANK"] == str(rank)
        assert env["WORLD_SIZE"] == env["LOCAL_WORLD_SIZE"] == env["ROLE_WORLD_SIZE"] == "2"
        assert env["GROUP_RANK"] == "0"
        assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("10.1.2.3", "29611")
        assert r["argv"] == ["--lr", "0.1"]
        run_ids.add(env["TORCHELASTIC_RUN_ID"])
    assert len(run_ids) == 1


def test_launcher_runs_a_script_file(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_REPORT + textwrap.dedent('''
        import sys
        import taimatsu as torch
        import taimatsu.distributed as dist
        dist.init_process_group(backend="gloo", init_method="env://")
        t = torch.tensor([float(dist.get_rank() + 1)])
        dist.all_reduce(t)
        report(f"rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']}: {t.item()} "
               f"{sys.argv[1:]} {os.environ['OMP_NUM_THREADS']}")
    '''))
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)  # the launcher sets 1 for several ranks, as torchrun does
    out = _run([sys.executable, "-m", "taimatsu.distributed.run", "--nproc_per_node=2",
                "--standalone", str(script), "x"], _report_env(tmp_path, env))
    assert out.returncode == 0, out.stderr
    assert _reports(tmp_path) == [f"rank {k} of 2: 3.0 ['x'] 1" for k in range(2)]


def test_mpirun_with_the_worker_sets_torchrun_variables(tmp_path):
    """The multi-node recipe: mpirun starts every rank through taimatsu.distributed._worker."""
    script = tmp_path / "show.py"
    script.write_text(_REPORT + f"report(' '.join(os.environ[k] for k in {_ENV_VARS[:7]!r}))\n")
    env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
    out = _run(["mpirun", *MPIRUN_FLAGS, "-np", "2", sys.executable, "-m",
                "taimatsu.distributed._worker", sys.executable, str(script)],
               _report_env(tmp_path, env))
    assert out.returncode == 0, out.stderr
    assert _reports(tmp_path) == [f"{k} {k} 2 2 0 {k} 2" for k in range(2)]
    from taimatsu.distributed._worker import rank_env

    env = rank_env({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
                    "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"})
    assert env == {"RANK": "3", "LOCAL_RANK": "1", "GROUP_RANK": "1", "ROLE_RANK": "3",
                   "WORLD_SIZE": "4", "ROLE_WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2",
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


def test_a_raising_rank_ends_the_job():
    res = launch('''
        import time
        import taimatsu as torch
        import taimatsu.distributed as dist
        dist.init_process_group("gloo")
        if dist.get_rank() == 1:
            raise ValueError("rank 1 fails")
        dist.all_reduce(torch.ones(2))  # rank 0 would wait here forever
        time.sleep(60)
    ''', nprocs=2, launcher="run", check=False, timeout=60)
    assert res.returncode != 0 and not res.timed_out, res.describe()
    assert res.elapsed < 30, res.describe()
    assert "[rank1]: ValueError: rank 1 fails" in res.stderr, res.describe()


def test_a_rank_failing_before_init_ends_the_job():
    res = launch('''
        import os
        import taimatsu.distributed as dist
        if os.environ["OMPI_COMM_WORLD_RANK"] == "1":
            raise SystemExit(3)
        dist.init_process_group("gloo")  # rank 0 waits for rank 1 to join
    ''', nprocs=2, check=False, timeout=60)
    assert res.returncode != 0 and not res.timed_out and res.elapsed < 30, res.describe()


def test_wrong_world_size_is_a_clear_error():
    out = _python('''
        import taimatsu.distributed as dist
        dist.init_process_group("gloo")
    ''', env={"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "10.255.255.1",
              "MASTER_PORT": "29512"})
    assert out.returncode != 0
    assert "ValueError: init_process_group: world_size is 2 but this process is rank 0 of an " \
           "MPI job of 1 process(es)" in out.stderr, out.stderr
    assert "python -m taimatsu.distributed.run --nproc-per-node 2" in out.stderr


def test_single_process_without_a_launcher():
    out = _python('''
        import taimatsu as torch
        import taimatsu.distributed as dist
        dist.init_process_group("gloo")
        t = torch.tensor([2.0, 3.0])
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        print(dist.get_rank(), dist.get_world_size(), t.tolist())
    ''')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 1 [2.0, 3.0]"


def test_missing_rank_times_out_in_init():
    res = launch('''
        import os, time
        from datetime import timedelta
        import taimatsu.distributed as dist
        if os.environ["OMPI_COMM_WORLD_RANK"] == "1":
            time.sleep(60)  # never joins
        dist.init_process_group("gloo", timeout=timedelta(seconds=2))
    ''', nprocs=2, check=False, timeout=60)
    assert res.returncode != 0 and not res.timed_out, res.describe()
    assert res.elapsed < 15, res.describe()
    # MPI_Init itself waits for the missing rank: faulthandler's timer ends rank 0
    assert "Timeout (0:00:02)!" in res.stderr, res.describe()
    assert "_wait_for_every_rank_to_start_mpi" in res.stderr, res.describe()


def test_stuck_collective_is_aborted_after_the_timeout():
    res = launch('''
        import time
        from datetime import timedelta
        import taimatsu as torch
        import taimatsu.distributed as dist
        dist.init_process_group("gloo", timeout=timedelta(seconds=1))
        if dist.get_rank() == 1:
            time.sleep(60)  # never reaches the collective
        dist.all_reduce(torch.ones(2))
    ''', nprocs=2, check=False, timeout=60)
    assert res.returncode != 0 and not res.timed_out, res.describe()
    assert res.elapsed < 15, res.describe()
    assert "[rank0]: taimatsu.distributed: all_reduce did not complete within the timeout of " \
           "0:00:01" in res.stderr, res.describe()


def test_launcher_refuses_what_it_cannot_do(capsys):
    for argv, message in ((["--nnodes", "2", "x.py"], "mpirun --hostfile"),
                          (["--nnodes", "1:4", "x.py"], "elastic ranges are not supported"),
                          (["--max-restarts", "3", "x.py"], "MPI jobs are not restarted"),
                          (["--nproc-per-node", "zero", "x.py"], "positive int, cpu, gpu or auto")):
        with pytest.raises(SystemExit) as exc:
            launcher.main(argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


def test_worker_needs_mpirun():
    out = _run([sys.executable, "-m", "taimatsu.distributed._worker", "true"], dict(os.environ))
    assert out.returncode == 1 and "runs under mpirun" in out.stderr


def test_spawn(tmp_path):
    script = tmp_path / "spawn_main.py"
    script.write_text(_REPORT + textwrap.dedent('''
        import taimatsu as torch
        import taimatsu.distributed as dist
        import taimatsu.multiprocessing as mp

        def worker(rank, world_size, fail):
            dist.init_process_group("gloo", rank=rank, world_size=world_size)
            t = torch.tensor([float(rank)])
            dist.all_reduce(t)
            report(f"worker {rank}/{dist.get_world_size()} sum={t.item()} "
                   f"addr={os.environ['MASTER_ADDR']}", rank=f"{world_size}-{rank}")
            if fail and rank == 1:
                raise KeyError("worker 1 fails")
            dist.barrier()  # rank 0 blocks here when rank 1 failed: spawn must end it

        if __name__ == "__main__":
            os.environ["MASTER_ADDR"] = "localhost"
            ctx = mp.spawn(worker, args=(3, False), nprocs=3, join=False)
            print("joined", ctx.join(timeout=30), len(ctx.pids()), flush=True)
            try:
                mp.spawn(worker, args=(2, True), nprocs=2)
            except mp.ProcessRaisedException as e:
                print("raised", e.error_index, "KeyError: 'worker 1 fails'" in str(e), flush=True)
    '''))
    out = _run([sys.executable, str(script)],
               _report_env(tmp_path, dict(os.environ, OMP_NUM_THREADS="1")), timeout=120)
    assert out.returncode == 0, out.stderr
    assert [x for x in _reports(tmp_path) if "/3" in x] == \
        [f"worker {k}/3 sum=3.0 addr=localhost" for k in range(3)]
    lines = out.stdout.split("\n")  # the parent's own lines
    assert "raised 1 True" in lines and "joined True 3" in lines, out.stdout


def test_spawn_checks_its_arguments():
    from taimatsu import multiprocessing as mp

    with pytest.raises(ValueError, match="nprocs must be a positive int, got 0"):
        mp.spawn(print, nprocs=0)
    assert mp.Queue is __import__("multiprocessing").Queue  # the standard names are re-exported


def test_launcher_no_python_runs_an_executable(tmp_path):
    out = _run([sys.executable, "-m", "taimatsu.distributed.run", "--nproc-per-node", "2",
                "--no-python", "sh", "-c",
                'echo -n "rank $RANK of $WORLD_SIZE" > $REPORT_DIR/$RANK'],
               _report_env(tmp_path, dict(os.environ)))
    assert out.returncode == 0, out.stderr
    assert _reports(tmp_path) == ["rank 0 of 2", "rank 1 of 2"]


def test_deprecated_launch_passes_local_rank(tmp_path):
    script = tmp_path / "args.py"
    script.write_text(_REPORT + "import sys\nreport(' '.join(sys.argv[1:]))\n")
    env = _report_env(tmp_path, dict(os.environ))
    for flags, want in (([], ["x --local-rank=0", "x --local-rank=1"]),
                        (["--use_env"], ["x", "x"])):
        out = _run([sys.executable, "-m", "taimatsu.distributed.launch", "--nproc_per_node=2",
                    *flags, str(script), "x"], env)
        assert out.returncode == 0, out.stderr
        assert "FutureWarning" in out.stderr and "deprecated" in out.stderr
        assert _reports(tmp_path) == want
