"""gradcheck / gradgradcheck: compare backward with central finite differences in float64.

As torch's, for each differentiable output y and each input x that requires grad:
- the Jacobian dy/dx from backward matches finite differences within atol + rtol * |numerical|
  (``fast_mode``: the scalar v^T J u for random unit vectors u, v, torch's random projection);
- backward run twice gives the same Jacobian within ``nondet_tol``;
- gradients have x's shape (and dtype, with ``check_grad_dtypes``);
- backward multiplies by the output gradient: zero output gradients give zero input gradients
  (``masked``: up to allclose rather than exactly, as torch's check for masked inputs);
- ``check_undefined_grad``: backward accepts undefined (None) output gradients, treated as zeros;
- ``check_batched_grad``: vmap over output gradients (retrograd.func.vmap of a vjp) equals the
  vjps one at a time.
With ``check_forward_ad`` the same Jacobian is built by forward-mode AD (autograd.forward_ad), a
column per input element (``fast_mode``: J u for the random unit vector u) and compared with
the numerical one; an input without a tangent counts as a zero tangent
(``check_undefined_grad``); ``check_batched_forward_grad``: vmap over tangents equals the jvps
one at a time. ``check_backward_ad=False`` leaves the reverse-mode checks out. gradgradcheck's
``check_fwd_over_rev`` runs the forward-mode checks on the gradient (forward over reverse).
"""

import warnings

import numpy as np

from .engine import grad as autograd_grad
from .function import Function


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


FAILED_NONDET = (
    "Backward is not reentrant, i.e., running backward with same input and grad_output multiple "
    "times gives different values, although analytical gradient matches numerical gradient."
    "The tolerance for nondeterminism was {tol}. If the op is legitimately nondeterministic, "
    "pass gradcheck(..., nondet_tol=<tol>)."
)
UNDEFINED_GRAD_HINT = (
    "Backwards compatibility: New undefined gradient support checking feature is enabled by "
    "default, but it may break existing callers of this function. If this is true for you, you "
    'can call this function with "check_undefined_grad=False" to disable the feature'
)


def _host(arr):
    """A float64 host copy of a tensor's array: the Jacobians are built and compared on the host
    (an explicit copy from a device)."""
    from .._backend import to_device

    return to_device(arr, "cpu").astype(np.float64)


def _like(arr, t):
    """The host array ``arr`` in t's dtype on t's device: a direction, output gradient or tangent
    fed to t's graph."""
    from .._backend import to_device

    return to_device(np.asarray(arr).astype(t._data.dtype), t.device)


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func, inputs):
    Tensor = _tensor_cls()
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor))


def _flat_outputs(func, inputs):
    return [_host(o._data).ravel() for o in _outputs(func, inputs)]


def _directional(func, inputs, i, direction, eps):
    """(f(x_i + eps * direction) - f(x_i - eps * direction)) / 2eps, per output (flattened)."""
    plus, minus = _perturbed_outputs(func, inputs, i, direction, eps)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _perturbed_outputs(func, inputs, i, direction, eps):
    """(f(x_i + eps * direction), f(x_i - eps * direction)), each a list of flattened outputs.

    The data is perturbed directly (no version bump); grad mode stays as it is, since func
    may itself differentiate (gradgradcheck)."""
    x = inputs[i]._data
    orig = x.copy()
    step = _like(direction.reshape(x.shape), inputs[i])
    try:
        x += eps * step
        plus = _flat_outputs(func, inputs)
        x[...] = orig - eps * step
        minus = _flat_outputs(func, inputs)
    finally:
        x[...] = orig
    return plus, minus


def _numerical_jacobians(func, inputs, wrt, eps):
    """J[i][k] (n_in_i x n_out_k) = d output_k / d input_i, by central differences, for all outputs."""
    jacobians = []
    for i in wrt:
        n = inputs[i].numel()
        cols = [_directional(func, inputs, i, np.eye(1, n, j).ravel(), eps) for j in range(n)]
        n_outs = [o.numel() for o in _outputs(func, inputs)]
        jacobians.append([np.stack([c[k] for c in cols]) if cols else np.zeros((0, n_outs[k]))
                          for k in range(len(n_outs))])
    return jacobians


