"""jvp and jacfwd: forward-mode transforms, through retrograd.autograd.forward_ad."""

import functools

from ..autograd import forward_ad
from ..tensor import Tensor
from . import _batched, _pytree
from ._grad import _at_running_levels, _bottom, _check_argnums, _outside_inference, _split_aux, _wrap_levels


@_outside_inference
def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), the Jacobian-vector product J tangents) (torch.func.jvp); primals and
    tangents are tuples of tensors (or pytrees of them) of the same structure. ``strict``: an
    output that does not depend on the primals raises (else its tangent is zeros)."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be "
                           "valid to call f(*primals).")
    p_leaves, p_spec = _pytree.flatten(primals)
    t_leaves, t_spec = _pytree.flatten(tangents)
    if not isinstance(tangents, tuple) or len(p_leaves) != len(t_leaves) or \
            _pytree.describe(primals) != _pytree.describe(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
                           f"Got primals with structure {_pytree.describe(primals)} and tangents with structure "
                           f"{_pytree.describe(tangents)}")
    if not p_leaves:
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to contain at least one Tensor.")
    for p, t in zip(p_leaves, t_leaves):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to only contain Tensors")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have the same "
                               f"shape, got {tuple(p.shape)} and {tuple(t.shape)}")
    with forward_ad.dual_level():
        lift = any(type(p) is _batched.BatchedTensor for p in p_leaves)  # a batched primal (vmap(jvp))
        duals = [_make_dual(p, t) if lift else forward_ad.make_dual(p, t) for p, t in zip(p_leaves, t_leaves)]
        out = func(*_pytree.unflatten(duals, p_spec))
        if has_aux:
            out, aux = _split_aux(out, "jvp(f, primals, tangents)")
        out_leaves, out_spec = _pytree.flatten(out)
        primal_out, tangent_out = [], []
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"jvp(f, primals, tangents): Expected f(*primals) to return only tensors, "
                                   f"got unsupported type {type(o)}")
            value, tangent = _unpack_dual(o)
            if tangent is None and strict:
                raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is independent of "
                                   "the inputs. This is not allowed with strict=True.")
            primal_out.append(value)
            tangent_out.append(_zeros_like(value) if tangent is None else tangent)
    result = (_pytree.unflatten(primal_out, out_spec), _pytree.unflatten(tangent_out, out_spec))
    if has_aux:
        return result + (aux,)
    return result


def _make_dual(primal, tangent):
    """make_dual for a primal batched by vmap: the tangent goes on the ordinary tensor under
    the primal's BatchedTensors (both brought to every running vmap level), so the batched ops'
    rules carry it; the dual is wrapped back at those levels. (On the BatchedTensor itself the
    ops, which run on the tensor underneath, never saw it: vmap(jacfwd(f)) gave zero Jacobians.)"""
    value, levels = _at_running_levels(*_bottom(primal))
    tangent_value, _ = _at_running_levels(*_bottom(tangent))
    return _wrap_levels(forward_ad.make_dual(value, tangent_value), levels)


def _unpack_dual(out):
    """(primal, tangent or None) of an output, read on the ordinary tensor under its vmap levels."""
    value, levels = _bottom(out)
    primal, tangent = forward_ad.unpack_dual(value)
    return _wrap_levels(primal, levels), None if tangent is None else _wrap_levels(tangent, levels)


def _zeros_like(x):
    from ..creation import zeros_like

    return zeros_like(x)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``func`` at the inputs ``argnums`` by forward mode: one jvp per input
    element, batched by vmap over the basis of tangents (torch.func.jacfwd)."""

    @functools.wraps(func)
    @_outside_inference
    def wrapped(*args, **kwargs):
        from ..creation import eye, zeros
        from ._vmap import vmap

        nums = _check_argnums(argnums, len(args))
        flat, specs = [], []
        for i in nums:
            leaves, spec = _pytree.flatten(args[i])
            flat.extend(leaves)
            specs.append((spec, len(leaves)))
        sizes = [x.numel() for x in flat]
        total = sum(sizes)
        dtype = flat[0].dtype

        def partial(*leaves):
            full, k = list(args), 0
            for i, (spec, n) in zip(nums, specs):
                full[i] = _pytree.unflatten(list(leaves[k:k + n]), spec)
                k += n
            return func(*full, **kwargs)

        def push(basis_row):
            tangents, k = [], 0
            for x, n in zip(flat, sizes):
                tangents.append(basis_row[k:k + n].reshape(tuple(x.shape)).to(x.dtype))
                k += n
            result = jvp(partial, tuple(flat), tuple(tangents), has_aux=has_aux)
            return (result[1], result[2]) if has_aux else result[1]

        basis = eye(total, dtype=dtype)
        pushed = vmap(push, randomness=randomness)(basis) if total else None
        if total == 0:
            raise RuntimeError("jacfwd: the inputs have no elements")
        if has_aux:
            jac_cols, aux = pushed
            aux = _pytree.unflatten([a.select(0, 0) for a in _pytree.flatten(aux)[0]], _pytree.flatten(aux)[1])
        else:
            jac_cols = pushed
        out_leaves, out_spec = _pytree.flatten(jac_cols)
        jacs = []
        for col in out_leaves:  # (total, *out.shape): split by input, move the input dims last
            per_input, k = [], 0
            out_shape = tuple(col.shape[1:])
            for x, n in zip(flat, sizes):
                part = col.narrow(0, k, n) if n else zeros((0,) + out_shape, dtype=col.dtype)
                part = part.movedim(0, -1) if part.ndim > 1 else part
                per_input.append(part.reshape(out_shape + tuple(x.shape)))
                k += n
            grouped, k = [], 0
            for spec, n in specs:
                grouped.append(_pytree.unflatten(per_input[k:k + n], spec))
                k += n
            jacs.append(grouped[0] if isinstance(argnums, int) else tuple(grouped))
        jac = _pytree.unflatten(jacs, out_spec)
        return (jac, aux) if has_aux else jac

    return wrapped
