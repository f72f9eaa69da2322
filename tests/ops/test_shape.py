"""Shape ops: gradcheck + gradgradcheck + torch comparison, one line per op; hypothesis for reshaping."""

import numpy as np
import pytest
from tests.properties import given, settings, st

import retrograd
from retrograd.ops.shape import pad as rg_pad
from tests.helpers import check_op, requires_torch, torch


def _pad(t, *args, **kw):
    return (rg_pad if t is retrograd else t.nn.functional.pad)(*args, **kw)


CASES = [
    ("reshape", lambda t, x: t.reshape(x, (4, 3)), (3, 4)),
    ("reshape_infer", lambda t, x: x.reshape(-1, 2), (3, 4)),
    ("reshape_0dim", lambda t, x: x.reshape(1, 1), ()),
    ("reshape_empty", lambda t, x: x.reshape(0, 5), (5, 0)),
    ("view_as", lambda t, x: x.view_as(t.zeros(12, dtype=t.float64)), (3, 4)),
    ("flatten", lambda t, x: t.flatten(x, 1), (2, 3, 2)),
    ("flatten_neg", lambda t, x: x.flatten(-2, -1), (2, 3, 2)),
    ("flatten_0dim", lambda t, x: x.flatten(), ()),
    ("unflatten", lambda t, x: t.unflatten(x, 1, (2, -1)), (2, 6)),
    ("unflatten_neg", lambda t, x: x.unflatten(-1, (3, 2)), (2, 6)),
    ("movedim", lambda t, x: t.movedim(x, 0, -1), (2, 3, 4)),
    ("movedim_multi", lambda t, x: t.movedim(x, (0, 1), (2, 0)), (2, 3, 4)),
    ("moveaxis", lambda t, x: t.moveaxis(x, -1, 0), (2, 3, 4)),
    ("transpose", lambda t, x: x.transpose(0, -1), (2, 3, 4)),
    ("permute", lambda t, x: x.permute(2, 0, 1), (2, 3, 4)),
    ("squeeze_unsqueeze", lambda t, x: x.unsqueeze(-1).squeeze(0), (1, 3)),
    ("broadcast_to", lambda t, x: t.broadcast_to(x, (2, 3, 4)), (3, 1)),
    ("broadcast_to_0dim", lambda t, x: t.broadcast_to(x, (2, 3)), ()),
    ("expand", lambda t, x: x.expand(2, -1, 4), (3, 1)),
    ("repeat", lambda t, x: x.repeat(2, 3), (2, 2)),
    ("repeat_newdims", lambda t, x: x.repeat(2, 1, 2), (3,)),
    ("repeat_0dim", lambda t, x: x.repeat(3), ()),
    ("repeat_empty", lambda t, x: x.repeat(2, 0), (2, 2)),
    ("repeat_interleave", lambda t, x: t.repeat_interleave(x, 2), (2, 3)),
    ("repeat_interleave_dim", lambda t, x: x.repeat_interleave(2, dim=-1), (2, 3)),
    ("repeat_interleave_tensor", lambda t, x: x.repeat_interleave(t.tensor([1, 0, 3]), dim=1), (2, 3)),
    ("tile", lambda t, x: t.tile(x, (2,)), (2, 3)),
    ("tile_more", lambda t, x: x.tile((2, 1, 2)), (2, 3)),
    ("flip", lambda t, x: t.flip(x, (0, -1)), (2, 3, 2)),
    ("flip_0dim", lambda t, x: t.flip(x, ()), ()),
    ("fliplr", lambda t, x: t.fliplr(x), (2, 3)),
    ("flipud", lambda t, x: t.flipud(x), (2, 3)),
    ("rot90", lambda t, x: t.rot90(x, 1, (0, 1)), (2, 3)),
    ("rot90_k3", lambda t, x: t.rot90(x, -1, (1, 0)), (2, 3)),
    ("roll", lambda t, x: t.roll(x, 2), (2, 3)),
    ("roll_dims", lambda t, x: t.roll(x, (1, -1), (0, -1)), (2, 3)),
    ("narrow", lambda t, x: t.narrow(x, -1, 1, 2), (2, 4)),
    ("narrow_negstart", lambda t, x: x.narrow(0, -2, 2), (3, 2)),
    ("select", lambda t, x: t.select(x, 1, -1), (2, 3)),
    ("atleast_1d", lambda t, x: t.atleast_1d(x), ()),
    ("atleast_2d", lambda t, x: t.atleast_2d(x), (3,)),
    ("atleast_3d", lambda t, x: t.atleast_3d(x), (3,)),
    ("atleast_3d_2d", lambda t, x: t.atleast_3d(x), (2, 3)),
    ("ravel", lambda t, x: t.ravel(x.t()), (2, 3)),
    ("t", lambda t, x: x.t(), (2, 3)),
    ("mT", lambda t, x: x.mT, (2, 2, 3)),
    ("unfold", lambda t, x: x.unfold(1, 2, 2), (2, 5)),
    ("unfold_overlap", lambda t, x: x.unfold(-1, 3, 1), (4,)),
    ("pad_constant", lambda t, x: _pad(t, x, (1, 2, 0, 1), value=0.5), (2, 3)),
    ("pad_crop", lambda t, x: _pad(t, x, (-1, 2)), (2, 3)),
    ("pad_reflect", lambda t, x: _pad(t, x, (2, 1), mode="reflect"), (1, 2, 4)),
    ("pad_reflect_2d", lambda t, x: _pad(t, x, (1, 1, 2, 0), mode="reflect"), (1, 1, 3, 3)),
    ("pad_replicate", lambda t, x: _pad(t, x, (2, 1, 1, 2), mode="replicate"), (1, 1, 2, 3)),
    ("pad_circular", lambda t, x: _pad(t, x, (2, 1), mode="circular"), (1, 2, 3)),
    ("pad_circular_2d", lambda t, x: _pad(t, x, (1, 1, 1, 0), mode="circular"), (1, 1, 2, 3)),
]


