"""Indexing: ``x[key]`` (basic indexing is a view, advanced indexing a copy) and
``x[key] = v``. Backward of a read scatters the gradient into zeros, adding over
repeated indices; backward of a write routes the gradient to the written value."""

import numpy as np

from . import _batching
from ..amp.autocast_mode import autocast_op
from .. import _backend
from ..autograd import function as _function
from ..autograd.function import Function, refresh_if_stale
from ..autograd.forward_ad import linear_jvp
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ._broadcast import sum_to_shape
from ._inplace import inplace
from ._select import fill_where

__all__ = ["index_put"]


def _convert_index(k):
    if isinstance(k, Tensor):
        arr = k._data
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if arr.ndim == 0 and arr.dtype != np.bool_:
            return int(arr)
        if arr.dtype == np.uint8:  # torch reads byte tensors as masks (deprecated there)
            return arr.astype(np.bool_)
        return arr
    if isinstance(k, (list, tuple)) and not isinstance(k, range):
        converted = [_convert_index(x) for x in k]
        return np.array(converted) if converted else np.zeros(0, dtype=np.int64)
    if isinstance(k, slice):
        _check_step(k)
        return k
    if isinstance(k, (int, type(None), type(Ellipsis), np.ndarray, np.integer)):
        return k
    if isinstance(k, range):
        return np.arange(k.start, k.stop, k.step)
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        f"valid indices (got {type(k).__name__})"
    )


def _sequence_as_tuple(key):
    """torch (like old NumPy) reads ``x[[a, b]]`` as ``x[a, b]`` when the list holds tensors,
    sequences, slices, Ellipsis or None (and is shorter than 32)."""
    return len(key) < 32 and any(
        isinstance(k, (Tensor, list, tuple, slice, type(None), type(Ellipsis))) or
        (isinstance(k, np.ndarray) and k.ndim > 0) for k in key)


_BASIC = (int, slice, type(None), type(Ellipsis))


def _check_step(k):
    if k.step is not None and k.step <= 0:
        raise ValueError(f"step must be greater than zero (got {k.step}); use flip() to reverse")


def convert_key(key):
    """A NumPy index for a torch-style key; and whether it is advanced (copying) indexing."""
    kt = type(key)
    if kt in _BASIC:  # the common cases first: x[i], x[a:b], x[i, a:b, None]
        if kt is slice and key.step is not None:
            _check_step(key)
        return (key,), False
    if kt is tuple and all(type(k) in _BASIC for k in key):
        for k in key:
            if type(k) is slice and k.step is not None:
                _check_step(k)
        return key, False
    if isinstance(key, list) and _sequence_as_tuple(key):
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, tuple):  # a tuple inside a tuple is a sequence index
            k = list(k)
        out.append(_convert_index(k))
    advanced = any(hasattr(k, "shape") and not isinstance(k, np.integer) for k in out)
    return tuple(out), advanced


def add_at(z, key, values):
    """z[key] += values, adding over repeated indices."""
    xp = _backend.array_module(z)
    if xp is np:
        np.add.at(z, key, values)
    else:  # CuPy: atomic adds, whose float sums vary in order run to run
        import cupyx

        from .._flags import alert_not_deterministic

        alert_not_deterministic("scatter-add on CUDA (indexing backward, index_add_, ...)")
        _backend.call_into(cupyx.scatter_add, z, key, values)


def multiply_at(z, key, values):
    """z[key] *= values, multiplying over repeated indices. CuPy has no multiply.at: on a device,
    the values sharing a target are multiplied by a segmented scan over the targets sorted
    (log2(n) passes), then each target is written once."""
    xp = _backend.array_module(z)
    if xp is np:
        np.multiply.at(z, key, values)
        return
    parts = xp.broadcast_arrays(*key, values)
    target = sum(k.astype(np.int64) * int(np.prod(z.shape[d + 1:], dtype=np.int64)) for d, k in enumerate(parts[:-1]))
    order = xp.argsort(target.reshape(-1), kind="stable")
    t, v = target.reshape(-1)[order], parts[-1].reshape(-1)[order]
    k = 1
    while k < t.size:  # v_i: the product of v over its segment's elements up to i
        v = xp.concatenate([v[:k], xp.where(t[k:] == t[:-k], v[k:] * v[:-k], v[k:])])
        k *= 2
    last = xp.concatenate([t[1:] != t[:-1], xp.ones(min(t.size, 1), dtype=np.bool_)])
    flat = xp.concatenate([z.reshape(-1), xp.ones(1, dtype=z.dtype)])  # a spare slot for the other rows
    dest = xp.where(last, t, z.size)
    flat[dest] = flat[dest] * v
    z[...] = flat[:-1].reshape(z.shape)


class Index(Function):
    """z = a[key];  da = zeros with g added at key."""
    vmap = classmethod(_batching.index_key)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, key, advanced):
        x = a._data
        ctx.shape, ctx.key, ctx.advanced = x.shape, key, advanced
        ctx._view = not advanced
        try:
            return x[key]
        except IndexError as e:
            raise IndexError(f"{e} (indexing a tensor of shape {list(a.shape)})") from None

    def name(self):
        """torch's node name: that of the last basic indexing step (Select, Slice, Unsqueeze)."""
        if self.advanced:
            return "IndexBackward0"
        for k in reversed(self.key):
            if k is Ellipsis or (isinstance(k, slice) and k == slice(None)):
                continue
            return "UnsqueezeBackward0" if k is None else (
                "SliceBackward0" if isinstance(k, slice) else "SelectBackward0")
        return "SliceBackward0"

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return IndexScatter.apply(g, ctx.shape, ctx.key, ctx.advanced), None, None


class Gather(Index):
    """z = a gathered along a dim (Index under torch's name for the graph)."""


class IndexSelect(Index):
    """z = a's entries at a 1-D index along a dim."""


class Take(Index):
    """z = a flattened, at an index."""


class MaskedSelect(Index):
    """z = a's elements where a mask is True."""


class Slice(Index):
    """z = a basic slice of a (a view)."""


class Select(Index):
    """z = a at one position of a dim (a view without that dim)."""


