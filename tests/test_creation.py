"""Creation functions with torch's dtype inference, and seeded random generators."""

import math
import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import requires_torch, torch
from tests.reference.store import reference

# expressions evaluated with retrograd and torch (when installed): same dtype, shape, values
DETERMINISTIC = [
    "tensor([1, 2, 3])", "tensor([1, 2.])", "tensor([True, 2])", "tensor([True, False])",
    "tensor([])", "tensor([[]])", "tensor(2.5)", "tensor(3)", "tensor(True)",
    "tensor(np.array([1, 2], dtype=np.int32))", "tensor(np.array([1, 2], dtype=np.float64))",
    "tensor(np.float64(2.5))", "tensor(np.int32(2))", "tensor([np.float64(1.0), 2])",
    "tensor([np.float32(1.0), 2.5])", "tensor([np.int32(1), 2])", "tensor([np.int32(1)])",
    "tensor([np.int8(1), np.uint8(2)])", "tensor([tensor(1.0), tensor(2.0)])",
    "tensor([1, 2], dtype=float64)", "tensor([1.7, -2.7], dtype=int64)",
    "as_tensor([1, 2])", "as_tensor(np.array([1.0, 2.0]))", "as_tensor([1, 2], dtype=float16)",
    "zeros(2, 3)", "zeros((2, 3))", "zeros([2, 3], dtype=int64)", "zeros(())", "ones(2)",
    "ones(2, 1, dtype=bool)", "full((2,), 3)", "full((2,), 3.0)", "full((2,), True)",
    "full((2,), 3, dtype=float32)", "full([2], tensor(2.0))", "full((), 7)",
    "arange(5)", "arange(1, 5)", "arange(1, 5, 2)", "arange(0, 1, 0.25)", "arange(5.0)",
    "arange(5, dtype=float32)", "arange(tensor(3))", "arange(1, 2.5, 0.5)", "arange(0, -3, -1)",
    "arange(0.0, 1.0, 0.1)", "arange(10, 0, -3)",
    "linspace(0, 1, 5)", "linspace(0, 1, 1)", "linspace(-2, 2, 4, dtype=float64)",
    "linspace(0, 10, 3, dtype=int64)", "logspace(0, 2, 3)",
    "eye(3)", "eye(2, 3)", "eye(2, dtype=int64)",
    "zeros_like(tensor([1, 2]))", "ones_like(tensor([1.0, 2.0]), dtype=float64)",
    "full_like(tensor([1, 2]), 2.7)", "full_like(tensor([1.0, 2.0]), 7)",
    "scalar_tensor(3)",
]


def _ns(module):
    names = ["tensor", "as_tensor", "zeros", "ones", "full", "arange", "linspace", "logspace",
             "eye", "zeros_like", "ones_like", "full_like", "scalar_tensor", "float64",
             "float32", "float16", "int64", "bool"]
    ns = {k: getattr(module, k) for k in names}
    ns["np"] = np
    return ns


@pytest.mark.parametrize("expr", DETERMINISTIC)
def test_creation_matches_torch(expr):
    out = eval(expr, _ns(retrograd))
    assert isinstance(out, retrograd.Tensor)
    assert out.is_leaf and not out.requires_grad
    if torch is None:
        return
    ref = eval(expr, _ns(torch))
    assert str(out.dtype) == str(ref.dtype)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(np.asarray(out.tolist(), dtype=np.float64),
                               np.asarray(ref.tolist(), dtype=np.float64), rtol=1e-6)


def test_known_inferred_dtypes_without_torch():
    T = retrograd
    assert T.tensor([1, 2]).dtype is T.int64
    assert T.tensor([1, 2.0]).dtype is T.float32
    assert T.tensor([True, False]).dtype is T.bool
    assert T.tensor([]).dtype is T.float32
    assert T.tensor([np.float64(1.0), 2]).dtype is T.float64
    assert T.full((2,), 3).dtype is T.int64
    assert T.full((2,), True).dtype is T.bool
    assert T.arange(5).dtype is T.int64 and T.arange(5.0).dtype is T.float32
    assert T.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]