def _vjps(output, diff_inputs, grad_output, check_grad_dtypes):
    """Input gradients for output gradient ``grad_output`` (zeros where unused), checked."""
    Tensor = _tensor_cls()
    grads = autograd_grad(output, diff_inputs, Tensor._make(_like(grad_output, output)), retain_graph=True,
                          allow_unused=True)
    rows = []
    for x, g in zip(diff_inputs, grads):
        if g is None:
            rows.append(np.zeros(x.numel()))
            continue
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError("Analytical gradient has incorrect size")
        if check_grad_dtypes and g.dtype != x.dtype:
            raise GradcheckError("Gradient has dtype mismatch")
        rows.append(_host(g._data).ravel())
    return rows


def _analytical(output, diff_inputs, grad_outputs, nondet_tol, check_grad_dtypes):
    """[input][row] = vjp with each of ``grad_outputs``, computed twice to check reentrancy."""
    runs = []
    for _ in range(2):
        per_row = [_vjps(output, diff_inputs, go, check_grad_dtypes) for go in grad_outputs]
        runs.append([np.stack([row[r] for row in per_row]) if per_row else np.zeros((0, x.numel()))
                     for r, x in enumerate(diff_inputs)])
    for a, b in zip(*runs):
        if a.size and np.abs(a - b).max() > nondet_tol:
            raise GradcheckError(FAILED_NONDET.format(tol=nondet_tol))
    return runs[0]


def _fmt(values):
    """Values as torch prints them in its messages: a float64 tensor."""
    return repr(_tensor_cls()._make(np.asarray(values, dtype=np.float64)))


def _mismatch(k, r, numerical, analytical, extra="", mode=""):
    return GradcheckError(f"Jacobian {mode}mismatch for output {k:d} with respect to input {r:d},\n"
                          f"numerical:{_fmt(numerical)}\nanalytical:{_fmt(analytical)}\n{extra}")


FAST_MODE_NOTE = ("(fast_mode compares {what} for random unit vectors u{and_v}; gradcheck(..., "
                  "fast_mode=False) shows the whole Jacobians)\n")


def _slow_check(func, inputs, wrt, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes, numerical):
    diff_inputs = [inputs[i] for i in wrt]
    for k, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        onehots = [np.eye(1, out.numel(), j, dtype=out._data.dtype).reshape(out.shape)
                   for j in range(out.numel())]
        # analytical[r]: one row per output element; transposed to numerical's (n_in x n_out)
        analytical = _analytical(out, diff_inputs, onehots, nondet_tol, check_grad_dtypes)
        for r, a in enumerate(analytical):
            n, a = numerical[r][k], a.T
            if n.shape != a.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
                raise _mismatch(sum(o.requires_grad for o in outputs[:k]), r, n, a)


def _unit_vector(rng, n):
    v = rng.random(n)
    norm = np.linalg.norm(v)
    return v / norm if norm else v


def _fast_check(func, inputs, wrt, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes, numerical):
    """torch's fast mode: compare v^T J u from finite differences along u and from the vjp with v
    (``numerical``: the finite differences along each u, from _fast_directions)."""
    us, numerical = numerical
    rng = np.random.default_rng(1)
    diff = [k for k, o in enumerate(outputs) if o.requires_grad]
    vs = {k: _unit_vector(rng, outputs[k].numel()) for k in diff}
    diff_inputs = [inputs[i] for i in wrt]
    for d, k in enumerate(diff):
        v = vs[k].astype(outputs[k]._data.dtype).reshape(outputs[k].shape)
        vjps = _analytical(outputs[k], diff_inputs, [v], nondet_tol, check_grad_dtypes)
        for r, u in enumerate(us):
            a = float(vjps[r][0] @ u)
            n = float(vs[k] @ numerical[r][k])
            adjusted_atol = atol * us[r].sum() * vs[k].sum()
            if not np.isclose(a, n, rtol=rtol, atol=adjusted_atol):
                raise _mismatch(d, r, n, a, FAST_MODE_NOTE.format(what="v^T J u", and_v=" and v"))


def _fast_directions(func, inputs, wrt, eps):
    """fast_mode's random unit vector u of each input, and the finite differences along it."""
    rng = np.random.default_rng(0)
    us = [_unit_vector(rng, inputs[i].numel()) for i in wrt]
    return us, [_directional(func, inputs, i, u, eps) for i, u in zip(wrt, us)]


# ------------------------------------------------------------------ forward mode


