"""The backward engine: walk the graph from the outputs to the leaves, once, iteratively.

1. Discover the nodes reachable from the roots and count, for each, how many edges
   point to it (its dependencies). No recursion: deep graphs (10,000-step RNNs) work.
2. A node is ready when every node that feeds it gradient has run. Pop a ready node,
   sum the gradients waiting for it, run its hooks and its backward rule, and send the
   results along its edges (``next_functions``).
3. After its backward a node frees its saved tensors, unless ``retain_graph``.

Gradients the engine alone holds (fresh arrays from a backward, referenced by nothing
else: see ``_owned``) are summed in place and handed to a leaf's ``.grad`` without a copy;
any other gradient is added out of place and copied into ``.grad`` (with ``create_graph``
by a differentiable clone), so every leaf gets its own writable gradient: none shares its
buffer with another leaf, a saved tensor or a broadcast view (torch's AccumulateGrad).
Adding into a tensor's ``.grad`` holds that tensor's lock (``_grad_lock``), so threads
running backward into the same leaf lose no update.
"""

import threading
from sys import getrefcount as _getrefcount

import numpy as np

_ndarray, _np_array, _np_ones = np.ndarray, np.array, np.ones  # (np.X reads are not specialised: see tensor.py)

from .._backend import array_module as _array_module
from .._float_warnings import quiet as _quiet, restore as _restore
from . import anomaly
from . import function as _function
from .function import _accumulator, _zeros_for, refresh_if_stale
from .grad_mode import _state
from .graph import AccumulateGrad


_Tensor = None  # retrograd.tensor.Tensor, set by function.bind_tensor_class at import
_new_lock = threading.Lock()
profile_hook = None  # retrograd.profiler's recorder while a profile records: times each node
# True once some tensor's grad_dtype was set (Tensor.grad_dtype): until then no leaf has one, and
# run_backward's check of each leaf edge skips reading the leaf's __dict__ (~300 machine instructions)
_grad_dtypes = False


def queue_callback(callback):
    """Run ``callback()`` once the running backward has finished (torch's
    ``Variable._execution_engine.queue_callback``: DistributedDataParallel waits for its
    gradient buckets this way). Only valid while a backward runs on this thread."""
    stack = _state.callbacks  # one callback list per backward running on this thread
    if not stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    stack[-1].append(callback)


def queue_outermost_callback(callback):
    """Like queue_callback, but run when the outermost backward running on this thread ends
    (not a reentrant one started inside it, e.g. by a checkpoint's backward)."""
    stack = _state.callbacks
    if not stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    stack[0].append(callback)


class _ExecutionEngine:
    """``Variable._execution_engine``: the engine's one public hook, ``queue_callback``."""

    queue_callback = staticmethod(queue_callback)


def _grad_lock(t):
    """The lock around ``t.grad``'s updates (torch's per-node mutex): made on the first
    backward into t and kept for t's life. Reentrant, since a post-accumulate hook that
    holds it may run backward again."""
    try:
        return t._grad_lock
    except AttributeError:  # the slot is unset until then
        with _new_lock:
            try:
                return t._grad_lock
            except AttributeError:
                lock = t._grad_lock = threading.RLock()
                return lock


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _root_grads(outputs, grad_outputs, create_graph):
    """The gradients to start from: given ones, or 1 for scalar outputs."""
    Tensor = _Tensor
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        for g in grad_outputs:  # (types first, as torch)
            if g is not None and not isinstance(g, Tensor):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}: pass a "
                                "tensor of the output's shape, e.g. torch.full_like(output, value)")
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"got {len(outputs)} tensors and {len(grad_outputs)} gradients: pass one gradient (or None) per output"
        )
    roots = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"backward expects tensors, got {type(out).__name__} at position {i}")
        if not out._requires_grad or out.grad_fn is None and out._view_mode is not None:  # (a view made
            raise RuntimeError(  # under no_grad requires grad as its base, but has no graph of its own)
                f"element {i} of tensors does not require grad and does not have a grad_fn. "
                "The tensor was produced without recording a graph: check for .detach(), "
                ".item(), .numpy(), torch.no_grad(), or inputs that never set requires_grad=True."
            )
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs; the output has "
                    f"shape {list(out.shape)}: pass gradient= (a tensor of that shape) or "
                    "reduce it to a scalar first (e.g. .sum() or .mean())"
                )
            g = Tensor._make(_ones_like_data(out._data))
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                f"has a shape of {out.shape}."
            )
        if not create_graph and g._requires_grad:
            g = g.detach()
        if out._base is not None:  # (only a view can be stale)
            refresh_if_stale(out)
        node = out.grad_fn if out.grad_fn is not None else _accumulator(out)
        roots.append((node, out._output_nr if out.grad_fn is not None else 0, g))
    return roots