@pytest.mark.parametrize("name,fn,shape", CASES, ids=[c[0] for c in CASES])
def test_shape_op(name, fn, shape):
    check_op(fn, shape)


def test_views_share_memory():
    x = retrograd.arange(12.0).reshape(3, 4)
    for v in (x.narrow(1, 1, 2), x.select(0, 1), x.movedim(0, 1), x.unflatten(1, (2, 2)),
              retrograd.broadcast_to(x, (2, 3, 4))):
        assert np.shares_memory(v._data, x._data)
    x.narrow(1, 0, 1).mul_(0)
    assert x[:, 0].tolist() == [0, 0, 0]


def test_inplace_through_narrow_is_differentiable():
    a = retrograd.ones(3, 4, requires_grad=True)
    y = a * 2
    y.narrow(0, 1, 1).mul_(3)
    y.sum().backward()
    assert a.grad.tolist() == [[2] * 4, [6] * 4, [2] * 4]


def test_repeat_interleave_counts():
    out = retrograd.repeat_interleave(retrograd.tensor([2, 0, 1]))
    assert out.tolist() == [0, 0, 2] and out.dtype == retrograd.int64


@pytest.mark.parametrize("fn,exc", [
    (lambda x: x.repeat(2), RuntimeError),
    (lambda x: x.narrow(0, 2, 2), RuntimeError),
    (lambda x: x.select(0, 3), IndexError),
    (lambda x: x.flip(0, 0), RuntimeError),
    (lambda x: x.movedim(0, 5), IndexError),
    (lambda x: x.roll((1, 2), 0), RuntimeError),
    (lambda x: rg_pad(x, (3, 3), mode="reflect"), RuntimeError),
    (lambda x: rg_pad(x, (1,)), RuntimeError),
    (lambda x: x.unflatten(1, (2, 3)), RuntimeError),
])
def test_shape_errors(fn, exc):
    with pytest.raises(exc):
        fn(retrograd.zeros(3, 2))


@st.composite
def _reshape_case(draw):
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4))
    n = int(np.prod(shape))
    factors = [d for d in range(1, n + 1) if n % d == 0] if n else [0]
    first = draw(st.sampled_from(factors))
    new = (first, -1) if first else (0, draw(st.integers(1, 3)))
    perm = draw(st.permutations(range(len(shape))))
    return tuple(shape), new, tuple(perm)


