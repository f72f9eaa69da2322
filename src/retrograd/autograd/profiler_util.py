"""``torch.autograd.profiler_util``: the profiler's event types (see retrograd.profiler.events)."""

from ..profiler.events import DeviceType, EventList, FunctionEvent, FunctionEventAvg, Interval  # noqa: F401

__all__ = ["DeviceType", "EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]
