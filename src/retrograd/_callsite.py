"""The user's line: the first frame outside retrograd (and outside the standard library's
``copy`` and ``contextlib``, which call into it for the user), for messages that point at the
user's code: in-place modifications (autograd.function), anomaly mode's forward check and
``inspect.why_no_grad``.

A site is ``(filename, lineno)``; ``format_site`` writes it as ``train.py:42``.
"""

import copy
import contextlib
import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_CALLERS = (copy.__file__, contextlib.__file__)


_internal = {}  # co_filename -> whether it is retrograd's (or a caller's on its behalf)


def _user_frame(f):
    internal = _internal
    while f is not None:
        name = f.f_code.co_filename
        inside = internal.get(name)
        if inside is None:
            inside = internal[name] = name.startswith(_PACKAGE) or name in _CALLERS
        if not inside:
            return f
        f = f.f_back
    return None


def user_site(skip=1):
    """``(filename, lineno)`` of the innermost frame, ``skip`` frames above this call, that is
    not retrograd's; None if every frame is."""
    f = _user_frame(sys._getframe(skip))
    return None if f is None else (f.f_code.co_filename, f.f_lineno)


def user_position(skip=1):
    """Like user_site, but cheaper: ``(code, instruction offset)``, made a site by
    ``position_site`` only when needed (a frame's line number costs a table scan)."""
    f = _user_frame(sys._getframe(skip))
    return None if f is None else (f.f_code, f.f_lasti)


def position_site(position):
    """The ``(filename, lineno)`` of a user_position."""
    if position is None:
        return None
    code, offset = position
    line = None
    for start, end, lineno in code.co_lines():
        if start <= offset < end:
            line = lineno
            break
    return code.co_filename, line


def format_site(site):
    """``"train.py:42"`` (the file's base name and the line); "an unknown line" for None."""
    if site is None:
        return "an unknown line"
    return f"{os.path.basename(site[0])}:{site[1]}"
