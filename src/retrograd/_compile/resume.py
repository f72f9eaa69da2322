"""Resuming after a graph break: the compiled function split at its statements.

When a capture breaks (graph_break.py notes where the compiled function's own frame was), the
function is rebuilt from its source (``inspect.getsource`` and ``ast``) as a **driver** and
**segments**. Each maximal run of statements that did not break becomes a segment function,
compiled (compiled.py's ``Compiled``: captured on its first call, replayed after, guarded as
any compiled function); the statement that broke runs eagerly in the driver; an ``if``,
``for``, ``while`` or ``with`` holding a break (in its test or in its body) runs as Python
control flow in the driver, its body split the same way, so the non-breaking part of a loop
body is replayed on every iteration. The locals flow between them: a segment takes the
locals it reads and returns the ones it assigns that are read later. A simple statement that
breaks is split in A-normal form around the call that broke (``Plan._anf``), in Python's
evaluation order: what it evaluates before the call is assigned to temporaries at the end of the
segment before, the call runs eagerly, and the rest of the statement starts the segment after, as
torch's resume functions start right after the breaking instruction (``y = m2(h *
x.sum().item()) + m3(z)``: ``x.sum()`` before; ``m2``, ``m3`` and ``+`` after). Where that cannot
be (a break evaluated conditionally or repeatedly, an ``if``/``while`` test) the statement runs
eagerly, and the tensor expression a value read called from the function itself reads
(``loss.sum()`` of ``print(loss.sum().item())``, ``x.sum() > 0`` of ``if x.sum() > 0:``) is
computed at the end of the segment before.

Segments run with the function's globals and closure cells (the code is compiled with the
function's file name and line numbers, so tracebacks and later breaks point at the user's
lines). A later break inside a segment adds its statement and the split is rebuilt for the
next call. Functions that cannot be split this way run eagerly for the guard set, as before:
no source, lambdas, generators and coroutines, ``global``/``nonlocal``, inner functions that
close over the function's locals, zero-argument ``super()``, name mangling, ``locals()``, and
a break inside ``try``/``match`` or an ``async`` block (``Unsplittable`` names why).
"""

import __future__
import ast
import copy
import inspect
import linecache
import types

from ..autograd.graph import _modules as _module_stack
from .graph_break import VOLATILE, has_hooks

_FUTURE = 0
for _name in __future__.all_feature_names:
    _FUTURE |= getattr(__future__, _name).compiler_flag
_GENERATOR = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_FORBIDDEN_NAMES = ("super", "locals", "vars", "exec", "eval", "__class__")  # need the original frame
# Tensor methods whose receiver, a tensor expression, is computed in the segment before the break
VALUE_READS = ("item", "tolist", "numpy")
_SEGS, _UNBOUND_NAME = "__rg_segs", "__rg_unbound"


class Unsplittable(Exception):
    """The function cannot be split at its statements (the message says why)."""


class _Unbound:
    """What a segment takes or returns for a local that is not bound (yet)."""

    def __repr__(self):
        return "<unbound local>"


UNBOUND = _Unbound()


def target(fn):
    """(the Python function whose frame runs the compiled code, the object it is bound to or None):
    a module's ``forward`` (also through ``Module.compile``'s ``_call_impl``), a bound method's
    function, or the function itself."""
    from ..nn.module import Module

    if isinstance(fn, Module):
        fn = fn.forward
    owner = getattr(fn, "__self__", None)
    func = getattr(fn, "__func__", fn)
    if isinstance(owner, Module) and func is Module._call_impl:
        fn = owner.forward
        owner, func = getattr(fn, "__self__", None), getattr(fn, "__func__", fn)
    return func, owner


def target_code(fn):
    func, _ = target(fn)
    return getattr(func, "__code__", None)


class Split:
    """``fn`` as a driver and compiled segments (see the module docstring). ``breaks`` are the
    breaks seen so far, by position; ``add`` takes new ones (the plan is rebuilt on the next call)."""

    def __init__(self, fn, make_segment):
        from ..nn.module import Module

        self.fn = fn
        self.func, self.owner = target(fn)
        # a module's forward: called as Module.__call__ calls it (on its module stack); `hooked`: a call
        # of the module itself, whose hooks run (so the call runs eagerly when it has some)
        self.module = self.owner if isinstance(self.owner, Module) else None
        self.hooked = self.module is not None and (
            self.owner is fn or getattr(fn, "__func__", None) is Module._call_impl)
        self.make_segment = make_segment  # (segment function, label) -> a compiled callable
        self.source = _Source(self.func)
        self.breaks = {}  # position -> GraphBreak
        self.plan = None

    def add(self, breaks):
        """Take the breaks of a capture; True if one of them was new."""
        new = False
        for b in breaks:
            if b.position is not None and b.position not in self.breaks:
                self.breaks[b.position] = b
                new = True
        if new:
            self.plan = None
        return new

    def current(self):
        if self.plan is None:
            self.plan = Plan(self.source, list(self.breaks.values()), self)
        return self.plan

    def __call__(self, plan, args, kwargs):
        driver, func = plan.driver, self.func
        if driver.__defaults__ is not func.__defaults__ or driver.__kwdefaults__ != func.__kwdefaults__:
            # (the function's defaults rebound since the plan was made: the driver takes them as the function
            # would; a default changed in place is the same object)
            driver.__defaults__, driver.__kwdefaults__ = func.__defaults__, func.__kwdefaults__
        if self.owner is None:
            return plan.driver(*args, **kwargs)
        if self.module is None:
            return plan.driver(self.owner, *args, **kwargs)
        if self.hooked and has_hooks(self.owner):  # a module's call with hooks: run them (eagerly, as a capture would)
            return self.fn(*args, **kwargs)
        stack = _module_stack.stack  # as Module.__call__ (ops made inside remember the module)
        stack.append(self.owner)
        try:
            return plan.driver(self.owner, *args, **kwargs)
        finally:
            stack.pop()


