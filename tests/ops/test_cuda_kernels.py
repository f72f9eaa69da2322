"""The fused CUDA kernels (retrograd/ops/_cuda_kernels.py), checked on any machine:

- every kernel's CUDA source compiles with nvcc (where nvcc is installed);
- the ops that call them (GELU, layer norm, softmax, log-softmax, cross-entropy, LSTM, GRU,
  Adam/AdamW, SGD) give on device='cuda' what they give on the CPU, forward and backward, with
  the kernels' launches checked. Device 'cuda' is, by fixture parameter,
  * "emulated": tests/strict_device.py's stand-in for CuPy, the kernels' very CUDA source
    compiled by g++ and run on the CPU (tests/cuda_emulator.py), with 8 threads per block and a
    grid of at most 3 blocks, so that every strided loop and reduction tree runs;
  * "gpu": real CuPy on a GPU (skipped without one): the same tests, run by bench/gpu.py on a
    GPU machine.
"""

import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

import retrograd as R
from retrograd import _backend
from retrograd.ops import _cuda_kernels as K

F = R.nn.functional


# ------------------------------------------------------------------------ nvcc compiles


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed here")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_every_kernel_source_compiles_with_nvcc(dtype):
    """Each complete source (in a namespace of its own, all in one file to compile once) gives
    PTX with an entry of the kernel's name, for Hopper (compute_90, the H100/H200 of bench/gpu.py)."""
    with tempfile.TemporaryDirectory() as d:
        cu = os.path.join(d, "kernels.cu")
        with open(cu, "w") as f:
            f.write("".join(f"namespace k_{name} {{\n{K.source(name, dtype)}\n}}\n" for name in K.KERNELS))
        ptx = os.path.join(d, "kernels.ptx")
        done = subprocess.run(["nvcc", "--ptx", "-arch=compute_90", "-Werror=all-warnings", "-o", ptx, cu],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        text = open(ptx).read()
    assert set(re.findall(r"\.entry (\w+)\(", text)) == set(K.KERNELS)
    if dtype == np.float32:  # no double-precision arithmetic slipped in (a bare 0.5 would promote)
        assert [line for line in text.splitlines() if ".f64" in line] == []


def test_every_kernel_source_compiles_with_nvrtc():
    """CuPy's own compiler (NVRTC, through CuPy's binding; no GPU needed), one source at a time."""
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc")
    for dtype in K.DTYPES:
        for name in K.KERNELS:
            try:
                prog = nvrtc.createProgram(K.source(name, dtype), f"{name}.cu", [], [])
            except Exception as e:  # noqa: BLE001 - CuPy without libnvrtc
                pytest.skip(f"NVRTC is not loadable here: {e}")
            try:
                nvrtc.compileProgram(prog, ["-arch=compute_90"])
            except nvrtc.NVRTCError as e:
                pytest.fail(f"{name} ({dtype}): {e}\n{nvrtc.getProgramLog(prog)}")
            ptx = nvrtc.getPTX(prog)
            assert f".entry {name}(" in (ptx.decode() if isinstance(ptx, bytes) else ptx)


def test_every_kernel_is_registered_once_and_has_a_launcher():
    assert len(K.KERNELS) == 19
    text = open(K.__file__).read()
    for name in K.KERNELS:
        assert f'"{name}"' in text or f"_{name.split('_')[-1]}" in text
        assert re.search(rf'extern "C" __global__ void {name}\(', K.source(name, np.float32))
        assert "typedef double T;" in K.source(name, np.float64)


# ------------------------------------------------------------------ the device fixture


@pytest.fixture(scope="session")
def _emulator_libs():
    from tests import cuda_emulator

    if cuda_emulator.compiler() is None:
        pytest.skip("no C++ compiler to emulate the kernels")
    return cuda_emulator.build()


def _gpu_ready():
    return _backend.cupy is not None and hasattr(_backend.cupy, "RawKernel") and _backend.cuda_available()


@pytest.fixture(params=["emulated", "gpu"])
def cuda(request, monkeypatch):
    """Device 'cuda' for the test; yields the list of kernel names launched."""
    calls = []
    if request.param == "gpu":
        if not _gpu_ready():
            pytest.skip("no GPU with CuPy here")
        launch = K._launch
        monkeypatch.setattr(K, "_launch", lambda name, *a, **k: (calls.append(name), launch(name, *a, **k)))
        yield calls
        return
    strict_device = pytest.importorskip("tests.strict_device")
    from tests import cuda_emulator

    cuda_emulator.install(monkeypatch, request.getfixturevalue("_emulator_libs"), calls)
    with strict_device.installed():
        yield calls


DTYPES = [(np.float32, 2e-6), (np.float64, 1e-12)]
DTYPE_IDS = ["float32", "float64"]


def _pair(a, dtype):
    """The same values as a CPU leaf and a CUDA leaf, both requiring grad."""
    a = np.asarray(a, dtype=dtype)
    return R.tensor(a, requires_grad=True), R.tensor(a, device="cuda", requires_grad=True)


def _host(t):
    return t.detach().cpu().numpy()


def _close(got, want, tol):
    got, want = _host(got), _host(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * 10)


def _check_op(fn, inputs, dtype, tol, seed=0):
    """fn on CPU and CUDA copies of ``inputs``: outputs and input gradients equal."""
    rng = np.random.default_rng(seed)
    pairs = [_pair(a, dtype) for a in inputs]
    outs = [fn(*[p[i] for p in pairs]) for i in (0, 1)]
    g = rng.standard_normal(outs[0].shape).astype(dtype)
    for out, dev in zip(outs, ("cpu", "cuda")):
        out.backward(R.tensor(g, device=dev))
    _close(outs[1], outs[0], tol)
    for cpu, gpu in pairs:
        _close(gpu.grad, cpu.grad, tol)


# ------------------------------------------------------------------------------ ops


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(cuda, dtype, tol, approximate):
    x = np.random.default_rng(1).standard_normal((5, 29)) * 3
    _check_op(lambda a: F.gelu(a, approximate=approximate), [x], dtype, tol)
    form = "tanh" if approximate == "tanh" else "erf"
    assert cuda == [f"gelu_{form}_forward", f"gelu_{form}_backward"]


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(cuda, dtype, tol, affine):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7, 37)) * 2 + 1
    params = [rng.standard_normal(37), rng.standard_normal(37)] if affine else []
    _check_op(lambda a, *wb: F.layer_norm(a, (37,), *wb), [x] + params, dtype, tol)
    assert cuda[:2] == ["layer_norm_forward", "layer_norm_backward_input"]
    assert cuda[2:] == (["layer_norm_backward_params"] if affine else [])


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_rows(cuda, dtype, tol, log):
    x = np.random.default_rng(3).standard_normal((4, 3, 21)) * 5
    x[0, 0, 3] = 80.0  # large: the kernel subtracts the row's max
    fn = F.log_softmax if log else F.softmax
    _check_op(lambda a: fn(a, dim=-1), [x], dtype, tol)
    name = "log_softmax" if log else "softmax"
    assert cuda == [f"{name}_forward", f"{name}_backward"]


