"""Symbolic scalars: Python floats that are inputs of a capture instead of constants baked into it.

torch 2.13 does not specialize floats (``torch._dynamo.config.specialize_float = False``): a float
argument is a constant of the first graph, guarded by its value, and when a later call brings
another value the recompile makes it a graph input (automatic dynamic), so that every later value
replays that graph. compiled.py follows the same policy for each float leaf of a call's arguments
(a function's argument, or a segment's: a value read's result handed to the code after a graph
break). The capture of a dynamic float runs the function with a ``SymFloat`` in its place: a
``float`` subclass with the same value that notes where it goes.

- Passed to an op (``x * s``, ``torch.add(x, y, alpha=s)``, ``x > s``): the op gets the plain float
  (its eager result is eager's own) and the capture records the argument as the scalar's slot, read
  at replay from the call's argument (codegen writes it as a variable, ``v7 = v3 * v5``).
- Arithmetic with Python numbers or other SymFloats (``s * 2 + 1``, ``-s``, ``1 / s``): the float
  result, recorded as a step that computes it again at replay with the same Python operation (so
  the same bits); the result is a SymFloat too.
- Anything else reads the value into Python: a comparison or ``bool`` (``if s > 0``), ``hash``,
  ``int``/``float``/``round``, formatting or printing, a NumPy ufunc or array made from it, a
  ``math`` function called from the user's code with it in scope (see ``Watch``), a non-number
  operand, a use inside an op's or a hook's code, a creation function's argument, a list or tuple
  argument, an optimizer call's argument, the function's result. The scalar is then
  *specialized*, as torch specializes a symbolic float that decides control flow: the capture is
  guarded by its value (and the arguments it derives from), and the argument stays a constant of
  later captures of that function.

``SymFloat`` objects act as plain floats outside the capture that made them (one kept in a list by
the function is still a SymFloat, with float's behaviour).

Ints the same way (``SymInt``, an ``int`` subclass): torch makes an int argument that changed a graph input
too (``specialize_int = False``). An int is read by C code far more often than a float, and an int subclass
cannot see those reads (``range(n)``, ``lst[n]``, ``'%d' % n``, ``2.5 * n``, ``np.zeros(n)`` call none of its
methods): stack_watch.py looks at each instruction of the user's code while such a capture runs and reads
(specializes) a symbolic scalar that any instruction but those listed there would hand to C code. Where that
watch cannot run, no SymInt is made (the int stays a plain constant guarded by value).
Arithmetic on a SymInt is recorded where the result's type cannot depend on the value (``n ** m`` and
``2 ** n`` read it); a SymInt reaches an op only as an operand of ``+ - * / **`` with a tensor.
"""

import itertools
import operator
import sys

_tokens = itertools.count(1)
_active = [None]  # the Capture recording now with symbolic scalars


class SymFloat(float):
    """A float argument of a capture (see the module docstring): ``slot`` in the capture's env,
    ``roots`` the argument slots it was computed from, ``token`` its capture's, ``value`` the plain float it
    stands for (the caller's object itself: what specializing it puts in its place, so ``s is CONST`` is eager's)."""

    __slots__ = ("slot", "roots", "token", "value")

    def __new__(cls, *args):
        """``type(s)(v)`` (statistics.mean converts its result so): a plain float, as ``float(v)``;
        the capture makes its SymFloats with ``float.__new__``."""
        return float(*args)

    def __reduce_ex__(self, protocol):
        """Pickled and copied as the plain float (the value read)."""
        return float, (_read(self),)

    def __repr__(self):
        return float.__repr__(_read(self))

    __str__ = __repr__

    @property
    def real(self):
        return _read(self)


class SymInt(int):
    """An int argument of a capture (as SymFloat; an int subclass cannot have __slots__, so these are
    instance attributes)."""

    def __new__(cls, *args):
        """``type(n)(v)``: a plain int, as ``int(v)``; the capture makes its SymInts with ``int.__new__``."""
        return int(*args)

    def __reduce_ex__(self, protocol):
        return int, (_read(self),)

    def __repr__(self):
        return int.__repr__(_read(self))

    __str__ = __repr__

    @property
    def real(self):
        return _read(self)

    @property
    def numerator(self):
        return _read(self)


SYMBOLIC = (SymFloat, SymInt)


def plain(x):
    """The plain float or int of a SymFloat or SymInt (without specializing it): the very object it stands for
    (the argument the caller gave, or an arithmetic step's result), so that identity (``n is BIG``, ``id(n)``,
    ``[n][0] is n`` once both are specialized) is eager's."""
    value = getattr(x, "value", None)
    if value is not None:
        return value
    return float.__float__(x) if type(x) is SymFloat else int.__int__(x)


def recording(s):
    """The capture ``s`` belongs to when that capture records a call at its depth 0 on its thread, else None."""
    cap = _active[0]
    if cap is None or cap.token != s.token:
        return None
    if not cap.mine():
        cap.specialize(s)  # (inside an op, a hook or another thread: the value read as it is)
        return None
    return cap


