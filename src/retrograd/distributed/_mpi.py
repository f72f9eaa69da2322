"""mpi4py, imported on first use, and the MPI datatype of each retrograd dtype.

``import retrograd.distributed`` works without mpi4py: only a call that needs MPI imports it
(importing ``mpi4py.MPI`` initialises MPI), and where it is absent that call raises a
RuntimeError saying how to install it.
"""

import importlib.util

import numpy as np

INSTALL_HINT = ('retrograd.distributed runs on MPI through mpi4py, which is not installed here: '
                'install it with the MPICH wheel by `pip install -e ".[distributed]"` '
                '(or `pip install mpi4py mpich`)')

_MPI = None


def available():
    """True where mpi4py can be imported (without importing it, which would start MPI)."""
    return _MPI is not None or importlib.util.find_spec("mpi4py") is not None


def mpi():
    """The ``mpi4py.MPI`` module (MPI is initialised on the first call)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(f"{INSTALL_HINT} ({e})") from e
        _MPI = MPI
    return _MPI


def buffer(arr):
    """``arr`` as an mpi4py buffer specification, in place: ``[arr, datatype]``.

    bfloat16 has no MPI datatype in MPICH: its 2-byte elements travel as uint16 (the bits,
    unchanged) and reductions over them use the ops of ``bfloat16_op``.
    """
    MPI = mpi()
    if arr.dtype.kind == "V" or arr.dtype.name == "bfloat16":
        return [arr.view(np.uint16), MPI.UINT16_T]
    if arr.dtype == np.bool_:
        return [arr, MPI.C_BOOL]
    return [arr, MPI.Datatype.fromcode(arr.dtype.char)]


def is_bfloat16(arr):
    return arr.dtype.name == "bfloat16"
