"""grad_fn names and next_functions walks as torch prints them (issue 19, item 9).

Each case builds a small graph; its tree of node names from the output down (``name()`` of
every node of the next_functions walk, ``None`` where torch lists no node) must be torch
2.13's, recorded in EXPECTED (``ACC`` is torch's AccumulateGrad name) and checked against
torch itself where it is installed.

Where retrograd's graph still differs from torch's, the cases are left out and named here:
an LSTM with proj_size is one node per layer and direction as without (torch composes it
of small ops); GRU/RNN layers are one node per direction (torch composes them of small
ops on the CPU); matmul of batched or 1-D operands is one node (torch adds its views and
Mm/Bmm); a reshape that copies is one ViewBackward0 (torch: UnsafeViewBackward0 after
CloneBackward0); batch_norm in eval mode is composed of elementwise ops.
"""

import warnings

import pytest

import retrograd
from helpers import requires_torch, torch

ACC = "torch::autograd::AccumulateGrad"


def _leaf(t, *shape):
    return t.randn(*shape, requires_grad=True)


def _lstm(t, which, unbatched=False, **kwargs):
    """One of nn.LSTM(3, 4, **kwargs)'s results ('out', 'h' or 'c') on a sequence of 5."""
    x = t.randn(5, 3) if unbatched else t.randn(2, 5, 3) if kwargs.get("batch_first") else t.randn(5, 2, 3)
    out, (h, c) = t.nn.LSTM(3, 4, **kwargs)(x)
    return {"out": out, "h": h, "c": c}[which]


