"""``Work``: the handle of an operation started with ``async_op=True`` (an MPI nonblocking request)."""

import datetime
import time

from . import _mpi


class Work:
    """A collective or point-to-point operation in flight.

    ``wait()`` blocks until it completes (ending the job if that takes longer than the process
    group's timeout) and returns True; ``is_completed()`` asks MPI without blocking. ``result()``
    gives the output tensors. The tensors must not be read or written before completion.
    """

    def __init__(self, op, requests, group, outputs=(), on_complete=None):
        self._op = op
        self._requests = list(requests)
        self._group = group
        self._outputs = list(outputs)
        self._on_complete = on_complete
        self._done = False
        self._status = None

    def _complete(self):
        self._done = True
        self._requests = []
        if self._on_complete is not None:
            on_complete, self._on_complete = self._on_complete, None
            on_complete()

    def is_completed(self):
        """True once the operation has finished (completing it if MPI says it has)."""
        if not self._done:
            MPI = _mpi.mpi()
            if MPI.Request.Testall(self._requests, self._statuses()):
                self._complete()
        return self._done

    def wait(self, timeout=None):
        """Block until the operation completes; returns True.

        Without ``timeout`` (or with ``timedelta(0)``, torch's default) the process group's timeout
        applies, and past it the job is aborted with a message naming the operation. With a
        ``datetime.timedelta`` ``timeout``, as in torch, a RuntimeError is raised past it instead,
        and the operation stays in flight (``wait()`` again to finish it).
        """
        if self._done:
            return True
        MPI = _mpi.mpi()
        if timeout is not None and not isinstance(timeout, datetime.timedelta):
            raise TypeError(f"Work.wait(timeout=...) takes a datetime.timedelta, got {type(timeout).__name__}")
        if timeout:
            self._wait_until(time.monotonic() + timeout.total_seconds(), timeout)
        else:
            token = self._group._watchdog_begin(self._op)
            try:
                MPI.Request.Waitall(self._requests, self._statuses())
            finally:
                self._group._watchdog_end(token)
        self._complete()
        return True

    def _wait_until(self, deadline, timeout):
        """Poll MPI (Test) until the requests complete or ``deadline`` passes (RuntimeError)."""
        MPI = _mpi.mpi()
        pause = 1e-5
        while not MPI.Request.Testall(self._requests, self._statuses()):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"[rank {self._group._global_rank(self._group.rank())}] {self._op} did not complete within "
                    f"Work.wait(timeout={timeout}): a peer rank is late, stuck or running a different collective; "
                    "the operation is still in flight (call wait() again to finish it)")
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)

    def _statuses(self):
        if self._status is None:
            MPI = _mpi.mpi()
            self._status = [MPI.Status() for _ in self._requests]
        return self._status

    def result(self):
        """The output tensors of the operation (after ``wait()``)."""
        return list(self._outputs)

    def get_future(self):
        """A ``retrograd.futures.Future`` of ``result()``, completed when someone waits for it."""
        from ..futures import Future

        return Future()._bind(lambda: (self.wait(), self.result())[1], self.is_completed)

    def exception(self):
        """None: a failed MPI operation raises (or aborts the job) instead of completing with an error."""
        return None

    def source_rank(self):
        """For a receive: the rank the message came from."""
        if not self._done:
            raise RuntimeError("source_rank() of a Work that has not completed: call wait() first")
        if not self._status:
            raise RuntimeError(f"source_rank() is only available for receives, not {self._op}")
        return self._group._global_rank(self._status[0].Get_source())

    def __repr__(self):
        return f"Work({self._op}, completed={self._done})"



