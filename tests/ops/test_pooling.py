"""Pooling: finite differences (first and second order) and torch, for the functional forms."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import pooling as P
from tests.helpers import check_op, rand, reference, requires_torch, torch


def F(t):
    return P if t is retrograd else t.nn.functional


def distinct(*shape, seed=0):
    """Values far apart, so that finite differences never cross a max's tie."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


MAX2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 6), stride=1),  # more than 16 kernel offsets
]


@pytest.mark.parametrize("kw", MAX2D)
def test_max_pool2d(kw):
    check_op(lambda t, x: F(t).max_pool2d(x, **kw), distinct(1, 2, 5, 6))
    check_op(lambda t, x: F(t).max_pool2d(x, return_indices=True, **kw), distinct(1, 2, 5, 6),
             gradcheck=False, gradgradcheck=False)


def test_max_pool1d_3d():
    check_op(lambda t, x: F(t).max_pool1d(x, 3, 2, 1, return_indices=True), distinct(2, 2, 7))
    check_op(lambda t, x: F(t).max_pool3d(x, 2, (1, 2, 2)), distinct(1, 1, 3, 4, 4))


def test_max_pool_unbatched_and_nan():
    check_op(lambda t, x: F(t).max_pool2d(x, 2), distinct(2, 4, 4))
    x = retrograd.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert np.isnan(P.max_pool2d(x, 2).item())


AVG2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), divisor_override=5),
]


@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d(kw):
    check_op(lambda t, x: F(t).avg_pool2d(x, **kw), (1, 2, 5, 6))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), divisor_override=5)])
def test_avg_pool2d_blocks(kw):
    check_op(lambda t, x: F(t).avg_pool2d(x, **kw), (1, 2, 4, 6))


def test_avg_pool1d_3d():
    check_op(lambda t, x: F(t).avg_pool1d(x, 3, 2, 1, count_include_pad=False), (2, 2, 7))
    check_op(lambda t, x: F(t).avg_pool3d(x, 2, ceil_mode=True), (1, 1, 3, 4, 5))


@pytest.mark.parametrize("size", [1, 3, (2, 4), (None, 2)])
def test_adaptive_avg_pool2d(size):
    check_op(lambda t, x: F(t).adaptive_avg_pool2d(x, size), (1, 2, 5, 7))


def test_adaptive_avg_pool1d():
    check_op(lambda t, x: F(t).adaptive_avg_pool1d(x, 4), (2, 2, 7))


@pytest.mark.parametrize("size", [1, 2, (3, 4), (2, 7)])
def test_adaptive_max_pool2d(size):
    check_op(lambda t, x: F(t).adaptive_max_pool2d(x, size), distinct(1, 2, 5, 7))
    check_op(lambda t, x: F(t).adaptive_max_pool2d(x, size, return_indices=True), distinct(1, 2, 5, 7),
             gradcheck=False, gradgradcheck=False)


def test_adaptive_max_pool1d():
    check_op(lambda t, x: F(t).adaptive_max_pool1d(x, 3, return_indices=True), distinct(2, 2, 7))


def test_max_unpool2d():
    x = distinct(1, 1, 4, 4)

    def fn(t, x):
        y, i = F(t).max_pool2d(x, 2, return_indices=True)
        return F(t).max_unpool2d(y, i, 2)

    check_op(fn, x)


def test_lp_pool2d():
    check_op(lambda t, x: F(t).lp_pool2d(x, 2, 2), (1, 1, 4, 4), low=0.5, high=1.0)


