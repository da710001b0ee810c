"""Batch order that depends only on (seed, epoch), can start mid-epoch, and splits
each global batch across distributed processes."""

from __future__ import annotations

import torch
from torch.utils.data import Sampler


class EpochBatchSampler(Sampler[list[int]]):
    """Yields this process's share of each global batch of one epoch.

    The permutation is drawn from a generator seeded by (seed, epoch), so a run
    resumed at step s sees exactly the batches an uninterrupted run would; `start`
    skips the batches of the epoch that were already used. Incomplete last
    batches are dropped so every step has the same global batch size.
    """

    def __init__(self, n: int, global_batch: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True):
        if global_batch % world:
            raise ValueError(f"batch size {global_batch} must be divisible by the {world} processes")
        if n < global_batch:
            raise ValueError(f"the split has {n} samples, fewer than one batch of {global_batch}: lower train.batch_size")
        self.n, self.global_batch, self.seed = n, global_batch, seed
        self.rank, self.world, self.shuffle = rank, world, shuffle
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return self.n // self.global_batch - self.start

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        local = self.global_batch // self.world
        for b in range(self.start, self.n // self.global_batch):
            first = b * self.global_batch + self.rank * local
            yield order[first:first + local]
