"""Linear, Bilinear, Identity, Flatten/Unflatten, LazyLinear: values and gradients against
finite differences and torch (weights copied in), default init, errors."""

import math

import numpy as np
import pytest
from helpers import check_op, rand, requires_torch, torch

import retrograd
from retrograd import nn


@pytest.mark.parametrize("xshape, bias", [((4, 3), True), ((4, 3), False), ((2, 3, 3), True), ((3,), True)])
def test_linear_functional(xshape, bias):
    specs = (xshape, (2, 3)) + (((2,),) if bias else ())
    check_op(lambda t, x, w, *b: t.nn.functional.linear(x, w, *b), *specs)


@pytest.mark.parametrize("xshape, bias", [((4, 0), True), ((4, 0), False), ((2, 4, 0), True),
                                         ((2, 4, 0), False), ((0,), True)])
def test_linear_with_no_in_features(xshape, bias):
    # in_features = 0: the output is the bias (or zeros), dX and dW are empty, db = sum of G
    # (reshape(-1, 0) of the batch rows used to fail: 3-D forward, 2-D backward)
    specs = (xshape, (3, 0)) + (((3,),) if bias else ())
    check_op(lambda t, x, w, *b: t.nn.functional.linear(x, w, *b), *specs)
    x = retrograd.zeros(xshape, requires_grad=True)
    w = retrograd.zeros(3, 0, requires_grad=True)
    b = retrograd.tensor([1.0, 2.0, 3.0], requires_grad=True) if bias else None
    y = nn.functional.linear(x, w, b)
    assert y.shape == xshape[:-1] + (3,)
    expected = np.broadcast_to(np.array([1.0, 2.0, 3.0]) if bias else 0.0, y.shape)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    y.sum().backward()
    assert x.grad.shape == xshape and w.grad.shape == (3, 0)
    if bias:
        np.testing.assert_array_equal(b.grad.numpy(), np.full(3, math.prod(xshape[:-1])))