class IndexScatter(Function):
    """z = zeros(shape) with g added at key (the backward of Index);  dg = gz[key]."""

    @classmethod
    def vmap(cls, info, in_dims, g, shape, key, advanced):
        """g laid out as the batched indexing's result (batch dim where NumPy puts it), scattered
        into the batch's zeros by the key after a leading slice."""
        keys = key if isinstance(key, tuple) else (key,)
        g = g.movedim(in_dims[0], _batching.batch_position(keys))
        return cls.apply(g, (info.batch_size,) + tuple(shape), (slice(None),) + keys, advanced), 0

    @staticmethod
    def forward(ctx, g, shape, key, advanced):
        ctx.key, ctx.advanced = key, advanced
        z = _backend.array_module(g._data).zeros(shape, dtype=g._data.dtype)
        if advanced:
            add_at(z, key, g._data)
        else:
            z[key] = g._data
        return z

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, gz):
        return Index.apply(gz, ctx.key, ctx.advanced), None, None, None


class IndexPut(Function):
    """z = a with z[key] = v;  da = g with zeros at key,  dv = g[key] (summed to v's shape)."""

    @classmethod
    def vmap(cls, info, in_dims, a, key, advanced, value, accumulate=False):
        """The key after a leading slice, on the batch (an unbatched input expanded: the op
        copies it); a tensor value laid out as the batched indexing's result."""
        keys = key if isinstance(key, tuple) else (key,)
        b = info.batch_size
        x = a.expand((b,) + tuple(a.shape)) if in_dims[0] is None else _batching.front(a, in_dims[0])
        if isinstance(value, Tensor):
            rank = np.empty(tuple(x.shape[1:]), dtype=np.bool_)[keys].ndim
            v = value.unsqueeze(0) if in_dims[3] is None else _batching.front(value, in_dims[3])
            value = _batching._pad_to(v, rank).movedim(0, _batching.batch_position(keys))
        return cls.apply(x, (slice(None),) + keys, advanced, value, accumulate), 0

    @staticmethod
    def forward(ctx, a, key, advanced, value, accumulate=False):
        out = a._data.copy()
        v = value._data if isinstance(value, Tensor) else value
        if isinstance(value, Tensor) and type(v) is not type(out):
            raise RuntimeError(f"index_put_: value is on {value.device} but the tensor is on {a.device}")
        ctx.key, ctx.advanced, ctx.accumulate = key, advanced, accumulate
        ctx.vshape = value.shape if isinstance(value, Tensor) else None
        try:
            if accumulate:
                add_at(out, key, v)
            else:
                out[key] = v
        except ValueError:
            target = np.empty(a.shape, dtype=np.bool_)[key].shape
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(np.shape(v))} cannot be broadcast "
                f"to indexing result of shape {list(target)}"
            ) from None
        return out

    @staticmethod
    def jvp(ctx, ta, _key, _advanced, tvalue, *_):
        """dz = ta with z[key] = tvalue (a number value is a constant: 0)."""
        a, key, advanced, value, *rest = ctx._fw_args
        return IndexPut.apply(ta, key, advanced, 0.0 if tvalue is None else tvalue, *rest, **ctx._fw_kwargs)

    @staticmethod
    def backward(ctx, g):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = g if ctx.accumulate else IndexPut.apply(g, ctx.key, ctx.advanced, 0.0)
        if ctx.needs_input_grad[3]:
            gv = sum_to_shape(Index.apply(g, ctx.key, ctx.advanced), ctx.vshape)
        return ga, None, None, gv, None


def _is_int(k):
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _is_array(k):
    return hasattr(k, "shape") and not isinstance(k, np.generic) and k.ndim > 0


def _torch_layout(key, ndim):
    """torch applies integer indices first (as selects), NumPy counts them as advanced
    indices. So where ints split the advanced indices NumPy puts the advanced dims first,
    torch keeps them in place. Returns (b, p): move NumPy's leading b advanced dims to
    position p to get torch's layout; None when the two agree."""
    if not any(_is_int(k) for k in key):
        return None
    pos = [i for i, k in enumerate(key) if _is_array(k) or _is_int(k)]
    arrays = [i for i, k in enumerate(key) if _is_array(k)]
    if not arrays or pos[-1] - pos[0] + 1 == len(pos):
        return None  # no advanced arrays, or NumPy's advanced indices are adjacent too
    rest = [k for k in key if not _is_int(k)]
    adv = [i for i, k in enumerate(rest) if _is_array(k)]
    if adv[-1] - adv[0] + 1 != len(adv):
        return None  # not adjacent for torch either: both put them first
    shapes = [(int(np.count_nonzero(key[i])),) if key[i].dtype == np.bool_ else key[i].shape
              for i in arrays]
    b = len(np.broadcast_shapes(*shapes))
    consumed = sum(k.ndim if _is_array(k) and k.dtype == np.bool_ else 1
                   for k in key if isinstance(k, slice) or _is_int(k) or _is_array(k))
    p = 0
    for k in key[:arrays[0]]:
        if k is Ellipsis:
            p += ndim - consumed
        elif not _is_int(k):
            p += 1  # a slice, None or a Python bool
    return (b, p) if p else None


def _leading_index_tensors(key):
    """The number of integer index tensors (and ints) that start ``key``, when nothing but slices,
    None and Ellipsis follows them (then NumPy and torch lay the result out alike), else 0."""
    n = 0
    while n < len(key) and (isinstance(key[n], int) and not isinstance(key[n], bool) or isinstance(key[n], Tensor)
                            and key[n].dtype.name.startswith("int")):
        n += 1
    rest_basic = all(k is None or k is Ellipsis or isinstance(k, slice) for k in key[n:])
    return n if rest_basic and any(isinstance(k, Tensor) for k in key[:n]) else 0


