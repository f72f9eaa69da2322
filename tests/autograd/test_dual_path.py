"""Backwards with two paths give the same first derivatives on both (issue 12, item 6).

Some hot ops' backwards compute their gradient on plain arrays when no graph is recorded
(the usual backward) and with tensor ops under ``create_graph=True`` (so that it can be
differentiated again): two copies of one formula. gradcheck and the torch comparisons see
only the plain path, gradgradcheck only checks the tensor path against itself, so a wrong
tensor path went unnoticed. Here every such op, with inputs that take each branch of its
plain path, gets the same gradient both ways; and ``test_every_dual_path_backward_is_listed``
finds such backwards in the source, so a new one cannot be added without a case here.
"""

import ast
import inspect
import textwrap
import types

import numpy as np
import pytest

import retrograd
from retrograd.autograd import grad_mode
from retrograd.autograd.grad_mode import _state as _grad_state
from retrograd.autograd.grad_mode import is_grad_enabled
from retrograd.autograd.function import Function
from retrograd.func._linear import PerSampleMatmul
from retrograd.nn.utils.stateless import functional_call
from retrograd.ops import activation, attention, comparison, conv, elementwise, join, linalg, linear, linear_cross_entropy, \
    loss, math, normalization, pooling, reduction, rnn, shape, softmax
from retrograd.ops.rnn import rnn_layer
from retrograd.tensor import Tensor
from tests.helpers import check_create_graph_agrees, rand, retrograd_modules

F = retrograd.nn.functional
nn = retrograd.nn

# ------------------------------------------------------------------------------ the cases

# targets of the classification losses (int64 arrays pass through the helpers as constants)
T5 = np.array([0, 3, 1, 1, 2])
T5_IGNORED = np.array([0, -100, 1, 3, -100])
T5_IGNORE_1 = np.array([0, 1, 1, 3, 2])
T5_ALL_IGNORED = np.full(5, -100)
T32 = np.array([[0, 3], [1, 2], [3, 3]])
RELU_AT_ZERO = np.array([[-1.0, 0.0, 2.0], [0.5, -0.0, -3.0]])


def _cw(x):
    """Class weights of 4 classes in x's dtype."""
    return retrograd.tensor([0.5, 2.0, 1.0, 0.25]).to(x.dtype)


def _running(x, c):
    """Running statistics of c channels in x's dtype (a constant mean and variance)."""
    return retrograd.linspace(-0.5, 0.5, c).to(x.dtype), retrograd.linspace(0.5, 2.0, c).to(x.dtype)


# (id, the dual-path Functions it runs, fn(module, *inputs), input specs as check_op takes them)
ELEMENTWISE = [
    ("mul", [elementwise.Mul], lambda t, a, b: a * b, [(3, 4), (3, 4)]),
    ("mul_broadcast", [elementwise.Mul], lambda t, a, b: a * b, [(3, 1, 4), (2, 4)]),
    ("mul_0dim", [elementwise.Mul], lambda t, a, b: a * b, [(), (3,)]),
    ("mul_scalar", [elementwise.Mul], lambda t, a: a * 2.5, [(3, 4)]),
    ("rmul_scalar", [elementwise.Mul], lambda t, a: -1.5 * a, [(3, 4)]),
    ("mul_const_right", [elementwise.Mul], lambda t, a: a * a.detach().exp(), [(3, 4)]),
    ("mul_const_left", [elementwise.Mul], lambda t, a, b: a.detach().exp() * b, [(4,), (3, 4)]),
    ("tanh", [elementwise.Tanh], lambda t, a: a.tanh(), [(3, 4)]),
    ("tanh_0dim", [elementwise.Tanh], lambda t, a: t.tanh(a), [()]),
    ("relu", [elementwise.Relu], lambda t, a: a.relu(), [(3, 4)]),
    ("relu_at_zero", [elementwise.Relu], lambda t, a: F.relu(a), [RELU_AT_ZERO]),
    ("relu_large", [elementwise.Relu], lambda t, a: a.relu(), [(64, 80)]),  # the float-mask branch
    ("where", [comparison.Where], lambda t, a, b: t.where(a > 0, a, b), [(3, 4), (4,)]),
    ("where_zero", [comparison.Where], lambda t, a: t.where(a > 0, 0.0, a), [(3, 4)]),
    ("where_0dim", [comparison.Where], lambda t, a, b: t.where(b > 0, a, b), [(), ()]),
    ("clamp", [math.Clamp], lambda t, a: a.clamp(-0.5, 0.5), [(3, 4)]),
    ("clamp_min_large", [math.Clamp], lambda t, a: a.clamp(min=0.25), [(64, 80)]),  # the np.clip forward
    ("clamp_max_0dim", [math.Clamp], lambda t, a: t.clamp(a, max=0.0), [()]),
]

