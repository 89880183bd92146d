"""A tabular pipeline on scikit-learn's breast-cancer data, with checkpoint resume, on taimatsu.

    python examples/tabular/train.py [--epochs 20] [--workers 2] [--checkpoint PATH] [--fresh]

A custom ``Dataset`` standardises the 30 features with the training split's mean and standard
deviation; a ``DataLoader`` with worker processes batches them for a small MLP, whose learning
rate is cut by ``ReduceLROnPlateau`` when the epoch's training loss stops falling. After every
epoch model, optimizer, scheduler and epoch are saved to ``--checkpoint``; kill the run and
start the same command again and it goes on from the next epoch. Reaches about 96% test
accuracy.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import taimatsu as torch
from taimatsu import nn
from taimatsu.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import fit, parser  # (the helpers shared by the data examples)


class Standardised(Dataset):
    """Rows of ``features`` scaled by ``mean``/``std`` (the training split's), with labels."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, mean: np.ndarray,
                 std: np.ndarray) -> None:
        self.features = ((features - mean) / std).astype(np.float32)
        self.labels = labels.astype(np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return torch.from_numpy(self.features[index]), int(self.labels[index])


def main(argv=None) -> int:
    p = parser(__doc__, "tabular", epochs=20, lr=1e-3, batch_size=32)
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    args = p.parse_args(argv)
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=args.seed, stratify=data.target)
    mean, std = x_train.mean(0), x_train.std(0)
    torch.manual_seed(args.seed)
    train = DataLoader(Standardised(x_train, y_train, mean, std), batch_size=args.batch_size,
                       shuffle=True, num_workers=args.workers,
                       persistent_workers=args.workers > 0)
    test = DataLoader(Standardised(x_test, y_test, mean, std), batch_size=256)
    model = nn.Sequential(nn.Linear(x_train.shape[1], 64), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    fit(model, optimizer, scheduler, train, test, args, per_batch=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