class _Source:
    """The function's parsed definition, checked to be the code that runs (its bytecode compiled
    again from the source equals the function's)."""

    def __init__(self, func):
        code = getattr(func, "__code__", None)
        if code is None:
            raise Unsplittable("it has no Python code")
        if code.co_flags & _GENERATOR:
            raise Unsplittable("it is a generator or a coroutine")
        if code.co_name == "<lambda>":
            raise Unsplittable("it is a lambda")
        try:
            lines, first = inspect.getsourcelines(func)
        except (OSError, TypeError) as e:
            raise Unsplittable(f"its source is not available ({e})") from None
        text = "".join(lines)
        wrapped = text[:1] in " \t"  # an indented definition (a method): parsed inside `if 1:`
        try:
            tree = ast.parse("if 1:\n" + text if wrapped else text)
        except SyntaxError as e:
            raise Unsplittable(f"its source does not parse alone ({e.msg})") from None
        ast.increment_lineno(tree, first - 2 if wrapped else first - 1)
        node = tree.body[0].body[0] if wrapped else tree.body[0]
        if not isinstance(node, ast.FunctionDef) or node.name != code.co_name:
            raise Unsplittable("its source is not a def statement")
        for n in ast.walk(node):
            if code.co_cellvars and n is not node and isinstance(n, _INNER):
                # (list, set and dict comprehensions run at once: each split part may have its own cell)
                raise Unsplittable(f"an inner function or generator closes over its locals {list(code.co_cellvars)}")
            if isinstance(n, (ast.Global, ast.Nonlocal)):
                raise Unsplittable("it has a global or nonlocal statement")
            if isinstance(n, ast.Name) and n.id in _FORBIDDEN_NAMES:
                raise Unsplittable(f"it calls {n.id}(), which needs its own frame")
        self.func, self.code, self.node = func, code, node
        self.flags = code.co_flags & _FUTURE
        self.filename = code.co_filename
        self.imports = _module_imports(code.co_filename)
        self.locals = set(code.co_varnames)
        self.params = _params(node.args)
        original = self.compile([node])[code.co_name]
        if (original.co_code, original.co_names, original.co_varnames) != (code.co_code, code.co_names,
                                                                            code.co_varnames):
            raise Unsplittable("its source differs from the code that runs (edited since it was loaded, or "
                               "names mangled in a class)")

    def compile(self, defs, extra=()):
        """Compile function definitions inside a factory whose parameters are the function's free
        variables (and ``extra``); returns {name: code}."""
        factory = ast.FunctionDef(
            name="__rg_factory", args=_arguments([*self.code.co_freevars, *extra]),
            body=[*defs, ast.Return(ast.Constant(None))], decorator_list=[], returns=None, type_comment=None)
        # (never run: the module's imports, as the compiler calls an imported module's functions
        # with LOAD_ATTR where it calls methods with LOAD_METHOD)
        module = ast.Module(body=[*self.imports, factory], type_ignores=[])
        ast.copy_location(factory, self.node)
        ast.fix_missing_locations(module)
        outer = compile(module, self.filename, "exec", flags=self.flags, dont_inherit=True)
        factory_code = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
        return {c.co_name: c for c in factory_code.co_consts if isinstance(c, types.CodeType)}

    def function(self, code, cells, defaults=None, kwdefaults=None):
        """A function of ``code`` with the function's globals and, for each free variable, the
        function's own cell or one of ``cells`` (name -> cell)."""
        own = dict(zip(self.code.co_freevars, self.func.__closure__ or ()))
        closure = tuple(own[n] if n in own else cells[n] for n in code.co_freevars)
        f = types.FunctionType(code, self.func.__globals__, code.co_name, defaults, closure)
        f.__kwdefaults__ = kwdefaults
        return f


