"""Checks of device data without a host round trip: torch's device-side asserts.

An index out of range or a target out of bounds is found on the CPU at once. On a GPU, looking at
the data means waiting for the device: a host synchronisation in every op that takes indices,
which would stall each training step (embedding lookups, the cross-entropy target, gather).
torch checks inside its kernels instead and reports a failure at the next synchronisation
("CUDA error: device-side assert triggered"). ``check`` does the same here: on the CPU it raises
at once; on a device it queues a flag computed on the device (no wait), and ``raise_pending``,
called where retrograd synchronises anyway (a copy to the host, which ``.item()``, ``.tolist()``
and ``.cpu()`` make, and ``cuda.synchronize()``), looks at every queued flag in one transfer and
raises the first failed check's error, as an AcceleratorError (a RuntimeError, torch's type) that
names it.
"""

import numpy as np

_pending = []  # (a 0-dim device bool: the check failed, a function making the error)
LIMIT = 64  # checks queued at most before they are looked at anyway (device memory stays bounded)


def check(bad, error):
    """Raise ``error()`` if the boolean array ``bad`` holds a True: at once for a NumPy array,
    at the next host synchronisation for a device array (see the module's docstring)."""
    if type(bad) is np.ndarray:
        if bad.any():
            raise error()
        return
    _pending.append((bad.any(), error))
    if len(_pending) >= LIMIT:
        raise_pending()


def raise_pending():
    """Look at the queued device checks (one host transfer) and raise the first failure."""
    if not _pending:
        return
    checks = _pending[:]
    _pending.clear()
    from . import _backend

    xp = _backend.array_module(checks[0][0])
    failed = xp.asnumpy(xp.stack([flag for flag, _ in checks]))
    for flag, (_, error) in zip(failed, checks):
        if flag:
            e = error()
            raise _backend.AcceleratorError(
                f"CUDA error: device-side assert triggered ({type(e).__name__}: {e})") from e
