"""Lowerings: each op's array-level forward kernel and backward formula, as generated lines.

``LOWERINGS[op class](em, v)`` writes the op's forward into the Emitter (codegen.py) for the
StepView ``v`` and returns the writer of its backward (called later, in reverse order), None
when the op has no backward, or False when this call is not one it lowers (then the op runs
through the generic helper: its own forward and backward on Tensors). Each lowering makes the
same NumPy calls, in the same order, as the op's forward and its plain (grad-mode-off)
backward in ops/*.py, calling the op module's own array helpers where it has them, so that
replay is bitwise eager. Shapes are static: broadcasting sums are decided here.
"""

import numpy as np

from .. import _backend
from ..ops import elementwise as _ew
from ..ops import embedding as _emb
from ..ops import indexing as _ix
from ..ops import join as _join
from ..ops import linalg as _linalg
from ..ops import linear as _linear
from ..ops import loss as _loss
from ..ops import normalization as _norm
from ..ops import reduction as _red
from ..ops import shape as _shape
from ..ops import softmax as _sm
from ..ops._broadcast import broadcast_view
from ..ops._dims import expand_reduced_array
from ..ops._rows import col_sums
from ..tensor import Tensor

_PY_NUMBERS = (int, float)


def _sum_to(em, v, expr, i):
    """``expr`` (an array of the op output's shape) summed to argument i's shape (ops/elementwise.py's
    _sum_to, with its dims found here: the shapes are static)."""
    shape, out = v.shape(i), v.oshape()
    if out == shape:
        return expr
    lead = len(out) - len(shape)
    dims = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape) if n == 1 and out[lead + k] != 1)
    return f"({expr}).sum(axis={dims!r}, keepdims=True).reshape({shape!r})"


def _operands(v):
    """Whether the binary op's operands are ones the lowering takes as eager's ``operands`` gives
    them: two tensors of one dtype, or a float tensor and a Python int/float."""
    ta, tb = v.is_tensor(0), v.is_tensor(1)
    if ta and tb:
        return v.dtype(0) == v.dtype(1)
    if ta:
        return type(v.value(1)) in _PY_NUMBERS and v.dtype(0).kind == "f"
    if tb:
        return type(v.value(0)) in _PY_NUMBERS and v.dtype(1).kind == "f"
    return False


def _alpha_one(v):
    return v.nargs < 3 or (not v.is_tensor(2) and v.value(2) == 1)


# ---------------------------------------------------------------- elementwise
def add(em, v):
    if not (_operands(v) and _alpha_one(v)):
        return False
    em.f(f"{v.o()} = {v.a(0)} + {v.a(1)}")

    def backward(em, v):
        for i in (0, 1):
            if v.needs(i):
                v.grad(i, _sum_to(em, v, v.g(), i))
    return backward


def sub(em, v):
    if not (_operands(v) and _alpha_one(v)):
        return False
    em.f(f"{v.o()} = {v.a(0)} - {v.a(1)}")

    def backward(em, v):
        if v.needs(0):
            v.grad(0, _sum_to(em, v, v.g(), 0))
        if v.needs(1):
            v.grad(1, _sum_to(em, v, f"-{v.g()}", 1))
    return backward


def mul(em, v):
    if not _operands(v):
        return False
    half = any(v.is_tensor(i) and v.dtype(i).itemsize == 2 for i in (0, 1))
    if half:  # _mul's float32 product for a half tensor times a Python float
        mul_ = em.const(_ew._mul)
        product = lambda x, y: f"{mul_}({x}, {y})"  # noqa: E731
    else:  # _mul is x * y then
        product = lambda x, y: f"{x} * {y}"  # noqa: E731
    em.f(f"{v.o()} = {product(v.a(0), v.a(1))}")

    def backward(em, v):
        if v.needs(0):
            v.grad(0, _sum_to(em, v, product(v.g(), v.a(1)), 0))
        if v.needs(1):
            v.grad(1, _sum_to(em, v, product(v.g(), v.a(0)), 1))
    return backward