class Plan:
    """One split of the function for a set of breaks: ``driver`` (the function to call instead)
    and ``segments`` (each a compiled callable), ``ranges`` (source range -> segment index, or
    None where the code runs eagerly: explain attributes the captured ops by it)."""

    def __init__(self, source, breaks, split):
        self.source = source
        self.breaks = breaks
        self.temps = set()  # the temporaries' names (each read once: the driver drops it after that read)
        self.defs = []  # segment FunctionDefs
        self.labels = []
        # (start, end, segment index or None, run, graph): an eager statement's run (the breaks of the
        # pieces of one statement with no graph between them count as one, as torch counts them); the
        # graph (as torch counts them) a segment's ops belong to (segments with no breaking statement
        # between them are one), or an eager operation's that torch's graph would hold (see _anf)
        self.ranges = []
        self.forced = set()  # ids of the statements run eagerly though they hold no break (see _anf)
        self.combines = set()  # ids of the eager statements combining a value read's result (see _anf)
        self.alone = set()  # ids of the statements computing on a float value read's result (see _ends_segment)
        self.graph = 0  # the graph the next segment belongs to
        self.runs = 0  # segments made so far
        self.jumps = set()  # ids of the breaks that are an if/while test's truth test, moved to the driver
        self.controls = set()  # ids of the if statements whose test was hoisted: run by the driver
        node = source.node
        self.names = set(source.locals)
        body = self._body(node.body, set(), set(source.params))
        driver = ast.FunctionDef(name=node.name, args=_strip(node.args), body=body or [ast.Pass()],
                                 decorator_list=[], returns=None, type_comment=None)
        ast.copy_location(driver, node)
        codes = source.compile([driver, *self.defs], extra=(_SEGS, _UNBOUND_NAME))
        cells = {_SEGS: types.CellType(), _UNBOUND_NAME: types.CellType(UNBOUND)}
        self.segments = [split.make_segment(source.function(codes[d.name], cells), label)
                         for d, label in zip(self.defs, self.labels)]
        cells[_SEGS].cell_contents = self.segments
        self.driver = source.function(codes[node.name], cells, source.func.__defaults__,
                                      source.func.__kwdefaults__)

    def locate(self, position):
        """The graph (as torch counts them) whose segment holds source ``position`` (None: eager or unknown)."""
        best = _innermost(position, self.ranges)
        return None if best is None else best[4]

    def statement(self, position):
        """The break run of the innermost statement run eagerly that holds ``position`` (None if none): the
        breaks of one run count as one."""
        best = _innermost(position, [r for r in self.ranges if r[2] is None])
        return None if best is None else best[3]

    # ------------------------------------------------------------------ statements
    def _breaks_in(self, node):
        return [b for b in self.breaks if id(b) not in self.jumps and _inside(b.position, node)]

    def _body(self, stmts, after, defined):
        """The driver's statements for ``stmts``; ``after``: the names read after them; ``defined``
        (updated): the names surely bound."""
        items, origins = [], []
        for s in stmts:
            pieces = self._hoist(s, self._breaks_in(s))
            items.extend(pieces)
            origins.extend([s] * len(pieces))
        out, i = [], 0
        while i < len(items):
            s, brk = items[i]
            kind = self._kind(s, brk)
            if kind == "segment":
                j = i + 1
                while j < len(items) and not isinstance(items[j - 1][0], ast.Return) \
                        and not self._ends_segment(items, j) and self._kind(*items[j]) == "segment":
                    j += 1
                later = _loads([t for t, _ in items[j:]]) | after
                out.extend(self._segment([t for t, _ in items[i:j]], later, defined))
                i = j
                continue
            later = _loads([t for t, _ in items[i + 1:]]) | after
            if kind == "control":
                out.append(self._control(s, later, defined))
            else:  # eager or inline: the statement itself, in the driver
                if kind == "eager":
                    self._eager(s, origins[i], brk, id(s) in self.combines)
                out.append(s)
                out.extend(self._release(_loads([s]), s))
                defined |= _definite([s])
            i += 1
        return out

    def _ends_segment(self, items, j):
        """A statement computing on a float value read's result ends its segment where a backward() comes
        later in it: what it computes may require grad without that backward() going through it (a logged
        ``loss.item() + reg(w)``), which a training step's graph does not return (capture.py)."""
        return id(items[j - 1][0]) in self.alone and any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "backward"
            for t, _ in items[j:] for n in ast.walk(t))

    def _kind(self, s, brk):
        compound = isinstance(s, (ast.If, ast.For, ast.While, ast.With))
        if id(s) in self.controls:
            return "control"
        if id(s) in self.forced:
            return "eager"
        if brk and not compound and not _has_body(s):
            return "eager"
        if compound and (brk or _escapes(s)):
            return "control"
        if brk or (_has_body(s) and _escapes(s)):
            raise Unsplittable(f"a graph break or a return/break/continue inside a {type(s).__name__} statement "
                               f"(line {s.lineno}) that is not split")
        if _trivial(s):
            return "inline"
        return "segment"

    def _eager(self, s, origin=None, brk=True, combine=False):
        """Note statement ``s`` (a piece of ``origin``) as run eagerly; one holding a break ends a graph;
        the operation of a ``combine`` piece is counted in the graph after it (torch's graph holds it)."""
        if brk:
            self.graph += 1
        self.ranges.append(((s.lineno, s.col_offset), (s.end_lineno, s.end_col_offset), None,
                            (id(origin if origin is not None else s), self.runs), self.graph if combine else None))
        self.runs += combine

    def _control(self, s, after, defined):
        """An if/for/while/with run by the driver, its body split."""
        self._eager(s)
        s = self._split_control(s, after, defined)
        self.graph += 1  # (the segments after it are another graph than those inside)
        return s

    def _split_control(self, s, after, defined):
        s = copy.copy(s)
        if isinstance(s, ast.If):
            d_body, d_else = set(defined), set(defined)
            s.body = self._body(s.body, after, d_body) or [ast.Pass()]
            s.orelse = self._body(s.orelse, after, d_else)
            defined |= d_body & d_else
        elif isinstance(s, ast.With):
            s.body = self._body(s.body, after, defined) or [ast.Pass()]
        else:  # a loop: its body reads again what it and its test read
            again = after | _loads([s])
            inner = set(defined) | (_definite_targets(s.target) if isinstance(s, ast.For) else set())
            s.body = self._body(s.body, again, inner) or [ast.Pass()]
            s.orelse = self._body(s.orelse, after, set(defined))
        return s

    def _hoist(self, s, brk):
        """[(statement, its breaks)]: ``s`` with the tensor expression a direct value read reads
        (``x.sum()`` of ``print(x.sum().item())``, the test of ``if x.sum() > 0:``) assigned first."""
        jumps = [b for b in brk if isinstance(s, (ast.If, ast.While)) and _is_jump(b, s.test, s)]
        if jumps and (isinstance(s, ast.If) or not s.orelse):
            self.jumps.update(id(b) for b in jumps)
            brk = [b for b in brk if b not in jumps]
        if jumps and isinstance(s, ast.If):
            name, assign = self._temp(s.test)
            s = copy.copy(s)
            s.test = _load(name, s.test)
            self.controls.add(id(s))
            inner = self._breaks_in(assign.value)
            return [(assign, inner), (s, [b for b in brk if b not in inner])]
        if jumps and isinstance(s, ast.While) and not s.orelse:
            name, assign = self._temp(s.test)
            stop = ast.If(test=ast.UnaryOp(ast.Not(), _load(name, s.test)), body=[ast.Break()], orelse=[])
            ast.copy_location(stop, s.test)
            forever = ast.copy_location(ast.Constant(True), s.test)
            loop = ast.While(test=forever, body=[assign, stop, *s.body], orelse=[])
            ast.copy_location(loop, s)
            ast.fix_missing_locations(loop)
            self.controls.add(id(loop))
            return [(loop, brk)]
        if not brk or _has_body(s) and not isinstance(s, ast.If):
            return [(s, brk)]
        pieces = self._anf(s, brk)
        if pieces is not None:
            return pieces
        hoisted, rest = [], list(brk)
        for b in brk:
            if not b.direct or b.method not in VALUE_READS or isinstance(s, ast.If) and not _inside(b.position, s.test):
                continue
            call = _find_call(s, b)
            if call is None or not _hoistable(s, call.func.value):
                continue
            value = call.func.value
            name, assign = self._temp(value)
            s = _replace(s, value, _load(name, value))
            inner = [c for c in rest if _inside(c.position, value)]
            hoisted.extend(self._hoist(assign, inner))
            rest = [c for c in rest if c not in inner]
        return [*hoisted, (s, rest)]

    def _anf(self, s, brk):
        """[(statement, its breaks)]: simple statement ``s`` split in A-normal form around its first break
        in Python's evaluation order that one call makes (None where there is none, or the statement
        reorders or repeats evaluation: the caller keeps it eager). The call's operands and what the
        statement evaluates before them are assigned to temporaries first (segment work), names and
        attribute paths (``self.lin``, a method's ``x.sum().item``) read where they are used, except
        that a global or attribute path the statement uses after a call that may run user code is read
        by the driver right before it (the call could rebind it); the call runs eagerly; the rest of the statement, reading the call's result, joins the next segment.
        A value read's result is a Python value: a float (``.item()``, ``float(t)``) in arithmetic goes to
        the next segment, which takes it as a symbolic scalar once it changes (symbolic.py); compared, used
        as an index or a call's argument (where ``.item()``'s int would guard the segment by its value), or
        after any other value read (``.tolist()``, ``int(t)``...), the first operation that
        combines it with something other than constants runs eagerly too, its other operands evaluated
        after the call assigned first."""
        root = _root(s)
        if root is None or any(isinstance(n, _REORDERING) for n in ast.walk(s)):
            return None
        order, parents = _evaluation(root)
        calls = sorted((order[c], n, c, b) for n, b in enumerate(brk) for c in [_break_call(s, b)] if c in order)
        if not calls:
            return None
        _, _, call, b = calls[0]
        chain = [call]  # root ... call
        while chain[0] is not root:
            chain.insert(0, parents[chain[0]][0])
        k = len(chain) - 1  # chain[k]: the operation run eagerly (the call, or what combines its value)
        if b.direct and b.method in _VALUES:
            while k > 0:
                k -= 1
                if not _passes_value(chain[k], chain[k + 1]):
                    break
            if b.method in _symbolic_reads():  # a float: computed on in the segment after, unless compared first
                tests = [j for j in range(k, len(chain) - 1) if _tests_value(chain[j])]
                if tests:
                    k = tests[0]
                elif isinstance(chain[k], ast.BinOp):  # (arithmetic with a tensor: `h * x.item()`; not an
                    k = len(chain) - 1  # index or a call's argument, where an int result would be guarded)
        combine = chain[k]
        value_read = b.direct and b.method in _VALUES  # (a tensor's value read runs no user code)
        reads = value_read and b.method != VOLATILE and isinstance(call.func, ast.Attribute)
        tensor = call.func.value if reads else None  # the tensor a value read reads: computed before it
        mapping, before, between = {}, [], []  # (expression -> its temporary; the assignments before, after)
        early = []  # the names and paths read before the call into temporaries by the driver

        def take(e, func, into):
            if isinstance(e, (ast.Constant, ast.Name)) or e is not tensor and _path(e, func):
                if into is before and not value_read and not _inside_node(e, call) and _rebindable(e, self.names):
                    # read where Python reads it, before a call that may run user code rebinding it (a global,
                    # an attribute): by the driver, into a temporary, right before the call
                    name, assign = self._temp(e)
                    mapping[e] = _load(name, e)
                    early.append(assign)
                return
            if func and isinstance(e, ast.Attribute):  # a method: its receiver computed, the method read at the call
                take(e.value, False, into)
                return
            if func:  # a callable computed (getattr(...)(...)): a segment could not return it
                raise Unsplittable("a computed callable")
            name, assign = self._temp(e)
            mapping[e] = _load(name, e)
            into.append(assign)

        temps = self.temps.copy()
        try:
            for j, a in enumerate(chain):  # what is evaluated before the call, outermost first
                operands = _ordered(a)
                if operands is None:  # (the breaking call's own `*`/`**` arguments: f(**batch))
                    raise Unsplittable("a call with * or ** arguments")
                on_path = parents[chain[j + 1]][1] if a is not call else len(operands)
                for i, (e, _) in enumerate(operands[:on_path]):
                    take(e, isinstance(a, ast.Call) and i == 0, before)
                if a is call:
                    break
        except Unsplittable:  # (the statement stays eager, as before)
            self.names -= self.temps - temps
            self.temps = temps
            return None
        if combine is not call:  # the combining operation's operands evaluated after the call
            on_path = parents[chain[k + 1]][1]
            for e, conditional in _ordered(combine)[on_path + 1:]:
                if conditional:
                    break
                take(e, False, between)
        hoisted = {id(a): [] for a in before + between}
        at_call, at_combine, rest_breaks = [], [], []
        for c in brk:
            owner = c is not b and next((a for a in before + between if _inside(c.position, a.value)), None)
            if owner:
                hoisted[id(owner)].append(c)
            elif c is b or between and _inside(c.position, call):
                (at_call if between else at_combine).append(c)
            elif _inside(c.position, combine):
                at_combine.append(c)
            else:
                rest_breaks.append(c)
        pieces = []
        for a in before:
            pieces.extend(self._hoist(a, hoisted[id(a)]))
        for a in early:
            self.forced.add(id(a))
            pieces.append((a, []))
        if between:  # the call, then the operands after it, then the operation combining them
            name, assign = self._temp(call, _substitute(call, mapping))
            pieces.append((assign, at_call))
            mapping[call] = _load(name, call)
            for a in between:
                pieces.extend(self._hoist(a, hoisted[id(a)]))
        if combine is root:
            eager, rest = _substitute(s, mapping), None
        else:
            name, eager = self._temp(combine, _substitute(combine, mapping))
            rest = _substitute(s, {**mapping, combine: _load(name, combine)})
        if not at_combine:
            self.forced.add(id(eager))
        if combine is not call:
            self.combines.add(id(eager))
        pieces.append((eager, at_combine))
        if rest is not None:
            if combine is call and b.direct and b.method in _symbolic_reads():
                self.alone.add(id(rest))
            pieces.extend(self._hoist(rest, rest_breaks))
        return pieces

    def _temp(self, expr, value=None):
        """(a new temporary's name, its assignment of ``value`` (default ``expr``), placed at ``expr``)."""
        name = f"__rg_t{len(self.temps)}"
        self.temps.add(name)
        self.names.add(name)
        assign = ast.Assign(targets=[ast.Name(name, ast.Store())], value=expr if value is None else value)
        ast.copy_location(assign, expr)
        ast.fix_missing_locations(assign)
        return name, assign

    def _release(self, names, where):
        """``del`` of the temporaries among ``names`` (each is read once: after that read the driver drops
        its reference, so what it holds is freed as when the statement ran whole), or []."""
        temps = sorted(n for n in names if n in self.temps)
        if not temps:
            return []
        drop = ast.Delete([ast.Name(n, ast.Del()) for n in temps])
        ast.copy_location(drop, where)
        ast.fix_missing_locations(drop)
        return [drop]

    def _segment(self, stmts, after, defined):
        """The driver's call of a new segment running ``stmts``."""
        index = len(self.defs)
        first = stmts[0]
        name = f"{self.source.node.name}__segment_{index}_at_line_{first.lineno}"
        returns = isinstance(stmts[-1], ast.Return)
        inputs, assigned = [], set()
        for s in stmts:  # a local read before the segment assigns it is an input
            for n in sorted(_loads([s]) & self.names):
                if n not in assigned and n not in inputs:
                    inputs.append(n)
            assigned |= _definite([s])
        stored = _stores(stmts) & self.names
        outputs = [] if returns else sorted(stored & after)
        for n in outputs:  # an output the segment may leave alone: it passes through
            if n not in assigned and n not in inputs:
                inputs.append(n)
        maybe_in = [n for n in inputs if n not in defined]
        maybe_out = [n for n in outputs if n not in assigned and n not in defined]
        body = [_if_unbound(n, [ast.Delete([ast.Name(n, ast.Del())])]) for n in maybe_in]
        body.extend(copy.deepcopy(stmts))
        if not returns:
            for n in maybe_out:
                body.append(_read_or_unbound(f"__rg_o_{n}", n))
            body.append(ast.Return(ast.Tuple([ast.Name(f"__rg_o_{n}" if n in maybe_out else n, ast.Load())
                                              for n in outputs], ast.Load())))
        seg = ast.FunctionDef(name=name, args=_arguments(inputs), body=body, decorator_list=[], returns=None,
                              type_comment=None)
        ast.copy_location(seg, first)
        ast.fix_missing_locations(seg)
        self.defs.append(seg)
        self.labels.append(f"line {first.lineno}")
        for s in stmts:
            self.ranges.append(((s.lineno, s.col_offset), (s.end_lineno, s.end_col_offset), index, None, self.graph))
        self.runs += 1
        # the driver: bind possibly unbound inputs to UNBOUND, call, unbind what came back UNBOUND
        out = [_read_or_unbound(f"__rg_i_{n}", n) for n in maybe_in]
        call = ast.Call(ast.Subscript(ast.Name(_SEGS, ast.Load()), ast.Constant(index), ast.Load()),
                        [ast.Name(f"__rg_i_{n}" if n in maybe_in else n, ast.Load()) for n in inputs], [])
        if returns:
            out.append(ast.Return(call))
        elif outputs:
            out.append(ast.Assign([ast.Tuple([ast.Name(n, ast.Store()) for n in outputs], ast.Store())], call))
            out.extend(_if_unbound(n, [ast.Delete([ast.Name(n, ast.Del())])]) for n in maybe_out)
        else:
            out.append(ast.Expr(call))
        if not returns:
            out.extend(self._release(inputs, first))
        for s in out:
            ast.copy_location(s, first)
            ast.fix_missing_locations(s)
        defined |= assigned | set(outputs) - set(maybe_out)
        return out


