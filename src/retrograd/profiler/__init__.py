"""``torch.profiler``: a profiler of retrograd's ops (``profile``, ``record_function``,
``schedule``), printing torch's tables and writing Chrome traces. See ``profiler.py``."""

from ._record import record_function
from .events import DeviceType, EventList, FunctionEvent, FunctionEventAvg
from .profiler import (ProfilerAction, ProfilerActivity, kineto_available, profile, schedule,
                       supported_activities, tensorboard_trace_handler)

__all__ = ["ProfilerAction", "ProfilerActivity", "kineto_available", "profile", "record_function",
           "schedule", "supported_activities", "tensorboard_trace_handler", "DeviceType", "EventList",
           "FunctionEvent", "FunctionEventAvg"]
