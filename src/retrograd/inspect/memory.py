"""What backward will keep in memory, and why: every tensor saved for backward in the
graph behind an output, the op and module that saved it, and the expected peak of the
backward pass (saved bytes plus the gradients alive at once), before backward runs."""

from dataclasses import dataclass, field

from ..autograd.function import _SAVED_OUTPUT, _SAVED_PACKED, _SAVED_PLAIN
from ..autograd.graph import AccumulateGrad


@dataclass
class SavedTensor:
    """One tensor kept for backward (deduplicated: ``saved_by`` lists every op keeping it);
    ``module`` is the module whose forward created it."""

    op: str
    module: str
    shape: tuple
    dtype: str
    bytes: int
    kind: str  # 'activation', 'parameter' (a leaf that requires grad), 'input' (other leaf), 'packed'
    saved_by: list = field(default_factory=list)


@dataclass
class ModuleSummary:
    module: str
    tensors: int
    bytes: int


class SavedTensorsReport:
    """The result of :func:`saved_tensors`: ``records`` (one per distinct buffer),
    ``by_module()``, ``activation_bytes``, ``expected_peak_bytes``; prints as a table."""

    def __init__(self, records, expected_peak_bytes, grad_bytes):
        self.records = records
        self.expected_peak_bytes = expected_peak_bytes
        self.max_grad_bytes = grad_bytes

    @property
    def activation_bytes(self):
        """Bytes that exist only because backward needs them (not parameters or inputs)."""
        return sum(r.bytes for r in self.records if r.kind == "activation")

    @property
    def total_bytes(self):
        return sum(r.bytes for r in self.records)

    def by_module(self):
        """Activation bytes per module path, largest first."""
        acc = {}
        for r in self.records:
            if r.kind != "activation":
                continue
            n, b = acc.get(r.module, (0, 0))
            acc[r.module] = (n + 1, b + r.bytes)
        rows = [ModuleSummary(m, n, b) for m, (n, b) in acc.items()]
        return sorted(rows, key=lambda s: -s.bytes)

    def __str__(self):
        lines = [f"{'module':<32}{'tensors':>8}{'bytes':>14}"]
        for s in self.by_module():
            lines.append(f"{s.module:<32}{s.tensors:>8}{_fmt(s.bytes):>14}")
        lines.append(f"{'activations saved for backward':<40}{_fmt(self.activation_bytes):>14}")
        params = sum(r.bytes for r in self.records if r.kind in ("parameter", "input"))
        lines.append(f"{'parameters/inputs also referenced':<40}{_fmt(params):>14}")
        lines.append(f"{'expected peak during backward':<40}{_fmt(self.expected_peak_bytes):>14}")
        return "\n".join(lines)

    __repr__ = __str__


def _fmt(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def _owner(arr):
    """The array that owns the memory ``arr`` views (views share one buffer)."""
    while getattr(arr, "base", None) is not None and hasattr(arr.base, "nbytes"):
        arr = arr.base
    return arr


def _nodes(output):
    root = output.grad_fn
    if root is None:
        return []
    seen, order, stack = {root}, [], [root]
    while stack:
        node = stack.pop()
        order.append(node)
        for fn, _ in node._next:
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return order


def _module_names(model):
    if model is None:
        return {}
    return {id(m): (name or type(m).__name__) for name, m in model.named_modules()}


def _saved_arrays(node):
    """(array or None, kind, module that created it) for each tensor ``node`` saved."""
    out = []
    for entry in getattr(node, "_saved", None) or ():
        if entry is None:
            continue
        if entry[0] == _SAVED_PLAIN:
            t = entry[1]
            if t.grad_fn is None:
                out.append((t._data, "parameter" if t._requires_grad else "input", node._module))
            else:
                out.append((t._data, "activation", t.grad_fn._module))
        elif entry[0] == _SAVED_OUTPUT:
            out.append((entry[1], "activation", node._module))
        elif entry[0] == _SAVED_PACKED:
            data = getattr(entry[1], "_data", None)
            out.append((data, "packed" if data is None else "activation", node._module))
    return out


def saved_tensors(output, model=None):
    """Report what the graph behind ``output`` keeps for backward. Pass ``model`` to name
    modules by their path in it (``blocks.3.attn``); otherwise by class name."""
    names = _module_names(model)
    nodes = _nodes(output)
    records, by_owner = [], {}
    users = {}  # owner id -> nodes that keep it
    for node in nodes:
        for arr, kind, module in _saved_arrays(node):
            mname = names.get(id(module), type(module).__name__) if module is not None else "(no module)"
            if arr is None:
                records.append(SavedTensor(node.name(), mname, (), "?", 0, "packed", [node.name()]))
                continue
            owner = _owner(arr)
            key = id(owner)
            users.setdefault(key, []).append(node)
            if key in by_owner:
                by_owner[key].saved_by.append(node.name())
                continue
            rec = SavedTensor(node.name(), mname, tuple(arr.shape), str(arr.dtype), int(owner.nbytes), kind,
                              [node.name()])
            by_owner[key] = rec
            records.append(rec)
    peak, grad_bytes = _expected_peak(output, nodes, by_owner, users)
    return SavedTensorsReport(records, peak, grad_bytes)


def _grad_bytes(fn, nr):
    if isinstance(fn, AccumulateGrad):
        return fn.variable._data.nbytes
    shape, dtype = fn._out_meta[nr]
    n = dtype.itemsize
    for s in shape:
        n *= s
    return n


def _expected_peak(output, nodes, by_owner, users):
    """Replay the engine's schedule on sizes only: saved activations are freed after their
    last user runs; each node's input gradients are allocated while its own output
    gradients are still alive; leaves keep their new ``.grad``."""
    deps = {}
    for node in nodes:
        for fn, _ in node._next:
            if fn is not None:
                deps[fn] = deps.get(fn, 0) + 1
    remaining_users = {k: len(v) for k, v in users.items()}
    owner_of = {}
    for key, ns in users.items():
        for n in ns:
            owner_of.setdefault(n, []).append(key)
    current = sum(r.bytes for r in by_owner.values() if r.kind == "activation")
    pending = {}  # node -> bytes of gradients waiting for it
    root = output.grad_fn
    pending[root] = output._data.nbytes
    current += output._data.nbytes
    peak = current
    max_grads = 0
    ready = [root]
    while ready:
        node = ready.pop()
        new = 0
        for fn, nr in node._next:
            if fn is None:
                continue
            size = _grad_bytes(fn, nr)
            new += size
            if fn in pending:
                new += size  # summing into an existing buffer makes a new one first
        peak = max(peak, current + new)
        max_grads = max(max_grads, sum(pending.values()) + new)
        current += new
        current -= pending.pop(node, 0)
        for fn, nr in node._next:
            if fn is None:
                continue
            size = _grad_bytes(fn, nr)
            if fn in pending:
                current -= size  # the old buffer is dropped after summing
            pending[fn] = pending.get(fn, 0) + (0 if fn in pending else size)
            deps[fn] -= 1
            if deps[fn] == 0:
                if isinstance(fn, AccumulateGrad):
                    # the leaf keeps a copy as .grad; the pending buffer is then freed
                    if fn.variable.grad is None:
                        peak = max(peak, current + size)
                    current -= 0 if fn.variable.grad is None else pending[fn]
                    pending.pop(fn)
                else:
                    ready.append(fn)
        for key in owner_of.get(node, ()):
            remaining_users[key] -= 1
            rec = by_owner[key]
            if remaining_users[key] == 0 and rec.kind == "activation":
                current -= rec.bytes
    return peak, max_grads