@settings(max_examples=25, deadline=None)
@given(_reshape_case())
def test_reshape_permute_property(case):
    shape, new, perm = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = retrograd.tensor(a, requires_grad=True)
    y = x.permute(*perm).reshape(new) if perm else x.reshape(new)
    expect = a.transpose(perm).reshape(new) if perm else a.reshape(new)
    np.testing.assert_array_equal(y.detach().numpy(), expect)
    y.backward(retrograd.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))
    z = x.flatten()
    assert z.shape == (a.size,)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_movedim_flip_roll_match_torch(shape, data):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    n = len(shape)
    src = data.draw(st.integers(-n, n - 1))
    dst = data.draw(st.integers(-n, n - 1))
    shift = data.draw(st.integers(-4, 4))
    for f in (lambda t, x: t.movedim(x, src, dst), lambda t, x: t.flip(x, (src,)),
              lambda t, x: t.roll(x, shift, dst), lambda t, x: t.roll(x, shift)):
        np.testing.assert_array_equal(f(retrograd, retrograd.tensor(a)).numpy(),
                                      f(torch, torch.tensor(a)).numpy())


FLIP_CALLS = [  # torch's spellings of flip: torch.flip(input, dims) and Tensor.flip(*dims)
    ("keyword", lambda t, x: t.flip(x, dims=(0,)), [[3, 4, 5], [0, 1, 2]]),
    ("keywords", lambda t, x: t.flip(input=x, dims=[1]), [[2, 1, 0], [5, 4, 3]]),
    ("tuple", lambda t, x: t.flip(x, (0, 1)), [[5, 4, 3], [2, 1, 0]]),
    ("method_keyword", lambda t, x: x.flip(dims=[1]), [[2, 1, 0], [5, 4, 3]]),
    ("method_ints", lambda t, x: x.flip(0, 1), [[5, 4, 3], [2, 1, 0]]),
    ("method_list", lambda t, x: x.flip([0]), [[3, 4, 5], [0, 1, 2]]),
    ("no_dims", lambda t, x: t.flip(x, ()), [[0, 1, 2], [3, 4, 5]]),
    ("int_dims", lambda t, x: t.flip(x, 0), TypeError),  # torch.flip's dims is a tuple
    ("two_ints", lambda t, x: t.flip(x, 0, 1), TypeError),
    ("missing", lambda t, x: t.flip(x), TypeError),
    ("method_missing", lambda t, x: x.flip(), TypeError),
    ("method_int_keyword", lambda t, x: x.flip(dims=1), TypeError),
    ("method_twice", lambda t, x: x.flip(0, dims=1), TypeError),
]


@pytest.mark.parametrize("name,fn,expected", FLIP_CALLS, ids=[c[0] for c in FLIP_CALLS])
def test_flip_takes_torchs_arguments(name, fn, expected):
    for t in (retrograd,) if torch is None else (retrograd, torch):
        x = t.arange(6).reshape(2, 3)
        if isinstance(expected, list):
            assert fn(t, x).tolist() == expected
        else:
            with pytest.raises(expected):
                fn(t, x)


PAD_EDGES = [  # (shape, pad, mode, torch's result: a shape or the exception type)
    ((2, 0, 3), (1, 1), "replicate", RuntimeError),  # replicate/reflect: only the batch dim may be 0
    ((2, 3, 0), (1, 1), "replicate", RuntimeError),
    ((0, 3), (1, 1), "replicate", RuntimeError),  # unbatched: no dim may be 0
    ((1, 0, 2, 3), (1, 1, 1, 1), "replicate", RuntimeError),
    ((2, 0, 3), (1, 1), "reflect", RuntimeError),
    ((0, 3, 4), (1, 1, 1, 1), "reflect", RuntimeError),
    ((0, 3, 4), (1, 1), "replicate", (0, 3, 6)),
    ((0, 2, 2, 2), (1, 1, 1, 1, 1, 1), "replicate", RuntimeError),
    ((2, 0, 3), (1, 1), "circular", (2, 0, 5)),
    ((2, 3, 4, 5), (1, 1), "replicate", NotImplementedError),  # 1-3 padded dims, batched or not
    ((3,), (1, 1), "replicate", NotImplementedError),
    ((2, 3), (1, 1, 1, 1), "reflect", NotImplementedError),
    ((2, 3, 4, 5, 6, 7), (1, 1, 1, 1, 1, 1), "circular", NotImplementedError),
    ((3, 4, 5, 6), (1, 1, 1, 1, 1, 1), "circular", (3, 6, 7, 8)),
]


