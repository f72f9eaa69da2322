"""Volatile calls: functions whose result changes between calls with the same arguments.

A capture runs the function once and replays what it recorded, so a number the function got from
the clock (``x * time.time()``), the OS's random bytes, a file, a queue or a thread's event
would be the first call's number at every replay. torch's dynamo does not trace such calls (the
time module, ``os``'s system calls, file objects and ``queue.Queue`` are "skipped": a graph break
where they are called); value_guards.Recorder breaks the graph at them too, so the call runs
eagerly at each call and capture resumes after it (resume.py). The environment is read like a
dict and is guarded instead (torch guards ``os.environ`` reads too): see value_guards.Recorder.

The calls, each found while the capture records, called from the user's code or from the standard
library's on its behalf (``uuid.uuid4`` reads ``os.urandom``, ``logging`` the clock), not from
retrograd's or NumPy's:

- C functions (seen by the capture's profile hook): the time module's clocks and ``sleep``; the
  process's measures (``resource.getrusage``, ``tracemalloc.get_traced_memory``) and the garbage
  collector's (``gc.collect``, ``gc.get_count``);
  ``datetime``'s ``now``, ``utcnow`` and ``today``; ``os``'s system calls (``urandom``, ``getpid``,
  ``stat``, ``listdir``, ``read``...; not the pure ones: ``fspath``, ``strerror``, the wait-status
  macros); ``open`` and ``input``; every method of a file object (``read``, ``readline``, ``seek``,
  ``write``...: a file's position and contents move) and of a ``queue.SimpleQueue``;
- Python functions of the standard library (seen by their call event): ``queue.Queue``'s methods
  and ``threading.Event``'s ``wait``, ``set`` and ``clear`` (``is_set`` reads a flag, which is
  guarded, as torch guards it).
"""

import _io
import _tracemalloc
import builtins
import datetime
import gc
import importlib
import os
import queue
import threading
import time

_CLOCKS = ("time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "process_time",
           "process_time_ns", "thread_time", "thread_time_ns", "clock_gettime", "clock_gettime_ns", "localtime",
           "gmtime", "ctime", "asctime", "strftime", "sleep")
# os's functions whose result depends only on their arguments
_PURE_OS = frozenset(("fspath", "strerror", "major", "minor", "makedev", "waitstatus_to_exitcode", "WCOREDUMP",
                      "WEXITSTATUS", "WIFCONTINUED", "WIFEXITED", "WIFSIGNALED", "WIFSTOPPED", "WSTOPSIG",
                      "WTERMSIG", "_path_normpath", "cpu_count", "confstr", "sysconf", "fpathconf", "pathconf"))


def _functions():
    out = {getattr(time, n): f"time.{n}()" for n in _CLOCKS if hasattr(time, n)}
    for cls in (datetime.datetime, datetime.date):
        for n in ("now", "utcnow", "today"):
            if hasattr(cls, n):
                out[getattr(cls, n)] = f"datetime.{cls.__name__}.{n}()"
    for n, f in vars(importlib.import_module(os.name)).items():  # (posix, or nt on Windows: os's C functions)
        if type(f) is type(len) and n not in _PURE_OS:
            out[f] = f"os.{n}()"
    out[builtins.open] = "open()"
    out[builtins.input] = "input()"
    # the process's own measures and the collector (gc.collect() frees what another call made)
    for module, names in ((gc, ("collect", "get_count", "get_stats", "get_objects", "get_freeze_count",
                                "enable", "disable", "freeze", "unfreeze")),
                          (_tracemalloc, ("get_traced_memory", "get_tracemalloc_memory", "reset_peak",
                                          "clear_traces", "start", "stop")),
                          (_resource(), ("getrusage",))):
        for n in names:
            if hasattr(module, n):
                out[getattr(module, n)] = f"{module.__name__.lstrip('_')}.{n}()"
    return out


def _resource():
    try:
        import resource
    except ImportError:  # (not on Windows)
        return None
    return resource


FUNCTIONS = _functions()  # C function -> its name in the break's reason
# classes whose every C method reads or moves state outside the arguments (a file's position, a queue)
TYPES = {t: t.__name__ for t in (_io.FileIO, _io.BufferedReader, _io.BufferedWriter, _io.BufferedRandom,
                                 _io.BufferedRWPair, _io.TextIOWrapper, _io.StringIO, _io.BytesIO,
                                 queue.SimpleQueue)}


def _codes():
    out = {}
    for cls, names in ((queue.Queue, ("get", "put", "get_nowait", "put_nowait", "qsize", "empty", "full",
                                      "task_done", "join")),
                       (threading.Event, ("wait", "set", "clear"))):  # (is_set: its flag guarded)
        for n in names:
            out[getattr(cls, n).__code__] = f"{cls.__module__}.{cls.__qualname__}.{n}()"
    return out


CODES = _codes()  # a Python function's code -> its name


def c_function(arg):
    """The name of C function ``arg`` (a profile hook's c_call argument) if it is volatile, else None."""
    name = FUNCTIONS.get(arg)
    if name is not None:
        return name
    kind = TYPES.get(getattr(arg, "__self__", None).__class__)
    return None if kind is None else f"{kind}.{getattr(arg, '__name__', '?')}()"


def reason(name):
    """The graph break's reason for a call of volatile function ``name``."""
    return (f"{name} returns something else at each call (the clock, the system, a file, a queue or another "
            "thread): a replay would give the first call's value, so that call runs eagerly")