CASES = {
    # the 60-minute blitz's network: loss.grad_fn and the next_functions walk it prints
    "mse_of_mlp": lambda t: t.nn.functional.mse_loss(
        t.nn.Sequential(t.nn.Linear(3, 4), t.nn.ReLU(), t.nn.Linear(4, 1))(t.randn(5, 3)), t.randn(5, 1)),
    "mse": lambda t: t.nn.functional.mse_loss(_leaf(t, 3), t.randn(3)),
    "linear_2d": lambda t: t.nn.functional.linear(t.randn(5, 3), _leaf(t, 4, 3), _leaf(t, 4)),
    "linear_2d_no_bias": lambda t: t.nn.functional.linear(t.randn(5, 3), _leaf(t, 4, 3)),
    "linear_2d_input_grad": lambda t: t.nn.functional.linear(_leaf(t, 5, 3), _leaf(t, 4, 3), _leaf(t, 4)),
    "linear_2d_constant_weight": lambda t: t.nn.functional.linear(_leaf(t, 5, 3), t.randn(4, 3)),
    "linear_3d": lambda t: t.nn.functional.linear(_leaf(t, 2, 5, 3), _leaf(t, 4, 3), _leaf(t, 4)),
    "linear_3d_no_bias": lambda t: t.nn.functional.linear(_leaf(t, 2, 5, 3), _leaf(t, 4, 3)),
    "linear_1d": lambda t: t.nn.functional.linear(_leaf(t, 3), _leaf(t, 4, 3), _leaf(t, 4)),
    "embedding": lambda t: t.nn.Embedding(10, 3)(t.tensor([1, 2])),
    "embedding_padding_idx": lambda t: t.nn.functional.embedding(t.tensor([1, 2]), _leaf(t, 5, 3), padding_idx=0),
    "nll_loss_of_log_softmax": lambda t: t.nn.functional.nll_loss(
        t.nn.functional.log_softmax(_leaf(t, 4, 5), 1), t.tensor([0, 1, 2, 3])),
    "nll_loss_weighted": lambda t: t.nn.functional.nll_loss(_leaf(t, 4, 5), t.tensor([0, 1, 2, 3]),
                                                            weight=t.rand(5)),
    "nll_loss_4d": lambda t: t.nn.functional.nll_loss(_leaf(t, 2, 5, 3, 3), t.zeros(2, 3, 3, dtype=t.long)),
    "cross_entropy": lambda t: t.nn.functional.cross_entropy(_leaf(t, 4, 5), t.tensor([0, 1, 2, 3])),
    "cross_entropy_4d": lambda t: t.nn.functional.cross_entropy(_leaf(t, 2, 5, 3, 3), t.zeros(2, 3, 3, dtype=t.long)),
    "cross_entropy_unbatched": lambda t: t.nn.functional.cross_entropy(_leaf(t, 5), t.tensor(2)),
    "cross_entropy_of_mlp": lambda t: t.nn.CrossEntropyLoss()(
        t.nn.Sequential(t.nn.Linear(3, 4), t.nn.ReLU(), t.nn.Linear(4, 5))(t.randn(2, 3)), t.tensor([1, 4])),
    "lstm_out": lambda t: _lstm(t, "out"),
    "lstm_h_n": lambda t: _lstm(t, "h"),
    "lstm_c_n": lambda t: _lstm(t, "c"),
    "lstm_two_layers_h_n": lambda t: _lstm(t, "h", num_layers=2),
    "lstm_bidirectional_out": lambda t: _lstm(t, "out", bidirectional=True),
    "lstm_bidirectional_h_n": lambda t: _lstm(t, "h", bidirectional=True),
    "lstm_batch_first_out": lambda t: _lstm(t, "out", batch_first=True),
    "lstm_unbatched_h_n": lambda t: _lstm(t, "h", unbatched=True),
    "lstm_no_bias_out": lambda t: _lstm(t, "out", bias=False),
    "conv2d": lambda t: t.nn.Conv2d(2, 3, 3)(t.randn(1, 2, 5, 5)),
    "conv2d_no_bias_input_grad": lambda t: t.nn.functional.conv2d(_leaf(t, 1, 2, 5, 5), _leaf(t, 3, 2, 3, 3)),
    "conv1d": lambda t: t.nn.Conv1d(2, 3, 3)(t.randn(1, 2, 5)),
    "conv_transpose2d": lambda t: t.nn.functional.conv_transpose2d(t.randn(1, 2, 5, 5), _leaf(t, 2, 3, 3, 3)),
    "max_pool2d": lambda t: t.nn.functional.max_pool2d(_leaf(t, 1, 1, 4, 4), 2),
    "max_pool2d_overlapping": lambda t: t.nn.functional.max_pool2d(_leaf(t, 1, 2, 5, 5), 3, stride=1),
    "max_pool3d": lambda t: t.nn.functional.max_pool3d(_leaf(t, 1, 2, 4, 4, 4), 2),
    "mm": lambda t: _leaf(t, 2, 3) @ _leaf(t, 3, 4),
    "dot": lambda t: _leaf(t, 3) @ _leaf(t, 3),
    "bmm": lambda t: t.bmm(_leaf(t, 5, 2, 3), _leaf(t, 5, 3, 4)),
    "relu": lambda t: t.nn.ReLU()(_leaf(t, 3)),
    "sum": lambda t: _leaf(t, 3).sum(),
    "sum_dim": lambda t: _leaf(t, 3, 2).sum(1),
    "mean": lambda t: _leaf(t, 3).mean(),
    "mean_dim": lambda t: _leaf(t, 3, 2).mean(1),
    "view": lambda t: _leaf(t, 3, 2).view(6),
    "reshape": lambda t: _leaf(t, 3, 2).reshape(6),
    "flatten": lambda t: _leaf(t, 3, 2, 2).flatten(1),
    "transpose": lambda t: _leaf(t, 3, 2).transpose(0, 1),
    "t": lambda t: _leaf(t, 3, 2).t(),
    "permute": lambda t: _leaf(t, 3, 2).permute(1, 0),
    "sigmoid": lambda t: t.sigmoid(_leaf(t, 3)),
    "tanh": lambda t: t.tanh(_leaf(t, 3)),
    "softmax": lambda t: t.nn.functional.softmax(_leaf(t, 3, 2), dim=1),
    "log_softmax": lambda t: t.nn.functional.log_softmax(_leaf(t, 3, 2), dim=1),
    "dropout_train": lambda t: t.nn.functional.dropout(_leaf(t, 3), 0.5, training=True),
    "dropout_module": lambda t: t.nn.Dropout(0.5)(_leaf(t, 3)),
    "dropout_eval": lambda t: t.nn.functional.dropout(_leaf(t, 3), 0.5, training=False),
    "layer_norm": lambda t: t.nn.LayerNorm(3)(t.randn(2, 3)),
    "layer_norm_no_affine": lambda t: t.nn.functional.layer_norm(_leaf(t, 2, 3), (3,)),
    "layer_norm_weight_only": lambda t: t.nn.functional.layer_norm(_leaf(t, 2, 3), (3,), _leaf(t, 3)),
    "batch_norm_1d": lambda t: t.nn.BatchNorm1d(3)(t.randn(4, 3)),
    "batch_norm_2d": lambda t: t.nn.BatchNorm2d(3)(t.randn(4, 3, 2, 2)),
    "batch_norm_no_affine": lambda t: t.nn.functional.batch_norm(_leaf(t, 2, 4, 3), None, None, training=True),
    "group_norm": lambda t: t.nn.functional.group_norm(_leaf(t, 2, 4, 3), 2),
    "gelu": lambda t: t.nn.functional.gelu(_leaf(t, 3)),
    "add_number": lambda t: _leaf(t, 3) + 1,
    "number_add": lambda t: 1 + _leaf(t, 3),
    "add_alpha": lambda t: _leaf(t, 3).add(1, alpha=2),
    "mul_number": lambda t: _leaf(t, 3) * 2,
    "number_mul": lambda t: 2 * _leaf(t, 3),
    "sub_number": lambda t: _leaf(t, 3) - 2,
    "number_sub": lambda t: 2 - _leaf(t, 3),
    "div_number": lambda t: _leaf(t, 3) / 2,
    "pow_number": lambda t: _leaf(t, 3) ** 2,
    "add": lambda t: _leaf(t, 3) + _leaf(t, 3),
    "add_constant_int": lambda t: t.ones(3, dtype=t.long) + _leaf(t, 3),
    "mul": lambda t: _leaf(t, 3) * _leaf(t, 3),
    "masked_fill": lambda t: _leaf(t, 3).masked_fill(t.tensor([True, False, True]), 0.0),
    "masked_fill_tensor_value": lambda t: _leaf(t, 3).masked_fill(t.tensor([True, False, True]), t.tensor(0.0)),
    "causal_mask": lambda t: _leaf(t, 3, 3).masked_fill(t.tril(t.ones(3, 3)) == 0, float("-inf")),
    "interpolate_linear": lambda t: t.nn.functional.interpolate(_leaf(t, 1, 2, 5), size=7, mode="linear"),
    "interpolate_bilinear": lambda t: t.nn.functional.interpolate(_leaf(t, 1, 2, 5, 4), size=(3, 7), mode="bilinear"),
    "interpolate_bicubic_antialias": lambda t: t.nn.functional.interpolate(
        _leaf(t, 1, 2, 9, 8), size=(3, 4), mode="bicubic", antialias=True),
    "interpolate_lanczos": lambda t: t.nn.functional.interpolate(
        _leaf(t, 1, 2, 9, 8), size=(3, 4), mode="lanczos", antialias=True),
    "interpolate_trilinear": lambda t: t.nn.functional.interpolate(_leaf(t, 1, 1, 3, 4, 5), size=2, mode="trilinear"),
    "interpolate_area": lambda t: t.nn.functional.interpolate(_leaf(t, 1, 2, 6, 6), size=(4, 5), mode="area"),
}