@pytest.mark.parametrize("shape,pad,mode,expected", PAD_EDGES)
def test_pad_raises_where_torch_raises(shape, pad, mode, expected):
    for t in (retrograd,) if torch is None else (retrograd, torch):
        x = t.zeros(*shape)
        if isinstance(expected, tuple):
            assert tuple(t.nn.functional.pad(x, pad, mode=mode).shape) == expected
        else:
            with pytest.raises(expected):
                t.nn.functional.pad(x, pad, mode=mode)


@pytest.mark.parametrize("args", [(1, 1, 2), (0, 0, 3), (1, 4, 0)])  # (torch's backward fails for start < 0)
def test_narrow_copy(args):
    check_op(lambda t, x: t.narrow_copy(x, *args), (3, 4))
    x = retrograd.arange(12.0).reshape(3, 4)
    y = x.narrow_copy(*args)
    assert y.data_ptr() != x.data_ptr() or y.numel() == 0  # a copy, not narrow's view


def test_narrow_copy_errors():
    assert retrograd.narrow_copy(retrograd.arange(6.0), 0, -2, 2).tolist() == [4.0, 5.0]
    x = retrograd.zeros(3, 4)
    with pytest.raises(RuntimeError, match="start \\(3\\) \\+ length \\(2\\) exceeds dimension size \\(4\\)"):
        retrograd.narrow_copy(x, 1, 3, 2)
    with pytest.raises(IndexError):
        retrograd.narrow_copy(x, 2, 0, 1)


def test_in_place_view_ops_reshape_the_tensor_itself():
    x = retrograd.arange(6.0).view(2, 3)
    assert x.t_() is x and x.shape == (3, 2) and x.stride() == (1, 3) and x.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert x.transpose_(0, 1).shape == (2, 3) and x.is_contiguous()
    assert x.unsqueeze_(axis=0).shape == (1, 2, 3) and x.squeeze_(0).shape == (2, 3)
    assert x.swapaxes_(0, 1).shape == (3, 2) and x.swapdims_(0, 1).shape == (2, 3)
    assert retrograd.zeros(1, 2, 1).squeeze_().shape == (2,)
    assert x.swapaxes(axis0=0, axis1=1).shape == (3, 2)  # NumPy's names, as torch's swapaxes
    assert x._version == 6


def test_in_place_view_of_a_view_still_writes_into_its_base():
    base = retrograd.zeros(2, 3)
    row = base[0]
    row.unsqueeze_(0)
    assert row.shape == (1, 3) and row._base is base
    row.fill_(1.0)
    assert base.tolist() == [[1, 1, 1], [0, 0, 0]]


def test_in_place_view_ops_record_the_view_for_backward():
    x = retrograd.ones(2, 3, requires_grad=True)
    y = x * 2
    y.unsqueeze_(0)
    assert y.grad_fn.name().startswith("UnsqueezeBackward") and y._version == 1
    (y * retrograd.arange(6.0).view(1, 2, 3)).sum().backward()
    assert x.grad.tolist() == [[0, 2, 4], [6, 8, 10]]
    x.grad = None
    b = x * 1
    v = b[1]
    v.unsqueeze_(0)
    v.mul_(5)  # through the in-place-made view into b's graph
    b.sum().backward()
    assert x.grad.tolist() == [[1, 1, 1], [5, 5, 5]]


def test_in_place_view_ops_refuse_leaves_and_invalidate_saved_values():
    leaf = retrograd.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.unsqueeze_(0)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        leaf[0].unsqueeze_(0)
    with retrograd.no_grad():
        leaf.t_()  # allowed, and the leaf stays a leaf
    assert leaf.is_leaf and leaf.requires_grad and leaf.shape == (3, 2)
    y = leaf * 2
    w = y * y  # saves y
    y.squeeze_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()


@pytest.mark.parametrize("size", [(1, 3), ((2, 1),), (3,), ((1, 1),), ((2, 3),)])
def test_sum_to_size_matches_torch(size):
    check_op(lambda t, x: x.sum_to_size(*size), (2, 3))


