"""One ONNX lowering per retrograd op, in a table keyed by the op itself.

``SYMBOLIC`` maps a Function class (``elementwise.Add``), or a composite function (below), to
``lower(g, op)``: it adds the ONNX nodes computing the op to the graph ``g`` (_graph.Graph) and
returns the ONNX name of the op's output (a list for ops with several). ``op.args`` holds the
op's arguments as the tracer saw them, each tensor replaced by its traced Value: ``g.name(v)`` /
``g.operand(v, dtype)`` give its ONNX name, ``op.arg(i)`` a non-tensor argument (checked to be
the same in the check run). ONNX has no type promotion, so operands are cast to the traced
result's dtype where they differ.

Composites (_composites.py): functions recorded as one op, keyed by the function itself
(``normalization.batch_norm``, ``comparison.gt``); their lowerings are here too.
"""

import math

import numpy as np

from ..ops import (activation, attention, comparison, conv, dropout, elementwise, embedding, indexing, join, linalg,
                   linear, math as _math, normalization, pooling, reduction, rnn, shape, softmax)
from ._trace import Value
from .errors import OnnxExporterError, UnsupportedOperatorError


def _dtype(op, i=0):
    return op.outputs[i].dtype


def _in(g, op, i, dtype):
    """Argument i (a traced tensor or a Python number, checked to be the same in the check run) as
    an ONNX value of ``dtype``."""
    a = op.args[i]
    return g.operand(a if isinstance(a, Value) else op.arg(i), dtype)


# ---------------------------------------------------------------------------- elementwise


def _unary(onnx_type):
    def lower(g, op):
        return g.node(onnx_type, [_in(g, op, 0, _dtype(op))])
    return lower


def _binary(onnx_type):
    def lower(g, op):
        dt = _dtype(op)
        return g.node(onnx_type, [_in(g, op, 0, dt), _in(g, op, 1, dt)])
    return lower


def _add_sub(onnx_type):
    """a + alpha * b (a - alpha * b)."""
    def lower(g, op):
        dt = _dtype(op)
        alpha = op.arg(2) if len(op.args) > 2 else 1
        b = _in(g, op, 1, dt)
        if alpha != 1:
            b = g.node("Mul", [b, g.scalar(alpha, dt)])
        return g.node(onnx_type, [_in(g, op, 0, dt), b])
    return lower


def _leaky_relu(g, op):
    return g.node("LeakyRelu", [_in(g, op, 0, _dtype(op))], alpha=float(op.arg(1)))


def _gelu(g, op):
    dt = _dtype(op)
    x = _in(g, op, 0, dt)
    approximate = op.arg(1)
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approximate)
    half_x = g.node("Mul", [x, g.scalar(0.5, dt)])
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dt)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dt)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2), dt)])])
    return g.node("Mul", [half_x, g.node("Add", [t, g.scalar(1, dt)])])


def _silu(g, op):
    x = _in(g, op, 0, _dtype(op))
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


def _hardtanh(g, op):
    dt = _dtype(op)
    return g.node("Clip", [_in(g, op, 0, dt), g.scalar(op.arg(1), dt), g.scalar(op.arg(2), dt)])


def _elu(g, op):
    """ELU, SELU and CELU: scale * x for x > 0, else scale * alpha * (exp(x * input_scale) - 1)."""
    dt = _dtype(op)
    x = _in(g, op, 0, dt)
    alpha, scale, input_scale = float(op.arg(1)), float(op.arg(2)), float(op.arg(3))
    if input_scale == 1.0:
        return g.node("Elu", [x], alpha=alpha) if scale == 1.0 else g.node("Selu", [x], alpha=alpha, gamma=scale)
    if scale == 1.0 and math.isclose(input_scale * alpha, 1.0, rel_tol=1e-12):
        return g.node("Celu", [x], alpha=alpha)
    negative = g.node("Mul", [g.node("Sub", [g.node("Exp", [g.node("Mul", [x, g.scalar(input_scale, dt)])]),
                                             g.scalar(1, dt)]), g.scalar(scale * alpha, dt)])
    return g.node("Where", [g.node("Greater", [x, g.scalar(0, dt)]), g.node("Mul", [x, g.scalar(scale, dt)]),
                            negative])


