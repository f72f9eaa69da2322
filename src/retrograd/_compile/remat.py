"""Rematerialization: a pass over a training step's generated lines (codegen's ``run``).

A value the forward computes from one array and a number (``X = A * 0.5``, ``X = T + 1.0``, pow's
``X = A * A``) and the backward reads again is kept alive from the forward to the backward, one more
array that the backward reads back from memory. Where ``A`` is alive at that backward read anyway,
or where two or more such values of one ``A`` would be kept (then keeping ``A`` alone is fewer
arrays), ``X`` is computed again from ``A`` just before the backward's first read of it (named
``X_r``), and the forward's ``X`` dies after its last forward read: its array goes back to the
allocator while in cache and can take a later result (codegen's _write_into_dying). The same ufunc
on the same values: the same bits. As torch's inductor recomputes cheap pointwise values in its
backward rather than saving them.

Only where nothing can change ``A``'s values in between: ``A`` and ``X`` bound once, and every line
after ``X``'s that names ``A``, ``X`` or a view of ``A`` (or what ``A`` views) is a plain
expression of variables and numbers (operators, NumPy functions without ``out=``) or a ``del``.
Measured on the gpt2 workload's compiled step (its GELU's 0.5 x, x * x and tanh + 1 of 4 layers):
sum of per-line minimum thread times 10.85 -> 10.69 ms, whole step minimum 12.59 -> 12.08 ms (one
BLAS thread, 300 interleaved runs on a loaded machine).
"""

import re

_DEF = re.compile(r"(    |        )(v\d+\w*) = (\w+) ([-+*]) (\w+)")
_NAMES = re.compile(r"\b[vgbrc]\d+\w*\b")
_VIEW = re.compile(r"    (\w+) = (\w+)(?:\.reshape\(|\.transpose\(|\.view\(|\.T\b|\.swapaxes\(|\[|$)")
_EXTERNAL = re.compile(r"    (\w+) = [TS]\[")  # an input's or live tensor's array (an optimizer writes a parameter's)
# what a line that only reads its arrays may call: NumPy functions, view and reduction methods, and the
# generated code's helpers that write only into an operand that dies there (codegen's _into_*, _acc)
_CALLEE = re.compile(r"([\w.]+)\(")
_PURE_CALL = re.compile(r"np\.\w+|_into_\w+|_acc|_clip_into|[\w.]+\.(?:reshape|transpose|swapaxes|sum|clip|copy|view)")
_INPLACE = re.compile(r"out=|[-+*/]=|\]\s*=|\.shape\s*=|np\.(?:copyto|put|place|putmask|fill_diagonal)\(")

SUFFIX = "_r"


def remat(body, starts, weak, big=lambda name: True):
    """``body`` (the run's lines, one level indented, before codegen's dels) with the values above
    computed again in the backward. ``starts``: the line index where each backward() call's lines
    begin; ``weak(name)``: whether a constant's name holds a Python number; ``big(name)``: whether a
    value is large enough that keeping it costs more than a call computing it again (a small array
    kept stays in cache)."""
    statements, owner = _statements(body)
    binds = {}
    for k, (a, b) in enumerate(statements):
        for i in range(a, b + 1):
            line = body[i]
            if " = " in line and not line.lstrip().startswith(("if ", "with ", "return", "del ")):
                for name in _NAMES.findall(line.split(" = ", 1)[0]):
                    binds[name] = binds.get(name, 0) + 1
    uses = {}
    for i, line in enumerate(body):
        for name in set(_NAMES.findall(line)):
            uses.setdefault(name, []).append(i)
    groups = _view_groups(body)
    external = {m.group(1) for m in map(_EXTERNAL.match, body) if m}
    candidates = {}  # A -> [(X, def line, first late read, the with header or None)]
    for d, line in enumerate(body):
        m = _DEF.fullmatch(line)
        if m is None:
            continue
        indent, x, p, op, q = m.groups()
        header = None
        if indent == "        ":
            header = body[statements[owner[d]][0]]
            if not header.startswith("    with "):
                continue
        if p == q:
            a = p
        elif weak(q) and _NAMES.fullmatch(p):
            a = p
        elif weak(p) and _NAMES.fullmatch(q):
            a = q
        else:
            continue
        later = [s for s in starts if s > d]
        if not later or binds.get(x) != 1 or binds.get(a, 0) > 1 or not big(x):
            continue
        late = [i for i in uses[x] if i >= later[0]]
        if not late or not all(i > d for i in uses[x] if i != d):
            continue
        group = groups.get(a, {a})
        if group & external or not _untouched(body, d, {x} | group):
            continue
        candidates.setdefault(a, []).append((x, d, late[0], header))
    chosen = []
    for a, found in candidates.items():
        if a in {x for xs in candidates.values() for x, _, _, _ in xs}:
            continue  # (A itself computed again: left as it is)
        alive = max(uses.get(a, [-1]))
        kept = [c for c in found if alive >= c[2]]
        if len(found) >= 2:
            kept = found
        chosen += kept
    if not chosen:
        return body
    out = list(body)
    inserts = {}
    for x, d, first, header in chosen:
        at = statements[owner[first]][0]
        text = body[d].strip()
        new = x + SUFFIX
        rhs = text.split(" = ", 1)[1]
        lines = [header, f"        {new} = {rhs}"] if header else [f"    {new} = {rhs}"]
        inserts.setdefault(at, []).extend(lines)
        word = re.compile(rf"\b{x}\b")
        for i in range(first, len(body)):
            out[i] = word.sub(new, out[i])
    result = []
    for i, line in enumerate(out):
        result.extend(inserts.get(i, ()))
        result.append(line)
    return result


def _statements(body):
    """[first, last] line of each top-level statement, and each line's statement."""
    statements, owner = [], []
    for i, line in enumerate(body):
        if line.startswith("        ") and statements:
            statements[-1][1] = i
        else:
            statements.append([i, i])
        owner.append(len(statements) - 1)
    return statements, owner


def _view_groups(body):
    """name -> the set of names whose arrays may share its memory (views and aliases, transitively)."""
    parent = {}

    def root(n):
        while parent.get(n, n) != n:
            n = parent[n]
        return n

    for line in body:
        m = _VIEW.match(line)
        if m and _NAMES.fullmatch(m.group(2)):
            parent[root(m.group(1))] = root(m.group(2))
    groups = {}
    for n in list(parent):
        groups.setdefault(root(n), set()).update({n, root(n)})
    return {n: groups[root(n)] for n in parent} | {r: g for r, g in groups.items()}


def _untouched(body, d, names):
    """Whether every line after ``d`` that names one of ``names`` only reads it (see the module docstring)."""
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
    for line in body[d + 1:]:
        if not pattern.search(line):
            continue
        s = line.strip()
        if s.startswith("del ") or s.startswith("with np.errstate("):
            continue
        if _INPLACE.search(s) or not all(_PURE_CALL.fullmatch(c) for c in _CALLEE.findall(s)):
            return False
    return True
