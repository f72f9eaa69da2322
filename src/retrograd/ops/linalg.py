"""Matrix multiplication: Y = A @ B, with the seed's backward dA = G B^T, dB = A^T G."""

from . import _batching
from ..amp.autocast_mode import autocast_op
from .. import _backend, _dtype
from ..autograd.function import Function
from ..autograd.forward_ad import fsum, linear_jvp
from ..autograd.grad_mode import _state as _grad_state
from ._broadcast import sum_to_shape
from ..tensor import Tensor
from ._inplace import _TORCH_TYPE
from ._method import tensor_method
from .._unsupported import reject
from ._kernel_dtypes import not_implemented_for, opmath_tensors, rounded_tensor
from ._out import CAST, COPY, SAME, takes_out
from .elementwise import _device_error

__all__ = ["matmul"]

# ---------------------------------------------------------------------------- one dtype rule

# torch's names for dtypes in its C++ messages (``float != double``) and its ScalarType names (Float)
_CPP_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
             "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
             "uint8": "unsigned char", "bool": "bool"}


def _cpp(t):
    return _CPP_NAME[t.dtype.name]


def _st(t):
    return _TORCH_TYPE[t.dtype.name]


# torch's message, per product form, when its operands' dtypes differ (products never promote)
_DTYPE_MESSAGES = {
    "mm": lambda a, b: f"expected m1 and m2 to have the same dtype, but got: {_cpp(a)} != {_cpp(b)}",
    "dot": lambda a, b: f"dot : expected both vectors to have same dtype, but found {_st(a)} and {_st(b)}",
    "mv": lambda a, b: f"addmv input tensors must have the same dtype, but got {_st(b)}, {_st(a)}, and {_st(b)}",
    "bmm": lambda a, b: f"expected scalar type {_st(a)} but found {_st(b)}",
    "addmm": lambda s, m1, m2: (f"self and mat2 must have the same dtype, but got {_st(s)} and {_st(m2)}"
                                if s.dtype != m2.dtype else
                                f"mat1 and mat2 must have the same dtype, but got {_st(m1)} and {_st(m2)}"),
    "addmv": lambda s, m, v: f"addmv input tensors must have the same dtype, but got {_st(s)}, {_st(m)}, and {_st(v)}",
    "baddbmm": lambda s, b1, b2: (f"Input dtypes must be the same, got: input {_cpp(s)}, batch1: {_cpp(b1)}, "
                                  f"batch2: {_cpp(b2)}" if s.dtype != b1.dtype else
                                  f"expected scalar type {_st(b1)} but found {_st(b2)}"),
    "tensordot": lambda a, b: "both inputs should have same dtype",
    "multi_dot": lambda *ts: next(
        f"multi_dot(): all tensors must have be the same dtype but tensor 0 is {_cpp(ts[0])} and tensor "
        f"{i} {_cpp(t)}" for i, t in enumerate(ts) if t.dtype != ts[0].dtype),
    "bilinear": lambda *ts: "All tensors must have the same dtype, got " + ", ".join(
        f"{n}: {_cpp(t)}" for n, t in zip(("input1", "input2", "weight", "bias"), ts)),
}


def check_same_dtype(form, *tensors, names=None):
    """Raise torch's RuntimeError for product ``form`` (a key of _DTYPE_MESSAGES) when the
    tensors' dtypes differ: matrix products do not promote in torch. The message adds each
    operand's shape and dtype (named by ``names`` when given) and the fix."""
    first = tensors[0].dtype
    if any(t.dtype != first for t in tensors):
        raise _dtype_error(_DTYPE_MESSAGES[form](*tensors), tensors, names)


def _dtype_error(message, tensors, names=None):
    """torch's ``message``, then each operand's shape and dtype and the fix."""
    target = tensors[0].dtype
    for t in tensors[1:]:
        target = _dtype.promote_types(target, t.dtype)
    desc = [f"{list(t.shape)} {t.dtype}" for t in tensors]
    if names:
        desc = [f"{n} {d}" for n, d in zip(names, desc)]
    return RuntimeError(
        f"{message} (operands {', '.join(desc)}: matrix products do not promote dtypes; cast the "
        f"operands to one dtype first, e.g. with .to({target}))"
    )


def _matmul_form(a_ndim, b_ndim):
    """torch's kernel for matmul of these ranks, which decides its dtype message."""
    if b_ndim == 1:
        return "dot" if a_ndim == 1 else "mv"
    return "mm" if b_ndim == 2 else "bmm"


_BOOL_KERNEL = {"dot": "dot", "mv": "addmv_impl_cpu", "mm": "addmm_impl_cpu_", "bmm": "bmm"}  # its bool error


def _matmul_error(a_shape, b_shape):
    if len(a_shape) == 0 or len(b_shape) == 0:
        return RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {len(a_shape)}D "
            f"and {len(b_shape)}D"
        )
    fmt = "x".join
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        a2 = a_shape if len(a_shape) == 2 else (1,) + tuple(a_shape)
        b2 = b_shape if len(b_shape) == 2 else tuple(b_shape) + (1,)
        return RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({fmt(map(str, a2))} and "
            f"{fmt(map(str, b2))})"
        )
    return RuntimeError(
        f"Expected size for first two dimensions of batch2 tensor to match: matmul of shapes "
        f"{list(a_shape)} and {list(b_shape)} (inner dimensions {a_shape[-1]} and "
        f"{b_shape[-2] if len(b_shape) > 1 else b_shape[0]} differ, or batch dims do not broadcast)"
    )