REDUCTION = [
    ("sum_all", [reduction.Sum], lambda t, a: a.sum(), [(3, 4)]),
    ("sum_dim", [reduction.Sum], lambda t, a: a.sum(1), [(3, 4)]),
    ("sum_dims_keepdim", [reduction.Sum], lambda t, a: a.sum((0, 2), keepdim=True), [(2, 3, 4)]),
    ("sum_dtype", [reduction.Sum], lambda t, a: a.sum(-1, dtype=t.float64), [(3, 4)]),
    ("mean_all", [reduction.Mean], lambda t, a: a.mean(), [(3, 4)]),
    ("mean_dim", [reduction.Mean], lambda t, a: a.mean(0), [(3, 4)]),
    ("mean_dims_keepdim", [reduction.Mean], lambda t, a: a.mean((1, 2), keepdim=True), [(2, 3, 4)]),
    ("mean_empty_dim", [reduction.Mean], lambda t, a: a.mean(1), [(2, 0, 3)]),
]

ACTIVATION = [
    ("gelu", [activation.Gelu], lambda t, a: F.gelu(a), [(3, 4)]),
    ("gelu_tanh", [activation.Gelu], lambda t, a: F.gelu(a, approximate="tanh"), [(3, 4)]),
]

LINEAR = [
    ("linear_2d_bias", [linear.Addmm], lambda t, x, w, b: F.linear(x, w, b), [(5, 3), (4, 3), (4,)]),
    ("linear_2d_no_bias", [linear.Addmm], lambda t, x, w: F.linear(x, w), [(5, 3), (4, 3)]),
    ("linear_3d_bias", [linear.Addmm], lambda t, x, w, b: F.linear(x, w, b), [(2, 5, 3), (4, 3), (4,)]),
    ("linear_3d_noncontiguous", [linear.Addmm], lambda t, x, w, b: F.linear(x.transpose(0, 1), w, b),
     [(5, 2, 3), (4, 3), (4,)]),
    ("linear_1d", [linear.Addmm], lambda t, x, w, b: F.linear(x, w, b), [(3,), (4, 3), (4,)]),
    ("linear_no_rows", [linear.Addmm], lambda t, x, w, b: F.linear(x, w, b), [(0, 3), (4, 3), (4,)]),
    ("linear_no_features", [linear.Addmm], lambda t, x, w, b: F.linear(x, w, b), [(2, 5, 0), (4, 0), (4,)]),
    ("linear_weight_only", [linear.Addmm], lambda t, x, w, b: F.linear(x.detach(), w, b),
     [(5, 3), (4, 3), (4,)]),
    ("linear_input_only", [linear.Addmm], lambda t, x, w: F.linear(x, w.detach()), [(2, 5, 3), (4, 3)]),
    ("per_sample_matmul_row", [PerSampleMatmul], lambda t, x, m: PerSampleMatmul.apply(x, m.expand(3, 4, 2)),
     [(3, 1, 4), (4, 2)]),
    ("per_sample_matmul_rows", [PerSampleMatmul], lambda t, x, m: PerSampleMatmul.apply(x, m.expand(3, 4, 2)),
     [(3, 5, 4), (4, 2)]),
]