def test_errors():
    x = retrograd.zeros(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        P.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        P.avg_pool2d(x, 5)
    with pytest.raises(RuntimeError, match="Expected 3D or 4D"):
        P.max_pool2d(retrograd.zeros(4, 4), 2)


@requires_torch
def test_float32_bigger_against_torch():
    x = rand(4, 3, 11, 12, dtype=np.float32)
    out = []
    for t in (retrograd, torch):
        xs = t.tensor(x, requires_grad=True)
        y = F(t).max_pool2d(xs, 3, 2, 1) + F(t).avg_pool2d(xs, 3, 2, 1)
        (y * y).sum().backward()
        out.append([y.detach().numpy(), xs.grad.numpy()])
    for r, t in zip(*out):
        assert r.dtype == np.float32
        np.testing.assert_allclose(r, t, rtol=1e-5, atol=1e-5)


def test_max_pool_non_overlapping_blocks():
    """stride = kernel, no padding, divisible sizes: the fast path without flat indices."""
    check_op(lambda t, x: F(t).max_pool2d(x, 2), distinct(2, 3, 4, 6))
    check_op(lambda t, x: F(t).max_pool2d(x, (2, 3)), distinct(1, 2, 4, 6))
    check_op(lambda t, x: F(t).max_pool1d(x, 3), distinct(2, 2, 6))
    check_op(lambda t, x: F(t).max_pool3d(x, 2), distinct(1, 1, 4, 4, 2))
    check_op(lambda t, x: F(t).max_pool2d(x.transpose(-1, -2), 2), distinct(1, 2, 4, 6))  # strided input


@requires_torch
def test_max_pool_blocks_ties_and_nan_like_torch():
    a = np.array([[[[1.0, 1.0, 2.0, 0.0], [1.0, 0.0, 2.0, 2.0],
                    [float("nan"), 5.0, 3.0, 3.0], [float("nan"), 1.0, 3.0, 3.0]]]], dtype=np.float32)
    g = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2) + 1
    grads = []
    for mod in (retrograd, torch):
        x = mod.tensor(a, requires_grad=True)
        y = F(mod).max_pool2d(x, 2)
        y.backward(mod.tensor(g))
        grads.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _pool2_and_grad(mod, x, g, transpose=False):
    xs = mod.tensor(x, requires_grad=True)
    y = F(mod).max_pool2d(xs.transpose(-1, -2) if transpose else xs, 2)
    y.backward(mod.tensor(g))
    return y.detach().numpy(), xs.grad.numpy()