ERRORS = [
    ("tensor([[1, 2], [3]])", ValueError),
    ("tensor('a')", TypeError),
    ("zeros(-1)", RuntimeError),
    ("arange(0, 5, 0)", RuntimeError),
    ("arange(10, 0)", RuntimeError),
    ("tensor(2, requires_grad=True)", RuntimeError),
    ("zeros(2, dtype=int64, requires_grad=True)", RuntimeError),
]


@pytest.mark.parametrize("expr,exc", ERRORS)
def test_creation_errors_like_torch(expr, exc):
    with pytest.raises(exc):
        eval(expr, _ns(retrograd))
    if torch is not None:
        with pytest.raises(exc):
            eval(expr, _ns(torch))


def test_requires_grad_and_device_arguments():
    for fn in (lambda **k: retrograd.zeros(2, **k), lambda **k: retrograd.ones(2, **k),
               lambda **k: retrograd.tensor([1.0], **k), lambda **k: retrograd.randn(2, **k),
               lambda **k: retrograd.full((2,), 1.0, **k), lambda **k: retrograd.empty(2, **k),
               lambda **k: retrograd.arange(3.0, **k), lambda **k: retrograd.linspace(0, 1, 3, **k)):
        t = fn(requires_grad=True, device="cpu")
        assert t.requires_grad and t.is_leaf and t.device == retrograd.device("cpu")
    assert repr(retrograd.device("cpu")) == "device(type='cpu')"
    assert str(retrograd.device("cuda", 1)) == "cuda:1"


def test_tensor_copies_but_from_numpy_and_as_tensor_share_memory():
    a = np.array([1.0, 2.0])
    copied, shared, as_t = retrograd.tensor(a), retrograd.from_numpy(a), retrograd.as_tensor(a)
    a[0] = 9.0
    assert copied.tolist() == [1.0, 2.0]
    assert shared.tolist() == [9.0, 2.0] and as_t.tolist() == [9.0, 2.0]
    shared[1] = 7.0
    assert a[1] == 7.0
    assert shared.dtype is retrograd.float64
    with pytest.raises(TypeError):
        retrograd.from_numpy([1, 2])
    t = retrograd.tensor([1.0, 2.0])
    assert retrograd.as_tensor(t) is t


def test_as_tensor_of_an_array_copies_for_an_indexed_cpu_device():
    # torch 2.13: as_tensor(a, device='cpu') shares a's memory, device='cpu:0' copies (a CPU tensor's device
    # is 'cpu', without an index, so 'cpu:0' is a move, as Tensor.to('cpu:0') is)
    for device, shares in [(None, True), ("cpu", True), (retrograd.device("cpu"), True), ("cpu:0", False),
                           (retrograd.device("cpu", 0), False)]:
        a = np.array([1.0, 2.0])
        t = retrograd.as_tensor(a, device=device)
        a[0] = 9.0
        assert (t.tolist()[0] == 9.0) is shares, device
        assert t.device == retrograd.device("cpu") and t.dtype is retrograd.float64
    t = retrograd.as_tensor(np.array([1, 2]), dtype=retrograd.float32, device="cpu:0")
    assert t.dtype is retrograd.float32 and t.tolist() == [1.0, 2.0]


def test_tensor_of_a_tensor_copies_and_detaches():
    x = retrograd.tensor([1.0, 2.0], requires_grad=True)
    y = retrograd.tensor(x.detach())
    y[0] = 5.0
    assert x.tolist() == [1.0, 2.0] and not y.requires_grad


def test_empty_has_shape_and_dtype():
    e = retrograd.empty(2, 3, dtype=retrograd.int32)
    assert tuple(e.shape) == (2, 3) and e.dtype is retrograd.int32
    assert tuple(retrograd.empty_like(e).shape) == (2, 3)


# ------------------------------------------------------------------------- random