# ---------------------------------------------------------------------- ast helpers
def _module_imports(filename):
    """``import name`` for each name an import statement binds in the module scope of ``filename``."""
    try:
        tree = ast.parse("".join(linecache.getlines(filename)))
    except (SyntaxError, ValueError):
        return []
    names, stack = set(), list(tree.body)
    while stack:
        s = stack.pop()
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in s.names if a.name != "*")
        elif not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(c for c in ast.iter_child_nodes(s) if isinstance(c, ast.stmt))
    return [ast.Import([ast.alias(n)], lineno=1, col_offset=0) for n in sorted(names)]


def _params(args):
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return names


def _arguments(names):
    return ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in names], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])


def _strip(args):
    """The definition's parameters without annotations and defaults (the driver takes the
    function's ``__defaults__``)."""
    args = copy.deepcopy(args)
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            a.annotation = None
    args.defaults = []
    args.kw_defaults = [None] * len(args.kwonlyargs)
    return args


def _load(name, where):
    return ast.copy_location(ast.Name(name, ast.Load()), where)


def _if_unbound(name, body):
    test = ast.Compare(ast.Name(name, ast.Load()), [ast.Is()], [ast.Name(_UNBOUND_NAME, ast.Load())])
    return ast.If(test=test, body=body, orelse=[])


