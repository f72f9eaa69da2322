"""Sources written where a later copy would put them (a pass over generated code).

Attention's generated backward makes q's, k's and v's gradients as batched products in the heads'
(B, H, T, hd) layout, views each as (B, T, C) by transposes and a reshape (a copy: the transposed
view is not contiguous) and joins the three with ``np.concatenate`` (a second copy); its forward's
``(att @ v).transpose(1, 2).contiguous()`` copies once. ``place`` rewrites a join, or a copy, whose
part is such a chain of single-use views of one source: the join's (or copy's) array is made
first, and the source is written into the view of it that undoes the chain's view ops: a product
as ``np.matmul(a, b, out=view)`` where that view is an operand BLAS writes (its last axis of unit
stride: the same gemm calls, only the output's leading dimension differs, so the same values),
any other source by one ``np.copyto`` into the view. The values are the same bits.
"""

import ast
import re

import numpy as np

_DEF = re.compile(r"    (\w+) = (.+)")
_VIEW = re.compile(r"(\w+)\.(transpose|reshape)\((\(.*\))\)")
_CONCAT = re.compile(r"np\.concatenate\(\[([\w, ]+)\], (-?\d+)\)")
_COPY = re.compile(r"_owned\((\w+)\)|(\w+)\.copy\(\)")
_VAR = re.compile(r"\b(?:[vgbrc]\d+\w*)\b")


def into(buf, spec):
    """The view of ``buf`` that ``spec`` = (index, steps) names: ``buf[index]``, then each step, a new shape
    (as a view: it never copies) or a transpose."""
    index, steps = spec
    v = buf[index]
    for kind, arg in steps:
        if kind == "shape":
            v = v.view()
            v.shape = arg
        else:
            v = v.transpose(arg)
    return v


def _blas_out(v):
    """Whether np.matmul writes ``v`` through BLAS (NumPy's test for a matrix operand: the last axis
    of unit stride, rows at least a row apart)."""
    size = v.itemsize
    return v.ndim >= 2 and v.dtype in (np.float32, np.float64) and v.strides[-1] == size \
        and v.strides[-2] % size == 0 and v.strides[-2] // size >= max(v.shape[-1], 1)


class _Body:
    """The lines of a generated function with where each top-level name is bound and read."""

    def __init__(self, body):
        self.lines = list(body)
        self.defs, self.uses = {}, {}
        for i, line in enumerate(body):
            m = _DEF.fullmatch(line)
            if m:
                self.defs.setdefault(m.group(1), []).append(i)
            if not line.lstrip().startswith("del "):
                for name in set(_VAR.findall(line)):
                    self.uses[name] = self.uses.get(name, 0) + 1

    def rhs(self, name):
        at = self.defs.get(name, [])
        return (at[0], _DEF.fullmatch(self.lines[at[0]]).group(2)) if len(at) == 1 else (None, None)


def place(body, meta, ns, matmuls):
    """``body`` (a generated function's lines, after its dels are written) with each join or copy of view
    chains written as above. ``meta(name)``: (shape, dtype) of a slot's array variable or None; ``ns``:
    the generated code's globals (view specs are added as constants); ``matmuls``: the names of the
    constants that are the NumPy product."""
    b = _Body(body)
    count = 0
    edits = {}  # line -> replacement lines (None: removed)
    gone = set()  # names no longer bound
    first = {}  # sink name -> the line its array must be made before
    for i, line in enumerate(b.lines):
        m = _DEF.fullmatch(line)
        if not m:
            continue
        name, rhs = m.groups()
        if b.defs[name][0] != i:
            continue  # (a name bound before: its array made early would replace the value read meanwhile)
        sink = _sink(rhs, name, meta)
        if sink is None:
            continue
        shape, dtype, parts = sink
        done = []
        for index, part in parts:
            plan = _chain(b, part, meta, matmuls, i)
            if plan is None:
                continue
            steps, source, views, matmul, source_shape = plan
            try:
                view = into(np.empty(shape, dtype), (index, steps))
            except (AttributeError, ValueError):
                continue  # (a reshape that is no view of the part's place)
            if view.shape != source_shape:
                continue
            key = f"_into{count}"
            while key in ns:  # (another function of the same code has its own)
                count += 1
                key = f"_into{count}"
            ns[key] = (index, tuple(steps))
            if matmul is not None and _blas_out(view):
                at = b.defs[source][0]
                edits[at] = [f"    np.matmul({matmul[0]}, {matmul[1]}, out=_into({name}, {key}))"]
                removed = set(views) | {source}
            else:
                at = b.defs[views[0]][0]
                edits[at] = [f"    np.copyto(_into({name}, {key}), {source})"]
                removed = set(views)
            for v in views:
                if b.defs[v][0] != at:
                    edits[b.defs[v][0]] = None
            gone |= removed
            done.append(part)
            first[name] = min(first.get(name, at), at)
        if not done:
            continue
        rest = [f"    np.copyto({name}[{_index_src(index)}], {part})" for index, part in parts if part not in done]
        edits[i] = rest or None
    if not edits:
        return body
    ns["_into"] = into
    out = []
    makes = {at: name for name, at in first.items()}
    for i, line in enumerate(b.lines):
        if i in makes:
            shape, dtype = meta(makes[i])
            key = f"_dtype_{makes[i]}"
            ns[key] = np.dtype(dtype)
            out.append(f"    {makes[i]} = np.empty({shape!r}, {key})")
        if i in edits:
            out += edits[i] or []
            continue
        if line.startswith("    del "):
            names = [n for n in line[8:].split(", ") if n not in gone]
            if names:
                out.append("    del " + ", ".join(names))
            continue
        out.append(line)
    return out