NORMALIZATION = [
    ("batch_norm_train_2d", [normalization.Normalize],
     lambda t, x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(6, 3), (3,), (3,)]),
    ("batch_norm_train_4d", [normalization.Normalize],
     lambda t, x, w, b: F.batch_norm(x, *_running(x, 3), w, b, training=True), [(2, 3, 4, 5), (3,), (3,)]),
    ("batch_norm_train_no_affine", [normalization.Normalize],
     lambda t, x: F.batch_norm(x, None, None, training=True), [(4, 3, 5)]),
    ("batch_norm_train_weight_only", [normalization.Normalize],
     lambda t, x, w: F.batch_norm(x, None, None, w, training=True), [(4, 3, 5), (3,)]),
    ("batch_norm_train_bias_only", [normalization.Normalize],
     lambda t, x, b: F.batch_norm(x, None, None, None, b, training=True), [(4, 3, 5), (3,)]),
    ("batch_norm_eval", [],  # fixed statistics: tensor ops only, one path (listed for completeness)
     lambda t, x, w, b: F.batch_norm(x, *_running(x, 3), w, b, training=False), [(4, 3, 5), (3,), (3,)]),
    ("instance_norm_affine", [normalization.Normalize],
     lambda t, x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)]),
    ("instance_norm_no_affine", [normalization.Normalize], lambda t, x: F.instance_norm(x), [(2, 3, 4, 2)]),
    ("layer_norm_2d", [normalization.Normalize],
     lambda t, x, w, b: F.layer_norm(x, (6,), w, b), [(4, 6), (6,), (6,)]),
    ("layer_norm_3d", [normalization.Normalize],
     lambda t, x, w, b: F.layer_norm(x, (4,), w, b), [(2, 3, 4), (4,), (4,)]),
    ("layer_norm_two_dims", [normalization.Normalize],
     lambda t, x, w, b: F.layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)]),
    ("layer_norm_no_affine", [normalization.Normalize], lambda t, x: F.layer_norm(x, (4,)), [(3, 4)]),
    ("layer_norm_bias_only", [normalization.Normalize],
     lambda t, x, b: F.layer_norm(x, (4,), None, b), [(3, 4), (4,)]),
    ("group_norm", [normalization.Normalize],
     lambda t, x, w, b: F.group_norm(x, 3, w, b), [(2, 6, 5), (6,), (6,)]),
    ("group_norm_group_per_channel", [normalization.Normalize],
     lambda t, x, w, b: F.group_norm(x, 4, w, b), [(2, 4, 5), (4,), (4,)]),
    ("group_norm_no_affine", [normalization.Normalize], lambda t, x: F.group_norm(x, 2), [(2, 6, 3, 2)]),
    ("group_norm_bias_only", [normalization.Normalize],
     lambda t, x, b: F.group_norm(x, 3, None, b), [(2, 6, 5), (6,)]),
]

SOFTMAX = [
    ("softmax_last", [softmax.Softmax], lambda t, a: a.softmax(-1), [(3, 4)]),
    ("softmax_dim0", [softmax.Softmax], lambda t, a: t.softmax(a, 0), [(3, 4)]),
    ("softmax_middle", [softmax.Softmax], lambda t, a: F.softmax(a, dim=1), [(2, 3, 4)]),
    ("softmax_0dim", [softmax.Softmax], lambda t, a: a.softmax(0), [()]),
    ("softmax_empty", [softmax.Softmax], lambda t, a: a.softmax(1), [(0, 3)]),
    ("softmax_dtype", [softmax.Softmax], lambda t, a: a.softmax(-1, dtype=t.float64), [(3, 4)]),
    ("softmin", [softmax.Softmax], lambda t, a: F.softmin(a, dim=1), [(3, 4)]),
    ("log_softmax_last", [softmax.LogSoftmax], lambda t, a: a.log_softmax(-1), [(3, 4)]),
    ("log_softmax_dim0", [softmax.LogSoftmax], lambda t, a: t.log_softmax(a, 0), [(3, 4)]),
    ("log_softmax_middle", [softmax.LogSoftmax], lambda t, a: F.log_softmax(a, dim=1), [(2, 3, 4)]),
    ("log_softmax_0dim", [softmax.LogSoftmax], lambda t, a: a.log_softmax(0), [()]),
]

