"""Batching rules of the op families, for retrograd.func.vmap.

An op declares its rule on its class as ``vmap = classmethod(<rule>)`` (or a rule made by one
of the factories below). vmap calls ``cls.vmap(info, in_dims, *args, **kwargs)`` with the
arguments unwrapped: each batched tensor holds its vmapped dim at ``in_dims[i]`` (None for an
argument that is not batched, and for non-tensors). The rule runs the op once on the whole
batch, with the batch dim moved to the front, and returns ``(output, out_dims)``; vmap wraps
the result again. Rules call ops through ``apply`` on ordinary tensors, so autograd records
the batched computation (gradients inside vmap are per sample: retrograd.func.grad).
"""

from ..autograd import function as _function


class NoRule(NotImplementedError):
    """Raised by a rule for a case it does not batch: vmap then runs the op once per sample
    (and counts it, retrograd.func.vmap_fallbacks())."""


def batched(*tensors):
    """Whether vmap runs and one of ``tensors`` is a sample's view of a batch (a BatchedTensor):
    functionals that compute on arrays before their op (statistics, windows) pass the op
    placeholders instead, and the op's rule computes on the whole batch."""
    if _function.batch_hook is None:
        return False
    from ..func._batched import BatchedTensor

    return any(type(t) is BatchedTensor for t in tensors)


def on_batch(fn, *tensors):
    """``fn(*tensors)`` for a functional that computes on its tensors' arrays before its ops
    (indices, sampling coordinates), under vmap: called once on the batch of the innermost vmap
    among ``tensors``, each with that batch dim first (an unbatched one expanded over it; fn
    treats it as one more leading dim), its output batched again there."""
    from ..func._batched import BatchedTensor, wrap

    level = max(t._level for t in tensors if type(t) is BatchedTensor)
    size = next(t._value.shape[0] for t in tensors if type(t) is BatchedTensor and t._level == level)
    out = fn(*[t._value if type(t) is BatchedTensor and t._level == level else t.expand((size,) + tuple(t.shape))
               for t in tensors])
    if isinstance(out, tuple):  # (a named pair such as sort's keeps its type)
        wrapped = [wrap(o, level) for o in out]
        return out._make(wrapped) if hasattr(out, "_make") else tuple(wrapped)
    return wrap(out, level)


def on_batch_broadcast(fn, *args):
    """``fn(*args)`` for an elementwise functional computed on arrays (bitwise and logical ops)
    under vmap: once on the batch (on_batch), its tensors padded to one rank after the batch dim
    so that they broadcast as the samples do; other arguments as given."""
    from ..tensor import Tensor

    rank = max(a.ndim for a in args if isinstance(a, Tensor))

    def call(*values):
        padded = iter(_pad_to(v, rank) for v in values)
        return fn(*[next(padded) if isinstance(a, Tensor) else a for a in args])

    return on_batch(call, *[a for a in args if isinstance(a, Tensor)])


def all_true(t):
    """Whether every element of bool tensor ``t`` is True; under vmap, of every sample (the
    check of an argument validation, as torch._is_all_true, not data-dependent control flow)."""
    while type(t).__name__ == "BatchedTensor":
        t = t._value
    return bool(t.all())


def level(t):
    """The vmap level ``t`` is batched at (its innermost), 0 for an unbatched tensor."""
    return getattr(t, "_level", 0) if batched(t) else 0


def front(a, d):
    """``a`` with its vmapped dim ``d`` moved to the front (None: unbatched, unchanged)."""
    return a if d is None or d == 0 else a.movedim(d, 0)


def _logical_ndim(a, d):
    if not hasattr(a, "ndim"):
        return 0
    return a.ndim - (d is not None)


def _pad_to(a, rank):
    """A batched ``a`` (batch dim first) with size-1 dims after the batch dim up to ``rank``
    logical dims, so that it broadcasts against unbatched operands as its samples do."""
    missing = rank - (a.ndim - 1)
    return a.reshape((a.shape[0],) + (1,) * missing + tuple(a.shape[1:])) if missing > 0 else a


def elementwise(cls, info, in_dims, *args, **kwargs):
    """Broadcasting ops: batch dims to the front, padded to the output's logical rank."""
    rank = max(_logical_ndim(a, d) for a, d in zip(args, in_dims))
    new = [a if d is None else _pad_to(front(a, d), rank) for a, d in zip(args, in_dims)]
    return cls.apply(*new, **kwargs), 0


