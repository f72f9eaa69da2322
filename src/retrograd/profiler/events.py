"""What a profile recorded: one ``FunctionEvent`` per timed range (an op's ``apply``, a
backward node, a ``record_function`` label), their per-name averages (``FunctionEventAvg``)
and the list type that holds either (``EventList``), as torch.autograd.profiler_util has them.

Times are microseconds of wall-clock time (``time.perf_counter_ns``), as torch's "CPU time"
is. An event's total time includes its children (the ops it ran); its self time does not.
Memory is the bytes of the arrays the event's ops returned that they allocated (see
``profile(profile_memory=True)``); a total includes the children's, self does not.
"""

from collections import defaultdict
from enum import Enum

STEP_PREFIX = "ProfilerStep#"


class DeviceType(Enum):
    """Where an event ran (torch.autograd.DeviceType): retrograd records CPU events only."""

    CPU = 0
    CUDA = 1


class Interval:
    """An event's start and end, in microseconds from the start of the profile."""

    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        return self.end - self.start


class _Times:
    """The derived columns both kinds of event share."""

    is_async = False
    is_remote = False
    is_legacy = False
    node_id = -1
    device_type = DeviceType.CPU
    overload_name = ""
    flops = None
    device_time_total = self_device_time_total = 0
    use_device = None

    @property
    def cpu_time(self):
        """Average total time per call."""
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self):
        return 0.0

    cuda_time = device_time

    @property
    def cuda_time_total(self):
        return self.device_time_total

    @property
    def self_cuda_time_total(self):
        return self.self_device_time_total

    @property
    def cuda_memory_usage(self):
        return self.device_memory_usage

    @property
    def self_cuda_memory_usage(self):
        return self.self_device_memory_usage

    @property
    def cpu_time_str(self):
        return format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self):
        return format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self):
        return format_time(self.self_cpu_time_total)

    @property
    def device_time_str(self):
        return format_time(self.device_time)

    @property
    def device_time_total_str(self):
        return format_time(self.device_time_total)

    @property
    def self_device_time_total_str(self):
        return format_time(self.self_device_time_total)


class FunctionEvent(_Times):
    """One recorded range. ``name`` is the op (``aten::mul``), the backward node
    (``MulBackward0``, ``autograd::engine::evaluate_function: MulBackward0``) or the user's
    label; ``trace_name`` is the name in the Chrome trace (``ProfilerStep#3`` where the
    tables say ``ProfilerStep*``)."""

    count = 1

    def __init__(self, id, name, thread, start_us, end_us=None, input_shapes=None, stack=None,
                 is_user_annotation=False, trace_name=None, tid=None, args=None):
        self.id = id
        self.name = name
        self.trace_name = trace_name or name
        self.thread = thread
        self.tid = tid if tid is not None else thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.is_user_annotation = is_user_annotation
        self.args = args
        self.cpu_children = []
        self.cpu_parent = None
        self.cpu_memory_usage = 0
        self.device_memory_usage = 0  # bytes of CUDA (CuPy) arrays, where a profile counts memory
        self.sequence_nr = -1

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_device_memory_usage(self):
        return self.device_memory_usage - sum(c.device_memory_usage for c in self.cpu_children)

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} overload_name= "
                f"device_type={self.device_type} node_id=-1 cpu_time={self.cpu_time_str} "
                f"start_us={self.time_range.start} end_us={self.time_range.end} "
                f"cpu_children={[c.id for c in self.cpu_children]} None_time=0.000us "
                f"name={self.name} thread={self.thread} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage} None_memory_usage=0 is_async=False "
                f"is_remote=False seq_nr={self.sequence_nr} is_legacy=False>")


