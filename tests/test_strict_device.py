"""The CUDA code path on every CPU machine (issue 17, item 4): retrograd's device='cuda' backed by
tests/strict_device.py, an array type that is not np.ndarray and refuses implicit conversion to
NumPy as CuPy does. Any NumPy-only call on a device code path fails here without a GPU.

- the strict module itself behaves as CuPy where the two differ (first tests);
- every differentiable op (tests/autograd/test_forward_ad_ops.py's CASES, which cover every op
  class with a backward) runs forward and backward on the device and equals the CPU;
- every function of tests/ops/test_out.py's CASES (comparisons, sorting, counting, linear algebra,
  factories...) runs on the device and equals the CPU;
- a training step of the mlp, cnn, transformer and lstm bench workloads, with SGD and with Adam,
  equals the CPU's and asks the device for no host round trip beyond the loss's ``.item()``.
"""

import copy
import functools

import numpy as np
import pytest

import retrograd
import strict_device
from strict_device import syncs

from tests.autograd.test_forward_ad_ops import CASES as OP_CASES, _arrays, _floating
from tests.helpers import _inputs
from tests.ops import (test_activation, test_attention, test_comparison, test_conv, test_core_ops, test_counting,
                       test_distance, test_indexing, test_join, test_linalg, test_math, test_out, test_shape,
                       test_softmax, test_sorting)

RANDOM_OPS = {"rrelu", "dropout", "attention_dropout", "module_hooks"}  # drawn from the CUDA stream: not compared


@pytest.fixture
def cuda():
    """Within a test: device 'cuda' is the strict module, and factories default to it."""
    with strict_device.installed():
        retrograd.set_default_device("cuda")
        try:
            yield
        finally:
            retrograd.set_default_device(None)


def _host(t):
    assert t.device.type == "cuda", f"a result on {t.device}"
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------------------- the strict array


