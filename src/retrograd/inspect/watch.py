"""``inspect.watch(model)``: forward hooks that record, for the model's latest forward, what
its activations do (dead ReLU units, saturated tanh/sigmoid units) and, during the backward
that follows, the gradient that reaches each parameterised layer's output. ``gradient_flow``
reads these records.

What is measured (the founding document, "Backpropagation Through Activations": ReLU passes
gradients through positive activations and blocks them for negative ones; the sigmoid's
derivative becomes small when it saturates near 0 or 1):

- **dead** (ReLU): the fraction of units whose output is exactly 0 for every sample of the
  batch, so that no gradient passes through them on this batch. A unit is one position of the
  output apart from its first (batch) dimension (one feature of a Linear, one channel at one
  pixel of a convolution); a 1-D output is one sample.
- **saturated** (tanh, sigmoid): the fraction of outputs (all samples, all units) on the flat
  tails, where the local derivative is below 0.02: ``|tanh(x)| > 0.99`` (derivative
  ``1 - tanh^2 < 0.0199``), ``sigmoid(x) < 0.01`` or ``> 0.99`` (derivative below 0.0099).
- **output gradient** (each module with parameters of its own): the norm of dL/d(output), the
  message the document's "Gradient Flow" product carries back to that layer; summed over the
  module's calls in one forward (as ``sqrt(sum of squares)``) when it is called more than once.

Activation modules ``nn.ReLU``, ``nn.Tanh`` and ``nn.Sigmoid`` are seen by their forward hooks
(also under ``no_grad``). Functional calls (``F.relu``, ``torch.tanh``, ``x.sigmoid()``, ...)
inside a module's forward are found after the model's forward in the recorded graph (the
output each such op saved for backward), named ``"<module path>:relu"``; they need grad
mode on and are missed when saved tensors are packed by ``saved_tensors_hooks``
(checkpointing, offloading).
"""

import weakref
from dataclasses import dataclass

import numpy as np

from ..ops.elementwise import Relu as _ReluOp
from ..ops.elementwise import Sigmoid as _SigmoidOp
from ..ops.elementwise import Tanh as _TanhOp
from .memory import _saved_arrays

TANH_SATURATION = 0.99  # |tanh| above this is saturated
SIGMOID_SATURATION = 0.01  # sigmoid below this or above 1 - this is saturated

_active = weakref.WeakKeyDictionary()  # model -> its latest Watch (read by gradient_flow)


@dataclass
class ActivationStats:
    """One activation call in the latest forward.

    ``name``: module path (``"3"``, ``"blocks.0.act"``; ``"act#2"`` for a module's second call
    in one forward; ``"blocks.0:relu"`` for a functional call inside ``blocks.0``); ``kind``:
    ``'relu'``, ``'tanh'`` or ``'sigmoid'``; ``layer``: the parameterised layer whose output
    it takes (the last one to finish its forward before it; for a functional call, the one that
    made its input), or None; ``units``: units per sample; ``dead`` (ReLU) and ``saturated``
    (tanh, sigmoid): fractions in [0, 1], None where they do not apply."""

    name: str
    kind: str
    layer: object
    units: int
    dead: object = None
    saturated: object = None


def _kind_of(module):
    from ..nn import ReLU, Sigmoid, Tanh

    for cls, kind in ((ReLU, "relu"), (Tanh, "tanh"), (Sigmoid, "sigmoid")):
        if isinstance(module, cls):
            return kind
    return None


_OP_KINDS = ((_ReluOp, "relu"), (_TanhOp, "tanh"), (_SigmoidOp, "sigmoid"))


def activation_stats(name, kind, layer, values):
    """ActivationStats of one activation output ``values`` (a NumPy or CuPy array)."""
    a = np.asarray(values.get() if hasattr(values, "get") else values, dtype=np.float64)
    per_sample = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(a.shape[0], -1)
    stats = ActivationStats(name, kind, layer, per_sample.shape[1])
    if a.size == 0:
        return stats
    if kind == "relu":
        stats.dead = float(np.all(per_sample == 0, axis=0).mean())
    elif kind == "tanh":
        stats.saturated = float((np.abs(a) > TANH_SATURATION).mean())
    else:
        stats.saturated = float(((a < SIGMOID_SATURATION) | (a > 1 - SIGMOID_SATURATION)).mean())
    return stats


