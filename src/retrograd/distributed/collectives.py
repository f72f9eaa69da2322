"""Collectives and point-to-point operations on tensors, each one MPI call on the tensor's memory.

A contiguous tensor's NumPy array goes to mpi4py's buffer methods directly (no pickling, no
copy) and the result is written into the tensor's storage in place; the tensor's version counter
is bumped as an in-place op bumps it. A non-contiguous tensor goes through a contiguous copy that
is written back. With ``async_op=True`` the nonblocking MPI call (``Iallreduce``...) is started
and a ``Work`` is returned; otherwise the call blocks (watched by the group's timeout) and
returns None. On a rank outside ``group`` the operations do nothing and return None, as torch's.
"""

import numpy as np

from ..tensor import Tensor
from . import _debug, _mpi
from .process_group import Backend, _default_group, _resolve, _state
from .reduce_op import ReduceOp, is_avg, mpi_op
from .work import Work

RedOpType = ReduceOp.RedOpType


# ------------------------------------------------------------------ checks and buffers
def _check_tensor(param, name):
    if not isinstance(param, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor "
                        f"but got {type(param)} instead.")


def _check_tensor_list(param, name):
    if not isinstance(param, list) or not all(isinstance(p, Tensor) for p in param):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[torch.Tensor] "
                        f"but got {type(param)} instead.")


def _array(tensor, pg, op):
    """The tensor's array for MPI and a function writing it back (None when it is the storage itself)."""
    arr = tensor._data
    if type(arr) is not np.ndarray:
        raise RuntimeError(
            f"{op}: the tensor is on {tensor.device}, but backend {pg._backend!r} runs on CPU tensors: "
            "move it with .cpu() (backend='nccl' for CUDA tensors is not written yet)")
    if arr.flags.c_contiguous:
        return arr, None
    contiguous = np.ascontiguousarray(arr)
    return contiguous, lambda: np.copyto(arr, contiguous)


def _bump(tensor):
    tensor._vc[0] += 1


def _root(pg, op, rank, group_rank, name):
    """The group rank of the root given as a global ``rank`` or as ``group_rank`` (one of the two)."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"Can't specify both {name} and group_{name}")
    elif rank is None:
        raise ValueError(f"Must specify {name} or group_{name}")
    else:
        group_rank = rank if pg is _default_group() else pg._group_rank(rank)
    if not 0 <= group_rank < pg.size():
        raise RuntimeError(f"{op}: invalid root rank: {group_rank} (the group has ranks 0 to {pg.size() - 1})")
    return group_rank


def _run(pg, op, async_op, blocking, nonblocking, outputs, after=None):
    """Run ``blocking()`` under the group's timeout, or start ``nonblocking()`` and return its Work."""
    if async_op:
        return Work(op, nonblocking(), pg, outputs, after)
    token = pg._watchdog_begin(op)
    try:
        blocking()
    finally:
        pg._watchdog_end(token)
    if after is not None:
        after()
    return None


def _then(first, second):
    """A function running ``first()`` then ``second()`` (either may be None), or None when both are."""
    if first is None or second is None:
        return second if first is None else first

    def run():
        first()
        second()
    return run


def _average(arr, n, op):
    return (lambda: np.divide(arr, n, out=arr, casting="unsafe")) if is_avg(op) else None


