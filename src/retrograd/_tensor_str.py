"""Tensor repr in torch's layout: ``tensor([0., 1., 1.], requires_grad=True)``."""

import math

import numpy as np



class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


_OPTS = _PrintOptions()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """torch.set_printoptions: digits after the point, the element count above which a
    tensor is summarised, the items shown at each edge then, the line width, a profile
    ('default', 'short', 'full'; any other name changes nothing, as torch), and sci_mode (True/False
    forces it, None decides). Values are stored unchecked, as torch's: a bad one fails when printing."""
    if profile in _PROFILES:
        _OPTS.precision, _OPTS.threshold, _OPTS.edgeitems, _OPTS.linewidth = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(_OPTS, name, value)
    _OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options, as a dict (torch.get_printoptions)."""
    return {"precision": _OPTS.precision, "threshold": _OPTS.threshold,
            "edgeitems": _OPTS.edgeitems, "linewidth": _OPTS.linewidth, "sci_mode": _OPTS.sci_mode}


class _Formatter:
    """Chooses one format for all elements (integer-valued, fixed or scientific) and a width."""

    def __init__(self, values, kind):
        self.kind = kind
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if kind in ("bool", "int"):
            for v in values.ravel().tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        finite = values[np.isfinite(values)]
        nonzero = finite[finite != 0]
        if nonzero.size == 0:  # as torch: zeros and non-finite values do not set the width
            return
        magnitudes = np.abs(nonzero)
        amax, amin = float(magnitudes.max()), float(magnitudes.min())
        self.int_mode = bool(np.all(np.ceil(nonzero) == nonzero))
        self.sci_mode = amax / amin > 1000.0 or amax > 1e8 or (not self.int_mode and amin < 1e-4)
        if _OPTS.sci_mode is not None:  # set_printoptions(sci_mode=...) forces it
            self.sci_mode = _OPTS.sci_mode
        for v in nonzero.tolist():
            self.max_width = max(self.max_width, len(self._format_value(v)))

    @staticmethod
    def _fmt_fixed_int(v):
        return f"{v:.0f}."

    def _format_value(self, v):
        if self.kind == "bool":
            return str(bool(v))
        if self.kind == "int":
            return str(int(v))
        if not math.isfinite(v):
            return str(v)
        if self.sci_mode:
            return f"{v:.{_OPTS.precision}e}"
        if self.int_mode:
            return self._fmt_fixed_int(v)
        return f"{v:.{_OPTS.precision}f}"

    def format(self, v):
        return self._format_value(v).rjust(self.max_width)


def _kind(np_dtype):
    if np_dtype == np.bool_:
        return "bool"
    if np.issubdtype(np_dtype, np.integer):
        return "int"
    return "float"


def _summarized(values):
    """Only the edge items of each dimension, for deciding the format of a large tensor."""
    if values.ndim == 0:
        return values
    if values.shape[0] > 2 * _OPTS.edgeitems:
        values = np.concatenate([values[:_OPTS.edgeitems], _tail(values)])
    return np.stack([_summarized(v) for v in values]) if values.ndim > 1 and len(values) else values


def _tail(values):
    """The last edgeitems entries (none for edgeitems=0; for a negative one, torch's slice [-edgeitems:])."""
    return values[-_OPTS.edgeitems:] if _OPTS.edgeitems else values[:0]


def _vector_str(values, indent, formatter, summarize):
    element_length = formatter.max_width + 2
    per_line = max(1, int(math.floor((_OPTS.linewidth - indent) / element_length)))
    if summarize and values.shape[0] > 2 * _OPTS.edgeitems:
        edge = _OPTS.edgeitems
        items = [formatter.format(v) for v in values[:edge].tolist()] + [" ..." if edge else "..."] + [
            formatter.format(v) for v in _tail(values).tolist()
        ]
    else:
        items = [formatter.format(v) for v in values.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(values, indent, formatter, summarize):
    dim = values.ndim
    if dim == 0:
        return formatter.format(values.item())
    if dim == 1:
        return _vector_str(values, indent, formatter, summarize)
    if summarize and values.shape[0] > 2 * _OPTS.edgeitems:
        slices = (
            [_array_str(values[i], indent + 1, formatter, summarize) for i in range(_OPTS.edgeitems)]
            + ["..."]
            + [_array_str(values[i], indent + 1, formatter, summarize)
               for i in range(len(values) - _OPTS.edgeitems, len(values))]
        )
    else:
        slices = [_array_str(values[i], indent + 1, formatter, summarize) for i in range(len(values))]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def array_str(values, indent):
    """The bracketed body of a tensor repr for the host array ``values``."""
    kind = _kind(values.dtype)
    if kind == "float":
        values = values.astype(np.float64)
    if values.size == 0:
        return "[]"
    summarize = values.size > _OPTS.threshold
    formatter = _Formatter(_summarized(values) if summarize else values, kind)
    return _array_str(values, indent, formatter, summarize)


def _grad_fn_name(t):
    """The name repr shows for t's grad_fn: as torch, 'Invalid' for a view whose memory was written in
    place since, where autograd refuses to use it (made in no_grad mode, or by a custom Function)."""
    if t._base is not None:
        from .autograd.function import refresh_if_stale

        try:
            refresh_if_stale(t)
        except RuntimeError:
            return "Invalid"
    return None if t.grad_fn is None else t.grad_fn.name()


def tensor_repr(t, prefix="tensor("):
    from . import _dtype

    values = t._host_array()
    indent = len(prefix)
    body = array_str(values, indent)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if values.shape != (0,) and (values.size == 0 or _OPTS.edgeitems == 0):  # (torch's: edgeitems=0 shows sizes)
        suffixes.append(f"size={tuple(values.shape)}")
    if t.dtype != _dtype.get_default_dtype() and (values.size == 0 or t.dtype not in (_dtype.int64, _dtype.bool_)):
        suffixes.append(f"dtype={t.dtype}")  # (int64 and bool show in their values, unless there are none)
    node = _grad_fn_name(t)
    if node is not None:
        suffixes.append(f"grad_fn=<{node}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    if "_fw" in t.__dict__:  # a dual tensor of forward AD: its tangent, as torch prints it
        from .autograd.forward_ad import tangent_of

        tangent = tangent_of(t)
        if tangent is not None:
            suffixes.append(f"tangent={tangent.item()!r}" if tangent.dim() == 0 else f"tangent={tensor_repr(tangent)}")
    parts = [prefix + body]
    # as torch: a suffix that would pass the line width goes on a new line
    last_line_len = len(parts[0]) - parts[0].rfind("\n") + 1
    for s in suffixes:
        if last_line_len + len(s) + 2 > _OPTS.linewidth:
            parts.append(",\n" + " " * indent + s)
            last_line_len = indent + len(s)
        else:
            parts.append(", " + s)
            last_line_len += len(s) + 2
    return "".join(parts) + ")"