def _forward_order(roots):
    """The graph's nodes behind ``roots``, each after the nodes of its inputs (the order the
    forward made them, up to independent branches)."""
    order, seen = [], set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root._next))]
        while stack:
            node, inputs = stack[-1]
            for fn, _ in inputs:
                if fn is not None and id(fn) not in seen:
                    seen.add(id(fn))
                    stack.append((fn, iter(getattr(fn, "_next", ()))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


class Watch:
    """What :func:`watch` returns: a handle on the hooks (``remove()``, or use it as a context
    manager), and the records of the model's latest forward and backward:

    - ``activations``: list of :class:`ActivationStats`, in forward order;
    - ``layers``: paths of the parameterised modules in the order their forward finished;
    - ``output_grad_norms``: ``{layer path: norm of dL/d(layer output)}``, filled during the
      backward of that forward.

    The records stay readable after ``remove()``, so ``gradient_flow`` can be called after the
    ``with`` block."""

    def __init__(self, model):
        self._model = weakref.ref(model)  # _active's value must not keep its key alive
        self.activations = []
        self.layers = []
        self.output_grad_norms = {}
        self._grad_sq = {}
        self._calls = {}
        self._handles = []
        self._versions = self._parameter_versions()
        names = {}
        for name, m in model.named_modules():
            names[id(m)] = name or type(m).__name__
        self._names = names
        self._install()
        _active[model] = self

    @property
    def model(self):
        """The watched model (held weakly)."""
        return self._model()

    # ------------------------------------------------------------ hooks
    def _install(self):
        add = self._handles.append
        model = self.model
        add(model.register_forward_pre_hook(lambda m, args: self._start()))
        for m in model.modules():
            kind = _kind_of(m)
            if kind is not None:
                add(m.register_forward_hook(self._activation_hook(kind)))
            elif any(True for _ in m.parameters(recurse=False)):
                add(m.register_forward_hook(self._layer_hook))
        add(model.register_forward_hook(lambda m, args, out: self._find_functional(out)))

    def _start(self):
        self.activations, self.layers = [], []
        self.output_grad_norms, self._grad_sq, self._calls = {}, {}, {}
        self._versions = self._parameter_versions()

    def _parameter_versions(self):
        model = self.model
        return () if model is None else tuple(p._version for p in model.parameters())

    def is_current(self):
        """Whether the records may describe the model's current gradients: False once a
        parameter was modified in place (an optimizer step) since the watched forward."""
        return self._versions == self._parameter_versions()

    def _call_name(self, name):
        n = self._calls.get(name, 0) + 1
        self._calls[name] = n
        return name if n == 1 else f"{name}#{n}"

    def _activation_hook(self, kind):
        def hook(module, args, output):
            from ..tensor import Tensor

            if isinstance(output, Tensor):
                name = self._call_name(self._names[id(module)])
                layer = self.layers[-1] if self.layers else None
                self.activations.append(activation_stats(name, kind, layer, output._data))
        return hook

    def _layer_hook(self, module, args, output):
        from ..nn.module import _flat_tensors

        name = self._names[id(module)]
        if name not in self.layers:
            self.layers.append(name)
        for t in _flat_tensors(output):
            if t.requires_grad and t.dtype.is_floating_point:
                t.register_hook(self._grad_hook(name))

    def _grad_hook(self, name):
        def hook(grad):
            g = grad._data
            sq = float((g.astype(np.float64) ** 2).sum()) if g.size else 0.0
            self._grad_sq[name] = self._grad_sq.get(name, 0.0) + sq
            self.output_grad_norms[name] = float(np.sqrt(self._grad_sq[name]))
        return hook

    def _find_functional(self, output):
        """Functional relu/tanh/sigmoid calls in the graph behind the model's output."""
        from ..nn.module import _flat_tensors

        found = []
        for node in _forward_order([t.grad_fn for t in _flat_tensors(output)]):
            kind = next((k for cls, k in _OP_KINDS if isinstance(node, cls)), None)
            module = getattr(node, "_module", None)
            if kind is None or module is None or id(module) not in self._names or _kind_of(module):
                continue
            arrays = [a for a, what, _ in _saved_arrays(node) if what == "activation" and a is not None]
            if arrays:
                found.append((node, kind, module, arrays[0]))
        for node, kind, module, values in found:
            name = self._call_name(f"{self._names[id(module)]}:{kind}")
            source = node._next[0][0] if node._next and node._next[0] else None
            src_module = getattr(source, "_module", None)
            layer = self._names.get(id(src_module)) if src_module is not None else None
            self.activations.append(activation_stats(name, kind, layer if layer in self.layers else None, values))

    # ------------------------------------------------------------ handle
    def remove(self):
        """Remove the hooks (the records stay readable)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def watch(model):
    """Install forward hooks on ``model`` that record, for each forward, the dead fraction of
    every ReLU and the saturated fraction of every tanh and sigmoid (modules, and functional
    calls found in the graph), and the gradient norm that reaches each parameterised layer's
    output during the backward that follows. Returns a :class:`Watch` handle: call
    ``.remove()`` or use it as a context manager::

        with inspect.watch(model):
            loss_fn(model(x), y).backward()
        print(inspect.gradient_flow(model, lr=0.1))

    :func:`gradient_flow` finds the latest watch of ``model`` by itself. Thresholds:
    ``TANH_SATURATION`` (0.99) and ``SIGMOID_SATURATION`` (0.01) in this module; see the
    module docstring for what "dead" and "saturated" count."""
    from ..nn import Module

    if not isinstance(model, Module):
        raise TypeError(f"inspect.watch() expects an nn.Module, got {type(model).__name__}")
    return Watch(model)


def latest_watch(model):
    """The latest :class:`Watch` installed on ``model``, or None."""
    return _active.get(model)
