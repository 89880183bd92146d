"""taimatsu vs hand-written NumPy vs PyTorch, measured side by side in one process.

    python -m bench.run [--quick] [--threads 1] [--only tutorial,ops,mlp,scaling,chain,import,memory,
                                                        conv,loss,normalization,resample,rnn,transformer]

Each workload runs interleaved across frameworks (taimatsu, NumPy, PyTorch, taimatsu, ...), with
warm-up, and reports the median of the repeats. Prints a table of ms/step (or µs/call) and the
ratios taimatsu/NumPy and taimatsu/PyTorch, and writes the figures as JSON to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def _set_threads(n: int) -> None:
    # Must happen before NumPy or PyTorch load their BLAS.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


if __name__ == "__main__":
    _pre = argparse.ArgumentParser(add_help=False)
    _pre.add_argument("--threads", type=int, default=1)
    _set_threads(_pre.parse_known_args()[0].threads)

import importlib
import itertools
import statistics
import subprocess
import time
import types
from pathlib import Path

import numpy as np

import taimatsu
from bench import numpy_programs
from taimatsu.examples.tutorial import PROGRAMS

try:
    import torch
except ImportError:
    torch = None

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------ helpers
def median_ms(run, repeats):
    """Median over ``repeats`` of ``run()``, which returns seconds per step."""
    return 1000 * statistics.median(run() for _ in range(repeats))


def interleave(candidates: dict, repeats: int) -> dict:
    """Time each candidate (name -> () -> seconds per unit) in turn, ``repeats`` rounds."""
    samples = {k: [] for k in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            samples[name].append(fn())
    return {k: statistics.median(v) for k, v in samples.items()}


def torch_module(name: str):
    """A tutorial program's source run against real PyTorch: the same program, other import."""
    path = ROOT / "taimatsu" / "examples" / "tutorial" / f"{name}.py"
    src = path.read_text().replace("import taimatsu as torch", "import torch")
    mod = types.ModuleType(f"torch_{name}")
    exec(compile(src, str(path), "exec"), mod.__dict__)  # noqa: S102 - our own example file
    return mod


def per_step_seconds(main, steps):
    """Seconds per training step of a tutorial ``main``, from the on_step timestamps."""
    stamps = []
    main(device="cpu", steps=steps, on_step=lambda t, loss: stamps.append(time.perf_counter()))
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def timed(step, steps):
    """A candidate for :func:`interleave`: one warm-up call of ``step``, then its seconds per
    call over ``steps`` calls."""
    def run():
        step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return (time.perf_counter() - start) / steps
    return run


def numpy_step_seconds(make, steps, **kw):
    """Seconds per step of the step function ``make(**kw)`` builds (untimed)."""
    return timed(make(**kw), steps)()


# ------------------------------------------------------------------------------ workloads
def bench_tutorial(args):
    rows = []
    for name in PROGRAMS:
        ours = importlib.import_module(f"taimatsu.examples.tutorial.{name}").main
        cands = {"taimatsu": lambda m=ours: per_step_seconds(m, args.steps)}
        if name in ("tensors_manual", "two_layer_autograd", "custom_function"):
            cands["numpy"] = lambda: numpy_step_seconds(numpy_programs.make_two_layer, args.steps)
        if torch is not None:
            theirs = torch_module(name).main
            cands["pytorch"] = lambda m=theirs: per_step_seconds(m, args.steps)
        res = interleave(cands, args.repeats)
        rows.append(_row(f"tutorial/{name}", res, "ms/step", 1000))
    return rows


def bench_ops(args):
    rows = []
    n = 2000 if not args.quick else 300
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((64, 100), dtype=np.float32)
    b_np = rng.standard_normal((64, 100), dtype=np.float32)
    w_np = rng.standard_normal((100, 100), dtype=np.float32)
    idx_np = rng.integers(0, 64, 32)
    ops = {
        "add": (lambda a, b, w, i: a + b),
        "sum": (lambda a, b, w, i: a.sum()),
        "matmul": (lambda a, b, w, i: a @ w),
        "index": (lambda a, b, w, i: a[i]),
    }
    for grad in (False, True):
        for op_name, op in ops.items():
            def timer(lib, op=op, grad=grad):
                if lib == "numpy":
                    args_ = (a_np, b_np, w_np, idx_np)
                else:
                    m = taimatsu if lib == "taimatsu" else torch
                    args_ = (m.tensor(a_np, requires_grad=grad), m.tensor(b_np),
                             m.tensor(w_np), m.tensor(idx_np))

                def run():
                    start = time.perf_counter()
                    for _ in range(n):
                        op(*args_)
                    return (time.perf_counter() - start) / n

                return run

            cands = {"taimatsu": timer("taimatsu")}
            if not grad:
                cands["numpy"] = timer("numpy")
            if torch is not None:
                cands["pytorch"] = timer("pytorch")
            res = interleave(cands, args.repeats)
            label = f"op/{op_name}{' (grad)' if grad else ''}"
            rows.append(_row(label, res, "us/call", 1e6))
    return rows


