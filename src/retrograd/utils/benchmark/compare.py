"""``Compare``: many Measurements as torch prints them, one table per label, a row per
sub-label (grouped by thread count), a column per description, medians in one unit:

    [------------ ops ------------]
               |   n=10   |  n=100
    1 threads: --------------------
          add  |  1713.1  |   931.6
    Times are in nanoseconds (ns).
"""

import collections
import enum
import math

from . import common

BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


class Compare:
    """Collects Measurements and prints them as tables (``print()`` or ``str()``)."""

    def __init__(self, results):
        self._results = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self):
        return "\n".join(self._render())

    def extend_results(self, results):
        """Add more Measurements."""
        for r in results:
            if not isinstance(r, common.Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self):
        """Print each median to the figures its spread supports."""
        self._trim_significant_figures = True

    def colorize(self, rowwise=False):
        """Color each time against the best of its column (or row): green best, blue within
        10%, red 2x and more."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self):
        """Mark times with a high spread "(! XX%)"."""
        self._highlight_warnings = True

    def print(self):
        print(str(self))

    def _render(self):
        by_label = collections.defaultdict(list)
        for r in common.Measurement.merge(self._results):
            by_label[r.label].append(r)
        return [self._table(results) for results in by_label.values()]

    def _table(self, results):
        unit, scale = common.select_unit(min(r.median for r in results))
        row_keys = common.ordered_unique((r.num_threads, r.env, r.as_row_name) for r in results)
        row_keys.sort(key=lambda key: key[:2])  # by threads and env; stmts keep their order
        col_keys = common.ordered_unique(r.description for r in results)
        cells = {((r.num_threads, r.env, r.as_row_name), r.description): r for r in results}
        grid = [[cells.get((row, col)) for col in col_keys] for row in row_keys]
        groups = [row[0] for row in row_keys]  # rows are grouped by thread count
        warn = self._highlight_warnings and any(r.has_warnings for r in results)

        columns = []
        for j in range(len(col_keys)):
            column = [row[j] for row in grid]
            columns.append(self._number_format(column, scale, warn))
        render_env = len({r.env for r in results}) > 1
        env_width = max(len(r.env) for r in results) if render_env else 0

        string_rows = [[""] + [str(c) if c is not None else "None" for c in col_keys]]
        prior_env = None
        for (threads, env, name), row in zip(row_keys, grid):
            shown_env = f"({env})" if render_env and env != prior_env else ""
            prior_env = env
            cells_text = [f"  {shown_env.ljust(env_width + 4)}{name}"]
            for m, (template, trim) in zip(row, columns):
                cells_text.append(_number(m, template, trim, scale, warn))
            string_rows.append(cells_text)
        widths = [max(len(row[i]) for row in string_rows) for i in range(len(string_rows[0]))]
        lines = ["  |  ".join(text.center(w) for text, w in zip(string_rows[0], widths))]
        overall = len(lines[0])
        prior_threads = None
        for i, (text_row, row, threads) in enumerate(zip(string_rows[1:], grid, groups)):
            if threads != prior_threads:
                lines.append(f"{threads} threads: ".ljust(overall, "-"))
                prior_threads = threads
            best = self._best(grid, groups, i)
            parts = [text_row[0].ljust(widths[0])]
            for j, (text, w, m) in enumerate(zip(text_row[1:], widths[1:], row)):
                text = text.center(w)
                if self._colorize != Colorize.NONE and m is not None and best[j] is not None:
                    text = _color(text, m.median, best[j])
                parts.append(text)
            lines.append("  |  ".join(parts))
        title = (" " + (results[0].label or "") + " ").center(overall - 2, "-")
        note = ("(! XX%) Measurement has high variance, where XX is the IQR / median * 100.\n"
                if warn else "")
        return (f"[{title}]\n" + "\n".join(lines) +
                f"\n\nTimes are in {common.unit_to_english(unit)}s ({unit}).\n{note}")

    def _number_format(self, column, scale, warn):
        """(format template, trimmed figures or None) of one column, as torch sizes it."""
        present = [m for m in column if m is not None]
        leading = [math.ceil(math.log10(m.median / scale)) for m in present]
        unit_digits = max(leading)
        decimals = min(max(m.significant_figures - d, 0) for d, m in zip(leading, present)) \
            if self._trim_significant_figures else 1
        length = unit_digits + decimals + (1 if decimals else 0)
        template = f"{{:>{length}.{decimals}f}}{{:>{7 if warn and any(m.has_warnings for m in present) else 0}}}"
        return template, self._trim_significant_figures

    def _best(self, grid, groups, i):
        """The value each cell of row i is colored against."""
        row = grid[i]
        if self._colorize == Colorize.ROWWISE:
            best = min(m.median for m in row if m is not None)
            return [best] * len(row)
        if self._colorize == Colorize.COLUMNWISE:
            same_group = [r for r, g in zip(grid, groups) if g == groups[i]]
            return [min((r[j].median for r in same_group if r[j] is not None), default=None)
                    for j in range(len(row))]
        return [None] * len(row)


def _number(m, template, trim, scale, warn):
    if m is None:
        return " " * len(template.format(1.0, ""))
    value = m.median / scale
    if trim:
        value = common.trim_sigfig(value, m.significant_figures)
    spread = f" (! {m.iqr / m.median * 100:.0f}%)" if warn and m.has_warnings else ""
    return template.format(value, spread)


def _color(segment, value, best):
    if value <= best * 1.01 or value <= best + 100e-9:
        return BEST + BOLD + segment + TERMINATE * 2
    if value <= best * 1.1:
        return GOOD + BOLD + segment + TERMINATE * 2
    if value >= best * 5:
        return VERY_BAD + BOLD + segment + TERMINATE * 2
    if value >= best * 2:
        return BAD + segment + TERMINATE * 2
    return segment
