"""Normalization ops: finite differences (first and second order), torch, running statistics."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import _rows, normalization as N
from tests.helpers import check_op, rand, reference, requires_torch, torch


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
    # half precision (with half or float32 weights: computed in float32) keeps the general path (x_hat saved)
    assert not N.layer_norm(xt.half(), (24,), wt.half()).grad_fn.centered
    assert not N.layer_norm(xt.half(), (24,), wt.float()).grad_fn.centered


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


HALF_CASES = {  # name -> (input shape, fn(t, x, p): p makes a parameter of the case's parameter dtype)
    "layer_norm": ((4, 6, 30), lambda t, x, p: t.nn.functional.layer_norm(x, (30,), p(30, 1), p(30, 2))),
    "layer_norm_2d": ((4, 6, 30), lambda t, x, p: t.nn.functional.layer_norm(x, (6, 30))),
    "rms_norm": ((4, 6, 30), lambda t, x, p: t.nn.functional.rms_norm(x, (30,), p(30, 1))),
    "rms_norm_bare": ((4, 6, 30), lambda t, x, p: t.nn.functional.rms_norm(x, (30,))),
    "group_norm": ((4, 6, 30), lambda t, x, p: t.nn.functional.group_norm(x, 3, p(6, 1), p(6, 2))),
    "batch_norm": ((4, 6, 30), lambda t, x, p: t.nn.functional.batch_norm(x, None, None, p(6, 1), p(6, 2),
                                                                          training=True)),
    "batch_norm_bare": ((4, 6, 30), lambda t, x, p: t.nn.functional.batch_norm(x, None, None, training=True)),
    "batch_norm_eval": ((4, 6, 30), lambda t, x, p: t.nn.functional.batch_norm(
        x, p(6, 3, stat=True), p(6, 4, stat=True).abs() + 0.5, p(6, 1), p(6, 2))),
    "instance_norm": ((4, 6, 30), lambda t, x, p: t.nn.functional.instance_norm(x, weight=p(6, 1), bias=p(6, 2))),
}


def _half_case(t, name, dtype, params, grads):
    """The case's output (and with ``grads``, the gradients of x and the parameters) as float32
    arrays, with the dtypes, for x of ``dtype`` and parameters of ``params`` (its dtype, or float32)."""
    shape, fn = HALF_CASES[name]
    rng = np.random.default_rng(7)
    dt = getattr(t, dtype)
    leaves = [t.tensor((rng.standard_normal(shape) * 3 + 5).astype(np.float32)).to(dt).requires_grad_(grads)]

    def p(n, seed, stat=False):  # stat: a running statistic (no gradient)
        v = t.tensor(np.random.default_rng(seed).standard_normal(n).astype(np.float32))
        leaves.append(v.to(dt if params == "same" else t.float32).requires_grad_(grads and not stat))
        return leaves[-1]

    y = fn(t, leaves[0], p)
    out = [str(y.dtype), y.detach().float().numpy()]  # (float32 holds float16/bfloat16 values exactly)
    if grads:
        leaves = [v for v in leaves if v.requires_grad and v.is_leaf]
        g = t.tensor(rng.standard_normal(shape).astype(np.float32)).to(dt)
        for v, gv in zip(leaves, t.autograd.grad((y * g).sum(), leaves)):
            out += [str(gv.dtype), gv.float().numpy()]
    return out


def test_bfloat16_batch_norm_of_a_2d_input_as_torch():
    """A 2-D bfloat16 input goes through torch's channels-last kernel, whose variance is taken
    about the rounded mean: torch 2.13's output, exactly (it was 1-2 units off in 3 of 4 values)."""
    def run(t):
        x = t.tensor([[((i * 7 + j * 5) % 11) * 0.05 - 20.0 for j in range(3)] for i in range(8)]).bfloat16()
        return t.nn.functional.batch_norm(x, None, None, training=True).float().tolist()

    a, b, c = 1.4609375, 0.73046875, 1.5078125
    expected = [[-a, 0.0, c], [b, -a, 0.0], [-b, b, -0.75390625], [a, 0.0, c], [0.0, -a, 0.0], [-b, b, -c],
                [a, -b, 0.75390625], [0.0, a, 0.0]]
    assert run(retrograd) == expected
    if torch is not None:
        assert run(torch) == expected


