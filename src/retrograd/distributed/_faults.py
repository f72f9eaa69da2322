"""Ending the whole job when one rank fails, instead of leaving the others waiting forever.

``init_process_group`` installs ``excepthook``: an uncaught exception on a rank prints its
traceback, then ``rank R failed: <exception>``, and calls ``MPI_Abort``, which makes ``mpiexec``
end every rank. The launcher's rank entry (``_rank_main``) does the same for a script that fails
before it initialises the process group, or exits with a nonzero code.
"""

import sys
import time

from . import _mpi

_previous_hook = None


# mpiexec forwards a rank's output asynchronously, and MPI_Abort can end the job before a line
# written just before it is passed on: wait this long between the two
FORWARD_S = 0.5


def abort_with(line, code=1):
    """Print ``line`` to stderr, let mpiexec forward it, end every rank of the job with ``code``."""
    print(line, file=sys.stderr, flush=True)
    time.sleep(FORWARD_S)
    _mpi.mpi().COMM_WORLD.Abort(code)


def abort_job(rank, message, code=1):
    """Print ``rank R failed: message`` and end every rank of the job with exit code ``code``."""
    abort_with(f"rank {rank} failed: {message}; ending the job (MPI_Abort)", code)


def install_excepthook(rank):
    global _previous_hook
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        abort_job(rank, f"{exc_type.__name__}: {exc}")

    _previous_hook = previous
    sys.excepthook = excepthook


def restore_excepthook():
    global _previous_hook
    if _previous_hook is not None:
        sys.excepthook = _previous_hook
        _previous_hook = None
