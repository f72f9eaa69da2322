"""torch.autograd.forward_ad: forward-mode AD with dual tensors.

Inside a ``dual_level``, ``make_dual(x, v)`` gives a tensor that carries the tangent ``v``
beside its value. Every op (``Function.apply``) whose inputs carry tangents computes the
tangent of its outputs by the op's JVP rule, the ``jvp(ctx, *tangents)`` staticmethod
written beside its forward and backward; ``unpack_dual`` reads it back. As in torch, one
level exists at a time (nesting raises), and tangents vanish when their level is exited.

An op without a ``jvp`` rule of its own (internal ops listed in ``_FALLBACK_OPS``) gets
its JVP from its VJP, exactly: ``backward`` is linear in the output gradient ``u``, so
``J v = d/du <Jᵀu, v>``, one more reverse pass through the backward's own graph (the
double-VJP trick). A user's custom Function without ``jvp`` raises torch's error.

The tangent lives in the tensor's ``__dict__`` as ``_fw = (level serial, tangent)``; a
tangent of an exited level is stale and ignored. ``function.forward_hook`` is None while
no level is entered, so ops pay one global check when forward AD is off.
"""

import weakref
from collections import namedtuple

from . import function as _function
from .grad_mode import _state as _grad_state

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]


class _Levels:
    level = None  # the entered level's index (torch's: 0), or None
    serial = 0  # distinguishes the tangents of this entry of the level from stale ones
    duals = []  # weak references to the tensors given tangents at the current level
    enabled = True  # off while an op's JVP rule runs: its own ops carry no tangents
    prune_at = 1024  # len(duals) at which the references to dead tensors are dropped


_levels = _Levels()

# the internal ops whose JVP comes from their VJP (the double-VJP trick): filled on first use
_FALLBACK_OPS = set()


UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor.__doc__ = "Namedtuple returned by unpack_dual: the primal and the tangent of a dual tensor."


def enter_dual_level():
    """Enter a new forward grad level and return its index (0: only one level at a time)."""
    if _levels.level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.level = 0
    _levels.serial += 1
    _levels.duals = []
    _function.forward_hook = _hook
    return 0


def exit_dual_level(*, level=None):
    """Exit the forward grad level ``level`` (the current one by default): every tangent of
    that level is dropped."""
    if level is None:
        level = -1 if _levels.level is None else _levels.level
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != _levels.level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was "
                           "created. This is not supported.")
    for ref in _levels.duals:
        t = ref()
        if t is not None:
            t.__dict__.pop("_fw", None)
    _levels.duals = []
    _levels.level = None
    _levels.serial += 1
    _function.forward_hook = None


class dual_level:
    """Context manager (and decorator) of a forward AD level: every dual tensor made inside
    belongs to it, and its tangents are cleared on exit.

    >>> with dual_level():
    ...     out = f(make_dual(x, v))
    ...     jvp = unpack_dual(out).tangent
    """

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)

        return wrapper