def _read_or_unbound(target, name):
    """``target = name``, or UNBOUND where ``name`` is not bound."""
    ok = ast.Assign([ast.Name(target, ast.Store())], ast.Name(name, ast.Load()))
    unbound = ast.Assign([ast.Name(target, ast.Store())], ast.Name(_UNBOUND_NAME, ast.Load()))
    handler = ast.ExceptHandler(type=ast.Name("NameError", ast.Load()), name=None, body=[unbound])
    return ast.Try(body=[ok], handlers=[handler], orelse=[], finalbody=[])


def _has_body(s):
    return any(isinstance(getattr(s, f, None), list) and getattr(s, f) and isinstance(getattr(s, f)[0], ast.AST)
               and f in ("body", "orelse", "finalbody", "handlers", "cases") for f in s._fields)


_INNER = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def _loads(stmts):
    """The names read (or deleted) anywhere in ``stmts``, nested scopes included (a superset)."""
    out = set()
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store):
                out.add(n.id)
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                out.add(n.target.id)
    return out


def _stores(stmts):
    """The names bound in ``stmts``' own scope."""
    out = set()

    def visit(n, top):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
        elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            out.add(n.name)
        elif isinstance(n, ast.NamedExpr):
            out.add(n.target.id)
        if isinstance(n, _SCOPES) and not top:
            for sub in ast.walk(n):  # only walrus targets leave a comprehension
                if isinstance(sub, ast.NamedExpr):
                    out.add(sub.target.id)
            return
        for child in ast.iter_child_nodes(n):
            visit(child, False)

    for s in stmts:
        visit(s, True)
    return out


