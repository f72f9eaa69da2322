"""nn.utils.parametrizations.orthogonal: every map gives an orthogonal weight (wide, tall, square,
batched), gradients reach the original, assignment goes through right_inverse, state_dict keys are
torch's, and values and gradients equal torch's with the same state loaded."""

import numpy as np
import pytest
from helpers import requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.utils.parametrizations import orthogonal

MAPS = ["matrix_exp", "cayley", "householder"]
SHAPES = [(4, 4), (5, 3), (3, 5)]  # (out_features, in_features): square, tall, wide


def _gram_error(w):
    q = w.detach().numpy()
    q = q if q.shape[-2] >= q.shape[-1] else np.swapaxes(q, -1, -2)
    return np.abs(np.swapaxes(q, -1, -2) @ q - np.eye(q.shape[-1])).max()


def _perturbed(m, seed):
    """The original moved off its starting point (not on the diagonal, which holds the
    Householder map's column signs)."""
    x = m.parametrizations.weight.original
    with retrograd.no_grad():
        noise = np.random.default_rng(seed).standard_normal(tuple(x.shape)) * 0.3
        noise[..., np.arange(min(x.shape[-2:])), np.arange(min(x.shape[-2:]))] = 0
        x.add_(retrograd.tensor(noise))
    return m


@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("trivialization", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_weight_is_orthogonal_and_gradients_reach_the_original(orthogonal_map, trivialization, shape):
    m = orthogonal(nn.Linear(shape[1], shape[0]).double(), orthogonal_map=orthogonal_map,
                   use_trivialization=trivialization)
    keys = ["bias", "parametrizations.weight.original"] + (["parametrizations.weight.0.base"] if trivialization else [])
    assert list(m.state_dict()) == keys
    if trivialization:  # the original starts at -I and the base is n x n
        n = max(shape)
        assert m.parametrizations.weight[0].base.shape == (n, n)
        np.testing.assert_array_equal(m.parametrizations.weight.original.detach().numpy(), -np.eye(*shape))
    _perturbed(m, seed=1)
    assert m.weight.shape == shape and _gram_error(m.weight) < 1e-12
    m(retrograd.ones(2, shape[1], dtype=retrograd.float64)).sum().backward()
    grad = m.parametrizations.weight.original.grad
    assert grad is not None and np.abs(grad.numpy()).max() > 0


def test_default_map_and_batched_weights():
    m = orthogonal(nn.Conv2d(2, 3, 2))  # weight (3, 2, 2, 2): a batch of 2 x 2 matrices
    assert m.parametrizations.weight[0].orthogonal_map == "matrix_exp"
    assert _gram_error(_perturbed(m, seed=2).weight) < 1e-5
    assert orthogonal(nn.Linear(3, 5)).parametrizations.weight[0].orthogonal_map == "householder"


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_training_keeps_the_weight_orthogonal(orthogonal_map):
    retrograd.manual_seed(0)
    m = orthogonal(nn.Linear(4, 4, bias=False).double(), orthogonal_map=orthogonal_map)
    target = retrograd.tensor(np.diag([1.0, -1.0, 1.0, -1.0])[::-1].copy())
    opt = retrograd.optim.SGD(m.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((m.weight - target) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and _gram_error(m.weight) < 1e-10


@pytest.mark.parametrize("shape", SHAPES)
def test_assigning_an_orthogonal_matrix_sets_the_weight(shape):
    q = np.linalg.qr(np.random.default_rng(3).standard_normal((max(shape), min(shape))))[0]
    q = q if shape[0] >= shape[1] else q.T
    for orthogonal_map, trivialization in (("matrix_exp", True), ("householder", True), ("householder", False)):
        m = orthogonal(nn.Linear(shape[1], shape[0]).double(), orthogonal_map=orthogonal_map,
                       use_trivialization=trivialization)
        m.weight = retrograd.tensor(q)
        np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-12)
    m = orthogonal(nn.Linear(3, 3).double(), use_trivialization=True)
    m.weight = retrograd.tensor(np.arange(9.0).reshape(3, 3) + np.eye(3))  # not orthogonal: orthonormalized
    assert _gram_error(m.weight) < 1e-12


def test_torchs_errors():
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions."):
        orthogonal(nn.Linear(3, 3), "bias")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'foo'"):
        orthogonal(nn.Linear(3, 3), "foo")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                                         "Got: qr"):
        orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    m = orthogonal(nn.Linear(3, 5))
    with pytest.raises(ValueError, match=r"of shape torch.Size\(\[5, 3\]\). Got a tensor of shape torch.Size\(\[3, 5\]\)"):
        m.weight = retrograd.randn(3, 5)
    w = nn.Linear(3, 3).weight.detach().numpy().copy()
    m = nn.Linear(3, 3)
    m.load_state_dict({"weight": w, "bias": np.zeros(3, dtype=np.float32)})
    orthogonal(m, orthogonal_map="cayley", use_trivialization=False)  # the original is the weight as it was
    np.testing.assert_array_equal(m.parametrizations.weight.original.detach().numpy(), w)
    with pytest.raises(NotImplementedError, match="not possible to assign to the matrix exponential or the Cayley"):
        m.weight = retrograd.eye(3)


@requires_torch
@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("trivialization", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradients_equal_torchs(orthogonal_map, trivialization, shape):
    tm = torch.nn.Linear(shape[1], shape[0]).double()
    rm = nn.Linear(shape[1], shape[0]).double()
    rm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=orthogonal_map, use_trivialization=trivialization)
    orthogonal(rm, orthogonal_map=orthogonal_map, use_trivialization=trivialization)
    # right after registration: the same weight (a tall base's extra columns are random; unused)
    np.testing.assert_allclose(rm.weight.detach().numpy(), tm.weight.detach().numpy(), atol=1e-13)
    state = {k: v.numpy() + np.random.default_rng(4).standard_normal(v.shape) * 0.3 * (k.endswith("original"))
             for k, v in tm.state_dict().items()}
    tm.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    rm.load_state_dict(state)
    tw, rw = tm.weight, rm.weight
    np.testing.assert_allclose(rw.detach().numpy(), tw.detach().numpy(), atol=1e-13)
    g = np.random.default_rng(5).standard_normal(shape)
    (tw * torch.tensor(g)).sum().backward()
    (rw * retrograd.tensor(g)).sum().backward()
    np.testing.assert_allclose(rm.parametrizations.weight.original.grad.numpy(),
                               tm.parametrizations.weight.original.grad.numpy(), atol=1e-12)


@requires_torch
def test_householder_right_inverse_equals_torchs():
    tm = torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(3, 3).double(), orthogonal_map="householder",
                                                    use_trivialization=False)
    rm = orthogonal(nn.Linear(3, 3).double(), orthogonal_map="householder", use_trivialization=False)
    for q in (np.eye(3), -np.eye(3), np.linalg.qr(np.random.default_rng(6).standard_normal((3, 3)))[0]):
        tm.weight = torch.tensor(q)
        rm.weight = retrograd.tensor(q)
        np.testing.assert_allclose(rm.parametrizations.weight.original.detach().numpy(),
                                   tm.parametrizations.weight.original.detach().numpy(), atol=1e-13)
        np.testing.assert_allclose(rm.weight.detach().numpy(), q, atol=1e-13)
