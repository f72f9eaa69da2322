"""The stack watch: sees C code reading a symbolic scalar (symbolic.py) in the user's code while a capture runs.

A ``SymInt`` is an ``int`` subclass, and C code reads an int's value without calling any of its methods:
``range(n)``, ``lst[n]``, ``lst[:n]``, ``'%d' % n``, ``2.5 * n``, ``True + n``, ``np.zeros(n)``,
``struct.pack('i', n)``, ``json.dumps(n)``; so does ``'%.4f' % s`` for a ``SymFloat``. A capture given one
would record what such a read computed as a constant and replay it for other values. So while a capture holds
symbolic scalars, this watch runs as a ``sys.settrace`` local trace function with opcode events on each frame
of the user's code (value_guards.user_code) and looks at the operands each instruction takes from the value
stack (``_PyInterpreterFrame``'s, read with ctypes: CPython 3.11's layout, checked on each read). A symbolic
operand is left as it is only where the instruction keeps it in the user's frames, or hands it to one of its
own methods (which record the arithmetic or read the value, symbolic.py), or to a tensor's ``+ - * / **``:

- moves: loads, ``STORE_FAST``, ``POP_TOP``, ``COPY``, ``SWAP``, ``n is None``;
- ``-n``, ``+n``, ``~n``, ``not n``, a jump on its truth: the scalar's own method runs;
- ``BINARY_OP`` whose own method runs first (a symbolic left operand; a right one whose left operand is an
  int for a SymInt, a float for a SymFloat, or an int or bool for a SymFloat: Python calls the subclass's
  reflected method first, or the int's returns NotImplemented), or with a tensor, for ``+ - * / **``;
- a call of a Python function or method of the user's (no ``*args``/``**kwargs``, not a generator) or of a
  module whose ``forward`` is one: the arguments become that frame's locals, which the watch sees too;
  ``isinstance``, ``issubclass`` and ``callable``;
- ``return`` to the user's frame whose ``CALL`` instruction called the function (not to C code that
  frame called, such as ``bytes(map(f, ...))``);
- ``n is None``.

Any other instruction taking a symbolic operand (a subscript, a slice, a call of C code or of a library's
function, formatting, a comparison, an identity test but ``is None``, a container built, an attribute, a global
or a closure cell stored, a return into library code)
*specializes* it (the capture is guarded by its value: symbolic.py) and puts its plain int or float on the
stack in its place, so the C code and ``type(n)`` see a plain number. Symbolic scalars thus live only in the
user's frames (locals, cells, the value stack) and in the recorded ops; nothing else can hold one unseen.
A closure whose cells hold one, handed to anything but a call of it (``Thread(target=f)``, a job list a worker
thread reads), has them specialized too: another thread runs no trace function; a frame or traceback object taken by any
instruction but a move makes the watch give up (its ``f_locals`` hold the symbolic scalars). An instruction carrying an
``EXTENDED_ARG`` is looked at on that prefix's event (CPython runs it without one of its own). Code that calls
``sys.settrace`` or ``sys.setprofile`` while the capture runs (or a hook found replaced at its end: an error in
it drops it) makes the watch give up, as below; ``sys.gettrace()`` called by the user's code gets the trace
function there was before the capture (eager's answer) in place of the watch's. Specializing puts the very
object the scalar stands for on the stack (symbolic.plain), so ``n is BIG`` is eager's.
Where the watch cannot run (another Python version, a debugger or coverage holding ``sys.settrace``, cProfile
holding ``sys.setprofile``: ``available()``) no SymInt is made: every int stays a plain constant guarded by
value. A frame whose layout fails the checks makes the watch give up: every symbolic scalar of the capture is
specialized (the values are guarded; a SymInt already in a frame keeps its type, which only 3.11's layout
changing under it could cause).
"""

import ctypes
import dis
import os
import sys
import types

from . import symbolic

_P = ctypes.sizeof(ctypes.c_void_p)
_SUPPORTED = sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11)
_TYPES = {id(symbolic.SymFloat), id(symbolic.SymInt)}

