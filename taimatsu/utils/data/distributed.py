"""``DistributedSampler``: each process of a data-parallel job reads its own share of a dataset."""
from __future__ import annotations

import math

import numpy as np

from ... import distributed as dist
from ... import random as _random
from ...creation import randperm
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` processes reads.

    The (optionally shuffled) index list is padded by repeating it from the start until it
    divides evenly (or, with ``drop_last``, cut to the largest multiple), then rank ``r`` takes
    every ``num_replicas``-th index from position ``r``: the shards are disjoint (up to the
    padding), equally long, and together cover the dataset. With ``shuffle`` the order is a
    permutation drawn from ``seed + epoch``: the same on every rank, new after ``set_epoch``.

    Args:
        num_replicas, rank: default to the world size and rank of the default process group.

    Example::

        >>> sampler = DistributedSampler(dataset)
        >>> loader = DataLoader(dataset, batch_size=32, sampler=sampler)
        >>> for epoch in range(10):
        ...     sampler.set_epoch(epoch)   # a new shuffle each epoch
        ...     for x, y in loader: ...
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            g = _random.Generator().manual_seed(self.seed + self.epoch)
            order = randperm(n, generator=g).numpy()
        else:
            order = np.arange(n)
        # np.resize repeats the order cyclically to total_size (padding) or cuts it (drop_last).
        indices = np.resize(order, self.total_size)[self.rank::self.num_replicas]
        return iter(indices.tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of ``epoch`` from the next iteration on (call it on every rank)."""
        self.epoch = epoch
