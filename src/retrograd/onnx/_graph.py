"""Building the ONNX graph: value names, nodes, constants, and the clean-up after lowering.

The lowerings (_symbolic.py) call ``node`` to add ONNX nodes and ``name``/``operand`` to get
the ONNX name of a traced Value or of a Python scalar. Names follow torch's exporter: a node of
op type T run in module ``encoder.0`` is ``/encoder/0/T`` (``_1``, ``_2``, ... when repeated),
its outputs ``/encoder/0/T_output_0``...; parameters keep their ``named_parameters`` names.
"""

import numpy as np


class Graph:
    def __init__(self, onnx, opset, export_params):
        self.onnx = onnx
        self.opset = opset
        self.export_params = export_params
        self.nodes = []
        self.initializers = {}  # name -> array, in first-use order
        self.param_inputs = {}  # name -> Value: parameters as graph inputs (export_params=False)
        self.scope = ""
        self._names = {}  # id(Value) -> ONNX name
        self._keep = []
        self._used = {}  # node and constant names -> times used
        self._transposed = {}  # output of a 2-D Transpose -> its input (Gemm's transB)
        self._casts = {}  # (name, dtype) -> the Cast of it
        # (example size, grown size) of each dynamic axis -> (symbolic name, graph input, axis)
        self.sizes = {}

    # ------------------------------------------------------------------ names

    def _unique(self, base):
        n = self._used.get(base, 0)
        self._used[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def bind(self, value, name):
        self._names[id(value)] = name
        self._keep.append(value)

    def name(self, value):
        """The ONNX name of a traced Value (a parameter or constant is added on first use)."""
        name = self._names.get(id(value))
        if name is not None:
            return name
        if value.kind == "param":
            name = value.name
            if self.export_params:
                self.initializers[name] = value.array
            else:
                self.param_inputs[name] = value
        elif value.kind == "const":
            if value.problem is not None:
                from .errors import OnnxExporterError

                raise OnnxExporterError(value.problem)
            name = self.constant(value.array)
        else:
            raise AssertionError(f"{value} has no ONNX name yet")  # lowering order guarantees one
        self.bind(value, name)
        return name

    def constant(self, array, hint="Constant"):
        name = self._unique(f"onnx::{hint}")
        self.initializers[name] = np.asarray(array)
        return name

    def scalar(self, value, dtype):
        """A 0-d constant of ``dtype``."""
        return self.constant(np.asarray(value, dtype=dtype))

    def ints(self, values):
        """A 1-d int64 constant (shapes, axes)."""
        return self.constant(np.asarray(list(values), dtype=np.int64))

    def operand(self, a, dtype):
        """The ONNX name of argument ``a`` (a Value or a Python number) as a tensor of ``dtype``:
        ONNX's arithmetic has no type promotion, so operands are cast to the traced result's type."""
        from ._trace import Value

        if not isinstance(a, Value):
            return self.scalar(a, dtype)
        name = self.name(a)
        if a.dtype != dtype:
            key = (name, np.dtype(dtype).str)
            if key not in self._casts:  # one Cast per value and type
                self._casts[key] = self.node("Cast", [name], to=self.elem_type(dtype))
            name = self._casts[key]
        return name

    def elem_type(self, dtype):
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    # ------------------------------------------------------------------ nodes

    def node(self, op_type, inputs, outputs=1, **attrs):
        """Add a node; returns its output name (or the list of them when outputs > 1)."""
        path = "/" + self.scope.replace(".", "/") + "/" if self.scope else "/"
        node_name = self._unique(path + op_type)
        names = [f"{node_name}_output_{i}" for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), names, name=node_name, **attrs))
        if op_type == "Transpose" and list(attrs.get("perm", ())) == [1, 0]:
            self._transposed[names[0]] = inputs[0]
        return names[0] if outputs == 1 else names

    def symbolic_size(self, size, grown):
        """(name, input, axis) of the dynamic axis whose size is ``size`` in the example run and
        ``grown`` in the grown one, or None."""
        return self.sizes.get((size, grown))

    def size_of(self, size, grown):
        """A 1-element int64 tensor holding a dynamic axis' size at run time (Shape, then Gather)."""
        _, name, axis = self.sizes[(size, grown)]
        return self.node("Gather", [self.node("Shape", [name]), self.ints([axis])], axis=0)

    def untransposed(self, name):
        """For a Transpose(perm=[1, 0]) output: its input (the Transpose is dropped if nothing else
        reads it); else None."""
        return self._transposed.get(name)

    def reduce(self, op_type, x, axes, keepdims):
        """ReduceSum/ReduceMean/...: axes are an input from opset 18 (ReduceSum: 13), an attribute before."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op_type, [x], axes=axes, keepdims=int(keepdims))

    # ------------------------------------------------------------------ finishing

    def rename(self, old, new):
        """Give the value ``old`` (a node's output) the name ``new`` everywhere."""
        for node in self.nodes:
            for seq in (node.input, node.output):
                for i, n in enumerate(seq):
                    if n == old:
                        seq[i] = new

    def produced(self, name):
        return any(name in node.output for node in self.nodes)

    def prune(self, outputs):
        """Drop nodes and constants nothing reads (e.g. a Transpose folded into Gemm's transB)."""
        needed = set(outputs)
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = kept[::-1]
        self.initializers = {k: v for k, v in self.initializers.items() if k in needed}
        self.param_inputs = {k: v for k, v in self.param_inputs.items() if k in needed}