def _softplus(g, op):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold (as torch)."""
    dt = _dtype(op)
    x = _in(g, op, 0, dt)
    beta, threshold = float(op.arg(1)), float(op.arg(2))
    bx = g.node("Mul", [x, g.scalar(beta, dt)]) if beta != 1.0 else x
    y = g.node("Softplus", [bx])
    if beta != 1.0:
        y = g.node("Div", [y, g.scalar(beta, dt)])
    return g.node("Where", [g.node("Greater", [bx, g.scalar(threshold, dt)]), x, y])


def _mish(g, op):
    x = _in(g, op, 0, _dtype(op))
    if g.opset >= 18:
        return g.node("Mish", [x])
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


def _hardsigmoid(g, op):
    return g.node("HardSigmoid", [_in(g, op, 0, _dtype(op))], alpha=1 / 6, beta=0.5)


def _hardswish(g, op):
    x = _in(g, op, 0, _dtype(op))
    if g.opset >= 14:
        return g.node("HardSwish", [x])
    return g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)])


def _logsigmoid(g, op):
    x = _in(g, op, 0, _dtype(op))
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])])


def _rsqrt(g, op):
    return g.node("Reciprocal", [g.node("Sqrt", [_in(g, op, 0, _dtype(op))])])


def _clamp(g, op):
    """min(max(x, lo), hi) (hi wins where lo > hi, as torch's); lo or hi may be None or a tensor."""
    dt = _dtype(op)
    y = _in(g, op, 0, dt)
    if op.args[1] is not None:
        y = g.node("Max", [y, _in(g, op, 1, dt)])
    if op.args[2] is not None:
        y = g.node("Min", [y, _in(g, op, 2, dt)])
    return y


def _where(g, op):
    dt = _dtype(op)
    return g.node("Where", [_in(g, op, 0, np.dtype(np.bool_)), _in(g, op, 1, dt),
                            _in(g, op, 2, dt)])


def _masked_fill(g, op):
    dt = _dtype(op)
    return g.node("Where", [_in(g, op, 1, np.dtype(np.bool_)), _in(g, op, 2, dt),
                            _in(g, op, 0, dt)])


def _softmax(onnx_type):
    def lower(g, op):
        return g.node(onnx_type, [_in(g, op, 0, _dtype(op))], axis=int(op.arg(1)))
    return lower


def _clone(g, op):
    return g.node("Identity", [g.name(op.args[0])])


def _to(g, op):
    x = op.args[0]
    if x.dtype == _dtype(op):
        return g.node("Identity", [g.name(x)])
    return g.node("Cast", [g.name(x)], to=g.elem_type(_dtype(op)))


# ---------------------------------------------------------------------------- products and reductions


def _matmul(g, op):
    dt = _dtype(op)
    return g.node("MatMul", [_in(g, op, 0, dt), _in(g, op, 1, dt)])


def _addmm(g, op):
    """b + x @ m as Gemm; linear's x @ w.t() reads w with transB=1, as torch's exporter writes it."""
    b, x, m = op.args
    dt = _dtype(op)
    m_name = g.operand(m, dt)
    source = g.untransposed(m_name)
    inputs = [g.operand(x, dt), source or m_name] + ([g.operand(b, dt)] if b is not None else [])
    return g.node("Gemm", inputs, alpha=1.0, beta=1.0, transB=1 if source else None)


def _reduction(onnx_type):
    def lower(g, op):
        x, dims, keepdim = op.args[0], op.arg(1), op.arg(2)
        name = g.operand(x, _dtype(op))  # the result's dtype: sum of ints is int64, dtype= casts first
        if len(x.shape) == 0:
            return g.node("Identity", [name])
        axes = range(len(x.shape)) if dims is None else dims
        return g.reduce(onnx_type, name, axes, keepdim)
    return lower


# ---------------------------------------------------------------------------- shapes


def _reshape(g, op):
    """Reshape to the traced output shape. With dynamic axes, a size that differs in the check run
    is 0 (copy the input's size) where it stays at its place, else the size of the dynamic input
    axis it equals (read with Shape at run time), else -1 (inferred: one at most)."""
    x, out = op.args[0], op.outputs[0]
    if out.twin is None or out.twin.shape == out.shape:
        if 0 in out.shape and g.opset < 14:
            raise OnnxExporterError(f"{op.name} in {op.where()}: a reshape to a zero size {list(out.shape)} needs "
                                    "Reshape's allowzero (opset 14 or later)")
        allowzero = 1 if 0 in out.shape else None  # a real zero size, not "copy the input's"
        return g.node("Reshape", [g.name(x), g.ints(out.shape)], allowzero=allowzero)
    if 0 in out.shape:
        raise OnnxExporterError(f"{op.name} in {op.where()}: a reshape to a zero size {list(out.shape)} "
                                "cannot be exported with dynamic axes")
    dims, inferred = [], 0  # each an int, or the name of a run-time size
    for i, (a, b) in enumerate(zip(out.shape, out.twin.shape)):
        if a == b:
            dims.append(int(a))
        elif i < len(x.shape) and x.shape[i] == a and x.twin.shape[i] == b:
            dims.append(0)
        elif g.symbolic_size(a, b):
            dims.append(g.size_of(a, b))
        else:
            dims.append(-1)
            inferred += 1
    if inferred > 1:
        raise OnnxExporterError(
            f"{op.name} in {op.where()}: the reshape from {list(x.shape)} to {list(out.shape)} has {inferred} "
            "sizes that follow dynamic axes but none of them alone; ONNX's Reshape can infer one. Export with "
            "fewer dynamic axes.")
    if all(isinstance(d, int) for d in dims):
        return g.node("Reshape", [g.name(x), g.ints(dims)])
    pieces, run = [], []
    for d in dims + [None]:
        if isinstance(d, int):
            run.append(d)
            continue
        if run:
            pieces.append(g.ints(run))
            run = []
        if d is not None:
            pieces.append(d)
    return g.node("Reshape", [g.name(x), g.node("Concat", pieces, axis=0)])


def _flatten_axis(x, out):
    """The axis k for which out is x flattened to (prod(x.shape[:k]), prod(x.shape[k:])), in both
    traces where there are two; else None."""
    for k in range(len(x.shape) + 1):
        if all(len(o.shape) == 2 and o.shape == (math.prod(i.shape[:k]), math.prod(i.shape[k:]))
               for i, o in ((x, out), (x.twin, out.twin)) if o is not None):
            return k
    return None


def _view(g, op):
    """A reshape to 2-d that flattens each side of one axis is ONNX's Flatten (as torch writes
    flatten(x, 1) and x.view(n, -1)); other reshapes are Reshape."""
    k = _flatten_axis(op.args[0], op.outputs[0])
    if k is not None:
        return g.node("Flatten", [g.name(op.args[0])], axis=k)
    return _reshape(g, op)


def _permute(g, op):
    return g.node("Transpose", [g.name(op.args[0])], perm=[int(d) for d in op.arg(1)])


def _expand(g, op):
    out = op.outputs[0]
    if out.twin is not None and out.twin.shape != out.shape:
        raise OnnxExporterError(f"{op.name} in {op.where()}: expand to {list(out.shape)}, a shape that depends "
                                "on a dynamic axis, cannot be exported with dynamic_axes for it")
    return g.node("Expand", [g.name(op.args[0]), g.ints(out.shape)])


def _index(g, op):
    """Basic indexing x[key] (ints, slices, None, Ellipsis): Slice, then Gather of a scalar for each int
    (which drops its dim), then Unsqueeze for each None. Negative ints and bounds stay negative, so
    x[:, -1] follows a dynamic axis. Advanced (tensor) indexing has no lowering here."""
    x = op.args[0]
    key, advanced = op.arg(1), op.arg(2)
    if advanced or any(not (k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))) or
                       isinstance(k, bool) for k in key):
        raise UnsupportedOperatorError(
            f"torch.onnx.export: advanced indexing (by a tensor, list or bool) in {op.where()} has no ONNX "
            "lowering here; basic indexing (ints, slices, None, ...) has")
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    dims, axis = [], 0  # (input axis, key entry) for each entry that reads an input axis
    nones = []  # output positions of None entries
    out_axis = 0
    for k in key:
        if k is Ellipsis:
            skip = len(x.shape) - used
            axis += skip
            out_axis += skip
        elif k is None:
            nones.append(out_axis)
            out_axis += 1
        else:
            dims.append((axis, k))
            axis += 1
            out_axis += 0 if isinstance(k, (int, np.integer)) else 1
    y = g.name(x)
    slices = [(a, k) for a, k in dims if isinstance(k, slice) and k != slice(None)]
    if slices:
        big = np.iinfo(np.int64).max
        starts = [0 if k.start is None else int(k.start) for _, k in slices]
        ends = [big if k.stop is None else int(k.stop) for _, k in slices]
        steps = [1 if k.step is None else int(k.step) for _, k in slices]
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints([a for a, _ in slices]), g.ints(steps)])
    for a, k in reversed([(a, k) for a, k in dims if isinstance(k, (int, np.integer))]):  # last first: axes stay put
        y = g.node("Gather", [y, g.constant(np.asarray(int(k), dtype=np.int64))], axis=a)
    if nones:
        y = g.node("Unsqueeze", [y, g.ints(nones)])
    if y == g.name(x):
        y = g.node("Identity", [y])
    return y


