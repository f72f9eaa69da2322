"""Which modules to checkpoint so a training step fits a memory budget with the least
recomputation (``inspect.checkpoint_plan``).

The step (forward, loss, backward) runs once under ``memory_plan``'s recorder, which keeps
the timeline of every buffer and each op's scratch. The modules of one ``nn.Sequential`` or
``nn.ModuleList`` (the one whose modules keep the most activations, or the one named by
``sequence``) are the units: a plan cuts them into segments, each run plainly or under
``utils.checkpoint``. For any plan the peak is predicted by transforming the recorded
timeline, without running the plan:

* a plain segment keeps what its modules kept (its activations ``A``);
* a checkpointed segment keeps only its output (the next segment's input) until backward,
  and when backward reaches it, recomputes its forward and holds all its activations again
  until its backward is done (plus the recompute's scratch);
* at any instant of the step the memory is what was recorded (all traced memory, the graph's
  Python objects too), with the activations of the segments before the running one replaced
  by what the plan keeps of them.

Every constraint of "the peak stays under the budget" is then (memory kept by the
segments before segment j) + (a term of segment j alone) <= budget, so an exact dynamic
program over the cut points finds the plan with the least recompute time (Pareto fronts
of kept bytes against recompute time at each cut; up to 64 modules). Chen et al.'s
sqrt(n) segments (``checkpoint_sequential``'s uniform cut, all but the last segment
checkpointed) is computed beside it as the baseline. The recompute cost of a module is
its forward time, measured on the example inputs.

When no plan of one level fits, plans of two levels are searched: a checkpointed segment
whose recompute is itself cut into segments, checkpointed again (nested ``utils.checkpoint``
keeps only the outermost inputs). Each run of modules gets its inner plans from the same
program over its modules (the Pareto front of their peak against their recompute, among the
inner plans of least kept memory and peak), and the outer program chooses among them: exact
in which budgets can be met, and the least recompute among those inner plans.
"""

import bisect
import math
import time
from dataclasses import dataclass

from .. import nn
from ..autograd.grad_mode import enable_grad
from ..utils.checkpoint import checkpoint
from .memory import _fmt
from .memory_plan import _ALLOC, _OP, _Recorder

_EXACT_MAX_MODULES = 64
_TWO_LEVEL_MAX_MODULES = 40  # inner plans for every run of modules: O(n^3) steps of the program


class CheckpointBudgetError(ValueError):
    """No checkpointing of the sequence fits the step in the budget. ``min_peak_bytes`` is
    the smallest peak a plan reaches."""

    def __init__(self, message, budget_bytes, min_peak_bytes):
        super().__init__(message)
        self.budget_bytes = budget_bytes
        self.min_peak_bytes = min_peak_bytes


@dataclass
class CheckpointSegment:
    """Modules ``start`` .. ``stop - 1`` of the sequence, run under checkpoint or plainly."""

    start: int
    stop: int
    modules: list
    checkpoint: bool
    inner: list = None  # two-level plans: the segments its recompute runs (checkpointed again)


