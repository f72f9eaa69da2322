"""``torch.profiler.profile``: time retrograd's ops, forward and backward, per call.

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(x)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")

What it records is ``retrograd.profiler._record``'s; this module is torch's control around
it: activities, the wait/warmup/active ``schedule`` driven by ``prof.step()``, the
``on_trace_ready`` callback at the end of each active cycle, and the exports.
"""

import enum
import os
import socket
import time
import warnings

from . import _record
from ._chrome import write_trace
from .events import EventList


class ProfilerActivity(enum.Enum):
    """What to record. retrograd records CPU time of its ops; device kernels are not timed."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does at a step, as a ``schedule`` returns it."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def supported_activities():
    """The activities retrograd's profiler records: CPU."""
    return {ProfilerActivity.CPU}


def kineto_available():
    """False: retrograd's profiler is its own, in Python, not PyTorch's Kineto library."""
    return False


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """A schedule for ``profile(schedule=...)``: after ``skip_first`` steps, cycles of
    ``wait`` idle steps, ``warmup`` steps and ``active`` recorded steps (the last of which
    saves the trace: ``on_trace_ready``), ``repeat`` times (0: until the profile ends).
    ``skip_first_wait`` skips the first cycle's wait."""

    def schedule_fn(step):
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE

    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    return schedule_fn


def _default_schedule_fn(_):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False, use_python_export=False):
    """An ``on_trace_ready`` that writes each trace to ``dir_name`` as
    ``{worker_name}.{time_ns}.pt.trace.json`` (``.gz`` with ``use_gzip``), the files
    TensorBoard's profiler plugin reads. ``worker_name`` defaults to "host_pid"."""

    def handler_fn(prof):
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except Exception as e:
            raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, file_name), use_python_export=use_python_export)

    return handler_fn


