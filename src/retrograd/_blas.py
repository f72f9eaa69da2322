"""``y += alpha*x`` on NumPy arrays in one BLAS call (axpy), as torch's ``y.add_(x, alpha=alpha)``.

NumPy has no fused multiply-add: ``y -= lr*g`` is two passes over memory and a temporary as
large as ``g``, and rounds twice. The BLAS library that NumPy itself links (its matmul's) has
``saxpy``/``daxpy``: one pass, no temporary, split over BLAS's threads when long, and on CPUs
with FMA instructions one rounding, which is what torch's ``add_(x, alpha=a)`` computes on the
CPU: the optimizers' updates through it equal torch's bitwise there (tests/optim/test_sgd.py).
Measured (SGD over the bench mlp's six parameters, 668K float32, Intel Sapphire Rapids,
OpenBLAS 0.3.31 SkylakeX kernels): 348 us with NumPy's two passes, 97 us one axpy per
parameter, 89 us torch's ``_foreach_add_``.

The library is found at first use through NumPy's own extension module (``dlsym`` on it
searches the libraries it links), by the cblas names NumPy's builds use: ``scipy_cblas_saxpy64_``
(the wheels' scipy-openblas64), ``cblas_saxpy64_``, ``cblas_saxpy_64``, plain ``cblas_saxpy``.
A ``64_``/``_64`` suffix means 64-bit integers (ILP64); for plain names the library's own word
decides (OpenBLAS's configuration string says ``USE64BITINT``), else they are 32-bit (LP64)
and sizes beyond 2^31 - 1 are left to NumPy.

``axpy`` returns True when it ran, False when the caller must compute it with NumPy (nothing
written then): no library found (or ``RETROGRAD_BLAS=0`` in the environment at first use, or
``enabled`` set False), other types than ``numpy.ndarray`` (CuPy's arrays), dtypes other than
native float32/float64 (half, bfloat16 and complex among them) or unequal ones, arrays not
C-contiguous, not aligned, a read-only ``y``, unequal shapes (NumPy broadcasts or raises, where
one flat call would not), overlapping memory (NumPy buffers that case), arrays below
``MIN_BYTES``, where the call costs more than NumPy's two passes, and an ``alpha`` that is not a
Python or NumPy real number (a complex one, an array, a Tensor; a Python int beyond a double's
range): NumPy's multiply then raises or broadcasts as it does. ``y``'s buffer (and a writable
``x``'s) is taken through Python's buffer protocol (``ctypes.c_char.from_buffer`` holds it
exported during the call); a read-only ``x``'s address is read from NumPy while the call's
arguments hold ``x``: no pointer outlives its array.

``scal`` (``x *= alpha``) is not here: NumPy's in-place multiply is one pass with no temporary
already, and measured as fast as or faster than ``sscal``/``dscal`` at every size (256 to 1M
elements, called back to back).

Threads and fork: OpenBLAS splits an axpy longer than 10000 elements over its own threads (the
pool NumPy's matmul uses; each element's result is the same on any thread count) and registers
``pthread_atfork`` handlers for that pool; this module keeps no thread or lock, so a forked
child calls it as the parent does (tests/test__blas.py forks).
"""

import ctypes
import importlib
import os

import numpy as np

__all__ = ["axpy", "available", "MIN_BYTES"]

# Bytes from which one BLAS call beats NumPy's multiply into a temporary and add, where the
# optimizers call it: after NumPy's passes over the arrays (the update after the backward, after
# a momentum's multiply), whose data OpenBLAS's second thread must then fetch from the other
# core's cache. Measured (wall clock under chrt -f 10, min of 9 x up to 250 calls, both
# interleaved, a NumPy multiply writing x before each): float32 64K elements (256 KiB) 18.9 us
# NumPy / 29.3 BLAS, 128K (512 KiB) 49 / 34, 256K 181 / 83, 1M 876 / 474; float64 32K (256
# KiB) 19.2 / 30.9, 64K (512 KiB) 48 / 36. (Called back to back on the same arrays BLAS wins
# from 16K elements: that is not how the updates run.)
MIN_BYTES = 1 << 19
enabled = True  # False: axpy returns False (the callers' NumPy formulas run)

_NAMES = (  # (prefix, suffix, 64-bit integers): NumPy's builds' cblas names, most specific first
    ("scipy_cblas_", "64_", True), ("cblas_", "64_", True), ("cblas_", "_64", True),
    ("scipy_cblas_", "", None), ("cblas_", "", None))

