"""The compiled callable: look up the call's guards, replay a captured graph, or capture one.

``Compiled(fn)(*args)``: the call's key (guards.py) picks the graphs captured for it; the first
whose ``check`` passes is replayed (replay.py). A key seen for the first time runs ``fn``
eagerly under a Capture (capture.py): its result is the call's result, and the capture gives
the key a Graph, or, if the graph broke, the function split at the breaking statements
(resume.py: later calls with that key run the split function, whose segments are ``Compiled``
themselves; a function that cannot be split runs eagerly for that key, as does a segment whose
own capture breaks without a statement to split at). ``fullgraph=True`` raised Unsupported
instead. Each new key after the first is a recompile (per code object: each segment has its
own count, as torch's resume functions do); past ``recompile_limit`` (torch's 8) a warning says
so and new keys run eagerly.

Int arguments follow torch's automatic dynamic policy (symbolic.py, stack_watch.py): an int argument is a
constant of the first capture (part of the key); when a recompile finds it changed since the first capture, it
becomes dynamic: the key holds ``DYNAMIC_INT`` in its place, the capture runs with a SymInt there, and the
graph reads the call's value at each replay. A value that the capture read into Python (``if n > 0``,
``range(n)``, ``x[:n]``) specializes it again: that argument is a constant from then on. Float arguments
do the same where ``config.specialize_float`` is False (torch's default; retrograd's is True: constants
guarded by value). ``compile(dynamic=False)`` makes no argument dynamic (each new value recompiles), and
``dynamic=True`` makes every int and float argument symbolic from the first capture (shapes stay static).
"""

import copy
import sys
import types
import warnings
import weakref

from .. import _dtype
from ..autograd import function as _function
from .._backend import device as _device
from ..tensor import Size, Tensor
from . import guards, resume, stack_watch, symbolic, value_guards
from .capture import Capture
from .graph_break import GraphBreak, frame_position
from .replay import CompiledFunction, run_training


class config:
    """torch._dynamo.config's recompile limit (``cache_size_limit`` is its old name), and
    ``specialize_float``: True (retrograd's default; torch's is False) keeps every float a constant
    guarded by value, so a new value recompiles. False is torch's automatic dynamic (symbolic.py):
    a float that changed becomes an input of the capture. Not the default because the capture cannot
    see every read of a float: C code that reads it without calling its methods (``'%.3f' % s``,
    ``decimal.Decimal(s)``, ``array.array('d', [s])``, ``map(math.exp, [s])``, a thread) would replay
    the captured value (docs/compile.md)."""

    recompile_limit = 8
    cache_size_limit = 8
    specialize_float = True
    specialize_int = False  # (torch's default: an int that changed becomes a symbolic input)


_all = weakref.WeakSet()  # every Compiled, for reset()
_recompiles = {}  # code object -> compiles so far (shared unless isolate_recompiles)
_capturing = [0]  # a capture is recording: compiled functions called inside run eagerly
_disabled = [0]  # inside a function wrapped by compiler.disable
_SPLIT = "split"  # a cache entry: calls with that key run the function split at its breaks


