"""``why_no_grad(tensor, loss)``: why ``tensor.grad`` is None or zero after ``loss.backward()``.

From the autograd graph alone it tells whether the tensor requires grad, whether it is in the
loss's graph (a leaf, or a non-leaf without ``retain_grad``), whether a piecewise-constant op
(round, floor, sign) zeroes its gradient, and whether the graph holds a different copy of it
(same values, another tensor: ``copy.deepcopy``). The place where a path was broken (detach,
``.data``, ``item()``, ``no_grad``, argmax ...) is not in that graph; under
``record_breaks()`` (provenance.py) every op is recorded with its line, and the path from the
tensor to the loss is searched there, naming the link that broke it.
"""

import os

import numpy as np

from ..autograd.graph import AccumulateGrad
from . import provenance
from .provenance import record_breaks  # noqa: F401 (retrograd.inspect's name for the mode)

# nodes whose backward is zero: the derivative of a piecewise-constant function
_ZERO_GRAD_NODES = {"RoundBackward0": "round", "RoundBackward1": "round", "FloorBackward0": "floor",
                    "CeilBackward0": "ceil", "TruncBackward0": "trunc", "SignBackward0": "sign",
                    "SgnBackward0": "sgn"}

_RERUN = ("Run the forward inside `with retrograd.inspect.record_breaks():` and call why_no_grad "
          "again: it then names the operation and the line.")

# per reason: what went wrong, and the fix (the founding document's "Common Backpropagation
# Errors": breaking the graph, detached tensors), with {op} and {where} filled in
_TEXT = {
    "requires_grad_false": (
        "the tensor does not require grad{made}, so backward never computes a gradient for it",
        "create it with requires_grad=True, call .requires_grad_() on it, or make it an "
        "nn.Parameter of the model so that the optimizer sees it too"),
    "detach": (
        "the path to the loss goes through .detach(){where}: backward stops there",
        "remove the detach() if gradients should reach this tensor; keep it only where you mean "
        "to stop them (a target network, a truncated BPTT hidden state)"),
    "data": (
        "the path to the loss goes through .data{where}, which gives the values without the graph",
        "use the tensor itself; for updates that must not be recorded, use torch.no_grad()"),
    "escaped": (
        "its value left the graph through {op}(){where} and came back as a new tensor: "
        "a Python number or NumPy array has no gradient information",
        "keep the computation in tensor ops; use .item(), .tolist(), .numpy() and float() only "
        "for logging and metrics"),
    "no_grad": (
        "{op}{where} ran inside torch.no_grad(), which records no graph",
        "run this op outside the no_grad block (keep no_grad for evaluation and parameter updates)"),
    "inference_mode": (
        "{op}{where} ran inside torch.inference_mode(), which records no graph",
        "run this op outside inference_mode (use it only for inference)"),
    "non_differentiable": (
        "{op}{where} returns integer or boolean values (indices, comparisons, casts to an integer "
        "type) that carry no gradient",
        "use a differentiable relaxation (softmax instead of argmax, sigmoid((x - t) / tau) "
        "instead of x > t), or let the gradient flow through the other operand (x * mask)"),
    "zero_gradient": (
        "{op}{where} is piecewise constant: its derivative is zero, so backward sends zeros",
        "use a smooth function, or a straight-through estimator: x + (x.{op}() - x).detach()"),
    "different_copy": (
        "the loss was computed from a different copy of it (same values, another tensor{where})",
        "read .grad from the tensors of the model that computed the loss, and give the "
        "optimizer that model's parameters (copy.deepcopy and re-created models have their own)"),
    "non_leaf": (
        "it is not a leaf (it was made by {op}{where}): backward fills .grad of leaves only",
        "call .retain_grad() on it before backward, or make it a leaf: compute the value, then "
        ".requires_grad_() (e.g. (torch.randn(3) * 0.1).requires_grad_())"),
    "not_used": (
        "the loss does not depend on it",
        "check that the forward uses it (a layer defined but never called, a branch not taken)"),
    "not_in_graph": (
        "it requires grad but is not in the loss's graph: some operation between them broke the "
        "path (detach, .data, item(), no_grad, argmax, a comparison, a copy of the model) or the "
        "loss does not use it",
        _RERUN),
    "no_backward": (
        "it is in the loss's graph but has no gradient yet",
        "call loss.backward() (autograd.grad and backward(inputs=...) fill only the gradients asked for)"),
    "zero_values": (
        "the gradient reached it but is zero (dead ReLUs, a mask, a loss that does not vary with it)",
        "use retrograd.inspect.gradient_flow to find the layers where it vanishes"),
    "no_break": (
        "nothing is broken: the gradient reached it and is not zero",
        "nothing to fix"),
}


