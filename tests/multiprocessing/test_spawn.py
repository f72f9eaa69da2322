"""spawn / start_processes / ProcessContext (retrograd/multiprocessing/spawn.py), with real (forked)
processes: fn(i, *args) in each, the first failure raised in the parent with the child's traceback,
exit code or signal, the others ended; join=False gives the context."""

import importlib
import os
import pickle
import signal
import sys
import time

import pytest

import retrograd.multiprocessing as mp

spawn_module = importlib.import_module("retrograd.multiprocessing.spawn")  # (mp.spawn is the function, as torch's)

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")


def _report(i, queue, offset):
    queue.put(i + offset)


def _report_parent_death_signal(i, queue):
    import ctypes

    sig = ctypes.c_int()
    ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    queue.put(sig.value)


def _raise_in_one(i):
    if i == 1:
        raise ValueError(f"boom in {i}")
    time.sleep(30)  # ended by the parent when process 1 fails


def _exit_with_3(i):
    sys.exit(3)


def _fail_or_sleep(i, seconds):
    if i == 0:
        sys.exit(2)
    time.sleep(seconds)


def _kill_myself(i):
    os.kill(os.getpid(), signal.SIGKILL)


def test_each_process_runs_fn_with_its_index_and_the_args():
    queue = mp.get_context("fork").SimpleQueue()
    assert mp.start_processes(_report, args=(queue, 10), nprocs=3, start_method="fork") is None
    assert sorted(queue.get() for _ in range(3)) == [10, 11, 12]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_child_gets_sigint_when_its_parent_dies_as_torchs():
    queue = mp.get_context("fork").SimpleQueue()
    mp.start_processes(_report_parent_death_signal, args=(queue,), nprocs=1, start_method="fork")
    assert queue.get() == signal.SIGINT


def test_an_exception_in_a_child_is_raised_with_its_traceback_and_the_others_are_ended():
    started = time.monotonic()
    with pytest.raises(mp.ProcessRaisedException) as info:
        mp.start_processes(_raise_in_one, nprocs=2, start_method="fork")
    e = info.value
    assert time.monotonic() - started < 25  # process 0 was terminated, not waited for
    assert str(e).startswith("\n\n-- Process 1 terminated with the following error:\nTraceback (most recent call")
    assert "ValueError: boom in 1" in str(e) and 'raise ValueError(f"boom in {i}")' in str(e)
    assert e.error_index == 1 and isinstance(e.error_pid, int) and e.msg == str(e)
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is mp.ProcessRaisedException and again.error_index == 1 and str(again) == str(e)


def test_an_exit_code_or_a_signal_is_raised_as_process_exited_exception():
    with pytest.raises(mp.ProcessExitedException, match="^process 0 terminated with exit code 3$") as info:
        mp.start_processes(_exit_with_3, nprocs=1, start_method="fork")
    assert info.value.exit_code == 3 and info.value.signal_name is None and info.value.error_index == 0
    with pytest.raises(mp.ProcessExitedException, match="^process 0 terminated with signal SIGKILL$") as info:
        mp.start_processes(_kill_myself, nprocs=1, start_method="fork")
    assert info.value.exit_code == -signal.SIGKILL and info.value.signal_name == "SIGKILL"
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.exit_code, again.signal_name, again.error_pid) == (-9, "SIGKILL", info.value.error_pid)


@pytest.mark.parametrize("sleep,grace_period,exit_code", [(30, None, -signal.SIGTERM), (0.3, 30, 0)])
def test_after_a_failure_the_others_get_sigterm_at_once_or_after_the_grace_period(sleep, grace_period, exit_code):
    context = mp.start_processes(_fail_or_sleep, args=(sleep,), nprocs=2, join=False, start_method="fork")
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 2"):
        while not context.join(grace_period=grace_period):
            pass
    assert context.processes[1].exitcode == exit_code  # terminated, or ended its sleep within the grace period


def test_join_false_returns_the_context_whose_join_says_when_all_ended():
    queue = mp.get_context("fork").SimpleQueue()
    context = mp.start_processes(_report, args=(queue, 0), nprocs=2, join=False, start_method="fork")
    assert isinstance(context, mp.ProcessContext) and len(context.pids()) == 2
    assert all(isinstance(pid, int) for pid in context.pids())
    while not context.join(timeout=30):
        pass
    assert context.join() is True and sorted(queue.get() for _ in range(2)) == [0, 1]
    assert all(p.exitcode == 0 for p in context.processes)


def test_spawn_warns_for_another_start_method_and_uses_spawn(monkeypatch):
    calls = []
    monkeypatch.setattr(spawn_module, "start_processes", lambda *a, **k: calls.append((a, k)) or "ctx")
    with pytest.warns(FutureWarning, match=r"This method only supports start_method=spawn \(got: fork\)"):
        assert mp.spawn(_report, args=(1,), nprocs=2, join=False, daemon=True, start_method="fork") == "ctx"
    assert calls == [((_report, (1,), 2, False, True), {"start_method": "spawn"})]


def test_an_unknown_start_method_raises_as_multiprocessing():
    with pytest.raises(ValueError, match="cannot find context for 'bogus'"):
        mp.start_processes(_report, nprocs=1, start_method="bogus")
