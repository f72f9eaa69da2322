"""retrograd.futures.Future behaves as torch.futures.Future: set_result/set_exception complete it
once, then() chains run on completion, and a bound future is completed by waiting for it."""

import pytest

import retrograd as torch
from retrograd.futures import Future, collect_all, wait_all


def test_then_runs_on_completion_and_chains():
    f = Future()
    g = f.then(lambda fut: fut.value() * 2)
    h = g.then(lambda fut: fut.value() + 1)
    assert not f.done() and not h.done()
    f.set_result(5)
    assert f.done() and g.value() == 10 and h.wait() == 11
    assert f.then(lambda fut: fut.value() - 5).value() == 0  # on a completed future: at once


def test_exceptions_reach_wait_value_and_then():
    f = Future()
    f.set_exception(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        f.wait()
    with pytest.raises(ValueError, match="boom"):
        f.value()
    c = Future()
    child = c.then(lambda fut: 1 / 0)
    c.set_result(1)
    with pytest.raises(RuntimeError, match="Got the following error when running the callback: ZeroDivisionError"):
        child.wait()


def test_completing_twice_and_reading_early_raise_runtime_errors():
    f = Future()
    with pytest.raises(RuntimeError, match="call wait"):
        f.value()
    with pytest.raises(RuntimeError, match="nothing will complete"):
        f.wait()
    f.set_result(1)
    with pytest.raises(RuntimeError, match="can only be marked completed once"):
        f.set_result(2)


def test_a_bound_future_completes_when_waited_or_polled():
    calls = []
    f = Future()._bind(lambda: calls.append("wait") or 7, lambda: True)
    g = f.then(lambda fut: fut.value() + 1)
    seen = []
    f.add_done_callback(lambda fut: seen.append(fut.value()))
    assert g.wait() == 8 and calls == ["wait"] and seen == [7]
    h = Future()._bind(lambda: 3, lambda: False)
    assert not h.done() and h.wait() == 3 and h.done()
    a, b = Future()._bind(lambda: 1), Future()._bind(lambda: 2)
    assert [x.value() for x in collect_all([a, b]).wait()] == [1, 2]
    assert wait_all([Future()._bind(lambda: 4)]) == [4]


def test_reachable_as_torch_futures():
    assert torch.futures.Future is Future
    with pytest.raises(NotImplementedError, match="devices"):
        Future(devices=["cuda:0"])