# instructions that cannot hand an operand to C code: a symbolic one stays as it is (the watch reads no stack)
_KEEPS = frozenset((
    "NOP", "RESUME", "CACHE", "EXTENDED_ARG", "PUSH_NULL", "PRECALL", "KW_NAMES", "MAKE_CELL", "COPY_FREE_VARS",
    "LOAD_FAST", "LOAD_CONST", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_NAME", "LOAD_CLASSDEREF",
    "LOAD_ASSERTION_ERROR", "STORE_FAST", "DELETE_FAST", "DELETE_DEREF", "POP_TOP", "COPY", "SWAP",
    "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "POP_JUMP_FORWARD_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
    # (the scalar's own method runs: __neg__, __pos__, __invert__, __bool__)
    "UNARY_NEGATIVE", "UNARY_POSITIVE", "UNARY_INVERT", "UNARY_NOT", "POP_JUMP_FORWARD_IF_TRUE",
    "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE", "JUMP_IF_TRUE_OR_POP",
    "JUMP_IF_FALSE_OR_POP",
))

# the operands (items taken from the top of the stack) of the instructions that take a fixed number; others:
# the whole stack
_OPERANDS = {
    "BINARY_OP": 2, "COMPARE_OP": 2, "IS_OP": 2, "CONTAINS_OP": 2, "BINARY_SUBSCR": 2, "STORE_SUBSCR": 3, "DELETE_SUBSCR": 2,
    "STORE_ATTR": 2, "STORE_DEREF": 1, "DELETE_ATTR": 1, "LOAD_ATTR": 1, "LOAD_METHOD": 1, "STORE_GLOBAL": 1, "STORE_NAME": 1,
    "LIST_APPEND": 1, "SET_ADD": 1, "MAP_ADD": 2, "LIST_EXTEND": 1, "SET_UPDATE": 1, "DICT_UPDATE": 1,
    "DICT_MERGE": 1, "LIST_TO_TUPLE": 1, "GET_ITER": 1, "FOR_ITER": 1, "UNPACK_SEQUENCE": 1, "UNPACK_EX": 1,
    "RETURN_VALUE": 1, "YIELD_VALUE": 1, "PRINT_EXPR": 1, "IMPORT_NAME": 2, "GET_AWAITABLE": 1, "SEND": 2,
    "BEFORE_WITH": 1, "BUILD_TUPLE": None, "BUILD_LIST": None, "BUILD_SET": None, "BUILD_STRING": None,
    "BUILD_SLICE": None,
}
_BY_ARG = {"BUILD_TUPLE", "BUILD_LIST", "BUILD_SET", "BUILD_STRING", "BUILD_SLICE", "RAISE_VARARGS"}

_TENSOR_OPS = frozenset(("+", "-", "*", "/", "**"))
_ARITHMETIC = frozenset(("+", "-", "*", "/", "//", "%", "**"))  # a tensor's methods that pass a scalar to the op as it is
_NB_OPS = [symbol for _, symbol in dis._nb_ops] if hasattr(dis, "_nb_ops") else []
_PASS_THROUGH = (isinstance, issubclass, callable)  # C functions that read no number's value
_FRAMES = (types.FrameType, types.TracebackType)
_SUSPENDS = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator
_NO_PLAIN_CALL = 0x04 | 0x08 | _SUSPENDS  # *args, **kwargs


def available():
    """Whether a capture starting now can run the watch: CPython 3.11, no debugger or coverage holding
    ``sys.settrace``, no C-level profiler (cProfile) holding ``sys.setprofile`` (symbolic.Watch needs it).
    Where not, no SymInt is made at all (an int subclass would answer ``type(n) is int`` differently)."""
    if not _SUPPORTED or not _NB_OPS or sys.gettrace() is not None:
        return False
    profile = sys.getprofile()
    return profile is None or callable(profile)


class Unavailable(Exception):
    """The watch cannot read this interpreter's frames."""


