"""nn.utils.stateless.functional_call: replaced parameters receive the gradients; the
module is left as it was."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.nn.utils.stateless import functional_call


def test_functional_call_replaces_and_restores():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    x = retrograd.randn(4, 3)
    params = {k: v.detach().clone().requires_grad_() for k, v in m.named_parameters()}
    params["0.weight"] = retrograd.zeros(2, 3, requires_grad=True)
    out = functional_call(m, params, (x,))
    expect = m[2](m[1](m[0].bias.detach().expand(4, 2)))
    np.testing.assert_allclose(out.detach().numpy(), expect.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    assert params["2.weight"].grad is not None and m[2].weight.grad is None
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.abs().sum().item() > 0
    with pytest.raises(RuntimeError, match="Missing key"):
        functional_call(m, {"0.weight": params["0.weight"]}, x, strict=True)


def test_functional_call_tied_weights():
    lin = nn.Linear(2, 2, bias=False)
    m = nn.Sequential(lin, lin)
    w = retrograd.eye(2) * 2
    out = functional_call(m, {"0.weight": w}, retrograd.ones(1, 2))
    np.testing.assert_allclose(out.numpy() if not out.requires_grad else out.detach().numpy(), [[4.0, 4.0]])


def test_tied_weights_given_twice_raise_and_count_as_given_under_strict_as_torch():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m, x, eye = Tied(), retrograd.ones(1, 2), retrograd.eye(2)
    # a value for each name of a tied parameter: torch's ValueError (retrograd used both, untied)
    with pytest.raises(ValueError, match=r"multiple values for keys \['a.weight', 'b.weight'\], which are tied"):
        functional_call(m, {"a.weight": eye, "b.weight": 2 * eye}, (x,))
    assert functional_call(m, {"a.weight": eye, "b.weight": 2 * eye}, (x,), tie_weights=False).tolist() == [[2.0, 2.0]]
    # strict: giving one name of a tied parameter gives them all (retrograd said 'b.weight' was missing)
    assert functional_call(m, {"a.weight": eye}, (x,), strict=True).tolist() == [[1.0, 1.0]]
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'b.weight'"):
        functional_call(m, {"a.weight": eye}, (x,), strict=True, tie_weights=False)
