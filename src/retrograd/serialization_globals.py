"""Which globals a ``weights_only`` load may use, and the retrograd object a torch name stands for.

``add_safe_globals``, ``get_safe_globals``, ``clear_safe_globals`` and the ``safe_globals``
context manager keep the user's allow-list, as ``torch.serialization`` does: each entry is a
function/class, named in a checkpoint by ``{__module__}.{__qualname__}``, or a tuple
``(function/class, "full.path")`` naming it as the checkpoint does.

A checkpoint written by ``torch.save`` names torch's globals (``torch.nn.modules.linear.Linear``,
``torch.nn.functional.relu``); retrograd loads each as the retrograd object of the same name
(``retrograd.nn.modules.linear.Linear``, else ``retrograd.nn.Linear`` for a module class). An
allow-list entry admits a torch name when it is the retrograd object that name maps to, so
``safe_globals([retrograd.nn.Linear])`` admits a torch-saved ``torch.nn.Linear``.
"""

import _compat_pickle
import importlib
import pickle
import pickletools

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals"]

# torch refuses any global of these modules, allow-listed or not
_BLOCKLISTED_MODULES = ("sys", "os", "posix", "nt")

_marked = set()


def add_safe_globals(safe_globals):
    """Mark the given globals (functions/classes, or ``(global, "full.path")`` tuples) as safe
    for ``weights_only`` load: a checkpoint may then name, call and instantiate them."""
    global _marked
    _marked = _marked.union(set(safe_globals))


def get_safe_globals():
    """The globals marked safe by ``add_safe_globals`` / ``safe_globals``, as a list."""
    return list(_marked)


def clear_safe_globals():
    """Forget every global marked safe."""
    global _marked
    _marked = set()


class safe_globals:
    """Context manager: the given globals are safe for ``weights_only`` load inside the block."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, type, value, tb):
        global _marked
        _marked = _marked - set(self.safe_globals)


def user_allowed():
    """``{"module.qualname": object}`` of the marked globals, as torch computes it."""
    out = {}
    for f in _marked:
        if isinstance(f, tuple):
            if len(f) != 2:
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full path), but got tuple of "
                                 f"length: {len(f)}")
            if type(f[1]) is not str:
                raise TypeError(f"Expected second item in tuple to be str of callable full path, but got: {type(f[1])}")
            out[f[1]] = f[0]
        else:
            out[f"{f.__module__}.{f.__qualname__}"] = f
    return out


def globals_in_pickle(data):
    """The ``(module, name)`` globals a pickle names, read without running it: GLOBAL's
    argument, or for STACK_GLOBAL the two strings pushed before it (directly or from the memo)."""
    found, memo, strings = [], {}, []  # strings: the values pushed last (None for a non-string)
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            found.append((module, name))
            strings.append(None)
        elif op.name == "STACK_GLOBAL":
            if len(strings) < 2 or not all(isinstance(v, str) for v in strings[-2:]):
                raise pickle.UnpicklingError("STACK_GLOBAL without a module and a name before it")
            found.append((strings[-2], strings[-1]))
            strings.append(None)
        elif op.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            memo[len(memo) if op.name == "MEMOIZE" else arg] = strings[-1] if strings else None
        elif op.name in ("GET", "BINGET", "LONG_BINGET"):
            strings.append(memo.get(arg))
        else:
            strings.append(arg if isinstance(arg, str) and "unicode" in op.name.lower() else None)
    return found


def normalize(module, name):
    """Python 2 names of protocol 0-2 pickles (``__builtin__.set``) as Python 3's."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def display_path(module, name):
    """The name torch's error shows: ``set`` for ``builtins.set``."""
    return name if module == "builtins" else f"{module}.{name}"


def retrograd_object(module, name):
    """The retrograd object that torch's ``module.name`` stands for, or None if retrograd has none."""
    if module != "torch" and not module.startswith("torch."):
        return None
    candidates = ["retrograd" + module[len("torch"):]]
    if module.startswith("torch.nn.modules."):  # a module class: its retrograd file may differ
        candidates.append("retrograd.nn")
    for path in candidates:
        try:
            obj = importlib.import_module(path)
        except ImportError:
            continue
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is not None:
            return obj
    return None


def weights_only_error(full_path):
    """torch's message for a global the weights-only loader does not allow."""
    return ("Weights only load failed. This file can still be loaded, to do so you have two options, do those steps "
            "only if you trust the source of the checkpoint. \n\t(1) Re-running `retrograd.load` with `weights_only` "
            "set to `False` will likely succeed, but it can result in arbitrary code execution. Do it only if you got "
            "the file from a trusted source.\n\t(2) Alternatively, to load with `weights_only=True` please check the "
            "recommended steps in the following error message.\n\tWeightsUnpickler error: Unsupported global: GLOBAL "
            f"{full_path} was not an allowed global by default. Please use `torch.serialization.add_safe_globals("
            f"[{full_path}])` or the `torch.serialization.safe_globals([{full_path}])` context manager to allowlist "
            "this global if you trust this class/function.")
