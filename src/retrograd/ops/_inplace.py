"""In-place ops: ``x.op_(...)`` computes ``op(x, ...)`` and writes it into x's memory.

When autograd is involved, the new value's graph becomes x's graph and x's version
goes up, so backward can tell that values it saved were overwritten. Writing into a
view also rewrites its base's graph (``CopySlices``), as torch does.
"""

import warnings

import numpy as np

from .. import _backend
from ..autograd.function import (_SAVED_OUTPUT, Function, note_inplace, refresh_if_stale, refuse_inplace,
                                 watch_version)
from ..autograd import forward_ad, function as _function
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from ._kernel_dtypes import SCALAR_NAME as _TORCH_TYPE


LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


def _check_can_write(self, result, name):
    if result.dtype._category > self.dtype._category:
        raise RuntimeError(
            f"result type {_TORCH_TYPE[result.dtype.name]} can't be cast to the desired output "
            f"type {_TORCH_TYPE[self.dtype.name]} (in {name} on a {self.dtype} tensor)"
        )
    if result._data.shape != self._data.shape:
        raise RuntimeError(
            f"output with shape {list(self.shape)} doesn't match the broadcast shape "
            f"{list(result.shape)} (in {name})"
        )


# the ops torch still lets write into an expanded tensor (with this warning), and fill_, which writes
# one value into every element
_DEPRECATED_ON_EXPANDED = {"index_put_": "tensor[indices] = tensor", "__setitem__": "tensor[indices] = tensor",
                           "masked_fill_": "tensor[mask] = scalar", "index_fill_": "tensor[mask] = scalar"}


def _write(self, data, name):
    try:
        self._data[...] = data
    except ValueError:
        arr = self._data
        writable = _writable_alias(arr)  # (NumPy's broadcast views, an expanded tensor's, are read-only)
        if writable is None:
            if 0 in getattr(arr, "strides", (0,)) or getattr(arr, "flags", None) is None or arr.flags.writeable:
                raise _overlap_error(name) from None
            raise RuntimeError(
                f"{name}: the tensor's memory is read-only (a non-writable NumPy array given to from_numpy or "
                "as_tensor, or a buffer imported read-only); clone() it, or make the array writable, before "
                "writing to it in place") from None
        from .resize import _overlaps

        if not _overlaps(arr.shape, arr.strides):  # a part of an expanded tensor, each element its own memory
            writable[...] = data
        elif name == "fill_":  # one value: every element sharing a location gets the same
            writable[...] = data
        elif name in _DEPRECATED_ON_EXPANDED:  # torch's kernel writes only the indexed elements
            op = "index_put_" if name == "__setitem__" else name
            warnings.warn(f"Use of {op} on expanded tensors is deprecated. Please clone() the tensor before "
                          "performing this operation. This also applies to advanced indexing e.g. "
                          f"{_DEPRECATED_ON_EXPANDED[name]}", UserWarning, stacklevel=4)
            changed = ~((data == arr) | ((data != data) & (arr != arr)))  # (NaN as NaN unchanged)
            writable[changed] = data[changed]
        else:
            raise _overlap_error(name) from None


def _overlap_error(name):
    return RuntimeError(
        "unsupported operation: more than one element of the written-to tensor refers to a single memory "
        f"location (in {name}). Please clone() the tensor before performing the operation.")


def _writable_alias(arr):
    """A writable array over a read-only NumPy view's memory when that memory is writable (the array
    it views is, as an expanded tensor's base), else None."""
    if type(arr) is not np.ndarray or arr.flags.writeable:
        return None
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.writeable or not root.flags.c_contiguous and not root.flags.f_contiguous:
        return None
    offset = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(arr.shape, arr.dtype, buffer=root, offset=offset, strides=arr.strides)


def inplace(self, name, op, *args, **kwargs):
    """Make ``self`` hold ``op(self, *args, **kwargs)``; return ``self``."""
    if _function.batch_hook is not None:  # vmap is running
        return _inplace_under_vmap(self, name, op, args, kwargs)
    return _inplace(self, name, op, *args, **kwargs)


_UNBATCHED_SELF = (
    "vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a Tensor `other` in "
    "extra_args that has more elements than `self`. This happened due to `other` being vmapped over but "
    "`self` not being vmapped over in a vmap. Please try to use out-of-place operators instead of inplace "
    "arithmetic. If said operator is being called inside the PyTorch framework, please file a bug report instead.")


