"""``torch.futures``: ``Future``, a value that becomes available later, and ``collect_all`` /
``wait_all``.

retrograd runs no background threads, so a Future whose value comes from an operation in
flight (an MPI request behind a ``retrograd.distributed`` Work) is completed by whoever waits
for it: ``Future._bind(wait, poll)`` gives it the function that finishes the operation and
returns the value, and ``wait()`` / ``done()`` call them. A plain ``Future()`` is completed with
``set_result`` / ``set_exception``, as in torch.
"""

__all__ = ["Future", "collect_all", "wait_all"]

_UNSET = object()


class Future:
    """``torch.futures.Future``: ``wait()``, ``value()``, ``done()``, ``then(callback)``,
    ``add_done_callback(callback)``, ``set_result``, ``set_exception``."""

    def __init__(self, *, devices=None):
        if devices:
            raise NotImplementedError(f"Future(devices={devices!r}): retrograd's futures hold CPU values and "
                                      "sync no device streams; leave devices unset")
        self._result = _UNSET
        self._exception = None
        self._callbacks = []
        self._wait_fn = None  # finishes the operation behind the future and returns its value
        self._poll_fn = None  # True once that operation has finished

    def _bind(self, wait, poll=None):
        """Complete this future by calling ``wait()`` (returns the value) when someone waits for
        it; ``poll()`` says without blocking whether ``wait()`` would return at once."""
        self._wait_fn, self._poll_fn = wait, poll
        return self

    def done(self):
        """True if the future holds a value or an exception."""
        if not self._completed() and self._poll_fn is not None and self._poll_fn() and not self._completed():
            self._drive()
        return self._completed()

    def _completed(self):
        return self._result is not _UNSET or self._exception is not None

    def _drive(self):
        wait, self._wait_fn, self._poll_fn = self._wait_fn, None, None
        try:
            value = wait()
        except Exception as exc:  # the operation failed: the future holds its error
            value, exc_ = _UNSET, exc
        else:
            exc_ = None
        if not self._completed():  # (a then() future is completed by its parent's callback)
            self._finish(value, exc_)

    def wait(self):
        """Block until the value is there and return it (raise the exception it holds)."""
        if not self._completed():
            if self._wait_fn is None:
                raise RuntimeError("Future.wait() on a Future that nothing will complete: retrograd runs "
                                   "no background threads, so call set_result() (or set_exception()) first")
            self._drive()
        if self._exception is not None:
            raise self._exception
        return self._result

    def value(self):
        """The value of a completed future (raise its exception); call ``wait()`` first."""
        if not self._completed():
            raise RuntimeError("Future.value() of a Future that has not completed: call wait() first "
                               "(or read it inside a then() callback)")
        if self._exception is not None:
            raise self._exception
        return self._result

    def then(self, callback):
        """A new Future holding ``callback(self)`` once this one completes (its exception if
        the callback raises)."""
        child = Future()

        def run(parent):
            try:
                value = callback(parent)
            except Exception as exc:
                child.set_exception(RuntimeError(
                    f"Got the following error when running the callback: {type(exc).__name__}: {exc}"))
            else:
                child.set_result(value)

        if self._completed():
            run(self)
        else:
            self._callbacks.append(run)
            child._bind(self.wait, self.done)
        return child

    def add_done_callback(self, callback):
        """Run ``callback(self)`` when the future completes (now if it has); returns None."""
        if self._completed():
            callback(self)
        else:
            self._callbacks.append(callback)

    def set_result(self, result):
        """Complete the future with ``result`` and run the callbacks waiting for it."""
        self._finish(result, None)

    def set_exception(self, result):
        """Complete the future with the exception ``result``: wait() and value() raise it."""
        if not isinstance(result, BaseException):
            raise TypeError(f"set_exception takes an exception, got {type(result).__name__}")
        self._finish(_UNSET, result)

    def _finish(self, result, exception):
        if self._completed():
            raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future "
                               "can only be marked completed once.")
        self._result, self._exception = result, exception
        self._wait_fn = self._poll_fn = None
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def __repr__(self):
        state = "done" if self._completed() else "pending"
        return f"<retrograd.futures.Future ({state})>"


def collect_all(futures):
    """A Future holding ``futures`` (the list) once each of them has completed."""
    futures = list(futures)
    out = Future()
    return out._bind(lambda: (wait_all(futures), futures)[1], lambda: all(f.done() for f in futures))


def wait_all(futures):
    """Wait for each future and return their values (raise the first exception)."""
    return [f.wait() for f in futures]