class StackWatch:
    """The watch for one capture (see the module docstring); ``start()`` False where it cannot run."""

    def __init__(self, capture, user_code):
        self.capture, self.user_code = capture, user_code
        self.previous, self.on = None, False
        self.codes = {}  # code -> ({offset: (opname, arg)}, the number of its locals, cells and free variables)
        self.failed = None  # why a frame could not be read (every symbolic scalar is then specialized)
        # the frames of the user's functions called by a CALL instruction of a user's frame (a return hands
        # a value to that frame's stack), and the (calling frame, code) of the CALL about to run
        self.entered, self.expect = set(), None
        self.gettrace = None  # (frame, its stack depth) after a call of sys.gettrace: eager's answer put there

    def start(self):
        if not _SUPPORTED or not _NB_OPS:
            return False
        previous = sys.gettrace()
        if previous is not None and not _is_recorder(previous):
            return False  # (a debugger or coverage holds the trace function)
        self.previous = previous
        sys.settrace(self._call)
        self.on = True
        return True

    def stop(self):
        if self.on:
            self.on = False
            sys.settrace(self.previous)
        self.entered, self.expect, self.gettrace = set(), None, None

    # ---------------------------------------------------------------- events
    def _call(self, frame, event, arg):
        if self.previous is not None:
            self.previous(frame, event, arg)
        if self.failed is None and self.user_code(frame.f_code):
            if self.expect is not None and self.expect[0] is frame.f_back and self.expect[1] is frame.f_code:
                self.entered.add(frame)
            self.expect = None
            frame.f_trace_lines = False
            frame.f_trace_opcodes = True
            return self._local
        return None

    def _local(self, frame, event, arg):
        if not self.on:  # (a generator the capture made, resumed after it)
            frame.f_trace_opcodes = False
            return None
        if event == "opcode" and self.failed is None:
            try:
                self._instruction(frame)
            except Exception as e:  # noqa: BLE001  (never the user's code's error: the scalars specialized instead)
                self._give_up(f"{type(e).__name__}: {e}")
        return self._local

    def _give_up(self, why):
        """A frame that could not be read: every symbolic scalar of the capture is specialized."""
        self.failed = why
        cap = self.capture
        cap.static.update(slot for slot, (kind, _) in enumerate(cap.slots) if kind == "scalar")

    def _instruction(self, frame):
        code = frame.f_code
        info = self.codes.get(code)
        if info is None:
            info = self.codes[code] = _index(code)
        op, arg = info[0].get(frame.f_lasti, ("?", None))
        if self.expect is not None and self.expect[0] is frame:
            self.expect = None  # (the call it expected failed before its frame started: no later frame is it)
        if self.gettrace is not None and self.gettrace[0] is frame:
            self._hide(frame, info[1])
        if op in _KEEPS:
            return
        stack, base = _stack(frame, info[1])
        count = _count(op, arg, len(stack))
        first = len(stack) - count
        operands = stack[first:]
        returns_to_caller = op == "RETURN_VALUE" and frame in self.entered
        if op == "RETURN_VALUE":
            self.entered.discard(frame)
        if op == "CALL":  # (a function of the user's called from here returns to this frame's stack)
            fn = operands[0] if operands[0] is not None else operands[1]
            fn = fn.__func__ if isinstance(fn, types.MethodType) else fn
            self.expect = (frame, fn.__code__) if isinstance(fn, types.FunctionType) \
                and not fn.__code__.co_flags & _SUSPENDS else None  # (a generator's frame returns to whoever resumes it)
            if fn is sys.gettrace:
                self.gettrace = (frame, first + 1)
        if op == "CALL" and _INTROSPECTION.intersection(map(id, operands[:2])):
            # (locals() and the like hand the frame's locals to C code: each symbolic one specialized, plain there)
            names = frame.f_locals
            for k, v in list(names.items()):
                if type(v) in symbolic.SYMBOLIC:
                    names[k] = symbolic.unwrap(v)
        if not returns_to_caller:
            for i, v in enumerate(operands):
                if type(v) in _FRAMES:  # (its f_locals hold the symbolic scalars: read anywhere, another thread too)
                    self._give_up(f"a {type(v).__name__} object handed on")
                    return
                if _closes_over(v) and not (op == "CALL" and i == (0 if operands[0] is not None else 1)
                                            and not v.__code__.co_flags & _SUSPENDS):
                    _specialize_cells(v)  # (a closure handed on: it may run where no frame is watched)
        if not any(type(v) in symbolic.SYMBOLIC or _holds(v) for v in operands):
            return
        if op == "BINARY_OP" and type(operands[0]) is float and type(operands[1]) is symbolic.SymInt \
                and _NB_OPS[arg].rstrip("=") in _ARITHMETIC:
            # (``2.5 * n``: float's method reads the int in C, as float(n); a SymFloat of float(n) in its place
            # has the same value, and the float's reflected method first)
            s = operands[1]
            cap = symbolic.recording(s)
            if cap is not None:
                _put(base + (first + 1) * _P, s, cap.scalar_op(float, (s,), float(symbolic.plain(s))))
                return
        if returns_to_caller or self._keeps(frame, op, arg, operands):
            return
        for i, v in enumerate(operands):
            if type(v) in symbolic.SYMBOLIC:
                _put(base + (first + i) * _P, v, symbolic.unwrap(v))
            elif _holds(v):
                symbolic.unwrap(v)  # (a container handed to the function holding one: specialized)

    def _hide(self, frame, nlocals):
        """The instruction after ``sys.gettrace()`` in the user's code: its result is this watch's trace function,
        which eager's call would not see (``if sys.gettrace() is None:``); the trace function before it in its place."""
        depth = self.gettrace[1]
        self.gettrace = None
        stack, base = _stack(frame, nlocals)
        if len(stack) == depth and stack[-1] == self._call:
            _put(base + (depth - 1) * _P, stack[-1], self.previous)

    def _keeps(self, frame, op, arg, operands):
        """Whether instruction ``op`` leaves its symbolic operands to the user's frames or their own methods."""
        if op == "BINARY_OP":
            return _binary_keeps(_NB_OPS[arg], *operands)
        if op == "COMPARE_OP":  # (a tensor compared with a float: the capture records the comparison's operand)
            return _floats_only(operands) and any(isinstance(v, symbolic.tensor_class()) for v in operands)
        if op == "CALL":
            if any(_holds(v) for v in operands):
                return False
            fn = operands[0] if operands[0] is not None else operands[1]
            return _plain_call(fn, self.user_code) or _floats_only(operands) and _retrograd_function(fn)
        if op == "IS_OP":  # (a symbolic scalar is not the cached small int its value is: `n is 3`)
            return any(v is None for v in operands)
        return False