class Matmul(Function):
    """Y = A @ B (1-D operands are treated as a row / a column, batch dims broadcast);
    dA = G @ B^T,  dB = A^T @ G, each summed back over broadcast batch dims."""
    vmap = classmethod(_batching.matmul)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        if x.ndim == 0 or y.ndim == 0:
            raise _matmul_error(x.shape, y.shape)
        if type(x) is not type(y):
            raise _device_error(x, y)
        if x.dtype != y.dtype:
            check_same_dtype(_matmul_form(x.ndim, y.ndim), a, b)
        if x.dtype.kind == "b":  # torch's CPU kernels have no Bool version
            raise not_implemented_for(_BOOL_KERNEL[_matmul_form(x.ndim, y.ndim)], a.dtype,
                                      "matrix products take numbers: convert with .int() or .float() first")
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)  # only what dB, dA read, as torch
        ctx.shapes = (x.shape, y.shape)
        ctx.ndims = (x.ndim, y.ndim)
        try:
            return _backend.matmul(x, y)
        except ValueError:
            raise _matmul_error(x.shape, y.shape) from None

    _NAMES = {(2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0",
              (1, 2): "SqueezeBackward4"}

    def name(self):
        """torch's node name for this form of matmul (mm, dot, mv; batched: UnsafeView)."""
        return self._NAMES.get(getattr(self, "ndims", None), "UnsafeViewBackward0")

    @staticmethod
    def jvp(ctx, ta, tb):
        """dY = dA B + A dB."""
        a, b = ctx._fw_args
        op = type(ctx).apply
        return fsum(None if ta is None else op(ta, b), None if tb is None else op(a, tb))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors  # a only if dB is needed, b only if dA is
        sa, sb = ctx.shapes
        if not _grad_state.enabled and len(sa) >= 2 and len(sb) == len(sa) and sa[:-2] == sb[:-2]:
            # plain backward, batch dims alike: the same two products on arrays, no op recorded
            gd = g._data
            return (Tensor._make(_backend.matmul(gd, b._data.swapaxes(-1, -2))) if b is not None else None,
                    Tensor._make(_backend.matmul(a._data.swapaxes(-1, -2), gd)) if a is not None else None)
        if len(sa) == 1 and len(sb) == 1:  # dot product
            return (g * b if b is not None else None,
                    g * a if a is not None else None)
        a2 = a.unsqueeze(0) if a is not None and len(sa) == 1 else a
        b2 = b.unsqueeze(-1) if b is not None and len(sb) == 1 else b
        g2 = g
        if len(sa) == 1:
            g2 = g2.unsqueeze(-2)
        if len(sb) == 1:
            g2 = g2.unsqueeze(-1)
        sa2 = (1,) + sa if len(sa) == 1 else sa
        sb2 = sb + (1,) if len(sb) == 1 else sb
        ga = gb = None
        if b is not None:
            ga = sum_to_shape(g2 @ b2.mT, sa2).reshape(sa)
        if a is not None:
            gb = sum_to_shape(a2.mT @ g2, sb2).reshape(sb)
        return ga, gb


@takes_out(dtype=SAME)
@tensor_method("matmul", "__matmul__")
@autocast_op("lower")
def matmul(input, other):
    """Matrix product with torch's rules for 1-D and batched operands (one dtype: no promotion)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    return Matmul.apply(input, other)


def _rmatmul(self, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"unsupported operand type(s) for @: '{type(other).__name__}' and 'Tensor'")
    return Matmul.apply(other, self)


Tensor.__rmatmul__ = _rmatmul


# ---------------------------------------------------------------------------- products

import string  # noqa: E402

import numpy as np  # noqa: E402

from .._backend import array_module  # noqa: E402
from ..tensor import _wrap_dim  # noqa: E402
from ._inplace import make_inplace  # noqa: E402

__all__ += ["mm", "bmm", "mv", "addmm", "addbmm", "baddbmm", "addmv", "addr", "dot", "vdot", "outer",
            "ger", "inner", "einsum", "tensordot", "kron", "trace", "diag", "diagonal", "diag_embed",
            "diagflat", "tril", "triu", "chain_matmul"]


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op("lower")
def mm(input, mat2):
    """Matrix product of two 2-D tensors;  dA = G B^T,  dB = A^T G."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix "
                           f"(got shapes {list(input.shape)} and {list(mat2.shape)})")
    return Matmul.apply(input, mat2)


class Bmm(Matmul):
    """torch.bmm: Matmul of two 3-D operands, named as torch names it."""
    vmap = classmethod(_batching.bmm)  # batching rule (retrograd.func.vmap)

    def name(self):
        return "BmmBackward0"


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op("lower")
def bmm(input, mat2):
    """Batched matrix product of [b, n, m] and [b, m, p] tensors."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got shapes {list(input.shape)} and "
                           f"{list(mat2.shape)})")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    return Bmm.apply(input, mat2)


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cuda": "lower"})
def mv(input, vec):
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return Matmul.apply(input, vec)


def _scaled_sum(input, product, beta, alpha, a, b):
    """beta*input + alpha*product(a, b) (beta = 0 ignores input, nan included, as torch).
    float16/bfloat16 CPU tensors of one dtype: computed in float32 and rounded once, as torch's
    kernels (the product rounded, then the sum again, differed in 20-50% of elements), with
    torch's gradients (_HalfScaledProduct)."""
    x = input._data
    if x.dtype.itemsize == 2 and type(x) is np.ndarray and input.dtype == a.dtype == b.dtype:  # (opmath's test)
        return _HalfScaledProduct.apply(input, a, b, beta, alpha, product, _in_float32_once)
    return _scaled_sum_of(input, product(a, b), beta, alpha)


def _in_float32_once(input, a, b, beta, alpha, product):
    (input, a, b), half = opmath_tensors(input, a, b)
    return rounded_tensor(_scaled_sum_of(input, product(a, b), beta, alpha), half)


