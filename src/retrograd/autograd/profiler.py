"""``torch.autograd.profiler``: the older profiler API that many tutorials still use,

    with torch.autograd.profiler.profile(record_shapes=True) as prof:
        model(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total"))

recording the same events as ``retrograd.profiler.profile`` (which it runs)."""

import warnings

from ..profiler import profiler as _profiler
from ..profiler._record import record_function
from ..profiler.events import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401 (torch's names here)

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile:
    """Records retrograd's ops inside its ``with`` block (nothing if ``enabled=False``).
    The arguments mean what they mean for ``retrograd.profiler.profile``; ``use_cuda`` or
    ``use_device="cuda"`` asks for CUDA activity (warned: kernels are not timed)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None, activity_filters=None):
        if not use_cpu:
            raise NotImplementedError("profile(use_cpu=False): retrograd's profiler records CPU time only")
        if activity_filters is not None:
            raise NotImplementedError("profile(activity_filters=...): retrograd's profiler has no Kineto "
                                      "activity filters")
        if use_device is not None and not isinstance(use_device, str):  # a torch.device is no option, as torch's
            warnings.warn(f"The {use_device} is not a valid device option.", UserWarning, stacklevel=2)
            use_device = None
        if use_device not in (None, "cpu", "cuda"):
            raise NotImplementedError(f"profile(use_device={use_device!r}): retrograd knows cpu and cuda")
        activities = [_profiler.ProfilerActivity.CPU]
        if use_cuda or use_device == "cuda":
            activities.append(_profiler.ProfilerActivity.CUDA)
        self.enabled = enabled
        self.use_kineto = use_kineto  # torch's choice of backend; retrograd has one, recording the same
        self._profile = _profiler.profile(
            activities=activities, record_shapes=record_shapes, profile_memory=profile_memory,
            with_stack=with_stack, with_flops=with_flops, with_modules=with_modules,
            experimental_config=experimental_config, acc_events=acc_events,
            custom_trace_id_callback=custom_trace_id_callback,
            post_processing_timeout_s=post_processing_timeout_s)
        self.function_events = None

    def __enter__(self):
        if self.enabled:
            self._profile.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.enabled:
            self._profile.stop()
            self.function_events = self._profile.events()
        return False

    def _events(self):
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.function_events

    def __str__(self):
        return str(self._events())

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None):
        return self._events().table(sort_by=sort_by, row_limit=row_limit,
                                    max_src_column_width=max_src_column_width,
                                    max_name_column_width=max_name_column_width,
                                    max_shapes_column_width=max_shapes_column_width, header=header,
                                    top_level_events_only=top_level_events_only, time_unit=time_unit)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self._events().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def total_average(self):
        return self._events().total_average()

    @property
    def self_cpu_time_total(self):
        return self._events().self_cpu_time_total

    def export_chrome_trace(self, path):
        return self._events().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        return self._events().export_stacks(path, metric)