def _split(g, op):
    dim, bounds = int(op.arg(1)), op.arg(2)
    return g.node("Split", [g.name(op.args[0]), g.ints([e - b for b, e in bounds])], outputs=len(bounds),
                  axis=dim) if len(bounds) > 1 else [g.node("Identity", [g.name(op.args[0])])]


def _stack(g, op):
    dt = _dtype(op)
    dim = int(op.arg(0))
    axes = g.ints([dim])
    return g.node("Concat", [g.node("Unsqueeze", [g.operand(t, dt), axes]) for t in op.args[1:]], axis=dim)


def _cat(g, op):
    dt = _dtype(op)
    return g.node("Concat", [g.operand(t, dt) for t in op.args[1:]], axis=int(op.arg(0)))


# ---------------------------------------------------------------------------- layers


def _conv(g, op):
    x, w, b, p = op.args
    p = op.arg(3)
    dt = _dtype(op)
    inputs = [g.operand(x, dt), g.operand(w, dt)] + ([g.operand(b, dt)] if b is not None else [])
    return g.node("Conv", inputs, kernel_shape=list(w.shape[2:]), strides=list(p.stride),
                  pads=[lo for lo, _ in p.pads] + [hi for _, hi in p.pads], dilations=list(p.dilation),
                  group=int(p.groups))


