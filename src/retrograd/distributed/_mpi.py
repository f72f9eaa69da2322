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
IN_PLACE = None  # MPI.IN_PLACE, once mpi() has run


def available():
    """True where mpi4py can be imported (without importing it, which would start MPI)."""
    return _MPI is not None or importlib.util.find_spec("mpi4py") is not None


def mpi():
    """The ``mpi4py.MPI`` module (MPI is initialised on the first call)."""
    global _MPI, IN_PLACE
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(f"{INSTALL_HINT} ({e})") from e
        _MPI, IN_PLACE = MPI, MPI.IN_PLACE
    return _MPI


# dtype characters whose arrays mpi4py passes to MPI with the right datatype by itself
NATIVE = frozenset("fdeqilhbBH")
_DATATYPES = {}  # NumPy dtype character -> (MPI datatype, NumPy dtype the buffer is viewed as, or None)


def _datatype(dtype):
    """The MPI datatype for elements of ``dtype`` and the view the buffer needs (cached per dtype)."""
    spec = _DATATYPES.get(dtype.char)
    if spec is None:
        MPI = mpi()
        if is_bfloat16(dtype):
            spec = (MPI.UINT16_T, np.dtype(np.uint16))
        elif dtype == np.bool_:
            spec = (MPI.C_BOOL, None)
        else:
            spec = (MPI.Datatype.fromcode(dtype.char), None)
        _DATATYPES[dtype.char] = spec
    return spec


def buffer(arr):
    """``arr`` as an mpi4py buffer specification, in place: ``[arr, datatype]``.

    bfloat16 has no MPI datatype in MPICH: its 2-byte elements travel as uint16 (the bits,
    unchanged) and reductions over them use the ops of ``reduce_op._bfloat16_op``.
    """
    datatype, view = _datatype(arr.dtype)
    return [arr if view is None else arr.view(view), datatype]


def is_bfloat16(dtype):
    """True for ml_dtypes' bfloat16 (a NumPy dtype of kind 'V')."""
    return dtype.kind == "V" and dtype.name == "bfloat16"
