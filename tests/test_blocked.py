"""retrograd._blocked: a chain of elementwise NumPy calls run block by block, bitwise equal to
the same calls on the whole arrays; whole below the size threshold and for CuPy's arrays."""

import numpy as np
import pytest

from retrograd import _blocked


def _array(shape, dtype, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)


def _layouts(x):
    """x as a contiguous array, transposed, strided and reversed (the same shape)."""
    yield "contiguous", x
    yield "transposed", np.ascontiguousarray(x.T).T
    yield "strided", np.repeat(x, 2, axis=-1)[..., ::2]
    yield "reversed", np.ascontiguousarray(x[::-1])[::-1]


def _chain(out, x, y, scale):
    """An elementwise chain with temporaries: tanh((x*y + 1) * scale) - x."""
    t = np.multiply(x, y)
    t += 1
    t *= scale
    np.tanh(t, out=out)
    out -= x


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(257, 131), (3, 1000, 7), (33_333,), (1, 4099), (4, 2, 5000)])
def test_blocks_are_bitwise_the_whole_chain(shape, dtype):
    for name, x in _layouts(_array(shape, dtype)):
        y = _array(shape, dtype, 1)
        want = np.empty_like(x)
        _chain(want, x, y, 0.5)
        got = _blocked.run(_chain, np.empty_like(x), x, y, 0.5, block=1000, min_size=0)
        assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True), name


def _record(out, *inputs, **kwargs):
    shapes = []

    def fn(o, *xs):
        shapes.append(o[0].shape if type(o) is tuple else o.shape)
        np.add(xs[0], xs[1], out=o[0] if type(o) is tuple else o)

    _blocked.run(fn, out, *inputs, **kwargs)
    return shapes


def test_inputs_that_broadcast_along_the_cut_are_passed_whole():
    x = _array((100, 30), np.float64)
    for other in (_array((30,), np.float64, 1), _array((100, 1), np.float64, 2), _array((1, 30), np.float64, 3), 2.5):
        out = np.empty_like(x)
        assert len(_record(out, x, other, block=300, min_size=0)) == 10
        assert np.array_equal(out, x + other)
    out = np.empty((6, 100, 30))  # the first axis too short for 40 blocks: the next one is cut
    x3 = _array((6, 100, 30), np.float64)
    assert _record(out, x3, x, block=450, min_size=0) == [(6, 2, 30), (6, 3, 30)] * 20
    assert np.array_equal(out, x3 + x)


def test_a_tuple_of_outputs_is_cut_alike():
    x, y = _array((1000, 30), np.float32), _array((1000, 30), np.float32, 1)

    def both(out, a, b):
        s, p = out
        np.add(a, b, out=s)
        np.multiply(a, b, out=p)

    s, p = _blocked.run(both, (np.empty_like(x), np.empty_like(x)), x, y, block=3000, min_size=0)
    assert np.array_equal(s, x + y) and np.array_equal(p, x * y)


def test_threshold_small_arrays_run_whole():
    x = np.ones((100, 100))
    assert _record(np.empty_like(x), x, x, block=2500, min_size=10_000) == [(25, 100)] * 4
    assert _record(np.empty_like(x), x, x, block=2500, min_size=10_001) == [(100, 100)]
    assert _record(np.empty_like(x), x, x, block=20_000, min_size=0) == [(100, 100)]  # one block
    assert _record(np.ones(()), np.ones(()), 1.0, min_size=0) == [()]


def test_cupy_like_arrays_run_whole():
    strict_device = pytest.importorskip("strict_device")
    with strict_device.installed() as cp:
        x = cp.array(np.ones((1000, 100), np.float32))
        seen = []
        out = cp.empty_like(x)
        _blocked.run(lambda o, a: seen.append((o, a)), out, x, block=100, min_size=0)
        assert seen == [(out, x)]  # one call, with the device arrays themselves
        host = np.ones((1000, 100), np.float32)
        seen.clear()
        _blocked.run(lambda o, a, b: seen.append(1), np.empty_like(host), host, x, block=100, min_size=0)
        assert seen == [1]
