"""The recorded graph behind a tensor as one self-contained HTML page: ops as nodes, grouped
(and collapsible) by the module whose forward made them, edges labelled with the tensor
passed along them (shape, dtype, bytes) and, with ``grads=True``, the norm of the gradient
flowing back along each. Clicking a node shows what it saved for backward and the source
line that created it. Layout (layers by depth from the output) is computed here; the page
(inline SVG, inline script and style, see ``graph_page.py``) loads nothing from anywhere."""

import os
import re
from dataclasses import dataclass, field

from ..autograd.graph import AccumulateGrad
from . import graph_page
from .memory import _fmt, _grad_bytes, _module_names, _nodes, _owner, _saved_arrays

ROW_HEIGHT = 84  # px from one layer to the next (more where module boxes open or close)
NODE_HEIGHT = 34
GAP = 26  # px between neighbouring nodes of one layer (more between modules)
MODULE_GAP = 46


@dataclass
class SavedEntry:
    """One tensor a node keeps for backward; ``bytes`` counts the buffer it keeps alive."""

    shape: tuple
    dtype: str
    bytes: int
    kind: str  # 'activation', 'parameter', 'input' or 'packed' (a saved-tensor hook holds it)


@dataclass
class GraphNode:
    """One node: an op's backward node (its grad_fn name) or a leaf (AccumulateGrad), with
    what it saved for backward, where it was made, and its place on the page."""

    id: int
    name: str  # node.name(), as torch's grad_fn names
    label: str  # what the page shows in the box
    module: str  # key of the innermost module group, or None (made outside any module)
    outputs: list  # (shape, dtype) of each forward output
    saved: list  # [SavedEntry]; None when backward already freed them
    source: str  # 'file:line in function: code', or None when not recorded
    row: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top
    width: float = 0.0


@dataclass
class GraphEdge:
    """A tensor passed in forward from ``src``'s output to ``dst`` (gradient flows back)."""

    src: int
    dst: int
    shape: tuple
    dtype: str
    bytes: int
    grad_norm: float = None  # norm of the gradient sent back along this edge (grads=True)


@dataclass
class GraphGroup:
    """The nodes made by one module's forward (and its leaves' parameters), nested as the
    modules are; ``box`` frames them on the page."""

    key: str
    label: str
    parent: str  # key of the enclosing group, or None
    nodes: list = field(default_factory=list)  # ids of the nodes directly in it
    box: tuple = (0, 0, 0, 0)  # x, y, width, height around all nodes in it or nested in it


class Graph:
    """The result of :func:`graph`: ``nodes``, ``edges`` and module ``groups`` with their
    layout, and ``path``, the page written (usable wherever a path is: ``os.fspath``)."""

    def __init__(self, nodes, edges, groups, path, width, height):
        self.nodes, self.edges, self.groups, self.path = nodes, edges, groups, path
        self.width, self.height = width, height

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return (f"Graph({len(self.nodes)} nodes, {len(self.edges)} edges, {len(self.groups)} modules, "
                f"path={self.path!r})")


def graph(output, path="graph.html", model=None, grads=False):
    """Write the graph behind ``output`` to ``path`` as a self-contained HTML page and return
    the :class:`Graph` (its ``path`` is the page).

    ``model``: name module groups by their path in it (``features.0``) and leaves by their
    parameter name; otherwise by class name. ``grads=True``: run a backward of ``output``
    (``autograd.grad`` to every leaf, graph retained, no ``.grad`` changed) with hooks that
    record the norm of the gradient along each edge. Source lines are shown for nodes made
    while ``retrograd.autograd.detect_anomaly()`` was on (which records them).
    """
    if output.grad_fn is None:
        raise RuntimeError(
            f"inspect.graph: the tensor (shape {list(output.shape)}, dtype {output.dtype}) has no "
            "recorded graph (grad_fn is None): compute it from tensors with requires_grad=True, "
            "outside no_grad/inference_mode")
    order = _nodes(output)
    ids = {n: i for i, n in enumerate(order)}
    groups, node_group = _groups(order, model)
    params = {id(p): name for name, p in model.named_parameters()} if model is not None else {}
    nodes = [GraphNode(i, n.name(), _label(n, params), node_group.get(n), _outputs(n), _saved(n),
                       _source_line(n)) for i, n in enumerate(order)]
    for n, g in node_group.items():
        groups[g].nodes.append(ids[n])
    edges = [GraphEdge(ids[fn], ids[n], *_tensor_meta(fn, nr))
             for n in order for fn, nr in n._next if fn is not None]
    if grads:
        _record_grad_norms(output, order, ids, edges)
    width, height = _layout(nodes, edges, groups)
    result = Graph(nodes, edges, list(groups.values()), os.fspath(path), width, height)
    with open(path, "w", encoding="utf-8") as f:
        f.write(graph_page.render(result))
    return result