@pytest.mark.parametrize("params", ["same", "float32"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(HALF_CASES))
def test_half_precision_norms_compute_in_float32_as_torch(name, dtype, params):
    """torch's CPU norms of float16/bfloat16 inputs compute in float32 (statistics and affine;
    batch and instance norm round the statistics to the input's dtype first unless the parameters
    are float32), then round once: the same values as torch (all but rare last-bit ties; it
    differed by 2-4 units in the last place in about half the elements), the input's dtype.
    bfloat16 batch and instance norm take rstd from the variance rounded as torch's kernel keeps
    it (from the float32 variance, 15-40% of these outputs were 1-2 units off)."""
    ours = _half_case(retrograd, name, dtype, params, False)
    theirs = reference(lambda: _half_case(torch, name, dtype, params, False), inputs=[name, dtype, params])
    assert ours[0] == theirs[0]
    a, b = ours[1], theirs[1]
    bits = 10 if dtype == "float16" else 7  # the dtype's fraction bits: its unit in the last place at 1.0
    ulp = np.maximum(np.spacing(np.abs(b).astype(np.float32)) * 2.0 ** (23 - bits), 2.0 ** -bits)
    assert np.all(np.abs(a - b) <= ulp), np.abs(a - b).max()  # 1 unit
    assert np.mean(a == b) >= 0.99, np.mean(a == b)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm",
                                  "batch_norm_eval"])
def test_half_precision_norms_gradients_in_the_inputs_dtypes_as_torch(name, dtype):
    """The gradients of a float16/bfloat16 norm come back in each input's dtype, and agree with
    torch's within the dtype's precision (torch accumulates some of its backward's sums in the
    input's dtype; retrograd in float32)."""
    ours = _half_case(retrograd, name, dtype, "same", True)
    theirs = reference(lambda: _half_case(torch, name, dtype, "same", True), inputs=[name, dtype, "grads"])
    assert ours[0::2] == theirs[0::2]
    tol = 4e-3 if dtype == "float16" else 3e-2
    for a, b in zip(ours[1::2], theirs[1::2]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["layer_norm", "layer_norm_2d", "group_norm"])
def test_half_precision_layer_and_group_norm_input_gradients_are_torchs(name, dtype):
    """Layer and group norm of a float16/bfloat16 input with parameters of its dtype (or none):
    torch saves the statistics in that dtype and its backward reads them rounded (the forward used
    them in float32). The input's gradient is then torch's (it differed in 22-48% of the elements,
    by up to 8 units in the last place for bfloat16, with the float32 statistics). (The parameters'
    gradients are not: torch's CPU kernel sums them in the half dtype per thread.)"""
    ours = _half_case(retrograd, name, dtype, "same", True)
    theirs = reference(lambda: _half_case(torch, name, dtype, "same", True), inputs=[name, dtype, "grads"])
    a, b = ours[3], theirs[3]  # the input's gradient
    bits = 10 if dtype == "float16" else 7
    ulp = np.maximum(np.spacing(np.abs(b).astype(np.float32)) * 2.0 ** (23 - bits), 2.0 ** -(bits + 6))
    assert np.all(np.abs(a - b) <= ulp), np.abs(a - b).max()
    assert np.mean(a == b) >= 0.99, np.mean(a == b)


def test_rms_norm_default_eps_of_half_inputs_is_float32s_as_torch():
    """torch computes a float16 rms_norm in float32 with float32's epsilon (not float16's, 2^-10)."""
    x = retrograd.tensor([[1e-3, -2e-3, 1e-3]], dtype=retrograd.float16)
    y = N.rms_norm(x, (3,))
    np.testing.assert_allclose(y.float().numpy(), N.rms_norm(x.float(), (3,), eps=2.0 ** -23).numpy(), rtol=1e-3)
    assert abs(y[0, 1].item()) > 1.3  # with float16's epsilon it would be ~0.06


