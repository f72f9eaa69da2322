"""Codegen: a captured Graph turned into two flat Python functions over arrays.

``Program(graph)`` writes the source of ``forward(*arrays)`` and ``backward(saved, grads)``
and compiles them once. Each recorded op becomes a few lines of NumPy calls on local
variables (``v<slot>`` for the env slot's array, ``g<slot>`` for its gradient): the op's
array-level kernel and backward formula as lowerings.py writes them (the same NumPy calls as
the op's own forward and plain backward, so values are bitwise eager's). An op with no
lowering, or a step of another kind (a comparison, a normalization's statistics, a dropout
draw, an alias), is one call of a generic helper that wraps the arrays in Tensors and runs
the op's own ``forward``/``backward`` (as the Tensor-level replay did).

``forward`` returns the outputs' arrays and the tuple of forward values that the backward
reads (its saved values, found by name in the backward's source); ``backward`` gets that
tuple and the outputs' gradient arrays (None for an output without one), sums each slot's
gradient in the order the Tensor-level replay did (last op first, then each op's inputs in
order), and returns the gradient arrays of the graph's inputs and live tensors (None where
none reached). Gradient shapes are static (guards fix every input shape), so summing a
broadcast gradient back is decided when the code is written, not at each call.

Passes over the written lines, each keeping the values bitwise: ``del`` after each variable's
last read (_with_dels), a weight gradient not transposed twice (_fold_transposes), no copy of
an array that dies at its copy (_take_dying_copies), and sources written where a join or copy
of their views would put them (layout.py), and elementwise results written into an operand that
dies there where nothing else holds it (_write_into_dying). In a training step, before those, cheap
values the backward reads again are computed again there instead of kept (remat.py).
"""

import ast
import re
import sys

import numpy as np

from . import layout as _layout, remat as _remat
from .._backend import array_module as _xp, matmul as _backend_matmul
from ..amp.autocast_mode import cast_args
from ..autograd import engine as _engine
from ..autograd.function import _wrap_output
from ..tensor import Tensor
from ..ops.elementwise import _sum_to

_make = Tensor._make
_SLOT_NAME = re.compile(r"(?:v|g(?:\d+_)?)(\d+)")  # a slot's array variable: its value or its gradient
_SQUARE = re.compile(r"v(\d+)_sq")  # pow_'s x * x of a cube (lowerings.py)
_getrefcount = sys.getrefcount
_NAME = re.compile(r"\b[vc]\d+\w*")


class Emitter:
    """What a lowering writes into: forward and backward lines, constants, gradient sums."""

    def __init__(self, graph):
        self.graph = graph
        self.fwd = []
        self.bwd = []
        self.ns = {"np": np, "_make": _make, "_generic_forward": _generic_forward,
                   "_generic_backward": _generic_backward, "_sum_to": _sum_to, "_acc": _acc,
                   "_owned": _owned, "_into_left": _into_left, "_into_right": _into_right,
                   "_into_self": _into_self, "_into_both": _into_both, "_clip_into": _clip_into,
                   "__name__": __name__}  # (NumPy's inf * 0 warnings from the generated code are retrograd's: see _float_warnings)
        self._consts = {}
        self.state = {}  # slot -> "set" | "maybe": whether its gradient variable holds a value
        self.maybe_slots = set()  # gradient variables that start as None
        self._conditional = 0  # > 0 inside an `if g is not None:` block of the backward
        self._tmp = 0
        self.prefix = "g"  # of the gradient variables: g<slot>; g<step>_<slot> in a training step
        self.inline = False  # a training step: backward lines go where the backward() call was
        self.sizes = {}  # slot -> elements, where a gradient sum may go in place (NumPy arrays: see _acc)

    def gname(self, slot):
        return f"{self.prefix}{slot}"

    def reset_grads(self, prefix):
        self.prefix, self.state, self.maybe_slots = prefix, {}, set()

    # ---------------------------------------------------------------- names
    def const(self, value):
        """The name of a constant of the generated code (a value of the capture, or a helper)."""
        key = id(value)
        name = self._consts.get(key)
        if name is None:
            name = f"k{len(self._consts)}"
            self._consts[key] = name
            self.ns[name] = value
            self.ns.setdefault("_keep", []).append(value)
        return name

    def tmp(self, prefix="t"):
        self._tmp += 1
        return f"{prefix}{self._tmp}"

    # ---------------------------------------------------------------- lines
    def f(self, line):
        self.fwd.append(line)

    def b(self, line):
        (self.fwd if self.inline else self.bwd).append("    " * self._conditional + line)

    def begin_if(self, cond):
        self.b(f"if {cond}:")
        self._conditional += 1

    def end_if(self):
        self._conditional -= 1

    def grad(self, slot, expr):
        """Add ``expr`` (an array of slot's shape and dtype) to slot's gradient."""
        state = self.state.get(slot)
        name = self.gname(slot)
        if state is None:
            self.b(f"{name} = {expr}")
            if self._conditional:
                self.state[slot] = "maybe"
                self.maybe_slots.add(slot)
            else:
                self.state[slot] = "set"
        elif state == "set":
            if self.sizes.get(slot, 0) >= ACC_MIN:
                self.b(f"{name} = _acc({name}, {expr})")
            else:
                self.b(f"{name} = {name} + {expr}")
        else:
            t = self.tmp("b")
            self.b(f"{t} = {expr}")
            self.b(f"{name} = {t} if {name} is None else {name} + {t}")
            if not self._conditional:
                self.state[slot] = "set"