_axpy = None  # {dtype: the library's axpy} found at first use; {} without a usable library
_max_size = 0  # the largest size the library's integers hold


def _numpy_library():
    """A handle on NumPy's extension module, whose dependencies dlsym searches (None off it)."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        try:
            return ctypes.CDLL(module.__file__)
        except (OSError, AttributeError, TypeError):
            return None
    return None


def _uses_64bit_ints(lib, prefix):
    """OpenBLAS's own configuration string says USE64BITINT for an ILP64 build: the string of the
    library with these names (``scipy_cblas_``: ``scipy_openblas_get_config``, ``cblas_``:
    ``openblas_get_config``), not another's in the same process."""
    config = getattr(lib, prefix.replace("cblas_", "openblas_") + "get_config", None)
    if config is None:
        return False
    config.restype, config.argtypes = ctypes.c_char_p, ()
    return b"USE64BITINT" in (config() or b"")


def _find():
    """({dtype: axpy}, the largest size) of NumPy's BLAS, or ({}, 0)."""
    if os.environ.get("RETROGRAD_BLAS", "1") == "0" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return {}, 0
    lib = _numpy_library()
    if lib is None:
        return {}, 0
    for prefix, suffix, wide in _NAMES:
        if not (hasattr(lib, f"{prefix}saxpy{suffix}") and hasattr(lib, f"{prefix}daxpy{suffix}")):
            continue
        if wide is None:
            wide = _uses_64bit_ints(lib, prefix)
        integer = ctypes.c_int64 if wide else ctypes.c_int32
        found = {}
        for kind, dtype, real in (("s", np.float32, ctypes.c_float), ("d", np.float64, ctypes.c_double)):
            fn = getattr(lib, f"{prefix}{kind}axpy{suffix}")  # (n, alpha, x, incx, y, incy)
            fn.restype, fn.argtypes = None, (integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer)
            found[np.dtype(dtype)] = fn
        return found, (1 << (63 if wide else 31)) - 1
    return {}, 0


def available(dtype=None):
    """Whether axpy can run on the BLAS library (one was found, and ``enabled``), for arrays of
    ``dtype`` when given."""
    global _axpy, _max_size
    if _axpy is None:
        _axpy, _max_size = _find()
    return enabled and bool(_axpy) and (dtype is None or dtype in _axpy)


_REAL = (float, int, np.floating, np.integer)  # the alphas a c_float/c_double takes as their value
_export = ctypes.c_char.from_buffer  # a writable contiguous buffer's first byte, held exported
_address = ctypes.addressof


def axpy(alpha, x, y):
    """``y += alpha * x`` in place in one BLAS call (one rounding where the CPU has FMA); True
    when done, False (y untouched) when the caller must use NumPy (see the module's notes)."""
    if type(x) is not np.ndarray or type(y) is not np.ndarray or not enabled or not isinstance(alpha, _REAL):
        return False
    if isinstance(alpha, np.timedelta64):  # (a NumPy integer to isinstance, which NumPy's multiply refuses)
        return False
    if _axpy is None:
        available()
    n = y.size
    fn = _axpy.get(y.dtype)
    if fn is None or x.dtype != y.dtype or x.shape != y.shape or y.nbytes < MIN_BYTES or not 0 < n <= _max_size:
        return False
    fx, fy = x.flags, y.flags
    if not (fx.c_contiguous and fy.c_contiguous and fx.aligned and fy.aligned):
        return False
    # Writable is what NumPy's buffer export says (not flags.writeable: np.broadcast_arrays' views
    # read True there, with a FutureWarning, and are exported read-only)
    try:
        held_y = _export(y)
    except (TypeError, BufferError):  # (a read-only y: NumPy's formulas raise or warn as they do)
        return False
    ay = _address(held_y)
    try:
        held_x = _export(x)
        ax = _address(held_x)
    except (TypeError, BufferError):  # (a read-only x is not exported: its address, read from NumPy, while x is alive here)
        held_x, ax = x, x.ctypes.data
    end = n * y.itemsize
    if ax < ay + end and ay < ax + end:
        return False
    try:
        fn(n, alpha, ax, 1, ay, 1)
    except ctypes.ArgumentError:  # (alpha out of the float's range: raised before the call, nothing written)
        return False
    del held_x, held_y  # (the exports end after the call)
    return True
