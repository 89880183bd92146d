"""A small CNN with BatchNorm and dropout on scikit-learn's 8x8 digits, on taimatsu.

    python examples/digits_cnn/train.py [--epochs 15]

Trains to about 98% test accuracy in well under a minute on one CPU core, with a progress bar
when tqdm is installed; then, when PyTorch is installed, runs the very same program on it and
prints both times. The program is ordinary PyTorch code: ``train`` gets the framework as an
argument (``taimatsu`` or ``torch``), the way ``import taimatsu as torch`` would give it.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def load(seed: int = 0):
    """The digits as (N, 1, 8, 8) float32 in [0, 1] and int64 labels, split 75/25."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(x, digits.target.astype(np.int64), test_size=0.25,
                            random_state=seed, stratify=digits.target)


def build(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def _progress(iterable, enabled, desc):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is optional
        return iterable
    return tqdm(iterable, desc=desc, leave=False)


def train(torch, epochs: int = 15, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
          progress: bool = True):
    """Train and evaluate; returns ``(test accuracy, seconds)``."""
    x_train, x_test, y_train, y_test = load(seed)
    torch.manual_seed(seed)
    model = build(torch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs, ys = torch.tensor(x_train), torch.tensor(y_train)
    start = time.perf_counter()
    for epoch in _progress(range(epochs), progress, f"{torch.__name__} epochs"):
        model.train()
        order = torch.randperm(len(ys))
        for i in range(0, len(ys), batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor(x_test)).argmax(1).numpy()
    seconds = time.perf_counter() - start
    return float((pred == y_test).mean()), seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch run")
    args = p.parse_args(argv)
    import taimatsu

    acc, sec = train(taimatsu, args.epochs)
    print(f"taimatsu: test accuracy {acc:.2%} in {sec:.1f} s")
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            return 0
        torch.set_num_threads(1)
        acc_t, sec_t = train(torch, args.epochs)
        print(f"PyTorch:  test accuracy {acc_t:.2%} in {sec_t:.1f} s "
              f"(taimatsu/PyTorch time: {sec / sec_t:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
