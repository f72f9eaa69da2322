"""Replay: run a captured graph's forward as a flat loop over its steps, under ONE graph node.

``Graph`` holds the steps of a capture (capture.py) and the environment layout: slots
0..n-1 are the function's tensor inputs, then the live tensors (parameters, buffers,
globals: read at every call, so updates between calls take effect), then constants and
op outputs. ``Graph.run(inputs)`` calls each step's ``forward`` (the op's own NumPy code)
with a fresh context, without ``Function.apply``: no per-op graph node, no grad-mode
switch, no module calls or Python code of the user's function. It runs inside
``CompiledFunction.apply``, whose one node (``CompiledFunctionBackward``) links the outputs
to the inputs and live tensors; its backward calls the recorded contexts' ``backward``
formulas in reverse order, summing gradients per slot, and hands the engine the gradients
of the inputs and live tensors (hooks on those and ``AccumulateGrad`` run as usual).

Double backward (``create_graph=True``) through the node raises, as torch.compile's does.
"""

import numpy as np

from .._backend import array_module as _xp
from ..amp.autocast_mode import cast_args
from ..autograd import function as _function
from ..autograd.function import Function, _wrap_output
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ..ops._broadcast import sum_to_shape
from .graph_break import global_hooks as _global_hooks

_make = Tensor._make


class Step:
    """One recorded call: ``fn`` (a Function class; a recipe for kind "draw"; None for an
    alias), how to find each argument (see Capture._spec), the env slots of its outputs
    (None for a non-tensor output), which inputs needed a gradient and which outputs
    required one, and whether autocast cast its arguments."""

    __slots__ = ("fn", "spec", "kspec", "outs", "needs", "rgs", "autocast", "kind", "single", "grad_to",
                 "differentiable", "flat")

    def __init__(self, fn, spec, kspec, outs, needs, rgs, autocast, kind="op", single=True):
        self.fn, self.spec, self.kspec, self.outs = fn, spec, kspec, outs
        self.needs, self.rgs, self.autocast, self.kind, self.single = needs, rgs, autocast, kind, single
        self.differentiable = kind == "op" and any(rgs)
        self.grad_to = ()  # (argument position, slot, shape, dtype) of each input that takes a gradient
        self.flat = all(len(a) == 2 for a in spec)

    @property
    def name(self):
        return getattr(self.fn, "__name__", "alias")


def _arg(spec, env):
    if spec[0] is True:
        return env[spec[1]]
    if spec[0] is False:
        return spec[1]
    return spec[1](_arg(s, env) for s in spec[2])


