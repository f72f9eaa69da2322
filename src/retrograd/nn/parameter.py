"""Parameter: a leaf tensor that a Module registers as trainable."""

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter (requires grad by default)."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        p = object.__new__(cls)
        p._init(data._data)
        p._vc = data._vc
        if requires_grad:
            p.requires_grad = True
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._make(self._host_array().copy()), self._requires_grad))


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute
    (``self.running_mean = nn.Buffer(torch.zeros(3))``)."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        b = object.__new__(cls)
        b._init(data._data)
        b._vc = data._vc
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent=True):
        pass