def _definite_targets(target):
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_definite_targets(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _definite_targets(target.value)
    return set()


def _definite(stmts):
    """The names that ``stmts`` surely bind when they run to the end (simple assignments)."""
    out = set()
    for s in stmts:
        if isinstance(s, ast.Assign):
            for t in s.targets:
                out |= _definite_targets(t)
        elif isinstance(s, (ast.AnnAssign, ast.AugAssign)) and (not isinstance(s, ast.AnnAssign) or s.value):
            out |= _definite_targets(s.target)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in s.names)
        elif isinstance(s, (ast.FunctionDef, ast.ClassDef)):
            out.add(s.name)
        elif isinstance(s, ast.With):
            for item in s.items:
                if item.optional_vars is not None:
                    out |= _definite_targets(item.optional_vars)
            out |= _definite(s.body)
    return out


def _escapes(s):
    """Whether ``s`` holds a return, or a break/continue of a loop outside it."""
    def visit(n, in_loop):
        if isinstance(n, ast.Return):
            return True
        if isinstance(n, (ast.Break, ast.Continue)) and not in_loop:
            return True
        if isinstance(n, _SCOPES):
            return False
        loop = isinstance(n, (ast.For, ast.While, ast.AsyncFor))
        for field, value in ast.iter_fields(n):
            inner = in_loop or (loop and field == "body")
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and visit(child, inner):
                    return True
        return False

    return visit(s, False)


