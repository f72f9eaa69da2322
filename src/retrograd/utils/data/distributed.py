"""DistributedSampler: each of ``num_replicas`` processes gets its own share of the indices."""

import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _default_world(num_replicas, rank):
    """World size and rank from ``retrograd.distributed`` when it exists and is initialised."""
    if num_replicas is not None and rank is not None:
        return num_replicas, rank
    try:
        from ... import distributed as dist
    except ImportError:
        dist = None
    if dist is None or not getattr(dist, "is_available", lambda: False)() or not dist.is_initialized():
        raise RuntimeError("Requires distributed package to be available (or pass num_replicas and rank)")
    return (dist.get_world_size() if num_replicas is None else num_replicas,
            dist.get_rank() if rank is None else rank)


class DistributedSampler(Sampler):
    """Indices ``rank, rank + num_replicas, ...`` of a (seeded, per-epoch) shuffled order, padded
    by repetition to a multiple of ``num_replicas`` unless ``drop_last``. Call ``set_epoch(e)``
    each epoch for a new order; all processes must use the same ``seed``."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        num_replicas, rank = _default_world(num_replicas, rank)
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            rng = np.random.Generator(np.random.PCG64(self.seed + self.epoch))
            indices = rng.permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch
