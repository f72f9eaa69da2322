"""scaled_dot_product_attention (ops/attention.py): torch's values and gradients, gradcheck."""

import numpy as np
import pytest

import retrograd
from retrograd.ops.attention import attention_with_weights, scaled_dot_product_attention
from helpers import check_op, rand, requires_torch, torch


def _sdpa(t):
    if t is retrograd:
        return scaled_dot_product_attention
    return torch.nn.functional.scaled_dot_product_attention


def _bool_mask(L, S, seed=7):
    m = np.random.default_rng(seed).random((L, S)) > 0.3
    m[:, 0] = True
    return m


def _mask(t, arr):
    return t.tensor(arr)


def _mask_and_causal(t, q, k, v):
    """Both a mask and is_causal: their intersection (torch's math kernel with grads refuses
    the pair, so the oracle gets the combined mask)."""
    m = _bool_mask(4, 4)
    if t is retrograd:
        return _sdpa(t)(q, k, v, attn_mask=t.tensor(m), is_causal=True)
    return _sdpa(t)(q, k, v, attn_mask=t.tensor(m & np.tri(4, 4, dtype=bool)))


CASES = [
    ("plain", lambda t, q, k, v: _sdpa(t)(q, k, v), (2, 3, 4), (2, 5, 4), (2, 5, 3)),
    ("4d", lambda t, q, k, v: _sdpa(t)(q, k, v), (1, 2, 3, 2), (1, 2, 4, 2), (1, 2, 4, 2)),
    ("causal", lambda t, q, k, v: _sdpa(t)(q, k, v, is_causal=True), (2, 4, 3), (2, 4, 3), (2, 4, 2)),
    ("causal_rect", lambda t, q, k, v: _sdpa(t)(q, k, v, is_causal=True), (1, 3, 2), (1, 5, 2),
     (1, 5, 2)),
    ("scale", lambda t, q, k, v: _sdpa(t)(q, k, v, scale=0.3), (2, 3, 4), (2, 5, 4), (2, 5, 3)),
    ("bool_mask", lambda t, q, k, v: _sdpa(t)(q, k, v, attn_mask=_mask(t, _bool_mask(3, 5))),
     (2, 3, 4), (2, 5, 4), (2, 5, 3)),
    ("bool_mask_causal", lambda t, q, k, v: _mask_and_causal(t, q, k, v), (2, 4, 2), (2, 4, 2),
     (2, 4, 2)),
    ("float_mask", lambda t, q, k, v: _sdpa(t)(q, k, v, attn_mask=_mask(t, rand(3, 5, seed=9))),
     (2, 3, 4), (2, 5, 4), (2, 5, 3)),
    ("broadcast_kv", lambda t, q, k, v: _sdpa(t)(q, k, v), (2, 2, 3, 2), (1, 2, 4, 2), (1, 2, 4, 2)),
    ("gqa", lambda t, q, k, v: _sdpa(t)(q, k, v, enable_gqa=True), (1, 4, 3, 2), (1, 2, 3, 2),
     (1, 2, 3, 2)),
]


@pytest.mark.parametrize("name,fn,qs,ks,vs", CASES, ids=[c[0] for c in CASES])
def test_sdpa(name, fn, qs, ks, vs):
    check_op(fn, qs, ks, vs)


def test_float_mask_gradient():
    check_op(lambda t, q, k, v, m: _sdpa(t)(q, k, v, attn_mask=m), (2, 3, 2), (2, 4, 2), (2, 4, 2),
             (3, 4))


@requires_torch
def test_fully_masked_rows_give_zeros():
    m = _bool_mask(3, 5)
    m[1] = False
    check_op(lambda t, q, k, v: _sdpa(t)(q, k, v, attn_mask=_mask(t, m)), (2, 3, 4), (2, 5, 4),
             (2, 5, 3), gradgradcheck=False)
    q = retrograd.tensor(rand(2, 3, 4), requires_grad=True)
    out = scaled_dot_product_attention(q, retrograd.tensor(rand(2, 5, 4)),
                                       retrograd.tensor(rand(2, 5, 3)),
                                       attn_mask=retrograd.tensor(m))
    assert not np.isnan(out.detach().numpy()).any()
    assert np.all(out.detach().numpy()[:, 1] == 0)



@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_a_nan_score_row_stays_nan_as_torch(dtype):
    """A nan in a query makes its row of weights and output nan, as torch 2.13 gives in each
    dtype (the general path, half precision here, returned zeros for it as for a fully masked
    row); a fully masked row still gives zeros. float32/float64 take the row kernels."""
    q = rand(1, 3, 4, seed=2).astype(dtype)
    q[0, 1, 0] = np.nan
    k = retrograd.tensor(rand(1, 5, 4, seed=3).astype(dtype))
    out = scaled_dot_product_attention(retrograd.tensor(q), k, k).float().numpy()
    assert np.isnan(out[0, 1]).all() and not np.isnan(out[0, [0, 2]]).any()
    m = np.ones((3, 5), dtype=bool)
    m[1] = False
    out = scaled_dot_product_attention(retrograd.tensor(np.nan_to_num(q)), k, k,
                                       attn_mask=retrograd.tensor(m)).float().numpy()
    assert np.all(out[0, 1] == 0) and np.all(out[0, [0, 2]] != 0)