def test_strict_array_refuses_what_cupy_refuses():
    cp = strict_device.cupy
    a = cp.arange(6.0).reshape(2, 3)
    assert not isinstance(a, np.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    for mixed in (lambda: a + np.ones(3), lambda: np.ones(3) * a, lambda: np.concatenate([a, np.ones((2, 3))]),
                  lambda: cp.where(a > 0, a, np.zeros(3))):
        with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
            mixed()
    with pytest.raises(NotImplementedError, match="maximum.accumulate"):
        np.maximum.accumulate(a, axis=1)
    with pytest.raises(NotImplementedError, match="multiply.at"):
        np.multiply.at(a, (np.array([0]),), 2.0)
    with pytest.raises(TypeError, match="no implementation found for 'numpy.datetime_as_string'"):
        np.datetime_as_string(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.lib.stride_tricks.as_strided(a, (2,), (8,))
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray"):
        a[0] = np.ones(3)
    with pytest.raises(ValueError, match="Unsupported dtype"):
        a.astype(object)


def test_strict_array_answers_as_cupy():
    cp = strict_device.cupy
    a = cp.arange(6.0).reshape(2, 3)
    assert type(a.sum()) is cp.ndarray and a.sum().shape == ()  # 0-dim arrays, not NumPy scalars
    assert type(np.exp(a)) is cp.ndarray and type(np.linalg.norm(a)) is cp.ndarray
    assert a[0].base is a.base and cp.get_array_module(a) is cp and cp.get_array_module(a.get()) is np
    np.testing.assert_array_equal(a[np.array([0, 3])].get(), a.get()[[0, 1]])  # integer indices wrap around
    np.add.at(a, (np.array([1, 1]),), 1.0)
    np.testing.assert_array_equal(a.get()[1], [5.0, 6.0, 7.0])


def test_host_synchronisations_are_recorded_with_their_line():
    cp = strict_device.cupy
    a = cp.arange(3.0)
    syncs.clear()
    b = (a * 2).sum()
    assert len(syncs) == 0
    float(b), a.get(), a[a > 0], bool(a.any()), a.item(1)
    assert [what for what, _ in syncs.events] == ["float", "get", "boolean mask", "bool", "item"]
    assert all("test_strict_device.py:" in site for _, site in syncs.events)


def test_installed_makes_cuda_the_strict_device(cuda):
    assert retrograd.cuda.is_available() and retrograd.cuda.device_count() == 1
    x = retrograd.ones(2, 3)
    assert x.is_cuda and type(x._data) is strict_device.ndarray
    assert x.cpu().device.type == "cpu" and type(x.cpu()._data) is np.ndarray
    with pytest.raises(RuntimeError, match="same device|cuda:0 and cpu"):
        x + retrograd.ones(2, 3, device="cpu")


# ---------------------------------------------------------------------------- every op's forward and backward


def _tensors(result):
    result = result if isinstance(result, (tuple, list)) else (result,)
    return [r for r in result if isinstance(r, retrograd.Tensor)]


def _forward_backward(fn, arrays, device):
    """fn's floating outputs and its inputs' gradients under a fixed cotangent (NumPy arrays are
    tensors on ``device``, floating ones requiring grad; other arguments pass through)."""
    retrograd.manual_seed(0)
    xs = [retrograd.tensor(a, device=device) if isinstance(a, np.ndarray) else a for a in arrays]
    for x in xs:
        if isinstance(x, retrograd.Tensor) and x.dtype.is_floating_point:
            x.requires_grad_()
    outs = _tensors(fn(retrograd, *xs))
    rng = np.random.default_rng(7)
    pairs = [(o, retrograd.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=device))
             for o in _floating(outs) if o.requires_grad]
    wrt = [x for x in xs if isinstance(x, retrograd.Tensor) and x.requires_grad]
    grads = retrograd.autograd.grad([o for o, _ in pairs], wrt, [c for _, c in pairs], allow_unused=True) \
        if pairs else []
    return outs, [g for g in grads if g is not None]


# the op tables of tests/ops that run check_op(fn, *specs): (id, fn, specs, input range)
OP_TABLES = ([(f"core_ops.{c[0]}", c[1], c[2], c[3]) for c in test_core_ops.CASES]
             + [(f"comparison.{c[0]}", c[1], c[2:], {}) for c in test_comparison.CASES]
             + [(f"indexing.{c[0]}", c[1], c[2:], {}) for c in test_indexing.CASES]
             + [(f"indexing.{c[0]}", lambda t, x, a, fn=c[1]: fn(t, x * 1, a) * 2, ((3, 4), c[2]), {})
                for c in test_indexing.INPLACE]
             + [(f"join.{c[0]}", c[1], c[2:], {}) for c in test_join.CASES]
             + [(f"math.{c[0]}", c[1], ((3, 4),), c[2]) for c in test_math.UNARY]
             + [(f"math.{c[0]}", c[1], tuple(s for s in c[2:4] if s is not None), c[4]) for c in test_math.BINARY]
             + [(f"math.{c[0]}", c[1], c[2:], {"low": -2, "high": 2}) for c in test_math.TERNARY]
             + [(f"activation.{c[0]}", c[1], ((3, 4),), {"low": -2, "high": 2}) for c in test_activation.ACTIVATIONS]
             + [(f"softmax.{c[0]}", c[1], ((3, 4),), {"low": -3, "high": 3}) for c in test_softmax.CASES]
             + [(f"{m.__name__.rsplit('_', 1)[-1]}.{c[0]}", c[1], c[2:], {})
                for m in (test_attention, test_distance, test_linalg, test_sorting, test_shape)
                for c in m.CASES]
             + [(f"counting.{c[0]}", c[1], c[2:], {}) for c in test_counting.DIFF_CASES]
             + [(f"conv.{conv.__name__}{i}", lambda t, x, w, conv=conv, kw=kw: getattr(t.nn.functional, conv.__name__)(
                 x, w, **kw), (xs, ws), {}) for i, (conv, xs, ws, kw) in enumerate(test_conv.KERNEL_PATHS)])


@pytest.mark.parametrize("name,fn,specs,bounds", OP_TABLES, ids=[c[0] for c in OP_TABLES])
def test_op_of_the_op_tests_on_the_device_equals_the_cpu(name, fn, specs, bounds, cuda):
    _device_equals_cpu(name, fn, _inputs(specs, 0, bounds.get("low", -1.0), bounds.get("high", 1.0)))


@pytest.mark.parametrize("name,fn,specs", [c[:3] for c in OP_CASES], ids=[c[0] for c in OP_CASES])
def test_op_forward_and_backward_on_the_device_equal_the_cpu(name, fn, specs, cuda):
    _device_equals_cpu(name, fn, _arrays(specs, 0))


def _device_equals_cpu(name, fn, arrays):
    retrograd.set_default_device(None)
    want_outs, want_grads = _forward_backward(fn, arrays, "cpu")
    retrograd.set_default_device("cuda")
    outs, grads = _forward_backward(fn, arrays, "cuda")
    assert len(outs) == len(want_outs) and len(grads) == len(want_grads)
    for got, want in zip(outs + grads, want_outs + want_grads):
        assert got.dtype == want.dtype and got.shape == want.shape
        if name not in RANDOM_OPS:
            np.testing.assert_allclose(_host(got), want.detach().numpy(), rtol=1e-7, atol=1e-10)
        else:
            _host(got)


NO_ROUND_TRIP = [  # ops whose device path used to ask the device a question (a host synchronisation)
    ("prod_backward", lambda r, x: x.prod(1).sum().backward()),
    ("clip_grad_norm", lambda r, x: (x.sum().backward(), r.nn.utils.clip_grad_norm_([x], 0.5))),
    ("int_floor_division", lambda r, x: r.div(r.tensor([5, 7, -3]), r.tensor([2, 0, 2]), rounding_mode="floor")),
    ("embedding", lambda r, x: r.nn.functional.embedding(r.tensor([[0, 2]]), x).sum().backward()),
    ("cross_entropy", lambda r, x: r.nn.functional.cross_entropy(x, r.tensor([0, 3, 1])).backward()),
    ("gather_scatter", lambda r, x: (x.gather(1, r.tensor([[0], [3], [1]])).sum()
                                     + x.scatter_reduce(0, r.tensor([[0, 1, 0, 2]]), x[:1], "prod").sum()).backward()),
    ("max_pool", lambda r, x: r.nn.functional.max_pool2d(x.reshape(1, 1, 3, 4), 2, 1).sum().backward()),
    ("cummax_logcumsumexp", lambda r, x: (x.cummax(1).values + x.logcumsumexp(1)).sum().backward()),
    ("median", lambda r, x: (x.median() + x.median(1).values.sum()).backward()),
    ("binary_cross_entropy", lambda r, x: r.nn.functional.binary_cross_entropy(x / 2, x / 3).backward()),
    ("spectral_norm", lambda r, x: r.nn.utils.parametrizations.spectral_norm(r.nn.Linear(4, 2))(x.float()).sum()
     .backward()),
]


@pytest.mark.parametrize("name,fn", NO_ROUND_TRIP, ids=[c[0] for c in NO_ROUND_TRIP])
def test_op_on_the_device_asks_the_device_nothing(name, fn, cuda):
    x = retrograd.tensor(np.random.default_rng(0).uniform(0.5, 1.5, (3, 4))).requires_grad_()
    syncs.clear()
    fn(retrograd, x)
    assert len(syncs) == 0, f"host round trips of {name}:\n{syncs!r}"


def test_qr_r_mode_results_are_on_the_device(cuda):
    q, r = retrograd.linalg.qr(retrograd.randn(4, 3), mode="r")
    assert q.is_cuda and q.numel() == 0 and r.is_cuda and r.shape == (3, 3)


def test_integer_division_by_zero_on_the_device_does_not_raise(cuda):
    """As torch's CUDA kernels (only its CPU kernel raises ZeroDivisionError): the device's result."""
    assert retrograd.div(retrograd.tensor([5]), retrograd.tensor([0]), rounding_mode="floor").is_cuda
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        retrograd.div(retrograd.tensor([5], device="cpu"), retrograd.tensor([0], device="cpu"), rounding_mode="floor")


def test_gradcheck_on_the_device(cuda):
    x = retrograd.randn(3, 4, dtype=retrograd.float64).requires_grad_()
    w = retrograd.randn(4, 2, dtype=retrograd.float64).requires_grad_()

    def f(a, b):
        return (a @ b).tanh()

    assert retrograd.autograd.gradcheck(f, (x, w))
    assert retrograd.autograd.gradcheck(f, (x, w), fast_mode=True, check_forward_ad=True, check_batched_grad=True)
    assert retrograd.autograd.gradgradcheck(f, (x, w), gen_non_contig_grad_outputs=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):  # (GradcheckError)
        retrograd.autograd.gradcheck(lambda a, b: _WrongGrad.apply(f(a, b)), (x, w))


class _WrongGrad(retrograd.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        return a.clone()

    @staticmethod
    def backward(ctx, g):
        return g * 1.01


# ---------------------------------------------------------------------------- every function with out=


CPU_ONLY = {"histogram"}  # torch has no CUDA kernel for it: NotImplementedError


@pytest.mark.parametrize("name", sorted(set(test_out.CASES) - CPU_ONLY))
def test_function_on_the_device_equals_the_cpu(name, cuda):
    retrograd.set_default_device(None)
    retrograd.manual_seed(0)
    want = _tensors(test_out._call(retrograd, name)[0])
    retrograd.set_default_device("cuda")
    retrograd.manual_seed(0)
    got = _tensors(test_out._call(retrograd, name)[0])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        values = _host(g)
        if name in test_out.RANDOM:
            continue
        if name in test_out.DECOMPOSITIONS:
            values, w = np.abs(values), w.abs()
        np.testing.assert_allclose(values, w.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CPU_ONLY))
def test_cpu_only_function_raises_on_the_device(name, cuda):
    with pytest.raises(NotImplementedError, match="no CUDA kernel"):
        test_out._call(retrograd, name)


# ---------------------------------------------------------------------------- nn layers

LAYERS = [  # (id, module(nn), input shape): forward, backward and buffers (running stats) compared
    ("linear", lambda nn: nn.Linear(4, 3), (2, 4)),
    ("bilinear", lambda nn: _Pair(nn.Bilinear(4, 4, 3)), (2, 4)),
    ("conv1d", lambda nn: nn.Conv1d(2, 3, 3, padding=1, stride=2), (2, 2, 7)),
    ("conv2d_groups_dilation", lambda nn: nn.Conv2d(4, 4, 3, groups=2, dilation=2), (1, 4, 7, 7)),
    ("conv_transpose2d", lambda nn: nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1), (1, 2, 4, 4)),
    ("conv3d", lambda nn: nn.Conv3d(1, 2, 2), (1, 1, 3, 3, 3)),
    ("batch_norm2d", lambda nn: nn.BatchNorm2d(3), (4, 3, 2, 2)),
    ("batch_norm1d_eval", lambda nn: nn.BatchNorm1d(3).eval(), (4, 3)),
    ("instance_norm", lambda nn: nn.InstanceNorm1d(3, affine=True, track_running_stats=True), (2, 3, 5)),
    ("layer_norm", lambda nn: nn.LayerNorm(4), (2, 3, 4)),
    ("group_norm", lambda nn: nn.GroupNorm(2, 4), (2, 4, 3)),
    ("rms_norm", lambda nn: nn.RMSNorm(4), (2, 4)),
    ("embedding_padding_max_norm", lambda nn: nn.Embedding(6, 3, padding_idx=0, max_norm=1.0), None),
    ("embedding_bag_max", lambda nn: nn.EmbeddingBag(6, 3, mode="max"), None),
    ("embedding_bag_mean", lambda nn: nn.EmbeddingBag(6, 3, mode="mean", scale_grad_by_freq=True), None),
    ("embedding_bag_max_empty_bag", lambda nn: _Bags(nn.EmbeddingBag(6, 3, mode="max")), None),
    ("max_pool2d", lambda nn: nn.MaxPool2d(3, 2, padding=1), (1, 2, 5, 5)),
    ("max_pool1d_indices", lambda nn: nn.MaxPool1d(2, return_indices=True), (1, 2, 6)),
    ("avg_pool2d_ceil", lambda nn: nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False), (1, 2, 5, 5)),
    ("adaptive_max_pool2d", lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (1, 2, 5, 7)),
    ("adaptive_avg_pool1d", lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
    ("lp_pool", lambda nn: nn.LPPool2d(2, 2), (1, 1, 4, 4)),
    ("upsample_bicubic", lambda nn: nn.Upsample(scale_factor=2, mode="bicubic", align_corners=True), (1, 1, 3, 3)),
    ("pixel_shuffle", lambda nn: nn.PixelShuffle(2), (1, 4, 2, 2)),
    ("rnn_bidirectional", lambda nn: nn.RNN(3, 4, num_layers=2, bidirectional=True), (5, 2, 3)),
    ("gru_batch_first", lambda nn: nn.GRU(3, 4, batch_first=True), (2, 5, 3)),
    ("lstm_proj", lambda nn: nn.LSTM(3, 4, proj_size=2), (5, 2, 3)),
    ("lstm_cell", lambda nn: nn.LSTMCell(3, 4), (2, 3)),
    ("multihead_attention", lambda nn: _SelfAttention(nn.MultiheadAttention(4, 2, batch_first=True)), (2, 3, 4)),
    ("transformer_encoder_layer", lambda nn: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0), (3, 2, 4)),
    ("prelu", lambda nn: nn.PReLU(3), (2, 3)),
    ("glu_softmin_flatten", lambda nn: nn.Sequential(nn.GLU(), nn.Softmin(1), nn.Flatten()), (2, 4, 2)),
    ("cosine_similarity", lambda nn: _Pair(nn.CosineSimilarity()), (2, 4)),
]