def _shift(dims):
    """Logical dims (non-negative, or negative counted from the end) as dims of the batched
    tensor whose batch dim is first."""
    if dims is None:
        return None
    if isinstance(dims, int):
        return dims + 1 if dims >= 0 else dims
    return type(dims)(_shift(d) for d in dims)


def along_dims(position):
    """A rule for ops on one tensor (the first argument) whose argument at ``position`` holds
    the dims they act along (an int or a tuple; reductions, softmax, cumsum, transpose ...)."""

    def rule(cls, info, in_dims, *args, **kwargs):
        x = front(args[0], in_dims[0])
        if any(d is not None for d in in_dims[1:]):
            raise NoRule(f"{cls.__name__} with more than one batched tensor")
        args = list(args)
        args[0] = x
        if position < len(args):
            args[position] = _shift(args[position])
        return cls.apply(*args, **kwargs), 0

    return rule


def reduce_all(cls, info, in_dims, a, dims, *rest, **kwargs):
    """Reductions whose dims are a tuple of all of a's logical dims, or chosen ones."""
    x = front(a, in_dims[0])
    return cls.apply(x, _shift(tuple(dims)), *rest, **kwargs), 0


def shape_arg(cls, info, in_dims, a, shape, *rest, **kwargs):
    """reshape/view/unsqueeze/squeeze: the batch size prepended to the new shape."""
    x = front(a, in_dims[0])
    return cls.apply(x, (x.shape[0],) + tuple(shape), *rest, **kwargs), 0


def expand(cls, info, in_dims, a, shape, *rest, **kwargs):
    """expand: the sample's dims padded to the new rank after the batch dim, which stays."""
    x = _pad_to(front(a, in_dims[0]), len(shape))
    return cls.apply(x, (x.shape[0],) + tuple(shape), *rest, **kwargs), 0


def permutation(cls, info, in_dims, a, dims, *rest, **kwargs):
    """permute/transpose: the batch dim stays first, the others permuted after it."""
    x = front(a, in_dims[0])
    return cls.apply(x, (0,) + tuple(d + 1 for d in dims), *rest, **kwargs), 0


def batch_position(key):
    """Where a leading slice added to the NumPy ``key`` leaves the batch dim in the result: first,
    unless NumPy puts the advanced-index dims first (arrays, with ints among them, not adjacent
    in the key), and then right after those dims."""
    import numpy as np

    arrays = [k for k in key if hasattr(k, "ndim") and not isinstance(k, np.generic) and k.ndim > 0]
    if not arrays:
        return 0
    at = [i for i, k in enumerate(key) if any(k is a for a in arrays)
          or isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))]
    if at[-1] - at[0] + 1 == len(at):
        return 0
    return len(np.broadcast_shapes(*[(int(np.count_nonzero(a)),) if a.dtype == np.bool_ else a.shape
                                     for a in arrays]))


def index_key(cls, info, in_dims, a, key, *rest, **kwargs):
    """Indexing by a NumPy key (basic, or advanced by unbatched index arrays): the batch dim kept
    by a leading slice, where NumPy's layout puts it (batch_position)."""
    keys = key if isinstance(key, tuple) else (key,)
    if any(d is not None for d in in_dims[1:]):
        raise NoRule("indexing with batched keys")
    x = front(a, in_dims[0])
    return cls.apply(x, (slice(None),) + keys, *rest, **kwargs), batch_position(keys)


def matmul(cls, info, in_dims, a, b, *rest, **kwargs):
    """matmul: vectors made matrices, the batched operand's batch dim in front of its own
    (broadcast) batch dims, then the added size-1 dims squeezed out again."""
    da, db = in_dims[0], in_dims[1]
    ra, rb = _logical_ndim(a, da), _logical_ndim(b, db)
    a, b = front(a, da), front(b, db)
    if ra == 1 and da is not None:
        a = a.unsqueeze(-2)
    if rb == 1 and db is not None:
        b = b.unsqueeze(-1)
    lead = max(max(ra, 2) - 2, max(rb, 2) - 2)
    if da is not None:
        a = _pad_to(a, lead + 2)
    if db is not None:
        b = _pad_to(b, lead + 2)
    from ..func._linear import PerSampleMatmul, shares_weight

    if (da is not None and a.ndim == 3 and shares_weight(b) and a.shape[-1] == b.shape[-2]
            and not rest and not kwargs):  # x @ W of vmap(grad(f)): as in addmm below
        out = PerSampleMatmul.apply(a, b)
    else:
        out = cls.apply(a, b, *rest, **kwargs)
    if rb == 1 and db is not None:
        out = out.squeeze(-1)
    if ra == 1 and da is not None:
        out = out.squeeze(-2 if not (rb == 1 and db is None) else -1)
    return out, 0