def _conv_transpose(g, op):
    """conv_transpose as ConvTranspose; the output size given as output_padding (the rows past
    what stride, padding and kernel make), which stays the same when spatial sizes are dynamic."""
    x, w, b = op.args[:3]
    p = op.arg(4)
    k = w.shape[2:]

    def extra(xv, size):
        return [int(n) - ((i - 1) * s + d * (kk - 1) + 1 - lo - hi)
                for n, i, s, (lo, hi), d, kk in zip(size, xv.shape[2:], p.stride, p.pads, p.dilation, k)]

    output_padding = extra(x, op.args[3])
    if op.twin is not None and extra(x.twin, op.twin.args[3]) != output_padding:
        raise OnnxExporterError(f"{op.name} in {op.where()}: an output_size that does not follow the input's "
                                "dynamic size cannot be exported with dynamic_axes")
    dt = _dtype(op)
    inputs = [_in(g, op, 0, dt), _in(g, op, 1, dt)] + ([_in(g, op, 2, dt)] if b is not None else [])
    return g.node("ConvTranspose", inputs, kernel_shape=list(k), strides=list(p.stride),
                  pads=[lo for lo, _ in p.pads] + [hi for _, hi in p.pads], dilations=list(p.dilation),
                  group=int(p.groups), output_padding=output_padding if any(output_padding) else None)


def _layer_norm(g, op):
    x, w, b = op.args[:3]
    wshape, eps = op.arg(5), float(op.arg(8))
    dt = _dtype(op)
    xn = g.operand(x, dt)
    scale = g.operand(w, dt) if w is not None else g.constant(np.ones(wshape, dtype=dt))
    if g.opset >= 17:
        return g.node("LayerNormalization", [xn, scale] + ([g.operand(b, dt)] if b is not None else []),
                      axis=-len(wshape), epsilon=eps)
    axes = range(len(x.shape) - len(wshape), len(x.shape))
    centered = g.node("Sub", [xn, g.reduce("ReduceMean", xn, axes, True)])
    var = g.reduce("ReduceMean", g.node("Mul", [centered, centered]), axes, True)
    y = g.node("Div", [centered, g.node("Sqrt", [g.node("Add", [var, g.scalar(eps, dt)])])])
    y = g.node("Mul", [y, scale])
    return g.node("Add", [y, g.operand(b, dt)]) if b is not None else y