RANDOM = [
    lambda g: retrograd.rand(3, 4, generator=g),
    lambda g: retrograd.randn(5, generator=g, dtype=retrograd.float64),
    lambda g: retrograd.randint(0, 10, (6,), generator=g),
    lambda g: retrograd.randint(10, (2, 3), generator=g),
    lambda g: retrograd.randperm(7, generator=g),
    lambda g: retrograd.normal(2.0, 3.0, size=(4,), generator=g),
    lambda g: retrograd.normal(retrograd.zeros(3), retrograd.ones(3), generator=g),
]


@pytest.mark.parametrize("fn", RANDOM)
def test_same_seed_same_values(fn):
    a = fn(retrograd.Generator().manual_seed(123))
    b = fn(retrograd.Generator().manual_seed(123))
    c = fn(retrograd.Generator().manual_seed(124))
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()


def test_manual_seed_reproduces_global_stream():
    retrograd.manual_seed(0)
    a = [retrograd.rand(3).tolist(), retrograd.randn(2).tolist(), retrograd.randint(0, 9, (3,)).tolist()]
    retrograd.manual_seed(0)
    b = [retrograd.rand(3).tolist(), retrograd.randn(2).tolist(), retrograd.randint(0, 9, (3,)).tolist()]
    assert a == b
    assert retrograd.initial_seed() == 0
    g = retrograd.manual_seed(5)
    assert isinstance(g, retrograd.Generator) and g.initial_seed() == 5


def test_rng_state_save_and_restore():
    retrograd.manual_seed(1)
    state = retrograd.get_rng_state()
    a = retrograd.randn(4).tolist()
    retrograd.set_rng_state(state)
    assert retrograd.randn(4).tolist() == a
    with retrograd.random.fork_rng():
        retrograd.randn(10)
    after_fork = retrograd.randn(2).tolist()
    retrograd.set_rng_state(state)
    retrograd.randn(4)
    assert retrograd.randn(2).tolist() == after_fork


def test_random_dtypes_shapes_and_ranges():
    retrograd.manual_seed(0)
    r = retrograd.rand(1000)
    assert r.dtype is retrograd.float32 and 0 <= r.min().item() and r.max().item() < 1
    n = retrograd.randn(20000, dtype=retrograd.float64)
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1) < 0.05
    i = retrograd.randint(3, 10, (500,))
    assert i.dtype is retrograd.int64 and i.min().item() >= 3 and i.max().item() <= 9
    p = retrograd.randperm(6)
    assert sorted(p.tolist()) == list(range(6)) and p.dtype is retrograd.int64
    assert retrograd.rand_like(retrograd.zeros(2, dtype=retrograd.float64)).dtype is retrograd.float64
    assert retrograd.randint_like(retrograd.zeros(2), 5).dtype is retrograd.float32
    assert retrograd.normal(retrograd.zeros(3), 1.0).shape == (3,)
    x = retrograd.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError):
        retrograd.rand(2, dtype=retrograd.int64)


@requires_torch
def test_random_signatures_match_torch_shapes_and_dtypes():
    for expr in ["rand(2, 3)", "rand((2, 3))", "randn(4, dtype=M.float64)", "randint(0, 10, (3,))",
                 "randint(10, (3,))", "randperm(5)", "normal(0.0, 1.0, size=(2,))",
                 "normal(M.zeros(3), 1.0)", "randn_like(M.zeros(2, 2))",
                 "randint_like(M.zeros(2), 5)", "rand_like(M.zeros(2, dtype=M.float64))"]:
        a = eval("M." + expr, {"M": retrograd})
        b = eval("M." + expr, {"M": torch})
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype), expr


def test_is_tensor_and_numel():
    assert retrograd.is_tensor(retrograd.zeros(1)) and not retrograd.is_tensor([1])
    assert retrograd.numel(retrograd.zeros(2, 3)) == 6
    assert math.isclose(retrograd.linspace(0, 1, 3)[1].item(), 0.5)


# ------------------------------------------------------------------------- default device

FACTORIES = ["tensor([1.0])", "as_tensor([1, 2])", "as_tensor(np.zeros(2))", "zeros(2)", "ones(2)", "empty(2)",
             "full((2,), 1.0)", "scalar_tensor(1)", "arange(3)", "linspace(0, 1, 3)", "logspace(0, 1, 3)",
             "eye(2)", "rand(2)", "randn(2)", "randint(0, 3, (2,))", "randperm(3)", "nn.Linear(2, 2)"]


