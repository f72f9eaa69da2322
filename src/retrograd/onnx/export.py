"""``torch.onnx.export``: trace the model on example inputs and write the ONNX graph.

This is torch's TorchScript-based exporter (``dynamo=False``): the model runs in eval mode
without autograd while every retrograd op it calls is recorded (_trace.py); each op is lowered
to ONNX nodes (_symbolic.py); parameters and buffers become initializers named as
``named_parameters``/``named_buffers`` name them. Python control flow is fixed at the example's
path, as in torch's tracer.

The check run: the model runs a second time on other inputs (the example's values shuffled,
each dynamic axis grown), with the same random numbers and with its buffers restored after.
It must call the same ops (else its control flow depends on its inputs), and a tensor the
graph would hold as a constant must not change (else it was computed from the inputs without
an op the exporter records: ``.item()``, a NumPy round trip). With ``dynamic_axes``, reshapes
whose sizes follow a dynamic axis become symbolic (0, -1, or the input's size read with Shape),
graph inputs and outputs get ``dim_param`` dims, and an op whose constant arguments change with
the axis is refused with an error naming it.

Differences from torch 2.13: torch's default ``dynamo=True`` captures with ``torch.export``
and returns an ``ONNXProgram`` (it needs onnxscript); retrograd has no torch.export, so its
default is the tracer (``dynamo=False``), it returns None, and ``dynamo=True`` raises
NotImplementedError. Eval-mode conv + batch norm are not fused into one Conv (torch's
exporter folds them); the graph's numbers are the same. Default input names are the
forward's parameter names (torch's are generated, ``onnx::Gemm_0``), outputs ``output``,
``output_1``, ... (torch's: numbers). torch's tracer warns where retrograd's check run refuses.
"""

import enum
import inspect
import os

import numpy as np

from .. import random
from ..tensor import Tensor
from . import _composites, _symbolic
from ._graph import Graph
from ._trace import Tracer, host_copy, pair
from .errors import OnnxExporterError

DEFAULT_OPSET = 20  # torch 2.13's exporter (dynamo=False) writes opset 20 unless told
MIN_OPSET = 13  # Softmax over one axis, ReduceSum's axes input, Squeeze/Unsqueeze as today


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in: EVAL (model.eval() for the export), PRESERVE (as it is)
    or TRAINING (model.train() for the export)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """How ops are written: ONNX (standard ONNX ops) is the one retrograd writes."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def _require_onnx():
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
        import onnx.printer  # noqa: F401
    except ImportError as e:
        raise ModuleNotFoundError(
            "torch.onnx.export needs the onnx package, which is not installed: pip install onnx "
            "(or pip install 'retrograd[onnx]')", name="onnx") from e
    return onnx


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None, output_names=None,
           opset_version=None, dynamo=False, external_data=True, dynamic_shapes=None,
           custom_translation_table=None, report=False, optimize=True, verify=False, profile=False,
           dump_exported_program=False, artifacts_dir=".", export_params=True, keep_initializers_as_inputs=False,
           dynamic_axes=None, training=TrainingMode.EVAL, operator_export_type=OperatorExportTypes.ONNX,
           do_constant_folding=True, custom_opsets=None, export_modules_as_functions=False,
           autograd_inlining=True):
    """Export ``model`` (an nn.Module) run on ``args`` as an ONNX model written to ``f`` (a path or a
    binary file object); returns None. See the module docstring for how, and what differs from torch."""
    _refuse_unsupported(dynamo=(dynamo, False), external_data=(external_data, True),
                        dynamic_shapes=(dynamic_shapes, None),
                        custom_translation_table=(custom_translation_table, None),
                        report=(report, False), optimize=(optimize, True), verify=(verify, False),
                        profile=(profile, False), dump_exported_program=(dump_exported_program, False),
                        artifacts_dir=(artifacts_dir, "."), operator_export_type=(operator_export_type, 0),
                        custom_opsets=(custom_opsets or None, None),
                        export_modules_as_functions=(export_modules_as_functions, False))
    onnx = _require_onnx()
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"torch.onnx.export: model must be an nn.Module, got {type(model).__name__}")
    if f is None:
        raise ValueError("torch.onnx.export: f (a file path or a binary file object to write the model to) is "
                         "required with dynamo=False")
    highest = onnx.defs.onnx_opset_version()
    opset = min(DEFAULT_OPSET, highest) if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= highest:
        raise ValueError(f"torch.onnx.export: opset_version={opset_version} is not supported; retrograd writes "
                         f"opsets {MIN_OPSET} to {highest} (the installed onnx's newest)")
    call_args, call_kwargs = _split_args(args, kwargs)
    names = _input_names(model, call_args, call_kwargs, input_names)
    taken = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
    if taken & set(names):
        raise ValueError(f"torch.onnx.export: input names {sorted(taken & set(names))} are also names of the "
                         "model's parameters or buffers; choose other input_names")

    modes = [(m, m.training) for m in model.modules()]
    if training == TrainingMode.EVAL:
        model.train(False)
    elif training == TrainingMode.TRAINING:
        model.train(True)
    elif training != TrainingMode.PRESERVE:
        raise ValueError(f"torch.onnx.export: training must be a TrainingMode, got {training!r}")
    try:
        composites = _composites.wrappers()
        tracer = Tracer(model, fold=bool(do_constant_folding), composites=composites, inline=bool(autograd_inlining))
        rng = random.get_rng_state()
        outputs = _trace(tracer, model, call_args, call_kwargs, names)
        out_names = _output_names(outputs, output_names)
        axes = _dynamic_axes(dynamic_axes, names, out_names)
        # the check run (see the module docstring); random numbers and buffers are left as after one run
        after = random.get_rng_state()
        buffers = [(b, b._data.copy()) for b in model.buffers()]
        random.set_rng_state(rng)
        check = Tracer(model, fold=bool(do_constant_folding), composites=composites, inline=bool(autograd_inlining))
        try:
            check_args, check_kwargs = _variant(call_args, call_kwargs, names, axes)
            check_outputs = _trace(check, model, check_args, check_kwargs, names)
        finally:
            random.set_rng_state(after)
            for b, data in buffers:
                b._data[...] = data
        pair(tracer, check)
        for u, w in zip(outputs, check_outputs):
            u.twin = w
    finally:
        for m, mode in modes:
            m.training = mode

    proto = _build(onnx, tracer, outputs, out_names, axes, opset, bool(export_params),
                   bool(keep_initializers_as_inputs))
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)
    return None


def _refuse_unsupported(**given):
    for name, (value, default) in given.items():
        if value is not default and value != default:
            hint = " (retrograd exports by tracing, torch's dynamo=False; leave dynamo out or pass False)" \
                if name == "dynamo" else ""
            raise NotImplementedError(f"torch.onnx.export: {name}={value!r} is not supported by retrograd's "
                                      f"exporter{hint}")


def _split_args(args, kwargs):
    """torch's conventions: a lone tensor is (tensor,); a trailing dict holds keyword arguments."""
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    call_kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        call_kwargs = {**args[-1], **call_kwargs}
        args = args[:-1]
    return args, call_kwargs


