"""Capture: run the model once on the example inputs and record every retrograd op it calls.

Every op goes through ``Function.apply``, which hands each call to
``retrograd.autograd.function.profile_hook`` first (the hook the profiler uses). While a
``Tracer`` records, that hook is the tracer's: it notes the op class, its arguments and the
nn.Module whose forward called it, then runs the op (nested ``apply`` calls made inside an op
run unrecorded). Each tensor argument is resolved to a ``Value``:

- ``input``: a tensor the caller passed to the model;
- ``param``: a parameter or buffer of the model (its name from named_parameters/named_buffers);
- ``op``: an output of an op recorded before;
- ``const``: anything else (a tensor made during forward without an op, e.g. ``torch.eye(3)``),
  kept as its value at the time of use.

A tensor not known by identity is matched by its array (``x.detach()`` shares ``x``'s array);
a tensor that shares memory with an input or an op's output but came from neither (made from
``x.numpy()`` or ``x._data``) is refused: as a constant it would silently freeze the example.

Ops whose tensor arguments are all constants are folded (their outputs become constants)
when ``fold`` is set (``do_constant_folding``). ``composites`` names functions that record as
one op (``F.batch_norm`` in eval mode, which retrograd computes with several ops, is ONNX's
one BatchNormalization; a comparison, which runs without ``Function.apply``, is ONNX's Greater).

``pair`` links the trace of the check run (export.py) to the first one, value by value (``twin``),
so that lowerings see which sizes follow dynamic axes and which constants changed.
"""

import functools
import inspect

import numpy as np

from .._backend import to_device
from ..autograd import function as _function
from ..autograd.graph import current_module
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .errors import OnnxExporterError

_exporting = [False]  # is_in_onnx_export()


class Value:
    """One tensor of the traced graph (see the module docstring for ``kind``)."""

    __slots__ = ("kind", "name", "array", "op", "index", "shape", "dtype", "twin", "problem")

    def __init__(self, kind, array, name=None, op=None, index=0):
        self.kind, self.name, self.op, self.index = kind, name, op, index
        self.array = array  # the value: an input's or parameter's, a constant's snapshot, an op's output
        self.shape, self.dtype = tuple(array.shape), array.dtype
        self.twin = None  # the same value in the check run (other values, dynamic axes grown)
        self.problem = None  # for a constant that changes in the check run: why it cannot be exported

    def __repr__(self):
        return f"Value({self.kind}, {self.name or ''}, {list(self.shape)}, {self.dtype})"


class Op:
    """One recorded call: ``fn`` (a Function class, or a composite function), its arguments
    with each tensor replaced by its Value, the Values of its outputs, and the module it ran in."""

    __slots__ = ("fn", "args", "kwargs", "outputs", "module", "module_type", "twin")

    def __init__(self, fn, args, kwargs, module, module_type):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.module, self.module_type = module, module_type
        self.outputs = []
        self.twin = None

    @property
    def name(self):
        return getattr(self.fn, "__qualname__", repr(self.fn))

    def where(self):
        """'in module 'encoder.0' (Linear)' for messages."""
        if self.module:
            return f"module {self.module!r} ({self.module_type})"
        return f"the model's forward ({self.module_type})"

    def arg(self, i):
        """Argument i (not a tensor), checked to be the same in the check run: a value that changes
        with the inputs cannot be written as a constant."""
        value = self.args[i]
        if self.twin is not None and not _same(value, self.twin.args[i]):
            raise OnnxExporterError(
                f"{self.name} in {self.where()}: its argument {i} is {value!r} for the example inputs "
                f"but {self.twin.args[i]!r} for other input values or sizes (dynamic axes); this op's ONNX "
                "form holds it as a constant. Export without dynamic_axes for that axis, or compute it "
                "with ops the exporter follows (reshape/view/flatten take dynamic sizes).")
        return value


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


