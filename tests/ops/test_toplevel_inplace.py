"""torch's top-level in-place functions (ops/toplevel_inplace.py): each writes into its input and
returns it, with torch's values (recorded without torch); the Tensor methods added with them
(addmv_, gcd_, lcm_, ldexp_); torch.fill and torch.embedding_renorm_."""

import numpy as np
import pytest

import retrograd
from retrograd.ops.toplevel_inplace import _METHODS
from tests.helpers import requires_torch, torch
from tests.reference.store import reference

POS = np.array([[0.2, 0.5, 0.9], [0.3, 0.7, 0.1]], dtype=np.float32)
INTS = np.array([[4, 6, 9], [12, 5, 0]])


def _args(t, name):
    """(input, args, kwargs) of each in-place call, in module t."""
    x = t.tensor(POS)
    special = {
        "acosh_": (t.tensor(POS + 1), (), {}), "arccosh_": (t.tensor(POS + 1), (), {}),
        "addmv_": (x[0].clone(), (t.ones(3, 2), t.tensor([1.0, 2.0])), {"beta": 0.5}),
        "clamp_": (x, (0.3, 0.6), {}), "clip_": (x, (), {"max": 0.5}), "clamp_max_": (x, (0.4,), {}),
        "clamp_min_": (x, (0.4,), {}), "fill_": (x, (1.5,), {}), "logit_": (x, (0.25,), {}),
        "gcd_": (t.tensor(INTS), (t.tensor([6, 4, 3]),), {}), "lcm_": (t.tensor(INTS), (t.tensor([6, 4, 3]),), {}),
        "ldexp_": (x, (t.tensor([1, 2, -1]),), {}), "xlogy_": (x, (t.tensor(POS[::-1].copy()),), {}),
        "index_put_": (x, ((t.tensor([0, 1]), t.tensor([2, 0])), t.tensor([7.0, 8.0])), {"accumulate": True}),
        "nan_to_num_": (t.tensor([[np.nan, np.inf, -1.0]]), (), {"posinf": 9.0}),
        "round_": (t.tensor(POS * 10), (), {"decimals": 1}),
    }
    return special.get(name, (x, (), {}))


@pytest.mark.parametrize("name", _METHODS)
def test_top_level_inplace_writes_into_its_input(name):
    def compute():
        x, args, kwargs = _args(torch, name)
        out = getattr(torch, name)(x, *args, **kwargs)
        assert out is x
        return x.numpy().copy(), str(x.dtype)

    want, dtype = reference(compute, inputs=[name])
    x, args, kwargs = _args(retrograd, name)
    version = x._version
    out = getattr(retrograd, name)(x, *args, **kwargs)
    assert out is x and str(x.dtype) == dtype
    if name != "detach_":
        assert x._version > version
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-6, atol=1e-7)


def test_top_level_inplace_checks_as_the_method():
    leaf = retrograd.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        retrograd.sigmoid_(leaf)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        retrograd.exp_(retrograd.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        retrograd.tensor([1, 2]).ldexp_(retrograd.tensor([1, 1]))
    x = retrograd.tensor([0.5, 2.0], requires_grad=True)
    y = x * 1
    retrograd.exp_(y)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 2.0]), rtol=1e-6)


@pytest.mark.parametrize("lib", ["retrograd", pytest.param("torch", marks=requires_torch)])
def test_fill(lib):
    t = retrograd if lib == "retrograd" else torch
    assert t.fill(t.tensor([1, 2]), 2.7).tolist() == [2, 2]
    assert t.fill(t.zeros(2), t.tensor(3)).dtype == t.float32
    x, v = t.zeros(3, requires_grad=True), t.tensor(2.0, requires_grad=True)
    y = t.fill(x, v)
    (y * t.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert y.tolist() == [2.0, 2.0, 2.0] and v.grad.item() == 6.0 and x.grad.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="only supports 0-dimension value tensor but got tensor with 1 dimensions"):
        t.fill(t.zeros(2), t.ones(2))


@pytest.mark.parametrize("lib", ["retrograd", pytest.param("torch", marks=requires_torch)])
def test_embedding_renorm_(lib):
    t = retrograd if lib == "retrograd" else torch
    w = t.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    assert t.embedding_renorm_(w, t.tensor([[0, 1]]), 1.0, 2.0) is w
    np.testing.assert_allclose(w.numpy(), [[0.6, 0.8], [0.3, 0.4], [6.0, 8.0]], rtol=1e-6)
    t.embedding_renorm_(w, t.tensor([2]), 2.0, float("inf"))
    np.testing.assert_allclose(w[2].numpy(), [1.5, 2.0], rtol=1e-6)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        t.embedding_renorm_(t.zeros(2, 2, requires_grad=True), t.tensor([0]), 1.0, 2.0)
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar types: Long, Int"):
        t.embedding_renorm_(w, t.tensor([0.0]), 1.0, 2.0)
    with pytest.raises(IndexError):
        t.embedding_renorm_(w, t.tensor([9]), 1.0, 2.0)


@requires_torch
def test_every_top_level_inplace_name_of_torch_is_there():
    """Each in-place name at torch's top level whose Tensor method retrograd has is a function here."""
    names = [n for n in dir(torch) if n.endswith("_") and not n.startswith("_") and hasattr(retrograd.Tensor, n)
             and callable(getattr(torch, n))]
    assert [n for n in names if not hasattr(retrograd, n)] == []


MATS = {"a": np.array([[1.0, -2.0], [0.5, 3.0]]), "b": np.array([[0.0, 1.0], [2.0, -1.0]])}


@pytest.mark.parametrize("name, args, kwargs", [
    ("addmm_", ("a", "b"), {"beta": 0.5, "alpha": 2}),
    ("addbmm_", ("a3", "b3"), {"beta": 0.5}),
    ("baddbmm_", ("a3", "b3"), {"alpha": 2}),
    ("addr_", ("v", "v"), {"beta": 2}),
    ("copysign_", ("b",), {}),
    ("heaviside_", ("b",), {}),
    ("nextafter_", ("b",), {}),
])
def test_in_place_methods_write_the_ops_result(name, args, kwargs):
    def make(key):
        if key == "v":
            return retrograd.tensor([1.0, -1.0])
        return retrograd.tensor(MATS[key[0]]).expand(2, 2, 2) if key.endswith("3") else retrograd.tensor(MATS[key])

    x = retrograd.tensor(MATS["a"]) if name not in ("baddbmm_",) else retrograd.tensor(MATS["a"]).expand(2, 2, 2).clone()
    expected = getattr(retrograd, name[:-1])(x, *map(make, args), **kwargs)
    got = getattr(x, name)(*map(make, args), **kwargs)
    assert got is x and x._version == 1
    np.testing.assert_array_equal(x.numpy(), expected.numpy())


@requires_torch
def test_in_place_methods_are_torchs():
    for name in ("addmm_", "addbmm_", "baddbmm_", "addr_", "copysign_", "heaviside_", "nextafter_"):
        assert hasattr(torch.Tensor, name) and hasattr(retrograd.Tensor, name), name
