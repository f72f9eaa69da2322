"""Scaled dot-product attention as one Function with a memory-lean backward.

    S = Q K^T * scale + M,   P = softmax(S),   A = dropout(P),   O = A V

Backward (saves Q, K, V and P: O(L*S) per head once, plus a bool dropout mask):
    dV = A^T G,   dA = G V^T,   dP = dA * mask/(1-p),
    dS = P * (dP - sum(dP * P, -1)),   dQ = dS K * scale,   dK = dS^T Q * scale,   dM = dS.
The backward is written with tensor ops and P is returned as a second output (the
attention weights), so double backward flows through P's own graph edge.
Rows whose every key is masked give zeros (as torch's math kernel), not NaN.
"""

import math
import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._backend import array_module
from .._backend import matmul as _matmul  # half precision accumulates in float32, as torch
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..backends import _sdp
from ..tensor import Tensor
from . import _batching
from ._broadcast import sum_to_shape
from ._select import fill_where
from .softmax import _softmax_backward_rows, _softmax_rows as _softmax_last

__all__ = []
FUNCTIONAL = ["scaled_dot_product_attention"]


def _repeat_heads(t, groups):
    """(..., Hkv, S, E) -> (..., Hkv*groups, S, E), each head repeated `groups` times in a row
    (torch's repeat_interleave on dim -3), with tensor ops so it is differentiable."""
    if groups == 1:
        return t
    shape = tuple(t.shape)
    lead, (h, s, e) = shape[:-3], shape[-3:]
    return t.unsqueeze(-3).expand(*lead, h, groups, s, e).reshape(*lead, h * groups, s, e)


def _rows_path(*arrays):
    """Whether the arrays take the NumPy float32/float64 path: the scores masked by bits, the
    softmax and its backward by softmax.py's row kernels, the backward on arrays."""
    a = arrays[0]
    return type(a) is np.ndarray and a.dtype in (np.float32, np.float64) and all(
        type(b) is np.ndarray and b.dtype == a.dtype for b in arrays[1:])


