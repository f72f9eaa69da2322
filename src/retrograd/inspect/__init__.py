"""Tools that show what backprop is doing: memory kept for backward (``saved_tensors``)."""

from .memory import ModuleSummary, SavedTensor, SavedTensorsReport, saved_tensors  # noqa: F401
