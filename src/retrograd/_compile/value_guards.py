"""Value guards: the Python values a capture read, checked at every call.

A captured graph bakes in every Python value the traced code read: ``x * SCALE`` records the
number SCALE held, ``if self.use_bias:`` the branch it took, ``self.drop.p`` dropout's rate.
torch.compile specialises on such values and guards them (``G['SCALE'] == 2.0``); so does this.

While a capture records, ``Recorder`` (a ``sys.setprofile`` hook on the capturing thread, chained
to one already there, or ``sys.settrace`` where a C-level profiler such as cProfile holds that one) notes
each Python function of the user's code that starts (code outside retrograd, NumPy and the
standard library): the global names its bytecode loads (``LOAD_GLOBAL``, resolved through the
frame's globals; a name found in builtins instead is guarded to stay unbound in the globals),
the attributes it loads from a Python module of the user's among them (``hparams.scale``), the
cells of its closure (where the function object is known: the compiled function, a function
found in a global, a cell or an attribute, or the one function object of that code), and the
instance attributes of its first argument (``self``). Globals are noted once per code object;
``self`` and the closure cells once per distinct object (a method run on two instances guards
both instances' attributes; two closures of one code, both cells), so each entry appears once
however often the code runs. Each value read, at the moment its
function started, becomes one guard entry ``(container, key, expected, how, same)`` (``same``:
the object whose identity alone shows the entry holds):

- numbers, strings, bytes, None and bools (``EQ``): the same type and an equal value;
- tuples, lists, dicts, sets and small NumPy arrays (``SNAP``): a snapshot compared whole, so an
  in-place change of a list of floats is seen (objects inside compare by identity);
- anything else (``IS``): the same object: functions, classes, modules, tensors, objects. An
  object with instance attributes (an ``nn.Module``, a config object) also gets its attributes'
  entries, one level further down (``self.cfg.scale``);
- further out: two levels of attributes below a global, a cell or ``self`` are guarded whole, deeper
  levels where the code that ran names the attribute (``self.a.b.c.d``); the class attributes of the
  user's classes that the code names (``self.scale``, ``type(self).scale``, ``Config.scale``; not
  data descriptors such as properties, whose values are the instance's), with the instance's
  ``__dict__`` guarded not to shadow them later; ``__slots__`` attributes the code names (through
  ``_AttributeView``); the builtins a code loads (``abs`` rebound in ``builtins``); the numbers and strings
  of a library's module that the code loads (``math.pi``); modules imported inside a function
  (``sys.modules`` entries); ``os.environ``'s variables read (its ``__getitem__``: ``get``, ``in``,
  ``os.getenv``; the whole environment where it is iterated), a ``threading.Event``'s flag read by
  ``is_set()``, a ``ContextVar``'s value read by ``get()``; a function's ``__defaults__`` and
  ``__kwdefaults__`` and its attributes the code names; a ``functools.partial``'s function and
  arguments; the attributes the code names of the objects inside a container read (its first
  _CONTENTS items); and, where the capture made tensors with creation functions, the default dtype
  and device;
- every ``nn.Module`` the capture called: its attributes (``p``, ``eps``, ``negative_slope``,
  a user's ``temp``; not its parameter/buffer/submodule dicts nor its ``training`` flag, which
  Graph.check holds). Of a module whose classes are all the user's down to ``nn.Module`` (so no
  retrograd forward reads its attributes), only those that the user's code that ran names (its
  bytecode's names and string constants): an actor-critic's ``saved_actions`` list, appended to
  between calls and never read by forward, does not recapture every call. Where that code reads
  attributes by computed names (``getattr``, ``vars``, ``__dict__``...), or under a tracer that
  hides the other functions' reads, all of them.

``checker(entries)`` makes the function that checks them at each call (each entry first as "the
value held is the object read"); a failure retraces as a failing shape guard does (compiled.py),
counting toward the recompile limit, and ``last_failure`` says which value moved, for the limit's
warning. Values are taken when the function reading them starts, so a function that changes a
value it read (``counter += 1``, ``self.calls += 1``, a list it read appended to) or sets a new
attribute on its ``self`` is seen when the capture ends (``Recorder.changed``): the capture breaks
and that guard set runs eagerly, never a replay without the change.

The same hook sees the calls of volatile functions (volatile.py: the clock, ``os.urandom``, files,
queues), whose results no guard can hold: each is a graph break at the user's call
(``Recorder._volatile``), which then runs at every call.

The ``training`` flag of a module whose attributes were looked at but that was not called
(``self.sub.training``) is guarded too (Graph.check guards those of the modules called).

Not guarded: ``print`` in builtins (the capture patches it; it breaks anyway), attributes below two levels that no code that ran names, functions
and classes of a library's module or class (the module's identity only), NumPy arrays over 4096
elements (identity only), closures of a function that neither the compiled function, a guarded
value nor a unique function object of its code leads to (several closures of one code made before
the call), and state only C code reads (``id()`` of a new object, a C extension's state).
"""

import builtins
import collections
import contextvars
import dis
import functools
import itertools
import gc
import inspect
import os
import random
import sys
import sysconfig
import threading
import types
import weakref
from math import copysign

import numpy as np