LOSS = [
    *[(f"mse_{r}", [loss.MseLoss], lambda t, x, y, r=r: F.mse_loss(x, y, reduction=r), [(3, 4), (3, 4)])
      for r in ("mean", "sum")],
    ("mse_none", [], lambda t, x, y: F.mse_loss(x, y, reduction="none"), [(3, 4), (3, 4)]),  # unfused
    ("mse_input_only", [loss.MseLoss], lambda t, x, y: F.mse_loss(x, y.detach()), [(3, 4), (3, 4)]),
    ("mse_target_only", [loss.MseLoss], lambda t, x, y: F.mse_loss(x.detach(), y, reduction="sum"),
     [(3, 4), (3, 4)]),
    *[(f"cross_entropy_{r}", [loss.NLLLoss, softmax.LogSoftmax], lambda t, x, y, r=r: F.cross_entropy(x, y, reduction=r),
       [(5, 4), T5]) for r in ("mean", "sum", "none")],
    *[(f"cross_entropy_weight_{r}", [loss.NLLLoss, softmax.LogSoftmax],
       lambda t, x, y, r=r: F.cross_entropy(x, y, _cw(x), reduction=r), [(5, 4), T5])
      for r in ("mean", "sum", "none")],
    *[(f"cross_entropy_ignore_index_{r}", [loss.NLLLoss, softmax.LogSoftmax],
       lambda t, x, y, r=r: F.cross_entropy(x, y, _cw(x), reduction=r), [(5, 4), T5_IGNORED])
      for r in ("mean", "sum", "none")],
    ("cross_entropy_all_ignored", [loss.NLLLoss, softmax.LogSoftmax],
     lambda t, x, y: F.cross_entropy(x, y, label_smoothing=0.1), [(5, 4), T5_ALL_IGNORED]),
    ("cross_entropy_ignore_index_1", [loss.NLLLoss, softmax.LogSoftmax],
     lambda t, x, y: F.cross_entropy(x, y, ignore_index=1), [(5, 4), T5_IGNORE_1]),
    *[(f"cross_entropy_smoothing_{r}", [loss.NLLLoss, softmax.LogSoftmax],
       lambda t, x, y, r=r: F.cross_entropy(x, y, reduction=r, label_smoothing=0.1), [(5, 4), T5_IGNORED])
      for r in ("mean", "sum", "none")],
    ("cross_entropy_smoothing_weight", [loss.NLLLoss, softmax.LogSoftmax],
     lambda t, x, y: F.cross_entropy(x, y, _cw(x), label_smoothing=0.2), [(5, 4), T5_IGNORED]),
    ("cross_entropy_k_dim", [loss.NLLLoss, softmax.LogSoftmax],
     lambda t, x, y: F.cross_entropy(x, y, _cw(x), label_smoothing=0.1), [(3, 4, 2), T32]),
    ("cross_entropy_unbatched", [loss.NLLLoss, softmax.LogSoftmax], lambda t, x, y: F.cross_entropy(x, y),
     [(4,), np.array(2)]),
    ("cross_entropy_probabilities", [softmax.LogSoftmax],
     lambda t, x, y: F.cross_entropy(x, y.detach().softmax(1), label_smoothing=0.1), [(5, 4), (5, 4)]),
]


