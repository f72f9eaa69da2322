"""The stack watch (src/retrograd/_compile/stack_watch.py): C code reading a symbolic int (or float) in the
user's code specializes it, so that no replay computes with a stale value. Each program below reads the int
argument in a way an int subclass cannot see (range, indexing, slicing, %-formatting, a float's arithmetic,
NumPy, struct, json, type(n)...) and is called with the int changing between calls: a design that replayed
the capture's read would return the previous value's result. Those that keep the int in the user's frames
(a helper's argument, a module's forward, a value returned) stay symbolic: one recompile, as torch's."""

import array
import decimal
import json
import math
import struct
import sys

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd._compile import stack_watch
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand

LIST = [10.0, 20.0, 30.0, 40.0, 50.0]
VALUES = (2, 3, 1, 4, 2, 3)


def _range(x, n):
    for i in range(n):
        x = x + i
    return x


def _index(x, n):
    return x * LIST[n]


def _slice(x, n):
    return x * sum(LIST[:n])


def _percent(x, n):
    return x * float("%d5" % n)


def _bool_plus(x, n):
    return x * (True + n)


def _numpy(x, n):
    return x * float(np.zeros(n).size)


def _struct(x, n):
    return x * struct.unpack("q", struct.pack("q", n))[0]


def _json(x, n):
    return x * len(json.dumps(n * 111))


def _type(x, n):
    return x * 2 if type(n) is int else x * 3


def _method(x, n):
    return x * n.bit_length()


def _divmod(x, n):
    return x * divmod(n, 2)[1]


def _repeat(x, n):
    return x * len([0] * n)


def _factorial(x, n):
    return x * math.factorial(n)


def _tensor_index(x, n):
    return x[n - 1] * 2


def _tensor_slice(x, n):
    return x[:n] * 2


def _reshape(x, n):
    return x.reshape(-1)[: n * 2].reshape(n, 2) * 2


def _sum_dim(x, n):
    return x.sum(n % 2)


def _stored(x, n):
    box = _Box()
    box.n = n
    return x * box.scale()


def _in_dict(x, n):
    d = {"n": n}
    return x * LIST[d["n"]]


def _locals(x, n):
    return x * LIST[locals()["n"]]


def _varargs(x, n):
    return _pick(x, n, 1)


def _pick(x, *sizes):
    return x * LIST[sizes[0]]


def _decimal(x, n):
    return x * float(decimal.Decimal(n) / 3)


def _array(x, n):
    return x * array.array("q", [n])[0]


def _compare_float(x, n):
    return x * 2 if 2.5 < n else x * 3


def _bytes_map(x, n):
    # (the lambda's frame returns i * n to bytes(), C code, not to the frame that called map)
    return x * sum(bytes(map(lambda i: i * n, range(3))))


THREE = 3


def _identity(x, n):
    return x * 2 if n is THREE else x * 3  # (a small int is one object: `is` tells 3 from other values)


class _Box:
    def scale(self):
        return LIST[self.n]


# C-level reads: the int is specialized (guarded by value) at each of them
READS = [_range, _index, _slice, _percent, _bool_plus, _numpy, _struct, _json, _type, _method, _divmod, _repeat,
         _factorial, _tensor_index, _tensor_slice, _reshape, _sum_dim, _stored, _in_dict, _locals, _varargs,
         _decimal, _array, _compare_float, _bytes_map, _identity]


def _run(fn, compiled, x, n):
    return compiled(retrograd.tensor(x), n).numpy(), fn(retrograd.tensor(x), n).numpy()


@pytest.mark.parametrize("fn", READS, ids=lambda f: f.__name__)
def test_a_c_level_read_of_a_changing_int_gives_eagers_result(fn):
    x = rand(4, 2, seed=1).astype(np.float32)
    compiled = retrograd.compile(fn)
    for n in VALUES:
        out, ref = _run(fn, compiled, x, n)
        np.testing.assert_array_equal(out, ref)
    # (specialized: one capture per value, as the int guarded by value before symbolic ints)
    assert compiled._compiled.compiles == len(set(VALUES))


def _helper(x, n):
    return x * n + n


def _calls_helper(x, n):
    return _helper(x, n) * 2


class _Scaled(nn.Module):
    def forward(self, x, n):
        return x * (n + 1)


_scaled = _Scaled()


def _through_module(x, n):
    return _scaled(x, n)


def _returned(x, n):
    m = _plus_one(n)
    return x * m


def _plus_one(n):
    return n + 1


def _cell(x, n):
    def inner(t):
        return t * n

    return inner(x)


# kept in the user's frames: stays symbolic (torch's count: 2 graphs for these calls)
KEPT = [_calls_helper, _through_module, _returned, _cell]