def _refs(t):
    """(references to tensor t, references to its array), as seen from ``_refs(lst[i])``."""
    arr = t._data
    return _getrefcount(t), _getrefcount(arr)


class _Probe:
    def __init__(self):
        self._data = np.empty(1)


def _refs_via_call(t):
    return _refs(t)


# What _refs counts, called from a function called as f(lst[i]) (the way _owned is), for a
# tensor held by one list slot only whose array only it holds: measured, not assumed, so
# that it stays true across Python versions.
def _calibrate():
    held = [_Probe()]
    return _refs_via_call(held[0])


_SOLE = _calibrate()


def _base_refs(arr):
    """References to ``arr.base``, as seen from a function holding it in one local (as
    ``_sole_view`` does)."""
    base = arr.base
    return _getrefcount(base)


_SOLE_BASE = _base_refs(np.empty((2, 2)).T)  # a base held only by its one view


def _sole_view(arr):
    """True if NumPy array ``arr`` is a C-contiguous, writable view of the whole of an array
    that only it holds (no other view of that memory exists)."""
    base = arr.base
    return type(base) is _ndarray and base.base is None and base.nbytes == arr.nbytes \
        and arr.flags.c_contiguous and arr.flags.writeable and _getrefcount(base) <= _SOLE_BASE


def _owned(t):
    """True if gradient ``t``, reached as ``lst[i]`` with ``lst`` a list of the engine, is
    referenced only by that list slot and its NumPy array only by ``t`` (no view of it, no
    other tensor, no saved tensor, no hook kept it): the engine may then write into it or
    hand it over as a ``.grad``. The array may be a C-contiguous view of the whole of an array
    that nothing else holds (a linear layer's weight gradient, (G^T X)^T transposed back by
    t()'s backward): its memory is as much t's. Conservative: any doubt answers False."""
    arr = t._data
    if type(arr) is not _ndarray or t._requires_grad or t._base is not None or t._hooks is not None:
        return False
    if arr.base is not None and not _sole_view(arr):
        return False
    del arr
    refs = _refs(t)
    return refs[0] <= _SOLE[0] and refs[1] <= _SOLE[1]


def _ones_like_data(data):
    if type(data) is _ndarray:  # np.ones_like's Python wrapper costs ~4x these C calls
        return _np_array(1, data.dtype) if not data.ndim else _np_ones(data.shape, data.dtype)
    return _array_module(data).ones_like(data)


def _dependencies(root_nodes):
    """{node: how many edges point to it} over the nodes reachable from ``root_nodes``."""
    deps = {}
    if len(root_nodes) == 1:  # (one root: no other root can be reached from it, the graph has no cycle)
        roots = ()
        stack = [root_nodes[0]]
    else:
        roots = set(root_nodes)
        stack = list(roots)
    while stack:
        for fn, _ in stack.pop()._next:
            if fn is None:
                continue
            count = deps.get(fn)
            if count is None:
                deps[fn] = 1
                # first reached: walk its edges once (a leaf's AccumulateGrad has none)
                if type(fn) is not AccumulateGrad and fn not in roots:
                    stack.append(fn)
            else:
                deps[fn] = count + 1
    return deps


