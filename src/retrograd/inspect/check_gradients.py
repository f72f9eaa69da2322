"""``inspect.check_gradients(model, inputs, loss_fn)``: check each module's backward, alone, in
float64, on the input it really receives in the model: for people writing custom
``autograd.Function`` s and layers.

How: one forward of ``model(*inputs)`` and ``loss_fn(output)`` records, with forward hooks, the
arguments of every module call (and the loss function's). Then, for each call in the order the
calls finished (a module before the module containing it), a float64 copy of the module
(``copy.deepcopy(module).cpu().double()``: the check runs on the CPU) runs on a float64 copy of
those arguments and its backward
(a VJP with a random output cotangent u) is compared with central finite differences of that
module alone. Instead of full Jacobians, each differentiable tensor (every floating input, and
each parameter of the module's own, not its submodules') is checked along ``directions``
random directions v: the analytic ``grad . v`` against ``(F(x + h v) - F(x - h v)) / 2h`` with
``F = sum(u * output)`` and ``h = eps * max(1, rms(x))``. A wrong gradient disagrees along a
random direction almost surely, so a few directions find it at the cost of a few forwards.

Relative error: ``|analytic - numeric| / max(|analytic|, |numeric|, floor)``, the floor covering
finite-difference noise where the directional derivative is ~0. A call fails when some error
exceeds ``rtol``.

Non-differentiable points (ReLU at exactly 0, tied max-pool windows, common after a ReLU)
are detected by the one-sided differences disagreeing; the call is then checked again on its
input jittered by 1% of its RMS (seeded), and directions that still cross a kink are left out
(status ``nonsmooth`` when none is left). Dropout and other random layers draw the same numbers
in every evaluation (the RNG state is reset before each). The model's buffers (BatchNorm
running statistics), its gradients and the global RNG state are left as they were.
At most ``MAX_CALLS`` (3) calls per module are checked (a module reused across time steps).
"""

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from ..autograd.gradcheck import _perturbed_outputs

MAX_CALLS = 3
JITTER = 1e-2  # of the input's RMS, when the real input sits at a kink
KINK = 1e-2  # one-sided differences disagreeing by this much (relative) mark a kink


@dataclass
class ModuleCheck:
    """One checked call: ``name`` (module path; ``'loss_fn'`` for the loss), ``type``,
    ``call`` (1 for the module's first call in the forward), ``errors`` (``{tensor: max
    relative error}``, tensors named ``'input 0'``, ``'weight'``, ...), ``status`` (``'ok'``,
    ``'FAILED'``, ``'nonsmooth'`` or ``'not checked'``) and ``note``."""

    name: str
    type: str
    call: int
    errors: dict = field(default_factory=dict)
    status: str = "ok"
    note: str = ""

    @property
    def max_error(self):
        """The largest relative error over the checked tensors (None if none was checked)."""
        vals = [e for e in self.errors.values() if e is not None]
        return max(vals) if vals else None


@dataclass
class GradientCheckReport:
    """What :func:`check_gradients` returns: ``modules`` (:class:`ModuleCheck`, forward order),
    ``first_failure`` (the path of the first module whose backward is wrong, or None),
    ``failures``, ``ok``; ``str()`` is a table."""

    model: str
    modules: list
    rtol: float
    directions: int

    @property
    def failures(self):
        """The calls whose backward disagrees with finite differences."""
        return [m for m in self.modules if m.status == "FAILED"]

    @property
    def first_failure(self):
        """The module path of the first failing call in forward order, or None."""
        bad = self.failures
        return bad[0].name if bad else None

    @property
    def ok(self):
        return not self.failures

    def __str__(self):
        lines = [f"gradient check of {self.model}: each module alone in float64, backward vs central "
                 f"differences along {self.directions} random directions per tensor (rtol {self.rtol:g})"]
        cols = ["module", "type", "call", "max rel error", "status", "worst tensor / note"]
        rows = []
        for m in self.modules:
            worst = max(m.errors, key=lambda k: m.errors[k] if m.errors[k] is not None else -1) if m.errors else ""
            detail = f"{worst} {m.errors[worst]:.2g}" if worst and m.errors[worst] is not None else ""
            detail = "; ".join(s for s in (detail, m.note) if s)
            err = "-" if m.max_error is None else f"{m.max_error:.2g}"
            rows.append([m.name, m.type, str(m.call), err, m.status, detail])
        widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
        for cells in [cols] + rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        if self.first_failure is None:
            lines.append("all checked backwards agree with finite differences")
        else:
            bad = self.failures[0]
            lines.append(f"first failure: '{bad.name}' ({bad.type}): its backward disagrees with finite "
                         f"differences on its own input ({len(self.failures)} failing call(s) in all)")
        return "\n".join(lines)

    __repr__ = __str__