# ------------------------------------------------------------------ what each node shows


def _label(node, params):
    if isinstance(node, AccumulateGrad):
        v = node.variable
        return params.get(id(v)) or f"leaf {_shape(tuple(v.shape))}"
    return node.name()


def _shape(shape):
    return "×".join(str(s) for s in shape) if shape else "scalar"


def _outputs(node):
    if isinstance(node, AccumulateGrad):
        v = node.variable._data
        return [(tuple(v.shape), str(v.dtype))]
    return [(tuple(m[0]), str(m[1])) for m in node._out_meta if m is not None]


def _tensor_meta(fn, nr):
    """Shape, dtype and bytes of output ``nr`` of ``fn`` (the tensor an edge passes)."""
    if isinstance(fn, AccumulateGrad):
        a = fn.variable._data
        shape, dtype = a.shape, a.dtype
    else:
        shape, dtype = fn._out_meta[nr]
    return tuple(shape), str(dtype), int(_grad_bytes(fn, nr))


def _saved(node):
    if getattr(node, "_freed", False):
        return None
    out = []
    for arr, kind, _ in _saved_arrays(node):
        if arr is None:
            out.append(SavedEntry((), "?", 0, "packed"))
        else:
            out.append(SavedEntry(tuple(arr.shape), str(arr.dtype), int(_owner(arr).nbytes), kind))
    return out


_FRAME = re.compile(r'  File "(.+?)", line (\d+), in (.+)\n(?:    (.*)\n)?')
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MODULES = os.path.join(_PACKAGE, "nn", "modules") + os.sep
_DEMO = os.path.join(_PACKAGE, "demo") + os.sep  # written as a user's program: its lines are the user's


def _source_line(node):
    """Where ``node`` was made, from the forward stack that anomaly mode records: the last
    frame outside retrograd (the user's line), followed by the line of the retrograd module's
    forward that made it, if any; None when no stack was recorded."""
    trace = node._anomaly_trace
    if not trace:
        return None
    user = inner = None
    for file, line, func, code in _FRAME.findall(trace):
        where = f"{file}:{line} in {func}" + (f": {code.strip()}" if code else "")
        path = os.path.abspath(file)
        if not path.startswith(_PACKAGE + os.sep) or path.startswith(_DEMO):
            user, inner = where, None
        elif path.startswith(_MODULES):
            inner = f"{os.path.relpath(file, os.path.dirname(_PACKAGE))}:{line} in {func}" + (
                f": {code.strip()}" if code else "")
    if user is None:
        return inner
    return user if inner is None else f"{user} \u2192 {inner}"