def _needed(root_nodes, deps, targets):
    """Nodes with a path to a target: the only ones worth running for autograd.grad."""
    remaining = dict(deps)
    order = []
    ready = [n for n in set(root_nodes) if remaining.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for fn, _ in node._next:
            if fn is not None:
                remaining[fn] -= 1
                if remaining[fn] == 0:
                    ready.append(fn)
    needed = set()
    for node in reversed(order):
        if node in targets or any(fn in needed for fn, _ in node._next if fn is not None):
            needed.add(node)
    return needed


def run_backward(roots, retain_graph, create_graph, capture=None, accumulate=True):
    """Run the graph from ``roots`` ([(node, output_nr, grad)]).

    capture: {(node, output_nr): index} of gradients to return (autograd.grad and
    backward(inputs=)); when given, only nodes leading to them run, and leaves
    accumulate only if ``accumulate``.
    """
    root_nodes = [r[0] for r in roots]
    deps = _dependencies(root_nodes)
    pending = {}
    for node, nr, g in roots:
        buf = pending.get(node)
        if buf is None:
            buf = pending[node] = [None] * len(node._out_meta)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    needed = None
    captured = None
    if capture is not None:
        captured = [None] * (max(capture.values()) + 1 if capture else 0)
        needed = _needed(root_nodes, deps, {node for node, _ in capture})

    local = _state.__dict__  # this thread's grad mode and callback lists, in one lookup (grad_mode._GradState)
    prev = local["enabled"]
    # autograd.grad inside a dual level (forward-over-reverse): the backward runs its tensor-op
    # paths so that tangents flow through it; grad() detaches the results, keeping their tangents
    graph = create_graph or (not accumulate and _function.forward_hook is not None)
    local["enabled"] = graph
    callbacks = []
    stack = local["callbacks"]
    stack.append(callbacks)
    errstate = _quiet()  # inf * 0 in a backward formula is nan, silently, as in torch
    try:
        ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n, 0) == 0] if len(root_nodes) > 1 \
            else root_nodes  # (one root: nothing points to it)
        leaves = []
        while ready:
            node = ready.pop()
            grads = pending.pop(node, None)
            checked = True  # whether in_grads were checked against the edges' shapes and dtypes
            release = False  # whether to free the node's saved tensors once its gradients are sent
            edges = None  # node._next, once read (an attribute of nodes of many classes is a slow read)
            if grads is None or (needed is not None and node not in needed):
                in_grads = None
            elif profile_hook is not None:
                in_grads = profile_hook.evaluate(node, grads, retain_graph, create_graph, capture, captured,
                                                 accumulate)
            elif type(node) is AccumulateGrad:  # no edges to follow: accumulate and go on
                var = node.variable
                if capture is None and not node._hooked and not var._hooks:
                    _accumulate_leaf(var, grads, create_graph)
                else:
                    _run_node(node, grads, retain_graph, create_graph, capture, captured, accumulate)
                continue
            elif capture is not None or node._hooked or _function.after_apply is not None \
                    or anomaly._state.enabled:
                in_grads = _run_node(node, grads, retain_graph, create_graph, capture, captured, accumulate)
            else:  # a node without hooks: _run_node's steps, its gradients checked as they are sent
                if len(grads) > 1 and node._materialize_grads and any(g is None for g in grads):
                    grads = _materialized(node, grads)
                try:  # (one gradient spelled out: a call through *grads costs ~1000 machine instructions more)
                    in_grads = node.backward(node, grads[0]) if len(grads) == 1 else node.backward(node, *grads)
                except Exception as exc:
                    _note_forward_trace(node, exc)
                    raise
                if type(in_grads) is not tuple and not isinstance(in_grads, tuple):
                    in_grads = (in_grads,)
                edges = node._next
                if len(in_grads) != len(edges):
                    in_grads = _validate(node, in_grads)
                else:
                    checked = False
                release = not retain_graph
            grads = None
            i = -1
            for fn, nr in (node._next if edges is None else edges):
                i += 1
                if fn is None:
                    if nr and in_grads is not None and in_grads[i] is not None:  # nr -1: not a tensor
                        raise _function.gradient_for_a_non_tensor(node, i)
                    continue
                if in_grads is not None:
                    g = in_grads[i]
                    if g is not None:
                        meta = None
                        if not checked:  # _validate's test, inline: the shape and dtype fn expects
                            if type(fn) is AccumulateGrad:
                                var = fn.variable
                                data = var._data
                                shape, dtype = data.shape, data.dtype
                                if _grad_dtypes and "_grad_dtype" in var.__dict__:  # (its grad_dtype: _validate casts to it)
                                    shape = None
                            else:
                                meta = fn._out_meta
                                shape, dtype = meta[nr]
                            if type(g) is not _Tensor or g._data.shape != shape or (
                                    g._data.dtype is not dtype and g._data.dtype != dtype):
                                in_grads = _validate(node, in_grads)  # all of them, once
                                checked = True
                                g = in_grads[i]
                        buf = pending.get(fn)
                        if buf is None:
                            if meta is None and type(fn) is not AccumulateGrad:  # (a leaf's node has one input)
                                meta = fn._out_meta
                            if meta is None or len(meta) == 1:
                                pending[fn] = [g]
                            else:
                                buf = pending[fn] = [None] * len(meta)
                                buf[nr] = g
                        elif buf[nr] is None:
                            buf[nr] = g
                        elif not graph and _owned(buf[nr]):
                            buf[nr]._data += g._data  # a sum only the engine holds
                        elif not graph and _function.forward_hook is None:
                            buf[nr] = _Tensor._make(buf[nr]._data + g._data)  # no Add op to record
                        else:
                            buf[nr] = buf[nr] + g
                left = deps[fn] - 1
                deps[fn] = left
                if not left:
                    if type(fn) is AccumulateGrad:
                        leaves.append(fn)
                    else:
                        ready.append(fn)
            if release:
                node._release()
            if leaves:  # accumulate a leaf's gradient as soon as it is complete, as torch's engine
                ready += leaves  # (hooks such as DDP's see it early; no other node's input changes)
                leaves.clear()
            g = in_grads = None  # hold no gradient between nodes (see _owned)
        while callbacks:  # a callback may queue another, as in torch
            callbacks.pop(0)()
    finally:
        _restore(errstate)
        stack.pop()
        local["enabled"] = prev
    return captured