@pytest.mark.parametrize("fn", KEPT, ids=lambda f: f.__name__)
def test_an_int_passed_between_the_users_functions_stays_symbolic(fn):
    x = rand(4, 2, seed=2).astype(np.float32)
    compiled = retrograd.compile(fn)
    for n in VALUES:
        out, ref = _run(fn, compiled, x, n)
        np.testing.assert_array_equal(out, ref)
    assert compiled._compiled.compiles == (2 if stack_watch._SUPPORTED else len(set(VALUES)))


def test_a_foreign_trace_function_keeps_every_int_a_guarded_constant():
    # a debugger or coverage holding sys.settrace: the watch cannot run, so the capture specializes its ints
    x = rand(4, 2, seed=3).astype(np.float32)
    compiled = retrograd.compile(_calls_helper)
    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: None)
    try:
        for n in VALUES:
            out, ref = _run(_calls_helper, compiled, x, n)
            np.testing.assert_array_equal(out, ref)
    finally:
        sys.settrace(previous)
    assert compiled._compiled.compiles == len(set(VALUES))


def test_under_cprofile_no_symbolic_int_is_made():
    # cProfile holds the profile hook the capture's float watch needs: the ints stay plain constants, so
    # type(n) is int holds while capturing
    import cProfile

    x = rand(4, 2, seed=7).astype(np.float32)
    compiled = retrograd.compile(_type)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        outs = [_run(_type, compiled, x, n) for n in VALUES]
    finally:
        profiler.disable()
    for out, ref in outs:
        np.testing.assert_array_equal(out, ref)
    assert compiled._compiled.compiles == len(set(VALUES))


def test_a_frame_the_watch_cannot_read_specializes_every_scalar(monkeypatch):
    def unreadable(frame, nlocals):
        raise stack_watch.Unavailable("test")

    monkeypatch.setattr(stack_watch, "_stack", unreadable)
    x = rand(4, 2, seed=4).astype(np.float32)
    compiled = retrograd.compile(_slice)
    for n in VALUES:
        out, ref = _run(_slice, compiled, x, n)
        np.testing.assert_array_equal(out, ref)
    assert compiled._compiled.compiles == len(set(VALUES))


def test_code_that_reads_the_int_sees_a_plain_int():
    # the watch puts the plain int on the stack where it specializes: C code, type(n), n.__class__ and a list
    # the function keeps never see the SymInt
    seen = []

    def f(x, n):
        h = x * n
        seen.extend((type(n), n.__class__, type(_plus_one(n) * 2)))
        seen.append(n)
        return h

    compiled = retrograd.compile(f)
    x = retrograd.tensor(rand(3, seed=5))
    for n in (1, 2, 3):
        np.testing.assert_array_equal(compiled(x, n).numpy(), (x * n).numpy())
    assert seen == [int, int, int, 1, int, int, int, 2, int, int, int, 3]
    assert all(type(v) is int for v in seen[3::4])


@pytest.mark.skipif(not stack_watch._SUPPORTED, reason="without the stack watch these are symbolic.Watch's known misses")
@pytest.mark.parametrize("how", ["decimal", "array", "type", "global"])
def test_a_float_read_by_c_code_is_specialized_under_torchs_float_policy(how, torch_float_policy):
    # (the profile hook of symbolic.Watch missed these: each replayed the capture's value)
    fn = {"decimal": lambda x, s: x * float(decimal.Decimal(s) * 2),
          "array": lambda x, s: x * array.array("d", [s])[0],
          "type": lambda x, s: x * 2 if type(s) is float else x * 3,
          "global": _store_global}[how]
    compiled = retrograd.compile(fn)
    x = rand(3, seed=6).astype(np.float32)
    for v in (0.5, 0.7, 0.9, 1.1):
        out, ref = _run(fn, compiled, x, v)
        np.testing.assert_array_equal(out, ref)
        if how == "global":
            assert type(STORED) is float and STORED == v


STORED = 0.0


def _store_global(x, s):
    global STORED
    STORED = s
    return x * s


@pytest.fixture
def torch_float_policy():
    from retrograd._compile.compiled import config

    config.specialize_float = False
    yield
    config.specialize_float = True


# ---------------------------------------------------------------- adversarial review (session 27)
def _calls_compared(fn, values, seed=8):
    x = rand(2, 2, seed=seed).astype(np.float32)
    compiled = retrograd.compile(fn)
    for n in values:
        out, ref = _run(fn, compiled, x, n)
        np.testing.assert_array_equal(out, ref, err_msg=f"n={n}")
    return compiled._compiled.compiles


def test_an_instruction_after_an_extended_arg_is_watched():
    # CPython 3.11 runs the instruction an EXTENDED_ARG extends without a trace event of its own (the event is
    # the EXTENDED_ARG's): with more than 256 names, `n.__class__` (LOAD_ATTR 301) kept the SymInt unseen
    names = "".join(f"    o.a{i} = 0\n" for i in range(300))
    source = "def f(x, n):\n    o = _Box()\n" + names + "    return x * 2 if n.__class__ is int else x * 3\n"
    space = {"_Box": _Box}
    exec(compile(source, __file__, "exec"), space)
    assert _calls_compared(space["f"], (2, 3, 4, 5)) == 4