def test_dropout_gradcheck_and_scale():
    q, k, v = (retrograd.tensor(rand(2, 3, 4, seed=s), requires_grad=True) for s in range(3))

    def fn(q, k, v):
        retrograd.manual_seed(3)
        return scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    assert retrograd.autograd.gradcheck(fn, (q, k, v), eps=1e-6, atol=1e-5, rtol=1e-4)
    retrograd.manual_seed(3)
    out, P, keep = attention_with_weights(q, k, v, dropout_p=0.4)
    A = P * keep / 0.6
    np.testing.assert_allclose(out.detach().numpy(), (A @ v).detach().numpy(), atol=1e-12)
    assert keep.dtype == retrograd.bool and 0 < keep.float().mean().item() < 1
    out = scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert np.all(out.detach().numpy() == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_weights_output_and_one_node():
    q, k, v = (retrograd.tensor(rand(2, 3, 4, seed=s), requires_grad=True) for s in range(3))
    out, P, keep = attention_with_weights(q, k, v)
    assert keep is None and out.grad_fn is P.grad_fn
    assert out.grad_fn.name() == "ScaledDotProductAttentionBackward0"
    np.testing.assert_allclose(P.detach().numpy().sum(-1), 1.0)
    # gradient through the returned weights alone
    check = retrograd.autograd.gradcheck(lambda q, k, v: attention_with_weights(q, k, v)[1],
                                         (q, k, v), eps=1e-6, atol=1e-5, rtol=1e-4)
    assert check


def test_float32_and_errors():
    q = retrograd.tensor(rand(2, 3, 4, dtype=np.float32))
    assert scaled_dot_product_attention(q, q, q).dtype == retrograd.float32
    with pytest.raises(RuntimeError, match="embedding size"):
        scaled_dot_product_attention(q, q[..., :3], q)
    with pytest.raises(RuntimeError, match="same dtype"):
        scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match="multiple"):
        scaled_dot_product_attention(retrograd.zeros(1, 3, 2, 2), retrograd.zeros(1, 2, 2, 2),
                                     retrograd.zeros(1, 2, 2, 2), enable_gqa=True)


def test_functional_export():
    assert retrograd.nn.functional.scaled_dot_product_attention is scaled_dot_product_attention


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_attention_computes_in_float32_and_rounds_once(dtype):
    """torch's math kernel (SDPBackend.MATH) widens float16/bfloat16 to float32 and rounds the
    output once, unless allow_fp16_bf16_reduction_math_sdp(True); so does the gradient."""
    half = getattr(retrograd, dtype)
    rng = np.random.default_rng(0)
    q, k, v = (retrograd.tensor(rng.normal(size=(2, 2, 9, 4)).astype(np.float32)).to(half).requires_grad_()
               for _ in range(3))
    mask = retrograd.tensor(rng.normal(size=(9, 9)).astype(np.float32)).to(half)
    out = scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=True)
    wide = [t.detach().float().requires_grad_() for t in (q, k, v)]
    once = scaled_dot_product_attention(*wide, attn_mask=mask.float(), is_causal=True)
    assert out.dtype == half
    np.testing.assert_array_equal(out.float().detach().numpy(), once.to(half).float().detach().numpy())
    g = retrograd.tensor(rng.normal(size=(2, 2, 9, 4)).astype(np.float32)).to(half)
    out.backward(g)
    once.backward(g.float())
    for t, w in zip((q, k, v), wide):
        assert t.grad.dtype == half
        np.testing.assert_array_equal(t.grad.float().numpy(), w.grad.to(half).float().numpy())
    retrograd.backends.cuda.allow_fp16_bf16_reduction_math_sdp(True)
    try:  # each product and the softmax rounded to the half type: other values
        reduced = scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=True)
    finally:
        retrograd.backends.cuda.allow_fp16_bf16_reduction_math_sdp(False)
    assert (reduced.float().detach().numpy() != out.float().detach().numpy()).any()


@requires_torch
def test_half_precision_attention_equals_torchs_math_kernel():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(2, 3, 7, 5)).astype(np.float32) for _ in range(3)]
    ours = scaled_dot_product_attention(*(retrograd.tensor(a).bfloat16() for a in arrays), is_causal=True)
    with sdpa_kernel(SDPBackend.MATH):
        theirs = torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(a).bfloat16() for a in arrays), is_causal=True)
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())
