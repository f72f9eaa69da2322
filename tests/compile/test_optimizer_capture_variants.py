"""An optimizer built or stepped inside a compiled function (a differentiable step breaks the
graph and runs eagerly; a Tensor lr read by the constructor breaks it too) gives eager's values and
gradients on every call: the replayed segment before the break must hand the list it builds
(``[p]``) and the tensor it returns (``p``) as one object, as eager does."""

import warnings

import numpy as np
import pytest

import retrograd
from tests.compile.compare import fresh_compiler  # noqa: F401

LR = retrograd.tensor(0.1)
LR_GRAD = retrograd.tensor(0.1, requires_grad=True)


def sgd_global_lr(w, gsrc):
    p = w.clone()
    opt = retrograd.optim.SGD([p], lr=LR, differentiable=True)
    for _ in range(2):
        p.grad = gsrc * 2.0 + w
        opt.step()
    return p.sum()


def adam_global_lr(w, gsrc):
    p = w.clone()
    opt = retrograd.optim.Adam([p], lr=LR, differentiable=True)
    for _ in range(2):
        p.grad = gsrc * 2.0 + w
        opt.step()
    return p.sum()


def sgd_lr_requiring_grad(w, gsrc):
    p = w.clone()
    opt = retrograd.optim.SGD([p], lr=LR_GRAD, differentiable=True)
    for _ in range(2):
        p.grad = gsrc * 2.0 + w
        opt.step()
    return p.sum()


def adam_local_lr(w, gsrc):
    p = w.clone()
    lr = retrograd.tensor(0.1)
    opt = retrograd.optim.Adam([p], lr=lr, differentiable=True)
    for _ in range(2):
        p.grad = gsrc * 2.0 + w
        opt.step()
    return p.sum()


def sgd_float_lr(w, gsrc):
    p = w.clone()
    opt = retrograd.optim.SGD([p], lr=0.1, differentiable=True)
    for _ in range(2):
        p.grad = gsrc * 2.0 + w
        opt.step()
    return p.sum()


def adam_not_differentiable_global_lr(w, gsrc):
    p = w.detach().clone().requires_grad_()
    opt = retrograd.optim.Adam([p], lr=LR)
    for _ in range(2):
        p.grad = (gsrc * 2.0 + w).detach()
        opt.step()
    return p * w


def _run(fn, call):
    LR_GRAD.grad = None
    w = retrograd.tensor(np.arange(3, dtype=np.float32) + call, requires_grad=True)
    gsrc = retrograd.tensor(np.full(3, call + 1.0, dtype=np.float32), requires_grad=True)
    out = fn(w, gsrc)
    out.sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in (w, gsrc, LR_GRAD)]
    return out.detach().numpy(), grads


@pytest.mark.parametrize("fn", [sgd_global_lr, adam_global_lr, sgd_lr_requiring_grad, adam_local_lr, sgd_float_lr,
                                adam_not_differentiable_global_lr], ids=lambda f: f.__name__)
def test_optimizer_in_a_compiled_function_is_eagers_on_every_call(fn, fresh_compiler):  # noqa: F811
    compiled = retrograd.compile(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the .grad of a non-leaf parameter: torch's warning, eager's too)
        for call in range(4):
            out, grads = _run(fn, call)
            c_out, c_grads = _run(compiled, call)
            np.testing.assert_array_equal(c_out, out, err_msg=f"call {call}")
            for g, cg in zip(grads, c_grads):
                assert (g is None) == (cg is None), f"call {call}"
                if g is not None:
                    np.testing.assert_array_equal(cg, g, err_msg=f"call {call}")


def _list_and_tensor(w):
    p = w.clone()
    return [p], p


def test_a_tensor_returned_twice_is_one_object_on_replay_as_eager(fresh_compiler):  # noqa: F811
    compiled = retrograd.compile(_list_and_tensor)
    for _ in range(3):
        listed, p = compiled(retrograd.ones(3, requires_grad=True))
        assert listed[0] is p


def _fresh_leaf(w):
    p = w.detach().clone().requires_grad_()
    return [p], p * 2


def test_a_leaf_made_inside_is_returned_as_a_leaf_as_eager(fresh_compiler):  # noqa: F811
    """(a replayed graph's outputs all have its backward node: such a function runs eagerly)"""
    compiled = retrograd.compile(_fresh_leaf)
    for _ in range(3):
        (p,), q = compiled(retrograd.ones(3, requires_grad=True))
        assert p.is_leaf and p.requires_grad and q.grad_fn is not None
