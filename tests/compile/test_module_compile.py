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


def test_a_copied_or_pickled_module_is_not_compiled():
    # (torch's Module.__getstate__ drops the compiled call: the copy runs eagerly, its own parameters)
    import copy
    import pickle

    model = _mlp()
    model.compile()
    x = retrograd.randn(4, 3)
    out = model(x)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):  # (pickling raised before)
        assert other._compiled_call_impl is None and model._compiled_call_impl is not None
        np.testing.assert_array_equal(other(x).detach().numpy(), out.detach().numpy())
        assert other(x).grad_fn.name() != "CompiledFunctionBackward"


def test_train_and_eval_switches_after_compiling_in_place():
    eager = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    model.load_state_dict(eager.state_dict())
    model.compile()
    x = retrograd.randn(5, 3)
    for training in (True, False, True):
        model.train(training)
        eager.train(training)
        for _ in range(2):
            retrograd.manual_seed(3)
            got = model(x)
            retrograd.manual_seed(3)
            np.testing.assert_array_equal(got.detach().numpy(), eager(x).detach().numpy())
