"""Recording retrograd's dispatch: while a profile records, every ``Function.apply`` (an op,
forward or inside a backward rule), every node the backward engine evaluates and every
``record_function`` range becomes a timed ``FunctionEvent``, nested by thread.

The hooks: ``autograd.function.profile_hook`` and ``autograd.engine.profile_hook`` are None
unless a ``_Recorder`` is installed, so an unprofiled op pays one global load and compare.

Names follow torch's: an op is ``aten::`` and the snake-case name of its forward
(``aten::mul``, ``aten::log_softmax``, ``aten::threshold_backward``), a user's Function its
class name; a backward node shows as ``autograd::engine::evaluate_function: MulBackward0``
(the engine's whole step for it: hooks, shape checks, accumulation) around ``MulBackward0``
(its backward rule), and a leaf's accumulation as ``torch::autograd::AccumulateGrad``.
"""

import functools
import itertools
import os
import re
import sys
import threading
import time

import numpy as np

from ..autograd import engine as _engine
from ..autograd import function as _function
from ..autograd.graph import AccumulateGrad
from .events import STEP_PREFIX, FunctionEvent

_active = None  # the _Recorder now recording: one per process, as torch's profiler
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_EVALUATE = "autograd::engine::evaluate_function: "
_ACCUMULATE = "torch::autograd::AccumulateGrad"


def active():
    return _active


class _ThreadState(threading.local):
    def __init__(self):
        self.stack = []  # this thread's open events, innermost last
        self.rerun = False  # the next apply is the one being recorded: run it unrecorded
        self.tid = threading.get_native_id()


class _Recorder:
    """Collects the events of one recording (one ``start_trace`` .. ``stop_trace``)."""

    def __init__(self, record_shapes=False, profile_memory=False, with_stack=False, t0_ns=None):
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.events = []
        self._ids = itertools.count(1)
        self._seq = itertools.count(0)  # torch's "sequence number" of recorded nodes
        self._state = _ThreadState()
        self._threads = {}  # native thread id -> 1, 2, ... in order of first event
        self._t0 = time.perf_counter_ns() if t0_ns is None else t0_ns  # times count from here

    # ------------------------------------------------------------------ install

    def install(self):
        global _active
        if _active is not None:
            raise RuntimeError(
                "Profiler is already enabled: a profile is recording in this process. Stop it "
                "(leave its `with` block or call .stop()) before starting another.")
        _active = self
        _function.profile_hook = self.apply
        _engine.profile_hook = self

    def uninstall(self):
        """Stop recording; ranges still open (a record_function not yet left) end now."""
        global _active
        _function.profile_hook = None
        _engine.profile_hook = None
        _active = None
        end = self._now()
        for e in self.events:
            if e.time_range.end is None:
                e.time_range.end = end

    # ------------------------------------------------------------------ events

    def _now(self):
        return (time.perf_counter_ns() - self._t0) / 1000.0

    def open(self, name, input_shapes=None, user_annotation=False, args=None):
        state = self._state
        stack = state.stack
        tid = state.tid
        thread = self._threads.setdefault(tid, len(self._threads) + 1)
        trace_name = name
        if name.startswith(STEP_PREFIX):
            name = "ProfilerStep*"
        event = FunctionEvent(next(self._ids), name, thread, None, input_shapes=input_shapes,
                              stack=self._stack() if self.with_stack else None,
                              is_user_annotation=user_annotation, trace_name=trace_name, tid=tid,
                              args=args)
        if stack:
            event.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(event)
        if self.profile_memory:
            event._allocated = []  # arrays its children allocated: not its own allocations
        stack.append(event)
        self.events.append(event)
        event.time_range.start = self._now()
        return event

    def close(self, event, inputs=(), outputs=None):
        event.time_range.end = self._now()
        stack = self._state.stack
        if stack and stack[-1] is event:
            stack.pop()
        elif event in stack:
            stack.remove(event)
        if self.profile_memory:
            self._count_memory(event, inputs, outputs)

    def _count_memory(self, event, inputs, outputs):
        """The bytes of the output arrays this event allocated itself: not views of its
        inputs, not arrays a child op made (counted there)."""
        known = [_root(t._data) for t in _tensors(inputs)] + event._allocated
        new = []
        for t in _tensors(outputs):
            root = _root(t._data)
            if not any(root is k for k in known) and not any(root is n for n in new):
                new.append(root)
        host = sum(r.nbytes for r in new if isinstance(r, np.ndarray))
        device = sum(r.nbytes for r in new) - host
        event.cpu_memory_usage = host + sum(c.cpu_memory_usage for c in event.cpu_children)
        event.device_memory_usage = device + sum(c.device_memory_usage for c in event.cpu_children)
        parent = event.cpu_parent
        if parent is not None and parent.time_range.end is None:
            parent._allocated += new + event._allocated
        del event._allocated

    def _stack(self):
        """The user's Python frames, innermost first, as "file.py(12): fn" (torch's form)."""
        frames = []
        f = sys._getframe(2)
        while f is not None:
            code = f.f_code
            if not code.co_filename.startswith(_PACKAGE_DIR):
                frames.append(f"{code.co_filename}({f.f_lineno}): {code.co_name}")
            f = f.f_back
        return frames

    def _shapes(self, args, kwargs):
        if not self.record_shapes:
            return None
        values = args + tuple(kwargs.values()) if kwargs else args
        return [list(a.shape) if isinstance(a, _function._Tensor) else [] for a in values]

    # ------------------------------------------------------------------ the hooks

    def apply(self, cls, args, kwargs):
        """function.profile_hook: record ``cls.apply(*args, **kwargs)``."""
        state = self._state
        if state.rerun:
            state.rerun = False
            return NotImplemented  # apply runs the op itself
        event = self.open(_op_name(cls), self._shapes(args, kwargs))
        state.rerun = True
        out = None
        try:
            out = cls.apply(*args, **kwargs)
        finally:
            state.rerun = False
            self.close(event, args, out)
        node = _made_node(out, cls)
        if node is not None:  # number the node, so its backward events point back to this op
            event.sequence_nr = node._profiler_seq = next(self._seq)
        return out

    def evaluate(self, node, grads, *rest):
        """engine.profile_hook.evaluate: the engine's whole step for one node."""
        name = _node_name(node)
        event = self.open(_EVALUATE + name, [] if self.record_shapes else None)
        event.sequence_nr = getattr(node, "_profiler_seq", -1)
        # an AccumulateGrad node's step is its accumulation: no backward rule to time apart
        inner = self.open(name, self._grad_shapes(grads)) \
            if isinstance(node, AccumulateGrad) else None
        try:
            return _engine._run_node(node, grads, *rest)
        finally:
            if inner is not None:
                self.close(inner)
            self.close(event)

    def backward(self, node, grads):
        """engine.profile_hook.backward: a node's backward rule."""
        event = self.open(_node_name(node), self._grad_shapes(grads))
        event.sequence_nr = getattr(node, "_profiler_seq", -1)
        out = None
        try:
            out = node.backward(node, *grads)
            return out
        finally:
            self.close(event, grads, out)

    def _grad_shapes(self, grads):
        if not self.record_shapes:
            return None
        return [list(g.shape) if g is not None else [] for g in grads]