def _batch_norm(g, op):
    """F.batch_norm in eval mode: BatchNormalization with the running statistics."""
    x, mean, var, w, b = op.args[:5]
    momentum, eps = op.arg(6), float(op.arg(7))
    dt = _dtype(op)
    c = x.shape[1]
    scale = g.name(w) if w is not None else g.constant(np.ones(c, dtype=dt))
    shift = g.name(b) if b is not None else g.constant(np.zeros(c, dtype=dt))
    return g.node("BatchNormalization", [g.name(x), scale, shift, g.name(mean), g.name(var)], epsilon=eps,
                  momentum=None if momentum is None else 1.0 - float(momentum))


def _embedding(g, op):
    """F.embedding: Gather of the weight's rows (max_norm, which renormalizes in place, is declined)."""
    idx, w = op.args[:2]
    return g.node("Gather", [g.name(w), g.operand(idx, np.dtype(np.int64))], axis=0)


def _lookup(g, op):
    w, idx = op.args[:2]
    return g.node("Gather", [g.name(w), g.operand(idx, np.dtype(np.int64))], axis=0)


def _dropout(g, op):
    """F.dropout in training mode (TrainingMode.TRAINING or PRESERVE): ONNX's Dropout, which draws its own mask."""
    x, p = op.args[0], float(op.arg(1))
    dt = _dtype(op)
    return g.node("Dropout", [g.name(x), g.scalar(p, dt), g.scalar(True, np.bool_)], outputs=2)[0]


def _feature_dropout(g, op):
    raise UnsupportedOperatorError(
        f"torch.onnx.export: {op.name} in training mode, called in {op.where()}, has no ONNX lowering (ONNX's "
        "Dropout is plain dropout of single elements); export in eval mode (training=TrainingMode.EVAL, the default)")


def _attention(g, op):
    """softmax(Q K^T * scale + mask) V; the weights are the second output."""
    q, k, v, mask, keep = op.args[:5]
    scale, groups = float(op.arg(5)), int(op.arg(7))
    if keep is not None or groups != 1:
        raise UnsupportedOperatorError(
            f"torch.onnx.export: scaled_dot_product_attention with {'dropout' if keep is not None else 'grouped'} "
            f"heads in {op.where()} has no ONNX lowering here (export in eval mode; enable_gqa=False)")
    dt = _dtype(op)
    nd = len(k.shape)
    kt = g.node("Transpose", [g.operand(k, dt)], perm=list(range(nd - 2)) + [nd - 1, nd - 2])
    scores = g.node("Mul", [g.node("MatMul", [g.operand(q, dt), kt]), g.scalar(scale, dt)])
    if mask is not None:
        if mask.dtype == np.bool_:
            scores = g.node("Where", [g.name(mask), scores, g.scalar(-np.inf, dt)])
        else:
            scores = g.node("Add", [scores, g.operand(mask, dt)])
    weights = g.node("Softmax", [scores], axis=-1)
    return [g.node("MatMul", [weights, g.operand(v, dt)]), weights]


