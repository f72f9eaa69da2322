"""Capture: run the function once eagerly, with real tensors, and record the ops it calls.

Every op goes through ``Function.apply``, which hands each call to
``retrograd.autograd.function.profile_hook`` first: the one hook the profiler and the ONNX
exporter (onnx/_trace.py) also record through. While a ``Capture`` records, that hook is its
``_hook``: it notes the op class, its arguments and kwargs, then runs the op through ``apply``
as usual (so the first call's results are eager's own). Ops called inside an op run
unrecorded (``depth`` > 0): replay calls the outer op's forward, which calls them again.

Each tensor an op reads gets a slot of the replay environment (``Graph.env``):

- an **input** of the function (a tensor in its arguments, in order);
- a **live** tensor: one that existed before the call (a parameter, a buffer, a global): the
  replay reads the object itself, so optimizer updates between calls take effect. Where the
  capture finds how it was reached (a module's ``_parameters``/``_buffers``/attributes, the
  function's globals or closure), that binding is a guard;
- an op's **output**;
- a **constant** made by a creation function (``zeros``, ``arange``, ``tensor`` ...) during the call;
- a **draw**: dropout's scaled mask, drawn again at replay from the same generator;
- an **alias**: a tensor sharing an env tensor's array but made without an op (``detach()``,
  ``.data``): the same array at replay, with no gradient through it;
- an **array** step's result: arrays (or tensors made from them) an op's caller computes from its
  inputs' arrays outside any op, computed again at replay by the same function (layer/group/batch/
  instance norm's statistics, batch and instance norm's running-statistics update, batch norm's
  eval-mode statistics, max pooling's window maxima and indices, gather's, scatter's and index_select's
  keys, argmax's, sort's, argsort's and topk's indices, isnan's, ``~``'s and logical_not's masks;
  bool ``&``/``|``/``^`` as comparisons; attention's causal mask a constant); clip_grad_norm_'s total
  norm (the call made again at replay, after the backward before it, as optimizer.step()).

An in-place op on a tensor an op or a creation function of the capture made is recorded as the op
on the tensor's slot, and the tensor's later reads are the op's result (_inplace); on a buffer under no_grad its result
is written into the buffer at replay. Anything else ends the capture with a graph break
(graph_break.py): a tensor made without a recorded op (a mask from ``.numpy()``, ``nonzero``),
random numbers drawn outside an op, another in-place change of a captured tensor (the version
counter moved; a tensor an op saved for backward changed after), module hooks, an op returning a
Python value. The Capture gives a ``Graph`` (replay.py) or the breaks.
"""

import functools
import sys
import threading

import numpy as np

from .. import _backend
from .. import creation as _creation
from ..autograd import function as _function
from ..autograd.grad_mode import _state as _grad_state
from ..amp.autocast_mode import _state as _amp_state
from ..ops import attention as _attention_mod
from ..ops import dropout as _dropout_mod
from ..ops import comparison as _comparison_mod
from ..ops import normalization as _norm_mod
from ..ops import indexing as _indexing_mod
from ..ops import pooling as _pooling_mod
from ..ops import reduction as _reduction_mod
from ..ops import sorting as _sorting_mod
from ..ops import _batching
from ..ops import _inplace as _inplace_mod
from ..ops.elementwise import operands as _operands
from .. import random as _random
from ..tensor import Tensor
from . import graph_break, symbolic, value_guards
from .graph_break import has_hooks as _has_hooks
from .replay import Graph, Step, outside_overlap, plain_leaf

# functions of ops/normalization.py whose statistics (arrays, from ``_stats``) are recomputed at replay (batch and
# instance norm's: _batch_stats and _instance_stats, with their running-statistics update)
_STATS_CALLERS = ("layer_norm", "group_norm")
# creation functions whose result depends only on their (guarded or constant) arguments
# ops whose array arguments are functions of shapes and Python arguments only (the guards fix both): constants
# of the graph (pooling's and interpolate's matrices)
_CONSTANT_ARRAYS = (_pooling_mod.SeparablePool,)
# comparison.py's classifications (a bool tensor made from the input's array without an op)
_CLASSIFY = ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not", "bitwise_not")
_BITWISE = _comparison_mod._bitwise(None, "", "").__code__  # (bool/int &, |, ^ make their tensor as a comparison)
_CREATION = ("tensor", "as_tensor", "zeros", "ones", "full", "empty", "scalar_tensor", "zeros_like",
             "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace", "eye")


_active = []  # the Capture recording now (one at a time)


def active():
    """The Capture recording now, or None."""
    return _active[-1] if _active else None


