"""The timeout of ``init_process_group``: a thread that ends the job when a collective waits too long.

Blocking collectives call MPI's blocking functions (as fast as raw mpi4py); while one runs, the
main thread is inside MPI and cannot raise. A daemon thread checks the operations in flight and,
when one has waited longer than its process group's timeout (a peer rank stuck or dead), prints
which rank, which operation and the timeout, and calls ``MPI_Abort``, which ends every rank of
the job with exit code 1 (as torch's NCCL watchdog tears the job down).
"""

import itertools
import sys
import threading
import time

from . import _mpi


class Watchdog:
    def __init__(self, rank):
        self._rank = rank
        self._active = {}  # token -> (op name, timeout timedelta, monotonic deadline)
        self._tokens = itertools.count()
        self._poll = 1.0
        self._stop = threading.Event()
        self._thread = None

    def begin(self, op, timeout):
        """Start watching ``op`` (a ``datetime.timedelta`` ``timeout``); returns the token ``end`` takes."""
        token = next(self._tokens)
        self._active[token] = (op, timeout, time.monotonic() + timeout.total_seconds())
        return token

    def expect(self, timeout):
        """Make sure the thread runs and checks often enough for ``timeout`` (a quarter of it, at most 1 s)."""
        self._poll = min(self._poll, max(timeout.total_seconds() / 4, 0.01))
        self._start()

    def end(self, token):
        self._active.pop(token, None)

    def stop(self):
        self._stop.set()

    def _start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="retrograd-distributed-watchdog",
                                            daemon=True)
            self._thread.start()

    def _run(self):
        while not self._stop.wait(self._poll):
            now = time.monotonic()
            for op, timeout, deadline in list(self._active.values()):
                if now > deadline:
                    self._abort(op, timeout)

    def _abort(self, op, timeout):
        print(f"[rank {self._rank}] retrograd.distributed: {op} did not complete within the timeout "
              f"of {timeout} (set by init_process_group(timeout=...)): a peer rank is stuck, has died "
              "or is running a different collective; aborting the job", file=sys.stderr, flush=True)
        _mpi.mpi().COMM_WORLD.Abort(1)