def _map_tensors(obj, fn):
    from ..tensor import Tensor

    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_tensors(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _flat(obj):
    from ..nn.module import _flat_tensors

    return _flat_tensors(obj)


def _to64(t):
    t = t.detach().cpu()
    return t.double().clone() if t.dtype.is_floating_point else t.clone()


def _rms(t):
    a = t._data
    return float(np.sqrt((a.astype(np.float64) ** 2).mean())) if a.size else 0.0


def check_gradients(model, inputs, loss_fn, *, directions=3, eps=1e-6, rtol=1e-4, seed=0):
    """Check every module's backward of ``model`` (and ``loss_fn``'s) against float64 finite
    differences of that module alone, on the input it receives in ``model(*inputs)``.

    ``inputs``: a tensor or a tuple of the model's positional arguments; ``loss_fn``: called as
    ``loss_fn(model(*inputs))`` (a module such as ``nn.MSELoss`` bound to targets through a
    lambda, or any function), checked as the last stage ``'loss_fn'``. ``directions``: random
    directions per tensor; ``eps``: the finite-difference step (relative to the tensor's RMS
    when above 1); ``rtol``: the largest relative error accepted; ``seed``: for the random
    cotangents, directions and jitter (the global RNG is not used)::

        report = inspect.check_gradients(model, x, lambda out: F.cross_entropy(out, y))
        print(report)               # one row per module call: max relative error, status
        report.first_failure        # e.g. 'block.2.attn' or None

    See the module docstring for the method."""
    from ..nn import Module

    if not isinstance(model, Module):
        raise TypeError(f"inspect.check_gradients() expects an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"check_gradients: loss_fn must be callable, got {type(loss_fn).__name__}")
    if int(directions) != directions or directions < 1:
        raise ValueError(f"check_gradients: directions must be a positive integer, got {directions!r}")
    if not eps > 0 or not rtol > 0:
        raise ValueError(f"check_gradients: eps and rtol must be positive, got eps={eps!r}, rtol={rtol!r}")
    from .. import random as _random

    args = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    rng_state = _random.get_rng_state()
    try:
        calls = _record_calls(model, tuple(args), loss_fn)
        rng = np.random.default_rng(seed)
        rows = [_check_call(c, rng, int(directions), eps, rtol) for c in calls]
    finally:
        _random.set_rng_state(rng_state)
    return GradientCheckReport(type(model).__name__, rows, rtol, int(directions))


def _record_calls(model, args, loss_fn):
    """[(name, module or function, call index, args, kwargs)] for each module call of one
    forward, in the order they finished, then the loss function's; the model's buffers are
    restored afterwards."""
    names = {id(m): name or type(m).__name__ for name, m in model.named_modules()}
    counts, calls, handles, pending = {}, [], [], {}
    clone = lambda t: t.detach().clone()  # noqa: E731

    def before(module, a, kw):  # the arguments as they come in (an in-place forward changes them)
        pending.setdefault(id(module), []).append((_map_tensors(a, clone), _map_tensors(kw, clone)))

    def after(module, a, kw, out):
        a, kw = pending[id(module)].pop()
        n = counts[id(module)] = counts.get(id(module), 0) + 1
        if n <= MAX_CALLS:
            calls.append((names[id(module)], module, n, a, kw))

    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        for m in model.modules():
            handles.append(m.register_forward_pre_hook(before, with_kwargs=True))
            handles.append(m.register_forward_hook(after, with_kwargs=True))
        out = model(*args)
    finally:
        for h in handles:
            h.remove()
    try:
        calls.append(("loss_fn", loss_fn, 1, (_map_tensors(out, clone),), {}))
        loss_fn(out)
    finally:
        from ..autograd.grad_mode import no_grad

        with no_grad():
            for b, saved in buffers:
                b.copy_(saved)
    return calls


def _check_call(call, rng, directions, eps, rtol):
    from ..nn import Module

    name, fn, n, args, kwargs = call
    row = ModuleCheck(name, type(fn).__name__ if isinstance(fn, Module) else getattr(fn, "__name__", "function"), n)
    result = _directional_errors(fn, args, kwargs, rng, directions, eps, jitter=None)
    if isinstance(result, str):
        row.status, row.note = ("FAILED" if result.startswith("backward") else "not checked"), result
        return row
    errors, kinks = result
    if kinks:
        retry = _directional_errors(fn, args, kwargs, rng, directions, eps, jitter=JITTER)
        if not isinstance(retry, str):
            errors, kinks = retry
            row.note = f"real input at a kink: checked with {JITTER:g} x RMS jitter"
    row.errors = {k: (max(v) if v else None) for k, v in errors.items()}
    if any(e is not None and not e <= rtol for e in row.errors.values()):
        row.status = "FAILED"
    elif any(e is None for e in row.errors.values()):
        row.status = "nonsmooth"
        skipped = [k for k, e in row.errors.items() if e is None]
        row.note = "; ".join(s for s in (row.note, f"every direction crosses a kink for {', '.join(skipped)}") if s)
    if not row.errors:
        row.status, row.note = "not checked", "no floating input or parameter"
    return row


def _directional_errors(fn, args, kwargs, rng, directions, eps, jitter):
    """({tensor label: [relative error per smooth direction]}, number of kinked directions),
    or a string saying why the call could not be checked ('backward ...' when it raised)."""
    from .. import random as _random
    from ..autograd.engine import grad as autograd_grad
    from ..autograd.grad_mode import enable_grad, no_grad
    from ..nn import Module
    from ..tensor import Tensor

    module = copy.deepcopy(fn).cpu().double() if isinstance(fn, Module) else fn
    args64 = _map_tensors(args, _to64)
    kwargs64 = _map_tensors(kwargs, _to64)
    labels, leaves = [], []
    for i, t in enumerate(t for t in _flat((args64, kwargs64)) if t.dtype.is_floating_point):
        if jitter is not None and t.numel():
            scale = jitter * max(_rms(t), 1e-12)
            t._data += scale * rng.standard_normal(t.shape)
        labels.append(f"input {i}")
        leaves.append(t.requires_grad_(True))
    if isinstance(module, Module):
        for pname, p in module.named_parameters(recurse=False):
            if p.requires_grad:
                labels.append(pname)
                leaves.append(p)
    if not leaves:
        return {}, 0
    state = _random.get_rng_state()

    def run(*_):  # on copies of the inputs, so that an in-place forward leaves them alone
        _random.set_rng_state(state)
        a, kw = _map_tensors((args64, kwargs64), lambda t: t.clone() if t.requires_grad else t)
        return tuple(t for t in _flat(module(*a, **kw)) if isinstance(t, Tensor) and t.dtype.is_floating_point)

    try:
        with enable_grad():
            outs = run()
    except Exception as exc:  # noqa: BLE001 - a forward that cannot run in float64 is reported
        return f"forward in float64 raised {type(exc).__name__}: {exc}"
    finally:
        _random.set_rng_state(state)
    pairs = [(o, rng.standard_normal(o.shape)) for o in outs if o.requires_grad]
    if not pairs:
        return "no differentiable output"
    try:
        grads = autograd_grad([o for o, _ in pairs], leaves, [Tensor._make(u) for _, u in pairs],
                              allow_unused=True)
    except Exception as exc:  # noqa: BLE001 - a backward that raises is a failed check
        return f"backward raised {type(exc).__name__}: {exc}"
    us = [u.ravel() for _, u in pairs]
    diff_idx = [i for i, o in enumerate(outs) if o.requires_grad]

    def project(flat_outs):
        return sum(float(flat_outs[i] @ u) for i, u in zip(diff_idx, us))

    with no_grad():
        base_outs = [o._data.astype(np.float64).ravel() for o in outs]
        f0 = project(base_outs)
        scale_f = sum(float(np.abs(base_outs[i]) @ np.abs(u)) for i, u in zip(diff_idx, us))
        errors, kinks = {}, 0
        for j, (label, leaf, g) in enumerate(zip(labels, leaves, grads)):
            errors[label] = []
            if not leaf.numel():
                continue
            gd = np.zeros(leaf.shape) if g is None else g._data.astype(np.float64)
            h = eps * max(1.0, _rms(leaf))
            for _ in range(directions):
                v = rng.standard_normal(leaf.shape)
                plus, minus = _perturbed_outputs(run, leaves, j, v, h)
                fp, fm = project(plus), project(minus)
                numeric = (fp - fm) / (2 * h)
                analytic = float((gd * v).sum())
                noise = 1e3 * np.finfo(np.float64).eps * scale_f / h
                floor = 1e-3 * float(np.linalg.norm(gd)) * float(np.linalg.norm(v)) + noise
                if abs(fp + fm - 2 * f0) / h > KINK * (abs(numeric) + abs(analytic)) + noise:
                    kinks += 1
                    continue
                if not (math.isfinite(analytic) and math.isfinite(numeric)):
                    errors[label].append(0.0 if analytic == numeric else math.inf)
                    continue
                denom = max(abs(analytic), abs(numeric), floor)
                errors[label].append(abs(analytic - numeric) / denom if denom else 0.0)
    return errors, kinks
