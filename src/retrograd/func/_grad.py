"""grad, grad_and_value, vjp, jacrev, hessian: reverse-mode transforms of functions.

Each call differentiates with retrograd's autograd: the chosen inputs become fresh graph
inputs (an alias of an input that already requires grad, so that an outer grad sees through
this one), the function runs, and autograd.grad takes the derivative. Under vmap the inputs
are first batched at every running vmap (an unbatched one expanded), so that autograd, which
sees the whole batch, returns each sample's own gradient.
"""

import functools

from ..autograd import engine, forward_ad
from ..autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, is_inference, is_inference_mode_enabled
from ..tensor import Tensor
from . import _batched, _pytree

_depth = [0]  # grad transforms running now (their outputs must keep a graph for the outer ones)


def _check_argnums(argnums, n):
    if isinstance(argnums, int):
        nums = (argnums,)
    elif isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    nums = tuple(a % n for a in nums)
    if len(set(nums)) != len(nums):
        raise RuntimeError(f"argnums elements must be unique, got {nums}")
    return nums


def _bottom(t):
    """(the ordinary tensor under ``t``'s vmap wrappers, the levels outermost first)."""
    levels = []
    while type(t) is _batched.BatchedTensor:
        levels.append(t._level)
        t = t._value
    return t, levels[::-1]


