"""Every differentiable op's JVP (issue 13, item 2), in float64:

- against central finite differences of the op,
- against its VJP by the identity u·(J v) = (Jᵀ u)·v,
- and, for a sample of ops, against torch's forward AD (recorded values without torch).

``test_every_op_has_a_jvp_rule`` walks every Function subclass of retrograd.ops and
torch.linalg's: each has a ``jvp`` rule of its own (or of a base), or is listed in
NOT_DIFFERENTIABLE; every op is run by some case below (an apply observer records which),
and none of them takes forward AD's double-VJP fallback (forward_ad._jvp_by_double_vjp).
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import retrograd
import retrograd.autograd.forward_ad as fwAD
import retrograd.ops
from retrograd.autograd.function import Function, add_apply_observer, remove_apply_observer
from tests.helpers import rand, torch
from tests.reference.store import reference

# ops that torch records without a derivative, and abstract bases never applied themselves
NOT_DIFFERENTIABLE = {"NotDifferentiable", "LDLFactor", "LDLSolve",  # (the LDL^T ones: none in torch either)
                      "CrossMapLRN2d"}  # a backward, but its jvp raises: torch's Python Function has no forward AD
ABSTRACT = {"_UnaryFloat", "_Rounding", "_RoundedRemainder", "_SelectAlongDim", "_ValueReduction",
            "_CumExtreme", "_Binary", "Normalize", "RNNLayer"}
# float16/bfloat16 only (the cases here are float64): tests/ops/test_linalg.py checks its tangents against torch's
HALF_ONLY = {"_HalfScaledProduct"}



def _grad_of(r, f, x, g):
    """f's input gradient for output gradient g, as a differentiable function of x and g
    (runs the op's backward ops forward)."""
    y = x.clone()
    if not y.requires_grad:
        y.requires_grad_()
    return r.autograd.grad(f(y), y, g, create_graph=True)[0]


def _pos(*shape, seed=0):
    return ("pos",) + shape


IDX5 = np.array([0, 3, 1, 1, 2])
_WITH_ZEROS = np.array([[0.5, -1.2, 0.0, 0.8, 1.1, -0.3], [1.3, 0.0, 0.7, 0.0, -0.6, 0.9],
                        [-0.4, 0.6, 1.4, -1.1, 0.0, 0.2]])
_SINGULAR = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, -0.5], [1.5, 1.0, 2.5]])  # column 3 = 1 + 2
_SPD3 = np.array([[2.0, 0.5, 0.1], [0.5, 1.5, -0.3], [0.1, -0.3, 1.0]])
_SCATTER = np.array([[0, 1, 2, 0, 1], [0, 0, 2, 2, 1]])
_BOOL_MASK = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])


def _rnn_weights(gates):
    """Specs of a bidirectional layer's weights (input 2, hidden 3): w_ih, w_hh, b_ih, b_hh twice."""
    return [(gates * 3, 2), (gates * 3, 3), (gates * 3,), (gates * 3,)] * 2


