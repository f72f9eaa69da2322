"""The peak memory of one training step, and where it goes: saved activations, gradients,
optimizer state and temporaries, per module (``inspect.memory_plan``).

How the peak is predicted: ``fn`` runs once with recorders on the seams the profiler uses
(``autograd.function.profile_hook`` sees every op, ``autograd.engine.profile_hook`` every
backward node, the global optimizer step hooks every ``optimizer.step``). The recorder keeps
a timeline of

* every buffer an op allocates (its new output arrays: not views of its inputs), with its
  size, the module running it and the phase (forward, backward, optimizer); a weak reference
  to the array records the instant it is freed;
* each parameter's ``.grad`` buffer and each new optimizer state buffer (made outside ops);
* each op's scratch: how far traced memory rises inside the op above where it started
  (NumPy reports its allocations to tracemalloc), which covers the temporaries an op makes
  and drops inside (im2col buffers, the intermediate arrays of a fused formula).

Replaying the timeline gives the bytes alive at every op; the predicted peak is the largest
(bytes alive when an op starts + its scratch). A buffer made in the forward that is still
alive when backward starts is an activation (saved for backward, or held by the caller); one
that ends as a parameter's ``.grad`` a gradient; new optimizer state is optimizer state;
everything else (the running op's scratch, gradients in flight between nodes, forward values
freed before backward) is a temporary. ``inspect.checkpoint_plan`` transforms the same
timeline to predict the peak of the step under a checkpointing plan without running it.

What it counts is what ``fn`` allocates: memory alive before the call (parameters, the
previous step's gradients) is the baseline, and a buffer from before that ``fn`` frees (a
``zero_grad()`` dropping old gradients) is not subtracted, so for such a step the prediction
is an upper bound by those bytes. Python objects (tensors' headers, graph nodes) are not
counted; they are a few hundred bytes per op.
"""

import time
import tracemalloc
import weakref
from dataclasses import dataclass, field

import numpy as np

from ..autograd import engine as _engine
from ..autograd import function as _function
from ..autograd.graph import AccumulateGrad, _modules
from ..optim import optimizer as _optimizer
from .memory import _fmt, _module_names, _owner

CATEGORIES = ("activations", "gradients", "optimizer_state", "temporaries")
_ALLOC, _FREE, _OP = 0, 1, 2


@dataclass
class MemoryRow:
    """Bytes one module holds at the step's peak, by kind; ``total`` is their sum."""

    module: str
    activations: int = 0
    gradients: int = 0
    optimizer_state: int = 0
    temporaries: int = 0
    total: int = field(init=False)

    def __post_init__(self):
        self.total = self.activations + self.gradients + self.optimizer_state + self.temporaries


class MemoryPlan:
    """The result of :func:`memory_plan`.

    ``peak_bytes``: the predicted peak of the step, above the memory alive when it started.
    ``breakdown``: {'activations', 'gradients', 'optimizer_state', 'temporaries'} -> bytes at
    the peak. ``rows``: a :class:`MemoryRow` per module at the peak, largest first.
    ``peak_phase`` ('forward', 'backward' or 'optimizer') and ``peak_op`` (the op running at the
    peak, e.g. 'AddmmBackward0'), ``peak_module``. ``activation_bytes``: all forward values
    alive when backward started. ``str(plan)`` is the table."""

    def __init__(self, peak_bytes, live, peak_phase, peak_op, peak_module, activation_bytes, seconds,
                 module_types=None):
        self.peak_bytes = peak_bytes
        self.peak_phase = peak_phase
        self.peak_op = peak_op
        self.peak_module = peak_module
        self.activation_bytes = activation_bytes
        self.seconds = seconds
        self.module_types = dict(module_types or {})  # module name -> class name (shown in the table)
        by_module = {}
        for (category, module), n in live.items():
            if n:
                kinds = by_module.setdefault(module, dict.fromkeys(CATEGORIES, 0))
                kinds[category] += n
        rows = [MemoryRow(module, **kinds) for module, kinds in by_module.items()]
        self.rows = sorted(rows, key=lambda r: -r.total)
        self.breakdown = {c: sum(getattr(r, c) for r in self.rows) for c in CATEGORIES}

    def __str__(self):
        head = f"{'module':<32}" + "".join(f"{c.replace('_', ' '):>16}" for c in CATEGORIES) + f"{'total':>14}"
        lines = [f"predicted peak of the step: {_fmt(self.peak_bytes)}, during {self.peak_phase} "
                 f"({self.peak_op} in {self.peak_module})", head]
        for r in self.rows:
            kind = self.module_types.get(r.module)
            label = f"{r.module} ({kind})" if kind and kind != r.module else r.module
            lines.append(f"{label:<32}" + "".join(f"{_fmt(getattr(r, c)):>16}" for c in CATEGORIES)
                         + f"{_fmt(r.total):>14}")
        lines.append(f"{'total':<32}" + "".join(f"{_fmt(self.breakdown[c]):>16}" for c in CATEGORIES)
                     + f"{_fmt(self.peak_bytes):>14}")
        return "\n".join(lines)

    __repr__ = __str__