def _prepare(x):
    """A differentiable copy of input ``x`` batched at every running vmap: (what ``f`` gets,
    the ordinary tensor autograd differentiates, its levels)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    value, levels = _bottom(x)
    frames = _batched.active_levels()
    tangent = forward_ad.tangent_of(value) if forward_ad._levels.level is not None else None
    if tangent is not None and (frames or levels):
        raise NotImplementedError(
            "retrograd.func: a reverse-mode transform (grad, vjp, jacrev) of an input that carries a "
            "forward-mode tangent inside vmap (jacfwd(grad(f)), hessian through jacfwd) is not "
            "supported; use jacrev(jacrev(f)), or jvp(grad(f), ...) outside vmap")
    value, levels = _at_running_levels(value, levels)
    if is_inference(value):  # (made in inference mode, taken as a normal tensor: see _outside_inference)
        value = Tensor._make(value._data, value.requires_grad)
    if value.requires_grad:
        leaf = value.view_as(value)
    else:
        leaf = value.detach()
        if not leaf.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        leaf.requires_grad_(True)
        if tangent is not None:  # forward over reverse (jvp of grad): the leaf keeps x's tangent
            forward_ad.set_tangent(leaf, tangent)
    return _wrap_levels(leaf, levels), leaf, levels


def _at_running_levels(value, levels):
    """(``value``, the ordinary tensor under a BatchedTensor of vmap ``levels``, with a batch dim
    inserted, expanded, where each running vmap it lacks belongs; all the running levels)."""
    levels = list(levels)
    for pos, frame in enumerate(_batched.active_levels()):  # outermost first
        if frame.level not in levels:
            value = value.unsqueeze(pos)
            shape = list(value.shape)
            shape[pos] = frame.batch_size
            value = value.expand(tuple(shape))
            levels.insert(pos, frame.level)
    return value, levels


def _wrap_levels(value, levels):
    """``value`` batched at vmap ``levels`` (ascending; their dims lead ``value``'s logical
    shape in that order). ``value`` may itself be batched at other levels: the result keeps
    the layout of nested BatchedTensors (the ordinary tensor's dims in ascending level order)."""
    if not levels:
        return value
    phys, own = _bottom(value)
    if not own:
        for level in levels:
            phys = _batched.wrap(phys, level)
        return phys
    combined = sorted(own + list(levels))
    perm = [own.index(lv) if lv in own else len(own) + list(levels).index(lv) for lv in combined]
    perm += list(range(len(combined), phys.ndim))
    if perm != list(range(phys.ndim)):
        phys = phys.permute(tuple(perm))
    for level in combined:
        phys = _batched.wrap(phys, level)
    return phys


def _needs_graph(inputs):
    """Whether the gradients must keep a graph: under an outer grad transform, for inputs that
    require grad, and under forward AD (jvp of grad: the backward's ops carry tangents)."""
    return forward_ad._levels.level is not None or is_grad_enabled() and (
        _depth[0] > 0 or any(getattr(x, "requires_grad", False) for x in inputs))


def _differentiate(outputs, leaves, levels, grad_outputs, keep_graph):
    """d(sum of outputs * grad_outputs)/d leaves, each wrapped back at its vmap levels; zeros
    for a leaf the outputs do not depend on."""
    outs, gos, above = [], [], False
    for o, g in zip(outputs, grad_outputs):
        ob, o_levels = _bottom(o)
        if not ob.requires_grad:
            continue
        if g is None:
            from ..creation import ones_like

            gb = ones_like(ob)
        else:
            gb, g_levels = _bottom(g)
            extra = [lv for lv in g_levels if lv not in o_levels]
            if extra:  # cotangents batched where the graph is not (jacrev): backward runs batched
                above = True
                gb = _strip(g, o_levels)
            elif gb.shape != ob.shape:
                gb = gb.expand(tuple(ob.shape))
        outs.append(ob)
        gos.append(gb)
    if outs:
        grads = engine.grad(outs, leaves, gos, retain_graph=keep_graph or above,
                            create_graph=keep_graph or above, allow_unused=True)
    else:
        grads = [None] * len(leaves)
    from ..creation import zeros_like

    return [_wrap_levels(zeros_like(leaf) if g is None else g, lv) for g, leaf, lv in zip(grads, leaves, levels)]


def _strip(g, levels):
    """Cotangent ``g`` laid out for an output batched at vmap ``levels``: those levels' dims
    first as ordinary dims (expanded where ``g`` lacks them), ``g``'s other levels kept as
    BatchedTensor levels; the gradient that flows into the output's graph."""
    value, g_levels = _bottom(g)
    extra = [lv for lv in g_levels if lv not in levels]
    order = [g_levels.index(lv) for lv in extra] + [g_levels.index(lv) for lv in levels if lv in g_levels]
    value = value.permute(tuple(order) + tuple(range(len(g_levels), value.ndim)))
    frames = _batched.active_levels()
    for pos, lv in enumerate(levels):
        if lv not in g_levels:
            at = len(extra) + pos
            value = value.unsqueeze(at)
            shape = list(value.shape)
            shape[at] = frames[lv - 1].batch_size
            value = value.expand(tuple(shape))
    return _wrap_levels(value, extra)


def _graph_reaches_outside(outputs, leaves):
    """True when the outputs' graph reaches a tensor that requires grad other than ``leaves``
    (a tensor the function closed over): the gradients then keep their graph to it."""
    mine = {id(leaf) for leaf in leaves}
    mine_nodes = {id(leaf.grad_fn) for leaf in leaves if leaf.grad_fn is not None}
    seen, stack = set(), []
    for o in outputs:
        ob, _ = _bottom(o)
        if ob.grad_fn is not None:
            stack.append(ob.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen or id(node) in mine_nodes:
            continue
        seen.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None:
            if id(var) not in mine:
                return True
            continue
        for fn, _ in getattr(node, "_next", ()) or ():
            if fn is not None:
                stack.append(fn)
    return False


def _outside_inference(transform):
    """``transform`` run outside inference mode, as torch's transforms work inside it: their
    tensor arguments made in inference mode are taken as normal tensors (aliases of the same
    memory), and every tensor they make is a normal tensor that autograd records."""

    @functools.wraps(transform)
    def run(*args, **kwargs):
        if not is_inference_mode_enabled():
            return transform(*args, **kwargs)
        with inference_mode(False):
            leaves, spec = _pytree.flatten(args)
            args = _pytree.unflatten([_normal_alias(x) for x in leaves], spec)
            return transform(*args, **kwargs)

    return run


def _normal_alias(x):
    if isinstance(x, Tensor) and type(x) is Tensor and is_inference(x):
        return Tensor._make(x._data, x.requires_grad)
    return x


def _call_prepared(func, args, argnums):
    """Run ``func`` with the inputs at ``argnums`` (pytrees) made differentiable."""
    args = list(args)
    specs, all_leaves, all_levels = [], [], []
    for i in argnums:
        leaves, spec = _pytree.flatten(args[i])
        ready = [_prepare(x) for x in leaves]
        args[i] = _pytree.unflatten([r[0] for r in ready], spec)
        specs.append(spec)
        all_leaves.append([r[1] for r in ready])
        all_levels.append([r[2] for r in ready])
    _depth[0] += 1
    try:
        with enable_grad():
            out = func(*args)
    finally:
        _depth[0] -= 1
    return out, specs, all_leaves, all_levels


def _unflatten_grads(grads, specs, all_leaves, argnums_in):
    result, k = [], 0
    for spec, leaves in zip(specs, all_leaves):
        result.append(_pytree.unflatten(grads[k:k + len(leaves)], spec))
        k += len(leaves)
    return result[0] if isinstance(argnums_in, int) else tuple(result)


def _detach_tree(tree, keep):
    if keep:
        return tree
    leaves, spec = _pytree.flatten(tree)
    return _pytree.unflatten([_detach(x) for x in leaves], spec)


def _detach(x):
    if not isinstance(x, Tensor):
        return x
    value, levels = _bottom(x)
    return _wrap_levels(value.detach(), levels)


def _split_aux(out, where):
    """(output, aux) of a function called with has_aux: torch's errors for another shape of
    result, or an aux that holds something other than tensors. ``where`` names the call."""
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{where}: output of function f should be a tuple: (output, aux) if has_aux is True")
    out, aux = out
    for a in _pytree.flatten(aux)[0]:
        if not isinstance(a, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(a)}")
    return out, aux


def grad_and_value(func, argnums=0, has_aux=False):
    """(gradient of ``func`` at the inputs ``argnums``, ``func``'s value); with ``has_aux``
    func returns (output, aux) and the value is (output, aux) (torch.func.grad_and_value)."""

    @functools.wraps(func)
    @_outside_inference
    def wrapped(*args, **kwargs):
        nums = _check_argnums(argnums, len(args))
        outer = [x for i in nums for x in _pytree.flatten(args[i])[0]]
        keep = _needs_graph(outer)
        out, specs, all_leaves, all_levels = _call_prepared(lambda *a: func(*a, **kwargs), args, nums)
        if has_aux:
            out, aux = _split_aux(out, "grad_and_value(f)(*args)")
        if not isinstance(out, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
        if out.ndim != 0:
            raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                               f"got tensor with {out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        leaves = [x for ls in all_leaves for x in ls]
        levels = [x for ls in all_levels for x in ls]
        keep = keep or (is_grad_enabled() and _graph_reaches_outside([out], leaves))
        grads = _differentiate([out], leaves, levels, [None], keep)
        g = _unflatten_grads(grads, specs, all_leaves, argnums)
        value = _detach_tree(out, keep)
        if has_aux:
            return _detach_tree(g, keep), (value, _detach_tree(aux, keep))
        return _detach_tree(g, keep), value

    return wrapped


def grad(func, argnums=0, has_aux=False):
    """The gradient of scalar-valued ``func`` with respect to the inputs at ``argnums`` (an
    int or a tuple of ints; each input a tensor or a pytree of them) (torch.func.grad)."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


@_outside_inference
def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn): vjp_fn(cotangents) gives the vector-Jacobian products for
    each primal (torch.func.vjp)."""
    nums = tuple(range(len(primals)))
    outer = [x for p in primals for x in _pytree.flatten(p)[0]]
    keep_outer = _needs_graph(outer)
    out, specs, all_leaves, all_levels = _call_prepared(func, primals, nums)
    if has_aux:
        out, aux = _split_aux(out, "vjp(f, *primals)")
    out_leaves, out_spec = _pytree.flatten(out)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): Expected f to be a function that has non-empty output "
                               f"(got {type(o)}); outputs must be Tensors")
    leaves = [x for ls in all_leaves for x in ls]
    levels = [x for ls in all_levels for x in ls]
    depth_at_call = _depth[0]

    @_outside_inference
    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        ct_leaves, ct_spec = _pytree.flatten(cotangents)
        if ct_spec != out_spec:  # (a list for a tuple, or other dict keys, too)
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree "
                               f"structure of outputs to the function. cotangents: {_pytree.describe(cotangents)}, "
                               f"primal output: {_pytree.describe(out)}")
        for o, c in zip(out_leaves, ct_leaves):
            if not isinstance(c, Tensor):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(c).__name__}"
                                if c is not None else "vjp_fn: a None cotangent is not supported: pass zeros")
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(c.shape)} and "
                                   f"output[0] has a shape of {tuple(o.shape)}.")
        keep = create_graph if create_graph is not None else (
            keep_outer or depth_at_call > 0 or _depth[0] > 0
            or (is_grad_enabled() and (any(getattr(c, "requires_grad", False) for c in ct_leaves)
                                       or _graph_reaches_outside(out_leaves, leaves))))
        grads = _differentiate(out_leaves, leaves, levels, ct_leaves, keep or retain_graph)
        g = _unflatten_grads(grads, specs, all_leaves, nums)
        return _detach_tree(g, keep)

    keep = keep_outer or (is_grad_enabled() and _graph_reaches_outside(out_leaves, leaves))
    primal_out = _detach_tree(out, keep)
    if has_aux:
        return primal_out, vjp_fn, _detach_tree(aux, keep)
    return primal_out, vjp_fn


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of ``func`` at the inputs ``argnums`` by reverse mode: one vjp per output
    element, batched by vmap over the basis of cotangents (torch.func.jacrev). ``chunk_size``:
    rows of the Jacobian per vmapped call (1: a plain loop)."""
    if _preallocate_and_copy:
        raise NotImplementedError("jacrev: _preallocate_and_copy=True is not supported")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    @_outside_inference
    def wrapped(*args, **kwargs):
        from ..creation import eye
        from ._vmap import vmap

        nums = _check_argnums(argnums, len(args))
        primals = tuple(args[i] for i in nums)

        def partial(*p):
            full = list(args)
            for i, v in zip(nums, p):
                full[i] = v
            return func(*full, **kwargs)

        result = vjp(partial, *primals, has_aux=has_aux)
        out, vjp_fn = result[0], result[1]
        out_leaves, out_spec = _pytree.flatten(out)
        jac_per_out = []
        for k, o in enumerate(out_leaves):
            n = o.numel()
            basis = eye(n, dtype=o.dtype, device=o.device)

            def row(v, k=k):
                cts = [v.reshape(tuple(o.shape)) if j == k else _zeros_like(x)
                       for j, x in enumerate(out_leaves)]
                return vjp_fn(_pytree.unflatten(cts, out_spec))

            if n == 0:
                rows = tuple(_empty_jac(o, p) for p in primals)
            else:
                rows = vmap(row, chunk_size=chunk_size)(basis)
            # rows: one tuple entry per primal (pytree), each (n, *primal.shape)
            flat_rows, row_spec = _pytree.flatten(rows)
            flat_rows = [r.reshape(tuple(o.shape) + tuple(r.shape[1:])) for r in flat_rows]
            jac_per_out.append(_pytree.unflatten(flat_rows, row_spec))
        jac = [j if isinstance(argnums, tuple) else j[0] for j in jac_per_out]
        jac = _pytree.unflatten(jac, out_spec)
        if has_aux:
            return jac, result[2]
        return jac

    return wrapped


def _zeros_like(x):
    from ..creation import zeros_like

    return zeros_like(x)


def _empty_jac(o, p):
    from ..creation import zeros

    return zeros((0,) + tuple(p.shape), dtype=p.dtype)


def hessian(func, argnums=0):
    """The Hessian of scalar ``func`` at the inputs ``argnums``. torch computes
    jacfwd(jacrev(func)); retrograd computes jacrev(jacrev(func)), the same matrix by reverse
    mode twice (forward mode over a vmapped reverse pass is not supported here)."""
    return jacrev(jacrev(func, argnums), argnums)
