"""Shared-memory segments: the memory that ``share_memory_()`` moves a tensor's array into, and the
handles that let another process map the same memory.

A segment is a file in memory (``memfd_create``, or a file under /dev/shm) mapped ``MAP_SHARED``:
every process mapping it reads and writes the same pages. A forked child inherits the mapping; a
spawned process, or one that gets a tensor through a queue or a pipe, maps it from a handle. The
sharing strategy (torch's two, ``set_sharing_strategy``) decides what a handle is:

- ``'file_descriptor'`` (the default; not on macOS and Windows, as torch's): the file has no name;
  a handle is a duplicate of its descriptor, passed by multiprocessing's own means
  (``reduction.DupFd``: at a spawn, or through the sending process's resource sharer, which must
  still run when it is received).
- ``'file_system'``: the file has a name; a handle is the name. An 8-byte count at the start of the
  file says how many mappings and unreceived handles use it (updated under a ``lockf`` lock); the
  one that takes it to zero removes the name. A handle pickled but never received keeps the file
  until multiprocessing's resource tracker removes it when the program ends, as torch's
  file_system strategy can leak without its shm manager.

A process maps a file once: a handle for a file it already maps (a tensor sent back to its
sender) gives the same segment, so the tensors built on it share memory in that process too.
"""

import mmap
import os
import secrets
import sys
import weakref
from multiprocessing import reduction, resource_tracker, util

import numpy as np

# as torch's: macOS and Windows have file_system alone
_HAVE_FDS = sys.platform not in ("darwin", "win32") and reduction.HAVE_SEND_HANDLE
STRATEGIES = frozenset({"file_descriptor", "file_system"} if _HAVE_FDS else {"file_system"})
strategy = "file_descriptor" if _HAVE_FDS else "file_system"

_COUNT = 64  # bytes before a file_system segment's data: its reference count (64 keeps any dtype aligned)
_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None


class Segment(mmap.mmap):
    """One mapping of a shared-memory file. ``fd`` stays open while the mapping lives (a handle is a
    duplicate of it); ``name`` is the file's path under file_system, else None; the data starts at
    byte ``start``."""


_mapped = weakref.WeakValueDictionary()  # (st_dev, st_ino) -> this process's Segment of that file


def _map(fd, name, start, pid):
    st = os.fstat(fd)
    seg = Segment(fd, st.st_size)
    seg.fd, seg.name, seg.start = fd, name, start
    seg.address = np.frombuffer(seg, np.uint8, count=1).__array_interface__["data"][0]
    _mapped[st.st_dev, st.st_ino] = seg
    # (multiprocessing's finalizer, not weakref's: it also runs when a child process ends, at os._exit)
    util.Finalize(seg, _unmapped, (fd, name, pid), exitpriority=0)
    return seg


def _unmapped(fd, name, pid):
    """A mapping was freed: drop its reference to a named file (in the process that took it, not in a
    forked copy of it), and close the descriptor."""
    if name is not None and os.getpid() == pid:
        _add_references(fd, name, -1)
    os.close(fd)


def _add_references(fd, name, delta):
    import fcntl

    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        count = int.from_bytes(os.pread(fd, 8, 0), "little") + delta
        os.pwrite(fd, count.to_bytes(8, "little"), 0)
        if count == 0:
            os.unlink(name)
            resource_tracker.unregister(_tracker_name(name), "shared_memory")
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def _tracker_name(path):
    return "/" + os.path.basename(path)  # the POSIX shm name whose shm_unlink removes /dev/shm/<name>


def allocate(nbytes):
    """A new segment of ``nbytes`` (at least one byte: an empty mapping cannot exist), by the current
    strategy."""
    nbytes = max(int(nbytes), 1)
    if strategy == "file_descriptor":
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("retrograd")
        else:
            fd, path = _named_file()
            os.unlink(path)
        os.ftruncate(fd, nbytes)
        return _map(fd, None, 0, os.getpid())
    fd, path = _named_file()
    os.ftruncate(fd, _COUNT + nbytes)
    if _SHM_DIR is not None:  # a file left behind is removed when the program ends
        resource_tracker.register(_tracker_name(path), "shared_memory")
    os.pwrite(fd, (1).to_bytes(8, "little"), 0)  # this mapping's reference
    return _map(fd, path, _COUNT, os.getpid())


def _named_file():
    import tempfile

    directory = _SHM_DIR or tempfile.gettempdir()
    path = os.path.join(directory, f"retrograd_{os.getpid()}_{secrets.token_hex(8)}")
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), path


def handle(seg):
    """``(opener, args)``: what lets another process map ``seg`` (pickled with the tensor, opened there
    by ``opener(*args)``), by the strategy it was made with."""
    if seg.name is None:
        return (_open_fd, (reduction.DupFd(seg.fd),))
    _add_references(seg.fd, seg.name, 1)  # the handle's reference, until it is received
    return (_open_name, (seg.name,))


def _open_fd(dupfd):
    return _adopt(dupfd.detach(), None, 0)


def _open_name(name):
    return _adopt(os.open(name, os.O_RDWR), name, _COUNT)


def _adopt(fd, name, start):
    """The segment of a received file: the one this process maps already (the handle's reference is
    then dropped), or a new mapping that takes over the handle's reference."""
    st = os.fstat(fd)
    seg = _mapped.get((st.st_dev, st.st_ino))
    if seg is not None:
        if name is not None:
            _add_references(fd, name, -1)
        os.close(fd)
        return seg
    return _map(fd, name, start, os.getpid())