def _is_recorder(trace):
    from .value_guards import Recorder

    return isinstance(getattr(trace, "__self__", None), Recorder)


def _index(code):
    """({offset: (opname, arg)}, the number of the frame's local, cell and free variable slots)."""
    ops, pending = {}, []
    for i in dis.get_instructions(code):
        if i.opname == "EXTENDED_ARG":  # (CPython runs the instruction it extends untraced: its event is this one's)
            pending.append(i.offset)
            continue
        for offset in (*pending, i.offset):
            ops[offset] = (i.opname, i.arg)
        pending = []
    cells = [c for c in code.co_cellvars if c not in code.co_varnames]
    return ops, code.co_nlocals + len(cells) + len(code.co_freevars)


def _count(op, arg, depth):
    if op == "CALL":
        return min(arg + 2, depth)
    if op in _BY_ARG:
        return min(arg, depth)
    if op == "BUILD_MAP":
        return min(2 * arg, depth)
    if op == "BUILD_CONST_KEY_MAP":
        return min(arg + 1, depth)
    if op == "FORMAT_VALUE":
        return min(2 if arg & 4 else 1, depth)
    if op == "CALL_FUNCTION_EX":
        return min(3 + (arg & 1), depth)
    n = _OPERANDS.get(op)
    return depth if n is None else min(n, depth)


