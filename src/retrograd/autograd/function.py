"""Function: one differentiable op, its forward and its local derivative rule side by side.

``Op.apply(*args)`` runs ``forward`` with grad mode off and, when an input requires
grad, records the op's context as a node of the backward graph (the outputs'
``grad_fn``). The context is the Function instance itself, as in torch.
"""

import traceback
import weakref

import numpy as np

from ..amp.autocast_mode import _on_regions as _amp_on
from ..amp.autocast_mode import _state as _amp_state
from ..amp.autocast_mode import cast_args
from .. import _dtype
from .._callsite import format_site, position_site, user_position
from .._backend import array_module as _xp
from . import anomaly
from .grad_mode import _SAVE_ERROR, _InferenceVersion, _state
from .graph import AccumulateGrad, Node, _saved_hooks, _saved_hooks_entered

_SAVED_PLAIN, _SAVED_OUTPUT, _SAVED_PACKED = 0, 1, 2
# edges for inputs that need no gradient; non-tensor arguments (dims, scalars) are marked so
# that next_functions can leave them out, as torch does
_NO_EDGE, _NOT_A_TENSOR = (None, 0), (None, -1)
# NumPy dtypes of the floating-point types (bfloat16's NumPy kind is not 'f'; _dtype adds it on first use)
_FLOATING = _dtype.FLOATING_NP
_FLOAT32 = np.dtype(np.float32)  # (an identity test first: most outputs are float32, and dt.kind is a slow read)
# retrograd.profiler's recorder while a profile records, else None: apply hands it each call
# first; it records the op and runs it through apply again (answering NotImplemented there)
profile_hook = None
# tools that look at each op's outputs while they are on (anomaly mode's forward check,
# inspect.record_breaks): None, or one function called as after_apply(cls, args, outputs)
after_apply = None
_observers = []
# forward AD while a dual level is entered, else None: forward_hook(args) gives the
# arguments' tangents (None when none carries one); the op then calls
# forward_hook.propagate(ctx, cls, args, kwargs, outputs, tangents) after its forward
forward_hook = None
# retrograd.func.vmap's dispatcher while a vmap runs, else None: batch_hook(cls, args, kwargs)
# runs the op's batching rule (cls.vmap) when an argument is a BatchedTensor, else answers
# NotImplemented
batch_hook = None


def add_apply_observer(fn):
    """Call ``fn(cls, args, outputs)`` after every ``Function.apply`` until removed."""
    _observers.append(fn)
    _set_after_apply()


def remove_apply_observer(fn):
    _observers.remove(fn)
    _set_after_apply()


def _set_after_apply():
    global after_apply
    observers = tuple(_observers)

    def each(cls, args, outputs):
        for fn in observers:
            fn(cls, args, outputs)

    after_apply = None if not observers else observers[0] if len(observers) == 1 else each


def _second_backward_error(node):
    return RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved "
        "tensors after they have already been freed). Saved intermediate values of the graph "
        "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
        "you need to backward through the graph a second time or if you need to access saved "
        f"tensors after calling backward. (The freed node is {node.name()}. If you reuse a "
        "recurrent hidden state across iterations, detach() it between them.)"
    )


# A tensor saved for backward gets a second slot on its version counter (``_vc``, shared by
# its views): None, then the log of the in-place ops that bumped the counter since, each
# (new version, op name, user_position). Bump sites call note_inplace when the slot is there, so
# the error below can name the op and the line that made the change (the log keeps the last 8).
_INPLACE_LOG = 8


def watch_version(vc):
    """Make in-place bumps of ``vc`` (a saved tensor's version counter) be logged."""
    if len(vc) == 1:
        vc.append(None)


def note_inplace(vc, op):
    """Log the bump of the watched version counter ``vc`` just made by in-place op ``op``
    (at the user's line)."""
    entry = (vc[0], op, user_position(2))
    log = vc[1]
    if log is None:
        vc[1] = [entry]
    else:
        log.append(entry)
        if len(log) > _INPLACE_LOG:
            del log[0]


