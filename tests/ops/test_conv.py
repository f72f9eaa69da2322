"""Convolutions: finite differences (first and second order) and torch, for the functional forms."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import conv as C
from tests.helpers import check_op, rand, reference, requires_torch, torch


def F(t):
    return C if t is retrograd else t.nn.functional


CONV2D = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
]


@pytest.mark.parametrize("kw", CONV2D)
def test_conv2d(kw):
    check_op(lambda t, x, w, b: F(t).conv2d(x, w, b, **kw), (1, 2, 5, 5), (2, 2, 3, 3), (2,))


def test_conv2d_groups_even_kernel_same():
    check_op(lambda t, x, w: F(t).conv2d(x, w, None, padding="same", groups=2), (1, 4, 4, 5), (2, 2, 2, 2))


def test_conv2d_unbatched():
    check_op(lambda t, x, w: F(t).conv2d(x, w, padding=1), (2, 4, 4), (3, 2, 3, 3), gradgradcheck=False)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2, dilation=2), dict(padding="same", groups=2)])
def test_conv1d(kw):
    check_op(lambda t, x, w, b: F(t).conv1d(x, w, b, **kw), (2, 2, 7), (2, 2 // kw.get("groups", 1), 3), (2,))


def test_conv3d():
    check_op(lambda t, x, w, b: F(t).conv3d(x, w, b, stride=(1, 2, 1), padding=1), (1, 2, 3, 4, 3),
             (2, 2, 2, 2, 2), (2,))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=2, dilation=2, groups=2), dict(stride=(1, 2), padding=(0, 1))])
def test_conv_transpose2d(kw):
    check_op(lambda t, x, w, b: F(t).conv_transpose2d(x, w, b, **kw), (1, 2, 3, 3), (2, 2, 3, 2), (2 * kw.get(
        "groups", 1),))


@pytest.mark.parametrize("nd, kw", [(1, dict(padding=2, dilation=2)), (2, dict(padding=(1, 0), groups=2)),
                                     (3, dict(padding=(1, 0, 1), dilation=(1, 1, 2)))])
def test_stride1_input_grad_with_more_outputs_than_inputs(nd, kw):
    # O > C: the input gradient folds W^T @ G back over the whole batch on the padded grid (_col2im_grid)
    fn = {1: "conv1d", 2: "conv2d", 3: "conv3d"}[nd]
    size = (5, 4, 3)[:nd]
    check_op(lambda t, x, w: getattr(F(t), fn)(x, w, **kw), (2, 2) + size,
             (6, 2 // kw.get("groups", 1)) + (3, 2, 2)[:nd], gradgradcheck=nd < 3)


@pytest.mark.parametrize("samples, parts", [(1, "all"), (2, "some"), (100, "one")])
@pytest.mark.parametrize("x_shape, w_shape, pads, dilation, groups", [
    ((5, 2, 7), (6, 2, 3), ((2, 2),), (2,), 1),
    ((5, 4, 6, 5), (6, 2, 3, 2), ((1, 1), (0, 1)), (1, 1), 2),
    ((5, 2, 4, 3, 3), (4, 2, 3, 2, 2), ((1, 1), (0, 0), (1, 0)), (1, 1, 2), 1),
])
def test_stride1_input_grad_in_chunks_and_kernel_parts(monkeypatch, samples, parts, x_shape, w_shape, pads,
                                                       dilation, groups):
    """_col2im_grid in chunks of `samples` samples (of 5: the last chunk shorter) and with its matmul
    cut into parts of the kernel offsets (all, the fewest above one, one) equals the generic col2im
    of W^T @ G, in float64 and float16."""
    p = C.ConvParams((1,) * len(pads), pads, dilation, groups)
    out = C._out_shape(x_shape[2:], w_shape[2:], p)
    n, c, o, K = x_shape[0], x_shape[1], w_shape[0], int(np.prod(w_shape[2:]))
    S = int(np.prod([s + lo + hi for s, (lo, hi) in zip(x_shape[2:], pads)]))
    count = {"all": K, "some": min(q for q in range(2, K + 1) if K % q == 0), "one": 1}[parts]
    monkeypatch.setattr(C, "SMALL_GEMM", K // count * (c // groups) * (o // groups) * S)
    g, w = rand(n, o, *out), rand(*w_shape, seed=1)
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    cols = wt @ g.reshape(n, groups, o // groups, -1)
    expected = C._col2im(cols, x_shape, w_shape[2:], out, p)
    for dtype, tol in ((np.float64, 1e-12), (np.float16, 1e-2)):
        monkeypatch.setattr(C, "CHUNK_BYTES", samples * c * K * S * np.dtype(dtype).itemsize)
        for fold in (C._col2im_grid, C._col2im_grid_whole):  # (one BLAS thread, several)
            got = fold(np, w.astype(dtype), g.astype(dtype), x_shape, p)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_weight_grad_with_fewer_column_rows_than_outputs():
    # C*K < O: the columns stay batch major and the weight gradient sums N matmuls
    check_op(lambda t, x, w, b: F(t).conv2d(x, w, b, padding=1), (2, 1, 4, 5), (12, 1, 3, 3), (12,))
    check_op(lambda t, x, w: F(t).conv1d(x, w, padding=1, groups=2), (2, 2, 5), (10, 1, 3))


@pytest.mark.parametrize("small", [10 ** 6, 0])
def test_weight_grad_of_kept_columns_with_and_without_contiguous_g(monkeypatch, small):
    """Batch-major columns kept by the forward: dw^T = sum_n cols @ G^T, with G^T copied contiguous
    (O/G >= 32 and a small matmul) or read strided; both equal the sum over windows."""
    monkeypatch.setattr(C, "SMALL_GEMM", small)
    monkeypatch.setattr(C, "_blas_threads", lambda: 1)  # (batch-major columns)
    x, g = rand(3, 4, 5, 6), rand(3, 64, 5, 6, seed=1)
    p = C.ConvParams((1, 1), ((1, 1), (1, 1)), (1, 1), 2)
    _, cols = C.conv_forward(x, rand(64, 2, 3, 3, seed=2), None, p, keep_cols=True)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.stack([xp[:, :, i:i + 5, j:j + 6] for i in range(3) for j in range(3)], 2)  # (N, C, K, H, W)
    windows = windows.reshape(3, 2, 2, 9, 5, 6)  # by group
    expected = np.einsum("ngohw,ngckhw->gock", g.reshape(3, 2, 32, 5, 6), windows).reshape(64, 2, 3, 3)
    np.testing.assert_allclose(C.conv_weight_grad(x, g, (64, 2, 3, 3), p, cols), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=2, dilation=2, groups=2), dict(stride=2)])
def test_kernels_for_one_or_several_blas_threads(monkeypatch, kw):
    """One BLAS thread: batch-major columns and per-sample matmuls; several: channel-major columns
    (C*K >= O) and whole-batch matmuls. Values and gradients agree, empty batches included."""
    p = C.ConvParams((kw.get("stride", 1),) * 2, ((kw.get("padding", 0),) * 2,) * 2, (kw.get("dilation", 1),) * 2,
                     kw.get("groups", 1))
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(C, "_blas_threads", lambda: threads)
        _, cols = C.conv_forward(rand(3, 4, 6, 5), rand(6, 4 // p.groups, 3, 3, seed=1), None, p, keep_cols=True)
        assert cols.transpose(1, 2, 0, 3).flags.c_contiguous == (threads > 1)
        grads = []
        for n in (3, 0):
            x = retrograd.tensor(rand(n, 4, 6, 5), requires_grad=True)
            w = retrograd.tensor(rand(6, 4 // p.groups, 3, 3, seed=1), requires_grad=True)
            y = C.conv2d(x, w, **kw)
            (y * y).sum().backward()
            grads += [y.detach().numpy(), x.grad.numpy(), w.grad.numpy()]
        results.append(grads)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,bias", [
    ((3, 8, 7, 6), (5, 8, 3, 3), (1, 1), (1, 1), (1, 1), True),
    ((2, 9, 9, 8), (4, 9, 2, 3), (2, 1), (1, 0), (1, 2), False),
    ((2, 12, 11), (3, 12, 3), (2,), (2,), (2,), True),
    ((2, 8, 4, 5, 4), (3, 8, 3, 2, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), False),
    ((0, 8, 5, 5), (3, 8, 3, 3), (1, 1), (1, 1), (1, 1), True),
])
def test_position_major_columns_for_a_forward_without_kept_columns(monkeypatch, x_shape, w_shape, stride,
                                                                   padding, dilation, bias):
    """Several BLAS threads, columns not kept (no_grad, or the input gradient as a full correlation
    when O <= C): the columns go position major (N*L, K*C) from a channel-last copy, equal to the
    batch-major path (float64, to 1e-12); with kept columns, or one thread, they do not."""
    p = C.ConvParams(stride, tuple((q, q) for q in padding), dilation, 1)
    x, w = rand(*x_shape), rand(*w_shape, seed=1)
    b = rand(w_shape[0], seed=2) if bias else None
    calls = []
    positions = C._im2col_positions
    monkeypatch.setattr(C, "_im2col_positions", lambda *a: calls.append(1) or positions(*a))
    monkeypatch.setattr(C, "_blas_threads", lambda: 2)
    y = C.conv_forward(x, w, b, p)
    assert calls == [1]
    C.conv_forward(x, w, b, p, keep_cols=True)
    monkeypatch.setattr(C, "_blas_threads", lambda: 1)
    expected = C.conv_forward(x, w, b, p)
    assert calls == [1]  # (kept columns, one thread: batch-major)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    assert y.shape == expected.shape and y.flags.c_contiguous
    monkeypatch.setattr(C, "_blas_threads", lambda: 2)
    conv = getattr(F(retrograd), f"conv{len(stride)}d")
    with retrograd.no_grad():
        ours = conv(retrograd.tensor(x), retrograd.tensor(w), None if b is None else retrograd.tensor(b),
                    stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert calls == [1, 1]


def test_empty_batch_gradients():
    for groups, o in ((1, 4), (3, 30)):  # channel-major (C*K >= O) and batch-major columns
        x = retrograd.zeros(0, 3, 5, 5, requires_grad=True)
        w = retrograd.ones(o, 3 // groups, 3, 3, requires_grad=True)
        C.conv2d(x, w, padding=1, groups=groups).sum().backward()
        assert tuple(x.grad.shape) == (0, 3, 5, 5) and not w.grad.numpy().any()


def test_conv_transpose1d_and_3d():
    check_op(lambda t, x, w, b: F(t).conv_transpose1d(x, w, b, stride=3, padding=1, output_padding=2),
             (2, 2, 4), (2, 3, 3), (3,))
    check_op(lambda t, x, w: F(t).conv_transpose3d(x, w, stride=2), (1, 2, 2, 2, 2), (2, 1, 2, 2, 2),
             gradgradcheck=False)


def test_unfold_fold():
    check_op(lambda t, x: F(t).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2), (1, 2, 4, 5))
    check_op(lambda t, c: F(t).fold(c, (4, 5), (2, 2), padding=1, stride=(1, 2)), (2, 8, 15))


# (conv, x shape, w shape, kwargs): each of the kernels' paths (see src/retrograd/ops/conv.py)
KERNEL_PATHS = [
    (C.conv2d, (2, 1, 8, 8), (16, 1, 3, 3), dict(padding=1)),  # col2im on the grid, per sample; dw by sample
    (C.conv2d, (2, 1, 8, 8), (32, 1, 3, 3), dict(padding=1)),  # col2im on the grid, one matmul
    (C.conv2d, (2, 4, 8, 8), (2, 4, 3, 3), dict(padding=1)),  # dx as a full correlation; dw channel major
    (C.conv2d, (1, 2, 4, 3), (2, 2, 3, 1), dict()),  # a (3, 1) kernel, no padding: dx fills its whole grid
    (C.conv2d, (2, 2, 9, 9), (4, 2, 3, 3), dict(stride=2, padding=1)),  # columns then col2im
    (C.conv2d, (2, 3, 5, 5), (4, 3, 1, 1), dict()),  # 1x1: the input is its own columns
    (C.conv2d, (2, 4, 6, 6), (4, 2, 3, 3), dict(groups=2, dilation=2, padding=2)),
    (C.conv1d, (2, 3, 10), (5, 3, 3), dict(padding=1)),
    (C.conv3d, (1, 2, 4, 4, 4), (3, 2, 2, 2, 2), dict()),
    (C.conv_transpose2d, (2, 3, 4, 4), (3, 2, 3, 3), dict(stride=2)),
]


@pytest.mark.parametrize("conv, x_shape, w_shape, kw", KERNEL_PATHS)
def test_consecutive_calls_share_no_memory(conv, x_shape, w_shape, kw):
    """No result of a conv call (output, input and weight gradients) is memory a later call writes."""
    def call(seed):
        x = retrograd.tensor(rand(*x_shape, seed=seed, dtype=np.float32), requires_grad=True)
        w = retrograd.tensor(rand(*w_shape, seed=seed + 1, dtype=np.float32), requires_grad=True)
        y = conv(x, w, **kw)
        (y * y).sum().backward()
        return [y.detach().numpy(), x.grad.numpy(), w.grad.numpy()]

    first = call(0)
    kept = [a.copy() for a in first]
    second = call(10)
    for a in first:
        assert not any(np.shares_memory(a, b) for b in second)
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)


def test_no_memory_kept_between_calls():
    """conv's temporaries (padded input, columns, ...) are freed with the call: no buffers stay behind."""
    import gc
    import tracemalloc

    def call(n):
        x = retrograd.tensor(rand(n, 4, 32, 32, dtype=np.float32), requires_grad=True)
        w = retrograd.tensor(rand(8, 4, 3, 3, seed=1, dtype=np.float32), requires_grad=True)
        C.conv2d(x, w, padding=1, stride=2).sum().backward()
        C.conv2d(x, w, padding=1).sum().backward()

    call(1)  # imports and first-use caches, before measuring
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        call(8)  # the inputs alone are 128 KB, the temporaries several times that
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base > 1 << 20
    assert kept - base < 32 << 10


