"""Anomaly detection: remember where each node was created, and fail on NaN gradients."""

import threading


class _AnomalyState(threading.local):
    enabled = False
    check_nan = True


_state = _AnomalyState()


def is_anomaly_enabled():
    return _state.enabled


def is_anomaly_check_nan_enabled():
    return _state.check_nan


class detect_anomaly:
    """Inside this context, a failing backward names the forward line that created the
    failing node, and a backward that produces NaN raises RuntimeError."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (_state.enabled, _state.check_nan)
        _state.enabled, _state.check_nan = True, self.check_nan
        return self

    def __exit__(self, *exc):
        _state.enabled, _state.check_nan = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off (``mode``) when created; used as a context manager, it
    restores the previous setting on exit."""

    def __init__(self, mode, check_nan=True):
        super().__init__(check_nan)
        self._prev = (_state.enabled, _state.check_nan)
        _state.enabled, _state.check_nan = bool(mode), check_nan

    def __enter__(self):
        return self
