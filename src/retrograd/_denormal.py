"""``torch.set_flush_denormal``: flush denormal floats to zero on the CPU.

On x86-64 the SSE control register MXCSR has two bits for it: FTZ (results that would be
denormal are zero) and DAZ (denormal inputs are read as zero). NumPy cannot set them, but the C
library's floating-point environment carries MXCSR: on Linux with glibc, ``fegetenv`` /
``fesetenv`` read and write it (its ``fenv_t`` keeps MXCSR in its last 4 bytes), so this sets
the bits through ctypes. Like torch's, it changes the calling thread's register only: NumPy's
kernels running on that thread see it; threads of a BLAS library (matmul) do not. Elsewhere
(another CPU, C library or OS) it returns False, what torch documents for a system that does not
support it.
"""

import ctypes
import ctypes.util
import platform

_FTZ_DAZ = 0x8000 | 0x0040
_MXCSR_AT, _FENV_SIZE = 28, 32  # glibc x86-64: fenv_t is 32 bytes, __mxcsr its last field


def _libm():
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64") \
            or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else None


def set_flush_denormal(mode):
    """Flush denormal floats to zero on the CPU (this thread) when ``mode``; True where that is
    supported and set (x86-64 Linux with glibc), False elsewhere."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"flush_denormal expects a bool, but got {type(mode).__name__}")
    libm = _libm()
    if libm is None:
        return False
    env = (ctypes.c_uint8 * _FENV_SIZE)()
    if libm.fegetenv(env) != 0:
        return False
    mxcsr = int.from_bytes(bytes(env[_MXCSR_AT:]), "little")
    mxcsr = mxcsr | _FTZ_DAZ if mode else mxcsr & ~_FTZ_DAZ
    env[_MXCSR_AT:] = list(mxcsr.to_bytes(4, "little"))
    return libm.fesetenv(env) == 0
