"""``Variable``: the pre-0.4 wrapper that tutorials still call. As in torch it wraps
nothing: ``Variable(t, requires_grad=True)`` returns a plain Tensor (``t`` detached, same
memory) and every tensor is an instance of ``Variable``."""

import warnings

from ..tensor import Tensor
from .engine import _ExecutionEngine

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None)``:
    ``data`` detached (its memory and version counter shared), with ``requires_grad`` set.
    ``volatile`` has no effect and warns, as in torch (use ``torch.no_grad()``)."""

    _execution_engine = _ExecutionEngine()  # torch's: queue_callback(fn) runs fn after the running backward

    def __new__(cls, data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None):
        for flag in (requires_grad, volatile):
            if not isinstance(flag, int):  # bool is an int
                raise TypeError(f"'{type(flag).__name__}' object cannot be interpreted as an integer")
        if data is None:  # torch: an empty float tensor (legacy serialization, Parameter())
            from ..creation import empty

            out = empty(0)
        elif isinstance(data, Tensor):
            out = data.detach()
        else:
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if _grad_fn is not None:
            raise TypeError("_grad_fn has to be a Function object or None, but got "
                            f"{type(_grad_fn).__name__} (retrograd's Variable takes no _grad_fn: "
                            "a tensor's history comes from the ops that made it)")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                          "instead.", UserWarning, stacklevel=2)
        if requires_grad:
            out.requires_grad_(bool(requires_grad))
        if name is not None:
            out.name = name
        return out


def variable(*args, **kwargs):
    """``torch.autograd.variable``: removed in torch, which raises this error."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use torch.tensor(...) instead")
