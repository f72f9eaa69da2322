"""retrograd.utils.benchmark (torch.utils.benchmark): Timer's runs, Measurement's statistics
and printout, Compare's tables. Timings are only checked for structure and positivity; the
statistics and printouts are checked on fixed times against torch's."""

import numpy as np
import pytest

import retrograd
from retrograd.utils import benchmark
from tests.helpers import requires_torch, torch


def measurements(b):
    """Fixed times (seconds per run) as Measurements of module ``b`` (retrograd's or torch's)."""
    def m(times, number=100, stmt="x + y", setup="pass", **kw):
        return b.Measurement(number, list(times), b.TaskSpec(stmt=stmt, setup=setup, **kw))

    return [m([1.0e-3, 1.1e-3, 1.2e-3, 1.05e-3, 1.3e-3], label="add", sub_label="float", description="n=1"),
            m([2.0e-3, 2.1e-3, 2.05e-3, 2.02e-3], label="add", sub_label="float", description="n=8"),
            m([3.0e-4, 3.5e-4, 9.0e-4, 3.1e-4], label="add", sub_label="int", description="n=1"),
            m([5.0e-4, 5.1e-4, 5.0e-4, 5.2e-4], label="add", sub_label="int", description="n=8",
              num_threads=4),
            m([5.0e-2], number=10, label="mul", setup="x = 1\ny = 2", description="big")]


def summary(m):
    """A Measurement's printout without its first line (the object's address)."""
    return "\n".join(repr(m).splitlines()[1:])


# torch 2.13.0's printouts of measurements(torch.utils.benchmark) (test_torch_prints_the_same
# checks them where torch is installed)
TORCH_SUMMARIES = [
    "add: float\nn=1\n  Median: 11.00 us\n  IQR:    1.50 us (10.50 to 12.00)\n"
    "  5 measurements, 100 runs per measurement, 1 thread\n"
    "  WARNING: Interquartile range is 13.6% of the median measurement.\n"
    "           This could indicate system fluctuation.",
    "add: float\nn=8\n  Median: 20.35 us\n  IQR:    0.47 us (20.15 to 20.62)\n"
    "  4 measurements, 100 runs per measurement, 1 thread",
    "add: int\nn=1\n  Median: 3.30 us\n  IQR:    1.80 us (3.07 to 4.88)\n"
    "  4 measurements, 100 runs per measurement, 1 thread\n"
    "  WARNING: Interquartile range is 54.5% of the median measurement.\n"
    "           This suggests significant environmental influence.",
    "add: int\nn=8\n  Median: 5.05 us\n  IQR:    0.12 us (5.00 to 5.12)\n"
    "  4 measurements, 100 runs per measurement, 4 threads",
    "mul\nbig\nsetup:\n  x = 1\n  y = 2\n\n  5.00 ms\n  1 measurement, 10 runs , 1 thread",
]
TORCH_SIGNIFICANT_FIGURES = [1, 2, 1, 1, 4]
TORCH_COMPARE = """\
[----------- add -----------]
             |  n=1   |  n=8 
1 threads: ------------------
      float  |  11.0  |  20.4
      int    |   3.3  |      
4 threads: ------------------
      int    |        |   5.1

Times are in microseconds (us).

[------ mul ------]
             |  big
1 threads: --------
      x + y  |  5.0

Times are in milliseconds (ms).
"""
TORCH_COMPARE_TRIMMED = """\
[------------- add --------------]
             |     n=1      |  n=8
1 threads: -----------------------
      float  |  10 (! 14%)  |   20
      int    |   3 (! 55%)  |     
4 threads: -----------------------
      int    |              |    5

Times are in microseconds (us).
(! XX%) Measurement has high variance, where XX is the IQR / median * 100.

[------- mul -------]
             |   big 
1 threads: ----------
      x + y  |  5.000

Times are in milliseconds (ms).
"""


def compare_outputs(b):
    c = b.Compare(measurements(b))
    plain = str(c)
    c.trim_significant_figures()
    c.highlight_warnings()
    trimmed = str(c)
    c.colorize(rowwise=True)
    return plain, trimmed, str(c)


# ---------------------------------------------------------------------------- Measurement


def test_measurement_statistics():
    for m in measurements(benchmark):
        times = np.array(m.raw_times) / m.number_per_run
        assert m.times == pytest.approx(list(times))
        assert m.median == pytest.approx(np.median(times))
        assert m.mean == pytest.approx(times.mean())
        assert m.iqr == pytest.approx(np.quantile(times, 0.75) - np.quantile(times, 0.25))
    first = measurements(benchmark)[0]
    assert first.label == "add" and first.num_threads == 1  # TaskSpec's fields read through
    assert first.has_warnings and not first.meets_confidence(0.1) and first.meets_confidence(0.2)


def test_measurement_printout_as_torch():
    ms = measurements(benchmark)
    assert [summary(m) for m in ms] == TORCH_SUMMARIES
    assert [m.significant_figures for m in ms] == TORCH_SIGNIFICANT_FIGURES
    assert repr(ms[0]).splitlines()[0].startswith("<retrograd.utils.benchmark.common.Measurement object at")