class StepView:
    """A step as a lowering sees it: its arguments' names, shapes, dtypes and constant values,
    its outputs' names and metadata, which arguments take a gradient."""

    def __init__(self, em, step, index, slots):
        self.em, self.step, self.index = em, step, index
        self._slots = slots  # the capture's (kind, tensor) per slot
        self.grad_positions = {i: slot for i, slot, _, _ in step.grad_to}

    @property
    def cls(self):
        return self.step.fn

    @property
    def nargs(self):
        return len(self.step.spec)

    def is_tensor(self, i):
        spec = self.step.spec[i]
        return spec[0] is True and self._slots[spec[1]][0] != "array"

    def value(self, i):
        """The constant (non-tensor) argument ``i`` (a symbolic scalar's value at the capture)."""
        spec = self.step.spec[i]
        return self.em.graph.scalar_value[spec[1]] if spec[0] == "scalar" else spec[1]

    def a(self, i):
        """An expression for argument ``i``: its variable (a tensor's array, a symbolic scalar), or a
        constant's name."""
        spec = self.step.spec[i]
        if spec[0] is True or spec[0] == "scalar":
            return f"v{spec[1]}"
        if spec[0] is False:
            return self.em.const(spec[1])
        raise ValueError("a nested list argument")

    def tensor(self, i):
        spec = self.step.spec[i]
        return self._slots[spec[1]][1]

    def shape(self, i):
        return self.tensor(i)._data.shape

    def dtype(self, i):
        return self.tensor(i)._data.dtype

    def o(self, j=0):
        return f"v{self.step.outs[j]}"

    def oshape(self, j=0):
        return self._slots[self.step.outs[j]][1]._data.shape

    def odtype(self, j=0):
        return self._slots[self.step.outs[j]][1]._data.dtype

    def needs(self, i):
        return i in self.grad_positions

    def grad(self, i, expr):
        self.em.grad(self.grad_positions[i], expr)

    def g(self, j=0):
        return self.em.gname(self.step.outs[j])