class Compiled:
    """``fn`` compiled (see the module docstring)."""

    def __init__(self, fn, fullgraph, recompile_limit, isolate_recompiles, name, module=None, segment_of=None,
                 dynamic=None):
        self.fn, self.fullgraph, self.name = fn, fullgraph, name
        self.dynamic_arg = dynamic  # compile(dynamic=): None automatic, False none, True every scalar argument
        self.module = module
        self.isolate_recompiles = isolate_recompiles
        self.segment_of = segment_of  # the resume.Split this is a segment of
        self.split = None  # resume.Split after a break (False: the function cannot be split)
        self.unsplittable = None  # why not
        self.recompile_limit = recompile_limit
        self.code = getattr(getattr(fn, "forward", fn), "__code__", None) if not isolate_recompiles else None
        self.cache = {}  # key -> [Graph or None (eager)]
        # the keys that run split, less their Python values: a call that differs from one only in those
        # (a step number, an epoch) runs split too, its segments guarded on the values they take
        self.split_shapes = set()
        self.compiles = 0
        self.warned = False
        self.last_breaks = []
        self.first_scalars = {}  # call tree -> {position: value} of the int and float arguments at its first capture
        self.dynamic = {}  # call tree -> the positions (index or keyword) of its dynamic int and float arguments
        self.specialized = {}  # call tree -> positions a capture read the value of: constants from then on
        # guarded floats (globals, closure cells, attributes) that changed: (id(container), key) -> (container,
        # key), taken as inputs by later captures; those a capture read the value of: constants again
        self.dynamic_values, self.specialized_values = {}, set()
        _all.add(self)

    def reset(self):
        self.cache.clear()
        self.split_shapes.clear()
        self.split, self.unsplittable = None, None
        self.compiles = 0
        self.warned = False
        self.first_scalars.clear()
        self.dynamic.clear()
        self.specialized.clear()
        self.dynamic_values.clear()
        self.specialized_values.clear()

    def __call__(self, *args, **kwargs):
        if _capturing[0] or _disabled[0] or guards.eager_only() is not None:
            return self.fn(*args, **kwargs)
        key, tensors = guards.call_key(args, kwargs)
        scalars = ()
        if self.dynamic and key[0] in self.dynamic:  # dynamic float arguments: the key without their values
            key, tensors, scalars = self._dynamic_key(args, kwargs, self.dynamic[key[0]])
        entries = self.cache.get(key)
        value_guards.last_failure[0] = None  # (set by a value guard that fails now: the warning's reason)
        if entries is not None:
            for graph in entries:
                if graph is None:
                    return self.fn(*args, **kwargs)
                if graph is _SPLIT:
                    plan = self.plan()
                    if plan is None:
                        return self.fn(*args, **kwargs)
                    return self.split(plan, args, kwargs)
                if graph.check(tensors):
                    if graph.value_sources:  # (the guarded floats taken as inputs: read now)
                        scalars = (*scalars, *[value_guards.read(c, k) for c, k in graph.value_sources])
                    return self.replay(graph, tensors, args, scalars)
        elif self.split_shapes and _shape_key(key) in self.split_shapes:
            plan = self.plan()
            return self.fn(*args, **kwargs) if plan is None else self.split(plan, args, kwargs)
        self._dynamic_value(value_guards.last_failure[0])
        if _function.profile_hook is not None:  # a profiler holds the op hook: run eagerly, uncaptured
            return self.fn(*args, **kwargs)
        limit = self.recompile_limit if self.recompile_limit is not None else config.recompile_limit
        count = _recompiles.get(self.code, 0) if self.code is not None else self.compiles
        if count >= limit:
            if not self.warned:
                self.warned = True
                warnings.warn(
                    f"torch._dynamo hit config.recompile_limit ({limit})\n   function: {self.name!r}\n   "
                    f"last reason: {_last_reason()}\nNew guard sets run eagerly from now on. Raise the limit with "
                    "torch.compile(recompile_limit=...) or retrograd._compile.compiled.config.recompile_limit, "
                    "or call torch.compiler.reset().", UserWarning, stacklevel=2)
            return self.fn(*args, **kwargs)
        dynamic = self._automatic_dynamic(key[0], args, kwargs)
        if dynamic:
            key, tensors, scalars = self._dynamic_key(args, kwargs, dynamic)
            for graph in self.cache.get(key, ()):  # (a graph of the dynamic key that failed its guards above)
                if graph is not None and graph is not _SPLIT and graph.check(tensors):
                    return self.replay(graph, tensors, args, scalars)
        return self.capture(key, args, kwargs, tensors, dynamic=dynamic)

    # ---------------------------------------------------------------- int and float arguments (symbolic.py)
    def _dynamic_value(self, failure):
        """A guarded float that changed (the value guard that failed: value_guards.last_failure) is taken as an
        input by the next captures, as torch's automatic dynamic makes such a global or attribute a graph input."""
        if failure is None:
            return
        if config.specialize_float or self.dynamic_arg is False:
            return
        container, key, expected, held, how = failure
        mark = (id(container), key)
        if how == value_guards.EQ and type(expected) is float and type(held) is float \
                and mark not in self.specialized_values:
            self.dynamic_values[mark] = (container, key)

    def _automatic_dynamic(self, tree, args, kwargs):
        """The positions of the int and float arguments that are dynamic for this capture: those already
        dynamic, and, as torch's automatic dynamic, those whose value changed since the tree's first capture
        (not those a capture read the value of); with dynamic=True all of them. Notes the first capture's
        values."""
        kinds = self._dynamic_kinds()
        if not kinds:
            return frozenset()
        scalars = _scalars(args, kwargs, kinds)
        fixed = self.specialized.get(tree, ())
        first = self.first_scalars.get(tree)
        if first is None:
            self.first_scalars[tree] = scalars
            if not self.dynamic_arg:
                return frozenset()
            first = {}
        changed = {p for p, v in scalars.items() if p not in fixed and (
            self.dynamic_arg or p in first and (first[p] != v or type(first[p]) is not type(v)))}
        dynamic = self.dynamic.get(tree, frozenset()) | changed
        if dynamic:
            self.dynamic[tree] = dynamic
        return dynamic

    def _dynamic_kinds(self):
        """The types of the arguments that may be dynamic."""
        if self.dynamic_arg is False:
            return ()
        return tuple(kind for kind, static in ((float, config.specialize_float and not self.dynamic_arg),
                                               (int, config.specialize_int or not stack_watch.available()))
                     if not static)

    @staticmethod
    def _dynamic_key(args, kwargs, dynamic):
        """(key, tensors, the dynamic scalars' values in position order): the key of the call with
        DYNAMIC (a float) or DYNAMIC_INT in place of each dynamic argument."""
        scalars, args = [], list(args)
        if any(type(p) is str for p in dynamic):
            kwargs = dict(kwargs)
        for p in _ordered(dynamic):
            held = args if type(p) is int else kwargs
            if (p < len(args) if type(p) is int else p in kwargs) and type(held[p]) in _PLACES:
                scalars.append(held[p])
                held[p] = _PLACES[type(held[p])]
        key, tensors = guards.call_key(tuple(args), kwargs)
        return key, tensors, tuple(scalars)

    def _symbolic_args(self, cap, args, kwargs, dynamic):
        """args and kwargs with a SymFloat or SymInt of ``cap`` for each dynamic argument; {slot: position}."""
        roots = {}
        args = list(args)
        kwargs = dict(kwargs)
        for p in _ordered(dynamic):
            held = args if type(p) is int else kwargs
            if (p < len(args) if type(p) is int else p in kwargs) and type(held[p]) in _PLACES:
                s = cap.new_scalar(held[p])
                roots[s.slot] = p
                held[p] = s
        return tuple(args), kwargs, roots

    def capture(self, key, args, kwargs, tensors, steps=None, dynamic=frozenset()):
        cap = Capture(self.fn, self.fullgraph, (self.module,) if self.module is not None else ())
        cap.value_sources = tuple(self.dynamic_values.values())
        roots = {}
        if dynamic:
            for t in tensors:  # (the inputs' slots first: 0..n-1)
                cap.add_input(t)
            args, kwargs, roots = self._symbolic_args(cap, args, kwargs, dynamic)
        cap.target_code = resume.target_code(self.fn)  # where graph_break.py notes each break's position
        cap.recapture = key in self.cache  # (a graph of this key failed its guards: see Capture.recapture)
        if steps is not None:
            cap.steps = steps
        given = _containers(args) if self.segment_of is not None else ()
        _capturing[0] += 1
        try:
            out, _ = cap.run(args, kwargs, tensors)
        finally:
            _capturing[0] -= 1
        if any(_contents(c) != before for c, before in given):
            cap.breaks.append(GraphBreak("the code changed a list, dict or set it was given (replay would not)",
                                         None))
        if roots or cap.swapped:
            key = self._scalar_params(cap, key, args, kwargs, roots)
        flat = []
        treedef = guards.flatten(out, flat)
        graph = self._graph(cap, out, flat, treedef, args)
        if graph is None and not self.fullgraph and cap.breaks:
            graph = self._resume(cap.breaks)
        self.compiles += 1
        if self.code is not None:
            _recompiles[self.code] = _recompiles.get(self.code, 0) + 1
        self.last_breaks = list(cap.breaks)
        self.cache.setdefault(key, []).append(graph)
        if graph is _SPLIT:
            self.split_shapes.add(_shape_key(key))
        return out

    def _scalar_params(self, cap, key, args, kwargs, roots):
        """The capture's scalar inputs (cap.scalar_params: slots in position order) and constants (the
        arguments whose value it read: specialized from now on, and the key holds their values)."""
        fixed = {p for slot, p in roots.items() if slot in cap.static}
        cap.scalar_params = [slot for slot in roots if slot not in cap.static]
        cap.scalar_consts = [(slot, cap.scalar_value[slot]) for slot in roots if slot in cap.static]
        for s, container, key_, _ in cap.swapped:  # the guarded floats after the arguments
            if s.slot in cap.static:
                cap.scalar_consts.append((s.slot, symbolic.plain(s)))
                self.specialized_values.add((id(container), key_))
                self.dynamic_values.pop((id(container), key_), None)
            else:
                cap.scalar_params.append(s.slot)
                cap.value_inputs.append((container, key_))
        if not fixed:
            return key
        tree = key[0]
        self.specialized[tree] = self.specialized.get(tree, frozenset()) | fixed
        self.dynamic[tree] = self.dynamic[tree] - fixed
        if not self.dynamic[tree]:
            del self.dynamic[tree]
        plain = tuple(symbolic.plain(a) if type(a) in symbolic.SYMBOLIC else a for a in args)
        kw = {k: symbolic.plain(v) if type(v) in symbolic.SYMBOLIC else v for k, v in kwargs.items()}
        key, _, _ = self._dynamic_key(plain, kw, self.dynamic.get(tree, ()))
        return key

    def _graph(self, cap, out, flat, treedef, args):
        fill = []  # (position among the leaves, the value, or the index of the argument returned)
        for i, o in enumerate(flat):
            if isinstance(o, Tensor):
                continue
            if o is None or self.segment_of is not None and type(o) in _CONSTANTS:
                fill.append((i, o, None))  # (a training step's `return None`; a segment's Python values)
                continue
            j = next((j for j, a in enumerate(args) if a is o), None) if self.segment_of is not None else None
            if j is None:
                cap.graph_break(f"the function returns a {type(o).__name__}: only tensors, None (nested in tuples, "
                                "lists, dicts) and, from a segment, Python numbers and strings and the objects it "
                                "was given are replayed")
                return None
            fill.append((i, None, j))
        if cap.breaks:
            return None
        graph = cap.graph(out, [o for o in flat if isinstance(o, Tensor)], treedef, self.name)
        if graph is not None:
            graph.fill = tuple(fill)
        return graph

    def _resume(self, breaks):
        """After a capture that broke: _SPLIT where the function can be split at its breaks, else None
        (eager). A segment's breaks go to its function's split (used from the next call on)."""
        if self.segment_of is not None:
            self.segment_of.add(breaks)
            return None
        if not any(b.position is not None for b in breaks):
            return None
        if self.split is None:
            try:
                self.split = resume.Split(self.fn, self._segment)
            except resume.Unsplittable as e:
                self.split, self.unsplittable = False, str(e)
        if self.split is False:
            return None
        self.split.add(breaks)
        return _SPLIT if self.plan() is not None else None

    def plan(self):
        """The split's current plan, or None (eager) when the function cannot be split there."""
        if not self.split:
            return None
        try:
            return self.split.current()
        except resume.Unsplittable as e:
            self.split, self.unsplittable = False, str(e)
            return None

    def _segment(self, fn, label):
        return Compiled(fn, False, self.recompile_limit, self.isolate_recompiles, f"{self.name} ({label})",
                        module=self.module, segment_of=self.split, dynamic=self.dynamic_arg)

    def replay(self, graph, tensors, args, scalars=()):
        n = graph.n_inputs
        ins = tensors if len(tensors) == n else _unique(tensors)
        inputs = (*ins, *graph.live)
        if graph.trains:
            result = run_training(graph, inputs, scalars)
        else:
            result = list(CompiledFunction.apply(graph, *inputs, *scalars))
        first = {}
        for i, s in enumerate(graph.out_slots):  # an input or live tensor returned as itself
            j = graph.arg_position.get(s)
            if j is not None:
                result[i] = inputs[j]
            elif first.setdefault(s, i) != i:  # one tensor returned twice (`return [p], p`): one object, as eager's
                result[i] = result[first[s]]
        for i, j, op, spec, kspec in graph.views:  # an output that is a view of another: made again from it
            result[i] = op.apply(*[result[j] if a[0] is True else a[1] for a in spec],
                                 **{k: a[1] for k, a in kspec.items()})
            for k, s in enumerate(graph.out_slots):  # (returned twice)
                if k != i and s == graph.out_slots[i]:
                    result[k] = result[i]
        for i, value, j in graph.fill:
            result.insert(i, value if j is None else args[j])
        return guards.unflatten(graph.treedef, result)


