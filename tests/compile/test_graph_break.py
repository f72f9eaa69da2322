"""Graph breaks (graph_break.py, capture.py): each gives eager's results (the breaking statement runs
eagerly, the rest is split around it: test_resume.py), with its reason and line in explain;
fullgraph=True raises Unsupported naming the line."""

import datetime
import os
import queue
import re
import threading
import time
import uuid
import warnings
from time import perf_counter

import numpy as np
import pytest

import retrograd
import retrograd.nn.functional as F
from retrograd.compiler import Unsupported
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand


def _branch(a):
    if a.sum() > 0:
        return a * 2
    return a * 3


def _item(a):
    return a * a.sum().item()


def _numpy(a):
    return a * retrograd.tensor(a.detach().numpy().max())


def _argmax(a):  # nonzero makes its result without Function.apply (argmax, isnan, |: test_*_capture.py)
    return a * (a > 0).nonzero().sum()


def _random_outside_op(a):
    return a + retrograd.randn(a.shape)


def _inplace(a):  # (on a view: an in-place op on an intermediate itself is captured, test_inplace_capture.py)
    b = a * 1
    b[0].add_(1)
    return b.exp()


def _print(a):
    print(a)
    return a + 1


def _batch_norm_training(a):  # (half precision: float32/float64 are captured, test_batch_norm_capture.py)
    return F.batch_norm(a.half(), None, None, training=True)


def _backward_inside(a):  # (a plain loss.backward() is captured: see test_training.py)
    y = (a * a).sum()
    y.backward(retain_graph=True)
    return y


BREAKS = {"branch": (_branch, "control flow"), "item": (_item, r"item\(\)"), "numpy": (_numpy, r"numpy\(\)"),
          "argmax": (_argmax, "no recorded op"), "random": (_random_outside_op, "random numbers"),
          "inplace": (_inplace, "(in-place|no recorded op)"), "print": (_print, r"print\(\)"),
          "batch_norm": (_batch_norm_training, "array of shape"), "backward": (_backward_inside, r"backward\(\)")}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_break_gives_eager_results(name, capsys):
    fn, reason = BREAKS[name]
    f = retrograd.compile(fn)
    for seed in (0, 1, 2, 3):
        data = rand(4, 3, seed=seed)
        retrograd.manual_seed(seed)
        a = retrograd.tensor(data, requires_grad=True)
        ref = fn(a)
        retrograd.manual_seed(seed)
        b = retrograd.tensor(data, requires_grad=True)
        out = f(b)
        np.testing.assert_array_equal(ref.detach().numpy(), out.detach().numpy())
        if ref.requires_grad and ref.grad_fn is not None:
            a.grad = b.grad = None
            ref.sum().backward()
            out.sum().backward()
            np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    report = retrograd.compiler.explain(fn)(retrograd.tensor(rand(4, 3), requires_grad=True))
    assert report.graph_break_count >= 1
    assert re.search(reason, report.break_reasons[0].reason)
    assert report.break_reasons[0].user_stack[0].filename == __file__


@pytest.mark.parametrize("name", ["branch", "item", "argmax", "inplace"])
def test_fullgraph_raises_unsupported_naming_the_line(name):
    fn, reason = BREAKS[name]
    f = retrograd.compile(fn, fullgraph=True)
    with pytest.raises(Unsupported, match=r"test_graph_break\.py:\d+.*" + reason):
        f(retrograd.tensor(rand(4, 3), requires_grad=True))
    assert issubclass(Unsupported, RuntimeError)


def test_explain_counts_a_clean_graph():
    report = retrograd.compiler.explain(lambda a: (a.exp() + 1).sum())(retrograd.tensor(rand(3)))
    assert (report.graph_count, report.graph_break_count, report.op_count) == (1, 0, 3)
    assert "Graph Count: 1" in str(report)