def _record_grad_norms(output, order, ids, edges):
    """Run a retained backward to every leaf with post-hooks on each node, and store the
    norm of each gradient a node sends along its edges (no leaf's ``.grad`` changes)."""
    from ..autograd import grad as autograd_grad

    if output.numel() != 1:
        raise RuntimeError(
            f"inspect.graph(grads=True) runs backward from the output, which must be a scalar (a loss); "
            f"got shape {list(output.shape)}: pass output.sum() or the loss computed from it")
    leaves = [n.variable for n in order if isinstance(n, AccumulateGrad)]
    if any(getattr(n, "_freed", False) for n in order):
        raise RuntimeError(
            "inspect.graph(grads=True): backward already freed this graph's saved tensors; call "
            "inspect.graph before backward, or run that backward with retain_graph=True")
    by_pair = {}
    for e in edges:
        by_pair.setdefault((e.src, e.dst), []).append(e)
    handles = []

    def hook_for(node):
        def hook(grad_inputs, grad_outputs):
            seen = {}
            for (fn, _), g in zip(node._next, grad_inputs):
                if fn is None:
                    continue
                key = (ids[fn], ids[node])
                k = seen.get(key, 0)
                seen[key] = k + 1
                if g is not None:
                    a = abs(g._data).astype("float64")
                    by_pair[key][k].grad_norm = float((a * a).sum() ** 0.5)
        return hook

    for n in order:
        if not isinstance(n, AccumulateGrad):
            handles.append(n.register_hook(hook_for(n)))
    try:
        autograd_grad(output, leaves, retain_graph=True, allow_unused=True)
    finally:
        for h in handles:
            h.remove()


# ------------------------------------------------------------------ module groups


def _groups(order, model):
    """Groups keyed by module path (with ``model``: nested by path) or by module instance
    (class name, numbered when a class occurs more than once); and each node's group. A
    parameter's leaf goes with its module, or, where that module made no op itself (the
    forward of a module around it used the parameter), with the op that uses it."""
    names = _module_names(model)
    paths = {name or type(m).__name__ for name, m in model.named_modules()} if model is not None else set()
    params = {}
    if model is not None:
        for pname, p in model.named_parameters():
            params[id(p)] = pname.rpartition(".")[0] or names[id(model)]
    groups, node_group, instance_keys, user = {}, {}, {}, {}
    for n in reversed(order):  # forward order: groups are numbered as the model runs
        for fn, _ in n._next:
            if isinstance(fn, AccumulateGrad):
                user.setdefault(fn, n)
        if isinstance(n, AccumulateGrad) or n._module is None:
            continue
        if id(n._module) in names:
            key = names[id(n._module)]
        else:
            key = instance_keys.get(id(n._module))
            if key is None:
                cls = type(n._module).__name__
                count = sum(1 for k in instance_keys.values() if k.split("#")[0] == cls)
                key = instance_keys[id(n._module)] = f"{cls}#{count + 1}" if count else cls
        _add_group(groups, key, key in paths)
        node_group[n] = key
    made_ops = set(node_group.values())
    for n in order:
        if isinstance(n, AccumulateGrad):
            key = params.get(id(n.variable))
            if key is not None and key not in made_ops:
                key = node_group.get(user.get(n))
            if key is not None:
                _add_group(groups, key, key in paths)
                node_group[n] = key
    return groups, node_group


def _add_group(groups, key, nested):
    while key not in groups:
        parent = key.rpartition(".")[0] if nested and "." in key else None
        groups[key] = GraphGroup(key, key, parent)
        if parent is None:
            return
        key = parent


# ------------------------------------------------------------------ layout