def _trivial(s):
    """A statement with no tensor op to capture: run in the driver as it is."""
    if isinstance(s, (ast.Pass, ast.Break, ast.Continue, ast.Import, ast.ImportFrom, ast.FunctionDef,
                      ast.ClassDef)):
        return True
    simple = (ast.Name, ast.Constant)
    if isinstance(s, ast.Return):
        return s.value is None or isinstance(s.value, simple) or (
            isinstance(s.value, ast.Tuple) and all(isinstance(e, simple) for e in s.value.elts))
    if isinstance(s, ast.Expr):
        return isinstance(s.value, ast.Constant)
    if isinstance(s, ast.Assign):
        return isinstance(s.value, simple) and all(isinstance(t, ast.Name) for t in s.targets)
    return False


def _span(position):
    """A co_positions entry ``(lineno, end_lineno, col, end_col)`` as ((line, col), (end_line, end_col));
    a position without columns spans its lines."""
    line, end_line, col, end_col = position
    if col is None or end_col is None:
        return (line, 0), (end_line, float("inf"))
    return (line, col), (end_line, end_col)


def _within(position, start, end):
    """Whether source ``position`` (a co_positions entry) lies in [start, end] ((line, col) pairs)."""
    a, b = _span(position)
    return start <= a and b <= end


def _innermost(position, ranges):
    """The innermost (start, end, ...) of ``ranges`` that holds ``position``, or None."""
    best = None
    for r in ranges:
        if _within(position, r[0], r[1]) and (best is None or best[0] <= r[0] and r[1] <= best[1]):
            best = r
    return best


def _inside(position, node):
    return position is not None and _within(position, (node.lineno, node.col_offset),
                                            (node.end_lineno, node.end_col_offset))


def _same(position, node):
    line, end_line, col, end_col = position
    return (line, end_line, col, end_col) == (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)


def _is_jump(b, test, stmt):
    """Whether break ``b`` is the truth test of an if/while (``bool(tensor)`` at the test itself)."""
    return b.method == "__bool__" and b.direct and b.position is not None and (
        _same(b.position, test) or _same(b.position, stmt))


def _find_call(s, b):
    """The call ``<tensor expr>.<method>(...)`` of break ``b`` in statement ``s``."""
    line, end_line, col, end_col = b.position
    for n in ast.walk(s):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == b.method \
                and (n.end_lineno, n.end_col_offset) == (end_line, end_col):
            return n
    return None


def _hoistable(s, value):
    """Whether ``value`` (a tensor expression inside statement ``s``) may be computed before ``s``:
    it is no plain name, it runs unconditionally and once, and nothing ``s`` evaluates before it
    calls anything (so the order of the calls is unchanged)."""
    if isinstance(value, (ast.Name, ast.Constant)):
        return False
    parents = {}
    for n in ast.walk(s):
        for child in ast.iter_child_nodes(n):
            parents[child] = n
    n = value
    while n in parents:
        p = parents[n]
        if isinstance(p, _SCOPES) or isinstance(p, ast.IfExp) and n is not p.test \
                or isinstance(p, ast.BoolOp) and n is not p.values[0] or isinstance(p, ast.NamedExpr):
            return False
        n = p
    ancestors = set()
    n = value
    while n in parents:
        n = parents[n]
        ancestors.add(n)
    start = (value.lineno, value.col_offset)
    for n in ast.walk(s):
        if isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)) and n not in ancestors \
                and (n.lineno, n.col_offset) < start and not _inside_node(n, value):
            return False
    if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):  # targets are evaluated after the value
        targets = s.targets if isinstance(s, ast.Assign) else [s.target]
        if any(not isinstance(t, ast.Name) for t in targets):
            return False
    return True


def _inside_node(n, outer):
    return (outer.lineno, outer.col_offset) <= (n.lineno, n.col_offset) and \
        (n.end_lineno, n.end_col_offset) <= (outer.end_lineno, outer.end_col_offset)


def _replace(s, old, new):
    """A copy of statement ``s`` with the expression node ``old`` replaced by ``new``."""
    return _substitute(s, {old: new})


def _substitute(s, mapping):
    """A copy of ``s`` with each node that is a key of ``mapping`` replaced by its value (the nodes on
    the paths to them are copied; the rest are shared)."""
    if s in mapping:
        return mapping[s]
    changed, fields = False, {}
    for field, value in ast.iter_fields(s):
        if isinstance(value, list):
            items = [_substitute(v, mapping) if isinstance(v, ast.AST) else v for v in value]
            changed |= any(a is not b for a, b in zip(items, value))
            fields[field] = items
        elif isinstance(value, ast.AST):
            item = _substitute(value, mapping)
            changed |= item is not value
            fields[field] = item
    if not changed:
        return s
    out = copy.copy(s)
    for field, value in fields.items():
        setattr(out, field, value)
    return out


# ---------------------------------------------------------------------- evaluation order (_anf)
# Tensor methods (and builtins calling them) whose result is a Python value, not a tensor
# (and a volatile call's: the clock's time, a queue's item; graph_break.VOLATILE, which reads no tensor)
_VALUES = (*VALUE_READS, "__float__", "__int__", "__index__", "__bool__", "__array__", "__repr__", "__format__",
           VOLATILE)
# value reads whose float result the segment after takes as a symbolic scalar (symbolic.py) under
# torch's float policy: the operation combining it joins that segment (an int, a list or an array
# would be guarded by value there)
_SYMBOLIC = ("item", "__float__", VOLATILE)