@pytest.fixture
def default_device_reset():
    yield
    retrograd.set_default_device(None)


def test_default_device_starts_as_cpu_and_resets(default_device_reset):
    assert retrograd.get_default_device() == retrograd.device("cpu")
    retrograd.set_default_device("cpu")
    assert retrograd.get_default_device() == retrograd.device("cpu") and retrograd.zeros(1).device.type == "cpu"
    retrograd.set_default_device(None)
    assert retrograd.get_default_device() == retrograd.device("cpu")
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        retrograd.set_default_device("tpu")


@pytest.mark.skipif(retrograd.cuda.is_available(), reason="a GPU is available here")
@pytest.mark.parametrize("expr", FACTORIES)
def test_factories_honour_a_cuda_default_device(expr, default_device_reset):
    """Without CUDA, torch.set_default_device('cuda') succeeds and every factory then raises."""
    ns = {"np": np, "nn": retrograd.nn, **{k: getattr(retrograd, k) for k in dir(retrograd) if not k.startswith("_")}}
    retrograd.set_default_device("cuda")
    with pytest.raises(RuntimeError, match="CuPy or a CUDA device is not available"):
        eval(expr, ns)
    with pytest.raises(RuntimeError, match="CuPy or a CUDA device is not available"):
        retrograd.get_default_device()
    source = retrograd.Tensor._make(np.zeros(2, dtype=np.float32))
    # an explicit device, and tensors made from others, keep theirs
    assert retrograd.zeros(2, device="cpu").device.type == "cpu"
    assert retrograd.zeros_like(source).device.type == "cpu" and retrograd.rand_like(source).device.type == "cpu"
    assert retrograd.from_numpy(np.zeros(2)).device.type == "cpu"


