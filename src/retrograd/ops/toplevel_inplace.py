"""torch's top-level in-place functions: ``torch.sigmoid_(x)`` is ``x.sigmoid_()``, and so for every
in-place op torch has at top level (exp_, sqrt_, clamp_, zero_, fill_, index_put_, ...), each
calling the Tensor method (ops/_inplace.py's machinery: version counters, autograd's checks).

Also the in-place Tensor methods torch has whose op families registered none (addmv_, addmm_,
addbmm_, baddbmm_, addr_, gcd_, lcm_, ldexp_, copysign_, heaviside_, nextafter_), torch.fill (fill_'s
out-of-place form) and torch.embedding_renorm_.
"""

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from ._inplace import LEAF_ERROR, make_inplace
from .comparison import where
from .linalg import addbmm, addmm, addmv, addr, baddbmm
from .numeric import copysign, gcd, heaviside, lcm, ldexp, nextafter

for _name, _op in [("addmv_", addmv), ("addmm_", addmm), ("addbmm_", addbmm), ("baddbmm_", baddbmm),
                   ("addr_", addr), ("gcd_", gcd), ("lcm_", lcm), ("ldexp_", ldexp), ("copysign_", copysign),
                   ("heaviside_", heaviside), ("nextafter_", nextafter)]:
    setattr(Tensor, _name, make_inplace(_op, _name))

# torch 2.13's top-level in-place names (dir(torch)) that call the Tensor method of the same name
_METHODS = ["abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
            "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_",
            "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_",
            "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_",
            "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "round_", "rsqrt_",
            "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_"]

__all__ = list(_METHODS) + ["fill", "embedding_renorm_"]


def _calling_method(name):
    def fn(input, *args, **kwargs):
        return getattr(Tensor, name)(input, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"In place: ``torch.{name}(input, ...)`` is ``input.{name}(...)``; returns input."
    return fn


for _name in _METHODS:
    globals()[_name] = _calling_method(_name)


def fill(input, value):
    """A tensor of input's shape and dtype holding ``value`` (a number or a 0-dim tensor) everywhere;
    differentiable in a tensor value (the sum of the gradient), input gets a zero gradient."""
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                           f"dimensions.")
    filled = where(input.new_ones(input.shape).bool(), value, input)
    return filled if filled.dtype == input.dtype else filled.to(input.dtype)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """The rows of the embedding table ``input`` that ``indices`` uses rescaled in place to a
    ``norm_type``-norm of at most ``max_norm`` (what embedding(max_norm=) does); returns input."""
    from .embedding import _check_indices, _renorm_

    if input.requires_grad and input.is_leaf and is_grad_enabled():
        raise RuntimeError(LEAF_ERROR)
    if indices.dtype.is_floating_point or indices.dtype.np.kind == "b":
        raise RuntimeError(f"Expected tensor for argument #2 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {indices.dtype} instead (while checking arguments for "
                           f"embedding_renorm_)")
    _check_indices(indices, input.shape[0], "embedding_renorm_")
    _renorm_(input, indices._data.astype("int64", copy=False), max_norm, norm_type)
    return input
