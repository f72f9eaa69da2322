"""Large elementwise NumPy work in parts: on several threads (the caller and persistent
workers), and in cache-sized blocks so that the temporaries of a chain of NumPy calls stay in
cache.

NumPy's ufuncs release the GIL inside their loops, so two threads computing two halves of
``np.tanh(x, out=out)`` run at once. Every element is computed by the same NumPy loop as in one
call, so the result is bitwise the unsplit one (reductions are never split here: a split sum
would add in another order). Small arrays run in one call: a hand-off costs microseconds.

How to call it (each returns ``out``)::

    from retrograd import _parallel
    _parallel.ufunc(np.tanh, x)                        # one ufunc; out= optional
    _parallel.run(chain, out, x, y, block=1 << 16)     # chain(out_part, x_part, y_part) per part

``run`` cuts ``out`` (an array, or a tuple of arrays of one shape) and every input array that
spans the cut axis; inputs that broadcast along it (fewer dims, length 1) and numbers are
passed whole. The chain must be elementwise: each part writes only its slice of ``out``.
Anything else than NumPy arrays and numbers (CuPy's arrays) runs in one call, as do object
arrays.

``set_threads(1)`` (what ``retrograd.set_num_threads(1)`` calls) turns the threads off. A
forked child starts without workers and makes new ones when it first needs them. NumPy's
error state (``np.errstate``) is the caller's in every part, and an exception raised in a
worker's part is raised in the caller.
"""

import contextvars
import os
import threading

import numpy as np

MIN_SIZE = 1 << 16  # elements per thread: below this a hand-off costs more than a second core saves
_PLAIN = (np.ndarray, np.generic, float, int, bool, complex, type(None))


def _default_threads():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # (not on Linux)
        return max(1, os.cpu_count() or 1)


class _Job:
    """One split call: its parts, claimed in order by whichever thread is free."""

    __slots__ = ("fn", "parts", "claim", "context", "error")

    def __init__(self, fn, parts):
        self.fn = fn
        self.parts = parts
        self.claim = iter(range(len(parts))).__next__  # a C call: atomic under the GIL
        self.context = contextvars.copy_context()  # np.errstate is a context variable
        self.error = None

    def work(self):
        fn, parts = self.fn, self.parts
        try:
            while True:
                fn(*parts[self.claim()])
        except StopIteration:
            pass


class _Worker:
    """A daemon thread that sleeps on ``go``, then helps with the pool's current job; it holds
    ``busy`` while it may claim parts, so that the caller can wait for the parts it took."""

    def __init__(self, pool):
        self.pool = pool
        self.go = threading.Lock()
        self.go.acquire()
        self.busy = threading.Lock()
        self.waiting = False
        self.thread = threading.Thread(target=self.loop, name="retrograd-parallel", daemon=True)
        self.thread.start()

    def loop(self):
        pool = self.pool
        while True:
            self.waiting = True
            self.go.acquire()
            if pool.closed:
                return
            with self.busy:
                job = pool.job
                if job is not None:
                    try:
                        job.context.copy().run(job.work)  # (a context is entered by one thread at a time)
                    except BaseException as e:  # noqa: BLE001 - raised again in the calling thread
                        job.error = e


class _Pool:
    def __init__(self, n):
        self.closed = False
        self.job = None
        self.lock = threading.Lock()  # one split call at a time; others (and nested ones) run whole
        self.workers = [_Worker(self) for _ in range(n)]

    def map(self, fn, parts):
        """fn(*args) for each args in parts, on the caller and the workers; True when done,
        False (nothing run) when the pool is busy with another call."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            job = self.job = _Job(fn, parts)
            for w in self.workers:
                if w.waiting:
                    w.waiting = False
                    w.go.release()
            try:
                job.work()
            finally:
                _drain(job.claim)  # (after an exception: no late worker starts a part)
                for w in self.workers:  # the parts a worker claimed are done once it frees busy
                    if w.busy.locked():
                        with w.busy:
                            pass
                self.job = None
            if job.error is not None:
                raise job.error
            return True
        finally:
            self.lock.release()

    def close(self):
        with self.lock:
            self.closed = True
            for w in self.workers:
                if w.waiting:
                    w.waiting = False
                    w.go.release()


def _drain(claim):
    try:
        while True:
            claim()
    except StopIteration:
        pass


_threads = _default_threads()
_pool = None
_pool_lock = threading.Lock()


def set_threads(n):
    """Split work over ``n`` threads (the caller and n - 1 workers); 1 turns the threads off."""
    global _threads, _pool
    with _pool_lock:
        _threads = n
        if _pool is not None and len(_pool.workers) != n - 1:
            _pool.close()
            _pool = None


def threads():
    """The number of threads a split uses (1: no threads)."""
    return _threads


def _get_pool():
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None and _threads > 1:
                _pool = _Pool(_threads - 1)
            pool = _pool
    return pool


def _forget_pool_after_fork():
    """In a forked child the workers do not exist (only the forking thread does): start anew."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _split_axis(shape, n):
    """The first axis at least n long, else the longest (cut into fewer parts)."""
    for axis, length in enumerate(shape):
        if length >= n:
            return axis
    return max(range(len(shape)), key=shape.__getitem__)


