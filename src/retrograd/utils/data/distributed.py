"""DistributedSampler: each of ``num_replicas`` processes gets its own share of the indices."""

import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _default_world(num_replicas, rank):
    """World size and rank from ``retrograd.distributed`` (its ValueError where no process group
    was initialised, as torch's)."""
    if num_replicas is not None and rank is not None:
        return num_replicas, rank
    try:
        from ... import distributed as dist
    except ImportError:
        dist = None
    if dist is None or not getattr(dist, "is_available", lambda: False)():
        raise RuntimeError("Requires distributed package to be available (or pass num_replicas and rank)")
    return (dist.get_world_size() if num_replicas is None else num_replicas,
            dist.get_rank() if rank is None else rank)


def _torch_randperm(n, seed):
    """torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist() exactly: torch's
    CPU generator is an MT19937 seeded with the seed's low 32 bits (NumPy's legacy seeding is the
    same init_genrand), and its randperm swaps r[i] with r[i + random() % (n - i)] for
    i = 0 .. n-2, each random() one raw 32-bit draw. retrograd's own generators are PCG64
    (see retrograd.random), so the sampler draws its order here to give each rank torch's
    indices for the same seed and epoch."""
    bits = np.random.MT19937(0)
    bits._legacy_seeding(seed & 0xFFFFFFFF)
    r = list(range(n))
    if n > 1:
        offsets = bits.random_raw(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        for i, z in enumerate(offsets.tolist()):
            j = i + z
            r[i], r[j] = r[j], r[i]
    return r


class DistributedSampler(Sampler):
    """Indices ``rank, rank + num_replicas, ...`` of a (seeded, per-epoch) shuffled order, padded
    by repetition to a multiple of ``num_replicas`` unless ``drop_last``. Call ``set_epoch(e)``
    each epoch for a new order; all processes must use the same ``seed``. The order is torch's
    for the same ``seed`` and epoch."""

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
        if self.shuffle:  # torch's: randperm(n) from a Generator seeded with seed + epoch
            indices = _torch_randperm(n, self.seed + self.epoch)
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
        """Shuffle the next iteration with ``seed + epoch``: call it before each epoch's loader
        (with the same epoch on every rank), or every epoch repeats the first one's order."""
        self.epoch = epoch
