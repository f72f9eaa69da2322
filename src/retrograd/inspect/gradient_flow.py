"""``inspect.gradient_flow(model)``: after a backward, how the gradient flows through each
layer, and a diagnosis with the founding document's remedies.

Per layer (each module with parameters of its own, in forward order when watched): the norm
of its parameters' gradients, their norm, the update-to-weight ratio of one optimizer step,
the norm of the gradient that reached its output and the dead/saturated fractions of the
activation after it (the last two from :func:`retrograd.inspect.watch`).

Criteria for ``report.problems`` (constants of this module):

- ``'vanishing'``: a layer's gradient is below ``VANISHING_RATIO`` (1e-3) times the last
  layer's. The gradient compared is dL/d(layer output) when the model was watched during the
  forward (the document's "Gradient Flow" product: it shrinks or grows by each layer's
  derivative), else the norm of the layer's parameter gradients. Layers that get exactly
  zero gradient because the ReLU after them is dead count as 'dead', not 'vanishing'.
- ``'exploding'``: a layer's gradient is above ``EXPLODING_RATIO`` (1e3) times the last
  layer's, or a gradient is not finite. Weights too large by a constant factor make both the
  activations and the output gradients grow layer by layer, so that their product, the
  parameter gradient, can stay level: this is seen from the output gradients, i.e. needs
  ``watch``.
- ``'dead'``: a ReLU with at least ``DEAD_FRACTION`` (0.5) of its units dead on the batch
  (needs ``watch``).
- ``'saturated'``: a tanh or sigmoid with at least ``SATURATED_FRACTION`` (0.5) of its
  outputs saturated (needs ``watch``).
- ``'lr_too_high'`` / ``'lr_too_low'`` (with ``lr`` or ``optimizer``): some layer's
  update-to-weight ratio above ``LR_TOO_HIGH`` (0.1: one step changes its weights by more
  than 10%), or every layer's below ``LR_TOO_LOW`` (1e-5). A common rule of thumb puts a
  healthy ratio near 1e-3 (these bounds, two orders of magnitude either side, are ours).

A healthy network (for instance residual blocks with layer normalization, ReLU and the
default initialization) gives no finding.
"""

import copy
import math
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np

from .watch import latest_watch

VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
LR_TOO_HIGH = 1e-1
LR_TOO_LOW = 1e-5

SOURCE = "the founding document, docs/backpropagation.md"

# kind -> (section of the founding document, remedy: its advice, quoted or paraphrased)
REMEDIES = {
    "vanishing": (
        "Gradient Flow",
        "derivatives smaller than one, multiplied layer after layer, shrink the gradient "
        "exponentially (the sigmoid's derivative is at most 0.25 and small when it saturates). "
        "Modern architectures reduce this with ReLU activations (reduce saturation), residual "
        "connections (shorten gradient paths), batch or layer normalization (stabilize "
        "activations) and careful initialization (preserve variance)."),
    "exploding": (
        "Gradient Flow",
        "derivatives larger than one make gradients grow exponentially with depth, worst in "
        "deep recurrent networks and poorly initialized models. Use careful initialization that "
        "preserves variance (nn.init.kaiming_normal_ / xavier_normal_ rather than weights too "
        "large), gradient clipping to limit exploding gradients "
        "(nn.utils.clip_grad_norm_ before optimizer.step()), and normalization to stabilize "
        "activations."),
    "dead": (
        "Backpropagation Through Activations",
        "gradients pass through positive activations and are blocked for negative ones, so a "
        "ReLU unit that is negative for every sample gets no gradient and its weights stop "
        "learning. Initialize carefully (preserve variance; no large negative biases) and "
        "normalize the ReLU's input to stabilize it (Gradient Flow: batch/layer normalization)."),
    "saturated": (
        "Backpropagation Through Activations",
        "the sigmoid's derivative sigma(1 - sigma) (tanh's 1 - tanh^2) becomes small when it "
        "saturates near its limits, and repeated multiplication of small derivatives leads to "
        "vanishing gradients. ReLU activations reduce saturation; normalization and careful "
        "initialization keep pre-activations out of the flat tails (Gradient Flow)."),
    "lr_too_high": (
        "The Goal of Backpropagation",
        "the optimizer updates theta <- theta - eta * grad L, eta the learning rate: a step that "
        "changes weights by more than 10% overshoots. Lower the learning rate (and clip "
        "exploding gradients: Gradient Flow)."),
    "lr_too_low": (
        "The Goal of Backpropagation",
        "the optimizer updates theta <- theta - eta * grad L, eta the learning rate: steps this "
        "small barely move the weights, so training stalls. Raise the learning rate."),
}


