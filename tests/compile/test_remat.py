"""Rematerialization in a compiled training step (_compile/remat.py): cheap values computed again in the
backward instead of kept from the forward, the same bits."""

import re

import numpy as np

import retrograd
from retrograd._compile import remat
from tests.compile.compare import fresh_compiler, gelu_sgd_step_source  # noqa: F401
from tests.helpers import rand

WEAK = {"k0", "k1"}.__contains__  # (constants holding Python numbers)


def _forward_backward(extra=()):
    # v2 = x * 0.5 and v3 = x * x are read by the forward and again by the backward (from line 8 on)
    return ["    v1 = k5(v0)", "    v2 = v1 * k0", "    with np.errstate(over='ignore'):", "        v3 = v1 * v1",
            "    v4 = v3 * v1", "    v5 = v2 * v4", *extra, "    g5 = k6(v5)",
            "    g2 = g5 * v4", "    g4 = g5 * v2", "    with np.errstate(over='ignore'):", "        b1 = v3 * k1",
            "    return (g2, g4, b1)"]


def test_two_values_of_one_array_are_computed_again_before_the_backward_reads_them():
    body = _forward_backward()
    start = body.index("    g2 = g5 * v4")
    assert remat.remat(body, [start], WEAK) == [
        "    v1 = k5(v0)", "    v2 = v1 * k0", "    with np.errstate(over='ignore'):", "        v3 = v1 * v1",
        "    v4 = v3 * v1", "    v5 = v2 * v4", "    g5 = k6(v5)",
        "    g2 = g5 * v4", "    v2_r = v1 * k0", "    g4 = g5 * v2_r",
        "    with np.errstate(over='ignore'):", "        v3_r = v1 * v1",  # (under the forward's errstate)
        "    with np.errstate(over='ignore'):", "        b1 = v3_r * k1",
        "    return (g2, g4, b1)"]


def test_values_are_kept_where_their_array_could_change_or_is_not_kept_anyway():
    start = _forward_backward().index("    g2 = g5 * v4")
    for change in ("    v1 += v9", "    np.multiply(v9, 2, out=v1)", "    v7 = k8(v1)", "    v7 = v1.reshape((4,))",
                   "    v7 = _owned(v1)", "    np.copyto(v1, v9)"):
        body = _forward_backward([change])  # (a view of v1 also shares its memory: remat does not follow it)
        if "reshape" in change:
            body.insert(body.index("    g5 = k6(v5)"), "    v7 += v9")
        assert remat.remat(body, [start + 1 + ("reshape" in change)], WEAK) == body, change
    harmless = _forward_backward(["    v7 = v9 * k0"])
    assert remat.remat(harmless, [start + 1], WEAK) != harmless  # (the same body with a line that names no v1)
    body = _forward_backward()
    body[0] = "    v1 = T[0]._data"  # (an input's array: an optimizer call may update it in place)
    assert remat.remat(body, [start], WEAK) == body
    # one value of v1, and v1 itself not read by the backward: keeping v2 is one array either way
    one = ["    v1 = k5(v0)", "    v2 = v1 * k0", "    v5 = v2 * v1", "    g5 = k6(v5)", "    g4 = g5 * v2",
           "    return (g4,)"]
    assert remat.remat(one, [3], WEAK) == one
    read = one[:4] + ["    g4 = g5 * v2", "    g1 = g5 * v1", "    return (g4, g1)"]  # (v1 read there anyway)
    assert "    v2_r = v1 * k0" in remat.remat(read, [3], WEAK)


def test_a_compiled_gelu_training_step_computes_its_values_again_bitwise_as_eager():
    source = gelu_sgd_step_source(32, 128, 200)
    assert len(re.findall(r"v\d+(?:_sq)?_r = ", source)) == 3, source  # (0.5 x, x * x, tanh + 1)


def test_a_small_value_is_kept():
    # below INTO_MIN elements the kept array costs less than a call computing it again
    body = _forward_backward()
    start = body.index("    g2 = g5 * v4")
    assert remat.remat(body, [start], WEAK, big=lambda name: False) == body
    # v2 small: v3 alone is one kept array for one (v1 would be kept instead): nothing computed again
    assert remat.remat(body, [start], WEAK, big=lambda name: name != "v2") == body
    lin = retrograd.nn.Linear(8, 16)
    opt = retrograd.optim.SGD(lin.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        y = lin(x)
        loss = (0.5 * y * (1.0 + retrograd.tanh(y))).sum()
        loss.backward()
        opt.step()
        return loss
    fn = retrograd.compile(step)
    for _ in range(2):
        fn(retrograd.tensor(rand(4, 8, dtype=np.float32)))
    source = next(g for gs in fn._compiled.cache.values() for g in gs if g is not None).program.source
    assert "_r = " not in source, source