def getitem(self, key):
    keys = key if type(key) is tuple else (key,)
    if _batching.batched(*keys) and self.ndim and _leading_index_tensors(keys):
        # per-sample index tensors leading the key: the batch's elements picked by (sample, indices)
        from ..creation import arange

        n = _leading_index_tensors(keys)
        tensors = [k for k in keys[:n] if isinstance(k, Tensor)]

        def pick(x, *idx):  # (each index with the batch dim first, padded to one rank to broadcast as a sample's)
            rank = max(i.ndim for i in idx)
            it = iter(_batching._pad_to(i, rank - 1) for i in idx)
            lead = [next(it) if isinstance(k, Tensor) else k for k in keys[:n]]
            return x[(arange(x.shape[0]).reshape((-1,) + (1,) * (rank - 1)),) + tuple(lead) + keys[n:]]

        return _batching.on_batch(pick, self, *tensors)
    key, advanced = convert_key(key)
    if advanced:
        _check_masks(self._data.shape, key)
        try:
            out = Index.apply(self, key, advanced)
        except IndexError:
            key = _in_range_if_empty(self._data.shape, key)
            out = Index.apply(self, key, advanced)
    else:
        out = Index.apply(self, key, advanced)
    if advanced:
        layout = _torch_layout(key, self._data.ndim)
        if layout is not None:
            b, p = layout
            out = out.movedim(tuple(range(b)), tuple(range(p, p + b)))
    return out


def _in_range_if_empty(shape, key):
    """torch checks the index tensors' bounds only where the result has elements: for a key
    whose result is empty (``zeros(0, 3)[:, [5]]``: shape (0, 1)), the same key with its index
    arrays zeroed (the same, empty, result); otherwise the IndexError being handled goes on. An
    index into a dim of size 0 always raises, as torch's."""
    safe = tuple(np.zeros_like(k) if isinstance(k, np.ndarray) and k.dtype.kind in "iu" else k for k in key)
    try:
        empty = np.broadcast_to(np.empty((), dtype=np.bool_), shape)[safe].size == 0
    except IndexError:
        empty = False
    if not empty:
        raise  # noqa: PLE0704 (the caller's IndexError)
    return safe


def _check_masks(shape, key):
    """torch: a bool mask has the shape of the dims it indexes (NumPy lets a size-0 mask index a
    size-1 dim, selecting nothing)."""
    masks = [getattr(k, "dtype", None) == np.bool_ and k.ndim > 0 for k in key]
    if not any(masks):
        return
    used = sum(k.ndim if m else int(k is not None and k is not Ellipsis) for k, m in zip(key, masks))
    d = 0
    for k, m in zip(key, masks):
        if k is Ellipsis:
            d += len(shape) - used
        elif m:
            for j, (a, b) in enumerate(zip(k.shape, shape[d:])):
                if a != b:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not match the shape of "
                                     f"the indexed tensor {list(shape)} at index {d + j}")
            d += k.ndim
        elif k is not None:
            d += 1


def setitem(self, key, value):
    given = key
    key, advanced = convert_key(key)
    if not advanced and _function.batch_hook is None and 0 in getattr(self._data, "strides", ()) and (
            not self._data.flags.writeable):  # (under vmap a batched tensor's values are not read here)
        return _set_expanded(self, key, given, value)
    if not advanced and self._base is not None and _grad_state.enabled:  # torch takes the view self[key]
        refresh_if_stale(self)  # first, which brings a view written through since up to date (or raises)
    if advanced:
        _check_masks(self._data.shape, key)
    if isinstance(value, (int, float)):  # a number written into an integer tensor: torch's conversion
        from .math import _int_bound

        value = _int_bound(self, value, "value written")
    if advanced and isinstance(value, Tensor) and value.ndim:
        layout = _torch_layout(key, self._data.ndim)
        if layout is not None:  # value is laid out as torch's result: permute it to NumPy's
            b, p = layout
            target = np.empty(self._data.shape, dtype=np.bool_)[key].shape
            torch_shape = tuple(target[b:b + p]) + tuple(target[:b]) + tuple(target[b + p:])
            value = value.expand(torch_shape).movedim(tuple(range(p, p + b)), tuple(range(b)))
    try:
        inplace(self, "__setitem__", IndexPut.apply, key, advanced, value)
    except IndexError:
        if not advanced:
            raise
        inplace(self, "__setitem__", IndexPut.apply, _in_range_if_empty(self._data.shape, key), advanced, value)


def _set_expanded(self, key, given, value):
    """self[key] = value for an expanded tensor, as torch's: value is copied into the view self[key]
    (refused only if elements of that view share memory: x[0, 1] = 5 writes, x[:, 1] = 5 raises)."""
    if _grad_state.enabled and (self._requires_grad or getattr(value, "_requires_grad", False)):
        self[given].copy_(value)  # (the view's in-place op updates self's graph)
        return
    key = key if isinstance(key, tuple) else (key,)
    view = Tensor._make(self._data[key if any(k is Ellipsis for k in key) else key + (Ellipsis,)])  # (0-dim too)
    view._vc = self._vc  # (one memory, one version)
    view.copy_(value)


@autocast_op({"cuda": "promote"})
def index_put(input, indices, values, accumulate=False):
    """input with ``values`` written (or added, accumulate=True) at the index tuple ``indices``."""
    key, advanced = convert_key(tuple(indices))
    return IndexPut.apply(input, key, True, values, accumulate)


def index_put_(input, indices, values, accumulate=False):
    """In-place index_put: write (or add, accumulate=True) ``values`` at the index tuple ``indices``."""
    key, _ = convert_key(tuple(indices))
    return inplace(input, "index_put_", IndexPut.apply, key, True, values, accumulate)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
Tensor.index_put = index_put
Tensor.index_put_ = index_put_


# ---------------------------------------------------------------------------- gather / scatter family

from .._backend import array_module  # noqa: E402
from .._device_checks import check  # noqa: E402
from ..tensor import _wrap_dim  # noqa: E402
from ._inplace import make_inplace  # noqa: E402
from ._method import tensor_method  # noqa: E402
from ._out import SAME, takes_out  # noqa: E402
from .._unsupported import reject  # noqa: E402

__all__ += ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
            "index_copy", "index_fill", "masked_fill", "masked_select", "masked_scatter", "take",
            "take_along_dim", "put", "nonzero", "argwhere", "select_scatter", "slice_scatter", "nonzero_static"]


# the index dtypes torch's ops take (int64 alone where not listed), and the error it raises for another
_INDEX_DTYPES = {"index_select": ("int32 or int64", RuntimeError), "index_add": ("int32 or int64", RuntimeError),
                 "index_fill": ("int64", IndexError)}