class CheckpointPlan:
    """The result of :func:`checkpoint_plan`.

    ``segments`` (a :class:`CheckpointSegment` per run of modules), ``checkpointed`` (paths of the
    checkpointed modules), ``peak_bytes`` (the predicted peak of the step with the plan),
    ``unconstrained_peak_bytes`` (without checkpointing), ``budget_bytes``,
    ``recompute_seconds`` and ``recompute_fraction`` (the extra forward time per step, and
    as a fraction of the model's forward), ``method`` ('dp', 'dp2' for two levels, or 'uniform'), ``baseline`` (the
    sqrt(n) plan, a CheckpointPlan), ``applied``. ``apply()`` wraps the checkpointed
    segments with ``utils.checkpoint``; ``remove()`` undoes it. ``str(plan)`` is a summary."""

    def __init__(self, sequence, container, segments, peak_bytes, unconstrained, budget, recompute_s,
                 forward_s, method, baseline=None):
        self.sequence = sequence
        self._container = container
        self.segments = segments
        self.peak_bytes = peak_bytes
        self.unconstrained_peak_bytes = unconstrained
        self.budget_bytes = budget
        self.recompute_seconds = recompute_s
        self.recompute_fraction = recompute_s / forward_s if forward_s > 0 else 0.0
        self.method = method
        self.baseline = baseline
        self.applied = False
        self._undo = []

    @property
    def checkpointed(self):
        return [m for s in self.segments if s.checkpoint for m in s.modules]

    def __str__(self):
        ranges = ", ".join(_range(s) for s in self.segments if s.checkpoint) or "none"
        how = {"dp": "exact dynamic program", "dp2": "exact dynamic program, two levels"}
        lines = [f"checkpoint plan for {self.sequence} ({sum(s.stop - s.start for s in self.segments)} modules, "
                 f"{how.get(self.method, 'uniform segments')}):",
                 f"  checkpointed segments: {ranges}",
                 f"  predicted peak {_fmt(self.peak_bytes)} (budget {_fmt(self.budget_bytes)}, "
                 f"without checkpointing {_fmt(self.unconstrained_peak_bytes)})",
                 f"  recompute {self.recompute_seconds * 1e3:.1f} ms per step "
                 f"(+{100 * self.recompute_fraction:.0f}% of the forward)"]
        b = self.baseline
        if b is not None:
            fits = "fits" if b.peak_bytes <= self.budget_bytes else "over budget"
            lines.append(f"  sqrt(n) baseline: {sum(s.checkpoint for s in b.segments)} segments of "
                         f"{b.segments[0].stop - b.segments[0].start} checkpointed, peak {_fmt(b.peak_bytes)} "
                         f"({fits}), recompute +{100 * b.recompute_fraction:.0f}% of the forward")
        lines.append("  applied" if self.applied else "  not applied: plan.apply() wraps the segments")
        return "\n".join(lines)

    __repr__ = __str__

    def apply(self):
        """Wrap the checkpointed segments with ``utils.checkpoint`` (use_reentrant=False): an
        nn.Sequential runs its segments through a new ``forward``; a module of a ModuleList
        alone gets a checkpointed ``forward``. Parameters and state_dict keys do not change."""
        if self.applied:
            return self
        c = self._container
        children = list(c.children())
        if isinstance(c, nn.Sequential):
            had = "forward" in c.__dict__
            old = c.__dict__.get("forward")
            c.forward = _run_segments(children, self.segments)
            self._undo.append((c, had, old))
        else:
            for s in self.segments:
                if not s.checkpoint:
                    continue
                m = children[s.start]
                had, old = "forward" in m.__dict__, m.__dict__.get("forward")
                m.forward = _checkpointed(m.forward)
                self._undo.append((m, had, old))
        self.applied = True
        return self

    def remove(self):
        """Undo ``apply()``."""
        for m, had, old in reversed(self._undo):
            if had:
                m.forward = old
            else:
                del m.__dict__["forward"]
        self._undo = []
        self.applied = False
        return self


def _range(segment):
    inner = [_range(s) for s in segment.inner or () if s.checkpoint]
    return f"[{segment.start}:{segment.stop}]" + (f" (recomputed with {', '.join(inner)} checkpointed)" if inner else "")


def _run(mods):
    def run(x):
        for m in mods:
            x = m(x)
        return x

    return run


def _run_segments(children, segments):
    """A forward running ``segments`` of ``children`` in turn, each plainly or under checkpoint;
    a segment with an inner plan checkpoints the run of that plan, whose own segments are
    checkpointed again (the outer recompute keeps only the inner segments' inputs)."""
    runs = [(_run(children[s.start:s.stop]) if s.inner is None else _run_segments(children, s.inner),
             s.checkpoint) for s in segments]

    def forward(input):
        for run, ckpt in runs:
            input = checkpoint(run, input, use_reentrant=False) if ckpt else run(input)
        return input

    return forward


def _checkpointed(forward):
    def run(*args, **kwargs):
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)

    return run


# ------------------------------------------------------------------------- the profile


class _Profile:
    """The per-module numbers of one recorded step, for the sequence's n modules."""

    def __init__(self, n):
        self.n = n
        self.act = [0] * n  # bytes made in module i's forward still alive when backward starts
        self.out = [0] * n  # bytes of module i's output
        self.fwd_s = [0.0] * n
        self.forward_s = 0.0
        self.fwd_ops = [[] for _ in range(n)]  # (value, prefix alive bytes per window, rise)
        self.bwd_ops = [[] for _ in range(n)]  # (value, prefix alive bytes, position in time)
        self.suffix = 0  # highest (value - sequence activations alive) after the sequence's forward
        self.fixed = 0  # highest value where the plan changes nothing
        self.kept_by = []  # (module index, bytes, is a module's output, [keeper module index or None])
        self.peak = 0