# torch 2.13's messages (linear is mm without a bias, addmm with one; bilinear checks all)
LINEAR_DTYPE_CASES = [
    ("no_bias", lambda t: t.nn.functional.linear(t.ones(2, 3), t.ones(4, 3, dtype=t.float64)),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("no_bias_3d", lambda t: t.nn.functional.linear(t.ones(5, 2, 3, dtype=t.float16), t.ones(4, 3)),
     "expected m1 and m2 to have the same dtype, but got: c10::Half != float"),
    ("bias", lambda t: t.nn.functional.linear(t.ones(2, 3), t.ones(4, 3), t.ones(4, dtype=t.float64)),
     "self and mat2 must have the same dtype, but got Double and Float"),
    ("weight", lambda t: t.nn.functional.linear(t.ones(2, 3), t.ones(4, 3, dtype=t.float64),
                                                t.ones(4, dtype=t.float64)),
     "mat1 and mat2 must have the same dtype, but got Float and Double"),
    ("weight_1d", lambda t: t.nn.functional.linear(t.ones(2, 3), t.ones(3, dtype=t.float64)),
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    ("bilinear", lambda t: t.nn.functional.bilinear(t.ones(2, 3), t.ones(2, 3, dtype=t.float64),
                                                    t.ones(4, 3, 3)),
     "All tensors must have the same dtype, got input1: float, input2: double, weight: float"),
    ("bilinear_bias", lambda t: t.nn.functional.bilinear(t.ones(2, 3), t.ones(2, 3), t.ones(4, 3, 3),
                                                         t.ones(4, dtype=t.float64)),
     "All tensors must have the same dtype, got input1: float, input2: float, weight: float, "
     "bias: double"),
]


@pytest.mark.parametrize("case", LINEAR_DTYPE_CASES, ids=[c[0] for c in LINEAR_DTYPE_CASES])
def test_linear_of_mixed_dtypes_raises_as_torch(case):
    _, fn, message = case
    with pytest.raises(RuntimeError) as err:
        fn(retrograd)
    assert str(err.value).startswith(message + " (operands ")
    assert "e.g. with .to(torch.float" in str(err.value)
    if torch is not None:
        with pytest.raises(RuntimeError) as err:
            fn(torch)
        assert str(err.value).split("\n")[0] == message


def test_bilinear_functional():
    check_op(lambda t, a, b, w, c: t.nn.functional.bilinear(a, b, w, c), (4, 2), (4, 3), (5, 2, 3), (5,))
    check_op(lambda t, a, b, w: t.nn.functional.bilinear(a, b, w), (2, 2, 2), (2, 2, 3), (1, 2, 3))


def _copy_params(rg_mod, th_mod):
    rg_mod.load_state_dict({k: v.detach().numpy() for k, v in th_mod.state_dict().items()})


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
def test_linear_module_matches_torch(bias):
    th = torch.nn.Linear(3, 4, bias=bias).double()
    rg = nn.Linear(3, 4, bias=bias).double()
    _copy_params(rg, th)
    x = rand(5, 2, 3)
    xr, xt = retrograd.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yr, yt = rg(xr), th(xt)
    np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    g = rand(5, 2, 4, seed=3)
    (yr * retrograd.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xr.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    for (n, p), (_, q) in zip(rg.named_parameters(), th.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, err_msg=n)
    assert repr(rg) == repr(th)


@requires_torch
def test_bilinear_module_matches_torch():
    th = torch.nn.Bilinear(2, 3, 4).double()
    rg = nn.Bilinear(2, 3, 4).double()
    _copy_params(rg, th)
    a, b = rand(5, 2), rand(5, 3, seed=1)
    ar, br = retrograd.tensor(a, requires_grad=True), retrograd.tensor(b, requires_grad=True)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    yr, yt = rg(ar, br), th(at, bt)
    np.testing.assert_allclose(yr.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    yr.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(ar.grad.numpy(), at.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(rg.weight.grad.numpy(), th.weight.grad.numpy(), rtol=1e-10)
    assert repr(rg) == repr(th)


def test_linear_backward_formulas():
    """dX = G W, dW = G^T X, db = sum_i G_i (the seed's matrix backprop)."""
    layer = nn.Linear(3, 4).double()
    X = retrograd.tensor(rand(5, 3), requires_grad=True)
    G = rand(5, 4, seed=2)
    (layer(X) * retrograd.tensor(G)).sum().backward()
    W = layer.weight.detach().numpy()
    np.testing.assert_allclose(X.grad.numpy(), G @ W)
    np.testing.assert_allclose(layer.weight.grad.numpy(), G.T @ X.detach().numpy())
    np.testing.assert_allclose(layer.bias.grad.numpy(), G.sum(0))
    assert layer(X).grad_fn.name() == "AddmmBackward0"  # torch's name


def test_linear_default_init():
    retrograd.manual_seed(0)
    layer = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert w.shape == (50, 100) and b.shape == (50,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01  # U(-a, a) has std a / sqrt(3)
    assert layer.weight.dtype == retrograd.float32 and layer.weight.requires_grad
    assert isinstance(layer.weight, nn.Parameter)
    assert nn.Linear(2, 3, dtype=retrograd.float64).weight.dtype == retrograd.float64


def test_linear_no_bias_and_errors():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(5x4 and 3x2\)"):
        layer(retrograd.randn(5, 4))
    with pytest.raises(RuntimeError, match="same dtype"):
        layer(retrograd.randn(5, 3, dtype=retrograd.float64))


def test_identity_flatten_unflatten():
    x = retrograd.randn(2, 3, 4)
    assert nn.Identity(54, unused="x")(x) is x
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Unflatten(1, (3, 1))(x).shape == (2, 3, 1, 4)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    with pytest.raises(TypeError):
        nn.Unflatten(1, 6)


def test_lazy_linear():
    layer = nn.LazyLinear(4)
    y = layer(retrograd.randn(2, 7))
    assert y.shape == (2, 4) and layer.weight.shape == (4, 7) and layer.in_features == 7
    assert type(layer) is nn.Linear


def test_bilinear_without_first_features_raises_value_error_as_torch():
    with pytest.raises(ValueError, match="in1_features must be > 0"):
        nn.Bilinear(0, 3, 4)  # the bound 1/sqrt(0) raised ZeroDivisionError
    assert nn.Bilinear(2, 0, 4).weight.shape == (4, 2, 0)  # torch builds this one


def test_unflatten_keeps_a_list_size_as_torch():
    m = nn.Unflatten(1, [2, 3])
    assert m.unflattened_size == [2, 3]
    assert repr(m) == "Unflatten(dim=1, unflattened_size=[2, 3])"
    assert m(retrograd.zeros(2, 6)).shape == (2, 2, 3)


def test_lazy_linear_materializes_in_the_dtype_it_was_moved_to():
    m = nn.LazyLinear(4).double()  # the parameters were made float32 (the constructor's dtype)
    y = m(retrograd.ones(2, 3, dtype=retrograd.float64))
    assert y.dtype is retrograd.float64 and m.weight.dtype is retrograd.float64 and m.weight.shape == (4, 3)


@pytest.mark.parametrize("xshape", [(4, 3), (2, 4, 3), (3,)])
def test_linear_broadcasts_a_bias_of_one_element_as_torch(xshape):
    check_op(lambda t, x, w, b: t.nn.functional.linear(x, w, b), xshape, (2, 3), (1,))
    with pytest.raises(RuntimeError, match=r"bias of shape \[2\] does not match out_features 5"):
        nn.functional.linear(retrograd.randn(*xshape), retrograd.randn(5, 3), retrograd.randn(2))


def test_fuse_linear_bn_eval_of_a_bias_free_linear_and_one_feature():
    """Where it was seen: fusing Linear(3, 4, bias=False) with BatchNorm1d(1) (one feature,
    broadcast over the four outputs) makes a bias of shape [1] and calls linear with it."""
    lin, bn = nn.Linear(3, 4, bias=False).eval(), nn.BatchNorm1d(1).eval()
    bn.running_mean.fill_(0.5)
    bn.running_var.fill_(2.0)
    x = retrograd.randn(2, 1, 3)  # (N, C=1, L=3): the batch norm's one channel
    fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    assert tuple(fused.bias.shape) == (1,)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(lin(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