def _index_array(index, name, what="index"):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(index).__name__}")
    arr = index._data
    allowed, error = _INDEX_DTYPES.get(name, ("int64", RuntimeError))
    if arr.dtype != np.int64 and not (allowed == "int32 or int64" and arr.dtype == np.int32):
        raise error(f"{name}(): Expected dtype {allowed} for index (got {index.dtype}): convert it with .long()")
    return arr


def _check_bounds(arr, size, dim, name, negative=False):
    """Every index in [0, size) (or [-size, size)): at once on the CPU; on a device at the next
    synchronisation, as torch's device-side assert (no host round trip per index op)."""
    if arr.size == 0:
        return arr
    low = -size if negative else 0
    if type(arr) is np.ndarray:
        lo, hi = int(arr.min()), int(arr.max())
        if hi >= size or lo < low:
            raise _out_of_range(hi if hi >= size else lo, size, dim, name)
    else:
        check((arr >= size) | (arr < low), lambda: _out_of_range(
            int(arr.max()) if bool((arr >= size).any()) else int(arr.min()), size, dim, name))
    return arr


def _out_of_range(bad, size, dim, name):
    if name in ("index_select", "index_add", "index_copy", "index_fill", "take", "put"):
        return IndexError(f"{name}(): index {bad} is out of range for dimension {dim} with size {size}")
    return RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _dim_key(idx, dim, xp):
    """The NumPy key that picks ``a[i][j][idx[i][j][k]]`` (for dim=2): ``idx`` along ``dim``,
    the position itself along every other dim."""
    nd = idx.ndim
    key = []
    for d in range(nd):
        if d == dim:
            key.append(idx)
        else:
            shape = [1] * nd
            shape[d] = idx.shape[d]
            key.append(xp.arange(idx.shape[d]).reshape(shape))
    return tuple(key)


def _gather_key(input, dim, index, name):
    """Checks as torch's gather/scatter, then the key. 0-dim tensors act as 1-element 1-D ones."""
    idx = _index_array(index, name)
    nd = max(input.ndim, 1)
    dim = _wrap_dim(dim, nd)
    if idx.ndim == 0:
        idx = idx.reshape((1,) * nd)
    if idx.ndim != nd:
        raise RuntimeError(
            f"Index tensor must have the same number of dimensions as input tensor (index shape "
            f"{list(index.shape)}, input shape {list(input.shape)})"
        )
    shape = tuple(input.shape) or (1,)
    for d in range(nd * (idx.size > 0)):  # (torch checks no sizes for an empty index)
        if d != dim and idx.shape[d] > shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                f"smaller than self {list(input.shape)} apart from dimension {dim}"
            )
    _check_bounds(idx, shape[dim], dim, name)
    return _dim_key(idx, dim, array_module(idx)), dim


@takes_out(dtype=SAME)
@tensor_method()
def gather(input, dim, index, *, sparse_grad=False):
    """z[i][j] = input[index[i][j]][j] (dim=0);  da = g added at those positions."""
    reject("gather", sparse_grad=sparse_grad)
    if _batching.batched(index) and input.ndim and index.ndim:  # per-sample indices: one gather of the batch
        d = _wrap_dim(dim, input.ndim)
        return _batching.on_batch(lambda x, i: gather(x, d + 1, i), input, index)
    if isinstance(index, Tensor) and index.numel() == 0:  # torch checks only dim then: empty, da = 0
        _wrap_dim(dim, input.ndim or 1)
        empty = Gather.apply(input.reshape(-1), (array_module(index._data).zeros(0, dtype=np.int64),), True)
        return empty.reshape(index.shape)
    key, _ = _gather_key(input, dim, index, "gather")
    x = input.reshape(1) if input.ndim == 0 else input
    out = Gather.apply(x, key, True)
    return out.reshape(index.shape) if index.ndim == 0 or input.ndim == 0 else out


def _src_for(src, index, name):
    """src cropped to index's shape (src may be larger), or a scalar value."""
    if not isinstance(src, Tensor):
        return src
    if src.ndim == 0 and index.ndim == 0:
        return src.reshape(1)
    if src.ndim != index.ndim and index.ndim:
        raise RuntimeError(
            f"{name}(): Index tensor must have the same number of dimensions as src tensor "
            f"(index shape {list(index.shape)}, src shape {list(src.shape)})"
        )
    for d, (i, s) in enumerate(zip(index.shape, src.shape)):
        if i > s:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                f"smaller than src {list(src.shape)}"
            )
    if tuple(src.shape) == tuple(index.shape):
        return src
    return src[tuple(slice(0, i) for i in index.shape)]


def _scatter_impl(input, dim, index, src, accumulate, name):
    if isinstance(src, Tensor) and src.dtype != input.dtype:
        raise RuntimeError(f"scatter(): Expected self.dtype to be equal to src.dtype (in {name}: self {input.dtype}, "
                           f"src {src.dtype}; convert src with .to({input.dtype}))")
    key, _ = _gather_key(input, dim, index, name)
    x = input.reshape(1) if input.ndim == 0 else input
    value = _src_for(src, index, name)
    if isinstance(value, Tensor):
        value = value.reshape(key[0].shape) if value.ndim != len(key) else value
    out = IndexPut.apply(x, key, True, value, accumulate)
    return out.reshape(()) if input.ndim == 0 else out


@takes_out(dtype=SAME)
@tensor_method()
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """z = input with z[index[i][j]][j] = src[i][j] (dim=0);  da = g zeroed there,  dsrc = g gathered."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing the 'src' (or 'value') argument")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply (got {reduce!r})")
        if not isinstance(src, Tensor):
            src = input.new_full(tuple(index.shape), src)
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    return _scatter_impl(input, dim, index, src, False, "scatter")


@tensor_method()
@autocast_op({"cuda": "promote"})
def scatter_add(input, dim, index, src):
    """z = input with src[i][j] added at z[index[i][j]][j] (dim=0; repeats add up);
    da = g,  dsrc = g gathered at index."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not {type(src).__name__}")
    return _scatter_impl(input, dim, index, src, True, "scatter_add")


_REDUCE_INIT = {"sum": 0.0, "prod": 1.0, "mean": 0.0, "amax": -np.inf, "amin": np.inf}