# (id, fn(r, *inputs), input specs[, rtol]): a shape tuple is a random float64 input in [-1, 1)
# (differentiated), ("pos", *shape) one in [0.5, 1.5), a NumPy array a constant input
CASES = [
    # elementwise
    ("add", lambda r, a, b: r.add(a, b, alpha=2), [(3, 4), (4,)]),
    ("add_scalar", lambda r, a: a + 3.0, [(3,)]),
    ("sub", lambda r, a, b: r.sub(a, b, alpha=0.5), [(3, 1), (3, 4)]),
    ("rsub", lambda r, a: 2.0 - a, [(3,)]),
    ("mul", lambda r, a, b: a * b, [(3, 4), (4,)]),
    ("div", lambda r, a, b: a / b, [(3, 4), ("pos", 4)]),
    ("rdiv", lambda r, b: 2.0 / b, [("pos", 4)]),
    ("pow", lambda r, a, b: a ** b, [("pos", 3, 2), (2,)]),
    ("pow_scalar", lambda r, a: a ** 3, [(4,)]),
    ("rpow", lambda r, b: 2.0 ** b, [(4,)]),
    ("neg_clone", lambda r, a: (-a).clone(), [(3,)]),
    ("copysign", lambda r, a, b: r.copysign(a, b), [("pos", 3, 4), (4,)]),
    ("frexp_mantissa", lambda r, a: r.frexp(a * 3.0).mantissa, [("pos", 5)]),
    ("nextafter", lambda r, a, b: r.nextafter(a, b), [(3, 4), (4,)]),
    ("angle", lambda r, a: r.angle(a), [(3, 4)]),
    ("to", lambda r, a: a.to(r.float32), [(3,)], 5e-2),  # float32 finite differences
    ("exp_log_sqrt", lambda r, a: a.exp() + a.log() + a.sqrt(), [("pos", 4)]),
    ("abs_tanh_sigmoid_relu", lambda r, a: a.abs() + a.tanh() + a.sigmoid() + a.relu(), [(5,)]),
    ("fill", lambda r, a, v: a.clone().fill_(v), [(3,), ()]),
    ("copy", lambda r, a, b: a.clone().copy_(b), [(2, 3), (3,)]),
    ("relu_grad", lambda r, x, g: _grad_of(r, r.relu, x, g), [(5,), (5,)]),
    # math
    ("unary_math", lambda r, a: (a.reciprocal() + a.rsqrt() + a.log2() + a.log10() + a.log1p() + a.exp2()
                                 + a.expm1() + a.sin() + a.cos() + a.tan() + a.sinh() + a.cosh()
                                 + a.asinh() + a.erf() + a.erfc() + a.frac() + a.deg2rad() + a.rad2deg()),
     [("pos", 4)]),
    ("inverse_trig", lambda r, a: a.asin() + a.acos() + a.atan() + a.atanh() + a.erfinv() + (a * 0.5 + 0.5).logit(),
     [(4,)]),
    ("acosh", lambda r, a: (a + 1.5).acosh(), [("pos", 3)]),
    ("rounding", lambda r, a: a.floor() + a.ceil() + a.trunc() + a.round() + a * 1, [(4,)]),
    ("sign_signbit", lambda r, a: a.sign() + a.signbit() + a, [(4,)]),
    ("compare_inplace", lambda r, a, b: (a * 1).lt_(b) + (a * 1).eq_(0.5) + a, [(4,), (4,)]),
    ("div_rounded", lambda r, a, b: r.div(a, b, rounding_mode="floor") + a, [(4,), ("pos", 4)]),
    ("remainder_fmod", lambda r, a, b: r.remainder(a, b) + r.fmod(a, b), [(4,), ("pos", 4)]),
    ("binary_math", lambda r, a, b: r.atan2(a, b) + r.hypot(a, b) + r.logaddexp(a, b) + r.logaddexp2(a, b),
     [(3, 4), (4,)]),
    ("xlogy", lambda r, a, b: r.xlogy(a, b), [(4,), ("pos", 4)]),
    ("max_min", lambda r, a, b: r.maximum(a, b) + r.minimum(a, b) + r.fmax(a, b) + r.fmin(a, b),
     [(3, 4), (4,)]),
    ("clamp", lambda r, a: a.clamp(-0.5, 0.5) + r.nan_to_num(a), [(6,)]),
    ("lerp", lambda r, a, b, w: r.lerp(a, b, w), [(4,), (4,), (4,)]),
    # special
    ("special_unary", lambda r, a: (r.lgamma(a) + r.digamma(a) + r.polygamma(1, a) + r.special.i0(a)
                                    + r.special.i0e(a) + r.special.i1(a) + r.special.i1e(a)
                                    + r.special.erfcx(a) + r.special.ndtr(a) + r.special.log_ndtr(a)
                                    + r.special.entr(a) + r.special.sinc(a)), [("pos", 4)]),
    ("ndtri", lambda r, a: r.special.ndtri(a * 0.5), [("pos", 3)]),
    ("special_binary", lambda r, a, b: (r.special.xlog1py(a, b) + r.special.zeta(3.0, b)
                                        + r.special.gammainc(r.full_like(b, 2.0), b)
                                        + r.special.gammaincc(r.full_like(b, 0.5), b)),
     [("pos", 4), ("pos", 4)]),
    # activations
    ("activations", lambda r, a: (r.nn.functional.hardtanh(a, -0.5, 0.5) + r.nn.functional.leaky_relu(a, 0.1) + r.nn.functional.elu(a) + r.nn.functional.gelu(a)
                                  + r.nn.functional.gelu(a, approximate="tanh") + r.nn.functional.silu(a) + r.nn.functional.mish(a) + r.nn.functional.softplus(a)
                                  + r.nn.functional.softsign(a) + r.nn.functional.hardsigmoid(a * 4) + r.nn.functional.hardswish(a * 4)
                                  + r.nn.functional.logsigmoid(a) + r.nn.functional.threshold(a, 0.1, 2.0) + r.nn.functional.hardshrink(a, 0.3)
                                  + r.nn.functional.softshrink(a, 0.3)), [(6,)]),
    ("rrelu", lambda r, a: r.nn.functional.rrelu(a, training=True), [(6,)]),
    ("softmax", lambda r, a: r.nn.functional.softmax(a, 1) + r.nn.functional.log_softmax(a, 0), [(3, 4)]),
    # reductions
    ("sum_mean", lambda r, a: a.sum() + a.mean() + a.sum(1).sum() + a.mean((0, 1), keepdim=True).sum(),
     [(3, 4)]),
    ("max_min_dim", lambda r, a: a.max(1).values + a.min(0, keepdim=True).values.T.squeeze(1)[:3]
     + a.median(1).values + a.nanmedian(1).values, [(3, 4)]),
    ("mode", lambda r, a: a.mode(1).values, [(3, 4)]),
    ("value_reductions", lambda r, a: (a.max() + a.min() + a.amax(1).sum() + a.amin(0).sum() + a.median()
                                       + a.nanmedian()), [(3, 4)]),
    ("prod_var_std", lambda r, a: (a.prod(1) + a.var(1) + a.std(1) + a.logsumexp(1) + a.nansum(1)
                                   + r.linalg.vector_norm(a, dim=1)), [(3, 4)]),
    ("cumulative", lambda r, a: (a.cumsum(1) + a.cumprod(1) + a.logcumsumexp(1) + a.cummax(1).values
                                 + a.cummin(1).values), [(3, 4)]),
    ("quantile", lambda r, a: r.quantile(a, 0.3, dim=1), [(3, 5)]),
    ("cumprod_zeros", lambda r, a: a.cumprod(1) + a.cumprod(0) + a[0, 0].cumprod(0), [_WITH_ZEROS]),
    ("logcumsumexp_large", lambda r, a: (a * 30).logcumsumexp(1) + (a * 30).logcumsumexp(0), [(3, 4)]),
    ("quantile_variants", lambda r, a: (r.quantile(a, r.tensor([0.3, 0.75], dtype=r.float64), dim=0, keepdim=True).sum(0)
                                        + r.quantile(a, 0.4, interpolation="midpoint") + r.quantile(a, 0.6, 1, True, interpolation="nearest")
                                        + r.nanquantile(a, 0.7, dim=0, keepdim=True)), [(3, 5)]),
    # linear algebra
    ("matmul", lambda r, a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("matmul_vec", lambda r, a, b: a @ b, [(4,), (4, 2)]),
    ("bmm", lambda r, a, b: r.bmm(a, b), [(2, 3, 4), (2, 4, 2)]),
    ("einsum", lambda r, a, b: r.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)]),
    ("diagonal_triangle", lambda r, a: a.diagonal(1).sum() + a.tril() + a.triu(1), [(4, 4)]),
    ("diag_embed", lambda r, x, g: _grad_of(r, lambda y: y.diagonal().sum() * 0 + (y.diagonal() ** 2).sum(),
                                              x, g), [(3, 3), ()]),
    ("linear", lambda r, x, w, b: r.nn.functional.linear(x, w, b), [(5, 3), (4, 3), (4,)]),
    ("linear_nobias", lambda r, x, w: r.nn.functional.linear(x, w), [(5, 3), (4, 3)]),
    ("linear_3d", lambda r, x, w, b: r.nn.functional.linear(x, w, b) + r.nn.functional.linear(x, w), [(2, 5, 3), (4, 3), (4,)]),
    # shape
    ("shape_ops", lambda r, a: (a.reshape(4, 3).T.reshape(12) + a.permute(1, 0).flatten()
                                + a.unsqueeze(0).squeeze().view(-1) + a.squeeze(0).reshape(-1)
                                + a.t().contiguous().view(-1)), [(3, 4)]),
    ("expand_tile_flip_roll", lambda r, a: (a.expand(2, 3, 4).sum(0) + a.tile((1, 2))[:, :4] + a.flip(0)
                                            + a.roll(1, 1)), [(3, 4)]),
    ("narrow", lambda r, a: a.narrow(1, 1, 2), [(3, 4)]),
    ("squeeze_dims", lambda r, a: a.unsqueeze(0).unsqueeze(2).squeeze((0, 2)) * 2, [(3, 4)]),
    ("pad", lambda r, a: r.nn.functional.pad(a, (1, 2), value=3.0), [(2, 3)]),
    # join
    ("cat_stack_split", lambda r, a, b: (r.cat([a, b], 0).split(2, 0)[1].sum() + r.stack([a, b]).sum(0)),
     [(2, 3), (2, 3)]),
    # indexing
    ("index", lambda r, a: a[1:, [0, 2]].sum() + a[0] + a[..., 1].sum() + a.select(1, 2).sum(), [(3, 4)]),
    ("gather_family", lambda r, a: (a.gather(1, r.tensor([[0, 1], [2, 2], [3, 0]])).sum()
                                    + a.index_select(0, r.tensor([2, 0])).sum() + a.take(r.tensor([1, 5])).sum()
                                    + a.masked_select(a > 0).sum()), [(3, 4)]),
    ("index_put", lambda r, a, v: a.index_put((r.tensor([0, 2]),), v) + a.clone().index_put_(
        (r.tensor([1]),), v, accumulate=True), [(3, 4), (4,)]),
    ("setitem_scalar", lambda r, a: _set(a, 5.0), [(3, 4)]),
    ("copy_slices", lambda r, a, b: _copy_slices(a, b), [(3, 4), (4,)]),
    ("view_in_place", lambda r, a: _view_in_place(a), [(3, 4)]),
    ("index_scatter", lambda r, x, g: _grad_of(r, lambda y: y[[0, 2, 2]], x, g), [(3, 2), (3, 2)]),
    ("scatter_reduce", lambda r, a, s: a.scatter_reduce(0, r.tensor([[0, 1], [0, 0]]), s, "sum")
     + a.scatter_reduce(0, r.tensor([[0, 1], [0, 0]]), s, "amax") + a.scatter_add(0, r.tensor([[1, 0]]), s[:1]),
     [(2, 2), (2, 2)]),
    ("scatter_reduce_all", lambda r, a, s: [a.scatter_reduce(0, r.tensor(_SCATTER), s, red, include_self=inc)
                                            for red in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
     [(3, 5), (2, 5)]),
    ("scatter_reduce_prod_zeros", lambda r, a, s: a.scatter_reduce(0, r.tensor(_SCATTER), s, "prod"),
     [_WITH_ZEROS[:, :5], _WITH_ZEROS[1:, :5] + _WITH_ZEROS[:2, 1:6]]),
    ("index_reduce", lambda r, a, s: [a.index_reduce(1, r.tensor([0, 2, 2, 1]), s, red, include_self=inc)
                                      for red in ("prod", "mean", "amax", "amin") for inc in (True, False)],
     [(3, 4), (3, 4)]),
    ("segment_reduce", lambda r, a: [r.segment_reduce(a, red, lengths=r.tensor([2, 0, 3, 1]), initial=init)
                                     for red in ("sum", "mean", "max", "min", "prod") for init in (None, 0.5)
                                     if init is not None or red in ("sum", "prod")], [(6, 2)]),
    ("masked", lambda r, a, s: a.masked_fill(a > 0, 2.0) + a.masked_scatter(a < 0, s), [(3, 4), (12,)]),
    ("masked_fill_tensor", lambda r, a, v: a.masked_fill(a > 0, v), [(3, 4), ()]),
    ("where", lambda r, a, b: r.where(a > 0, a, b) + r.where(a > 0, a, 1.0), [(3, 4), (4,)]),
    # embedding
    ("embedding", lambda r, w: r.nn.functional.embedding(r.tensor([[0, 2], [3, 3]]), w), [(4, 3)]),
    ("embedding_bag", lambda r, w: r.nn.functional.embedding_bag(r.tensor([0, 2, 3, 3]), w, r.tensor([0, 2])), [(4, 3)]),
    ("embedding_grad", lambda r, w, g: _grad_of(r, lambda y: r.nn.functional.embedding(r.tensor([0, 2, 2]), y), w, g),
     [(4, 3), (3, 3)]),
    # losses
    ("losses", lambda r, x, y: (r.nn.functional.mse_loss(x, y) + r.nn.functional.smooth_l1_loss(x, y, beta=0.5) + r.nn.functional.huber_loss(x, y)
                                + r.nn.functional.binary_cross_entropy_with_logits(x, y.sigmoid())
                                + r.nn.functional.soft_margin_loss(x, y.sign()) + r.nn.functional.hinge_embedding_loss(x, y.sign())
                                + r.nn.functional.kl_div(x, y.sigmoid(), reduction="batchmean")
                                + r.nn.functional.poisson_nll_loss(x, y.abs())), [(5, 4), (5, 4)]),
    ("bce", lambda r, p, y: r.nn.functional.binary_cross_entropy(p.sigmoid(), y.sigmoid()), [(5,), (5,)]),
    ("linear_cross_entropy_chunked", lambda r, x, w, b: r.nn.functional.linear_cross_entropy(  # chunks of 2 rows
        x, w, r.tensor(IDX5, device=x.device), linear_bias=b,
        options=r.nn.LinearCrossEntropyOptions(batch_chunk_size=2)),
     [(5, 3), (4, 3), (4,)]),
    ("bce_weight", lambda r, p: r.nn.functional.binary_cross_entropy(
        p.sigmoid(), r.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype=r.float64), weight=r.linspace(0.5, 2, 5,
                                                                                           dtype=r.float64)), [(5,)]),
    ("nll_cross_entropy", lambda r, x: r.nn.functional.nll_loss(r.nn.functional.log_softmax(x, 1), r.tensor(IDX5))
     + r.nn.functional.cross_entropy(x, r.tensor(IDX5), label_smoothing=0.1), [(5, 4)]),
    ("ctc", lambda r, x: r.nn.functional.ctc_loss(r.nn.functional.log_softmax(x, 2), r.tensor([[1, 2], [1, 1]]), r.tensor([4, 4]),
                                    r.tensor([2, 2])), [(4, 2, 3)]),
    ("ctc_reductions", lambda r, x: [r.nn.functional.ctc_loss(r.nn.functional.log_softmax(x, 2), r.tensor([[1, 2], [1, 1]]), r.tensor([4, 3]),
                                                   r.tensor([2, 1]), reduction=red) for red in ("none", "sum", "mean")]
     + [r.nn.functional.ctc_loss(r.nn.functional.log_softmax(x[:, 0], 1), r.tensor([1, 2]), r.tensor([4]), r.tensor([2]))],
     [(4, 2, 3)]),
    # distance
    ("distance", lambda r, a, b: r.nn.functional.pairwise_distance(a, b) + r.cdist(a, b).sum(1)
     + r.cdist(a, b, compute_mode="use_mm_for_euclid_dist").sum(0), [(3, 4), (3, 4)]),
    # conv
    ("conv", lambda r, x, w, b: r.nn.functional.conv2d(x, w, b, padding=1), [(1, 2, 4, 4), (3, 2, 3, 3), (3,)]),
    ("conv_transpose", lambda r, x, w: r.nn.functional.conv_transpose1d(x, w, stride=2), [(1, 2, 4), (2, 3, 3)]),
    ("conv_grads", lambda r, x, w, g: _grad_of(r, lambda y: r.nn.functional.conv1d(y, w), x, g), [(1, 2, 5), (3, 2, 2),
                                                                                  (1, 3, 4)]),
    ("conv_weight_grad", lambda r, w, x, g: _grad_of(r, lambda y: r.nn.functional.conv1d(x, y), w, g), [(3, 2, 2), (1, 2, 5),
                                                                                        (1, 3, 4)]),
    ("unfold_fold", lambda r, x: r.nn.functional.fold(r.nn.functional.unfold(x, 2), (3, 3), 2), [(1, 2, 3, 3)]),
    # pooling
    ("max_pool", lambda r, x: r.nn.functional.max_pool2d(x, 3, stride=1, padding=1), [(1, 2, 4, 4)]),
    ("max_pool_blocks", lambda r, x: r.nn.functional.max_pool2d(x, 2), [(1, 2, 4, 4)]),
    ("max_pool_grads", lambda r, x, g: _grad_of(r, lambda y: r.nn.functional.max_pool2d(y, 2), x, g),
     [(1, 1, 4, 4), (1, 1, 2, 2)]),
    ("max_pool_blocks3_grads", lambda r, x, g: _grad_of(r, lambda y: r.nn.functional.max_pool2d(y, 3), x, g),
     [(1, 1, 6, 6), (1, 1, 2, 2)]),
    ("max_pool_flat_grads", lambda r, x, g: _grad_of(r, lambda y: r.nn.functional.max_pool2d(y, 3, 1, 1), x, g),
     [(1, 1, 3, 3), (1, 1, 3, 3)]),
    ("fractional_max_pool", lambda r, x: r.nn.functional.fractional_max_pool2d(  # unbatched (C, H, W)
        x, 2, output_size=3, _random_samples=r.tensor([[[0.3, 0.6], [0.8, 0.1]]], dtype=x.dtype, device=x.device)),
     [(2, 5, 5)]),
    ("avg_pools", lambda r, x: r.nn.functional.avg_pool2d(x, 2) .sum() + r.nn.functional.avg_pool2d(x, 3, 1, 1).sum()
     + r.nn.functional.adaptive_avg_pool2d(x, 3).sum(), [(1, 2, 4, 4)]),
    ("avg_pool_grad", lambda r, x, g: _grad_of(r, lambda y: r.nn.functional.avg_pool2d(y, 2), x, g),
     [(1, 1, 4, 4), (1, 1, 2, 2)]),
    ("upsample_grid", lambda r, x, grid: r.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")[..., :2, :2]
     + r.nn.functional.grid_sample(x, grid, align_corners=False)[..., :2, :2]
     + r.nn.functional.grid_sample(x, grid * 0.9, mode="nearest", align_corners=False)[..., :2, :2], [(1, 1, 3, 3), (1, 2, 2, 2)]),
    # normalization
    ("norms", lambda r, x, w, b: (r.nn.functional.layer_norm(x, (4,), w, b) + r.nn.functional.group_norm(x.unsqueeze(-1), 2).squeeze(-1)
                                  + r.nn.functional.batch_norm(x, None, None, w, b, training=True)), [(3, 4), (4,), (4,)]),
    ("batch_norm_eval", lambda r, x: r.nn.functional.batch_norm(x, r.zeros(4, dtype=r.float64), r.ones(4, dtype=r.float64)),
     [(3, 4)]),
    # recurrent
    ("rnn_tanh", lambda r, x, h, wi, wh: _rnn(r, "RNN", x, h, wi, wh), [(3, 2, 2), (1, 2, 3), (3, 2), (3, 3)]),
    ("rnn_relu", lambda r, x, h, wi, wh: _rnn(r, "RNN", x, h, wi, wh, nonlinearity="relu"),
     [(3, 2, 2), (1, 2, 3), (3, 2), (3, 3)]),
    ("gru", lambda r, x, h, wi, wh: _rnn(r, "GRU", x, h, wi, wh), [(3, 2, 2), (1, 2, 3), (9, 2), (9, 3)]),
    ("lstm", lambda r, x, h, wi, wh: _rnn(r, "LSTM", x, h, wi, wh), [(3, 2, 2), (1, 2, 3), (12, 2), (12, 3)]),
    ("rnn_bidirectional", lambda r, x, h, *w: _rnn2(r, "RNN", x, h, w), [(3, 2, 2), (2, 2, 3)] + _rnn_weights(1)),
    ("gru_bidirectional", lambda r, x, h, *w: _rnn2(r, "GRU", x, h, w), [(3, 2, 2), (2, 2, 3)] + _rnn_weights(3)),
    ("lstm_bidirectional", lambda r, x, h, *w: _rnn2(r, "LSTM", x, h, w), [(3, 2, 2), (2, 2, 3)] + _rnn_weights(4)),
    ("lstm_packed", lambda r, x, h, *w: _rnn2(r, "LSTM", x, h, w, lengths=[3, 1]), [(3, 2, 2), (2, 2, 3)] + _rnn_weights(4)),
    ("lstm_proj", lambda r, x, h, c, wi, wh, b, wr: _lstm_proj(r, x, h, c, wi, wh, b, wr),
     [(3, 2, 2), (1, 2, 2), (1, 2, 3), (12, 2), (12, 2), (12,), (2, 3)]),
    # attention and dropout
    ("attention", lambda r, q, k, v: r.nn.functional.scaled_dot_product_attention(q, k, v), [(1, 3, 2), (1, 4, 2), (1, 4, 2)]),
    ("attention_masks", lambda r, q, k, v, m: (r.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
                                               + r.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                                               + r.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=r.tensor(_BOOL_MASK))
                                               + r.nn.functional.scaled_dot_product_attention(q, k, v, scale=0.3)),
     [(2, 3, 2), (2, 4, 2), (2, 4, 3), (3, 4)]),
    ("attention_gqa_broadcast", lambda r, q, k, v: (r.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                                                    + r.nn.functional.scaled_dot_product_attention(q, k[:, :1], v[:1, :1])),
     [(2, 4, 3, 2), (2, 2, 5, 2), (2, 2, 5, 3)]),
    ("attention_dropout", lambda r, q, k, v: r.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.4),
     [(1, 3, 2), (1, 4, 2), (1, 4, 2)]),
    # the torch.linalg namespace (retrograd/linalg.py)
    ("inv_solve", lambda r, A, B: r.linalg.inv(A + _eye(r)).sum(1, keepdim=True) + r.linalg.solve(A + _eye(r), B), [(3, 3), (3, 2)]),
    ("det_slogdet", lambda r, A: r.linalg.slogdet(A + _eye(r)).logabsdet + r.linalg.det(A + _eye(r)), [(3, 3)]),
    ("cholesky", lambda r, A: r.linalg.cholesky(A @ A.mT + _eye(r)), [(3, 3)]),
    ("qr_svd_eigh", lambda r, A: (r.linalg.qr(A).R.sum() + r.linalg.svd(A).S.sum()
                                  + r.linalg.eigh(A + A.mT).eigenvalues.sum()), [(3, 3)]),
    ("det_singular", lambda r, A: r.linalg.det(A), [_SINGULAR]),
    ("qr_factors", lambda r, A, B: r.linalg.qr(A) + r.linalg.qr(B), [(2, 4, 3), (3, 3)]),
    # singular vectors up to sign: squares and the products u_i v_i^T (torch's signs may differ)
    ("svd_vectors", lambda r, A, B, C: _svd_invariants(r, A, False) + _svd_invariants(r, B, True)
     + _svd_invariants(r, C, True), [(2, 4, 3), (3, 5), (3, 3)]),
    ("eigh_vectors", lambda r, A: (lambda L, V: (L, V ** 2, V[..., :1] * V[..., :1].mT))(*r.linalg.eigh(A + A.mT)),
     [(2, 4, 4)]),
    ("pinv", lambda r, A, B: (r.linalg.pinv(A), r.linalg.pinv(B, hermitian=True)), [(3, 2), _SPD3]),
    # lobpcg's eigenvalues and eigenvector projectors (sign-free) of a symmetric A, spread eigenvalues
    ("lobpcg", lambda r, A: (lambda E, X: (E, X @ X.mT))(*r.lobpcg(
        A + A.mT + r.diag(r.arange(3.0, 30.0, 3.0, dtype=r.float64, device=A.device)), k=2, tol=1e-12)), [(9, 9)]),
    ("matrix_exp", lambda r, A: r.linalg.matrix_exp(A), [(2, 3, 3)]),
    ("lu_factor", lambda r, A, B, C: (r.linalg.lu_factor(A + _eye(r)).LU, r.linalg.lu_factor(B).LU,
                                      r.linalg.lu_factor(C).LU), [(2, 3, 3), (4, 2), (2, 2, 4)]),
    # modules with full backward hooks (identity Functions around the module)
    ("module_hooks", lambda r, x: _hooked_linear(r, x), [(4, 3)]),
    ("dropout", lambda r, a: r.nn.functional.dropout(a, 0.3) + r.nn.functional.alpha_dropout(a, 0.2, training=True), [(6,)]),
]


