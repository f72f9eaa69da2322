"""retrograd._blas.axpy: y += alpha*x in one call of NumPy's BLAS, torch's add_(x, alpha=alpha)
bitwise where it runs, and False (y untouched, the caller's NumPy runs) wherever it must not."""

import os
import sys
import warnings

import numpy as np
import pytest

from helpers import reference, torch
from retrograd import _blas

needs_blas = pytest.mark.skipif(not _blas.available(), reason="no BLAS library found under NumPy")


@pytest.fixture
def any_size(monkeypatch):
    """axpy on arrays of every size (MIN_BYTES is a speed threshold, not a correctness one)."""
    monkeypatch.setattr(_blas, "MIN_BYTES", 0)


def _pair(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


def _torch_add(y, x, alpha):
    t = torch.from_numpy(y.copy())
    t.add_(torch.from_numpy(x), alpha=alpha)
    return t.numpy()


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_is_torch_add_with_alpha_bitwise(dtype, any_size):
    # sizes around the kernels' vector widths, so that their tail loops run too
    for n in [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 129, 1000]:
        x, y0 = _pair(n, dtype, seed=n)
        for alpha in (-0.01, 0.9, 1.0, -1e-3):
            y = y0.copy()
            assert _blas.axpy(alpha, x, y) is True
            expected = reference(lambda: _torch_add(y0, x, alpha), [x, y0, alpha])
            assert np.array_equal(y, expected), (n, alpha)


@needs_blas
def test_axpy_writes_y_only_and_rounds_once():
    x, y0 = _pair(_blas.MIN_BYTES // 4 + 5, np.float32)
    y, x_before = y0.copy(), x.copy()
    assert _blas.axpy(np.float32(-0.37), x, y)
    assert np.array_equal(x, x_before)
    exact = (y0.astype(np.float64) + np.float64(np.float32(-0.37)) * x.astype(np.float64)).astype(np.float32)
    # one rounding of the exact result (a float64 sum of float32 products, then to float32,
    # differs from it only on rare double-rounding ties): NumPy's two roundings differ more
    assert np.mean(y == exact) > 0.999
    assert np.mean((y0 + np.float32(-0.37) * x) == exact) < 0.99


@needs_blas
def test_a_read_only_x_is_read():
    x, y = _pair(_blas.MIN_BYTES // 8, np.float64)
    expected = y + 0.5 * x
    x.flags.writeable = False
    assert _blas.axpy(0.5, x, y)
    np.testing.assert_allclose(y, expected, rtol=1e-15)


def _refused(x, y, alpha=0.5):
    before = y.copy()
    done = _blas.axpy(alpha, x, y)
    assert np.array_equal(y, before, equal_nan=True), "a refused axpy wrote y"
    return not done


def test_refuses_what_it_cannot_compute(any_size):
    n = 64
    x, y = _pair(n, np.float32)
    # dtypes: half, complex, integers, mixed, non-native byte order
    for dt in (np.float16, np.complex64, np.complex128, np.int32, np.int64):
        assert _refused(x.astype(dt), y.astype(dt))
    assert _refused(x.astype(np.float64), y)
    assert _refused(x, y.astype(np.float64))
    assert _refused(x.astype(">f4"), y.astype(">f4"))
    # layouts: strided, transposed (Fortran order), different sizes, a read-only y
    assert _refused(np.repeat(x, 2)[::2], y)
    assert _refused(x, np.repeat(y, 2)[::2])
    assert _refused(x.reshape(8, 8).T, y.reshape(8, 8).T.copy(order="F"))
    assert _refused(x[:-1], y)
    assert _refused(np.empty(0, np.float32), np.empty(0, np.float32))
    read_only = y.copy()
    read_only.flags.writeable = False
    assert _refused(x, read_only)
    # unaligned float32 views into a byte buffer
    raw = np.zeros(4 * n + 1, np.uint8)
    unaligned = raw[1:].view(np.float32)
    assert not unaligned.flags.aligned
    assert _refused(x, unaligned)
    # not NumPy arrays: CuPy's (any other type), ndarray subclasses, lists
    class Subclass(np.ndarray):
        pass

    assert _refused(x.view(Subclass), y) and _refused(x, np.ma.masked_array(y))
    assert not _blas.axpy(0.5, list(x), y)


def test_refuses_equal_sizes_of_other_shapes(any_size):
    # one flat call would take them; NumPy broadcasts (1, n) + (n,) or raises, as torch's add_ does
    x, y = _pair(64, np.float32)
    for xs, ys in (((1, 64), (64,)), ((64,), (1, 64)), ((64, 1), (1, 64)), ((8, 8), (64,)), ((64,), (4, 16))):
        assert _refused(x.reshape(xs), y.reshape(ys).copy()), (xs, ys)


@needs_blas  # (it computes some)
def test_refuses_alphas_that_are_not_real_numbers(any_size):
    # NumPy's multiply then raises (complex into a float array, a huge int) or broadcasts (an array)
    x, y = _pair(64, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (np.complex64 as a float: a ComplexWarning, the imaginary part dropped)
        for alpha in (1j, np.complex64(1 + 1j), np.complex128(0.5), 10**400, -10**400, np.full(64, 0.5), np.array([0.5]),
                      np.array(0.5), None, "0.5", [0.5], np.timedelta64(2)):
            assert _refused(x, y.copy(), alpha), alpha
    for alpha in (0.5, 2, True, np.float16(0.5), np.float32(0.5), np.float64(0.5), np.int64(-4), np.uint8(2)):  # (a*x exact)
        z = y.copy()
        assert _blas.axpy(alpha, x, z) and np.array_equal(z, y + float(alpha) * x), alpha


@needs_blas  # (it computes some)
def test_broadcast_arrays_views_neither_raise_nor_warn(any_size):
    # np.broadcast_arrays' views read writeable (with a FutureWarning) but export read-only: as x
    # they are read, as y refused (NumPy's in-place add writes them, with its own warning)
    x, y = _pair(64, np.float32)
    bx = np.broadcast_arrays(x, y.reshape(1, 64))[0]
    by = np.broadcast_arrays(y.copy(), x.reshape(1, 64))[0]
    assert bx.shape == by.shape == (1, 64) and bx.strides[0] == by.strides[0] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = y.reshape(1, 64).copy()
        assert _blas.axpy(0.5, bx, z) and np.array_equal(z[0], y + 0.5 * x)
        assert _refused(x.reshape(1, 64), by)


@needs_blas  # (it computes some)
def test_refuses_overlapping_memory(any_size):
    buf = np.arange(100, dtype=np.float64)
    assert _refused(buf, buf)  # the same array
    assert _refused(buf[:60], buf[40:])  # overlapping views, both ways
    assert _refused(buf[40:], buf[:60])
    x, y = buf[50:], buf[:50]  # disjoint halves of one buffer: computed
    assert _blas.axpy(2.0, x, y) and np.array_equal(buf[:50], np.arange(50) + 2 * np.arange(50, 100))


def test_refuses_below_min_bytes():
    for dtype in (np.float32, np.float64):
        x, y = _pair(_blas.MIN_BYTES // np.dtype(dtype).itemsize - 1, dtype)
        assert _refused(x, y)


def test_off_when_disabled_or_without_a_library(monkeypatch, any_size):
    x, y = _pair(100, np.float32)
    monkeypatch.setattr(_blas, "enabled", False)
    assert _refused(x, y) and not _blas.available()
    monkeypatch.setattr(_blas, "enabled", True)
    monkeypatch.setattr(_blas, "_axpy", {})
    assert _refused(x, y) and not _blas.available()
    monkeypatch.setenv("RETROGRAD_BLAS", "0")
    assert _blas._find() == ({}, 0)


@needs_blas
def test_refuses_sizes_beyond_the_library_integers(monkeypatch, any_size):
    # an LP64 library's n is a 32-bit int: larger arrays are left to NumPy (here a smaller limit
    # stands for 2^31 - 1, whose arrays are too large for a test)
    _blas.available()
    monkeypatch.setattr(_blas, "_max_size", 63)
    x, y = _pair(64, np.float32)
    assert _refused(x, y) and _blas.axpy(0.5, x[:63], y[:63])


def test_a_library_without_the_names_is_not_called(monkeypatch):
    class Symbols:  # a BLAS with other names (MKL's mkl_cblas_saxpy), or saxpy without daxpy
        mkl_cblas_saxpy = mkl_cblas_daxpy = cblas_saxpy = staticmethod(lambda *a: pytest.fail("called"))

    monkeypatch.delenv("RETROGRAD_BLAS", raising=False)
    monkeypatch.setattr(_blas, "_numpy_library", Symbols)
    assert _blas._find() == ({}, 0)
    monkeypatch.setattr(_blas, "_numpy_library", lambda: None)
    assert _blas._find() == ({}, 0)


class _FakeLibrary:
    """Symbols as ctypes shows them on a CDLL: getattr finds a function or raises AttributeError."""

    def __init__(self, config):
        def get_config():
            return config

        self.scipy_openblas_get_config = get_config


def test_plain_names_take_the_integer_width_from_openblas_configuration():
    assert _blas._uses_64bit_ints(_FakeLibrary(b"OpenBLAS 0.3.31 USE64BITINT DYNAMIC_ARCH"), "scipy_cblas_")
    assert not _blas._uses_64bit_ints(_FakeLibrary(b"OpenBLAS 0.3.31 DYNAMIC_ARCH"), "scipy_cblas_")
    assert not _blas._uses_64bit_ints(object(), "cblas_")  # not OpenBLAS (MKL's cblas_saxpy): LP64
    # plain cblas_saxpy (another library: FlexiBLAS, MKL) beside an ILP64 scipy-openblas's string
    assert not _blas._uses_64bit_ints(_FakeLibrary(b"OpenBLAS 0.3.31 USE64BITINT DYNAMIC_ARCH"), "cblas_")


@needs_blas
def test_finds_numpy_own_library_and_its_integer_width():
    found, max_size = _blas._find()
    assert set(found) == {np.dtype(np.float32), np.dtype(np.float64)}
    config = str(np.show_config(mode="dicts")["Build Dependencies"]["blas"])
    if "USE64BITINT" in config or "64_" in found[np.dtype(np.float32)].__name__:
        assert max_size == (1 << 63) - 1
    else:
        assert max_size == (1 << 31) - 1


@needs_blas
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX's")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (fork() in a process with threads)
def test_a_forked_child_calls_it_as_the_parent():
    # long enough for OpenBLAS to use its thread pool in the parent before the fork and in the child
    x, y = _pair(1 << 17, np.float32)
    expected = y.copy()
    assert _blas.axpy(0.25, x, expected)
    pid = os.fork()
    if pid == 0:  # the child: exit 0 when its axpy gives the parent's result
        code = 1
        try:
            child = y.copy()
            code = 0 if _blas.axpy(0.25, x, child) and np.array_equal(child, expected) else 2
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again = y.copy()
    assert _blas.axpy(0.25, x, again) and np.array_equal(again, expected)