def test_disable_inside_a_compiled_function_is_a_break():
    @retrograd.compiler.disable
    def helper(a):
        return a * 2

    report = retrograd.compiler.explain(lambda a: helper(a) + 1)(retrograd.tensor(rand(3)))
    assert report.graph_break_count == 1 and "disable" in report.break_reasons[0].reason
    f = retrograd.compile(retrograd.compiler.disable(lambda a: a + 1))
    np.testing.assert_array_equal(f(retrograd.zeros(2)).numpy(), [1, 1])


def test_module_hooks_break_and_added_hooks_are_seen():
    lin = retrograd.nn.Linear(2, 2)
    cm = retrograd.compile(lin)
    x = retrograd.tensor(rand(3, 2, dtype=np.float32))
    cm(x), cm(x)
    calls = []
    lin.register_forward_hook(lambda m, i, o: calls.append(1))
    cm(x), cm(x)
    assert calls == [1, 1]


def test_profiler_sees_the_compiled_call_as_one_op():
    f = retrograd.compile(lambda a: (a * 2).exp())
    a = retrograd.tensor(rand(3))
    f(a)
    with retrograd.profiler.profile() as prof:
        np.testing.assert_array_equal(f(a).numpy(), np.exp(rand(3) * 2))
    names = [e.name for e in prof.function_events] if hasattr(prof, "function_events") else []
    assert not any("Exp" in n for n in names)


def test_print_is_a_break_so_each_call_prints(capsys):
    def fn(a):
        b = a * 2
        print("step")  # no tensor: still a side effect a replay would skip (torch breaks here too)
        return b + 1

    f = retrograd.compile(fn)
    for _ in range(3):
        np.testing.assert_array_equal(f(retrograd.ones(2)).numpy(), [3, 3])
    assert capsys.readouterr().out == "step\n" * 3
    report = retrograd.compiler.explain(fn)(retrograd.ones(2))
    assert (report.graph_count, report.graph_break_count) == (2, 1)
    assert "print()" in report.break_reasons[0].reason


# ---------------------------------------------------------------------- volatile calls (volatile.py)
# A call whose result changes between calls with the same arguments (the clock, the OS's random bytes, a
# queue, a file, another thread's event) breaks the graph where it is called, as torch's dynamo skips them:
# it runs at each call, capture resuming after it. (The old code replayed the first call's value.)
_T0 = time.perf_counter()


def _clock(a):
    h = a * 2
    return h * (time.perf_counter() - _T0)


def _clock_imported_by_name(a):
    return a * (perf_counter() - _T0)


def _wall_clock(a):
    time.sleep(0.002)  # (a break itself; and the clock below moves between the calls)
    return a * datetime.datetime.now().timestamp()


def _entropy(a):
    return a * float(int.from_bytes(os.urandom(5), "little"))


def _uuid4(a):  # (uuid4 reads os.urandom for the caller: the standard library's code between)
    return a * float(uuid.uuid4().int % 2 ** 40)


def _nanoseconds():
    return time.monotonic_ns()


def _clock_in_a_helper(a):
    h = a + 1
    return h * float(_nanoseconds() - 10 ** 9 * int(_T0))


@pytest.mark.parametrize("fn", [_clock, _clock_imported_by_name, _wall_clock, _entropy, _uuid4, _clock_in_a_helper])
def test_a_volatile_call_runs_at_each_call(fn):
    compiled, x = retrograd.compile(fn), retrograd.ones(2, dtype=retrograd.float64)
    outs = [compiled(x)[0].item() for _ in range(4)]
    assert len(set(outs)) == 4, outs
    report = retrograd.compiler.explain(fn)(x)
    assert "returns something else at each call" in report.break_reasons[-1].reason


_ITEMS, _SIMPLE = queue.Queue(), queue.SimpleQueue()
_STOP = threading.Event()


def _from_a_queue(a):
    return a * _ITEMS.get()


def _from_a_simple_queue(a):
    return a * _SIMPLE.get()


def _until_an_event(a):
    return a * 0 if _STOP.is_set() else a * 2  # (is_set: the flag is guarded)


