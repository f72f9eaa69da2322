"""``record_breaks()``: while on, remember where every tensor came from, for ``why_no_grad``.

For each tensor an op makes (differentiable or not, under ``no_grad`` or not) a record keeps
the op's name, the user's line that called it and the records of its inputs; so does each
value that leaves a tensor (``item()``, ``tolist()``, ``numpy()``, ``float()``), and a tensor
later made from such a value (``tensor(v)``, ``as_tensor(a)``, ``w * v``) names it as its input.
The records form a graph that, unlike autograd's, also holds the edges that carry no gradient:
why_no_grad searches it for the path from a tensor to the loss and the link that broke it.

How: on entering, the public functions of ``retrograd`` and ``retrograd.nn.functional`` and
Tensor's methods and operators are replaced by recording wrappers (the outermost call is
recorded, at the user's line), and ``Function.apply`` gets an observer (custom Functions,
ops that modules call directly); leaving restores them, so nothing is paid outside the mode.
Tensors are known by ``id`` checked through a weak reference, values by ``id`` (they are kept
alive); records stay until the next ``record_breaks()`` starts. Names bound before entering
(``from retrograd import tensor``) are not wrapped: their ops are seen only through
``Function.apply``.
"""

import threading
import types
import weakref

import numpy as np

from .. import _callsite
from ..autograd import function as _function
from ..autograd.grad_mode import _state as _grad_state

_ESCAPES = {"item": "item", "tolist": "tolist", "numpy": "numpy", "__float__": "float",
            "__int__": "int", "__array__": "__array__"}
_KINDS = {"detach": "detach", "detach_": "detach", "data": "data", "__deepcopy__": "copy"}
# Tensor's operators recorded besides its public methods (in-place ones are aliases of add_ ...)
_OPERATORS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
              "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__abs__",
              "__getitem__", "__gt__", "__lt__", "__ge__", "__le__", "__eq__", "__ne__",
              "__and__", "__or__", "__xor__", "__invert__", "__iadd__", "__isub__", "__imul__",
              "__itruediv__", "__ipow__", "__float__", "__int__", "__array__", "__deepcopy__")
_MAX_VALUES = 10000  # elements of a tolist() result remembered one by one


class Record:
    """Where one tensor (or one value taken out of a tensor) came from.

    ``op``: the operation's name (None: made outside record_breaks); ``site``:
    ``(filename, lineno)`` of the user's call; ``inputs``: the serial numbers of the records of
    its tensor and value inputs; ``kind``: 'op', 'detach', 'data', 'escape' (a value left the
    tensor), 'copy' (deepcopy) or 'outside'; ``grad``: whether the result required grad;
    ``floating``: whether it is a floating-point tensor; ``mode``: 'grad', 'no_grad' or
    'inference_mode' when it was made."""

    __slots__ = ("serial", "op", "site", "inputs", "kind", "grad", "floating", "mode")

    def __init__(self, serial, op, site, inputs, kind, grad, floating, mode):
        self.serial, self.op, self.site, self.inputs = serial, op, site, inputs
        self.kind, self.grad, self.floating, self.mode = kind, grad, floating, mode

    @property
    def location(self):
        return None if self.site is None else _callsite.format_site(self.site)

    def __repr__(self):
        return f"Record({self.serial}, {self.op!r}, {self.location}, inputs={self.inputs}, kind={self.kind!r})"


class _Depth(threading.local):
    calls = 0  # recording wrappers entered and not yet left in this thread


_depth = _Depth()
_lock = threading.RLock()
_active = [0]  # nesting of record_breaks() blocks
_patched = []  # (owner, name, original), restored on leaving
records = []  # serial -> Record
_tensors = {}  # id(tensor) -> (weakref to it, [its serials, oldest first])
_values = {}  # id(value) -> (value, serial): numbers, lists and arrays taken out of tensors


def recording():
    """True while a record_breaks() block is open."""
    return _active[0] > 0


def serials_of(tensor):
    """The serial numbers of ``tensor``'s records (several if written in place), or []."""
    entry = _tensors.get(id(tensor))
    return entry[1] if entry is not None and entry[0]() is tensor else []


def _serial_of(tensor):
    serials = serials_of(tensor)
    if serials:
        return serials[-1]
    return _add(tensor, None, None, (), "outside")


def _add(tensor, op, site, inputs, kind):
    serial = len(records)
    requires = bool(tensor._requires_grad)
    floating = tensor._data.dtype in _function._FLOATING
    mode = "inference_mode" if _grad_state.inference else "grad" if _grad_state.enabled else "no_grad"
    records.append(Record(serial, op, site, inputs, kind, requires, floating, mode))
    entry = _tensors.get(id(tensor))
    if entry is not None and entry[0]() is tensor:
        entry[1].append(serial)
    else:
        _tensors[id(tensor)] = (weakref.ref(tensor), [serial])
    return serial


def _inputs(args, kwargs):
    found = []
    _collect(args, found, [0])
    if kwargs:
        _collect(tuple(kwargs.values()), found, [0])
    return tuple(dict.fromkeys(found))