from ..tensor import Tensor
from . import graph_break, volatile
from .symbolic import SymFloat, plain

EQ, SNAP, IS, FLOAT = 0, 1, 2, 3  # (FLOAT: any float, a symbolic scalar of the capture: symbolic.py)
_MISSING = object()  # a global name not bound in the globals (read from builtins)
_NONE = object()  # an entry's ``same`` when no object stands for its contents (a list: changed in place)
_CELL = object()  # the key of a closure cell's entry
_SCALARS = frozenset((int, float, bool, complex, str, bytes, type(None)))
_SNAPSHOT = (tuple, list, dict, set, frozenset, collections.deque)
_SMALL_ARRAY = 4096
_CALLABLES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType, type)
_SKIP_PREFIX = "__rg_"  # resume.py's segment plumbing (its segment list, its unbound marker)
_NAMED_DEPTH = 2  # attributes of objects below this depth are guarded only where the code that ran names them
_DEEPEST = 8
_CONTENTS = 64  # the items of a container whose objects' named attributes are guarded
_SMALL_CONTAINER = 64  # a library module's list, tuple, dict or set attribute read: guarded up to this size
_PATCHED_BUILTINS = frozenset(("print",))  # patched by the capture (graph_break.install): not guarded
# the standard library's reads of state that other code changes, guarded as torch guards them: os.environ's
# (get, in, getenv go through __getitem__), a threading.Event's flag
_STATE_READS = {os._Environ.__getitem__.__code__: "item", os._Environ.__iter__.__code__: "all",
                os._Environ.__len__.__code__: "all", threading.Event.is_set.__code__: "flag"}

_library_dirs = None
_global_names = weakref.WeakKeyDictionary()  # code object -> the names its bytecode loads
last_failure = [None]  # the description of the last entry that failed (for the recompile warning)


def _libraries():
    global _library_dirs
    if _library_dirs is None:
        paths = sysconfig.get_paths()
        dirs = {paths.get("stdlib"), paths.get("platstdlib"),
                os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(np.__file__)}
        _library_dirs = tuple(os.path.join(d, "") for d in dirs if d)
    return _library_dirs


def user_code(code):
    """True for code outside retrograd, NumPy and the standard library (the code whose reads are guarded)."""
    name = code.co_filename
    return not name.startswith(_libraries()) and not name.startswith("<frozen")


_internal_dirs = None


def _internal(code):
    """True for retrograd's and NumPy's code (their calls of volatile functions are their own business: an op
    reading the clock is run again by the replay; the capture's own machinery)."""
    global _internal_dirs
    if _internal_dirs is None:
        _internal_dirs = tuple(os.path.join(d, "") for d in (
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(np.__file__)))
    return code.co_filename.startswith(_internal_dirs)


_user_classes = weakref.WeakKeyDictionary()


# names whose use reads attributes by a name computed at run time
_COMPUTED_READS = frozenset(("getattr", "hasattr", "vars", "__dict__", "__getattribute__", "attrgetter", "dir",
                             "getattr_static", "__getstate__", "__reduce__", "__reduce_ex__", "asdict"))


_GENERATORS = (np.random.Generator, np.random.RandomState, np.random.BitGenerator, random.Random)


def _rng_state(g):
    """A comparable image of a random number generator's state (a new object each call where it has none
    to read: Python's SystemRandom)."""
    try:
        if isinstance(g, np.random.Generator):
            return snapshot(g.bit_generator.state)
        if isinstance(g, np.random.RandomState):
            return snapshot(g.get_state(legacy=False))
        if isinstance(g, np.random.BitGenerator):
            return snapshot(g.state)
        return snapshot(g.getstate())
    except NotImplementedError:
        return object()


def _iterator_state(it):
    """A comparable image of an iterator's position: a generator's suspended frame (where and its locals),
    a built-in iterator's pickled form (list, tuple, range, enumerate, zip, map...); None where neither
    can be read."""
    if isinstance(it, types.GeneratorType):
        f = it.gi_frame
        return ("done",) if f is None else (f.f_lasti, snapshot(dict(f.f_locals)))
    try:
        return snapshot(it.__reduce__())
    except Exception:  # noqa: BLE001 (an iterator that cannot be pickled: not watched)
        return None


def _own_module_class(cls, module):
    """True when every class of ``cls``'s MRO before nn.Module is the user's: then only the user's code
    (traced) and nn.Module's own methods (which read its internal dicts) read the instance's attributes."""
    for c in cls.__mro__:
        if c is module:
            return True
        if not _user_class(c):
            return False
    return False


def _user_class(cls):
    """True for a class defined outside retrograd, NumPy and the standard library."""
    user = _user_classes.get(cls)
    if user is None:
        module = sys.modules.get(cls.__module__)
        file = getattr(module, "__file__", None)
        user = _user_classes[cls] = file is None or not os.path.abspath(file).startswith(_libraries())
    return user


