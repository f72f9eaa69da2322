"""Process groups: ``init_process_group``, ``new_group``, ``destroy_process_group`` and the queries.

A process group is an MPI communicator: the default group duplicates ``MPI.COMM_WORLD`` (ranks
and world size come from MPI, started by ``mpiexec`` or ``retrograd-run``), ``new_group(ranks)``
splits it. The group also carries the backend name, the timeout its operations are watched
with (see ``_watchdog``) and the ``TORCH_DISTRIBUTED_DEBUG`` level read at init.
"""

import datetime
import os

from . import _faults, _mpi
from ._watchdog import Watchdog

default_pg_timeout = datetime.timedelta(minutes=30)
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")


class Backend(str):
    """A backend name: ``Backend.MPI`` ("mpi", the default here), ``Backend.GLOO`` ("gloo", run on
    MPI) or ``Backend.NCCL`` ("nccl", CUDA tensors through CuPy's NCCL)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return value


class ProcessGroup:
    """The ranks of one MPI communicator; ``rank()`` and ``size()`` as torch's ProcessGroup."""

    def __init__(self, comm, ranks, backend, timeout, group_name, debug_level):
        self._comm = comm
        self._ranks = list(ranks)  # global rank of each group rank
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self._backend = Backend(backend)
        self._timeout = timeout
        self.group_name = group_name
        self._debug_level = debug_level

    def rank(self):
        return self._rank

    def size(self):
        return self._size

    def name(self):
        return self._backend

    @property
    def group_desc(self):
        return self.group_name

    def _global_rank(self, group_rank):
        return self._ranks[group_rank]

    def _group_rank(self, global_rank):
        try:
            return self._ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"Global rank {global_rank} is not part of group {self}") from None

    def _watchdog_begin(self, op, timeout=None):
        if timeout is None:
            timeout = self._timeout
        else:
            _state.watchdog.expect(timeout)
        return _state.watchdog.begin(op, timeout)

    def _watchdog_end(self, token):
        _state.watchdog.end(token)

    def __repr__(self):
        return (f"<ProcessGroup {self._backend} ranks={self._ranks} rank={self._rank} "
                f"timeout={self._timeout}>")


class _NonGroupMember:
    """What ``new_group`` returns on the ranks it leaves out (torch's GroupMember.NON_GROUP_MEMBER)."""

    def __repr__(self):
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    """``GroupMember.WORLD`` (the default group once initialised) and ``GroupMember.NON_GROUP_MEMBER``."""

    WORLD = None
    NON_GROUP_MEMBER = _NonGroupMember()


class _World:
    def __init__(self):
        self.default_pg = None
        self.groups = []
        self.watchdog = None
        self.previous_excepthook = None


_state = _World()


class _Group:
    """``dist.group.WORLD``: the default process group (None before init)."""

    @property
    def WORLD(self):
        return _state.default_pg


group = _Group()


def is_available():
    """True where MPI (mpi4py) is installed, so process groups can be made."""
    return _mpi.available()


def is_mpi_available():
    """True where MPI (mpi4py) is installed: the 'mpi' backend, the default here."""
    return _mpi.available()


def is_gloo_available():
    """The 'gloo' backend runs on MPI here."""
    return _mpi.available()


def is_nccl_available():
    """True where MPI and a CUDA device are there (backend='nccl' itself is not written yet)."""
    from .. import cuda

    return _mpi.available() and cuda.is_available()


def is_initialized():
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _state.default_pg is not None


def _default_group():
    if _state.default_pg is None:
        raise ValueError(_NOT_INITIALIZED)
    return _state.default_pg


def _resolve(group):
    """The process group to run on, or None on a rank outside ``group``."""
    pg = _default_group()
    if group is None or group is GroupMember.WORLD:
        return pg
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup made by new_group() or None, got {type(group).__name__}")
    if group not in _state.groups:
        raise ValueError(f"{group} has been destroyed (destroy_process_group) or was never made by new_group()")
    return group


