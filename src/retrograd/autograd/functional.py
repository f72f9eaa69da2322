"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp, built on autograd.grad
and forward-mode AD (autograd.forward_ad).

Inputs are differentiated as fresh leaves (detached copies that require grad, or views of
the inputs when ``create_graph=True``, so that the results stay differentiable in them).
``hvp`` is forward-over-reverse (the tangent of the gradient); ``jvp`` is torch's double-backward
trick, as torch's. ``jacobian(vectorize=True)`` batches its passes with retrograd.func.vmap, as
torch's: the vjps of all the rows of an output at once (reverse mode), or the jvps of all the
input elements' basis vectors at once (``strategy="forward-mode"``, which needs vectorize=True).
"""

from .engine import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _as_tuple(x, what, name):
    """(the tensors, whether x was a tuple); torch's TypeError unless x is a Tensor or a tuple of them."""
    Tensor = _tensor_cls()
    if isinstance(x, Tensor):
        return (x,), False
    if not isinstance(x, tuple):
        raise TypeError(f"The {what} given to {name} must be either a Tensor or a tuple of Tensors but the given "
                        f"{what} has type {type(x)}." + (" Pass tuple(...) instead of a list." if isinstance(x, list)
                                                         else ""))
    for i, el in enumerate(x):
        if not isinstance(el, Tensor):
            raise TypeError(f"The {what} given to {name} must be either a Tensor or a tuple of Tensors but the "
                            f"element {i} of the given {what} has type {type(el)}.")
    return x, True


def _prepare(inputs, create_graph):
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))  # stays connected to the caller's graph
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _finish(tensors, create_graph):
    return tuple(t if t is None or create_graph else t.detach() for t in tensors)


def _fill_unused(grads, like, strict, what):
    out = []
    for i, (g, x) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode ({what}).")
            g = x.detach().new_zeros(x.shape)
        out.append(g)
    return tuple(out)