def global_names(code):
    """(the global names the code loads, the attribute names it loads, ``from m import a``'s included)."""
    names = _global_names.get(code)
    if names is None:
        loads = list(dis.get_instructions(code))
        names = _global_names[code] = (
            tuple(dict.fromkeys(i.argval for i in loads if i.opname in ("LOAD_GLOBAL", "LOAD_NAME"))),
            frozenset(i.argval for i in loads if i.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM")))
        _imports[code] = tuple(dict.fromkeys(i.argval for i in loads if i.opname == "IMPORT_NAME"))
    return names


_imports = weakref.WeakKeyDictionary()  # code object -> the modules it imports (``import math`` in a function)


def _user_module(value):
    """A Python module of the user's (``import hparams``): its attributes the code loads are guarded."""
    file = getattr(value, "__file__", None)
    return file is not None and not os.path.abspath(file).startswith(_libraries())


def _module_internals():
    from ..nn.module import Module

    # (training: guarded for each module called by Graph.check; Module.compile's compiled call, which
    # its capture unsets while it runs)
    return frozenset(vars(Module())) | {"_compiled_call_impl"}


_kinds = []  # (nn.Module, its internal attribute names, the kinds whose attributes are not guarded)


class Recorder:
    """Collects the entries while a capture runs (see the module docstring): ``start`` and ``stop``
    around the function's run, then ``entries``. Each value is taken when the function reading it
    starts, so a function that changes a value it read is seen (``changed``). Code that runs inside
    a recorded call (the capture's depth > 0: tensor hooks during backward(), a custom Function's
    forward) is not noted: the replay runs it again, reading its values then."""

    def __init__(self, fn, capture=None):
        from ..nn.module import Module

        if not _kinds:
            _kinds.extend((Module, _module_internals(), _unguarded_kinds()))
            from .. import _dtype, creation

            _STATE_READS[_dtype.get_default_dtype.__code__] = "defaults"
            _STATE_READS[creation.get_default_device.__code__] = "defaults"
        self.Module, self.internals, self.unguarded = _kinds
        self.fn = fn
        self.capture = capture
        self.codes = set()  # the code objects noted
        self.done = set()  # the code objects not looked at again (not the user's, or nothing per frame)
        self.pending = []  # (code, {free name: value}) whose function object was not found yet
        self.frames = set()  # (code, ids of its free values) and ids of the selves' __dict__ noted
        self.out, self.seen, self.functions = [], set(), {}
        self.keys = []  # (an object's __dict__, its names) for each self of the user's code: a new attribute set
        # the attribute entries of modules whose classes are the user's down to nn.Module (no retrograd forward
        # reads them): kept only where the user's code that ran names the attribute (``names``)
        self.own_attributes = set()
        self.names = set()  # the names and string constants of the user's code that ran
        self.by_name_only = True  # False once code that ran reads attributes by computed names (getattr, vars)
        # random number generators the code could draw from, with their states when read: NumPy's and Python's
        # global ones, and those among the values read (a draw's result is baked into the graph)
        self.generators = {id(g): (g, _rng_state(g)) for g in (np.random.mtrand._rand, random._inst)}
        # what was looked at by the names known then, looked at again in entries(): (kind, object, an
        # instance's __dict__ or None, depth) for a class's attributes, an object's below _NAMED_DEPTH, a function's
        self.revisit = []
        self._proxies, self._views = {}, {}  # class -> its __dict__; id(object) -> its _AttributeView
        self.walked = {}  # id -> each nn.Module whose attributes were looked at
        self.module_walks = set()  # (id of a Python module, id of the attribute names a code loads) looked at
        self.top = None
        self.arguments = []  # the holders of the compiled function's arguments whose values are guarded
        self._previous = None
        self._on = False

    # ---------------------------------------------------------------- recording
    def start(self):
        bound = getattr(self.fn, "forward", self.fn)
        func = getattr(bound, "__func__", bound)
        self.top = getattr(func, "__code__", None)  # (the compiled function's code: its arguments are guarded)
        if isinstance(func, types.FunctionType):
            self._function(func, 0)
        previous = sys.getprofile()
        if previous is None or callable(previous):  # a profile function sees the C calls too (volatile.py)
            self._previous = previous
            self._on = "profile"
            sys.setprofile(self._event)
            return
        if sys.gettrace() is None:  # (a C-level profiler, cProfile, holds that hook: the calls, not C calls)
            self._on = "trace"
            sys.settrace(self._trace)
            return
        # a tracer (a debugger, coverage) and a C-level profiler (cProfile) hold both hooks: only the
        # compiled function's own reads
        self.by_name_only = False  # (other functions' reads are not seen: every attribute guarded)
        if isinstance(func, types.FunctionType):
            self._code(func.__code__, func.__globals__, getattr(bound, "__self__", _MISSING), {})

    def stop(self):
        if self._on == "trace":
            sys.settrace(None)
        elif self._on == "profile":
            sys.setprofile(self._previous)
        self._on = False

    def _trace(self, frame, event, arg):  # (only "call" events reach a global trace function)
        if frame.f_code not in self.done:
            self._called(frame)
        # (None: no line events in the frame)

    def _event(self, frame, event, arg):
        if self._previous is not None:
            self._previous(frame, event, arg)
        if event == "call":
            if frame.f_code not in self.done:
                self._called(frame)
        elif event == "c_call":
            if arg in volatile.FUNCTIONS:
                self._volatile(frame, volatile.FUNCTIONS[arg])
                return
            owner = getattr(arg, "__self__", None)
            kind = owner.__class__
            if kind in volatile.TYPES:
                self._volatile(frame, volatile.c_function(arg))
            elif kind is contextvars.ContextVar:
                self._context_var(frame, owner, arg.__name__)

    def _called(self, frame):
        code = frame.f_code
        if code in volatile.CODES:  # (never in self.done: each call is seen)
            self._volatile(frame.f_back, volatile.CODES[code])
            return
        if code in _STATE_READS:
            self._state(frame, _STATE_READS[code])
            return
        if not user_code(code):
            self.done.add(code)
            return
        if self.capture is not None and self.capture.depth:
            return
        this, free = _MISSING, {}
        if code.co_argcount or code.co_freevars:
            # (looked at in every frame: one method runs on several selves, one code in several closures)
            local = frame.f_locals
            if code.co_argcount:
                this = local.get(code.co_varnames[0], _MISSING)
            free = {n: local.get(n, _MISSING) for n in code.co_freevars}
            if code is self.top:
                self._arguments(code, local)
        else:
            self.done.add(code)
        self._code(code, frame.f_globals, this, free)

    def _arguments(self, code, local):
        """The compiled function's arguments other than tensors and numbers (the call's key holds those, and
        the identity of the others): a list or dict's contents, an object's attributes (``f(x, cfg)`` reading
        ``cfg.scale``), each read through a holder of its own, as a global's are."""
        n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS) \
            + bool(code.co_flags & inspect.CO_VARKEYWORDS)
        for name in code.co_varnames[1:n]:  # (the first: ``this``, looked at by _code)
            value = local.get(name, _MISSING)
            if value is _MISSING or isinstance(value, (Tensor, *_SCALARS)):
                continue
            holder = {name: value}
            self.arguments.append(holder)
            self._value(holder, name, value, 0)

    def _code(self, code, glob, this, free):
        if code not in self.codes:
            self.codes.add(code)
            self._names(code)
            self._globals(code, glob)
        if this is not _MISSING and self._guards_attributes(this):
            d = getattr(this, "__dict__", None)
            mark = id(d) if type(d) is dict else id(self._view(this))  # (held by self.keys, the entries)
            if mark not in self.frames:
                self.frames.add(mark)
                self._attributes(this, 0)
                if type(d) is dict:
                    self.keys.append((d, frozenset(d)))
        if free:
            mark = (code, tuple(map(id, free.values())))  # (the values are held by self.pending)
            if mark in self.frames:
                return
            self.frames.add(mark)
            method = getattr(type(this), code.co_name, None) if this is not _MISSING else None
            if isinstance(method, types.FunctionType) and method.__code__ is code:
                self._function(method, 1)  # (a method closing over names: its function is on the class)
            else:
                self.pending.append((code, free))

    def _volatile(self, frame, name):
        """A volatile function (volatile.py) called in ``frame``: a graph break at the user's call (through the
        standard library's frames that called it for the user); none where retrograd or NumPy called it."""
        f = self._users_call(frame)
        if f is not None:
            graph_break.breaking_call(volatile.reason(name), self.capture, method=graph_break.VOLATILE, frame=f)

    def _defaults(self):
        """The default dtype and device (set_default_dtype, set_default_device), as torch guards them."""
        from .. import _dtype, creation

        d = vars(_dtype._default)  # (set_default_dtype sets the instance's value over the class's)
        self._value(d, "value", d.get("value", _MISSING), _DEEPEST)
        self._value(creation._default_device, 0, creation._default_device[0], _DEEPEST)

    def _users_call(self, frame):
        """The user's frame that made the call running in ``frame`` (itself, or through the standard library's
        frames), on the capturing thread outside any op; None where retrograd's or NumPy's code made it."""
        if self.capture is None or not self.capture.mine():
            return None
        f = frame
        while f is not None and not user_code(f.f_code):
            if _internal(f.f_code):
                return None
            f = f.f_back
        return f

    def _context_var(self, frame, var, name):
        """A ContextVar's ``get()``: its value guarded, as torch guards it; ``set()``/``reset()``: a volatile call
        (a replay would not set it)."""
        if self._users_call(frame) is None:
            return
        if name == "get":
            view = self._views.get(id(var))
            if view is None:
                view = self._views[id(var)] = _ContextVarView(var)
            self._value(view, "value", var.get(_MISSING), _DEEPEST)
        else:
            self._volatile(frame, f"ContextVar.{name}()")

    def _state(self, frame, what):
        """A read of os.environ (an ``_Environ``'s ``__getitem__``: ``get``, ``in``, ``os.getenv``; its
        ``__iter__``/``__len__``): the variable read is guarded, as torch guards it (the whole
        environment where it is iterated); ``Event.is_set()``: the event's flag; ``get_default_dtype()`` or
        ``get_default_device()`` called by the user's code: the defaults."""
        if self.capture is not None and not self.capture.mine():
            return
        if what == "defaults":  # (get_default_dtype(), get_default_device() called by the user's code)
            if self._users_call(frame.f_back) is not None:
                self._defaults()
            return
        local = frame.f_locals
        env = local.get("self")
        if what == "flag":
            flag = getattr(env, "__dict__", {}).get("_flag", _MISSING)
            if type(flag) is bool:
                self._value(env.__dict__, "_flag", flag, _DEEPEST)
            return
        data = getattr(env, "_data", None)
        if type(data) is not dict:
            return
        if what == "all":
            self._value(vars(env), "_data", data, _DEEPEST)
            return
        try:
            key = env.encodekey(local["key"])
        except Exception:  # noqa: BLE001 (a key the environment refuses: the read raises, nothing to guard)
            return
        value = data.get(key, _MISSING)
        if value is _MISSING:
            self._add(data, key, _MISSING, IS, _MISSING)
        else:
            self._value(data, key, value, _DEEPEST)

    def _names(self, code):
        names = set(code.co_names)
        if not names.isdisjoint(_COMPUTED_READS):
            self.by_name_only = False
        self.names |= names
        self.names.update(c for c in code.co_consts if type(c) is str)

    def _globals(self, code, glob):
        names, attributes = global_names(code)
        for name in names:
            if name.startswith(_SKIP_PREFIX):
                continue
            value = glob.get(name, _MISSING)
            if value is _MISSING:  # a builtin: unbound in the globals, and the same in builtins
                self._add(glob, name, _MISSING, IS, _MISSING)
                if name not in _PATCHED_BUILTINS:
                    b = glob.get("__builtins__", builtins)
                    b = vars(b) if isinstance(b, types.ModuleType) else b
                    if type(b) is dict:
                        self._value(b, name, b.get(name, _MISSING), _DEEPEST)
                continue
            self._value(glob, name, value, 0, attributes)
        for name in _imports.get(code, ()):  # a module imported inside the function: a local, read like a global
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                module = sys.modules.get(".".join(parts[:i]))
                if module is not None:
                    self._value(sys.modules, ".".join(parts[:i]), module, 0, attributes)

    # ---------------------------------------------------------------- the entries
    def entries(self, modules):
        """The guard entries: a tuple of (container, key, expected, how)."""
        for code, free in self.pending:
            if not any(_cells_hold(f, code, free) for f in self.functions.get(code, ())):
                found = [f for f in gc.get_referrers(code) if isinstance(f, types.FunctionType)
                         and f.__code__ is code and _cells_hold(f, code, free)]
                if len(found) == 1:
                    self._function(found[0], 1)
        for m in modules:
            for sub in m.modules():
                self._attributes(sub, 0)
        called = {id(m) for m in modules}  # (their training flags: Graph.check)
        for m in self.walked.values():  # a module read but not called (``self.sub.training``, a ModuleList)
            if id(m) not in called and type(vars(m).get("training")) is bool:
                self._value(vars(m), "training", m.training, _DEEPEST)
        i = 0
        while i < len(self.revisit):  # the attributes named by code that ran after they were looked at
            kind, obj, instance, depth = self.revisit[i]
            if kind == "class":
                self._class_attributes(obj, instance, depth, True)
            elif kind == "function":
                self._function_attributes(obj, depth, True)
            else:
                self._attributes(obj, depth, True)
            i += 1
        if getattr(self.capture, "_consts", None):  # tensors made by creation functions: the defaults they took
            self._defaults()
        if self.by_name_only and self.own_attributes:
            # (an attribute no code that ran names is read by none: the program's own bookkeeping, such as
            # a list of saved actions appended to between calls, does not recompile every call)
            names = self.names
            self.out = [e for e in self.out if e[1] in names or (id(e[0]), e[1]) not in self.own_attributes]
        return tuple(self.out)

    def note_read(self, container, key):
        """Guard ``container[key]`` (a dict): a read the capture saw elsewhere (an optimizer's param group)."""
        self._value(container, key, container.get(key, _MISSING), _DEEPEST)

    def note_generator(self, value):
        """Watch ``value``'s state if it is a random number generator (NumPy's or Python's) or an iterator."""
        if id(value) in self.generators:
            return
        if isinstance(value, _GENERATORS):
            self.generators[id(value)] = (value, _rng_state(value))
        elif hasattr(type(value), "__next__") and not isinstance(value, (Tensor, np.ndarray)):
            state = _iterator_state(value)
            if state is not None:
                self.generators[id(value)] = (value, state)

    def changed(self):
        """The first entry whose value differs now (after the run) from when it was read: the function
        changed it, which a replay would not (None if none did)."""
        for d, names in self.keys:
            if frozenset(d) != names:
                return f"attributes {sorted(set(d) ^ names)} set or deleted"
        for g, state in self.generators.values():
            if not isinstance(g, _GENERATORS):
                if _iterator_state(g) != state:
                    return (f"it advanced a {type(g).__name__} it read; take the item outside the compiled "
                            "function and pass it in")
            elif _rng_state(g) != state:
                return (f"it drew random numbers from a {type(g).__module__}.{type(g).__qualname__}, whose draws a "
                        "replay would bake in; draw them outside the compiled function and pass them in, or use "
                        "torch's random functions")
        if holds(self.out):
            return None
        return describe(last_failure[0])

    def _add(self, container, key, expected, how, same):
        mark = (id(container), key)
        if mark in self.seen:
            return False
        self.seen.add(mark)
        self.out.append((container, key, expected, how, same))
        return True

    def _value(self, container, key, value, depth, attributes=()):
        """The entry of one value read (``attributes``: the names the reading code loads as attributes,
        guarded on a Python module of the user's: ``hparams.scale``)."""
        kind = type(value)
        if value is _MISSING:  # (not bound: it stays unbound)
            self._add(container, key, _MISSING, IS, _MISSING)
        elif kind in _SCALARS:
            self._add(container, key, value, EQ, value)
        elif kind is SymFloat:  # a float the capture takes as an input (read at each replay): any float
            self._add(container, key, plain(value), FLOAT, _NONE)
        elif isinstance(value, _SNAPSHOT) or isinstance(value, np.ndarray) and value.size <= _SMALL_ARRAY:
            # (a tuple holding nothing mutable: the same tuple is the same contents)
            if self._add(container, key, snapshot(value), SNAP, value if _frozen(value) else _NONE) \
                    and not isinstance(value, np.ndarray):
                self._contents(value, depth)
        else:
            added = self._add(container, key, value, IS, value)
            if attributes and isinstance(value, types.ModuleType) and depth < _DEEPEST \
                    and (id(value), id(attributes)) not in self.module_walks:
                self.module_walks.add((id(value), id(attributes)))  # (once per module and code: modules import
                # each other) the attributes the code loads (each code's, as it starts: a module read by several): all of a
                # Python module of the user's; the numbers, strings and flags of a library's module (math.pi, a
                # backend's switch; its functions are not guarded)
                d, user = value.__dict__, _user_module(value)
                for attribute in attributes:
                    v = d.get(attribute, _MISSING)
                    if v is _MISSING:
                        continue
                    if user:
                        self._value(d, attribute, v, max(depth, 2), attributes)
                    elif type(v) in _SCALARS or isinstance(v, _SNAPSHOT) and len(v) <= _SMALL_CONTAINER:
                        self._value(d, attribute, v, _DEEPEST)  # (sys.argv; not sys.modules)
                    elif isinstance(v, types.ModuleType):
                        self._value(d, attribute, v, depth + 1, attributes)
            if not added:
                return
            self.note_generator(value)
            if isinstance(value, type):
                if _user_class(value):
                    self._class_attributes(value, None, depth)
            elif isinstance(value, functools.partial):  # (its function and the arguments it adds)
                view = self._view(value)
                for k in ("func", "args", "keywords"):
                    self._value(view, k, getattr(value, k), depth + 1)
            elif isinstance(value, types.FunctionType):
                self._function(value, depth + 1)
            elif isinstance(value, types.MethodType):
                if isinstance(value.__func__, types.FunctionType):
                    self._function(value.__func__, depth + 1)
                if depth < 1 and self._guards_attributes(value.__self__):
                    self._attributes(value.__self__, depth + 1)
            elif depth < _DEEPEST and self._guards_attributes(value):
                self._attributes(value, depth + 1)

    def _guards_attributes(self, obj):
        """Objects with instance attributes whose values a capture may bake in: nn.Modules and the user's
        own objects (not tensors, arrays, functions, classes, modules; not optimizers and lr schedulers,
        whose steps the replay calls again; not objects of retrograd's, NumPy's or the standard library's
        other classes, such as a threading.Event the function waits on)."""
        if isinstance(obj, (*_CALLABLES, Tensor, np.ndarray, np.generic, *self.unguarded)):
            return False
        if not isinstance(getattr(obj, "__dict__", None), dict) and not _slot_names(type(obj)):
            return False
        return isinstance(obj, self.Module) or _user_class(type(obj))

    def _attributes(self, obj, depth, again=False):
        """An object's instance attributes (an nn.Module's, less its parameter/buffer/module/hook dicts), its
        ``__slots__`` attributes and its class's attributes that the code names. Below _NAMED_DEPTH
        (``self.a.b.c.d``), only those the code that ran names."""
        d = getattr(obj, "__dict__", None)
        named = depth > _NAMED_DEPTH
        if named and not again:
            self.revisit.append(("object", obj, None, depth))
        if type(d) is dict:
            module = isinstance(obj, self.Module)
            if module:
                self.walked[id(obj)] = obj
            skip = self.internals if module else ()
            own = module and _own_module_class(type(obj), self.Module)
            for k, v in list(d.items()):
                if k in skip or isinstance(v, self.Module) or module and isinstance(v, Tensor) \
                        or named and k not in self.names:
                    continue  # (a module's tensors read by ops are bound by the capture; a submodule called is
                    # guarded itself; another object's tensor attribute is guarded by identity: one bound anew
                    # recaptures)
                if own:
                    self.own_attributes.add((id(d), k))
                self._value(d, k, v, depth)
            subs = d.get("_modules") if module else None  # (none yet in a module's __init__ before Module's)
            for sub in subs.values() if isinstance(subs, dict) else ():  # (its submodules' too, as they are when it
                if sub is not None and id(sub) not in self.walked:  # starts: ``M = self.net; M.scale += 1``)
                    self._attributes(sub, depth)
        else:
            d = None
        slots = _slot_names(type(obj))
        if slots:
            view = self._view(obj)
            for k in slots & self.names:
                v = view.get(k, _MISSING)
                if v is _MISSING:
                    self._add(view, k, _MISSING, IS, _MISSING)
                else:
                    self._value(view, k, v, depth)
        if _user_class(type(obj)):
            self._class_attributes(type(obj), d, depth, again)

    def _class_attributes(self, cls, instance, depth, again=False):
        """The attributes of ``cls`` and its user-defined bases that the code that ran names (a class
        constant read as ``self.scale``, ``type(self).scale`` or ``Config.scale``: changed at run time, it
        recaptures), and, for an instance's class (``instance``: its ``__dict__``), that the instance
        still does not shadow them. Looked at again when the capture ends, for names read later."""
        if not again:
            self.revisit.append(("class", cls, instance, depth))
        for c in cls.__mro__:
            if c is object or not _user_class(c):
                continue
            proxy = self._proxies.get(c)
            if proxy is None:
                proxy = self._proxies[c] = c.__dict__  # (one mappingproxy per class: its id marks the entries)
            for name in self.names.intersection(proxy):
                kind = type(proxy[name])
                if name.startswith("__") and name.endswith("__") or hasattr(kind, "__set__") \
                        or hasattr(kind, "__delete__"):
                    continue  # (the class's machinery: __module__, __init__...; a data descriptor, whose value
                    # is the instance's: a property, a slot, nn.Module's registered-submodule attributes)
                if instance is not None and name not in instance:
                    self._add(instance, name, _MISSING, IS, _MISSING)
                self._value(proxy, name, proxy[name], max(depth, _NAMED_DEPTH))

    def _view(self, obj):
        """The _AttributeView of ``obj`` (one per object: its id marks the entries)."""
        view = self._views.get(id(obj))
        if view is None:
            view = self._views[id(obj)] = _AttributeView(obj)
        return view

    def _contents(self, value, depth):
        """The objects inside a list, tuple, dict, set or deque (compared by identity in its snapshot): their
        attributes the code names (``CONFIG["model"].scale``, ``layers[0].scale``), for the first
        _CONTENTS of each container."""
        if depth >= _DEEPEST:
            return
        items = value.values() if isinstance(value, dict) else value
        for item in itertools.islice(items, _CONTENTS):
            if type(item) in _SCALARS:
                continue
            if isinstance(item, _SNAPSHOT):
                self._contents(item, depth + 1)
            elif self._guards_attributes(item):
                self._attributes(item, max(depth + 1, _NAMED_DEPTH + 1))

    def _function(self, f, depth):
        known = self.functions.setdefault(f.__code__, [])
        if not any(g is f for g in known):
            known.append(f)
        if f.__defaults__ is not None or f.__kwdefaults__:  # (rebound, or a mutable default changed in place)
            view = self._view(f)
            self._value(view, "__defaults__", f.__defaults__, _NAMED_DEPTH)
            self._value(view, "__kwdefaults__", f.__kwdefaults__, _NAMED_DEPTH)
        if f.__dict__:  # (a function's attributes: ``helper.scale``)
            self._function_attributes(f, depth)
        if depth > 2:
            return
        attributes = global_names(f.__code__)[1]
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            if name.startswith(_SKIP_PREFIX):
                continue
            try:
                value = cell.cell_contents
            except ValueError:
                continue  # (an empty cell: the function would raise NameError reading it)
            self._value(cell, _CELL, value, depth, attributes)


    def _function_attributes(self, f, depth, again=False):
        """The attributes of function ``f`` that the code names (looked at again when the capture ends)."""
        if not again:
            self.revisit.append(("function", f, None, depth))
        d = f.__dict__
        for name in self.names.intersection(d):
            self._value(d, name, d[name], max(depth, _NAMED_DEPTH))


def _unguarded_kinds():
    """Objects whose methods the replay calls again (optimizers, lr schedulers: captured as calls), so
    their attributes are read at replay, not baked in: identity only."""
    from ..optim.lr_scheduler import LRScheduler
    from ..optim.optimizer import Optimizer

    return (Optimizer, LRScheduler)


class _AttributeView:
    """An object's attributes outside a ``__dict__`` (``__slots__``, a function's ``__defaults__``, a partial's
    ``keywords``) as a guard entry's container (``get``, and item assignment for a float swapped for a
    symbolic scalar)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def get(self, key, default):
        return getattr(self.obj, key, default)

    def __setitem__(self, key, value):
        setattr(self.obj, key, value)


class _ContextVarView:
    """A ContextVar's value in the current context as a guard entry's container (its one key, "value")."""

    __slots__ = ("var",)

    def __init__(self, var):
        self.var = var

    def get(self, key, default):
        return self.var.get(default)

    def __setitem__(self, key, value):
        self.var.set(value)


_slot_cache = weakref.WeakKeyDictionary()


def _slot_names(cls):
    """The names of the ``__slots__`` of ``cls`` and its bases (a frozenset; empty for most classes)."""
    names = _slot_cache.get(cls)
    if names is None:
        found = set()
        for c in cls.__mro__:
            slots = c.__dict__.get("__slots__", ())
            found.update((slots,) if isinstance(slots, str) else slots)
        found.discard("__dict__")
        found.discard("__weakref__")
        try:
            names = _slot_cache[cls] = frozenset(found)
        except TypeError:  # (a class that cannot be weakly referenced)
            names = frozenset(found)
    return names


def _cells_hold(f, code, free):
    for name, cell in zip(code.co_freevars, f.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            value = _MISSING
        if value is not free.get(name, _MISSING):
            return False
    return True


def snapshot(value):
    """A comparable image of a container's contents: numbers and strings by type and value, nested
    tuples/lists/dicts/sets and small arrays by their contents, anything else by identity."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if isinstance(value, (tuple, list, collections.deque)):  # (a torch.Size, a namedtuple too)
        return (kind, tuple(snapshot(v) for v in value))
    if isinstance(value, dict):
        return (kind, tuple((snapshot(k), snapshot(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return (kind, frozenset(snapshot(v) for v in value))
    if kind is np.ndarray and value.size <= _SMALL_ARRAY:
        return (kind, value.shape, value.dtype.str, value.tobytes())
    return ("id", id(value), value)  # (the object itself: its id stays its own while held)


def specialize(entries, held):
    """``entries`` with each FLOAT entry of a (container, key) in ``held`` (read into Python by the capture:
    symbolic.py) an EQ entry of the value it held."""
    return tuple((c, k, v, EQ, v) if how == FLOAT and (id(c), k) in held else (c, k, v, how, same)
                 for c, k, v, how, same in entries)


def read(container, key):
    """The value ``container`` holds at ``key`` (a closure cell's contents for the cell key), or MISSING."""
    return _held(container, key)


def write(container, key, value):
    if key is _CELL:
        container.cell_contents = value
    else:
        container[key] = value


def _held(container, key):
    if key is _CELL:
        try:
            return container.cell_contents
        except ValueError:
            return _MISSING
    if type(container) is list:  # (a list's item: a module's one-item state list)
        return container[key] if -len(container) <= key < len(container) else _MISSING
    return container.get(key, _MISSING)


def holds(entries):
    """True when every entry still holds (see the module docstring)."""
    for entry in entries:
        if not _holds(entry):
            return False
    return True


def _holds(entry):
    container, key, expected, how, same = entry
    held = _held(container, key) if key is _CELL or type(container) is list else container.get(key, _MISSING)
    if held is same:
        return True
    if how == EQ:
        ok = type(held) is type(expected) and held == expected \
            and (held or not isinstance(held, float) or copysign(1.0, held) == copysign(1.0, expected))  # (-0.0, 0.0)
    elif how == FLOAT:
        ok = type(held) is float
    elif how == IS:
        ok = held is expected
    else:
        ok = snapshot(held) == expected
    if not ok:
        last_failure[0] = (container, key, expected, held, how)
    return ok


def checker(entries):
    """``holds(entries)`` as one generated function of no arguments: each entry a test that the value
    held is the very object read (``c.get(k, M) is e``), falling back to the full test
    (``_holds``) when it is not, and for a list, dict, set or array, whose contents may change in place."""
    if not entries:
        return _always
    names = {"M": _MISSING, "_holds": _holds}
    tests = []
    for i, entry in enumerate(entries):
        container, key, _, _, same = entry
        names[f"c{i}"], names[f"e{i}"], names[f"s{i}"] = container, entry, same
        if same is _NONE:
            tests.append(f"_holds(e{i})")
            continue
        if key is _CELL:
            read = f"c{i}.cell_contents"
        elif type(container) is list:
            read = f"c{i}[{key}]"
        elif type(key) is str:
            read = f"c{i}.get({key!r}, M)"
        else:
            names[f"k{i}"] = key
            read = f"c{i}.get(k{i}, M)"
        tests.append(f"({read} is s{i} or _holds(e{i}))")
    params = ", ".join(f"{n}={n}" for n in names)
    source = (f"def check({params}):\n    try:\n        return " + " and\\\n            ".join(tests)
              + "\n    except (ValueError, IndexError):\n        return False\n")  # (an emptied closure cell; a list shortened)
    scope = {}
    exec(compile(source, "<value guards>", "exec"), names, scope)
    return scope["check"]


def _always():
    return True


def _frozen(value):
    """A tuple whose contents cannot change (numbers, strings, objects compared by identity, such tuples)."""
    if not isinstance(value, tuple):
        return False
    return all(type(v) in _SCALARS or _frozen(v) or not isinstance(v, (*_SNAPSHOT, np.ndarray)) for v in value)


def describe(failure):
    """A guard failure as the recompile warning names it (``G['SCALE'] == 2.0``, ``.temp == 1.0``)."""
    if failure is None:
        return None
    container, key, expected, held, how = failure
    if key is _CELL:
        where = "a closure cell"
    elif isinstance(container, dict) and "__builtins__" in container:
        where = f"G[{key!r}]"
    elif isinstance(container, _ContextVarView):
        where = f"ContextVar {container.var.name!r}"
    elif isinstance(container, _AttributeView):
        where = f"attribute .{key} of {getattr(container.obj, '__qualname__', type(container.obj).__name__)}"
    elif isinstance(container, list):
        where = f"item [{key}]"
    else:
        where = f"attribute .{key}"
    if how == EQ:
        return f"{where} == {expected!r} (now {_short(held)})"
    if how == FLOAT:
        return f"{where} is a float (now {_short(held)})"
    if how == IS:
        return f"{where} is the object captured ({_short(expected)}; now {_short(held)})"
    return f"{where}: its contents changed (now {_short(held)})"


def _short(v):
    text = "unbound" if v is _MISSING else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
