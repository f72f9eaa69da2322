"""Keep the memory of freed large arrays in the process heap (glibc), so that the next array
of that size reuses pages that are already mapped.

glibc serves an allocation above ``M_MMAP_THRESHOLD`` with its own ``mmap`` and unmaps it on
free, and it returns the top of the heap to the OS beyond ``M_TRIM_THRESHOLD``. A training
step allocates and frees the same large activations and gradients every iteration, so every
step paid again for the page faults of fresh memory (about 1 ms per 4 MB here: 20-30% of the
cnn and transformer steps). With both thresholds raised, freed arrays stay in the heap for
reuse, as a caching allocator would keep them; the process keeps its peak memory mapped.

Skipped when the user tunes malloc already (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``), off Linux/glibc, or with
``RETROGRAD_MALLOC_TUNING=0``.
"""

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest accepted value on 64-bit builds
TRIM_THRESHOLD = 512 << 20

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def tune():
    """Raise glibc's mmap and trim thresholds; returns whether they were set."""
    if os.environ.get("RETROGRAD_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if any(var in os.environ for var in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
