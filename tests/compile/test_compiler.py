"""retrograd.compile's API (compiler.py): function and decorator, OptimizedModule, torch's
backend/mode/options checks, reset, disable."""

import inspect

import numpy as np
import pytest

import retrograd
from retrograd.compiler import InvalidBackend, OptimizedModule
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand, requires_torch, torch


@requires_torch
def test_signature_is_torchs():
    ours = inspect.signature(retrograd.compile).parameters
    theirs = inspect.signature(torch.compile).parameters
    assert list(ours) == list(theirs)
    assert all(ours[k].kind == theirs[k].kind for k in ours)
    assert {k: p.default for k, p in ours.items() if k != "backend"} == \
        {k: p.default for k, p in theirs.items() if k != "backend"}


def test_decorator_forms():
    @retrograd.compile
    def f(a):
        return a + 1

    @retrograd.compile(fullgraph=True, mode="reduce-overhead")
    def g(a):
        return a * 2

    x = retrograd.ones(2)
    for _ in range(2):
        np.testing.assert_array_equal(f(x).numpy(), [2, 2])
        np.testing.assert_array_equal(g(x).numpy(), [2, 2])
    assert f.__name__ == "f"


def test_optimized_module_shares_parameters_and_state_dict_keys_as_torch():
    model = retrograd.nn.Sequential(retrograd.nn.Linear(3, 2))
    cm = retrograd.compile(model)
    assert isinstance(cm, OptimizedModule) and cm._orig_mod is model
    # torch's OptimizedModule registers the module as _orig_mod: its keys carry that prefix
    assert list(cm.state_dict()) == ["_orig_mod.0.weight", "_orig_mod.0.bias"]
    assert [id(p) for p in cm.parameters()] == [id(p) for p in model.parameters()]
    model.extra = 5
    assert cm.extra == 5  # attributes reach the original module, as torch's
    cm.eval()
    assert not model.training


def test_backend_mode_options_checked_as_torch():
    f = lambda a: a  # noqa: E731
    for backend in ("inductor", "eager", "aot_eager", "cudagraphs", None):
        retrograd.compile(f, backend=backend)
    with pytest.raises(InvalidBackend, match="Invalid backend: 'nope'"):
        retrograd.compile(f, backend="nope")
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast"):
        retrograd.compile(f, mode="fast")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        retrograd.compile(f, mode="default", options={})
    for kwargs in ({"options": {"triton.cudagraphs": False}}, {"backend": lambda gm, ex: gm},
                   {"shapes_spec": {}}, {"backend": "tvm"}):
        with pytest.raises(NotImplementedError):
            retrograd.compile(f, **kwargs)
    with pytest.raises(ValueError, match="recompile_limit"):
        retrograd.compile(f, recompile_limit=-1)


def test_disable_returns_the_model():
    f = lambda a: a  # noqa: E731
    assert retrograd.compile(f, disable=True) is f


def test_isolate_recompiles_counts_per_compiled_function():
    def fn(a):
        return a + 1

    f, g = retrograd.compile(fn, recompile_limit=1), retrograd.compile(fn, recompile_limit=1)
    f(retrograd.zeros(1))
    with pytest.warns(UserWarning, match="recompile_limit"):
        g(retrograd.zeros(2))  # shared count per code object, as torch's
    h = retrograd.compile(fn, recompile_limit=1, isolate_recompiles=True)
    h(retrograd.zeros(3))
    assert len(h._compiled.cache) == 1


def test_nested_compiled_function_runs_inside_the_outer_capture():
    inner = retrograd.compile(lambda a: a.exp())
    outer = retrograd.compile(lambda a: inner(a) * 2, fullgraph=True)
    x = retrograd.tensor(rand(3), requires_grad=True)
    outer(x)
    y = outer(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(rand(3)))
    assert isinstance(y.grad_fn, retrograd._compile.replay.CompiledFunction)


def test_is_compiling_true_only_while_capturing():
    seen = []
    f = retrograd.compile(lambda a: seen.append(retrograd.compiler.is_compiling()) or a + 1)
    f(retrograd.zeros(1))
    assert seen == [True] and not retrograd.compiler.is_compiling()