class Graph:
    """A captured function, replayable (see the module docstring)."""

    def __init__(self, capture, out_slots, treedef, name):
        self.name = name
        self.steps = capture.steps
        self.n_slots = len(capture.slots)
        self.n_inputs = capture.n_inputs
        self.live = list(capture.live)
        live_slots = [s for s, (kind, _) in enumerate(capture.slots) if kind == "live"]
        self.input_slots = list(range(self.n_inputs)) + live_slots  # CompiledFunction's tensor arguments
        self.consts = [(s, t) for s, (kind, t) in enumerate(capture.slots) if kind == "const"]
        self.out_slots = out_slots
        self.arg_position = {s: j for j, s in enumerate(self.input_slots)}
        self.treedef = treedef
        self.bindings = capture.bindings
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
        self.op_count = sum(1 for s in self.steps if s.kind == "op")
        # each slot is dropped from the env after the step that reads it last (as eager frees an
        # intermediate once nothing holds it), except the outputs and the arguments
        last = {}
        for i, step in enumerate(self.steps):
            for s in _slots_of(step.spec) + _slots_of(tuple(step.kspec.values())):
                last[s] = i
        keep = set(out_slots) | set(self.input_slots)
        self.free_after = [[] for _ in self.steps]
        for s, i in last.items():
            if s not in keep and capture.slots[s][0] in ("op", "array"):
                self.free_after[i].append(s)
        self.out_meta = {s: (t._data.shape, t._data.dtype) for s, (kind, t) in enumerate(capture.slots) if kind == "op"}

    def check(self):
        """The guards beyond the call's key: module training flags, the bindings of live tensors,
        their shapes, dtypes and requires_grad."""
        if _global_hooks():
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
        return True

    def run(self, inputs):
        """The forward: every step's NumPy code; returns the env and the contexts for backward."""
        env = [None] * self.n_slots
        for s, t in zip(self.input_slots, inputs):
            env[s] = t
        for s, t in self.consts:
            env[s] = t
        ctxs = []
        for step, free in zip(self.steps, self.free_after):
            fn = step.fn
            if step.kind == "alias":
                env[step.outs[0]] = _make(env[step.spec[0][1]]._data)
                ctxs.append(None)
                for s in free:
                    env[s] = None
                continue
            if step.kind == "arrays":  # statistics a normalization computes before its op
                for slot, a in zip(step.outs, fn(env[step.spec[0][1]]._data, *(a[1] for a in step.spec[1:]))):
                    env[slot] = a
                ctxs.append(None)
                continue
            if step.kind == "compare":
                env[step.outs[0]] = _make(fn(*(_arg(a, env) for a in step.spec)))
                ctxs.append(None)
                continue
            if step.kind == "draw":
                env[step.outs[0]] = _make(fn(env[step.spec[0][1]]))
                ctxs.append(None)
                for s in free:
                    env[s] = None
                continue
            if step.flat:  # every argument a slot or a plain value: no nested list
                args = [env[v] if k is True else v for k, v in step.spec]
            else:
                args = [_arg(a, env) for a in step.spec]
            kwargs = {k: _arg(a, env) for k, a in step.kspec.items()} if step.kspec else {}
            if step.autocast:
                args = cast_args(fn._autocast, args)
            ctx = fn.__new__(fn)
            ctx.needs_input_grad = step.needs
            out = fn._forward_ctx(ctx, *args, **kwargs)
            if type(out) is np.ndarray:
                env[step.outs[0]] = _make(out)
            else:
                outs = (out,) if step.single else out
                for slot, o in zip(step.outs, outs):
                    if slot is not None:
                        env[slot] = _wrap_output(o, args, ctx)
            ctxs.append(ctx if step.differentiable else None)
            for s in free:
                env[s] = None
        return env, ctxs

    def backward(self, ctxs, grads):
        """The gradients of the inputs and live tensors, from the outputs' ``grads``. Not differentiable
        again: with create_graph (grad mode on in backward) it raises, as torch.compile's backward."""
        if _grad_state.enabled:
            raise RuntimeError(
                "torch.compile: double backward (create_graph=True, or autograd.grad of a gradient) through a "
                "compiled graph is not supported, as in torch.compile; run that function eagerly (don't compile "
                "it, or wrap it in torch.compiler.disable).")
        genv = {}
        for slot, g in zip(self.out_slots, grads):
            if g is not None:
                _add(genv, slot, g)
        pop = genv.pop
        for step, ctx in zip(reversed(self.steps), reversed(ctxs)):
            if ctx is None:
                continue
            outs = step.outs
            if len(outs) == 1:
                g = pop(outs[0], None)
                if g is None:
                    continue
                gs = (g,)
            else:
                gs = [pop(o, None) if o is not None else None for o in outs]
                if all(g is None for g in gs):
                    continue
            if len(gs) > 1 and ctx._materialize_grads and any(g is None for g in gs):
                like = next(g for g in gs if g is not None)._data
                gs = [g if g is not None or o is None else _make(_xp(like).zeros(*self.out_meta[o]))
                      for g, o in zip(gs, step.outs)]
            result = step.fn.backward(ctx, *gs)
            if not isinstance(result, tuple):
                result = (result,)
            for i, slot, shape, dtype in step.grad_to:
                g = result[i] if i < len(result) else None
                if g is None:
                    continue
                if g._data.shape != shape:
                    g = sum_to_shape(g, shape)
                if g._data.dtype != dtype:
                    g = g.to(dtype=Tensor._dtype_of(dtype))
                _add(genv, slot, g)
        return tuple(genv.get(s) for s in self.input_slots)


def _slots_of(specs):
    out = []
    for a in specs:
        if a[0] is True:
            out.append(a[1])
        elif a[0] == "list":
            out.extend(_slots_of(a[2]))
    return out


def _add(genv, slot, g):
    prev = genv.get(slot)
    genv[slot] = g if prev is None else prev + g


class CompiledFunction(Function):
    """The one graph node of a replayed call: forward runs the graph, backward its recorded
    backward formulas (see the module docstring)."""

    _backward_name = "CompiledFunctionBackward"

    @staticmethod
    def forward(ctx, graph, *tensors):
        env, ctxs = graph.run(tensors)
        ctx.graph, ctx.ctxs = graph, ctxs
        outs = tuple(env[s] for s in graph.out_slots)
        non_diff = [o for o, rg in zip(outs, graph.out_rg) if not rg]
        if non_diff:
            ctx.mark_non_differentiable(*non_diff)
        return outs

    @staticmethod
    def backward(ctx, *grads):
        if ctx.ctxs is None:
            raise _function._second_backward_error(ctx)
        return (None,) + ctx.graph.backward(ctx.ctxs, grads)

    def _release(self):
        super()._release()
        self.ctxs = None
