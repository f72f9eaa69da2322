"""Optimizers with differentiable=True: the update is recorded by autograd (optim/_update_ops.py),
so gradients flow through steps into the parameters before them, the gradients, the state and a
Tensor lr. Values and gradients equal torch 2.13's (float64), errors are torch's."""

import numpy as np
import pytest

import retrograd
from helpers import reference, torch

# (torch's warning for reading a non-leaf parameter's .grad, which a differentiable step does as torch's does)
pytestmark = pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")

N = 5

# (optimizer, kwargs, steps, Tensor lr, state given as tensors that require grad)
CASES = [
    ("SGD", dict(lr=0.1), 3, False, None),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1), 3, False, None),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True), 3, False, None),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, foreach=True), 2, False, None),
    ("SGD", dict(lr=0.1), 2, True, None),
    ("SGD", dict(lr=0.1, momentum=0.9), 2, False, {"momentum_buffer": np.arange(N) / 4}),
    ("Adam", dict(lr=0.1), 3, False, None),
    ("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.1), 1, False, None),
    ("Adam", dict(lr=0.1, maximize=True, weight_decay=0.1), 3, False, None),
    ("Adam", dict(lr=0.1, weight_decay=0.1), 2, True, None),
    ("AdamW", dict(lr=0.1), 3, False, None),
    ("AdamW", dict(lr=0.1, weight_decay=0.1), 2, True, None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.2, maximize=True), 3, False,
     None),
    ("Adagrad", dict(lr=0.1), 2, False, {"sum": np.arange(N) / 10}),
    ("Adamax", dict(lr=0.1, weight_decay=0.1), 1, False, None),
    ("ASGD", dict(lr=0.1, t0=1, weight_decay=0.1), 3, False, None),
    ("ASGD", dict(lr=0.1, t0=1), 3, True, None),
    ("NAdam", dict(lr=0.1, weight_decay=0.1), 3, False, None),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True), 3, False, None),
    ("NAdam", dict(lr=0.1), 1, True, None),
    ("RAdam", dict(lr=0.1, weight_decay=0.1), 3, False, None),
    ("RAdam", dict(lr=0.1, betas=(0.9, 0.5), weight_decay=0.1, decoupled_weight_decay=True, maximize=True), 3, True,
     None),
    ("RMSprop", dict(lr=0.1), 3, False, None),
    ("RMSprop", dict(lr=0.1, centered=True, momentum=0.5, weight_decay=0.1), 1, False, None),
    ("RMSprop", dict(lr=0.1, momentum=0.5, maximize=True), 3, False, None),
    ("Rprop", dict(lr=0.1, maximize=True, etas=(0.3, 1.5), step_sizes=(0.01, 0.12)), 1, False,
     {"prev": np.array([1.0, -1, 0, 1, 1]), "step_size": np.full(N, 0.05)}),
    ("Adadelta", dict(lr=0.5, weight_decay=0.1, maximize=True), 3, False, None),
    ("Adadelta", dict(lr=1.0), 3, False, {"square_avg": np.arange(N) / 10, "acc_delta": np.arange(N) / 20}),
]