@pytest.mark.parametrize("start,end,steps", [(1, 2, 101), (0, 1, 1001), (-3.3, 7.1, 57), (5, -5, 33), (0, 1, 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_is_torchs_bit_for_bit(start, end, steps, dtype):
    """torch fills the first half from start and the second from end, each value with one
    rounding; NumPy's linspace differed from it by an ulp in up to 39% of the values."""
    expected = reference(lambda: torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy(),
                         (start, end, steps, dtype))
    got = retrograd.linspace(start, end, steps, dtype=getattr(retrograd, dtype)).numpy()
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("factory", ["linspace", "logspace"])
def test_a_negative_count_of_steps_is_torchs_runtime_error(factory):
    """NumPy's ValueError came through before."""
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        getattr(retrograd, factory)(0, 1, -1)
    assert getattr(retrograd, factory)(0, 1, 0).shape == (0,)


def test_eye_of_a_negative_size_is_torchs_runtime_error():
    for args, name in (((-1,), "n"), ((2, -1), "m")):
        with pytest.raises(RuntimeError, match=f"{name} must be greater or equal to 0, got -1"):
            retrograd.eye(*args)


def test_randperm_of_a_negative_count_is_torchs_runtime_error():
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1"):
        retrograd.randperm(-1)


def test_tensor_of_a_tensor_warns_as_torch():
    """torch recommends sourceTensor.detach().clone(); a list of tensors is data, without a warning."""
    with pytest.warns(UserWarning, match=r"rather than torch.tensor\(sourceTensor\)"):
        t = retrograd.tensor(retrograd.ones(2, requires_grad=True))
    assert not t.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert retrograd.tensor([retrograd.tensor(1.0), retrograd.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_from_numpy_of_a_read_only_array_warns_once_and_refuses_writes(monkeypatch):
    """torch warns once (its writes into such an array are undefined behaviour); retrograd's
    in-place ops refuse them with an error that says why, not the expanded-tensor one."""
    a = np.arange(4.0)
    a.setflags(write=False)
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    with pytest.warns(UserWarning, match="The given NumPy array is not writable"):
        t = retrograd.from_numpy(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        retrograd.from_numpy(a)  # once per program, as torch's
    with pytest.raises(RuntimeError, match="memory is read-only"):
        t.add_(1)
    with pytest.raises(RuntimeError, match="refers to a single memory location"):
        retrograd.zeros(1).expand(3).add_(1)
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("size", [(2.5,), ((2, 2.5),), ("a",), (True,), (retrograd.tensor(3.0),)])
def test_sizes_that_are_not_integers_raise_type_error_as_torch(size):
    # torch: "empty(): argument 'size' ... must be tuple of ints"; int() used to truncate 2.5 to 2,
    # so nn.Linear(3.5, 4) built a (4, 3) weight with in_features=3.5
    for factory in (retrograd.empty, retrograd.zeros, retrograd.ones, retrograd.rand, retrograd.randn):
        with pytest.raises(TypeError, match="tuple of ints"):
            factory(*size)
    with pytest.raises(TypeError, match="tuple of ints"):
        retrograd.nn.Linear(size[0] if not isinstance(size[0], tuple) else 2.5, 4)


def test_integer_like_sizes_are_taken_as_torch():
    assert retrograd.zeros(np.int64(3), retrograd.tensor(2)).shape == (3, 2)
    assert retrograd.zeros([]).shape == ()


# ---------------------------------------------------------------------------- empty_strided, pinned memory

def test_empty_strided_and_new_empty_strided_have_torchs_sizes_and_strides():
    cases = [((2, 3), (1, 2)), ((2, 3), (0, 0)), ((2, 0), (5, 1)), ((), ())]
    for size, stride in cases:
        x = retrograd.empty_strided(size, stride)
        assert tuple(x.shape) == size and x.stride() == stride and x.dtype == retrograd.float32
        if torch is not None:
            assert torch.empty_strided(size, stride).stride() == stride
    y = retrograd.ones(3, dtype=retrograd.float64).new_empty_strided((2, 2), (1, 2), requires_grad=True)
    assert y.dtype == retrograd.float64 and y.stride() == (1, 2) and y.requires_grad
    assert retrograd.ones(1).new_empty_strided((2,), (3,), dtype=retrograd.int32).dtype == retrograd.int32
    z = retrograd.empty_strided((2, 3), (1, 2))
    z.copy_(retrograd.arange(6.0).reshape(2, 3))
    assert z.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


@pytest.mark.parametrize("args, error, message", [
    (((2, 3), (1,)), RuntimeError, r"dimensionality of sizes \(2\) must match dimensionality of strides \(1\)"),
    (((2, -3), (1, 2)), RuntimeError, r"Trying to create tensor with negative dimension -3: \[2, -3\]"),
    (((2, 3), (-1, 2)), RuntimeError, r"Storage size calculation overflowed with sizes=\[2, 3\] and strides=\[-1, 2\]"),
    ((2, (1,)), TypeError, r"empty_strided\(\): argument 'size' \(position 1\) must be tuple of ints, not int"),
])
def test_empty_strided_errors_as_torch(args, error, message):
    for m in [retrograd] + ([torch] if torch is not None else []):
        with pytest.raises(error, match=message):
            m.empty_strided(*args)


def test_pin_memory_without_an_accelerator_raises_and_nothing_is_pinned_as_torch():
    x = retrograd.ones(2)
    assert x.is_pinned() is False
    if retrograd.cuda.is_available():
        with pytest.raises(NotImplementedError, match="does not allocate pinned host memory"):
            x.pin_memory()
        return
    for m, t in [(retrograd, x)] + ([(torch, torch.ones(2))] if torch is not None else []):
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available."):
            t.pin_memory()
        with pytest.warns(DeprecationWarning, match=r"The argument 'device' of Tensor.is_pinned\(\) is deprecated"):
            assert t.is_pinned("cpu") is False
        with pytest.warns(DeprecationWarning, match=r"The argument 'device' of Tensor.pin_memory\(\) is deprecated"):
            with pytest.raises(RuntimeError, match="CPU device type not an accelerator."):
                t.pin_memory("cpu")
