"""Forward AD of retrograd's Functions outside retrograd.ops (issue 13, item 2): the packed-sequence
row gathers, the samplers, the Gamma/Dirichlet implicit reparameterization and the incomplete
gamma function each have a ``jvp`` beside their backward, checked as in test_forward_ad_ops
(central differences where the function is smooth at fixed randomness, and u·(J v) = (Jᵀ u)·v).

``test_every_internal_function_has_a_jvp_rule`` walks every Function subclass of retrograd:
only those in DOUBLE_VJP take forward_ad's double-VJP fallback (exact, two reverse passes).
"""

import numpy as np
import pytest

import retrograd
import retrograd.autograd.forward_ad as fwAD
from retrograd.autograd.function import Function
from tests.autograd.test_forward_ad_ops import (_case_inputs, _has_rule, finite_difference_jvp, forward_jvp,
                                                vjp_dot)
from tests.helpers import retrograd_modules, torch

# the Function classes (outside retrograd.ops) whose JVP still comes from their backward
DOUBLE_VJP = {
    "retrograd._compile.replay.CompiledFunction",  # a recorded graph: its ops' rules would need a replay
    "retrograd.nn.modules._sync_batch_norm.SyncBatchNormFunction",  # statistics all-reduced over ranks
    "retrograd.utils.checkpoint._ReentrantCheckpoint",  # reruns the forward in its backward
}


def _packed(r, x, lengths=(3, 1, 2)):
    """pack_padded_sequence then pad_packed_sequence (GatherRows, ScatterRows), times 2."""
    packed = r.nn.utils.rnn.pack_padded_sequence(x, r.tensor(list(lengths)), enforce_sorted=False)
    return r.nn.utils.rnn.pad_packed_sequence(r.nn.utils.rnn.PackedSequence(
        packed.data * 2, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices), padding_value=-1.0)[0]


def _rsamples(r, a, b):
    r.manual_seed(3)
    D = r.distributions
    return [D.Gamma(a, b).rsample((2,)), D.Dirichlet(a).rsample(), D.Beta(a, b).rsample()]


# (id, fn(r, *inputs), input specs, whether central differences apply)
CASES = [
    ("packed_rows", _packed, [(3, 3, 2)], True),
    ("gamma_cdf", lambda r, rate, x: r.distributions.Gamma(r.tensor([0.7, 1.5, 2.0, 3.0], dtype=r.float64), rate).cdf(x),
     [("pos", 4), ("pos", 4)], True),
    # implicit reparameterization: the derivative at a fixed CDF value, not the sampler's own
    ("gamma_dirichlet_beta_rsample", _rsamples, [("pos", 3), ("pos", 3)], False),
    # torch's derivative of a sample is 0 (normal's too, though mean + std*n moves with them)
    ("samplers", lambda r, p, m, s: [r.bernoulli(p * 0.5), r.poisson(p * 3), r.normal(m, s), r.normal(m, 1.0)],
     [("pos", 4), (4,), ("pos", 4)], False),
]


@pytest.mark.parametrize("name,fn,specs,smooth", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_finite_differences_and_vjp(name, fn, specs, smooth):
    arrays, tangents = _case_inputs(specs)
    jv = forward_jvp(fn, arrays, tangents)
    if smooth:
        for i, (a, b) in enumerate(zip(jv, finite_difference_jvp(fn, arrays, tangents))):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"{name}: output {i}")
    rng = np.random.default_rng(7)
    us = [rng.standard_normal(a.shape) for a in jv]
    u_jv = sum(float((u * a).sum()) for u, a in zip(us, jv))
    assert u_jv == pytest.approx(vjp_dot(fn, arrays, tangents, us), rel=1e-9, abs=1e-10), name
    assert any(np.any(a != 0) for a in jv) or name == "samplers"


def test_sample_tangents_are_zeros_as_torch():
    arrays, tangents = _case_inputs(CASES[3][2])
    jv = forward_jvp(CASES[3][1], arrays, tangents)
    assert [np.abs(a).max() for a in jv] == [0.0] * 4
    if torch is not None:
        assert all(np.all(a == 0) for a in forward_jvp(CASES[3][1], arrays, tangents, mod=torch))


def test_bernoulli_with_a_number_has_no_forward_derivative():
    x = retrograd.tensor([0.2, 0.7], dtype=retrograd.float64)
    with fwAD.dual_level():
        with pytest.raises(NotImplementedError, match="forward AD with aten::bernoulli"):
            retrograd.bernoulli(fwAD.make_dual(x, retrograd.ones(2, dtype=retrograd.float64)), 0.5)


def test_incomplete_gamma_has_no_derivative_in_a():
    a, x = retrograd.tensor([2.0, 3.0], dtype=retrograd.float64), retrograd.tensor([1.0, 2.5], dtype=retrograd.float64)
    with fwAD.dual_level():
        with pytest.raises(NotImplementedError, match="the derivative for 'igamma: input'"):
            retrograd.distributions.Gamma(fwAD.make_dual(a, retrograd.ones(2, dtype=retrograd.float64)), 1.0).cdf(x)


def _internal_functions():
    for _ in retrograd_modules():  # (imported: their Function subclasses exist)
        pass
    found, todo = {}, [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("retrograd.") and sub.backward is not Function.backward:
                found[f"{sub.__module__}.{sub.__qualname__}"] = sub
    return found


def test_every_internal_function_has_a_jvp_rule():
    functions = _internal_functions()
    without = {name for name, cls in functions.items() if not _has_rule(cls)}
    without -= {"retrograd.ops.counting.NotDifferentiable"}  # no derivative in either mode
    assert without <= DOUBLE_VJP, f"write a jvp beside the backward of {sorted(without - DOUBLE_VJP)}"
    assert DOUBLE_VJP <= set(functions), f"listed names that are no Function: {sorted(DOUBLE_VJP - set(functions))}"
    assert not DOUBLE_VJP & {n for n in functions if _has_rule(functions[n])}, "a listed Function has a jvp now"


def test_no_case_takes_the_double_vjp_fallback():
    fwAD._FALLBACK_OPS.clear()
    for _, fn, specs, _ in CASES:
        arrays, tangents = _case_inputs(specs)
        forward_jvp(fn, arrays, tangents)
    assert not fwAD._FALLBACK_OPS, sorted(fwAD._FALLBACK_OPS)


def test_scatter_rows_tangent_goes_where_its_rows_go():
    """ScatterRows (the inverse of packing's row gather): out[idx[i]] = g[i], and so the tangent."""
    from retrograd.nn.utils.rnn import ScatterRows

    g, t = retrograd.randn(3, 2), retrograd.randn(3, 2)
    with fwAD.dual_level():
        out = ScatterRows.apply(fwAD.make_dual(g, t), np.array([2, -1, 0]), 4)
        tangent = fwAD.unpack_dual(out).tangent
    want = np.zeros((4, 2))
    want[[2, 0]] = t.numpy()[[0, 2]]
    np.testing.assert_array_equal(tangent.numpy(), want)