def _run_node(node, grads, retain_graph, create_graph, capture, captured, accumulate):
    if node._tensor_hooks is not None or node._retained is not None or node._pre_hooks is not None \
            or capture is not None:
        grads = _before_node(node, grads, create_graph, capture, captured)
    if type(node) is AccumulateGrad:
        if capture is None or (accumulate and (node, 0) in capture):
            _accumulate_leaf(node.variable, grads, create_graph)
            if node._post_hooks:
                _after_leaf(node, grads)
        return None

    if len(grads) > 1 and node._materialize_grads and any(g is None for g in grads):
        grads = _materialized(node, grads)
    try:
        if profile_hook is None:
            result = node.backward(node, *grads)
        else:
            result = profile_hook.backward(node, grads)
    except Exception as exc:
        _note_forward_trace(node, exc)
        raise
    if type(result) is not tuple and not isinstance(result, tuple):
        result = (result,)
    result = _validate(node, result)
    if node._post_hooks:
        for fn in list(node._post_hooks.values()):
            out = fn(result, tuple(grads))
            if out is not None:
                result = tuple(out)
    if not retain_graph:
        node._release()
    return result


def _after_leaf(node, grads):
    """An AccumulateGrad's own hooks, once the gradient is accumulated, as torch's: no
    gradient inputs, the leaf's gradient as grad_outputs; a hook returns None or ()."""
    for fn in list(node._post_hooks.values()):
        out = fn((), tuple(grads))
        if out is not None and len(out) != 0:
            raise RuntimeError(f"hook '{getattr(fn, '__name__', repr(fn))}' has returned an incorrect "
                               f"number of values (got {len(out)}, but expected 0)")


def _materialized(node, grads):
    """A node's gradients with zeros for the tensor outputs that received none (a non-tensor output,
    meta None, gets None, as torch's)."""
    some = next(g for g in grads if g is not None)
    meta = node._out_meta
    return [g if g is not None or meta[i] is None else _zeros_for(meta[i], some._data) for i, g in enumerate(grads)]


def _note_forward_trace(node, exc):
    """Anomaly mode: add to the error of a node's backward where its forward ran."""
    if node._anomaly_trace and hasattr(exc, "add_note"):
        exc.add_note(f"Traceback of forward call that created {node.name()}:\n{node._anomaly_trace}")