def tanh(em, v):
    if v.dtype(0).kind != "f" or v.dtype(0).itemsize < 4 or not v.oshape():  # (half: eager's float32 opmath)
        return False
    em.f(f"{v.o()} = np.tanh({v.a(0)})")

    def backward(em, v):
        d = em.tmp("b")
        z = v.o()
        em.b(f"{d} = {z} * {z}")
        em.b(f"np.subtract(1, {d}, out={d})")
        em.b(f"{d} *= {v.g()}")
        v.grad(0, d)
    return backward


def sigmoid(em, v):
    dt = v.dtype(0)
    if dt.kind != "f" or dt.itemsize < 4 or not v.oshape():
        return False
    em.f(f"{v.o()} = {em.const(_ew.sigmoid_array)}({v.a(0)})")

    def backward(em, v):
        d = em.tmp("b")
        em.b(f"{d} = 1 - {v.o()}")
        em.b(f"{d} *= {v.g()}")
        em.b(f"{d} *= {v.o()}")
        v.grad(0, d)
    return backward


def relu(em, v):
    dt = v.dtype(0)
    if dt.kind != "f":
        return False
    zero = em.const(dt.type(0))
    if int(np.prod(v.shape(0))) < _ew._SMALL:
        em.f(f"{v.o()} = np.maximum({zero}, {v.a(0)})")
    else:
        em.f(f"{v.o()} = {v.a(0)}.clip({zero}, {em.const(dt.type(np.inf))})")  # (np.clip's dispatch: ~6 us more)

    def backward(em, v):
        v.grad(0, f"{v.g()} * {em.const(_ew._relu_mask)}({v.o()})")
    return backward


def pow_(em, v):
    """tensor ** number (a float tensor): z = _pow(x, b);  da = g*(b*a^(b-1)) (g*0 for b = 0)."""
    if not (v.is_tensor(0) and not v.is_tensor(1) and type(v.value(1)) in _PY_NUMBERS and v.dtype(0).kind == "f"):
        return False
    b = v.value(1)
    mul_ = em.const(_ew._mul)
    x = v.a(0)
    cube = b == 3 and v.dtype(0) == np.float32  # _pow's x * x * x, written out; and x ** 2.0 (below) as x * x
    pw = None if cube else em.const(_ew._pow)
    sq = f"{v.o()}_sq" if cube and v.needs(0) else None  # x * x, kept for the backward's x ** 2.0
    em.f("with np.errstate(divide='ignore', invalid='ignore', over='ignore'):")
    if sq:
        em.f(f"    {sq} = {x} * {x}")
        em.f(f"    {v.o()} = {sq} * {x}")
    else:
        em.f(f"    {v.o()} = {x} * {x} * {x}" if cube else f"    {v.o()} = {pw}({x}, {v.a(1)})")

    def backward(em, v):
        if b == 0:
            v.grad(0, f"{mul_}({v.g()}, 0)")
            return
        em.b("with np.errstate(divide='ignore', invalid='ignore', over='ignore'):")
        if cube:  # g * (3 * x ** 2.0) in place (products commute bitwise); float32 x ** 2.0 (powf) equals
            # x * x bitwise (checked for every float32 mantissa; the exponent only scales), at a quarter of its cost
            p = em.tmp("b")  # (the forward's x * x: one pass fewer; a new array, the saved one stays)
            em.b(f"    {p} = {sq or f'({x} * {x})'} * {v.a(1)}")
            em.b(f"    {p} *= {v.g()}")
            v.grad(0, p)
            return
        em.b(f"    {v.g()}_p = {pw}({x}, {em.const(b - 1)})")
        v.grad(0, f"{mul_}({v.g()}, {mul_}({v.a(1)}, {v.g()}_p))")
    return backward


