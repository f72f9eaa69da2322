"""A chain of elementwise NumPy calls over large arrays, run in cache-sized blocks.

Each NumPy call of a chain (``d = z*z; d = 1 - d; d *= g``) makes a pass over whole arrays, and
its temporaries are as large as the arrays: beyond the L2 cache every pass goes to memory. Run
block by block, the temporaries of one block stay in cache. Every element is computed by the
same NumPy calls as on the whole arrays, so the result is bitwise the same; reductions must
not be cut this way (a sum in blocks adds in another order).

How to call it (returns ``out``)::

    from retrograd import _blocked
    _blocked.run(chain, out, x, y)     # chain(out_part, x_part, y_part) for each block

``run`` cuts ``out`` (an array, or a tuple of arrays of one shape) and every input array that
spans the cut axis; inputs that broadcast along it (fewer dims, length 1) and numbers are passed
whole. The chain must be elementwise: each block writes only its slice of ``out``. Arrays below
``min_size`` elements, and anything other than NumPy arrays and numbers (CuPy's arrays), run
in one call.

Measured (wall clock under ``chrt -f``, interleaved, min): Adam's step over eight 1M-element
weights 32.8 -> 22.6 ms; SGD's update of one 556 -> 320 us and relu's backward on 800K elements
664 -> 496 us, both alone, while within the bench steps here (whose working set fits this
machine's 480 MB L3) they are even: deep 26.6 vs 26.6 ms of SGD, the cnn step 11.56 vs
11.43 ms. At 256K elements (1 MB of float32) blocks lose (tanh's backward 97 -> 124 us),
hence ``MIN_SIZE``.

Splitting these chains over two threads as well (a persistent worker; commit d781965) was
measured and removed: on the 2-vCPU machines here waking a thread costs 10-30 us, OpenBLAS's
workers spin on the second core after every matmul, and the cnn step went 10.9 -> 12.5 ms,
deep 265 -> 270 ms (wall clock under ``chrt -f``, interleaved).
"""

import numpy as np

BLOCK = 1 << 16  # elements per block: 256 KiB of float32, a chain's few temporaries fit in L2
MIN_SIZE = 1 << 19  # elements: smaller arrays (2 MiB of float32) stay in cache in one call
_PLAIN = (np.ndarray, np.generic, float, int, bool, complex, type(None))


def _split_axis(shape, n):
    """The first axis at least n long, else the longest (cut into fewer blocks)."""
    for axis, length in enumerate(shape):
        if length >= n:
            return axis
    return max(range(len(shape)), key=shape.__getitem__)


def _cut(x, axis, ndim, length, bounds):
    """x's parts between the bounds along the axis (x repeated where it broadcasts along it)."""
    own = axis - (ndim - x.ndim) if type(x) is np.ndarray else -1
    if own < 0 or x.shape[own] != length:
        return [x] * (len(bounds) - 1)
    if own == 0:
        return [x[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    lead = (slice(None),) * own
    return [x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


def run(fn, out, *inputs, block=BLOCK, min_size=MIN_SIZE):
    """``fn(out, *inputs)`` computed block by block along one axis of ``out`` (about ``block``
    elements each) when ``out`` has at least ``min_size`` elements, else in one call (see the
    module's docstring). Returns ``out``."""
    first = out[0] if type(out) is tuple else out
    if type(first) is not np.ndarray or first.ndim == 0 or first.size < min_size or first.dtype.hasobject \
            or not all(isinstance(x, _PLAIN) for x in inputs):
        fn(out, *inputs)
        return out
    n = -(-first.size // block)
    axis = _split_axis(first.shape, n)
    length, ndim = first.shape[axis], first.ndim
    n = min(n, length)
    if n < 2:
        fn(out, *inputs)
        return out
    bounds = [length * i // n for i in range(n + 1)]
    if type(out) is tuple:
        cut_out = zip(*(_cut(o, axis, ndim, length, bounds) for o in out))
    else:
        cut_out = _cut(out, axis, ndim, length, bounds)
    for args in zip(cut_out, *(_cut(x, axis, ndim, length, bounds) for x in inputs)):
        fn(*args)
    return out