def _layer(mode, directions=1, bias=True, proj=0, packed=False, constant=()):
    """rnn_layer over 5 steps of a batch of 2 (3 features, 4 hidden), or packed sequences of
    lengths 3 and 2; inputs x, h0 (and c0), then each direction's weights. constant: which
    of "x", "hx", "w_ih" take no gradient."""
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    hout = proj or 4
    per_dir = [(gates * 4, 3), (gates * 4, hout)] + ([(gates * 4,)] * 2 if bias else []) + \
        ([(proj, 4)] if proj else [])
    states = [(directions, 2, hout)] + ([(directions, 2, 4)] if mode == "LSTM" else [])
    x_shape = (5, 3) if packed else (5, 2, 3)

    def fn(t, x, *rest):
        hx, ws = list(rest[:len(states)]), rest[len(states):]
        x = x.detach() if "x" in constant else x
        hx = [h.detach() for h in hx] if "hx" in constant else hx
        n = len(per_dir)
        weights = []
        for d in range(directions):
            w = ws[n * d:n * d + n]
            w_ih = w[0].detach() if "w_ih" in constant else w[0]
            biases = w[2:4] if bias else (None, None)
            weights.append((w_ih, w[1], *biases, *(w[-1:] if proj else ())))
        out = rnn_layer(mode, x, tuple(hx) if mode == "LSTM" else hx[0], weights,
                        batch_sizes=(2, 2, 1) if packed else None)
        return (out[0], *out[1]) if mode == "LSTM" else out

    return fn, [x_shape, *states, *per_dir * directions]


def _module(make, x_shape, *state_shapes):
    """A module (built once, float64) called with its parameters given as inputs."""
    with retrograd.random.fork_rng():  # its own initial values are never used
        module = make()
    names = [n for n, _ in module.named_parameters()]

    def fn(t, x, *rest):
        states, params = rest[:len(state_shapes)], rest[len(state_shapes):]
        hx = (states if len(states) > 1 else states[0]) if states else None
        out = functional_call(module, dict(zip(names, params)), (x, hx) if hx is not None else (x,))
        if not isinstance(out, tuple):  # RNNCell, GRUCell: h
            return out
        return (out[0], *out[1]) if isinstance(out[1], tuple) else out  # LSTM: (out, (h, c))

    return fn, [x_shape, *state_shapes, *[tuple(p.shape) for p in module.parameters()]]


RNN = [
    ("rnn_tanh", [rnn.RNNLayer], *_layer("RNN_TANH")),
    ("rnn_relu", [rnn.RNNLayer], *_layer("RNN_RELU")),
    ("rnn_no_bias", [rnn.RNNLayer], *_layer("RNN_TANH", bias=False)),
    ("rnn_bidirectional", [rnn.RNNLayer], *_layer("RNN_TANH", directions=2)),
    ("rnn_packed_bidirectional", [rnn.RNNLayer], *_layer("RNN_RELU", directions=2, packed=True)),
    ("rnn_hx_constant", [rnn.RNNLayer], *_layer("RNN_TANH", constant=("hx",))),
    ("rnn_w_ih_constant", [rnn.RNNLayer], *_layer("RNN_TANH", constant=("w_ih",))),
    ("rnn_x_constant", [rnn.RNNLayer], *_layer("RNN_RELU", constant=("x",))),
    ("lstm", [rnn.RNNLayer], *_layer("LSTM")),
    ("lstm_no_bias", [rnn.RNNLayer], *_layer("LSTM", bias=False)),
    ("lstm_proj", [rnn.RNNLayer], *_layer("LSTM", proj=2)),
    ("lstm_bidirectional_proj", [rnn.RNNLayer], *_layer("LSTM", directions=2, proj=2)),
    ("lstm_packed_bidirectional", [rnn.RNNLayer], *_layer("LSTM", directions=2, packed=True)),
    ("lstm_hx_constant", [rnn.RNNLayer], *_layer("LSTM", constant=("hx",))),
    ("lstm_w_ih_x_constant", [rnn.RNNLayer], *_layer("LSTM", proj=2, constant=("w_ih", "x"))),
    ("gru", [rnn.RNNLayer], *_layer("GRU")),
    ("gru_no_bias", [rnn.RNNLayer], *_layer("GRU", bias=False)),
    ("gru_bidirectional", [rnn.RNNLayer], *_layer("GRU", directions=2)),
    ("gru_packed_bidirectional", [rnn.RNNLayer], *_layer("GRU", directions=2, packed=True)),
    ("gru_hx_constant", [rnn.RNNLayer], *_layer("GRU", constant=("hx",))),
    ("gru_w_ih_constant", [rnn.RNNLayer], *_layer("GRU", constant=("w_ih",))),
    ("nn_lstm_two_layers", [rnn.RNNLayer],
     *_module(lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=retrograd.float64), (5, 2, 3))),
    ("nn_gru_batch_first", [rnn.RNNLayer],
     *_module(lambda: nn.GRU(3, 4, num_layers=2, batch_first=True, dtype=retrograd.float64), (2, 5, 3),
              (2, 2, 4))),
    ("nn_rnn_cell", [rnn.RNNLayer], *_module(lambda: nn.RNNCell(3, 4, nonlinearity="relu",
                                                                  dtype=retrograd.float64), (2, 3), (2, 4))),
    ("nn_lstm_cell", [rnn.RNNLayer], *_module(lambda: nn.LSTMCell(3, 4, dtype=retrograd.float64), (2, 3),
                                              (2, 4), (2, 4))),
    ("nn_gru_cell", [rnn.RNNLayer], *_module(lambda: nn.GRUCell(3, 4, dtype=retrograd.float64), (3,), (4,))),
]