def _masked_softmax(S, m):
    """softmax(S) along the last dim of a fresh contiguous float32/float64 NumPy array S, with the
    bool mask m (True: may attend) or float mask m applied first; rows whose every key is masked
    give zeros (as the general path below and torch's math kernel)."""
    dead = None
    if m is not None:
        if m.dtype == np.bool_:
            filled = fill_where(~m, S, np.array(-np.inf, S.dtype))
            S = filled if filled is not None else np.where(m, S, -np.inf)
            dead = ~m.any(axis=-1)
        else:
            S = S + m.astype(S.dtype, copy=False)  # (a mask may broadcast S to more dims)
            dead = np.isneginf(m).all(axis=-1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        P = _softmax_last(S.reshape(-1, S.shape[-1])).reshape(S.shape)
    if dead is not None and dead.any():
        P[np.broadcast_to(dead, P.shape[:-1])] = 0
    return P


def _softmax_rows(S, xp):
    mx = S.max(axis=-1, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, 0)
    E = xp.exp(S - mx)
    den = E.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = E / den
    return xp.where(den == 0, 0, P)  # fully masked rows: zeros, as torch (a nan row stays nan, as torch)


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(Q K^T * scale + M)) V, and P = softmax(...) as a second output;
    dV = A^T G,  dS = P*(dP - sum(dP*P)),  dQ = dS K scale,  dK = dS^T Q scale,  dM = dS."""
    # batching rule (retrograd.func.vmap): the products broadcast over leading dims, so the batch
    # dim goes first in q, k, v, the mask and the keep-mask alike, each padded to one rank
    vmap = classmethod(_batching.elementwise)

    @staticmethod
    def forward(ctx, q, k, v, mask, keep, scale, dropout_p, groups):
        Q, K, V = q._data, k._data, v._data
        xp = array_module(Q)
        if groups > 1:
            K = xp.repeat(K, groups, axis=-3)
            V = xp.repeat(V, groups, axis=-3)
        S = _matmul(Q, xp.swapaxes(K, -1, -2))
        S *= scale
        m = None if mask is None else mask._data
        if _rows_path(Q, K, V) and S.flags.c_contiguous and S.size and (m is None or type(m) is np.ndarray):
            P = _masked_softmax(S, m)
        else:
            if m is not None:
                if m.dtype == np.bool_:
                    S = xp.where(m, S, -np.inf)
                else:
                    S = S + m.astype(S.dtype, copy=False)
            P = _softmax_rows(S, xp).astype(Q.dtype, copy=False)
        A = P
        if keep is not None:
            A = P * keep._data * Q.dtype.type(_keep_scale(dropout_p))
        O = _matmul(A, V)
        Pt = Tensor._make(P)
        ctx.scale, ctx.dropout_p, ctx.groups = scale, dropout_p, groups
        ctx.mask_shape = None if mask is None else tuple(mask.shape)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(q, k, v, keep, Pt)
        return O, Pt

    @staticmethod
    def jvp(ctx, tq, tk, tv, tm, *_):
        """dS = (dQ K^T + Q dK^T) * scale + dM,  dP = P * (dS - sum(P * dS, -1)),
        dO = dA V + A dV  (A = P * keep/(1-p), dA = dP * keep/(1-p))."""
        q, k, v, mask, keep = ctx._fw_args[:5]
        P = ctx._fw_results[1]
        groups = ctx.groups
        ke, ve = _repeat_heads(k, groups), _repeat_heads(v, groups)
        dS = (tq @ ke.transpose(-2, -1) + q @ _repeat_heads(tk, groups).transpose(-2, -1)) * ctx.scale
        if tm is not None:
            dS = dS + tm
        dP = P * (dS - (P * dS).sum(-1, keepdim=True))
        A, dA = P, dP
        if keep is not None:
            A, dA = P * keep * _keep_scale(ctx.dropout_p), dP * keep * _keep_scale(ctx.dropout_p)
        return dA @ ve + A @ _repeat_heads(tv, groups), dP

    @staticmethod
    def backward(ctx, gO, gP):
        q, k, v, keep, P = ctx.saved_tensors
        need = ctx.needs_input_grad
        scale, groups = ctx.scale, ctx.groups
        if not _state.enabled and groups == 1 and _rows_path(P._data, q._data, k._data, v._data, *(
                g._data for g in (gO, gP) if g is not None)):
            plain = _backward_arrays(ctx, q._data, k._data, v._data, keep, P._data,
                                     None if gO is None else gO._data, None if gP is None else gP._data)
            if plain is not None:
                return plain
        ke, ve = _repeat_heads(k, groups), _repeat_heads(v, groups)
        A = P
        if keep is not None:
            A = P * keep * _keep_scale(ctx.dropout_p)
        dv = None
        dP = gP
        if gO is not None:
            if need[2]:
                dv = _unrepeat(A.transpose(-2, -1) @ gO, groups, v.shape)
            dA = gO @ ve.transpose(-2, -1)
            if keep is not None:
                dA = dA * keep * _keep_scale(ctx.dropout_p)
            dP = dA if dP is None else dP + dA
        if dP is None:
            return None, None, None, None, None, None, None, None
        dS = P * (dP - (dP * P).sum(-1, keepdim=True))
        dq = sum_to_shape((dS @ ke) * scale, q.shape) if need[0] else None
        dk = None
        if need[1]:
            dk = _unrepeat((dS.transpose(-2, -1) @ q) * scale, groups, k.shape)
        dm = sum_to_shape(dS, ctx.mask_shape) if need[3] else None
        return dq, dk, dv, dm, None, None, None, None


def _backward_arrays(ctx, Q, K, V, keep, P, gO, gP):
    """The backward's formulas on arrays (the plain backward of NumPy float32/float64 inputs, one
    key/value head per query head): dS by softmax.py's row kernel; None where an input was
    broadcast against the others (the tensor formulas then sum its gradient to its shape)."""
    need = ctx.needs_input_grad
    lead = P.shape[:-2]
    if Q.shape[:-2] != lead or K.shape[:-2] != lead or V.shape[:-2] != lead or not P.flags.c_contiguous:
        return None
    ks = Q.dtype.type(_keep_scale(ctx.dropout_p))
    dv = dP = None
    if gO is not None:
        if need[2]:
            A = P if keep is None else P * keep._data * ks
            dv = Tensor._make(np.matmul(np.swapaxes(A, -1, -2), gO))
        dA = np.matmul(gO, np.swapaxes(V, -1, -2))
        if keep is not None:
            dA *= keep._data
            dA *= ks
        dP = dA if gP is None else gP + dA
    elif gP is not None:
        dP = gP
    if dP is None:
        return None, None, None, None, None, None, None, None
    w = P.shape[-1]
    dS = _softmax_backward_rows(P.reshape(-1, w), np.ascontiguousarray(dP).reshape(-1, w)).reshape(P.shape)
    dq = dk = dm = None
    if need[0]:
        dq = np.matmul(dS, K)
        dq *= ctx.scale
        dq = Tensor._make(dq)
    if need[1]:
        dk = np.matmul(np.swapaxes(dS, -1, -2), Q)
        dk *= ctx.scale
        dk = Tensor._make(dk)
    if need[3]:
        dm = sum_to_shape(Tensor._make(dS), ctx.mask_shape)
    return dq, dk, dv, dm, None, None, None, None


def _keep_scale(p):
    """1/(1-p), the scale of kept weights (0 when everything is dropped)."""
    return 0.0 if p >= 1.0 else 1.0 / (1.0 - p)


def _unrepeat(g, groups, shape):
    """Sum a gradient over the repeated heads of `_repeat_heads`, then over broadcast dims."""
    if groups > 1:
        gs = tuple(g.shape)
        g = g.reshape(*gs[:-3], gs[-3] // groups, groups, gs[-2], gs[-1]).sum(-3)
    return sum_to_shape(g, shape)


def _check(query, key, value, attn_mask, enable_gqa):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, "
                            f"not {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must be at least 2-D, got "
                               f"shape {list(t.shape)}")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead."
        )
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query's embedding size ({query.shape[-1]}) must "
            f"equal key's ({key.shape[-1]}); shapes {list(query.shape)} and {list(key.shape)}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: key and value must have the same sequence length; "
            f"got shapes {list(key.shape)} and {list(value.shape)}"
        )
    groups = 1
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk or value.shape[-3] != hk:
            raise RuntimeError(
                f"scaled_dot_product_attention with enable_gqa=True: the number of query heads "
                f"({hq}) must be a multiple of the number of key/value heads ({hk}, "
                f"{value.shape[-3]})"
            )
        groups = hq // hk
    if attn_mask is not None and not isinstance(attn_mask, Tensor):
        raise TypeError(f"attn_mask must be a Tensor or None, not {type(attn_mask).__name__}")
    return groups


def _causal_mask(L, S, like):
    xp = array_module(like._data)
    return Tensor._make(xp.tril(xp.ones((L, S), dtype=xp.bool_)))


def attention_with_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                           scale=None, enable_gqa=False, generator=None, kernel_switches=False):
    """scaled_dot_product_attention that also returns the attention weights and the
    dropout keep-mask: (output, P, keep) with P = softmax(Q K^T scale + M) before dropout,
    keep a bool tensor (or None without dropout). Used by nn.MultiheadAttention.
    ``kernel_switches``: refuse the inputs, as torch's SDPA, when the backends that
    torch.nn.attention.sdpa_kernel left on cannot run them."""
    groups = _check(query, key, value, attn_mask, enable_gqa)
    if kernel_switches:
        _sdp.check(query, key, value, attn_mask, dropout_p, enable_gqa)
        if query.dtype.itemsize == 2 and query.dtype.is_floating_point and not _sdp.fp16_bf16_reduction_math[0]:
            # torch's math kernel: float16/bfloat16 computed in float32, the results rounded once
            half, mask = query.dtype, attn_mask
            if mask is not None and mask.dtype.is_floating_point:
                mask = mask.float()
            out, P, keep = attention_with_weights(query.float(), key.float(), value.float(), mask, dropout_p,
                                                  is_causal, scale, enable_gqa, generator)
            return out.to(half), P.to(half), keep
    L, S = query.shape[-2], key.shape[-2]
    if is_causal:
        causal = _causal_mask(L, S, query)
        if attn_mask is None:
            attn_mask = causal
        elif attn_mask.dtype == _bool():
            attn_mask = attn_mask & causal
        else:
            attn_mask = attn_mask.masked_fill(causal.logical_not(), float("-inf"))
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    keep = None
    if dropout_p > 0.0:
        heads = (key.shape[-3] * groups,) if key.ndim >= 3 else ()
        shape = np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-3]) + heads)
        keep = _keep_mask(generator, query, shape + (L, S), dropout_p)
    out, P = ScaledDotProductAttention.apply(query, key, value, attn_mask, keep, scale,
                                             float(dropout_p), groups)
    return out, P, keep


def _keep_mask(generator, query, shape, p):
    """Attention dropout's keep mask (True: kept) of ``shape``, drawn from ``generator`` (None: the
    default generator of query's device). One function, so that retrograd.compile can record the draw."""
    from ..random import _rng

    keep_arr = _rng(generator, query).random(shape) >= p
    return Tensor._make(keep_arr if type(keep_arr) is not np.ndarray and hasattr(keep_arr, "_vmap_levels")
                        else array_module(query._data).asarray(keep_arr))  # (vmap's draw per sample)