def _profile(rec, container):
    """Build a _Profile for ``container`` from a recorded step (None if its modules did not
    each run once, in order)."""
    children = list(container.children())
    n = len(children)
    calls = []
    for m in children:
        c = rec.calls.get(id(m), [])
        if len(c) != 1:
            return None
        calls.append(c[0])
    for a, b in zip(calls, calls[1:]):
        if not a[1] <= b[0]:
            return None
    prof = _Profile(n)
    window = {}  # buffer index -> module index
    bstart = rec.backward_start if rec.backward_start is not None else rec.end
    outs = {out for _, _, out in calls}
    for i, (s, e, out) in enumerate(calls):
        if out is not None:
            prof.out[i] = rec.buffers[out].bytes
        for code, bi in rec.events[s:e]:
            if code == _ALLOC and rec.buffers[bi].phase == "forward":
                window[bi] = i
        if out is not None and out not in window and rec.buffers[out].phase == "forward":
            window[out] = i
    owner = {}
    for i, m in enumerate(children):
        for sub in m.modules():
            owner[id(sub)] = i
    for bi, i in window.items():
        b = rec.buffers[bi]
        if b.category == "activations":
            prof.act[i] += b.bytes
            # kept by whom: ops of modules of the sequence (by index), or None for other code
            prof.kept_by.append((i, b.bytes, bi in outs, [owner.get(id(m)) for m in b.keepers or ()]))
    alive = [0] * n
    total, last_m = 0, None
    starts = [s for s, _, _ in calls]
    first_start, last_end = starts[0], calls[-1][1]
    for code, idx in rec.events[:rec.end]:
        if code != _OP:
            b = rec.buffers[idx]
            sign = 1 if code == _ALLOC else -1
            total += sign * b.bytes
            w = window.get(idx)
            if w is not None:
                alive[w] += sign * b.bytes
            continue
        op = rec.ops[idx]
        v = max(total, op.traced) + op.rise  # with the Python objects (graph nodes) alive then
        prof.peak = max(prof.peak, v)
        at = op.at
        if op.phase == "optimizer" or (op.phase == "forward" and at < first_start):
            prof.fixed = max(prof.fixed, v)
            continue
        prefix = [0]
        for a in alive:
            prefix.append(prefix[-1] + a)
        if op.phase == "forward" and at < bstart:
            if at < last_end:  # in module i's forward, or in the model's code right after it
                prof.fwd_ops[bisect.bisect_right(starts, at) - 1].append((v, prefix, op.rise))
            else:  # after the sequence's forward: all the plan keeps is alive
                prof.suffix = max(prof.suffix, v - prefix[-1])
            continue
        m = owner.get(id(op.module)) if op.module is not None else None
        if m is None:
            m = last_m
        if m is None:
            prof.suffix = max(prof.suffix, v - prefix[-1])
            continue
        last_m = m
        prof.bwd_ops[m].append((v, prefix, at))
    return prof


def _time_forward(model, inputs, children, runs=5):
    """Forward time of each module of the sequence (timed by hooks) and of the whole model (timed
    without them): the least of ``runs`` runs, so that a stall in one run does not count."""
    times = [math.inf] * len(children)
    starts = {}

    def pre(i):
        return lambda mod, a: starts.__setitem__(i, time.perf_counter())

    def post(i):
        return lambda mod, a, o: times.__setitem__(i, min(times[i], time.perf_counter() - starts[i]))

    whole = math.inf
    with enable_grad():
        for _ in range(runs):
            t0 = time.perf_counter()
            model(*inputs)
            whole = min(whole, time.perf_counter() - t0)
        handles = [h for i, m in enumerate(children)
                   for h in (m.register_forward_pre_hook(pre(i)), m.register_forward_hook(post(i)))]
        try:
            for _ in range(runs):
                model(*inputs)
        finally:
            for h in handles:
                h.remove()
    return [0.0 if t == math.inf else t for t in times], whole