class ScatterReduce(Function):
    """z = input with src reduced (sum/prod/mean/amax/amin) into z[index[i][j]][j] (dim=0).
    Gradients as torch: sum: da = g, dsrc = g[index]; mean: both divided by the count;
    prod: da = g*z/a, dsrc = g[index]*z[index]/src; amax/amin: shared evenly among the
    elements equal to the result."""

    @classmethod
    def vmap(cls, info, in_dims, a, src, key, reduce, include_self):
        """The key (an index array for every dim) after a leading slice, on the batch (unbatched
        tensors expanded over it: the op copies its input)."""
        if _batching.batch_position(key):
            raise _batching.NoRule("scatter_reduce with a key NumPy lays out advanced-first")
        b = info.batch_size
        x, s = (t.expand((b,) + tuple(t.shape)) if d is None else _batching.front(t, d)
                for t, d in zip((a, src), in_dims))
        return cls.apply(x, s, (slice(None),) + tuple(key), reduce, include_self), 0

    @staticmethod
    def forward(ctx, a, src, key, reduce, include_self):
        x, s = a._data, src._data
        xp = array_module(x)
        out = x.copy()
        count = xp.zeros(x.shape, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        add_at(count, key, xp.ones(s.shape, count.dtype))
        hit = count > 0
        if not include_self:
            init = _REDUCE_INIT[reduce]
            if x.dtype.kind == "b" and not np.isfinite(init):  # bool: False and True stand for -+inf
                init = init > 0
            elif x.dtype.kind in "iu" and not np.isfinite(init):  # integers: their extremes stand for -+inf
                init = np.iinfo(x.dtype).min if init < 0 else np.iinfo(x.dtype).max
            out[hit] = init
        else:
            count += 1
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum}[reduce]
        if xp is np:
            ufunc.at(out, key, s)
        elif reduce == "prod":
            multiply_at(out, key, s)
        else:  # CuPy
            import cupyx

            _backend.call_into(getattr(cupyx, {"sum": "scatter_add", "mean": "scatter_add", "amax": "scatter_max",
                                               "amin": "scatter_min"}[reduce]), out, key, s)
        if reduce == "mean":
            div = xp.where(count > 0, count, 1)
            out = out / div if x.dtype.kind == "f" else out // div.astype(x.dtype)
            out = out.astype(x.dtype)
        ctx.key, ctx.reduce, ctx.include_self = key, reduce, include_self
        ctx.count = count
        result = Tensor._make(out)
        ctx.save_for_backward(a, src, result)
        return result

    @staticmethod
    def jvp(ctx, ta, tsrc, *_):
        """Each element of a and of src feeds one element of z (a its own, src_i z[key_i]):
        dz = da * dz/da + (dsrc * dz/dsrc) added at key, the partials being backward's
        gradients for g = 1."""
        z = ctx._fw_results[0]
        pa, psrc = ScatterReduce.backward(ctx, z.new_ones(z.shape))[:2]
        dz = ta * pa if pa is not None else z.new_zeros(z.shape)
        if psrc is not None:
            dz = IndexPut.apply(dz, ctx.key, True, tsrc * psrc, True)
        return dz

    @staticmethod
    def backward(ctx, g):
        a, src, result = ctx.saved_tensors
        key, reduce, include_self = ctx.key, ctx.reduce, ctx.include_self
        xp = array_module(g._data)
        count = Tensor._make(_backend.cast(xp.maximum(ctx.count, 1), g._data.dtype))
        hit = Tensor._make(ctx.count > (1 if include_self else 0))
        ga = gs = None
        if reduce in ("sum", "mean"):
            scale = g / count if reduce == "mean" else g
            if ctx.needs_input_grad[0]:
                ga = scale if include_self else MaskedFill.apply(scale, hit, 0.0)
            if ctx.needs_input_grad[1]:
                gs = Index.apply(scale, key, True)
        elif reduce == "prod":  # products of the other members, exact with zeros (no division by 0)
            ones = Tensor._make(xp.ones_like(a._data))
            if ctx.needs_input_grad[0]:
                ga = g * ScatterReduce.apply(ones, src, key, "prod", True) if include_self \
                    else MaskedFill.apply(g, hit, 0.0)
            if ctx.needs_input_grad[1]:
                src_zero = src._data == 0
                zeros = (a._data == 0).astype(np.int64) if include_self else xp.zeros(a.shape, np.int64)
                add_at(zeros, key, src_zero.astype(np.int64))
                base = MaskedFill.apply(a, Tensor._make(a._data == 0), 1.0) if include_self else ones
                s1 = MaskedFill.apply(src, Tensor._make(src_zero), 1.0)
                nonzero_prod = ScatterReduce.apply(base, s1, key, "prod", True)
                no_other_zero = Tensor._make(zeros[key] - src_zero == 0)
                others = MaskedFill.apply(Index.apply(nonzero_prod, key, True) / s1, ~no_other_zero, 0.0)
                gs = Index.apply(g, key, True) * others
        else:  # amax / amin: the gradient is shared evenly among the elements equal to the result
            r, x = result._data, a._data
            self_eq = (x == r) if include_self else (x == r) & ~hit._data
            src_eq = r[key] == src._data
            n = self_eq.astype(g._data.dtype)
            add_at(n, key, src_eq.astype(n.dtype))
            share = g / Tensor._make(xp.maximum(n, 1))
            if ctx.needs_input_grad[0]:
                ga = share * Tensor._make(self_eq.astype(n.dtype))
            if ctx.needs_input_grad[1]:
                gs = Index.apply(share, key, True) * Tensor._make(src_eq.astype(n.dtype))
        return ga, gs, None, None, None


