"""Activation modules: constructor arguments, repr (equal to torch's), and forward and
gradients equal to torch's. The functions are the activation ops (another family); a
module whose function is not written yet is skipped, not failed."""

import numpy as np
import pytest
from helpers import rand, reference, torch

import retrograd
from retrograd import nn

# (class name, constructor args, kwargs, functional it needs, input shape)
MODULES = [
    ("ReLU", (), {}, "relu", (3, 4)),
    ("ReLU", (), {"inplace": True}, "relu", (3, 4)),
    ("Tanh", (), {}, "tanh", (3, 4)),
    ("Sigmoid", (), {}, "sigmoid", (3, 4)),
    ("GELU", (), {}, "gelu", (3, 4)),
    ("GELU", (), {"approximate": "tanh"}, "gelu", (3, 4)),
    ("SiLU", (), {}, "silu", (3, 4)),
    ("Mish", (), {}, "mish", (3, 4)),
    ("Softmax", (), {"dim": 1}, "softmax", (3, 4)),
    ("LogSoftmax", (), {"dim": 0}, "log_softmax", (3, 4)),
    ("Softmin", (), {"dim": -1}, "softmin", (3, 4)),
    ("Softmax2d", (), {}, "softmax", (2, 3, 2, 2)),
    ("LeakyReLU", (0.2,), {}, "leaky_relu", (3, 4)),
    ("ELU", (), {"alpha": 0.7}, "elu", (3, 4)),
    ("CELU", (), {"alpha": 1.5}, "celu", (3, 4)),
    ("SELU", (), {}, "selu", (3, 4)),
    ("Softplus", (), {"beta": 2.0, "threshold": 1.0}, "softplus", (3, 4)),
    ("Softsign", (), {}, "softsign", (3, 4)),
    ("Hardswish", (), {}, "hardswish", (3, 4)),
    ("Hardsigmoid", (), {}, "hardsigmoid", (3, 4)),
    ("Hardtanh", (-0.5, 0.5), {}, "hardtanh", (3, 4)),
    ("ReLU6", (), {}, "hardtanh", (3, 4)),
    ("LogSigmoid", (), {}, "logsigmoid", (3, 4)),
    ("Threshold", (0.1, 20.0), {}, "threshold", (3, 4)),
    ("GLU", (), {"dim": 1}, "glu", (3, 4)),
    ("Hardshrink", (0.3,), {}, "hardshrink", (3, 4)),
    ("Softshrink", (0.3,), {}, "softshrink", (3, 4)),
    ("Tanhshrink", (), {}, "tanhshrink", (3, 4)),
    ("PReLU", (), {"num_parameters": 3, "init": 0.1}, "prelu", (2, 3, 4)),
]


def _ids(case):
    return case[0] + "".join(f"-{k}" for k in case[2])


@pytest.mark.parametrize("case", MODULES, ids=[_ids(c) for c in MODULES])
def test_activation_module(case):
    name, args, kwargs, fn, shape = case
    mod = getattr(nn, name)(*args, **kwargs).double()
    x = rand(*shape, low=-3, high=3)
    if kwargs.get("inplace"):
        xr = retrograd.tensor(x)
        out = mod(xr)
        assert out is xr
        np.testing.assert_allclose(out.numpy(), np.maximum(x, 0))
        xr = retrograd.tensor(x, requires_grad=True)
        y = mod(xr * 1)
    else:
        xr = retrograd.tensor(x, requires_grad=True)
        y = mod(xr)
    g = rand(*y.shape, seed=4)
    (y * retrograd.tensor(g)).sum().backward()

    def run_torch():
        tmod = getattr(torch.nn, name)(*args, **kwargs).double()
        xt = torch.tensor(x, requires_grad=True)
        yt = tmod(xt * 1) if kwargs.get("inplace") else tmod(xt)
        (yt * torch.tensor(g)).sum().backward()
        return (repr(tmod), yt.detach().numpy(), xt.grad.numpy(),
                tmod.weight.grad.numpy() if name == "PReLU" else None)

    torch_repr, yt, xt_grad, weight_grad = reference(run_torch, inputs=[x, g])
    assert repr(mod) == torch_repr
    np.testing.assert_allclose(y.detach().numpy(), yt, rtol=1e-10, atol=1e-12)
    # rtol 1e-7: torch computes some float64 backwards with float32 constants (hardsigmoid: 1.0f / 6)
    np.testing.assert_allclose(xr.grad.numpy(), xt_grad, rtol=1e-7, atol=1e-12)
    if name == "PReLU":
        np.testing.assert_allclose(mod.weight.grad.numpy(), weight_grad, rtol=1e-9)


@pytest.mark.parametrize("case", MODULES, ids=[_ids(c) for c in MODULES])
def test_activation_repr_equals_torch(case):
    name, args, kwargs, _, _ = case
    assert repr(getattr(nn, name)(*args, **kwargs)) == reference(lambda: repr(getattr(torch.nn, name)(*args, **kwargs)))


def test_activation_module_options():
    assert nn.PReLU(4).weight.shape == (4,)
    np.testing.assert_allclose(nn.PReLU(init=0.3).weight.detach().numpy(), [0.3], rtol=1e-6)
    assert [n for n, _ in nn.PReLU().named_parameters()] == ["weight"]
    assert nn.Softmax(dim=1).dim == 1 and nn.Softmax().dim is None
    assert nn.ReLU6().min_val == 0.0 and nn.ReLU6().max_val == 6.0
    with pytest.raises(AssertionError):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="3D or 4D"):
        nn.Softmax2d()(retrograd.randn(2, 3))
    assert nn.RReLU().lower == 1 / 8