# torch's CPU LSTM layer node: edges input, w_ih, w_hh, b_ih, b_hh, h0, c0
LSTM_LAYER = ['MkldnnRnnLayerBackward0', None, ACC, ACC, ACC, ACC, None, None]
EXPECTED = {
    'mse_of_mlp': ['MseLossBackward0',
                   ['AddmmBackward0', ACC,
                    ['ReluBackward0',
                     ['AddmmBackward0', ACC, None,
                      ['TBackward0', ACC]]],
                    ['TBackward0', ACC]],
                   None],
    'mse': ['MseLossBackward0', ACC, None],
    'linear_2d': ['AddmmBackward0', ACC, None,
                  ['TBackward0', ACC]],
    'linear_2d_no_bias': ['MmBackward0', None, ['TBackward0', ACC]],
    'linear_2d_input_grad': ['AddmmBackward0', ACC, ACC,
                             ['TBackward0', ACC]],
    'linear_2d_constant_weight': ['MmBackward0', ACC, None],
    'linear_3d': ['ViewBackward0',
                  ['AddmmBackward0', ACC,
                   ['ViewBackward0', ACC],
                   ['TBackward0', ACC]]],
    'linear_3d_no_bias': ['UnsafeViewBackward0',
                          ['MmBackward0', ['ViewBackward0', ACC],
                           ['TBackward0', ACC]]],
    'linear_1d': ['ViewBackward0',
                  ['AddmmBackward0', ACC,
                   ['ViewBackward0', ACC],
                   ['TBackward0', ACC]]],
    'embedding': ['EmbeddingBackward0', ACC],
    'embedding_padding_idx': ['EmbeddingBackward0', ACC],
    'nll_loss_of_log_softmax': ['NllLossBackward0', ['LogSoftmaxBackward0', ACC]],
    'nll_loss_weighted': ['NllLossBackward0', ACC],
    'nll_loss_4d': ['NllLoss2DBackward0', ACC],
    'cross_entropy': ['NllLossBackward0', ['LogSoftmaxBackward0', ACC]],
    'lstm_out': LSTM_LAYER,
    'lstm_h_n': ['StackBackward0', LSTM_LAYER],
    'lstm_c_n': ['StackBackward0', LSTM_LAYER],
    'lstm_two_layers_h_n': ['StackBackward0', LSTM_LAYER,
                            ['MkldnnRnnLayerBackward0', LSTM_LAYER, ACC, ACC, ACC, ACC, None, None]],
    'lstm_bidirectional_out': ['CatBackward0', LSTM_LAYER, LSTM_LAYER],
    'lstm_bidirectional_h_n': ['StackBackward0', LSTM_LAYER, LSTM_LAYER],
    'lstm_batch_first_out': ['TransposeBackward0', LSTM_LAYER],
    'lstm_unbatched_h_n': ['SqueezeBackward1', ['StackBackward0', LSTM_LAYER]],
    'lstm_no_bias_out': ['MkldnnRnnLayerBackward0', None, ACC, ACC, None, None, None, None],
    'cross_entropy_4d': ['NllLoss2DBackward0', ['LogSoftmaxBackward0', ACC]],
    'cross_entropy_unbatched': ['NllLossBackward0', ['LogSoftmaxBackward0', ACC]],
    'cross_entropy_of_mlp': ['NllLossBackward0', ['LogSoftmaxBackward0', [
        'AddmmBackward0', ACC, ['ReluBackward0', ['AddmmBackward0', ACC, None, ['TBackward0', ACC]]],
        ['TBackward0', ACC]]]],
    'conv2d': ['ConvolutionBackward0', None, ACC, ACC],
    'conv2d_no_bias_input_grad': ['ConvolutionBackward0', ACC, ACC, None],
    'conv1d': ['ConvolutionBackward0', None, ACC, ACC],
    'conv_transpose2d': ['ConvolutionBackward0', None, ACC, None],
    'max_pool2d': ['MaxPool2DWithIndicesBackward0', ACC],
    'max_pool2d_overlapping': ['MaxPool2DWithIndicesBackward0', ACC],
    'max_pool3d': ['MaxPool3DWithIndicesBackward0', ACC],
    'mm': ['MmBackward0', ACC, ACC],
    'dot': ['DotBackward0', ACC, ACC],
    'bmm': ['BmmBackward0', ACC, ACC],
    'relu': ['ReluBackward0', ACC],
    'sum': ['SumBackward0', ACC],
    'sum_dim': ['SumBackward1', ACC],
    'mean': ['MeanBackward0', ACC],
    'mean_dim': ['MeanBackward1', ACC],
    'view': ['ViewBackward0', ACC],
    'reshape': ['ViewBackward0', ACC],
    'flatten': ['ViewBackward0', ACC],
    'transpose': ['TransposeBackward0', ACC],
    't': ['TBackward0', ACC],
    'permute': ['PermuteBackward0', ACC],
    'sigmoid': ['SigmoidBackward0', ACC],
    'tanh': ['TanhBackward0', ACC],
    'softmax': ['SoftmaxBackward0', ACC],
    'log_softmax': ['LogSoftmaxBackward0', ACC],
    'dropout_train': ['MulBackward0', ACC, None],
    'dropout_module': ['MulBackward0', ACC, None],
    'dropout_eval': None,
    'layer_norm': ['NativeLayerNormBackward0', None, ACC,
                   ACC],
    'layer_norm_no_affine': ['NativeLayerNormBackward0', ACC, None, None],
    'layer_norm_weight_only': ['NativeLayerNormBackward0', ACC, ACC,
                               None],
    'batch_norm_1d': ['NativeBatchNormBackward0', None, ACC,
                      ACC],
    'batch_norm_2d': ['NativeBatchNormBackward0', None, ACC,
                      ACC],
    'batch_norm_no_affine': ['NativeBatchNormBackward0', ACC, None, None],
    'group_norm': ['NativeGroupNormBackward0', ACC, None, None],
    'gelu': ['GeluBackward0', ACC],
    'add_number': ['AddBackward0', ACC, None],
    'number_add': ['AddBackward0', ACC, None],
    'add_alpha': ['AddBackward0', ACC, None],
    'mul_number': ['MulBackward0', ACC, None],
    'number_mul': ['MulBackward0', ACC, None],
    'sub_number': ['SubBackward0', ACC, None],
    'number_sub': ['RsubBackward1', ACC],
    'div_number': ['DivBackward0', ACC, None],
    'pow_number': ['PowBackward0', ACC],
    'add': ['AddBackward0', ACC, ACC],
    'add_constant_int': ['AddBackward0', None, ACC],
    'mul': ['MulBackward0', ACC, ACC],
    'masked_fill': ['MaskedFillBackward0', ACC],
    'masked_fill_tensor_value': ['MaskedFillBackward1', ACC, None],
    'causal_mask': ['MaskedFillBackward0', ACC],
    'interpolate_linear': ['UpsampleLinear1DBackward0', ACC],
    'interpolate_bilinear': ['UpsampleBilinear2DBackward0', ACC],
    'interpolate_bicubic_antialias': ['UpsampleBicubic2DAaBackward0', ACC],
    'interpolate_lanczos': ['UpsampleLanczos2DAaBackward0', ACC],
    'interpolate_trilinear': ['UpsampleTrilinear3DBackward0', ACC],
    'interpolate_area': ['AdaptiveAvgPool2DBackward0', ACC],
}