def _svd_invariants(r, A, full):
    U, S, Vh = r.linalg.svd(A, full_matrices=full)
    k = S.shape[-1]
    return [U[..., :k] ** 2, S, Vh[..., :k, :] ** 2, U[..., :, :1] * Vh[..., :1, :]]


def _rnn2(r, kind, x, h, w, lengths=None):
    """A bidirectional one-layer nn.RNN/GRU/LSTM with biases run with the given weights (on a
    packed batch of these lengths when given); its output and final states."""
    m = getattr(r.nn, kind)(2, 3, bidirectional=True).double()
    call = r.func.functional_call if r is torch else retrograd.nn.utils.stateless.functional_call
    names = [n for n, _ in m.named_parameters()]
    if lengths is not None:
        x = r.nn.utils.rnn.pack_padded_sequence(x, r.tensor(lengths))
    out, hn = call(m, dict(zip(names, w)), (x, (h, h.flip(0)) if kind == "LSTM" else h))
    if lengths is not None:
        out = r.nn.utils.rnn.pad_packed_sequence(out)[0]
    return [out] + (list(hn) if kind == "LSTM" else [hn])


def _lstm_proj(r, x, h, c, w_ih, w_hh, b, w_hr):
    m = r.nn.LSTM(2, 3, proj_size=2).double()
    call = r.func.functional_call if r is torch else retrograd.nn.utils.stateless.functional_call
    params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b, "bias_hh_l0": b * 0.5,
              "weight_hr_l0": w_hr}
    out, (hn, cn) = call(m, params, (x, (h, c)))
    return out, hn, cn