def _before_node(node, grads, create_graph, capture, captured):
    """What runs before a node's backward when it has any: the hooks of the tensors it made,
    retain_grad's copies, its pre-hooks, and autograd.grad's capture of its gradients."""
    hooks = node._tensor_hooks
    if hooks:
        for nr, fns in hooks.items():
            if grads[nr] is not None:
                for fn in list(fns.values()):
                    out = fn(grads[nr])
                    if out is not None:
                        _check_hook_result(fn, grads[nr], out)
                        grads[nr] = out
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if create_graph else grads[nr].detach()
                with _grad_lock(t):
                    t._grad = g.clone() if t._grad is None else t._grad + g
    if node._pre_hooks:
        for fn in list(node._pre_hooks.values()):
            out = fn(tuple(grads))
            if out is not None:
                grads = list(out)
    if capture is not None:
        for nr in range(len(grads)):
            idx = capture.get((node, nr))
            if idx is not None:
                captured[idx] = grads[nr]
    return grads


def _accumulate_leaf(var, grads, create_graph):
    """AccumulateGrad's step: ``var.grad += grads[0]`` under var's lock, then var's
    post-accumulate hooks."""
    try:
        lock = var._grad_lock
    except AttributeError:
        lock = _grad_lock(var)
    lock.acquire()  # (a `with lock:` block costs ~1000 machine instructions more)
    try:
        owned = var._grad is None and not create_graph and _owned(grads[0])
        _accumulate(var, grads[0], create_graph, owned)
        if var._post_accumulate_hooks:
            for fn in list(var._post_accumulate_hooks.values()):
                if fn(var) is not None:
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")
    finally:
        lock.release()


def _check_hook_result(fn, grad, out):
    """A tensor hook's replacement gradient keeps the gradient's shape and dtype (torch's errors)."""
    name = getattr(fn, "__name__", type(fn).__name__)
    if not isinstance(out, _Tensor):
        raise TypeError(f"hook '{name}' returned a {type(out).__name__}: a tensor hook must return a Tensor "
                        "(the new gradient) or None")
    if out._data.shape != grad._data.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value (was {list(grad.shape)}, got "
                           f"{list(out.shape)}): return a gradient of the tensor's shape")
    if out._data.dtype != grad._data.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.dtype} got {out.dtype}): "
                           f"return a gradient of dtype {grad.dtype}")


def _validate(node, result):
    """Check each gradient against its input: count, shape (summing broadcast dims), dtype."""
    edges = node._next
    n = len(edges)
    if len(result) != n:
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n}, got {len(result)})"
            )
    Tensor = _Tensor
    check_nan = anomaly._state.enabled and anomaly._state.check_nan
    out = result
    i = -1
    for fn, nr in edges:
        i += 1
        if fn is None:
            if nr and result[i] is not None:  # nr -1: the input was not a tensor
                raise _function.gradient_for_a_non_tensor(node, i)
            continue
        g = result[i]
        if g is None:
            continue
        if type(g) is not Tensor and not isinstance(g, Tensor):
            raise RuntimeError(  # (torch's type: 'expected Variable or None')
                f"function {node.name()} returned a {type(g).__name__} as gradient {i}; "
                "backward must return tensors (or None)"
            )
        if type(fn) is AccumulateGrad:
            var = fn.variable
            data = var._data
            shape, dtype = data.shape, data.dtype
            if "_grad_dtype" in var.__dict__:  # a leaf's grad_dtype: its gradients' dtype (None: theirs)
                grad_dtype = var.__dict__["_grad_dtype"]
                dtype = g._data.dtype if grad_dtype is None else grad_dtype.np
        else:
            shape, dtype = fn._out_meta[nr]
        data = g._data
        gdtype = data.dtype
        if data.shape == shape and (gdtype is dtype or gdtype == dtype) and not check_nan:
            continue
        if g._data.shape != shape:
            from ..ops._broadcast import sum_to_shape

            if not _expandable(shape, g._data.shape):
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(g.shape)} but expected shape compatible with {list(shape)}"
                )
            g = sum_to_shape(g, shape)
        if g._data.dtype != dtype:
            g = g.to(dtype=Tensor._dtype_of(dtype))
        if check_nan and g.isnan().any():
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
        if out is result:
            out = list(result)  # copied only when a gradient is replaced
        out[i] = g
    return out