def masked_fill(em, v):
    """z = value where mask else a (a Python number value);  da = g with 0 where mask. The fill is a
    bit select where the mask does not widen a (see _bit_select), else eager's np.copyto."""
    if not (v.is_tensor(0) and v.is_tensor(1) and not v.is_tensor(2) and type(v.value(2)) in _PY_NUMBERS + (bool,)):
        return False
    dt = v.dtype(0)
    shape = np.broadcast_shapes(v.shape(0), v.shape(1))
    fill = _backend.cast(np.asarray(v.value(2)), dt)
    bits = _bit_select(v, shape)
    o = v.o()
    if shape == v.shape(0):
        em.f(f"{o} = {v.a(0)}.copy()")
    else:
        em.f(f"{o} = np.broadcast_to({v.a(0)}, {shape!r}).copy()")
    if bits is None:
        em.f(f"np.copyto({o}, {em.const(fill)}, where={v.a(1)})")
    else:
        em.f(f"{o}_keep = np.subtract({v.a(1)}, 1, dtype={em.const(bits)})")  # all ones where not masked
        em.f(f"{o}_bits = {o}.view({em.const(bits)})")
        em.f(f"np.bitwise_and({o}_bits, {o}_keep, out={o}_bits)")
        if fill.view(bits) != 0:
            em.f(f"np.bitwise_or({o}_bits, np.where({v.a(1)}, {em.const(fill.view(bits))}, {em.const(bits.type(0))}), "
                 f"out={o}_bits)")
    zero = em.const(_backend.cast(np.asarray(0.0), dt))

    def backward(em, v):
        t = em.tmp("b")
        em.b(f"{t} = {v.g()}.copy()")
        if bits is None:
            em.b(f"np.copyto({t}, {zero}, where={v.a(1)})")
        else:
            em.b(f"np.bitwise_and({t}.view({em.const(bits)}), {o}_keep, out={t}.view({em.const(bits)}))")
        v.grad(0, _sum_to(em, v, t, 0))
    return backward


def _bit_select(v, shape):
    """The integer dtype of a's element size when masked_fill's copyto can be two bitwise passes on a's bits
    viewed as integers: (a AND keep) OR (fill's bits where mask), keep all ones where the mask is False
    and zeros where True: the same bits as np.copyto's (a copy is a copy of bits, nan payloads and -0.0
    included), without its masked loop (a causal mask over (32, 4, 16, 16) float32: ~21 us -> ~14 us
    forward, ~5.5 us backward). For a float a the mask's shape does not widen (the copy is contiguous)."""
    dt = v.dtype(0)
    if dt.kind != "f" or dt.itemsize not in (2, 4, 8) or v.dtype(1) != np.bool_ or shape != v.shape(0):
        return None
    return np.dtype(f"i{dt.itemsize}")


def clone(em, v):
    em.f(f"{v.o()} = {v.a(0)}.copy()")

    def backward(em, v):
        v.grad(0, v.g())
    return backward


# ---------------------------------------------------------------- shape
def permute(em, v):
    dims = tuple(v.value(1))
    em.f(f"{v.o()} = {v.a(0)}.transpose({dims!r})")
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i

    def backward(em, v):
        v.grad(0, f"{v.g()}.transpose({tuple(inverse)!r})")
    return backward


def reshape(em, v):
    strict = v.nargs > 2 and v.value(2)
    x = v.tensor(0)._data
    if strict and not x.flags.c_contiguous and x.size > 1:  # Reshape's copy-free view (it raises if none)
        em.f(f"{v.o()} = {v.a(0)}.view()")
        em.f(f"{v.o()}.shape = {v.oshape()!r}")
    else:
        em.f(f"{v.o()} = {v.a(0)}.reshape({v.oshape()!r})")

    def backward(em, v):
        v.grad(0, f"{v.g()}.reshape({v.shape(0)!r})")
    return backward


def expand(em, v):
    em.f(f"{v.o()} = {em.const(broadcast_view)}({v.a(0)}, {v.value(1)!r})")

    def backward(em, v):
        v.grad(0, _sum_to(em, v, v.g(), 0))
    return backward