class Capture:
    """One recording run of ``fn`` (see the module docstring)."""

    def __init__(self, fn, fullgraph, modules=()):
        self.fn, self.fullgraph = fn, fullgraph
        self.depth = 0
        self.breaks = []
        self.steps = []
        self.slots = []  # per env slot: ("input"|"live"|"const"|"op", tensor)
        self._slot = {}  # id(tensor) -> env slot
        self._keep = []  # tensors whose ids are keys above, kept alive
        self._versions = []  # (tensor, version when first seen): a change means an in-place write
        self._made = {}  # id -> tensor made at depth 0 by code that is no recorded op
        self._consts = {}  # id -> tensor made by a creation function at depth 0
        self._fresh = set()  # ids of those whose array no one else holds (not as_tensor's)
        self._pending = {}  # id(array) -> slot: a comparison's result, until its tensor is made
        self._arrays = {}  # id(array) -> slot: statistics recomputed at replay (_stats)
        self._const_arrays = False  # while an op of _CONSTANT_ARRAYS is recorded
        self._copy_for = None  # the tensor an in-place op copies now: its copy reads that tensor's slot
        self._nodes = []  # the graph nodes of the recorded ops (their saved tensors: see _check_saved)
        self._written = []  # version counters of tensors written by captured in-place ops
        self.modules = []  # every nn.Module called during the capture
        self._seen_modules = set()
        self.n_inputs = 0
        # a capture for a key whose graphs failed their guards: a backward() whose graph outside overlaps
        # breaks now; on a key's first capture it is recorded, guarded, and breaks only if it overlaps
        # again (the first call of a compiled producer runs eagerly: its outputs' graphs meet where its
        # replayed node's outputs would not)
        self.recapture = False
        self.live = []  # live tensors, in slot order
        self.bindings = []  # (container, key, tensor): how a live tensor was reached
        self._saving = set()  # ids of the nodes a backward() inside ran that had saved tensors (then freed)
        self._no_grad_read = set()  # ids of the tensors whose .grad the function read as None (bound to None)
        self._roots = _held_modules(modules, fn)
        self._owners = _owners_of(self._roots, fn)
        self._scanned = 0  # self.modules whose tensors are in _owners
        self._undo = []
        # the patches are process-wide: only this thread's calls are recorded (other threads' ops
        # run as usual, as if at depth 1)
        self.thread = threading.get_ident()
        # symbolic scalars (symbolic.py): the float arguments given as SymFloats, those read into Python
        self.token = next(symbolic._tokens)
        self.scalar_value = {}  # slot -> the plain float of each scalar slot
        self.static = set()  # the argument slots a value read specialized
        self.scalar_params, self.scalar_consts = [], []  # (set by Compiled: the graph's scalar inputs, constants)
        self.value_sources = ()  # (container, key) of the guarded floats taken as inputs (set by Compiled)
        self.swapped = []  # (SymFloat, container, key, float) of those: the SymFloat there while the capture runs
        self.value_inputs = []  # (container, key) of those the graph reads at each replay (set by Compiled)

    def mine(self):
        """True at depth 0 on the capturing thread: a call to record (or to break on)."""
        return self.depth == 0 and threading.get_ident() == self.thread

    # ------------------------------------------------------------------ symbolic scalars
    def new_scalar(self, value):
        """A SymFloat standing for a float argument of the call (see symbolic.py)."""
        s = self._scalar(value, None)
        s.roots = frozenset((s.slot,))
        return s

    def _scalar(self, value, roots):
        slot = len(self.slots)
        self.slots.append(("scalar", None))
        self.scalar_value[slot] = value
        cls = symbolic.SymInt if type(value) is int else symbolic.SymFloat
        s = cls.__base__.__new__(cls, value)
        s.slot, s.roots, s.token, s.value = slot, roots, self.token, value  # (value: symbolic.plain)
        return s

    def scalar_op(self, op, operands, result):
        """``result`` of Python arithmetic ``op`` on SymFloats and numbers, recorded as a step."""
        spec, roots = [], frozenset()
        for a in operands:
            if type(a) in symbolic.SYMBOLIC and a.token == self.token:
                spec.append(("scalar", a.slot))
                roots |= a.roots
            else:
                spec.append((False, symbolic.plain(a) if type(a) in symbolic.SYMBOLIC else a))
        s = self._scalar(result, roots)
        self.steps.append(Step(op, tuple(spec), {}, (s.slot,), (False,) * len(spec), (False,), False, kind="scalar"))
        return s

    def specialize(self, s):
        """SymFloat ``s`` was read into Python: the arguments it comes from become constants, guarded."""
        self.static |= s.roots

    # ------------------------------------------------------------------ breaks
    def graph_break(self, reason, skip=3):
        graph_break.breaking_call(reason, self, skip)

    # ------------------------------------------------------------------ patches
    def _install(self):
        from ..profiler import _record
        from ..nn.module import Module

        if _record.active() is not None or _function.profile_hook is not None:
            raise RuntimeError("internal: capture started while the op hook is taken")
        self._undo = graph_break.install(self)
        cap = self
        make = Tensor.__dict__["_make"]
        make_fn = Tensor._make  # (a staticmethod or a classmethod: callable as _make(data, requires_grad))

        def _make(data, requires_grad=False):
            t = make_fn(data, requires_grad)
            if cap.mine():
                slot = cap._pending.pop(id(data), None)
                if cap._copy_for is not None:  # the value before an in-place write (see _inplace): read from its slot
                    cap._slot[id(t)] = cap._slot[id(cap._copy_for)]
                    cap._keep.append(t)
                    cap._copy_for = None
                elif slot is not None:  # a comparison's or statistics step's result (see _comparison)
                    cap.slots[slot] = ("op", t)
                    cap._slot[id(t)] = slot
                    cap._keep.append(t)
                    cap._versions.append((t, t._vc[0]))
                else:
                    cap._made[id(t)] = t
            return t

        self._undo.append((Tensor, "_make", make))
        Tensor._make = staticmethod(_make)
        call = Module.__dict__["__call__"]

        def module_call(module, *args, **kwargs):
            if id(module) not in cap._seen_modules:
                cap._seen_modules.add(id(module))
                cap.modules.append(module)
            if cap.mine() and _has_hooks(module):
                cap.graph_break(f"hooks on module {type(module).__name__} (forward/backward hooks are not captured)")
            return call(module, *args, **kwargs)

        self._undo.append((Module, "__call__", call))
        Module.__call__ = module_call
        import retrograd

        for name in _CREATION:
            for owner in (retrograd, _creation):
                original = owner.__dict__.get(name)
                if original is not None:
                    self._undo.append((owner, name, original))
                    setattr(owner, name, self._creation(original))
        def patch(owner, name, wrap):
            original = getattr(owner, name)
            self._undo.append((owner, name, original))
            setattr(owner, name, wrap(original))

        patch(_comparison_mod, "operands", _plain_operands)
        patch(_comparison_mod, "broadcast_op", self._comparison)
        patch(_norm_mod, "_stats", self._stats)
        patch(_norm_mod, "_batch_stats", self._stats_update)
        patch(_norm_mod, "_instance_stats", self._stats_update)
        patch(_norm_mod, "_eval_stats", self._eval_stats)
        patch(_pooling_mod, "_window_arrays", self._window_arrays)
        patch(_indexing_mod, "_gather_key", self._gather_key)
        patch(_indexing_mod, "_select_key", self._select_key)
        patch(_sorting_mod, "_indices", self._sort_indices)
        patch(_sorting_mod, "_dim_key", self._pick_key)
        patch(_reduction_mod, "_arg", lambda f: self._array_function(f, 1))
        for name in _CLASSIFY:  # (the Tensor method, retrograd's and comparison's: one function object for
            wrapped = {}  # isnan's; logical_not's method is the function its out= wrapper calls)
            for owner in (Tensor, retrograd, _comparison_mod):
                original = owner.__dict__.get(name)
                if original is not None:
                    if id(original) not in wrapped:
                        wrapped[id(original)] = self._array_function(original, 0)
                    patch(owner, name, lambda _, w=wrapped[id(original)]: w)
        patch(_inplace_mod, "_inplace", self._inplace)
        patch(_dropout_mod, "_dropout", self._dropout)
        patch(_attention_mod, "_keep_mask", self._attention_keep)
        patch(_attention_mod, "_causal_mask", self._constant)
        for gen in (_random.default_generator, _random.cuda_generator):
            self._undo.append((gen, "_rng", gen._rng))
            gen._rng = _WatchedRng(gen._rng, self)
        self._install_training()
        self._undo.append((_function, "profile_hook", None))
        _function.profile_hook = self._hook

    def _install_training(self):
        """backward(), the optimizers' step and zero_grad, and Module.zero_grad become steps of the
        graph (a training step compiles whole); any other write of a ``.grad`` breaks the graph."""
        from ..nn.module import Module
        from ..optim import optimizer as _optimizer

        cap = self
        backward = Tensor.__dict__["backward"]

        def tensor_backward(t, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            if not cap.mine():
                return backward(t, gradient, retain_graph, create_graph, inputs)
            cap._record_backward(t, gradient, retain_graph, create_graph, inputs)
            cap.depth += 1
            try:
                return backward(t, gradient, retain_graph, create_graph, inputs)
            finally:
                cap.depth -= 1
                cap._after_call()

        self._undo.append((Tensor, "backward", backward))
        Tensor.backward = tensor_backward
        hooked = _optimizer._hooked_step

        def hooked_step(opt, fn, args, kwargs, no_grad):
            if not cap.mine():
                return hooked(opt, fn, args, kwargs, no_grad)
            if args or kwargs:
                cap.graph_break(f"{type(opt).__name__}.step(closure) (a closure re-evaluates the model: not captured)",
                                skip=4)
            if opt.defaults.get("differentiable"):
                cap.graph_break(f"{type(opt).__name__}(differentiable=True).step() (its update is recorded by "
                                "autograd: runs eagerly)", skip=4)
            cap._record_call(hooked, (opt, fn, args, kwargs, no_grad), f"{type(opt).__name__}.step")
            return cap._call(hooked, opt, fn, args, kwargs, no_grad)

        self._undo.append((_optimizer, "_hooked_step", hooked))
        _optimizer._hooked_step = hooked_step
        for owner in (_optimizer.Optimizer, Module):
            original = owner.__dict__["zero_grad"]

            def zero_grad(obj, set_to_none=True, _original=original):
                if not cap.mine():
                    return _original(obj, set_to_none)
                cap._record_call(_original, (obj, set_to_none), f"{type(obj).__name__}.zero_grad")
                return cap._call(_original, obj, set_to_none)

            self._undo.append((owner, "zero_grad", original))
            owner.zero_grad = zero_grad
        from ..nn.utils import clip_grad as _clip_grad

        for name in ("_clip_norm", "_clip_value"):
            self._undo.append((_clip_grad, name, getattr(_clip_grad, name)))
            setattr(_clip_grad, name, self._clipping(getattr(_clip_grad, name)))
        from ..optim import lr_scheduler as _lr_scheduler

        for owner in list(vars(_lr_scheduler).values()):
            if isinstance(owner, type) and "step" in owner.__dict__:
                original = owner.__dict__["step"]

                def scheduler_step(sched, *args, _original=original, **kwargs):
                    if not cap.mine():
                        return _original(sched, *args, **kwargs)
                    if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
                        cap.graph_break(f"{type(sched).__name__}.step() with a tensor argument (a value read "
                                        "into Python)", skip=4)
                    fn = functools.partial(_original, **kwargs) if kwargs else _original
                    cap._record_call(fn, (sched, *args), f"{type(sched).__name__}.step")
                    return cap._call(fn, sched, *args)

                self._undo.append((owner, "step", original))
                owner.step = scheduler_step
        grad = Tensor.__dict__["grad"]

        def set_grad(t, value):
            if cap.mine():
                cap.graph_break("a .grad assigned inside the compiled function (only backward(), "
                                "optimizer.zero_grad() and Module.zero_grad() are captured)")
            grad.__set__(t, value)

        def del_grad(t):
            if cap.mine():
                cap.graph_break("a .grad deleted inside the compiled function")
            grad.__delete__(t)

        def get_grad(t):
            g = grad.__get__(t)
            if not cap.mine():
                return g
            slot = cap._slot.get(id(t))
            if slot is not None and cap.slots[slot][0] == "input":
                # (the replay would read the .grad of the capture's input, not of the call's)
                cap.graph_break("the .grad of an input of the compiled function read")
            elif g is not None and cap.made_inside(t):
                # (its .grad is written by no replayed line: the capture's gradient would be replayed)
                cap.graph_break("the .grad of a tensor made inside the compiled function read")
            elif g is not None:  # a gradient the function reads: bound to t's .grad
                cap._owners.setdefault(id(g), (_GradOf(t), "grad"))
                cap._keep.append(g)
            elif id(t) not in cap._no_grad_read:  # (`if p.grad is not None`: guarded to stay None)
                cap._no_grad_read.add(id(t))
                cap.bindings.append((_GradOf(t), "grad", None))
            return g

        self._undo.append((Tensor, "grad", grad))
        Tensor.grad = property(get_grad, set_grad, del_grad, grad.__doc__)
        # what a replay would not do again: a tensor's array rebound (``x.data = y``, which no op records), the
        # requires_grad of a tensor given to the function or read from outside changed
        data, requires = Tensor.__dict__["data"], Tensor.__dict__["requires_grad"]

        def set_data(t, value):
            if cap.mine():
                cap.graph_break("a tensor's .data assigned inside the compiled function")
            data.__set__(t, value)

        def set_requires_grad(t, value):
            if cap.mine() and value != t._requires_grad and not cap.made_inside(t):
                cap.graph_break(f"requires_grad of a tensor of shape {list(t.shape)} given to the compiled function "
                                "or read from outside changed inside it")
            requires.__set__(t, value)

        self._undo.append((Tensor, "data", data))
        Tensor.data = property(data.__get__, set_data, None, data.__doc__)
        self._undo.append((Tensor, "requires_grad", requires))
        Tensor.requires_grad = property(requires.__get__, set_requires_grad, None, requires.__doc__)
        set_state = _random.Generator.set_state

        def watched_set_state(gen, state):
            if cap.mine():  # (a replay would not set it: its draws would differ from eager's)
                cap.graph_break("a random generator's state set inside the compiled function (set_rng_state)")
            return set_state(gen, state)

        self._undo.append((_random.Generator, "set_state", set_state))
        _random.Generator.set_state = watched_set_state

    def _clipping(self, original):
        """clip_grad_norm_ / clip_grad_value_ (clip_grad._clip_norm, _clip_value): the call recorded as a step
        of the generated code (after the backward lines before it, as optimizer.step()), calling it again at
        replay on the parameters' .grad then; clip_grad_norm_'s total norm an op slot (its tensor at replay)."""
        cap = self

        def clip(params, *args):
            if not cap.mine():
                return original(params, *args)
            args = symbolic.unwrap(args)  # (max_norm, norm_type, clip_value: specialized, baked in)
            out = cap._call(original, params, *args)
            if out is None:
                cap._record_call(original, (params, *args), "clip_grad_value_")
            else:
                slot = cap._new_slot("op", out)
                cap.steps.append(Step(_OfCall(original, (params, *args)), (), {}, (slot,), (), (False,), False,
                                      kind="arrays"))
            return out

        return clip

    def _record_backward(self, t, gradient, retain_graph, create_graph, inputs):
        if gradient is not None or retain_graph or create_graph or inputs is not None:
            self.graph_break("backward() with gradient=, retain_graph=, create_graph= or inputs= inside the "
                             "compiled function (only a plain loss.backward() is captured)", skip=4)
        slot = self._slot.get(id(t))
        if slot is None or self.slots[slot][0] not in ("op", "input", "live") or not t._requires_grad:
            self.graph_break("backward() of a tensor that neither a recorded op made nor the function was "
                             "given", skip=4)
            return
        step = Step(None, ((True, slot),), {}, (), (), (), False, kind="backward")
        self._saving.update(_nodes_from(t.grad_fn, lambda node: bool(getattr(node, "_saved", None))))
        # the input and live tensors it reaches: plain leaves get their .grad from the generated code;
        # the others (a tensor with a graph made outside: an eager op's, another compiled graph's, an
        # earlier segment's loss; a leaf with hooks) are the boundary, where the engine continues
        reached = sorted(s for s in self._reached(slot, len(self.steps)) if self.slots[s][0] in ("input", "live"))
        step.delivers = tuple(s for s in reached if plain_leaf(self.slots[s][1]))
        step.outside = tuple(s for s in reached if s not in step.delivers)
        if step.outside:
            why = outside_overlap([self.slots[s][1] for s in step.outside], [self.slots[s][1] for s in step.delivers])
            if why is not None and self.recapture:
                self.graph_break(f"backward() continues into a graph made outside the compiled function, where "
                                 f"{why}: a leaf would accumulate twice or a gradient be summed in another "
                                 "order than eager's", skip=4)
                return
        self.steps.append(step)

    def _record_call(self, fn, args, name):
        args = symbolic.unwrap(args)  # (a number given to an optimizer or scheduler call is baked: specialized)
        step = Step(fn, tuple((False, a) for a in args), {}, (), (), (), False, kind="call")
        step.label = name
        self.steps.append(step)

    def _call(self, fn, *args):
        self.depth += 1
        try:
            return fn(*args)
        finally:
            self.depth -= 1
            self._after_call()

    def _after_call(self):
        """After a captured backward or optimizer call: the gradients it left are made by no recorded
        op (a later op reading one breaks the graph), and the in-place updates of the live tensors
        (parameters) are the call's own, replayed with it (not in-place changes to break on)."""
        for s, (kind, t) in enumerate(self.slots):
            if kind in ("input", "live") and t._grad is not None:
                self._made[id(t._grad)] = t._grad
                self._keep.append(t._grad)
        live = {id(t._vc) for kind, t in self.slots if kind == "live"}  # (a view shares its base's counter)
        self._versions = [(t, t._vc[0]) if id(t._vc) in live else (t, v) for t, v in self._versions]

    def _uninstall(self):
        for owner, name, original in reversed(self._undo):
            if isinstance(owner, _random.Generator) and not isinstance(owner._rng, _WatchedRng):
                self.breaks.append(graph_break.GraphBreak(
                    "the random generator was reseeded inside the compiled function", None))
                continue  # keep the stream the function seeded
            setattr(owner, name, original)
        self._undo = []

    def _creation(self, original):
        cap = self

        def create(*args, **kwargs):
            if not cap.mine():
                return original(*args, **kwargs)
            args, kwargs = symbolic.unwrap(args), symbolic.unwrap(kwargs)  # (the values are baked: specialized)
            cap.depth += 1
            try:
                t = original(*args, **kwargs)
            finally:
                cap.depth -= 1
            if cap.depth == 0 and isinstance(t, Tensor):
                if t.requires_grad:
                    cap.graph_break(f"{original.__name__}(requires_grad=True) makes a new leaf inside the function")
                cap._consts[id(t)] = t
                cap._keep.append(t)
                if original.__name__ != "as_tensor":  # (as_tensor's may be a NumPy array of the caller's)
                    cap._fresh.add(id(t))
            return t

        create.__name__ = original.__name__
        return create

    def _comparison(self, original):
        """A comparison (``x > 0``, ``mask == 0``) makes its bool tensor without Function.apply: recorded
        as a step that compares again at replay."""
        cap = self

        def broadcast_op(op, x, y, a, b):
            out = original(op, x, y, a, b)
            code = sys._getframe(1).f_code
            if not cap.mine() or code.co_name != "compare" and code is not _BITWISE:
                return out
            if isinstance(out, np.generic):  # a 0-d comparison (x.sum() > 0): the array Tensor._make makes of it
                out = np.asarray(out)
            if not isinstance(out, np.ndarray):
                return out
            slot = len(cap.slots)
            cap.slots.append(("pending", None))
            cap._pending[id(out)] = slot
            cap._keep.append(out)
            cap.steps.append(Step(_Compare(op, original), (cap._spec(a), cap._spec(b)), {}, (slot,), (), (False,),
                                  False, kind="compare"))
            return out

        return broadcast_op

    def _stats(self, original):
        """layer_norm's and group_norm's statistics, computed from the input's array before their op runs:
        recorded as a step that computes them again at replay (batch and instance norm's: _stats_update)."""
        cap = self

        def stats(xd, view, axes, eps):
            eps = symbolic.unwrap(eps)
            out = original(xd, view, axes, eps)
            if not cap.mine() or sys._getframe(1).f_code.co_name not in _STATS_CALLERS:
                return out
            src = cap._array_slot(xd)
            if src is None:
                return out
            cap._array_step(original, ((True, src), (False, view), (False, axes), (False, eps)), out)
            return out

        return stats

    def _stats_update(self, original):
        """batch_norm's training statistics and running-statistics update (normalization._batch_stats; instance
        norm's: _instance_stats), from the input's array and Python values (the running statistics, tensors
        or None, among them): recorded as one step that calls it again at replay (the same NumPy calls: the
        same values, and the running buffers updated in place with their versions bumped, as eager's)."""
        cap = self

        def stats_update(xd, *rest):
            rest = symbolic.unwrap(rest)  # (eps, momentum: specialized)
            if not cap.mine():
                return original(xd, *rest)
            src = cap._array_slot(xd)
            running = [t for t in rest if isinstance(t, Tensor)]
            kinds = [cap.slots[cap.resolve(t)][0] for t in running]  # (live: bound, so guarded; read at replay)
            cap.depth += 1
            try:
                out = original(xd, *rest)
            finally:
                cap.depth -= 1
            if any(k != "live" for k in kinds):
                cap.graph_break("batch or instance norm's running statistics are tensors made or given in the call "
                                "(only a module's buffers or other tensors made before the call are updated at replay)")
                return out
            if src is None:  # (an input made without an op: its op breaks, and the buffers' versions too)
                return out
            for t in running:
                cap._wrote(t)
            cap._array_step(original, ((True, src),) + tuple((False, a) for a in rest), out)
            return out

        return stats_update

    def _eval_stats(self, original):
        """batch_norm's eval-mode rstd and mean from the running statistics (normalization._eval_stats),
        made into tensors by its caller: recorded as a step reading the running tensors at replay."""
        cap = self

        def eval_stats(mean, var, eps, dtype):
            eps = symbolic.unwrap(eps)
            if not cap.mine():
                return original(mean, var, eps, dtype)
            spec = ((True, cap.resolve(mean)), (True, cap.resolve(var)), (False, eps), (False, dtype))
            out = original(mean, var, eps, dtype)
            slots = []
            for a in out:  # (each becomes an op slot when its caller makes its tensor: see _make)
                slots.append(len(cap.slots))
                cap.slots.append(("pending", None))
                cap._pending[id(a)] = slots[-1]
                cap._keep.append(a)
            cap.steps.append(Step(_OfTensors(original, 2), spec, {}, tuple(slots), (), (False,) * len(slots),
                                  False, kind="arrays"))
            return out

        return eval_stats

    def _constant(self, original):
        """A function whose tensor depends only on values the guards fix (shapes, the array module): its result
        a constant of the graph, as a creation function's (attention's causal mask: attention._causal_mask)."""
        cap = self

        def constant(*args):
            t = original(*args)
            if cap.mine():
                cap._consts[id(t)] = t
                cap._keep.append(t)
            return t

        return constant

    def _window_arrays(self, original):
        """max pooling's window maxima and their flat indices (pooling._window_arrays), found from the
        input's array before MaxPool's op: recorded as a step that finds them again at replay."""
        cap = self

        def window_arrays(find, x):
            if not cap.mine() or _batching.batched(x):
                return original(find, x)
            src = cap.resolve(x)
            cap.depth += 1
            try:
                values, idx = original(find, x)
            finally:
                cap.depth -= 1
            slots = (len(cap.slots), None)
            cap.slots.append(("array", None))
            cap._arrays[id(values)] = slots[0]
            cap._keep.append(values)
            slots = (slots[0], cap._new_slot("op", idx))
            cap.steps.append(Step(find, ((True, src),), {}, slots, (), (False, False), False, kind="arrays"))
            return values, idx

        return window_arrays

    def _array_function(self, original, position):
        """A function whose tensor argument (at ``position``) gives a tensor made from its array without an op
        (argmax/argmin's indices: reduction._arg; isnan, isinf, isfinite...): recorded as a step that calls it
        again at replay on that argument's array."""
        cap = self

        def array_function(*args, **kwargs):
            input = args[position] if len(args) > position else None
            if not cap.mine() or not isinstance(input, Tensor) or _batching.batched(input):
                return original(*args, **kwargs)
            args, kwargs = symbolic.unwrap(args), symbolic.unwrap(kwargs)
            src = cap.resolve(input)
            cap.depth += 1
            try:
                out = original(*args, **kwargs)
            finally:
                cap.depth -= 1
            if not isinstance(out, Tensor) or out._requires_grad:
                return out  # (another result: used, it breaks as a tensor made without an op)
            slot = cap._new_slot("op", out)
            cap.steps.append(Step(_OfArray(original, position, args, kwargs), ((True, src),), {}, (slot,), (),
                                  (False,), False, kind="arrays"))
            return out

        array_function.__name__ = original.__name__
        array_function.__doc__ = original.__doc__
        return array_function

    def _gather_key(self, original):
        """gather's and scatter's NumPy key (indexing._gather_key: the index tensor's array along ``dim``, the
        positions along the others), made outside their op: recorded as a step that makes it again at replay
        from the input's and the index's arrays (with eager's checks of the index)."""
        cap = self

        def gather_key(input, dim, index, name):
            if not cap.mine() or not isinstance(input, Tensor) or not isinstance(index, Tensor) \
                    or _batching.batched(input, index):
                return original(input, dim, index, name)
            spec = ((True, cap.resolve(input)), (True, cap.resolve(index)))
            cap.depth += 1
            try:
                key, d = original(input, dim, index, name)
            finally:
                cap.depth -= 1
            cap._array_step(_KeyOf(original, dim, name), spec, key)
            return key, d

        return gather_key

    def _select_key(self, original):
        """index_select's key (indexing._select_key: slices, then the index tensor's array), made outside its op:
        its array recorded as a step that makes it again at replay (with eager's bounds check and errors)."""
        cap = self

        def select_key(input, d, index):
            if not cap.mine() or not isinstance(index, Tensor) or _batching.batched(input, index):
                return original(input, d, index)
            spec = ((True, cap.resolve(input)), (True, cap.resolve(index)))
            cap.depth += 1
            try:
                key = original(input, d, index)
            finally:
                cap.depth -= 1
            cap._array_step(_SelectKeyOf(original, d), spec, key[-1:])
            return key

        return select_key

    def _sort_indices(self, original):
        """sort's, argsort's and topk's index array (sorting._indices), found from the input's array outside an
        op: recorded as a step finding it again at replay; the int64 tensor made of it (the indices returned)
        its slot's tensor, and the array an argument of the op picking the values (through _pick_key)."""
        cap = self

        def indices(input, *args):
            if not cap.mine() or _batching.batched(input):
                return original(input, *args)
            src = cap.resolve(input)
            idx = original(input, *args)
            if type(idx) is not np.ndarray or idx.dtype != np.int64:  # (made into a tensor by a cast: not recorded)
                return idx
            slot = len(cap.slots)
            cap.slots.append(("pending", None))  # (an op slot when _int64 makes its tensor: see _make)
            cap._pending[id(idx)] = slot
            cap._arrays[id(idx)] = slot
            cap._keep.append(idx)
            cap.steps.append(Step(_IndicesOf(original, args), ((True, src),), {}, (slot,), (), (False,), False,
                                  kind="arrays"))
            return idx

        return indices

    def _pick_key(self, original):
        """The key sorting's _pick makes from recorded indices (sorting._dim_key: them along dim, positions along
        the others): recorded as a step making it again at replay."""
        cap = self

        def dim_key(idx, dim, xp):
            key = original(idx, dim, xp)
            if cap.mine() and id(idx) in cap._arrays and len(key) > 1:  # (1-D: the key is the indices alone)
                cap._array_step(_DimKeyOf(original, dim), ((True, cap._arrays[id(idx)]),),
                                key[:dim] + key[dim + 1:])
            return key

        return dim_key

    def _array_step(self, fn, spec, out):
        """Record ``fn`` (arguments ``spec``), whose result ``out`` is a tuple of arrays, as a step that
        computes them again at replay; each array an "array" slot (an op's argument)."""
        slots = []
        for a in out:
            slots.append(len(self.slots))
            self.slots.append(("array", None))
            self._arrays[id(a)] = slots[-1]
            self._keep.append(a)
        self.steps.append(Step(fn, spec, {}, tuple(slots), (), (False,) * len(slots), False, kind="arrays"))

    def _inplace(self, original):
        """An in-place op (ops/_inplace.py's ``_inplace``: ``x.relu_()``, ``x += y``, ``nn.ReLU(inplace=True)``)
        on a tensor an op or a creation function (but as_tensor) of the capture made, or, under no_grad or
        on tensors not requiring grad, on a live tensor (a buffer: ``num_batches_tracked.add_(1)``): the op
        is recorded as usual (on the tensor's slot); the tensor's later reads are the op's output slot (no
        write at replay; a constant keeps its value before the write), or its result is written into the
        live tensor at replay (its version bumped, as eager's). Others (an input of the function, a view or
        a tensor sharing memory with another the capture holds, a result of another dtype) run as before:
        the version check breaks the graph."""
        cap = self

        def inplace(t, name, op, *args, **kwargs):
            if not cap.mine() or _function.batch_hook is not None or _function.forward_hook is not None:
                return original(t, name, op, *args, **kwargs)
            slot = cap._slot.get(id(t))
            if slot is None and id(t) not in cap._made:
                slot = cap.resolve(t)  # (a tensor made before the call: live; by a creation function: const)
            kind = cap.slots[slot][0] if slot is not None else None
            tracked = _grad_state.enabled and (t._requires_grad or _inplace_mod._any_requires_grad(args))
            capturable = kind == "op" or kind == "const" and id(t) in cap._fresh or kind == "live" and not tracked
            if not capturable or t._base is not None or _shares_memory(t, cap.slots):
                return original(t, name, op, *args, **kwargs)
            if kind == "const":  # (the graph's constant is its value before the write)
                cap.slots[slot] = ("const", Tensor._make(t._data.copy()))
            results = []

            def recorded(*a, **k):
                results.append(op(*a, **k))
                return results[-1]

            cap._copy_for = t if tracked else None
            rg = t._requires_grad
            try:
                out = original(t, name, recorded, *args, **kwargs)
            finally:
                cap._copy_for = None
            r = cap._slot.get(id(results[-1])) if results and isinstance(results[-1], Tensor) else None
            if r is None or cap.slots[r][0] != "op" or results[-1]._data.dtype != t._data.dtype \
                    or t._requires_grad != rg and cap.slots[slot][1] is t:
                return out  # (a result no recorded op made, cast on writing, or that made t require grad where t
                # stands for its value before (its slot's tensor): the version check breaks)
            if kind != "live":
                cap._slot[id(t)] = r
            else:
                cap.slots.append(("array", None))
                cap.steps.append(Step(_WriteInto(original, t, name), ((True, r),), {}, (len(cap.slots) - 1,), (),
                                      (False,), False, kind="arrays"))
            cap._wrote(t)
            return out

        return inplace

    def _array_slot(self, data):
        """The slot whose tensor holds the array ``data`` now, or None."""
        for s, (_, u) in enumerate(self.slots):
            if u is not None and u._data is data:
                return self._slot.get(id(u), s)  # (a tensor written in place: the slot of its new value)
        for c in self._consts.values():  # (a constant written in place: its slot keeps its value before)
            if c._data is data and id(c) in self._slot:
                return self._slot[id(c)]
        return None

    def _wrote(self, t):
        """``t`` was written by a captured step: its version now is the capture's (not an in-place change
        to break on); the ops that saved it before are checked at the end (_check_saved)."""
        self._versions = [(u, u._vc[0]) if u is t else (u, v) for u, v in self._versions]
        self._written.append(t._vc)

    def _check_saved(self):
        """Break where a recorded op saved a tensor for backward that a captured in-place op changed
        after: eager's backward raises there, where the replay would compute with the new values."""
        written = {id(vc) for vc in self._written}
        for node in self._nodes:
            for entry in getattr(node, "_saved", None) or ():
                if entry is None or entry[0] not in (_function._SAVED_PLAIN, _function._SAVED_OUTPUT):
                    continue
                vc = entry[1]._vc if entry[0] == _function._SAVED_PLAIN else entry[3]
                if id(vc) in written and vc[0] != entry[2]:
                    self.graph_break(f"a tensor that {node.name()} saved for backward was changed in place after "
                                     "(eager's backward raises on it)")
                    return

    def _dropout(self, original):
        """dropout's mask is drawn outside any op: recorded as a draw, drawn again at replay."""
        cap = self

        def dropout(input, p, training, inplace, mask_shape):
            p = symbolic.unwrap(p)
            if not cap.mine() or not training or p == 0.0 or inplace or not input.dtype.is_floating_point:
                return original(input, p, training, inplace, mask_shape)
            _dropout_mod._check_p(p)
            recipe = _DropoutMask(p, mask_shape)
            cap.depth += 1
            try:
                factor = Tensor._make(recipe(input))
            finally:
                cap.depth -= 1
            src = self.resolve(input)
            slot = self._new_slot("op", factor)
            self.steps.append(Step(recipe, ((True, src),), {}, (slot,), (False,), (False,), False, kind="draw"))
            return input * factor  # as _dropout's non-in-place path computes it

        return dropout

    def _attention_keep(self, original):
        """Attention dropout's keep mask is drawn outside any op: recorded as a draw, drawn again at
        replay from the same generator."""
        cap = self

        def keep_mask(generator, query, shape, p):
            p = symbolic.unwrap(p)
            if not cap.mine():
                return original(generator, query, shape, p)
            recipe = _AttentionKeep(original, generator, shape, p)
            cap.depth += 1
            try:
                keep = Tensor._make(recipe(query))
            finally:
                cap.depth -= 1
            slot = self._new_slot("op", keep)
            self.steps.append(Step(recipe, ((True, self.resolve(query)),), {}, (slot,), (False,), (False,), False,
                                   kind="draw"))
            return keep

        return keep_mask

    # ------------------------------------------------------------------ the hook
    def _hook(self, cls, args, kwargs):
        if not self.mine():
            if self.scalar_value and any(type(a) in symbolic.SYMBOLIC for a in (*args, *kwargs.values())):
                # (a float argument that reached an op inside another's code: read as it is, specialized)
                return cls.apply(*symbolic.unwrap(args), **symbolic.unwrap(kwargs))
            return NotImplemented
        if self.scalar_value:  # symbolic scalars: a SymFloat argument is a slot; the op gets its plain float
            args = tuple(a if symbolic.operand(cls, i, a) else symbolic.unwrap(a) for i, a in enumerate(args))
            kwargs = {k: v if type(v) is symbolic.SymFloat else symbolic.unwrap(v) for k, v in kwargs.items()}
        self._const_arrays = cls in _CONSTANT_ARRAYS
        try:
            spec = tuple(self._spec(a) for a in args)
            kspec = {k: self._spec(v) for k, v in kwargs.items()}
        finally:
            self._const_arrays = False
        if self.scalar_value:
            args = tuple(symbolic.plain(a) if type(a) in symbolic.SYMBOLIC else a for a in args)
            kwargs = {k: symbolic.plain(v) if type(v) is symbolic.SymFloat else v for k, v in kwargs.items()}
        versions = [(a, a._vc[0]) for a in args if isinstance(a, Tensor)]
        enabled = _grad_state.enabled
        needs = tuple(enabled and isinstance(a, Tensor) and a._requires_grad for a in args)
        self.depth += 1
        try:
            out = cls.apply(*args, **kwargs)
        finally:
            self.depth -= 1
        for a, v in versions:
            if a._vc[0] != v:
                self.graph_break(f"in-place op {cls.__name__} (in-place changes are not captured in this version)")
                break
        outs = out if isinstance(out, tuple) else (out,)
        slots, rgs = [], []
        for o in outs:
            if isinstance(o, Tensor):
                slots.append(self._new_slot("op", o))
                rgs.append(o._requires_grad)
                if o.grad_fn is not None and (not self._nodes or self._nodes[-1] is not o.grad_fn):
                    self._nodes.append(o.grad_fn)
            else:
                if o is not None:
                    self.graph_break(f"{cls.__name__} returned a Python {type(o).__name__}")
                slots.append(None)
                rgs.append(False)
        autocast = bool(_amp_state.dtypes) and cls._autocast is not None
        self.steps.append(Step(cls, spec, kspec, tuple(slots), needs, tuple(rgs), autocast,
                               single=not isinstance(out, tuple)))
        return out

    # ------------------------------------------------------------------ values
    def _new_slot(self, kind, t):
        slot = len(self.slots)
        self.slots.append((kind, t))
        self._slot[id(t)] = slot
        self._keep.append(t)
        self._versions.append((t, t._vc[0]))
        return slot

    def made_inside(self, t):
        """Whether ``t`` was made while the function ran (by an op, a creation function or other code), not
        given to it or read from outside (an input, a parameter, a global)."""
        slot = self._slot.get(id(t))
        if slot is not None:
            return self.slots[slot][0] not in ("input", "live")
        return id(t) in self._made or id(t) in self._consts

    def add_input(self, t):
        if id(t) in self._slot:  # the same tensor passed twice: one slot, two positions
            return self._slot[id(t)]
        self.n_inputs += 1
        return self._new_slot("input", t)

    def _spec(self, a):
        """How replay finds argument ``a``: (True, slot) for a tensor, (False, value) otherwise,
        ("list", [specs]) for a list/tuple holding tensors."""
        if isinstance(a, Tensor):
            return (True, self.resolve(a))
        if type(a) in symbolic.SYMBOLIC:
            if a.token == self.token:
                return ("scalar", a.slot)
            a = symbolic.plain(a)  # (another capture's: a float)
        if isinstance(a, (list, tuple)) and any(isinstance(x, (Tensor, np.ndarray)) for x in a):
            return ("list", type(a), tuple(self._spec(x) for x in a))
        if id(a) in self._arrays:
            return (True, self._arrays[id(a)])
        if (isinstance(a, np.ndarray) or hasattr(a, "__cuda_array_interface__")) and not self._const_arrays:
            # an array the op's caller computed (from its inputs' values, maybe) outside any op
            self.graph_break(f"an op is called with an array of shape {list(a.shape)} computed outside the "
                             "recorded ops (e.g. an index made by NumPy, or half-precision batch norm's statistics)", skip=4)
        return (False, a)

    def resolve(self, t):
        slot = self._slot.get(id(t))
        if slot is not None:
            return slot
        if id(t) in self._consts:
            return self._new_slot("const", t)
        if id(t) in self._made:
            for c in self._consts.values():
                if c._data is t._data and c is not t:  # a constant's array, wrapped again: the constant
                    self.resolve(c)
                    break
            s = self._array_slot(t._data)
            if s is not None:  # detach() / .data: the same array, no gradient through it
                slot = self._new_slot("op", t)
                self.steps.append(Step(None, ((True, s),), {}, (slot,), (False,), (False,), False, kind="alias"))
                return slot
            self.graph_break("a tensor made by code that is no recorded op (a comparison such as x > 0, "
                             "masked indexing, or an array from .numpy()) feeds an op", skip=4)
            return self._new_slot("const", t)
        binding = self._owners.get(id(t))
        if binding is None and len(self.modules) > self._scanned:  # a module the function called: its tensors
            add_module_owners(self._owners, self.modules[self._scanned:])
            self._scanned = len(self.modules)
            binding = self._owners.get(id(t))
        if binding is not None:
            self.bindings.append(binding + (t,))
        self.live.append(t)
        return self._new_slot("live", t)

    # ------------------------------------------------------------------ run
    def run(self, args, kwargs, flat_inputs):
        for t in flat_inputs:
            self.add_input(t)
        self.bindings.extend(_object_bindings(self.fn))
        edges = len(self.bindings)
        groups = _WatchedGroups([b[2] for b in self.bindings] + list(args) + list(kwargs.values()), self)
        first_live = len(self.slots)
        for container, key in self.value_sources:  # a guarded float that changed: a SymFloat in its place
            held = value_guards.read(container, key)
            if type(held) is float:
                s = self.new_scalar(held)
                self.swapped.append((s, container, key, held))
                value_guards.write(container, key, s)
        self._install()
        _active.append(self)
        reads = value_guards.Recorder(self.fn, self)  # the Python values the code reads (guarded at replay)
        for a in (*args, *kwargs.values()):  # (a random number generator given: its draws would be baked in)
            reads.note_generator(a)
        watch = symbolic.Watch(self, value_guards.user_code, value_guards.global_names) if self.scalar_value else None
        try:
            reads.start()  # (inside: a start that raised leaves no recorder, patches or capture installed)
            groups.start()
            if watch is not None:
                symbolic._active[0] = self
                if not watch.start():  # (under cProfile: every float argument a guarded constant)
                    self.static.update(slot for slot, (kind, _) in enumerate(self.slots) if kind == "scalar")
            out = self.fn(*args, **kwargs)
            if watch is not None:
                out = symbolic.unwrap(out)  # (a number returned is a constant of the graph: specialized)
        finally:
            if watch is not None:
                watch.stop()
                symbolic._active[0] = None
            reads.stop()
            groups.stop()
            _active.pop()
            self._uninstall()
            rebound = [key for s, container, key, held in self.swapped if value_guards.read(container, key) is not s]
            for s, container, key, held in self.swapped:
                if value_guards.read(container, key) is s:
                    value_guards.write(container, key, held)
        if rebound:
            self.breaks.append(graph_break.GraphBreak(f"the function changed a Python value it read ({rebound[0]!r}): "
                                                      "a replay would not", None))
        # each submodule where the capture found it (`self.lin = nn.Linear(...)` or `model[0] = ...` between calls:
        # a replay would call the old one, read its parameters)
        self.bindings[edges:edges] = _module_edges([*self._roots, *self.modules])
        for container, key in groups.read:  # (a hyperparameter the function read: torch guards it)
            reads.note_read(container, key)
        read = {(id(container), key) for s, container, key, _ in self.swapped if s.slot in self.static}
        self.values = value_guards.checker(value_guards.specialize(reads.entries(self.modules), read))
        if groups.written:
            self.breaks.append(graph_break.GraphBreak(
                f"the function wrote an optimizer's hyperparameters (param_groups[...][{groups.written[0]!r}]): a "
                "replay would not (set them outside the compiled function, or with an lr scheduler)", None))
        moved = reads.changed()
        if moved is not None:
            self.breaks.append(graph_break.GraphBreak(f"the function changed a Python value it read ({moved}): "
                                                      "a replay would not", None))
        for t, v in self._versions:
            if t._vc[0] != v:
                self.graph_break(f"a tensor of shape {list(t.shape)} used by the function was changed in place")
                break
        if self._written:
            self._check_saved()
        return out, first_live

    def graph(self, out, flat_out, treedef, name):
        """The recorded Graph, or None when the capture broke."""
        out_slots = []
        for o in flat_out:
            slot = self._slot.get(id(o))
            kind = self.slots[slot][0] if slot is not None else None
            if kind not in ("op", "input", "live"):
                self.graph_break(f"the function returns a tensor of shape {list(o.shape)} that no recorded op made")
                return None
            if kind == "op" and o.requires_grad and o.grad_fn is None:
                self.graph_break(f"the function returns a leaf tensor of shape {list(o.shape)} made inside it "
                                 "(requires_grad_()): replay would return a non-leaf")
                return None
            if kind == "op":
                for k, u in self.slots:
                    if k in ("input", "live") and isinstance(o._data, np.ndarray) \
                            and np.may_share_memory(o._data, u._data):
                        self.graph_break("the function returns a view of its input (views are not captured)")
                        return None
            out_slots.append(slot)
        views = self._output_views(flat_out, out_slots)
        if views is None:
            return None
        if any(step.kind in ("backward", "call") for step in self.steps):
            self._check_training(out_slots)
        if self.breaks:
            return None
        graph = Graph(self, out_slots, treedef, name)
        graph.views = views
        self._version_checked(graph, flat_out)
        return graph

    def _version_checked(self, graph, flat_out):
        """``graph.checked``: (is an output, its position, the outputs whose backward reaches it) for each input,
        live tensor and output that an op of the capture saved for backward, or that shares its version counter
        (a view of it); they leave the tensors the node saves for its version check (program.saved_inputs/outputs:
        what the generated backward reads), which are checked at every backward. Eager's backward raises when one was changed in place before it and a node that saved it runs
        (``y = x.prod(-1); y.mul_(2); y.sum().backward()``); the replay's backward checks each one when an output
        reaching it has a gradient (CompiledFunction.backward)."""
        graph.checked = ()
        program = graph.program
        if graph.trains or not hasattr(program, "saved_inputs"):
            return
        mine = {id(node) for node in self._nodes}
        saved = {}  # id(version counter) -> the outputs whose backward runs a node that saved it
        for k, o in enumerate(flat_out):
            stack, seen = [o.grad_fn], set()
            while stack:
                node = stack.pop()
                if node is None or id(node) not in mine or id(node) in seen:
                    continue
                seen.add(id(node))
                stack.extend(fn for fn, _ in node._next)
                for entry in getattr(node, "_saved", None) or ():
                    if entry is not None and entry[0] in (_function._SAVED_PLAIN, _function._SAVED_OUTPUT):
                        vc = entry[1]._vc if entry[0] == _function._SAVED_PLAIN else entry[3]
                        saved.setdefault(id(vc), set()).add(k)
        if not saved:
            return
        # (those the generated backward reads too: checked only there, not by the node's saved tensors, as eager
        # checks a tensor only when a node that saved it runs)
        checked = [(False, j, frozenset(saved[id(self.slots[s][1]._vc)])) for j, s in enumerate(graph.input_slots)
                   if id(self.slots[s][1]._vc) in saved]
        checked += [(True, j, frozenset(saved[id(o._vc)])) for j, (s, o) in enumerate(zip(graph.out_slots, flat_out))
                    if self.slots[s][0] == "op" and id(o._vc) in saved]
        program.saved_inputs = tuple(j for j in program.saved_inputs if (False, j) not in {c[:2] for c in checked})
        program.saved_outputs = tuple(j for j in program.saved_outputs if (True, j) not in {c[:2] for c in checked})
        graph.checked = tuple(checked)

    def _output_views(self, flat_out, out_slots):
        """Where two outputs the ops made overlap in memory (``return h, h.t()``; a segment's ``y`` and the
        ``y[0]`` it evaluated before a break), the replay makes the view again from the other output with
        its op, eagerly, so that it is a view of it as eager's is (an in-place change of one reaches the
        other's gradient and version counter): (index of the view, index of its base, op, spec, kspec) for
        each, in the order the ops made them. None (and a break) where an output shares memory with another
        that is not its base by one view op (nor a view of the same base)."""
        first = {}  # slot -> the index of its first place among the outputs
        made = []
        for i, (o, slot) in enumerate(zip(flat_out, out_slots)):
            if self.slots[slot][0] == "op" and first.setdefault(slot, i) == i:
                made.append((slot, o))
        base = {}  # view slot -> (base slot, step)

        def root(slot):
            while slot in base:
                slot = base[slot][0]
            return slot

        for n, (a_slot, a) in enumerate(made):
            for b_slot, b in made[n + 1:]:
                if root(a_slot) == root(b_slot) or not _overlap(a._data, b._data):
                    continue
                for view, of in ((b_slot, a_slot), (a_slot, b_slot)):
                    step = self._view_step(view, of) if view not in base else None
                    if step is not None:
                        base[view] = (of, step)
                        break
                else:
                    self.graph_break(f"the function returns tensors of shapes {list(a.shape)} and {list(b.shape)} "
                                     "that share memory, neither one view op of the other")
                    return None
        return tuple((first[v], first[of], step.fn, step.spec, step.kspec) for v, (of, step) in sorted(base.items()))

    def _view_step(self, view_slot, base_slot):
        """The step that made ``view_slot`` by one view op of ``base_slot`` alone, or None."""
        step = next((s for s in self.steps if view_slot in s.outs), None)
        view, of = self.slots[view_slot][1], self.slots[base_slot][1]
        if step is None or step.kind != "op" or len(step.outs) != 1 or step.autocast \
                or view._base is None or view._vc is not of._vc \
                or [a for a in step.spec if a[0] is not False] != [(True, base_slot)] \
                or any(a[0] is not False for a in step.kspec.values()):
            return None
        return step

    def _check_training(self, out_slots):
        """A graph with backward() or optimizer calls replays only if each output that requires grad went
        through a backward() when there is one (its graph is spent then, as eager's), and no optimizer
        step comes between an op and a later backward() or returned graph through that op (the replay
        would differentiate with the updated parameters, where eager's backward raises on their changed
        version). (Each backward()'s leaves and boundary were checked when it was recorded.)"""
        from ..optim import optimizer as _optimizer

        later = []  # (step index, slots) of each differentiation: a backward() inside, the outputs' graphs
        for index, step in enumerate(self.steps):
            if step.kind == "backward":
                later.append((index, self._reached(step.spec[0][1], index)))
        spent = set().union(*(r for _, r in later))
        for s in out_slots:
            kind, t = self.slots[s]
            if kind == "op" and t._requires_grad and s in spent \
                    and not _nodes_from(t.grad_fn, lambda node: id(node) in self._saving):
                # (eager's backward through it again runs: no node on its way needs what the first one freed)
                self.graph_break("the function returns a tensor that a backward() inside went through, whose graph "
                                 "saved no tensor (a second backward() through it runs eagerly; the replay's raises)")
                return
            if kind == "op" and t._requires_grad and s not in spent:
                if later:
                    self.graph_break("the function calls backward() and returns a tensor that requires grad "
                                     "which no backward() inside it went through")
                    return
                later.append((len(self.steps), self._reached(s, len(self.steps))))
        made = set()  # outputs of the differentiable ops so far
        for index, step in enumerate(self.steps):
            if step.kind == "call" and step.fn is _optimizer._hooked_step \
                    and any(k > index and made & reached for k, reached in later):
                self.graph_break(f"{step.label}() between ops and the backward() through them (the parameters "
                                 "it updates are saved for that backward)")
                return
            if step.differentiable:
                made.update(o for o in step.outs if o is not None)

    def _reached(self, loss, upto):
        """The slots whose tensors requiring grad backward() from slot ``loss`` goes through."""
        producer = {}
        for step in self.steps[:upto]:
            if step.differentiable:
                for o in step.outs:
                    producer[o] = step
        reached, stack = set(), [loss]
        while stack:
            s = stack.pop()
            if s in reached:
                continue
            reached.add(s)
            step = producer.get(s)
            if step is not None:
                stack.extend(a[1] for a in step.spec if a[0] is True and self.slots[a[1]][1] is not None
                             and self.slots[a[1]][0] in ("input", "live", "op")
                             and self.slots[a[1]][1]._requires_grad)
        return reached


def _shares_memory(t, slots):
    """Whether another tensor of the capture's slots may share ``t``'s memory (a view, an alias), or the
    memory is not NumPy's (not compared: taken as shared)."""
    if type(t._data) is not np.ndarray:
        return True
    return any(u is not t and u is not None
               and (type(u._data) is not np.ndarray or np.may_share_memory(u._data, t._data)) for _, u in slots)


def _nodes_from(node, keep):
    """The ids of the graph nodes reached from ``node`` (itself included) for which ``keep(node)``."""
    out, seen, stack = set(), set(), [node]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        if keep(n):
            out.add(id(n))
        stack.extend(fn for fn, _ in getattr(n, "_next", ()))
    return out


def _overlap(a, b):
    """Whether arrays ``a`` and ``b`` share memory (those not NumPy's are taken as sharing it)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return True
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=10000))
    except np.exceptions.TooHardError:
        return True


def _plain_operands(original):
    """A comparison's ``operands`` given the plain float of a SymFloat operand (the comparison's array
    is eager's; its step records the SymFloat's slot)."""

    def operands(a, b):
        if type(a) in symbolic.SYMBOLIC:
            a = symbolic.plain(a)
        if type(b) in symbolic.SYMBOLIC:
            b = symbolic.plain(b)
        return original(a, b)

    return operands


class _Compare:
    """A comparison's kernel: ``op`` on the operands' arrays, as ops/comparison.py's compare runs it."""

    __name__ = "compare"

    def __init__(self, op, broadcast_op):
        self.op, self.broadcast_op = op, broadcast_op

    def __call__(self, a, b):
        x, y = _operands(a, b)
        return self.broadcast_op(self.op, x, y, a, b)


