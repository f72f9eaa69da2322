"""Replay: a captured graph's forward and backward as generated array code, under ONE graph node.

``Graph`` holds the steps of a capture (capture.py) and the environment layout: slots
0..n-1 are the function's tensor inputs, then the live tensors (parameters, buffers,
globals: their arrays are read at every call, so updates between calls take effect), then
constants and op outputs. ``Graph.program`` (codegen.py) is the steps written as two flat
Python functions over arrays: no Function.apply, no Tensor or graph node per op, no module
calls or Python code of the user's function. A replay is one ``CompiledFunction.apply``: its
forward runs the generated forward and makes one Tensor per output; its node
(``CompiledFunctionBackward``) links the outputs to the inputs and live tensors, and its
backward runs the generated backward and hands the engine the gradients of the inputs and
live tensors (hooks on those and ``AccumulateGrad`` run as usual).

A training step (a graph with backward() inside) is one generated ``run`` instead: at each
backward() the backward lines, each plain leaf's gradient written into its ``.grad``, and, where
the backward reaches tensors made outside the graph (an eager op's output, another compiled
graph's, an earlier segment's loss, a leaf with hooks), the engine run from those boundary
tensors with their gradients (codegen.run_outside), so the graph outside runs, hooks and frees
as in eager's one engine run; ``outside_overlap`` says when that would not equal eager's.

Double backward (``create_graph=True``) through the node raises, as torch.compile's does.
"""

import numpy as np

from ..autograd import function as _function
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.graph import AccumulateGrad as _AccumulateGrad
from ..tensor import Tensor
from .codegen import Program
from .graph_break import global_hooks as _global_hooks

_make = Tensor._make


class Step:
    """One recorded call: ``fn`` (a Function class; a recipe for kind "draw"; None for an
    alias), how to find each argument (see Capture._spec), the env slots of its outputs
    (None for a non-tensor output), which inputs needed a gradient and which outputs
    required one, and whether autocast cast its arguments."""

    __slots__ = ("fn", "spec", "kspec", "outs", "needs", "rgs", "autocast", "kind", "single", "grad_to",
                 "differentiable", "flat", "label", "delivers", "outside")

    def __init__(self, fn, spec, kspec, outs, needs, rgs, autocast, kind="op", single=True):
        self.fn, self.spec, self.kspec, self.outs = fn, spec, kspec, outs
        self.needs, self.rgs, self.autocast, self.kind, self.single = needs, rgs, autocast, kind, single
        self.differentiable = kind == "op" and any(rgs)
        self.grad_to = ()  # (argument position, slot, shape, dtype) of each input that takes a gradient
        self.flat = all(len(a) == 2 for a in spec)
        self.label = None  # a "call" step's name (Adam.step, SGD.zero_grad)
        # a "backward" step's input and live slots: the plain leaves whose .grad the generated code
        # writes, and the boundary tensors the engine continues from (see Graph.outside_checks)
        self.delivers, self.outside = (), ()

    @property
    def name(self):
        if self.kind in ("backward", "call"):
            return self.label or "backward"
        return getattr(self.fn, "__name__", "alias")