class _HalfScaledProduct(Function):
    """z = beta*input + alpha*product(a, b) of float16/bfloat16 CPU tensors, z computed by ``value``
    (torch's roundings); the gradients as torch's formulas round them: d input = g*beta (summed
    over broadcast dims), d a and d b the product's gradient rounded, then times alpha and rounded
    (computed in float32 and rounded once, 25-35% of them differed where alpha != 1)."""

    def name(self):
        return _HALF_PRODUCT_NODES[self.product]

    @staticmethod
    def forward(ctx, input, a, b, beta, alpha, product, value):
        ctx.save_for_backward(a, b)
        ctx.beta, ctx.alpha, ctx.product, ctx.shape = beta, alpha, product, input.shape
        return value(input, a, b, beta, alpha, product)._data

    @staticmethod
    def jvp(ctx, t_input, t_a, t_b, *_):
        """dz = beta*d input + alpha*(product(d a, b) + product(a, d b))."""
        input, a, b, beta, alpha, product, _ = ctx._fw_args
        return fsum(None if t_input is None else t_input * beta,
                    None if t_a is None else product(t_a, b) * alpha, None if t_b is None else product(a, t_b) * alpha)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        grad_a, grad_b = _PRODUCT_GRADS[ctx.product]
        scaled = (lambda t: t) if ctx.alpha == 1 else (lambda t: t * ctx.alpha)
        return (sum_to_shape(g * ctx.beta, ctx.shape) if need[0] else None,
                scaled(grad_a(g, b)) if need[1] else None, scaled(grad_b(a, g)) if need[2] else None,
                None, None, None, None)


def _scaled_sum_of(input, product, beta, alpha):
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # zero (not nan) where input is nan/inf, and a zero gradient for input
        from .indexing import masked_fill

        everywhere = Tensor._make(array_module(input._data).ones((), dtype=bool))
        return product + masked_fill(input, everywhere, 0)
    return (input * beta if beta != 1 else input) + product


# the product's gradients (with respect to a, to b) and torch's node name, by product
_PRODUCT_GRADS = {}
_HALF_PRODUCT_NODES = {}


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op("lower")
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta*input + alpha*(mat1 @ mat2)."""
    check_same_dtype("addmm", input, mat1, mat2, names=("input", "mat1", "mat2"))
    return _scaled_sum(input, mm, beta, alpha, mat1, mat2)


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cuda": "lower"})
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta*input + alpha*(mat @ vec)."""
    check_same_dtype("addmv", input, mat, vec, names=("input", "mat", "vec"))
    return _scaled_sum(input, mv, beta, alpha, mat, vec)


@takes_out(dtype=CAST)
@tensor_method()
@autocast_op({"cuda": "lower"})
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta*input + alpha*outer(vec1, vec2)."""
    if input.dtype == vec1.dtype == vec2.dtype and opmath_tensors(input)[1] is not None:
        return _HalfScaledProduct.apply(input, vec1, vec2, beta, alpha, outer, _addr_in_half)
    return _scaled_sum(input, outer, beta, alpha, vec1, vec2)


def _addr_in_half(input, vec1, vec2, beta, alpha, product):
    """float16/bfloat16: torch's addr kernel computes in the half type, beta*input + (alpha*vec1)*vec2
    with alpha and beta rounded to it and each op rounded (its float32 opmath is not used here)."""
    a, b = (float(np.asarray(v, np.float32).astype(input._data.dtype)) for v in (alpha, beta))
    return _scaled_sum_of(input, outer(vec1 * a if alpha != 1 else vec1, vec2), b if beta != 0 else 0, 1)


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op("lower")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta*input + alpha*(batch1 @ batch2), batched."""
    check_same_dtype("baddbmm", input, batch1, batch2, names=("input", "batch1", "batch2"))
    return _scaled_sum(input, bmm, beta, alpha, batch1, batch2)


@takes_out(dtype=SAME, resize_warning=None)  # torch's addbmm resizes out silently
@tensor_method()
@autocast_op("lower")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta*input + alpha * sum_b batch1[b] @ batch2[b]."""
    check_same_dtype("addmm", input, batch1, batch2, names=("input", "batch1", "batch2"))
    if opmath_tensors(input)[1] is not None and batch1.shape[0]:
        # float16/bfloat16: torch's addbmm is one addmm per batch, each rounded to the half type (its
        # first with beta, the rest with beta = 1); summed in float32 and rounded once, 40% differed
        for i in range(batch1.shape[0]):
            input = addmm(input, batch1[i], batch2[i], beta=beta if i == 0 else 1, alpha=alpha)
        return input
    return _scaled_sum(input, lambda b1, b2: bmm(b1, b2).sum(0), beta, alpha, batch1, batch2)


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cuda": "promote"})
def dot(input, tensor):
    """Inner product of two 1-D tensors of one size and dtype."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors"
        )
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
            f"[{tensor.shape[0]}] to have the same number of elements, but got {input.shape[0]} "
            f"and {tensor.shape[0]} elements respectively"
        )
    return Matmul.apply(input, tensor)


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cuda": "promote"})
def vdot(input, other):
    """dot(conj(input), other); the same as dot for real tensors."""
    return dot(input, other)