class _DropoutMask:
    """Dropout's scaled keep-mask for an input, drawn from the input's generator as eager draws it."""

    __name__ = "dropout_mask"

    def __init__(self, p, shape):
        self.p, self.shape = p, shape
        self.scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)

    def __call__(self, input):
        keep = _dropout_mod._keep_mask(input, self.shape, self.p)
        return keep * keep.dtype.type(self.scale)


class _OfArray:
    """``fn(*args, **kwargs)`` (a tensor made from the tensor ``args[position]``'s array without an op), called
    at replay with an array (wrapped) in that place: its result's array."""

    def __init__(self, fn, position, args, kwargs):
        self.fn, self.position, self.args, self.kwargs = fn, position, args, kwargs
        self.__name__ = args[0] if fn.__name__ == "_arg" else fn.__name__

    def __call__(self, xd):
        args = list(self.args)
        args[self.position] = Tensor._make(xd)
        return (self.fn(*args, **self.kwargs)._data,)


class _OfCall:
    """``fn(*args)`` (clip_grad_norm_'s call) made again at replay: its result's array."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.__name__ = "clip_grad_norm_"

    def __call__(self):
        return (self.fn(*self.args)._data,)


class _KeyOf:
    """indexing._gather_key's key (a tuple of arrays) from the input's and the index's arrays (wrapped)."""

    __name__ = "gather_key"

    def __init__(self, gather_key, dim, name):
        self.gather_key, self.dim, self.name = gather_key, dim, name

    def __call__(self, x, index):
        return self.gather_key(Tensor._make(x), self.dim, Tensor._make(index), self.name)[0]


