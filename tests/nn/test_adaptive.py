"""nn.AdaptiveLogSoftmaxWithLoss (nn/modules/adaptive.py) against torch: from the same weights
the outputs, loss, log_prob, predict and every gradient are torch's."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import reference, torch

CONFIGS = [  # (in_features, n_classes, cutoffs, keyword arguments)
    (16, 20, [4, 10], {}),
    (8, 30, [2, 3, 17], dict(div_value=1.5, head_bias=True)),
]


def _shapes(in_features, n_classes, cutoffs, kw):
    """torch's parameter names and shapes, read off its module once (see test_parameter_names...)."""
    div = kw.get("div_value", 4.0)
    bounds = list(cutoffs) + [n_classes]
    shapes = {"head.weight": (cutoffs[0] + len(cutoffs), in_features)}
    if kw.get("head_bias"):
        shapes["head.bias"] = (cutoffs[0] + len(cutoffs),)
    for i in range(len(cutoffs)):
        hidden = int(in_features // div ** (i + 1))
        shapes[f"tail.{i}.0.weight"] = (hidden, in_features)
        shapes[f"tail.{i}.1.weight"] = (bounds[i + 1] - bounds[i], hidden)
    return shapes


def _run(lib, config, weights, x, target):
    m = lib.nn.AdaptiveLogSoftmaxWithLoss(*config[:3], **config[3], dtype=lib.float32)
    m.load_state_dict({k: lib.tensor(v, dtype=lib.float32) for k, v in weights.items()})
    xt = lib.tensor(x, dtype=lib.float32, requires_grad=True)
    out = m(xt, lib.tensor(target))
    (out.output.sum() * 0.25 + out.loss).backward()
    result = {"output": out.output.detach().numpy(), "loss": out.loss.detach().numpy(), "dx": xt.grad.numpy(),
              # a tail no target reached gets no gradient, as in torch: recorded as nan
              "grads": {k: np.asarray(np.nan) if p.grad is None else p.grad.numpy() for k, p in m.named_parameters()}}
    if x.ndim == 2:
        result["log_prob"] = m.log_prob(xt.detach()).detach().numpy()
        result["predict"] = m.predict(xt.detach()).numpy()
    return result


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("batched", [True, False])
def test_outputs_loss_and_gradients_equal_torchs_from_the_same_weights(config, batched):
    rng = np.random.default_rng(len(config[2]) + batched)
    weights = {k: rng.standard_normal(s) * 0.5 for k, s in _shapes(*config).items()}
    x = rng.standard_normal((9, config[0]) if batched else config[0])
    target = rng.integers(0, config[1], 9) if batched else np.int64(config[1] - 1)
    if batched:
        target[:3] = [0, config[2][0], config[1] - 1]  # the shortlist and two clusters at least
    got = _run(retrograd, config, weights, x, target)
    want = reference(lambda: _run(torch, config, weights, x, target),
                     inputs=[x, target, *weights.values(), repr(config)])
    assert got.keys() == want.keys() and got["grads"].keys() == want["grads"].keys()
    for key in got:
        if key == "grads":
            for name in got["grads"]:
                np.testing.assert_allclose(got["grads"][name], want["grads"][name], rtol=1e-5, atol=1e-6, err_msg=name)
        elif key == "predict":
            np.testing.assert_array_equal(got[key], want[key])
        else:
            assert got[key].shape == want[key].shape, key
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_parameter_names_shapes_and_attributes_are_torchs():
    m = nn.AdaptiveLogSoftmaxWithLoss(16, 20, (4, 10), div_value=2.0)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        "head.weight": (6, 16), "tail.0.0.weight": (8, 16), "tail.0.1.weight": (6, 8),
        "tail.1.0.weight": (4, 16), "tail.1.1.weight": (10, 4)}  # read off torch 2.13's module
    assert (m.cutoffs, m.shortlist_size, m.n_clusters, m.head_size) == ([4, 10, 20], 4, 2, 6)
    assert isinstance(m.tail, nn.ModuleList) and isinstance(m.tail[0], nn.Sequential)
    assert repr(m.tail[1]) == ("Sequential(\n  (0): Linear(in_features=16, out_features=4, bias=False)\n"
                               "  (1): Linear(in_features=4, out_features=10, bias=False)\n)")
    m64 = nn.AdaptiveLogSoftmaxWithLoss(6, 3, [1], head_bias=True, dtype=retrograd.float64)
    assert m64.head.bias.shape == (2,) and all(p.dtype == retrograd.float64 for p in m64.parameters())
    out = m64(retrograd.randn(6, dtype=retrograd.float64), retrograd.tensor(2))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    assert out.output.shape == () and out.loss.item() == -out.output.item()
    empty = m64(retrograd.randn(0, 6, dtype=retrograd.float64), retrograd.zeros(0, dtype=retrograd.long))
    assert empty.output.shape == (0,) and np.isnan(empty.loss.item())  # a mean over nothing, as torch
    assert m64.predict(retrograd.randn(0, 6, dtype=retrograd.float64)).shape == (0,)


@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, []), ValueError, "length larger than 0"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 4]), ValueError, "unique, positive integers"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, [10, 4]), ValueError, "sorted in an increasing order"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, [0, 4]), ValueError, "between 1 and n_classes-1"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 20]), ValueError, "between 1 and n_classes-1"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4.5, 10]), ValueError, "integers"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4.0, 10]), TypeError, "integers"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 20, 4), TypeError, "not iterable"),
])
def test_cutoff_errors_are_torchs(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("x_shape,target,error,match", [
    ((5, 16), [0, 3, 4, 12, 20], RuntimeError, r"Target values should be in \[0, 19\], but values in range \[0, 20\]"),
    ((5, 16), [0, -1, 4, 12, 25], RuntimeError, r"values in range \[-1, 25\] were found"),
    ((5, 16), [0, 3, 4], RuntimeError, "same size in the batch dimension"),
    ((16,), [1], RuntimeError, "same size in the batch dimension"),
    ((5, 2, 16), [0, 3, 4, 12, 19], RuntimeError, "1D target tensor expects 2D input tensors"),
    ((3, 16), 1, RuntimeError, "0D target tensor expects 1D input tensors"),
    ((16,), [[1]], RuntimeError, "multi-target not supported"),
    ((5, 16), [0., 3, 4, 12, 19], RuntimeError, "int64 or int32 target"),
])
def test_input_and_target_errors_are_torchs(x_shape, target, error, match):
    m = nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10])
    with pytest.raises(error, match=match):
        m(retrograd.randn(*x_shape), retrograd.tensor(target))


def test_log_prob_and_predict_take_a_batch():
    m = nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10])
    x = retrograd.randn(7, 16)
    lp = m.log_prob(x)
    np.testing.assert_allclose(lp.exp().sum(1).detach().numpy(), np.ones(7), rtol=1e-5)  # a distribution
    assert retrograd.equal(m.predict(x), lp.argmax(1))
    assert m(x, m.predict(x)).output.detach().numpy() == pytest.approx(lp.max(1).values.detach().numpy(), rel=1e-5)
    with pytest.raises(IndexError, match="expected"):
        m.log_prob(x[0])
    with pytest.raises(RuntimeError, match="expected"):
        m.predict(x[None])
