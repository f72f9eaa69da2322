"""``torch.distributed.algorithms``: DistributedDataParallel's communication hooks
(``ddp_comm_hooks``) and training with uneven inputs (``Join``, ``Joinable``, ``JoinHook``)."""

from .join import Join, Joinable, JoinHook

__all__ = ["Join", "Joinable", "JoinHook"]