class Tracer:
    """Records one run of ``model``; ``install``/``uninstall`` put it on the op hook."""

    def __init__(self, model, fold, composites=(), inline=True):
        self.fold = fold
        self.composites = composites  # (owner, attribute name, accept, key) to wrap while tracing
        self.inline = inline  # a user's autograd.Function records the ops of its forward
        self.ops = []
        self.inputs = []
        self._depth = 0
        self._by_tensor = {}  # id(tensor) -> Value
        self._by_array = {}  # id(array) -> Value
        self._keep = []  # every object whose id is a key above, kept alive so that ids stay unique
        self._dynamic_arrays = []  # arrays of inputs and op outputs: a constant must not share memory with them
        self._params = {}
        for prefix_items in (model.named_parameters(), model.named_buffers()):
            for name, t in prefix_items:
                self._params.setdefault(id(t), (name, t))
        self._param_arrays = {id(t._data): t for _, t in self._params.values()}
        self._module_names = {id(m): (name, type(m).__name__) for name, m in model.named_modules()}
        self._previous = None
        self._patched = []

    # ------------------------------------------------------------------ the hook

    def install(self):
        from ..profiler import _record

        if _record.active() is not None or _function.profile_hook is not None:
            raise RuntimeError(
                "torch.onnx.export: a profiler is recording in this process (it holds retrograd's op "
                "hook, which the exporter traces with). Stop the profile (leave its `with` block or call "
                ".stop()) before exporting.")
        self._previous = _function.profile_hook
        _function.profile_hook = self._hook
        for owner, attr, accept, key in self.composites:
            original = getattr(owner, attr)
            self._patched.append((owner, attr, original))
            setattr(owner, attr, self._composite(original, accept, key))
        _exporting[0] = True

    def uninstall(self):
        _function.profile_hook = self._previous
        for module, attr, original in reversed(self._patched):
            setattr(module, attr, original)
        self._patched = []
        _exporting[0] = False

    def _hook(self, cls, args, kwargs):
        if self._depth:
            return NotImplemented  # inside a recorded op: apply runs it
        if self.inline and not cls.__module__.startswith("retrograd."):
            return NotImplemented  # a user's Function: the ops its forward runs are recorded
        return self.record(cls, args, kwargs, lambda: cls.apply(*args, **kwargs))

    def _composite(self, original, accept, key):
        """``original`` recorded as one op (``key``, or ``original`` itself) where ``accept`` takes its
        arguments, bound to its signature with the defaults filled in (_symbolic.COMPOSITES)."""
        signature = inspect.signature(original)

        @functools.wraps(original)
        def composite(*args, **kwargs):
            if self._depth == 0:
                try:
                    bound = signature.bind(*args, **kwargs)
                except TypeError:  # a call the signature does not describe (out=): as it is
                    return original(*args, **kwargs)
                bound.apply_defaults()
                if accept(*bound.args, **bound.kwargs):
                    return self.record(key or original, bound.args, bound.kwargs, lambda: original(*args, **kwargs))
            return original(*args, **kwargs)

        return composite

    def record(self, fn, args, kwargs, run):
        """Record ``fn(*args, **kwargs)``, computed by ``run()``, as one op."""
        module = current_module()
        mname, mtype = self._module_names.get(id(module), ("", type(module).__name__)) \
            if module is not None else ("", "function")
        op = Op(fn, None, None, mname, mtype)
        op.args = tuple(self._resolve_arg(a, op) for a in args)
        op.kwargs = {k: self._resolve_arg(v, op) for k, v in kwargs.items()}
        self._depth += 1
        try:
            out = run()
        finally:
            self._depth -= 1
        outs = out if isinstance(out, (tuple, list)) else (out,)
        inputs = [v for v in _values(op.args) + _values(tuple(op.kwargs.values()))]
        if self.fold and inputs and all(v.kind == "const" for v in inputs):
            for o in outs:  # every input constant: the outputs are constants
                if isinstance(o, Tensor):
                    self._bind(o, Value("const", host_copy(o._data)))
            return out
        for i, o in enumerate(outs):
            if isinstance(o, Tensor):
                v = Value("op", o._data, op=op, index=i)
                self._bind(o, v)
                self._dynamic_arrays.append(o._data)
                op.outputs.append(v)
            else:
                op.outputs.append(None)
        self.ops.append(op)
        return out

    # ------------------------------------------------------------------ values

    def add_input(self, tensor, name):
        v = Value("input", tensor._data, name=name)
        self._bind(tensor, v)
        self._dynamic_arrays.append(tensor._data)
        self.inputs.append(v)
        return v

    def _bind(self, tensor, value):
        self._by_tensor[id(tensor)] = value
        self._by_array[id(tensor._data)] = value
        self._keep.append(tensor)
        self._keep.append(tensor._data)

    def _resolve_arg(self, a, op):
        if isinstance(a, Tensor):
            return self.resolve(a, op)
        if isinstance(a, (tuple, list)) and any(isinstance(x, Tensor) for x in a):
            return type(a)(self._resolve_arg(x, op) for x in a)
        return a

    def resolve(self, t, op=None):
        """The Value of tensor ``t`` (see the module docstring)."""
        v = self._by_tensor.get(id(t))
        if v is not None:
            return v
        p = self._params.get(id(t))
        if p is not None:
            v = Value("param", t._data, name=p[0])
            self._bind(t, v)
            return v
        v = self._by_array.get(id(t._data))
        if v is not None:
            return v
        p = self._param_arrays.get(id(t._data))
        if p is not None:  # a parameter's detach() or .data before the parameter itself was used
            return self.resolve(p, op)
        for arr in self._dynamic_arrays:
            if isinstance(t._data, np.ndarray) and np.may_share_memory(t._data, arr):
                where = f"{op.name} in {op.where()}" if op is not None else "the model's outputs"
                raise OnnxExporterError(
                    f"a tensor of shape {list(t.shape)} used by {where} shares memory with the model's input "
                    "or an op's output, but no retrograd op made it (was it built from .numpy() or ._data?). "
                    "As a constant it would freeze the example input's values into the graph: compute it "
                    "with tensor ops instead.")
        v = Value("const", host_copy(t._data))
        self._bind(t, v)
        return v

    # ------------------------------------------------------------------ run

    def run(self, model, args, kwargs):
        """model(*args, **kwargs) recorded, without autograd; returns its output."""
        self.install()
        try:
            with no_grad():
                return model(*args, **kwargs)
        finally:
            self.uninstall()


