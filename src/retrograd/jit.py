"""``torch.jit``'s queries and decorators that eager model code uses, for a library with no
TorchScript: nothing is ever scripted or traced, so ``is_scripting()`` and ``is_tracing()`` are
False and the decorators that tell the TorchScript compiler what to skip (``ignore``, ``unused``,
``export``, ``script_if_tracing``) leave the function as it is, as torch's do in eager mode.

``torch.jit.script``, ``trace``, ``save`` and ``load`` are not here (docs/differences.md).
"""

import typing

__all__ = ["is_scripting", "is_tracing", "ignore", "unused", "export", "annotate", "script_if_tracing", "Final"]

Final = typing.Final  # torch.jit.Final: a class attribute TorchScript treats as a constant


def is_scripting():
    """False: retrograd has no TorchScript, so code never runs scripted."""
    return False


def is_tracing():
    """False: retrograd has no TorchScript tracer (``torch.onnx.export`` traces by its own means)."""
    return False


def ignore(drop=False, **kwargs):
    """``@torch.jit.ignore`` or ``@torch.jit.ignore(drop=True)``: the function left to Python by
    the TorchScript compiler; in eager code (all of retrograd's) it runs as it is, whatever
    ``drop`` (which only decides what a scripted module does with it)."""
    if callable(drop):  # used bare: @ignore
        return drop
    unknown = set(kwargs) - {"drop_on_export"}
    if unknown:
        raise TypeError(f"ignore() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    if not isinstance(drop, bool) or not isinstance(kwargs.get("drop_on_export", False), bool):
        raise TypeError(f"ignore(): drop must be a bool or the decorated function, got {type(drop).__name__}")
    return lambda fn: fn


def unused(fn):
    """``@torch.jit.unused``: a method TorchScript replaces by a raise; eager code runs it."""
    return fn


def export(fn):
    """``@torch.jit.export``: a method TorchScript compiles too; eager code runs it as it is."""
    return fn


def script_if_tracing(fn):
    """The function scripted only while tracing, which never happens here: fn itself."""
    return fn


def annotate(the_type, the_value):
    """The value (the type is a hint for the TorchScript compiler)."""
    del the_type  # read: a hint only, as in torch's eager mode
    return the_value