class FunctionEventAvg(_Times):
    """The sum of the events that share a key (and, when grouped so, input shapes or stack)."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.self_device_memory_usage = 0
        self.input_shapes = None
        self.stack = None
        self.is_user_annotation = False
        self.cpu_parent = None
        self.cpu_children = None

    def add(self, other):
        if self.key is None:
            self.key = other.key
            self.input_shapes = other.input_shapes
            self.stack = other.stack
            self.is_user_annotation = other.is_user_annotation
            self.cpu_parent = other.cpu_parent
            self.cpu_children = other.cpu_children
        elif other.key != self.key:
            raise ValueError(f"cannot add the events of {other.key!r} to the average of {self.key!r}")
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.device_memory_usage += other.device_memory_usage
        self.self_device_memory_usage += other.self_device_memory_usage
        return self

    def __iadd__(self, other):
        return self.add(other)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_cuda_time=0.000us cuda_time=0.000us "
                f"input_shapes={self.input_shapes if self.input_shapes is not None else ''} "
                f"cpu_memory_usage={self.cpu_memory_usage} cuda_memory_usage=0>")


class EventList(list):
    """A list of events (or of their averages) that prints as torch's table."""

    def __init__(self, *args, use_device=None, profile_memory=False, with_flops=False):
        super().__init__(*args)
        self._use_device = use_device
        self._profile_memory = profile_memory
        if with_flops:
            raise NotImplementedError("with_flops: retrograd's profiler does not count FLOPs")

    def __str__(self):
        return self.table()

    @property
    def self_cpu_time_total(self):
        """The sum of the events' self times: the profile's total CPU time."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """One ``FunctionEventAvg`` per event name (and per input shapes, per top
        ``group_by_stack_n`` stack frames, when asked), in order of first appearance.
        retrograd's ops have no overloads, so ``group_by_overload_name`` splits nothing."""
        stats = defaultdict(FunctionEventAvg)
        for e in self:
            key = [e.key, str(e.is_user_annotation)]
            if group_by_overload_name:
                key.append(e.overload_name)
            if group_by_input_shapes:
                key.append(str(e.input_shapes))
            if group_by_stack_n > 0:
                key += e.stack[:group_by_stack_n]
            stats[tuple(key)].add(e)
        averages = EventList(stats.values(), use_device=self._use_device,
                             profile_memory=self._profile_memory)
        for avg in averages:
            avg.stack = avg.stack[:group_by_stack_n]
            if not group_by_input_shapes:
                avg.input_shapes = ""
        return averages

    def total_average(self):
        """All events summed into one ``FunctionEventAvg`` keyed "Total"."""
        total = FunctionEventAvg()
        for e in self:
            total.key = e.key
            total.add(e)
        total.key = "Total"
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        """The events as torch prints them (see ``retrograd.profiler._table``)."""
        from ._table import build_table

        return build_table(self, sort_by=sort_by, row_limit=row_limit,
                           max_src_column_width=max_src_column_width,
                           max_name_column_width=max_name_column_width,
                           max_shapes_column_width=max_shapes_column_width, header=header,
                           profile_memory=self._profile_memory, use_device=self._use_device,
                           top_level_events_only=top_level_events_only, time_unit=time_unit)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (chrome://tracing, Perfetto)."""
        from ._chrome import write_trace

        write_trace(self, path)

    @staticmethod
    def supported_export_stacks_metrics():
        return ["self_cpu_time_total", "self_cuda_time_total", "self_xpu_time_total",
                "self_privateuse1_time_total"]

    def export_stacks(self, path, metric):
        """One line per event with a stack (``profile(with_stack=True)``): its frames from
        the outermost, ';'-separated, and the metric in whole microseconds (flamegraph.pl's
        input)."""
        if metric not in self.supported_export_stacks_metrics():
            raise ValueError("metric should be one of: " + str(self.supported_export_stacks_metrics()))
        attr = metric.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        translate = str.maketrans(" ;\t\n", "____")
        with open(path, "w") as f:
            for e in self:
                value = int(getattr(e, attr))
                if e.stack and value > 0:
                    frames = ";".join(entry.translate(translate) for entry in reversed(e.stack))
                    f.write(f"{frames} {value}\n")


def format_time(time_us):
    """1.234ms, 56.789us, 2.000s: torch's time format."""
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def format_memory(nbytes):
    """1.50 KB, 2.00 MB, 96 B: torch's memory format (binary units)."""
    kb, mb, gb = 1024, 1024 ** 2, 1024 ** 3
    if abs(nbytes) >= gb:
        return f"{nbytes / gb:.2f} GB"
    if abs(nbytes) >= mb:
        return f"{nbytes / mb:.2f} MB"
    if abs(nbytes) >= kb:
        return f"{nbytes / kb:.2f} KB"
    return f"{nbytes} B"