def index(em, v):
    if v.value(2):  # advanced indexing: the generic path (add_at for repeated indices)
        return False
    key = em.const(v.value(1))
    em.f(f"{v.o()} = {v.a(0)}[{key}]")

    def backward(em, v):
        z = em.tmp("b")
        em.b(f"{z} = np.zeros({v.shape(0)!r}, dtype={v.g()}.dtype)")
        em.b(f"{z}[{key}] = {v.g()}")
        v.grad(0, z)
    return backward


def _same_dtypes(v, positions):
    dts = {v.dtype(i) for i in positions}
    return len(dts) == 1 and all(v.is_tensor(i) for i in positions)


def cat(em, v):
    dim = v.value(0)
    parts = range(1, v.nargs)
    if not _same_dtypes(v, parts) or len({len(v.shape(i)) for i in parts}) != 1 or dim < 0:
        return False
    em.f(f"{v.o()} = np.concatenate([{', '.join(v.a(i) for i in parts)}], {dim})")

    def backward(em, v):
        start = 0
        for i in parts:
            size = v.shape(i)[dim]
            if v.needs(i):
                v.grad(i, f"{v.g()}[{':, ' * dim}{start}:{start + size}]")
            start += size
    return backward


def stack(em, v):
    dim = v.value(0)
    parts = range(1, v.nargs)
    if not _same_dtypes(v, parts) or dim < 0:
        return False
    em.f(f"{v.o()} = np.stack([{', '.join(v.a(i) for i in parts)}], {dim})")

    def backward(em, v):
        for k, i in enumerate(parts):
            if v.needs(i):
                v.grad(i, f"{v.g()}[{':, ' * dim}{k}]")
    return backward


def split(em, v):
    dim, bounds = v.value(1), v.value(2)
    if dim < 0:
        return False
    lead = ":, " * dim
    em.f(f"{', '.join(v.o(j) for j in range(len(bounds)))}, = "
         f"{', '.join(f'{v.a(0)}[{lead}{b}:{e}]' for b, e in bounds)},")

    def backward(em, v):
        gs = [v.g(j) for j in range(len(bounds))]
        if len(gs) == 1:
            v.grad(0, gs[0])
        else:
            v.grad(0, f"np.concatenate([{', '.join(gs)}], {dim})")
    return backward


# ---------------------------------------------------------------- linear algebra, losses, softmax
def addmm(em, v):
    b, x, m = 0, 1, 2
    if not (v.is_tensor(x) and v.is_tensor(m) and v.dtype(x) == v.dtype(m)) or v.dtype(x).itemsize < 4:
        return False  # (half: eager adds the bias in float32 before rounding once)
    has_b = v.is_tensor(b)
    if not has_b and v.value(b) is not None or has_b and v.dtype(b) != v.dtype(x):
        return False
    em.f(f"{v.o()} = {em.const(_linear._product)}({v.a(x)}, {v.a(m)})")
    if has_b:
        em.f(f"{v.o()} += {v.a(b)}")

    def backward(em, v):
        g = v.g()
        if v.needs(b):
            v.grad(b, _col_sums(em, g, v.oshape(), v.odtype()))
        if v.needs(x):
            v.grad(x, f"{g} @ {v.a(m)}.T")
        if v.needs(m):
            v.grad(m, f"({g}.T @ {v.a(x)}).T")
    return backward


def _col_sums(em, g, shape, dtype):
    """_rows.col_sums(g) for a static (rows, n) shape: its BLAS product with a ones vector made once
    (the same product, so the same sums), its sum where g is not contiguous, as col_sums decides."""
    if len(shape) != 2 or dtype not in (np.float32, np.float64) or not shape[0] * shape[1]:
        return f"{em.const(col_sums)}({g})"
    ones = em.const(np.ones(shape[0], dtype=dtype))
    return f"({ones} @ {g} if {g}.flags.c_contiguous else {g}.sum(axis=(0,)))"


