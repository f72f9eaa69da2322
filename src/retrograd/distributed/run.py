"""Launcher (in progress)."""

import os
import shutil
import sysconfig


def find_mpiexec():
    """The mpiexec installed with the mpich wheel (next to this Python), else the one on PATH."""
    beside = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("mpiexec")
    if found is None:
        raise FileNotFoundError('mpiexec not found: install MPICH with `pip install -e ".[distributed]"` '
                                "(or put an MPI's mpiexec on PATH)")
    return found
