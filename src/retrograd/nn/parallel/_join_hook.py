"""What a rank that has run out of inputs does for DistributedDataParallel inside
``ddp.join()`` (see ``distributed.algorithms.join``): once per iteration of the ranks still
training, the collectives of their forward and backward with neutral contributions, in the
same order (bucket rebuild, buffer broadcast, whether the backward syncs, one allreduce per
gradient bucket of zeros, the used-parameters allreduce); at the end, the model of the last
rank to join, broadcast to all."""

from ... import creation
from ... import distributed as dist
from ...distributed.algorithms.join import JoinHook


def find_common_rank(ddp, rank_cond):
    """The highest rank of the group whose ``rank_cond`` is true (an allreduce of MAX): the rank
    whose model or buffers the others take."""
    group = ddp.process_group
    mine = creation.tensor([dist.get_rank(group) if rank_cond else -1])
    dist.all_reduce(mine, op=dist.ReduceOp.MAX, group=group)
    rank = int(mine.item())
    if rank == -1:
        raise ValueError("BUG! Expected rank_cond to be true for at least one process. This indicates a bug in "
                         "PyTorch, please report an issue.")
    return rank


def global_requires_backward_grad_sync(ddp, joined):
    """Whether some training rank's coming backward averages gradients (an allreduce of the
    flags; a joined rank contributes 0)."""
    flag = creation.tensor([0 if joined or not ddp.require_backward_grad_sync else 1])
    dist.all_reduce(flag, group=ddp.process_group)
    return bool(flag.item())


class DDPJoinHook(JoinHook):
    def __init__(self, ddp, divide_by_initial_world_size):
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self):
        """Shadow one iteration of the training ranks' DDP forward and backward."""
        ddp = self.ddp
        ddp.reducer.rebuild_buckets()
        if ddp.will_sync_module_buffers():
            ddp._sync_buffers(joined=True)
        sync = global_requires_backward_grad_sync(ddp, joined=True)
        ddp.require_forward_param_sync = sync
        if sync:
            ddp.reducer.shadow_backward()

    def post_hook(self, is_last_joiner):
        """Every rank takes the parameters (and buffers) of the last rank to join."""
        ddp = self.ddp
        src = dist.get_global_rank(ddp.process_group, find_common_rank(ddp, is_last_joiner))
        ddp._sync_module_states(ddp.forward_sync_buffers, src=src)