@takes_out(dtype=SAME)
@tensor_method()
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce src into input at index along dim with 'sum', 'prod', 'mean', 'amax' or 'amin'."""
    if reduce not in _REDUCE_INIT:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    key, _ = _gather_key(input, dim, index, "scatter_reduce")
    x = input.reshape(1) if input.ndim == 0 else input
    value = _src_for(src, index, "scatter_reduce")
    value = value.reshape(key[0].shape) if value.ndim != len(key) else value
    if value.dtype != x.dtype:
        raise RuntimeError(
            f"scatter_reduce(): Expected self.dtype to be equal to src.dtype (got {x.dtype} and {value.dtype})"
        )
    out = ScatterReduce.apply(x, value, key, reduce, include_self)
    return out.reshape(()) if input.ndim == 0 else out


def _dim_index(input, dim, index, name, negative=False):
    """The key selecting ``index`` (1-D) along ``dim`` (with ``negative``, -size..-1 count from the end)."""
    idx = _index_array(index, name)
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector (got shape {list(index.shape)})")
    idx = idx.reshape(-1)
    nd = max(input.ndim, 1)
    dim = _wrap_dim(dim, nd)
    size = input.shape[dim] if input.ndim else 1
    _check_bounds(idx, size, dim, name, negative)
    if negative and idx.size and size:
        idx = idx % size
    return (slice(None),) * dim + (idx,), dim


def _select_key(input, d, index):
    """index_select's key (``d``: the wrapped dim), from the index tensor's array outside its op (one function, so
    that retrograd.compile can record it)."""
    try:
        return _dim_index(input, d, index, "index_select")[0]
    except IndexError as e:  # torch raises RuntimeError from its kernel for a bad index along dim 1 and
        # for empty 2-D and up, and IndexError for the other dims (0, and 2 onward: observed in torch 2.13)
        if "is out of range for dimension" in str(e) and (d == 1 or input.numel() == 0 and input.ndim > 1):
            raise RuntimeError(str(e)) from None
        raise


@takes_out(dtype=SAME)
@tensor_method()
def index_select(input, dim, index):
    """The entries ``index`` (1-D) along ``dim``;  da = g added back at them."""
    d = _wrap_dim(dim, input.ndim or 1)
    if _batching.batched(index) and input.ndim and index.ndim == 1:  # per-sample indices: a gather of the batch
        return _batching.on_batch(lambda x, i: take_along_dim(
            x, i.reshape((i.shape[0],) + (1,) * d + (-1,) + (1,) * (x.ndim - d - 2)), d + 1), input, index)
    if input.ndim == 0 and isinstance(index, Tensor) and index.numel() != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index.numel()} value(s)")
    key = _select_key(input, d, index)
    if input.ndim == 0:
        return IndexSelect.apply(input.reshape(1), key, True).reshape(())
    return IndexSelect.apply(input, key, True)


def _check_source(input, dim, key, source, name):
    expect = list(input.shape)
    if input.ndim:
        expect[dim] = key[-1].shape[0]
    if isinstance(source, Tensor) and list(source.shape) != expect and source.numel() != np.prod(expect):
        raise RuntimeError(
            f"{name}(): source shape {list(source.shape)} must be input's shape {list(input.shape)} "
            f"with dim {dim} of size {expect[dim] if expect else 1} (the index length)"
        )


def _index_write(input, dim, index, source, accumulate, name):
    try:
        key, dim = _dim_index(input, dim, index, name, negative=name == "index_fill")  # (torch's index_fill wraps)
    except IndexError as e:
        return _write_out_of_range(e, input, dim, source, name)
    _check_source(input, dim, key, source, name)
    x = input.reshape(1) if input.ndim == 0 else input
    if isinstance(source, Tensor):
        target = list(x.shape)
        target[dim] = key[-1].shape[0]
        if list(source.shape) != target:
            source = source.reshape(target)
    out = IndexPut.apply(x, key, True, source, accumulate)
    return out.reshape(()) if input.ndim == 0 else out


def _write_out_of_range(error, input, dim, source, name):
    """index_add/index_copy/index_fill with an index out of range, as torch: index_add of 2-D and
    up checks nothing when input or source is empty (else RuntimeError; IndexError for 1-D);
    index_copy and index_fill check nothing on an empty input unless the indexed dim itself has
    size 0 (RuntimeError there). Where nothing is checked, nothing is written: input's copy."""
    d = _wrap_dim(dim, max(input.ndim, 1))
    size = input.shape[d] if input.ndim else 1
    if name == "index_add":
        if input.ndim < 2:
            raise error
        if input.numel() == 0 or (isinstance(source, Tensor) and source.numel() == 0):
            return input.clone()
        raise RuntimeError(str(error)) from None
    if input.numel() == 0:
        if size == 0:
            raise RuntimeError(f"{error} (an empty tensor's dimension {d} of size 0 has no position to write: "
                               "use an empty index)") from None
        return input.clone()
    raise error


@takes_out(dtype=SAME)
@tensor_method()
def index_add(input, dim, index, source, *, alpha=1):
    """z = input with alpha*source[i] added along dim at index[i] (repeats add up);
    da = g,  dsource = alpha * g selected at index."""
    if isinstance(source, Tensor) and source.dtype != input.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype}) and source ({source.dtype}) must have the same "
                           f"scalar type (convert source with .to({input.dtype}))")
    if alpha != 1:
        source = source * alpha
    return _index_write(input, dim, index, source, True, "index_add")


@tensor_method()
@autocast_op({"cpu": "promote"})
def index_copy(input, dim, index, source):
    """z = input with source[i] written along dim at index[i];  da = g zeroed there,  dsource = g there."""
    if isinstance(source, Tensor) and source.dtype != input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{input.dtype} and (source) {source.dtype} (convert source with .to({input.dtype}))")
    return _index_write(input, dim, index, source, False, "index_copy")


@tensor_method()
def index_fill(input, dim, index, value):
    """z = input with ``value`` along dim at index;  da = g zeroed there,  dvalue = sum of g there."""
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    return _index_write(input, dim, index, value, False, "index_fill")


def _bool_mask(mask, name):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask.dtype.name != "bool":
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {mask.dtype}")
    return mask._data