def _cut(x, axis, ndim, length, bounds):
    """x's parts between the bounds along the axis (x repeated where it broadcasts along it)."""
    own = axis - (ndim - x.ndim) if type(x) is np.ndarray else -1
    if own < 0 or x.shape[own] != length:
        return [x] * (len(bounds) - 1)
    if own == 0:
        return [x[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    lead = (slice(None),) * own
    return [x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


def _parts(out, inputs, n):
    """[(out part, input parts...)] for up to n parts along one axis of out; None when fewer than 2."""
    first = out[0] if type(out) is tuple else out
    axis = _split_axis(first.shape, n)
    length, ndim = first.shape[axis], first.ndim
    n = min(n, length)
    if n < 2:
        return None
    bounds = [length * i // n for i in range(n + 1)]
    if type(out) is tuple:
        cut_out = list(zip(*(_cut(o, axis, ndim, length, bounds) for o in out)))
    else:
        cut_out = _cut(out, axis, ndim, length, bounds)
    return list(zip(cut_out, *(_cut(x, axis, ndim, length, bounds) for x in inputs)))


def _blocked(fn, block, size):
    """fn applied to parts of about ``block`` elements, one after the other."""
    n = -(-size // block)

    def run_blocks(out, *inputs):
        parts = _parts(out, inputs, n)
        if parts is None:
            fn(out, *inputs)
        else:
            for args in parts:
                fn(*args)
    return run_blocks


def run(fn, out, *inputs, min_size=MIN_SIZE, block=None):
    """``fn(out, *inputs)`` computed in parts along one axis of ``out`` (see the module's
    docstring): one part per thread when ``out`` has at least twice ``min_size`` elements, and
    ``block`` (elements) cuts the parts smaller, so that the temporaries of a chain stay in
    cache, also on one thread. Returns ``out``. ``fn`` must compute each element of its output
    part from the same elements of the input parts (elementwise, with broadcasting)."""
    first = out[0] if type(out) is tuple else out
    if type(first) is not np.ndarray or first.ndim == 0 or first.dtype.hasobject \
            or not all(isinstance(x, _PLAIN) for x in inputs):
        fn(out, *inputs)
        return out
    size = first.size
    n = min(_threads, size // min_size)
    if n > 1:
        parts = _parts(out, inputs, n)
        if parts is not None:
            part_fn = _blocked(fn, block, size // len(parts)) if block and size // len(parts) > block else fn
            pool = _get_pool()
            if pool is not None and pool.map(part_fn, parts):
                return out
    if block and size > block:
        _blocked(fn, block, size)(out, *inputs)
    else:
        fn(out, *inputs)
    return out


def ufunc(f, *inputs, out=None, min_size=MIN_SIZE, **kwargs):
    """``f(*inputs, out=out, **kwargs)`` for a NumPy ufunc ``f`` with one output, in parts on
    several threads when an input has at least twice ``min_size`` elements (``out=None``
    allocates the result: NumPy's dtype, the broadcast shape). Keyword arguments are passed to
    every part as they are: no array ones (``where=``)."""
    if _threads > 1:
        for x in inputs:
            if type(x) is np.ndarray and x.size >= 2 * min_size:
                break
        else:
            return f(*inputs, out=out, **kwargs)
        if out is None:
            if not all(isinstance(x, _PLAIN) for x in inputs):
                return f(*inputs, **kwargs)  # CuPy's arrays
            shape = np.broadcast_shapes(*(x.shape for x in inputs if type(x) is np.ndarray))
            dtypes = tuple(x.dtype if isinstance(x, (np.ndarray, np.generic)) else type(x) for x in inputs)
            try:
                dtype = f.resolve_dtypes(dtypes + (None,), **kwargs)[-1]
            except (TypeError, ValueError):  # NumPy's own call raises or resolves it
                return f(*inputs, **kwargs)
            like = next((x for x in inputs if type(x) is np.ndarray and x.shape == shape), None)
            out = np.empty(shape, dtype) if like is None else np.empty_like(like, dtype)  # (NumPy's layout)
        return run(lambda o, *xs: f(*xs, out=o, **kwargs), out, *inputs, min_size=min_size)
    return f(*inputs, out=out, **kwargs)
