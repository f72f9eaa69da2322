"""``Timer``: time a statement as torch.utils.benchmark.Timer does, on ``timeit.Timer``,
with a warm-up, the thread pool set to ``num_threads`` for the measurement, replicates
(``blocked_autorange``, ``adaptive_autorange``) and labels for ``Compare``.

    t = Timer("x @ y", globals={"x": x, "y": y}, label="matmul", num_threads=1)
    print(t.blocked_autorange(min_run_time=0.2))  # Median: 41.20 us ...

``torch`` in the statement is retrograd (Timer puts it in the globals, as torch's does)."""

import enum
import textwrap
import timeit

from . import common


def timer():
    """The default clock: ``timeit.default_timer``, after waiting for the GPU if there is one."""
    import retrograd

    if retrograd.cuda.is_available():
        retrograd.cuda.synchronize()
    return timeit.default_timer()


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


class Timer:
    """Time ``stmt`` after running ``setup`` once (see the module docstring).

    label, sub_label, description, env: how the results are titled and grouped by
    ``Compare`` (rows by sub_label, columns by description, tables by label).
    num_threads: the size of retrograd's BLAS thread pool while timing (default 1, as torch).
    """

    _timer_cls = timeit.Timer

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=timer, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads=1,
                 language=Language.PYTHON):
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("Timer(language='c++'): retrograd has no C++ API; time "
                                      "Python statements")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely this "
                             "code can simply be moved to `setup`.")
        import retrograd

        self._globals = dict(globals or {})
        self._globals.setdefault("torch", retrograd)
        self._language = Language.PYTHON
        stmt = _clean(stmt)
        setup = _clean(setup)
        self._timer = self._timer_cls(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = common.TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup,
                                          label=label, sub_label=sub_label, description=description,
                                          env=env, num_threads=num_threads)

    def _timeit(self, number):
        return max(self._timer.timeit(number), 1e-9)  # a zero time would break the statistics

    def timeit(self, number=1000000):
        """Run ``stmt`` ``number`` times (after a warm-up of number // 100): one measurement."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(max(int(number // 100), 2))
            return common.Measurement(number_per_run=number, raw_times=[self._timeit(number)],
                                      task_spec=self._task_spec)

    def repeat(self, repeat=-1, number=-1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _measurement_loop(self, number, stop_hook, min_run_time, max_run_time=None, callback=None):
        total, can_stop, times = 0.0, False, []
        with common.set_torch_threads(self._task_spec.num_threads):
            while total < min_run_time or not can_stop:
                spent = self._timeit(number)
                times.append(spent)
                total += spent
                if callback:
                    callback(number, spent)
                can_stop = stop_hook(times)
                if max_run_time and total > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time):
        """Executions per run: grown by 10x until the timer's own overhead is under 0.01% of
        a run and a run takes at least min_run_time / 1000 (or min_run_time)."""
        with common.set_torch_threads(self._task_spec.num_threads):
            overheads = sorted(self._timeit(0) for _ in range(5))
            overhead = overheads[2]
            number = 1
            while True:
                taken = self._timeit(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time or number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Runs of a block size chosen so that the timer costs little, until ``min_run_time``
        seconds of runs. ``callback(number, time)`` is called after each run."""
        number = self._estimate_block_size(min_run_time)
        times = self._measurement_loop(number, lambda times: True, min_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0, callback=None):
        """Like blocked_autorange, but runs until IQR / median is below ``threshold`` (after at
        least 4 runs and ``min_run_time`` seconds) or ``max_run_time`` seconds have passed."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times):
            return len(times) > 3 and common.Measurement(
                number_per_run=number, raw_times=times, task_spec=self._task_spec
            ).meets_confidence(threshold=threshold)

        times = self._measurement_loop(number, stop_hook, min_run_time, max_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def collect_callgrind(self, number=100, *, repeats=None, collect_baseline=True, retain_out_file=False):
        raise NotImplementedError("collect_callgrind: retrograd does not run statements under "
                                  "Valgrind; use blocked_autorange for times")


def _clean(code):
    code = textwrap.dedent(code)
    return (code[1:] if code and code[0] == "\n" else code).rstrip()
