"""The demo: train the seven tutorial programs, print their losses and times, plot the curves.

    python -m taimatsu.examples.tutorial [--device cuda] [--steps 500] [--plot PATH]
"""
from __future__ import annotations

import argparse
import importlib
import random
import sys
import time

import taimatsu as torch

from . import PROGRAMS


def _progress(total: int, desc: str):
    """A tqdm bar when tqdm is installed, else a silent stand-in (the table still prints)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)


def run_all(device: str, steps: int, seed: int = 0):
    """Run each program from the same seed; returns {name: (losses, seconds)}."""
    results = {}
    for name in PROGRAMS:
        module = importlib.import_module(f"{__package__}.{name}")
        torch.manual_seed(seed)
        random.seed(seed)
        losses = []
        bar = _progress(steps, name)

        def on_step(t, loss, losses=losses, bar=bar):
            losses.append(loss)
            if bar is not None:
                bar.update(1)
                if t % 50 == 0:
                    bar.set_postfix(loss=f"{loss:.4g}")

        start = time.perf_counter()
        module.main(device=device, steps=steps, on_step=on_step)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        results[name] = (losses, seconds)
    return results


def format_table(results, steps: int) -> str:
    marks = [t for t in range(99, steps, 100)] or [steps - 1]
    head = f"{'program':<20}" + "".join(f"{'step ' + str(t):>13}" for t in marks)
    head += f"{'time (s)':>10}{'ms/step':>9}"
    lines = [head, "-" * len(head)]
    for name, (losses, seconds) in results.items():
        row = f"{name:<20}" + "".join(f"{losses[t]:>13.4g}" for t in marks)
        row += f"{seconds:>10.2f}{1000 * seconds / max(1, len(losses)):>9.3f}"
        lines.append(row)
    return "\n".join(lines)


def plot(results, path: str) -> str:
    """Write a PNG of the seven loss curves; returns a message saying where, or how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("matplotlib is not installed, so no plot was written: "
                "pip install 'taimatsu[demo]' (or matplotlib) to get the loss curves as a PNG.")
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = ("-", "--", ":", "-.")  # programs with the same math draw the same curve
    for i, (name, (losses, _)) in enumerate(results.items()):
        ax.plot(range(len(losses)), losses, label=name, linestyle=styles[i % len(styles)])
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.set_title("Learning PyTorch with Examples, run on taimatsu")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"loss curves written to {path}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--steps", type=int, default=500, help="training steps per program")
    parser.add_argument("--plot", default="tutorial_losses.png", help="where to write the PNG")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda needs CuPy and an NVIDIA GPU (pip install cupy-cuda12x)")
    print(f"taimatsu {torch.__version__}: the seven 'Learning PyTorch with Examples' programs "
          f"on {args.device}, {args.steps} steps each")
    results = run_all(args.device, args.steps, args.seed)
    print(format_table(results, args.steps))
    print(plot(results, args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
