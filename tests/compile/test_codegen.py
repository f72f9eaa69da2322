"""The generated code (codegen.py): eager's gradient summation order, freeing, AccumulateGrad's rule."""

import numpy as np

import retrograd
from retrograd._compile import codegen
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401
from tests.helpers import rand


def _program(compiled):
    return next(g for gs in compiled._compiled.cache.values() for g in gs if g is not None).program


def test_gradients_are_summed_in_eager_engine_order():
    # a feeds three products of very different scales, created p, q, r; eager's engine (a stack of
    # ready nodes) sums a's gradient as (dp + dq) + dr, not in reverse creation order (dr + dq) + dp:
    # float addition is not associative, so only eager's order gives eager's bits
    def fn(a):
        p = a * 1e8
        q = a.exp()
        r = a * 3.3
        return (r + q + p).sum()

    assert_same_as_eager(fn, [rand(200, seed=0)])


def test_each_intermediate_is_deleted_after_its_last_use():
    compiled = assert_same_as_eager(lambda a: ((a * 2).tanh() * 3).sigmoid().sum(), [rand(4, 3)])
    source = _program(compiled).source
    forward = source.split("def backward")[0]
    assert forward.count("del ") >= 2, source


def test_deliver_keeps_a_sole_array_and_copies_a_shared_one():
    p, q = retrograd.zeros(3, requires_grad=True), retrograd.zeros(3, requires_grad=True)

    def sole():
        g = np.ones(3)
        codegen.deliver(p, g)
        return p.grad._data is g

    assert sole()  # the generated code alone held it: taken, not copied
    g = np.full(3, 2.0)
    held = [g]  # a second reference: deliver must copy
    codegen.deliver(q, g)
    assert not np.shares_memory(q.grad.numpy(), held[0])
    codegen.deliver(q, np.ones(3))  # a later gradient is added in place, bumping the version
    np.testing.assert_array_equal(q.grad.numpy(), [3.0, 3.0, 3.0])
    assert q.grad._version == 1


def test_deliver_takes_the_array_a_sole_view_shows_and_copies_when_it_is_shared():
    p, q = retrograd.zeros(2, 3, requires_grad=True), retrograd.zeros(2, 3, requires_grad=True)

    def transposed_back():  # a weight's gradient: (G^T X)^T transposed back to the weight's layout
        g = np.ones((2, 3)).T.T
        codegen.deliver(p, g)
        return p.grad._data is not g and np.shares_memory(p.grad._data, g) and p.grad._data.base is None

    assert transposed_back()
    b = np.ones((2, 3))
    codegen.deliver(q, b.T.T)  # b is still held here: copied
    assert not np.shares_memory(q.grad.numpy(), b)