def test_queues_and_events_give_their_current_answer():
    for i in range(4):
        _ITEMS.put(float(i))
        _SIMPLE.put(float(i))
    for fn in (_from_a_queue, _from_a_simple_queue):
        compiled = retrograd.compile(fn)
        assert [compiled(retrograd.ones(1)).item() for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]
    compiled = retrograd.compile(_until_an_event)
    assert [compiled(retrograd.ones(1)).item() for _ in range(2)] == [2.0, 2.0]
    _STOP.set()
    try:
        assert compiled(retrograd.ones(1)).item() == 0.0
    finally:
        _STOP.clear()


def test_a_file_read_inside_reads_the_file_at_each_call(tmp_path):
    path = tmp_path / "scale.txt"

    def fn(a):
        with open(path) as f:
            return a * float(f.read())

    compiled = retrograd.compile(fn)
    for v in ("2.0", "3.0", "-1.0"):
        path.write_text(v)
        assert compiled(retrograd.ones(1)).item() == float(v)


def test_a_volatile_value_does_not_recompile_its_segment_at_each_call(monkeypatch):
    # its result is a value read, as .item()'s: the operation combining it runs eagerly (floats guarded by
    # value, retrograd's default) or takes it as a symbolic float (torch's policy), never one capture per value
    from retrograd._compile import compiled as _compiled

    lin = retrograd.nn.Linear(2, 2).double()

    def fn(a):
        h = lin(a)
        return h * time.perf_counter()

    for specialize in (True, False):
        monkeypatch.setattr(_compiled.config, "specialize_float", specialize)
        retrograd.compiler.reset()
        compiled, x = retrograd.compile(fn), retrograd.ones(1, 2, dtype=retrograd.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (the recompile limit's warning would raise)
            outs = [compiled(x)[0, 0].item() for _ in range(12)]
        assert len(set(outs)) == 12
        assert retrograd.compiler.explain(fn)(x).graph_count == 2  # lin before the call, the product after


def test_a_volatile_call_under_fullgraph_raises_naming_the_line():
    with pytest.raises(Unsupported, match=r"test_graph_break.py:\d+: time.perf_counter\(\)"):
        retrograd.compile(_clock, fullgraph=True)(retrograd.ones(2))


def test_volatile_calls_inside_retrograd_do_not_break():
    # (retrograd's own code reading the clock or a lock's state is the library's business: an op is replayed)
    def fn(a):
        with retrograd.profiler.record_function("step"):
            return a * 2

    report = retrograd.compiler.explain(fn)(retrograd.ones(2))
    assert report.graph_break_count == 0 and report.graph_count == 1


def test_a_garbage_collection_inside_runs_at_each_call():
    import gc

    full = []

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    def fn(a):
        h = a * 2
        gc.collect()  # (a replay would skip it: collected once, at the capture)
        return h + 1

    compiled = retrograd.compile(fn)
    gc.callbacks.append(count)
    try:
        for _ in range(4):
            compiled(retrograd.ones(2))
    finally:
        gc.callbacks.remove(count)
    assert len(full) >= 4
    assert "gc.collect()" in retrograd.compiler.explain(fn)(retrograd.ones(2)).break_reasons[0].reason


def test_the_grad_of_a_leaf_made_inside_is_read_at_each_call():
    """A leaf made inside the function gets its .grad from a backward inside: no replayed line writes it, so
    reading it breaks (it was the first capture's gradient at every replay: [2, 2] for x = 1, 2, 3)."""
    def f(x):
        y = x.detach().requires_grad_(True)
        (y * y).sum().backward()
        return y.grad * 1

    compiled = retrograd.compile(f)
    for v in (1.0, 2.0, 3.0):
        x = retrograd.full((2,), v)
        np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy())
    explained = retrograd.compiler.explain(f)(retrograd.ones(2))
    assert explained.graph_break_count == 1
    assert "the .grad of a tensor made inside" in str(explained.break_reasons[0].reason)
