"""``torch.multiprocessing``: Python's multiprocessing (every name of it is here), with tensors that
cross process boundaries through shared memory (see ``reductions``), the sharing strategy that
names that memory, and ``spawn`` / ``start_processes``.

``import retrograd.multiprocessing as mp`` then ``mp.Queue()``, ``mp.Process(...)``,
``mp.get_context('spawn')``, as with torch. A tensor put on a queue (or sent through a pipe, a pool,
a spawned process's arguments) moves to shared memory and arrives on the same memory, so the
receiver's in-place writes are the sender's; ``model.share_memory()`` before forking does the same
for a model trained by several processes at once (Hogwild).
"""

import multiprocessing
from multiprocessing import *  # noqa: F401,F403 - torch.multiprocessing is Python's, plus what follows

from . import _segment, reductions
from .spawn import (ProcessContext, ProcessExitedException, ProcessRaisedException, SpawnContext, spawn,  # noqa: F401
                    start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn",
           "start_processes", "ProcessContext", "ProcessRaisedException", "ProcessExitedException",
           "SpawnContext", "init_reductions"] + multiprocessing.__all__

init_reductions = reductions.init_reductions


def set_sharing_strategy(new_strategy):
    """Set how shared memory is named for other processes (by the tensors moved there from now on):
    'file_descriptor' (a descriptor passed along) or 'file_system' (a file name)."""
    if new_strategy not in _segment.STRATEGIES:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{set(_segment.STRATEGIES)!r}")
    _segment.strategy = new_strategy


def get_sharing_strategy():
    """The current sharing strategy (see ``set_sharing_strategy``)."""
    return _segment.strategy


def get_all_sharing_strategies():
    """The sharing strategies this system supports (a set)."""
    return set(_segment.STRATEGIES)


init_reductions()