BIG = 1000


def _is_big(x, n):
    return x * 2 if n is BIG else x * 3


def _same_object(x, n):
    a = n
    b = [a][0]  # (the list's item specialized)
    return x * 2 if a is b else x * 3


@pytest.mark.parametrize("fn", [_is_big, _same_object], ids=lambda f: f.__name__)
def test_a_specialized_int_is_the_callers_object(fn):
    # specializing put a new int (int.__int__) in the SymInt's place: `n is BIG` and `[n][0] is n` were False
    # for the symbolic capture (the second value) where eager's are True
    _calls_compared(fn, (5, BIG, 7, BIG, 2000))


def _settrace_none(x, n):
    previous = sys.gettrace()
    sys.settrace(None)
    k = len(range(n))
    sys.settrace(previous)
    return x * k


def _settrace_other(x, n):
    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: None)
    k = _range_length(n)  # (a frame traced by the other function)
    sys.settrace(previous)
    return x * k


def _range_length(n):
    return len(range(n))


def _both_hooks_dropped(x, n):
    trace, profile = sys.gettrace(), sys.getprofile()
    sys.setprofile(None)
    sys.settrace(None)
    k = len(range(n))
    sys.settrace(trace)
    sys.setprofile(profile)
    return x * k


@pytest.mark.parametrize("fn", [_settrace_none, _settrace_other, _both_hooks_dropped], ids=lambda f: f.__name__)
def test_code_replacing_the_trace_function_specializes_every_scalar(fn):
    # the frames run after sys.settrace(...) were not watched: `range(n)` there replayed the capture's value
    previous, profile = sys.gettrace(), sys.getprofile()
    try:
        assert _calls_compared(fn, VALUES) == len(set(VALUES))
    finally:
        sys.settrace(previous)
        sys.setprofile(profile)


def _debugger_check(x, n):
    return x * 100 if sys.gettrace() is not None else x * n


def test_the_users_sys_gettrace_sees_no_watch():
    # the watch's trace function is not eager's: `sys.gettrace()` in the user's code answers as eager's
    assert _calls_compared(_debugger_check, VALUES) == (2 if stack_watch.available() else len(set(VALUES)))


_JOBS, _RESULTS = [], []


def _job_of_argument(x, n):
    _JOBS.append(lambda: len(range(n)))  # (run by the worker thread: no trace function there)
    while not _RESULTS:
        pass
    return x * _RESULTS.pop()


def _job_of_a_later_cell(x, n):
    k = 0
    _JOBS.append(lambda: len(range(k)))
    k = n  # (the cell written after the closure was handed on)
    while not _RESULTS:
        pass
    return x * _RESULTS.pop()


def _job_object(x, n):
    class Job:
        def __call__(self):
            return len(range(n))

    _JOBS.append(Job())
    while not _RESULTS:
        pass
    return x * _RESULTS.pop()


def _job_of_a_frame(x, n):
    import inspect

    frame = inspect.currentframe()
    _JOBS.append(lambda: len(range(frame.f_locals["n"])))  # (the frame's f_locals hold the SymInt)
    while not _RESULTS:
        pass
    return x * _RESULTS.pop()


@pytest.mark.parametrize("fn", [_job_of_argument, _job_of_a_later_cell, _job_object, _job_of_a_frame],
                         ids=lambda f: f.__name__)
def test_a_closure_over_the_int_run_by_another_thread_specializes_it(fn):
    # a closure holding a SymInt (or the frame holding it) handed to a worker thread (a plain list, no lock:
    # nothing breaks the graph) read it in C unseen there, and the replay gave the capture's value
    import threading
    import time

    stop = threading.Event()

    def worker():
        while not stop.is_set():
            if _JOBS:
                _RESULTS.append(_JOBS.pop()())
            else:
                time.sleep(0.0005)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        assert _calls_compared(fn, VALUES) == len(set(VALUES))
    finally:
        stop.set()
        thread.join()


def test_a_call_failing_before_its_frame_starts_is_not_expected_later():
    # the watch notes the user's function a CALL is about to start (its return goes back to the user's stack);
    # a call failing on its arguments left that note for a later frame of the same code, called from C code
    seen = []

    def h(i):
        return i

    def f():
        try:
            h()
        except TypeError:
            seen.append(watch.expect)

    watch = stack_watch.StackWatch(None, lambda code: code.co_filename == __file__)
    if not watch.start():
        pytest.skip("the stack watch cannot run here (another Python, or a tracer holds sys.settrace)")
    try:
        f()
    finally:
        watch.stop()
    assert seen == [None]