def addmm(cls, info, in_dims, bias, x, m, **kwargs):
    """Y = b + X M (linear): the rows of every sample in one product when only X is batched,
    else a batched product."""
    db, dx, dm = in_dims
    if dm is None and db is None and dx is not None:
        x = front(x, dx)
        y = cls.apply(bias, x.reshape(x.shape[0] * x.shape[1], x.shape[2]), m)
        return y.view(x.shape[0], x.shape[1], y.shape[-1]), 0
    x = x if dx is None else _pad_to(front(x, dx), 2)
    m = front(m, dm)
    if dx is not None:
        from ..func._linear import PerSampleMatmul, shares_weight

        if shares_weight(m):  # the parameters of vmap(grad(f)): one weight, gradients per sample
            y = PerSampleMatmul.apply(x, m)
            if bias is not None:
                y = y + (bias if db is None else _pad_to(front(bias, db), 2))
            return y, 0
    y = x @ m
    if bias is not None:
        y = y + (bias if db is None else _pad_to(front(bias, db), 2))
    return y, 0


def nll_loss(cls, info, in_dims, logp, target, weight, ignore_index, reduction, **kwargs):
    """nll_loss per sample: the samples' rows as one batch with reduction 'none', then each
    sample's rows reduced as torch reduces them ('mean' divides by the sample's total weight)."""
    if in_dims[2] is not None:
        raise NoRule("nll_loss with batched class weights")
    b = info.batch_size
    logp, target = front(logp, in_dims[0]), front(target, in_dims[1])
    if in_dims[0] is None:
        logp = logp.expand((b,) + tuple(logp.shape))
    if in_dims[1] is None:
        target = target.expand((b,) + tuple(target.shape))
    per_row = logp.ndim > 2  # (B, N, C, ...): fold B into N; (B, C): B is N already
    flat_logp = logp.reshape((-1,) + tuple(logp.shape[2:])) if per_row else logp
    flat_target = target.reshape((-1,) + tuple(target.shape[2:])) if per_row else target
    rows = cls.apply(flat_logp, flat_target, weight, ignore_index, "none")
    rows = rows.reshape(tuple(target.shape))
    if reduction == "none":
        return rows, 0
    dims = tuple(range(1, rows.ndim))
    total = rows.sum(dims) if dims else rows
    if reduction == "sum":
        return total, 0
    valid = (target != ignore_index)
    wt = valid.to(rows.dtype) if weight is None else \
        weight.detach()[target.clamp(0, weight.shape[0] - 1)] * valid.to(rows.dtype)
    count = wt.sum(dims) if dims else wt
    return total / count, 0


def mse_loss(cls, info, in_dims, input, target, mean, **kwargs):
    """mse_loss per sample: squared differences, averaged (or summed) within each sample."""
    rank = max(_logical_ndim(input, in_dims[0]), _logical_ndim(target, in_dims[1]))
    x = input if in_dims[0] is None else _pad_to(front(input, in_dims[0]), rank)
    t = target if in_dims[1] is None else _pad_to(front(target, in_dims[1]), rank)
    d = x - t
    sq = d * d
    dims = tuple(range(1, sq.ndim))
    if not dims:
        return sq, 0
    return (sq.mean(dims) if mean else sq.sum(dims)), 0


def join(cls, info, in_dims, dim, *tensors, **kwargs):
    """cat/stack: unbatched tensors expanded over the batch, all with the batch dim first."""
    b = info.batch_size
    ts = [t.expand((b,) + tuple(t.shape)) if d is None else front(t, d) for t, d in zip(tensors, in_dims[1:])]
    return cls.apply(_shift(dim), *ts, **kwargs), 0


def random_draws(cls, info, in_dims, *args, **kwargs):
    """Random ops of tensor inputs (bernoulli(p), normal(mean, std), poisson): with
    randomness='different' the whole batch's numbers in one draw (tensors with the batch dim
    first, padded to one rank); 'same' and 'error' take vmap's per-sample loop, which replays
    the first sample's numbers or raises."""
    if info.randomness != "different":
        raise NoRule(f"{cls.__name__}'s numbers shared by the samples")
    from ..func._randomness import whole_batch

    with whole_batch():
        return elementwise(cls, info, in_dims, *args, **kwargs)


