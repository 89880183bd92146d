"""An MLP on scikit-learn's 8x8 digits, with checkpoint resume, on taimatsu.

    python examples/digits_mlp/train.py [--epochs 30] [--checkpoint PATH] [--fresh]

Reaches about 97% test accuracy in a few seconds. The data goes through ``TensorDataset`` and a
shuffling ``DataLoader``; the learning rate follows ``CosineAnnealingWarmRestarts`` stepped per
batch (a schedule that does not depend on the total number of epochs, so a finished run can be
extended with a larger ``--epochs``). After every epoch model, optimizer, scheduler and epoch
are saved to ``--checkpoint``; kill the run and start the same command again and it goes on
from the next epoch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import taimatsu as torch
from taimatsu import nn
from taimatsu.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import fit, parser  # (the helpers shared by the data examples)


def main(argv=None) -> int:
    args = parser(__doc__, "digits_mlp", epochs=30, lr=3e-3, batch_size=64).parse_args(argv)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target.astype(np.int64), test_size=0.25, random_state=args.seed,
        stratify=digits.target)
    torch.manual_seed(args.seed)
    train = DataLoader(TensorDataset(torch.tensor(x_train), torch.tensor(y_train)),
                       batch_size=args.batch_size, shuffle=True)
    test = DataLoader(TensorDataset(torch.tensor(x_test), torch.tensor(y_test)), batch_size=512)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=10 * len(train), eta_min=args.lr / 100)
    fit(model, optimizer, scheduler, train, test, args, per_batch=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
