"""The profiler's table, laid out as torch's ``key_averages().table()``: a name column, then
Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg, the memory columns with
``profile_memory``, # of Calls, then Input Shapes and Source Location where recorded.
Percentages are of the sum of all self times ("Self CPU time total" below the table)."""

from .events import EventList, format_memory, format_time

_COLUMN = 12
_SPACING = 2


def build_table(events, sort_by=None, row_limit=100, max_src_column_width=75,
                max_name_column_width=55, max_shapes_column_width=80, header=None,
                profile_memory=False, use_device=None, top_level_events_only=False,
                time_unit=None):
    if len(events) == 0:
        return ""
    if time_unit not in (None, "s", "ms", "us"):
        raise ValueError(f"time_unit must be 's', 'ms', 'us' or None, got {time_unit!r}")
    has_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0 for e in events)
    has_stack = any(e.stack for e in events)
    has_device_mem = bool(use_device) and any(e.self_device_memory_usage > 0 for e in events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        events = EventList(sorted(events, key=lambda e: getattr(e, attr), reverse=True))

    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)

    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    device = use_device.upper() if use_device else "None"
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
        if has_device_mem:
            headers += [f"{device} Mem", f"Self {device} Mem"]
    headers.append("# of Calls")
    widths = [(name_width, ">")] + [(_COLUMN, ">")] * (len(headers) - 1)
    if has_shapes:
        headers.append("Input Shapes")
        widths.append((shapes_width, ">"))
    if has_stack:
        src_width = max(len(entry) for e in events for entry in e.stack) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)
        headers.append("Source Location")
        widths.append((src_width, "<"))
    row_format = "".join("{: " + align + str(w) + "}" + " " * _SPACING for w, align in widths)
    separator = "".join("-" * w + " " * _SPACING for w, _ in widths)
    line_length = sum(w + _SPACING for w, _ in widths) - _SPACING

    total_self = sum(e.self_cpu_time_total for e in events)

    def show_time(us):
        if time_unit == "s":
            return f"{us / 1e6:.3f}s"
        if time_unit == "ms":
            return f"{us / 1e3:.3f}ms"
        if time_unit == "us":
            return f"{us:.3f}us"
        return format_time(us)

    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_events_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [separator, row_format.format(*headers), separator]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        row = [name, _share(e.self_cpu_time_total, total_self), show_time(e.self_cpu_time_total),
               _share(e.cpu_time_total, total_self), show_time(e.cpu_time_total), show_time(e.cpu_time)]
        if profile_memory:
            row += [format_memory(e.cpu_memory_usage), format_memory(e.self_cpu_memory_usage)]
            if has_device_mem:
                row += [format_memory(e.device_memory_usage), format_memory(e.self_device_memory_usage)]
        row.append(e.count)
        if has_shapes:
            row.append(str(e.input_shapes)[:shapes_width])
        if has_stack:
            row.append(_trim_path(e.stack[0], src_width) if e.stack else "")
        lines.append(row_format.format(*row))
        if has_stack:
            blank = [""] * (len(headers) - 1)
            for entry in e.stack[1:]:
                lines.append(row_format.format(*blank, _trim_path(entry, src_width)))
            lines.append(row_format.format(*blank, ""))
    lines += [separator, f"Self CPU time total: {show_time(total_self)}"]
    return "".join(line + "\n" for line in lines)


def _share(part, total):
    if total == 0:
        return "NaN"
    return f"{part * 100.0 / total:.2f}%"


def _trim_path(path, width):
    if len(path) > width:
        path = path[len(path) - width:]
        if len(path) > 3:
            path = "..." + path[3:]
    return path
