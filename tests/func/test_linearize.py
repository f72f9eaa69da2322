"""retrograd.func.linearize (func/_linearize.py) against torch.func.linearize (recorded without
torch): the value, the JVPs at the primals for several tangents, torch's checks of the tangents."""

import numpy as np
import pytest

import retrograd
from retrograd.func import jvp, linearize
from tests.helpers import reference, requires_torch, torch

X = np.random.default_rng(0).standard_normal(4)
Y = np.random.default_rng(1).standard_normal(4)
TANGENTS = [(np.ones(4), np.zeros(4)), (np.random.default_rng(2).standard_normal(4), np.arange(4.0))]


def f(x, y):
    return x.sin() * y, {"a": x.exp() @ y.tanh()}


def _run(m):
    out, jvp_fn = linearize(f, m.tensor(X), m.tensor(Y)) if m is retrograd else \
        torch.func.linearize(f, m.tensor(X), m.tensor(Y))
    values = [[out[0].numpy(), out[1]["a"].numpy()]]
    for tx, ty in TANGENTS:
        t = jvp_fn(m.tensor(tx), m.tensor(ty))
        values.append([t[0].numpy(), t[1]["a"].numpy()])
    return values


def test_linearize_value_and_jvps_equal_torch():
    ours = _run(retrograd)
    theirs = reference(lambda: _run(torch), inputs=[X, Y])
    for a, b in zip(ours, theirs):
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


def test_linearize_gives_jvp_at_the_primals_and_the_primals_themselves():
    x, y = retrograd.tensor(X), retrograd.tensor(Y)
    out, jvp_fn = linearize(f, x, y)
    tx, ty = (retrograd.tensor(t) for t in TANGENTS[1])
    want = jvp(f, (x, y), (tx, ty))[1]
    got = jvp_fn(tx, ty)
    assert retrograd.allclose(got[0], want[0]) and retrograd.allclose(got[1]["a"], want[1]["a"])
    x.mul_(2)  # as torch's: the point is the primal tensor itself, an in-place change moves it
    assert retrograd.allclose(jvp_fn(tx, ty)[0], jvp(f, (x, y), (tx, ty))[1][0])


def test_linearize_output_and_tangents_stay_differentiable():
    x = retrograd.tensor(X, requires_grad=True)
    out, jvp_fn = linearize(lambda a: a.sin() * 2, x)
    assert out.requires_grad and jvp_fn(retrograd.ones(4, dtype=retrograd.float64)).requires_grad


CHECKS = [
    (lambda m, j: j(m.ones(4, dtype=m.float64)), RuntimeError, "same argspec"),
    (lambda m, j: j(m.ones(5, dtype=m.float64), m.ones(4, dtype=m.float64)), RuntimeError, "shape"),
    (lambda m, j: j(m.ones(4), m.ones(4, dtype=m.float64)), RuntimeError, "dtype"),
    (lambda m, j: j((m.ones(4, dtype=m.float64), m.ones(4, dtype=m.float64))), RuntimeError, "same argspec"),
]


@pytest.mark.parametrize("case", range(len(CHECKS)))
def test_jvp_fn_checks_the_tangents_as_torch(case):
    call, error, match = CHECKS[case]
    mods = [(retrograd, linearize)] + ([(torch, torch.func.linearize)] if torch is not None else [])
    for m, lin in mods:
        _, jvp_fn = lin(f, m.tensor(X), m.tensor(Y))
        with pytest.raises(error, match=match):
            call(m, jvp_fn)


def test_linearize_refuses_what_torch_refuses():
    with pytest.raises(AttributeError):
        linearize(lambda x: x * 2, 3.0)
    with pytest.raises(TypeError):
        linearize(f, retrograd.tensor(X))  # f takes two


@requires_torch
def test_torch_refuses_the_same():
    with pytest.raises(AttributeError):
        torch.func.linearize(lambda x: x * 2, 3.0)
    with pytest.raises(TypeError):
        torch.func.linearize(f, torch.tensor(X))