@dataclass
class _Buffer:
    bytes: int
    module: object  # the nn.Module running when it was made (None outside modules)
    phase: str
    born: int  # index in the timeline
    died: int = None
    param: object = None  # the parameter whose .grad or optimizer state this is
    state: bool = False  # new optimizer state
    keepers: list = None  # the modules of the forward ops that keep it for backward
    category: str = None  # set by _Recorder.finish


@dataclass
class _Op:
    name: str
    module: object
    phase: str
    at: int  # index in the timeline
    rise: int = 0  # traced bytes above the op's start at its highest point inside
    end: int = None  # index in the timeline after the op and the buffers recorded for it
    traced: int = 0  # traced bytes (all of them, Python objects too) above the run's start when it started
    param: object = None  # AccumulateGrad's parameter


def _tensors(values):
    if isinstance(values, _function._Tensor):
        return [values]
    if isinstance(values, (tuple, list)):
        return [v for v in values if isinstance(v, _function._Tensor)]
    return ()


def _arrays(value, depth=0):
    """The NumPy arrays in ``value``: tensors' data, arrays, inside tuples, lists and dicts."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, _function._Tensor):
        if isinstance(value._data, np.ndarray):
            yield value._data
    elif depth < 3 and isinstance(value, (tuple, list)):
        for v in value:
            yield from _arrays(v, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v, depth + 1)


class _Recorder:
    """Records the timeline of one run of a step (see the module docstring)."""

    def __init__(self, watch=()):
        self.buffers, self.ops, self.events = [], [], []
        self.roots = []  # the outermost modules that ran ops, in order of first use
        self.backward_start = None
        self.end = None
        self.phase = "forward"
        self.calls = {}  # id(watched module) -> [[start event, end event, output buffer or None], ...]
        self._watch = list(watch)
        self._live = {}  # id(owner array) -> buffer index, while alive
        self._refs = {}  # buffer index -> weakref that records its death
        self._frames = []  # [traced memory at the op's start, highest traced memory seen] per open op
        self._rerun = False
        self._own = 0  # bytes of the recorder's own records
        self._node_module = []
        self._handles = []
        self._optimizer_state = None

    # ---------------------------------------------------------------- install / remove
    def __enter__(self):
        if _function.profile_hook is not None or _engine.profile_hook is not None:
            raise RuntimeError("inspect.memory_plan cannot run while a profile (torch.profiler) or another "
                               "memory_plan records: they use the same hooks; leave the profile first")
        self._started_tracing = not tracemalloc.is_tracing()
        if self._started_tracing:
            tracemalloc.start()
        self._base = tracemalloc.get_traced_memory()[0]
        _function.profile_hook = self.apply
        _engine.profile_hook = self
        self._handles = [_optimizer.register_optimizer_step_pre_hook(self._step_pre),
                         _optimizer.register_optimizer_step_post_hook(self._step_post)]
        for m in self._watch:
            self._handles.append(m.register_forward_pre_hook(self._call_pre))
            self._handles.append(m.register_forward_hook(self._call_post))
        return self

    def __exit__(self, *exc):
        _function.profile_hook = None
        _engine.profile_hook = None
        for h in self._handles:
            h.remove()
        self.end = len(self.events)
        self._refs = {}  # later deaths are not part of the step
        if self._started_tracing:
            tracemalloc.stop()
        return False

    # ---------------------------------------------------------------- ops
    def _open(self, name, module, param=None):
        cur, peak = tracemalloc.get_traced_memory()
        if self._frames:
            frame = self._frames[-1]
            frame[1] = max(frame[1], peak)
        op = _Op(name, module, self.phase, len(self.events), param=param, traced=cur - self._base - self._own)
        self.ops.append(op)
        self.events.append((_OP, len(self.ops) - 1))
        self._frames.append(None)
        after = tracemalloc.get_traced_memory()[0]
        self._own += after - cur  # the recorder's own objects are not the step's memory
        tracemalloc.reset_peak()
        self._frames[-1] = [after, after, self._own]
        return op

    def _close(self, op):
        start, highest, own = self._frames.pop()
        peak = max(tracemalloc.get_traced_memory()[1], highest)
        op.rise = max(0, peak - start - (self._own - own))
        if self._frames:
            frame = self._frames[-1]
            frame[1] = max(frame[1], peak)

    def _current_module(self):
        if self._node_module:
            return self._node_module[-1]
        stack = _modules.stack
        if not stack:
            return None
        if stack[0] not in self.roots:
            self.roots.append(stack[0])
        return stack[-1]

    def _track(self, owner, module, **kw):
        before = tracemalloc.get_traced_memory()[0]
        i = len(self.buffers)
        key = id(owner)
        self.buffers.append(_Buffer(int(owner.nbytes), module, self.phase, len(self.events), **kw))
        self.events.append((_ALLOC, i))
        self._live[key] = i
        self._refs[i] = weakref.ref(owner, lambda _, i=i, key=key: self._freed(i, key))
        self._own += tracemalloc.get_traced_memory()[0] - before
        return i

    def _freed(self, i, key):
        if i not in self._refs:
            return
        del self._refs[i]
        self.buffers[i].died = len(self.events)
        self.events.append((_FREE, i))
        if self._live.get(key) == i:
            del self._live[key]

    def apply(self, cls, args, kwargs):
        """function.profile_hook: run the op, recording its scratch and its new buffers."""
        if self._rerun:
            self._rerun = False
            return NotImplemented
        module = self._current_module()
        op = self._open(cls._backward_name, module)
        self._rerun = True
        try:
            out = cls.apply(*args, **kwargs)
        finally:
            self._rerun = False
            self._close(op)
        # arrays passed as plain arrays (not tensors) may be new: they are tracked if the node keeps them
        inputs = {id(_owner(a._data)) for a in _tensors(args) + _tensors(list(kwargs.values()))}
        outs = _tensors(out)
        for t in outs:
            owner = _owner(t._data)
            if isinstance(owner, np.ndarray) and id(owner) not in inputs and id(owner) not in self._live:
                self._track(owner, module)
        node = outs[0].grad_fn if outs else None
        if type(node) is cls:  # arrays the op kept on its node for backward (im2col buffers, masks)
            kept = list(_arrays((node._saved, vars(node))))
            self._track_new(kept, inputs, module)
            for a in kept:
                i = self._live.get(id(_owner(a)))
                if i is not None:
                    b = self.buffers[i]
                    b.keepers = (b.keepers or []) + [module]
        op.end = len(self.events)
        return out

    def _track_new(self, arrays, known, module):
        """Track the arrays not seen before, not in ``known`` and not made before the run."""
        for a in arrays:
            owner = _owner(a)
            if id(owner) not in known and id(owner) not in self._live \
                    and (not self._started_tracing or tracemalloc.get_object_traceback(owner) is not None):
                self._track(owner, module)

    def evaluate(self, node, grads, *rest):
        """engine.profile_hook.evaluate: one backward node (its rule, hooks, accumulation)."""
        if self.backward_start is None:
            self.backward_start = len(self.events)
        prev = self.phase
        self.phase = "backward"
        leaf = node.variable if isinstance(node, AccumulateGrad) else None
        before = None if leaf is None or leaf._grad is None else _owner(leaf._grad._data)
        self._node_module.append(node._module)
        op = self._open(node.name(), node._module, param=leaf)
        try:
            return _engine._run_node(node, grads, *rest)
        finally:
            self._close(op)
            if leaf is not None and leaf._grad is not None and _owner(leaf._grad._data) is not before:
                owner = _owner(leaf._grad._data)  # a new .grad buffer (not one added into in place)
                i = self._live.get(id(owner))
                if i is None and isinstance(owner, np.ndarray):
                    i = self._track(owner, None)  # copied into .grad outside any op
                if i is not None:
                    self.buffers[i].param = leaf
            op.end = len(self.events)
            self._node_module.pop()
            self.phase = prev

    def backward(self, node, grads):
        """engine.profile_hook.backward: a node's backward rule (its ops are recorded by apply)."""
        result = node.backward(node, *grads)
        inputs = {id(_owner(a)) for a in _arrays(grads)}
        self._track_new(_arrays(result), inputs, node._module)  # made by rules that skip ops
        return result

    # ---------------------------------------------------------------- optimizer
    def _state_arrays(self, opt):
        for p, state in opt.state.items():
            for v in state.values():
                if isinstance(v, _function._Tensor):
                    yield p, _owner(v._data)

    def _step_pre(self, opt, args, kwargs):
        self._optimizer_state = {id(a) for _, a in self._state_arrays(opt)}
        self.phase = "optimizer"
        self._step_op = self._open(f"{type(opt).__name__}.step", None)

    def _step_post(self, opt, args, kwargs):
        self._close(self._step_op)
        for p, owner in self._state_arrays(opt):
            if id(owner) not in self._optimizer_state and id(owner) not in self._live \
                    and isinstance(owner, np.ndarray):
                self._track(owner, None, param=p, state=True)
        self._step_op.end = len(self.events)
        self.phase = "forward"

    # ---------------------------------------------------------------- watched module calls
    def _call_pre(self, module, args):
        self.calls.setdefault(id(module), []).append([len(self.events), None, None])

    def _call_post(self, module, args, output):
        call = self.calls[id(module)][-1]
        call[1] = len(self.events)
        outs = _tensors(output)
        if outs:
            call[2] = self._live.get(id(_owner(outs[0]._data)))

    # ---------------------------------------------------------------- results
    def finish(self):
        """Name modules, give each buffer its category; returns {id(module): name}."""
        names = {}
        for k, root in enumerate(self.roots):
            for key, name in _module_names(root).items():
                if k and name != type(root).__name__:
                    name = f"{type(root).__name__}.{name}"
                names.setdefault(key, name)
        param_module = {}
        for root in self.roots:
            for m in root.modules():
                for p in m._parameters.values():
                    if p is not None:
                        param_module.setdefault(id(p), m)
        self.param_module = param_module
        start = self.backward_start if self.backward_start is not None else self.end
        end = self.end
        for i, b in enumerate(self.buffers):
            if b.param is not None:
                b.module = param_module.get(id(b.param), b.module)
            alive_at_end = b.died is None or b.died >= end
            if b.state:
                b.category = "optimizer_state"
            elif b.param is not None and alive_at_end and b.param._grad is not None \
                    and self._live.get(id(_owner(b.param._grad._data))) == i:
                b.category = "gradients"
            elif b.phase == "forward" and b.born < start and (b.died is None or b.died > start):
                b.category = "activations"
            else:
                b.category = "temporaries"
        for op in self.ops:
            if op.param is not None:
                op.module = param_module.get(id(op.param), op.module)
        self.names = names
        self.types = {}  # module name -> class name, for the table
        return names

    def name(self, module):
        if module is None:
            return "(no module)"
        name = self.names.get(id(module), type(module).__name__)
        self.types[name] = type(module).__name__
        return name


