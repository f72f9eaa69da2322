"""Tools that show what backprop is doing: memory kept for backward (``saved_tensors``)."""

from .graph_html import Graph, GraphEdge, GraphGroup, GraphNode, graph  # noqa: F401
from .memory import ModuleSummary, SavedTensor, SavedTensorsReport, saved_tensors  # noqa: F401
