"""The compiled callable: look up the call's guards, replay a captured graph, or capture one.

``Compiled(fn)(*args)``: the call's key (guards.py) picks the graphs captured for it; the first
whose ``check`` passes is replayed (replay.py). A key seen for the first time runs ``fn``
eagerly under a Capture (capture.py): its result is the call's result, and the capture gives
the key a Graph, or, if the graph broke, marks the key as eager (later calls with that key run
``fn`` eagerly; ``fullgraph=True`` raised Unsupported instead). Each new key after the first is a
recompile; past ``recompile_limit`` (torch's 8) a warning says so and new keys run eagerly.
"""

import warnings
import weakref

from ..autograd import function as _function
from ..tensor import Tensor
from . import guards
from .capture import Capture
from .replay import CompiledFunction, run_training


class config:
    """torch._dynamo.config's recompile limit (``cache_size_limit`` is its old name)."""

    recompile_limit = 8
    cache_size_limit = 8


_all = weakref.WeakSet()  # every Compiled, for reset()
_recompiles = {}  # code object -> compiles so far (shared unless isolate_recompiles)
_capturing = [0]  # a capture is recording: compiled functions called inside run eagerly
_disabled = [0]  # inside a function wrapped by compiler.disable


class Compiled:
    """``fn`` compiled (see the module docstring)."""

    def __init__(self, fn, fullgraph, recompile_limit, isolate_recompiles, name, module=None):
        self.fn, self.fullgraph, self.name = fn, fullgraph, name
        self.module = module
        self.recompile_limit = recompile_limit
        self.code = getattr(getattr(fn, "forward", fn), "__code__", None) if not isolate_recompiles else None
        self.cache = {}  # key -> [Graph or None (eager)]
        self.compiles = 0
        self.warned = False
        self.last_breaks = []
        _all.add(self)

    def reset(self):
        self.cache.clear()
        self.compiles = 0
        self.warned = False

    def __call__(self, *args, **kwargs):
        if _capturing[0] or _disabled[0] or guards.eager_only() is not None:
            return self.fn(*args, **kwargs)
        key, tensors = guards.call_key(args, kwargs)
        entries = self.cache.get(key)
        if entries is not None:
            for graph in entries:
                if graph is None:
                    return self.fn(*args, **kwargs)
                if graph.check(tensors):
                    return self.replay(graph, tensors)
        if _function.profile_hook is not None:  # a profiler holds the op hook: run eagerly, uncaptured
            return self.fn(*args, **kwargs)
        limit = self.recompile_limit if self.recompile_limit is not None else config.recompile_limit
        count = _recompiles.get(self.code, 0) if self.code is not None else self.compiles
        if count >= limit:
            if not self.warned:
                self.warned = True
                warnings.warn(
                    f"torch._dynamo hit config.recompile_limit ({limit})\n   function: {self.name!r}\n   "
                    "last reason: a new guard set (input shapes, dtypes, requires_grad, grad mode, autocast or "
                    "module training flags)\nNew guard sets run eagerly from now on. Raise the limit with "
                    "torch.compile(recompile_limit=...) or retrograd._compile.compiled.config.recompile_limit, "
                    "or call torch.compiler.reset().", UserWarning, stacklevel=2)
            return self.fn(*args, **kwargs)
        return self.capture(key, args, kwargs, tensors)

    def capture(self, key, args, kwargs, tensors):
        cap = Capture(self.fn, self.fullgraph, (self.module,) if self.module is not None else ())
        _capturing[0] += 1
        try:
            out, _ = cap.run(args, kwargs, tensors)
        finally:
            _capturing[0] -= 1
        flat = []
        treedef = guards.flatten(out, flat)
        graph = self._graph(cap, out, flat, treedef)
        self.compiles += 1
        if self.code is not None:
            _recompiles[self.code] = _recompiles.get(self.code, 0) + 1
        self.last_breaks = list(cap.breaks)
        self.cache.setdefault(key, []).append(graph)
        return out

    def _graph(self, cap, out, flat, treedef):
        if not all(isinstance(o, Tensor) or o is None for o in flat):
            cap.graph_break("the function returns something other than tensors and None (nested in tuples, lists, "
                            "dicts)")
            return None
        graph = cap.graph(out, [o for o in flat if o is not None], treedef, self.name)
        if graph is not None:
            graph.none_at = tuple(i for i, o in enumerate(flat) if o is None)  # (a training step's `return None`)
        return graph

    def replay(self, graph, tensors):
        n = graph.n_inputs
        ins = tensors if len(tensors) == n else _unique(tensors)
        args = (*ins, *graph.live)
        if graph.trains:
            result = run_training(graph, args)
        else:
            result = list(CompiledFunction.apply(graph, *args))
        for i, s in enumerate(graph.out_slots):  # an input or live tensor returned as itself
            j = graph.arg_position.get(s)
            if j is not None:
                result[i] = args[j]
        for i in graph.none_at:
            result.insert(i, None)
        return guards.unflatten(graph.treedef, result)


def _unique(tensors):
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out