class NoGradExplanation:
    """Why a tensor got no gradient: ``reason`` (one of the keys below), ``op`` (the operation
    that broke the path, or None), ``location`` (``"train.py:42"``, or None when unknown),
    ``path`` (the ops from the tensor to the loss, when recorded) and ``fix``; ``str()``
    explains it in words.

    Reasons: 'requires_grad_false', 'detach', 'data', 'escaped', 'no_grad', 'inference_mode',
    'non_differentiable', 'zero_gradient', 'different_copy', 'non_leaf', 'not_used',
    'not_in_graph' (not recorded: rerun under record_breaks), 'no_backward', 'zero_values',
    'no_break'."""

    def __init__(self, reason, op=None, site=None, path=(), recorded=False):
        self.reason = reason
        self.op = op
        self.site = site
        self.path = tuple(path)
        self.recorded = recorded
        what, fix = _TEXT[reason]
        where = f" at {self.location}" if site is not None else ""
        made = f" (made by {op}{where})" if op else ""
        self.summary = what.format(op=op, where=where, made=made)
        self.fix = fix.format(op=op)

    @property
    def location(self):
        """``"file.py:42"``: where the break was made, or None."""
        return None if self.site is None else f"{os.path.basename(self.site[0])}:{self.site[1]}"

    @property
    def filename(self):
        return None if self.site is None else self.site[0]

    @property
    def lineno(self):
        return None if self.site is None else self.site[1]

    def __str__(self):
        lines = [f"No gradient ({self.reason}): {self.summary}.", f"Fix: {self.fix}."]
        if self.path:
            lines.insert(1, "Path from the tensor to the loss: " + " -> ".join(self.path))
        if not self.recorded and self.reason not in ("no_break", "not_in_graph") and self.site is None:
            lines.append("For the line that caused it: " + _RERUN)
        return "\n".join(lines)

    def __repr__(self):
        return f"NoGradExplanation(reason={self.reason!r}, op={self.op!r}, location={self.location!r})"


def why_no_grad(tensor, loss):
    """Explain why ``tensor.grad`` is None or zero after ``loss.backward()``: a
    NoGradExplanation naming the reason, the operation that broke the path from ``tensor`` to
    ``loss`` and its line. For the operation and line of breaks that leave no trace in the
    graph (detach, item(), no_grad, argmax ...), run the forward inside
    ``retrograd.inspect.record_breaks()``."""
    nodes = _graph_nodes(loss)
    own = _node_of(tensor)
    if not tensor._requires_grad and tensor.grad_fn is None:
        return _explain("requires_grad_false", tensor)
    if own is not None and own in nodes:
        return _in_graph(tensor, loss, own, nodes)
    recorded = _from_records(tensor, loss)
    if recorded is not None:
        return recorded
    copy = _same_values_leaf(tensor, nodes)
    if copy is not None:
        return _explain("different_copy", copy, op="deepcopy" if _made_by_copy(copy) else None)
    if provenance.serials_of(loss):  # the loss was recorded and no path leads to the tensor
        return NoGradExplanation("not_used", recorded=True)
    return NoGradExplanation("not_in_graph")


def _explain(reason, tensor, op=None):
    """An explanation whose op and line are those of ``tensor``'s record, when there is one."""
    serials = provenance.serials_of(tensor)
    if not serials:
        return NoGradExplanation(reason, op)
    record = provenance.records[serials[-1]]
    return NoGradExplanation(reason, record.op or op, record.site, recorded=True)


def _graph_nodes(loss):
    root = loss.grad_fn
    if root is None:
        return set()
    seen, stack = {root}, [root]
    while stack:
        for fn, _ in stack.pop()._next:
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return seen


def _node_of(tensor):
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    ref = tensor._accumulator
    return ref() if ref is not None else None