class _IndicesOf:
    """sorting._indices's array from the input's array (wrapped)."""

    __name__ = "sort_indices"

    def __init__(self, indices, args):
        self.indices, self.args = indices, args

    def __call__(self, x):
        return (self.indices(Tensor._make(x), *self.args),)


class _DimKeyOf:
    """The positions of sorting._dim_key's key (all but the indices themselves, at ``dim``)."""

    __name__ = "dim_key"

    def __init__(self, dim_key, dim):
        self.dim_key, self.dim = dim_key, dim

    def __call__(self, idx):
        key = self.dim_key(idx, self.dim, _backend.array_module(idx))
        return key[:self.dim] + key[self.dim + 1:]


class _SelectKeyOf:
    """index_select's index array (the last of indexing._select_key's key) from the input's and the index's arrays."""

    __name__ = "select_key"

    def __init__(self, select_key, d):
        self.select_key, self.d = select_key, d

    def __call__(self, x, index):
        return self.select_key(Tensor._make(x), self.d, Tensor._make(index))[-1:]


class _OfTensors:
    """``fn`` whose first ``n`` arguments are tensors, called at replay with arrays (wrapped)."""

    def __init__(self, fn, n):
        self.fn, self.n = fn, n
        self.__name__ = fn.__name__

    def __call__(self, *args):
        return self.fn(*(Tensor._make(a) for a in args[:self.n]), *args[self.n:])


