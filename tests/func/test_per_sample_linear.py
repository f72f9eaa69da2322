"""func/_linear.py's PerSampleMatmul, the linear layer of vmap(grad(f)): each sample's
gradient of a shared weight equals a loop of autograd.grad, laid out as torch.func lays it
out (contiguous), for one or several rows per sample, a weight used as W^T (nn.Linear) or as
is, and with a graph kept for an outer derivative."""

import numpy as np
import pytest

import retrograd
from retrograd.func import grad, reset_vmap_fallbacks, vmap, vmap_fallbacks
from retrograd.nn import functional as F

rng = np.random.default_rng(0)
W = retrograd.tensor(rng.standard_normal((6, 4)))  # a linear layer's weight (out 6, in 4)
B = retrograd.tensor(rng.standard_normal(6))


def _loss(w, b, x):
    return F.linear(x, w, b).tanh().pow(2).sum()


def _loss_untransposed(m, b, x):  # the weight used as stored: linear(x, m^T) = x m
    return F.linear(x, m.t(), b).tanh().pow(2).sum()


@pytest.mark.parametrize("rows", [(), (3,)], ids=["one row per sample", "three rows per sample"])
@pytest.mark.parametrize("loss, weight", [(_loss, W), (_loss_untransposed, W.t().contiguous())],
                         ids=["weight as W^T", "weight as stored"])
def test_per_sample_weight_gradients_equal_a_loop_and_are_contiguous(rows, loss, weight):
    x = retrograd.tensor(rng.standard_normal((5,) + rows + (4,)))
    reset_vmap_fallbacks()
    gw, gb = vmap(grad(loss, argnums=(0, 1)), in_dims=(None, None, 0))(weight, B, x)
    assert vmap_fallbacks() == {}
    assert gw.shape == (5,) + tuple(weight.shape) and gw.is_contiguous()  # torch.func's layout
    for i in range(5):
        w, b = weight.clone().requires_grad_(), B.clone().requires_grad_()
        ew, eb = retrograd.autograd.grad(loss(w, b, x[i]), (w, b))
        np.testing.assert_allclose(gw[i].numpy(), ew.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(gb[i].numpy(), eb.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("rows", [(), (3,)], ids=["one row per sample", "three rows per sample"])
@pytest.mark.parametrize("loss, weight", [(_loss, W), (_loss_untransposed, W.t().contiguous())],
                         ids=["weight as W^T", "weight as stored"])
def test_per_sample_gradients_keep_a_graph_for_an_outer_derivative(rows, loss, weight):
    """The parameters require grad: the per-sample gradients carry a graph (the backward's
    formulas recorded as ops), and the derivative of their squared norm equals a loop's."""
    x = retrograd.tensor(rng.standard_normal((5,) + rows + (4,)))
    w = weight.clone().requires_grad_()
    gw = vmap(grad(loss), in_dims=(None, None, 0))(w, B, x)
    assert gw.requires_grad and gw.is_contiguous()
    (outer,) = retrograd.autograd.grad(gw.pow(2).sum(), w)
    expected = 0
    for i in range(5):
        (g,) = retrograd.autograd.grad(loss(w, B, x[i]), w, create_graph=True)
        np.testing.assert_allclose(gw[i].detach().numpy(), g.detach().numpy(), rtol=1e-6, atol=1e-6)
        expected = expected + retrograd.autograd.grad(g.pow(2).sum(), w)[0]
    np.testing.assert_allclose(outer.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


def test_a_weight_multiplied_by_matmul_takes_the_same_op():
    """x @ W (a hand-written layer) under vmap(grad(f)): one product for all the samples'
    rows (not one per sample), the gradients equal a loop's."""
    from retrograd.func._grad import _bottom

    nodes = []

    def f(m, xb):
        y = xb @ m
        nodes.append(type(_bottom(y)[0].grad_fn._next[0][0]).__name__)  # under the squeeze of the row
        return y.tanh().sum()

    m, x = W.t().contiguous(), retrograd.tensor(rng.standard_normal((5, 4)))
    g = vmap(grad(f), in_dims=(None, 0))(m, x)
    assert nodes == ["PerSampleMatmul"] and g.is_contiguous()
    for i in range(5):
        w = m.clone().requires_grad_()
        (e,) = retrograd.autograd.grad((x[i] @ w).tanh().sum(), w)
        np.testing.assert_allclose(g[i].numpy(), e.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f", [lambda w, xb: F.linear(xb, w).sum(), lambda w, xb: (xb @ w.t()).sum()],
                         ids=["linear", "matmul"])
def test_operands_of_two_dtypes_raise_torchs_error(f):
    x = retrograd.randn(3, 4)  # float32 samples, a float64 weight: products do not promote
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"):
        vmap(grad(f), in_dims=(None, 0))(W, x)