def _bool():
    from .. import bool as b

    return b


@autocast_op("lower")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + attn_mask) V, with dropout on the weights.

    attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to
    (..., L, S); is_causal: a lower-triangular (top-left aligned) mask, combined with
    attn_mask when both are given; scale defaults to 1/sqrt(E); enable_gqa: key/value may
    have fewer heads (dim -3) than query, each serving a group of query heads.
    Fully masked rows give zeros. One node in the graph (ScaledDotProductAttentionBackward0).
    """
    return attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                  enable_gqa, kernel_switches=True)[0]


# ------------------------------------------------------------------ multi-head attention

FUNCTIONAL += ["multi_head_attention_forward"]


def _float_mask(mask, dtype, name):
    """Bool masks (True = do not attend) become additive float masks (-inf where True)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a Tensor or None, not {type(mask).__name__}")
    if mask.dtype == _bool():
        xp = array_module(mask._data)
        return Tensor._make(xp.where(mask._data, xp.asarray(-np.inf, dtype=dtype.np),
                                     xp.asarray(0, dtype=dtype.np)))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask.to(dtype) if mask.dtype != dtype else mask


def canonical_mask(mask, name, other, other_name, dtype):
    """A padding or attention mask as torch's attention modules take it: a bool mask (True = do
    not attend) as an additive float mask of ``dtype``, a float one as it is; with a UserWarning
    where ``other``, the mask it is combined with, has another dtype (torch deprecates the mix)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a Tensor or None, not {type(mask).__name__}")
    if mask.dtype != _bool() and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    return _float_mask(mask, dtype, name) if mask.dtype == _bool() else mask


def _in_projection(query, key, value, E, in_proj_weight, in_proj_bias, separate, q_w, k_w, v_w):
    from .linear import linear

    b = in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if not separate:
        w = in_proj_weight
        if query is key and key is value:  # self-attention: one matmul for q, k and v
            qkv = linear(query, w, b)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        q_w, k_w, v_w = w[:E], w[E:2 * E], w[2 * E:]
    return linear(query, q_w, bq), linear(key, k_w, bk), linear(value, v_w, bv)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention on (L, N, E) / (S, N, E_k) / (S, N, E_v) inputs (or unbatched
    (L, E) ...): project, split into heads, one scaled_dot_product_attention node over all
    heads, merge, project out. Masks: bool True = not allowed, float = added. Returns
    (output (L, N, E), weights (N, L, S) averaged over heads, (N, H, L, S), or None)."""
    from .join import cat
    from .linear import linear
    from .shape import pad

    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    is_batched = query.dim() == 3
    same = query is key and key is value
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
        if same:
            key = value = query
    L, N, E = query.shape
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    H = num_heads
    hd = E // H
    if hd * H != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {H}")
    dtype = query.dtype
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", dtype)

    q, k, v = _in_projection(query, key, value, E, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight)
    attn = _float_mask(attn_mask, dtype, "attn_mask")
    kpm = _float_mask(key_padding_mask, dtype, "key_padding_mask")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = cat([k, bias_k.expand(1, N, E)], 0)
        v = cat([v, bias_v.expand(1, N, E)], 0)
        attn = pad(attn, (0, 1)) if attn is not None else None
        kpm = pad(kpm, (0, 1)) if kpm is not None else None
    # (T, N, E) -> (N, H, T, hd)
    q = q.reshape(L, N, H, hd).permute(1, 2, 0, 3)
    if static_k is None:
        k = k.reshape(k.shape[0], N, H, hd).permute(1, 2, 0, 3)
    else:
        k = static_k.reshape(N, H, static_k.shape[1], hd)
    if static_v is None:
        v = v.reshape(v.shape[0], N, H, hd).permute(1, 2, 0, 3)
    else:
        v = static_v.reshape(N, H, static_v.shape[1], hd)
    if add_zero_attn:
        zeros = Tensor._make(array_module(k._data).zeros((N, H, 1, hd), dtype=k._data.dtype))
        k = cat([k, zeros], 2)
        v = cat([v, zeros], 2)
        attn = pad(attn, (0, 1)) if attn is not None else None
        kpm = pad(kpm, (0, 1)) if kpm is not None else None
    S = k.shape[2]
    mask = None
    if attn is not None:
        if attn.dim() == 2:
            if tuple(attn.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {list(attn.shape)}, but "
                                   f"should be {(L, S)}.")
        elif attn.dim() == 3:
            if tuple(attn.shape) != (N * H, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {list(attn.shape)}, but "
                                   f"should be {(N * H, L, S)}.")
            attn = attn.reshape(N, H, L, S)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn.dim()} is not supported")
        mask = attn
    if kpm is not None:
        if tuple(kpm.shape) != (N, S):
            raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                 f"{tuple(kpm.shape)}")
        kpm = kpm.reshape(N, 1, 1, S)
        mask = kpm if mask is None else mask + kpm
    p = dropout_p if training else 0.0
    out, P, keep = attention_with_weights(q, k, v, attn_mask=mask, dropout_p=p,
                                          kernel_switches=not need_weights)  # (torch's SDPA path)
    out = linear(out.permute(2, 0, 1, 3).reshape(L, N, E), out_proj_weight, out_proj_bias)
    weights = None
    if need_weights:
        weights = P if keep is None else P * keep * _keep_scale(p)
        if average_attn_weights:
            weights = weights.mean(1)
    if not is_batched:
        out = out.squeeze(1)
        weights = weights.squeeze(0) if weights is not None else None
    return out, weights