def _inplace_under_vmap(self, name, op, args, kwargs):
    """An in-place op inside vmap, as torch's: on a sample's view of a batch (a BatchedTensor),
    the batched op's result is written into the batch's tensor by an in-place op of that tensor
    (its version, graph and base updated as for any in-place op); on an unbatched tensor, torch's
    error if the result is batched (it would need one value per sample)."""
    from ..func._batched import BatchedTensor, wrap

    if type(self) is not BatchedTensor:
        def checked(value, *a, **k):
            out = op(value, *a, **k)
            if type(out) is BatchedTensor:
                raise RuntimeError(_UNBATCHED_SELF + f" (in {name})")
            return out

        return _inplace(self, name, checked, *args, **kwargs)
    level = self._level

    def on_batch(value, *a, **k):  # value: the batch's tensor (its old values when tracked)
        out = op(wrap(value, level), *a, **k)
        if type(out) is BatchedTensor and out._level == level:
            return out._value
        if type(out) is BatchedTensor and out._level > level:
            raise RuntimeError(_UNBATCHED_SELF + f" (in {name})")
        return out.expand((value.shape[0],) + tuple(out.shape))  # the same value for every sample

    _inplace(self._value, name, on_batch, *args, **kwargs)
    return self


def _inplace(self, name, op, *args, **kwargs):
    tracked = _state.enabled and (self._requires_grad or _any_requires_grad(args))
    if not tracked:
        if self._base is not None and _state.enabled:
            refuse_inplace(self, name, tracked=False)  # a non-differentiable view returned by a custom Function
        result = op(self, *args, **kwargs)
        _check_can_write(self, result, name)
        _write(self, result._data, name)
        if _function.forward_hook is not None:  # forward AD: self's tangent becomes result's
            forward_ad.update_in_place(self, result)
        vc = self._vc
        vc[0] += 1
        if len(vc) > 1:  # saved for backward: log who changed it (autograd.function)
            note_inplace(vc, name)
        return self
    if self._view_mode is not None:  # a view made with grad mode off: untracked_view_error, or, for a custom
        refuse_inplace(self, name)  # Function's non-differentiable view, torch's error for those (refuse_inplace)
    if self._requires_grad and self.grad_fn is None:
        raise RuntimeError(LEAF_ERROR + f" (in {name} on a tensor of shape {list(self.shape)}; "
                           "wrap manual parameter updates in torch.no_grad())")
    base = self._base
    if base is not None:
        refresh_if_stale(self)
        refuse_inplace(self, name)  # a view returned by a custom Function
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    old = Tensor._make(self._data.copy())  # the value before the write, for backward
    old.grad_fn, old._output_nr, old._requires_grad = self.grad_fn, self._output_nr, self._requires_grad
    if _function.forward_hook is not None and "_fw" in self.__dict__:
        old.__dict__["_fw"] = self.__dict__["_fw"]  # forward AD: the tangent of the old value
    result = op(old, *args, **kwargs)
    _check_can_write(self, result, name)
    _write(self, result._data, name)
    vc = self._vc
    vc[0] += 1  # (before the graph changes: an inference tensor's counter raises here, as torch's)
    if _function.forward_hook is not None:
        forward_ad.update_in_place(self, result)
    if base is not None:
        _rebase_base(base, self._view_chain, result)
    self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
    self._requires_grad = result._requires_grad
    if len(vc) > 1:
        note_inplace(vc, name)
    if base is not None:
        self._view_version = self._vc[0]
    if result.grad_fn is not None and result.grad_fn._saved:
        _resave_output(result.grad_fn, result, self)
    if self._retains_grad:  # .grad follows the new version of the tensor, as in torch
        _move_retain_grad(self, old)
    return self


def _move_retain_grad(self, old):
    node = old.grad_fn
    if node is not None and node._retained:
        node._retained.pop(old._output_nr, None)
    self._retains_grad = False
    if self.grad_fn is not None:
        self.retain_grad()


def _resave_output(node, result, self):
    """The op saved its output ``result``, whose values now live in ``self``: save ``self``
    instead, so that a later in-place change of ``self`` is caught (as torch does)."""
    saved = node._saved
    for i, entry in enumerate(saved):
        if entry is not None and entry[0] == _SAVED_OUTPUT and entry[3] is result._vc:
            watch_version(self._vc)
            saved[i] = (_SAVED_OUTPUT, self._data, self._vc[0], self._vc, entry[4], entry[5])


def _any_requires_grad(args):
    for v in args:
        if isinstance(v, Tensor) and v._requires_grad:
            return True
        if isinstance(v, (tuple, list)) and any(isinstance(x, Tensor) and x._requires_grad for x in v):
            return True
    return False


def replay_view(chain, t):
    """Apply the recorded view ops ``chain`` to ``t`` (base -> view)."""
    for cls, args, kwargs in chain:
        t = cls.apply(t, *args, **kwargs)
    return t


