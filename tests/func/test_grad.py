"""retrograd.func's differentiation transforms against torch.func (recorded values without torch)."""

import numpy as np
import pytest

import retrograd
from tests.helpers import reference, torch

X = np.random.default_rng(0).standard_normal(4)
W = np.random.default_rng(1).standard_normal((3, 4))


def _t(mod, a):
    return mod.tensor(a, dtype=mod.float64)


def _np(tree):
    if isinstance(tree, (tuple, list)):
        return [_np(t) for t in tree]
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    return tree.detach().numpy()


def _same(ours, theirs, tol=1e-12):
    if isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b, tol)
    elif isinstance(ours, dict):
        assert set(ours) == set(theirs)
        for k in ours:
            _same(ours[k], theirs[k], tol)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def _compare(run, tol=1e-12):
    _same(run(retrograd), reference(lambda: run(torch), inputs=[X, W]), tol)


def _f(x, w):
    return ((w @ x.sin()) ** 2).sum() * x.exp().sum()


def test_grad_argnums_and_value():
    def run(t):
        x, w = _t(t, X), _t(t, W)
        g0 = t.func.grad(_f)(x, w)
        g01, value = t.func.grad_and_value(_f, argnums=(0, 1))(x, w)
        g1 = t.func.grad(_f, argnums=-1)(x, w)
        return _np([g0, g01, value, g1])

    _compare(run)


def test_grad_has_aux_and_pytree_inputs():
    def run(t):
        x, w = _t(t, X), _t(t, W)
        g, aux = t.func.grad(lambda d: (_f(d["x"], d["w"]), d["x"].cos()), has_aux=True)({"x": x, "w": w})
        return _np([g, aux])

    _compare(run)


def test_grad_of_grad_and_closure():
    def run(t):
        x, w = _t(t, X), _t(t, W)
        second = t.func.grad(lambda a: t.func.grad(_f)(a, w).sum())(x)
        mixed = t.func.grad(lambda b: t.func.grad(lambda a: (a * b).sum())(x).sum())(x)  # no confusion
        return _np([second, mixed])

    _compare(run)


def test_grad_result_keeps_graph_to_outer_autograd():
    w = retrograd.tensor(W, requires_grad=True)
    g = retrograd.func.grad(lambda x: (w @ x).sum())(retrograd.tensor(X))
    assert g.requires_grad  # differentiable in w by ordinary autograd, as torch's
    g.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((3, 4)))
    plain = retrograd.func.grad(lambda x: (x * x).sum())(retrograd.tensor(X))
    assert not plain.requires_grad


def test_vjp_and_jvp():
    def run(t):
        x, w = _t(t, X), _t(t, W)
        out, fn = t.func.vjp(lambda a, b: (b @ a).tanh(), x, w)
        ct = fn(t.ones(3, dtype=t.float64))
        out2, fn2, aux = t.func.vjp(lambda a: (a.exp(), a.sum()), x, has_aux=True)
        primal, tangent = t.func.jvp(lambda a: (w @ a).sin(), (x,), (x.cos(),))
        hvp = t.func.jvp(t.func.grad(lambda a: _f(a, w)), (x,), (t.ones(4, dtype=t.float64),))[1]
        return _np([out, ct, out2, fn2(t.ones(4, dtype=t.float64)), aux, primal, tangent, hvp])

    _compare(run)


def test_jacobians_and_hessian():
    def run(t):
        x, w = _t(t, X), _t(t, W)
        g = lambda a, b: (b @ a.sin()).exp()  # noqa: E731
        return _np([t.func.jacrev(g)(x, w), t.func.jacrev(g, argnums=(0, 1))(x, w),
                    t.func.jacrev(g, chunk_size=1)(x, w), t.func.jacfwd(g)(x, w),
                    t.func.jacfwd(g, argnums=(0, 1))(x, w), t.func.hessian(_f)(x, w),
                    t.func.vmap(t.func.jacrev(t.sin))(w)])

    _compare(run, tol=1e-10)


def test_jacrev_has_aux():
    def run(t):
        x = _t(t, X)
        jac, aux = t.func.jacrev(lambda a: (a.sin(), a.sum()), has_aux=True)(x)
        jf, auxf = t.func.jacfwd(lambda a: (a.sin(), a.sum()), has_aux=True)(x)
        return _np([jac, aux, jf, auxf])

    _compare(run)