def test_sum_to_size_refuses_a_size_input_does_not_broadcast_from():
    x = retrograd.zeros(2, 3)
    for size in ((2, 2), (1, 2, 3)):
        with pytest.raises(RuntimeError, match="is not expandable to size"):
            x.sum_to_size(*size)
    with pytest.raises(TypeError, match="size"):
        x.sum_to_size()


@pytest.mark.parametrize("source, shape, target", [("float32", (4,), "int32"), ("float32", (2, 4), "float64"),
                                                   ("float32", (3,), "uint8"), ("float64", (2,), "float16"),
                                                   ("uint8", (3,), "bool"), ("float32", (), "int32")])
def test_view_as_a_dtype_reads_the_same_bytes(source, shape, target):
    a = np.arange(1, 1 + int(np.prod(shape)), dtype=source).reshape(shape)
    x = retrograd.tensor(a)
    y = x.view(getattr(retrograd, target))
    expected = a.view(np.dtype(target))
    assert y.dtype == getattr(retrograd, target) and tuple(y.shape) == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)


def test_view_as_a_dtype_shares_memory_and_refuses_what_torch_refuses():
    z = retrograd.zeros(2)
    z.view(retrograd.int32)[0] = 1065353216  # the bits of 1.0f
    assert z.tolist() == [1.0, 0.0]
    assert not retrograd.ones(2, requires_grad=True).view(retrograd.int32).requires_grad
    for x, message in [(retrograd.ones(3), r"self.size\(-1\) must be divisible by 2 to view Float as Double"),
                       (retrograd.ones(2, 4).t(), r"self.stride\(-1\) must be 1"),
                       (retrograd.ones(()), r"self.dim\(\) cannot be 0"),
                       (retrograd.ones(5)[1:], r"self.storage_offset\(\) must be divisible by 2"),
                       (retrograd.ones(2, 3)[:, :2], r"self.stride\(0\) must be divisible by 2")]:
        with pytest.raises(RuntimeError, match=message):
            x.view(retrograd.float64)


def _views_in_place(v):
    y = v.clone()
    y.unsqueeze_(0)
    y.transpose_(0, 2)
    y.squeeze_(2)
    y.t_()
    y.swapdims_(0, 1)
    y.unsqueeze_(-1)
    y.squeeze_()
    return y * retrograd.arange(1.0, 1 + y.shape[-1], dtype=v.dtype)


@pytest.mark.parametrize("batch", [1, 2])
def test_in_place_view_ops_inside_vmap_equal_a_loop_and_torch(batch):
    """Inside vmap the view op's batching rule runs and the batch's tensor becomes that view (the batch
    dim stays first: squeeze_() of a batch of 1 keeps it), as torch's vmap; gradients through it too."""
    from retrograd.func import grad, vmap

    x = retrograd.tensor(np.arange(batch * 12.0).reshape(batch, 3, 4))
    out = vmap(_views_in_place)(x)
    loop = retrograd.stack([_views_in_place(s) for s in x])
    np.testing.assert_array_equal(out.numpy(), loop.numpy())
    g = vmap(grad(lambda v: _views_in_place(v).pow(2).sum()))(x)
    g_loop = retrograd.stack([grad(lambda v: _views_in_place(v).pow(2).sum())(s) for s in x])
    np.testing.assert_array_equal(g.numpy(), g_loop.numpy())
    if torch is not None and batch > 1:  # (torch 2.13's squeeze_() in vmap drops a batch dim of 1, unlike its squeeze())
        def theirs(v):
            y = v.clone()
            y.unsqueeze_(0); y.transpose_(0, 2); y.squeeze_(2); y.t_(); y.swapdims_(0, 1)  # noqa: E702
            y.unsqueeze_(-1); y.squeeze_()  # noqa: E702
            return y * torch.arange(1.0, 1 + y.shape[-1], dtype=v.dtype)

        t = torch.tensor(x.numpy())
        np.testing.assert_array_equal(out.numpy(), torch.func.vmap(theirs)(t).numpy())
        np.testing.assert_array_equal(
            g.numpy(), torch.func.vmap(torch.func.grad(lambda v: theirs(v).pow(2).sum()))(t).numpy())