class Program:
    """The generated code of a Graph (see the module docstring): ``forward`` and ``backward`` for a
    graph of ops; ``run`` for a training step (a graph with backward() and optimizer calls)."""

    def __init__(self, graph, capture_slots):
        em = self.em = Emitter(graph)
        self.graph, self.slots = graph, capture_slots
        for s, t in graph.consts:  # constants (zeros, arange, tensor(...) made in the function): globals
            em.ns[f"v{s}"] = t._data
        for s, value in graph.scalar_consts:  # float arguments the capture specialized (symbolic.py)
            em.ns[f"v{s}"] = value
        if not all(type(t._data) is np.ndarray for _, t in capture_slots if t is not None):
            self.lowerings = {}  # CuPy arrays: every op through its own code (the lowerings write NumPy calls)
        else:
            from .lowerings import LOWERINGS

            self.lowerings = LOWERINGS
            em.sizes = {s: t._data.size for s, (_, t) in enumerate(capture_slots) if t is not None}
        self.backs = []  # per step: (StepView, the lowering's backward writer) or None
        if graph.trains:
            source = self._training()
        else:
            source = self._forward_backward()
        self.source = source
        self.source_lines = source.count("\n")
        ns = em.ns
        exec(compile(source, f"<retrograd.compile {graph.name}>", "exec"), ns)  # noqa: S102
        self.forward, self.backward, self.run = ns.get("forward"), ns.get("backward"), ns.get("run")
        self.generic = sum(1 for name in self._consts_of(ns) if isinstance(ns[name], GenericStep))

    def _forward_backward(self):
        em, graph = self.em, self.graph
        for index, step in enumerate(graph.steps):
            self.backs.append(self._forward_step(em, StepView(em, step, index, self.slots), self.lowerings))
        # the backward: output gradients first, then each step's formula in the order eager's engine
        # runs the nodes (so that each gradient is summed in eager's order)
        seeds = [(slot, f"grads[{k}]") for k, slot in enumerate(graph.out_slots) if graph.out_rg[k]]
        self._backward(seeds, len(graph.steps))  # (CompiledFunction passes zeros for a missing gradient)
        ret = _tuple(em.gname(s) if em.state.get(s) else "None" for s in graph.input_slots)
        bwd_body = [f"{em.gname(s)} = None" for s in sorted(em.maybe_slots)] + em.bwd + [f"return {ret}"]
        params = [f"v{s}" for s in (*graph.input_slots, *graph.scalar_slots)]  # (then the float arguments)
        known = _defined(em.fwd) | set(params)
        saved = sorted(set(_NAME.findall("\n".join(bwd_body))) & known)
        args = ", ".join(params)
        fwd_src = [f"def forward({args}):"] + self._place(_take_dying_copies(_with_dels(
            ["    " + x for x in em.fwd] + [f"    return {_tuple(f'v{s}' for s in graph.out_slots)}, {_tuple(saved)}"],
            params)))
        bwd_src = ["def backward(saved, grads):"]
        if saved:
            bwd_src.append(f"    {_tuple(saved)} = saved")
        bwd_src += self._place(_take_dying_copies(_fold_transposes(_with_dels(["    " + x for x in bwd_body], saved))))
        # the inputs and outputs whose arrays the backward reads: CompiledFunction saves their Tensors,
        # so that an in-place change before backward raises as eager's version check does
        self.saved_inputs = tuple(j for j, s in enumerate(graph.input_slots) if f"v{s}" in saved)
        self.saved_outputs = tuple(j for j, s in enumerate(graph.out_slots) if f"v{s}" in saved)
        return "\n".join(fwd_src) + "\n\n" + "\n".join(bwd_src) + "\n"

    def _training(self):
        """One function ``run(T)`` (T: the input and live Tensors): the ops' forward lines, at each
        backward() the backward lines of the ops before it from that loss (its gradient ones, as
        eager's), then each leaf's gradient added to its ``.grad`` (AccumulateGrad's rule), and the
        engine run from the boundary tensors (made outside the graph) with theirs; at each
        optimizer or zero_grad call, that call."""
        em, graph = self.em, self.graph
        em.inline = True
        em.ns["_deliver"], em.ns["_outside"] = deliver, run_outside
        position = {s: j for j, s in enumerate(graph.input_slots)}
        starts = []  # where each backward() call's lines begin
        for j, s in enumerate(graph.input_slots):
            em.f(f"v{s} = T[{j}]._data")
        for j, s in enumerate(graph.scalar_slots):  # the dynamic float arguments (symbolic.py)
            em.f(f"v{s} = S[{j}]")
        for index, step in enumerate(graph.steps):
            if step.kind == "backward":
                self.backs.append(None)
                loss = step.spec[0][1]
                em.reset_grads(f"g{index}_")
                start = len(em.fwd)
                starts.append(start)
                data = self.slots[loss][1]._data  # (shape and dtype guarded; np.array is one C call, ones_like 4)
                ones = f"np.ones_like(v{loss})"  # (a CuPy array's: CuPy's, through __array_function__)
                if type(data) is np.ndarray:
                    dtype = em.const(data.dtype)
                    ones = f"np.array(1, {dtype})" if not data.ndim else f"np.ones({data.shape!r}, {dtype})"
                self._backward([(loss, ones)], index)
                em.fwd[start:start] = [f"{em.gname(s)} = None" for s in sorted(em.maybe_slots)]
                outside = []  # (T[j], its gradient) of each boundary tensor: the engine goes on from them
                for s in graph.input_slots:
                    state = em.state.get(s)
                    if state is None:
                        continue
                    if s in step.outside:
                        outside.append(f"(T[{position[s]}], {em.gname(s)})")
                        continue
                    if state == "maybe":
                        em.f(f"if {em.gname(s)} is not None:")
                    em.f(f"{'    ' if state == 'maybe' else ''}_deliver(T[{position[s]}], {em.gname(s)})")
                if outside:
                    em.f(f"_outside({_tuple(outside)})")
            else:  # (an optimizer or zero_grad call is a line of the forward: _forward_step)
                self.backs.append(self._forward_step(em, StepView(em, step, index, self.slots), self.lowerings))
        body = ["    " + x for x in em.fwd] + [f"    return {_tuple(f'v{s}' for s in graph.out_slots)}"]
        if self.lowerings:  # (NumPy arrays: cheap values the backward reads computed again there, remat.py)
            sizes = em.sizes

            def big(name):  # (INTO_MIN elements or more: a smaller array kept costs less than a call)
                m = _SLOT_NAME.match(name)
                return m is not None and sizes.get(int(m.group(1)), 0) >= INTO_MIN
            body = _remat.remat(body, starts, lambda name: type(em.ns.get(name)) in (int, float), big)
        body = self._place(_take_dying_copies(_fold_transposes(_with_dels(body))))
        return "\n".join(["def run(T, S):"] + body) + "\n"

    def _backward(self, seeds, upto):
        """The backward lines from ``seeds`` ((slot, gradient expression)) through the steps before
        ``upto``, in eager's engine order."""
        em, graph = self.em, self.graph
        for slot, expr in seeds:
            em.grad(slot, expr)
        backs = self.backs[:upto]
        for index in _engine_order([s for s, _ in seeds], backs, self.slots):
            view, write = backs[index]
            outs = [s for s in view.step.outs if s is not None]
            states = [em.state.get(s) for s in outs]
            if all(st is None for st in states):
                continue  # no gradient reaches this op
            guard = [f"{em.gname(s)} is not None" for s, st in zip(outs, states) if st == "maybe"]
            if guard and len(view.step.outs) == 1:
                em.begin_if(guard[0])
            elif len(view.step.outs) > 1 or guard:
                # several outputs: those without a gradient get zeros (materialized, as eager's engine)
                for s in view.step.outs:
                    st = em.state.get(s) if s is not None else "set"
                    if st == "set":
                        continue
                    shape, dtype = graph.out_meta[s]
                    zeros, g = em.const(np.zeros(shape, dtype)), em.gname(s)
                    em.b(f"{g} = {zeros}.copy()" if st is None else f"{g} = {zeros}.copy() if {g} is None else {g}")
                    em.state[s] = "set"
                guard = []
            write(em, view)
            if guard:
                em.end_if()

    def _place(self, body):
        """``body`` with the sources of joins and copies of views written into their place (layout.py),
        then elementwise results into dying operands (_write_into_dying), where the lowerings wrote the
        lines (NumPy arrays)."""
        if not self.lowerings:
            return body
        meta = {s: (t._data.shape, t._data.dtype) for s, (_, t) in enumerate(self.slots) if t is not None}

        def of(name):
            m = _SLOT_NAME.fullmatch(name)
            return meta.get(int(m.group(1))) if m else None
        def of_square(name):  # (also the square pow's lowering keeps, v<slot>_sq: its output's shape and dtype;
            # a value computed again, remat.py's X_r: X's)
            if name.endswith(_remat.SUFFIX):
                name = name[:-len(_remat.SUFFIX)]
            m = _SQUARE.fullmatch(name)
            return meta.get(int(m.group(1))) if m else of(name)
        ns = self.em.ns
        matmuls = {k for k, x in ns.items() if x is _backend_matmul}
        return _write_into_dying(_layout.place(body, of, ns, matmuls), of_square,
                                 lambda name: type(ns.get(name)) in (int, float))

    @staticmethod
    def _consts_of(ns):
        return [k for k in ns if re.fullmatch(r"k\d+", k)]

    @staticmethod
    def _forward_step(em, view, lowerings):
        step = view.step
        if step.kind == "call":  # an optimizer, zero_grad or lr scheduler call
            em.f(f"{em.const(step.fn)}({', '.join(em.const(a[1]) for a in step.spec)})")
            return None
        if step.kind == "alias":
            em.f(f"{view.o()} = v{step.spec[0][1]}")
            return None
        if step.kind == "scalar":  # Python arithmetic on a symbolic scalar: the same operation
            em.f(f"{view.o()} = {em.const(step.fn)}({', '.join(view.a(i) for i in range(len(step.spec)))})")
            return None
        if step.kind == "arrays":  # statistics a normalization computes before its op; a captured in-place write
            k = em.const(step.fn)
            em.f(f"{', '.join(f'v{s}' for s in step.outs)}, = {k}({', '.join(view.a(i) for i in range(view.nargs))})")
            return None
        if step.kind == "compare" and _plain_compare(view):
            em.f(f"{view.o()} = {em.const(step.fn.op)}({view.a(0)}, {view.a(1)})")
            return None
        if step.kind in ("compare", "draw"):
            k = em.const(step.fn)
            args = ", ".join(f"_make({view.a(i)})" if step.spec[i][0] is True else view.a(i)
                             for i in range(len(step.spec)))
            em.f(f"{view.o()} = {k}({args})")
            return None
        lower = lowerings.get(step.fn)
        symbolic = [i for i, a in enumerate(step.spec) if a[0] == "scalar"]
        if symbolic and not (step.fn in _SCALAR_OPERANDS and max(symbolic) < 2
                             and all(type(view.value(i)) is float for i in symbolic)):
            # (a symbolic scalar only as a binary op's operand: no decision on its value; a symbolic int through
            # the op's own forward, which takes one outside the tensor's dtype range as eager does)
            lower = None
        if lower is not None and not step.autocast and step.flat and not step.kspec:
            write = lower(em, view)
            if write is not False:
                return (view, write) if step.differentiable and write is not None else None
        return _generic(em, view)