@dataclass
class LayerFlow:
    """One parameterised layer: ``name`` (module path), ``type``, ``params`` (elements of the
    parameters that require grad), ``grad_norm`` (None: no gradient), ``weight_norm``,
    ``update_ratio`` (|step| / |weights|, None without lr/optimizer), ``output_grad_norm``
    (|dL/d output|, None unless watched), ``dead`` / ``saturated`` (of the activation after it,
    None unless watched and present)."""

    name: str
    type: str
    params: int
    grad_norm: object
    weight_norm: float
    update_ratio: object = None
    output_grad_norm: object = None
    dead: object = None
    saturated: object = None


@dataclass
class Finding:
    """One problem: ``kind`` (one of 'vanishing', 'exploding', 'dead', 'saturated',
    'lr_too_high', 'lr_too_low'), ``layers`` (module paths it concerns), ``message`` (what was
    measured), ``remedy`` (the founding document's advice) and ``section`` (where it says so)."""

    kind: str
    layers: list
    message: str
    remedy: str = ""
    section: str = ""

    def __post_init__(self):
        if not self.remedy:
            self.section, self.remedy = REMEDIES[self.kind]

    def __str__(self):
        wrap = lambda text, first: textwrap.fill(text, 100, initial_indent=first,  # noqa: E731
                                                 subsequent_indent="    ")
        return "\n".join([wrap(self.message, f"- {self.kind}: "), wrap(self.remedy, "  remedy: "),
                          wrap(f"({SOURCE}, section \"{self.section}\")", "  ")])


