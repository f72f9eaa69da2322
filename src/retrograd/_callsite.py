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


def user_site(skip=1):
    """``(filename, lineno)`` of the innermost frame, ``skip`` frames above this call, that is
    not retrograd's; None if every frame is."""
    f = sys._getframe(skip)
    while f is not None:
        name = f.f_code.co_filename
        if not name.startswith(_PACKAGE) and name not in _CALLERS:
            return name, f.f_lineno
        f = f.f_back
    return None


def format_site(site):
    """``"train.py:42"`` (the file's base name and the line); "an unknown line" for None."""
    if site is None:
        return "an unknown line"
    return f"{os.path.basename(site[0])}:{site[1]}"
