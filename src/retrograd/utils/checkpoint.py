"""Gradient checkpointing: keep a segment's inputs, drop what its ops save for backward,
and recompute the segment once when backward first needs one of those values.

Built on saved-tensor hooks (``autograd.graph.saved_tensors_hooks``): during the
forward, every tensor an op inside the segment saves is replaced by a small slot;
the first unpack reruns the segment (with the RNG and autocast state of the forward)
and collects the recomputed saved tensors in the same order. Each recomputed tensor is
dropped when the node that saved it lets go of its slot (after that node's backward), so
a segment's activations leave memory one by one as backward walks back through it.

The segment's inputs are themselves saved for backward through the hooks in force where
``checkpoint`` is called: inside another checkpointed segment, an inner segment's inputs
are dropped and recomputed by the outer one, so nested checkpoints keep only the
outermost inputs (the memory of multi-level plans, ``inspect.checkpoint_plan``).
"""

import threading

from .. import random as _random
from ..autograd import graph
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]


class CheckpointError(RuntimeError):
    """A recompute did not reproduce the forward (different saved shapes or dtypes)."""


class _State(threading.local):
    autocast_state = None  # set by retrograd.amp: () -> state, state -> context manager


_state = _State()


def _capture_autocast():
    try:
        from ..amp import autocast_mode
    except ImportError:
        return None
    return autocast_mode.current_state()


def _autocast_context(state):
    from contextlib import nullcontext

    if state is None:
        return nullcontext()
    from ..amp import autocast_mode

    return autocast_mode.restore_state(state)


def _detach_args(args):
    out = []
    for a in args:
        if isinstance(a, Tensor):
            d = a.detach()
            d.requires_grad = a.requires_grad
            out.append(d)
        else:
            out.append(a)
    return out


class _Slot:
    """What the forward saves in place of a tensor of a checkpointed segment: its position in
    the segment's recompute. When the saving node drops it, the recomputed value goes too."""

    __slots__ = ("segment", "index", "__weakref__")

    def __init__(self, segment, index):
        self.segment, self.index = segment, index

    def __del__(self):
        segment = self.segment
        segment.alive.discard(self.index)
        if segment.recomputed is not None:
            segment.recomputed[self.index] = None


class _Segment:
    """One checkpointed call: its inputs, how to rerun it, and the recomputed values."""

    def __init__(self, fn, args, kwargs, preserve_rng_state):
        self.fn, self.kwargs = fn, kwargs
        self.args = _save_inputs(args)
        self.rng_state = _random.get_rng_state() if preserve_rng_state else None
        self.autocast = _capture_autocast()
        self.meta = []  # (shape, dtype, saving op) of each tensor saved in the forward
        self.alive = set()  # positions whose slot a node still holds
        self.recomputed = None

    def pack(self, tensor):
        self.meta.append((tuple(tensor.shape), tensor.dtype, graph.current_saving_node()))
        index = len(self.meta) - 1
        self.alive.add(index)
        return _Slot(self, index)

    def unpack(self, slot):
        if self.recomputed is None:
            self.recompute()
        t = self.recomputed[slot.index]
        if t is None:
            raise CheckpointError(
                f"torch.utils.checkpoint: the recompute saved fewer tensors ({len(self.recomputed)}) "
                f"than the forward ({len(self.meta)}): the checkpointed function must run the same ops")
        return t

    def recompute(self):
        values = []

        def pack(t):
            i = len(values)
            if i < len(self.meta):
                shape, dtype, op = self.meta[i]
                if tuple(t.shape) != shape or t.dtype != dtype:
                    raise CheckpointError(
                        "torch.utils.checkpoint: Recomputed values for the following tensors have "
                        f"different metadata than during the forward pass. tensor at position {i} "
                        f"saved by {op}: forward {{'shape': {list(shape)}, 'dtype': {dtype}}}, "
                        f"recomputed {{'shape': {list(t.shape)}, 'dtype': {t.dtype}}}")
            values.append(t if i in self.alive else None)  # a slot already dropped needs no value
            return i

        # A backward that builds a graph (create_graph=True: a gradient penalty, a Hessian-vector
        # product) differentiates the recomputed values too, as torch's: the recompute then runs on
        # the segment's inputs themselves and its own saved tensors are kept (those an op saves of
        # its own outputs form cycles, freed by gc). Otherwise its graph is never walked: detached
        # inputs, and an unpack that refers to nothing (values -> tensor -> grad_fn -> unpack ->
        # values would be a cycle kept until gc).
        differentiable = is_grad_enabled()
        args = _load_inputs(self.args)
        if not differentiable:
            args = _detach_args(args)
        keep = (_keep, _kept) if differentiable else (None, _unused)
        with _random.fork_rng(enabled=self.rng_state is not None):
            if self.rng_state is not None:
                _random.set_rng_state(self.rng_state)

            def saving(t):
                index = pack(t)
                return keep[0](t) if differentiable else index

            with enable_grad(), _autocast_context(self.autocast), graph.saved_tensors_hooks(saving, keep[1]):
                self.fn(*args, **self.kwargs)
        if len(values) < len(self.meta):
            raise CheckpointError(
                f"torch.utils.checkpoint: the recompute saved fewer tensors ({len(values)}) than the "
                f"forward ({len(self.meta)}): the checkpointed function must run the same ops")
        self.recomputed = values
        self.fn = self.args = self.kwargs = None  # the segment's inputs are no longer needed


