"""Normalization ops: finite differences (first and second order), torch, running statistics."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import _rows, normalization as N
from tests.helpers import check_op, rand, requires_torch, torch


def F(t):
    return N if t is retrograd else t.nn.functional


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4), (2, 2, 2, 3)])
def test_batch_norm_training(shape):
    c = shape[1]
    check_op(lambda t, x, w, b: F(t).batch_norm(x, None, None, w, b, training=True), shape, (c,), (c,))


def test_batch_norm_no_affine_and_bias_only():
    check_op(lambda t, x: F(t).batch_norm(x, None, None, training=True, eps=1e-3), (3, 2, 4))
    check_op(lambda t, x, b: F(t).batch_norm(x, None, None, None, b, training=True), (3, 2, 4), (2,))


def test_batch_norm_eval():
    rm, rv = rand(2, seed=5), rand(2, low=0.5, high=2.0, seed=6)
    check_op(lambda t, x, w, b: F(t).batch_norm(x, t.tensor(rm), t.tensor(rv), w, b), (3, 2, 4), (2,), (2,))


@requires_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_running_stats(momentum):
    res = []
    for t in (retrograd, torch):
        rm, rv = t.zeros(3, dtype=t.float64), t.ones(3, dtype=t.float64)
        for step in range(3):
            x = t.tensor(rand(4, 3, 5, seed=step))
            F(t).batch_norm(x, rm, rv, training=True, momentum=momentum)
        res.append((rm.numpy(), rv.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


@pytest.mark.parametrize("shape,norm", [((3, 4), (4,)), ((2, 3, 4), (3, 4)), ((2, 2, 3), [3])])
def test_layer_norm(shape, norm):
    ws = tuple(norm)
    check_op(lambda t, x, w, b: F(t).layer_norm(x, norm, w, b), shape, ws, ws)
    check_op(lambda t, x: F(t).layer_norm(x, norm, eps=1e-3), shape)
    check_op(lambda t, x, b: F(t).layer_norm(x, norm, None, b), shape, ws)


def _layer_norm_reference(x, w, b, g, eps=1e-5):
    """Layer norm over the last dim and its gradients, in float64 from the textbook formulas."""
    x, w, g = (a.astype(np.float64) for a in (x, w, g))
    xc = x - x.mean(-1, keepdims=True)
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    xhat = xc * rstd
    y = xhat * w + (0.0 if b is None else b)
    ghat = g * w
    dx = rstd * (ghat - ghat.mean(-1, keepdims=True) - xhat * (ghat * xhat).mean(-1, keepdims=True))
    return y, dx, (g * xhat).sum(0), g.sum(0)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_rows_keep_x_minus_mean(monkeypatch, dtype, tol, bias):
    """Contiguous float32/float64 rows take layer norm's product form (grad_fn.centered: x - mean
    saved, y and dx built from the rank-1 table rstd_i w_j): its values and gradients against
    the float64 formulas, and a second backward through the retained graph equal to the first
    (the saved x - mean is read, never written)."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((37, 24)) * 3 + 5).astype(dtype)
    w, b, g = rng.standard_normal(24).astype(dtype), rng.standard_normal(24).astype(dtype), \
        rng.standard_normal((37, 24)).astype(dtype)
    xt, wt = retrograd.tensor(x, requires_grad=True), retrograd.tensor(w, requires_grad=True)
    bt = retrograd.tensor(b, requires_grad=True) if bias else None
    y = N.layer_norm(xt, (24,), wt, bt)
    assert y.grad_fn.centered and y.dtype == xt.dtype
    want = _layer_norm_reference(x, w, b if bias else None, g)
    np.testing.assert_allclose(y.detach().numpy(), want[0], rtol=tol, atol=tol)
    y.backward(retrograd.tensor(g), retain_graph=True)
    leaves = (xt, wt, bt) if bias else (xt, wt)
    first = [t.grad.numpy().copy() for t in leaves]
    for got, ref in zip(first, want[1:]):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())
    y.backward(retrograd.tensor(g))
    for t, once in zip(leaves, first):
        np.testing.assert_allclose(t.grad.numpy(), 2 * once, rtol=1e-6)
    # by blocks of rows (ops/_rows.row_blocks), dw and db the sums of the blocks' sums
    monkeypatch.setattr(_rows, "ROW_BLOCK", 100)  # 4 rows of 24 per block, the last one row
    xt.grad = wt.grad = None
    if bias:
        bt.grad = None
    N.layer_norm(xt, (24,), wt, bt).backward(retrograd.tensor(g))
    for t, once in zip(leaves, first):
        np.testing.assert_allclose(t.grad.numpy(), once, rtol=tol, atol=tol * np.abs(once).max())
    # half precision and weights of another dtype keep the general path (x_hat saved)
    assert not N.layer_norm(xt.half(), (24,), wt.half()).grad_fn.centered
    assert not N.layer_norm(xt.float() if dtype == np.float64 else xt.double(), (24,), wt).grad_fn.centered


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("needs", [(True, False, False), (False, True, False), (False, False, True),
                                   (False, True, True), (True, True, False)])
