"""BatchedTensor and the dispatch of ops to their batching rules, for vmap.

A BatchedTensor is what the function under vmap sees: a tensor of the per-sample (logical)
shape, whose ``_value`` holds the whole batch with the vmapped dim first. Its ``_level`` says
which vmap it belongs to; under nested vmaps ``_value`` is itself batched at the outer level.
While a vmap runs, Function.apply hands every op to ``dispatch``: with a BatchedTensor among
the arguments, the op's class rule (``cls.vmap``, ops/_batching.py) runs the op once on the
unwrapped batch. Autograd sees only ordinary tensors (the rules call ops on them), so
gradients taken inside vmap are per sample.
"""

from collections import Counter, namedtuple

from ..autograd import function as _function
from ..ops._batching import NoRule
from ..tensor import Size, Tensor
from .. import random as _random
from . import _randomness

VmapInfo = namedtuple("VmapInfo", ["batch_size", "randomness"])


class _Frame:
    __slots__ = ("level", "batch_size", "randomness")

    def __init__(self, level, batch_size, randomness):
        self.level, self.batch_size, self.randomness = level, batch_size, randomness


_frames = []  # the vmaps running now, outermost first (level = index + 1)
_fallbacks = Counter()  # op name -> times vmap ran it once per sample (no rule)
_BASE_RULE = _function.Function.vmap


def vmap_fallbacks():
    """The ops vmap ran once per sample for lack of a batching rule since the last
    ``reset_vmap_fallbacks()``, with how often: {op name: count}."""
    return dict(_fallbacks)


def reset_vmap_fallbacks():
    """Clear the record of ``vmap_fallbacks()``."""
    _fallbacks.clear()


class ReadsValues(RuntimeError):
    """A batched tensor's values were read outside an op (a Python-level check or kernel of a
    function without a batching rule): vmap then runs the whole function once per sample."""

    def __init__(self, level, attr):
        super().__init__(
            f"vmap: this code reads the values of a batched tensor directly (array attribute {attr!r}) "
            "instead of through an op, so vmap cannot batch it")
        self.level = level


class _LogicalArray:
    """What ``_data`` of a BatchedTensor answers: the per-sample shape and the dtype, never
    values (a path that reads them raises ReadsValues, and vmap falls back to a loop)."""

    __slots__ = ("shape", "dtype", "level")

    def __init__(self, shape, dtype, level):
        self.shape, self.dtype, self.level = tuple(shape), dtype, level

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def __getattr__(self, name):
        raise ReadsValues(self.level, name)

    def _values(self, *args, **kwargs):
        raise ReadsValues(self.level, "values")

    __array__ = __gt__ = __ge__ = __lt__ = __le__ = __eq__ = __ne__ = __getitem__ = __setitem__ = _values
    __iadd__ = __isub__ = __imul__ = __itruediv__ = _values
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _values
    __neg__ = __pos__ = __abs__ = __invert__ = __pow__ = __rpow__ = __floordiv__ = __mod__ = _values
    __and__ = __or__ = __xor__ = __matmul__ = __rmatmul__ = __len__ = __iter__ = __bool__ = _values
    __float__ = __int__ = __index__ = _values
    __hash__ = None


def _item_error(*args, **kwargs):
    raise RuntimeError(
        "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
        "calling .item() on a Tensor, please try to rewrite what you're doing with other "
        "operations. If error is occurring somewhere inside PyTorch internals, please file a "
        "bug report.")


def _control_flow_error(*args, **kwargs):
    raise RuntimeError(
        "vmap: It looks like you're attempting to use a Tensor in some data-dependent control "
        "flow. We don't support that yet, please file an issue at "
        "https://github.com/pytorch/pytorch/issues .")