def _layout(nodes, edges, groups):
    """Rows: each module a band of consecutive rows (modules placed as their outputs feed
    each other, parameters right above the op that uses them), or, when modules feed each
    other in a cycle, rows by longest path from the output. In each row nodes ordered by
    module, then by the mean position of their neighbours; x placed near the neighbours'
    mean without overlaps. Returns the page's width and height."""
    row_of = _banded_rows(nodes, edges, groups)
    if row_of is None:
        row_of = _depth_rows(nodes, edges)
    top = max(row_of.values(), default=0)
    for node in nodes:
        node.row = row_of[node.id]
    for node in nodes:
        node.width = max(96, 7.2 * len(node.label) + 24)
    for e in edges:  # room for the label of an edge leaving the node (10 px type, ~5.6 px a character)
        node = nodes[e.src]
        node.width = max(node.width, 5.6 * len(describe_tensor(e.shape, e.dtype, e.bytes)) + 4)
    neighbours = {node.id: [] for node in nodes}
    for e in edges:
        neighbours[e.src].append(e.dst)
        neighbours[e.dst].append(e.src)
    rows = [[] for _ in range(top + 1)]
    for node in nodes:
        rows[node.row].append(node)
    gkey = _group_sort_keys(groups)
    pos = {}
    for r in rows:
        for i, node in enumerate(r):
            pos[node.id] = i
    for sweep in range(4):  # order within layers: module first, then neighbours' barycentre
        seq = rows if sweep % 2 == 0 else rows[::-1]
        for r in seq:
            def bary(node):
                ns = neighbours[node.id]
                return sum(pos[m] for m in ns) / len(ns) if ns else pos[node.id]
            r.sort(key=lambda node: (gkey.get(node.module, ()), bary(node)))
            for i, node in enumerate(r):
                pos[node.id] = i
    for r in rows:  # first placement: packed from the left
        x = 0.0
        for i, node in enumerate(r):
            x += (_sep(r[i - 1], node) if i else node.width / 2)
            node.x = x
    for it in range(8):  # pull each node towards its neighbours, keeping order and spacing
        seq = rows if it % 2 == 0 else rows[::-1]
        for r in seq:
            want = [sum(nodes[m].x for m in neighbours[n.id]) / len(neighbours[n.id]) if neighbours[n.id] else n.x
                    for n in r]
            left = list(want)
            for i in range(1, len(r)):
                left[i] = max(want[i], left[i - 1] + _sep(r[i - 1], r[i]))
            right = list(want)
            for i in range(len(r) - 2, -1, -1):
                right[i] = min(want[i], right[i + 1] - _sep(r[i], r[i + 1]))
            xs = [(a + b) / 2 for a, b in zip(left, right)]
            for i in range(1, len(r)):
                xs[i] = max(xs[i], xs[i - 1] + _sep(r[i - 1], r[i]))
            for n, x in zip(r, xs):
                n.x = x
    margin = 40 + 14 * _max_nesting(groups)
    shift = margin - min((n.x - n.width / 2 for n in nodes), default=0)
    ys = _row_tops(rows, groups, margin + 10)
    for n in nodes:
        n.x += shift
        n.y = ys[n.row]
    _group_boxes(nodes, groups)
    xs = [n.x + n.width / 2 for n in nodes] + [g.box[0] + g.box[2] for g in groups.values()]
    width = max(xs, default=0) + margin
    height = ys[-1] + NODE_HEIGHT + margin
    return width, height


def _chains(nodes, groups):
    """Each node's module groups, outermost first."""
    out = {}
    for n in nodes:
        chain, k = [], n.module
        while k is not None:
            chain.append(k)
            k = groups[k].parent
        out[n.id] = tuple(reversed(chain))
    return out


def _banded_rows(nodes, edges, groups):
    """Compound layering: inside each module (and at the top level) its parts (nested
    modules, laid out first, and single nodes) are placed as early as their inputs allow,
    parts with no input as late as their users allow; None if the parts of some module
    feed each other in a cycle."""
    chains = _chains(nodes, groups)
    members = {}
    for nid, chain in chains.items():
        for level in range(len(chain) + 1):
            members.setdefault(chain[:level], []).append(nid)

    def place(scope):  # (height, {node id: row inside the scope})
        level = len(scope)

        def unit(nid):
            chain = chains[nid]
            return ("g", chain[level]) if len(chain) > level else ("n", nid)

        inside = set(members[scope])
        units, local = {}, {}
        for nid in members[scope]:
            u = unit(nid)
            if u not in units:
                if u[0] == "g":
                    sub = place(scope + (u[1],))
                    if sub is None:
                        return None
                    units[u], local[u] = sub
                else:
                    units[u], local[u] = 1, {nid: 0}
        succ, pred = {u: set() for u in units}, {u: set() for u in units}
        for e in edges:
            if e.src in inside and e.dst in inside:
                a, b = unit(e.src), unit(e.dst)
                if a != b:
                    succ[a].add(b)
                    pred[b].add(a)
        count = {u: len(pred[u]) for u in units}
        ready = [u for u in units if not count[u]]
        topo = []
        while ready:
            u = ready.pop()
            topo.append(u)
            for v in succ[u]:
                count[v] -= 1
                if not count[v]:
                    ready.append(v)
        if len(topo) < len(units):
            return None
        offset = {}
        for u in topo:
            offset[u] = max((offset[p] + units[p] for p in pred[u]), default=0)
        for u in topo:
            if not pred[u] and succ[u]:
                offset[u] = min(offset[s] for s in succ[u]) - units[u]
        rows = {nid: offset[u] + r for u in units for nid, r in local[u].items()}
        return max(offset[u] + units[u] for u in units), rows

    placed = place(())
    return None if placed is None else placed[1]