@dataclass
class GradientFlowReport:
    """What :func:`gradient_flow` returns: ``layers`` (:class:`LayerFlow`, forward order),
    ``activations`` (``ActivationStats`` from the watch, empty if unwatched), ``problems``
    (:class:`Finding`), ``signal`` (which gradient the depth criteria compared). ``str()`` is
    the diagnosis (a table, then the findings); ``plot(path)`` writes a PNG."""

    model: str
    layers: list
    activations: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    signal: str = "parameter gradient"
    step: str = ""

    @property
    def kinds(self):
        """The kinds of the findings, in order."""
        return [p.kind for p in self.problems]

    def __str__(self):
        head = f"gradient flow of {self.model} (depth criteria on the {self.signal}"
        head += f"; update/weight {self.step})" if self.step else ")"
        cols = ["layer", "type", "params", "grad norm", "weight norm", "update/weight",
                "out grad", "dead", "saturated"]
        rows = [[r.name, r.type, f"{r.params:,}", _num(r.grad_norm), _num(r.weight_norm),
                 _num(r.update_ratio), _num(r.output_grad_norm), _pct(r.dead), _pct(r.saturated)]
                for r in self.layers]
        lines = [head] + _table(cols, rows)
        loose = [a for a in self.activations if a.layer is None]
        if loose:
            lines.append("activations not after a parameterised layer: " + ", ".join(
                f"{a.name} ({a.kind}, " + (f"{_pct(a.dead)} dead)" if a.dead is not None
                                           else f"{_pct(a.saturated)} saturated)") for a in loose))
        if not self.problems:
            lines.append("no problem found")
        else:
            lines.append(f"{len(self.problems)} problem(s):")
            lines.extend(str(p) for p in self.problems)
        return "\n".join(lines)

    __repr__ = __str__

    def plot(self, path):
        """Write a PNG to ``path``: per layer the gradient norms (and output gradient norms
        when watched) on a log scale, the update-to-weight ratios when known, the dead and
        saturated fractions; the findings in the title. Needs matplotlib (ImportError
        otherwise). Returns ``path``."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError("GradientFlowReport.plot needs matplotlib: pip install matplotlib") from exc
        names = [r.name for r in self.layers]
        x = np.arange(len(names))
        fig = Figure(figsize=(max(6.0, 0.45 * len(names) + 3), 7.5))
        FigureCanvasAgg(fig)
        ax_g, ax_u, ax_a = fig.subplots(3, 1, sharex=True)
        for attr, style, label in (("grad_norm", "o-", "parameter gradient norm"),
                                   ("output_grad_norm", "s-", "norm of dL/d(output)")):
            values = _series(self.layers, attr)
            if not np.isnan(values).all():
                ax_g.plot(x, np.where(values > 0, values, np.nan), style, label=label)
        zero = [i for i, r in enumerate(self.layers) if r.grad_norm == 0]
        if zero:
            ax_g.scatter(zero, [0.04] * len(zero), marker="v", color="black", transform=ax_g.get_xaxis_transform(),
                         label="zero gradient")
        flagged = {n for p in self.problems if p.kind in ("vanishing", "exploding") for n in p.layers}
        for i, r in enumerate(self.layers):
            if r.name in flagged:
                ax_g.axvspan(i - 0.4, i + 0.4, color="tab:red", alpha=0.12, lw=0)
        ax_g.set_yscale("log")
        ax_g.legend(loc="best", fontsize=8)
        ax_g.set_ylabel("gradient norm\n(red: vanishing/exploding)", fontsize=8)
        ratios = _series(self.layers, "update_ratio")
        if np.isnan(ratios).all():
            ax_u.text(0.5, 0.5, "no update/weight ratio: pass lr= or optimizer=", ha="center", va="center",
                      transform=ax_u.transAxes, color="gray")
            ax_u.set_yticks([])
        else:
            ax_u.plot(x, np.where(ratios > 0, ratios, np.nan), "o-", color="tab:green")
            ax_u.axhline(LR_TOO_HIGH, color="tab:red", lw=0.8, ls="--", label=f"lr too high (> {LR_TOO_HIGH:g})")
            ax_u.axhline(LR_TOO_LOW, color="tab:blue", lw=0.8, ls="--", label=f"lr too low (< {LR_TOO_LOW:g})")
            ax_u.set_yscale("log")
            ax_u.legend(loc="best", fontsize=8)
        ax_u.set_ylabel(f"update / weight\n{self.step}", fontsize=8)
        if all(r.dead is None and r.saturated is None for r in self.layers):
            ax_a.text(0.5, 0.5, "no activation statistics (run the forward inside inspect.watch)",
                      ha="center", va="center", transform=ax_a.transAxes, color="gray")
        else:
            ax_a.bar(x - 0.2, [r.dead or 0 for r in self.layers], 0.4, color="tab:gray", label="dead (ReLU)")
            ax_a.bar(x + 0.2, [r.saturated or 0 for r in self.layers], 0.4, color="tab:orange",
                     label="saturated (tanh/sigmoid)")
            ax_a.axhline(DEAD_FRACTION, color="tab:red", lw=0.8, ls="--")
            ax_a.legend(loc="best", fontsize=8)
        ax_a.set_ylim(0, 1)
        ax_a.set_ylabel("fraction of the activation\nafter the layer", fontsize=8)
        ax_a.set_xticks(x)
        ax_a.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        title = ", ".join(f"{p.kind} ({len(p.layers)} layer{'s' if len(p.layers) != 1 else ''})"
                          for p in self.problems) or "no problem found"
        fig.suptitle(f"gradient flow of {self.model}: {title}", fontsize=10)
        fig.tight_layout()
        fig.savefig(path, format="png", dpi=100)
        return path


def _series(layers, attr):
    return np.array([np.nan if getattr(r, attr) is None else getattr(r, attr) for r in layers], dtype=np.float64)


def _num(v):
    return "-" if v is None else f"{v:.3g}"


def _pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def _table(cols, rows):
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(cells, widths)))
    return [fmt(cols)] + [fmt(r) for r in rows]


def _norm(tensors):
    return math.sqrt(sum(float((t._data.astype(np.float64) ** 2).sum()) for t in tensors))


def _layers(model, watched):
    """[(name, module, params requiring grad)] for modules with parameters of their own, in
    the watched forward order, then the others in registration order."""
    found = []
    for name, m in model.named_modules():
        params = [p for p in m.parameters(recurse=False) if p.requires_grad]
        if params:
            found.append((name or type(m).__name__, m, params))
    order = {name: i for i, name in enumerate(watched.layers)} if watched else {}
    return sorted(found, key=lambda f: order.get(f[0], len(order)))


def _optimizer_updates(optimizer):
    """{id(param): norm of the step ``optimizer`` would take now}, from a trial step on a deep
    copy (the model and the optimizer's state are untouched)."""
    trial = copy.deepcopy(optimizer)
    before = [p for g in optimizer.param_groups for p in g["params"]]
    after = [p for g in trial.param_groups for p in g["params"]]
    for p, q in zip(before, after):  # (a deep copy of a Parameter leaves its .grad behind, as torch's)
        q.grad = None if p.grad is None else p.grad.clone()
    from ..autograd.grad_mode import no_grad

    with no_grad():
        trial.step()
    return {id(p): math.sqrt(float(((q._data.astype(np.float64) - p._data) ** 2).sum()))
            for p, q in zip(before, after)}


def gradient_flow(model, lr=None, *, optimizer=None):
    """Diagnose how the gradient of the latest backward flows through ``model``'s layers.

    Call after ``loss.backward()`` (and before ``optimizer.zero_grad()``). Pass ``lr`` to get
    each layer's update-to-weight ratio ``lr * |grad| / |weights|`` (the SGD step), or
    ``optimizer=`` to get the ratio of the step that optimizer would take now (a trial step on
    a deep copy: Adam's, momentum's... step, each parameter group's learning rate). For dead
    and saturated units and for the output-gradient criteria, run the forward and backward
    inside :func:`retrograd.inspect.watch`::

        with inspect.watch(model):
            loss_fn(model(x), y).backward()
        report = inspect.gradient_flow(model, optimizer=opt)
        print(report)             # a table per layer, then the findings with their remedies
        report.problems           # [Finding(kind='vanishing', layers=[...], ...), ...]
        report.plot("flow.png")   # needs matplotlib

    The criteria and their thresholds are in this module's docstring."""
    from ..nn import Module

    if not isinstance(model, Module):
        raise TypeError(f"inspect.gradient_flow() expects an nn.Module, got {type(model).__name__}")
    if lr is not None and optimizer is not None:
        raise ValueError("gradient_flow: pass lr or optimizer, not both (the optimizer's param "
                         "groups carry their own learning rates)")
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"gradient_flow: lr must be a positive number, got {lr!r}")
    watched = latest_watch(model)
    if watched is not None and not watched.is_current():
        warnings.warn("gradient_flow: the parameters changed (an optimizer step?) since the forward "
                      "inspect.watch recorded, so its activations and output gradients are left out; "
                      "run the forward and backward inside watch again, and call gradient_flow before "
                      "optimizer.step()", UserWarning, stacklevel=2)
        watched = None
    layers = _layers(model, watched)
    if not any(p.grad is not None for _, _, params in layers for p in params):
        raise RuntimeError("gradient_flow: no parameter of the model has a .grad; call "
                           "loss.backward() first (and gradient_flow before optimizer.zero_grad())")
    updates = _optimizer_updates(optimizer) if optimizer is not None else None
    acts = watched.activations if watched else []
    rows = []
    for name, m, params in layers:
        grads = [p.grad for p in params if p.grad is not None]
        row = LayerFlow(name, type(m).__name__, sum(p.numel() for p in params),
                        _norm(grads) if grads else None, _norm(params))
        if row.weight_norm > 0 and row.grad_norm is not None:
            if lr is not None:
                row.update_ratio = lr * row.grad_norm / row.weight_norm
            elif updates is not None:
                row.update_ratio = math.sqrt(sum(updates.get(id(p), 0.0) ** 2 for p in params)) / row.weight_norm
        if watched:
            row.output_grad_norm = watched.output_grad_norms.get(name)
            mine = [a for a in acts if a.layer == name]
            dead = [a.dead for a in mine if a.dead is not None]
            sat = [a.saturated for a in mine if a.saturated is not None]
            row.dead = max(dead) if dead else None
            row.saturated = max(sat) if sat else None
        rows.append(row)
    use_out = bool(watched) and any(r.output_grad_norm is not None for r in rows)
    report = GradientFlowReport(type(model).__name__, rows, list(acts),
                                signal="output gradient" if use_out else "parameter gradient")
    if lr is not None:
        report.step = f"for lr={lr:g}"
    elif optimizer is not None:
        report.step = f"of one {type(optimizer).__name__} step"
    report.problems = _diagnose(rows, acts, use_out)
    return report


