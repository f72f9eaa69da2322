"""Top-level names tutorials use beside the op set: constants (pi, e, inf, nan, newaxis),
finfo/iinfo, layouts and memory formats, typename, is_complex/is_signed/is_same_size,
the deprecated range and set_default_tensor_type, GradScaler, and the smaller ops programs reach for
(isin, unravel_index, trapezoid, gradient, dist, combinations, the conjugation no-ops of real tensors, ...).

Each case is an expression and torch 2.13's outcome, written down here and checked against
torch where it is installed (``test_cases_are_torchs``), against retrograd everywhere."""

import math
import pickle
import warnings

import pytest

import retrograd
from helpers import requires_torch, torch
from test_legacy_api import _outcome

CASES = [
    ("torch.pi", math.pi), ("torch.e", math.e), ("torch.inf", math.inf), ("torch.newaxis", None),
    ("torch.nan != torch.nan", True),
    ("torch.zeros(2, 3)[:, torch.newaxis].shape", [2, 1, 3]),
    # finfo / iinfo
    ("torch.finfo(torch.float32).eps", 1.1920928955078125e-07),
    ("torch.finfo(torch.float32).max", 3.4028234663852886e+38),
    ("torch.finfo(torch.float32).tiny", 1.1754943508222875e-38),
    ("torch.finfo(torch.float32).resolution", 1e-06),
    ("torch.finfo(torch.float32).bits", 32),
    ("torch.finfo(torch.float32).dtype", "float32"),
    ("torch.finfo(torch.float16).min", -65504.0),
    ("torch.finfo(torch.float16).smallest_normal", 6.103515625e-05),
    ("torch.finfo(torch.float16).resolution", 0.001),
    ("torch.finfo(torch.bfloat16).eps", 0.0078125),
    ("torch.finfo(torch.bfloat16).max", 3.3895313892515355e+38),
    ("torch.finfo(torch.bfloat16).bits", 16),
    ("torch.finfo(torch.float64).eps", 2.220446049250313e-16),
    ("torch.finfo().dtype", "float32"),
    ("repr(torch.finfo(torch.bfloat16))", "finfo(resolution=0.01, min=-3.38953e+38, max=3.38953e+38, "
     "eps=0.0078125, smallest_normal=1.17549e-38, tiny=1.17549e-38, dtype=bfloat16)"),
    ("torch.finfo(torch.float32) == torch.finfo(torch.float32)", True),
    ("torch.finfo(torch.int32)", TypeError),
    ("torch.iinfo(torch.int32).max", 2147483647),
    ("torch.iinfo(torch.int64).min", -9223372036854775808),
    ("torch.iinfo(torch.uint8).max", 255),
    ("torch.iinfo(torch.int8).bits", 8),
    ("torch.iinfo(torch.int16).dtype", "int16"),
    ("repr(torch.iinfo(torch.int32))", "iinfo(min=-2.14748e+09, max=2.14748e+09, dtype=int32)"),
    ("torch.iinfo(torch.float32)", TypeError),
    ("torch.iinfo(torch.bool)", TypeError),
    # layouts and memory formats
    ("repr(torch.strided)", "torch.strided"),
    ("torch.zeros(2).layout is torch.strided", True),
    ("type(torch.strided) is torch.layout", True),
    ("repr(torch.channels_last)", "torch.channels_last"),
    ("type(torch.contiguous_format) is torch.memory_format", True),
    ("torch.zeros(2, 3).t().contiguous(memory_format=torch.contiguous_format).is_contiguous()", True),
    ("torch.zeros(2).clone(memory_format=torch.preserve_format)", ([0.0, 0.0], "float32")),
    ("torch.zeros(2).to(memory_format=torch.contiguous_format)", ([0.0, 0.0], "float32")),
    ("torch.zeros(2).is_contiguous(memory_format=torch.contiguous_format)", True),
    ("torch.zeros(2, layout=torch.strided)", ([0.0, 0.0], "float32")),
    # typename, is_complex, is_signed, is_same_size
    ("torch.typename(torch.zeros(2))", "torch.FloatTensor"),
    ("torch.typename(torch.zeros(2, dtype=torch.long))", "torch.LongTensor"),
    ("torch.typename(3)", "int"),
    ("torch.typename(len)", "len"),
    ("torch.typename(torch.nn.Linear(1, 1)).replace('retrograd', 'torch')", "torch.nn.modules.linear.Linear"),
    ("torch.typename(torch.nn.Linear).replace('retrograd', 'torch')", "torch.nn.modules.linear.Linear"),
    ("torch.is_complex(torch.zeros(1))", False),
    ("torch.is_signed(torch.zeros(1, dtype=torch.uint8))", False),
    ("torch.is_signed(torch.zeros(1, dtype=torch.int8))", True),
    ("torch.is_signed(torch.zeros(1, dtype=torch.bool))", False),
    ("torch.is_same_size(torch.zeros(2, 3), torch.ones(2, 3))", True),
    ("torch.is_same_size(torch.zeros(2, 3), torch.ones(3, 2))", False),
    # ... and their Tensor methods; matrix_power, linalg.matrix_power's older name
    ("[torch.zeros(2).is_signed(), torch.zeros(2, dtype=torch.uint8).is_signed()]", [True, False]),
    ("torch.zeros(2, 3).is_same_size(torch.ones(3, 2))", False),
    ("[torch.tensor([0.5]).is_nonzero(), torch.tensor(0).is_nonzero()]", [True, False]),
    ("torch.zeros(2).is_nonzero()", RuntimeError),
    ("torch.tensor([[1, 1], [0, 1]]).matrix_power(3)", ([[1, 3], [0, 1]], "int64")),
    ("torch.matrix_power(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), 2)", ([[4.0, 0.0], [0.0, 1.0]], "float32")),
    # range: end included, default dtype even for integer bounds
    ("torch.range(1, 4)", ([1.0, 2.0, 3.0, 4.0], "float32")),
    ("torch.range(4)", TypeError),  # end is required
    ("torch.range(1, 2, 0.5)", ([1.0, 1.5, 2.0], "float32")),
    ("torch.range(0, 3, dtype=torch.long)", ([0, 1, 2, 3], "int64")),
    ("torch.range(0, -1, -1)", ([0.0, -1.0], "float32")),
    ("torch.range(0, 1, 0.1).shape", [11]),
    ("torch.range(0, -1)", RuntimeError),
    ("torch.range(0, 1, 0)", RuntimeError),
    ("torch.GradScaler is torch.amp.GradScaler", True),
    # sets, indices, integrals, derivatives, distances, combinations (ops/comparison, indexing, calculus, ...)
    ("torch.isin(torch.tensor([1, 2, 3]), torch.tensor([2, 5]))", ([False, True, False], "bool")),
    ("torch.isin(2, torch.tensor([2, 5]), invert=True)", (False, "bool")),
    ("[c.tolist() for c in torch.unravel_index(torch.tensor([5, 1]), (2, 3))]", [[1, 0], [2, 1]]),
    ("torch.unravel_index(torch.tensor([1.0]), (2, 3))", TypeError),
    ("torch.trapezoid(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0.0, 1.0, 3.0]))", (7.5, "float32")),
    ("torch.trapz(torch.tensor([1, 2, 3]), dx=2)", (8.0, "float32")),
    ("torch.cumulative_trapezoid(torch.tensor([1.0, 2.0, 4.0]))", ([1.5, 4.5], "float32")),
    ("torch.gradient(torch.tensor([1.0, 2.0, 4.0, 8.0]))[0]", ([1.0, 1.5, 3.0, 4.0], "float32")),
    ("torch.gradient(torch.tensor([1.0, 2.0]), edge_order=2)", RuntimeError),
    ("torch.dist(torch.tensor([3.0, 4.0]), torch.tensor([0.0, 0.0]))", (5.0, "float32")),
    ("torch.combinations(torch.tensor([1, 2, 3]))", ([[1, 2], [1, 3], [2, 3]], "int64")),
    ("torch.combinations(torch.tensor([1, 2]), with_replacement=True)", ([[1, 1], [1, 2], [2, 2]], "int64")),
    ("torch.adjoint(torch.zeros(2, 3, 4)).shape", [2, 4, 3]),
    ("torch.adjoint(torch.zeros(3))", RuntimeError),
    ("[torch.conj(x) is x, torch.resolve_conj(x) is x, torch.resolve_neg(x) is x, torch.conj_physical(x) is x]"
     " if (x := torch.zeros(2)) is not None else None", [True, True, True, True]),
    ("torch.is_conj(torch.zeros(2)) or torch.is_neg(torch.zeros(2))", False),
    ("torch.imag(torch.zeros(2))", RuntimeError),
    ("torch.angle(torch.tensor([-2.0, 0.0, 3.0]))", ([3.1415927410125732, 0.0, 0.0], "float32")),
    ("torch.renorm(torch.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0).tolist()[1]", [0.30000001192092896,
                                                                                    0.4000000059604645]),
    ("torch.narrow_copy(torch.arange(5), 0, 1, 2)", ([1, 2], "int64")),
    ("torch.diagonal_scatter(torch.zeros(2, 2), torch.ones(2))", ([[1.0, 0.0], [0.0, 1.0]], "float32")),
    # split_with_sizes and the unsafe splits (ops/join.py)
    ("[p.tolist() for p in torch.split_with_sizes(torch.arange(5), [2, 3])]", [[0, 1], [2, 3, 4]]),
    ("torch.split_with_sizes(torch.arange(5), [2, 2])", RuntimeError),
    ("[p.tolist() for p in torch.unsafe_split(torch.arange(5), 2)]", [[0, 1], [2, 3], [4]]),
    ("[p.tolist() for p in torch.unsafe_chunk(torch.arange(5), 2)]", [[0, 1, 2], [3, 4]]),
    ("[p.tolist() for p in torch.arange(5).unsafe_split_with_sizes([1, 4])]", [[0], [1, 2, 3, 4]]),
    # nonzero_static (ops/indexing.py), frombuffer (creation.py)
    ("torch.nonzero_static(torch.tensor([1, 0, 2, 0, 3]), size=4)", ([[0], [2], [4], [-1]], "int64")),
    ("torch.nonzero_static(torch.tensor([[1, 0], [0, 1]]), size=1, fill_value=9)", ([[0, 0]], "int64")),
    ("torch.nonzero_static(torch.tensor(5), size=2).shape", [2, 0]),
    ("torch.nonzero_static(torch.tensor([1]), size=-1)", RuntimeError),
    ("torch.frombuffer(bytearray(np.arange(4, dtype=np.float32).tobytes()), dtype=torch.float32, count=2, offset=4)",
     ([1.0, 2.0], "float32")),
    ("(lambda b: (torch.frombuffer(b, dtype=torch.int16).fill_(3), list(b))[1])(bytearray(4))", [3, 0, 3, 0]),
    ("torch.frombuffer(bytearray(16), dtype=torch.float32, offset=3)", ValueError),
    ("torch.frombuffer(bytearray(16), dtype=torch.float32, count=5)", ValueError),
    ("torch.frombuffer(bytearray(0), dtype=torch.float32)", ValueError),
    ("torch.frombuffer(bytearray(8), dtype=torch.float32, requires_grad=True).requires_grad", True),
    # device, version, layouts, autocast's deprecated queries
    ("torch.get_device(torch.zeros(1))", -1), ("torch.zeros(1).get_device()", -1),
    ("torch.legacy_contiguous_format is torch.contiguous_format", True),
    # the kind flags programs branch on (_tensor_queries.py): a dense tensor is none of them
    ("[getattr(torch.ones(2), f) for f in ('is_sparse', 'is_sparse_csr', 'is_quantized', 'is_meta', 'is_nested',"
     " 'is_mkldnn', 'is_xpu', 'is_mps', 'is_ipu', 'is_vulkan', 'is_mtia', 'is_maia')]", [False] * 12),
    ("(lambda x: x.to_dense() is x)(torch.ones(2))", True),
    ("[torch.amp.is_autocast_available(d) for d in ('cpu', 'cuda', 'meta')]", [True, True, False]),
    ("torch.amp.is_autocast_available('gpu')", RuntimeError),
    ("isinstance(torch.nn.Linear(1, 1).register_forward_hook(lambda *a: None), torch.utils.hooks.RemovableHandle)",
     True),
    ("torch.ones(2, dtype=torch.int64).to_dense(torch.float64)", ([1.0, 1.0], "float64")),
    ("torch.ones(2).to_dense(masked_grad=1)", TypeError),
    ("[torch.ones(1).layout == getattr(torch, n) for n in ('strided', 'sparse_coo', 'sparse_csr', 'sparse_csc',"
     " 'sparse_bsr', 'sparse_bsc', 'jagged')]", [True] + [False] * 6),
    ("[repr(torch.sparse_coo), repr(torch.jagged)]", ["torch.sparse_coo", "torch.jagged"]),
    ("torch.version.hip is None and isinstance(torch.version.debug, bool)", True),
    ("torch.version.__version__ == torch.__version__", True),
    ("[torch.is_autocast_cpu_enabled(), str(torch.get_autocast_cpu_dtype()), str(torch.get_autocast_gpu_dtype()),"
     " torch.is_autocast_cache_enabled()]", [False, "torch.bfloat16", "torch.float16", True]),
    ("(lambda a: (a.__enter__(), [torch.is_autocast_cpu_enabled(), str(torch.get_autocast_cpu_dtype()),"
     " torch.is_autocast_cache_enabled()], a.__exit__(None, None, None))[1])"
     "(torch.autocast('cpu', dtype=torch.float16, cache_enabled=False))", [True, "torch.float16", False]),
    ("torch.is_autocast_cpu_enabled()", False),  # the region above is closed
    # sym_* on plain numbers, cond and while_loop run eagerly
    ("[torch.sym_int(-2.7), torch.sym_float(True), torch.sym_max(2.0, 3), torch.sym_min(2, 3.5), torch.sym_not(0),"
     " torch.sym_sum((1, 2.5)), torch.sym_sum([]), torch.sym_ite(False, 'a', 'b')]",
     [-2, 1.0, 3.0, 2.0, True, 3.5, 0, "b"]),
    ("type(torch.sym_max(2, 3)).__name__", "int"), ("torch.sym_ite(0, 1, 2)", AssertionError),
    ("torch.cond(torch.tensor(2.0) > 1, lambda a: a * 2, lambda a: a - 1, (torch.ones(2),))",
     ([2.0, 2.0], "float32")),
    ("torch.cond(0, lambda a: a * 2, lambda a: a - 1, [torch.ones(2)])", ([0.0, 0.0], "float32")),
    ("torch.cond(torch.tensor([True, False]), lambda: 1, lambda: 2)", RuntimeError),
    ("[t.tolist() for t in torch.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2),"
     " (torch.tensor(0), torch.tensor(1.0)))]", [3, 8.0]),
]
IDS = [expr for expr, _ in CASES]