def matmul(em, v):
    """Batched or 2-D products with alike batch dims (the plain backward's case); else generic."""
    if not (v.is_tensor(0) and v.is_tensor(1)) or v.dtype(0) != v.dtype(1):
        return False
    sa, sb = v.shape(0), v.shape(1)
    if len(sa) < 2 or len(sb) != len(sa) or sa[:-2] != sb[:-2]:
        return False
    mm = em.const(_backend.matmul)
    em.f(f"{v.o()} = {mm}({v.a(0)}, {v.a(1)})")

    def backward(em, v):
        if v.needs(0):
            v.grad(0, f"{mm}({v.g()}, {v.a(1)}.swapaxes(-1, -2))")
        if v.needs(1):
            v.grad(1, f"{mm}({v.a(0)}.swapaxes(-1, -2), {v.g()})")
    return backward


def mse_loss(em, v):
    if not (v.is_tensor(0) and v.is_tensor(1)) or v.dtype(0) != v.dtype(1) or v.shape(0) != v.shape(1):
        return False
    mean = v.value(2)
    size = int(np.prod(v.shape(0)))
    d = f"{v.o()}_d"
    em.f(f"{d} = {v.a(0)} - {v.a(1)}")
    em.f(f"{d} *= {d}")
    em.f(f"{v.o()} = np.asarray({d}.sum(){f' / {size}' if mean else ''}, dtype={d}.dtype)")
    scale = em.const(v.dtype(0).type(2.0 / size if mean else 2.0))

    def backward(em, v):
        t = em.tmp("b")
        em.b(f"{t} = {v.a(0)} - {v.a(1)}")
        em.b(f"{t} *= {v.g()} * {scale}")
        if v.needs(0):
            v.grad(0, t)
        if v.needs(1):
            v.grad(1, f"-{t}")
    return backward


def _float_softmax(v):
    dt = v.dtype(0)
    return dt.kind == "f" and dt.itemsize >= 4 and v.shape(0) and int(np.prod(v.shape(0)))


def _float_reduction(v):
    """A sum or mean of a float32/float64 tensor in its own dtype, over a non-empty set of elements."""
    dt = v.dtype(0)
    return v.is_tensor(0) and dt in (np.float32, np.float64) and v.value(3) is None and int(np.prod(v.shape(0)))


def sum_(em, v):
    """z = x.sum(dims);  dx = g broadcast back (a read-only view, as the plain backward's)."""
    if not _float_reduction(v):
        return False
    dims, keepdim = tuple(v.value(1)), v.value(2)
    em.f(f"{v.o()} = {v.a(0)}.sum(axis={dims!r}, keepdims={keepdim!r})")

    def backward(em, v):
        v.grad(0, f"{em.const(expand_reduced_array)}({v.g()}, {v.shape(0)!r}, {dims!r}, {keepdim!r})")
    return backward


def mean(em, v):
    """z = x.mean(dims);  dx = g/n broadcast back."""
    if not _float_reduction(v):
        return False
    dims, keepdim = tuple(v.value(1)), v.value(2)
    n = int(np.prod([v.shape(0)[d] for d in dims]))
    em.f(f"{v.o()} = {v.a(0)}.mean(axis={dims!r}, keepdims={keepdim!r})")

    def backward(em, v):
        t = em.tmp("b")
        em.b("with np.errstate(divide='ignore', invalid='ignore'):")
        em.b(f"    {t} = np.asarray({v.g()} / {em.const(v.odtype().type(n))})")
        v.grad(0, f"{em.const(expand_reduced_array)}({t}, {v.shape(0)!r}, {dims!r}, {keepdim!r})")
    return backward


class _SavedCtx:
    """What softmax's and log_softmax's plain backward read of their ctx."""

    __slots__ = ("saved_tensors", "dim")

    def __init__(self, z, dim):
        self.saved_tensors, self.dim = (Tensor._make(z),), dim