def _input_names(model, args, kwargs, given):
    """One name per tensor input: ``input_names`` first, then the forward's parameter names."""
    try:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            names.append(params[i] if i < len(params) else f"input_{i}")
    names += [k for k, v in kwargs.items() if isinstance(v, Tensor)]
    given = list(given or [])
    if len(given) > len(names):
        raise ValueError(f"torch.onnx.export: {len(given)} input_names for {len(names)} tensor inputs")
    names[:len(given)] = given
    if len(set(names)) != len(names):
        raise ValueError(f"torch.onnx.export: input names must be unique, got {names}")
    return names


def _trace(tracer, model, args, kwargs, names):
    it = iter(names)
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor):
            tracer.add_input(a, next(it))
    out = tracer.run(model, args, kwargs)
    return [tracer.resolve(t) for t in _flatten(out)]


def _flatten(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flatten(o)]
    raise OnnxExporterError(f"torch.onnx.export: the model returned a {type(out).__name__}; ONNX graph outputs "
                            "are tensors (or tuples, lists and dicts of them)")


def _output_names(outputs, given):
    names = ["output"] + [f"output_{i}" for i in range(1, len(outputs))]
    given = list(given or [])
    if len(given) > len(outputs):
        raise ValueError(f"torch.onnx.export: {len(given)} output_names for {len(outputs)} outputs")
    names[:len(given)] = given
    return names


def _dynamic_axes(dynamic_axes, input_names, output_names):
    """{name: {axis: symbolic name}}; a list of axes gets torch's names '<name>_dynamic_axes_<k>'."""
    axes = {}
    for key, spec in (dynamic_axes or {}).items():
        if key not in input_names and key not in output_names:
            raise ValueError(f"torch.onnx.export: dynamic_axes names {key!r}, which is neither an input "
                             f"({input_names}) nor an output ({output_names})")
        if isinstance(spec, dict):
            axes[key] = {int(a): str(n) for a, n in spec.items()}
        else:
            axes[key] = {int(a): f"{key}_dynamic_axes_{k + 1}" for k, a in enumerate(spec)}
    return axes