def _read(s):
    """``s``'s value read into Python: specialized (see the module docstring)."""
    cap = _active[0]
    if cap is not None and cap.token == s.token:
        cap.specialize(s)
    return plain(s)


def operand(cls, i, a):
    """Whether argument ``i`` of op ``cls`` is kept symbolic (a slot of the graph): a SymFloat (the op runs
    again with the value at replay), a SymInt only as an operand of Add, Sub, Mul, Div or Pow (elsewhere an
    int decides a shape, a dim or an index, which the graph fixes)."""
    kind = type(a)
    if kind is SymFloat:
        return True
    return kind is SymInt and i < 2 and cls in _int_operand_ops()


def _int_operand_ops():
    from ..ops import elementwise as ew

    return (ew.Add, ew.Sub, ew.Mul, ew.Div, ew.Pow)


def unwrap(value):
    """``value`` with each SymFloat inside a tuple, list or dict (or ``value`` itself) specialized and
    replaced by its plain float; ``value`` itself when it holds none."""
    kind = type(value)
    if kind in SYMBOLIC:
        return _read(value)
    if kind in (tuple, list) or isinstance(value, tuple) and hasattr(value, "_fields"):
        items = [unwrap(v) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return kind(*items) if hasattr(value, "_fields") else kind(items)
    if kind is dict:
        items = {k: unwrap(v) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if kind is slice:
        parts = (unwrap(value.start), unwrap(value.stop), unwrap(value.step))
        return value if all(a is b for a, b in zip(parts, (value.start, value.stop, value.step))) else slice(*parts)
    return value


_TRACED = (int, float, bool, SymFloat, SymInt)  # operand types whose arithmetic with a symbolic scalar is recorded


def _binary(op, name, reflected, base):
    base = getattr(base, name)

    def method(self, other):
        kind = type(other)
        if kind not in _TRACED:
            result = base(plain(self), other)
            if result is not NotImplemented or not isinstance(other, tensor_class()):
                # (a float subclass such as np.float64, or a list that `n * [0]` repeats in C: the value read;
                # a tensor's own method gets the scalar: a recorded operand)
                _read(self)
            return result
        a, b = (other, self) if reflected else (self, other)
        pa = plain(a) if type(a) in SYMBOLIC else a
        pb = plain(b) if type(b) in SYMBOLIC else b
        result = op(pa, pb)
        cap = recording(self)
        if cap is None or type(result) not in (float, int) or not _stable(op, a, b):
            if cap is not None:  # (a complex result, or one whose type the value decides: the value read)
                _read(self)
                if kind in SYMBOLIC:
                    _read(other)
            return result
        return cap.scalar_op(op, (a, b), result)

    method.__name__ = name
    return method


def _stable(op, a, b):
    """Whether ``op(a, b)``'s type is the same for every value of its symbolic operands: a symbolic float
    exponent gives a float for a constant base >= 0 (a negative base to a fractional power is complex), a
    symbolic int exponent a float for a float base (an int base: an int or a float by the exponent's sign),
    a constant exponent one type for an integral exponent."""
    if op is not operator.pow:
        return True
    if type(b) is SymFloat:
        return type(a) not in SYMBOLIC and a >= 0
    if type(b) is SymInt:
        return type(a) in (float, SymFloat)
    return float(b).is_integer()


def tensor_class():
    from ..tensor import Tensor

    return Tensor


def _unary(op, name):
    def method(self):
        result = op(plain(self))
        cap = recording(self)
        if cap is None:
            return result
        return cap.scalar_op(op, (self,), result)

    method.__name__ = name
    return method


def _reads(name, base):
    base = getattr(base, name)

    def method(self, *args, **kwargs):
        return base(_read(self), *(plain(a) if type(a) in SYMBOLIC else a for a in args), **kwargs)

    method.__name__ = name
    return method


_ARITHMETIC = (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul), ("truediv", operator.truediv),
               ("floordiv", operator.floordiv), ("mod", operator.mod), ("pow", operator.pow))
_READS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__hash__", "__int__", "__float__",
          "__round__", "__trunc__", "__floor__", "__ceil__", "__format__", "__divmod__", "__rdivmod__",
          "as_integer_ratio", "conjugate")
_INT_READS = ("__index__", "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lshift__",
              "__rlshift__", "__rshift__", "__rrshift__", "__invert__", "bit_length", "bit_count", "to_bytes",
              "__getnewargs__", "is_integer")