class _SelfAttention(retrograd.nn.Module):
    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x, x)


class _Pair(retrograd.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x, x.flip(0))


class _Bags(retrograd.nn.Module):
    """An EmbeddingBag over the flattened indices in bags [0, 2), [2, 2) (empty) and [2, 8)."""

    def __init__(self, bag):
        super().__init__()
        self.bag = bag

    def forward(self, idx):
        return self.bag(idx.reshape(-1), retrograd.tensor([0, 2, 2], device=idx.device))


def _layer_input(name, shape, device):
    if shape is None:  # index inputs of the embeddings
        return retrograd.tensor([[0, 2, 5, 2], [1, 1, 0, 3]], device=device)
    return retrograd.tensor(np.random.default_rng(1).uniform(-1, 1, shape), dtype=retrograd.float32,
                            device=device).requires_grad_()


def _run_layer(module, name, shape, device):
    retrograd.set_default_device(None if device == "cpu" else device)
    x = _layer_input(name, shape, device)
    outs = _tensors(module(x))
    outs = [o for group in outs for o in (group if isinstance(group, (tuple, list)) else [group])]
    floating = [o for o in outs if o.dtype.is_floating_point and o.requires_grad]
    rng = np.random.default_rng(2)
    sum(((o * retrograd.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=device)).sum()
         for o in floating), retrograd.zeros((), device=device)).backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return outs + ([x.grad] if x.requires_grad else []) + grads + list(module.buffers())


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_forward_backward_and_buffers_on_the_device_equal_the_cpu(name, make, shape, cuda):
    retrograd.set_default_device(None)
    retrograd.manual_seed(0)
    cpu = make(retrograd.nn)
    device = copy.deepcopy(cpu).to("cuda")
    want = _run_layer(cpu, name, shape, "cpu")
    got = _run_layer(device, name, shape, "cuda")
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(_host(g), w.detach().numpy(), rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------------------- optimizers and init

OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)), ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.1)),
    ("Adadelta", dict()), ("Adamax", dict(lr=0.01)), ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)),
    ("Rprop", dict()), ("ASGD", dict(lr=0.01)), ("Adafactor", dict(lr=0.01)), ("LBFGS", dict(lr=0.5)),
]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_optimizer_steps_on_the_device_equal_the_cpu(name, kwargs, cuda):
    start = np.random.default_rng(3).uniform(-1, 1, (3, 4))
    results = []
    for device in ("cpu", "cuda"):
        w = retrograd.tensor(start, device=device).requires_grad_()
        opt = getattr(retrograd.optim, name)([w], **kwargs)

        def closure(w=w, opt=opt):
            opt.zero_grad()
            loss = ((w * w).sum(1) - w.sum(0).mean()).pow(2).sum()
            loss.backward()
            return loss

        syncs.clear()
        for _ in range(3):
            opt.step(closure)
        if name != "LBFGS":  # (LBFGS's line search reads the loss on the host, as torch's)
            assert len(syncs) == 0, f"host round trips of {name}.step:\n{syncs!r}"
        results.append(w)
    np.testing.assert_allclose(_host(results[1]), results[0].detach().numpy(), rtol=1e-6, atol=1e-9)