def _plain_backward(cls, z, g, dim):
    """The op's own plain backward (the generated backward runs with grad mode off) on arrays: its
    gradient computed by its own code (by blocks of rows, in float32 for half types), so the same."""
    return cls.backward(_SavedCtx(z, dim), Tensor._make(g))[0]._data


def softmax(em, v):
    if not _float_softmax(v):
        return False
    dim = v.value(1)
    em.f(f"{v.o()} = {em.const(_sm._along)}({v.a(0)}, {em.const(_sm._softmax)}, {dim!r})")

    def backward(em, v):
        v.grad(0, f"{em.const(_plain_backward)}({em.const(_sm.Softmax)}, {v.o()}, {v.g()}, {dim!r})")
    return backward


def log_softmax(em, v):
    if not _float_softmax(v):
        return False
    dim = v.value(1)
    em.f(f"{v.o()} = {em.const(_sm._along)}({v.a(0)}, {em.const(_sm._log_softmax)}, {dim!r})")

    def backward(em, v):
        v.grad(0, f"{em.const(_plain_backward)}({em.const(_sm.LogSoftmax)}, {v.o()}, {v.g()}, {dim!r})")
    return backward


def nll_loss(em, v):
    """NLLLoss of (M, C) log-probabilities without class weights: the forward's rows -w_t logp[i, t_i]
    and their mean or sum; the plain backward's M nonzeros -w_t coef written into zeros."""
    if not (v.is_tensor(0) and v.is_tensor(1) and len(v.shape(0)) == 2 and v.dtype(0) in (np.float32, np.float64)
            and v.dtype(1).kind in "iu" and len(v.shape(1)) == 1 and v.value(2) is None
            and v.value(4) in ("mean", "sum", "none")):
        return False
    (m, c), dtype, reduction = v.shape(0), v.dtype(0), v.value(4)
    rows = em.const(np.arange(m))
    o = v.o()
    em.f(f"{o}_valid, {o}_tt, {o}_wt = {em.const(_loss._target_weights)}(np, {v.a(1)}, {c}, None, "
         f"{v.a(3)}, {em.const(dtype)})")
    em.f(f"{o}_rows = -{o}_wt * {v.a(0)}[{rows}, {o}_tt]")
    em.f(f"{o}_total = float({o}_wt.sum())")
    if reduction == "mean":
        em.f("with np.errstate(invalid='ignore', divide='ignore'):")
        em.f(f"    {o} = np.asarray({o}_rows.sum() / {o}_total if {o}_total else np.nan, dtype={em.const(dtype)})")
    elif reduction == "sum":
        em.f(f"{o} = np.asarray({o}_rows.sum(), dtype={em.const(dtype)})")
    else:
        em.f(f"{o} = {o}_rows")

    def backward(em, v):
        t = em.tmp("b")
        em.b("with np.errstate(invalid='ignore', divide='ignore'):")
        em.b(f"    {t}_c = {em.const(_loss._coef)}({v.g()}, {reduction!r}, {o}_total, {m}, {o}_valid)")
        em.b(f"{t} = np.zeros({(m, c)!r}, dtype={em.const(dtype)})")
        em.b(f"{t}[{rows}, {o}_tt] = -{o}_wt * np.broadcast_to({t}_c, {(m, 1)!r})[:, 0]")
        v.grad(0, t)
    return backward


def lookup(em, v):
    """Embedding rows W[idx] (no frequency scale);  dW = rows of g added into zeros at idx."""
    if not (v.is_tensor(0) and v.is_tensor(1) and v.value(2) is None and len(v.shape(0)) == 2):
        return False
    num, d = v.shape(0)
    em.f(f"{v.o()} = {v.a(0)}[{v.a(1)}]")

    def backward(em, v):
        t = em.tmp("b")
        em.b(f"{t} = np.zeros({(num, d)!r}, dtype={em.const(v.odtype())})")
        em.b(f"{em.const(_emb._add_rows)}({t}, {v.a(1)}.reshape(-1), {v.g()}.reshape(-1, {d}))")
        v.grad(0, t)
    return backward