class _WriteInto:
    """A captured in-place op's result written into a live tensor at replay: eager's own ``_inplace``
    writing the array (its version bumped, as eager's); returns that tensor's array."""

    __name__ = "write_into"

    def __init__(self, inplace, t, name):
        self.inplace, self.t, self.name = inplace, t, name

    def __call__(self, value):
        self.inplace(self.t, self.name, lambda _: Tensor._make(value))
        return (self.t._data,)


class _GradOf:
    """A binding's container for a gradient read as ``t.grad``: the guard is that ``t.grad`` is still
    that tensor (backward after zero_grad(set_to_none=True) makes a new one)."""

    def __init__(self, t):
        self.t = t

    def get(self, key):
        return self.t._grad


class _AttentionKeep:
    """Attention dropout's keep mask for a query, drawn as ops/attention.py's _keep_mask draws it."""

    __name__ = "attention_dropout_mask"

    def __init__(self, keep_mask, generator, shape, p):
        self.keep_mask, self.generator, self.shape, self.p = keep_mask, generator, shape, p

    def __call__(self, query):
        return self.keep_mask(self.generator, query, self.shape, self.p)._data


class _WatchedRng:
    """A generator's NumPy stream while a capture records: a draw at depth 0 (outside any op)
    breaks the graph, since replay would not draw it again."""

    def __init__(self, rng, capture):
        self._rng, self._capture = rng, capture

    def __getattr__(self, name):
        attr = getattr(self._rng, name)
        if self._capture.mine() and name != "bit_generator":
            self._capture.graph_break("random numbers drawn outside an op (torch.rand/randn/... inside "
                                      "the function)", skip=3)
        return attr


