"""Run a function eagerly and compiled (first call captures, later ones replay) and compare."""

import numpy as np
import pytest

import retrograd
from retrograd._compile.replay import CompiledFunction


def leaves(arrays, requires_grad=True):
    return [retrograd.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]


def outputs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def run(fn, arrays, grad=True):
    """(outputs, input grads) of fn on fresh leaves made from ``arrays``; backward of the sum of
    each float output times a fixed weight when ``grad``."""
    xs = leaves(arrays, grad)
    outs = outputs(fn(*xs))
    if grad:
        total = None
        for i, o in enumerate(outs):
            if o.requires_grad:
                w = retrograd.tensor(np.linspace(-1, 1, o.numel()).reshape(o.shape).astype(o.detach().numpy().dtype))
                term = (o * w).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
    return outs, [x.grad for x in xs]


def assert_same_as_eager(fn, arrays, calls=3, grad=True):
    """fn compiled gives eager's values and gradients, bitwise, on each of ``calls`` calls; from the
    second call on the outputs come from one CompiledFunctionBackward node."""
    compiled = retrograd.compile(fn, fullgraph=True)
    ref_out, ref_grads = run(fn, arrays, grad)
    for call in range(calls):
        out, grads = run(compiled, arrays, grad)
        for a, b in zip(ref_out, out):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
            assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
            if call and b.requires_grad:
                assert isinstance(b.grad_fn, CompiledFunction)
        for a, b in zip(ref_grads, grads):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    return compiled


@pytest.fixture(autouse=True)
def fresh_compiler():
    """Each test starts with no captured graph and no recompile counted."""
    retrograd.compiler.reset()
    yield
    retrograd.compiler.reset()


@pytest.fixture
def captures(monkeypatch):
    """How many captures ran (a list holding one count)."""
    from retrograd._compile import compiled

    count = [0]
    capture = compiled.Compiled.capture

    def counted(self, *args, **kwargs):
        count[0] += 1
        return capture(self, *args, **kwargs)

    monkeypatch.setattr(compiled.Compiled, "capture", counted)
    return count


@pytest.fixture
def torch_float_policy():
    """torch's automatic dynamic floats (config.specialize_float = False; retrograd's default is True)."""
    from retrograd._compile.compiled import config

    config.specialize_float = False
    yield
    config.specialize_float = True


def gelu_sgd_step_source(n_in, n_out, batch, steps=4):
    """A Linear + tanh-GELU (the gpt2 workload's, pow 3 and tanh written out) SGD step run eagerly and
    compiled from the same weights: asserts the losses and parameters are eager's bitwise and returns
    the generated code of the compiled step."""
    import math

    def gelu(x):
        return 0.5 * x * (1.0 + retrograd.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * retrograd.pow(x, 3.0))))

    x = retrograd.tensor(np.random.default_rng(0).standard_normal((batch, n_in)).astype(np.float32))
    runs = []
    for compiled in (False, True):
        retrograd.manual_seed(0)
        lin = retrograd.nn.Linear(n_in, n_out)
        opt = retrograd.optim.SGD(lin.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (gelu(lin(x)) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        fn = retrograd.compile(step) if compiled else step
        runs.append(([fn(x).item() for _ in range(steps)], [p.detach().numpy().copy() for p in lin.parameters()], fn))
    (eager_losses, eager_params, _), (losses, params, fn) = runs
    assert losses == eager_losses
    for a, b in zip(eager_params, params):
        np.testing.assert_array_equal(a, b)
    return next(g for gs in fn._compiled.cache.values() for g in gs if g is not None).program.source