def test_softmax_along_another_dim_stays_on_array_ops(cuda):
    x = np.random.default_rng(4).standard_normal((4, 6))
    _check_op(lambda a: F.softmax(a, dim=0), [x], np.float64, 1e-12)
    assert cuda == []


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy(cuda, dtype, tol, reduction, weighted):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((13, 11)) * 3
    target = rng.integers(0, 11, 13)
    target[[2, 7]] = -100
    w = rng.random(11) + 0.5 if weighted else None

    def loss(a):
        t = R.tensor(target, device=a.device)
        wt = None if w is None else R.tensor(w.astype(dtype), device=a.device)
        return F.cross_entropy(a, t, weight=wt, reduction=reduction)

    _check_op(loss, [x], dtype, tol)
    assert cuda == ["log_softmax_forward", "nll_forward", "nll_backward", "log_softmax_backward"]


def test_cross_entropy_target_out_of_bounds(cuda):
    """The kernel flags the row; the error comes at once or, as torch's device-side assert, at the
    next synchronisation (a RuntimeError naming it)."""
    x = R.zeros(3, 4, device="cuda")
    with pytest.raises((IndexError, RuntimeError), match="Target 4 is out of bounds"):
        F.cross_entropy(x, R.tensor([0, 4, 1], device="cuda")).item()
    assert cuda == ["log_softmax_forward", "nll_forward"]


def _layer_pair(cls, dtype, **kwargs):
    R.manual_seed(0)
    cpu = cls(**kwargs).to(dtype=getattr(R, np.dtype(dtype).name))
    gpu = cls(**kwargs).to(dtype=getattr(R, np.dtype(dtype).name))
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to("cuda")


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional,bias", [(False, True), (True, True), (False, False)],
                         ids=["one-way", "bidirectional", "no-bias"])
def test_recurrent_layers(cuda, dtype, tol, mode, bidirectional, bias):
    layers = _layer_pair(getattr(R.nn, mode), dtype, input_size=5, hidden_size=6, num_layers=2,
                         bidirectional=bidirectional, bias=bias)
    rng = np.random.default_rng(6)
    x, h0 = _pair(rng.standard_normal((7, 3, 5)), dtype), _pair(rng.standard_normal((4 if bidirectional else 2, 3, 6)),
                                                                 dtype)
    results = []
    for i, layer in enumerate(layers):
        hx = (h0[i], h0[i] * 0.5) if mode == "LSTM" else h0[i]
        out, hn = layer(x[i], hx)
        hn = hn[0] + hn[1] if mode == "LSTM" else hn
        (out * R.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape).astype(dtype), device=out.device)
         ).sum().add(hn.sum()).backward()
        results.append([out, x[i].grad, h0[i].grad] + [p.grad for p in layer.parameters()])
    for got, want in zip(results[1], results[0]):
        _close(got, want, tol * 10)
    step = mode.lower() + "_cell"
    assert set(cuda) == {step + "_forward", step + "_backward"}
    assert cuda.count(step + "_forward") == 7 * 2 * (1 + bidirectional)


