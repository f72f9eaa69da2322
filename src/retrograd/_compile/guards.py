"""Guards: when a captured graph may stand for a call.

``call_key`` reduces a call to a hashable key: each tensor argument's shape, dtype, device
(array type), tensor class, requires_grad and strides (a transposed input is another key: ``view``
raises on it, as torch guards strides); which tensor arguments are one tensor passed
twice; every other argument's value (its identity when
it is not hashable); grad mode and the autocast state. A graph is looked up by that key, then
``Graph.check`` (replay.py) tests the rest: module training flags, live tensors still bound
where they were found, with the same shape, dtype and requires_grad. ``eager_only`` names
global states the capture does not handle (saved-tensor hooks, anomaly mode, forward AD): the
call then runs eagerly.
"""

from math import copysign

from ..amp.autocast_mode import _state as _amp_state
from ..autograd import anomaly
from ..autograd import function as _function
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.graph import current_saved_tensors_hooks
from ..tensor import Tensor


def flatten(obj, leaves):
    """Append the leaves of the nested tuples/lists/dicts ``obj`` to ``leaves``; returns the
    structure (a treedef) that ``unflatten`` rebuilds it from."""
    if isinstance(obj, (tuple, list)) and type(obj) in (tuple, list):
        return (type(obj), tuple(flatten(x, leaves) for x in obj))
    if type(obj) is dict:
        return (dict, tuple((k, flatten(v, leaves)) for k, v in obj.items()))
    leaves.append(obj)
    return None


def unflatten(treedef, leaves):
    it = iter(leaves)
    return _build(treedef, it)


def _build(treedef, it):
    if treedef is None:
        return next(it)
    kind, children = treedef
    if kind is dict:
        return {k: _build(c, it) for k, c in children}
    return kind(_build(c, it) for c in children)


def call_key(args, kwargs):
    """(key, the tensor leaves in order)."""
    amp = tuple(sorted(_amp_state.dtypes.items(), key=str)) if _amp_state.dtypes else ()
    if not kwargs:  # the common call: tensors as positional arguments (the same key as below)
        parts = []
        for x in args:
            if type(x) is not Tensor:
                break
            d = x._data
            parts.append((Tensor, d.shape, d.dtype, type(d), x._requires_grad, d.strides))
        else:
            tree = _POSITIONAL.get(len(args))
            if tree is None:
                tree = _POSITIONAL[len(args)] = flatten((args, {}), [])
            if len(args) > 1 and len({id(x) for x in args}) < len(args):
                parts.append(_aliases(args))
            return (tree, tuple(parts), _grad_state.enabled, amp), list(args)
    leaves = []
    tree = flatten((args, kwargs), leaves)
    parts = []
    tensors = []
    for x in leaves:
        if isinstance(x, Tensor):
            tensors.append(x)
            d = x._data
            parts.append((type(x), d.shape, d.dtype, type(d), x._requires_grad, d.strides))
        else:
            try:
                hash(x)
                # (-0.0 == 0.0, but x * -0.0 is -0.0: a zero float's key has its sign)
                parts.append((type(x), x) if x or not isinstance(x, float) else (type(x), x, copysign(1.0, x)))
            except TypeError:
                parts.append(("id", id(x)))
    if len(tensors) > 1 and len({id(x) for x in tensors}) < len(tensors):
        parts.append(_aliases(tensors))
    key = (tree, tuple(parts), _grad_state.enabled, amp)
    return key, tensors


def _aliases(tensors):
    """Which tensor arguments are one tensor passed again (`f(x, x)`): for each, the index of its first
    place. A graph captured with two tensors cannot stand for one passed twice, nor the other way round."""
    first = {}
    return ("aliases", tuple(first.setdefault(id(t), i) for i, t in enumerate(tensors)))


_POSITIONAL = {}  # number of positional tensor arguments -> the treedef of (args, {})


def eager_only():
    """Why this call must run eagerly (a global state the capture does not handle), or None."""
    if current_saved_tensors_hooks() is not None:
        return "saved-tensor hooks are active"
    if anomaly._state.enabled:
        return "anomaly detection is on"
    if _function.forward_hook is not None:
        return "forward-mode AD (a dual level) is active"
    return None