def _modified_by(vc, expected):
    """The end of the modified-tensor error, `` and modified by add_ at train.py:42``, from
    the log of ``vc``: the first in-place op that took it past version ``expected``; an empty
    string if none was logged."""
    log = vc[1] if len(vc) > 1 else None
    after = [e for e in log or () if e[0] > expected]
    if not after:
        return ""
    version, op, position = after[0]
    op = "__setitem__ (x[...] = value)" if op == "__setitem__" else op
    more = f" (and {len(after) - 1} more in-place op(s) after it)" if len(after) > 1 else ""
    return f" and modified by {op} at {format_site(position_site(position))}{more}"


def gradient_for_a_non_tensor(node, i):
    """torch's error for a backward that returned a gradient for an argument that was not a
    tensor (a number, None, a list): the engine raises it (``i`` counts from 0)."""
    return RuntimeError(
        f"function {node.name()} returned a gradient different than None at position {i + 1}, but the "
        "corresponding forward input was not a Variable (return None for arguments that are not tensors)")


def _forward_name(node):
    """torch names the forward op in version errors: 'Mul' for MulBackward0."""
    name = node.name()
    return name[:-9] if name.endswith("Backward0") else name


class FunctionCtx:
    """What ``forward`` can tell ``backward``: saved tensors and which inputs need grads."""

    _to_save = ()
    _saved = None
    _freed = False
    _dirty = ()
    _non_differentiable = ()
    _materialize_grads = True
    needs_input_grad = ()
    # True for user-defined Functions (and the nn.Module backward-hook identities), which get
    # torch's custom-Function rules: ctx.saved_tensors is empty until the op is recorded, and
    # views they return (or inputs returned as-is) may not be modified in place
    _custom = False

    def save_for_backward(self, *tensors):
        """Keep tensors for backward. The one place saved values pass through, so that
        version checks and saved-tensor hooks (checkpointing, offloading) apply."""
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        """Keep tensors for ``jvp`` (forward-mode AD): ``ctx.saved_tensors`` inside jvp."""
        self.saved_for_forward = tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that have no gradient (indices, masks)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        """If False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = bool(value)

    _jvp_saved = None  # while a custom Function's jvp runs: what save_for_forward kept

    @property
    def saved_tensors(self):
        if self._jvp_saved is not None:
            return self._jvp_saved
        saved = self._saved
        if saved is None:
            if self._freed:
                raise _second_backward_error(self)
            if self._custom:  # as torch: inside forward, or when the op was not recorded
                return ()
            return tuple(self._to_save)
        out = []  # (a loop: a generator costs more than the unpacking of one or two entries)
        for entry in saved:
            if entry is not None and entry[0] == _SAVED_PLAIN and entry[1]._vc[0] == entry[2]:
                out.append(entry[1])  # a saved input, unchanged since (_unpack's common case)
            else:
                out.append(self._unpack(entry))
        return tuple(out)

    @property
    def saved_variables(self):
        """Deprecated name of ``saved_tensors``."""
        import warnings

        warnings.warn("'saved_variables' is deprecated; use 'saved_tensors'", DeprecationWarning, stacklevel=2)
        return self.saved_tensors

    def _unpack(self, entry):
        if entry is None:
            return None
        kind = entry[0]
        if kind == _SAVED_PACKED:
            return entry[2](entry[1])
        if kind == _SAVED_PLAIN:
            tensor, version = entry[1], entry[2]
            if tensor._vc[0] != version:
                self._raise_modified(tensor, version)
            return tensor
        _, data, version, vc, output_nr, requires_grad = entry[:6]
        if vc[0] != version:
            self._raise_modified(_Tensor._make(data), version, vc[0], output_nr, vc)
        out = _make(data)
        out._vc = vc
        if requires_grad:
            out._requires_grad = True
            out.grad_fn = self
            out._output_nr = output_nr
        if len(entry) > 6:  # the output's tangent (forward AD), as forward_ad stored it
            out.__dict__["_fw"] = entry[6]
        return out

    def _raise_modified(self, tensor, expected, actual=None, output_nr=None, vc=None):
        vc = tensor._vc if vc is None else vc
        actual = vc[0] if actual is None else actual
        if output_nr is None and tensor.grad_fn is not None:  # a saved input: who made it now
            output_nr, producer = tensor._output_nr, tensor.grad_fn
        else:
            producer = self
        which = f", which is output {output_nr} of {_forward_name(producer)}," \
            if output_nr is not None else ""
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{tensor.type()} {list(tensor.shape)}]{which} is at version "
            f"{actual}; expected version {expected} instead. It was saved for backward by "
            f"{self.name()}{_modified_by(vc, expected)}. Hint: an in-place op (a method ending in '_', `+=`, or "
            "`x[...] = ...`) changed it after it was used; use the out-of-place op, or clone() "
            "the tensor before changing it. Hint: enable anomaly detection to find the "
            "operation that failed to compute its gradient, with "
            "torch.autograd.set_detect_anomaly(True)."
        )

    def _release(self):
        """Free what forward saved: called after backward unless retain_graph. (``_to_save`` is
        already empty: apply moves it into ``_saved`` when it records the node.)"""
        self._saved = None
        self._freed = True


class Function(FunctionCtx, Node):
    """Base class of every differentiable op and of user-defined custom functions.

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as
    static methods and are called through ``apply``. Internal ops may return arrays
    from forward; they are wrapped as tensors. Backward rules use tensor ops, so they
    are themselves differentiable (``create_graph=True``).
    """

    _view = False  # True for ops whose output shares memory with their first input
    # True for ops whose forward computes on arrays only: it applies no op that could record
    # and reads no grad mode, so apply runs it without switching grad mode off and on (two
    # thread-local writes, ~1.4K machine instructions). A subclass that defines its own
    # forward does not inherit it (see __init_subclass__).
    _array_forward = False
    _records_every_dtype = False  # True: an integer or bool output is recorded too (torch's eq_ and the like)
    _autocast = None  # the op's autocast policy: "lower", "fp32", "promote" or {device_type: ...} (amp.autocast_mode)

    def __init__(self, *args, **kwargs):
        pass

    def name(self):
        """The node's name as torch prints it (``MulBackward0``). An op may set
        ``_backward_name`` on the class, or on ctx for a variant (``SumBackward1``)."""
        return self._backward_name

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__ and "_array_forward" not in cls.__dict__:
            cls._array_forward = False
        internal = cls.__module__.startswith("retrograd.")
        if "_backward_name" not in cls.__dict__:
            cls._backward_name = cls.__name__ + ("Backward0" if internal else "Backward")
        if "_custom" not in cls.__dict__:
            cls._custom = not internal
        if "vjp" in cls.__dict__:  # torch's other name for backward; both defined: torch's error at backward
            vjp = cls.__dict__["vjp"] if cls.backward is Function.backward else _both_backward_and_vjp
            cls.backward = vjp if isinstance(vjp, staticmethod) else staticmethod(vjp)
        if cls.setup_context is not Function.setup_context:
            # torch 2's style: forward(*args) without ctx, then setup_context(ctx, inputs, output)
            forward, setup = cls.forward, cls.setup_context

            def forward_with_ctx(ctx, *args, **kwargs):
                out = forward(*args, **kwargs)
                setup(ctx, args, out)
                return out

            cls._forward_ctx = staticmethod(forward_with_ctx)
        else:
            cls._forward_ctx = cls.forward
        if cls._custom:
            cls._forward_ctx = staticmethod(_marking_views(cls._forward_ctx))

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Optional: save what backward needs, when ``forward`` does not take ``ctx``."""
        raise NotImplementedError("setup_context is only called when a Function subclass defines it")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward (not supported on the base class)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "a Function subclass must implement backward to be differentiated "
            "(not supported on the base class)"
        )

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """The op's forward-mode derivative: the output tangents from the input tangents."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function "
                                  "to use it with forward mode AD.")

    generate_vmap_rule = False  # torch's flag; True: vmap runs the op per sample (counted)

    @staticmethod
    def vmap(info, in_dims, *args):
        """The op's batching rule under retrograd.func.vmap: ``args`` with the vmapped dim of
        each at ``in_dims`` (None: not batched); returns ``(output, out_dims)``. Ops declare it on
        their class (ops/_batching.py has the rules of each family); without one, vmap runs the
        op once per sample and counts it (retrograd.func.vmap_fallbacks())."""
        raise NotImplementedError(
            "To use autograd.Function with vmap, you must either override the vmap staticmethod "
            "or set generate_vmap_rule=True.")

    @classmethod
    def apply(cls, *args, **kwargs):
        if profile_hook is not None:
            out = profile_hook(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        if batch_hook is not None:
            out = batch_hook(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        if _amp_on and _amp_state.enabled and cls._autocast is not None:
            args = cast_args(cls._autocast, args)
        ctx = _new_object(cls)  # (as torch, a Function subclass's own __new__ is not called for its ctx)
        fw = None if forward_hook is None else forward_hook(args)
        local = _state.__dict__  # this thread's grad mode and module stack, in one lookup (grad_mode._GradState)
        if local["enabled"]:
            # one pass over the inputs: which need a gradient, and the graph edge of each
            # (the node that made it, or a leaf's AccumulateGrad), read before forward runs
            needs = []
            edges = []
            record = False
            for a in args:
                if not isinstance(a, _Tensor):
                    needs.append(False)
                    edges.append(_NOT_A_TENSOR)
                    continue
                if a._base is not None and a._view_version is not None and a._view_version != a._vc[0] \
                        and (a._requires_grad or a._base._requires_grad):
                    refresh_view(a)  # a view written through since its grad_fn was set
                if a._requires_grad:
                    record = True
                    needs.append(True)
                    fn = a.grad_fn
                    if fn is None:  # a leaf: its AccumulateGrad node, while some graph holds it
                        ref = a._accumulator
                        fn = ref() if ref is not None else None
                        edges.append((fn if fn is not None else _accumulator(a), 0))
                    else:
                        edges.append((fn, a._output_nr))
                else:
                    needs.append(False)
                    edges.append(_NO_EDGE)
            ctx.needs_input_grad = tuple(needs) if fw is None else forward_hook.needs(tuple(needs), fw)
            switch = not cls._array_forward
            if switch:
                local["enabled"] = False
        else:  # grad mode off (e.g. inside backward): nothing to switch or record
            record = switch = False
            edges = None
            ctx.needs_input_grad = (False,) * len(args) if fw is None else forward_hook.needs(None, fw)
        forward = cls._forward_ctx
        try:  # (the usual arities spelled out: a call through *args costs ~1000 machine instructions more)
            if kwargs:
                out = forward(ctx, *args, **kwargs)
            elif len(args) == 2:
                out = forward(ctx, args[0], args[1])
            elif len(args) == 1:
                out = forward(ctx, args[0])
            elif len(args) == 3:
                out = forward(ctx, args[0], args[1], args[2])
            else:
                out = forward(ctx, *args)
        finally:
            if switch:
                local["enabled"] = True

        if type(out) is _ndarray or isinstance(out, _np_generic):  # one new array (or a full reduction's scalar)
            result = _make(out)
        else:  # a new tensor is the other common case; anything else goes the general way
            result = out if type(out) is _Tensor and not ctx._dirty and not ctx._non_differentiable \
                and out._output_nr == 0 else None  # (another op's output i > 0: renumbered the general way)
            for a in args:
                if a is result:  # an input returned as-is: _wrap_output makes it a view
                    result = None
                    break
        if result is not None:
            results = None  # (result,) is made only where it is read: saved tensors, forward AD, observers
            if record:
                ctx._next = edges  # (the list itself: nothing changes it, and a tuple copy per op costs ~300 instructions)
                data = result._data
                dt = data.dtype
                ctx._out_meta = ((data.shape, dt),)  # (a tuple: fewer objects to make and free than a list)
                if dt is _FLOAT32 or dt.kind == "f" or dt in _FLOATING:
                    result._requires_grad = True
                    result.grad_fn = ctx
                    if ctx._view:
                        _link_view(args[0], result, cls, args, kwargs)
                    elif result._base is not None:  # a view made inside forward, now this op's output
                        result._view_mode = None
                elif cls._records_every_dtype:
                    result._requires_grad = True
                    result.grad_fn = ctx
            elif ctx._view:
                _link_view(args[0], result, cls, args, kwargs, local["enabled"])
        else:
            results = _outputs(ctx, cls, args, kwargs, out, record, edges)
        if record:  # what every recorded node keeps besides its edges and outputs
            stack = local["stack"]
            if stack:
                ctx._module = stack[-1]  # the module running it
            to_save = ctx._to_save
            if to_save:
                ctx._saved = _pack_saved(ctx, to_save, results or (result,))
                ctx._to_save = ()
            if anomaly._state.enabled:  # where it was made: the stack up to apply's caller
                ctx._anomaly_trace = "".join(traceback.format_stack()[:-1])
        if fw is not None:
            forward_hook.propagate(ctx, cls, args, kwargs, results or (result,), fw)
        if after_apply is not None:
            after_apply(cls, args, results or (result,))
        if result is not None:
            return result
        return tuple(results) if isinstance(out, tuple) else results[0]


def _outputs(ctx, cls, args, kwargs, out, record, edges):
    """apply's outputs (a list) when forward returned several, an input, a number, or
    outputs marked dirty or non-differentiable; linked into the graph when ``record``."""
    outs = out if isinstance(out, tuple) else (out,)
    results = [_wrap_output(o, args, ctx) for o in outs]
    if ctx._dirty:  # (the edges stay those read before forward: a view of a tensor written in
        _apply_dirty(ctx, args, results, record)  # place is brought up to date when next used)
    if record:
        ctx._next = edges
        _record_outputs(ctx, cls, args, kwargs, results)
    elif ctx._view:
        _link_view(args[0], results[0], cls, args, kwargs, _state.enabled)
    return results


def _wrap_output(o, args, ctx):
    if isinstance(o, _Tensor):
        if any(o is a for a in args) and not any(o is d for d in ctx._dirty):
            alias = _Tensor._make(o._data)  # an input returned as-is becomes a view of it
            alias._vc = o._vc
            return alias
        return o
    if o is None or type(o) in (int, float, bool):
        return o
    if isinstance(o, (list, dict, str)):  # returned as is, as torch (not made a tensor)
        return o
    return _Tensor._make(o)


def _link_view(src, view, cls, args, kwargs, enabled=True):
    """``view`` shares ``src``'s memory: share its version counter and remember how to
    replay the view from the base (for in-place writes through the view). ``enabled``: grad
    mode when the view was made. A view made with grad mode off, or a view of one, keeps how
    (``_view_mode``, torch's creation meta): as torch, it requires grad when its base does (its
    gradient goes nowhere: it is a leaf without AccumulateGrad), and autograd refuses to modify
    it in place, or to use it after its memory was modified in place, with grad mode on
    (``untracked_view_error``)."""
    base = view._base = src._base if src._base is not None else src
    view._vc = src._vc
    view._view_chain = (src._view_chain or ()) + ((cls, args[1:], kwargs),)
    view._view_version = src._vc[0]
    mode = src._view_mode
    if mode is None and not enabled:
        mode = "inference" if _state.inference else "no_grad"
    if mode is not None:
        view._view_mode = mode
        dt = view._data.dtype
        if base._requires_grad and (dt.kind == "f" or dt in _FLOATING):
            view._requires_grad = True
    elif view._view_mode is not None:  # (made inside a forward, from another view)
        view._view_mode = None


# torch's words for how an untracked view was made: (made in, mode of the change, the block)
_UNTRACKED_VIEW = {"no_grad": ("no_grad mode", "with grad mode enabled", "no_grad block"),
                   "inference": ("inference mode", "in normal mode", "inference_mode block")}


def untracked_view_error(view, change):
    """torch's RuntimeError for a view made with grad mode off (``_link_view``) when it ``change``
    ("is being modified inplace", or its base or another view of it was) with grad mode on."""
    made, now, block = _UNTRACKED_VIEW[view._view_mode]
    node = view.grad_fn
    head = "A view" if node is None else \
        f"Output {view._output_nr} of {_short_name(node)} is a view of a view which"
    return RuntimeError(
        f"{head} was created in {made} and {change} {now}. Given that this use case is ambiguous and "
        "error-prone, it is forbidden. You can clarify your code by moving both the view and the inplace "
        f"either both inside the {block} (if you don't want the inplace to be tracked) or both outside (if "
        "you want the inplace to be tracked).")


def _short_name(node):
    """A node's name as torch's view errors print it: SliceBackward0 -> Slice."""
    name = node.name()
    return name[:-9] if name.endswith("Backward0") else name[:-8] if name.endswith("Backward") else name


def refresh_if_stale(t):
    """``t``, with its grad_fn brought up to date if it is a view written through since."""
    if t._base is not None and t._view_version is not None and t._view_version != t._vc[0]:
        refresh_view(t)
    return t


def refresh_view(view):
    """Give a view whose memory was written in place since its grad_fn was set (through
    its base or another view) the grad_fn of replaying it from its base, as torch does."""
    base = view._base
    if not base._requires_grad:
        view._view_version = view._vc[0]
        return
    if view._view_mode is not None:
        for step in view._view_chain:  # a custom Function's non-differentiable view: its marker's error
            if type(step[0]) is _CustomFunctionView:
                step[0].apply(base)
        raise untracked_view_error(view, "its base or another view of its base has been modified inplace")
    prev = _state.enabled
    _state.enabled = True
    try:
        t = base
        for cls, args, kwargs in view._view_chain:
            t = cls.apply(t, *args, **kwargs)
    finally:
        _state.enabled = prev
    view._view_version = view._vc[0]  # (after the replay: a view that cannot be replayed raises each time)
    old, old_nr = view.grad_fn, view._output_nr
    view.grad_fn, view._output_nr, view._requires_grad = t.grad_fn, t._output_nr, t._requires_grad
    if view._retains_grad:  # .grad follows the view's new node, as torch's retain_grad
        if old is not None and old._retained:
            old._retained.pop(old_nr, None)
        view._retains_grad = False
        view.retain_grad()


def _apply_dirty(ctx, args, results, record):
    for t in ctx._dirty:  # torch's checks: a dirty tensor is an input, and is returned
        if not any(t is a for a in args):
            import warnings

            warnings.warn("ctx.mark_dirty() received a tensor that was not an input. Only input Tensors that have "
                          "been mutated should be passed to ctx.mark_dirty().", UserWarning, stacklevel=4)
        elif not any(t is r for r in results):
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                               "The inputs that are modified inplace must all be outputs of the Function.")
        if record and t.is_leaf and t._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad has been used in an in-place operation "
                f"(mark_dirty in {type(ctx).__name__})."
            )
        t._vc[0] += 1


def _record_outputs(ctx, cls, args, kwargs, results):
    """Make ``ctx`` the grad_fn of the differentiable ones among several outputs."""
    non_diff = ctx._non_differentiable
    meta = []
    i = 0
    for r in results:
        if r is None or not isinstance(r, _Tensor):
            meta.append(None)
            i += 1
            continue
        data = r._data
        dt = data.dtype
        meta.append((data.shape, dt))
        if (dt.kind == "f" or dt in _FLOATING) and not (non_diff and any(r is n for n in non_diff)):
            r._requires_grad = True
            r.grad_fn = ctx
            r._output_nr = i
            if ctx._view:
                _link_view(args[0], r, cls, args, kwargs)
            elif r._base is not None:  # a view made inside forward, now this op's output
                r._view_mode = None
        i += 1
    ctx._out_meta = meta


def _pack_saved(ctx, to_save, results):
    hooks = _saved_hooks.stack if _saved_hooks_entered else None
    hooks = hooks[-1] if hooks else None  # current_saved_tensors_hooks(), inlined
    entries = []
    for t in to_save:
        if t is None:
            entries.append(None)
            continue
        if not isinstance(t, _Tensor):
            raise TypeError(
                f"save_for_backward can only save tensors or None, but got {type(t).__name__}"
            )
        if hooks is not None:
            if type(t._vc) is _InferenceVersion:  # (without hooks, watching its version raises this)
                raise RuntimeError(_SAVE_ERROR)
            _saved_hooks.saving_node = ctx.name()
            entries.append((_SAVED_PACKED, hooks[0](t), hooks[1]))
            continue
        vc = t._vc
        if len(vc) == 1:
            vc.append(None)  # watch_version, inlined: log in-place changes from now on
        output_nr = 0
        for r in results:
            if r is t:
                # saving our own output by reference would be a cycle (output -> grad_fn -> output)
                entries.append((_SAVED_OUTPUT, t._data, vc[0], vc, output_nr, t._requires_grad))
                break
            output_nr += 1
        else:
            entries.append((_SAVED_PLAIN, t, vc[0]))
    return entries


def _accumulator(tensor):
    """The one AccumulateGrad node of a leaf (kept while some graph uses it)."""
    ref = tensor._accumulator
    acc = ref() if ref is not None else None
    if acc is None:
        if tensor._view_mode is not None:  # a view made with grad mode off: its gradient goes nowhere
            return None
        acc = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(acc)
    return acc


class once_differentiable:
    """Decorator for a backward that is not itself differentiable (runs without graph)."""

    def __new__(cls, fn):
        def wrapper(ctx, *args):
            from .grad_mode import no_grad

            with no_grad():
                return fn(ctx, *args)

        wrapper.__wrapped__ = fn
        return wrapper


class InplaceFunction(Function):
    """A Function whose forward may modify its inputs in place (torch's legacy base; same as Function)."""


class NestedIOFunction(Function):
    """A Function taking nested inputs (torch's legacy base; here the same as Function)."""


def _marking_views(forward):
    """A custom Function's forward, then, when the op is recorded (an input needs a gradient),
    each output that is a view (of an input, or made inside forward) or an input returned as-is
    (made a view of it here) marked as torch marks them: the last step of its view chain is a
    _CustomFunctionView, which refuses in-place changes and replays after its base changed."""

    def forward_marking_views(ctx, *args, **kwargs):
        out = forward(ctx, *args, **kwargs)
        if True not in ctx.needs_input_grad:
            return out
        outs = out if isinstance(out, tuple) else (out,)
        marked = [_mark_view(ctx, args, o, nr, len(outs) > 1) for nr, o in enumerate(outs)]
        return tuple(marked) if isinstance(out, tuple) else marked[0]

    return forward_marking_views


def _mark_view(ctx, args, o, nr, multi):
    if not isinstance(o, _Tensor) or any(o is d for d in ctx._dirty):
        return o
    if any(o is a for a in args):  # an input returned as-is: a view of it, as torch
        src, o = o, _make(o._data)
        o._vc = src._vc
        o._base = src._base if src._base is not None else src
        o._view_chain = src._view_chain or ()
        o._view_version = src._vc[0]
    elif o._base is None:
        return o
    non_diff = any(o is n for n in ctx._non_differentiable)
    if non_diff:  # torch: a view made in no_grad mode, which requires grad when its base does (True for an
        o._view_mode = o._view_mode or "no_grad"  # input's view) and whose gradient goes nowhere
        o._requires_grad = o._base._requires_grad and o.dtype.is_floating_point
    elif o._view_mode is not None:  # made inside forward (grad mode off): the marker below says what it is
        o._view_mode, o._requires_grad = None, False
    o._view_chain = (o._view_chain or ()) + ((_CustomFunctionView(ctx.name(), nr, multi, non_diff), (), {}),)
    return o


class _CustomFunctionView:
    """The last step of the view chain of a view returned by a custom Function. autograd cannot
    replay the custom op from the view's base, so, as torch: modifying the view in place raises
    (_inplace calls refuse_inplace), and so does using it after its base (or another view of
    the base) was modified in place (refresh_view replays the chain, reaching ``apply``)."""

    __slots__ = ("name", "output_nr", "multi", "non_diff")

    def __init__(self, name, output_nr, multi, non_diff):
        self.name = name[:-8] if name.endswith("Backward") else name
        self.output_nr, self.multi, self.non_diff = output_nr, multi, non_diff

    def apply(self, _base, *args, **kwargs):
        change = "its base or another view of its base has been modified inplace"
        if self.non_diff:
            raise RuntimeError(f"A view was created in no_grad mode and {change} with grad mode enabled."
                               + _CUSTOM_VIEW)
        raise RuntimeError(f"Output {self.output_nr} of {self.name} is a view and {change}."
                           + (_MULTI_VIEW if self.multi else _CUSTOM_VIEW))


_CUSTOM_VIEW = (" This view was created inside a custom Function (or because an input was returned as-is) and "
                "the autograd logic to handle view+inplace would override the custom backward associated with "
                "the custom Function, leading to incorrect gradients. This behavior is forbidden. You can fix "
                "this by cloning the output of the custom Function.")
_MULTI_VIEW = (" This view is the output of a function that returns multiple views. Such functions do not "
               "allow the output views to be modified inplace. You should replace the inplace operation by an "
               "out-of-place one.")


def refuse_inplace(view, op, tracked=True):
    """torch's error for an in-place op ``op`` on ``view``, in grad mode, if it is a view returned
    by a custom Function (or a view of one): when autograd tracks the op, or, untracked, when the
    view was marked non-differentiable and its base needs a gradient."""
    for step in view._view_chain or ():
        marker = step[0]
        if type(marker) is not _CustomFunctionView:
            continue
        if marker.non_diff and (tracked or view._base._requires_grad):
            raise RuntimeError("A view was created in no_grad mode and is being modified inplace with grad mode "
                               "enabled." + _CUSTOM_VIEW + f" (in {op})")
        if tracked:
            node = view.grad_fn
            name = "None" if node is None else _short_name(node)
            raise RuntimeError(f"Output {view._output_nr} of {name} is a view and is being modified inplace."
                               + (_MULTI_VIEW if marker.multi else _CUSTOM_VIEW) + f" (in {op})")
    if view._view_mode is not None and (tracked or view._base._requires_grad):
        raise untracked_view_error(view, "is being modified inplace")


def _both_backward_and_vjp(ctx, *grad_outputs):
    raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You "
                       "should only implement one of them.")


