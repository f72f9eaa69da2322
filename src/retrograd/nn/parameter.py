"""Parameter: a leaf tensor that a Module registers as trainable; Buffer: one it registers as a
buffer; and the placeholders lazy modules hold until their first call (UninitializedParameter,
UninitializedBuffer)."""

import numpy as np

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

    def __deepcopy__(self, memo):
        """A new parameter of the same class holding a copy of the values, with requires_grad; as
        torch's, neither ``.grad`` nor attributes set on the parameter are copied."""
        if id(self) in memo:
            return memo[id(self)]
        out = memo[id(self)] = type(self)(Tensor._make(self._data.copy()), self._requires_grad)
        return out


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

    def _registered(self):
        """What a Module registers for this buffer: a plain tensor on the same memory."""
        return Tensor._make(self._data)


# ------------------------------------------------------------------ lazy modules' placeholders

# the methods an uninitialized tensor allows, as torch's: casts, moves and queries of its kind
_ALLOWED = frozenset({"size", "is_complex", "is_floating_point", "half", "float", "double", "char", "short",
                      "int", "long", "cuda", "cpu", "to", "get_device"})
# the placeholder's own methods (not Tensor's refused ones)
_OWN_METHODS = frozenset({"materialize", "share_memory_"})
# Tensor's own dunders that stay as they are (object protocol, not math)
_KEPT_DUNDERS = frozenset({"__init__", "__new__", "__repr__", "__str__", "__reduce_ex__", "__reduce__",
                           "__deepcopy__", "__hash__", "__getattribute__", "__setattr__", "__delattr__",
                           "__dir__", "__init_subclass__", "__class_getitem__", "__sizeof__", "__getstate__",
                           "__setstate__", "__subclasshook__"})


def _use_error(what, kind):
    return ValueError(
        f"Attempted to use an uninitialized parameter in {what}. This error happens when you are using a "
        f"`LazyModule` or explicitly manipulating `torch.nn.parameter.{kind}` objects. When using LazyModules "
        "Call `forward` with a dummy batch to initialize the parameters before calling torch functions")


class _Unmaterialized(np.ndarray):
    """The 0-element array an uninitialized tensor holds: NumPy math on it raises torch's ValueError,
    so an op that reaches its data fails as on torch's placeholder."""

    kind = "UninitializedParameter"

    def __array_finalize__(self, obj):
        self.kind = getattr(obj, "kind", "UninitializedParameter")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise _use_error(f"<ufunc '{ufunc.__name__}'>", self.kind)

    def __array_function__(self, func, types, args, kwargs):
        raise _use_error(f"<function {func.__name__}>", self.kind)


def _placeholder(kind, device, dtype):
    """An empty array of ``dtype`` on ``device`` (on the CPU, one whose NumPy math raises)."""
    from ..creation import empty

    data = empty(0, device=device, dtype=dtype)._data
    if type(data) is np.ndarray:
        data = data.view(_Unmaterialized)
        data.kind = kind
    return data


def _refusing(name):
    def refuse(self, *args, **kwargs):
        raise _use_error(f"<method '{name}' of 'torch._C.TensorBase' objects>", type(self).__name__)

    refuse.__name__ = name
    return refuse


class UninitializedTensorMixin:
    """What uninitialized parameters and buffers share: no shape until ``materialize``; only
    casts and moves (``to``, ``float``, ``cuda``, ...) work, every other use raises ValueError."""

    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Give this tensor memory of ``shape`` (uninitialized values, as ``torch.empty``) on ``device``
        with ``dtype`` (its own by default); it becomes a ``cls_to_become`` (Parameter or Tensor)."""
        from ..creation import empty

        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        data = empty(shape, device=self.device if device is None else device,
                     dtype=self.dtype if dtype is None else dtype)._data
        self.__class__ = self.cls_to_become
        self._data = data
        self._vc[0] += 1

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
            "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
            "`forward` to initialize the parameters before accessing their attributes.")

    def size(self, dim=None):
        """The placeholder's size, ``torch.Size([0])`` (as torch's)."""
        return Tensor._make(np.empty(0)).size(dim)

    def to(self, *args, **kwargs):
        """An uninitialized tensor of the dtype and device ``to`` would give (this one if the same)."""
        from ..creation import empty

        like = Tensor.to(empty(0, device=self.device, dtype=self.dtype), *args, **kwargs)
        if (like.dtype, like.device) == (self.dtype, self.device):
            return self
        return self._like(like.device, like.dtype)

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to initialize the "
            "parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__
    __hash__ = Tensor.__hash__

    def __deepcopy__(self, memo):
        out = self._like(self.device, self.dtype)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (_rebuild_uninitialized, (type(self), self.requires_grad, str(self.device), str(self.dtype),
                                         getattr(self, "persistent", True)))

    def __getattribute__(self, name):
        # a Tensor method that is not allowed (some are attached to Tensor after this class is made)
        if name[0] != "_" and name not in _ALLOWED and name not in _OWN_METHODS and \
                callable(getattr(Tensor, name, None)) and not isinstance(getattr(Tensor, name), type):
            return _refusing(name).__get__(self)
        return object.__getattribute__(self, name)


for _name, _value in list(vars(Tensor).items()):  # the operators (looked up on the class, not the object)
    if _name.startswith("__") and _name.endswith("__") and _name not in _KEPT_DUNDERS and callable(_value):
        setattr(UninitializedTensorMixin, _name, _refusing(_name))


def _rebuild_uninitialized(cls, requires_grad, device, dtype, persistent):
    from .. import _dtype

    dtype = _dtype.to_dtype(dtype.replace("torch.", ""))
    if cls is UninitializedBuffer:
        return cls(requires_grad, device, dtype, persistent)
    return cls(requires_grad, device, dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy module's, until its first call):
    ``materialize(shape)`` makes it a Parameter. ``device``/``dtype`` are those it will have."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        p = object.__new__(cls)
        p._init(_placeholder("UninitializedParameter", device, dtype))
        p._requires_grad = bool(requires_grad)
        return p

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def _like(self, device, dtype):
        return UninitializedParameter(self.requires_grad, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Buffer):
    """A buffer whose shape is not known yet (a lazy module's running statistics, until its first
    call): ``materialize(shape)`` makes it a Tensor."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        b = object.__new__(cls)
        b._init(_placeholder("UninitializedBuffer", device, dtype))
        b._requires_grad = bool(requires_grad)
        b.persistent = persistent
        return b

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass

    def _like(self, device, dtype):
        return UninitializedBuffer(self.requires_grad, device, dtype, self.persistent)

    def _registered(self):
        return self  # a module holds the placeholder itself, to materialize it later


def is_lazy(param):
    """Whether ``param`` is an uninitialized parameter or buffer."""
    return isinstance(param, UninitializedTensorMixin)
