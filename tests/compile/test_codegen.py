"""The generated code (codegen.py): eager's gradient summation order, freeing, AccumulateGrad's rule."""

import re

import numpy as np

import retrograd
from retrograd._compile import codegen
from tests.compile.compare import assert_same_as_eager, fresh_compiler, gelu_sgd_step_source  # noqa: F401
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


def test_large_gradient_sums_go_in_place_bitwise_as_eager():
    # a's gradient is g*2 + g*3 + g*4: two sums into the first product's array, which only the generated
    # code holds; eager's values (the same adds)
    compiled = assert_same_as_eager(lambda a: a * 2 + a * 3 + a * 4, [rand(64, 64)])
    assert _program(compiled).source.count("_acc(") == 2
    g = np.ones((64, 64))
    assert codegen._acc(g, np.ones((64, 64))) is g and (g == 2).all()  # (only this frame holds g)


def test_a_gradient_sum_never_writes_into_an_array_held_elsewhere():
    # x's gradient starts as the output's gradient itself (add passes it through): summing into it in
    # place would change the caller's gradient tensor
    compiled = retrograd.compile(lambda x: x + x)
    x = retrograd.tensor(rand(64, 64), requires_grad=True)
    compiled(x)
    out = compiled(x)
    gt = retrograd.tensor(rand(64, 64, seed=1))
    before = gt.numpy().copy()
    out.backward(gt)
    np.testing.assert_array_equal(gt.numpy(), before)
    np.testing.assert_array_equal(x.grad.numpy(), before + before)
    held = np.ones((64, 64))
    view = held[:, :]
    assert codegen._acc(held, held) is not held and (view == 1).all()


