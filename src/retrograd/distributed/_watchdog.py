"""The timeout of ``init_process_group``: a thread that ends the job when a collective waits too long.

Blocking collectives call MPI's blocking functions (as fast as raw mpi4py); while one runs, the
main thread is inside MPI and cannot raise. A daemon thread checks the operations in flight and,
when one has waited longer than its process group's timeout (a peer rank stuck or dead), prints
which rank, which operation and the timeout, and calls ``MPI_Abort``, which ends every rank of
the job with exit code 1 (as torch's NCCL watchdog tears the job down).
"""

import threading
import time

from . import _faults


class Watchdog:
    """Watches the blocking operation in flight: ``begin(op, timeout)`` ... ``end(token)``.

    Per call that is one tuple stored in a slot (with a sequence number) and cleared after: no
    clock is read on the hot path. The thread reads the slot every ``poll`` seconds and times
    how long it has held the same operation (so it notices between ``timeout`` and ``timeout``
    plus two polls). One slot serves the process: MPI's collectives on a communicator are called
    from one thread at a time; where threads overlap blocking calls, ``end`` clears only its own
    operation, and the later one is watched.
    """

    def __init__(self, rank):
        self._rank = rank
        self._slot = None  # (op name, timeout timedelta, sequence number) of the call in flight
        self._seq = 0
        self._poll = 1.0
        self._stop = threading.Event()
        self._thread = None

    def begin(self, op, timeout):
        """Start watching ``op`` (a ``datetime.timedelta`` ``timeout``); returns the token ``end`` takes."""
        self._seq = seq = self._seq + 1
        self._slot = (op, timeout, seq)
        return seq

    def end(self, token):
        slot = self._slot
        if slot is not None and slot[2] == token:
            self._slot = None

    def expect(self, timeout):
        """Make sure the thread runs and checks often enough for ``timeout`` (a quarter of it, at most 1 s)."""
        self._poll = min(self._poll, max(timeout.total_seconds() / 4, 0.01))
        self._start()

    def stop(self):
        self._stop.set()

    def _start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="retrograd-distributed-watchdog",
                                            daemon=True)
            self._thread.start()

    def _run(self):
        seen, since = None, 0.0
        while not self._stop.wait(self._poll):
            slot, now = self._slot, time.monotonic()
            if slot is None or slot[2] != seen:
                seen, since = (None if slot is None else slot[2]), now
            elif now - since > slot[1].total_seconds():
                self._abort(slot[0], slot[1])

    def _abort(self, op, timeout):
        _faults.abort_with(f"[rank {self._rank}] retrograd.distributed: {op} did not complete within the "
                           f"timeout of {timeout} (set by init_process_group(timeout=...)): a peer rank is "
                           "stuck, has died or is running a different collective; aborting the job")