# expand's errors as torch's RuntimeErrors (a -1 for a new leading dim raised IndexError 'tuple index
# out of range'; a mismatch at a non-singleton dim named no dimension): (expression, shape or message start)
EXPAND_CASES = [
    ("lib.tensor(0.).expand(2, -1)", RuntimeError), ("lib.tensor(0.).expand(-1)", RuntimeError),
    ("lib.ones(2, 3).expand(-1, 2, 3)",
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    ("lib.ones(2, 3).expand(3)", "expand(torch.FloatTensor{[2, 3]}, size=[3]): the number of sizes provided (1) "
                                 "must be greater or equal to the number of dimensions in the tensor (2)"),
    ("lib.ones(2, 3).expand(4, 3)", "The expanded size of the tensor (4) must match the existing size (2) at "
                                    "non-singleton dimension 0.  Target sizes: [4, 3].  Tensor sizes: [2, 3]"),
    ("lib.ones(2, 3).expand(2, -2)", "The expanded size of the tensor (-2) must match the existing size (3) at "
                                     "non-singleton dimension 1.  Target sizes: [2, -2].  Tensor sizes: [2, 3]"),
    ("lib.ones(3).expand(-2, 3)", RuntimeError), ("lib.ones(1, 3).expand(-2, 3)", RuntimeError),
    ("lib.ones(1, 3).expand(-1, 3)", (1, 3)), ("lib.ones(1, 3).expand(0, 3)", (0, 3)),
    ("lib.ones(2, 1).expand(5, -1, 4)", (5, 2, 4)),
]


def _expand_outcome(lib, expression, expected):
    try:
        return tuple(eval(expression, {"lib": lib}).shape)
    except RuntimeError as e:
        return str(e)[:len(expected)] if isinstance(expected, str) else RuntimeError


@pytest.mark.parametrize("expression, expected", EXPAND_CASES)
def test_expand_errors_as_torch(expression, expected):
    assert _expand_outcome(retrograd, expression, expected) == expected


@requires_torch
def test_expand_outcomes_are_torchs():
    assert [_expand_outcome(torch, e, x) for e, x in EXPAND_CASES] == [x for _, x in EXPAND_CASES]


_VIEW_NODES = {  # torch 2.13's node names
    "z.squeeze_()": "SqueezeBackward3", "z.squeeze_(1)": "SqueezeBackward4", "z.squeeze_((1,))": "SqueezeBackward5",
    "z.transpose_(0, 2)": "TransposeBackward1", "z.swapdims_(0, 1)": "TransposeBackward1",
    "z.swapaxes_(0, 2)": "TransposeBackward1", "z.unsqueeze_(-1)": "UnsqueezeBackward1",
    "z[0, 0].t_()": "TBackward1", "z = z.squeeze((1,))": "SqueezeBackward2", "z = z[0, 0].t()": "TBackward0",
    "z = z[0, 0, 0].t()": "TBackward0",
}


@pytest.mark.parametrize("code", list(_VIEW_NODES))
def test_view_op_node_names_as_torch(code):
    """The in-place view ops record torch's *Backward1/3/4/5 nodes (they had the out-of-place op's),
    squeeze of a tuple of dims SqueezeBackward2 and t() of a 1-D or 0-D tensor TBackward0 (it was a
    ViewBackward0)."""
    def run(lib):
        env = {"z": lib.ones(2, 1, 2, requires_grad=True) * 1}
        if code.startswith("z[0, 0].t_"):
            env["z"] = env["z"][0, 0] * 1
            exec("z.t_()", env)
        else:
            exec(code, env)
        return env["z"].grad_fn.name()

    assert run(retrograd) == _VIEW_NODES[code]
    if torch is not None:
        assert run(torch) == _VIEW_NODES[code]


def test_T_of_other_than_one_or_two_dims_warns_once_as_torch(monkeypatch):
    """torch deprecates x.T that reverses 3 or more dims, and x.T of a 0-D tensor (once per process each)."""
    import warnings

    monkeypatch.setattr("retrograd._warn_once._seen", set())
    x = retrograd.ones(2, 3, 4)
    with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
        assert x.T.shape == (4, 3, 2)
    with pytest.warns(UserWarning, match="Tensor.T is deprecated on 0-D tensors"):
        retrograd.ones(()).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.T  # (once)
        retrograd.ones(3).T
        retrograd.ones(2, 3).T