@takes_out(dtype=CAST)
@tensor_method("outer", "ger")
def outer(input, vec2):
    """z[i, j] = input[i] * vec2[j];  via broadcasting multiply."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D tensors, but got {input.ndim}D and {vec2.ndim}D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer

_PRODUCT_GRADS.update({mm: (lambda g, b: mm(g, b.t()), lambda a, g: mm(a.t(), g)),
                       mv: (lambda g, b: outer(g, b), lambda a, g: mv(a.t(), g)),
                       bmm: (lambda g, b: bmm(g, b.transpose(1, 2)), lambda a, g: bmm(a.transpose(1, 2), g)),
                       outer: (lambda g, b: mv(g, b), lambda a, g: mv(g.t(), a))})
_HALF_PRODUCT_NODES.update({mm: "AddmmBackward0", mv: "AddmvBackward0", bmm: "BaddbmmBackward0",
                            outer: "AddrBackward0"})


@takes_out(dtype=SAME, grad=COPY)  # composite in torch
@tensor_method()
def inner(input, other):
    """Sum over the last dims of both (a product with a 0-dim tensor is elementwise)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    check_same_dtype("tensordot", input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return tensordot(input, other, ([-1], [-1]))


@takes_out(dtype=SAME, grad=COPY)  # composite in torch
@autocast_op({"cpu": "lower", "cuda": "promote"})  # cpu: torch's tensordot runs its mm (lower)
def tensordot(a, b, dims=2):
    """Contract dims ``dims`` of a with those of b (an int n means a's last n with b's first n)."""
    check_same_dtype("tensordot", a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [_wrap_dim(d, a.ndim) for d in da]
    db = [_wrap_dim(d, b.ndim) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} "
                f"and second has size {b.shape[j]} in dim {j}"
            )
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = int(np.prod([a.shape[d] for d in da]))
    a2 = a.permute(free_a + da).reshape(-1, k)
    b2 = b.permute(db + free_b).reshape(k, -1)
    shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return Matmul.apply(a2, b2).reshape(shape)


@takes_out(dtype=CAST)
@tensor_method()
def kron(input, other):
    """Kronecker product: z[i*m + k] = a[i] * b[k] in every dim;  via broadcasting multiply."""
    n = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (n - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
    sa, sb = [], []
    for x, y in zip(a.shape, b.shape):
        sa += [x, 1]
        sb += [1, y]
    out = a.reshape(sa) * b.reshape(sb)
    return out.reshape(tuple(x * y for x, y in zip(a.shape, b.shape)))


@takes_out(dtype=SAME)
@autocast_op({"cuda": "lower"})
def chain_matmul(*matrices):
    """matrices[0] @ matrices[1] @ ... (deprecated in torch for linalg.multi_dot, with a warning once)."""
    _deprecated("chain_matmul")
    check_same_dtype("multi_dot", *matrices)
    result = matrices[0]
    for m in matrices[1:]:
        result = mm(result, m)
    return result


# ---------------------------------------------------------------------------- einsum


class Einsum(Function):
    """z = einsum(eq, *ops) with each operand's letters distinct and sizes agreeing;
    d op_i = einsum of g with the other operands into op_i's letters (summed-only letters
    broadcast back)."""
    _autocast = "lower"

    @classmethod
    def vmap(cls, info, in_dims, subs, out_sub, *operands):
        """One more letter, unused by the equation, for the batch dim of the batched operands
        and of the result."""
        letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                      if c != "." and all(c not in s for s in subs) and c not in out_sub)
        ops = [t if d is None else _batching.front(t, d) for t, d in zip(operands, in_dims[2:])]
        subs = [s if d is None else letter + s for s, d in zip(subs, in_dims[2:])]
        return cls.apply(subs, letter + out_sub, *ops), 0

    @staticmethod
    def forward(ctx, subs, out_sub, *operands):
        dt = _einsum_dtype(subs, out_sub, operands).np
        arrays = [t._data if t._data.dtype == dt else t._data.astype(dt) for t in operands]
        ctx.subs, ctx.out_sub = subs, out_sub
        ctx.shapes = [t.shape for t in operands]
        needs = ctx.needs_input_grad[2:]  # operand i is read by the other operands' gradients only, as torch saves
        ctx.save_for_backward(*(t if any(n for j, n in enumerate(needs) if j != i) else None
                                for i, t in enumerate(operands)))
        eq = ",".join(subs) + "->" + out_sub
        xp = array_module(arrays[0])
        # contraction order and BLAS pay off for many or large operands; small ones run direct
        big = len(arrays) > 2 or sum(x.size for x in arrays) > 4096
        half = dt.itemsize == 2 and dt.kind in "fV"  # float16/bfloat16: float32 sums, rounded back, as torch
        out = xp.einsum(eq, *[x.astype(np.float32) for x in arrays] if half else arrays,
                        optimize="greedy" if big else False)
        return _backend.cast(out, dt) if half else out

    @staticmethod
    def jvp(ctx, _subs, _out, *tangents):
        """Multilinear: dz = sum over operands i of einsum with operand i replaced by its tangent."""
        subs, out_sub, *ops = ctx._fw_args
        return fsum(*(Einsum.apply(subs, out_sub, *ops[:i], t, *ops[i + 1:])
                      for i, t in enumerate(tangents) if t is not None))

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        subs, out_sub = ctx.subs, ctx.out_sub
        grads = [None, None]
        for i, sub in enumerate(subs):
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(subs) if j != i]
            avail = set(out_sub).union(*others) if others else set(out_sub)
            target = "".join(c for c in sub if c in avail)
            rest = [t if t.dtype == g.dtype else t.to(g.dtype) for j, t in enumerate(operands) if j != i]
            gi = Einsum.apply([out_sub] + others, target, g, *rest)  # (in the result's dtype)
            if target != sub:  # letters summed only inside op_i: broadcast the gradient back
                shape = [ctx.shapes[i][k] if c in avail else 1 for k, c in enumerate(sub)]
                gi = gi.reshape(shape).expand(tuple(ctx.shapes[i]))
            grads.append(gi)
        return tuple(grads)


def _einsum_dtype(subs, out_sub, operands):
    """einsum's result dtype, checked as torch computes it: the operands contracted left to right,
    a pair sharing a letter summed away there (in neither the output nor a later operand) through
    bmm, which needs one dtype; any other pair through mul, which promotes."""
    letters, dtype = set(subs[0]), operands[0].dtype
    for k in range(1, len(subs)):
        t = operands[k]
        if (letters & set(subs[k])) - set(out_sub).union(*subs[k + 1:]) and t.dtype != dtype:
            raise _dtype_error(f"expected scalar type {_TORCH_TYPE[dtype.name]} but found {_st(t)}", operands)
        letters |= set(subs[k])
        dtype = _dtype.promote_types(dtype, t.dtype)
    return dtype