# ONNX's gate order, as indices into torch's: LSTM torch (i, f, g, o) -> ONNX (i, o, f, c); GRU torch
# (r, z, n) -> ONNX (z, r, h)
_GATES = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _rnn_layer(g, op):
    """One direction of one recurrent layer as ONNX's RNN/GRU/LSTM with one direction: the weights'
    gate blocks reordered (Split, Concat), the biases concatenated, GRU with linear_before_reset (as
    torch's). An all-zero initial state (what the modules make when none is given) is left out."""
    x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr = op.args[:8]
    mode, batch_sizes, reverse = op.arg(8), op.arg(9), op.arg(10)
    if batch_sizes is not None or w_hr is not None:
        raise UnsupportedOperatorError(
            f"torch.onnx.export: a {mode} layer in {op.where()} with "
            f"{'a packed sequence' if batch_sizes is not None else 'proj_size'} has no ONNX lowering here")
    dt = _dtype(op)
    order = _GATES[mode]
    hidden = w_hh.shape[1]
    axis0 = g.ints([0])

    def gates(w):  # (gates*H, ...) in ONNX's order, with a leading direction axis
        name = g.operand(w, dt)
        if len(order) > 1:
            parts = g.node("Split", [name, g.ints([hidden] * len(order))], outputs=len(order), axis=0)
            name = g.node("Concat", [parts[i] for i in order], axis=0)
        return g.node("Unsqueeze", [name, axis0])

    def state(v):  # (1, B, H), or "" where it is zeros
        if v is None or (v.kind == "const" and not v.array.any() and (v.twin is None or not v.twin.array.any())):
            return ""
        return g.node("Unsqueeze", [g.operand(v, dt), axis0])

    inputs = [g.operand(x, dt), gates(w_ih), gates(w_hh)]
    if b_ih is not None or b_hh is not None:
        biases = [gates(b) if b is not None else g.constant(np.zeros((1, len(order) * hidden), dt))
                  for b in (b_ih, b_hh)]
        inputs.append(g.node("Concat", biases, axis=1))
    else:
        inputs.append("")
    inputs += ["", state(h0)] + ([state(c0)] if mode == "LSTM" else [])
    while inputs[-1] == "":
        inputs.pop()
    onnx_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    attrs = {"hidden_size": int(hidden), "direction": "reverse" if reverse else "forward"}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    if mode in ("RNN_TANH", "RNN_RELU"):
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"]
    outs = g.node(onnx_type, inputs, outputs=3 if mode == "LSTM" else 2, **attrs)
    y = g.node("Squeeze", [outs[0], g.ints([1])])  # (T, 1, B, H): one direction
    return [y] + [g.node("Squeeze", [o, axis0]) for o in outs[1:]]


# ---------------------------------------------------------------------------- pooling


def _ntuple(v, n):
    return [int(v)] * n if isinstance(v, (int, np.integer)) else [int(i) for i in v] * (n if len(v) == 1 else 1)


def _max_pool(nd):
    def lower(g, op):
        x, kernel, stride, padding, dilation, ceil_mode = op.args[0], *(op.arg(i) for i in range(1, 6))
        k = _ntuple(kernel, nd)
        s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _ntuple(stride, nd)
        p, d = _ntuple(padding, nd), _ntuple(dilation, nd)
        # ceil_mode only where it adds a window (onnx's reference evaluator grows the output even
        # for stride 1, where torch's ceil_mode changes nothing)
        ceil = bool(ceil_mode) and any(
            pooling._out_size(n, *w, True) != pooling._out_size(n, *w, False)
            for v in (x, x.twin) if v is not None for n, *w in zip(v.shape[2:], k, s, p, d))
        return g.node("MaxPool", [g.name(x)], kernel_shape=k, strides=s, pads=p + p, dilations=d,
                      ceil_mode=int(ceil))
    return lower


def _avg_pool(nd):
    def lower(g, op):
        x, kernel, stride, padding, _, count_include_pad = op.args[0], *(op.arg(i) for i in range(1, 6))
        k = _ntuple(kernel, nd)
        s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _ntuple(stride, nd)
        p = _ntuple(padding, nd)
        return g.node("AveragePool", [g.name(x)], kernel_shape=k, strides=s, pads=p + p,
                      count_include_pad=int(bool(count_include_pad)))
    return lower


def _max_pool_function(g, op):
    raise UnsupportedOperatorError(
        f"torch.onnx.export: max pooling with padding, a stride other than its kernel, dilation or returned "
        f"indices, called in {op.where()}, reached the exporter without its window sizes. Call it as "
        "F.max_pool1d/2d/3d or nn.MaxPool1d/2d/3d without return_indices (the exporter records those calls); "
        "a reference to the function bound before the export is not seen.")


def _global_avg_pool(g, op):
    return g.node("GlobalAveragePool", [g.name(op.args[0])])


def _max_pool_blocks(g, op):
    k = [int(v) for v in op.arg(1)]
    return g.node("MaxPool", [g.name(op.args[0])], kernel_shape=k, strides=k)


def _block_pool(g, op):
    k, scale = [int(v) for v in op.arg(1)], float(op.arg(2))
    y = g.node("AveragePool", [g.name(op.args[0])], kernel_shape=k, strides=k)
    if not math.isclose(scale * math.prod(k), 1.0, rel_tol=1e-12):  # divisor_override
        y = g.node("Mul", [y, g.scalar(scale * math.prod(k), _dtype(op))])
    return y