def _check_v(v, outputs, name):
    v, _ = _as_tuple(v, "v", name)
    if len(v) != len(outputs):
        raise RuntimeError(f"{name}: v has {len(v)} tensors but there are {len(outputs)} outputs")
    for i, (a, b) in enumerate(zip(v, outputs)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"{name}: entry {i} of v has shape {list(a.shape)} but the "
                               f"corresponding tensor has shape {list(b.shape)}")
    return v


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    with enable_grad():
        inputs, tuple_in = _as_tuple(inputs, "inputs", 'vjp')
        xs = _prepare(inputs, create_graph)
        outputs, tuple_out = _as_tuple(func(*xs), "outputs of the user-provided function", 'vjp')
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function "
                                   "returns a single Tensor with a single element.")
            v = (outputs[0].detach().new_ones(outputs[0].shape),)
        v = _check_v(v, outputs, "vjp")
        diff = [(o, g) for o, g in zip(outputs, v) if o.requires_grad]
        grads = (None,) * len(xs)
        if diff:
            grads = _grad([o for o, _ in diff], xs, [g for _, g in diff],
                          create_graph=create_graph, allow_unused=True)
        grads = _fill_unused(grads, xs, strict, "vjp")
    outputs, grads = _finish(outputs, create_graph), _finish(grads, create_graph)
    return (outputs if tuple_out else outputs[0]), (grads if tuple_in else grads[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp
    (the "double backward trick")."""
    with enable_grad():
        inputs, tuple_in = _as_tuple(inputs, "inputs", 'jvp')
        xs = _prepare(inputs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the "
                                   "user-provided function is a single Tensor with a single element.")
            v = (xs[0].detach().new_ones(xs[0].shape),)
        v = _check_v(v, xs, "jvp")
        outputs, tuple_out = _as_tuple(func(*xs), "outputs of the user-provided function", 'jvp')
        # u is a dummy cotangent; J v = d(u^T J v)/du, and u^T J is linear in u
        us = tuple(o.detach().new_zeros(o.shape).requires_grad_(True) for o in outputs)
        diff = [(o, u) for o, u in zip(outputs, us) if o.requires_grad]
        if diff:
            g = _grad([o for o, _ in diff], xs, [u for _, u in diff], create_graph=True,
                      allow_unused=True)
            pairs = [(gi, vi) for gi, vi in zip(g, v) if gi is not None]
            if pairs:
                jv = _grad([gi for gi, _ in pairs], us, [vi for _, vi in pairs],
                           create_graph=create_graph, allow_unused=True)
            else:
                jv = (None,) * len(us)
        else:
            jv = (None,) * len(us)
        jv = _fill_unused(jv, outputs, strict, "jvp")
    outputs, jv = _finish(outputs, create_graph), _finish(jv, create_graph)
    return (outputs if tuple_out else outputs[0]), (jv if tuple_out else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs, by reverse mode one row of the output at a time, or all rows
    at once with ``vectorize=True`` (vmap over the output gradients); or by forward-mode AD
    (strategy="forward-mode", which needs vectorize=True, as torch), all columns at once (vmap
    over the tangents). Shapes: output.shape + input.shape; tuples of tuples for several
    outputs/inputs."""
    _check_strategy(strategy, vectorize, strict)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and `strategy=\"forward-mode\"` are "
                "not supported together (yet). Please either set `create_graph=False` or "
                "`strategy=\"reverse-mode\"`.")
        return _jacfwd(func, inputs, strict, vectorize)
    if vectorize:
        return _jacrev_vectorized(func, inputs, create_graph)
    with enable_grad():
        inputs, tuple_in = _as_tuple(inputs, "inputs", 'jacobian')
        xs = _prepare(inputs, create_graph)
        outputs, tuple_out = _as_tuple(func(*xs), "outputs of the user-provided function", 'jacobian')
        jac = []
        for out in outputs:
            flat = out.reshape(-1)
            rows = [[] for _ in xs]
            for k in range(flat.numel()):
                if out.requires_grad:
                    g = _grad(flat[k], xs, retain_graph=True, create_graph=create_graph,
                              allow_unused=True)
                else:
                    g = (None,) * len(xs)
                g = _fill_unused(g, xs, strict, "jacobian")
                for r, gi in zip(rows, g):
                    r.append(gi)
            per_input = []
            for x, r in zip(xs, rows):
                if r:
                    from ..ops.join import stack

                    block = stack(r).reshape(tuple(out.shape) + tuple(x.shape))
                else:
                    block = x.detach().new_zeros(tuple(out.shape) + tuple(x.shape))
                per_input.append(block if create_graph else block.detach())
            jac.append(tuple(per_input))
    return _nest(jac, tuple_in, tuple_out)


def _nest(jac, tuple_in, tuple_out):
    """jac[output][input] as torch returns it: tuples only where the inputs/outputs were."""
    if not tuple_out:
        return jac[0] if tuple_in else jac[0][0]
    return tuple(j if tuple_in else j[0] for j in jac)


def _jacrev_vectorized(func, inputs, create_graph):
    """The Jacobian by reverse mode, all the rows of an output at once: vmap of the vjp
    (retrograd.func.vjp) over the standard basis of that output."""
    from ..creation import eye, zeros_like
    from ..func import vjp as _func_vjp
    from ..func import vmap

    inputs, tuple_in = _as_tuple(inputs, "inputs", 'jacobian')
    structure = {}

    def outputs_of(*xs):
        outs, structure["tuple_out"] = _as_tuple(func(*xs), "outputs of the user-provided function", 'jacobian')
        return outs

    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outputs, vjp_fn = _func_vjp(outputs_of, *xs)
        jac = []
        for k, out in enumerate(outputs):
            def row(v, k=k):
                cts = tuple(v.reshape(out.shape) if j == k else zeros_like(o) for j, o in enumerate(outputs))
                return vjp_fn(cts, create_graph=create_graph)
            n = out.numel()
            rows = vmap(row)(eye(n, dtype=out.dtype, device=out.device)) if n else \
                tuple(x.detach().new_zeros((0,) + tuple(x.shape)) for x in xs)
            blocks = []
            for x, r in zip(xs, rows):
                block = r.reshape(tuple(out.shape) + tuple(x.shape))
                blocks.append(block if create_graph else block.detach())
            jac.append(tuple(blocks))
    return _nest(jac, tuple_in, structure["tuple_out"])


def _check_strategy(strategy, vectorize, strict):
    """torch's argument checks of jacobian."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strict and vectorize and strategy == "reverse-mode":
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")


def _jacfwd(func, inputs, strict, vectorize):
    """The Jacobian by forward-mode AD: column k is the tangent of the outputs for the k-th
    standard basis vector of the (flattened, concatenated) inputs, all columns at once (vmap
    of the jvp over the basis)."""
    from ..creation import eye
    from ..func import jvp as _func_jvp
    from ..func import vmap

    if strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` "
                           "are not supported together (yet). Please either set `strict=False` or "
                           "`strategy=\"reverse-mode\"`.")
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                  "only implemented for `vectorize=True`.")
    inputs, tuple_in = _as_tuple(inputs, "inputs", 'jacobian')
    sizes = [x.numel() for x in inputs]
    structure = {}

    def outputs_of(*xs):
        outs, structure["tuple_out"] = _as_tuple(func(*xs), "outputs of the user-provided function", 'jacobian')
        return outs

    def push(basis_row):
        tangents, k = [], 0
        for x, n in zip(inputs, sizes):
            tangents.append(basis_row[k:k + n].reshape(tuple(x.shape)).to(x.dtype))
            k += n
        return _func_jvp(outputs_of, tuple(inputs), tuple(tangents))[1]

    total = sum(sizes)
    if total:
        columns = vmap(push)(eye(total, dtype=inputs[0].dtype, device=inputs[0].device))
    else:  # no input elements: empty Jacobians
        columns = tuple(o.detach().new_zeros((0,) + tuple(o.shape)) for o in outputs_of(*inputs))
    jac = []
    for col in columns:  # (total, *out.shape): split by input, the input dims last
        out_shape, blocks, k = tuple(col.shape[1:]), [], 0
        for x, n in zip(inputs, sizes):
            part = col.detach().narrow(0, k, n)
            part = part.movedim(0, -1) if part.ndim > 1 else part
            blocks.append(part.reshape(out_shape + tuple(x.shape)))
            k += n
        jac.append(tuple(blocks))
    return _nest(jac, tuple_in, structure["tuple_out"])


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """Second derivatives of a scalar function: shape input.shape + input.shape."""
    inputs_t, tuple_in = _as_tuple(inputs, "inputs", 'hessian')

    def grad_fn(*xs):
        if outer_jacobian_strategy == "forward-mode":  # the dual inputs are the inner pass's leaves, as torch's
            xs = tuple(x.requires_grad_(True) for x in xs)
        with enable_grad():
            return _grad_of(xs)

    def _grad_of(xs):
        out = _scalar_output(func(*xs), "hessian")
        g = _grad(out, xs, create_graph=True, allow_unused=True)
        return tuple(gi if gi is not None else x.detach().new_zeros(x.shape) * x.sum()
                     for gi, x in zip(g, xs))

    h = jacobian(grad_fn, inputs_t, create_graph=create_graph, strict=strict, vectorize=vectorize,
                 strategy=outer_jacobian_strategy)
    return h if tuple_in else h[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, forward-over-reverse: the tangent, along v,
    of the gradient (one forward-mode pass through the backward). Where a custom Function
    has no ``jvp``, torch's double-backward trick instead (torch's hvp works there too)."""
    try:
        return _hvp_forward_over_reverse(func, inputs, v, create_graph, strict)
    except NotImplementedError as e:
        if "You must implement the jvp function" not in str(e):
            raise
        return _hessian_product(func, inputs, v, create_graph, strict, "hvp")  # H symmetric: H v = v^T H


def _hvp_forward_over_reverse(func, inputs, v, create_graph, strict):
    from . import forward_ad as fwAD

    with enable_grad():
        inputs, tuple_in = _as_tuple(inputs, "inputs", 'hvp')
        xs = _prepare(inputs, create_graph)
        v = _default_v(v, xs)
        v = _check_v(v, xs, "hvp")
        with fwAD.dual_level():
            duals = tuple(fwAD.make_dual(x, vi) for x, vi in zip(xs, v))
            out = _scalar_output(func(*duals), "hvp")
            g = _grad(out, duals, create_graph=True, allow_unused=True)
            hv = tuple(None if gi is None else fwAD.unpack_dual(gi).tangent for gi in g)
            out = fwAD.unpack_dual(out).primal
        hv = _fill_unused(hv, xs, strict, "hvp")
    out, hv = _finish((out,), create_graph)[0], _finish(hv, create_graph)
    return out, (hv if tuple_in else hv[0])


def _default_v(v, xs):
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single element.")
        v = (xs[0].detach().new_ones(xs[0].shape),)
    return v


def _scalar_output(out, name):
    outs, is_tuple = _as_tuple(out, "outputs of the user-provided function", name)
    if is_tuple:
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if out.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should contain a single element "
                           f"(it has shape {list(out.shape)}): reduce it, e.g. with .sum()")
    return out


def _hessian_product(func, inputs, v, create_graph, strict, name):
    """v^T H by differentiating <grad, v> (the double-backward trick)."""
    with enable_grad():
        inputs, tuple_in = _as_tuple(inputs, "inputs", name)
        xs = _prepare(inputs, create_graph)
        out = _scalar_output(func(*xs), name)
        v = _check_v(_default_v(v, xs), xs, name)
        g = _grad(out, xs, create_graph=True, allow_unused=True)
        pairs = [(gi, vi) for gi, vi in zip(g, v) if gi is not None and gi.requires_grad]
        hv = (None,) * len(xs)
        if pairs:
            hv = _grad([gi for gi, _ in pairs], xs, [vi for _, vi in pairs],
                       create_graph=create_graph, allow_unused=True)
        hv = _fill_unused(hv, xs, strict, name)
    out, hv = _finish((out,), create_graph)[0], _finish(hv, create_graph)
    return out, (hv if tuple_in else hv[0])
