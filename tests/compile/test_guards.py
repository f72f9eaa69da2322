"""Guards and recompiles (guards.py, compiled.py): new shapes, dtypes, requires_grad, grad mode,
train/eval and rebound parameters capture again; matching calls replay; the recompile limit."""

import warnings

import numpy as np
import pytest

import retrograd
from retrograd._compile.replay import CompiledFunction
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand


def _graphs(compiled):
    return sum(len(v) for v in compiled._compiled.cache.values())


def test_new_shapes_and_dtypes_recapture_matching_calls_replay():
    f = retrograd.compile(lambda a: (a * 2).sum(0))
    a3, a4 = retrograd.tensor(rand(3, 2)), retrograd.tensor(rand(4, 2))
    f(a3), f(a3), f(a4), f(a4)
    assert _graphs(f) == 2
    f(retrograd.tensor(rand(3, 2, dtype=np.float32)))
    f(retrograd.tensor(rand(3, 2), requires_grad=True))
    with retrograd.no_grad():
        f(a3)
    assert _graphs(f) == 5
    out = f(retrograd.tensor(rand(4, 2, seed=7)))
    np.testing.assert_array_equal(out.numpy(), (rand(4, 2, seed=7) * 2).sum(0))


def test_python_arguments_are_part_of_the_guard():
    f = retrograd.compile(lambda a, k: a * k)
    a = retrograd.tensor(rand(3))
    f(a, 2), f(a, 2)
    np.testing.assert_array_equal(f(a, 3).numpy(), rand(3) * 3)
    assert _graphs(f) == 2


def test_train_eval_switch_recaptures():
    torch = retrograd
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
    cm = torch.compile(model)
    x = torch.tensor(rand(8, 4, dtype=np.float32))
    cm(x), cm(x)
    model.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(cm(x).numpy(), cm(x).numpy())  # no dropout in eval
        np.testing.assert_array_equal(cm(x).numpy(), model(x).numpy())
    model.train()
    torch.manual_seed(5)
    ref = model(x)
    torch.manual_seed(5)
    np.testing.assert_array_equal(cm(x).detach().numpy(), ref.detach().numpy())


def test_parameter_updates_between_calls_take_effect():
    lin = retrograd.nn.Linear(3, 2)
    cm = retrograd.compile(lin)
    x = retrograd.tensor(rand(5, 3, dtype=np.float32))
    cm(x), cm(x)
    with retrograd.no_grad():
        lin.weight.mul_(3)
        lin.bias.add_(1)
    out = cm(x)
    assert isinstance(out.grad_fn, CompiledFunction)
    np.testing.assert_array_equal(out.detach().numpy(), lin(x).detach().numpy())


def test_rebound_parameter_and_requires_grad_change_recapture():
    lin = retrograd.nn.Linear(3, 2)
    cm = retrograd.compile(lin)
    x = retrograd.tensor(rand(5, 3, dtype=np.float32))
    cm(x), cm(x)
    lin.weight = retrograd.nn.Parameter(retrograd.ones(2, 3))
    np.testing.assert_array_equal(cm(x).detach().numpy(), lin(x).detach().numpy())
    lin.bias.requires_grad_(False)
    out = cm(x)
    out.sum().backward()
    assert lin.bias.grad is None and lin.weight.grad is not None
    assert _graphs(cm) == 3


def test_global_tensor_rebound_recaptures():
    g = {"w": retrograd.tensor(rand(3))}
    exec("def f(a):\n    return a * w\n", g)
    f = retrograd.compile(g["f"])
    a = retrograd.tensor(rand(3, seed=1))
    f(a), f(a)
    g["w"] = retrograd.tensor(rand(3, seed=2))
    np.testing.assert_array_equal(f(a).numpy(), rand(3, seed=1) * rand(3, seed=2))


def test_recompile_limit_warns_then_runs_eagerly():
    f = retrograd.compile(lambda a: a + 1, recompile_limit=2)
    for n in (1, 2):
        f(retrograd.zeros(n))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(retrograd.zeros(3))
        f(retrograd.zeros(4))
    assert len([w for w in caught if "recompile_limit (2)" in str(w.message)]) == 1
    np.testing.assert_array_equal(out.numpy(), np.ones(3))
    assert _graphs(f) == 2
    retrograd.compiler.reset()
    f(retrograd.zeros(5))
    assert _graphs(f) == 1


def test_default_recompile_limit_is_torchs_8():
    f = retrograd.compile(lambda a: a + 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 11):
            f(retrograd.zeros(n))
    assert _graphs(f) == 8 and any("recompile_limit (8)" in str(w.message) for w in caught)


def test_saved_tensor_hooks_and_anomaly_run_eagerly():
    f = retrograd.compile(lambda a: (a * a).sum())
    a = retrograd.tensor(rand(3), requires_grad=True)
    f(a)
    packed = []
    with retrograd.autograd.graph.saved_tensors_hooks(lambda t: packed.append(1) or t, lambda t: t):
        y = f(a)
    assert packed and y.grad_fn.name() == "SumBackward0"
    with retrograd.autograd.detect_anomaly():
        assert f(a).grad_fn.name() == "SumBackward0"


def test_module_cast_to_another_dtype_recaptures():
    lin = retrograd.nn.Linear(3, 2)
    cm = retrograd.compile(lin)
    cm(retrograd.tensor(rand(4, 3, dtype=np.float32)))
    lin.double()
    x = retrograd.tensor(rand(4, 3))
    out = cm(x)
    assert out.dtype == retrograd.float64
    np.testing.assert_array_equal(out.detach().numpy(), lin(x).detach().numpy())


def test_other_threads_are_not_recorded_during_a_capture():
    import threading

    started, release = threading.Event(), threading.Event()
    results = []

    def other():
        started.wait()
        results.append((retrograd.ones(2) * 5).sum().item())  # .item() in another thread: no break
        release.set()

    def fn(a):
        started.set()
        release.wait(5)
        return a * 2

    thread = threading.Thread(target=other)
    thread.start()
    report = retrograd.compiler.explain(fn)(retrograd.ones(3))
    thread.join()
    # (the events' set() and wait() break, as torch's: a replay would not signal the thread)
    assert results == [10.0] and report.op_count == 1
    assert all("threading.Event" in b.reason for b in report.break_reasons)


def test_a_parameter_replaced_in_a_module_the_function_calls_recaptures():
    # the function reaches the model through a closure, not as a compiled module: the modules it
    # calls still bind their parameters (a new Parameter is a guard failure, not a stale read)
    holder = {"model": retrograd.nn.Linear(3, 2)}
    f = retrograd.compile(lambda x: holder["model"](x).sum())
    x = retrograd.tensor(rand(4, 3, dtype=np.float32))
    f(x)
    f(x)
    model = holder["model"]
    model.weight = retrograd.nn.Parameter(model.weight.detach() * 2)
    expected = (x.numpy() @ model.weight.detach().numpy().T + model.bias.detach().numpy()).sum()
    np.testing.assert_allclose(f(x).item(), expected, rtol=1e-5)


def test_a_gradient_read_is_bound_to_its_tensor_grad():
    w = retrograd.tensor(rand(3), requires_grad=True)
    f = retrograd.compile(lambda: (w.grad * w.grad).sum())
    for k in range(3):
        w.grad = None  # set_to_none, then a backward: a new .grad tensor each time
        (w * (k + 1.0)).sum().backward()
        assert f().item() == pytest.approx(3 * (k + 1.0) ** 2)
