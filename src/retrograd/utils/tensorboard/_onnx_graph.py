"""The graph of an ONNX model file as a TensorBoard GraphDef, for ``SummaryWriter.add_onnx_graph``:
the graph's inputs and outputs as "Variable" nodes with their shape and dtype, and each ONNX node
as a node named by its first output, its op the ONNX op type, its edges the tensors it reads,
its attributes described in a "parameters" string (``name = value = attribute type``)."""

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.types_pb2 import DataType
from tensorboard.compat.proto.versions_pb2 import VersionDef


def load_onnx_graph(fname):
    """The GraphDef of the ONNX model in file ``fname`` (needs the onnx package)."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError("add_onnx_graph needs the onnx package (pip install onnx, or retrograd[onnx])") from e
    return parse(onnx.load(fname).graph)


def _variable(value_info):
    """A "Variable" node of a graph input or output: its shape (-1 where unknown or symbolic) and dtype."""
    from onnx import TensorProto

    tensor_type = value_info.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim]
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in dims])
    # ONNX and TensorFlow name their element types alike: FLOAT -> DT_FLOAT, INT64 -> DT_INT64, ...
    onnx_name = TensorProto.DataType.Name(tensor_type.elem_type)
    dtype = DataType.Value("DT_" + onnx_name) if "DT_" + onnx_name in DataType.keys() else DataType.DT_INVALID
    return NodeDef(name=value_info.name, op="Variable",
                   attr={"shape": AttrValue(shape=shape), "dtype": AttrValue(type=dtype)})


def parse(graph):
    """The GraphDef of an onnx GraphProto."""
    from onnx import helper

    nodes = [_variable(v) for v in list(graph.input) + list(graph.output)]
    for node in graph.node:
        parameters = ", ".join(f"{a.name} = {helper.get_attribute_value(a)} = {a.type}" for a in node.attribute)
        nodes.append(NodeDef(name=node.output[0], op=node.op_type, input=list(node.input),
                             attr={"parameters": AttrValue(s=parameters.encode(encoding="utf_8"))}))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