def _expandable(shape, grad_shape):
    if len(shape) > len(grad_shape):
        return False
    for s, gs in zip(reversed(shape), reversed(grad_shape)):
        if s != gs and s != 1:
            return False
    return True


def _accumulate(var, g, create_graph, owned=False):
    """var.grad += g, under the caller's lock. The first gradient is taken as it is only if
    ``owned`` (only the engine holds g and its array: see ``_owned``); otherwise it is copied
    into a new contiguous, writable buffer, differentiably with ``create_graph``. Later ones
    are added out of place under ``create_graph`` (a graph of the sum), else in place, as torch's
    AccumulateGrad with grad mode off, even into a grad that requires grad (it stays the object)."""
    grad = var._grad
    if grad is None:
        if owned:
            var._grad = g
        elif create_graph:
            var._grad = g.clone()
        else:
            var._grad = _Tensor._make(g._data.copy())
    elif create_graph:
        var._grad = grad + g
    else:
        grad._data += g._data
        grad._vc[0] += 1


# ------------------------------------------------------------------------- public API


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Accumulate into the leaves' ``.grad`` the gradient of ``tensors`` (see Tensor.backward)."""
    tensors = [tensors] if type(tensors) is _Tensor else _as_list(tensors)  # (one tensor: no call)
    if grad_tensors is not None or grad_variables is not None:
        grad_tensors = _as_list(grad_tensors if grad_tensors is not None else grad_variables)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(tensors, grad_tensors, create_graph)
    capture = None
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        capture = _capture_points(inputs)
    if create_graph:
        _warn_create_graph_cycle()
    captured = run_backward(roots, retain_graph, create_graph, capture, accumulate=True)
    if inputs is not None:
        for t, g in zip(inputs, captured):
            if g is not None and t.grad_fn is not None:  # non-leaf inputs accumulate too
                with _grad_lock(t):
                    _accumulate(t, g, create_graph)


def _warn_create_graph_cycle():
    """torch's warning, once per process, for backward(create_graph=True)."""
    from .._warn_once import warn_once

    warn_once("backward create_graph",
              "Using backward() with create_graph=True will create a reference cycle between the parameter "
              "and its gradient which can cause a memory leak. We recommend using autograd.grad when "
              "creating the graph to avoid this. If you have to use this function, make sure to reset the "
              ".grad fields of your parameters to None after use to break the cycle and avoid the leak.",
              UserWarning)


def _capture_points(inputs):
    Tensor = _Tensor
    capture = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs must be tensors, got {type(t).__name__} at position {i}")
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
        refresh_if_stale(t)
        key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (_accumulator(t), 0)
        capture[key] = i
    return capture


def _detach_keeping_tangent(g):
    """g out of the graph, with its forward-AD tangent (itself out of the graph), as torch's
    autograd.grad returns inside a dual level."""
    from . import forward_ad

    t = forward_ad.tangent_of(g)
    g = g.detach()
    if t is not None:
        forward_ad.set_tangent(g, t.detach())
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    if not only_inputs:
        import warnings

        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.",
                      FutureWarning, stacklevel=2)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if is_grads_batched:
        from ._batched_grad import batched_grad

        return batched_grad(grad, outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                            materialize_grads)
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outputs, _as_list(grad_outputs), create_graph)
    capture = _capture_points(inputs)
    index = {id(t): i for i, t in enumerate(inputs)}
    captured = run_backward(roots, retain_graph, create_graph, capture, accumulate=False)
    result = []
    for t in inputs:
        g = captured[capture[(t.grad_fn, t._output_nr) if t.grad_fn is not None
                             else (_accumulator(t), 0)]]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {index[id(t)]} appears to not have "
                    "been used in the graph. Set allow_unused=True if this is the desired "
                    f"behavior. (It has shape {list(t.shape)}.)"
                )
            if materialize_grads:
                g = t.detach().new_zeros(t.shape) if hasattr(t, "new_zeros") else None
        elif not create_graph:
            g = g.detach() if _function.forward_hook is None else _detach_keeping_tangent(g)
        result.append(g)
    return tuple(result)