def _eye(r):
    return r.eye(3, dtype=r.float64) * 3


def _hooked_linear(r, x):
    r.manual_seed(0)
    m = r.nn.Linear(3, 2).double()
    m.register_full_backward_hook(lambda mod, grad_in, grad_out: None)
    return m(x)


def _copy_slices(a, b):
    """An in-place write into a view of a tensor in a graph (CopySlices)."""
    y = a.clone()
    if not y.requires_grad:
        y.requires_grad_()
    z = y * 1
    z[1].mul_(b)
    return z


def _view_in_place(a):
    """In-place writes through views, outside any graph: the base's tangent follows."""
    z = a.clone()
    z[1].mul_(2)
    z[:, 0].add_(z[:, 1])
    z.view(12)[3:5].sub_(1.5)
    z.t()[2].exp_()
    return z


def _set(a, v):
    a = a.clone()
    a[1, 2] = v
    a[0] = a[2] * 2
    return a


def _rnn(r, kind, x, h, w_ih, w_hh, **kw):
    """One layer of nn.RNN/GRU/LSTM (no bias) run with the given weights; its output and state."""
    m = getattr(r.nn, kind)(2, 3, bias=False, **kw).double()
    call = r.func.functional_call if r is torch else retrograd.nn.utils.stateless.functional_call
    h0 = (h, h * 0.5) if kind == "LSTM" else h
    out, hn = call(m, {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh}, (x, h0))
    return out.sum(0) + (hn[1] if kind == "LSTM" else hn).sum(0)