def _parse_einsum(equation, operands):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    in_subs = lhs.split(",")
    if len(in_subs) != len(operands):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(operands) > len(in_subs) else
            "einsum(): fewer operands were provided than specified in the equation"
        )
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_nd = max((t.ndim - (len(s) - 3) for s, t in zip(in_subs, operands) if "..." in s), default=0)
    ell = "".join(free[:ell_nd])
    subs = []
    for s, t in zip(in_subs, operands):
        if "..." in s:
            k = t.ndim - (len(s) - 3)
            if k < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s) - 3}) "
                                   f"is more than the number of dimensions ({t.ndim}) for operand")
            s = s.replace("...", ell[ell_nd - k:])
        if len(s) != t.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the "
                f"number of dimensions ({t.ndim}) for operand {len(subs)}"
                + ("" if len(s) > t.ndim else " and no ellipsis was given")
            )
        for c in s:
            if not c.isalpha():
                raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the "
                                   f"equation string, subscripts must be in [a-zA-Z]")
        subs.append(s)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if not any(c in s for s in subs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                                   "for any input operand")
        if len(set(out)) != len(out):
            raise RuntimeError("einsum(): output subscript appears more than once in the output")
    else:
        counts = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out


def _sublist_equation(args):
    """einsum(op1, [0, 1], op2, [1, 2], [0, 2]) -> ('ab,bc->ac', (op1, op2))."""
    def letters(sub):
        return "".join("..." if k is Ellipsis else string.ascii_letters[k] for k in sub)

    ops, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(args) % 2:  # a trailing output sublist
        out, ops = args[-1], ops[:-1]
    eq = ",".join(letters(sub) for sub in subs[:len(ops)])
    if out is not None:
        eq += "->" + letters(out)
    return eq, tuple(ops)


def einsum(equation, *operands):
    """Einstein summation (with '...', implicit output and the sublist form, as torch);
    differentiable twice."""
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    subs, out = _parse_einsum(equation, operands)
    if len(operands) == 1 and not operands[0].dtype.is_floating_point and any(c not in out for c in subs[0]):
        operands = (operands[0].long(),)  # one operand summed over a letter: torch's sum, int64 for integers
    if len(operands) > 1 and any(t.dtype.name == "bool" for t in operands):
        summed = [c for c in set("".join(subs)) if c not in out and sum(c in s for s in subs) > 1]
        if summed:  # a contraction of two operands: torch's bmm, which has no Bool kernel
            raise not_implemented_for("bmm", next(t.dtype for t in operands if t.dtype.name == "bool"),
                                      "einsum contracts bool operands by a matrix product: convert with "
                                      ".int() or .float() first")
    # sizes of each letter (1 broadcasts), and diagonals for repeated letters within an operand
    sizes = {}
    for s, t in zip(subs, operands):
        for c, n in zip(s, t.shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise RuntimeError(
                    f"einsum(): operands do not broadcast with remapped shapes (original->remapped): "
                    f"subscript {c} has size {sizes[c]} and {n}"
                )
    new_ops, new_subs = [], []
    for s, t in zip(subs, operands):
        while len(set(s)) != len(s):  # a repeated letter: take that diagonal first
            c = next(c for c in s if s.count(c) > 1)
            i = s.index(c)
            j = s.index(c, i + 1)
            t = diagonal(t, 0, i, j)
            s = s[:i] + s[i + 1:j] + s[j + 1:] + c
        want = tuple(sizes[c] for c in s)
        if tuple(t.shape) != want:
            t = t.expand(want)
        new_ops.append(t)
        new_subs.append(s)
    return Einsum.apply(new_subs, out, *new_ops)


# ---------------------------------------------------------------------------- diagonals and triangles


def _diag_view(x, offset, d1, d2):
    """A writable view of the diagonal of array x (the diagonal as its last dim)."""
    if offset >= 0:
        x = x[(slice(None),) * d2 + (slice(offset, None),)]
    else:
        x = x[(slice(None),) * d1 + (slice(-offset, None),)]
    d = x.diagonal(0, d1, d2)
    if getattr(d.flags, "writeable", True):
        return d
    return np.lib.stride_tricks.as_strided(x, d.shape, d.strides, writeable=True)


class Diagonal(Function):
    """z = the offset diagonal of dims (d1, d2) of a, as a last dim (a view);
    da = zeros with g written on that diagonal."""

    _view = True

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.shape, ctx.args = a.shape, (offset, d1, d2)
        return _diag_view(a._data, offset, d1, d2)

    @classmethod
    def vmap(cls, info, in_dims, a, offset, d1, d2):
        """The batch dim first: the diagonal of the dims one further on."""
        return cls.apply(_batching.front(a, in_dims[0]), offset, d1 + 1, d2 + 1), 0

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return DiagonalScatter.apply(g, ctx.shape, *ctx.args), None, None, None


class DiagonalScatter(Function):
    """z = zeros(shape) with g on the offset diagonal of dims (d1, d2);  dg = diagonal of gz."""

    @classmethod
    def vmap(cls, info, in_dims, g, shape, offset, d1, d2):
        """The batch dim first: each sample's diagonal written into its own zeros."""
        g = _batching.front(g, in_dims[0])
        return cls.apply(g, (g.shape[0],) + tuple(shape), offset, d1 + 1, d2 + 1), 0

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        x = g._data
        z = array_module(x).zeros(shape, dtype=x.dtype)
        _diag_view(z, offset, d1, d2)[...] = x
        return z

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, gz):
        return Diagonal.apply(gz, *ctx.args), None, None, None, None


@tensor_method()
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The offset diagonal of dims (dim1, dim2), appended as the last dim (a view)."""
    d1, d2 = _wrap_dim(dim1, input.ndim), _wrap_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


@tensor_method()
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose (dim1, dim2) offset diagonals hold input's last dim (zeros elsewhere)."""
    n = input.ndim + 1
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    m = (input.shape[-1] if input.ndim else 1) + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(m if k in (d1, d2) else next(rest) for k in range(n))
    x = input.reshape(1) if input.ndim == 0 else input
    return DiagonalScatter.apply(x, shape, int(offset), d1, d2)


