"""nn.functional.linear_cross_entropy, nn.LinearCrossEntropyLoss and nn.LinearCrossEntropyOptions:
values and gradients equal cross_entropy(linear(...)) and torch's, on the reference path and on
the chunked one (which must never allocate the whole logits matrix); torch's fallbacks and errors."""

import tracemalloc
import warnings

import numpy as np
import pytest
from helpers import reference, torch

import retrograd
from retrograd import nn
from retrograd.nn import functional as F

N, IN, C = 13, 5, 7


def _data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((N, IN)), rng.standard_normal((C, IN)), rng.standard_normal(C)
    t = rng.integers(0, C, N)
    t[3] = -100  # an ignored row
    return x.astype(dtype), w.astype(dtype), b.astype(dtype), t, rng.random(C).astype(dtype), rng.standard_normal(N)


def _run(lib, x, w, t, b=None, cw=None, options=None, upstream=None, **kwargs):
    """The loss and the gradients of input, weight (and bias) for the upstream gradient (ones)."""
    xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
    bt = None if b is None else lib.tensor(b, requires_grad=True)
    opts = None if options is None else lib.nn.LinearCrossEntropyOptions(**options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the fallbacks' warning: tested below)
        loss = lib.nn.functional.linear_cross_entropy(xt, wt, lib.tensor(t), linear_bias=bt,
                                                      weight=None if cw is None else lib.tensor(cw), options=opts,
                                                      **kwargs)
    up = np.ones(tuple(loss.shape)) if upstream is None else upstream
    (loss * lib.tensor(up.astype(x.dtype))).sum().backward()
    return [loss.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()] + ([] if bt is None else [bt.grad.numpy()])


CASES = [
    dict(),
    dict(reduction="sum", bias=True),
    dict(reduction="none", class_weights=True),
    dict(reduction="mean", bias=True, class_weights=True),
]
OPTIONS = [None, dict(), dict(batch_chunk_size=4), dict(chunking_method="aspect_ratio:1")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_the_composition_and_torch(case, options, dtype):
    x, w, b, t, cw, up = _data(dtype)
    kwargs = dict(b=b if case.get("bias") else None, cw=cw if case.get("class_weights") else None,
                  reduction=case.get("reduction", "mean"), upstream=up if case.get("reduction") == "none" else None)
    ours = _run(retrograd, x, w, t, options=options, **kwargs)
    composed = _composition(x, w, t, **kwargs)
    theirs = reference(lambda: _run(torch, x, w, t, options=options, **kwargs))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for a, c, d in zip(ours, composed, theirs):
        assert a.shape == d.shape and a.dtype == d.dtype
        np.testing.assert_allclose(a, c, **tol)
        np.testing.assert_allclose(a, d, **tol)


def _composition(x, w, t, b=None, cw=None, reduction="mean", upstream=None):
    """cross_entropy(linear(x, w, b), t): what linear_cross_entropy must equal."""
    xt, wt = retrograd.tensor(x, requires_grad=True), retrograd.tensor(w, requires_grad=True)
    bt = None if b is None else retrograd.tensor(b, requires_grad=True)
    cwt = None if cw is None else retrograd.tensor(cw)
    loss = F.cross_entropy(F.linear(xt, wt, bt), retrograd.tensor(t), weight=cwt, reduction=reduction)
    up = np.ones(tuple(loss.shape)) if upstream is None else upstream
    (loss * retrograd.tensor(up.astype(x.dtype))).sum().backward()
    return [loss.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()] + ([] if bt is None else [bt.grad.numpy()])


@pytest.mark.parametrize("options", [None, dict(batch_chunk_size=3)])
def test_unbatched_input_and_ignore_index(options):
    x, w, b, t, _, _ = _data()
    t = np.where(t == -100, 2, t)
    for args in [(x[0], w, np.int64(t[0])), (x, w, t)]:
        ours = _run(retrograd, *args, options=options, ignore_index=2)
        theirs = reference(lambda: _run(torch, *args, options=options, ignore_index=2))
        for a, d in zip(ours, theirs):
            np.testing.assert_allclose(a, d, rtol=1e-10, atol=1e-12)


def test_the_chunked_path_never_allocates_the_whole_logits_matrix():
    """Peak memory of forward + backward: the reference path holds (N, C) logits (and their
    gradient); chunks of 8 rows stay far below one (N, C) array."""
    rng = np.random.default_rng(3)
    n, c, d = 64, 4000, 8
    x = retrograd.tensor(rng.standard_normal((n, d)), requires_grad=True)
    w = retrograd.tensor(rng.standard_normal((c, d)) * 0.1, requires_grad=True)
    t = retrograd.tensor(rng.integers(0, c, n))
    logits_bytes = n * c * 8

    def peak(options):
        tracemalloc.start()
        try:
            F.linear_cross_entropy(x, w, t, options=options).backward()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(None) > logits_bytes
    assert peak(nn.LinearCrossEntropyOptions(batch_chunk_size=8)) < logits_bytes / 2


def test_unsupported_configurations_fall_back_with_torchs_warning():
    x, w, _, t, _, _ = _data()
    probs = np.random.default_rng(1).random((N, C))
    probs /= probs.sum(1, keepdims=True)
    w3 = np.random.default_rng(2).standard_normal((C, 2, IN))
    t3 = np.random.default_rng(2).integers(0, C, (N, 2))
    cases = [((x, w, t), dict(label_smoothing=0.2)), ((x, w, probs), {}), ((x, w3, t3), {})]
    for args, kwargs in cases:
        with pytest.warns(UserWarning, match=r"``options`` ignored; chunked path needs reduction"):
            F.linear_cross_entropy(*[retrograd.tensor(a) for a in args], options=nn.LinearCrossEntropyOptions(),
                                   **kwargs)
        ours = _run(retrograd, *args, options=dict(), **kwargs)
        theirs = reference(lambda: _run(torch, *args, options=dict(), **kwargs))
        for a, d in zip(ours, theirs):
            np.testing.assert_allclose(a, d, rtol=1e-10, atol=1e-12)


def test_k_dimensional_loss_with_bias_matches_torch():
    rng = np.random.default_rng(4)
    x, w, b, t = (rng.standard_normal((N, IN)), rng.standard_normal((C, 2, IN)), rng.standard_normal((C, 2)),
                  rng.integers(0, C, (N, 2)))
    ours = _run(retrograd, x, w, t, b=b)
    theirs = reference(lambda: _run(torch, x, w, t, b=b))
    for a, d in zip(ours, theirs):
        np.testing.assert_allclose(a, d, rtol=1e-10, atol=1e-12)


def test_float16_input_is_computed_in_float32_on_the_chunked_path():
    x, w, _, t, _, _ = _data(np.float16)
    ours = _run(retrograd, x, w, t, options=dict(batch_chunk_size=4))
    exact = _run(retrograd, x.astype(np.float32), w.astype(np.float32), t, options=dict(batch_chunk_size=4))
    for a, e in zip(ours, exact):
        assert a.dtype == np.float16
        np.testing.assert_allclose(a.astype(np.float32), e.astype(np.float16).astype(np.float32), rtol=0, atol=0)
    with pytest.raises(NotImplementedError, match="acc_policy='compact'"):
        _run(retrograd, x, w, t, options=dict(acc_policy="compact"))


def test_a_second_backward_raises_unless_allowed_and_create_graph_raises():
    x, w, _, t, _, _ = _data()
    xt = retrograd.tensor(x, requires_grad=True)
    wt = retrograd.tensor(w, requires_grad=True)
    loss = F.linear_cross_entropy(xt, wt, retrograd.tensor(t), options=nn.LinearCrossEntropyOptions())
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="chunked backward called twice"):
        loss.backward()
    first = xt.grad.clone()
    allowed = nn.LinearCrossEntropyOptions(allow_retain_graph=True)
    loss = F.linear_cross_entropy(xt, wt, retrograd.tensor(t), options=allowed)
    xt.grad = None
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(xt.grad.numpy(), 2 * first.numpy(), rtol=1e-12)
    loss = F.linear_cross_entropy(xt, wt, retrograd.tensor(t), options=nn.LinearCrossEntropyOptions())
    with pytest.raises(RuntimeError, match="create_graph"):
        retrograd.autograd.grad(loss, xt, create_graph=True)


@pytest.mark.parametrize("kwargs,message", [
    (dict(batch_chunk_size=0), "batch_chunk_size must be positive int or None, got 0"),
    (dict(chunking_method="foo"), "invalid chunking_method: 'foo'"),
    (dict(chunking_method="aspect_ratio:0"), "invalid chunking_method: 'aspect_ratio:0'"),
    (dict(acc_policy="foo"), "invalid acc_policy: 'foo'"),
])
def test_options_validate_as_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.LinearCrossEntropyOptions(**kwargs)


def test_options_are_frozen_and_print_as_torch():
    opts = nn.LinearCrossEntropyOptions()
    assert repr(opts) == ("LinearCrossEntropyOptions(allow_retain_graph=False, batch_chunk_size=None, "
                          "chunking_method='auto', acc_policy='auto', acc_dtype=None)")
    with pytest.raises(AttributeError):
        opts.batch_chunk_size = 3


def test_argument_errors_as_torch():
    x, w, _, t, _, _ = _data()
    xt, wt, tt = retrograd.tensor(x), retrograd.tensor(w), retrograd.tensor(t)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.linear_cross_entropy(xt, wt, tt, reduction="foo")
    with pytest.raises(RuntimeError, match="expected input with dimensionality 1 or 2, got 3"):
        F.linear_cross_entropy(xt.reshape(1, N, IN), wt, tt)
    with pytest.raises(RuntimeError, match="supports float32 acc_dtype with float16/bfloat16 inputs"):
        F.linear_cross_entropy(xt, wt, tt, options=nn.LinearCrossEntropyOptions(acc_dtype=retrograd.float32))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear_cross_entropy(xt, wt.float(), tt, options=nn.LinearCrossEntropyOptions())


def test_module_holds_a_flat_linear_and_matches_the_functional():
    loss = nn.LinearCrossEntropyLoss(IN, C, out_features=(2, 3), bias=True, reduction="sum")
    assert tuple(loss.linear.weight.shape) == (C * 6, IN) and tuple(loss.linear.bias.shape) == (C * 6,)
    assert [n for n, _ in loss.named_parameters()] == ["linear.weight", "linear.bias"]
    assert repr(loss).splitlines()[1].strip() == (
        "in_features=5, num_classes=7, out_features=(2, 3), bias=True, reduction=sum, ignore_index=None, "
        "label_smoothing=0.0, options=None")
    x = retrograd.randn(4, IN)
    t = retrograd.randint(0, C, (4, 2, 3))
    expected = F.cross_entropy(loss.linear(x).reshape(4, C, 2, 3), t, reduction="sum")
    np.testing.assert_allclose(loss(x, t).detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    plain = nn.LinearCrossEntropyLoss(IN, C, options=nn.LinearCrossEntropyOptions(batch_chunk_size=2),
                                      weight=retrograd.rand(C))
    assert plain.linear.bias is None and [n for n, _ in plain.named_buffers()] == ["weight"]
    t = retrograd.randint(0, C, (4,))
    expected = F.cross_entropy(plain.linear(x), t, weight=plain.weight)
    np.testing.assert_allclose(plain(x, t).detach().numpy(), expected.detach().numpy(), rtol=1e-6)