def _mlp_framework(lib, batch=128, sizes=(784, 512, 512, 10)):
    nn = lib.nn
    lib.manual_seed(0)
    layers = []
    for i, (fi, fo) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fi, fo))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    return sgd_step(lib, model, lib.randn(batch, sizes[0]),
                    lib.randint(0, sizes[-1], (batch,)))


def sgd_step(lib, model, x, target, lr=0.01):
    """One SGD step of ``model`` on the cross-entropy of ``(x, target)``, as a closure."""
    opt = lib.optim.SGD(model.parameters(), lr=lr)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return loss

    return step


def bench_mlp(args):
    steps = 30 if not args.quick else 8
    cands = {"taimatsu": timed(_mlp_framework(taimatsu), steps),
             "numpy": timed(numpy_programs.make_mlp(), steps)}
    if torch is not None:
        cands["pytorch"] = timed(_mlp_framework(torch), steps)
    return [_row("mlp 784-512-512-10 b128", interleave(cands, args.repeats), "ms/step", 1000)]


def _two_layer_autograd(lib, N, D_in, H, D_out):
    lib.manual_seed(0)
    x, y = lib.randn(N, D_in), lib.randn(N, D_out)
    w1 = lib.randn(D_in, H, requires_grad=True)
    w2 = lib.randn(H, D_out, requires_grad=True)

    def step():
        nonlocal w1, w2  # updated in place; `-=` would otherwise make them locals
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            w1 -= 1e-6 * w1.grad
            w2 -= 1e-6 * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return step


def bench_scaling(args):
    rows = []
    steps = 20 if not args.quick else 5
    factors = (1, 2, 4, 8, 16) if not args.quick else (1, 4)
    for kind in ("batch", "width"):
        for f in factors:
            N = 64 * f if kind == "batch" else 64
            H = 100 * f if kind == "width" else 100
            cands = {"taimatsu": timed(_two_layer_autograd(taimatsu, N, 1000, H, 10), steps),
                     "numpy": timed(numpy_programs.make_two_layer(N=N, H=H), steps)}
            if torch is not None:
                cands["pytorch"] = timed(_two_layer_autograd(torch, N, 1000, H, 10), steps)
            rows.append(_row(f"scaling/{kind} x{f}", interleave(cands, args.repeats), "ms/step",
                             1000))
    return rows