def host_copy(array):
    """A NumPy copy of ``array`` (a CUDA array is copied to the host)."""
    return np.array(to_device(array, "cpu"), copy=True, order="C")


def _values(args):
    out = []
    for a in args:
        if isinstance(a, Value):
            out.append(a)
        elif isinstance(a, (tuple, list)):
            out.extend(x for x in a if isinstance(x, Value))
    return out


def pair(first, second):
    """Link each op and Value of ``second`` (the check run: other values, dynamic axes grown) to its
    counterpart in ``first`` as its ``twin``; the two runs must have called the same ops in the same
    order, and each constant must be the same in both."""
    a, b = first.ops, second.ops
    if [op.fn for op in a] != [op.fn for op in b]:
        for i, (x, y) in enumerate(zip(a, b)):
            if x.fn is not y.fn:
                break
        else:
            i = min(len(a), len(b))
        first_op = a[i].name if i < len(a) else "nothing"
        second_op = b[i].name if i < len(b) else "nothing"
        raise OnnxExporterError(
            "torch.onnx.export: the model ran other ops when run again with other input values (shuffled, "
            f"and dynamic axes grown): op {i} is {first_op} with the example inputs, {second_op} with the others. "
            "Its Python control flow depends on the values or sizes of its inputs, so one traced graph "
            "cannot stand for it; make the forward's ops independent of them.")
    for x, y in zip(a, b):
        x.twin = y
        for u, w in zip(_values(x.args) + _values(tuple(x.kwargs.values())),
                        _values(y.args) + _values(tuple(y.kwargs.values()))):
            _link(u, w, x)
        for u, w in zip(x.outputs, y.outputs):
            if u is not None:
                u.twin = w
    for u, w in zip(first.inputs, second.inputs):
        u.twin = w


def _link(u, w, op):
    """Pair u with w; a constant that differs between the runs gets the reason it cannot be exported
    (raised if a lowering uses it: Graph.name)."""
    if u.kind == "const" and w.kind == "const" and u.shape != w.shape:
        u.problem = (
            f"a constant tensor of shape {list(u.shape)} used by {op.name} in {op.where()} has shape "
            f"{list(w.shape)} when a dynamic axis grows: it was made from a size of the input (e.g. "
            "torch.zeros(x.shape[0], ...)) without an op the exporter records, so the graph would hold one "
            "fixed size. Export without dynamic_axes for that axis.")
    elif u.kind == "const" and w.kind == "const" and not _same(u.array, w.array):
        u.problem = (
            f"a tensor of shape {list(u.shape)} used by {op.name} in {op.where()} changes when the inputs' values "
            "change, but no op the exporter records computed it (a comparison, argmax, .item() or a NumPy "
            "round trip?): the graph would hold its value for the example inputs. Compute it with ops that "
            "have an ONNX lowering.")
    u.twin = w