_REQUIRES_GRAD_ERROR = (
    "You are attempting to call Tensor.requires_grad_() (or perhaps using torch.autograd.functional.* APIs) "
    "inside of a function being transformed by a functorch transform. This is unsupported, please attempt to use "
    "the functorch transforms (e.g. grad, vjp, jacrev, jacfwd, hessian) or call requires_grad_() outside of a "
    "function being transformed instead.")


class BatchedTensor(Tensor):
    """One sample's view of a batch under vmap (see the module docstring)."""

    __slots__ = ("_value", "_level")

    @property
    def _data(self):
        v = self._value
        return _LogicalArray(v.shape[1:], v._data.dtype, self._level)

    @property
    def shape(self):
        return Size(self._value.shape[1:])

    def size(self, dim=None):
        shape = self._value.shape[1:]
        if dim is None:
            return Size(shape)
        from ..tensor import _wrap_dim

        return shape[_wrap_dim(dim, len(shape))]

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def device(self):
        return self._value.device

    @property
    def ndim(self):
        return self._value.ndim - 1

    def dim(self):
        return self._value.ndim - 1

    def numel(self):
        return self._data.size

    def is_contiguous(self, memory_format=None):
        return True

    @property
    def requires_grad(self):
        return self._value.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        raise RuntimeError(_REQUIRES_GRAD_ERROR)

    @property
    def data(self):
        raise RuntimeError("accessing `data` under vmap transform is not allowed")

    item = tolist = numpy = __float__ = __int__ = __index__ = _item_error
    __bool__ = _control_flow_error

    def __repr__(self):
        value = "\n".join("    " + line for line in repr(self._value).splitlines())
        return f"BatchedTensor(lvl={self._level}, bdim=0, value=\n{value}\n)"


def _comparison(name):
    """Comparisons (computed on arrays, not ops with a node): on the batch, batch dim first."""
    from ..ops._batching import _pad_to

    def compare(self, other):
        level = self._level
        if type(other) is BatchedTensor and other._level > level:
            return NotImplemented  # the other operand's own method handles its (inner) level
        a = self._value
        if type(other) is BatchedTensor and other._level == level:
            b = other._value
            rank = max(a.ndim, b.ndim) - 1
            a, b = _pad_to(a, rank), _pad_to(b, rank)
        else:
            b = other
            a = _pad_to(a, getattr(other, "ndim", 0))
        return wrap(getattr(a, name)(b), level)

    compare.__name__ = name
    return compare


for _name in ("eq", "ne", "gt", "ge", "lt", "le"):
    setattr(BatchedTensor, _name, _comparison(_name))
    setattr(BatchedTensor, f"__{_name}__", _comparison(f"__{_name}__"))


def wrap(value, level):
    """``value`` (batch dim first) as a BatchedTensor of vmap ``level``."""
    t = object.__new__(BatchedTensor)
    t._value = value
    t._level = level
    t._requires_grad = False
    t._grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._view_chain = None
    t._hooks = None
    t._retains_grad = False
    t._accumulator = None
    return t


def _top_level(args, kwargs):
    level = 0
    for a in args:
        t = type(a)
        if t is BatchedTensor:
            if a._level > level:
                level = a._level
        elif t is list or t is tuple:
            for e in a:
                if type(e) is BatchedTensor and e._level > level:
                    level = e._level
    for v in kwargs.values():
        if type(v) is BatchedTensor and v._level > level:
            level = v._level
    return level


def _unwrap(a, level):
    """(the argument with vmap ``level``'s batching taken off, its vmapped dim or None)."""
    t = type(a)
    if t is BatchedTensor and a._level == level:
        return a._value, 0
    if (t is list or t is tuple) and any(type(e) is BatchedTensor and e._level == level for e in a):
        pairs = [_unwrap(e, level) for e in a]
        return t(p[0] for p in pairs), t(p[1] for p in pairs)
    return a, None