def bench_chain(args):
    rows = []
    lengths = (10, 100, 1000, 10000)
    for n in lengths:
        def timer(lib, n=n):
            def run():
                x = lib.ones(8, requires_grad=True)
                y = x
                for _ in range(n):
                    y = y * 1.0001
                s = y.sum()
                start = time.perf_counter()
                s.backward()
                return time.perf_counter() - start
            return run

        cands = {"taimatsu": timer(taimatsu)}
        if torch is not None:
            cands["pytorch"] = timer(torch)
        rows.append(_row(f"backward chain {n}", interleave(cands, max(3, args.repeats // 2)),
                         "ms", 1000))
    return rows


def bench_import(args):
    def import_seconds(module):
        code = (f"import time; t = time.perf_counter(); import {module}; "
                "print(time.perf_counter() - t)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        return float(out.stdout.strip())

    # Measure imports as installed packages run them, from compiled bytecode (pip writes it at
    # install time; an editable checkout may not have it yet, e.g. under PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "taimatsu")],
                   check=True, capture_output=True)
    cands = {"taimatsu": lambda: import_seconds("taimatsu"),
             "numpy": lambda: import_seconds("numpy")}
    if torch is not None:
        cands["pytorch"] = lambda: import_seconds("torch")
    return [_row("import time", interleave(cands, 5), "s", 1)]


def bench_memory(args):
    steps = 10000 if not args.quick else 1000
    code = f"""
import taimatsu as torch
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096 / 2**20
x, y = torch.randn(64, 1000), torch.randn(64, 10)
w1 = torch.randn(1000, 100, requires_grad=True)
w2 = torch.randn(100, 10, requires_grad=True)
marks = {{}}
for t in range({steps}):
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 -= 1e-6 * w1.grad; w2 -= 1e-6 * w2.grad
        w1.grad.zero_(); w2.grad.zero_()
    if t + 1 in ({steps // 10}, {steps}):
        marks[t + 1] = rss()
print(marks[{steps // 10}], marks[{steps}])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    early, late = (float(v) for v in out.stdout.split())
    return [{"workload": f"memory: RSS at step {steps}", "unit": "MiB", "taimatsu": late,
             "numpy": None, "pytorch": None,
             "note": f"growth since step {steps // 10}: {late - early:+.1f} MiB"}]


def _row(label, res, unit, scale):
    row = {"workload": label, "unit": unit}
    for k in ("taimatsu", "numpy", "pytorch"):
        row[k] = None if k not in res else res[k] * scale
    return row


def format_markdown(rows) -> str:
    """The same table as Markdown, for the README."""
    def fmt(v):
        return "-" if v is None else f"{v:.3f}"

    lines = ["| workload | unit | taimatsu | NumPy | PyTorch | tm/np | tm/pt |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        tm, npv, pt = r["taimatsu"], r["numpy"], r["pytorch"]
        lines.append(f"| {r['workload']} | {r['unit']} | {fmt(tm)} | {fmt(npv)} | {fmt(pt)} | "
                     f"{fmt(tm / npv) if tm and npv else '-'} | "
                     f"{fmt(tm / pt) if tm and pt else '-'} |")
    return "\n".join(lines)


def format_table(rows) -> str:
    head = (f"{'workload':<34}{'unit':>8}{'taimatsu':>11}{'numpy':>11}{'pytorch':>11}"
            f"{'tm/np':>8}{'tm/pt':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        def fmt(v):
            return f"{v:>11.3f}" if isinstance(v, float) else f"{'-':>11}"

        tm, npv, pt = r["taimatsu"], r["numpy"], r["pytorch"]
        ratio_np = f"{tm / npv:>8.2f}" if tm and npv and "memory" not in r["workload"] else \
            f"{'-':>8}"
        ratio_pt = f"{tm / pt:>8.2f}" if tm and pt and "memory" not in r["workload"] else \
            f"{'-':>8}"
        lines.append(f"{r['workload']:<34}{r['unit']:>8}{fmt(tm)}{fmt(npv)}{fmt(pt)}"
                     f"{ratio_np}{ratio_pt}" + (f"  {r['note']}" if r.get("note") else ""))
    return "\n".join(lines)


def _family(name: str):
    """The ``bench(args)`` of ``bench/<name>.py``, imported when the workload runs."""
    def run(args):
        return importlib.import_module(f"bench.{name}").bench(args)
    return run


WORKLOADS = {"tutorial": bench_tutorial, "ops": bench_ops, "mlp": bench_mlp,
             "scaling": bench_scaling, "chain": bench_chain, "import": bench_import,
             "memory": bench_memory}
WORKLOADS.update({name: _family(name) for name in ("conv", "loss", "normalization", "resample", "rnn",
                                           "transformer", "distributed", "ddp")})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and repeats (a smoke run)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads for every framework")
    p.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    p.add_argument("--steps", type=int, default=None, help="training steps per tutorial timing")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--markdown", action="store_true", help="print the final table as Markdown")
    p.add_argument("--out", default=None, help="JSON path (default bench/results/<time>.json)")
    args = p.parse_args(argv)
    args.steps = args.steps or (60 if args.quick else 200)
    args.repeats = args.repeats or (3 if args.quick else 7)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"taimatsu {taimatsu.__version__} | numpy {np.__version__} | "
          f"pytorch {torch.__version__ if torch else 'not installed'} | threads {args.threads} | "
          f"medians of {args.repeats} interleaved repeats", flush=True)
    rows = []
    for name in args.only.split(","):
        new = WORKLOADS[name](args)
        rows.extend(new)
        print("\n".join(format_table(new).splitlines()[2:]), flush=True)
    print()
    print(format_markdown(rows) if args.markdown else format_table(rows))
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / time.strftime(
        "%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"threads": args.threads, "quick": args.quick, "rows": rows},
                              indent=1))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