def _tangents(func, inputs, tangents, positions):
    """The tangents (flattened float64, zeros where none) of the outputs at ``positions`` when
    input i carries ``tangents[i]`` (an array; inputs not in the dict carry none)."""
    from . import forward_ad as fw

    Tensor = _tensor_cls()
    with fw.dual_level():
        args = list(inputs)
        for i, t in tangents.items():
            args[i] = fw.make_dual(inputs[i], Tensor._make(_like(np.reshape(t, inputs[i].shape), inputs[i])))
        outs = _outputs(func, args)
        result = []
        for k in positions:
            t = fw.unpack_dual(outs[k]).tangent
            result.append(np.zeros(outs[k].numel()) if t is None else _host(t._data).ravel())
    return result


def _forward_check(func, inputs, wrt, outputs, atol, rtol, fast_mode, numerical):
    """The Jacobian by forward-mode AD, one dual pass per input element (fast_mode: one along
    u), against the numerical one. Every differentiable input carries a tangent (zeros but for
    the input of the column), as torch's."""
    diff = [k for k, o in enumerate(outputs) if o.requires_grad]

    def along(i, t):
        return _tangents(func, inputs, {j: t if j == i else np.zeros(inputs[j].numel()) for j in wrt}, diff)

    if fast_mode:
        us, along_u = numerical
        for r, (i, u) in enumerate(zip(wrt, us)):
            for d, (a, k) in enumerate(zip(along(i, u), diff)):
                n = along_u[r][k]
                if not np.allclose(a, n, rtol=rtol, atol=atol):
                    raise _mismatch(d, r, n, a, FAST_MODE_NOTE.format(what="J u", and_v=""),
                                    mode="computed with forward mode ")
        return
    for r, i in enumerate(wrt):
        n_in = inputs[i].numel()
        columns = [along(i, np.eye(1, n_in, j).ravel()) for j in range(n_in)]
        for d, k in enumerate(diff):
            a = np.stack([c[d] for c in columns]) if columns else np.zeros((0, outputs[k].numel()))
            n = numerical[r][k]
            if n.shape != a.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
                raise _mismatch(d, r, n, a, mode="computed with forward mode ")


def _check_undefined_tangents(func, inputs, wrt, outputs, atol, rtol):
    """An input without a tangent counts as one with a zero tangent: for each differentiable
    input, the outputs' tangents with its tangent left out equal those with zeros (the other
    inputs carrying random tangents)."""
    rng = np.random.default_rng(2)
    diff = [k for k, o in enumerate(outputs) if o.requires_grad]
    tangents = {i: rng.standard_normal(inputs[i].numel()) for i in wrt}
    for r, i in enumerate(wrt):
        others = {j: t for j, t in tangents.items() if j != i}
        expected = _tangents(func, inputs, {**others, i: np.zeros(inputs[i].numel())}, diff)
        got = _tangents(func, inputs, others, diff)
        for d, (g, e) in enumerate(zip(got, expected)):
            if not np.allclose(g, e, rtol=rtol, atol=atol):
                raise GradcheckError(
                    f"Mismatch in tangent values for output with index: {d} when input: {r} has an undefined "
                    f"tangent value. Got: {_fmt(g)} but expected: {_fmt(e)} (the tangents with a zero tangent "
                    "for that input)")


# ------------------------------------------------------------------ batched (vmap) checks

BATCHED_HINT = ("\n\ngradcheck ran the {what} of a batch of {vectors} through retrograd.func.vmap "
                "(one batching rule per op) and one at a time; {fix}, or pass "
                "gradcheck(..., {flag}=False) to leave this check out.")


def _batched_failure(error, what, vectors, flag):
    fix = ("the ops of the function (and of its backward) must run under vmap: a custom Function needs "
           "a vmap staticmethod or generate_vmap_rule=True")
    return GradcheckError(f"While computing batched gradients, got: {error}"
                          + BATCHED_HINT.format(what=what, vectors=vectors, fix=fix, flag=flag))


def _batched_mismatch(d, r, batched, looped, what):
    return GradcheckError(f"For output {d} and input {r}:\n\nThe {what} computed by vmap over a batch "
                          f"differ from those computed one at a time.\n\nGot:\n{_fmt(batched)}\n\n"
                          f"Expected:\n{_fmt(looped)}")


_BATCH = 2  # vectors per batched check


def _restricted(func, inputs, positions, diff):
    """func of the inputs at ``positions`` only (the others fixed), giving the outputs at ``diff``."""
    def f(*xs):
        args = list(inputs)
        for i, x in zip(positions, xs):
            args[i] = x
        outs = _outputs(func, args)
        return tuple(outs[k] for k in diff)
    return f


