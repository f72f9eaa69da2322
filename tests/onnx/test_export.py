"""retrograd.onnx.export: the written graph passes onnx's checker and, run by onnx's reference
evaluator, gives the model's own outputs; names, dynamic axes, options and errors as torch's."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.nn import functional as F
from tests.helpers import requires_torch, torch

# a submodule, since without the onnx package `import onnx` finds this folder (tests/ is on the path)
pytest.importorskip("onnx.reference")
import onnx  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402


# ---------------------------------------------------------------------------- models


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(retrograd.flatten(x, 1))


class Block(nn.Module):
    """Layer norm, gelu, softmax on a (batch, tokens, features) input."""

    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 5)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return F.softmax(self.drop(F.gelu(self.fc(self.ln(x)))), dim=-1)


class Bag(nn.Module):
    """Embedding, mean over the tokens, linear, log_softmax."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 4)
        self.fc = nn.Linear(4, 3)

    def forward(self, idx):
        return F.log_softmax(self.fc(self.emb(idx).mean(1)), dim=1)


def mlp():
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Linear(8, 2),
                         nn.Sigmoid())


def _trained_bn(model, x):
    """Running statistics that are not the initial ones (so eval mode is visible)."""
    model.train()
    with retrograd.no_grad():
        model(x)
        model(x * 2 + 1)
    return model.eval()


def _export(model, args, **kw):
    buf = io.BytesIO()
    retrograd.onnx.export(model, args, buf, **kw)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _run(proto, **feeds):
    return ReferenceEvaluator(proto).run(None, {k: v.numpy() for k, v in feeds.items()})


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


def _close(got, model, *args):
    with retrograd.no_grad():
        want = model(*args)
    want = want if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- the four models


def test_mlp_to_a_file_object_and_a_path(tmp_path):
    retrograd.manual_seed(0)
    model, x = mlp(), retrograd.randn(4, 3)
    proto = _export(model, (x,), input_names=["x"], output_names=["y"])
    assert _ops(proto) == ["Gemm", "Tanh", "Gemm", "LeakyRelu", "Gemm", "Sigmoid"]
    assert [i.name for i in proto.graph.initializer] == [n for n, _ in model.named_parameters()]
    _close(_run(proto, x=x), model, x)

    path = tmp_path / "mlp.onnx"
    assert retrograd.onnx.export(model, x, str(path), input_names=["x"]) is None
    onnx.checker.check_model(str(path))
    from_path = onnx.load(str(path))
    _close(_run(from_path, x=x), model, x)
    retrograd.onnx.export(model, (x,), path)  # a PathLike
    assert onnx.load(path).graph.node[0].op_type == "Gemm"


