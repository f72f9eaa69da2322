"""DDP communication hooks, registered with ``DistributedDataParallel.register_comm_hook(state,
hook)``: ``default_hooks`` holds torch's allreduce and fp16/bf16 compression hooks."""

from . import default_hooks

__all__ = ["default_hooks"]