def test_lstm_batch_first_reads_strided_output_gradients(cuda):
    """batch_first: each step's dout rows are strided (a view of (B, T, H)); the step kernel
    adds them to dh_t itself."""
    cpu, gpu = _layer_pair(R.nn.LSTM, np.float64, input_size=3, hidden_size=5, batch_first=True)
    x = np.random.default_rng(9).standard_normal((4, 6, 3))
    outs = []
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        xt = R.tensor(x, device=dev, requires_grad=True)
        out, _ = model(xt)
        (out * R.tensor(np.arange(out.numel()).reshape(out.shape) % 7 - 3.0, device=dev)).sum().backward()
        outs.append([out, xt.grad] + [p.grad for p in model.parameters()])
    for got, want in zip(outs[1], outs[0]):
        _close(got, want, 1e-12)
    assert cuda.count("lstm_cell_backward") == 6


def test_lstm_with_projection_and_packed_sequences(cuda):
    cpu, gpu = _layer_pair(R.nn.LSTM, np.float64, input_size=4, hidden_size=6, proj_size=3, batch_first=True)
    x = np.random.default_rng(7).standard_normal((3, 5, 4))
    lengths = [5, 3, 2]
    outs = []
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        packed = R.nn.utils.rnn.pack_padded_sequence(R.tensor(x, device=dev), lengths, batch_first=True)
        out, (h, c) = model(packed)
        (out.data.sum() + h.sum() * 2 + c.sum() * 3).backward()
        outs.append([out.data, h, c] + [p.grad for p in model.parameters()])
    for got, want in zip(outs[1], outs[0]):
        _close(got, want, 1e-12)
    assert "lstm_cell_forward" in cuda and "lstm_cell_backward" in cuda


# ------------------------------------------------------------------------ optimizers


def _train(opt_fn, dev, dtype, steps=3):
    R.manual_seed(0)
    model = R.nn.Sequential(R.nn.Linear(6, 5), R.nn.Tanh(), R.nn.Linear(5, 2)).to(dtype=getattr(R, dtype))
    model.to(dev)
    opt = opt_fn(model.parameters())
    x = R.tensor(np.random.default_rng(8).standard_normal((9, 6)).astype(dtype), device=dev)
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    return list(model.parameters()) + [t for s in opt.state.values() for k, t in s.items() if k != "step"]


OPTIMIZERS = {
    "adam": lambda ps: R.optim.Adam(ps, lr=0.01),
    "adam_wd_amsgrad_max": lambda ps: R.optim.Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True),
    "adamw": lambda ps: R.optim.AdamW(ps, lr=0.01, betas=(0.3, 0.9)),
    "sgd": lambda ps: R.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: R.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01),
    "sgd_nesterov_max": lambda ps: R.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, maximize=True),
}


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_multi_tensor_optimizer_step(cuda, dtype, tol, name):
    dtype = np.dtype(dtype).name
    want = _train(OPTIMIZERS[name], "cpu", dtype)
    cuda.clear()
    got = _train(OPTIMIZERS[name], "cuda", dtype)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _close(g, w, tol * 10)
    kernel = "adam_step" if name.startswith("adam") else "sgd_step"
    assert [c for c in cuda if c.endswith("_step")] == [kernel] * 3  # one launch per step


@pytest.mark.parametrize("name", ["adam_wd_amsgrad_max", "sgd_momentum"])
def test_optimizer_step_over_more_tensors_than_one_launch_takes(cuda, name):
    """41 parameters: two launches of at most K.MAX_TENSORS (32) per step, equal to the CPU's update."""
    def train(dev):
        R.manual_seed(0)
        layers = [R.nn.Linear(3, 3) for _ in range(20)] + [R.nn.Linear(3, 1, bias=False)]
        model = R.nn.Sequential(*layers).double().to(dev)
        opt = OPTIMIZERS[name](model.parameters())
        x = R.tensor(np.random.default_rng(10).standard_normal((5, 3)), device=dev)
        for _ in range(2):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
        return list(model.parameters())

    want = train("cpu")
    cuda.clear()
    got = train("cuda")
    assert len(got) == 41
    for g, w in zip(got, want):
        _close(g, w, 1e-12)
    kernel = "adam_step" if name.startswith("adam") else "sgd_step"
    assert cuda.count(kernel) == 4

