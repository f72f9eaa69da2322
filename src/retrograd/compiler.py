"""torch.compile and torch.compiler here: capture a function's ops once, replay them after.

``compile(model)`` returns a module (``OptimizedModule``) or function whose calls replay the
ops recorded on the first call with the same guards (input shapes, dtypes, devices,
requires_grad, grad mode, autocast, module training flags), under one graph node whose
backward runs the recorded backward formulas: see retrograd/_compile/ and docs/compile.md.
``backend`` and ``mode`` take torch's values; all of them replay the same captured graph here.
"""

import functools
import warnings

from ._compile import graph_break as _graph_break
from ._compile.compiled import Compiled, _all, _disabled, _recompiles, config  # noqa: F401
from ._compile.graph_break import InvalidBackend, Unsupported  # noqa: F401
from .nn.module import Module, _global_backward_hooks, _global_backward_pre_hooks, _global_forward_hooks, \
    _global_forward_pre_hooks

__all__ = ["compile", "reset", "disable", "explain", "is_compiling", "is_dynamo_compiling", "list_backends"]

# the backends torch.compile takes by name; each replays the same captured graph here
_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")
_NEEDS_OTHER_LIBRARIES = ("openxla", "tvm", "onnxrt", "tensorrt", "torch_tensorrt", "ipex", "tvm")
_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def list_backends(exclude_tags=("debug", "experimental")):
    """The backend names ``compile`` takes (torch._dynamo.list_backends)."""
    if exclude_tags is None or "debug" not in exclude_tags:
        return sorted(_BACKENDS)
    return sorted(b for b in _BACKENDS if b not in ("eager", "aot_eager"))