def _check_timeout(timeout):
    if timeout is None:
        return default_pg_timeout
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")
    return timeout


def _check_backend(backend):
    name = Backend(backend if backend is not None else Backend.MPI)
    if ":" in name:  # torch's per-device form, e.g. "cpu:gloo,cuda:nccl": CPU tensors use the cpu entry
        pairs = [pair.split(":", 1) for pair in name.split(",")]
        devices = dict(pair for pair in pairs if len(pair) == 2)
        if len(devices) != len(pairs) or set(devices) - {"cpu", "cuda"} \
                or devices.get("cpu") not in (Backend.MPI, Backend.GLOO) \
                or devices.get("cuda", Backend.NCCL) != Backend.NCCL:
            raise ValueError(f"Invalid backend: {backend!r}; the per-device form takes 'cpu:mpi' or 'cpu:gloo', "
                             "optionally with ',cuda:nccl' (CUDA tensors then raise: nccl is not written)")
        return name
    if name not in (Backend.MPI, Backend.GLOO, Backend.NCCL):
        raise ValueError(f"Invalid backend: {backend!r}; retrograd.distributed supports 'mpi' (the default), "
                         "'gloo' (run on MPI) and 'nccl' (CUDA tensors)")
    if name == Backend.NCCL:
        if not is_nccl_available():
            raise RuntimeError("ProcessGroupNCCL is only supported with GPUs, no GPUs found! (backend='nccl' is "
                               "for CUDA tensors; use backend='mpi' or 'gloo' for CPU tensors)")
        raise NotImplementedError("backend='nccl' (CUDA tensors through CuPy's NCCL) is not implemented yet: use "
                                  "backend='mpi' with CPU tensors (.cpu())")
    return name


def _debug_level():
    level = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if level not in ("OFF", "INFO", "DETAIL"):
        raise ValueError(f"The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL, but is {level!r}")
    return level