NON_FLOAT_CASES = {
    "layer_norm": (NotImplementedError, "LayerNormKernelImpl", lambda F, x: F.layer_norm(x, (3,))),
    "rms_norm": (NotImplementedError, "rms_norm", lambda F, x: F.rms_norm(x, (3,))),
    "group_norm": (NotImplementedError, "GroupNormKernelImpl", lambda F, x: F.group_norm(x, 2)),
    "batch_norm": (NotImplementedError, "batch_norm", lambda F, x: F.batch_norm(x, None, None, training=True)),
    "batch_norm_eval": (NotImplementedError, "batch_norm",
                        lambda F, x: F.batch_norm(x, retrograd.zeros(4), retrograd.ones(4))),
    "instance_norm": (NotImplementedError, "batch_norm", lambda F, x: F.instance_norm(x)),
    "normalize": (RuntimeError, "vector_norm", lambda F, x: F.normalize(x)),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", sorted(NON_FLOAT_CASES))
def test_norms_of_integer_and_bool_inputs_raise_as_torch(name, dtype):
    """torch's norm kernels take floating inputs only: NotImplementedError naming its kernel
    (they computed, or failed inside NumPy)."""
    error, kernel, fn = NON_FLOAT_CASES[name]
    x = retrograd.ones(2, 4, 3, dtype=getattr(retrograd, dtype))
    with pytest.raises(error, match=kernel):
        fn(retrograd.nn.functional, x)


@pytest.mark.parametrize("x_dtype,p_dtype,message", [
    ("float32", "int64", "expect parameter to have scalar type of Float"),
    ("float32", "float64", "expect parameter to have scalar type of Float"),
    ("float32", "float16", "expect parameter to have scalar type of Float"),
    ("float16", "float64", "expect parameter to have scalar type of Float"),
    ("bfloat16", "float16", "expect parameter to have scalar type of Float"),
    ("float64", "float32", "all inputs must share same datatype"),
])
@pytest.mark.parametrize("name", ["layer_norm", "group_norm", "batch_norm", "batch_norm_eval", "instance_norm"])
def test_norm_parameters_of_another_dtype_raise_as_torch(name, x_dtype, p_dtype, message):
    """torch's CPU norms take parameters of the input's dtype, or float32 ones for a float16 or
    bfloat16 input; other mixes raise RuntimeError (retrograd computed them)."""
    x = retrograd.ones(2, 4, 3, dtype=getattr(retrograd, x_dtype))
    p = retrograd.ones(4, dtype=getattr(retrograd, p_dtype))
    F = retrograd.nn.functional
    fn = {"layer_norm": lambda: F.layer_norm(x, (3,), retrograd.ones(3, dtype=p.dtype)),
          "group_norm": lambda: F.group_norm(x, 2, p, p),
          "batch_norm": lambda: F.batch_norm(x, None, None, p, p, training=True),
          "batch_norm_eval": lambda: F.batch_norm(x, p, p),
          "instance_norm": lambda: F.instance_norm(x, weight=p, bias=p)}[name]
    with pytest.raises(RuntimeError, match=message):
        fn()


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("ndim", [3, 4])
def test_local_response_norm_of_integers_as_torch(dtype, ndim):
    """torch's LRN averages by avg_pool, whose CPU kernels take int64 (integer division of the
    window sums, a float32 result) and no other integer or bool dtype (NotImplementedError)."""
    def run(t):
        x = (t.arange(48) % 11 - 3).reshape((1, 4, 12) if ndim == 3 else (1, 4, 3, 4)).to(getattr(t, dtype))
        try:
            y = t.nn.functional.local_response_norm(x, 3, alpha=0.5, k=2.0)
            return [str(y.dtype), y.numpy()]
        except Exception as e:  # noqa: BLE001 (the type is what is compared)
            return [type(e).__name__]

    ours, theirs = run(retrograd), reference(lambda: run(torch), inputs=[dtype, ndim])
    assert ours[0] == theirs[0]
    if len(ours) > 1:
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
