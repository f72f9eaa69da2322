"""The model's graph for ``SummaryWriter.add_graph``: one run of the model traced op by op (with
torch.onnx.export's tracer, on retrograd's op hook) and written as a TensorBoard GraphDef in the
layout torch's add_graph gives its jit trace:

- ``input/<forward's parameter name>`` and ``output/output.<i>``: "IO Node"s;
- each parameter or buffer: ``<scope>/<name>``, a ``prim::GetAttr`` of the module owning it;
- each op: ``<scope>/<n>``, its op the profiler's name (``aten::addmm``), its inputs the nodes
  that made its tensor arguments (``node:k`` for an op's k-th output), its other arguments in
  its ``attr`` string, its outputs' shapes in ``_output_shapes``;
- a tensor made without an op (``torch.eye(3)`` inside forward): a ``prim::Constant``.

A scope is the path of the module whose forward ran the op, as torch writes it:
``Net/Sequential[encoder]/Linear[0]``. The RunMetadata holds one empty CPU device, as torch's.
"""

import inspect
import warnings

import numpy as np
from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.config_pb2 import RunMetadata
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.step_stats_pb2 import DeviceStepStats, StepStats
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

from ...tensor import Tensor


def node_proto(name, op="UnSpecified", input=None, shape=None, attributes=""):
    """A NodeDef with torch's two attrs: ``attr`` (a description string) and ``_output_shapes``."""
    attr = {"attr": AttrValue(s=attributes.encode(encoding="utf_8"))}
    if shape is not None:
        shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in shape])
        attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=[shape]))
    return NodeDef(name=name.encode(encoding="utf_8"), op=op, input=input or [], attr=attr)


def _scopes(model):
    """{module path: torch's scope name}: "" -> "Net", "encoder.0" -> "Net/Sequential[encoder]/Linear[0]"."""
    types = {name: type(m).__name__ for name, m in model.named_modules()}
    scopes = {"": type(model).__name__}
    for name in types:
        if name:
            parent, _, attr = name.rpartition(".")
            scopes[name] = f"{scopes[parent]}/{types[name]}[{attr}]"
    return scopes


def _input_names(model, args):
    try:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"input_{i}" for i in range(len(args))]


def _tensors(out, strict):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, dict)) and strict:
        warnings.warn(
            f"Encountering a {type(out).__name__} at the output of the tracer might cause the trace to be "
            "incorrect, this is only valid if the container structure does not change based on the module's "
            "inputs. Consider using a constant container instead (e.g. for `list`, use a `tuple` instead. for "
            "`dict`, use a `NamedTuple` instead). If you absolutely need this and know the side effects, pass "
            "use_strict_trace=False to add_graph() to allow this behavior.", stacklevel=4)
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o, False)]
    raise RuntimeError(f"add_graph: the model returned a {type(out).__name__}; the traced graph's outputs are "
                       "tensors (or tuples, lists and dicts of them)")


def graph(model, args, verbose=False, use_strict_trace=True):
    """(GraphDef, RunMetadata) of one run of ``model(*args)`` in eval mode (modes restored after)."""
    from ...onnx._trace import Tracer, Value
    from ...profiler._record import _op_name

    if args is None:
        raise RuntimeError("add_graph(model, input_to_model=None): the graph is traced from a run of the model, "
                           "so pass its input (a tensor, or a tuple or list of tensors)")
    args = (args,) if isinstance(args, Tensor) else tuple(args)
    modes = [(m, m.training) for m in model.modules()]
    model.train(False)
    tracer = Tracer(model, fold=False)
    names = _input_names(model, args)
    try:
        for a, name in zip(args, names):
            if isinstance(a, Tensor):
                tracer.add_input(a, name)
        outputs = [tracer.resolve(t) for t in _tensors(tracer.run(model, args, {}), use_strict_trace)]
    finally:
        for m, mode in modes:
            m.training = mode

    scopes = _scopes(model)
    nodes, node_of = [], {}  # node_of: id(Value) -> the name edges use

    def name_of(value, scope):
        key = id(value)
        if key not in node_of:
            if value.kind == "param":
                owner, _, attr = value.name.rpartition(".")
                node_of[key] = f"{scopes[owner]}/{attr}"
                nodes.append(node_proto(node_of[key], "prim::GetAttr", attributes=f"{{ name :  {attr} }}"))
            else:  # a constant, named where it is first used
                node_of[key] = f"{scope}/{len(nodes)}"
                text = np.array2string(value.array, threshold=10)
                nodes.append(node_proto(node_of[key], "prim::Constant", shape=value.shape,
                                        attributes=f"{{ value : tensor({text})}}"))
        return node_of[key]

    for v in tracer.inputs:
        node_of[id(v)] = f"input/{v.name}"
        nodes.append(node_proto(node_of[id(v)], "IO Node", shape=v.shape))
    for op in tracer.ops:
        scope = scopes.get(op.module, scopes[""])
        inputs, described = [], []
        for i, a in enumerate(list(op.args) + list(op.kwargs.values())):
            values = a if isinstance(a, (tuple, list)) else [a]
            if any(isinstance(v, Value) for v in values):
                inputs += [name_of(v, scope) for v in values if isinstance(v, Value)]
            else:
                described.append(f"{i} : {a!r}")
        name = f"{scope}/{len(nodes)}"
        for k, v in enumerate(op.outputs):
            if v is not None:
                node_of[id(v)] = name if k == 0 else f"{name}:{k}"
        first = next((v for v in op.outputs if v is not None), None)
        kind = _op_name(op.fn) if isinstance(op.fn, type) else op.name
        nodes.append(node_proto(name, kind, inputs, None if first is None else first.shape,
                                "{" + ", ".join(described) + "}"))
    for i, v in enumerate(outputs):
        nodes.append(node_proto(f"output/output.{i + 1}", "IO Node", [name_of(v, scopes[""])], v.shape))
    if verbose:
        for node in nodes:
            print(f"{node.name} = {node.op}({', '.join(node.input)})")
    stepstats = RunMetadata(step_stats=StepStats(dev_stats=[DeviceStepStats(device="/device:CPU:0")]))
    return GraphDef(node=nodes, versions=VersionDef(producer=22)), stepstats