def test_cnn_conv_batchnorm_eval_relu_maxpool_flatten_linear():
    retrograd.manual_seed(0)
    x = retrograd.randn(2, 1, 8, 8)
    model = _trained_bn(CNN(), x)
    proto = _export(model, (x,), input_names=["image"], output_names=["logits"],
                    dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    assert _ops(proto) == ["Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"]
    names = {i.name for i in proto.graph.initializer}
    assert {"conv.weight", "bn.running_mean", "bn.running_var", "fc.bias"} <= names
    _close(_run(proto, image=x), model, x)
    x5 = retrograd.randn(5, 1, 8, 8)  # another batch size through the symbolic batch dim
    _close(_run(proto, image=x5), model, x5)
    assert model.training is False and not model.bn.training  # the caller's eval mode is kept


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_layer_norm_gelu_softmax_in_each_opset(opset):
    """LayerNormalization and Gelu where the opset has them (17, 20), their formulas before."""
    retrograd.manual_seed(0)
    model, x = Block().eval(), retrograd.randn(2, 3, 6)
    proto = _export(model, (x,), opset_version=opset, dynamic_axes={"x": [0, 1]})
    assert proto.opset_import[0].version == opset
    assert ("LayerNormalization" in _ops(proto)) == (opset >= 17)
    assert ("Gelu" in _ops(proto)) == (opset >= 20)
    assert "Dropout" not in _ops(proto) and _ops(proto)[-1] == "Softmax"
    _close(_run(proto, x=x), model, x)
    x2 = retrograd.randn(4, 7, 6)  # both dynamic axes change: the reshapes around the Gemm follow them
    _close(_run(proto, x=x2), model, x2)
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["x_dynamic_axes_1", "x_dynamic_axes_2", 6]


def test_embedding_model_with_int64_indices():
    retrograd.manual_seed(0)
    model = Bag()
    idx = retrograd.tensor([[1, 2, 3], [10, 0, 4]])
    proto = _export(model, (idx,), input_names=["tokens"], dynamic_axes={"tokens": {0: "batch", 1: "length"}})
    assert _ops(proto)[0] == "Gather" and proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    _close(_run(proto, tokens=idx), model, idx)
    longer = retrograd.tensor([[5, 6, 7, 8, 9], [1, 1, 1, 1, 1], [0, 2, 4, 6, 8]])
    _close(_run(proto, tokens=longer), model, longer)


# ---------------------------------------------------------------------------- more ops


class Pools(nn.Module):
    def forward(self, x):
        return (F.max_pool2d(x, 3, 2, 1), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                F.avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, (2, 3)),
                F.max_pool2d(x, 2, ceil_mode=True), F.avg_pool1d(x.flatten(2), 4))


def test_pooling_forms():
    retrograd.manual_seed(0)
    x = retrograd.randn(2, 3, 7, 6)
    proto = _export(Pools(), (x,))
    ops = _ops(proto)
    assert ops.count("MaxPool") == 2 and ops.count("AveragePool") == 3 and "GlobalAveragePool" in ops
    assert "MatMul" in ops  # adaptive (2, 3) of 7x6: uneven windows, written as averaging matrices
    _close(_run(proto, x=x), Pools(), x)


@pytest.mark.parametrize("n, k, s, p, d", [(5, 2, 2, 1, 1), (7, 3, 2, 1, 1), (6, 2, 1, 1, 1), (8, 3, 3, 1, 2)])
def test_max_pool_windows_and_ceil_mode(n, k, s, p, d):
    """ceil_mode as torch's: the last window may hang over, but never starts in the padding."""
    class Pool(nn.Module):
        def forward(self, x):
            return F.max_pool2d(x, k, s, p, d, ceil_mode=True), retrograd.max_pool2d(x, k, s, p, d)

    x = retrograd.randn(1, 2, n, n)
    proto = _export(Pool(), (x,))
    assert _ops(proto) == ["MaxPool", "MaxPool"]  # retrograd.max_pool2d is F.max_pool2d, recorded as one op too
    _close(_run(proto, x=x), Pool(), x)


_bound_early = F.max_pool2d  # the exporter cannot see calls through this name


def test_max_pool_bound_before_the_export_is_refused_with_the_reason():
    class Pool(nn.Module):
        def forward(self, x):
            return _bound_early(x, 3, 2, 1), _bound_early(x, 2)

    with pytest.raises(retrograd.onnx.errors.UnsupportedOperatorError, match="window sizes"):
        retrograd.onnx.export(Pool(), (retrograd.randn(1, 1, 6, 6),), io.BytesIO())


def test_avg_pool_ceil_mode_as_averaging_matrices():
    class Pool(nn.Module):
        def forward(self, x):
            return F.avg_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)

    x = retrograd.randn(2, 1, 5, 7)
    proto = _export(Pool(), (x,))
    assert "AveragePool" not in _ops(proto)
    _close(_run(proto, x=x), Pool(), x)