def masked_fill(cls, info, in_dims, a, mask, value, **kwargs):
    """masked_fill: the output has a's shape, so an unbatched a is expanded over the batch."""
    if len(in_dims) > 2 and in_dims[2] is not None:
        raise NoRule("masked_fill with a batched value")
    x = a.expand((info.batch_size,) + tuple(a.shape)) if in_dims[0] is None else front(a, in_dims[0])
    m = mask if in_dims[1] is None else _pad_to(front(mask, in_dims[1]), x.ndim - 1)
    return cls.apply(x, m, value, **kwargs), 0


def bmm(cls, info, in_dims, a, b, **kwargs):
    """bmm: the batched product of the samples' (b, n, k) and (b, k, m) stacks."""
    return front(a, in_dims[0]) @ front(b, in_dims[1]), 0


def fold_batch(cls, info, in_dims, x, *rest, **kwargs):
    """Layers over (N, C, ...) with unbatched parameters (conv, pooling, norms over the last
    dims): the batch folded into N, unfolded after. A 1-sample input without N gets B as N."""
    if any(d is not None for d in in_dims[1:]):
        raise NoRule(f"{cls.__name__} with batched parameters")
    x = front(x, in_dims[0])
    return _folded(cls, x, rest, kwargs), 0


def _folded(cls, x, rest, kwargs):
    b, n = x.shape[0], x.shape[1]
    out = cls.apply(x.reshape((b * n,) + tuple(x.shape[2:])), *rest, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.reshape((b, n) + tuple(o.shape[1:])) for o in out)
    return out.reshape((b, n) + tuple(out.shape[1:]))


def fold_all(cls, info, in_dims, *args, **kwargs):
    """Ops on (N, ...) tensors that treat each n on its own, all tensors alike (max pooling with
    its values and flat indices, gathers and scatters by them): every tensor's batch folded
    into N (an unbatched one expanded over the batch first), the outputs unfolded."""
    from ..tensor import Tensor

    b = info.batch_size
    new = []
    for a, d in zip(args, in_dims):
        if isinstance(a, Tensor):
            a = a.expand((b,) + tuple(a.shape)) if d is None else front(a, d)
            a = a.reshape((-1,) + tuple(a.shape[2:]))
        new.append(a)
    out = cls.apply(*new, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.reshape((b, -1) + tuple(o.shape[1:])) for o in out), 0
    return out.reshape((b, -1) + tuple(out.shape[1:])), 0


def rows_arrays(fn, x):
    """Array code of a sample, ``fn(array of (N, ...)) -> arrays with N first`` (windows and
    indices a functional finds before its op), run once on a batch under vmap: x's batch dims
    (of every running vmap) folded into N, the results' N unfolded and batched as x is."""
    from ..func._batched import BatchedTensor, wrap
    from ..tensor import Tensor

    levels, v = [], x
    while type(v) is BatchedTensor:
        levels.append(v._level)
        v = v._value
    lead = tuple(v.shape[:len(levels) + 1])
    results = []
    for a in fn(v._data.reshape((-1,) + tuple(v.shape[len(levels) + 1:]))):
        t = Tensor._make(a.reshape(lead + tuple(a.shape[1:])))
        for level in reversed(levels):
            t = wrap(t, level)
        results.append(t)
    return results


def unbatched_params(cls, info, in_dims, x, *rest, **kwargs):
    """Ops acting on the trailing dims of x with unbatched other arguments (layer_norm over
    normalized_shape, embedding's lookup): the batch dim is one more leading dim."""
    if any(d is not None for d in in_dims[1:]):
        raise NoRule(f"{cls.__name__} with batched parameters")
    return cls.apply(front(x, in_dims[0]), *rest, **kwargs), 0


def index_lookup(cls, info, in_dims, weight, indices, *rest, **kwargs):
    """embedding(weight, indices): batched indices only, the batch one more leading dim."""
    if in_dims[0] is not None or any(d is not None for d in in_dims[2:]):
        raise NoRule("embedding with a batched weight")
    return cls.apply(weight, front(indices, in_dims[1]), *rest, **kwargs), 0