class Graph:
    """A captured function, replayable (see the module docstring)."""

    def __init__(self, capture, out_slots, treedef, name):
        self.name = name
        self.steps = capture.steps
        self.n_slots = len(capture.slots)
        self.n_inputs = capture.n_inputs
        self.live = list(capture.live)
        # symbolic scalars (symbolic.py): the slots of the float arguments read at each replay (given after
        # the tensors, in position order), and those the capture specialized, with their values
        self.scalar_slots = tuple(capture.scalar_params)
        self.n_scalars = len(self.scalar_slots)
        self.scalar_consts = tuple(capture.scalar_consts)
        self.scalar_value = capture.scalar_value  # slot -> value at the capture (codegen's StepView.value)
        self.value_sources = tuple(capture.value_inputs)  # (container, key) of the guarded floats among them
        live_slots = [s for s, (kind, _) in enumerate(capture.slots) if kind == "live"]
        self.input_slots = list(range(self.n_inputs)) + live_slots  # CompiledFunction's tensor arguments
        self.consts = [(s, t) for s, (kind, t) in enumerate(capture.slots) if kind == "const"]
        self.out_slots = out_slots
        self.arg_position = {s: j for j, s in enumerate(self.input_slots)}
        self.treedef = treedef
        self.fill = ()  # (leaf position, value, index of the argument returned) per non-tensor leaf (Compiled)
        self.bindings = capture.bindings
        self.values = capture.values  # value_guards.checker: the Python values the capture read still hold
        self.modules = capture.modules
        self.training = tuple(m.training for m in capture.modules)
        self.live_meta = tuple((t._data.shape, t._data.dtype, t._requires_grad) for t in self.live)
        rg = [False] * self.n_slots  # which slots require grad: their gradients are summed
        for s, (kind, t) in enumerate(capture.slots):
            rg[s] = kind in ("input", "live", "op") and t._requires_grad
        for step in self.steps:
            if step.differentiable:
                step.grad_to = tuple((i, a[1], capture.slots[a[1]][1]._data.shape, capture.slots[a[1]][1]._data.dtype)
                                     for i, a in enumerate(step.spec) if a[0] is True and rg[a[1]])
        self.out_rg = tuple(rg[s] for s in out_slots)
        self.out_meta = {s: (t._data.shape, t._data.dtype) for s, (kind, t) in enumerate(capture.slots) if kind == "op"}
        # a training step: one generated run (backward() inside, or optimizer calls and no output
        # that keeps a graph); a graph without backward() whose outputs require grad runs its calls
        # in its forward and keeps its node (a loss logged before the backward() of a later segment)
        calls = any(step.kind == "call" for step in self.steps)
        self.trains = any(step.kind == "backward" for step in self.steps) or calls and not any(self.out_rg)
        position = {s: j for j, s in enumerate(self.input_slots)}
        # the tensors backward() delivers .grad to: plain leaves at each call (plain_leaf)
        self.delivered = tuple(sorted({position[s] for step in self.steps for s in step.delivers}))
        # per backward() that continues in the engine, where the guard walks the graph outside
        # (outside_overlap): (positions of its boundary tensors, of the leaves it delivers to)
        self.outside_checks = tuple(
            (tuple(position[s] for s in step.outside), tuple(position[s] for s in step.delivers))
            for step in self.steps if step.outside and (len(step.outside) > 1 or step.delivers))
        self.out_meta_at = [(t._data.shape, t._data.dtype) for t in (capture.slots[s][1] for s in out_slots)]
        self.program = Program(self, capture.slots)
        self._depends = None  # per output, the input positions it depends on (unreached: made at first use)

    def check(self, inputs):
        """The guards beyond the call's key: module training flags, the bindings of live tensors,
        their shapes, dtypes and requires_grad; for a training step, that the tensors it writes
        ``.grad`` of are leaves without hooks, and, where a backward() continues in the engine from
        several boundary tensors or also delivers to leaves, that the graph outside is still
        disjoint from them (outside_overlap)."""
        if _global_hooks():
            return False
        if self.delivered or self.outside_checks:
            if len(inputs) != self.n_inputs:  # a tensor passed twice is one input
                inputs = list({id(t): t for t in inputs}.values())
            tensors = (*inputs, *self.live)
            for j in self.delivered:
                if not plain_leaf(tensors[j]):
                    return False
            for boundary, delivered in self.outside_checks:
                if outside_overlap([tensors[j] for j in boundary], [tensors[j] for j in delivered]) is not None:
                    return False
        for m, flag in zip(self.modules, self.training):
            if m.training != flag or m._forward_pre_hooks or m._forward_hooks or m._backward_hooks \
                    or m._backward_pre_hooks:
                return False
        for container, key, t in self.bindings:
            held = container.cell_contents if key is None else container.get(key)
            if held is not t:
                return False
        for t, (shape, dtype, rg) in zip(self.live, self.live_meta):
            if t._data.shape != shape or t._data.dtype != dtype or t._requires_grad != rg:
                return False
        return self.values()

    def backward(self, saved, grads):
        """The gradients of the inputs and live tensors, from the outputs' ``grads``, by the generated
        backward. Not differentiable again: with create_graph (grad mode on in backward) it raises,
        as torch.compile's backward."""
        if _grad_state.enabled:
            raise RuntimeError(
                "torch.compile: double backward (create_graph=True, or autograd.grad of a gradient) through a "
                "compiled graph is not supported, as in torch.compile; run that function eagerly (don't compile "
                "it, or wrap it in torch.compiler.disable).")
        arrays = [None if g is None else g._data for g in grads]
        unreached = ()
        if any(a is None for a in arrays):  # an output no gradient reached: zeros, as the engine materializes them
            arrays = [np.zeros(*self.out_meta_at[k]) if a is None else a for k, a in enumerate(arrays)]
            unreached = self.unreached([a is not None for a in grads])  # (their inputs get None, as eager's)
        return tuple(None if g is None or j in unreached else _make(g)
                     for j, g in enumerate(self.program.backward(saved, arrays)))

    def unreached(self, given):
        """The input positions that no output with a gradient (``given``) depends on through the ops."""
        if self._depends is None:
            position = {s: j for j, s in enumerate(self.input_slots)}
            deps = {s: {j} for s, j in position.items()}
            for step in self.steps:
                if step.differentiable:
                    d = set().union(*(deps.get(slot, ()) for _, slot, _, _ in step.grad_to))
                    for o in step.outs:
                        if o is not None:
                            deps[o] = d
            self._depends = [deps.get(s, set()) for s in self.out_slots]
        reached = set().union(*(d for d, g in zip(self._depends, given) if g))
        return set(range(len(self.input_slots))) - reached


