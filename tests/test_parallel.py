"""retrograd._parallel: elementwise NumPy work in parts (threads, cache-sized blocks), bitwise
equal to one NumPy call; off for small arrays, for one thread, for CuPy's arrays; fork-safe."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from retrograd import _parallel


@pytest.fixture
def two_threads():
    before = _parallel.threads()
    _parallel.set_threads(2)
    yield
    _parallel.set_threads(before)


def _arrays(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 3).astype(dtype)


def _layouts(x):
    """x as a contiguous array, transposed, strided and reversed (the same shape where possible)."""
    yield "contiguous", x
    yield "transposed", np.ascontiguousarray(x.T).T
    big = np.repeat(x, 2, axis=-1)
    yield "strided", big[..., ::2]
    yield "reversed", np.ascontiguousarray(x[::-1])[::-1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(257, 131), (3, 1000, 7), (5000,), (1, 4099)])
@pytest.mark.parametrize("f", [np.tanh, np.exp, np.negative, np.sqrt])
def test_split_unary_ufunc_is_bitwise_the_whole_call(two_threads, f, shape, dtype):
    for name, x in _layouts(_arrays(shape, dtype)):
        with np.errstate(all="ignore"):
            want = f(x)
            got = _parallel.ufunc(f, x, min_size=64)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.strides == want.strides, name  # NumPy's layout for the new array
        assert np.array_equal(got, want, equal_nan=True), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_split_binary_ufunc_broadcasts_and_keeps_numpy_dtypes(two_threads, dtype):
    x = _arrays((300, 200), dtype)
    for other in (_arrays((300, 200), dtype, 1), _arrays((200,), dtype, 2), _arrays((300, 1), dtype, 3),
                  2.5, 3, np.float64(0.5)):
        for f in (np.add, np.multiply, np.less):
            want = f(x, other)
            got = _parallel.ufunc(f, x, other, min_size=64)
            assert got.dtype == want.dtype and np.array_equal(got, want), (f, other)
            got = _parallel.ufunc(f, other, x, min_size=64)
            assert np.array_equal(got, f(other, x)), (f, other)


def test_run_cuts_every_output_and_input_of_a_chain(two_threads):
    x, y = _arrays((1000, 300), np.float32), _arrays((1000, 300), np.float32, 1)
    bias = _arrays((300,), np.float32, 2)
    parts = []

    def chain(out, a, b, c, scale):
        s, t = out
        parts.append(a.shape)
        np.multiply(a, b, out=s)
        s += c
        s *= scale
        np.tanh(s, out=t)

    out = (np.empty_like(x), np.empty_like(x))
    _parallel.run(chain, out, x, y, bias, 0.5, min_size=1000, block=20_000)
    want = (x * y + bias) * 0.5
    assert np.array_equal(out[0], want) and np.array_equal(out[1], np.tanh(want))
    assert len(parts) > 2 and sum(p[0] for p in parts) == 1000  # blocks of rows, each row once


def test_blocks_without_threads_are_bitwise_the_whole_call():
    before = _parallel.threads()
    _parallel.set_threads(1)
    try:
        x = _arrays((64, 50, 40), np.float64)
        calls = []
        out = _parallel.run(lambda o, a: (calls.append(a.shape), np.exp(a, out=o)), np.empty_like(x), x,
                            block=10_000)
        assert np.array_equal(out, np.exp(x)) and len(calls) == 13
        assert threading.active_count() == 1 or _parallel._pool is None
    finally:
        _parallel.set_threads(before)


def _record_parts(x, **kwargs):
    shapes = []
    _parallel.run(lambda o, a: (shapes.append(a.shape), np.copyto(o, a)), np.empty_like(x), x, **kwargs)
    return shapes


def test_threshold_small_arrays_run_whole(two_threads):
    x = np.ones((100, 100))
    assert _record_parts(x, min_size=5000) == [(50, 100), (50, 100)]
    assert _record_parts(x, min_size=5001) == [(100, 100)]  # less than twice min_size: one call
    assert _record_parts(np.ones(()), min_size=0) == [()]


def test_one_thread_means_no_split():
    before = _parallel.threads()
    try:
        _parallel.set_threads(1)
        assert _parallel.threads() == 1 and _parallel._pool is None
        assert _record_parts(np.ones((100, 100)), min_size=10) == [(100, 100)]
        assert _parallel._pool is None  # no worker thread was started
    finally:
        _parallel.set_threads(before)


def test_set_num_threads_sets_the_split(two_threads):
    import retrograd as R

    before = R.get_num_threads()
    try:
        R.set_num_threads(1)
        assert _parallel.threads() == 1
        R.set_num_threads(2)
        assert _parallel.threads() == 2
    finally:
        R.set_num_threads(before)


def test_numpy_error_state_and_exceptions_reach_the_caller(two_threads):
    x = np.zeros((1000, 10))
    x[500:] = 1000.0  # only the second part overflows (a worker's when the worker is awake first)
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            _parallel.ufunc(np.exp, x, min_size=100)
    with np.errstate(over="ignore"):
        assert np.isinf(_parallel.ufunc(np.exp, x, min_size=100)[500:]).all()

    def fail_on_second_half(o, a):
        if a[0, 0] == 1:
            raise ValueError("second half")
        o[...] = a

    y = np.zeros((1000, 10))
    y[500:] = 1
    with pytest.raises(ValueError, match="second half"):
        _parallel.run(fail_on_second_half, np.empty_like(y), y, min_size=100)
    assert np.array_equal(_parallel.ufunc(np.negative, y, min_size=100), -y)  # the pool still works


def test_a_nested_or_concurrent_split_runs_whole(two_threads):
    x = np.ones((1000, 10))
    inner = []

    def outer(o, a):
        inner.extend(_record_parts(a, min_size=10))
        o[...] = a

    _parallel.run(outer, np.empty_like(x), x, min_size=100)
    assert sorted(inner) == [(500, 10), (500, 10)]  # each half whole inside the split


def test_cupy_like_arrays_bypass_the_split(two_threads):
    strict_device = pytest.importorskip("strict_device")
    with strict_device.installed() as cp:
        x = cp.array(np.ones((1000, 100), np.float32))
        seen = []
        out = cp.empty_like(x)
        _parallel.run(lambda o, a: seen.append((o, a)), out, x, min_size=10)
        assert seen == [(out, x)]  # one call, with the device arrays themselves
        y = _parallel.ufunc(np.tanh, x, min_size=10)
        assert type(y) is type(x) and np.array_equal(y.get(), np.tanh(np.ones((1000, 100), np.float32)))
        host = np.ones((1000, 100), np.float32)
        seen.clear()
        _parallel.run(lambda o, a, b: seen.append(1), np.empty_like(host), host, x, min_size=10)
        assert seen == [1]


def test_a_forked_child_starts_its_own_workers(two_threads):
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork")
    script = textwrap.dedent("""
        import os, sys
        import numpy as np
        from retrograd import _parallel
        _parallel.set_threads(2)
        x = np.arange(200_000, dtype=np.float64).reshape(1000, 200)
        assert np.array_equal(_parallel.ufunc(np.sqrt, x, min_size=1000), np.sqrt(x))
        pool = _parallel._pool
        assert pool is not None and pool.workers[0].thread.is_alive()
        pid = os.fork()
        if pid == 0:  # the child: the parent's workers are gone; new ones do the work
            ok = _parallel._pool is None
            ok = ok and np.array_equal(_parallel.ufunc(np.sqrt, x, min_size=1000), np.sqrt(x))
            ok = ok and _parallel._pool.workers[0].thread.is_alive()
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert np.array_equal(_parallel.ufunc(np.sqrt, x, min_size=1000), np.sqrt(x))
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
