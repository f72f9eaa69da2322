"""``torch.nn.parallel``: ``DistributedDataParallel`` (multi-process data parallelism over
``retrograd.distributed``). The single-process multi-device helpers (``DataParallel``,
``replicate``, ``scatter``, ``gather``, ``parallel_apply``) are not provided: retrograd runs one
device per process; use DistributedDataParallel with one process per device instead."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