def _diagnose(rows, acts, use_out):
    problems = []
    dead = [a for a in acts if a.dead is not None and a.dead >= DEAD_FRACTION]
    sat = [a for a in acts if a.saturated is not None and a.saturated >= SATURATED_FRACTION]
    what = "dL/d(output)" if use_out else "parameter gradient"
    signal = [(r, r.output_grad_norm if use_out else r.grad_norm) for r in rows]
    signal = [(r, s) for r, s in signal if s is not None]
    nonfinite = [r.name for r, s in signal if not math.isfinite(s)]
    nonfinite += [r.name for r in rows if r.grad_norm is not None and not math.isfinite(r.grad_norm)
                  and r.name not in nonfinite]
    cut = []
    if nonfinite:
        problems.append(Finding("exploding", nonfinite, f"non-finite gradients in {_names(nonfinite)}"))
    elif signal and signal[-1][1] > 0:
        last, ref = signal[-1]
        big = [(r, s) for r, s in signal if s > EXPLODING_RATIO * ref]
        small = [(r, s) for r, s in signal if s < VANISHING_RATIO * ref]
        if dead:
            cut = [r.name for r, s in small if s == 0]
            small = [(r, s) for r, s in small if s != 0]
        if big:
            top = max(s for _, s in big)
            problems.append(Finding("exploding", [r.name for r, _ in big],
                                    f"{what} of {_names([r.name for r, _ in big])} up to {top / ref:.3g}x "
                                    f"that of the last layer '{last.name}' ({ref:.3g}); "
                                    f"threshold {EXPLODING_RATIO:g}x"))
        if small:
            low = min(s for _, s in small)
            problems.append(Finding("vanishing", [r.name for r, _ in small],
                                    f"{what} of {_names([r.name for r, _ in small])} down to {low / ref:.3g}x "
                                    f"that of the last layer '{last.name}' ({ref:.3g}); "
                                    f"threshold {VANISHING_RATIO:g}x"))
    if dead:
        parts = ", ".join(f"'{a.name}'{_after(a)} {100 * a.dead:.0f}% of {a.units} units" for a in dead)
        msg = f"ReLU units dead on the whole batch: {parts}"
        if cut:
            msg += f"; no gradient at all reaches {_names(cut)}"
        problems.append(Finding("dead", _concerned(dead), msg))
    if sat:
        parts = ", ".join(f"'{a.name}' ({a.kind}){_after(a)} {100 * a.saturated:.0f}% of outputs" for a in sat)
        problems.append(Finding("saturated", _concerned(sat), f"outputs on the flat tails: {parts}"))
    ratios = [(r.name, r.update_ratio) for r in rows if r.update_ratio is not None and math.isfinite(r.update_ratio)]
    if ratios:
        high = [(n, u) for n, u in ratios if u > LR_TOO_HIGH]
        top = max(u for _, u in ratios)
        if high:
            problems.append(Finding("lr_too_high", [n for n, _ in high],
                                    f"update/weight of {_names([n for n, _ in high])} up to {top:.3g} "
                                    f"per step (threshold {LR_TOO_HIGH:g})"))
        elif top < LR_TOO_LOW:
            problems.append(Finding("lr_too_low", [n for n, _ in ratios],
                                    f"update/weight at most {top:.3g} per step in every layer "
                                    f"(threshold {LR_TOO_LOW:g})"))
    return problems


def _after(a):
    return f" (after '{a.layer}'):" if a.layer else ":"


def _concerned(acts):
    """The layers feeding these activations (the activation itself when none is known)."""
    out = []
    for a in acts:
        name = a.layer or a.name
        if name not in out:
            out.append(name)
    return out


def _names(names, limit=6):
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