def replay(rec, on_op=None):
    """Walk the timeline, calling ``on_op(op, live_bytes)`` at each op with the bytes alive when
    it started. Returns (peak, {(category, module name): bytes} at the peak, the op at the
    peak). At an op's peak its rise holds the buffers it makes and keeps (counted by their
    kind) and its scratch (temporaries)."""
    live, total = {}, 0
    best, best_live, best_op = 0, {}, None
    for code, i in rec.events[:rec.end]:
        if code == _OP:
            op = rec.ops[i]
            if on_op is not None:
                on_op(op, total)
            if total + op.rise > best:
                best, best_op, best_live = total + op.rise, op, dict(live)
            continue
        b = rec.buffers[i]
        key = (b.category, rec.name(b.module))
        n = b.bytes if code == _ALLOC else -b.bytes
        live[key] = live.get(key, 0) + n
        total += n
    if best_op is not None:
        left = best_op.rise
        end = best_op.end if best_op.end is not None else rec.end
        for code, i in rec.events[best_op.at + 1:end]:
            if code != _ALLOC:
                continue
            b = rec.buffers[i]
            if (b.died is None or b.died >= end) and left > 0:
                key = (b.category, rec.name(b.module))
                n = min(b.bytes, left)
                best_live[key] = best_live.get(key, 0) + n
                left -= n
        key = ("temporaries", rec.name(best_op.module))
        best_live[key] = best_live.get(key, 0) + left
    return best, best_live, best_op


def memory_plan(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` once (a training step: forward, loss, backward and
    ``optimizer.step()``; or a forward and loss) and return a :class:`MemoryPlan`: the predicted
    peak bytes of the step and what is alive at that moment, per module and kind.

    Example::

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        plan = inspect.memory_plan(step)
        print(plan)                 # the table, one row per module
        plan.peak_bytes, plan.breakdown['activations'], plan.rows[0].module

    Modules are named by their path in the outermost module that ran (``layers.3.linear``).
    The run uses tracemalloc (started and stopped here if it is not tracing; if it is, its
    peak is reset). ``fn``'s effects happen (the optimizer steps once)."""
    rec = _Recorder()
    t0 = time.perf_counter()
    with rec:
        fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    rec.finish()
    peak, live, op = replay(rec)
    acts = sum(b.bytes for b in rec.buffers if b.category == "activations")
    return MemoryPlan(peak, live, op.phase if op else "forward", op.name if op else "-",
                      rec.name(op.module) if op else "-", acts, seconds, rec.types)