def _check_level(level, what):
    if level is None:
        level = _levels.level
    if level is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make "
                           "sure to enter_dual_level() first.")
    if level != _levels.level:
        raise RuntimeError(f"Invalid level given to {what}")
    return level


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` that carries ``tangent`` as its forward gradient at ``level``
    (the current level by default). ``tangent`` must have ``tensor``'s shape."""
    _check_level(level, "_make_dual")
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):  # torch's error: its check calls tensor.is_floating_point()
        raise AttributeError(f"'{type(tensor).__name__}' object has no attribute 'is_floating_point' "
                             "(make_dual: the primal must be a Tensor)")
    if not tensor.is_floating_point() and not tensor.is_complex():
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not isinstance(tangent, Tensor):
        raise AttributeError(f"'{type(tangent).__name__}' object has no attribute 'is_floating_point'")
    if not tangent.is_floating_point() and not tangent.is_complex():
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the original "
            f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
            f"forward gradient is of size {list(tangent.shape)}.")
    if tangent_of(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {_levels.level} is not supported.")
    enabled, _levels.enabled = _levels.enabled, False
    try:
        dual = tensor.view_as(tensor)
    finally:
        _levels.enabled = enabled
    set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor, *, level=None):
    """``UnpackedDualTensor(primal, tangent)``: a view of ``tensor``'s value without tangent,
    and its tangent at ``level`` (None if it has none, or no level is entered)."""
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not {type(tensor).__name__}")
    if level is None:
        level = _levels.level
    if level is None or level != _levels.level:
        return UnpackedDualTensor(tensor, None)
    tangent = tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    enabled, _levels.enabled = _levels.enabled, False
    try:
        primal = tensor.view_as(tensor)
    finally:
        _levels.enabled = enabled
    return UnpackedDualTensor(primal, tangent)


# ------------------------------------------------------------------ tangents on tensors


def tangent_of(t):
    """The tangent ``t`` carries at the current level, or None."""
    fw = t.__dict__.get("_fw")
    if fw is None or fw[0] != _levels.serial or _levels.level is None:
        return None
    return fw[1]


def set_tangent(t, tangent):
    t.__dict__["_fw"] = (_levels.serial, tangent)
    duals = _levels.duals
    duals.append(weakref.ref(t))
    if len(duals) >= _levels.prune_at:  # drop the references to dead tensors (amortized)
        duals[:] = [r for r in duals if r() is not None]
        _levels.prune_at = max(1024, 2 * len(duals))


def update_in_place(self, result):
    """After an in-place op wrote ``result`` into ``self``: ``self``'s tangent becomes
    ``result``'s, written into self's own tangent when it has one, so that the tangents of
    its views (views of that tangent) follow, as torch's."""
    t = tangent_of(result)
    if t is None:
        return
    own = tangent_of(self)
    if own is not None and own is not t and not own.requires_grad and not t.requires_grad \
            and getattr(getattr(own._data, "flags", None), "writeable", True) \
            and own._data.shape == t._data.shape:
        own._data[...] = t._data
        own._vc[0] += 1
    else:
        set_tangent(self, t)


# ------------------------------------------------------------------ the apply hook


def _tensor_tangents(args, tensor_cls):
    """The tangent of each argument (None for non-tensors and tensors without one), and
    whether any argument carries one. Tensors inside list/tuple arguments (cat's) count."""
    tangents, found = [], False
    for a in args:
        if isinstance(a, tensor_cls):
            t = tangent_of(a)
            found = found or t is not None
            tangents.append(t)
        elif isinstance(a, (list, tuple)) and any(isinstance(e, tensor_cls) for e in a):
            ts = [tangent_of(e) if isinstance(e, tensor_cls) else None for e in a]
            found = found or any(t is not None for t in ts)
            tangents.append(ts)
        else:
            tangents.append(None)
    return tangents, found


def _zeros_for_missing(args, tangents, tensor_cls):
    """Tangents with zeros for the floating tensor inputs that carry none (as torch hands
    custom Functions' jvp); None stays for non-tensors and integer tensors."""
    out = []
    for a, t in zip(args, tangents):
        if isinstance(t, list):
            out.append([_zero_tangent(e) if s is None and isinstance(e, tensor_cls) else s
                        for e, s in zip(a, t)])
        elif t is None and isinstance(a, tensor_cls):
            out.append(_zero_tangent(a))
        else:
            out.append(t)
    return out


def _zero_tangent(a):
    if not (a.is_floating_point() or a.is_complex()):
        return None
    z = a.detach().new_zeros(a.shape)
    return z


class _Hook:
    """function.forward_hook while a level is entered."""

    def __call__(self, args):
        """The arguments' tangents, or None when none carries one (or a JVP rule runs)."""
        if not _levels.enabled:
            return None
        from ..tensor import Tensor

        tangents, found = _tensor_tangents(args, Tensor)
        return tangents if found else None

    @staticmethod
    def needs(needs, tangents):
        """needs_input_grad with the inputs that carry tangents: forward saves what the
        op's derivative rules need for them."""
        have = tuple(t is not None and not (isinstance(t, list) and all(e is None for e in t))
                     for t in tangents)
        return have if needs is None else tuple(a or b for a, b in zip(needs, have))

    @staticmethod
    def propagate(ctx, cls, args, kwargs, results, tangents):
        _propagate(ctx, cls, args, kwargs, results, tangents)


_hook = _Hook()


def _propagate(ctx, cls, args, kwargs, results, tangents):
    """Give the outputs of an op whose inputs carry tangents the tangents of its JVP."""
    from ..tensor import Tensor

    _levels.enabled = False
    try:
        if "jvp" in _own_attrs(cls):
            tangents = _zeros_for_missing(args, tangents, Tensor)
            if not cls.__module__.startswith("retrograd."):  # torch's ctx.saved_tensors in jvp
                ctx._jvp_saved = tuple(getattr(ctx, "saved_for_forward", ()))
            # the op's arguments and outputs, for rules that re-apply the op or read its result
            ctx._fw_args, ctx._fw_kwargs, ctx._fw_results = args, kwargs, results
            try:
                out = cls.jvp(ctx, *tangents)
            finally:
                ctx.__dict__.pop("_jvp_saved", None)
                ctx.__dict__.pop("_fw_args", None)
                ctx.__dict__.pop("_fw_kwargs", None)
                ctx.__dict__.pop("_fw_results", None)
        elif cls.__module__.startswith("retrograd.") and cls.backward is not _function.Function.backward:
            _FALLBACK_OPS.add(cls.__name__)
            out = _jvp_by_double_vjp(ctx, cls, args, tangents, results)
        else:
            raise NotImplementedError("You must implement the jvp function for custom autograd.Function "
                                      "to use it with forward mode AD.")
    finally:
        _levels.enabled = True
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != len(results):
        raise RuntimeError(f"function {cls.__name__}.jvp returned an incorrect number of tangents "
                           f"(expected {len(results)}, got {len(outs)})")
    non_diff = ctx._non_differentiable
    for r, t in zip(results, outs):
        if t is None or not isinstance(r, Tensor) or not (r.is_floating_point() or r.is_complex()):
            continue
        if non_diff and any(r is n for n in non_diff):
            continue
        if tuple(t.shape) != tuple(r.shape):
            if t.dim() == 0 or _expands(tuple(t.shape), tuple(r.shape)):
                t = t.expand(r.shape)
            else:
                raise RuntimeError(
                    f"function {cls.__name__}.jvp returned a tangent of shape {list(t.shape)} for "
                    f"an output of shape {list(r.shape)}: a JVP rule must return the output's shape")
        if t.dtype != r.dtype:
            t = t.to(r.dtype)
        set_tangent(r, t)
        _keep_in_saved_output(ctx, r)


def _keep_in_saved_output(ctx, r):
    """An output that forward saved for backward is rebuilt from its array when backward
    unpacks it: give its saved entry the tangent too (forward-over-reverse needs it)."""
    saved = ctx._saved
    if not saved:
        return
    for i, entry in enumerate(saved):
        if entry is not None and entry[0] == _function._SAVED_OUTPUT and entry[4] == r._output_nr \
                and entry[1] is r._data:
            saved[i] = entry[:6] + (r.__dict__["_fw"],)


# ------------------------------------------------------------------ rules shared by op families


def linear_jvp(ctx, *tangents):
    """The JVP of an op linear in its tensor inputs (views, reshapes, sums, gathers, joins):
    the op itself applied to the tangents, its other arguments (dims, indices) unchanged."""
    from ..tensor import Tensor

    args = []
    for a, t in zip(ctx._fw_args, tangents):
        if isinstance(a, Tensor) and t is not None:
            args.append(t)
        elif isinstance(t, list):
            args.append(type(a)(s if s is not None else e for e, s in zip(a, t)))
        else:
            args.append(a)
    return type(ctx).apply(*args, **ctx._fw_kwargs)


def diagonal_jvp(ctx, t, *rest):
    """The JVP of an elementwise op of one tensor: its Jacobian is diagonal, so J v = Jᵀ v,
    the op's own backward applied to the tangent."""
    out = type(ctx).backward(ctx, t)
    return out[0] if isinstance(out, (tuple, list)) else out


def slicewise_jvp(ctx, t, *_):
    """The JVP of a reduction over ``ctx.dims`` (``ctx.keepdim``) in which every input element
    feeds one output element (max, median, prod, var, std, logsumexp, norms): Jᵀ1, the
    backward of ones, holds each ∂z_k/∂a_i, and J t sums t·Jᵀ1 over each slice."""
    from ..ops.reduction import Sum

    z = ctx._fw_results[0]
    w = type(ctx).backward(ctx, z.new_ones(z.shape))
    w = w[0] if isinstance(w, (tuple, list)) else w
    return Sum.apply(t * w, ctx.dims, ctx.keepdim, None)


def composite_jvp(fn, args, tangents):
    """The JVP of a fused op through its unfused form ``fn`` (written with ops that have JVP
    rules): ``fn`` runs on aliases of the tensor arguments that carry ``tangents``, with
    forward AD switched back on (an op's jvp runs with it off); the outputs' tangents."""
    from ..tensor import Tensor

    aliases = []
    for a, t in zip(args, tangents):
        if isinstance(a, Tensor) and t is not None:
            a = a.view_as(a)  # (no tangent of its own: forward AD is off here)
            set_tangent(a, t)
        aliases.append(a)
    enabled, _levels.enabled = _levels.enabled, True
    try:
        outs = fn(*aliases)
    finally:
        _levels.enabled = enabled
    outs = outs if isinstance(outs, tuple) else (outs,)
    return tuple(tangent_of(o) if isinstance(o, Tensor) else None for o in outs)


def fsum(*terms):
    """The sum of the terms that are not None (a JVP's contributions of each input)."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def _expands(small, big):
    if len(small) > len(big):
        return False
    return all(s == b or s == 1 for s, b in zip(reversed(small), reversed(big)))


def _own_attrs(cls):
    """Names defined by ``cls`` or its bases below Function (a rule on a parent op counts)."""
    names = set()
    for k in cls.__mro__:
        if k is _function.Function or k is _function.FunctionCtx:
            break
        names.update(k.__dict__)
    return names


def _jvp_by_double_vjp(ctx, cls, args, tangents, results):
    """``J v`` from the op's backward: with ``u`` a variable output gradient, backward gives
    ``g = Jᵀu``, linear in u; the gradient of ``<g, v>`` with respect to u is ``J v``."""
    from ..tensor import Tensor
    from .engine import grad
    from ..ops._broadcast import sum_to_shape

    outs = [r if isinstance(r, Tensor) and (r.is_floating_point() or r.is_complex()) else None
            for r in results]
    # g is linear in u, so its derivative is Jᵀ at any u: ones, not zeros, where a backward
    # computes its linear map through log|u| (logcumsumexp's)
    us = [None if r is None else r.detach().new_ones(r.shape).requires_grad_(True) for r in outs]
    # backward gives one gradient per argument (None for a list argument, such as an index key)
    flat_args = args
    flat_t = [None if isinstance(t, list) else t for t in tangents]
    saved_needs = ctx.needs_input_grad
    ctx.needs_input_grad = tuple(t is not None for t in flat_t)
    prev = _grad_state.enabled
    _grad_state.enabled = True
    try:
        grads_out = [u if u is not None else None for u in us]
        gs = cls.backward(ctx, *grads_out)
    finally:
        _grad_state.enabled = prev
        ctx.needs_input_grad = saved_needs
    gs = gs if isinstance(gs, (tuple, list)) else (gs,)
    pairs_g, pairs_v = [], []
    for g, a, t in zip(gs, flat_args, flat_t):
        if g is None or t is None or not isinstance(a, Tensor):
            continue
        if tuple(g.shape) != tuple(a.shape):
            g = sum_to_shape(g, tuple(a.shape))
        if g.requires_grad:
            pairs_g.append(g)
            pairs_v.append(t.to(g.dtype))
    live = [u for u in us if u is not None]
    if not pairs_g:
        return tuple(None if u is None else u.detach().new_zeros(()) for u in us)
    prev = _grad_state.enabled
    _grad_state.enabled = True
    try:
        jv = grad(pairs_g, live, pairs_v, allow_unused=True, create_graph=prev)
    finally:
        _grad_state.enabled = prev
    it = iter(jv)
    out = []
    for u in us:
        if u is None:
            out.append(None)
            continue
        j = next(it)
        out.append(u.detach().new_zeros(()) if j is None else j)
    return tuple(out)
