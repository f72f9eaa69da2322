"""The copying view ops (ops/view_copies.py): values and gradients equal torch's (recorded without
it) with gradcheck, no memory shared with the input, out= (one tensor, or a list for the ops
returning several), torch's errors, detach_copy's graph node, vmap."""

import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, requires_torch, torch

CASES = [
    ("alias_copy", lambda t, x: t.alias_copy(x), (2, 3, 4)),
    ("diagonal_copy", lambda t, x: t.diagonal_copy(x, 1, 2, 0), (2, 3, 4)),
    ("expand_copy", lambda t, x: t.expand_copy(x, (3, -1, 5, 4)), (2, 1, 4)),
    ("expand_copy_implicit", lambda t, x: t.expand_copy(x, (2, 5, 4), implicit=True), (2, 1, 4)),
    ("permute_copy", lambda t, x: t.permute_copy(x, (2, 0, 1)), (2, 3, 4)),
    ("select_copy", lambda t, x: t.select_copy(x, 1, -1), (2, 3, 4)),
    ("slice_copy", lambda t, x: t.slice_copy(x, -1, -3, 100, 2), (2, 3, 4)),
    ("slice_copy_defaults", lambda t, x: t.slice_copy(x), (2, 3)),
    ("split_copy", lambda t, x: t.split_copy(x, 2, 1), (2, 3, 4)),
    ("split_with_sizes_copy", lambda t, x: t.split_with_sizes_copy(x, [1, 3], -1), (2, 3, 4)),
    ("squeeze_copy", lambda t, x: t.squeeze_copy(x), (1, 3, 1)),
    ("squeeze_copy_dims", lambda t, x: t.squeeze_copy(x, (0, 1)), (1, 3, 1)),
    ("squeeze_copy_dim", lambda t, x: t.squeeze_copy(x, 2), (1, 3, 1)),
    ("t_copy", lambda t, x: t.t_copy(x), (3, 4)),
    ("t_copy_1d", lambda t, x: t.t_copy(x), (4,)),
    ("transpose_copy", lambda t, x: t.transpose_copy(x, 0, 2), (2, 3, 4)),
    ("unbind_copy", lambda t, x: t.unbind_copy(x, 1), (2, 3, 4)),
    ("unfold_copy", lambda t, x: t.unfold_copy(x, 2, 2, 1), (2, 3, 4)),
    ("unsqueeze_copy", lambda t, x: t.unsqueeze_copy(x, -1), (2, 3)),
    ("view_copy", lambda t, x: t.view_copy(x, (6, -1)), (2, 3, 4)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_view_copy_values_and_gradients_equal_torch(case):
    _, fn, *specs = case
    check_op(fn, *specs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_view_copy_shares_no_memory_with_its_input(case):
    _, fn, shape = case
    x = retrograd.randn(*shape, dtype=retrograd.float64)
    before = x.clone()
    outs = fn(retrograd, x)
    for out in outs if isinstance(outs, tuple) else (outs,):
        assert out._base is None and out.is_contiguous()
        assert not np.shares_memory(out.numpy(), x.numpy())
        out.fill_(7.0)
    assert retrograd.equal(x, before)


def test_view_copy_of_a_dtype_reads_the_bytes_as_torch():
    x = retrograd.tensor([1.0, -2.0])
    y = retrograd.view_copy(x, retrograd.int32)
    assert y.dtype == retrograd.int32 and y.tolist() == [1065353216, -1073741824]  # float32 1.0 and -2.0
    assert not np.shares_memory(y.numpy(), x.numpy())


def test_detach_copy_is_recorded_without_a_derivative_as_torch():
    x = retrograd.randn(3, requires_grad=True)
    y = retrograd.detach_copy(x)
    assert y.requires_grad and y.grad_fn.name() == "torch::autograd::NotImplemented"
    assert retrograd.equal(y.detach(), x.detach())
    with pytest.raises(RuntimeError, match="derivative for aten::detach_copy is not implemented"):
        y.sum().backward()


def test_out_of_a_single_result():
    x = retrograd.randn(2, 3, 4)
    out = retrograd.empty(4, 2, 3)
    assert retrograd.permute_copy(x, (2, 0, 1), out=out) is out
    assert retrograd.equal(out, x.permute(2, 0, 1))
    with pytest.raises(RuntimeError):
        retrograd.permute_copy(x, (2, 0, 1), out=retrograd.empty(4, 2, 3, dtype=retrograd.float64))


SEVERAL = [("split_copy", (2, 1)), ("split_with_sizes_copy", ([2, 1], 1)), ("unbind_copy", (1,))]


@pytest.mark.parametrize("name, args", SEVERAL)
def test_out_of_several_results_is_written_and_none_returned_as_torch(name, args):
    x = retrograd.randn(2, 3, 4, requires_grad=True)
    want = getattr(retrograd, name)(x, *args)
    outs = [retrograd.zeros(tuple(w.shape)) for w in want]
    assert getattr(retrograd, name)(x, *args, out=outs) is None
    for o, w in zip(outs, want):  # outside autograd
        assert not o.requires_grad and retrograd.equal(o, w.detach())
    with pytest.raises(RuntimeError, match="expected an out= argument of size"):
        getattr(retrograd, name)(x, *args, out=outs[:1])
    with pytest.raises(TypeError):
        getattr(retrograd, name)(x, *args, out=outs[0])


def _several_outs(m, name, args, case):
    """The outs of a case of test_out_of_several_results_matches_torch (and whether x requires grad)."""
    shapes = [tuple(p.shape) for p in getattr(m, name)(m.zeros(2, 3, 4), *args)]
    if case == "float64":
        return [m.zeros(s, dtype=m.float64) for s in shapes], False
    if case in ("shape 7", "shape 0"):
        return [m.zeros(int(case[-1])) for _ in shapes], False
    if case == "broadcast":  # a piece of one row copied into each row
        return [m.zeros((3,) + s[1:]) if s[0] == 1 else m.zeros(s) for s in shapes], False
    return [m.zeros(s, requires_grad=case == "out requires grad") for s in shapes], case == "input requires grad"


@requires_torch
@pytest.mark.parametrize("name, args", SEVERAL)
@pytest.mark.parametrize("case", ["float64", "shape 7", "shape 0", "broadcast", "out requires grad",
                                  "input requires grad"])
def test_out_of_several_results_matches_torch(name, args, case):
    """torch's three ops differ: split_copy writes as copy_ (converted, broadcast, never resized),
    the other two check dtypes and resize (with the warning), unbind_copy refuses an out requiring grad."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    results = []
    for m in (torch, retrograd):
        outs, grad = _several_outs(m, name, args, case)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                returned = getattr(m, name)(m.tensor(x, requires_grad=grad), *args, out=outs)
            except Exception as e:  # noqa: BLE001  the type is what is compared
                results.append(type(e))
                continue
        resized = sum("resized" in str(w.message) for w in caught)
        results.append((returned, resized, [(str(o.dtype).split(".")[-1], o.detach().numpy()) for o in outs]))
    t, r = results
    if isinstance(t, type):
        assert r is t
        return
    assert not isinstance(r, type), r
    assert r[:2] == t[:2]
    for (rd, rv), (td, tv) in zip(r[2], t[2]):
        assert rd == td
        np.testing.assert_array_equal(rv, tv)


ERRORS = [
    (lambda t, x: t.slice_copy(x, 1, 0, 3, 0), RuntimeError),
    (lambda t, x: t.slice_copy(x, 3), IndexError),
    (lambda t, x: t.select_copy(x, 1, 5), IndexError),
    (lambda t, x: t.view_copy(x, (5, 5)), RuntimeError),
    (lambda t, x: t.expand_copy(x, (3, 3, 4)), RuntimeError),
    (lambda t, x: t.permute_copy(x, (0, 1)), RuntimeError),
    (lambda t, x: t.split_copy(x, 2, 1, out=[t.empty(2, 2, 4), t.empty(2, 1, 4)] * 2), RuntimeError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_view_copies_raise_torchs_exception_types(case):
    fn, error = ERRORS[case]
    with pytest.raises(error):
        fn(retrograd, retrograd.ones(2, 3, 4))


@requires_torch
@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_torch_raises_the_same_types(case):
    fn, error = ERRORS[case]
    with pytest.raises(error):
        fn(torch, torch.ones(2, 3, 4))


def test_view_copies_batch_under_vmap_and_grad_as_a_loop():
    x = retrograd.randn(5, 3, 4, dtype=retrograd.float64)

    def f(a):
        return retrograd.permute_copy(a, (1, 0)).sum(0) * retrograd.select_copy(a, 1, 2)

    assert retrograd.allclose(retrograd.vmap(f)(x), retrograd.stack([f(a) for a in x]))
    g = retrograd.vmap(retrograd.func.grad(lambda a: f(a).sum()))(x)
    assert retrograd.allclose(g, retrograd.stack([retrograd.func.grad(lambda a: f(a).sum())(a) for a in x]))

