"""linearize: func's value at primals, and a function giving its Jacobian-vector products there
(torch.func.linearize), by retrograd's forward AD."""

from ..tensor import Tensor
from . import _pytree
from ._forward import jvp


def linearize(func, *primals):
    """(func(*primals), jvp_fn): jvp_fn(*tangents) is J tangents, J the Jacobian of func at
    primals (tangents shaped as primals, of their dtypes). jvp_fn runs func again under forward
    AD at each call; PyTorch replays a graph traced once, so there func's Python side effects do
    not repeat (and data-dependent control flow raises)."""
    p_leaves, _ = _pytree.flatten(primals)
    for p in p_leaves:
        if not isinstance(p, Tensor):
            raise AttributeError(f"'{type(p).__name__}' object has no attribute 'new_empty' (linearize's primals "
                                 "must be tensors, or pytrees of them)")
    output = func(*primals)
    out_leaves, _ = _pytree.flatten(output)
    if any(not isinstance(o, Tensor) for o in out_leaves):
        raise RuntimeError(f"linearize(func, *primals): Expected func to return only tensors, got "
                           f"{_pytree.describe(output)}")
    def jvp_fn(*tangents):
        t_leaves, t_spec = _pytree.flatten(tangents)
        if _pytree.describe(tangents) != _pytree.describe(primals) or len(t_leaves) != len(p_leaves):
            raise RuntimeError(f"Expected the tangents {_pytree.describe(tangents)} to have the same argspec as "
                               f"the primals {_pytree.describe(primals)}")
        for i, (t, p) in enumerate(zip(t_leaves, p_leaves)):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"tangent:{i} in flattened pytree is a {type(t).__name__}, not a Tensor")
            if tuple(t.shape) != tuple(p.shape):
                raise RuntimeError(f"tangent:{i} with shape {t.shape} in flattened pytree doesn't match the shape "
                                   f"{p.shape} of the corresponding primal.")
            if t.dtype != p.dtype:
                raise RuntimeError(f"tangent:{i} with dtype {t.dtype} in flattened pytree doesn't match the dtype "
                                   f"{p.dtype} of the corresponding primal.")
        # at the primals themselves: an in-place change of one moves the point, as torch's
        return jvp(func, primals, tangents)[1]

    return output, jvp_fn
