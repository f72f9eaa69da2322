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

Blocks run on one thread. Splitting chains (and matmuls) over a second thread of retrograd's
own was built in session 23 (commit d781965, removed next) and measured again in session 27,
on the 2-vCPU machines here (Intel Xeon, OpenBLAS 0.3.31 SkylakeX, NumPy 2.4), with neither
design kept. Whole training steps, retrograd alone, each in a fresh process under
``chrt -f 10``, designs interleaved, 2 runs of 5 rounds, min step time in ms (run 1 / run 2):

=============  ==========  ==========  ==========  ==========  ==========
workload       main        A           B           B + T       main + T
=============  ==========  ==========  ==========  ==========  ==========
transformer    76.1/71.1   83.5/79.2   78.7/74.1   90.3/85.6   -/83.7
cnn            9.77/9.31   11.7/11.3   10.1/9.44   10.5/10.2   -/9.68
mlp            2.37/2.39   3.76/3.59   2.48/2.49   3.11/3.02   -/2.78
deep           227/222     273/266     239/229     239/231     -/223
lstm           25.1/23.5   36.0/32.8   25.6/23.5   32.2/30.7   -/30.4
gpt2           13.7/13.6   19.4/19.8   14.2/14.1   17.8/17.7   -/16.5
tiny           0.129/.129  0.132/.132  0.130/.131  0.131/.129  -/0.129
=============  ==========  ==========  ==========  ==========  ==========

main: this code (OpenBLAS on 2 threads, elementwise work on one). A: OpenBLAS set to one
thread (threadpoolctl) and one persistent worker thread taking half of every matmul of at
least 2^22 multiply-adds (row halves, or batch halves of batched products: each half one
single-threaded sgemm, bitwise the one-thread product) and half of every elementwise chain of
at least 2^17 elements (GELU's pieces, softmax's row blocks, ``run``'s blocks: bitwise the
unsplit results; conv kept its whole-batch layout, whose products split, the LSTM took its
one-thread path). B: OpenBLAS's threads as they are, plus A's elementwise split. T:
``OPENBLAS_THREAD_TIMEOUT=4`` in the environment (OpenBLAS reads it when it loads, so
retrograd could set it only when imported before NumPy: a user importing NumPy first keeps
the spin). A loses on every workload but ``tiny`` (below every threshold); B wins on none
(transformer +3 ms, deep +7 to +12, gpt2 +0.5, cnn +0.1 to +0.3, mlp and lstm even). Why, measured in
isolation (``chrt -f 10``, min):

- Waking a sleeping thread costs ~40 us here (the idle vCPU halts), 6-13 us while
  OpenBLAS's worker spins on the other vCPU, which it does for ~0.1 s after every
  multithreaded product. A worker pinned to that vCPU waits out the spin: GELU's two halves
  after a product took 106 ms (spinner and worker both FIFO priority 10; not measurable
  under normal scheduling on this loaded machine). Unpinned, the worker runs on the caller's
  vCPU once the caller waits: ``(1024,256)@(256,1024)`` then GELU over 1M floats 3.55 ms,
  split 3.42 (alone the split halves GELU: 2.01 -> 1.03 ms).
- Two single-threaded halves lose to OpenBLAS's own two threads on every 2-D product
  measured: ``(128,784)@(784,512)`` 341 us on two BLAS threads, 447 split (573 on one),
  ``(1024,1024)@(1024,256)`` 1461 against 1717, ``(1024,256)@(256,768)`` 1047 against 1125. Only
  the transformer's batched attention products gain: ``(32,128,64)@(32,64,128)`` 645 us on
  two BLAS threads, 377 split with BLAS on one thread (0.5 us to switch it), but right after
  a 2-D product (1042 us, its worker then spinning) the pair takes 1618 us split against 1696
  whole, and for ``(32,128,128)@(32,128,64)`` 1766 against 1416.
- T stops the spin (96 -> 0.1 ms of CPU per product) but each product then wakes OpenBLAS's
  sleeping worker: the transformer step 71 -> 84 ms, lstm 23.5 -> 30.4.

So both cores are used by OpenBLAS alone. The scripts (a prototype of A and B patched into
retrograd, the step driver, the micro-benchmarks) are kept in /work/notes/h105/ for a rerun on
another machine: a machine whose idle cores wake faster, or normal scheduling, may differ.
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