def _check(backend, mode, options, shapes_spec):
    if callable(backend):
        raise NotImplementedError(
            "torch.compile(backend=<callable>): retrograd captures no FX graph to hand a custom backend; pass "
            f"one of {list(_BACKENDS)} (they all replay the captured ops).")
    if backend is not None and backend not in _BACKENDS:
        if backend in _NEEDS_OTHER_LIBRARIES:
            raise NotImplementedError(f"torch.compile(backend={backend!r}) needs a compiler retrograd does not have; "
                                      f"use one of {list(_BACKENDS)}")
        raise InvalidBackend(f"Invalid backend: {backend!r}, see `torch._dynamo.list_backends()` for available backends.")
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if options:
        raise NotImplementedError(
            f"torch.compile(options={options!r}): retrograd has no inductor options to set; pass options=None")
    if shapes_spec is not None:
        raise NotImplementedError("torch.compile(shapes_spec=...): static shapes only in retrograd; pass None")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,  # noqa: A001
            name=None, disable=False, recompile_limit=None, isolate_recompiles=False, shapes_spec=None):
    """Compile ``model`` (an nn.Module or a function); as ``@compile`` or ``@compile(...)`` a decorator.

    The first call with a new guard set runs eagerly and records its ops; later calls with
    the same guards replay them (docs/compile.md). ``fullgraph=True`` raises ``Unsupported``
    at the first graph break instead of running that part eagerly. ``recompile_limit`` (torch's
    default 8) bounds the guard sets captured; past it calls run eagerly, with a warning.
    """
    _check(backend, mode, options, shapes_spec)
    if recompile_limit is not None and (not isinstance(recompile_limit, int) or recompile_limit < 0):
        raise ValueError(f"recompile_limit must be a non-negative int or None, got {recompile_limit!r}")
    settings = dict(fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options,
                    name=name, disable=disable, recompile_limit=recompile_limit,
                    isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
    if model is None:
        return lambda m: compile(m, **settings)
    if not callable(model):
        raise RuntimeError(f"torch.compile: model must be callable (an nn.Module or a function), got "
                           f"{type(model).__name__}")
    if disable:
        return model
    label = name or getattr(model, "__qualname__", type(model).__name__)
    if isinstance(model, Module):
        return OptimizedModule(model, Compiled(model, fullgraph, recompile_limit, isolate_recompiles, label,
                                               module=model, dynamic=dynamic))
    compiled = Compiled(model, fullgraph, recompile_limit, isolate_recompiles, label, dynamic=dynamic)
    wrapper = functools.wraps(model)(lambda *args, **kwargs: compiled(*args, **kwargs))
    wrapper._torchdynamo_orig_callable = model
    wrapper._compiled = compiled
    return wrapper


class OptimizedModule(Module):
    """A compiled module: ``_orig_mod`` is the module (its parameters, and state_dict keys under
    ``_orig_mod.``, as torch's); calling it replays the captured forward."""

    def __init__(self, mod, compiled):
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", compiled)

    def forward(self, *args, **kwargs):
        if _global_forward_pre_hooks or _global_forward_hooks or _global_backward_hooks or _global_backward_pre_hooks:
            # (they run for this module and again for _orig_mod, as torch's)
            warnings.warn(
                "Using `torch.compile(module)` when there are global hooks on modules (e.g., from "
                "`register_module_forward_hook`); this will cause the hooks to fire an extra time for the "
                "`OptimizedModule` created by `torch.compile(module)`. If this causes undesired behavior, please try "
                "using `module.compile()`, or use the per-module hooks instead", UserWarning, stacklevel=2)
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    def __repr__(self):
        return f"OptimizedModule(\n  (_orig_mod): {self._orig_mod!r}\n)"


def reset():
    """Forget every captured graph and recompile count (torch.compiler.reset)."""
    for c in list(_all):
        c.reset()
    _recompiles.clear()


def disable(fn=None, recursive=True, *, reason=None):
    """``fn`` always runs eagerly, never captured; called inside a compiled function it is a
    graph break (torch.compiler.disable). Usable as ``@disable`` or ``@disable(reason=...)``."""
    if not recursive:
        raise NotImplementedError("torch.compiler.disable(recursive=False): retrograd cannot compile the "
                                  "functions a disabled one calls; use recursive=True")
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    why = f"torch.compiler.disable: {reason}" if reason else f"call to {getattr(fn, '__qualname__', fn)!r} " \
        "wrapped by torch.compiler.disable"

    @functools.wraps(fn)
    def eager(*args, **kwargs):
        from ._compile.capture import active

        cap = active()
        if cap is not None and cap.mine():
            cap.graph_break(why)
        _disabled[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _disabled[0] -= 1

    return eager


def is_compiling():
    """True while a capture records (torch.compiler.is_compiling)."""
    from ._compile.capture import active

    return active() is not None


is_dynamo_compiling = is_compiling


class ExplainOutput:
    """What ``explain`` found: torch._dynamo.explain's fields (graph_count, graph_break_count,
    break_reasons with .reason and .user_stack, op_count, ops_per_graph)."""

    def __init__(self, graphs, breaks):
        self.graphs = graphs
        self.graph_count = len(graphs)
        self.break_reasons = breaks
        self.graph_break_count = len(breaks)
        self.ops_per_graph = [[s.name for s in g.steps if s.kind == "op"] for g in graphs]
        self.op_count = sum(len(ops) for ops in self.ops_per_graph)
        self.out_guards = []
        self.compile_times = ""

    def __str__(self):
        lines = [f"Graph Count: {self.graph_count}", f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for i, b in enumerate(self.break_reasons):
            lines.append(f"  Break Reason {i + 1}:\n    Reason: {b.reason}\n    User Stack: {b.user_stack}")
        return "\n".join(lines)


def explain(fn, *extra_args, **extra_kwargs):
    """``explain(fn)(*args, **kwargs)``: capture ``fn`` on those arguments and report its graphs and
    graph breaks (torch._dynamo.explain). A function with breaks is split at them: graph_count
    counts the segments that capture ops, and the breaks list each reason and line."""
    if extra_args or extra_kwargs:
        raise TypeError("explain(f, *args, **kwargs) is no longer supported (as in torch): call explain(f)(*args, **kwargs)")

    def run(*args, **kwargs):
        from ._compile.compiled import explain_graphs

        target = fn._orig_mod if isinstance(fn, OptimizedModule) else fn
        graphs, breaks = explain_graphs(target, target if isinstance(target, Module) else None,
                                        getattr(target, "__qualname__", type(target).__name__), args, kwargs)
        return ExplainOutput(graphs, breaks)

    return run