def _stack(frame, nlocals):
    """(the objects on ``frame``'s value stack, None for NULL; the address of its first item), from CPython
    3.11's ``_PyInterpreterFrame``: f_func, f_globals, f_builtins, f_locals, f_code, frame_obj, previous,
    prev_instr, then ``int stacktop`` and the locals-plus-stack array. The layout is checked (the frame's code
    and object where they must be, the stack within the code's stack size) before anything is read."""
    iframe = ctypes.c_void_p.from_address(id(frame) + 3 * _P).value  # PyFrameObject.f_frame
    if not iframe or ctypes.c_void_p.from_address(iframe + 4 * _P).value != id(frame.f_code) \
            or ctypes.c_void_p.from_address(iframe + 5 * _P).value != id(frame):
        raise Unavailable("the frame's layout is not CPython 3.11's")
    top = ctypes.c_int.from_address(iframe + 8 * _P).value
    if not nlocals <= top <= nlocals + frame.f_code.co_stacksize:
        raise Unavailable(f"the frame's stack top {top} is outside its locals ({nlocals}) and stack size")
    base = iframe + 9 * _P + nlocals * _P
    out = []
    for i in range(top - nlocals):
        p = ctypes.c_void_p.from_address(base + i * _P).value
        out.append(ctypes.cast(p, ctypes.py_object).value if p else None)
    return out, base


def _put(address, old, new):
    """Replace stack item ``old`` at ``address`` by ``new`` (the stack holds a reference to each)."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(new))
    ctypes.c_void_p.from_address(address).value = id(new)
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(old))


def _holds(v):
    """A tuple, list, dict or slice holding a symbolic scalar (one level: nothing but the user's frames can
    build one with a live symbolic scalar, see the module docstring)."""
    kind = type(v)
    if kind in (tuple, list):
        return any(type(x) in symbolic.SYMBOLIC for x in v)
    if kind is dict:
        return any(type(x) in symbolic.SYMBOLIC for x in v.values())
    if kind is slice:
        return any(type(x) in symbolic.SYMBOLIC for x in (v.start, v.stop, v.step))
    return False


def _closes_over(v):
    """A function of the user's whose closure holds a symbolic scalar: handed to anything but a call of it, it
    may run in another thread (``Thread(target=...)``, a worker's queue), where no trace function watches."""
    return type(v) is types.FunctionType and v.__closure__ is not None \
        and any(type(_contents(c)) in symbolic.SYMBOLIC for c in v.__closure__)


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # (an empty cell)
        return None


def _specialize_cells(fn):
    for cell in fn.__closure__:
        value = _contents(cell)
        if type(value) in symbolic.SYMBOLIC:
            cell.cell_contents = symbolic.unwrap(value)


def _binary_keeps(symbol, a, b):
    """Whether ``a <symbol> b`` calls a symbolic operand's own method first, or a tensor's (whose op then records
    the scalar): for ``+ - * / **`` (any operator for a float, as symbolic.py's ops take it)."""
    if isinstance(a, symbolic.tensor_class()) or isinstance(b, symbolic.tensor_class()):
        return symbol in _TENSOR_OPS or _floats_only((a, b)) and "=" not in symbol
    if type(a) in symbolic.SYMBOLIC:
        return True  # (its method runs first: it records the arithmetic with a number, or reads the value)
    kind = type(b)  # (a plain left operand: which method runs first)
    if kind is symbolic.SymInt:
        return type(a) is int  # (a subclass's reflected method first; a float's or a bool's reads it in C)
    return type(a) in (int, float, bool)  # (a SymFloat: a float subclass; an int's method returns NotImplemented)


def _floats_only(operands):
    return not any(type(v) is symbolic.SymInt for v in operands)


def _retrograd_function(fn):
    """A Python function or method of retrograd's (the op API: a float argument reaches the op's hook there,
    which records it or reads it, symbolic.py)."""
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    return isinstance(fn, types.FunctionType) and fn.__code__.co_filename.startswith(_RETROGRAD)


def _plain_call(fn, user_code):
    """A callable whose arguments only become the locals of a frame of the user's code (or that reads none)."""
    if fn in _PASS_THROUGH:
        return True
    from ..nn.module import Module

    if isinstance(fn, Module):
        fn = type(fn).forward
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    return isinstance(fn, types.FunctionType) and user_code(fn.__code__) \
        and not fn.__code__.co_flags & _NO_PLAIN_CALL


_INTROSPECTION = frozenset(map(id, (locals, vars, eval, exec, sys._getframe, dir)))
_RETROGRAD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