INITS = ["constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "orthogonal_",
         "sparse_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_"]


@pytest.mark.parametrize("name", INITS)
def test_init_fills_a_device_tensor_on_the_device(name, cuda):
    w = retrograd.empty(4, 3, 3) if name == "dirac_" else retrograd.empty(4, 6)
    args = {"constant_": (0.5,), "sparse_": (0.5,)}.get(name, ())
    out = getattr(retrograd.nn.init, name)(w, *args)
    assert out is w and w.is_cuda and type(w._data) is strict_device.ndarray
    assert np.isfinite(_host(w)).all()


# ---------------------------------------------------------------------------- training steps

WORKLOADS = ["mlp", "cnn", "transformer", "lstm"]


@functools.cache
def _small(name):
    """The bench workload ``name`` built on the CPU (once: the tests train copies of its model),
    with a smaller batch where that keeps it fast."""
    from bench.workloads import WORKLOADS as ALL

    retrograd.set_default_device(None)
    w = ALL[name](retrograd)
    if name == "mlp":
        w.inputs, w.target = (w.inputs[0][:16],), w.target[:16]
    elif name == "cnn":
        w.inputs, w.target = (w.inputs[0][:4],), w.target[:4]
    elif name == "transformer":
        w.inputs, w.target = (w.inputs[0][:1, :32],), w.target[:1, :32]
    elif name == "lstm":
        w.inputs, w.target = (w.inputs[0][:4, :8],), w.target[:4]
    return w


