"""``set_num_threads`` / ``get_num_threads`` and the inter-op pair, as torch's.

retrograd's parallelism is the BLAS library under NumPy (matmul, conv through matmul, linear
algebra); every other op runs on one thread. A pool of retrograd's own (BLAS on one thread,
matmuls and elementwise chains split in two) and an elementwise split beside BLAS's threads
were both measured to lose on 2-vCPU machines, on every bench workload they touch (the
numbers and why: retrograd/_blocked.py). So the intra-op thread count is the BLAS pools'
count, read and set through threadpoolctl (imported on first use, so ``import retrograd``
stays fast). retrograd runs no ops concurrently: it has no inter-op pool, and
``get_num_interop_threads()`` is 1 whatever ``set_num_interop_threads`` was given (a limit
that retrograd never exceeds).
"""

def _blas():
    """threadpoolctl's controller restricted to the BLAS pools loaded now (looked up at each call:
    a library imported later, SciPy's own OpenBLAS for one, has a pool of its own)."""
    import numpy  # noqa: F401  (its BLAS must be loaded for threadpoolctl to see it)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


# With one BLAS thread, conv's and the LSTM's kernels run products small enough for OpenBLAS's
# small-matrix kernel (its packed kernel copies a whole operand per call); with more, whole
# products that BLAS splits over its threads.
SMALL_GEMM = 10 ** 6  # multiply-adds (M*N*K): OpenBLAS (SkylakeX kernels) multiplies up to this many
# with its small-matrix kernel, ~1.4x faster than its packed one on cnn's shapes
_blas_pools = None


def blas_threads():
    """The thread count of the BLAS under NumPy now: get_num_threads()'s count, from the BLAS
    controllers found once (looking them up costs milliseconds; this ~0.5 us a call)."""
    global _blas_pools
    if _blas_pools is None:
        _blas_pools = _blas().lib_controllers
    return max((pool.get_num_threads() or 1 for pool in _blas_pools), default=1)


def _check_positive(n, name):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name}(): argument 'int' must be int, not {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer (got {n})")


def set_num_threads(int):  # noqa: A002 - torch's parameter name
    """Use ``int`` threads for intra-op parallelism: the BLAS under NumPy (matmul, conv, linalg)."""
    _check_positive(int, "set_num_threads")
    _blas().limit(limits=int)


def get_num_threads():
    """The number of threads used for intra-op parallelism: the BLAS pools' (1 without a threaded BLAS)."""
    counts = [info["num_threads"] for info in _blas().info()]
    return max(counts) if counts else 1


def set_num_interop_threads(int):  # noqa: A002 - torch's parameter name
    """torch's inter-op pool runs independent ops concurrently; retrograd runs them one after the
    other, which any positive ``int`` permits. Validated as torch's (a positive integer)."""
    _check_positive(int, "set_num_interop_threads")


def get_num_interop_threads():
    """The number of threads used for inter-op parallelism: 1 (ops run one at a time)."""
    return 1
