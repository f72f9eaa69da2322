"""clip_grad_norm_ / clip_grad_value_ / parameters_to_vector / vector_to_parameters."""

import math

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.utils import (clip_grad_norm_, clip_grad_value_, get_total_norm, parameters_to_vector,
                                vector_to_parameters)


def params_with_grads(lib, scale=1.0):
    ps = []
    for i, shape in enumerate([(3, 4), (4,), (2, 2)]):
        p = lib.nn.Parameter(lib.tensor(rand(*shape, seed=i)))
        p.grad = lib.tensor(rand(*shape, seed=10 + i) * scale)
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    ps = params_with_grads(retrograd)
    grads = [p.grad.numpy().copy() for p in ps]
    flat = np.concatenate([g.ravel() for g in grads])
    expect = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    assert isinstance(total, retrograd.Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.item(), expect, rtol=1e-10)
    coef = min(1.0, max_norm / (expect + 1e-6))
    for p, g in zip(ps, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-10)
    if torch is not None:
        tps = params_with_grads(torch)
        ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
        np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-10)
        for p, q in zip(ps, tps):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(retrograd.ones(3))
    assert clip_grad_norm_([p], 1.0).item() == 0.0  # no grads
    p.grad = retrograd.tensor([float("nan"), 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    q = nn.Parameter(retrograd.ones(2))
    q.grad = retrograd.tensor([3.0, 4.0])
    assert clip_grad_norm_(q, 1.0).item() == pytest.approx(5.0)  # a single tensor
    np.testing.assert_allclose(q.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert get_total_norm([retrograd.tensor([3.0, 4.0])]).item() == pytest.approx(5.0)


def test_clip_grad_value():
    ps = params_with_grads(retrograd, scale=3.0)
    grads = [p.grad.numpy().copy() for p in ps]
    clip_grad_value_(ps, 0.5)
    for p, g in zip(ps, grads):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.5, 0.5))


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's
@pytest.mark.parametrize("loss", [lambda p: p.sum(), lambda p: p.mean() * 8, lambda p: (p * 2).sum()],
                         ids=["sum", "mean", "mul"])
def test_clipping_grads_left_by_a_create_graph_backward(loss):
    # a sum's gradient is a broadcast of one value: it used to become a read-only, stride-0
    # .grad that clip_grad_value_ could not write ("output array is read-only")
    results = []
    for lib in [retrograd] + ([torch] if torch is not None else []):
        p, q = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0])), lib.nn.Parameter(lib.tensor([1.0, 1.0, 1.0]))
        (loss(p) + loss(q)).backward(create_graph=True)
        lib.nn.utils.clip_grad_value_([p], 0.5)
        total = lib.nn.utils.clip_grad_norm_([q], 1.0)
        results.append((p.grad.detach().numpy().copy(), q.grad.detach().numpy().copy(), total.item()))
    assert np.all(np.abs(results[0][0]) == 0.5)
    for ours, theirs in zip(results[0], results[-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_parameters_vector_round_trip():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    v = parameters_to_vector(m.parameters())
    assert v.shape == (11,)
    np.testing.assert_array_equal(v.detach().numpy()[:6], m[0].weight.detach().numpy().ravel())
    v.sum().backward()  # differentiable
    assert m[0].weight.grad is not None
    vector_to_parameters(retrograd.arange(11.0), m.parameters())
    np.testing.assert_array_equal(m[0].bias.detach().numpy(), [6.0, 7.0])
    np.testing.assert_array_equal(m[1].weight.detach().numpy(), [[8.0, 9.0]])
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        vector_to_parameters([1.0], m.parameters())


@requires_torch
def test_clip_in_training_loop_matches_torch():
    x, y = rand(8, 3), rand(8, 1, seed=1)
    results = []
    for lib in (retrograd, torch):
        model = lib.nn.Linear(3, 1).double()
        model.load_state_dict({"weight": lib.tensor(rand(1, 3, seed=2) * 5), "bias": lib.tensor(np.zeros(1))})
        loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        n = lib.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        results.append((n.item(), model.weight.grad.numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10)


def test_total_norm_of_float32_and_float64_grads_is_float64_as_torch():
    p = retrograd.ones(3, requires_grad=True)
    p.grad = retrograd.ones(3) * 3
    q = retrograd.ones(3, requires_grad=True, dtype=retrograd.float64)
    q.grad = retrograd.ones(3, dtype=retrograd.float64) * 3
    for params in ([p, q], [q, p]):
        assert get_total_norm([t.grad for t in params]).dtype is retrograd.float64  # was the first's
    total = clip_grad_norm_([p, q], 1.0)
    assert total.dtype is retrograd.float64 and math.isclose(total.item(), math.sqrt(54), rel_tol=1e-6)


def test_vector_to_parameters_makes_views_of_the_vector_as_torch():
    m = nn.Linear(2, 3)
    v = retrograd.arange(9.0, dtype=retrograd.float64)
    vector_to_parameters(v, m.parameters())
    assert m.weight.dtype is retrograd.float64  # torch's param.data = slice: the vector's dtype
    v[0] = 100.0
    assert m.weight[0, 0].item() == 100.0  # shares its memory (was a copy)
    with pytest.raises(RuntimeError, match="invalid for input of size 2"):
        vector_to_parameters(retrograd.arange(8.0), m.parameters())  # NumPy's ValueError escaped
    with pytest.raises(RuntimeError, match="floating point or complex"):
        vector_to_parameters(retrograd.arange(9), m.parameters())  # int weights that require grad