def _tree(fn):
    """The node's name, or [name, child trees...] when it has next_functions."""
    if fn is None:
        return None
    if not fn.next_functions:
        return fn.name()
    return [fn.name()] + [_tree(child) for child, _ in fn.next_functions]


def _names(lib, case):
    lib.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _tree(CASES[case](lib).grad_fn)


@pytest.mark.parametrize("case", list(CASES))
def test_node_tree_is_torchs(case):
    assert _names(retrograd, case) == EXPECTED[case]


@requires_torch
@pytest.mark.parametrize("case", list(CASES))
def test_recorded_tree_is_torchs(case):
    assert _names(torch, case) == EXPECTED[case]


def test_leaf_node_prints_as_torch():
    x = retrograd.ones(2, requires_grad=True)
    acc = (x * 2).grad_fn.next_functions[0][0]
    assert acc.name() == ACC and repr(acc).startswith("<AccumulateGrad object at 0x")
    assert acc.variable is x


def test_tutorial_walk():
    """The 60-minute blitz prints loss.grad_fn and two steps of next_functions[0][0]."""
    retrograd.manual_seed(0)
    net = retrograd.nn.Sequential(retrograd.nn.Linear(3, 4), retrograd.nn.ReLU(), retrograd.nn.Linear(4, 1))
    loss = retrograd.nn.MSELoss()(net(retrograd.randn(5, 3)), retrograd.randn(5, 1))
    first = loss.grad_fn.next_functions[0][0]
    assert repr(loss.grad_fn).startswith("<MseLossBackward0 object at")
    assert repr(first).startswith("<AddmmBackward0 object at")
    assert repr(first.next_functions[0][0]).startswith("<AccumulateGrad object at")  # the bias
    assert first.next_functions[1][0].name() == "ReluBackward0"
    assert first.next_functions[2][0].next_functions[0][0].variable is net[2].weight


def test_lstm_layer_node_name():
    lstm = retrograd.nn.LSTM(3, 4)
    out, (h, c) = lstm(retrograd.randn(2, 1, 3))
    assert out.grad_fn.name() == "MkldnnRnnLayerBackward0"


def test_decomposed_linear_gradients_are_contiguous():
    """Linear's weight gradient comes through TBackward0 yet is stored contiguous."""
    layer = retrograd.nn.Linear(3, 4)
    layer(retrograd.randn(5, 3)).sum().backward()
    assert layer.weight.grad.is_contiguous()