def _symbolic_reads():
    """_SYMBOLIC, or none while floats are guarded constants (config.specialize_float, retrograd's
    default): then the combining operation runs eagerly, so the segment after is not recompiled for
    each value."""
    from .compiled import config

    return () if config.specialize_float else _SYMBOLIC


# expressions whose evaluation is reordered or suspended: a statement holding one is not split
_REORDERING = (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)


def _root(s):
    """The expression simple statement ``s`` evaluates first (None: a statement _anf does not split).
    An augmented assignment's target is a name (read, as Python does, before the value: the same
    object, as no part of the statement can rebind a local)."""
    if isinstance(s, (ast.Expr, ast.Return, ast.Assign)):
        return s.value
    if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
        return s.value
    if isinstance(s, ast.AnnAssign) and s.value is not None and s.simple:
        return s.value
    return None


def _ordered(n):
    """[(operand, conditional)] of expression ``n`` in Python's evaluation order (conditional: evaluated
    only on some runs), or None for an expression whose operands run in their own scope, repeatedly,
    or in an order this does not model (lambdas, comprehensions, f-strings, ``*``/``**`` unpacking)."""
    if isinstance(n, (ast.Name, ast.Constant)):
        return []
    if isinstance(n, ast.Call):
        if any(isinstance(a, ast.Starred) for a in n.args) or any(k.arg is None for k in n.keywords):
            return None
        return [(e, False) for e in (n.func, *n.args, *(k.value for k in n.keywords))]
    if isinstance(n, ast.BinOp):
        return [(n.left, False), (n.right, False)]
    if isinstance(n, ast.UnaryOp):
        return [(n.operand, False)]
    if isinstance(n, ast.Compare):  # a chain stops at its first false comparison
        return [(n.left, False), (n.comparators[0], False), *((c, True) for c in n.comparators[1:])]
    if isinstance(n, ast.BoolOp):
        return [(n.values[0], False), *((v, True) for v in n.values[1:])]
    if isinstance(n, ast.IfExp):
        return [(n.test, False), (n.body, True), (n.orelse, True)]
    if isinstance(n, ast.Attribute):
        return [(n.value, False)]
    if isinstance(n, ast.Subscript):
        return [(n.value, False), (n.slice, False)]
    if isinstance(n, ast.Slice):
        return [(e, False) for e in (n.lower, n.upper, n.step) if e is not None]
    if isinstance(n, (ast.Tuple, ast.List, ast.Set)):
        return None if any(isinstance(e, ast.Starred) for e in n.elts) else [(e, False) for e in n.elts]
    if isinstance(n, ast.Dict):
        if any(k is None for k in n.keys):
            return None
        return [(e, False) for pair in zip(n.keys, n.values) for e in pair]
    return None


def _evaluation(root):
    """({node: when its evaluation completes}, {node: (parent, its position in _ordered(parent))}) for
    the nodes of ``root`` evaluated once and unconditionally whenever it is."""
    order, parents = {}, {}

    def visit(n):
        for i, (c, conditional) in enumerate(_ordered(n) or ()):
            if not conditional:
                parents[c] = (n, i)
                visit(c)
        order[n] = len(order)

    visit(root)
    return order, parents


def _break_call(s, b):
    """The call of statement ``s`` that made break ``b`` (its span is the break's position), or None."""
    if b.position is None or b.position[2] is None:
        return None
    for n in ast.walk(s):
        if isinstance(n, ast.Call) and _same(b.position, n):
            return n
    return _find_call(s, b) if b.direct and b.method else None


def _rebindable(e, local):
    """Whether name or path ``e`` can name another object after a call: a global or builtin name, or an
    attribute or subscript (a function's own locals, ``local``, cannot be rebound by a call it makes)."""
    return not isinstance(e, ast.Constant) and not (isinstance(e, ast.Name) and e.id in local)


def _path(e, index=False):
    """Whether ``e`` is a name or an attribute path on one (``self.lin``, ``F.relu``), with ``index``
    also a name or constant subscript (a called ``self.heads[k]``): read where it is used (or,
    used after a breaking call that could rebind it, right before that call: see _anf's ``early``)."""
    while isinstance(e, ast.Attribute) or index and isinstance(e, ast.Subscript) and _constant_index(e.slice):
        e = e.value
    return isinstance(e, ast.Name)


def _constant_index(e):
    if isinstance(e, ast.Tuple):
        return all(_constant_index(x) for x in e.elts)
    if isinstance(e, ast.Slice):
        return all(x is None or _constant_index(x) for x in (e.lower, e.upper, e.step))
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _constant_index(e.operand)
    return isinstance(e, (ast.Constant, ast.Name))


def _tests_value(node):
    """A comparison or ``not``: a float value read's result tested (a bool for the segment after, where the
    float itself would be guarded by its value)."""
    return isinstance(node, ast.Compare) or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)


def _passes_value(parent, child):
    """Whether ``parent`` computes a Python value from ``child``'s alone (a unary operation, or one with
    a constant): a value read's result goes on up through it."""
    if isinstance(parent, ast.UnaryOp):
        return True
    if isinstance(parent, ast.BinOp):
        return isinstance(parent.right if child is parent.left else parent.left, ast.Constant)
    if isinstance(parent, ast.Compare) and len(parent.comparators) == 1:
        return isinstance(parent.comparators[0] if child is parent.left else parent.left, ast.Constant)
    return False