def _growth(axes):
    """How much each symbolic name's axes grow in the second run: 1, 2, 3, ... by name, so that two
    names never give the same (example size, grown size) pair and each size found later is traced
    back to its name."""
    growth = {}
    for spec in axes.values():
        for symbol in spec.values():
            growth.setdefault(symbol, len(growth) + 1)
    return growth


def _variant(args, kwargs, names, axes):
    """The inputs of the check run: each dynamic axis grown (its first slices repeated at the end, by
    ``_growth``), then the values shuffled (a tensor whose values are all equal: float ones + 1)."""
    from ..autograd.grad_mode import no_grad
    from ..creation import tensor as _tensor
    from ..ops.join import cat

    growth = _growth(axes)
    order = np.random.default_rng(0)

    def vary(t, name):
        with no_grad():
            for axis, symbol in axes.get(name, {}).items():
                if not -t.ndim <= axis < t.ndim:
                    raise ValueError(f"torch.onnx.export: dynamic_axes gives axis {axis} of input {name!r}, "
                                     f"which has shape {list(t.shape)}")
                if t.shape[axis] < growth[symbol]:
                    raise ValueError(f"torch.onnx.export: dynamic axis {axis} of input {name!r} has size "
                                     f"{t.shape[axis]} in the example; give an example with at least "
                                     f"{growth[symbol]} elements along it")
                t = cat([t, t.narrow(axis, 0, growth[symbol])], axis)
            if t.numel() > 1:
                shuffled = t.reshape(-1)[_tensor(order.permutation(t.numel()), device=t.device)].reshape(t.shape)
                if t.dtype.is_floating_point and bool((shuffled == t).all()):
                    shuffled = shuffled + 1
                t = shuffled
        return t

    it = iter(names)
    args = tuple(vary(a, next(it)) if isinstance(a, Tensor) else a for a in args)
    kwargs = {k: vary(v, next(it)) if isinstance(v, Tensor) else v for k, v in kwargs.items()}
    return args, kwargs


def _shape_proto(g, value, dims_named, name):
    dims = []
    for i, size in enumerate(value.shape):
        if i in dims_named:
            dims.append(dims_named[i])
        elif value.twin is not None and value.twin.shape[i] != size:
            found = g.symbolic_size(size, value.twin.shape[i])
            dims.append(found[0] if found else f"{name}_dim_{i}")
        else:
            dims.append(int(size))
    return dims


def _build(onnx, tracer, outputs, out_names, axes, opset, export_params, keep_initializers_as_inputs):
    helper = onnx.helper
    g = Graph(onnx, opset, export_params)
    graph_inputs = []
    for v in tracer.inputs:
        g.bind(v, v.name)
        for axis, symbol in axes.get(v.name, {}).items():
            if v.twin is not None:
                g.sizes.setdefault((v.shape[axis], v.twin.shape[axis]), (symbol, v.name, axis % len(v.shape)))
        dims = _shape_proto(g, v, axes.get(v.name, {}), v.name)
        graph_inputs.append(helper.make_tensor_value_info(v.name, g.elem_type(v.dtype), dims))
    for op in tracer.ops:
        g.scope = op.module
        for v, name in zip([o for o in op.outputs], _symbolic.lower(g, op)):
            if v is not None:
                g.bind(v, name)
    g.scope = ""
    final = []
    for v, name in zip(outputs, out_names):
        current = g.name(v)
        if v.kind == "op" and g.produced(current) and current not in final:
            g.rename(current, name)
            g.bind(v, name)
        else:  # an input, a parameter, a constant, or a value already given as another output
            g.nodes.append(helper.make_node("Identity", [current], [name], name=f"/Identity_{name}"))
        final.append(name)
    g.prune(final)
    graph_outputs = [helper.make_tensor_value_info(name, g.elem_type(v.dtype),
                                                   _shape_proto(g, v, axes.get(name, {}), name))
                     for v, name in zip(outputs, out_names)]
    initializers = [onnx.numpy_helper.from_array(host_copy(a), name) for name, a in g.initializers.items()]
    for name, v in g.param_inputs.items():
        graph_inputs.append(helper.make_tensor_value_info(name, g.elem_type(v.dtype), list(v.shape)))
    if keep_initializers_as_inputs:
        graph_inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
    graph = helper.make_graph(g.nodes, "main_graph", graph_inputs, graph_outputs, initializer=initializers)
    from ..torch_version import RETROGRAD_VERSION

    # the oldest IR version that holds this opset, so that older runtimes read the file
    return helper.make_model_gen_version(graph, producer_name="retrograd", producer_version=RETROGRAD_VERSION,
                                         opset_imports=[helper.make_opsetid("", opset)])