for _cls, _base, _more in ((SymFloat, float, ("is_integer", "hex")), (SymInt, int, _INT_READS)):
    for _name, _op in _ARITHMETIC:
        setattr(_cls, f"__{_name}__", _binary(_op, f"__{_name}__", False, _base))
        setattr(_cls, f"__r{_name}__", _binary(_op, f"__r{_name}__", True, _base))
    for _name, _op in (("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs)):
        setattr(_cls, f"__{_name}__", _unary(_op, f"__{_name}__"))
    for _name in (*_READS, *_more):
        if hasattr(_base, _name):
            setattr(_cls, _name, _reads(_name, _base))
    _cls.__hash__ = _reads("__hash__", _base)  # (a class defining __eq__ would lose it otherwise)


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """A NumPy ufunc on the value (``np.exp(s)``, ``array * s`` outside an op): the value read."""
    inputs = tuple(_read(x) if type(x) in SYMBOLIC else x for x in inputs)
    return getattr(ufunc, method)(*inputs, **kwargs)


SymFloat.__array_ufunc__ = SymInt.__array_ufunc__ = _array_ufunc


class Watch:
    """A profile hook while a capture with symbolic scalars records: a C function called from the
    user's code (``math.sqrt(s)``: C code that reads a float's value without calling its methods),
    other than those that cannot read a number (``isinstance``, ``len``, a list's methods...),
    specializes each SymFloat that code can reach: in its frame's locals (closure cells included)
    and their tuples, lists and dicts, its locals' attributes (``o.s = s``, then ``math.exp(o.s)`` in a callee),
    returned to it by a function it called (``math.exp(f())``),
    and a guarded float taken as an input whose name its code loads (``math.sqrt(SCALE)``,
    ``math.exp(self.temp)``: capture.swapped)."""

    def __init__(self, capture, user_code, global_names):
        from .stack_watch import StackWatch

        self.capture, self.user_code, self.global_names = capture, user_code, global_names
        self.previous, self.on = None, False
        self.hooked = False  # both hooks set: from then on a call of sys.settrace or sys.setprofile specializes all
        self.returned = {}  # frame -> the SymFloats functions it called returned to it
        self.stack = StackWatch(capture, user_code)  # (C code reading a symbolic scalar in the user's code)

    def start(self):
        """False where a C-level profiler (cProfile) holds the hook: it cannot be chained, so the capture
        specializes every symbolic scalar instead. Where the stack watch cannot run, the SymInts are
        specialized (the SymFloats keep this watch's checks alone)."""
        previous = sys.getprofile()
        if previous is not None and not callable(previous):
            return False
        self.previous = previous
        sys.setprofile(self._event)
        self.on = True
        if not self.stack.start():
            cap = self.capture
            cap.static.update(slot for slot, value in cap.scalar_value.items() if type(value) is int)
        self.hooked = True
        return True

    def stop(self):
        if self.hooked:  # (a hook replaced by code that ran, or dropped by an error in it: some code went unwatched)
            self.hooked = False
            if sys.getprofile() != self._event or self.stack.on and sys.gettrace() != self.stack._call:
                self.stack._give_up("a trace or profile function was replaced while the capture ran")
        self.stack.stop()
        if self.on:
            sys.setprofile(self.previous)
            self.on = False
        self.returned = {}

    def _event(self, frame, event, arg):
        if self.previous is not None:
            self.previous(frame, event, arg)
        if event == "c_call" and (arg is sys.settrace or arg is sys.setprofile) and self.hooked:
            # (the code replaces a hook these watches need: the frames run after it would go unwatched, so every
            # symbolic scalar is specialized)
            self.stack._give_up(f"the code called sys.{arg.__name__}")
            return
        if event == "return":
            if _holds_sym(arg) and frame.f_back is not None and self.capture.mine():
                self.returned.setdefault(frame.f_back, []).append(arg)
            return
        if event != "c_call" or arg in _SAFE or getattr(arg, "__self__", None).__class__ in _SAFE_OWNERS:
            return
        code = frame.f_code
        if not self.user_code(code) or not self.capture.mine():
            return
        for value in frame.f_locals.values():
            if _holds_sym(value):
                unwrap(value)
            else:  # (an object's attribute: self.temp = s in one method, math.exp(self.temp) in another)
                attributes = getattr(value, "__dict__", None)
                if type(attributes) is dict:
                    for v in attributes.values():
                        if _holds_sym(v):
                            unwrap(v)
        for value in self.returned.pop(frame, ()):
            unwrap(value)
        if self.capture.swapped:
            names, attributes = self.global_names(code)
            for s, container, key, _ in self.capture.swapped:
                if key in attributes or key in names:
                    _read(s)


def _holds_sym(value):
    kind = type(value)
    if kind is SymFloat:
        return True
    if kind in (tuple, list):
        return any(type(v) is SymFloat for v in value)
    return kind is dict and any(type(v) is SymFloat for v in value.values())


_SAFE = frozenset((isinstance, issubclass, len, getattr, hasattr, setattr, id, iter, next, callable, print,
                   sys._getframe))
_SAFE_OWNERS = frozenset((list, dict, set))  # (their methods: list.append, dict.get...)