class Arithmetic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=1)
        self.register_buffer("offset", retrograd.arange(5.0))

    def forward(self, x, y):
        a = (x + y * 2 - 1) / (y.abs() + 1)
        b = retrograd.sqrt(x.exp()) + retrograd.log(y.abs() + 1) - (-x) ** 2
        c = retrograd.cat([a, b], dim=1).permute(0, 2, 1).transpose(1, 2)
        d = (c @ c.transpose(1, 2)).sum(dim=(1, 2), keepdim=True) + c.mean()
        e = self.conv1(c.reshape(-1, 2, 10))
        f = retrograd.matmul(x, retrograd.ones(5, 5)) + self.offset
        return a.sum(), d, e.relu(), f.log_softmax(-1), x.to(retrograd.float64)


def test_elementwise_reductions_shapes_and_constants():
    retrograd.manual_seed(0)
    x, y = retrograd.randn(2, 2, 5), retrograd.randn(2, 2, 5)
    model = Arithmetic()
    proto = _export(model, (x, y))
    with retrograd.no_grad():
        want = model(x, y)
    got = _run(proto, x=x, y=y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)
    assert got[-1].dtype == np.float64
    for op in ("Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Sqrt", "Abs", "Concat", "Transpose",
               "MatMul", "ReduceSum", "ReduceMean", "Conv", "LogSoftmax", "Cast", "Relu"):
        assert op in _ops(proto), op


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)
        self.grouped = nn.Conv2d(4, 6, 3, padding=1, groups=2)
        self.out = nn.ConvTranspose1d(6, 2, 4, stride=3, padding=2, dilation=2, bias=False)

    def forward(self, x):
        y = self.grouped(F.relu(self.up(x)))
        return self.out(y.flatten(2))


def test_conv_transpose_and_grouped_conv_with_dynamic_spatial_sizes():
    """(onnx's reference evaluator cannot run a grouped ConvTranspose, so that one is not here)"""
    retrograd.manual_seed(0)
    model, x = Decoder(), retrograd.randn(2, 4, 3, 5)
    proto = _export(model, (x,), dynamic_axes={"x": {0: "batch", 2: "height"}})
    assert _ops(proto).count("ConvTranspose") == 2
    for feed in (x, retrograd.randn(3, 4, 6, 5)):
        _close(_run(proto, x=feed), model, feed)


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True)
        self.gru = nn.GRU(5, 4, bidirectional=True)
        self.rnn = nn.RNN(8, 4, bias=False)

    def forward(self, x, h):
        y, (h_n, c_n) = self.lstm(x)
        z, g_n = self.gru(y)
        w, r_n = self.rnn(z, h)
        return y, h_n, c_n, z, g_n, w, r_n


def test_lstm_gru_rnn_layers_with_dynamic_batch_and_length():
    """(onnx's reference evaluator runs no Relu RNN, so nonlinearity='relu' is not here)"""
    retrograd.manual_seed(0)
    model, x, h = Recurrent().eval(), retrograd.randn(2, 6, 3), retrograd.randn(1, 6, 4)
    proto = _export(model, (x, h), dynamic_axes={"x": {0: "batch", 1: "length"}, "h": {1: "length"}})
    assert [op for op in _ops(proto) if op in ("LSTM", "GRU", "RNN")] == ["LSTM", "LSTM", "GRU", "GRU", "RNN"]
    for feed in ((x, h), (retrograd.randn(4, 3, 3), retrograd.randn(1, 3, 4))):
        _close(_run(proto, x=feed[0], h=feed[1]), model, *feed)


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.acts = nn.ModuleList([nn.SiLU(), nn.ReLU6(), nn.ELU(0.7), nn.SELU(), nn.CELU(0.5), nn.Softplus(2.0, 1.0),
                                   nn.Mish(), nn.Hardswish(), nn.Hardsigmoid(), nn.Softsign(), nn.LogSigmoid(),
                                   nn.GELU("tanh")])

    def forward(self, x):
        return tuple(act(x) for act in self.acts) + (
            retrograd.clamp(x, -0.5, 0.5), retrograd.rsqrt(x.abs() + 1), retrograd.maximum(x, -x), x.sin() + x.cos(),
            retrograd.erf(x), x.amax(1), x.min())


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_activations_and_elementwise_math(opset):
    x = retrograd.randn(4, 6) * 3
    proto = _export(Activations(), (x,), opset_version=opset)
    _close(_run(proto, x=x), Activations(), x)