# the plain paths of the ops in small models' backward (issue 14: no op recorded per gradient)
SHAPE = [
    ("sigmoid", [elementwise.Sigmoid], lambda t, a: F.sigmoid(a), [(3, 4)]),
    ("sigmoid_0dim", [elementwise.Sigmoid], lambda t, a: a.sigmoid(), [()]),
    ("rsub_scalar", [elementwise.Sub], lambda t, a: 1 - a, [(3, 4)]),
    ("sub_broadcast", [elementwise.Sub], lambda t, a, b: a - b, [(3, 4), (4,)]),
    ("sub_alpha", [elementwise.Sub], lambda t, a, b: t.sub(a, b, alpha=2.5), [(3, 4), (3, 4)]),
    ("cat", [join.Cat], lambda t, a, b: t.cat([a, b], 1), [(3, 2), (3, 4)]),
    ("cat_one_constant", [join.Cat], lambda t, a, b: t.cat([a.detach(), b], 0), [(2, 4), (3, 4)]),
    ("stack", [join.Stack], lambda t, a, b: t.stack([a, b], 1), [(3, 4), (3, 4)]),
    ("stack_one_constant", [join.Stack], lambda t, a, b: t.stack([a.detach(), b]), [(2, 4), (2, 4)]),
    ("matmul_batched", [linalg.Matmul], lambda t, a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    ("matmul_2d", [linalg.Matmul], lambda t, a, b: t.matmul(a, b), [(3, 4), (4, 5)]),
    ("matmul_broadcast", [linalg.Matmul], lambda t, a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("matmul_vector", [linalg.Matmul], lambda t, a, b: a @ b, [(3, 4), (4,)]),
    ("matmul_right_constant", [linalg.Matmul], lambda t, a, b: a @ b.detach(), [(2, 3, 4), (2, 4, 5)]),
    ("permute", [shape.Permute], lambda t, a: a.permute(2, 0, 1) * a.permute(2, 0, 1), [(2, 3, 4)]),
    ("transpose", [shape.Permute], lambda t, a: a.transpose(0, 1).exp(), [(3, 4)]),
    ("reshape", [shape.Reshape], lambda t, a: a.reshape(4, 3).exp(), [(3, 4)]),
    ("reshape_copy", [shape.Reshape], lambda t, a: a.t().reshape(-1).exp(), [(3, 4)]),
    ("view_unsqueeze", [shape.Reshape], lambda t, a: a.view(2, 6).unsqueeze(0).exp(), [(3, 4)]),
]

CONV_POOL = [
    # the bias gradient (two matrix-vector products on arrays, a sum recorded)
    ("conv2d_bias", [conv.Conv], lambda t, x, w, b: F.conv2d(x, w, b, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    ("conv_transpose2d_bias", [conv.ConvInputGrad], lambda t, x, w, b: F.conv_transpose2d(x, w, b, stride=2),
     [(2, 4, 3, 3), (4, 3, 3, 3), (3,)]),
    # 2x2 blocks: the scatter on arrays, or MaxQuadScatter recorded; ReLU's zeros tie whole blocks
    ("max_pool2d_2x2", [pooling.MaxPoolBlocks], lambda t, x: F.max_pool2d(x, 2), [(2, 3, 4, 6)]),
    ("max_pool2d_2x2_ties", [pooling.MaxPoolBlocks], lambda t, x: F.max_pool2d(F.relu(x), 2), [(2, 3, 6, 4)]),
]

_SDPA = attention.ScaledDotProductAttention
MASK35 = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 0, 1]], dtype=bool)  # row 1: every key masked


def _sdpa_dropout(t, q, k, v):
    t.manual_seed(5)
    return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)


