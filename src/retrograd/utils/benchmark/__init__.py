"""``torch.utils.benchmark``: ``Timer`` to time statements with warm-up, replicates and a
fixed thread count, ``Measurement`` for their statistics, ``Compare`` to tabulate many."""

from .common import Measurement, TaskSpec, ordered_unique, select_unit, set_torch_threads, trim_sigfig, unit_to_english
from .compare import Colorize, Compare
from .timer import Language, Timer, timer

__all__ = ["Colorize", "Compare", "Language", "Measurement", "TaskSpec", "Timer", "ordered_unique",
           "select_unit", "set_torch_threads", "timer", "trim_sigfig", "unit_to_english"]