def _index_src(index):
    return ", ".join(f"{s.start}:{s.stop}" if isinstance(s, slice) and s.start is not None else ":" for s in index)


def _sink(rhs, name, meta):
    """(shape, dtype, [(index into the sink's array, part name)]) of a join or a copy, else None."""
    out = meta(name)
    if out is None:
        return None
    shape, dtype = out
    m = _CONCAT.fullmatch(rhs)
    if m:
        names = m.group(1).split(", ")
        if len(set(names)) != len(names):
            return None  # (one array joined twice: its source would fill one place only)
        axis = int(m.group(2)) % len(shape)
        parts, off = [], 0
        for p in names:
            pm = meta(p)
            if pm is None or pm[1] != dtype:
                return None
            w = pm[0][axis]
            parts.append(((slice(None),) * axis + (slice(off, off + w),), p))
            off += w
        return (shape, dtype, parts) if off == shape[axis] else None
    m = _COPY.fullmatch(rhs)
    if m:
        part = m.group(1) or m.group(2)
        pm = meta(part)
        if pm is None or pm != out:
            return None
        return shape, dtype, [((), part)]
    return None


def _chain(b, part, meta, matmuls, sink_line):
    """How ``part`` is made: (view steps from the part's shape back to the source's, source name, the
    chain's view names from the source's consumer to the part, (a, b) of a product source or None, the
    source's shape); None unless part is a chain of transposes and reshapes (at least one) of one
    source, each (and the source) read by the next only."""
    if b.uses.get(part) != 2:  # (its line and the sink)
        return None
    shape = meta(part)
    if shape is None:
        return None
    shape = shape[0]
    steps, views, cur = [], [], part
    while True:
        at, rhs = b.rhs(cur)
        if at is None or at >= sink_line:
            return None
        m = _VIEW.fullmatch(rhs)
        if not m:
            break
        if b.uses.get(cur) != 2:  # (a view read elsewhere too)
            return None
        src, kind, arg = m.groups()
        arg = ast.literal_eval(arg)
        views.append(cur)
        if kind == "transpose":
            inverse = tuple(int(k) for k in np.argsort(arg))
            steps.append(("perm", inverse))
            shape = tuple(shape[k] for k in inverse)
        else:
            sm = meta(src)
            if sm is None or int(np.prod(sm[0])) != int(np.prod(shape)):
                return None
            shape = sm[0]
            steps.append(("shape", shape))
        cur = src
    if not views or b.uses.get(cur) != 2:  # (the source: its line and its view's, nothing else reads it)
        return None
    views.reverse()  # (from the source's consumer to the part)
    source = cur
    matmul = None
    try:
        call = ast.parse(rhs, mode="eval").body
    except SyntaxError:
        call = None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in matmuls \
            and len(call.args) == 2 and not call.keywords:
        matmul = tuple(ast.unparse(a) for a in call.args)
    return steps, source, views, matmul, shape