class _Dynamic:
    """DYNAMIC (DYNAMIC_INT): a dynamic float (int) argument's place in a call's key (its value is read at
    replay)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


DYNAMIC, DYNAMIC_INT = _Dynamic("DYNAMIC"), _Dynamic("DYNAMIC_INT")
_PLACES = {float: DYNAMIC, int: DYNAMIC_INT}


def _shape_key(key):
    """``key`` without the values of its Python (non-tensor) arguments: its structure, its tensors'
    metadata, grad mode and autocast."""
    tree, parts, grad, amp = key
    return tree, tuple(p if len(p) == 6 and isinstance(p[0], type) and issubclass(p[0], Tensor) else p[0]
                       for p in parts), grad, amp


def _scalars(args, kwargs, kinds):
    """{position: value} of the arguments of the types ``kinds`` (an index, or a keyword's name)."""
    out = {i: a for i, a in enumerate(args) if type(a) in kinds}
    out.update((k, v) for k, v in kwargs.items() if type(v) in kinds)
    return out


def _ordered(positions):
    """Positional indices in order, then keywords by name: the order of a graph's scalar inputs."""
    return sorted(positions, key=lambda p: (type(p) is str, p if type(p) is int else 0, str(p)))


def _last_reason():
    moved = value_guards.describe(value_guards.last_failure[0])
    if moved is not None:
        return f"a Python value the capture read changed: {moved}"
    return "a new guard set (input shapes, dtypes, requires_grad, grad mode, autocast or module training flags)"


# the Python values a segment may return: fixed by its guards (its inputs' shapes, dtypes and values)
_CONSTANTS = (int, float, bool, complex, str, bytes, type(resume.UNBOUND), type(Ellipsis), _dtype.dtype, _device,
              Size)


def _containers(args):
    """(container, its contents) for each list, dict or set argument: a capture that changes one breaks
    (replay would leave it unchanged)."""
    return [(a, _contents(a)) for a in args if type(a) in (list, dict, set)]


def _contents(c):
    if type(c) is dict:
        return [(k, id(v)) for k, v in c.items()]
    if type(c) is set:
        return {id(v) for v in c}
    return [id(v) for v in c]


class _PositionedSteps(list):
    """A capture's steps, each noted with the position (graph_break.frame_position) of the compiled
    function's frame when it was recorded: explain attributes them to the split's segments."""

    def __init__(self, code):
        super().__init__()
        self.code, self.positions = code, []

    def append(self, step):
        self.positions.append(frame_position(self.code, sys._getframe(1))[0])
        super().append(step)


def explain_graphs(fn, module, name, args, kwargs):
    """(graphs, breaks) of one run of ``fn`` for explain: the captured graph, or, where the run
    broke and the function splits there, its steps grouped by the segment that would replay them
    (each group an object with ``.steps``); no graph where it runs eagerly."""
    c = Compiled(fn, False, None, True, name, module=module)
    key, tensors = guards.call_key(args, kwargs)
    steps = _PositionedSteps(resume.target_code(fn))
    c.capture(key, args, kwargs, tensors, steps)
    entry = c.cache[key][-1]
    plan = c.plan() if entry is _SPLIT else None
    breaks = _one_per_statement(c.last_breaks, plan)
    if entry is not _SPLIT:
        if c.unsplittable is not None:  # (why the function runs eagerly for these inputs: told with each break)
            breaks = [_unsplit(b, c.unsplittable) for b in breaks]
        return ([] if entry is None else [entry]), breaks
    groups = {}
    for step, position in zip(steps, steps.positions):
        index = plan.locate(position) if position is not None else None
        if index is not None:
            groups.setdefault(index, types.SimpleNamespace(steps=[])).steps.append(step)
    return [groups[i] for i in sorted(groups)], breaks


def _unsplit(b, why):
    """Break ``b`` with the reason the function could not be split at it (resume.Unsplittable's)."""
    out = copy.copy(b)
    out.reason = f"{b.reason}; capture cannot resume after it here, so the whole function runs eagerly: {why}"
    return out


def _one_per_statement(breaks, plan):
    """The breaks, counting those that one run of a statement makes as one (the first): torch resumes
    after it, in that statement (``print(t.item())`` is one break, not two)."""
    out = []
    for b in breaks:
        last = out[-1] if out else None
        if last is not None and b.position is not None and last.position is not None \
                and b.offset is not None and last.offset is not None and b.offset > last.offset \
                and _statement(plan, b.position) is not None \
                and _statement(plan, b.position) == _statement(plan, last.position):
            continue
        out.append(b)
    return out


def _statement(plan, position):
    return plan.statement(position) if plan is not None else position[0]


def _unique(tensors):
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out