@takes_out(dtype=SAME)
@tensor_method()
def diag(input, diagonal=0):
    """1-D: the matrix with input on its ``diagonal``-th diagonal. 2-D: that diagonal (a copy)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return Diagonal.apply(input, int(diagonal), 0, 1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


@tensor_method()
def diagflat(input, offset=0):
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return diag_embed(input.reshape(-1), offset, 0, 1)


@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # cuda: one kernel in torch, not its Sum's fp32
def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


class Triangle(Function):
    """z = a with the elements above (tril) / below (triu) the k-th diagonal zeroed;  da = the same of g."""
    vmap = classmethod(_batching.unbatched_params)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, k, upper):
        ctx.k, ctx.upper = k, upper
        x = a._data
        xp = array_module(x)
        return xp.triu(x, k) if upper else xp.tril(x, k)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return Triangle.apply(g, ctx.k, ctx.upper), None, None


def _triangle(input, diagonal, upper):
    if input.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 dimensions")
    return Triangle.apply(input, int(diagonal), upper)


@takes_out(dtype=SAME)
@tensor_method()
def tril(input, diagonal=0):
    """Lower triangle (elements with j - i <= diagonal), the rest zero."""
    return _triangle(input, diagonal, False)


@takes_out(dtype=SAME)
@tensor_method()
def triu(input, diagonal=0):
    """Upper triangle (elements with j - i >= diagonal), the rest zero."""
    return _triangle(input, diagonal, True)


Tensor.tril_ = make_inplace(tril, "tril_")
Tensor.triu_ = make_inplace(triu, "triu_")


# ---------------------------------------------------------------------------- torch.* spellings of linalg


__all__ += ["inverse", "det", "logdet", "slogdet", "cholesky", "svd"]


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cpu": "fp32"})
def inverse(input):
    """torch.inverse: linalg.inv."""
    from .. import linalg

    return linalg.inv(input)


@tensor_method()
def det(input):
    """torch.det: linalg.det."""
    from .. import linalg

    return linalg.det(input)


@tensor_method()
def logdet(input):
    """log det A: nan for a negative determinant, -inf for a zero one."""
    from .. import linalg

    sign, logabs = linalg.slogdet(input)
    xp = array_module(sign._data)
    s = sign._data
    fix = xp.where(s < 0, xp.nan, xp.where(s == 0, -xp.inf, 0.0)).astype(s.dtype)
    return logabs + Tensor._make(fix)


@tensor_method()
def slogdet(input):
    """torch.slogdet: linalg.slogdet."""
    from .. import linalg

    return linalg.slogdet(input)


from .reduction import _return_type, return_types  # noqa: E402

return_types.svd = _return_type("svd", ("U", "S", "V"))


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cpu": "fp32"})
def svd(input, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with input = U diag(S) V^T, V = linalg.svd's Vh^T. some=False: the full
    (square) U and V. compute_uv=False: S alone is computed (differentiable), U and V are zeros of
    the full shapes, as in torch."""
    from .. import linalg

    if not compute_uv:
        S = linalg.svdvals(input)
        batch, (m, n) = tuple(input.shape[:-2]), input.shape[-2:]
        return return_types.svd(input.new_zeros(batch + (m, m)), S, input.new_zeros(batch + (n, n)))
    U, S, Vh = linalg.svd(input, full_matrices=not some)
    return return_types.svd(U, S, Vh.mT)


@takes_out(dtype=CAST)
@tensor_method()
@autocast_op({"cpu": "fp32"})
def cholesky(input, upper=False):
    """torch.cholesky (deprecated in torch for linalg.cholesky)."""
    from .. import linalg

    if input.ndim >= 2 and not input.dtype.is_floating_point:  # (torch's kernel refuses it, not its input check)
        raise not_implemented_for("cholesky_cpu", input.dtype, "cholesky takes float tensors: convert with .float() "
                                  "or .double() first")
    L = linalg.cholesky(input, upper=upper)
    if not upper and L.grad_fn is not None:
        L.grad_fn._backward_name = "CholeskyBackward0"  # torch.cholesky's node (linalg.cholesky's: LinalgCholeskyEx)
    return L


# ---------------------------------------------------------------------------- assorted matrix builders

__all__ += ["block_diag", "cartesian_prod", "tril_indices", "triu_indices", "cross"]