# ------------------------------------------------------------------ the checks


def _arrays(specs, seed):
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, tuple) and spec[:1] == ("pos",):
            out.append(rand(*spec[1:], low=0.5, high=1.5, seed=seed + i))
        elif isinstance(spec, tuple):
            out.append(rand(*spec, seed=seed + i))
        else:
            out.append(spec)
    return out


def _floating(outs):
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    return [o for o in outs if hasattr(o, "dtype") and o.dtype.is_floating_point]


def _run(fn, arrays, seed=0):
    """fn's floating outputs as float64 arrays (the random ops reseeded alike each run)."""
    retrograd.manual_seed(seed)
    return [o.detach().numpy().astype(np.float64) for o in _floating(fn(retrograd, *map(retrograd.tensor, arrays)))]


def forward_jvp(fn, arrays, tangents, seed=0, mod=retrograd):
    """The outputs' tangents by forward AD (zeros for an output without one), in retrograd or torch."""
    fw = mod.autograd.forward_ad
    mod.manual_seed(seed)
    with fw.dual_level():
        duals = [fw.make_dual(mod.tensor(a), mod.tensor(v)) for a, v in zip(arrays, tangents)]
        outs = _floating(fn(mod, *duals))
        jv = []
        for o in outs:
            t = fw.unpack_dual(o).tangent
            jv.append(np.zeros(tuple(o.shape)) if t is None else t.detach().numpy().astype(np.float64))
    return jv