def dispatch(cls, args, kwargs):
    """Function.apply's hook while vmap runs: the op batched by its rule, or NotImplemented
    when no argument is batched."""
    level = _top_level(args, kwargs)
    if not level:
        return NotImplemented
    if level > len(_frames):
        raise RuntimeError(
            f"vmap: {cls.__name__} got a batched tensor of a vmap that has returned (level {level}); "
            "a tensor made inside vmap must leave it as an output, not through a closure or a global")
    frame = _frames[level - 1]
    pairs = [_unwrap(a, level) for a in args]
    values = [p[0] for p in pairs]
    in_dims = tuple(p[1] for p in pairs)
    batched_kwargs = any(type(v) is BatchedTensor and v._level == level for v in kwargs.values())
    if cls.vmap is _BASE_RULE and not cls.__module__.startswith("retrograd."):
        _check_custom_function(cls)
    if cls.vmap is not _BASE_RULE and not batched_kwargs:
        try:
            out, out_dims = cls.vmap(VmapInfo(frame.batch_size, frame.randomness), in_dims, *values, **kwargs)
        except NoRule:
            pass
        else:
            return _wrap_outputs(out, out_dims, level)
    return _per_sample(cls, frame, values, in_dims, kwargs)


def _check_custom_function(cls):
    """torch's rules for a user's autograd.Function under vmap: the torch 2 style
    (setup_context), and a vmap staticmethod or generate_vmap_rule=True (run per sample here)."""
    if cls.setup_context is _function.Function.setup_context:
        raise RuntimeError(
            "In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, jacrev, ...), "
            "it must override the setup_context staticmethod. For more details, please see "
            "https://pytorch.org/docs/main/notes/extending.func.html")
    if not cls.generate_vmap_rule:
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please override and "
            "implement the vmap staticmethod or set generate_vmap_rule=True. For more details, please see "
            "https://pytorch.org/docs/main/notes/extending.func.html")


def count_fallback(name):
    _fallbacks[name] += 1


def _wrap_outputs(out, out_dims, level):
    if isinstance(out, tuple):
        dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(out)
        return tuple(_wrap_one(o, d, level) for o, d in zip(out, dims))
    return _wrap_one(out, out_dims, level)


def _wrap_one(out, d, level):
    if d is None or not isinstance(out, Tensor):
        return out
    return wrap(out if d == 0 else out.movedim(d, 0), level)


def _per_sample(cls, frame, values, in_dims, kwargs):
    """The op run once per sample and the results stacked: for ops without a batching rule
    (each such run is counted: vmap_fallbacks())."""
    from ..ops.join import stack

    _fallbacks[cls.__name__] += 1
    kw = {k: _unwrap(v, frame.level) for k, v in kwargs.items()}
    results = []
    with _randomness.looping(frame.randomness):  # a random op's draws: one sample's each
        for i in range(frame.batch_size):
            _randomness.next_sample()
            args_i = [_sample(v, d, i) for v, d in zip(values, in_dims)]
            kwargs_i = {k: _sample(v, d, i) for k, (v, d) in kw.items()}
            results.append(cls.apply(*args_i, **kwargs_i))
    first = results[0]
    if isinstance(first, tuple):
        return tuple(wrap(stack([r[j] for r in results]), frame.level) if isinstance(first[j], Tensor)
                     else first[j] for j in range(len(first)))
    return wrap(stack(results), frame.level)


def _sample(v, d, i):
    if d is None:
        return v
    if isinstance(d, (tuple, list)):
        return type(v)(_sample(e, de, i) for e, de in zip(v, d))
    return v.select(d, i)


def push(batch_size, randomness):
    frame = _Frame(len(_frames) + 1, batch_size, randomness)
    _frames.append(frame)
    _function.batch_hook = dispatch
    _random.vmap_hook = _randomness.view_of  # torch's randomness modes (func/_randomness.py)
    return frame


def pop():
    _frames.pop()
    if not _frames:
        _function.batch_hook = None
        _random.vmap_hook = None


def active_levels():
    """The vmaps running now, outermost first (their frames)."""
    return tuple(_frames)