def _quad_inputs(dtype, seed=0):
    """ReLU'd values (whole blocks of zeros, ties), small integers (ties everywhere) and -0/+0 blocks."""
    rng = np.random.default_rng(seed)
    xs = [np.maximum(rng.standard_normal((3, 4, 6, 8)), 0), rng.integers(-2, 2, (3, 4, 6, 8)) * 1.0,
          rng.choice(np.array([-0.0, 0.0, -1.0]), (3, 4, 6, 8))]
    return [x.astype(dtype) for x in xs], rng.standard_normal((3, 4, 3, 4)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_max_pool_2x2_blocks_match_the_flat_index_path_bitwise(dtype):
    """The 2x2 kernel (_quad_max / _quad_scatter, bit masks) against max_pool2d with indices (its own
    kernel): the same values, the gradient at the same first maximum of each block, exact bits."""
    xs, g = _quad_inputs(dtype)
    for x in xs:
        y, dx = _pool2_and_grad(retrograd, x, g)
        xi = retrograd.tensor(x, requires_grad=True)
        yi, _ = P.max_pool2d(xi, 2, return_indices=True)
        yi.backward(retrograd.tensor(g))
        assert np.array_equal(y, yi.detach().numpy()) and dx.dtype == dtype
        np.testing.assert_array_equal(_bits(dx), _bits(xi.grad.numpy()))


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_2x2_blocks_bitwise_like_torch(dtype):
    """Values (the sign of a -0/+0 tie: the first in row-major order), gradients (+0 off the maximum,
    a nan or inf gradient only at it, the last NaN of a block), strided inputs and gradients."""
    xs, g = _quad_inputs(dtype, seed=1)
    nan = xs[0].copy()
    nan[0, 0, 0, 0] = nan[1, 2, 1, 1] = nan[1, 2, 0, 0] = np.nan
    nan[0, 1, :2, :2] = np.nan
    nan[1, 1, 2, 2], nan[1, 1, 3, 3] = np.inf, -np.inf
    odd = g.copy()
    odd[0, 0, 0, 0], odd[1, 0, 0, 0], odd[2, 0, 0, 0] = np.nan, np.inf, -3.0
    for x, gx in [(x, g) for x in xs] + [(nan, g), (xs[0], odd)]:
        for ours, theirs in zip(_pool2_and_grad(retrograd, x, gx), _pool2_and_grad(torch, x, gx)):
            np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    gt = np.ascontiguousarray(g.swapaxes(-1, -2))  # strided input (transposed), its gradient
    for ours, theirs in zip(_pool2_and_grad(retrograd, xs[0].swapaxes(-1, -2).copy(), g, True),
                            _pool2_and_grad(torch, xs[0].swapaxes(-1, -2).copy(), g, True)):
        np.testing.assert_array_equal(ours, theirs)
    for mod in (retrograd, torch):  # a strided gradient
        x = mod.tensor(xs[1], requires_grad=True)
        F(mod).max_pool2d(x, 2).backward(mod.tensor(gt).transpose(-1, -2))
        if mod is retrograd:
            ours = x.grad.numpy()
    np.testing.assert_array_equal(_bits(ours), _bits(x.grad.numpy()))


@requires_torch
def test_max_pool_2x2_blocks_double_backward_and_vmap_like_torch():
    rng = np.random.default_rng(2)
    x = np.maximum(rng.standard_normal((2, 3, 4, 6)), 0)
    g, v = rng.standard_normal((2, 3, 2, 3)), rng.standard_normal(x.shape)
    out = []
    for mod in (retrograd, torch):
        xs, gs = mod.tensor(x, requires_grad=True), mod.tensor(g, requires_grad=True)
        (dx,) = mod.autograd.grad(F(mod).max_pool2d(xs, 2), xs, gs, create_graph=True)
        (dg,) = mod.autograd.grad((dx * mod.tensor(v)).sum(), gs)  # MaxQuadScatter's backward: the gather
        out.append((dx.detach().numpy(), dg.numpy()))
    for ours, theirs in zip(*out):
        np.testing.assert_array_equal(ours, theirs)
    batch = retrograd.tensor(rng.standard_normal((4, 2, 3, 4, 4)))
    per = retrograd.func.vmap(retrograd.func.grad(lambda a: P.max_pool2d(a, 2).pow(2).sum()))(batch)
    loop = [retrograd.func.grad(lambda a: P.max_pool2d(a, 2).pow(2).sum())(batch[i]) for i in range(4)]
    np.testing.assert_array_equal(per.numpy(), retrograd.stack(loop).numpy())


def test_max_pool_2x2_blocks_keep_where_not_the_input():
    """The 2x2 backward places g from the forward's `where` (two bool arrays), not from x's values."""
    x = retrograd.tensor(distinct(1, 2, 4, 4), requires_grad=True)
    y = P.max_pool2d(x, 2)
    saved = [t for t in y.grad_fn.saved_tensors]
    assert [t.dtype for t in saved[1:]] == [retrograd.bool, retrograd.bool]
    assert [tuple(t.shape) for t in saved[1:]] == [(1, 2, 4, 2), (1, 2, 2, 2)]
    x = retrograd.tensor(distinct(2, 3, 4, 6, seed=3), requires_grad=True)
    assert retrograd.autograd.gradcheck(lambda a: P.max_pool2d(a, 2), (x,))
    assert retrograd.autograd.gradgradcheck(lambda a: P.max_pool2d(a, 2), (x,))


def test_max_pool_indices_of_a_window_with_nans_are_its_last_nan_as_torch():
    """torch's scan takes every NaN it meets: a window's index is its last NaN (values recorded from
    torch 2.13), for up to 16 kernel offsets (a bit code per window) and more (a loop over them)."""
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[0, 0, 3, 3] = np.nan
    _, idx = P.max_pool2d(retrograd.tensor(x), 3, stride=1, padding=1, return_indices=True)
    assert idx.numpy().tolist() == [[[[5, 5, 5, 7], [5, 5, 5, 11], [5, 5, 15, 15], [13, 14, 15, 15]]]]
    x = np.arange(21, dtype=np.float32).reshape(1, 1, 3, 7)
    x[0, 0, 0, 1] = x[0, 0, 2, 3] = x[0, 0, 1, 6] = np.nan
    y, idx = P.max_pool2d(retrograd.tensor(x), (3, 6), stride=1, return_indices=True)  # 18 offsets
    assert idx.numpy().tolist() == [[[[17, 17]]]] and np.isnan(y.numpy()).all()
    x = np.array([[[[np.nan, 1.0, 2.0, np.nan], [np.nan, 0.0, 5.0, 1.0]]]], dtype=np.float32)
    assert P.max_pool2d(retrograd.tensor(x), 2, return_indices=True)[1].numpy().tolist() == [[[[4, 3]]]]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_quad_kept_words_are_exact_bits_or_zero(dtype):
    """_kept (the 2x2 scatter's and gather's selection): an integer product of each word with its
    flag's 0/1 byte keeps every bit pattern (NaN payloads, -0, inf, all ones) or gives 0."""
    u = np.dtype(f"u{np.dtype(dtype).itemsize}")
    info = np.iinfo(u)
    words = np.array([0, 1, info.max, info.max >> 1, 1 << (info.bits - 1)], dtype=u)
    words = np.concatenate([words, np.array([np.nan, -np.nan, -0.0, np.inf, -np.inf, 3.5], dtype=dtype).view(u)])
    flags = np.arange(words.size) % 3 != 0
    kept = P._kept(words, flags)
    assert kept.dtype == u
    np.testing.assert_array_equal(kept[flags], words[flags])
    assert not kept[~flags].any()
    out = np.full(words.shape, 7, dtype=u)
    assert P._kept(words, flags, out=out) is out and np.array_equal(out, kept)


def _outcome(f):
    """What ``f()`` gives: its output's shape, or the type of the exception it raises."""
    try:
        return ["shape", list(f().shape)]
    except Exception as e:  # noqa: BLE001 (the type is what is compared)
        return ["raises", type(e).__name__]


SIZE_LENGTHS = [  # (function, input's dims, call): sizes given as tuples of another length than the dims
    ("max_unpool2d", 2, lambda f, x, i: f.max_unpool2d(x, i, (2,))),
    ("max_unpool2d", 2, lambda f, x, i: f.max_unpool2d(x, i, (2, 2, 2))),
    ("max_unpool2d", 2, lambda f, x, i: f.max_unpool2d(x, i, 2, stride=(2,))),
    ("max_unpool2d", 2, lambda f, x, i: f.max_unpool2d(x, i, 2, padding=(0,))),
    ("max_unpool1d", 1, lambda f, x, i: f.max_unpool1d(x, i, (2, 2))),
    ("max_unpool3d", 3, lambda f, x, i: f.max_unpool3d(x, i, (2,))),
    ("lp_pool2d", 2, lambda f, x, i: f.lp_pool2d(x, 2, (2,))),
    ("lp_pool2d", 2, lambda f, x, i: f.lp_pool2d(x, 2, (2, 2, 2))),
    ("lp_pool2d", 2, lambda f, x, i: f.lp_pool2d(x, 2, 2, stride=(2,))),
    ("lp_pool3d", 3, lambda f, x, i: f.lp_pool3d(x, 2, (2, 2))),
    ("adaptive_avg_pool2d", 2, lambda f, x, i: f.adaptive_avg_pool2d(x, (2,))),
    ("adaptive_avg_pool2d", 2, lambda f, x, i: f.adaptive_avg_pool2d(x, (None, 2))),
    ("adaptive_avg_pool3d", 3, lambda f, x, i: f.adaptive_avg_pool3d(x, (2, 2))),
    ("adaptive_max_pool2d", 2, lambda f, x, i: f.adaptive_max_pool2d(x, (2, 2, 2))),
    ("adaptive_max_pool1d", 1, lambda f, x, i: f.adaptive_max_pool1d(x, (2, 2))),
    ("max_pool2d", 2, lambda f, x, i: f.max_pool2d(x, (2,))),
    ("avg_pool2d", 2, lambda f, x, i: f.avg_pool2d(x, 2, stride=(2,))),
    ("max_pool2d", 2, lambda f, x, i: f.max_pool2d(x, (2, 2, 2))),
]


@pytest.mark.parametrize("case", range(len(SIZE_LENGTHS)), ids=[f"{c[0]}-{i}" for i, c in enumerate(SIZE_LENGTHS)])
def test_sizes_of_another_length_than_the_dims_as_torch(case):
    """torch expands a 1-element tuple in max/avg pooling, but not in max_unpool (its default
    output size has one value per kernel_size value), lp_pool (unpacked: ValueError) or the
    adaptive pools (RuntimeError)."""
    name, nd, call = SIZE_LENGTHS[case]

    def run(t):
        f = t.nn.functional
        x, i = getattr(f, f"max_pool{nd}d")(t.ones((1, 2) + (8,) * nd), 2, return_indices=True)
        return _outcome(lambda: call(f, x if "unpool" in name else t.ones((1, 2) + (8,) * nd), i))

    assert run(retrograd) == reference(lambda: run(torch), inputs=[case, name])


@pytest.mark.parametrize("name, args", [("max_pool3d_with_indices", (2,)),
                                        ("adaptive_max_pool3d_with_indices", ((2, 1, 3),))])
def test_3d_with_indices_return_the_values_and_indices_of_the_pool(name, args):
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4, 4)).astype(np.float32)
    F = retrograd.nn.functional
    values, indices = getattr(F, name)(retrograd.tensor(x), *args)
    pool = getattr(F, name.replace("_with_indices", ""))
    want_values, want_indices = pool(retrograd.tensor(x), *args, return_indices=True)
    assert retrograd.equal(values, want_values) and retrograd.equal(indices, want_indices)
    flat = x.reshape(1, 2, -1)
    assert np.array_equal(np.take_along_axis(flat, indices.numpy().reshape(1, 2, -1), 2).ravel(),
                          values.numpy().ravel())
    if torch is not None:
        tv, ti = getattr(torch.nn.functional, name)(torch.tensor(x), *args)
        assert np.array_equal(ti.numpy(), indices.numpy()) and np.array_equal(tv.numpy(), values.numpy())
