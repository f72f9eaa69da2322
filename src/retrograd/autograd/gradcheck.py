"""gradcheck / gradgradcheck: compare backward with central finite differences in float64."""

import numpy as np

from .engine import grad as autograd_grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func, inputs):
    Tensor = _tensor_cls()
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor))


def _numerical_jacobians(func, inputs, wrt, eps):
    """J[i][j, k] = d output_k / d input_i[j], by (f(x + eps) - f(x - eps)) / 2eps."""
    jacobians = []
    for i in wrt:
        x = inputs[i]._data
        cols = []
        for j in range(x.size):
            idx = np.unravel_index(j, x.shape)
            orig = x[idx].copy()
            # the data is perturbed directly (no version bump); grad mode stays as it is,
            # since func may itself differentiate (gradgradcheck)
            x[idx] = orig + eps
            plus = [o._data.astype(np.float64).ravel().copy() for o in _outputs(func, inputs)]
            x[idx] = orig - eps
            minus = [o._data.astype(np.float64).ravel().copy() for o in _outputs(func, inputs)]
            x[idx] = orig
            cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
                        if plus else np.zeros(0))
        n_out = sum(o.numel() for o in _outputs(func, inputs))
        jacobians.append(np.stack(cols) if cols else np.zeros((0, n_out)))
    return jacobians


def _analytical_jacobians(func, inputs, wrt):
    Tensor = _tensor_cls()
    outputs = _outputs(func, inputs)
    diff_inputs = [inputs[i] for i in wrt]
    sizes = [o.numel() for o in outputs]
    total = sum(sizes)
    jac = [np.zeros((inputs[i].numel(), total)) for i in wrt]
    col = 0
    for out in outputs:
        for k in range(out.numel()):
            if not out.requires_grad:
                col += 1
                continue
            onehot = np.zeros(out.numel(), dtype=out._data.dtype)
            onehot[k] = 1
            grads = autograd_grad(out, diff_inputs, Tensor._make(onehot.reshape(out.shape)),
                                  retain_graph=True, allow_unused=True)
            for r, g in enumerate(grads):
                if g is not None:
                    jac[r][:, col] = g._data.astype(np.float64).ravel()
            col += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """True if the gradients of ``func`` at ``inputs`` match finite differences: for
    every input x_i that requires grad and every output y,
    |dy/dx_analytical - dy/dx_numerical| <= atol + rtol * |dy/dx_numerical|."""
    Tensor = _tensor_cls()
    inputs = _as_tuple(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for i in wrt:
        if inputs[i].dtype.name != "float64":
            import warnings

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.", stacklevel=2)
    numerical = _numerical_jacobians(func, inputs, wrt, eps)
    analytical = _analytical_jacobians(func, inputs, wrt)
    for r, (n, a) in enumerate(zip(numerical, analytical)):
        if n.shape != a.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for output 0 with respect to input {wrt[r]},\n"
                f"numerical:{n}\nanalytical:{a}\n"
            )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of the gradient: checks that backward is itself correctly differentiable
    (what ``create_graph=True`` relies on)."""
    Tensor = _tensor_cls()
    inputs = _as_tuple(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._make(rng.standard_normal(o.shape).astype(o._data.dtype)).requires_grad_()
            for o in outputs if o.requires_grad)
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
                     raise_exception=raise_exception)
