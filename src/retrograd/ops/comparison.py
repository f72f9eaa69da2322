"""Comparisons (bool results, no gradient), where, and sign."""

import math

import numpy as np

from . import _batching
from .. import _backend
from ..autograd import function as _function
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ._broadcast import broadcast_shapes, sum_to_shape
from ._kernel_dtypes import SCALAR_NAME as _TORCH_TYPE
from ._method import tensor_method
from ._select import zero_where_not
from .elementwise import broadcast_op, input_not_tensor, operands, require_tensor
from ._out import ANY, NONE, SAME, takes_out
from .._dtype import float32, result_type
from ._kernel_dtypes import check_integer_result, check_integral, not_implemented_for

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
           "not_equal", "where", "sign"]


def _compare(op, symbol, *names):
    def compare(input, other):
        if input.__class__ is not Tensor and not isinstance(input, Tensor):
            raise input_not_tensor(names[0], input, other)
        x, y = operands(input, other)
        return Tensor._make(broadcast_op(op, x, y, input, other))

    compare.__name__ = compare.__qualname__ = names[0]
    compare.__doc__ = f"Elementwise input {symbol} other, with broadcasting: a bool tensor (no gradient)."
    return takes_out(tensor_method(*names)(compare), dtype=ANY, grad=NONE)


eq = _compare(lambda x, y: x == y, "==", "eq", "__eq__")
ne = _compare(lambda x, y: x != y, "!=", "ne", "__ne__", "not_equal")
lt = _compare(lambda x, y: x < y, "<", "lt", "__lt__", "less")
le = _compare(lambda x, y: x <= y, "<=", "le", "__le__", "less_equal")
gt = _compare(lambda x, y: x > y, ">", "gt", "__gt__", "greater")
ge = _compare(lambda x, y: x >= y, ">=", "ge", "__ge__", "greater_equal")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _operator(fn):
    """The Python operator form: NotImplemented for operands that are not tensors or numbers,
    so that ``t == None`` is False and ``t != 'a'`` True, as in torch."""

    def method(self, other):
        if isinstance(other, (Tensor, int, float, np.generic)):
            return fn(self, other)
        return NotImplemented

    method.__name__ = f"__{fn.__name__}__"
    return method


for _n in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Tensor, f"__{_n}__", _operator(globals()[_n]))