def add_module_owners(owners, modules):
    """Add to ``owners`` where each tensor held by ``modules`` and their submodules (parameters,
    buffers, attributes) is held."""
    for root in modules:
        for m in root.modules():
            for container in (m._parameters, m._buffers, m.__dict__):
                for k, v in container.items():
                    if isinstance(v, Tensor):
                        owners.setdefault(id(v), (container, k))


class _WatchedGroups:
    """The param groups of each optimizer among ``objects`` (the function's globals and closure, its
    arguments) and the attributes of the compiled method's ``self``, watched while the capture runs: a
    function that writes one (``g['lr'] = lr``) breaks, as the replay would not write it (the optimizer's
    step replays with whatever the groups hold then). Each group dict is replaced by a _Group holding
    its items for the run, then given back its (possibly written) items."""

    def __init__(self, objects, capture):
        from ..optim.optimizer import Optimizer

        self.capture = capture
        owner = getattr(capture.fn, "__self__", None)
        objects = list(objects) + list(getattr(owner, "__dict__", {}).values())
        self.optimizers, seen = [], set()
        for o in objects:
            if isinstance(o, Optimizer) and id(o) not in seen and type(o.param_groups) is list:
                seen.add(id(o))
                self.optimizers.append(o)
        self.originals, self.written = [], []
        self.read = []  # (a group dict, a key the user's code read: guarded, value_guards.Recorder.note_read)

    def start(self):
        for o in self.optimizers:
            self.originals.append((o, list(o.param_groups)))
            o.param_groups[:] = [_Group(g, self) if type(g) is dict else g for g in o.param_groups]

    def stop(self):
        for o, groups in self.originals:
            for g, w in zip(groups, o.param_groups):
                if type(w) is _Group:
                    g.clear()
                    g.update((k, symbolic.plain(v) if type(v) is symbolic.SymFloat else v) for k, v in w.items())
            o.param_groups[:] = groups
        self.originals = []