class MaskedFill(Function):
    """z = value where mask else a;  da = g where not mask,  dvalue = sum of g where mask."""
    vmap = classmethod(_batching.masked_fill)  # batching rule (retrograd.func.vmap)

    _unlisted_inputs = (1,)  # the mask

    def name(self):  # torch's names: a number value 0, a tensor value 1
        return "MaskedFillBackward1" if self._next[2][1] != -1 else "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, a, mask, value):
        x, m = a._data, mask._data
        xp = array_module(x)
        v = value._data if isinstance(value, Tensor) else value
        ctx.save_for_backward(mask)
        ctx.shape = a.shape
        try:
            shape = np.broadcast_shapes(x.shape, m.shape)
        except ValueError:
            from ._broadcast import broadcast_error

            raise broadcast_error(a.shape, mask.shape, ("self", "mask")) from None
        value = _backend.cast(xp.asarray(v), x.dtype)
        out = fill_where(m, x, value) if shape == x.shape else None  # float arrays: by bit masks
        if out is None:  # a copy, then the fill through the mask (2x faster than xp.where here)
            out = x.copy() if shape == x.shape else xp.broadcast_to(x, shape).copy()
            xp.copyto(out, value, where=m)
        return out

    @staticmethod
    def jvp(ctx, ta, _mask, tvalue):
        """dz = tvalue where mask else ta (a number value is a constant: 0)."""
        return MaskedFill.apply(ta, ctx._fw_args[1], 0.0 if tvalue is None else tvalue)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = sum_to_shape(MaskedFill.apply(g, mask, 0.0), ctx.shape)
        if ctx.needs_input_grad[2]:
            gv = (g - MaskedFill.apply(g, mask, 0.0)).sum()
        return ga, None, gv


@tensor_method()
def masked_fill(input, mask, value):
    """``value`` where ``mask`` (bool, broadcast) is True, else input."""
    _bool_mask(mask, "masked_fill_")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    if isinstance(value, (int, float)):  # a number into an integer tensor: torch's conversion
        from .math import _int_bound

        value = _int_bound(input, value, "masked_fill value")
    return MaskedFill.apply(input, mask, value)


@takes_out(dtype=SAME)
@tensor_method()
def masked_select(input, mask):
    """The elements where ``mask`` is True, as a 1-D tensor (input and mask broadcast)."""
    m = _bool_mask(mask, "masked_select")
    from ._broadcast import broadcast_shapes

    shape = broadcast_shapes(input.shape, mask.shape)
    x = input.expand(shape) if tuple(input.shape) != shape else input
    xp = array_module(m)
    m = xp.broadcast_to(m, shape)
    if not shape:
        return MaskedSelect.apply(x.reshape(1), (m.reshape(1),), True)
    return MaskedSelect.apply(x, (m,), True)


class MaskedScatter(Function):
    """z = a with its masked positions filled, in order, from source's first elements;
    da = g where not mask,  dsource = g's masked values in front, zeros behind."""

    @classmethod
    def vmap(cls, info, in_dims, a, mask, source):
        """Each sample's masked positions take its source's elements in order: the rank of each
        True in its sample (a cumulative count) picks the source element, for the whole batch."""
        from .comparison import where

        b = info.batch_size

        def first(t, d):
            return t.expand((b,) + tuple(t.shape)) if d is None else _batching.front(t, d)

        x = first(a, in_dims[0])
        m = _batching._pad_to(first(mask, in_dims[1]), x.ndim - 1).expand(tuple(x.shape)).reshape(b, -1)
        src = first(source, in_dims[2]).reshape(b, -1)
        if not _batching.all_true(m.sum(1) <= src.shape[1]):
            raise RuntimeError(f"masked_scatter: expected source to have at least as many elements as the "
                               f"number of True values in mask ({src.shape[1]} per sample)")
        rank = (m.long().cumsum(1) - 1).clamp(0, max(src.shape[1] - 1, 0))
        return where(m, src.gather(1, rank), x.reshape(b, -1)).reshape(tuple(x.shape)), 0

    @staticmethod
    def forward(ctx, a, mask, source):
        x, m, s = a._data, mask._data, source._data
        xp = array_module(x)
        try:
            m = xp.broadcast_to(m, x.shape)
        except ValueError:
            from ._broadcast import broadcast_error

            raise broadcast_error(a.shape, mask.shape, ("self", "mask")) from None
        k = int(m.sum())
        if k > s.size:
            raise RuntimeError(
                f"masked_scatter: expected source to have at least {k} elements (the number of "
                f"True values in mask), but it has {s.size}"
            )
        out = x.copy()
        out[m] = s.reshape(-1)[:k]
        ctx.mask, ctx.k, ctx.src_shape = m, k, source.shape
        return out

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        m = Tensor._make(ctx.mask)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = MaskedFill.apply(g, m, 0.0)
        if ctx.needs_input_grad[2]:
            from .shape import ConstantPad

            n = int(np.prod(ctx.src_shape))
            picked = Index.apply(g, (ctx.mask,), True)
            gs = ConstantPad.apply(picked, ((0, n - ctx.k),), 0).reshape(ctx.src_shape)
        return ga, None, gs


@tensor_method()
def masked_scatter(input, mask, source):
    """Copy source's elements, in order, into input where mask is True."""
    _bool_mask(mask, "masked_scatter_")
    if source.dtype != input.dtype:
        raise RuntimeError(
            f"masked_scatter: expected self and source to have same dtypes but got {input.dtype} "
            f"and {source.dtype}"
        )
    if tuple(input.shape) != tuple(mask.shape):
        from ._broadcast import broadcast_shapes

        shape = broadcast_shapes(input.shape, mask.shape)
        input = input.expand(shape)
    return MaskedScatter.apply(input, mask, source)


@tensor_method()
def take(input, index):
    """input treated as 1-D, at ``index`` (negative counts from the end); the result has index's shape."""
    idx = _index_array(index, "take")
    _check_bounds(idx, input.numel(), 0, "take", negative=True)
    return Take.apply(input.reshape(-1), (idx,), True)


@takes_out(dtype=SAME)
@tensor_method()
def take_along_dim(input, indices, dim=None):
    """gather after broadcasting input and indices (all but ``dim``); flattened when dim is None."""
    if dim is None:
        return take(input, indices.reshape(-1))
    if _batching.batched(indices) and input.ndim == indices.ndim:  # per-sample indices: along dim + 1 of the batch
        d = _wrap_dim(dim, max(input.ndim, 1))
        return _batching.on_batch(lambda x, i: take_along_dim(x, i, d + 1), input, indices)
    idx = _index_array(indices, "take_along_dim")
    if input.ndim != idx.ndim:
        raise RuntimeError(
            f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {input.ndim} dimensions for input, and {idx.ndim} dimensions for indices"
        )
    dim = _wrap_dim(dim, max(input.ndim, 1))
    from ._broadcast import broadcast_shapes

    ishape, jshape = list(input.shape), list(idx.shape)
    ishape[dim] = jshape[dim] = 1
    common = list(broadcast_shapes(ishape, jshape))
    xs, js = list(common), list(common)
    if input.ndim:
        xs[dim], js[dim] = input.shape[dim], idx.shape[dim]
    x = input.expand(xs) if list(input.shape) != xs else input
    xp = array_module(idx)
    j = Tensor._make(xp.broadcast_to(idx, js)) if list(idx.shape) != js else indices
    return gather(x, dim, j)


