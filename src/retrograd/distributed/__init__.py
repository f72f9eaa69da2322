"""``torch.distributed`` on MPI: process groups, collectives, point-to-point and object collectives.

Start a job with ``retrograd-run --nproc-per-node N train.py`` (or ``python -m
retrograd.distributed.run``, or plain ``mpiexec -n N python train.py``); each rank calls
``init_process_group()``. MPI comes from mpi4py and the MPICH wheel, the optional extra
``distributed``; without them this package still imports, ``is_available()`` is False and
``init_process_group`` says how to install them. See docs/distributed.md.
"""

from .collectives import (all_gather, all_gather_into_tensor, all_reduce, all_to_all_single, barrier,
                          broadcast, gather, irecv, isend, recv, reduce, reduce_scatter_tensor, scatter, send)
from .object_collectives import all_gather_object, broadcast_object_list, gather_object
from .process_group import (Backend, GroupMember, ProcessGroup, default_pg_timeout, destroy_process_group,
                            get_backend, get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                            get_world_size, group, init_process_group, is_available, is_gloo_available,
                            is_initialized, is_mpi_available, is_nccl_available, new_group)
from .reduce_op import ReduceOp
from .work import Work

from . import algorithms  # noqa: E402,F401  (torch.distributed.algorithms is reachable after import torch)

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "all_to_all_single", "barrier", "broadcast", "broadcast_object_list",
    "default_pg_timeout", "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank",
    "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group",
    "irecv", "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "isend", "new_group", "recv", "reduce", "reduce_scatter_tensor", "scatter", "send",
]