class CompiledFunction(Function):
    """The one graph node of a replayed call: forward runs the generated forward on the arrays,
    backward the generated backward (see the module docstring)."""

    _backward_name = "CompiledFunctionBackward"

    @staticmethod
    def forward(ctx, graph, *tensors):
        program = graph.program
        if graph.n_scalars:  # (the dynamic float arguments come after the tensors)
            k = len(tensors) - graph.n_scalars
            outs, saved = program.forward(*[t._data for t in tensors[:k]], *tensors[k:])
            tensors = tensors[:k]
        else:
            outs, saved = program.forward(*[t._data for t in tensors])
        ctx.graph, ctx.saved = graph, saved
        ctx._materialize_grads = False  # (backward sees which outputs no gradient reached: see Graph.backward)
        results = [_make(o) for o in outs]
        non_diff = [r for r, rg in zip(results, graph.out_rg) if not rg]
        if non_diff:
            ctx.mark_non_differentiable(*non_diff)
        keep = [tensors[j] for j in program.saved_inputs] + [results[j] for j in program.saved_outputs]
        if keep:  # for the version checks: an in-place change before backward raises, as eager
            ctx.save_for_backward(*keep)
        if graph.checked:  # those eager's ops saved, checked where an output reaching them has a gradient
            ctx.checked = [(results[j]._vc, results[j]._vc[0], results[j]._data, j, outs) if is_out else
                           (tensors[j], tensors[j]._vc[0], None, None, outs) for is_out, j, outs in graph.checked]
        return tuple(results)

    @staticmethod
    def backward(ctx, *grads):
        if ctx.saved is None:
            raise _function._second_backward_error(ctx)
        ctx.saved_tensors  # noqa: B018  (the version checks)
        for t, version, data, nr, outs in getattr(ctx, "checked", ()):
            vc = t if nr is not None else t._vc
            if vc[0] != version and any(grads[k] is not None for k in outs):
                ctx._raise_modified(_make(data), version, vc[0], nr, vc) if nr is not None else \
                    ctx._raise_modified(t, version)
        return (None,) + ctx.graph.backward(ctx.saved, grads) + (None,) * ctx.graph.n_scalars

    def _release(self):
        super()._release()
        self.saved = None


def run_training(graph, tensors, scalars=()):
    """Replay a training step (a graph with backward() and optimizer calls): the generated ``run``
    with grad mode off (as eager's backward and optimizer step run); the outputs that required grad
    come back requiring grad, with a node whose graph is spent (a second backward raises, as eager's)."""
    enabled = _grad_state.enabled
    _grad_state.enabled = False
    try:
        outs = graph.program.run(tensors, scalars)
    finally:
        _grad_state.enabled = enabled
    results = []
    for o, rg in zip(outs, graph.out_rg):
        t = _make(o)
        if rg and enabled:
            node = CompiledFunction.__new__(CompiledFunction)
            node.saved, node._next, node._out_meta, node._freed = None, (), [(o.shape, o.dtype)], True
            t._requires_grad, t.grad_fn, t._output_nr = True, node, 0
        results.append(t)
    return results


def plain_leaf(t):
    """True for a leaf whose ``.grad`` the generated code may write itself (AccumulateGrad's rule):
    no grad_fn, no hooks on it (tensor or post-accumulate hooks) or on its AccumulateGrad node."""
    if t.grad_fn is not None or t._hooks or t._post_accumulate_hooks:
        return False
    ref = t._accumulator
    node = ref() if ref is not None else None
    return node is None or not node._hooked


def outside_overlap(boundary, delivered):
    """Why running the engine from the ``boundary`` tensors (with the gradients the generated backward
    gave them) after writing the ``delivered`` leaves' .grad would not be eager's one engine run, or
    None. It is eager's when each boundary tensor's node (with its graph) is reached from no other
    boundary tensor and reaches none of the delivered leaves: then every node outside gets its
    gradients in eager's order and sums, and every leaf is accumulated once (eager sums a leaf's
    gradients before its one accumulation; two accumulations would add in another order and run its
    hooks twice). Boundary tensors that are different outputs of one node share it."""
    roots = {}  # node -> the output numbers the boundary tensors are of it
    for t in boundary:
        node = t.grad_fn
        nr = t._output_nr if node is not None else 0
        if node is None:
            node = _function._accumulator(t)
        if nr in roots.setdefault(node, set()):
            return f"two tensors of shape {list(t.shape)} are the same output of {node.name()}"
        roots[node].add(nr)
    leaves = {id(t) for t in delivered}
    owner = {}  # node -> the root whose graph reached it
    for root in roots:
        if root in owner:
            return f"the graph of one input reaches another input's node {root.name()}"
        owner[root] = root
        stack = [root]
        while stack:
            node = stack.pop()
            if type(node) is _AccumulateGrad and id(node.variable) in leaves:
                return (f"a tensor of shape {list(node.variable.shape)} is reached both by the ops of the "
                        "compiled graph and through the graph of one of its inputs")
            for fn, _ in node._next:
                if fn is None:
                    continue
                seen = owner.get(fn)
                if seen is None:
                    owner[fn] = root
                    stack.append(fn)
                elif seen is not root:
                    return f"the graphs of two inputs both reach node {fn.name()}"
    return None