def _run(lib, name, kwargs, steps, lr_tensor, preset):
    """``steps`` differentiable steps of p = w.clone() with gradients g_i that require grad; the
    values after them and the gradients of sum(c*p) + 0.3*sum(state) with respect to w, each g_i,
    the given state tensors and the lr."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(N)
    w = lib.tensor(w0, requires_grad=True)
    p = w.clone()
    kwargs = dict(kwargs)
    lr = lib.tensor(kwargs.pop("lr"), dtype=lib.float64, requires_grad=True) if lr_tensor else kwargs.pop("lr")
    opt = getattr(lib.optim, name)([p], lr=lr, differentiable=True, **kwargs)
    leaves = []
    for key, value in (preset or {}).items():
        leaves.append(lib.tensor(value, requires_grad=True))
        opt.state[p][key] = leaves[-1].clone()
    if preset and name in ("Rprop", "Adadelta"):  # (their state also counts the steps)
        opt.state[p]["step"] = lib.tensor(1.0)
    grads = []
    for _ in range(steps):
        grads.append(lib.tensor(rng.standard_normal(N), requires_grad=True))
        p.grad = grads[-1]
        opt.step()
    state = {k: v for k, v in opt.state[p].items() if isinstance(v, lib.Tensor) and v.dtype == lib.float64}
    loss = (p * lib.tensor(np.linspace(-1, 1, N))).sum()
    for k in sorted(state):
        if state[k].requires_grad:
            loss = loss + (state[k] * 0.3).sum()
    inputs = [w, *grads, *leaves] + ([lr] if lr_tensor else [])
    out = {"p": p.detach().numpy().copy()}
    out.update({"state." + k: v.detach().numpy().copy() for k, v in state.items()})
    for i, g in enumerate(lib.autograd.grad(loss, inputs, allow_unused=True)):
        out[f"grad{i}"] = None if g is None else g.numpy().copy()
    return out


@pytest.mark.parametrize("name,kwargs,steps,lr_tensor,preset", CASES)
def test_values_and_gradients_through_steps_equal_torch(name, kwargs, steps, lr_tensor, preset):
    ours = _run(retrograd, name, kwargs, steps, lr_tensor, preset)
    theirs = reference(lambda: _run(torch, name, kwargs, steps, lr_tensor, preset),
                       (name, repr(kwargs), steps, lr_tensor, repr(preset)))
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        if value is None:
            assert ours[key] is None, key
        else:
            np.testing.assert_allclose(ours[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


def test_the_first_momentum_buffer_is_detached_as_torch():
    """torch starts SGD's buffer from a detached copy of the gradient: the first gradient gets
    none through it (and so no gradient at all without nesterov)."""
    out = _run(retrograd, "SGD", dict(lr=0.1, momentum=0.9), 2, False, None)
    assert out["grad1"] is None and out["grad2"] is not None


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.1)), ("Adam", dict(amsgrad=True, weight_decay=0.1)),
    ("AdamW", {}), ("Adagrad", dict(lr_decay=0.1)), ("Adamax", {}), ("ASGD", dict(t0=0)), ("NAdam", {}),
    ("RAdam", dict(betas=(0.9, 0.5))), ("RMSprop", dict(centered=True, momentum=0.5)), ("Rprop", {}),
    ("Adadelta", {})])
def test_gradcheck_through_two_steps(name, kwargs):
    rng = np.random.default_rng(1)
    w, g1, g2 = (retrograd.tensor(rng.standard_normal(4), requires_grad=True) for _ in range(3))

    def two_steps(w, g1, g2):
        p = w.clone()
        opt = getattr(retrograd.optim, name)([p], lr=0.1, differentiable=True, **kwargs)
        if name == "SGD":  # (a buffer already there: torch's first one is detached, gradcheck would see that)
            opt.state[p]["momentum_buffer"] = retrograd.ones(4, dtype=retrograd.float64)
        for g in (g1, g2):
            p.grad = g * 1.0
            opt.step()
        return p

    assert retrograd.autograd.gradcheck(two_steps, (w, g1, g2))


def test_learning_the_learning_rate_by_hypergradient_descent_equals_torch():
    """Meta-learning: the validation loss after three inner SGD steps is differentiated with
    respect to lr, and lr descends that hyper-gradient."""
    def run(lib):
        rng = np.random.default_rng(2)
        x, xv = rng.standard_normal((16, 4)), rng.standard_normal((16, 4))
        true = rng.standard_normal((1, 4))
        y, yv = x @ true.T, xv @ true.T
        F = lib.nn.functional
        w = lib.tensor(rng.standard_normal((1, 4)), requires_grad=True)
        lr = lib.tensor(0.02, dtype=lib.float64, requires_grad=True)
        lrs, losses = [], []
        for _ in range(6):
            p = w.clone()
            opt = lib.optim.SGD([p], lr=lr, differentiable=True)
            for _ in range(3):
                loss = F.mse_loss(F.linear(lib.tensor(x), p), lib.tensor(y))
                p.grad, = lib.autograd.grad(loss, p, create_graph=True)
                opt.step()
            val = F.mse_loss(F.linear(lib.tensor(xv), p), lib.tensor(yv))
            hyper, = lib.autograd.grad(val, lr)
            with lib.no_grad():
                lr -= 1e-3 * hyper
            lrs.append(lr.item())
            losses.append(val.item())
        return lrs, losses

    lrs, losses = run(retrograd)
    theirs = reference(lambda: run(torch))
    np.testing.assert_allclose(lrs, theirs[0], rtol=1e-12)
    np.testing.assert_allclose(losses, theirs[1], rtol=1e-12)
    assert lrs[-1] > lrs[0] and losses[-1] < losses[0]  # lr grew where a larger one helps


def test_a_differentiable_step_is_recorded_under_no_grad_and_a_plain_one_is_not():
    w = retrograd.randn(3, dtype=retrograd.float64, requires_grad=True)
    for differentiable in (True, False):
        p = w.clone() if differentiable else w.detach().clone().requires_grad_()
        opt = retrograd.optim.SGD([p], lr=0.1, differentiable=differentiable)
        p.grad = retrograd.randn(3, dtype=retrograd.float64, requires_grad=True)
        with retrograd.no_grad():
            opt.step()
        assert (p.grad_fn is not None) == differentiable
        assert retrograd.is_grad_enabled()


def _error(lib, case):
    """The exception (type name, message) of one misuse, in torch or here."""
    w = lib.randn(3, dtype=lib.float64, requires_grad=True)
    g = lib.randn(3, dtype=lib.float64)
    try:
        if case == "leaf":
            opt = lib.optim.SGD([w], lr=0.1, differentiable=True)
            w.grad = g
            opt.step()
        elif case == "non-leaf":
            lib.optim.SGD([w.clone()], lr=0.1)
        elif case == "fused":
            lib.optim.Adam([w.clone()], differentiable=True, fused=True)
        elif case in ("foreach", "Adagrad tensor lr", "Adam step requires grad"):
            p = w.clone()
            name = "Adagrad" if case == "Adagrad tensor lr" else "Adam"
            lr = lib.tensor(0.1, requires_grad=True) if case == "Adagrad tensor lr" else 0.1
            opt = getattr(lib.optim, name)([p], lr=lr, differentiable=True, foreach=case == "foreach")
            p.grad = g
            if case == "Adam step requires grad":
                opt.step()
                opt.state[p]["step"] = lib.tensor(1.0, requires_grad=True).clone()
            opt.step()
    except Exception as e:  # noqa: BLE001 (the exception compared)
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("case,prefix", [
    ("leaf", "a leaf Variable that requires grad is being used in an in-place operation."),
    ("non-leaf", "can't optimize a non-leaf Tensor"),
    ("fused", "`fused` does not support `differentiable`"),
    ("foreach", "_foreach ops don't support autograd"),
    ("Adagrad tensor lr", "Adagrad(differentiable=True) takes lr as a number"),
    ("Adam step requires grad", "`requires_grad` is not supported for `step` in differentiable mode")])
def test_errors_as_torch(case, prefix):
    kind, message = _error(retrograd, case)
    assert kind == reference(lambda: _error(torch, case)[0], (case,))
    assert message.startswith(prefix)


def test_a_differentiable_step_runs_eagerly_under_compile():
    w = retrograd.randn(4, dtype=retrograd.float64, requires_grad=True)
    g = retrograd.randn(4, dtype=retrograd.float64, requires_grad=True)

    def f(w, g):
        p = w * 1.0
        opt = retrograd.optim.SGD([p], lr=0.1, differentiable=True)
        p.grad = g * 2.0
        opt.step()
        return (p * 3).sum()

    explanation = retrograd.compiler.explain(f)(w, g)
    assert "SGD(differentiable=True).step() (its update is recorded by autograd: runs eagerly)" in str(explanation)
    compiled = retrograd.compile(f)
    for _ in range(3):
        gw, gg = retrograd.autograd.grad(compiled(w, g), [w, g])
        np.testing.assert_array_equal(gw.numpy(), np.full(4, 3.0))
        np.testing.assert_allclose(gg.numpy(), np.full(4, -0.6))