def _separable_pool(g, op):
    """Average pooling by one (out, in) matrix per spatial dim: Y = A_1 X A_2^T for 2-d (MatMul
    broadcasts A_1 over batch and channels), X A^T for 1-d; all-ones/n rows are GlobalAveragePool."""
    x, mats = op.args[0], op.arg(1)
    dt = _dtype(op)
    if all(m.shape[0] == 1 and np.allclose(m, 1.0 / m.shape[1], rtol=1e-12, atol=0) for m in mats):
        return g.node("GlobalAveragePool", [g.name(x)])
    if len(mats) == 1:
        return g.node("MatMul", [g.name(x), g.constant(np.asarray(mats[0]).T.astype(dt))])
    if len(mats) == 2:
        rows = g.node("MatMul", [g.name(x), g.constant(np.asarray(mats[1]).T.astype(dt))])
        return g.node("MatMul", [g.constant(np.asarray(mats[0]).astype(dt)), rows])
    raise UnsupportedOperatorError(f"{op.name} in {op.where()}: 3-d adaptive or padded average pooling has no "
                                   "ONNX lowering here; call F.avg_pool3d with ceil_mode=False")


# ---------------------------------------------------------------------------- comparisons and masks


def _compare(onnx_type, negate=False):
    """eq/ne/lt/le/gt/ge: both operands in their common type (a float scalar makes ints float32, as torch)."""
    def lower(g, op):
        a, b = op.args[:2]
        dt = np.result_type(*[v.dtype for v in (a, b) if isinstance(v, Value)])
        if dt.kind in "biu" and any(isinstance(v, float) for v in (a, b)):
            dt = np.dtype(np.float32)
        elif dt.kind == "b" and any(type(v) is int for v in (a, b)):
            dt = np.dtype(np.int64)
        y = g.node(onnx_type, [_in(g, op, 0, dt), _in(g, op, 1, dt)])
        return g.node("Not", [y]) if negate else y
    return lower


def _logic(onnx_type):
    def lower(g, op):
        bools = np.dtype(np.bool_)
        return g.node(onnx_type, [_in(g, op, i, bools) for i in range(len(op.args))])
    return lower


def _logical_not(g, op):
    return g.node("Not", [_in(g, op, 0, np.dtype(np.bool_))])  # a non-bool is cast: nonzero is True


def _additive_mask(g, op):
    dt = _dtype(op)
    return g.node("Where", [g.name(op.args[0]), g.scalar(-np.inf, dt), g.scalar(0, dt)])


# ---------------------------------------------------------------------------- the table