class Pieces(nn.Module):
    def forward(self, x):
        a, b, c = x.chunk(3, dim=1)
        return (retrograd.stack([a, b, c], 1), x[:, -1], x[0, 1:3, None], x[..., ::2], x[:, 1:-1, 2],
                retrograd.where(x > 0, x, 0.0), x.masked_fill((x < 0) & ~(x < -1), 1.0), (x == x.max()).float(),
                1 < x, x.ne(0.5) | x.le(0), retrograd.logical_not(x))


def test_indexing_split_stack_and_masks_follow_the_inputs():
    """Comparisons, which run without autograd, are recorded too: their masks follow new inputs."""
    x = retrograd.randn(2, 6, 4)
    proto = _export(Pieces(), (x,), dynamic_axes={"x": [0, 2]})
    for feed in (x, retrograd.randn(3, 6, 5)):
        got = _run(proto, x=feed)
        with retrograd.no_grad():
            want = Pieces()(feed)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-6)
    assert {"Split", "Slice", "Gather", "Unsqueeze", "Greater", "Less", "Equal", "And", "Not", "Or", "Where"} <= \
        set(_ops(proto))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)

    def forward(self, tokens):
        return self.enc(self.emb(tokens), src_key_padding_mask=tokens == 0)


def test_transformer_encoder_layer_with_a_padding_mask_and_dynamic_axes():
    retrograd.manual_seed(0)
    model = Encoder().eval()
    tokens = retrograd.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    proto = _export(model, (tokens,), dynamic_axes={"tokens": {0: "batch", 1: "length"}})
    assert "Softmax" in _ops(proto) and "LayerNormalization" in _ops(proto)
    out = proto.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in out] == ["batch", "length", 8]  # traced back to the input's names
    longer = retrograd.tensor([[1, 2, 3, 0, 7, 7], [4, 5, 0, 0, 1, 1], [3, 3, 3, 3, 0, 0]])
    for feed in (tokens, longer):
        _close(_run(proto, tokens=feed), model, feed)


class FromItem(nn.Module):
    def forward(self, x):
        return x * retrograd.tensor(x[0].sum().item())  # a value of the input that no op computes


def test_a_constant_computed_from_the_input_without_ops_is_refused():
    """The check run (shuffled values) sees the constant change: as a constant it would be frozen."""
    with pytest.raises(retrograd.onnx.OnnxExporterError, match="changes when the inputs' values change"):
        retrograd.onnx.export(FromItem(), (retrograd.randn(2, 3),), io.BytesIO())


class Branchy(nn.Module):
    def forward(self, x):
        return x.relu() if x[0, 0].item() > 0 else x.sigmoid()


def test_control_flow_on_input_values_is_refused():
    x = retrograd.tensor([[1.0, -1.0], [-2.0, -3.0]])  # shuffled, x[0, 0] is negative
    wrapped = (retrograd.Tensor.__gt__, retrograd.Tensor.eq, F.max_pool2d, F.batch_norm, retrograd.max_pool2d)
    with pytest.raises(retrograd.onnx.OnnxExporterError, match="control flow depends on the values"):
        retrograd.onnx.export(Branchy(), (x,), io.BytesIO())
    assert (retrograd.Tensor.__gt__, retrograd.Tensor.eq, F.max_pool2d, F.batch_norm, retrograd.max_pool2d) == wrapped