@pytest.mark.parametrize("expr, expected", CASES, ids=IDS)
def test_top_level_case(expr, expected):
    assert _outcome(retrograd, expr) == expected


@requires_torch
@pytest.mark.parametrize("expr, expected", CASES, ids=IDS)
def test_cases_are_torchs(expr, expected):
    assert _outcome(torch, expr) == expected


def test_range_warns_as_deprecated_at_the_callers_line():
    with pytest.warns(UserWarning, match="torch.range is deprecated") as record:
        retrograd.range(0, 3)
    assert record[0].filename == __file__


@pytest.mark.parametrize("lib", ["retrograd", pytest.param("torch", marks=requires_torch)])
def test_set_default_tensor_type_sets_the_default_dtype(lib):
    t = retrograd if lib == "retrograd" else torch
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            t.set_default_tensor_type(t.DoubleTensor)
        assert t.zeros(1).dtype is t.float64 and t.get_default_dtype() is t.float64
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t.set_default_tensor_type("torch.FloatTensor")
            assert t.get_default_dtype() is t.float32
            for bad in (t.LongTensor, t.float64):
                with pytest.raises(TypeError, match="only floating-point types"):
                    t.set_default_tensor_type(bad)
    finally:
        t.set_default_dtype(t.float32)


def test_channels_last_is_refused_not_ignored():
    x = retrograd.zeros(1, 2, 3, 3)
    for call in (lambda: x.to(memory_format=retrograd.channels_last),
                 lambda: x.contiguous(memory_format=retrograd.channels_last),
                 lambda: retrograd.nn.Conv2d(2, 2, 1).to(memory_format=retrograd.channels_last)):
        with pytest.raises(NotImplementedError, match="memory_format=torch.channels_last"):
            call()