def _compare_batched(batched, looped, d_of, r_of, atol, rtol, what):
    """batched[e] (B, ...) against looped[b][e], for each entry e of the results."""
    for e, got in enumerate(batched):
        want = np.stack([_host(looped[b][e]._data) for b in range(_BATCH)])
        got = _host(got._data)
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
            raise _batched_mismatch(d_of(e), r_of(e), got, want, what)


def _check_batched_grad(func, inputs, wrt, outputs, atol, rtol):
    """For each differentiable output, vmap of the vjp over a batch of random output
    gradients equals the vjps one at a time."""
    from ..func import vjp, vmap

    Tensor = _tensor_cls()
    rng = np.random.default_rng(3)
    diff = [k for k, o in enumerate(outputs) if o.requires_grad]
    _, vjp_fn = vjp(_restricted(func, inputs, wrt, diff), *[inputs[i] for i in wrt])
    for d, k in enumerate(diff):
        out = outputs[k]
        batch = Tensor._make(_like(rng.standard_normal((_BATCH,) + tuple(out.shape)), out))

        def row(v, d=d):
            return tuple(vjp_fn(tuple(v if e == d else outputs[j].detach().new_zeros(outputs[j].shape)
                                      for e, j in enumerate(diff))))
        try:
            batched = vmap(row)(batch)
        except Exception as e:  # noqa: BLE001 - any failure under vmap is the check's finding
            raise _batched_failure(e, "vjps", "output gradients", "check_batched_grad") from e
        looped = [row(batch[b]) for b in range(_BATCH)]
        _compare_batched(batched, looped, lambda e, d=d: d, lambda e: e, atol, rtol, "gradients")


def _check_batched_forward_grad(func, inputs, wrt, outputs, atol, rtol):
    """For each differentiable input, vmap of the jvp over a batch of random tangents equals
    the jvps one at a time."""
    from ..func import jvp, vmap

    Tensor = _tensor_cls()
    rng = np.random.default_rng(4)
    diff = [k for k, o in enumerate(outputs) if o.requires_grad]
    for r, i in enumerate(wrt):
        x = inputs[i]
        f = _restricted(func, inputs, [i], diff)
        batch = Tensor._make(_like(rng.standard_normal((_BATCH,) + tuple(x.shape)), x))

        def push(t, f=f, x=x):
            return tuple(jvp(f, (x,), (t,))[1])
        try:
            batched = vmap(push)(batch)
        except Exception as e:  # noqa: BLE001 - any failure under vmap is the check's finding
            raise _batched_failure(e, "jvps", "tangents", "check_batched_forward_grad") from e
        looped = [push(batch[b]) for b in range(_BATCH)]
        _compare_batched(batched, looped, lambda e: e, lambda e, r=r: r, atol, rtol, "forward-mode gradients")


def _check_no_differentiable_outputs(func, inputs, wrt, eps):
    for per_output in _numerical_jacobians(func, inputs, wrt, eps):
        for jacobian in per_output:
            if np.any(jacobian != 0):
                raise GradcheckError("Numerical gradient for function expected to be zero")


def _check_backward_multiplies_by_grad_output(outputs, diff_inputs, masked):
    diff_outputs = [o for o in outputs if o.requires_grad]
    zeros = [o.detach().new_zeros(o.shape) for o in diff_outputs]
    grads = autograd_grad(diff_outputs, diff_inputs, zeros, retain_graph=True, allow_unused=True)
    for g, x in zip(grads, diff_inputs):
        if g is None:
            continue
        zero = np.allclose(g._data, 0) if masked else not np.any(g._data != 0)
        if not zero:
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != x.dtype:
            raise GradcheckError("grad is incorrect type")
        if g.device != x.device:
            raise GradcheckError("grad is incorrect device")
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError("grad is incorrect size")


class _UndefinedGrad(Function):
    """Identity whose backward passes on an undefined gradient: what torch's engine hands the
    node that made x, zeros if that node materializes grads (the default) and None if not
    (retrograd's engine then runs it only if another output of it has a gradient)."""

    @staticmethod
    def forward(ctx, x):
        ctx.materialize = getattr(x.grad_fn, "_materialize_grads", True)
        return x._data.copy()

    @staticmethod
    def jvp(ctx, t):
        """An identity in forward mode."""
        return t.clone()

    @staticmethod
    def backward(ctx, g):
        return g * 0 if ctx.materialize else None