def test_random_numbers_and_buffers_are_as_after_one_run():
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("calls", retrograd.zeros(1))

        def forward(self, x):
            self.calls.add_(1)
            return x + retrograd.randn(3)  # the same noise in both runs: a constant

    model, x = Noisy(), retrograd.randn(2, 3)
    retrograd.manual_seed(5)
    proto = _export(model, (x,))
    after = retrograd.randn(1)
    retrograd.manual_seed(5)
    noise = retrograd.randn(3)
    assert float(retrograd.randn(1)) == float(after)  # one forward's draws, as torch's export
    assert float(model.calls) == 1.0
    np.testing.assert_allclose(_run(proto, x=x)[0], (x + noise).numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------- names, axes, options


def test_input_and_output_names_and_default_names():
    retrograd.manual_seed(0)
    model, x = mlp(), retrograd.randn(4, 3)
    proto = _export(model, (x,), input_names=["features"], output_names=["probability"])
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["probability"]
    assert proto.graph.node[-1].output[0] == "probability"
    default = _export(Block(), (retrograd.randn(1, 2, 6),))
    assert [i.name for i in default.graph.input] == ["x"]  # the forward's parameter name
    assert [o.name for o in default.graph.output] == ["output"]
    with pytest.raises(ValueError, match="input_names"):
        retrograd.onnx.export(model, (x,), io.BytesIO(), input_names=["a", "b"])
    with pytest.raises(ValueError, match="neither an input"):
        retrograd.onnx.export(model, (x,), io.BytesIO(), dynamic_axes={"nope": [0]})


def test_a_detached_parameter_is_still_the_parameter():
    class Detached(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(retrograd.ones(3) * 2)

        def forward(self, x):
            return x * self.scale.detach()

    proto = _export(Detached(), (retrograd.randn(2, 3),), input_names=["x"])
    assert [i.name for i in proto.graph.initializer] == ["scale"]
    with pytest.raises(ValueError, match=r"\['scale'\]"):
        retrograd.onnx.export(Detached(), (retrograd.randn(2, 3),), io.BytesIO(), input_names=["scale"])


class Scaled2(nn.Module):
    def forward(self, x, bias=None, scale=None):
        return x * scale + bias


def test_keyword_tensors_are_inputs_named_by_their_keywords():
    x, b, s = retrograd.randn(2, 3), retrograd.randn(3), retrograd.randn(2, 3)
    for args, kw in (((x,), {"kwargs": {"scale": s, "bias": b}}), ((x, {"scale": s, "bias": b}), {})):
        proto = _export(Scaled2(), args, **kw)
        assert [i.name for i in proto.graph.input] == ["x", "scale", "bias"]
        (got,) = _run(proto, x=x, scale=s, bias=b)
        np.testing.assert_allclose(got, (x * s + b).numpy(), rtol=1e-6)


def test_without_dynamic_axes_shapes_are_fixed():
    retrograd.manual_seed(0)
    model, x = mlp(), retrograd.randn(4, 3)
    proto = _export(model, (x,))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [4, 3]
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == [4, 2]


class SizedConstant(nn.Module):
    def forward(self, x):
        return x + retrograd.zeros(x.shape[0], 3)


def test_a_constant_sized_by_a_dynamic_axis_is_refused():
    x = retrograd.randn(2, 3)
    _export(SizedConstant(), (x,))  # fixed shapes: fine
    with pytest.raises(retrograd.onnx.OnnxExporterError, match=r"constant tensor of shape \[2, 3\]"):
        retrograd.onnx.export(SizedConstant(), (x,), io.BytesIO(), dynamic_axes={"x": [0]})


class Scaled(nn.Module):
    def forward(self, x):
        return x * (retrograd.eye(3) * 2 + 1)


def test_constant_folding():
    x = retrograd.randn(3, 3)
    folded = _export(Scaled(), (x,))
    assert _ops(folded) == ["Mul"]
    unfolded = _export(Scaled(), (x,), do_constant_folding=False)
    assert _ops(unfolded) == ["Mul", "Add", "Mul"]
    for proto in (folded, unfolded):
        _close(_run(proto, x=x), Scaled(), x)


def test_export_params_and_keep_initializers_as_inputs():
    retrograd.manual_seed(0)
    model, x = nn.Linear(3, 2), retrograd.randn(4, 3)
    proto = _export(model, (x,), input_names=["x"], export_params=False)
    assert [i.name for i in proto.graph.input] == ["x", "weight", "bias"] and not proto.graph.initializer
    out = _run(proto, x=x, weight=model.weight.detach(), bias=model.bias.detach())
    _close(out, model, x)
    kept = _export(model, (x,), input_names=["x"], keep_initializers_as_inputs=True)
    assert [i.name for i in kept.graph.input] == ["x", "weight", "bias"]
    assert [i.name for i in kept.graph.initializer] == ["weight", "bias"]


def test_training_modes():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    x = retrograd.randn(20, 3)
    model.train()
    assert _ops(_export(model, (x,))) == ["Gemm"]  # EVAL (the default): dropout is the identity
    assert model.training and model[1].training  # restored
    preserved = _export(model, (x,), training=retrograd.onnx.TrainingMode.PRESERVE)
    assert _ops(preserved) == ["Gemm", "Dropout"]  # not a mask drawn once and frozen into the graph
    (y,) = _run(preserved, **{"input": x})
    with retrograd.no_grad():
        full = model[0](x).numpy() * 2
    assert np.all(np.isclose(y, 0) | np.isclose(y, full, rtol=1e-5)) and np.isclose(y, 0).any()
    model.eval()
    assert _ops(_export(model, (x,), training=retrograd.onnx.TrainingMode.TRAINING)) == ["Gemm", "Dropout"]
    assert not model.training
    channels = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Dropout2d())
    with pytest.raises(retrograd.onnx.errors.UnsupportedOperatorError, match="module '1' \\(Dropout2d\\)"):
        retrograd.onnx.export(channels, (retrograd.randn(1, 1, 2, 2),), io.BytesIO(),
                              training=retrograd.onnx.TrainingMode.TRAINING)


def test_verbose_prints_the_graph(capsys):
    retrograd.onnx.export(mlp(), (retrograd.randn(1, 3),), io.BytesIO(), verbose=True)
    assert "Gemm" in capsys.readouterr().out
    retrograd.onnx.export(mlp(), (retrograd.randn(1, 3),), io.BytesIO())
    assert capsys.readouterr().out == ""


class _Square(retrograd.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g


class UsesFunction(nn.Module):
    def forward(self, x):
        return _Square.apply(x) + 1


def test_a_custom_function_is_inlined_or_refused():
    x = retrograd.randn(2, 2)
    proto = _export(UsesFunction(), (x,))
    assert _ops(proto) == ["Mul", "Add"]
    _close(_run(proto, x=x), UsesFunction(), x)
    with pytest.raises(retrograd.onnx.errors.UnsupportedOperatorError, match="_Square"):
        retrograd.onnx.export(UsesFunction(), (x,), io.BytesIO(), autograd_inlining=False)


def test_is_in_onnx_export():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(retrograd.onnx.is_in_onnx_export())
            return x + 1

    _export(Probe(), (retrograd.randn(2),))
    assert seen == [True, True] and not retrograd.onnx.is_in_onnx_export()  # the trace and the check run


# ---------------------------------------------------------------------------- errors


class Running(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return retrograd.cumsum(self.fc(x), 1)


def test_an_op_without_lowering_names_itself_and_its_module():
    with pytest.raises(retrograd.onnx.errors.UnsupportedOperatorError) as info:
        retrograd.onnx.export(nn.Sequential(Running()), (retrograd.randn(1, 2),), io.BytesIO())
    message = str(info.value)
    assert "Cumsum" in message and "module '0' (Running)" in message and "Supported ops:" in message
    assert "Addmm" in message and isinstance(info.value, RuntimeError)
    from retrograd.autograd import function

    assert function.profile_hook is None  # the hook is given back after a failed export


def test_unsupported_arguments_raise_naming_them():
    x = retrograd.randn(1, 3)
    for kw in ({"dynamo": True}, {"dynamic_shapes": {"x": {0: "b"}}}, {"custom_opsets": {"x": 1}},
               {"export_modules_as_functions": True}, {"external_data": False}, {"report": True},
               {"operator_export_type": retrograd.onnx.OperatorExportTypes.ONNX_ATEN}):
        with pytest.raises(NotImplementedError, match=next(iter(kw))):
            retrograd.onnx.export(mlp(), (x,), io.BytesIO(), **kw)
    with pytest.raises(ValueError, match="opset_version=9"):
        retrograd.onnx.export(mlp(), (x,), io.BytesIO(), opset_version=9)
    with pytest.raises(TypeError, match="nn.Module"):
        retrograd.onnx.export(lambda t: t, (x,), io.BytesIO())


@requires_torch
def test_the_signature_is_torchs():
    """The same parameters in the same order with the same defaults, except dynamo (see export.py)."""
    import inspect

    ours = inspect.signature(retrograd.onnx.export).parameters
    theirs = inspect.signature(torch.onnx.export).parameters
    assert list(ours) == list(theirs)
    differ = [n for n in ours if n != "dynamo" and ours[n].default != theirs[n].default
              and int(ours[n].default) != int(theirs[n].default)]  # the enums: equal values
    assert not differ and ours["dynamo"].default is False and theirs["dynamo"].default is True


def test_every_parameter_is_read():
    from tests.test_no_ignored_arguments import _unread

    assert _unread(retrograd.onnx.export) == []


def test_refuses_while_a_profiler_records():
    from retrograd.autograd import function

    with retrograd.profiler.profile():
        with pytest.raises(RuntimeError, match="profiler is recording"):
            retrograd.onnx.export(mlp(), (retrograd.randn(1, 3),), io.BytesIO())
        assert function.profile_hook is not None  # the profiler's hook is left in place
    assert function.profile_hook is None


def test_without_onnx_export_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # what Python's import system reads as "not installed"
    with pytest.raises(ModuleNotFoundError, match="pip install onnx") as info:
        retrograd.onnx.export(mlp(), (retrograd.randn(1, 3),), io.BytesIO())
    assert info.value.name == "onnx"


def test_without_onnx_the_package_imports():
    code = ("import sys; sys.modules['onnx'] = None; import retrograd; "
            "assert retrograd.onnx.TrainingMode.EVAL == 0 and callable(retrograd.onnx.export)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(__file__)))


# ---------------------------------------------------------------------------- against torch's exporter


def _torch_ops(build, args, **kw):
    import warnings

    retrograd.manual_seed(0)
    model = build(torch)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args(torch), buf, dynamo=False, **kw)
    return _ops(onnx.load_from_string(buf.getvalue()))


@requires_torch
@pytest.mark.parametrize("case", ["mlp", "block", "bag"])
def test_node_types_match_torchs_exporter(case):
    def build_mlp(m):
        return m.nn.Sequential(m.nn.Linear(3, 4), m.nn.ReLU(), m.nn.Linear(4, 2), m.nn.Softmax(dim=1))

    def build_block(m):
        return m.nn.Sequential(m.nn.LayerNorm(6), m.nn.Linear(6, 5), m.nn.GELU(), m.nn.Dropout(), m.nn.Tanh())

    def build_bag(m):
        return m.nn.Sequential(m.nn.Embedding(7, 3), m.nn.Flatten(), m.nn.Linear(6, 2), m.nn.LogSoftmax(1))

    build, args = {
        "mlp": (build_mlp, lambda m: (m.ones(2, 3),)),
        "block": (build_block, lambda m: (m.ones(2, 6),)),
        "bag": (build_bag, lambda m: (m.tensor([[1, 2], [3, 4]]),)),
    }[case]
    assert _ops(_export(build(retrograd).eval(), args(retrograd))) == _torch_ops(build, args)