ATTENTION = [  # the backward on arrays (NumPy float32/float64, one key/value head per query head), else tensor ops
    ("sdpa", [_SDPA], lambda t, q, k, v: F.scaled_dot_product_attention(q, k, v), [(2, 3, 4), (2, 5, 4), (2, 5, 3)]),
    ("sdpa_causal", [_SDPA], lambda t, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
     [(1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 2)]),
    ("sdpa_bool_mask_dead_row", [_SDPA],
     lambda t, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=t.tensor(MASK35)),
     [(2, 3, 4), (2, 5, 4), (2, 5, 3)]),
    ("sdpa_float_mask", [_SDPA], lambda t, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     [(2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5)]),
    ("sdpa_dropout", [_SDPA], _sdpa_dropout, [(2, 3, 4), (2, 5, 4), (2, 5, 3)]),
    ("sdpa_weights_only", [_SDPA], lambda t, q, k, v: attention.attention_with_weights(q, k, v)[1],
     [(2, 3, 4), (2, 5, 4), (2, 5, 3)]),
    ("sdpa_output_and_weights", [_SDPA], lambda t, q, k, v: attention.attention_with_weights(q, k, v)[:2],
     [(2, 3, 4), (2, 5, 4), (2, 5, 3)]),
    ("sdpa_broadcast_kv", [_SDPA], lambda t, q, k, v: F.scaled_dot_product_attention(q, k, v),
     [(2, 2, 3, 2), (1, 2, 4, 2), (1, 2, 4, 2)]),
    ("sdpa_gqa", [_SDPA], lambda t, q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
     [(1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)]),
]

CASES = ELEMENTWISE + REDUCTION + ACTIVATION + LINEAR + NORMALIZATION + SOFTMAX + LOSS + RNN + SHAPE + CONV_POOL + \
    ATTENTION


def _arrays(specs, dtype):
    """Inputs as check_op makes them, float ones in ``dtype`` (int targets stay int64)."""
    arrays = []
    for i, spec in enumerate(specs):
        if isinstance(spec, tuple):
            spec = rand(*spec, seed=i)
        if isinstance(spec, np.ndarray) and spec.dtype.kind == "f":
            spec = spec.astype(dtype)
        arrays.append(spec)
    return arrays


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name,covers,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_create_graph_gradient_equals_plain_gradient(name, covers, fn, specs, dtype):
    check_create_graph_agrees(fn, _arrays(specs, dtype))


def _node_types(outputs):
    seen, stack, types_ = set(), [o.grad_fn for o in outputs if o.grad_fn is not None], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        types_.add(type(node))
        stack.extend(fn for fn, _ in node.next_functions)
    return types_


