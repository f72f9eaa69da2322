"""Collectives on picklable Python objects (``all_gather_object``, ``broadcast_object_list``,
``gather_object``): mpi4py's lowercase methods, which pickle, as torch's pickle too.
Only objects from trusted peers should be received: unpickling runs code."""

from .process_group import _default_group, _resolve


def _run(pg, op, call):
    token = pg._watchdog_begin(op)
    try:
        return call()
    finally:
        pg._watchdog_end(token)


def _root(pg, rank, group_rank, name):
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"Can't specify both {name} and group_{name}")
    else:
        rank = 0 if rank is None else rank
        group_rank = rank if pg is _default_group() else pg._group_rank(rank)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"invalid {name} rank {group_rank}: the group has ranks 0 to {pg.size() - 1}")
    return group_rank


def all_gather_object(object_list, obj, group=None):
    """``object_list[i]`` gets rank i's ``obj`` (``object_list`` has world_size entries)."""
    pg = _resolve(group)
    if pg is None:
        return None
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries, the group has "
                         f"{pg.size()} ranks: pass [None] * world_size")
    object_list[:] = _run(pg, "all_gather_object", lambda: pg._comm.allgather(obj))


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's ``object_list`` gets rank ``src``'s entries (the lists have the same length)."""
    pg = _resolve(group)
    if pg is None:
        return None
    if device is not None:
        raise NotImplementedError("broadcast_object_list(device=...): objects travel through MPI here; "
                                  "leave device=None")
    root = _root(pg, src, group_src, "src")
    received = _run(pg, "broadcast_object_list", lambda: pg._comm.bcast(list(object_list), root))
    if len(received) != len(object_list):
        raise RuntimeError(f"broadcast_object_list: rank {pg._global_rank(root)} sent {len(received)} objects "
                           f"but this rank's object_list has {len(object_list)} entries")
    object_list[:] = received


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """On rank ``dst``, ``object_gather_list[i]`` gets rank i's ``obj``; the other ranks pass None."""
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "dst")
    is_root = pg.rank() == root
    if is_root and (object_gather_list is None or len(object_gather_list) != pg.size()):
        raise ValueError("Argument ``object_gather_list`` must be specified on destination rank, with "
                         f"world_size ({pg.size()}) entries.")
    if not is_root and object_gather_list:
        raise ValueError("Argument ``object_gather_list`` must NOT be specified on non-destination ranks.")
    gathered = _run(pg, "gather_object", lambda: pg._comm.gather(obj, root))
    if is_root:
        object_gather_list[:] = gathered