@pytest.mark.parametrize("call, error", [
    (lambda f: f.grad(lambda a: a)(retrograd.ones(3)), RuntimeError),  # not a scalar
    (lambda f: f.grad(lambda a: a.sum(), argnums=3)(retrograd.ones(3)), RuntimeError),
    (lambda f: f.grad(lambda a: a.sum(), argnums=())(retrograd.ones(3)), RuntimeError),
    (lambda f: f.grad(lambda a: a.sum(), has_aux=True)(retrograd.ones(3)), RuntimeError),
    (lambda f: f.grad(lambda a: (a.sum(), 1), has_aux=True)(retrograd.ones(3)), RuntimeError),
    (lambda f: f.grad(lambda a: a.sum())(3.0), ValueError),
    (lambda f: f.jvp(lambda a: a, [retrograd.ones(2)], [retrograd.ones(2)]), RuntimeError),
    (lambda f: f.jvp(lambda a: a, (retrograd.ones(2),), (retrograd.ones(3),)), RuntimeError),
    # found by the session-26 hunt (each accepted, or raised another type, before)
    (lambda f: f.grad(lambda a, b: (a * b).sum(), argnums=(0, 0))(retrograd.ones(2), retrograd.ones(2)), RuntimeError),
    (lambda f: f.grad(lambda a, b: (a * b).sum(), argnums=(1, -1))(retrograd.ones(2), retrograd.ones(2)), RuntimeError),
    (lambda f: f.vjp(lambda a: a * 2, retrograd.ones(2))[1]((retrograd.ones(2),)), RuntimeError),
    (lambda f: f.vjp(lambda a: (a, a), retrograd.ones(2))[1]([retrograd.ones(2), retrograd.ones(2)]), RuntimeError),
    (lambda f: f.vjp(lambda a: {"a": a}, retrograd.ones(2))[1]({"b": retrograd.ones(2)}), RuntimeError),
    (lambda f: f.vjp(lambda a: a * 2, retrograd.ones(2))[1](3.0), TypeError),
    (lambda f: f.jvp(lambda: retrograd.ones(2), (), ()), RuntimeError),
    (lambda f: f.jvp(lambda a: retrograd.ones(2), (retrograd.ones(2),), (retrograd.ones(2),), strict=True),
     RuntimeError),
    (lambda f: f.functional_call(retrograd.nn.Linear(2, 1), 3, (retrograd.ones(1, 2),)), ValueError),
    (lambda f: f.functional_call(retrograd.nn.Linear(2, 1), [{"bias": retrograd.ones(1)}, 3], (retrograd.ones(1, 2),)),
     ValueError),
])
def test_errors_as_torch(call, error):
    with pytest.raises(error):
        call(retrograd.func)
    if torch is not None:
        with pytest.raises(error):
            call(_TorchFunc())


class _TorchFunc:
    """torch.func with retrograd tensors swapped for torch's (same calls, torch's errors)."""

    def __getattr__(self, name):
        fn = getattr(torch.func, name)

        def conv(a):
            if isinstance(a, retrograd.Tensor):
                return torch.tensor(a.numpy())
            if isinstance(a, (list, tuple)):
                return type(a)(conv(x) for x in a)
            if isinstance(a, dict):
                return {k: conv(v) for k, v in a.items()}
            return a

        def outer(*args, **kwargs):
            inner = fn(*args, **kwargs)
            if not callable(inner):
                return inner
            return lambda *a, **k: inner(*conv(a), **k)

        if name == "jvp":
            return lambda f, p, t, **k: fn(f, conv(p), conv(t), **k)
        if name == "vjp":
            def vjp(f, *p):
                out, vjp_fn = fn(f, *conv(p))
                return out, lambda ct: vjp_fn(conv(ct))
            return vjp
        if name == "functional_call":
            return lambda m, d, a: fn(torch.nn.Linear(2, 1), d, conv(a))
        return outer


def test_has_aux_results_are_checked_with_torchs_messages():
    """grad_and_value, vjp and jvp share one check of (output, aux): torch 2.13's texts."""
    from retrograd.func import grad_and_value, jvp, vjp

    x = retrograd.randn(3)
    calls = {"grad_and_value(f)(*args)": lambda: grad_and_value(lambda a: a.sum(), has_aux=True)(x),
             "vjp(f, *primals)": lambda: vjp(lambda a: a, x, has_aux=True),
             "jvp(f, primals, tangents)": lambda: jvp(lambda a: a, (x,), (x,), has_aux=True)}
    for where, call in calls.items():
        with pytest.raises(RuntimeError) as info:
            call()
        assert str(info.value) == f"{where}: output of function f should be a tuple: (output, aux) if has_aux is True"
    with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type <class 'int'>"):
        vjp(lambda a: (a, [1]), x, has_aux=True)


def test_jvp_strict_raises_for_an_output_independent_of_the_primals():
    # strict=True raised NotImplementedError; torch 2.13 implements it
    x, t = retrograd.tensor([1.0, 2.0]), retrograd.tensor([1.0, 1.0])
    out, tangent = retrograd.func.jvp(lambda a: a * a, (x,), (t,), strict=True)
    assert tangent.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="strict=True\\): The output of f is independent of the inputs"):
        retrograd.func.jvp(lambda a: (a * a, retrograd.ones(2)), (x,), (t,), strict=True)
    assert retrograd.func.jvp(lambda a: retrograd.ones(2), (x,), (t,))[1].tolist() == [0.0, 0.0]


def test_forward_mode_transforms_of_batched_primals_inside_vmap():
    # vmap(jacfwd(f)) and vmap(jvp(f, ...)) gave zeros: the tangent was set on the BatchedTensor,
    # whose ops run on the tensor underneath (torch's values below, by their closed forms)
    from retrograd.func import jacfwd, jvp, vmap

    X = retrograd.tensor([[1.0, 2.0], [3.0, 4.0]])
    jac = vmap(jacfwd(lambda x: x ** 2))(X)
    np.testing.assert_allclose(jac.numpy(), [[[2, 0], [0, 4]], [[6, 0], [0, 8]]])
    jac = vmap(jacfwd(lambda x: x.sin() * x.sum()))(X)
    x = X.numpy()
    expected = np.stack([np.diag(np.cos(r) * r.sum()) + np.sin(r)[:, None] for r in x])
    np.testing.assert_allclose(jac.numpy(), expected, rtol=1e-6)
    for tangent in (lambda x: retrograd.ones_like(x), lambda x: retrograd.ones(2)):  # batched or not
        t = vmap(lambda x: jvp(lambda y: y * y, (x,), (tangent(x),))[1])(X)
        np.testing.assert_allclose(t.numpy(), 2 * x)
    t = vmap(lambda v: jvp(lambda y: y * y, (X[0],), (v,))[1])(X)  # batched tangent, plain primal
    np.testing.assert_allclose(t.numpy(), 2 * x[0] * x)
    assert vmap(vmap(jacfwd(lambda x: x ** 3)))(X.unsqueeze(0)).shape == (1, 2, 2, 2)
