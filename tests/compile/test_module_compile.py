"""nn.Module.compile(): torch.compile in place (the module's later calls run compiled)."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.compiler import Unsupported


def _mlp():
    retrograd.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def test_compiled_in_place_equals_eager_and_replays():
    eager, model = _mlp(), _mlp()
    model.compile()
    x = retrograd.randn(5, 3)
    for _ in range(3):  # capture, then replays
        out = model(x)
        np.testing.assert_array_equal(out.detach().numpy(), eager(x).detach().numpy())
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    out.sum().backward()
    eager(x).sum().backward()
    for p, q in zip(model.parameters(), eager.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert list(model.state_dict()) == list(eager.state_dict())  # no _orig_mod prefix in place


def test_compile_arguments_act():
    class Breaks(nn.Module):
        def forward(self, x):
            return x * float(x.sum())  # a graph break

    model = Breaks()
    model.compile(fullgraph=True)
    with pytest.raises(Unsupported):
        model(retrograd.ones(2))
    with pytest.raises(RuntimeError, match="mode"):
        _mlp().compile(mode="no-such-mode")