def _step(w, model, optimizer, device):
    retrograd.set_default_device(device)  # the workloads make their masks and positions there
    inputs = [x.to(device) for x in w.inputs]
    target = w.target.to(device)
    optimizer.zero_grad()
    loss = w.loss_fn(model(*inputs), target)
    loss.backward()
    retrograd.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss


@pytest.fixture(params=["array ops", "fused kernels"])
def kernels(request, monkeypatch):
    """The device's composites as array ops (the stand-in has no RawKernel), or as retrograd's
    fused CUDA kernels run by tests/cuda_emulator.py (their sources built with g++ for the CPU);
    yields (whether fused, the kernels launched)."""
    calls = []
    if request.param == "fused kernels":
        from tests import cuda_emulator

        if cuda_emulator.compiler() is None:
            pytest.skip("no C++ compiler to emulate the kernels")
        cuda_emulator.install(monkeypatch, cuda_emulator.build(), calls)
    yield request.param == "fused kernels", calls


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
@pytest.mark.parametrize("name", WORKLOADS)
def test_training_step_on_the_device_equals_the_cpu_without_host_round_trips(name, opt, kernels, cuda):
    w = _small(name)
    cpu_model, dev_model = copy.deepcopy(w.model), copy.deepcopy(w.model).to("cuda")
    kwargs = {"lr": 0.01, "momentum": 0.9} if opt == "SGD" else {"lr": 1e-3}
    cpu_opt = getattr(retrograd.optim, opt)(cpu_model.parameters(), **kwargs)
    dev_opt = getattr(retrograd.optim, opt)(dev_model.parameters(), **kwargs)
    for step in range(2):
        want = _step(w, cpu_model, cpu_opt, "cpu").item()
        syncs.clear()
        got = _step(w, dev_model, dev_opt, "cuda")
        assert len(syncs) == 0, f"host round trips of a {name} step:\n{syncs!r}"
        assert got.item() == pytest.approx(want, rel=1e-5)
    fused, launched = kernels
    assert fused == any(k.endswith("_step") for k in launched), launched  # (the optimizer's kernel ran)
    for p, q in zip(cpu_model.parameters(), dev_model.parameters()):  # (Adam moves by ~lr whatever the gradient's size)
        np.testing.assert_allclose(_host(q), p.detach().numpy(), rtol=1e-4, atol=0.1 * kwargs["lr"] if opt == "Adam" else 1e-6)