@pytest.mark.parametrize("name,covers,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_case_runs_the_op_it_names(name, covers, fn, specs):
    inputs = [retrograd.tensor(a).requires_grad_() if isinstance(a, np.ndarray) and a.dtype.kind == "f"
              else (retrograd.tensor(a) if isinstance(a, np.ndarray) else a)
              for a in _arrays(specs, np.float64)]
    out = fn(retrograd, *inputs)
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
    ran = _node_types(outs)
    for cls in covers:
        assert any(issubclass(r, cls) for r in ran), f"{name} does not run {cls.__name__} (ran {ran})"


# ------------------------------------------------------ every dual-path backward is listed


def _reads_grad_mode_in_a_test(func, seen, module=None):
    """Whether ``func`` branches on grad mode (an if/while/conditional expression whose test
    reads grad_mode's state or calls is_grad_enabled), itself or through the private helpers
    of its own module that it calls."""
    if not isinstance(func, types.FunctionType) or func in seen:
        return False
    if module is not None and (func.__module__ != module or not func.__name__.startswith("_")):
        return False
    seen.add(func)
    g = func.__globals__
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.IfExp, ast.While)):
            for sub in ast.walk(node.test):
                if isinstance(sub, ast.Attribute) and sub.attr == "enabled" and isinstance(sub.value, ast.Name) \
                        and g.get(sub.value.id) is grad_mode._state:
                    return True
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) \
                        and g.get(sub.func.id) is grad_mode.is_grad_enabled:
                    return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and _reads_grad_mode_in_a_test(g.get(node.func.id), seen, func.__module__):
            return True
    return False


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def dual_path_functions():
    """retrograd's Function classes whose backward branches on grad mode."""
    for _ in retrograd_modules():  # importing them defines their Function classes
        pass
    found = set()
    for cls in _subclasses(Function):
        backward = cls.__dict__.get("backward")
        if cls.__module__.startswith("retrograd.") and backward is not None:
            if _reads_grad_mode_in_a_test(getattr(backward, "__func__", backward), set()):
                found.add(cls)
    return found


# backwards whose grad-mode test only refuses create_graph=True (as torch's do), checked below
REFUSE_CREATE_GRAPH = {
    linear_cross_entropy._ChunkedLinearCrossEntropy: lambda t, x, w: F.linear_cross_entropy(
        x, w, t.tensor([0, 2, 1]), options=t.nn.LinearCrossEntropyOptions(batch_chunk_size=2)),
}


@pytest.mark.parametrize("cls", REFUSE_CREATE_GRAPH, ids=lambda c: c.__name__)
def test_a_backward_refusing_create_graph_raises_there_and_runs_without(cls):
    x, w = (retrograd.tensor(rand(*s, seed=i), requires_grad=True) for i, s in enumerate([(3, 4), (3, 4)]))
    loss = REFUSE_CREATE_GRAPH[cls](retrograd, x, w)
    with pytest.raises(RuntimeError, match="create_graph"):
        retrograd.autograd.grad(loss, (x, w), create_graph=True)
    loss = REFUSE_CREATE_GRAPH[cls](retrograd, x, w)
    assert all(g.shape == v.shape for g, v in zip(retrograd.autograd.grad(loss, (x, w)), (x, w)))


def test_every_dual_path_backward_is_listed():
    found = dual_path_functions()
    assert len(found) >= 10  # the scan itself works (Addmm, Softmax, Normalize, RNNLayer ...)
    listed = {cls for case in CASES for cls in case[1]} | set(REFUSE_CREATE_GRAPH)
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in found - listed)
    assert not missing, (f"backward of {missing} has a plain-array path and a create_graph path: "
                         "add cases for each branch of it to CASES in this file")


class _Direct(Function):
    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:
            return Tensor._make(g._data * 2)
        return g * 2


def _backward_arrays(g):
    return Tensor._make(g._data * 2) if not is_grad_enabled() else g * 2


class _ThroughHelper(Function):
    @staticmethod
    def backward(ctx, g):
        return _backward_arrays(g)


class _SaveRestore(Function):
    @staticmethod
    def backward(ctx, g):
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            return g * 2
        finally:
            _grad_state.enabled = prev


def test_scan_finds_a_branch_on_grad_mode():
    """The scan sees a grad-mode branch in a backward, direct or in a private helper of its
    module, and ignores a save/restore of the flag that decides nothing."""
    assert _reads_grad_mode_in_a_test(_Direct.backward, set())
    assert _reads_grad_mode_in_a_test(_ThroughHelper.backward, set())
    assert not _reads_grad_mode_in_a_test(_SaveRestore.backward, set())