def test_sparse_layouts_are_refused_not_ignored():
    for layout in (retrograd.sparse_coo, retrograd.sparse_csr, retrograd.jagged):
        with pytest.raises(NotImplementedError, match=f"layout={layout!r}"):
            retrograd.zeros(2, 2, layout=layout)


def test_layouts_and_formats_pickle_as_themselves():
    for obj in (retrograd.strided, retrograd.sparse_coo, retrograd.channels_last, retrograd.contiguous_format):
        assert pickle.loads(pickle.dumps(obj)) is obj


@pytest.mark.parametrize("name, replacement", [("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')"),
                                               ("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')"),
                                               ("get_autocast_gpu_dtype", "get_autocast_dtype('cuda')")])
def test_deprecated_autocast_queries_warn_at_the_callers_line(name, replacement):
    with pytest.warns(DeprecationWarning, match=f"torch.{name}\\(\\) is deprecated. Please use "
                                               f"torch.{replacement.replace('(', '.').replace(')', '.')}") as record:
        getattr(retrograd, name)()
    assert record[0].filename == __file__


@pytest.mark.parametrize("lib", [retrograd, pytest.param(torch, marks=requires_torch)], ids=["retrograd", "torch"])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_per_device_amp_spellings_warn_and_are_amps_classes(lib, device):
    """torch.cpu.amp / torch.cuda.amp's autocast and GradScaler: amp's with the device fixed, each
    deprecated with a FutureWarning at the caller's line; cache_enabled is passed on."""
    legacy = getattr(lib, device).amp
    with pytest.warns(FutureWarning, match=f"`torch.{device}.amp.GradScaler\\(args...\\)` is deprecated. Please "
                                           f"use `torch.amp.GradScaler\\('{device}', args...\\)` instead.") as record:
        scaler = legacy.GradScaler(init_scale=8.0, enabled=False)
    assert record[0].filename == __file__
    assert isinstance(scaler, lib.amp.GradScaler) and not scaler.is_enabled()
    assert scaler.state_dict() == {}  # (disabled)
    with pytest.warns(FutureWarning, match=f"`torch.{device}.amp.autocast\\(args...\\)` is deprecated") as record:
        region = legacy.autocast(enabled=device == "cpu", cache_enabled=False)
    assert record[0].filename == __file__ and isinstance(region, lib.amp.autocast)
    with region:
        assert lib.is_autocast_enabled(device) is (device == "cpu")
        if device == "cpu":
            assert not lib.is_autocast_cache_enabled() and lib.get_autocast_dtype("cpu") == lib.bfloat16



@pytest.mark.parametrize("lib", [retrograd, pytest.param(torch, marks=requires_torch)], ids=["retrograd", "torch"])
def test_cuda_amp_custom_fwd_and_bwd_warn_and_are_amps_for_cuda(lib):
    with pytest.warns(FutureWarning, match="`torch.cuda.amp.custom_fwd\\(args...\\)` is deprecated. Please use "
                                           "`torch.amp.custom_fwd\\(args..., device_type='cuda'\\)` instead.") as record:
        fwd = lib.cuda.amp.custom_fwd(cast_inputs=lib.float32)(lambda ctx, x: x * 2)
    assert record[0].filename == __file__
    with pytest.warns(FutureWarning, match="`torch.cuda.amp.custom_bwd\\(args...\\)` is deprecated"):
        bwd = lib.cuda.amp.custom_bwd(lambda ctx, g: g * 2)

    class Double(lib.autograd.Function):
        forward = staticmethod(fwd)
        backward = staticmethod(bwd)

    x = lib.ones(2, requires_grad=True)
    Double.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