class profile:
    """Records retrograd's ops while active (see the module docstring).

    record_shapes: keep each call's input shapes (``key_averages(group_by_input_shape=True)``).
    profile_memory: count the bytes of the arrays each op returns that it allocated itself
        (not views of its inputs): "CPU Mem" includes the ops it ran, "Self CPU Mem" not.
        retrograd counts these allocations only; torch's allocator also reports frees and
        scratch buffers, so its numbers can be lower (or negative).
    with_stack: keep the user's Python frames of each call ("Source Location" column,
        ``key_averages(group_by_stack_n=N)``, ``export_stacks``).
    acc_events: keep the events of every active cycle of a schedule, not only the last.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False,
                 use_cuda=None, custom_trace_id_callback=None, post_processing_timeout_s=None):
        for name, value in (("with_flops", with_flops), ("with_modules", with_modules)):
            if value:
                raise NotImplementedError(f"profile({name}=True): retrograd's profiler does not support it")
        for name, value in (("experimental_config", experimental_config),
                            ("execution_trace_observer", execution_trace_observer),
                            ("custom_trace_id_callback", custom_trace_id_callback),
                            ("post_processing_timeout_s", post_processing_timeout_s)):
            if value is not None:
                raise NotImplementedError(f"profile({name}=...): retrograd's profiler (no Kineto) "
                                          "does not support it")
        chosen = set(activities) if activities is not None else supported_activities()
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead",
                          FutureWarning, stacklevel=2)
            (chosen.add if use_cuda else chosen.discard)(ProfilerActivity.CUDA)
        if not chosen:
            raise AssertionError("No valid profiler activities found")
        for activity in chosen:
            if not isinstance(activity, ProfilerActivity):
                raise TypeError(f"activities must be ProfilerActivity values, got {activity!r}")
        if ProfilerActivity.CUDA in chosen:
            warnings.warn("CUDA kernels are not timed by retrograd's profiler: it records the CPU "
                          "time of each op (and, with profile_memory, CUDA arrays' bytes)", stacklevel=2)
        others = chosen - {ProfilerActivity.CPU, ProfilerActivity.CUDA}
        if others:
            raise NotImplementedError(f"profile(activities=...): retrograd cannot profile "
                                      f"{sorted(a.name for a in others)}; use ProfilerActivity.CPU")
        self.activities = chosen
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.acc_events = acc_events
        self.use_device = "cuda" if ProfilerActivity.CUDA in chosen else None
        self.record_steps = schedule is not None
        self.schedule = schedule if schedule is not None else _default_schedule_fn
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn = None
        self.current_action = self._scheduled(self.step_num)
        self.profiler = None  # the events of the last recording, once there was one
        self._recorder = None
        self._metadata = {}
        self._warned_clear = False
        self._t0_ns = self._base_time_ns = None

    # ------------------------------------------------------------------ control

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()

    def start(self):
        self._transit(ProfilerAction.NONE, self.current_action)
        if self.record_steps:
            self._enter_step()

    def stop(self):
        if self.record_steps and self.step_rec_fn is not None:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None
        self._transit(self.current_action, None)

    def step(self):
        """Mark the start of the next step: the schedule says what to do with it."""
        if self.record_steps and self.step_rec_fn is not None:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None
        prev = self.current_action
        action = self._scheduled(self.step_num + 1)
        self.step_num += 1
        self.current_action = action
        self._transit(prev, action)
        if self.record_steps:
            self._enter_step()

    def _scheduled(self, step):
        action = self.schedule(step)
        if action == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler and "
                             "must not be returned by a user-provided schedule")
        return action

    def _enter_step(self):
        self.step_rec_fn = _record.record_function(f"ProfilerStep#{self.step_num}")
        self.step_rec_fn.__enter__()

    def _transit(self, prev, current):
        """torch's state machine between the scheduled actions of two steps (None: the end)."""
        A = ProfilerAction
        recording = (A.RECORD, A.RECORD_AND_SAVE)
        if prev == A.RECORD_AND_SAVE and current is not None:  # the end of a cycle
            self._stop_trace()
            self._trace_ready()
            if current != A.NONE:
                self._prepare_trace()
            if current in recording:
                self._start_trace()
            return
        if prev in recording:
            if current is None:
                self._stop_trace()
                self._trace_ready()
            elif current in (A.NONE, A.WARMUP):
                warnings.warn(f"Incorrect schedule: RECORD followed by {current.name}", stacklevel=3)
                self._stop_trace()
            return
        if prev == A.WARMUP:
            if current == A.NONE:
                warnings.warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=3)
            if current in recording:
                self._start_trace()
            elif current != A.WARMUP:  # warmed up for nothing: an empty recording
                self._start_trace()
                self._stop_trace()
            return
        if prev == A.NONE and current is not None and current != A.NONE:
            self._prepare_trace()
            if current in recording:
                self._start_trace()

    def _prepare_trace(self):
        if self.profiler is not None and not self.acc_events and not self._warned_clear:
            self._warned_clear = True
            warnings.warn("Warning: Profiler clears events at the end of each cycle. Only events "
                          "from the current cycle will be reported. To keep events across cycles, "
                          "set acc_events=True.", stacklevel=4)

    def _start_trace(self):
        if self._t0_ns is None or not self.acc_events:  # accumulated events share one time origin
            self._t0_ns, self._base_time_ns = time.perf_counter_ns(), time.time_ns()
        self._recorder = _record._Recorder(self.record_shapes, self.profile_memory, self.with_stack,
                                           self._t0_ns)
        self._recorder.install()

    def _stop_trace(self):
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        recorder.uninstall()
        if self.acc_events and self.profiler is not None:
            self.profiler.extend(recorder.events)
        else:
            self.profiler = EventList(recorder.events, use_device=self.use_device,
                                      profile_memory=self.profile_memory)

    def _trace_ready(self):
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # ------------------------------------------------------------------ results

    def _events(self, what):
        if self.profiler is None:
            raise AssertionError(f"Profiler must be initialized before {what}")
        return self.profiler

    def events(self):
        """Every recorded event (an ``EventList``), in the order they started."""
        return self._events("accessing events")

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        """The events averaged per name (and input shapes / stack when asked): print with
        ``.table(sort_by="cpu_time_total", row_limit=10)``."""
        return self._events("getting key averages").key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def export_chrome_trace(self, path, use_python_export=False):
        """Write the last recording as a Chrome trace JSON (gzipped if ``path`` ends in .gz).
        retrograd's exporter is Python's either way, so ``use_python_export`` changes nothing."""
        write_trace(self._events("exporting chrome trace"), path, self._base_time_ns, self._metadata)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """Stacks for flame graphs (needs ``with_stack=True``), see ``EventList.export_stacks``."""
        self._events("exporting stacks").export_stacks(path, metric)

    def export_memory_timeline(self, path, device=None):
        raise NotImplementedError("export_memory_timeline: retrograd's profiler records each op's "
                                  "allocations (profile_memory=True), not a memory timeline")

    def add_metadata(self, key, value):
        """A string added to the Chrome trace's top level."""
        self._metadata[key] = str(value)

    def add_metadata_json(self, key, value):
        """A JSON value (given as a string) added to the Chrome trace's top level."""
        import json

        self._metadata[key] = json.loads(value)