def _collect(values, found, budget):
    Tensor = _function._Tensor
    for v in values:
        budget[0] += 1
        if budget[0] > _MAX_VALUES:
            return
        if isinstance(v, Tensor):
            found.append(_serial_of(v))
            continue
        entry = _values.get(id(v))
        if entry is not None and entry[0] is v:
            found.append(entry[1])
        elif isinstance(v, (list, tuple)):
            _collect(v, found, budget)
        elif isinstance(v, np.ndarray) and v.base is not None:
            _collect((v.base,), found, budget)


def _remember_value(value, serial, budget):
    if isinstance(value, (float, list, np.ndarray)):
        _values[id(value)] = (value, serial)
    if isinstance(value, list):
        for v in value:
            budget[0] += 1
            if budget[0] > _MAX_VALUES:
                return
            _remember_value(v, serial, budget)


def note(op, site, args, kwargs, out, kind="op"):
    """Record ``out`` (a tensor, a tuple of them, or a value) as made by ``op`` from the
    tensors and values in args and kwargs."""
    with _lock:
        inputs = _inputs(args, kwargs)
        Tensor = _function._Tensor
        if kind == "escape":
            serial = len(records)
            records.append(Record(serial, op, site, inputs, "escape", False, False,
                                  "grad" if _grad_state.enabled else "no_grad"))
            _remember_value(out, serial, [0])
            return
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for o in outs:
            if isinstance(o, Tensor):
                _add(o, op, site, inputs, kind)


def _wrap(fn, op):
    kind = "escape" if op in _ESCAPES else _KINDS.get(op, "op")
    name = _ESCAPES.get(op) or (op.strip("_") if op.startswith("__") else op)

    def recorded(*args, **kwargs):
        depth = _depth
        if depth.calls:
            return fn(*args, **kwargs)  # inside another recorded op: the outer one is the user's
        depth.calls = 1
        try:
            out = fn(*args, **kwargs)
        finally:
            depth.calls = 0
        note(name, _callsite.user_site(2), args, kwargs, out, kind)
        return out

    recorded.__wrapped__ = fn
    recorded.__name__, recorded.__doc__ = getattr(fn, "__name__", op), fn.__doc__
    return recorded


def _after_apply(cls, args, outputs):
    if _depth.calls == 0:  # a Function applied directly (a custom one, or from a module)
        note(cls.__name__, _callsite.user_site(3), args, None, tuple(outputs))


def _defaults():
    """ids of the functions that retrograd's own functions take as default arguments
    (``activation=F.relu``): code compares those by identity (``activation is F.relu``), so
    they stay unwrapped (their ops are still seen through Function.apply)."""
    import sys

    found = set()

    def scan(fn):
        for d in (fn.__defaults__ or ()) + tuple((fn.__kwdefaults__ or {}).values()):
            if isinstance(d, types.FunctionType):
                found.add(id(d))

    for name, module in list(sys.modules.items()):
        if not name.startswith("retrograd.") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, types.FunctionType):
                scan(value)
            elif isinstance(value, type) and value.__module__ == name:
                for member in vars(value).values():
                    if isinstance(member, types.FunctionType):
                        scan(member)
    return found


def _patch():
    from .. import nn
    import retrograd

    Tensor = _function._Tensor
    kept = _defaults()
    for name, value in list(vars(Tensor).items()):
        if isinstance(value, types.FunctionType) and (not name.startswith("_") or name in _OPERATORS) \
                and id(value) not in kept:
            _patched.append((Tensor, name, value))
            setattr(Tensor, name, _wrap(value, name))
    copy = vars(nn.Parameter)["__deepcopy__"]  # (a Parameter's own: torch's, without .grad)
    _patched.append((nn.Parameter, "__deepcopy__", copy))
    nn.Parameter.__deepcopy__ = _wrap(copy, "__deepcopy__")
    prop = vars(Tensor)["data"]
    _patched.append((Tensor, "data", prop))
    Tensor.data = property(_wrap(prop.fget, "data"), prop.fset, prop.fdel, prop.__doc__)
    for module in (retrograd, nn.functional):
        for name, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and not name.startswith("_") and id(value) not in kept:
                _patched.append((module, name, value))
                setattr(module, name, _wrap(value, name))
    _function.add_apply_observer(_after_apply)


def _unpatch():
    _function.remove_apply_observer(_after_apply)
    while _patched:
        owner, name, value = _patched.pop()
        setattr(owner, name, value)


class record_breaks:
    """``with retrograd.inspect.record_breaks():`` records each tensor's provenance (op, line,
    inputs) so that ``why_no_grad`` can name the operation and the line that broke a path to
    the loss. For debugging: every op pays for a record while it is on; nothing after."""

    def __enter__(self):
        with _lock:
            if _active[0] == 0:
                records.clear()
                _tensors.clear()
                _values.clear()
                _patch()
            _active[0] += 1
        return self

    def __exit__(self, *exc):
        with _lock:
            _active[0] -= 1
            if _active[0] == 0:
                _unpatch()
        return False