class CopySlices(Function):
    """base' = base with its view region replaced by ``value``;
    dbase = g with the region zeroed,  dvalue = g's view region."""

    @staticmethod
    def forward(ctx, base, value, chain):
        ctx.chain = chain
        ctx.shape = base.shape
        return base._data

    @staticmethod
    def jvp(ctx, tbase, tvalue, _chain):
        """dbase' = tbase with its view region replaced by tvalue."""
        out = tbase.detach().clone()
        prev = _state.enabled
        _state.enabled = False
        try:
            replay_view(ctx.chain, out)._data[...] = tvalue._data
        finally:
            _state.enabled = prev
        return out

    @staticmethod
    def backward(ctx, g):
        gb = gv = None
        if ctx.needs_input_grad[0]:
            xp = _backend.array_module(g._data)
            mask = xp.ones(ctx.shape, dtype=g._data.dtype)
            prev = _state.enabled
            _state.enabled = False
            try:
                replay_view(ctx.chain, Tensor._make(mask))._data[...] = 0
            finally:
                _state.enabled = prev
            gb = g * Tensor._make(mask)
        if ctx.needs_input_grad[1]:
            gv = replay_view(ctx.chain, g)
        return gb, gv, None


def _rebase_base(base, chain, value):
    old = Tensor._make(base._data)
    old.grad_fn, old._output_nr, old._requires_grad = base.grad_fn, base._output_nr, base._requires_grad
    old._vc = base._vc
    if _function.forward_hook is not None and "_fw" in base.__dict__:
        old.__dict__["_fw"] = base.__dict__["_fw"]  # forward AD: base's tangent, before the write
    new = CopySlices.apply(old, value, chain)
    if _function.forward_hook is not None:
        forward_ad.update_in_place(base, new)
    if new._requires_grad:
        base.grad_fn, base._output_nr, base._requires_grad = new.grad_fn, 0, True
        if base._retains_grad:
            _move_retain_grad(base, old)


def make_inplace(fn, name):
    """The in-place method ``name`` for the out-of-place op ``fn(self, *args, **kwargs)``."""
    fn = fn.__wrapped__ if hasattr(fn, "takes_out") else fn  # the op without the function's out=

    def method(self, *args, **kwargs):
        return inplace(self, name, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return method



def inplace_view(self, name, op, *args, **kwargs):
    """Make ``self`` the view ``op(self, *args, **kwargs)`` of its own memory (another shape or
    strides: unsqueeze_, squeeze_, t_, transpose_); return ``self``. As torch: the view op
    becomes self's grad_fn, self's version goes up (values saved from it can no longer be
    used), a view stays a view of its base (writes through it still reach the base), and a
    leaf that requires grad, or a view of one, is refused while grad mode is on (under no_grad
    it keeps its graph: a leaf stays a leaf)."""
    if _function.batch_hook is not None:  # vmap is running
        from ..func._batched import BatchedTensor

        if type(self) is BatchedTensor:  # the view op's batching rule, then the batch's tensor becomes that view
            batched = op(self, *args, **kwargs)
            inplace_view(self._value, name, lambda value: batched._value)
            return self
    base = self._base
    if base is not None:
        refresh_if_stale(self)
        if _state.enabled:
            refuse_inplace(self, name, self._requires_grad)  # a view returned by a custom Function
    if _state.enabled and self._requires_grad and self.grad_fn is None:
        raise RuntimeError(LEAF_ERROR + f" (in {name} on a tensor of shape {list(self.shape)}; "
                           "call it under torch.no_grad(), or use the out-of-place op)")
    if _state.enabled and base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    old = Tensor._make(self._data)
    old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
    result = op(self, *args, **kwargs)
    if _function.forward_hook is not None:
        forward_ad.update_in_place(self, result)
    self._data = result._data
    if base is not None:  # replaying self from its base now ends in this op too
        self._view_chain = result._view_chain
    if _state.enabled:  # (under no_grad self keeps its graph, as in torch: a leaf stays a leaf)
        if result.grad_fn is not None and result.grad_fn.name() in _INPLACE_VIEW_NODES:
            result.grad_fn._backward_name = _INPLACE_VIEW_NODES[result.grad_fn.name()]
        self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        self._requires_grad = result._requires_grad
    vc = self._vc
    vc[0] += 1
    if len(vc) > 1:
        note_inplace(vc, name)
    if base is not None:
        self._view_version = vc[0]
    if self._retains_grad:
        _move_retain_grad(self, old)
    return self


# torch's nodes for the in-place view ops, by the out-of-place op's node
_INPLACE_VIEW_NODES = {"TBackward0": "TBackward1", "TransposeBackward0": "TransposeBackward1",
                       "UnsqueezeBackward0": "UnsqueezeBackward1", "SqueezeBackward0": "SqueezeBackward3",
                       "SqueezeBackward1": "SqueezeBackward4", "SqueezeBackward2": "SqueezeBackward5"}


def make_inplace_view(fn, name):
    """The in-place view method ``name`` for the view op ``fn(self, *args, **kwargs)``."""

    def method(self, *args, **kwargs):
        return inplace_view(self, name, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`: self becomes that view of its memory."
    return method