def test_1x1_gradients():
    check_op(lambda t, x, w, b: F(t).conv2d(x, w, b), (2, 3, 3, 3), (2, 3, 1, 1), (2,))
    check_op(lambda t, x, w: F(t).conv1d(x, w), (2, 3, 4), (2, 3, 1))
    check_op(lambda t, x, w: F(t).conv_transpose2d(x, w), (1, 2, 3, 3), (2, 3, 1, 1))


def test_1x1_and_float32():
    x = rand(2, 3, 4, 4, dtype=np.float32)
    w = rand(5, 3, 1, 1, seed=1, dtype=np.float32)
    y = C.conv2d(retrograd.tensor(x), retrograd.tensor(w))
    assert y.dtype == retrograd.float32
    np.testing.assert_allclose(y.numpy(), np.einsum("nchw,oc->nohw", x, w[:, :, 0, 0]), rtol=1e-5, atol=1e-6)


def test_errors():
    x = retrograd.zeros(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="to have 2 channels, but got 3"):
        C.conv2d(x, retrograd.zeros(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        C.conv2d(x, retrograd.zeros(4, 3, 7, 7))
    with pytest.raises(ValueError, match="strided"):
        C.conv2d(x, retrograd.zeros(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Expected 3D"):
        C.conv2d(retrograd.zeros(5, 5), retrograd.zeros(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="weight type"):
        C.conv2d(x, retrograd.zeros(4, 3, 3, 3, dtype=retrograd.float64))


@requires_torch
@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2), dict(padding=2, dilation=2, groups=4)])
def test_bigger_float32_against_torch(kw):
    x = rand(4, 8, 12, 12, dtype=np.float32)
    w = rand(16, 8 // kw.get("groups", 1), 3, 3, seed=1, dtype=np.float32)
    b = rand(16, seed=2, dtype=np.float32)
    out = []
    for t in (retrograd, torch):
        xs, ws, bs = (t.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F(t).conv2d(xs, ws, bs, **kw)
        (y * y).sum().backward()
        out.append([y.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy()])
    for r, t in zip(*out):
        assert r.dtype == np.float32
        np.testing.assert_allclose(r, t, rtol=1e-4, atol=1e-3)


def test_top_level_names():
    assert retrograd.conv2d is C.conv2d and retrograd.conv_transpose1d is C.conv_transpose1d
    assert retrograd.nn.functional.conv3d is C.conv3d and retrograd.nn.functional.unfold is C.unfold


def test_weight_grad_with_recomputed_columns(monkeypatch):
    x, w = rand(2, 2, 5, 5), rand(3, 2, 3, 3, seed=1)
    grads = []
    for limit in (C.SAVE_COLUMNS_MAX_BYTES, 0):  # columns kept from the forward, then recomputed
        monkeypatch.setattr(C, "SAVE_COLUMNS_MAX_BYTES", limit)
        ws = retrograd.tensor(w, requires_grad=True)
        C.conv2d(retrograd.tensor(x), ws, stride=2, padding=1).sum().backward()
        grads.append(ws.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_bias_gradient_of_the_plain_backward_is_two_matrix_vector_products():
    """conv's bias gradient in a plain backward sums g over the batch, then over space, as BLAS
    products with ones (_rows.col_sums, _rows.row_sums), close to the float64 sum; recorded
    (create_graph) it stays the differentiable sum."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3, 20, 20)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((16, 8, 20, 20)).astype(np.float32)
    b = retrograd.zeros(8, requires_grad=True)
    retrograd.nn.functional.conv2d(retrograd.tensor(x), retrograd.tensor(w), b, padding=1).backward(retrograd.tensor(g))
    from retrograd.ops import _rows
    blas = _rows.row_sums(_rows.col_sums(g.reshape(16, -1)).reshape(8, -1))
    np.testing.assert_array_equal(b.grad.numpy(), blas)
    assert not np.array_equal(blas, g.sum(0).sum((1, 2)))  # (so the check above tells the two apart)
    np.testing.assert_allclose(b.grad.numpy(), g.astype(np.float64).sum((0, 2, 3)), rtol=1e-5, atol=1e-4)
    b2 = retrograd.zeros(8, requires_grad=True)
    y = retrograd.nn.functional.conv2d(retrograd.tensor(x), retrograd.tensor(w), b2, padding=1)
    gt = retrograd.tensor(g, requires_grad=True)
    (db,) = retrograd.autograd.grad(y, b2, gt, create_graph=True)
    assert db.grad_fn is not None
    np.testing.assert_allclose(db.detach().numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape, w_shape, kw", [
    ((3, 1, 7, 6), (5, 1, 3, 3), dict(padding=1)),  # C*K > O: channel major at several threads
    ((3, 1, 7, 6), (12, 1, 3, 3), dict(padding=1)),
    ((2, 2, 7, 6), (4, 2, 3, 2), dict(stride=(2, 1), dilation=(1, 2))),
    ((2, 3, 4, 5), (6, 3, 1, 1), dict()),  # 1x1: the columns are a copy with the row of ones
    ((0, 1, 5, 5), (4, 1, 3, 3), dict(padding=1)),
])
def test_bias_of_few_column_rows_rides_in_the_matmul(monkeypatch, threads, x_shape, w_shape, kw):
    """C*K < BIAS_ROW_MAX (one group): the bias is a last column of w against a row of ones in
    the columns, no add over the output; values and gradients as the add's."""
    x, w, b = rand(*x_shape), rand(*w_shape, seed=1), rand(w_shape[0], seed=2)
    results = []
    for fold in (True, False):  # folded (never calling _spread_bias), then added to the output
        monkeypatch.undo()
        monkeypatch.setattr(C, "_blas_threads", lambda: threads)
        monkeypatch.setattr(C, *(("_spread_bias", None) if fold else ("BIAS_ROW_MAX", 0)))
        ts = [retrograd.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = C.conv2d(*ts, **kw)
        (y * y).sum().backward()
        results.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for a, e in zip(*results):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_conv_with_folded_bias_rounds_once(dtype):
    """A half-precision conv whose bias rides in the float32 matmul rounds y once, as torch's CPU
    kernels do (adding the bias to the rounded product rounded twice: ~24% of the values differed)."""
    x, w, b = rand(4, 1, 9, 9, dtype=np.float32), rand(8, 1, 3, 3, seed=1, dtype=np.float32), 4 * rand(8, seed=2, dtype=np.float32)
    dt = getattr(retrograd, dtype)
    xs, ws, bs = (retrograd.tensor(a).to(dt) for a in (x, w, b))
    y = C.conv2d(xs, ws, bs, padding=1)
    once = C.conv2d(xs.float(), ws.float(), bs.float(), padding=1).to(dt)
    np.testing.assert_array_equal(y.float().numpy(), once.float().numpy())


@pytest.mark.parametrize("threads", [1, 2])
def test_folded_bias_gradient_is_the_weight_gradients_last_column(monkeypatch, threads):
    """A plain backward through a conv whose bias rode in the matmul: the columns' row of ones
    makes the bias gradient the last column of one weight-gradient matmul (_bias_grad never
    called); the same values as the recorded path's (create_graph: separate Functions)."""
    monkeypatch.setattr(C, "_blas_threads", lambda: threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 9, 8)).astype(np.float32)
    w = rng.standard_normal((5, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    g = rng.standard_normal((6, 5, 9, 8)).astype(np.float32)
    bias_grad = C._bias_grad
    grads = []
    for create_graph in (False, True):
        monkeypatch.setattr(C, "_bias_grad", bias_grad if create_graph else None)
        ws, bs = retrograd.tensor(w, requires_grad=True), retrograd.tensor(b, requires_grad=True)
        y = C.conv2d(retrograd.tensor(x), ws, bs, padding=1)
        grads.append([t.numpy() if not create_graph else t.detach().numpy()
                      for t in retrograd.autograd.grad(y, (ws, bs), retrograd.tensor(g), create_graph=create_graph)])
    np.testing.assert_array_equal(grads[0][0], grads[1][0])  # the weight gradient: the same products
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads[0][1], g.astype(np.float64).sum((0, 2, 3)), rtol=1e-5, atol=1e-4)


BLOCK_SIZES = [dict(kernel_size=(2,)), dict(kernel_size=(2, 2, 2)), dict(kernel_size=2, dilation=(1,)),
               dict(kernel_size=2, padding=(0,)), dict(kernel_size=2, stride=(1,)),
               dict(kernel_size=[2, 2], stride=[1, 1])]


@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("kwargs", BLOCK_SIZES, ids=map(repr, BLOCK_SIZES))
def test_unfold_and_fold_sizes_are_an_int_or_two_as_torch(kwargs, fold):
    """torch's unfold and fold expand no 1-element tuple: RuntimeError for any length but 2."""
    def run(t):
        f = t.nn.functional
        try:
            y = f.fold(t.ones(1, 8, 49), (8, 8), **kwargs) if fold else f.unfold(t.ones(1, 2, 8, 8), **kwargs)
            return ["shape", list(y.shape)]
        except Exception as e:  # noqa: BLE001 (the type is what is compared)
            return ["raises", type(e).__name__]

    assert run(retrograd) == reference(lambda: run(torch), inputs=[repr(kwargs), fold])


def test_fold_output_size_is_an_int_or_two_as_torch():
    with pytest.raises(RuntimeError, match="expected output_size equals to 2, but got size 1"):
        C.fold(retrograd.ones(1, 8, 49), (8,), 2)
