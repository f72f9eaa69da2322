"""Chrome trace export (the JSON Trace Event Format that chrome://tracing, Perfetto and
TensorBoard's profiler read): each event a complete ("X") event with its start ``ts`` and
duration ``dur`` in microseconds, on its thread's track; ops that allocated (with
``profile_memory``) add an instant "[memory]" event with the bytes, and each forward op is
linked to its backward rule by a "fwdbwd" arrow (same "Sequence number"), as torch's traces do."""

import gzip
import json
import os


def write_trace(events, path, base_time_ns=0, metadata=None):
    pid = os.getpid()
    trace = [{"ph": "M", "name": "process_name", "ts": 0, "pid": pid, "tid": 0,
              "args": {"name": "python"}},
             {"ph": "M", "name": "process_labels", "ts": 0, "pid": pid, "tid": 0,
              "args": {"labels": "CPU"}}]
    for tid in dict.fromkeys(e.tid for e in events):
        trace.append({"ph": "M", "name": "thread_name", "ts": 0, "pid": pid, "tid": tid,
                      "args": {"name": f"thread {tid} (python)"}})
    flows = {}  # sequence number -> {"s": forward op, "f": backward rule}: linked by an arrow
    for index, e in enumerate(events):
        args = {"External id": e.id, "Ev Idx": index}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.args is not None:
            args["Record function args"] = e.args
        if e.stack:
            args["Stack"] = e.stack
        if e.sequence_nr >= 0:
            args["Sequence number"] = e.sequence_nr
        start = e.time_range.start
        trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                      "name": e.trace_name, "pid": pid, "tid": e.tid, "ts": start,
                      "dur": e.time_range.elapsed_us(), "args": args})
        if e.sequence_nr >= 0 and e.cpu_parent is not None and e.cpu_parent.sequence_nr == e.sequence_nr:
            flows.setdefault(e.sequence_nr, {})["f"] = e  # the node's rule, in the engine's step
        elif e.sequence_nr >= 0 and not e.name.startswith("autograd::engine"):
            flows.setdefault(e.sequence_nr, {})["s"] = e  # the forward op that made the node
        for device, nbytes in (("CPU", e.self_cpu_memory_usage), ("CUDA", e.self_device_memory_usage)):
            if nbytes:
                trace.append({"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "[memory]",
                              "pid": pid, "tid": e.tid, "ts": e.time_range.end,
                              "args": {"Bytes": nbytes, "Device Type": device, "Op": e.trace_name}})
    for seq, ends in flows.items():
        if len(ends) == 2:
            for phase, e in ends.items():
                arrow = {"ph": phase, "id": seq, "pid": pid, "tid": e.tid, "ts": e.time_range.start,
                         "cat": "fwdbwd", "name": "fwdbwd"}
                if phase == "f":
                    arrow["bp"] = "e"
                trace.append(arrow)
    document = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
                "baseTimeNanoseconds": base_time_ns, "traceEvents": trace, "traceName": str(path)}
    document.update(metadata or {})
    text = json.dumps(document)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)