class _Group(dict):
    """A param group while a capture runs: notes the keys the function writes (see _WatchedGroups; not
    an optimizer's or lr scheduler's step, which the replay calls again)."""

    def __init__(self, items, watch):
        super().__init__(items)
        self._watch = watch
        self._source = items  # (the group dict itself, given back its items when the capture ends)

    def _read(self, key):
        if self._watch.capture.mine() and value_guards.user_code(sys._getframe(2).f_code):
            self._watch.read.append((self._source, key))  # (a user's read: x * g["lr"]; not the step's own)

    def __getitem__(self, key):
        self._read(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._read(key)
        return super().get(key, default)

    def _note(self, key):
        if self._watch.capture.mine():
            self._watch.written.append(key)

    def __setitem__(self, key, value):
        self._note(key)
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._note(key)
        super().__delitem__(key)

    def update(self, *args, **kwargs):
        self._note("update")
        super().update(*args, **kwargs)

    def setdefault(self, key, default=None):
        if key not in self:
            self._note(key)
        return super().setdefault(key, default)

    def pop(self, key, *default):
        self._note(key)
        return super().pop(key, *default)


def _object_bindings(fn):
    """(container, key, object) for each module, optimizer and lr scheduler the function's globals
    and closure hold: the replay calls them as captured, so rebinding one is a guard failure."""
    from ..nn.module import Module
    from ..optim.lr_scheduler import LRScheduler
    from ..optim.optimizer import Optimizer

    kinds = (Module, Optimizer, LRScheduler)
    code_fn = getattr(fn, "__func__", fn)
    out = [(code_fn.__globals__, k, v) for k, v in getattr(code_fn, "__globals__", {}).items() if isinstance(v, kinds)]
    for cell in getattr(code_fn, "__closure__", None) or ():
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if isinstance(v, kinds):
            out.append((cell, None, v))
    return out


def _held_modules(modules, fn):
    """The compiled modules, then the modules the function's globals and closure hold and a bound method's
    module: a parameter of one that an op reads is bound where it is held, though the module is not called
    (``F.linear(x, model.lin.weight)``)."""
    from ..nn.module import Module

    held = [m for m in modules if isinstance(m, Module)]
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, Module):
        held.append(owner)
    held += [v for _, _, v in _object_bindings(fn) if isinstance(v, Module)]
    return list({id(m): m for m in held}.values())


def _module_edges(roots):
    """(parent._modules, name, child) for each submodule of ``roots``."""
    out, seen = [], set()
    for root in roots:
        for m in root.modules():
            if id(m) in seen:
                continue
            seen.add(id(m))
            out += [(m._modules, name, child) for name, child in m._modules.items()]
    return out


def _owners_of(modules, fn):
    """id(tensor) -> (container, key): where each tensor reachable from the compiled modules'
    parameters, buffers and attributes, or the function's globals and closure, is held."""
    owners = {}
    add_module_owners(owners, modules)
    code_fn = getattr(fn, "__func__", fn)
    for k, v in getattr(code_fn, "__globals__", {}).items():
        if isinstance(v, Tensor):
            owners.setdefault(id(v), (code_fn.__globals__, k))
    for cell in getattr(code_fn, "__closure__", None) or ():
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if isinstance(v, Tensor):
            owners.setdefault(id(v), (cell, None))
    return owners