def _made_node(out, cls):
    """The backward node the op just recorded (its outputs' grad_fn), if any."""
    for t in _tensors(out):
        fn = t.grad_fn
        if fn is not None and type(fn) is cls:
            return fn
    return None


def _tensors(values):
    if values is None:
        return ()
    if isinstance(values, _function._Tensor):
        return (values,)
    if isinstance(values, (tuple, list)):
        return [v for v in values if isinstance(v, _function._Tensor)]
    return ()


def _root(array):
    """The array that owns ``array``'s memory (itself, or the base of a view)."""
    base = array.base
    while isinstance(base, type(array)):
        array, base = base, base.base
    return array


_names = {}


def _op_name(cls):
    name = _names.get(cls)
    if name is None:
        if cls.__module__.startswith("retrograd."):
            forward = re.sub(r"Backward\d*$", "", cls._backward_name).lstrip("_")
            name = "aten::" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_",
                                     forward).lower()
        else:
            name = cls.__name__
        _names[cls] = name
    return name


def _node_name(node):
    return _ACCUMULATE if isinstance(node, AccumulateGrad) else node.name()


class record_function:
    """A labelled range in the profile: ``with record_function("forward"): ...`` or, as a
    decorator, around each call. It shows as a row of the table (a user annotation) whose
    total time holds the ops run inside. With no profile recording it does nothing.
    ``args`` is a string kept with the range (shown in the Chrome trace)."""

    def __init__(self, name, args=None):
        if args is not None and not isinstance(args, str):
            raise TypeError(f"record_function(): args must be a string or None, got {type(args).__name__}")
        self.name = name
        self.args = args
        self._event = None
        self._recorder = None

    def __enter__(self):
        recorder = _active
        if recorder is not None:
            self._recorder = recorder
            self._event = recorder.open(self.name, [] if recorder.record_shapes else None,
                                        user_annotation=True, args=self.args)
        return self

    def __exit__(self, exc_type, exc, tb):
        event, recorder = self._event, self._recorder
        self._event = self._recorder = None
        if event is not None and recorder is _active:
            recorder.close(event)
        return False

    def __call__(self, fn):
        name, args = self.name, self.args

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            with record_function(name, args):
                return fn(*a, **kw)

        return wrapper