def test_a_weight_gradient_is_not_transposed_twice():
    # addmm's (g.T @ x).T, transposed back by W.t()'s backward: the product itself, read once
    body = ["    g3 = (g5.T @ v1).T", "    del g5", "    g2 = g3.transpose((1, 0))", "    del g3",
            "    g7 = (g5.T @ v1).T", "    g8 = g7.transpose((1, 0))", "    g9 = g7 + 1"]
    assert codegen._fold_transposes(body) == [
        "    g3 = g5.T @ v1", "    del g5", "    g2 = g3", "    del g3",
        "    g7 = (g5.T @ v1).T", "    g8 = g7.transpose((1, 0))", "    g9 = g7 + 1"]  # g7 read twice: kept
    lin = retrograd.nn.Linear(3, 4)
    opt = retrograd.optim.SGD(lin.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = retrograd.nn.functional.mse_loss(lin(x).tanh(), y)
        loss.backward()
        opt.step()
        return loss

    compiled = retrograd.compile(step)
    x, y = retrograd.tensor(rand(5, 3, dtype=np.float32)), retrograd.tensor(rand(5, 4, dtype=np.float32))
    compiled(x, y)
    compiled(x, y)
    assert ".T\n" not in _program(compiled).source and lin.weight.grad._data.base is None


def test_a_comparison_with_a_number_is_the_array_comparison_itself():
    # a causal mask as nanoGPT writes it: masked_fill(bias == 0, -inf) with a float buffer; the
    # comparison runs on the arrays (no Tensor wrapping by the generic helper) and gives eager's values
    bias = retrograd.tril(retrograd.ones(5, 5))

    def fn(a):
        return (a.masked_fill(bias == 0, float("-inf")) * 2).softmax(-1).masked_fill(a > 0.5, 0.0)

    compiled = assert_same_as_eager(fn, [rand(3, 5, 5, dtype=np.float32)])
    source = _program(compiled).source
    assert "_make(" not in source.split("def backward")[0], source
    assert "_generic_forward" not in source, source


def test_a_comparison_of_tensors_of_two_dtypes_keeps_eager_casts():
    # float32 < float64: operands promotes both to float64 first; the generic helper does that
    assert_same_as_eager(lambda a, b: a * (a < b.double()), [rand(4, 3, dtype=np.float32), rand(4, 3, seed=1, dtype=np.float32)])


def test_masked_fill_of_a_dying_intermediate_fills_it_in_place():
    # the scaled scores die at masked_fill (and softmax's gradient at its backward): no copy, eager's bits
    mask = retrograd.tensor(np.triu(np.ones((16, 16), dtype=bool), 1))

    def fn(q, k):
        att = (q @ k.transpose(-2, -1)) * 0.25
        return att.masked_fill(mask, float("-inf")).softmax(-1)

    for shape in [(32, 4, 16, 16), (3, 1, 16, 16)]:
        compiled = assert_same_as_eager(fn, [rand(*shape, dtype=np.float32), rand(*shape, seed=1, dtype=np.float32)])
        source = _program(compiled).source
        assert source.count("_owned(") == 2 and ".copy()" not in source, source


def test_owned_takes_a_sole_array_and_copies_a_shared_one():
    def sole():
        a = np.ones((4, 4))
        return codegen._owned(a) is a

    def sole_reshaped():  # a kernel's (rows, width) result reshaped: the view alone holds its array
        a = np.ones((16, 2)).reshape(4, 4, 2)
        return codegen._owned(a) is a

    assert sole() and sole_reshaped()
    held = np.ones((4, 4))
    keep = [held]
    assert codegen._owned(held) is not keep[0]
    base = np.ones((16, 2))
    view = base.reshape(4, 4, 2)
    assert not np.shares_memory(codegen._owned(view), base)  # its array is held elsewhere
    half = np.ones((8, 2))[:4]
    assert not np.shares_memory(codegen._owned(half), half)  # a view of part of an array
    t = np.ones((4, 3)).T
    assert codegen._owned(t).flags.c_contiguous  # not C-ordered: copied to C order
    body = ["    v2 = v1.copy()", "    del v1, v3", "    v5 = v4.copy()", "    v6 = v4 + 1"]
    assert codegen._take_dying_copies(body) == [
        "    v2 = _owned(v1)", "    del v1, v3", "    v5 = v4.copy()", "    v6 = v4 + 1"]


def test_an_elementwise_result_is_written_into_its_dying_operand_bitwise_as_eager():
    # each intermediate of the chain dies at the next op: its array takes the next result (np.multiply(a, b,
    # out=a), the same loop), where eager makes a fresh one; the values are eager's bits
    compiled = assert_same_as_eager(lambda a, b: ((a * 2.0 + b) * 0.5).tanh().relu() - b,
                                    [rand(200, 100, dtype=np.float32), rand(200, 100, seed=1, dtype=np.float32)])
    source = _program(compiled).source
    for helper in ("_into_left(np.add", "_into_left(np.multiply", "_into_self(np.tanh", "_into_right(np.subtract"):
        assert helper in source.split("def backward")[0], source
    assert "_into_left(np.multiply, g" in source.split("def backward")[1], source  # (gradients too)
    inference = assert_same_as_eager(lambda a: (a * 2.0).relu() * 3.0, [rand(200, 100, dtype=np.float32)], grad=False)
    assert "_clip_into(" in _program(inference).source  # (relu's output not saved: its input takes it)
    small = assert_same_as_eager(lambda a: (a * 2.0 + 1.0).tanh(), [rand(4, 3, dtype=np.float32)])
    assert "_into_" not in _program(small).source  # (below INTO_MIN elements: a fresh array is as cheap)


def test_a_dying_operand_held_elsewhere_is_not_written():
    # y dies at z, but the returned view v still shows y's memory: z must be a fresh array
    def fn(a):
        y = a * 2.0
        v = y[:10]
        z = y + 1.0
        return z, v

    compiled = assert_same_as_eager(fn, [rand(200, 100, dtype=np.float32)])
    assert "_into_left(np.add" in _program(compiled).source

    def sole():  # only this frame's variable holds a (or a reshaped view of an array only it holds)
        a = np.ones(20000, np.float32)
        b = np.ones((200, 100), np.float32).reshape(20000)
        return codegen._into_left(np.multiply, a, 2.0) is a and codegen._into_right(np.add, 1.0, b) is b

    assert sole()
    held = np.ones(20000, np.float32)
    keep = [held]
    assert codegen._into_self(np.tanh, held) is not keep[0] and (keep[0] == 1).all()
    base = np.ones((400, 50), np.float32)
    view = base.reshape(20000)  # its array is held by base too
    assert codegen._clip_into(view, 0.0, 0.5) is not view and (base == 1).all()
    part = np.ones((400, 100), np.float32)[:200]  # a view of part of an array
    assert codegen._into_left(np.multiply, part, 3.0) is not part and (part == 1).all()

    def column_major():  # f + c is a fresh C-ordered array in NumPy: f's own layout would differ from eager's
        f = np.asfortranarray(np.ones((200, 100), np.float32))
        return codegen._into_left(np.add, f, np.ones((200, 100), np.float32)).flags.c_contiguous

    assert column_major()


def test_write_into_dying_rewrites_only_a_dying_operand_of_the_results_shape():
    meta = {"v1": ((128, 256), np.float32), "v2": ((128, 256), np.float32), "v3": ((128, 256), np.float32),
            "v4": ((256,), np.float32), "v5": ((128, 256), np.float64)}.get
    body = ["    v3 = v1 * v2 * k0", "    del v1", "    v2 = v4 + v3", "    del v3, v4",
            "    v3 = np.tanh(v1)", "    del v1", "    v5 = v1 - v3", "    del v1, v3", "    v3 = v1 + v1", "    del v1"]
    assert codegen._write_into_dying(body, meta) == [
        "    v3 = v1 * v2 * k0", "    del v1",  # ((v1 * v2) * k0: v1 is not an operand of the outer product)
        "    v2 = _into_right(np.add, v4, v3)", "    del v3, v4",  # (v4 is not of the result's shape)
        "    v3 = _into_self(np.tanh, v1)", "    del v1",
        "    v5 = v1 - v3", "    del v1, v3",  # (a float64 result: no float32 operand takes it)
        "    v3 = _into_both(np.add, v1)", "    del v1"]


def test_a_name_bound_in_a_with_block_is_deleted_after_its_last_read():
    # pow's x * x and x ** 3 are bound inside np.errstate: deleted after their last read like any other
    body = ["    with np.errstate(over='ignore'):", "        v2_sq = v1 * v1", "        v2 = v2_sq * v1",
            "    v3 = v2 * k0", "    v4 = v2_sq + v3", "    return v4"]
    assert codegen._with_dels(body, ["v1"]) == [
        "    with np.errstate(over='ignore'):", "        v2_sq = v1 * v1", "        v2 = v2_sq * v1", "    del v1",
        "    v3 = v2 * k0", "    del v2", "    v4 = v2_sq + v3", "    del v2_sq, v3", "    return v4"]


def test_write_into_dying_inside_a_with_block_into_a_gradient_sum_and_a_square():
    meta = {"v1": ((128, 256), np.float32), "v3_sq": ((128, 256), np.float32), "g9_1": ((128, 256), np.float32),
            "g9_2": ((128, 256), np.float32), "v5": ((128, 256), np.float32)}.get
    weak = {"k0"}.__contains__  # (a Python number constant)
    body = ["    with np.errstate(over='ignore'):", "        b4 = v3_sq * k0", "        b4 *= g9_2", "    del g9_2, v3_sq",
            "    with np.errstate(over='ignore'):", "        b5 = v5 * k0", "        b5 *= v5", "    del v5",
            "    g9_1 = _acc(g9_1, g9_2 * k0)", "    del g9_2",
            "    b6 = v5 * v5", "    del v5", "    b7 = v5 * k1", "    del v5"]
    assert codegen._write_into_dying(body, meta, weak) == [
        "    with np.errstate(over='ignore'):", "        b4 = _into_left(np.multiply, v3_sq, k0)", "        b4 *= g9_2",
        "    del g9_2, v3_sq",
        "    with np.errstate(over='ignore'):", "        b5 = v5 * k0", "        b5 *= v5", "    del v5",  # (read later)
        "    g9_1 = _acc(g9_1, _into_left(np.multiply, g9_2, k0))", "    del g9_2",
        "    b6 = _into_both(np.multiply, v5)", "    del v5",
        "    b7 = v5 * k1", "    del v5"]  # (k1 not a Python number: the result's dtype is not known to be v5's)
    a = np.full(20000, 3.0, np.float32)
    assert codegen._into_both(np.multiply, a) is a and (a == 9).all()
    held = np.full(20000, 3.0, np.float32)
    keep = [held]
    assert codegen._into_both(np.multiply, held) is not keep[0] and (keep[0] == 3).all()


def test_a_compiled_tanh_gelu_step_writes_into_dying_arrays_bitwise_as_eager():
    # the GELU of the gpt2 workload written out (pow 3, tanh): its backward's square of tanh, pow's 3 x^2 and
    # the 0.5 x term's gradient go into arrays that die there; a whole SGD step stays eager's bits
    source = gelu_sgd_step_source(64, 256, 128)
    for rewrite in (r"_into_both\(np\.multiply, v\d+\)", r"_into_left\(np\.multiply, v\d+_sq(?:_r)?, k\d+\)",
                    r"_acc\(g\w+, _into_left\(np\.multiply, g\w+, k\d+\)\)"):
        assert re.search(rewrite, source), source