def test_layer_norm_rows_backward_of_some_inputs(dtype, tol, needs):
    """The rows path's backward (one block of rows, dw and db written directly; and by blocks)
    computes only the gradients asked for, each against the float64 formulas, for an odd width
    and a broadcast (zero-stride) incoming gradient: y.sum(0)'s backward."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((300, 47)) * 2 - 3).astype(dtype)
    w, b, v = (rng.standard_normal(47).astype(dtype) for _ in range(3))
    want = _layer_norm_reference(x, w, b, np.broadcast_to(v, x.shape))
    for block in (_rows.ROW_BLOCK, 47 * 64):  # one block; 64 rows per block (the last 44)
        ts = [retrograd.tensor(a, requires_grad=r) for a, r in zip((x, w, b), needs)]
        old, _rows.ROW_BLOCK = _rows.ROW_BLOCK, block
        try:
            y = N.layer_norm(ts[0], (47,), ts[1], ts[2])
            assert y.grad_fn.centered
            y.sum(0).backward(retrograd.tensor(v))
        finally:
            _rows.ROW_BLOCK = old
        np.testing.assert_allclose(y.detach().numpy(), want[0], rtol=tol, atol=tol)
        for t, r, ref in zip(ts, needs, want[1:]):
            assert (t.grad is not None) == r
            if r:
                np.testing.assert_allclose(t.grad.numpy(), ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_rows_of_zero_mean_give_torchs_zero_signs(dtype):
    """The rows path's x - mean is -mean (+0.0 for a zero mean) copied by rows plus x, so a -0.0
    in a row of mean 0 normalizes to +0.0, as torch 2.13's layer norm gives (x - mean itself
    would give -0.0): torch.nn.LayerNorm(3, bias=False)([[-0., 0., -0.]]) has the bits of zeros."""
    x = retrograd.tensor(np.array([[-0.0, 0.0, -0.0], [1.0, -2.0, 1.0]], dtype=dtype))
    y = N.layer_norm(x, (3,), retrograd.ones(3, dtype=x.dtype))
    assert y.grad_fn is None and not np.signbit(y.numpy()[0]).any()
    assert y.numpy()[1, 0] > 0 and y.numpy()[1, 1] < 0

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(512, 64), (33, 7), (1, 1)])
def test_row_statistics_equal_the_general_path(dtype, shape):
    """_stats of contiguous rows (_row_stats: products and in-place passes) against the general
    path on the same values in another layout: mean, rstd, var and x - mean, in (rows, 1)."""
    x = (np.random.default_rng(6).standard_normal(shape) * 4 + 7).astype(dtype)
    fast = N._stats(x, shape, (1,), 1e-5)
    general = N._stats(np.asfortranarray(x), shape, (1,), 1e-5)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for got, want in zip(fast, general):  # (the means' sums in another order: x - mean to a few ulps of x)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(x).max())
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(fast[0][:, 0], x64.mean(1), rtol=tol, atol=tol * 7)
    np.testing.assert_allclose(fast[2][:, 0], x64.var(1), rtol=10 * tol, atol=tol)


def test_group_norm():
    check_op(lambda t, x, w, b: F(t).group_norm(x, 2, w, b), (2, 4, 3), (4,), (4,))
    check_op(lambda t, x: F(t).group_norm(x, 1), (2, 2, 2, 2))
    check_op(lambda t, x, w, b: F(t).group_norm(x, 3, w, b), (2, 3, 4), (3,), (3,))


@pytest.mark.parametrize("shape,groups,raises", [
    ((1, 4), 4, [1, 4]), ((1, 4, 1), 4, [1, 4, 1]), ((1, 4, 1, 1), 4, [1, 4, 1, 1]), ((1, 1), 1, [1, 1]),
    ((2, 4), 4, None), ((1, 4, 1), 2, None), ((1, 4, 2), 4, None), ((0, 4, 1), 4, None)])
def test_group_norm_of_single_values_raises_as_torch(shape, groups, raises):
    # torch checks the batch of the view [N * C / G, G, *spatial]: one value in all of it raises,
    # in training and evaluation mode alike (GroupNorm keeps no running statistics)
    for t in (retrograd,) if torch is None else (retrograd, torch):
        for call in (lambda x: F(t).group_norm(x, groups), lambda x: t.nn.GroupNorm(groups, shape[1]).eval()(x)):
            if raises is None:
                assert tuple(call(t.ones(*shape)).shape) == shape
                continue
            with pytest.raises(ValueError, match=rf"per channel when training, got input size \{raises}"):
                call(t.ones(*shape))


def test_instance_norm():
    check_op(lambda t, x, w, b: F(t).instance_norm(x, weight=w, bias=b), (2, 3, 4), (3,), (3,))
    rm, rv = rand(3, seed=5), rand(3, low=0.5, high=2.0, seed=6)
    check_op(lambda t, x: F(t).instance_norm(x, t.tensor(rm), t.tensor(rv), use_input_stats=False), (2, 3, 4))


@requires_torch
def test_instance_norm_running_stats():
    res = []
    for t in (retrograd, torch):
        rm, rv = t.zeros(3, dtype=t.float64), t.ones(3, dtype=t.float64)
        F(t).instance_norm(t.tensor(rand(2, 3, 5)), rm, rv, momentum=0.3)
        res.append((rm.numpy(), rv.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


def test_rms_norm():
    check_op(lambda t, x, w: F(t).rms_norm(x, (4,), w), (3, 4), (4,))
    check_op(lambda t, x: F(t).rms_norm(x, (2, 3), eps=1e-4), (2, 2, 3))


def test_local_response_norm():
    check_op(lambda t, x: F(t).local_response_norm(x, 3, alpha=0.1), (2, 5, 3))
    check_op(lambda t, x: F(t).local_response_norm(x, 2, k=2.0), (1, 4, 2, 2))


def test_float32_and_errors():
    x = retrograd.tensor(rand(4, 3, dtype=np.float32))
    assert N.batch_norm(x, None, None, training=True).dtype == retrograd.float32
    assert N.layer_norm(x, (3,)).dtype == retrograd.float32
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        N.batch_norm(retrograd.zeros(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        N.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        N.group_norm(retrograd.zeros(2, 3, 4), 2)


@pytest.mark.parametrize("p, dim, maxnorm", [(2, 0, 1.0), (1, 1, 1.5), (float("inf"), 0, 0.5), (3, -1, 0.8),
                                              (2, 1, 100.0)])
def test_renorm(p, dim, maxnorm):
    check_op(lambda t, x: t.renorm(x, p, dim, maxnorm), (3, 4, 2) if dim == -1 else (3, 4))


def test_renorm_inplace_values_and_errors():
    t = retrograd
    m = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    want = [[1.0, 2.0, 3.0], [4 * 5 / (77 ** 0.5 + 1e-7), 5 * 5 / (77 ** 0.5 + 1e-7), 6 * 5 / (77 ** 0.5 + 1e-7)]]
    np.testing.assert_allclose(t.renorm(m, 2, 0, 5).numpy(), want, rtol=1e-6)
    assert m.renorm_(2, 0, 5) is m
    np.testing.assert_allclose(m.numpy(), want, rtol=1e-6)
    with pytest.raises(RuntimeError, match="input needs at least 2 dimensions, got 1 dimensions"):
        t.renorm(t.tensor([3.0, 4.0]), 2, 0, 1)
    with pytest.raises(RuntimeError, match="expected maxnorm to be >= 0 but got -1"):
        t.renorm(m, 2, 0, -1)
    with pytest.raises(RuntimeError, match="non-positive-norm not supported"):
        t.renorm(m, 0, 0, 1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.renorm(m, 2, 2, 1)