class _LayerNormCtx:
    """What layer norm's rows backward reads of its ctx."""

    def __init__(self, needs, wshape, b_shape, x_shape):
        self.needs_input_grad, self.wshape, self.b_shape, self.x_shape = needs, wshape, b_shape, x_shape


def layer_norm(em, v):
    """Layer norm's (rows, features) path (normalization.py: _layer_norm_rows and
    _layer_norm_backward_rows) on the statistics step's mean, rstd and x - mean."""
    x, w, b, view, axes, wshape, mean, rstd, eps, xc = range(10)
    if v.nargs != 10 or v.is_tensor(xc) or not v.is_tensor(x) or not v.is_tensor(w):
        return False
    view_, has_b = tuple(v.value(view)), v.is_tensor(b)
    if v.step.spec[xc][0] is not True or not has_b and v.value(b) is not None:
        return False
    # eager's choice of the rows path, on an x - mean as the statistics step makes it (fresh, contiguous)
    if not _norm._rows_ok(np.empty(view_, v.dtype(x)), v.tensor(w), view_):
        return False
    em.f(f"{v.o()} = {em.const(_norm._layer_norm_rows)}({v.a(xc)}, {v.a(rstd)}, {v.a(w)}, "
         f"{v.a(b) if has_b else 'None'}).reshape({v.shape(x)!r})")

    def backward(em, v):
        ctx = em.const(_LayerNormCtx(v.step.needs, tuple(v.value(wshape)), v.shape(b) if has_b else None,
                                     v.shape(x)))
        r = em.tmp("b")
        em.b(f"{r} = {em.const(_norm._layer_norm_backward_rows)}({ctx}, {v.a(w)}.reshape(-1), {v.a(rstd)}, "
             f"{v.a(xc)}, {v.g()}.reshape({view_!r}))")
        for i in (x, w, b):
            if v.needs(i):
                v.grad(i, f"{r}[{i}]._data")
    return backward


def _unchanged(cls, base):
    """Whether op class ``cls`` runs ``base``'s forward and backward (a subclass for a name only)."""
    return all(getattr(cls, name) is getattr(base, name) for name in ("forward", "backward", "_forward_ctx"))


LOWERINGS = {
    _ew.Add: add, _ew.Sub: sub, _ew.Mul: mul, _ew.Tanh: tanh, _ew.Sigmoid: sigmoid, _ew.Relu: relu,
    _ew.Clone: clone, _ew.Pow: pow_, _ix.MaskedFill: masked_fill, _linalg.Matmul: matmul,
    _linear.Addmm: addmm, _loss.MseLoss: mse_loss, _sm.Softmax: softmax,
    _sm.LogSoftmax: log_softmax, _join.Cat: cat, _join.Stack: stack, _join.Split: split,
    _loss.NLLLoss: nll_loss, _emb.Lookup: lookup, _norm.LayerNorm: layer_norm,
}
for _cls in (_red.Sum, _red.SumDim):
    if _unchanged(_cls, _red.Sum):
        LOWERINGS[_cls] = sum_
for _cls in (_red.Mean, _red.MeanDim):
    if _unchanged(_cls, _red.Mean):
        LOWERINGS[_cls] = mean
for _cls in (_shape.Permute, _shape.Transpose, _shape.TMatrix):
    if _unchanged(_cls, _shape.Permute):
        LOWERINGS[_cls] = permute
for _cls in (_shape.Reshape, _shape.UnsafeView, _shape.Unsqueeze, _shape.Squeeze, _shape.SqueezeDim):
    if _unchanged(_cls, _shape.Reshape):
        LOWERINGS[_cls] = reshape
for _cls in (_ix.Index, _ix.Slice, _ix.Select):
    if _unchanged(_cls, _ix.Index):
        LOWERINGS[_cls] = index
LOWERINGS[_shape.Expand] = expand