def block_diag(*tensors):
    """A block-diagonal matrix from the given (0-, 1- or 2-D) tensors, in their torch.result_type."""
    from .join import cat
    from .shape import pad

    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        if t.device != tensors[0].device:
            raise RuntimeError(f"torch.block_diag: input tensors must all be on the same device. Input 0 is on "
                               f"device {tensors[0].device} and input {i} is on device {t.device}")
    if not tensors:
        return Tensor._make(np.zeros((1, 0), dtype=_dtype.get_default_dtype().np))
    dtype = _dtype.result_type(*tensors)  # a 0-d block ranks below the others, as in torch
    mats = [(t.reshape(1, -1) if t.ndim < 2 else t).to(dtype) for t in tensors]
    total = sum(t.shape[1] for t in mats)
    rows, left = [], 0
    for t in mats:
        rows.append(pad(t, (left, total - left - t.shape[1])))
        left += t.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors):
    """All combinations of the 1-D inputs' elements, one per row (like itertools.product)."""
    from .join import meshgrid, stack

    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"meshgrid expects all tensors to have the same dtype (got {tensors[0].dtype} and "
                               f"{t.dtype}): convert them to one dtype first")
        if t.device != tensors[0].device:
            raise RuntimeError(f"meshgrid expects all tensors to have the same device (got {tensors[0].device} "
                               f"and {t.device})")
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def _tri_indices(row, col, offset, upper, dtype, device):
    from .. import _dtype
    from ..creation import tensor

    r, c = np.triu_indices(row, offset, col) if upper else np.tril_indices(row, offset, col)
    return tensor(np.stack([r, c]).astype(np.int64), dtype=_dtype.to_dtype(dtype) if dtype else None,
                  device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The [2, N] coordinates of the lower triangle (j - i <= offset) of a row x col matrix."""
    reject("tril_indices", layout=layout)
    return _tri_indices(row, col, offset, False, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The [2, N] coordinates of the upper triangle (j - i >= offset) of a row x col matrix."""
    reject("triu_indices", layout=layout)
    return _tri_indices(row, col, offset, True, dtype, device)


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cuda": "promote"})
def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim`` (the first dim of size 3 when None);
    via index-select and products, so it differentiates like them."""
    from ._broadcast import broadcast_shapes

    shape = broadcast_shapes(input.shape, other.shape)
    a = input.expand(shape) if tuple(input.shape) != shape else input
    b = other.expand(shape) if tuple(other.shape) != shape else other
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input (shape {list(shape)})")
    d = _wrap_dim(dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {shape[d]} and "
                           f"{shape[d]}")
    i1, i2 = np.array([1, 2, 0]), np.array([2, 0, 1])
    from .indexing import Index

    key = (slice(None),) * d
    return (Index.apply(a, key + (i1,), True) * Index.apply(b, key + (i2,), True)
            - Index.apply(a, key + (i2,), True) * Index.apply(b, key + (i1,), True))


__all__ += ["pinverse", "matrix_exp", "vander"]


@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def pinverse(input, rcond=1e-15):
    """torch.pinverse: linalg.pinv with singular values <= rcond * the largest taken as zero."""
    from .. import linalg

    return linalg.pinv(input, rtol=rcond)


@tensor_method()
def matrix_exp(input):
    """torch.matrix_exp: linalg.matrix_exp."""
    from .. import linalg

    return linalg.matrix_exp(input)


def vander(x, N=None, increasing=False):
    """torch.vander: the columns x^(N-1) ... x^0 of the 1-D x (increasing: x^0 first); N defaults
    to len(x); integers and bools give int64."""
    from .. import linalg

    if x.ndim != 1:
        raise RuntimeError(f"x must be a one-dimensional tensor. (got shape {list(x.shape)})")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError(f"N must be non-negative. (got N={n})")
    if x.dtype.name == "bool" or not x.dtype.is_floating_point:
        x = x.to(_dtype.to_dtype("int64"))
    if n <= 1:
        out = x.unsqueeze(-1).new_ones((x.shape[0], n))
        return out
    out = linalg.vander(x, N=n)
    return out if increasing else out.flip(-1)


# ---------------------------------------------------------------------------- torch.* LU, Cholesky and triangular solves

__all__ += ["qr", "solve", "lstsq", "symeig", "eig", "matrix_rank"]
__all__ += ["lu", "lu_unpack", "lu_solve", "cholesky_solve", "cholesky_inverse", "triangular_solve", "orgqr"]

return_types.lu_unpack = _return_type("lu_unpack", ("P", "L", "U"))
return_types.triangular_solve = _return_type("triangular_solve", ("solution", "cloned_coefficient"))
return_types._lu_with_info = _return_type("_lu_with_info", ("LU", "pivots", "info"))

_DEPRECATION = {
    "chain_matmul": "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                    "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                    "multiple parameters.",
    "lu": "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be "
          "removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced "
          "with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = torch.lu(A, "
          "compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = "
          "torch.linalg.lu_factor_ex(A, compute_pivots)",
    "triangular_solve": "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be "
                        "removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments "
                        "reversed and does not return a copy of one of the inputs.\nX = torch.triangular_solve(B, "
                        "A).solution\nshould be replaced with\nX = torch.linalg.solve_triangular(A, B).",
    "lu_solve": "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
                "PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = "
                "torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)",
    "qr": "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch release.\n"
          "The boolean parameter 'some' has been replaced with a string parameter 'mode'.\nQ, R = torch.qr(A, "
          "some)\nshould be replaced with\nQ, R = torch.linalg.qr(A, 'reduced' if some else 'complete')",
}


def _deprecated(name):
    """torch's deprecation UserWarning, once per process as its TORCH_WARN_ONCE."""
    from .._warn_once import warn_once

    warn_once(("deprecated", name), _DEPRECATION[name])


@tensor_method()
def lu(A, pivot=True, get_infos=False):
    """torch.lu (deprecated): (LU, pivots) of linalg.lu_factor_ex, with its info when get_infos;
    a singular matrix does not raise."""
    from .. import linalg

    _deprecated("lu")
    LU, pivots, info = linalg.lu_factor_ex(A, pivot=pivot)
    return return_types._lu_with_info(LU, pivots, info) if get_infos else (LU, pivots)


@takes_out(dtype=SAME)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """(P, L, U) from lu_factor's packed LU and pivots; an empty tensor for what is not unpacked."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = LU_data.new_zeros((0,))
    if unpack_pivots:
        if LU_pivots.dtype.name != "int32":
            raise RuntimeError(f"torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 "
                               f"dtype (got {LU_pivots.dtype}).\nNote: this function is intended to be used with the "
                               "output produced by torch.linalg.lu_factor")
        from ..linalg import _permutation

        P = Tensor._make(_permutation(LU_pivots._data, m, LU_data._data.dtype, array_module(LU_data._data)))
    else:
        P = empty
    if not unpack_data:
        return return_types.lu_unpack(P, empty, empty)
    eye = Tensor._make(array_module(LU_data._data).eye(m, k, dtype=LU_data._data.dtype))
    return return_types.lu_unpack(P, tril(LU_data[..., :, :k], -1) + eye, triu(LU_data[..., :k, :]))


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def lu_solve(b, LU_data, LU_pivots):
    """torch.lu_solve (deprecated in torch for linalg.lu_solve, with the arguments in this order)."""
    from .. import linalg

    _deprecated("lu_solve")
    return linalg.lu_solve(LU_data, LU_pivots, b)


def _gram(L, upper):
    """A = L L^T (upper: U^T U) of a Cholesky factor, only its lower (upper) triangle read."""
    return triu(L).mT @ triu(L) if upper else tril(L) @ tril(L).mT


@takes_out(dtype=CAST)
@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def cholesky_solve(B, L, upper=False):
    """X with (L L^T) X = B from the Cholesky factor L (upper: U^T U X = B)."""
    from .. import linalg

    if B.ndim < 2 or L.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead"
                           if B.ndim < 2 else
                           f"u should have at least 2 dimensions, but has {L.ndim} dimensions instead")
    if B.dtype != L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_TORCH_TYPE[B.dtype.name]} "
                           f"and A of type {_TORCH_TYPE[L.dtype.name]} instead.")
    return linalg.solve(_gram(L, upper), B)


@takes_out(dtype=CAST)
@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def cholesky_inverse(L, upper=False):
    """(L L^T)^-1 from the Cholesky factor L (upper: (U^T U)^-1)."""
    from .. import linalg

    if L.ndim < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 dimensions.")
    return linalg.inv(_gram(L, upper))


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """torch.triangular_solve (deprecated): (X, A's copy) with op(A) X = b, op(A) = A^T when
    transpose, only A's ``upper`` (or lower) triangle read, its diagonal 1 when unitriangular."""
    from .. import linalg

    _deprecated("triangular_solve")
    if b.ndim < 2 or A.ndim < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, but it has {b.ndim} "
                           "dimensions instead" if b.ndim < 2 else
                           f"torch.triangular_solve: Expected A to have at least 2 dimensions, but it has {A.ndim} "
                           "dimensions instead")
    T = A.mT if transpose else A
    X = linalg.solve_triangular(T, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    return return_types.triangular_solve(X, A.clone())


@tensor_method()
@autocast_op({"cpu": "fp32", "cuda": "keep"})  # one kernel in torch: no cast on CUDA
def orgqr(input, tau):
    """torch.orgqr: linalg.householder_product."""
    from .. import linalg

    return linalg.householder_product(input, tau)


return_types.qr = _return_type("qr", ("Q", "R"))


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cpu": "fp32"})
def qr(input, some=True):
    """torch.qr (deprecated): linalg.qr's (Q, R), reduced when ``some`` else complete."""
    from .. import linalg

    _deprecated("qr")
    return return_types.qr(*linalg.qr(input, mode="reduced" if some else "complete"))


# ---------------------------------------------------------------------------- removed in torch 1.9+
# torch keeps these names, and their Tensor methods, only to raise RuntimeError naming the
# replacement, whatever the arguments.

_REMOVED = "This function was deprecated since version 1.9 and is now removed. "
_REMOVED_MESSAGES = {
    "solve": _REMOVED + "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has "
    "its arguments reversed and does not return the LU factorization.\n\nTo get the LU factorization see "
    "`torch.lu`, which can be used with `torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution "
    "should be replaced with:\nX = torch.linalg.solve(A, B)",
    "lstsq": _REMOVED + "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` has "
    "reversed arguments and does not return the QR decomposition in the returned tuple (although it returns "
    "other information about the problem).\n\nTo get the QR decomposition consider using `torch.linalg.qr`.\n\n"
    "The returned solution in `torch.lstsq` stored the residuals of the solution in the last m - n columns of "
    "the returned value whenever m > n. In torch.linalg.lstsq, the residuals are in the field 'residuals' of "
    "the returned named tuple.\n\nThe unpacking of the solution, as in\nX, _ = torch.lstsq(B, A).solution"
    "[:A.size(1)]\nshould be replaced with:\nX = torch.linalg.lstsq(A, B).solution",
    "symeig": _REMOVED + "The default behavior has changed from using the upper triangular portion of the matrix "
    "by default to using the lower triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be "
    "replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = "
    "torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if "
    "upper else 'L')",
    "eig": _REMOVED + "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than "
    "real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = "
    "torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) should be replaced with:\n"
    "L_complex, V_complex = torch.linalg.eig(A)",
    "matrix_rank": _REMOVED.rstrip() + "\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter "
    "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.",
}


def _removed(name):
    raise RuntimeError(_REMOVED_MESSAGES[name])


def solve(input, A, *, out=None):
    """Removed from torch (use linalg.solve(A, B)): raises RuntimeError saying so."""
    _removed("solve")


def lstsq(input, A, *, out=None):
    """Removed from torch (use linalg.lstsq(A, B)): raises RuntimeError saying so."""
    _removed("lstsq")


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """Removed from torch (use linalg.eigh / eigvalsh): raises RuntimeError saying so."""
    _removed("symeig")


def eig(self, eigenvectors=False, *, e=None, v=None):
    """Removed from torch (use linalg.eig / eigvals): raises RuntimeError saying so."""
    _removed("eig")


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    """Removed from torch (use linalg.matrix_rank): raises RuntimeError saying so."""
    _removed("matrix_rank")


def _solve_method(self, other):
    """Removed from torch (use linalg.solve): raises RuntimeError saying so."""
    _removed("solve")


def _lstsq_method(self, other):
    """Removed from torch (use linalg.lstsq): raises RuntimeError saying so."""
    _removed("lstsq")


def _symeig_method(self, eigenvectors=False):
    """Removed from torch (use linalg.eigh): raises RuntimeError saying so."""
    _removed("symeig")


def _eig_method(self, eigenvectors=False):
    """Removed from torch (use linalg.eig): raises RuntimeError saying so."""
    _removed("eig")


Tensor.solve, Tensor.lstsq, Tensor.symeig, Tensor.eig = _solve_method, _lstsq_method, _symeig_method, _eig_method