def test_merge_joins_replicates():
    ms = measurements(benchmark)
    again = benchmark.Measurement(1, [1.0e-5], ms[0].task_spec)
    merged = benchmark.Measurement.merge(ms + [again])
    assert len(merged) == 5 and merged[0].number_per_run == 1
    assert merged[0].times == pytest.approx(ms[0].times + [1.0e-5])


def test_compare_as_torch():
    plain, trimmed, colored = compare_outputs(benchmark)
    assert plain == TORCH_COMPARE
    assert trimmed == TORCH_COMPARE_TRIMMED
    assert "\x1b[92m\x1b[1m10 (! 14%)\x1b[0m\x1b[0m" in colored  # the row's best, in green
    with pytest.raises(ValueError, match="Measurement"):
        benchmark.Compare([1.0])


@requires_torch
def test_torch_prints_the_same():
    import torch.utils.benchmark as tb

    ms = measurements(tb)
    assert [summary(m) for m in ms] == TORCH_SUMMARIES
    assert [m.significant_figures for m in ms] == TORCH_SIGNIFICANT_FIGURES
    assert compare_outputs(tb) == compare_outputs(benchmark)


def test_units_and_figures():
    assert benchmark.select_unit(3.2e-7) == ("ns", 1e-9)
    assert benchmark.select_unit(0.02) == ("ms", 1e-3)
    assert benchmark.select_unit(4.0) == ("s", 1)
    assert benchmark.trim_sigfig(3.14159, 2) == pytest.approx(3.1)
    assert benchmark.trim_sigfig(1234.5, 2) == 1200.0


# ---------------------------------------------------------------------------- Timer


def test_timeit_runs_the_statement_number_times():
    calls = []
    t = benchmark.Timer("f()", globals={"f": lambda: calls.append(1)}, label="count")
    m = t.timeit(50)
    assert len(calls) == 2 + 50  # a warm-up of max(50 // 100, 2), then the timed runs
    assert isinstance(m, benchmark.Measurement) and m.number_per_run == 50
    assert len(m.times) == 1 and m.times[0] > 0 and m.median == m.mean == m.times[0]
    assert m.title == "count" and m.iqr == 0


def test_setup_runs_before_and_torch_is_retrograd():
    t = benchmark.Timer("y = x * 2", setup="x = torch.ones(3)")
    m = t.timeit(10)
    assert "setup: x = torch.ones(3)" in repr(m)
    seen = {}
    benchmark.Timer("seen['torch'] = torch", globals={"seen": seen}).timeit(1)
    assert seen["torch"] is retrograd


def test_blocked_autorange_structure():
    x = retrograd.ones(4)
    calls = []
    m = benchmark.Timer("x + x", globals={"x": x}, sub_label="add").blocked_autorange(
        callback=lambda number, t: calls.append((number, t)), min_run_time=0.02)
    assert len(m.raw_times) == len(calls) >= 1
    assert all(number == m.number_per_run for number, _ in calls)
    assert str(m.number_per_run).strip("0") == "1"  # a power of ten
    assert sum(m.raw_times) >= 0.02 and all(t > 0 for t in m.times)
    assert m.median > 0 and m.as_row_name == "add"


def test_adaptive_autorange_stops_by_its_bounds():
    m = benchmark.Timer("x + x", globals={"x": retrograd.ones(4)}).adaptive_autorange(
        threshold=0.0, min_run_time=0.01, max_run_time=0.05)  # never confident: max_run_time stops it
    assert len(m.raw_times) >= 1 and sum(m.raw_times) > 0.05 - max(m.raw_times)


def test_num_threads_is_set_while_timing():
    seen = []
    before = retrograd.get_num_threads()
    benchmark.Timer("seen.append(torch.get_num_threads())", globals={"seen": seen},
                    num_threads=1).timeit(3)
    assert set(seen) == {1} and retrograd.get_num_threads() == before
    m = benchmark.Timer("pass", num_threads=2).timeit(1)
    assert "2 threads" in repr(m)


def test_timer_errors_as_torch():
    with pytest.raises(ValueError, match="str"):
        benchmark.Timer(lambda: None)
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
        benchmark.Timer("pass", global_setup="int x;")
    with pytest.raises(NotImplementedError, match="C\\+\\+"):
        benchmark.Timer("pass", language="c++")
    with pytest.raises(ValueError, match="Invalid language"):
        benchmark.Timer("pass", language="rust")
    t = benchmark.Timer("pass")
    for call in (t.repeat, t.autorange, t.collect_callgrind):
        with pytest.raises(NotImplementedError):
            call()


def test_custom_timer_is_used():
    ticks = iter(range(0, 10 ** 6, 2))  # each reading 2 "seconds" after the last
    m = benchmark.Timer("pass", timer=lambda: next(ticks)).timeit(5)
    assert m.raw_times == [2]