# ------------------------------------------------------------------------- the cost model


class _Model:
    """Predicted memory of plans over one _Profile (see the module docstring)."""

    def __init__(self, prof, sequential):
        self.p = prof
        self.n = prof.n
        self.sequential = sequential  # runs of modules can be segments; else each module alone
        self.singles_only = not sequential
        self._stored = {}
        n = self.n
        self.cum_act = [0]
        for a in prof.act:
            self.cum_act.append(self.cum_act[-1] + a)
        self.cum_t = [0.0]
        for t in prof.fwd_s:
            self.cum_t.append(self.cum_t[-1] + t)
        # per module i and segment start j <= i: the highest (value - kept bytes of windows < j)
        self.fwd = [[max((v - pre[j] for v, pre, _ in prof.fwd_ops[i]), default=0) for j in range(i + 1)]
                    for i in range(n)]
        self.bwd = [[max((v - pre[j] for v, pre, _ in prof.bwd_ops[i]), default=0) for j in range(i + 1)]
                    for i in range(n)]
        self.other = [max((v - pre[-1] for v, pre, _ in prof.bwd_ops[i]), default=0) for i in range(n)]
        self.first = [min(((at, v - pre[-1]) for v, pre, at in prof.bwd_ops[i]), default=(math.inf, 0))
                      for i in range(n)]
        self.rise = [max((r for _, _, r in prof.fwd_ops[i]), default=0) for i in range(n)]
        self._h = {}
        self._inner = None

    def allowed(self, j, k, ckpt):
        return not (ckpt and self.singles_only and k - j > 1)

    def stored(self, j, k, ckpt):
        """Bytes segment [j, k) keeps until backward: all its activations if plain; if
        checkpointed, those that an op outside the segment (or the caller) also keeps, and, in
        a Sequential, its output (the next segment's input)."""
        if not ckpt:
            return self.cum_act[k] - self.cum_act[j]
        key = (j, k)
        got = self._stored.get(key)
        if got is None:
            got = 0
            for i, n, is_out, keepers in self.p.kept_by:
                if j <= i < k and (not keepers or any(m is None or not j <= m < k for m in keepers)
                                   or (is_out and i == k - 1 and self.sequential)):
                    got += n
            if self.sequential and not any(i == k - 1 and is_out for i, _, is_out, _ in self.p.kept_by):
                got += self.p.out[k - 1]  # not kept in the plain run, but the next checkpoint's input
            self._stored[key] = got
        return got

    def cost(self, j, k, ckpt):
        return self.cum_t[k] - self.cum_t[j] if ckpt else 0.0

    def h(self, j, k, ckpt):
        """The highest memory while segment [j, k) runs, less what the segments before it keep."""
        key = (j, k, ckpt)
        got = self._h.get(key)
        if got is not None:
            return got
        fwd = max(self.fwd[i][j] for i in range(j, k))
        if not ckpt:
            worst = max(fwd, max(self.bwd[i][j] for i in range(j, k)))
        else:
            held = self.cum_act[k] - self.cum_act[j]  # recomputed, held until the segment's backward ends
            first = min(self.first[i] for i in range(j, k))[1]
            worst = max(fwd, held + max(self.other[i] for i in range(j, k)),
                        held + first + max(self.rise[i] for i in range(j, k)))
        self._h[key] = worst
        return worst

    def peak(self, segments):
        kept, worst = 0, self.p.fixed
        for s in segments:
            h = self.h(s.start, s.stop, s.checkpoint) if s.inner is None else self.nested_h(s.start, s.stop, s.inner)
            worst = max(worst, kept + h)
            kept += self.stored(s.start, s.stop, s.checkpoint)
        return max(worst, kept + self.p.suffix)

    def recompute(self, segments):
        return sum(self.cost(s.start, s.stop, s.checkpoint) + (self.recompute(s.inner) if s.inner else 0.0)
                   for s in segments)

    def nested_h(self, j, k, inner):
        """``h`` of segment [j, k) checkpointed with an inner plan: its forward keeps what a
        checkpointed segment keeps; its recompute runs the inner plan, whose segments keep what
        they keep and peak as they would in a plan of their own."""
        kept, worst = 0, max(self.fwd[i][j] for i in range(j, k))
        for s in inner:
            worst = max(worst, kept + self.h(s.start, s.stop, s.checkpoint))
            kept += self.stored(s.start, s.stop, s.checkpoint)
        first = min(self.first[i] for i in range(j, k))[1]
        return max(worst, kept + first + max(self.rise[i] for i in range(j, k)))

    # ---------------------------------------------------------------- searches
    def _options(self, j, k, two_level):
        """The ways to run segment [j, k): (h, stored bytes, recompute seconds, (ckpt, inner))."""
        for ckpt in (False, True):
            if self.allowed(j, k, ckpt):
                yield self.h(j, k, ckpt), self.stored(j, k, ckpt), self.cost(j, k, ckpt), (ckpt, None)
        if two_level:
            for h, cost, inner in self.inner_plans().get((j, k), ()):
                yield h, self.stored(j, k, True), self.cost(j, k, True) + cost, (True, inner)

    def _fronts(self, budget, two_level):
        """Pareto fronts over the cut points: fronts[k] lists the plans of modules [0, k) that
        stay under ``budget``, as (kept bytes, recompute, back pointer), less kept memory only
        where it costs more recompute."""
        n = self.n
        fronts = [[] for _ in range(n + 1)]
        fronts[0] = [(0, 0.0, None)]
        for k in range(1, n + 1):
            cand = []
            for j in range(k):
                for entry in fronts[j]:
                    kept, cost = entry[0], entry[1]
                    for h, stored, c, how in self._options(j, k, two_level):
                        if kept + h <= budget:
                            cand.append((kept + stored, cost + c, (entry, j, how)))
            cand.sort(key=lambda e: (e[0], e[1]))
            front = []
            for e in cand:
                if not front or e[1] < front[-1][1]:
                    front.append(e)
            fronts[k] = front
        return fronts

    def best(self, budget, two_level=False):
        """The plan with the least recompute whose peak is <= budget (exact over the plans of
        one level, or, with ``two_level``, also over checkpointed segments whose recompute is
        itself checkpointed with one of ``inner_plans``), as [(start, stop, ckpt)] or, with
        ``two_level``, [(start, stop, ckpt, inner)]; None if none fits."""
        if self.p.fixed > budget:
            return None
        done = [e for e in self._fronts(budget, two_level)[self.n] if e[0] + self.p.suffix <= budget]
        if not done:
            return None
        entry = min(done, key=lambda e: (e[1], e[0]))
        segments, k = [], self.n
        while entry[2] is not None:
            prev, j, (ckpt, inner) = entry[2]
            segments.append((j, k, ckpt, inner))
            entry, k = prev, j
        segments = _merge(reversed(segments))
        return segments if two_level else [s[:3] for s in segments]

    def feasible(self, budget, two_level=False):
        """Whether some plan fits ``budget`` (less kept memory always helps: one value per cut)."""
        n = self.n
        if self.p.fixed > budget:
            return False
        least = [math.inf] * (n + 1)
        least[0] = 0
        for k in range(1, n + 1):
            for j in range(k):
                if least[j] == math.inf:
                    continue
                for h, stored, _, _ in self._options(j, k, two_level):
                    if least[j] + h <= budget:
                        least[k] = min(least[k], least[j] + stored)
        return least[n] + self.p.suffix <= budget

    def min_peak(self, two_level=False):
        lo, hi = 0, self.p.peak
        for _ in range(40):
            if hi - lo <= max(1, hi // 4096):
                break
            mid = (lo + hi) // 2
            if self.feasible(mid, two_level):
                hi = mid
            else:
                lo = mid
        return hi

    def inner_plans(self):
        """For each run [j, k) of two or more modules of a Sequential, the inner plans its
        checkpointed recompute can run, as a Pareto front of (nested_h, inner recompute seconds,
        inner segments): the same dynamic program over the modules j .. k-1, keeping per cut
        the plans of least (kept bytes, peak so far)."""
        if self._inner is not None:
            return self._inner
        self._inner = {}
        if self.singles_only:
            return self._inner
        n = self.n
        for j in range(n):
            fronts = {j: [(0, 0, 0.0, None)]}  # (kept, worst h so far, recompute, back pointer)
            for a in range(j + 1, n + 1):
                cand = [(kept + self.stored(b, a, ckpt), max(worst, kept + self.h(b, a, ckpt)),
                         cost + self.cost(b, a, ckpt), (entry, b, ckpt))
                        for b in range(j, a) for entry in fronts[b] for kept, worst, cost, _ in (entry,)
                        for ckpt in (False, True)]
                cand.sort(key=lambda e: (e[0], e[1], e[2]))
                front = []
                for e in cand:
                    if not front or e[1] < front[-1][1]:
                        front.append(e)
                fronts[a] = front
                if a - j < 2:
                    continue
                tail = min(self.first[i] for i in range(j, a))[1] + max(self.rise[i] for i in range(j, a))
                fwd = max(self.fwd[i][j] for i in range(j, a))
                plans = sorted((max(fwd, worst, kept + tail), cost, e) for e in front
                               for kept, worst, cost, _ in (e,))
                pareto = []
                for h, cost, e in plans:
                    if not pareto or cost < pareto[-1][1]:
                        inner, k = [], a
                        while e[3] is not None:
                            e, b, ckpt = e[3]
                            inner.append(CheckpointSegment(b, k, [], ckpt))
                            k = b
                        pareto.append((h, cost, inner[::-1]))
                self._inner[(j, a)] = pareto
        return self._inner

    def uniform(self, length):
        """checkpoint_sequential's cut: segments of ``length`` modules, all but the last checkpointed."""
        n = self.n
        if self.singles_only:
            length = 1
        cuts = list(range(0, n, length)) + [n]
        segs = [(a, b, b < n) for a, b in zip(cuts, cuts[1:])]
        return _merge(segs)


def _merge(segs):
    """Segments as (start, stop, ckpt[, inner]) with adjacent plain runs joined."""
    out = []
    for seg in segs:
        if out and not seg[2] and not out[-1][2]:
            out[-1] = (out[-1][0], seg[1]) + out[-1][2:]
        else:
            out.append(tuple(seg))
    return out


# ------------------------------------------------------------------------- entry point


def _candidates(model, sequence):
    if sequence is not None:
        if isinstance(sequence, str):
            mods = dict(model.named_modules())
            if sequence not in mods:
                raise ValueError(f"checkpoint_plan: the model has no submodule named {sequence!r}")
            sequence = mods[sequence]
        if not isinstance(sequence, (nn.Sequential, nn.ModuleList)):
            raise TypeError(f"checkpoint_plan: sequence must be an nn.Sequential or nn.ModuleList, "
                            f"got {type(sequence).__name__}")
        return [sequence]
    return [m for m in model.modules()
            if isinstance(m, (nn.Sequential, nn.ModuleList)) and len(list(m.children())) >= 2]


def _record_step(model, inputs, loss_fn, watch):
    """Run forward, loss and backward once under the recorder; the parameters' .grad are left
    as they were."""
    params = list(model.parameters())
    kept = [None if p.grad is None else p.grad.detach().clone() for p in params]
    rec = _Recorder(watch=watch)
    try:
        with rec:
            out = model(*inputs)
            loss = loss_fn(out) if loss_fn is not None else out.sum()
            loss.backward()
            del out, loss
        rec.finish()  # while the new .grad buffers are the parameters' (they are gradients)
    finally:
        for p, g in zip(params, kept):
            p.grad = g
    return rec


def checkpoint_plan(model, example_inputs, budget_bytes, apply=False, loss_fn=None, sequence=None):
    """Choose which modules of ``model`` to checkpoint so that a training step (forward on
    ``example_inputs``, ``loss_fn(output)`` -- ``output.sum()`` if None --, backward) peaks
    under ``budget_bytes``, with the least recomputation; return a :class:`CheckpointPlan`.

    The units are the modules of the model's ``nn.Sequential`` or ``nn.ModuleList`` keeping
    the most activations (or ``sequence``: its path in the model, or the container); in a
    Sequential, runs of modules are checkpointed as one segment, in a ModuleList (called by the
    model's own loop) each module alone. Where no such plan fits, a Sequential gets a plan of
    two levels (``method == 'dp2'``): segments whose recompute checkpoints runs of their modules
    again (``segment.inner``). The peak counts what the step allocates (parameters
    and existing ``.grad`` buffers are the baseline), as ``inspect.memory_plan`` does, and is
    measured the same way: tracemalloc above the memory before the step.

    ``apply=True`` wraps the chosen segments with ``utils.checkpoint`` (``plan.apply()`` does
    it later, ``plan.remove()`` undoes it); gradients stay those of the unwrapped model.
    Raises :class:`CheckpointBudgetError` (a ValueError) with the smallest reachable peak when
    no plan fits. Example::

        plan = inspect.checkpoint_plan(model, (x,), budget_bytes=64 * 2**20,
                                       loss_fn=lambda out: F.cross_entropy(out, y), apply=True)
        print(plan)  # segments, predicted peak, recompute cost, the sqrt(n) baseline
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"checkpoint_plan: model must be an nn.Module, got {type(model).__name__}")
    inputs = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    budget = int(budget_bytes)
    if budget <= 0:
        raise ValueError(f"checkpoint_plan: budget_bytes must be positive, got {budget_bytes}")
    cands = _candidates(model, sequence)
    if not cands:
        raise ValueError(f"checkpoint_plan: {type(model).__name__} has no nn.Sequential or nn.ModuleList "
                         "of two or more modules to checkpoint; pass sequence= to name one")
    watch = [m for c in cands for m in c.children()]
    rec = _record_step(model, inputs, loss_fn, watch)
    names = {id(m): name for name, m in model.named_modules()}
    best_prof, best_c = None, None
    for c in cands:
        prof = _profile(rec, c)
        if prof is not None and (best_prof is None or sum(prof.act) > sum(best_prof.act)):
            best_prof, best_c = prof, c
    if best_prof is None:
        raise ValueError("checkpoint_plan: no nn.Sequential or nn.ModuleList of the model runs each of its "
                         "modules once, in order; name one that does with sequence=")
    children = list(best_c.children())
    best_prof.fwd_s, best_prof.forward_s = _time_forward(model, inputs, children)
    cost = _Model(best_prof, sequential=isinstance(best_c, nn.Sequential))
    seq_name = names.get(id(best_c)) or type(best_c).__name__
    child_names = [f"{seq_name}.{i}" if names.get(id(best_c)) else str(i) for i in range(len(children))]
    unconstrained = best_prof.peak

    def segment(j, k, ckpt, inner=None):
        return CheckpointSegment(j, k, child_names[j:k], ckpt,
                                 None if inner is None else [segment(s.start, s.stop, s.checkpoint) for s in inner])

    def plan_of(segs, method, baseline=None):
        segments = [segment(*s) for s in segs]
        return CheckpointPlan(seq_name, best_c, segments, cost.peak(segments), unconstrained, budget,
                              cost.recompute(segments), best_prof.forward_s, method, baseline)

    n = cost.n
    baseline = plan_of(cost.uniform(max(1, round(math.sqrt(n)))), "uniform")
    if n <= _EXACT_MAX_MODULES:
        segs, method = cost.best(budget), "dp"
        if segs is None and n <= _TWO_LEVEL_MAX_MODULES:
            segs, method = cost.best(budget, two_level=True), "dp2"
    else:  # large: the cheapest uniform cut that fits
        fits = [cost.uniform(L) for L in range(1, n + 1)]
        fits = [s for s in fits if plan_of(s, "uniform").peak_bytes <= budget]
        segs = min(fits, key=lambda s: plan_of(s, "uniform").recompute_seconds) if fits else None
        method = "uniform"
    if segs is None:
        least = cost.min_peak(two_level=method == "dp2")
        grads = sum(b.bytes for b in rec.buffers if b.category == "gradients")
        why = ""
        if grads >= least // 2:
            why = (f" {_fmt(grads)} of it are the parameters' new .grad buffers, which checkpointing does not "
                   "reduce; gradients kept between steps (optimizer.zero_grad(set_to_none=False)) exist before "
                   "the step and are not counted.")
        raise CheckpointBudgetError(
            f"checkpoint_plan: no checkpointing of the {n} modules of {seq_name} fits the step in "
            f"{_fmt(budget)} ({budget} bytes); the smallest peak a plan reaches is {_fmt(least)} ({least} bytes; "
            f"{_fmt(unconstrained)} without checkpointing).{why} Raise budget_bytes to at least {least}, or "
            "make the step smaller (batch size).", budget, least)
    plan = plan_of(segs, method, baseline)
    if apply:
        plan.apply()
    return plan