def _save_inputs(args):
    """The segment's arguments, each tensor saved through the saved-tensor hooks in force (an
    enclosing checkpoint drops it and recomputes it; with no hooks it is kept as it is)."""
    hooks = graph.current_saved_tensors_hooks()
    if hooks is None:
        return args
    pack, unpack = hooks
    return [_Packed(pack(a), unpack, a.requires_grad) if isinstance(a, Tensor) else a for a in args]


def _load_inputs(args):
    return [_load(a) if isinstance(a, _Packed) else a for a in args]


def _load(packed):
    """A saved input as the forward saw it: requiring grad if it did (an unpack hook such as
    save_on_disk's gives a plain tensor), so that the recompute's ops save what the forward's saved."""
    t = packed.unpack(packed.value)
    return t.detach().requires_grad_() if packed.requires_grad and not t.requires_grad else t


class _Packed:
    """An input saved through an enclosing pair of saved-tensor hooks."""

    __slots__ = ("value", "unpack", "requires_grad")

    def __init__(self, value, unpack, requires_grad):
        self.value, self.unpack, self.requires_grad = value, unpack, requires_grad


def _unused(index):
    raise RuntimeError("a checkpoint recompute's own graph cannot be differentiated")


def _keep(tensor):
    return [tensor]  # (a list: the hooks' pair expects an object of its own, not the tensor)


def _kept(box):
    return box[0]


def _checkpoint_nonreentrant(function, args, kwargs, preserve_rng_state):
    segment = _Segment(function, args, kwargs, preserve_rng_state)
    with graph.saved_tensors_hooks(segment.pack, segment.unpack):
        return function(*args, **kwargs)


class _ReentrantCheckpoint(Function):
    """Run the segment without recording; in backward, rerun it with recording and
    backpropagate through the rerun (parameters accumulate their .grad there)."""

    @staticmethod
    def forward(ctx, function, preserve_rng_state, *args):
        ctx.function = function
        ctx.rng_state = _random.get_rng_state() if preserve_rng_state else None
        ctx.autocast = _capture_autocast()
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.plain_args = [None if isinstance(a, Tensor) else a for a in args]
        with no_grad():
            out = function(*args)
        if isinstance(out, Tensor):
            return out.detach()
        return tuple(o.detach() if isinstance(o, Tensor) else o for o in out)

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd.engine import backward as run_backward

        args = list(ctx.plain_args)
        for pos, t in zip(ctx.tensor_positions, ctx.saved_tensors):
            args[pos] = t
        args = _detach_args(args)
        with _random.fork_rng(enabled=ctx.rng_state is not None):
            if ctx.rng_state is not None:
                _random.set_rng_state(ctx.rng_state)
            with enable_grad(), _autocast_context(ctx.autocast):
                out = ctx.function(*args)
        outs = (out,) if isinstance(out, Tensor) else tuple(out)
        pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if pairs:
            run_backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in args)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its saved activations; they are
    recomputed once, in backward. Results and gradients equal the plain call's.
    context_fn and debug=True are not implemented (NotImplementedError)."""
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if use_reentrant and (context_fn is not None or debug):
        raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    if context_fn is not None:
        raise NotImplementedError("checkpoint(context_fn=...): retrograd does not run the forward and the "
                                  "recomputation under given contexts; leave context_fn unset")
    if debug:
        raise NotImplementedError("checkpoint(debug=True): retrograd keeps no trace of the recomputed ops; "
                                  "pass debug=False")
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        return _ReentrantCheckpoint.apply(function, preserve_rng_state, *args)
    return _checkpoint_nonreentrant(function, args, kwargs, preserve_rng_state)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Split a Sequential (or list of modules) into ``segments`` chunks and checkpoint each
    chunk except the last, as torch does."""
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    size = len(functions) // segments

    def run(start, end):
        def forward(x):
            for f in functions[start:end + 1]:
                x = f(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(functions) - 1)(input)
