"""NumPy's floating-point warnings, kept out of retrograd's computations as torch keeps them out.

torch computes ``inf * 0 = nan``, ``1 / 0 = inf`` and ``exp(1000) = inf`` silently; NumPy
also warns (``RuntimeWarning: invalid value encountered in multiply``), and under
``-W error`` raises. retrograd's results are torch's, so its warnings must be too:

- **Forward**: a warnings filter ignores NumPy's floating-point messages raised from
  retrograd's own modules (an op's ufunc call). It costs nothing until a warning fires, and
  the user's own NumPy calls keep warning. A filter the user installs later in front of it
  (``warnings.simplefilter("error")``) wins, as any filter does.
- **Backward**: the engine runs each backward pass under ``quiet()`` (NumPy's error state
  set to ignore, as ``np.errstate(all="ignore")`` but through NumPy's context variable
  directly: ~0.2 us against ~2 us), so backward formulas and the reductions they call
  through NumPy's Python wrappers stay silent whatever filters are installed.
"""

import warnings

import numpy as np

# NumPy's messages: "invalid value encountered in multiply", "divide by zero encountered in
# log", "overflow encountered in exp", "underflow encountered in ..." (scalar ops: "... in
# scalar multiply")
_MESSAGE = r"(invalid value|divide by zero|overflow|underflow) encountered in"


def install_filter():
    """Ignore NumPy's floating-point RuntimeWarnings raised from retrograd's modules."""
    warnings.filterwarnings("ignore", message=_MESSAGE, category=RuntimeWarning, module=r"retrograd(\.|$)")


try:  # NumPy >= 2: the error state is one context variable holding an extobj
    from numpy._core._multiarray_umath import _extobj_contextvar as _errstate_var
    from numpy._core._multiarray_umath import _make_extobj

    _IGNORE = _make_extobj(all="ignore")

    def quiet():
        """Set NumPy's error state to ignore everything; returns the token for ``restore``."""
        return _errstate_var.set(_IGNORE)

    def restore(token):
        _errstate_var.reset(token)

except ImportError:  # NumPy 1.x: the public context manager
    def quiet():
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def restore(token):
        token.__exit__(None, None, None)


class silent:
    """``with silent():`` runs its block under ``quiet()`` (for NumPy calls through NumPy's Python
    wrappers, whose warnings come from NumPy's modules, where the filter cannot tell them from a
    user's own: tensordot, linalg.det, ndarray.mean, nansum)."""

    __slots__ = ("token",)

    def __enter__(self):
        self.token = quiet()

    def __exit__(self, *exc):
        restore(self.token)