def _check_env(name, value, mpi_value):
    if value is not None and int(value) != mpi_value:
        raise RuntimeError(f"{name}={value} from the environment disagrees with MPI's {mpi_value}: start the "
                           "job with retrograd-run / mpiexec and leave RANK and WORLD_SIZE to them")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None, _ranks=None):
    """Join the job's default process group (every rank calls it).

    Ranks and world size come from MPI: start the job with ``retrograd-run --nproc-per-node N``
    or ``mpiexec -n N``. ``init_method`` may be None or ``"env://"`` (RANK and WORLD_SIZE, where
    set, must agree with MPI's). ``rank`` and ``world_size``, where given, must agree too.
    ``timeout`` bounds every collective's wait: past it the job is aborted with a message.
    From then on (with more than one rank) an uncaught exception on any rank prints
    ``rank R failed: ...`` and ends the whole job (MPI_Abort) instead of leaving the others waiting.
    """
    if _state.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise NotImplementedError("init_process_group(store=...): retrograd.distributed meets its peers "
                                  "through MPI (mpiexec / retrograd-run), not a Store; leave store=None")
    if init_method not in (None, "env://"):
        raise NotImplementedError(f"init_process_group(init_method={init_method!r}): retrograd.distributed "
                                  "takes ranks from MPI; use init_method=None or 'env://'")
    if pg_options is not None:
        raise NotImplementedError("init_process_group(pg_options=...) is not supported by retrograd.distributed")
    if _ranks is not None:
        raise NotImplementedError("init_process_group(_ranks=...) is not supported by retrograd.distributed")
    name = _check_backend(backend)
    if device_id is not None:
        raise ValueError(f"init_process_group(device_id={device_id!r}) binds a CUDA device for backend='nccl'; "
                         "the MPI backend runs on CPU tensors: leave device_id=None")
    timeout = _check_timeout(timeout)
    debug_level = _debug_level()
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    mpi_rank, mpi_size = world.Get_rank(), world.Get_size()
    _check_env("RANK", os.environ.get("RANK"), mpi_rank)
    _check_env("WORLD_SIZE", os.environ.get("WORLD_SIZE"), mpi_size)
    if world_size != -1:
        _check_env("world_size", world_size, mpi_size)
    if rank != -1:
        _check_env("rank", rank, mpi_rank)
    if _state.watchdog is None:
        _state.watchdog = Watchdog(mpi_rank)
    _state.watchdog.expect(timeout)
    token = _state.watchdog.begin("init_process_group (every rank must call it)", timeout)
    try:
        comm = world.Dup()
    finally:
        _state.watchdog.end(token)
    pg = ProcessGroup(comm, range(mpi_size), name, timeout, group_name or "default_pg", debug_level)
    _state.default_pg = pg
    _state.groups = [pg]
    GroupMember.WORLD = pg
    if mpi_size > 1:  # with one rank nobody waits for this one (and a REPL's error should not end it)
        _faults.install_excepthook(mpi_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None, sort_ranks=True):
    """A process group of ``ranks`` (global ranks; all by default): every rank of the job calls it.

    On the ranks it leaves out it returns ``GroupMember.NON_GROUP_MEMBER``, on which collectives
    do nothing.
    """
    default = _default_group()
    if pg_options is not None:
        raise NotImplementedError("new_group(pg_options=...) is not supported by retrograd.distributed")
    if use_local_synchronization:
        raise NotImplementedError("new_group(use_local_synchronization=True): MPI makes sub-communicators "
                                  "collectively; call new_group on every rank with the default False")
    if device_id is not None:
        raise NotImplementedError("new_group(device_id=...) is not supported by retrograd.distributed")
    name = _check_backend(backend if backend is not None else default._backend)
    timeout = _check_timeout(timeout if timeout is not None else default._timeout)
    _state.watchdog.expect(timeout)
    world_size = default.size()
    members = list(range(world_size)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        members = sorted(members)
    if len(set(members)) != len(members):
        raise ValueError(f"new_group(ranks={list(ranks)}): ranks must be distinct")
    for r in members:
        if not 0 <= r < world_size:
            raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {world_size - 1} "
                             f"(world_size={world_size})")
    me = default.rank()
    MPI = _mpi.mpi()
    color = 0 if me in members else MPI.UNDEFINED
    token = _state.watchdog.begin("new_group (every rank must call it)", default._timeout)
    try:
        comm = default._comm.Split(color, members.index(me) if me in members else 0)
    finally:
        _state.watchdog.end(token)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, members, name, timeout, group_desc or f"group_{len(_state.groups)}",
                      default._debug_level)
    _state.groups.append(pg)
    return pg


def destroy_process_group(group=None):
    """Free ``group``, or with no argument every group and the default one (init may be called again)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    if group is None or group is GroupMember.WORLD:
        _default_group()
        for pg in _state.groups:
            pg._comm.Free()
        _state.groups = []
        _state.default_pg = None
        GroupMember.WORLD = None
        _faults.restore_excepthook()
        return
    pg = _resolve(group)
    pg._comm.Free()
    _state.groups.remove(pg)


def get_rank(group=None):
    """This process's rank in ``group`` (the default group: its global rank); -1 outside ``group``."""
    pg = _resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group=None):
    """The number of ranks in ``group``; -1 on a rank outside it."""
    pg = _resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group=None):
    """The backend name of ``group``: "mpi", "gloo" or "nccl"."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg._backend


def get_global_rank(group, group_rank):
    """The global rank of ``group_rank`` in ``group``."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Group GroupMember.NON_GROUP_MEMBER is not registered")
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg._global_rank(group_rank)


def get_group_rank(group, global_rank):
    """The rank in ``group`` of the process whose global rank is ``global_rank``."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Group GroupMember.NON_GROUP_MEMBER is not registered")
    return pg._group_rank(global_rank)


def get_process_group_ranks(group):
    """The global ranks in ``group``."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Group GroupMember.NON_GROUP_MEMBER is not registered")
    return list(pg._ranks)