def _check_undefined_grad(func, inputs, diff_inputs):
    """Backward must accept undefined output gradients (all of them, then one at a time)."""

    def diff_outputs():
        return [o for o in _outputs(func, inputs) if o.requires_grad]

    n = len(diff_outputs())
    cases = [[True] * n] + ([[i == j for j in range(n)] for i in range(n)] if n > 1 else [])
    for undefined in cases:
        outs = [_UndefinedGrad.apply(o) if u else o for o, u in zip(diff_outputs(), undefined)]
        zeros = [o.detach().new_zeros(o.shape) for o in outs]
        try:
            grads = autograd_grad(outs, diff_inputs, zeros, allow_unused=True)
        except (RuntimeError, TypeError, AttributeError) as e:
            warnings.warn(UNDEFINED_GRAD_HINT, stacklevel=4)
            raise GradcheckError(
                "Expected backward function to handle undefined output grads (an output gradient "
                "of None means zeros; the backward raised " + type(e).__name__ + f": {e})") from e
        if any(g is not None and np.any(g._data != 0) for g in grads):
            warnings.warn(UNDEFINED_GRAD_HINT, stacklevel=4)
            raise GradcheckError("Expected all input grads to be undefined or zero when all output "
                                 "grads are undefined or zero.")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """True if the gradients of ``func`` at ``inputs`` match finite differences (see the module
    docstring for every check); False, or GradcheckError with ``raise_exception``, if not."""
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    try:
        _gradcheck(func, _as_tuple(inputs), eps, atol, rtol, nondet_tol, check_undefined_grad,
                   check_grad_dtypes, fast_mode, masked, check_backward_ad, check_forward_ad,
                   check_batched_grad, check_batched_forward_grad)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
               fast_mode, masked, check_backward_ad, check_forward_ad, check_batched_grad,
               check_batched_forward_grad):
    Tensor = _tensor_cls()
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for i in wrt:
        if inputs[i].dtype.name != "float64":
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.", stacklevel=3)
    outputs = _outputs(func, inputs)
    if not any(o.requires_grad for o in outputs):
        _check_no_differentiable_outputs(func, inputs, wrt, eps)
        return
    numerical = _fast_directions(func, inputs, wrt, eps) if fast_mode else _numerical_jacobians(func, inputs, wrt, eps)
    if check_backward_ad:
        check = _fast_check if fast_mode else _slow_check
        check(func, inputs, wrt, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes, numerical)
        diff_inputs = [inputs[i] for i in wrt]
        _check_backward_multiplies_by_grad_output(outputs, diff_inputs, masked)
        if check_undefined_grad:
            _check_undefined_grad(func, inputs, diff_inputs)
        if check_batched_grad:
            _check_batched_grad(func, inputs, wrt, outputs, atol, rtol)
    if check_forward_ad:
        _forward_check(func, inputs, wrt, outputs, atol, rtol, fast_mode, numerical)
        if check_undefined_grad:
            _check_undefined_tangents(func, inputs, wrt, outputs, atol, rtol)
        if check_batched_forward_grad:
            _check_batched_forward_grad(func, inputs, wrt, outputs, atol, rtol)


def _non_contiguous(arr):
    """A copy of ``arr`` whose memory is strided (every other element of a larger buffer)."""
    from .._backend import array_module

    buf = array_module(arr).empty(arr.shape + (2,), dtype=arr.dtype)
    view = buf[..., 0]
    view[...] = arr
    return view


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of the gradient: checks that backward is itself correctly differentiable
    (what ``create_graph=True`` relies on). The random output gradients are seeded;
    ``gen_non_contig_grad_outputs`` makes them non-contiguous."""
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to be True")
    Tensor = _tensor_cls()
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        arrays = [_like(rng.standard_normal(o.shape), o) for o in _outputs(func, inputs) if o.requires_grad]
        if gen_non_contig_grad_outputs:
            arrays = [_non_contiguous(a) for a in arrays]
        grad_outputs = tuple(Tensor._make(a).requires_grad_() for a in arrays)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivative(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = [o for o in _outputs(func, ins) if o.requires_grad]
        grads = autograd_grad(outs, [ins[i] for i in wrt], gos, create_graph=True,
                              allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
                     check_batched_grad=check_batched_grad, fast_mode=fast_mode,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev,
                     masked=masked)