class Where(Function):
    """z = cond ? a : b;  da = g where cond,  db = g where not cond."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, cond, a, b):
        x, y = operands(a, b)
        c = cond._data if isinstance(cond, Tensor) else cond
        if getattr(c, "dtype", np.bool_) != np.bool_:
            raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{cond.dtype}")
        ctx.save_for_backward(cond)
        ctx.shapes = (a.shape if isinstance(a, Tensor) else None, b.shape if isinstance(b, Tensor) else None)
        try:
            out = _select_or_zero(c, x, y)
            if out is not None:
                return out
            xp = _backend.array_module(c)
            return _backend.call(xp.where, c, x, y)  # (CUDA bfloat16 operands: float32 opmath)
        except ValueError:  # NumPy's words for shapes that do not broadcast: torch's RuntimeError
            broadcast_shapes(*(getattr(v, "shape", ()) for v in (c, x, y)))
            raise

    @staticmethod
    def jvp(ctx, _cond, ta, tb):
        """dz = cond ? ta : tb (a number operand is a constant: 0)."""
        return Where.apply(ctx._fw_args[0], 0.0 if ta is None else ta, 0.0 if tb is None else tb)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        if not _grad_state.enabled:  # plain backward: the same selections on arrays, as bit masks
            def pick(keep):  # g where cond (keep), else g where not cond
                return Tensor._make(zero_where_not(cond._data, g._data, keep))
        else:
            zero = g.new_zeros(())

            def pick(keep):
                return where(cond, g, zero) if keep else where(cond, zero, g)
        ga = sum_to_shape(pick(True), sa) if ctx.needs_input_grad[1] else None
        gb = sum_to_shape(pick(False), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def _select_or_zero(c, x, y):
    """where(c, x, 0) or where(c, 0, y) through zero_where_not (bitwise the same, without
    NumPy's slow select) when the zero is a Python number (+0) and the other operand a NumPy float
    array of the result's shape; None otherwise."""
    if type(c) is not np.ndarray:
        return None
    for keep, v, z in ((True, x, y), (False, y, x)):
        if type(z) in (int, float) and z == 0 and math.copysign(1.0, z) > 0 and type(v) is np.ndarray \
                and v.dtype.kind == "f" and v.ndim >= c.ndim and v.shape[v.ndim - c.ndim:] == c.shape:
            return zero_where_not(c, v, keep)
    return None


@takes_out(dtype=SAME)
def where(condition, input=None, other=None):
    """where(cond, a, b): elements of a where cond is True, else of b.
    where(cond) alone: the indices of the True elements, as a tuple of tensors."""
    if condition.__class__ is not Tensor and not isinstance(condition, Tensor):
        raise input_not_tensor("where", condition, *(() if input is None and other is None else (input, other)))
    if input is None and other is None:
        xp = _backend.array_module(condition._data)
        return tuple(Tensor._make(i) for i in xp.nonzero(xp.atleast_1d(condition._data)))  # a 0-dim one: 1-D
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # two numbers: torch's dtype of them
        input = Tensor._make(_backend.array_module(condition._data).asarray(input, dtype=result_type(input, other).np))
    return Where.apply(condition, input, other)


def _where_method(self, condition, other):
    """Tensor.where(condition, y): self where condition, else y."""
    return Where.apply(condition, self, other)


Tensor.where = _where_method


class Sign(Function):
    """z = sign(a) (0 for nan, as torch);  da = 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        x = a._data
        xp = _backend.array_module(x)
        if x.dtype == np.bool_:
            return x.copy()
        if x.dtype.kind == "f" and type(x) is np.ndarray and x.ndim:
            out = (x > 0).astype(x.dtype)  # [x > 0] - [x < 0]: 0 for nan and +-0 as in torch, 2x
            out -= x < 0  # faster than sign (nan for nan) and a select
            return out
        out = xp.sign(x)
        return xp.where(xp.isnan(x), xp.zeros((), x.dtype), out) if x.dtype.kind == "f" else out

    @staticmethod
    def jvp(ctx, ta):
        """Piecewise constant: dz = 0."""
        return ta.new_zeros(())

    @staticmethod
    def backward(ctx, g):
        return g * 0


@takes_out(dtype=SAME)
@tensor_method()
def sign(input):
    """Elementwise sign: z = -1, 0 or 1 (0 for nan); zero gradient."""
    return Sign.apply(input)


# ---------------------------------------------------------------------------- logic and bits


def _bitwise(op, name, symbol):
    def fn(input, other):
        if input.__class__ is not Tensor and not isinstance(input, Tensor) and not isinstance(other, Tensor):
            raise input_not_tensor(name, input, other)
        check_integral(f"{name}_cpu", *(t for t in (input, other) if isinstance(t, Tensor)))
        if _batching.batched(input, other):  # under vmap: the whole batch at once
            return _batching.on_batch_broadcast(fn, input, other)
        x, y = operands(input, other)
        if isinstance(x, float) or isinstance(y, float):
            raise not_implemented_for(f"{name}_cpu", float32, f"{name} takes integer or bool operands")
        return Tensor._make(broadcast_op(op, x, y, input, other))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise bitwise input {symbol} other of integer or bool tensors, with broadcasting."
    return fn


bitwise_and = takes_out(tensor_method("bitwise_and", "__and__")(_bitwise(lambda x, y: x & y, "bitwise_and", "&")),
                        grad=NONE)
bitwise_or = takes_out(tensor_method("bitwise_or", "__or__")(_bitwise(lambda x, y: x | y, "bitwise_or", "|")),
                       grad=NONE)
bitwise_xor = takes_out(tensor_method("bitwise_xor", "__xor__")(_bitwise(lambda x, y: x ^ y, "bitwise_xor", "^")),
                        grad=NONE)
Tensor.__rand__ = lambda self, other: bitwise_and(other, self)
Tensor.__ror__ = lambda self, other: bitwise_or(other, self)
Tensor.__rxor__ = lambda self, other: bitwise_xor(other, self)


@takes_out(dtype=SAME, grad=NONE)
@tensor_method("bitwise_not")
def bitwise_not(input):
    """Elementwise bitwise NOT: z = ~a (logical not for bool tensors); integer or bool tensors only."""
    check_integral("bitwise_not_cpu", input)
    if _batching.batched(input):  # under vmap: the whole batch at once
        return _batching.on_batch(bitwise_not, input)
    return Tensor._make(~input._data)


def _invert(self):
    if self.dtype.is_floating_point:  # torch's operator checks before its kernel does
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)


Tensor.__invert__ = _invert


@takes_out(dtype=ANY, grad=NONE)
@tensor_method()
def logical_not(input):
    """Elementwise logical NOT: z = (a == 0), a bool tensor."""
    if _batching.batched(input):  # under vmap: the whole batch at once
        return _batching.on_batch(logical_not, input)
    return Tensor._make(_backend.array_module(input._data).logical_not(input._data))


__all__ += ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logical_not"]


# ---------------------------------------------------------------------------- closeness and classes

__all__ += ["isclose", "allclose", "equal", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal",
            "logical_and", "logical_or", "logical_xor", "bitwise_left_shift", "bitwise_right_shift"]


def _array(v):
    return v._data if isinstance(v, Tensor) else v


@tensor_method()
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol*|other| elementwise (equal infinities are close;
    nan is close to nan only with equal_nan)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("isclose", input, overloads=False)
    require_tensor("isclose", other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{input.dtype} did not match {other.dtype}: isclose needs tensors of one dtype")
    x, y = operands(input, other)
    xp = _backend.array_module(x)
    if x.dtype.kind in "biu" and getattr(y, "dtype", np.dtype(type(y))).kind in "biu" and rtol == 0 and atol == 0:
        return Tensor._make(broadcast_op(lambda u, v: u == v, x, y, input, other))
    with np.errstate(all="ignore"):
        xf = x.astype(np.float64) if x.dtype.kind in "biu" else x
        close = broadcast_op(lambda u, v: (u == v) | (xp.isfinite(u) & xp.isfinite(v) & (
            xp.abs(u - v) <= atol + rtol * xp.abs(v))), xf, y, input, other)
        if equal_nan:
            close = close | (xp.isnan(xf) & xp.isnan(y))
    return Tensor._make(xp.asarray(close))


@tensor_method()
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of input is close to other's (see isclose); a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@tensor_method()
def equal(input, other):
    """True if the two tensors have the same shape and the same elements."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("equal", input, overloads=False)
    require_tensor("equal", other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    x, y = operands(input, other)
    return bool((x == y).all())


def _classify(name, fn):
    def classify(input):
        x = input._data
        xp = _backend.array_module(x)
        if x.dtype.kind in "biu":
            return Tensor._make(xp.full(x.shape, fn is _finite, dtype=np.bool_))
        return Tensor._make(getattr(xp, fn)(x) if isinstance(fn, str) else fn(xp, x))

    classify.__name__ = name
    classify.__doc__ = f"Elementwise {name}: a bool tensor."
    return tensor_method(name)(classify)


_finite = "isfinite"
isnan = _classify("isnan", "isnan")
isinf = _classify("isinf", "isinf")
isfinite = _classify("isfinite", _finite)
isposinf = _classify("isposinf", "isposinf")
isneginf = _classify("isneginf", "isneginf")


@tensor_method()
def isreal(input):
    """All True: retrograd tensors are real."""
    return Tensor._make(_backend.array_module(input._data).ones(input._data.shape, dtype=np.bool_))


def _logical(op, name):
    def fn(input, other):
        if input.__class__ is not Tensor and not isinstance(input, Tensor):
            raise input_not_tensor(name, input, overloads=False)
        require_tensor(name, other)
        if _batching.batched(input, other):  # under vmap: the whole batch at once
            return _batching.on_batch_broadcast(fn, input, other)
        x, y = _array(input), _array(other)
        xp = _backend.array_module(x)
        return Tensor._make(xp.asarray(broadcast_op(lambda u, v: op(xp, u != 0, v != 0), x, y, input, other)))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name.replace('_', ' ')} of the operands' truth values; a bool tensor."
    return takes_out(tensor_method(name)(fn), dtype=ANY, grad=NONE)


logical_and = _logical(lambda xp, u, v: u & v, "logical_and")
logical_or = _logical(lambda xp, u, v: u | v, "logical_or")
logical_xor = _logical(lambda xp, u, v: u ^ v, "logical_xor")


def _shift(op, name, symbol):
    def fn(input, other):
        if input.__class__ is not Tensor and not isinstance(input, Tensor) and not isinstance(other, Tensor):
            raise input_not_tensor(name, input, other)
        kernel = {"bitwise_left_shift": "lshift_cpu", "bitwise_right_shift": "rshift_cpu"}[name]
        check_integral(kernel, *(t for t in (input, other) if isinstance(t, Tensor)))
        if _batching.batched(input, other):  # under vmap: the whole batch at once
            return _batching.on_batch_broadcast(fn, input, other)
        x, y = operands(input, other)
        if isinstance(x, float) or isinstance(y, float):
            raise not_implemented_for(kernel, float32, "shifts take integer operands")
        check_integer_result(kernel, input, other)  # bool with bool (no kernel); bool with int8 is int8
        return Tensor._make(broadcast_op(op, x, y, input, other))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise input {symbol} other (bit shift) of integer tensors, with broadcasting."
    return fn


bitwise_left_shift = takes_out(tensor_method("bitwise_left_shift", "__lshift__")(
    _shift(lambda x, y: x << y, "bitwise_left_shift", "<<")))
bitwise_right_shift = takes_out(tensor_method("bitwise_right_shift", "__rshift__")(
    _shift(lambda x, y: x >> y, "bitwise_right_shift", ">>")))
Tensor.__rlshift__ = lambda self, other: bitwise_left_shift(other, self)
Tensor.__rrshift__ = lambda self, other: bitwise_right_shift(other, self)


# ---------------------------------------------------------------------------- membership

__all__ += ["isin"]


@takes_out(dtype=SAME, grad=NONE)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` is among ``test_elements`` (either may be a Python number, not
    both): a bool tensor of elements' shape, no gradient. Both compare in their promoted dtype (nan
    is in nothing); ``invert`` gives the opposite; ``assume_unique`` lets the search assume that
    neither side repeats a value (the result is then undefined where one does, as in torch)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__}): elements or "
                        f"test_elements must be a Tensor")
    x, y = operands(elements, test_elements)
    dtype = getattr(x, "dtype", None) if isinstance(elements, Tensor) else getattr(y, "dtype", None)
    if dtype is not None and dtype.kind == "b":
        raise RuntimeError("Unsupported input type encountered for isin(): Bool; convert the tensors to an "
                           "integer dtype first")
    ref = elements if isinstance(elements, Tensor) else test_elements
    xp = _backend.array_module(ref._data)
    found = xp.isin(xp.asarray(x), xp.asarray(y), assume_unique=bool(assume_unique), invert=bool(invert))
    return Tensor._make(xp.asarray(found))


class CompareInPlace(Function):
    """self.eq_(other) and the other in-place comparisons under autograd: the comparison's 0/1
    values (written into self, in its dtype), a node with zero gradients for self and for a
    tensor other, as torch records (EqBackward0 for a number other, EqBackward1 for a tensor).
    As torch's, it records an integer or bool self too (``a.eq_(b)``, b requiring grad, makes the
    int64 ``a`` require grad); no gradient can pass through such a node: backward raises there."""

    _records_every_dtype = True

    @staticmethod
    def forward(ctx, x, other, compare, node):
        ctx._backward_name = node + ("Backward1" if isinstance(other, Tensor) else "Backward0")
        ctx.shapes = x._data.shape, getattr(other, "shape", None)
        ctx.dtype = x.dtype
        return _backend.cast(compare(x, other)._data, x._data.dtype)  # (CUDA bfloat16: no astype)

    @staticmethod
    def jvp(ctx, tx, to, *_):
        """Piecewise constant: dz = 0."""
        return (tx if tx is not None else to).new_zeros(ctx.shapes[0])

    @staticmethod
    def backward(ctx, g):
        if not ctx.dtype.is_floating_point:
            raise RuntimeError(
                f"Autograd not support dtype: {_TORCH_TYPE[ctx.dtype.name]} (the in-place comparison "
                f"{ctx.name()[:2].lower()}_ made a {ctx.dtype} tensor require grad, as torch's does; no "
                "gradient can pass through it)")
        xp = _backend.array_module(g._data)
        gx, go = (None if s is None else Tensor._make(xp.zeros(s, dtype=g._data.dtype)) for s in ctx.shapes)
        return gx, go, None, None


def _compare_inplace(compare, node):
    def op(self, other):
        if _grad_state.enabled and (self._requires_grad or getattr(other, "_requires_grad", False)) \
                or _function.forward_hook is not None:  # (forward AD: the node's zero tangent replaces self's)
            return CompareInPlace.apply(self, other, compare, node)
        return compare(self, other)

    return op


def _logical_inplace(fn, name):
    """torch's logical_and_ and the like record nothing: self keeps its grad_fn and requires_grad
    (its gradient passes through as before the op), and a leaf that requires grad is accepted."""
    from ._inplace import make_inplace
    from ..autograd.grad_mode import no_grad

    method = make_inplace(fn, name)

    def logical(self, *args, **kwargs):
        with no_grad():
            return method(self, *args, **kwargs)

    logical.__name__, logical.__doc__ = name, method.__doc__
    return logical


def _register_inplace():
    from ._inplace import make_inplace

    for name, node in (("eq", "Eq"), ("ne", "Ne"), ("lt", "Lt"), ("le", "Le"), ("gt", "Gt"), ("ge", "Ge"),
                       ("not_equal", "Ne"), ("greater", "Gt"), ("greater_equal", "Ge"), ("less", "Lt"),
                       ("less_equal", "Le")):
        setattr(Tensor, name + "_", make_inplace(_compare_inplace(globals()[name], node), name + "_"))
    for name in ("logical_and", "logical_or", "logical_xor", "logical_not"):
        setattr(Tensor, name + "_", _logical_inplace(globals()[name], name + "_"))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
                 "bitwise_right_shift", "sign"):
        setattr(Tensor, name + "_", make_inplace(globals()[name], name + "_"))
    Tensor.__iand__ = Tensor.bitwise_and_
    Tensor.__ior__ = Tensor.bitwise_or_
    Tensor.__ixor__ = Tensor.bitwise_xor_
    Tensor.__ilshift__ = Tensor.bitwise_left_shift_
    Tensor.__irshift__ = Tensor.bitwise_right_shift_


_register_inplace()
