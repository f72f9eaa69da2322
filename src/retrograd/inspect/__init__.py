"""Tools that show what backprop is doing: memory kept for backward (``saved_tensors``)."""

from .graph_html import Graph, GraphEdge, GraphGroup, GraphNode, graph  # noqa: F401
from .memory import ModuleSummary, SavedTensor, SavedTensorsReport, saved_tensors  # noqa: F401
from .memory_plan import MemoryPlan, MemoryRow, memory_plan  # noqa: F401
from .checkpoint_plan import CheckpointBudgetError, CheckpointPlan, CheckpointSegment, checkpoint_plan  # noqa: F401
from .watch import ActivationStats, Watch, watch  # noqa: F401
from .gradient_flow import Finding, GradientFlowReport, LayerFlow, gradient_flow  # noqa: F401
from .check_gradients import GradientCheckReport, ModuleCheck, check_gradients  # noqa: F401
from .why_no_grad import NoGradExplanation, record_breaks, why_no_grad  # noqa: F401