SYMBOLIC = {
    elementwise.Add: _add_sub("Add"), elementwise.Sub: _add_sub("Sub"), elementwise.Mul: _binary("Mul"),
    elementwise.Div: _binary("Div"), elementwise.Pow: _binary("Pow"), elementwise.Neg: _unary("Neg"),
    elementwise.Exp: _unary("Exp"), elementwise.Log: _unary("Log"), elementwise.Sqrt: _unary("Sqrt"),
    elementwise.Abs: _unary("Abs"), elementwise.Relu: _unary("Relu"), elementwise.Sigmoid: _unary("Sigmoid"),
    elementwise.Tanh: _unary("Tanh"), elementwise.Clone: _clone, elementwise.To: _to,
    activation.LeakyRelu: _leaky_relu, activation.Gelu: _gelu, activation.Silu: _silu,
    activation.Hardtanh: _hardtanh, activation.Elu: _elu, activation.Softplus: _softplus, activation.Mish: _mish,
    activation.Softsign: _unary("Softsign"), activation.Hardsigmoid: _hardsigmoid,
    activation.Hardswish: _hardswish, activation.Logsigmoid: _logsigmoid,
    _math.Reciprocal: _unary("Reciprocal"), _math.Rsqrt: _rsqrt, _math.Sin: _unary("Sin"), _math.Cos: _unary("Cos"),
    _math.Tan: _unary("Tan"), _math.Asin: _unary("Asin"), _math.Acos: _unary("Acos"), _math.Atan: _unary("Atan"),
    _math.Sinh: _unary("Sinh"), _math.Cosh: _unary("Cosh"), _math.Asinh: _unary("Asinh"),
    _math.Acosh: _unary("Acosh"), _math.Atanh: _unary("Atanh"), _math.Erf: _unary("Erf"),
    _math.Maximum: _binary("Max"), _math.Minimum: _binary("Min"), _math.Clamp: _clamp,
    comparison.Where: _where, comparison.Sign: _unary("Sign"), indexing.MaskedFill: _masked_fill,
    indexing.Index: _index, indexing.Slice: _index, indexing.Select: _index, join.Split: _split, join.Stack: _stack,
    attention.ScaledDotProductAttention: _attention, rnn.RNNTanhLayer: _rnn_layer, rnn.RNNReluLayer: _rnn_layer,
    rnn.LSTMLayer: _rnn_layer, rnn.GRULayer: _rnn_layer,
    softmax.Softmax: _softmax("Softmax"), softmax.LogSoftmax: _softmax("LogSoftmax"),
    linalg.Matmul: _matmul, linalg.Bmm: _matmul, linear.Addmm: _addmm,
    reduction.Sum: _reduction("ReduceSum"), reduction.SumDim: _reduction("ReduceSum"),
    reduction.Mean: _reduction("ReduceMean"), reduction.MeanDim: _reduction("ReduceMean"),
    reduction.MaxAll: _reduction("ReduceMax"), reduction.MinAll: _reduction("ReduceMin"),
    reduction.Amax: _reduction("ReduceMax"), reduction.Amin: _reduction("ReduceMin"),
    shape.Reshape: _view, shape.UnsafeView: _view, shape.Unsqueeze: _reshape, shape.Squeeze: _reshape,
    shape.SqueezeDim: _reshape, shape.Permute: _permute, shape.Transpose: _permute, shape.TMatrix: _permute,
    shape.Expand: _expand, join.Cat: _cat,
    conv.Conv: _conv, conv.ConvTranspose: _conv_transpose, normalization.LayerNorm: _layer_norm, embedding.Lookup: _lookup,
    pooling.MaxPoolBlocks: _max_pool_blocks, pooling.MaxPool: _max_pool_function, pooling.BlockPool: _block_pool,
    pooling.SeparablePool: _separable_pool,
    # composites (_composites.COMPOSITES)
    normalization.batch_norm: _batch_norm, embedding.embedding: _embedding, dropout.dropout: _dropout,
    dropout.dropout1d: _feature_dropout, dropout.dropout2d: _feature_dropout, dropout.dropout3d: _feature_dropout,
    dropout.alpha_dropout: _feature_dropout, dropout.feature_alpha_dropout: _feature_dropout,
    pooling.max_pool1d: _max_pool(1), pooling.max_pool2d: _max_pool(2), pooling.max_pool3d: _max_pool(3),
    pooling.avg_pool1d: _avg_pool(1), pooling.avg_pool2d: _avg_pool(2), pooling.avg_pool3d: _avg_pool(3),
    pooling.adaptive_avg_pool1d: _global_avg_pool, pooling.adaptive_avg_pool2d: _global_avg_pool,
    pooling.adaptive_avg_pool3d: _global_avg_pool,
    # comparisons and masks (_composites.OPERATORS)
    comparison.eq: _compare("Equal"), comparison.ne: _compare("Equal", negate=True),
    comparison.lt: _compare("Less"), comparison.le: _compare("LessOrEqual"), comparison.gt: _compare("Greater"),
    comparison.ge: _compare("GreaterOrEqual"), comparison.bitwise_and: _logic("And"),
    comparison.bitwise_or: _logic("Or"), comparison.bitwise_xor: _logic("Xor"), comparison.bitwise_not: _logic("Not"),
    comparison.logical_not: _logical_not, attention._float_mask: _additive_mask,
}


_REFUSALS = (_max_pool_function, _feature_dropout)  # entries that only explain why not


def supported():
    """The names of the ops with a lowering, for messages."""
    return sorted({getattr(fn, "__name__", repr(fn)) for fn, lower in SYMBOLIC.items() if lower not in _REFUSALS})


def lower(g, op):
    fn = SYMBOLIC.get(op.fn)
    if fn is None:
        module = getattr(op.fn, "__module__", "?")
        raise UnsupportedOperatorError(
            f"torch.onnx.export: the retrograd op {op.name} ({module}.{op.name}, node "
            f"{getattr(op.fn, '_backward_name', op.name)}), called in {op.where()}, has no ONNX lowering. "
            f"Supported ops: {', '.join(supported())}.")
    out = fn(g, op)
    return out if isinstance(out, list) else [out]