def _scalar_operands():
    from ..ops import elementwise as _ew

    return frozenset((_ew.Add, _ew.Sub, _ew.Mul))


# ops whose lowering takes a Python float operand as it is, making no decision on its value: a symbolic
# scalar there is a variable of the generated code; other ops take it through the generic path
_SCALAR_OPERANDS = _scalar_operands()


def _engine_order(seed_slots, backs, slots):
    """The differentiable steps in the order autograd/engine.py runs their nodes for a backward
    from the graph's outputs: a node is ready once every node it feeds has run; the ready list is
    a stack; a node's inputs are visited in argument order (leaves' AccumulateGrad nodes are
    not steps and are left out). Gradients are summed in the order their consumers run."""
    producer = {}
    for index, entry in enumerate(backs):
        if entry is not None:
            for s in entry[0].step.outs:
                if s is not None:
                    producer[s] = index

    def edges(index):
        step = backs[index][0].step
        out = []
        for a in step.spec:
            if a[0] is True and slots[a[1]][0] in ("input", "live", "op") and slots[a[1]][1]._requires_grad:
                out.append(producer.get(a[1], ("leaf", a[1])))
        return out

    roots = list(dict.fromkeys(producer[s] for s in seed_slots if s in producer))
    deps, seen, stack = {}, set(roots), list(roots)
    while stack:
        node = stack.pop()
        if type(node) is tuple:
            continue
        for fn in edges(node):
            deps[fn] = deps.get(fn, 0) + 1
            if fn not in seen:
                seen.add(fn)
                stack.append(fn)
    order = []
    ready = [n for n in roots if deps.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        leaves = []
        for fn in edges(node):
            deps[fn] -= 1
            if not deps[fn]:
                (leaves if type(fn) is tuple else ready).append(fn)
        ready += [n for n in leaves if type(n) is not tuple]
    return order


def _plain_compare(view):
    """Whether a comparison step's operands are ones eager's ``operands`` passes to the comparison as
    they are (two NumPy arrays of one dtype, or a float array and a Python int/float: no cast) and its
    result is an array (not 0-dim): then the step is the comparison itself on the arrays, not the
    generic helper's Tensor wrapping (~15 us for a causal mask's ``bias == 0``)."""
    if not view.oshape():
        return False
    spec = view.step.spec
    if any(spec[i][0] is True and not view.is_tensor(i) for i in (0, 1)):
        return False  # (a raw array operand: the generic path passes it unwrapped)
    ta, tb = view.is_tensor(0), view.is_tensor(1)
    arrays = [view.tensor(i)._data for i in (0, 1) if view.is_tensor(i)]
    if not all(type(a) is np.ndarray for a in arrays):
        return False
    if ta and tb:
        return arrays[0].dtype == arrays[1].dtype
    if ta or tb:
        number = view.value(1 if ta else 0)
        return type(number) in (int, float) and arrays[0].dtype.kind == "f"
    return False


def _generic(em, view):
    """An op without a lowering: its own forward and backward through the generic helpers."""
    step = view.step
    s = em.const(GenericStep(step, view._slots))
    vals = ", ".join(f"v{x}" for x in _GenericArgs.slots(step))
    ctx = f"c{view.index}"
    outs = [f"v{x}" if x is not None else "_" for x in step.outs]
    em.f(f"{ctx}, ({', '.join(outs)},) = _generic_forward({s}, ({vals}{',' if vals else ''}))")
    if not step.differentiable:
        return None
    return (view, lambda em, view: _generic_writer(em, view, s))


def _generic_writer(em, view, s):
    step = view.step
    r = em.tmp("r")
    gs = ", ".join(em.gname(x) if x is not None else "None" for x in step.outs)
    em.b(f"{r} = _generic_backward({s}, c{view.index}, ({gs},))")
    for k, (i, slot, _, _) in enumerate(step.grad_to):
        em.begin_if(f"{r}[{k}] is not None")
        em.grad(slot, f"{r}[{k}]")
        em.end_if()


class _GenericArgs:
    @staticmethod
    def slots(step):
        out = []
        for a in list(step.spec) + list(step.kspec.values()):
            _collect(a, out)
        return out


def _collect(spec, out):
    if spec[0] is True or spec[0] == "scalar":
        out.append(spec[1])
    elif spec[0] == "list":
        for s in spec[2]:
            _collect(s, out)


class GenericStep:
    """An op run by its own forward and backward on Tensors wrapping the env's arrays."""

    def __init__(self, step, slots):
        self.step = step
        self.raw = {s for s in _GenericArgs.slots(step) if slots[s][0] in ("array", "scalar")}
        self.order = {}
        for s in _GenericArgs.slots(step):
            self.order.setdefault(s, len(self.order))
        self.positions = _GenericArgs.slots(step)
        self.meta = [(slots[o][1]._data.shape, slots[o][1]._data.dtype) if o is not None else None
                     for o in step.outs]

    def args(self, values):
        tensors = {}
        for s, v in zip(self.positions, values):
            if s not in tensors:
                tensors[s] = v if s in self.raw else _make(v)
        step = self.step
        args = [self._arg(a, tensors) for a in step.spec]
        kwargs = {k: self._arg(a, tensors) for k, a in step.kspec.items()}
        return args, kwargs

    def _arg(self, spec, tensors):
        if spec[0] is True or spec[0] == "scalar":
            return tensors[spec[1]]
        if spec[0] is False:
            return spec[1]
        return spec[1](self._arg(s, tensors) for s in spec[2])


def _generic_forward(g, values):
    step = g.step
    fn = step.fn
    args, kwargs = g.args(values)
    if step.autocast:
        args = cast_args(fn._autocast, args)
    ctx = fn.__new__(fn)
    ctx.needs_input_grad = step.needs
    out = fn._forward_ctx(ctx, *args, **kwargs)
    outs = (out,) if step.single else out
    arrays = []
    for slot, o in zip(step.outs, outs):
        if slot is None:
            arrays.append(None)
            continue
        t = _wrap_output(o, args, ctx)
        arrays.append(t._data)
    return (ctx if step.differentiable else None), arrays


def _generic_backward(g, ctx, grads):
    """The op's backward on Tensor gradients; the arrays for each of step.grad_to (None where
    it gave none), summed to the input's shape and cast to its dtype."""
    step = g.step
    gs = [None if x is None else _make(x) for x in grads]
    if len(gs) > 1 and ctx._materialize_grads:
        like = next(x for x in grads if x is not None)
        gs = [x if x is not None or m is None else _make(_xp(like).zeros(*m)) for x, m in zip(gs, g.meta)]
    result = step.fn.backward(ctx, *gs)
    if not isinstance(result, tuple):
        result = (result,)
    out = []
    for i, _, shape, dtype in step.grad_to:
        r = result[i] if i < len(result) else None
        if r is None:
            out.append(None)
            continue
        a = r._data
        if a.shape != shape:
            a = _sum_to(a, shape)
        if a.dtype != dtype:
            a = a.astype(dtype)
        out.append(a)
    return out


def _refs_of(g):
    return _getrefcount(g)


def _base_refs(g):
    b = g.base
    return _getrefcount(b)


def _viewed_refs():
    """getrefcount of an array that only one view holds, as ``_sole_array`` sees it."""
    def probe():
        b = np.zeros((2, 2))
        g = b.T.T
        del b
        return _base_refs(g)
    return probe()


def _sole_refs():
    """getrefcount of an array held only by one local of the calling generated code, as ``deliver``
    sees it (measured, not assumed: it differs between Python versions)."""
    def probe():
        g = np.zeros(1)
        return _refs_of(g)
    return probe()


def _sole_array(g):
    """``g``'s values in an array nothing else holds: ``g`` itself when the generated code alone holds
    it, or the array it views with the same layout (a weight's gradient ``(G^T X)^T`` transposed
    back) when only that view holds it, else a contiguous copy."""
    if type(g) is np.ndarray and g.flags.c_contiguous and g.flags.writeable:
        if g.base is None:
            if _getrefcount(g) <= _SOLE + 1:  # (+1: this frame's argument)
                return g
        elif _getrefcount(g) <= _SOLE + 1:
            b = g.base
            if type(b) is np.ndarray and b.base is None and b.shape == g.shape and b.strides == g.strides \
                    and b.dtype == g.dtype and _getrefcount(b) <= _VIEWED:  # (not a bit view: clamp's mask)
                return b
    return g.copy()


ACC_MIN = 4096  # elements: from here a gradient sum in place saves more than _acc's checks cost


def _acc(g, e):
    """``g + e``, written into ``g`` when that is invisible: ``g`` an array owning its memory that only the
    calling generated code's variable holds (no Tensor, view, saved value or constant: _SOLE, as _acc is
    called straight from that code as _sole_refs' probe calls _refs_of), of ``e``'s
    shape and dtype. The same add, so the same values; in memory still in cache instead of fresh
    pages (two sums into a (512, 256) float32 gradient: 68 -> 34 us)."""
    if type(g) is np.ndarray and type(e) is np.ndarray and g.base is None and _getrefcount(g) <= _SOLE \
            and g.shape == e.shape and g.dtype == e.dtype and g.flags.writeable:
        g += e
        return g
    return g + e


def _owned(a):
    """``a.copy()``, or ``a`` itself where that is invisible: called as ``X = _owned(Y)`` on a ``Y`` the
    next statement deletes (see _take_dying_copies), ``a`` a C-ordered array that only that variable
    holds (no Tensor, alias, saved value or constant: _SOLE, as in _acc) and that owns its memory or
    views all of an array only it holds (a kernel's result reshaped: _VIEWED, as in _sole_array).
    masked_fill copies its input before writing the fill, and its backward the gradient: when that
    input is a fresh intermediate that dies there, the copy is a pass for nothing."""
    if type(a) is np.ndarray and a.flags.c_contiguous and a.flags.writeable and _getrefcount(a) <= _SOLE:
        b = a.base
        if b is None:
            return a
        if type(b) is np.ndarray and b.base is None and b.flags.c_contiguous and b.dtype == a.dtype \
                and b.size == a.size and _getrefcount(b) <= _VIEWED:
            return a
    return a.copy()


def deliver(var, g):
    """Add gradient array ``g`` into leaf ``var``'s ``.grad`` as eager's AccumulateGrad does: the first
    gradient becomes ``.grad`` (the array itself when the generated code alone holds it, else a
    contiguous copy), a later one is added in place."""
    grad = var._grad
    if grad is None:
        var._grad = _make(_sole_array(g))
    elif grad._requires_grad:
        var._grad = grad + _make(g)
    else:
        grad._data += g
        grad._vc[0] += 1


def run_outside(pairs):
    """The rest of a backward() that reaches tensors made outside the compiled graph: the engine runs
    from those tensors with the gradients the generated backward gave them ((tensor, array or None)
    pairs), so their nodes, hooks and leaves run and free their graph as eager's do."""
    tensors = [t for t, g in pairs if g is not None]
    if tensors:  # (engine.backward's steps for given tensors and gradients, without retain_graph)
        roots = _engine._root_grads(tensors, [_make(g) for t, g in pairs if g is not None], False)
        _engine.run_backward(roots, False, False)


_VAR = re.compile(r"\b(?:[vgbrc]\d+\w*|T)\b")


def _with_dels(body, params=()):
    """``body`` (a function's lines, one level indented) with ``del`` of each variable after the
    statement that reads it last, as eager frees an intermediate once nothing holds it (memory comes
    back to the allocator while still hot). Only variables bound by an unconditional statement (or
    parameters) are deleted; a ``return`` ends the body."""
    statements = []  # (first line, last line) of each top-level statement
    for i, line in enumerate(body):
        if line.startswith("        ") and statements:
            statements[-1][1] = i
        else:
            statements.append([i, i])
    bound = set(params)
    last = {}
    for k, (a, b) in enumerate(statements):
        head = body[a]
        if "=" in head and not head.lstrip().startswith(("if ", "with ", "return")):
            bound.update(_VAR.findall(head.split("=", 1)[0]))
        elif head.startswith("    with "):  # (its block runs whole: a name it binds is bound as at the top level)
            for line in body[a + 1:b + 1]:
                if "=" in line and line[8] != " " and not line.lstrip().startswith(("if ", "with ", "return")):
                    bound.update(_VAR.findall(line.split("=", 1)[0]))
        for i in range(a, b + 1):
            for name in _VAR.findall(body[i]):
                last[name] = k
    dels = {}
    for name, k in last.items():
        if name in bound and name != "T" and not body[statements[k][0]].lstrip().startswith("return"):
            dels.setdefault(k, []).append(name)
    out = []
    for k, (a, b) in enumerate(statements):
        out.extend(body[a:b + 1])
        if k in dels:
            out.append(f"    del {', '.join(sorted(dels[k]))}")
    return out


def _unheld(a):
    """Whether writing into ``a`` (an argument of an _into_* helper, called straight from the generated
    code as _acc is) is invisible: a writeable C-ordered array (a fresh result of a C-ordered operand
    is C-ordered whatever the other's layout: the same layout as eager's) that only the calling
    code's variable holds (no Tensor, alias, saved value or constant: _SOLE, +1 for this frame) and
    that owns its memory or views all of an array only it holds (a product's result reshaped:
    _VIEWED, as in _owned)."""
    if type(a) is not np.ndarray or _getrefcount(a) > _SOLE + 1:
        return False
    flags = a.flags
    if not (flags.writeable and flags.c_contiguous):
        return False
    b = a.base
    return b is None or type(b) is np.ndarray and b.base is None and b.dtype == a.dtype and b.size == a.size \
        and b.flags.c_contiguous and _getrefcount(b) <= _VIEWED


def _into_left(uf, a, b):
    """``uf(a, b)``, written into ``a`` where that is invisible (_unheld), ``a`` of the result's shape and
    dtype (checked when the code was written): the same loop on the same values, so the same bits,
    without a fresh array (the output's memory is the operand's, still in cache)."""
    return uf(a, b, out=a) if _unheld(a) else uf(a, b)


def _into_right(uf, a, b):
    """``uf(a, b)``, written into ``b`` where that is invisible (as _into_left)."""
    return uf(a, b, out=b) if _unheld(b) else uf(a, b)


def _into_self(uf, a):
    """``uf(a)``, written into ``a`` where that is invisible (as _into_left)."""
    return uf(a, out=a) if _unheld(a) else uf(a)


def _into_both(uf, a):
    """``uf(a, a)`` (tanh's backward squares its output), written into ``a`` where that is invisible (as
    _into_left): one array as both operands and the output is NumPy's in-place case, read before written."""
    return uf(a, a, out=a) if _unheld(a) else uf(a, a)


def _clip_into(a, lo, hi):
    """``a.clip(lo, hi)`` (relu's), written into ``a`` where that is invisible (as _into_left)."""
    return a.clip(lo, hi, out=a) if _unheld(a) else a.clip(lo, hi)


# elements from which an elementwise result goes into its dying operand: below, the fresh array comes
# from the allocator's small bins in cache and the helper's checks cost what they save
INTO_MIN = 16384
_UFUNC_OF = {ast.Add: "np.add", ast.Sub: "np.subtract", ast.Mult: "np.multiply"}
_UNARY = {"np.tanh"}


def _write_into_dying(body, meta, weak=lambda name: False):
    """``body`` with each ``X = A op B`` (op + - *), ``X = np.tanh(A)``, ``X = A.clip(lo, hi)`` and
    ``X = _acc(X, A op B)`` whose operand A (a variable, B for ``A op B`` when A is not one) dies there
    (_dying_after: deleted by the next line, or after the ``with`` block the line is in and not read
    in the rest of the block) and whose shape and dtype are the result's (``meta``: a slot variable's
    (shape, dtype) at the capture; a temporary's are its operand's where the other operand is a Python
    number (``weak(name)``) or of the same shape and dtype; INTO_MIN elements or more) written as the
    same ufunc call with the result written into A's array when nothing else holds it (_into_left,
    _into_right, _into_self, _into_both for ``A op A``, _clip_into decide at each call). Eager's
    intermediates are fresh arrays; the values are the same bits (the same ufunc loop)."""
    out = list(body)
    for i, line in enumerate(body[:-1]):
        found = _dying_after(body, i)
        if found is None or " = " not in line:
            continue
        indent, dying = found
        target, rhs = line[len(indent):].split(" = ", 1)
        if not target.isidentifier():
            continue
        acc = _ACC.fullmatch(rhs)
        try:
            expr = ast.parse(acc.group(2) if acc else rhs, mode="eval").body
        except SyntaxError:
            continue
        want = meta(target) or (None if acc else _elementwise_meta(expr, meta, weak))
        if want is None or int(np.prod(want[0])) < INTO_MIN:
            continue
        call = _into_call(expr, want, dying, meta)
        if call is not None:
            out[i] = f"{indent}{target} = {f'_acc({acc.group(1)}, {call})' if acc else call}"
    return out


_ACC = re.compile(r"_acc\((\w+), (.*)\)")


def _dying_after(body, i):
    """(indent, names) for line ``i`` of ``body``: the names that die right after it (see
    _write_into_dying), or None where no ``del`` follows it or its ``with`` block."""
    line = body[i]
    if line[4] != " ":  # a top-level line
        nxt = body[i + 1]
        return ("    ", set(nxt[8:].split(", "))) if nxt.startswith("    del ") else None
    if line[8] == " ":
        return None
    a = i
    while body[a].startswith("        "):
        a -= 1
    j = i
    while j + 1 < len(body) and body[j + 1].startswith("        "):
        j += 1
    if not body[a].startswith("    with ") or j + 1 == len(body) or not body[j + 1].startswith("    del "):
        return None
    return "        ", set(body[j + 1][8:].split(", ")) - set(_VAR.findall("\n".join(body[i + 1:j + 1])))


def _elementwise_meta(expr, meta, weak):
    """(shape, dtype) of an elementwise ``expr``'s result where an operand tells it: ``A op B`` with B a
    Python number (``weak``), of A's shape and dtype or A itself (or the other way round), ``np.tanh(A)``;
    A a float array. None otherwise."""
    def of(node):
        return meta(node.id) if isinstance(node, ast.Name) else None

    if isinstance(expr, ast.BinOp) and type(expr.op) in _UFUNC_OF:
        for a, b in ((expr.left, expr.right), (expr.right, expr.left)):
            m = of(a)
            if m is not None and np.dtype(m[1]).kind == "f" \
                    and (isinstance(b, ast.Name) and (b.id == a.id or weak(b.id) or of(b) == m)):
                return m
    elif isinstance(expr, ast.Call) and not expr.keywords and len(expr.args) == 1 and ast.unparse(expr.func) in _UNARY:
        m = of(expr.args[0])
        return m if m is not None and np.dtype(m[1]).kind == "f" else None
    return None


def _into_call(expr, want, dying, meta):
    """The call writing ``expr`` into an operand of ``dying`` of shape and dtype ``want``, or None."""
    def fits(node):
        return isinstance(node, ast.Name) and node.id in dying and meta(node.id) == want

    if isinstance(expr, ast.BinOp) and type(expr.op) in _UFUNC_OF:
        uf, a, b = _UFUNC_OF[type(expr.op)], ast.unparse(expr.left), ast.unparse(expr.right)
        if a == b:
            return f"_into_both({uf}, {a})" if fits(expr.left) else None
        if fits(expr.left):
            return f"_into_left({uf}, {a}, {b})"
        if fits(expr.right):
            return f"_into_right({uf}, {a}, {b})"
    elif isinstance(expr, ast.Call) and not expr.keywords and len(expr.args) == 1 and fits(expr.args[0]) \
            and ast.unparse(expr.func) in _UNARY:
        return f"_into_self({ast.unparse(expr.func)}, {expr.args[0].id})"
    elif isinstance(expr, ast.Call) and not expr.keywords and len(expr.args) == 2 \
            and isinstance(expr.func, ast.Attribute) and expr.func.attr == "clip" and fits(expr.func.value) \
            and all(isinstance(x, ast.Name) for x in expr.args):
        return f"_clip_into({expr.func.value.id}, {expr.args[0].id}, {expr.args[1].id})"
    return None


_COPY = re.compile(r"    (\w+) = (\w+)\.copy\(\)")


def _take_dying_copies(body):
    """``body`` with each top-level ``X = Y.copy()`` whose ``Y`` the next line deletes (its last read, as
    _with_dels writes it) written ``X = _owned(Y)``: no copy where nothing else holds Y's array."""
    out = list(body)
    for i, line in enumerate(body[:-1]):
        m = _COPY.fullmatch(line)
        nxt = body[i + 1]
        if m and nxt.startswith("    del ") and m.group(2) in nxt[8:].split(", "):
            out[i] = f"    {m.group(1)} = _owned({m.group(2)})"
    return out


_TRANSPOSED = re.compile(r"( +)([gb]\w+) = \((.*)\)\.T")


def _fold_transposes(body):
    """``body`` with each gradient ``N = (E).T`` that is only read as ``N.transpose((1, 0))`` (a weight's
    gradient, transposed back by W.t()'s backward) bound to ``E`` itself and read as ``N``: the same
    values with the same strides (``E.T.T`` is a view of ``E`` laid out as it), in an array that owns its
    memory, which .grad takes as it is and a later sum can add into in place (see deliver, _acc)."""
    uses = {}
    for i, line in enumerate(body):
        if not line.lstrip().startswith("del "):
            for name in set(_VAR.findall(line)):
                uses.setdefault(name, []).append(i)
    out = list(body)
    for i, line in enumerate(body):
        m = _TRANSPOSED.fullmatch(line)
        if m is None:
            continue
        indent, name, product = m.groups()
        at = uses.get(name, [])
        if len(at) != 2 or at[0] != i:
            continue
        j = at[1]
        read = f"{name}.transpose((1, 0))"
        if out[j].count(read) != 1 or len(re.findall(rf"\b{name}\b", out[j])) != 1:
            continue
        out[i] = f"{indent}{name} = {product}"
        out[j] = out[j].replace(read, name)
    return out


def _defined(lines):
    names = set()
    for line in lines:
        if "=" in line:
            lhs = line.split("=", 1)[0]
            names.update(_NAME.findall(lhs))
    return names


def _tuple(names):
    """The source of a tuple of ``names`` (``()``, ``(a,)``, ``(a, b)``)."""
    names = list(names)
    return f"({', '.join(names)},)" if names else "()"


_SOLE = _sole_refs()  # (the probe's frames hold the array as deliver's caller and deliver do)
_VIEWED = _viewed_refs()  # (as _sole_array sees the array a view alone holds)