def _zeros_for(meta, like):
    """Zeros standing in for an output that received no gradient."""
    shape, dtype = meta
    xp = np if like is None else _xp(like)
    return _Tensor._make(xp.zeros(shape, dtype=dtype))


# ------------------------------------------------------------------ the Tensor class
# retrograd.tensor imports this package before it defines Tensor (Tensor's methods call the
# engine and Function.apply), so no autograd module can import Tensor at import time. Instead
# tensor.py calls bind_tensor_class(Tensor) once, right after the class statement: the one
# mechanism by which the autograd package learns the class. It sets ``_Tensor`` in the
# modules that build or check tensors on every op or node (this one and engine.py), as a
# module global, so those paths pay neither an import nor an attribute lookup.
_Tensor = None
_make = None  # Tensor._make
_new_object = object.__new__  # (cls.__new__(cls) looks the staticmethod up on each call)
_ndarray, _np_generic = np.ndarray, np.generic  # (module globals: np.X reads are not specialised, see tensor.py)


def bind_tensor_class(cls):
    """Make ``cls`` (retrograd.tensor.Tensor) the tensor class of function.py and engine.py."""
    global _Tensor, _make
    from . import engine

    _Tensor = engine._Tensor = cls
    _make = cls._make  # (a plain function: Tensor._make through the class is a slower lookup)