@tensor_method()
def put(input, index, source, accumulate=False):
    """input (as 1-D) with source written (or added) at ``index``."""
    idx = _index_array(index, "put")
    _check_bounds(idx, input.numel(), 0, "put", negative=True)
    if source.numel() != idx.size:
        raise RuntimeError(
            f"put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {idx.size}"
        )
    flat = IndexPut.apply(input.reshape(-1), (idx.reshape(-1),), True, source.reshape(-1), accumulate)
    return flat.reshape(tuple(input.shape))


@takes_out(dtype=SAME)
@tensor_method()
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an [n, ndim] int64 tensor, or a tuple of 1-D ones."""
    x = input._data
    xp = array_module(x)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in xp.nonzero(x.reshape(-1) if x.ndim == 0 else x))
    return Tensor._make(xp.argwhere(x).astype(np.int64))


@takes_out(dtype=SAME)
@tensor_method()
def nonzero_static(input, *, size, fill_value=-1):
    """nonzero(input) with exactly ``size`` rows: the first ``size`` indices, the missing rows filled
    with ``fill_value`` (a shape known before the values, for compiled code)."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer (got {size!r})")
    xp = array_module(input._data)
    rows = xp.argwhere(input._data).astype(np.int64)[:size]
    out = xp.full((size, input.ndim), fill_value, dtype=np.int64)
    out[:rows.shape[0]] = rows
    return Tensor._make(out)


@tensor_method()
def argwhere(input):
    """Same as nonzero(input)."""
    return nonzero(input)


@tensor_method()
def select_scatter(input, src, dim, index):
    """input with ``src`` written at input.select(dim, index)."""
    dim = _wrap_dim(dim, input.ndim)
    return IndexPut.apply(input, (slice(None),) * dim + (int(index),), False, src)


@tensor_method()
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """input with ``src`` written at the slice start:end:step of ``dim``."""
    dim = _wrap_dim(dim, input.ndim)
    return IndexPut.apply(input, (slice(None),) * dim + (slice(start, end, step),), False, src)


@tensor_method()
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """input with ``src`` written on its diagonal ``input.diagonal(offset, dim1, dim2)`` (src has that
    diagonal's shape); gradients: input's outside the diagonal, src's the diagonal's."""
    diag = input.diagonal(offset, dim1, dim2)
    if tuple(src.shape) != tuple(diag.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(diag.shape)}")
    out = input.clone()
    out.diagonal(offset, dim1, dim2).copy_(src)
    return out


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of the elements of the 1-D ``input`` (as itertools.combinations,
    or combinations_with_replacement), one per row: a (count, r) tensor, gathered from input (so
    gradients flow back to the elements chosen). r = 0 gives an empty 1-D tensor."""
    import itertools

    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    if r == 0:
        return Index.apply(input, (np.zeros(0, dtype=np.int64),), True)
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return Index.apply(input, (rows,), True)


__all__ += ["diagonal_scatter", "unravel_index", "combinations"]


def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` (an int or a sequence of ints) of each flat index in
    ``indices``: a tuple of int64 tensors of indices' shape, one per dim of ``shape``. Indices outside
    [0, prod(shape)) wrap around each dim, as torch's floor-division arithmetic does."""
    if not isinstance(indices, Tensor):
        raise AttributeError(f"unravel_index: 'indices' must be a Tensor, got {type(indices).__name__} "
                             f"(wrap it in torch.tensor(...))")  # torch's AttributeError from the missing method
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype.np == np.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    for size in shape:
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(size)}")
    shape = tuple(int(size) for size in shape)
    if any(size < 0 for size in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape:
        raise RuntimeError(f"unravel_index: 'shape' {shape} has a zero size, into which no index unravels")
    flat = indices._data.astype(np.int64)
    coords = []
    for size in reversed(shape):
        coords.append(Tensor._make(flat % size))
        flat = flat // size
    return tuple(reversed(coords))


def _fill_diagonal(input, fill_value, wrap):
    """input with ``fill_value`` at [i, i, ..., i] (the op written by fill_diagonal_)."""
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise RuntimeError(f"dimensions must larger than 1 (fill_diagonal_ on a tensor of shape {list(shape)}: "
                           "it needs a matrix or a tensor whose dimensions are all equal)")
    if len(shape) > 2 and len(set(shape)) > 1:
        raise RuntimeError(f"all dimensions of input must be of equal length (fill_diagonal_ on a tensor of "
                           f"shape {list(shape)})")
    mask = np.zeros(shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)  # a tall matrix's diagonal starts again below with wrap
    mask = Tensor._make(array_module(input._data).asarray(mask))
    return masked_fill(input, mask, fill_value.item() if isinstance(fill_value, Tensor) else fill_value)


def fill_diagonal_(self, fill_value, wrap=False):
    """Fill the main diagonal (``self[i, i, ..., i]``) with ``fill_value`` in place; a matrix
    taller than wide restarts its diagonal every ``cols + 1`` rows when ``wrap``. Returns self."""
    return inplace(self, "fill_diagonal_", _fill_diagonal, fill_value, wrap)


Tensor.fill_diagonal_ = fill_diagonal_


def _register_inplace():
    for name, fn in [("scatter_", scatter), ("scatter_add_", scatter_add),
                     ("scatter_reduce_", scatter_reduce), ("index_add_", index_add),
                     ("index_copy_", index_copy), ("index_fill_", index_fill),
                     ("masked_fill_", masked_fill), ("masked_scatter_", masked_scatter),
                     ("put_", put)]:
        setattr(Tensor, name, make_inplace(fn, name))


_register_inplace()