def _depth_rows(nodes, edges):
    """Rows by longest path from the output: the output at the bottom."""
    producers = {n.id: [] for n in nodes}
    users = {n.id: 0 for n in nodes}
    for e in edges:
        producers[e.dst].append(e.src)
        users[e.src] += 1
    depth, ready = {0: 0}, [0]
    while ready:
        n = ready.pop()
        for p in producers[n]:
            depth[p] = max(depth.get(p, 0), depth[n] + 1)
            users[p] -= 1
            if not users[p]:
                ready.append(p)
    top = max(depth.values(), default=0)
    return {i: top - d for i, d in depth.items()}


def _row_tops(rows, groups, y0):
    """The y of each row: ROW_HEIGHT apart, plus room for the titles of the module boxes
    that open on a row and the bottom padding of those that close on the row above."""
    first, last = {}, {}
    for r, row in enumerate(rows):
        for n in row:
            k = n.module
            while k is not None:
                first.setdefault(k, r)
                last[k] = r
                k = groups[k].parent
    ys, y = [], y0
    for r, row in enumerate(rows):
        opening = max((sum(1 for k in _ancestors(n.module, groups) if first[k] == r) for n in row), default=0)
        closing = max((sum(1 for k in _ancestors(n.module, groups) if last[k] == r - 1) for n in rows[r - 1]),
                      default=0) if r else 0
        y += (ROW_HEIGHT + 24 * opening + 10 * closing) if r else 0
        ys.append(y)
    return ys


def _ancestors(key, groups):
    while key is not None:
        yield key
        key = groups[key].parent


def _sep(a, b):
    gap = GAP if a.module == b.module else MODULE_GAP
    return a.width / 2 + gap + b.width / 2


def _group_sort_keys(groups):
    """Sort key of each group: the ranks (first seen in forward) of its ancestors and itself,
    so that nested groups stay next to each other."""
    rank = {k: i for i, k in enumerate(groups)}
    keys = {}
    for k, g in groups.items():
        chain, p = [], k
        while p is not None:
            chain.append(rank[p])
            p = groups[p].parent
        keys[k] = tuple(reversed(chain))
    return keys


def _max_nesting(groups):
    def height(k):
        kids = [c for c, g in groups.items() if g.parent == k]
        return 1 + max((height(c) for c in kids), default=0)
    return max((height(k) for k, g in groups.items() if g.parent is None), default=0)


def _group_boxes(nodes, groups):
    """Each group's box: around its nodes and nested groups, with padding and a title."""
    kids = {k: [] for k in groups}
    for k, g in groups.items():
        if g.parent is not None:
            kids[g.parent].append(k)

    def box(k):
        g = groups[k]
        rects = [(nodes[i].x - nodes[i].width / 2, nodes[i].y, nodes[i].width, NODE_HEIGHT) for i in g.nodes]
        rects += [box(c) for c in kids[k]]
        x0 = min(r[0] for r in rects) - 12
        y0 = min(r[1] for r in rects) - 24
        x1 = max(r[0] + r[2] for r in rects) + 12
        y1 = max(r[1] + r[3] for r in rects) + 10
        g.box = (x0, y0, x1 - x0, y1 - y0)
        return g.box

    for k, g in groups.items():
        if g.parent is None:
            box(k)


def describe_tensor(shape, dtype, nbytes):
    """'3×4 float32 · 48 B': how edges and the node panel name a tensor."""
    return f"{_shape(shape)} {dtype} · {_fmt(nbytes)}"
