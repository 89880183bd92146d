"""A small CNN on Fashion-MNIST, with checkpoint resume, on taimatsu.

    python examples/fashion_mnist/train.py [--data DIR] [--epochs 5] [--train-size N]

The images are the standard idx gzip files of Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist`` puts them in /usr/share/datasets/fashion-mnist), or
the same four files from https://github.com/zalandoresearch/fashion-mnist in ``--data DIR``;
nothing is downloaded. The learning rate, stepped per batch, warms up linearly over the first epoch
and then falls by 0.7 each epoch (``SequentialLR`` of ``LinearLR`` and ``StepLR``: a schedule
that does not depend on the total number of epochs, so a finished run can be extended). After every
epoch model, optimizer, scheduler and epoch are saved to ``--checkpoint``; kill the run and
start the same command again and it goes on from the next epoch. ``--train-size`` trains on the
first N training images (all 60000 by default); the whole test set of 10000 is scored.
"""
from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import numpy as np

import taimatsu as torch
from taimatsu import nn
from taimatsu.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import fit, parser  # (the helpers shared by the data examples)

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: str) -> np.ndarray:
    """One idx file (gzip-compressed): a big-endian header of magic and sizes, then uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\0\0\x08":  # 0x08: unsigned bytes, the only type used
        raise ValueError(f"{path} is not an idx file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} bytes")
    return data.reshape(shape)


def load(folder: str, split: str, limit: int | None = None):
    """Images as (N, 1, 28, 28) float32 standardised tensors and int64 labels."""
    images, labels = (read_idx(os.path.join(folder, name)) for name in FILES[split])
    images, labels = images[:limit], labels[:limit]
    x = ((images.astype(np.float32) / 255.0 - 0.286) / 0.353)[:, None]  # the train set's stats
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def missing(folder: str) -> list[str]:
    return [name for pair in FILES.values() for name in pair
            if not os.path.isfile(os.path.join(folder, name))]


def main(argv=None) -> int:
    p = parser(__doc__, "fashion_mnist", epochs=5, lr=2e-3, batch_size=128)
    p.add_argument("--data", default=DEFAULT_DATA, help="folder of the four idx .gz files")
    p.add_argument("--train-size", type=int, default=None, help="train on the first N images")
    p.add_argument("--test-size", type=int, default=None, help="score the first N test images")
    args = p.parse_args(argv)
    absent = missing(args.data)
    if absent:
        print(f"Fashion-MNIST not found: {args.data} lacks {', '.join(absent)}.\n"
              f"Install Debian's package (files go to {DEFAULT_DATA}):\n"
              f"    sudo apt-get install dataset-fashion-mnist\n"
              f"or put the four files from https://github.com/zalandoresearch/fashion-mnist "
              f"(data/fashion) in a folder and pass --data FOLDER.", file=sys.stderr)
        return 2
    try:
        x_train, y_train = load(args.data, "train", args.train_size)
        x_test, y_test = load(args.data, "test", args.test_size)
    except (OSError, ValueError, EOFError) as e:  # a truncated or foreign file: say which
        print(f"cannot read Fashion-MNIST from {args.data}: {e}", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                       shuffle=True)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    warmup = len(train)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [
        torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
        torch.optim.lr_scheduler.StepLR(optimizer, step_size=warmup, gamma=0.7),
    ], milestones=[warmup])
    fit(model, optimizer, scheduler, train, test, args, per_batch=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