# ------------------------------------------------------------------ collectives
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over the ranks of ``group`` with ``op``; every rank gets the result in place."""
    # the hot path of DDP and of bench.distributed_allreduce: each step here costs a share of a
    # small message's time, so the common case (a Tensor, the default group, a contiguous NumPy
    # array of a dtype MPI knows) takes the fewest steps and makes no closures
    if type(tensor) is not Tensor:
        _check_tensor(tensor, "tensor")
    pg = _state.default_pg if group is None else None
    if pg is None:
        pg = _resolve(group)  # raises before init_process_group
        if pg is None:
            return None
    arr = tensor._data
    if type(arr) is np.ndarray and arr.flags.c_contiguous:
        writeback = None
    else:
        arr, writeback = _array(tensor, pg, "all_reduce")
    char = arr.dtype.char
    mop = op._mpi_ops.get(char) if type(op) is RedOpType else None  # mpi_op's cache
    if mop is None:
        mop = mpi_op(op, arr, "all_reduce")
    if pg._debug_level == "DETAIL":
        _debug.check(pg, "ALLREDUCE", [tensor])
    buf = arr if char in _mpi.NATIVE else _mpi.buffer(arr)
    after = _then(_average(arr, pg.size(), op), writeback) if writeback or op is not ReduceOp.SUM else None
    tensor._vc[0] += 1  # as an in-place op
    if async_op:
        return Work("all_reduce", [pg._comm.Iallreduce(_mpi.IN_PLACE, buf, mop)], pg, [tensor], after)
    watchdog = _state.watchdog
    token = watchdog.begin("all_reduce", pg._timeout)
    try:
        pg._comm.Allreduce(_mpi.IN_PLACE, buf, mop)
    finally:
        watchdog.end(token)
    if after is not None:
        after()
    return None


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every rank of ``group``."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, "broadcast", src, group_src, "src")
    arr, writeback = _array(tensor, pg, "broadcast")
    _debug.check(pg, "BROADCAST", [tensor])
    buf, comm = _mpi.buffer(arr), pg._comm
    if pg.rank() != root:  # written on the other ranks only
        _bump(tensor)
    return _run(pg, "broadcast", async_op, lambda: comm.Bcast(buf, root), lambda: [comm.Ibcast(buf, root)],
                [tensor], writeback)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over the ranks with ``op`` into ``tensor`` of rank ``dst`` (the others keep theirs)."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, "reduce", dst, group_dst, "dst")
    arr, writeback = _array(tensor, pg, "reduce")
    mop = mpi_op(op, arr, "reduce")
    _debug.check(pg, "REDUCE", [tensor])
    buf, comm, IN_PLACE = _mpi.buffer(arr), pg._comm, _mpi.mpi().IN_PLACE
    is_root = pg.rank() == root
    send, recv = (IN_PLACE, buf) if is_root else (buf, None)
    if is_root:
        _bump(tensor)
    after = _then(_average(arr, pg.size(), op), writeback) if is_root else None
    return _run(pg, "reduce", async_op, lambda: comm.Reduce(send, recv, mop, root),
                lambda: [comm.Ireduce(send, recv, mop, root)], [tensor], after)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[i]`` gets rank i's ``tensor``, on every rank."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _check_outputs(tensor_list, tensor, pg, "all_gather", "output tensor list")
    arr, _ = _array(tensor, pg, "all_gather")
    _debug.check(pg, "ALLGATHER", [tensor])
    gathered = np.empty((pg.size(),) + arr.shape, arr.dtype)
    comm, send, recv = pg._comm, _mpi.buffer(arr), _mpi.buffer(gathered)
    for t in tensor_list:
        _bump(t)
    return _run(pg, "all_gather", async_op, lambda: comm.Allgather(send, recv),
                lambda: [comm.Iallgather(send, recv)], tensor_list, _scatter_rows(gathered, tensor_list))


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """``output_tensor`` (world_size times ``input_tensor``'s elements) gets every rank's input, rank by rank."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _check_sizes(output_tensor, input_tensor, pg, "all_gather_into_tensor", "output", "input")
    out, writeback = _array(output_tensor, pg, "all_gather_into_tensor")
    arr, _ = _array(input_tensor, pg, "all_gather_into_tensor")
    _debug.check(pg, "_ALLGATHER_BASE", [output_tensor, input_tensor])
    comm, send, recv = pg._comm, _mpi.buffer(arr), _mpi.buffer(out)
    _bump(output_tensor)
    return _run(pg, "all_gather_into_tensor", async_op, lambda: comm.Allgather(send, recv),
                lambda: [comm.Iallgather(send, recv)], [output_tensor], writeback)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` over the ranks with ``op``; rank i gets the i-th of world_size equal chunks in ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _resolve(group)
    if pg is None:
        return None
    _check_sizes(input, output, pg, "reduce_scatter_tensor", "input", "output")
    out, writeback = _array(output, pg, "reduce_scatter_tensor")
    arr, _ = _array(input, pg, "reduce_scatter_tensor")
    mop = mpi_op(op, arr, "reduce_scatter_tensor")
    _debug.check(pg, "_REDUCE_SCATTER_BASE", [output, input])
    comm, send, recv = pg._comm, _mpi.buffer(arr), _mpi.buffer(out)
    _bump(output)
    return _run(pg, "reduce_scatter_tensor", async_op, lambda: comm.Reduce_scatter_block(send, recv, mop),
                lambda: [comm.Ireduce_scatter_block(send, recv, mop)], [output],
                _then(_average(out, pg.size(), op), writeback))


def _rooted(op, tensor, tensors, list_name, group, rank, group_rank, kind):
    """The checks gather and scatter share: ``tensor`` and the list, the group, the root rank
    (``kind`` 'dst' or 'src'; rank 0 by default, as torch), the list given on the root only.
    Returns (process group, root, whether this rank is it), or None off the group."""
    _check_tensor(tensor, "tensor")
    if tensors is not None:
        _check_tensor_list(tensors, list_name)
    pg = _resolve(group)
    if pg is None:
        return None
    if rank is None and group_rank is None:
        rank = 0
    root = _root(pg, op, rank, group_rank, kind)
    is_root = pg.rank() == root
    place = "destination" if kind == "dst" else "source"
    if is_root and not tensors:
        raise ValueError(f"Argument ``{list_name}`` must be specified on {place} rank.")
    if not is_root and tensors:
        raise ValueError(f"Argument ``{list_name}`` must NOT be specified on non-{place} ranks.")
    return pg, root, is_root


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """On rank ``dst``, ``gather_list[i]`` gets rank i's ``tensor``."""
    rooted = _rooted("gather", tensor, gather_list, "gather_list", group, dst, group_dst, "dst")
    if rooted is None:
        return None
    pg, root, is_root = rooted
    arr, _ = _array(tensor, pg, "gather")
    _debug.check(pg, "GATHER", [tensor])
    comm, send = pg._comm, _mpi.buffer(arr)
    gathered, after = None, None
    if is_root:
        _check_outputs(gather_list, tensor, pg, "gather", "gather_list")
        gathered = np.empty((pg.size(),) + arr.shape, arr.dtype)
        after = _scatter_rows(gathered, gather_list)
        for t in gather_list:
            _bump(t)
    recv = _mpi.buffer(gathered) if is_root else None
    return _run(pg, "gather", async_op, lambda: comm.Gather(send, recv, root),
                lambda: [comm.Igather(send, recv, root)], gather_list or [], after)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank i's ``tensor`` gets ``scatter_list[i]`` of rank ``src``."""
    rooted = _rooted("scatter", tensor, scatter_list, "scatter_list", group, src, group_src, "src")
    if rooted is None:
        return None
    pg, root, is_root = rooted
    out, writeback = _array(tensor, pg, "scatter")
    _debug.check(pg, "SCATTER", [tensor])
    send = None
    if is_root:
        _check_outputs(scatter_list, tensor, pg, "scatter", "scatter_list")
        send = _mpi.buffer(np.stack([t._data for t in scatter_list]))
    comm, recv = pg._comm, _mpi.buffer(out)
    _bump(tensor)
    return _run(pg, "scatter", async_op, lambda: comm.Scatter(send, recv, root),
                lambda: [comm.Iscatter(send, recv, root)], [tensor], writeback)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Split ``input`` along dim 0 (equally, or by ``input_split_sizes``) and send the i-th piece to rank i;
    ``output`` gets the pieces received, in rank order (sized by ``output_split_sizes``)."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _resolve(group)
    if pg is None:
        return None
    if output.dtype != input.dtype:
        raise RuntimeError(f"all_to_all_single: output is {output.dtype} but input is {input.dtype}: "
                           "they must have the same dtype")
    out, writeback = _array(output, pg, "all_to_all_single")
    arr, _ = _array(input, pg, "all_to_all_single")
    send_counts = _split_counts(input, input_split_sizes, pg.size(), "input")
    recv_counts = _split_counts(output, output_split_sizes, pg.size(), "output")
    _debug.check(pg, "ALLTOALL_BASE", [output, input], check_shapes=False)
    comm = pg._comm
    send = _mpi.buffer(arr)
    recv = _mpi.buffer(out)
    send = [send[0], (send_counts, _displacements(send_counts)), send[1]]
    recv = [recv[0], (recv_counts, _displacements(recv_counts)), recv[1]]
    _bump(output)
    return _run(pg, "all_to_all_single", async_op, lambda: comm.Alltoallv(send, recv),
                lambda: [comm.Ialltoallv(send, recv)], [output], writeback)


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank of ``group`` has reached the barrier (``timeout`` replaces the group's)."""
    pg = _resolve(group)
    if pg is None:
        return None
    if device_ids is not None and pg._backend != Backend.NCCL:
        raise ValueError(f"barrier(device_ids={device_ids!r}) is only meaningful for backend='nccl'")
    _debug.check(pg, "BARRIER", [])
    comm = pg._comm
    if async_op:
        return Work("barrier", [comm.Ibarrier()], pg)
    token = pg._watchdog_begin("barrier", timeout)
    try:
        comm.Barrier()
    finally:
        pg._watchdog_end(token)
    return None


# ------------------------------------------------------------------ point to point
def _peer(pg, rank, group_rank, name, required):
    if group_rank is None and rank is None and not required:
        return None
    peer = _root(pg, "send" if name == "dst" else "recv", rank, group_rank, name)
    if peer == pg.rank():
        kind = "destination" if name == "dst" else "source"
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank of the current "
                         "process.")
    return peer


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst`` (blocks until it can be reused)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work.source_rank()


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "dst", required=True)
    arr, _ = _array(tensor, pg, "send")
    return Work("send", [pg._comm.Isend(_mpi.buffer(arr), peer, tag)], pg)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a Work."""
    _check_tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    peer = _peer(pg, src, group_src, "src", required=False)
    MPI = _mpi.mpi()
    arr, writeback = _array(tensor, pg, "recv")
    _bump(tensor)
    request = pg._comm.Irecv(_mpi.buffer(arr), MPI.ANY_SOURCE if peer is None else peer, tag)
    return Work("recv", [request], pg, [tensor], writeback)


# ------------------------------------------------------------------ helpers of the list collectives
def _check_outputs(tensors, like, pg, op, what):
    if len(tensors) != pg.size():
        raise RuntimeError(f"{op}: invalid {what} (expected length {pg.size()}, got {len(tensors)})")
    for i, t in enumerate(tensors):
        if t.shape != like.shape or t.dtype != like.dtype:
            raise RuntimeError(f"{op}: invalid tensor at index {i} of {what} (expected {tuple(like.shape)} "
                               f"{like.dtype}, got {tuple(t.shape)} {t.dtype})")


def _check_sizes(big, small, pg, op, big_name, small_name):
    if big.dtype != small.dtype:
        raise RuntimeError(f"{op}: {big_name} is {big.dtype} but {small_name} is {small.dtype}: "
                           "they must have the same dtype")
    if big.numel() != small.numel() * pg.size():
        raise RuntimeError(f"{op}: {big_name} tensor size must be equal to world_size times {small_name} tensor "
                           f"size: {big_name} has {big.numel()} elements {tuple(big.shape)}, {small_name} "
                           f"{small.numel()} {tuple(small.shape)}, world_size {pg.size()}")


def _scatter_rows(rows, tensors):
    def copy():
        for row, t in zip(rows, tensors):
            np.copyto(t._data, row)
    return copy


def _split_counts(tensor, splits, size, name):
    """Elements per rank of ``tensor`` split along dim 0 by ``splits`` (equal pieces when empty)."""
    rows = tensor.shape[0] if tensor.dim() else 1
    per_row = tensor.numel() // rows if rows else 0
    if not splits:
        if rows % size:
            raise RuntimeError(f"all_to_all_single: {name} of shape {tuple(tensor.shape)}: dim 0 ({rows}) is not "
                               f"divisible by the world size {size}; pass {name}_split_sizes")
        return [rows // size * per_row] * size
    splits = [int(s) for s in splits]
    if len(splits) != size or sum(splits) != rows:
        raise RuntimeError(f"all_to_all_single: {name}_split_sizes={splits} must have {size} entries (one per "
                           f"rank) summing to {name}.shape[0] = {rows}")
    return [s * per_row for s in splits]


def _displacements(counts):
    return [int(d) for d in np.concatenate(([0], np.cumsum(counts)[:-1]))]