def finite_difference_jvp(fn, arrays, tangents, eps=1e-6, seed=0):
    plus = _run(fn, [a + eps * v for a, v in zip(arrays, tangents)], seed)
    minus = _run(fn, [a - eps * v for a, v in zip(arrays, tangents)], seed)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def vjp_dot(fn, arrays, tangents, us, seed=0):
    """(Jᵀ u)·v, by reverse mode."""
    retrograd.manual_seed(seed)
    xs = [retrograd.tensor(a).requires_grad_() for a in arrays]
    outs = _floating(fn(retrograd, *xs))
    pairs = [(o, retrograd.tensor(u)) for o, u in zip(outs, us) if o.requires_grad]
    if not pairs:
        return 0.0
    gs = retrograd.autograd.grad([o for o, _ in pairs], xs, [u for _, u in pairs], allow_unused=True)
    return sum(float((g.numpy() * v).sum()) for g, v in zip(gs, tangents) if g is not None)


def _case_inputs(specs, seed=0):
    arrays = _arrays(specs, seed)
    rng = np.random.default_rng(seed + 100)
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    return arrays, tangents


@pytest.mark.parametrize("name,fn,specs,rtol", [c + (1e-5,) * (4 - len(c)) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_jvp_matches_finite_differences_and_vjp(name, fn, specs, rtol):
    arrays, tangents = _case_inputs(specs)
    jv = forward_jvp(fn, arrays, tangents)
    fd = finite_difference_jvp(fn, arrays, tangents)
    assert len(jv) == len(fd)
    for i, (a, b) in enumerate(zip(jv, fd)):
        assert a.shape == b.shape, (name, i)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol / 10, err_msg=f"{name}: output {i}, JVP vs finite differences")
    rng = np.random.default_rng(7)
    us = [rng.standard_normal(a.shape) for a in jv]
    u_jv = sum(float((u * a).sum()) for u, a in zip(us, jv))
    rel = 1e-9 if rtol <= 1e-5 else 1e-6  # float32 outputs
    assert u_jv == pytest.approx(vjp_dot(fn, arrays, tangents, us), rel=rel, abs=1e-10), \
        f"{name}: u·(J v) != (Jᵀ u)·v"


def _op_classes():
    """Every Function subclass defined in a module of retrograd.ops, and torch.linalg's."""
    found = {}
    names = ["retrograd.ops." + m.name for m in pkgutil.iter_modules(retrograd.ops.__path__)]
    for name in names + ["retrograd.linalg"]:
        mod = importlib.import_module(name)
        for c in vars(mod).values():
            if inspect.isclass(c) and issubclass(c, Function) and c.__module__ == mod.__name__:
                found[c.__name__] = c
    return found


def _has_rule(cls):
    return any("jvp" in k.__dict__ for k in cls.__mro__[:cls.__mro__.index(Function)])


def test_every_op_has_a_jvp_rule():
    classes = _op_classes()
    for name, cls in classes.items():
        if name in ABSTRACT or name in NOT_DIFFERENTIABLE:
            continue
        assert _has_rule(cls), f"{name} has no jvp rule: write one beside its backward"
    assert not (ABSTRACT | NOT_DIFFERENTIABLE) - set(classes), "listed names that are no op"


def test_every_differentiable_op_is_run_by_a_case():
    applied = set()

    def observe(cls, args, outputs):
        applied.add(cls.__name__)

    add_apply_observer(observe)
    try:
        for name, fn, specs, *_ in CASES:
            arrays, tangents = _case_inputs(specs)
            forward_jvp(fn, arrays, tangents)
    finally:
        remove_apply_observer(observe)
    missing = set(_op_classes()) - applied - ABSTRACT - NOT_DIFFERENTIABLE - HALF_ONLY
    assert not missing, f"ops no case runs under forward AD: {sorted(missing)}"


def test_no_op_takes_the_double_vjp_fallback():
    """forward_ad._FALLBACK_OPS records the ops that used the double-VJP trick: none here."""
    fwAD._FALLBACK_OPS.clear()
    for name, fn, specs, *_ in CASES:
        arrays, tangents = _case_inputs(specs)
        forward_jvp(fn, arrays, tangents)
    assert not fwAD._FALLBACK_OPS & set(_op_classes()), sorted(fwAD._FALLBACK_OPS)


# ops whose forward AD torch has too (not soft_margin_loss's nor cdist's: torch raises there):
# the tangents must equal torch's (recorded without torch)
TORCH_SAMPLE = ["add", "mul", "div", "pow", "unary_math", "inverse_trig", "activations", "softmax", "sum_mean",
                "max_min_dim", "prod_var_std", "cumulative", "matmul", "bmm", "einsum", "linear_3d", "shape_ops",
                "expand_tile_flip_roll", "pad", "cat_stack_split", "index", "gather_family", "index_put",
                "where", "masked", "embedding", "bce", "nll_cross_entropy", "conv", "conv_transpose",
                "unfold_fold", "max_pool", "avg_pools", "norms", "attention", "special_unary",
                "lstm", "gru", "view_in_place", "inv_solve", "det_slogdet", "cholesky", "qr_svd_eigh",
                # (torch's logcumsumexp tangents lose accuracy at large magnitudes, its scatter_reduce
                # 'prod' drops the tangent, its ctc_loss and pack_padded_sequence have no forward AD)
                "cumprod_zeros", "quantile", "quantile_variants", "rnn_tanh", "rnn_relu", "rnn_bidirectional",
                "gru_bidirectional", "lstm_bidirectional", "lstm_proj", "attention_masks",
                "attention_gqa_broadcast", "qr_factors", "svd_vectors", "eigh_vectors"]


@pytest.mark.parametrize("name", TORCH_SAMPLE)
def test_jvp_equals_torch(name):
    fn, specs = next((c[1], c[2]) for c in CASES if c[0] == name)
    arrays, tangents = _case_inputs(specs)
    ours = forward_jvp(fn, arrays, tangents)
    theirs = reference(lambda: forward_jvp(fn, arrays, tangents, mod=torch))
    assert [a.shape for a in ours] == [np.shape(b) for b in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("fn", [lambda r, a, b: r.special.zeta(a, b), lambda r, a, b: r.special.gammainc(a, b),
                                lambda r, a, b: r.special.gammaincc(a, b)])
def test_no_derivative_in_the_first_argument_of_zeta_and_igamma(fn):
    """As in reverse mode (and torch, whose forward AD has neither function at all)."""
    a, b = retrograd.tensor(rand(3, low=2, high=3)), retrograd.tensor(rand(3, low=1, high=2, seed=1))
    with fwAD.dual_level():
        with pytest.raises(NotImplementedError, match="the derivative for"):
            fn(retrograd, fwAD.make_dual(a, retrograd.ones(3, dtype=retrograd.float64)), b)


# the explicit rules of the ops that used to take the double-VJP fallback are written with
# differentiable ops: reverse mode through a JVP (d/dx of u·(J(x) v)) equals finite differences
# (quantile's J is constant in x; det's singular branch is first order only, as its backward)
REVERSE_OVER_FORWARD = ["cumprod_zeros", "logcumsumexp_large", "quantile_variants", "scatter_reduce_all",
                        "gru_bidirectional", "lstm_proj", "attention_masks", "det_slogdet",
                        "qr_factors", "svd_vectors", "eigh_vectors"]


def _u_dot_jvp(fn, arrays, tangents, us, requires_grad=False):
    """u·(J(x) v) as a retrograd scalar (a function of the inputs x when they require grad)."""
    fw = retrograd.autograd.forward_ad
    retrograd.manual_seed(0)
    xs = [retrograd.tensor(a).requires_grad_(requires_grad) for a in arrays]
    with fw.dual_level():
        outs = _floating(fn(retrograd, *[fw.make_dual(x, retrograd.tensor(v)) for x, v in zip(xs, tangents)]))
        total = 0.0
        for o, u in zip(outs, us):
            t = fw.unpack_dual(o).tangent
            if t is not None:
                total = total + (t * retrograd.tensor(u)).sum()
    return xs, total


@pytest.mark.parametrize("name", REVERSE_OVER_FORWARD)
def test_reverse_mode_through_the_jvp(name):
    fn, specs = next((c[1], c[2]) for c in CASES if c[0] == name)
    arrays, tangents = _case_inputs(specs)
    rng = np.random.default_rng(11)
    us = [rng.standard_normal(a.shape) for a in forward_jvp(fn, arrays, tangents)]
    xs, total = _u_dot_jvp(fn, arrays, tangents, us, requires_grad=True)
    grads = retrograd.autograd.grad(total, xs, allow_unused=True) if total.requires_grad else ()
    ds = [rng.standard_normal(np.shape(a)) for a in arrays]
    analytic = sum(float((g.numpy() * d).sum()) for g, d in zip(grads, ds) if g is not None)
    eps = 1e-6
    plus = float(_u_dot_jvp(fn, [a + eps * d for a, d in zip(arrays, ds)], tangents, us)[1])
    minus = float(_u_dot_jvp(fn, [a - eps * d for a, d in zip(arrays, ds)], tangents, us)[1])
    assert analytic == pytest.approx((plus - minus) / (2 * eps), rel=1e-5, abs=1e-6), name


def test_ctc_loss_is_not_twice_differentiable_in_either_mode():
    """torch's _ctc_loss_backward has no derivative: reverse over forward raises as double backward."""
    fn, specs = next((c[1], c[2]) for c in CASES if c[0] == "ctc_reductions")
    arrays, tangents = _case_inputs(specs)
    xs, total = _u_dot_jvp(fn, arrays, tangents, [np.ones(np.shape(a)) for a in forward_jvp(fn, arrays, tangents)],
                           requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not implemented"):
        retrograd.autograd.grad(total, xs)
    (g,) = retrograd.autograd.grad(fn(retrograd, *xs)[1], xs, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not implemented"):
        retrograd.autograd.grad(g.sum(), xs)


def _lstm_loss(r, x):
    r.manual_seed(0)
    return (r.nn.LSTM(2, 3).double()(x.reshape(3, 1, 2))[0] ** 2).sum()


HVP_CASES = {  # scalar functions of a 6-vector through the ops whose rules used to be the fallback
    "lstm": _lstm_loss,
    "attention": lambda r, x: r.nn.functional.scaled_dot_product_attention(
        x.reshape(1, 3, 2), x.reshape(1, 3, 2) * 2, x.reshape(1, 3, 2).exp()).pow(2).sum(),
    "svd": lambda r, x: (r.linalg.svd(x.reshape(3, 2), full_matrices=False).S ** 3).sum(),
    "eigh": lambda r, x: r.linalg.eigh(x[:4].reshape(2, 2) + x[:4].reshape(2, 2).mT).eigenvalues.exp().sum(),
    "cumprod_logcumsumexp": lambda r, x: (x.cumprod(0) + x.logcumsumexp(0)).pow(2).sum(),
    "qr_det": lambda r, x: r.linalg.qr(x.reshape(3, 2)).R.pow(3).sum() + r.linalg.det(x[:4].reshape(2, 2)) ** 2,
    "scatter_reduce": lambda r, x: x[:3].scatter_reduce(0, r.tensor([0, 2, 2]), x[3:], "prod").pow(2).sum(),
}


@pytest.mark.parametrize("name", sorted(HVP_CASES))
def test_hvp_forward_over_reverse_equals_reverse_over_reverse(name):
    """functional.hvp (forward AD through the forward pass and the backward) against vhp."""
    fn = HVP_CASES[name]
    x, v = retrograd.tensor(rand(6, seed=20)), retrograd.tensor(rand(6, seed=21))
    _, hv = retrograd.autograd.functional.hvp(lambda a: fn(retrograd, a), x, v)
    _, vh = retrograd.autograd.functional.vhp(lambda a: fn(retrograd, a), x, v)
    np.testing.assert_allclose(hv.numpy(), vh.numpy(), rtol=1e-10, atol=1e-12)
    assert np.abs(hv.numpy()).max() > 0