def _in_graph(tensor, loss, own, nodes):
    if tensor.grad_fn is not None and not tensor._retains_grad:
        return _explain("non_leaf", tensor, op=tensor.grad_fn.name())
    if tensor._grad is None:
        return NoGradExplanation("no_backward")
    if np.any(tensor._grad._data):
        return NoGradExplanation("no_break")
    for node in _between(loss.grad_fn, own, nodes):
        name = _ZERO_GRAD_NODES.get(type(node).__name__) or _ZERO_GRAD_NODES.get(node.name())
        if name is not None:
            site = _node_site(node)
            return NoGradExplanation("zero_gradient", name, site, recorded=site is not None)
    return NoGradExplanation("zero_values")


def _between(root, target, nodes):
    """The nodes on some path from ``root`` to ``target``, nearest the target first."""
    leads = {target}
    changed = True
    while changed:  # a fixed point: graphs here are small (debugging one step)
        changed = False
        for node in nodes:
            if node not in leads and any(fn in leads for fn, _ in node._next if fn is not None):
                leads.add(node)
                changed = True
    order, stack, seen = [], [target], {target}
    parents = {}
    for node in leads:
        for fn, _ in node._next:
            if fn is not None and fn in leads:
                parents.setdefault(fn, []).append(node)
    while stack:
        node = stack.pop(0)
        order.append(node)
        for p in parents.get(node, ()):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return order


def _node_site(node):
    """The line that made ``node``, from the records of its outputs."""
    for ref, serials in list(provenance._tensors.values()):
        t = ref()
        if t is not None and t.grad_fn is node:
            return provenance.records[serials[-1]].site
    return None


def _same_values_leaf(tensor, nodes):
    """A leaf of the graph with ``tensor``'s values (not all equal: zeros match too easily)."""
    data = tensor._data
    if data.size < 2 or np.all(data == data.flat[0]):
        return None
    for node in nodes:
        if isinstance(node, AccumulateGrad):
            other = node.variable
            if other is not tensor and other._data.shape == data.shape \
                    and other._data.dtype == data.dtype and np.array_equal(other._data, data):
                return other
    return None


def _made_by_copy(tensor):
    serials = provenance.serials_of(tensor)
    return bool(serials) and provenance.records[serials[-1]].kind == "copy"


# ------------------------------------------------------------------ the recorded graph


def _from_records(tensor, loss):
    """The explanation from the records of record_breaks(), or None if they do not connect
    the tensor to the loss."""
    targets = set(provenance.serials_of(tensor))
    starts = provenance.serials_of(loss)
    if not targets or not starts:
        return None
    records = provenance.records
    parent = {s: None for s in starts}
    queue = list(starts)
    found = None
    while queue and found is None:
        s = queue.pop(0)
        for i in records[s].inputs:
            if i not in parent:
                parent[i] = s
                if i in targets:
                    found = i
                    break
                queue.append(i)
    if found is None:
        return None
    chain = []  # records from the tensor's to the loss's
    s = found
    while s is not None:
        chain.append(records[s])
        s = parent[s]
    return _break_in(chain)


def _break_in(chain):
    """Find the first link of ``chain`` (tensor first, loss last) that cut the gradient."""
    path = [_show(r) for r in chain[1:]]
    first = None
    for k, r in enumerate(chain[1:], 1):
        if r.kind in ("detach", "data", "escape", "copy") or not r.grad:
            first = k
            break
    if first is None:
        return NoGradExplanation("not_in_graph", path=path, recorded=True)
    gap = []
    for r in chain[first:]:
        if r.grad and r.kind not in ("detach", "data", "escape", "copy"):
            break
        gap.append(r)
    escape = next((r for r in gap if r.kind == "escape"), None)
    r = escape or chain[first]
    if escape is not None:
        reason = "escaped"
    elif r.kind in ("detach", "data"):
        reason = r.kind
    elif r.kind == "copy":
        reason = "different_copy"
    elif r.mode != "grad":
        reason = r.mode
    else:
        reason = "non_differentiable"
    op = "deepcopy" if r.kind == "copy" else r.op
    return NoGradExplanation(reason, op, r.site, path=path, recorded=True)


def _show(record):
    return f"{record.op} ({record.location})" if record.site is not None else str(record.op)
