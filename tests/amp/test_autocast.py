"""autocast: every op of torch's autocast lists that retrograd has runs in the precision torch
runs it in (checked against the lists, and against torch itself on the CPU); parameters and
grads stay float32; saved activations are low precision; a model with every layer type
trains under float16 and bfloat16 autocast with torch's dtypes layer by layer."""

import math
import warnings

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, retrograd_modules, torch
from retrograd.amp import autocast_mode
from retrograd.autograd.function import Function
from tests.amp._autocast_cases import ABSENT, CASES, TORCH_LISTS, Maker, policy

F = retrograd.nn.functional
LOW = ("bfloat16", "float16")


def _run(t, fn, device_type, dtype, in_low):
    """(output dtype name, output as float64 array) of fn under autocast, or the exception."""
    m = Maker(t, getattr(t, dtype) if in_low else t.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with t.autocast(device_type, dtype=getattr(t, dtype)):
                out = fn(t, t.nn.functional, m)
    except Exception as e:  # noqa: BLE001 - compared with torch's outcome
        return e, None, m.mixed
    return str(out.dtype).replace("torch.", ""), out.detach().double().numpy(), m.mixed


def _expected(device_type, name, dtype, in_low, mixed):
    """The output dtype torch's policy for the op gives (None: not determined by the policy)."""
    pol = policy(device_type, name)
    if pol == "lower":
        return dtype
    if pol in ("fp32", "promote"):
        return "float32"
    if pol is None and not mixed:  # no cast: the op runs in its inputs' dtype
        return dtype if in_low else "float32"
    return None


# --------------------------------------------------------------- the lists themselves


@requires_torch
def test_lists_are_torchs_autocast_registrations():
    """The op names in TORCH_LISTS are exactly the ops torch registers autocast kernels for."""
    for device_type, key in (("cpu", "AutocastCPU"), ("cuda", "AutocastCUDA")):
        registered = {n.split(".")[0].replace("aten::", "")
                      for n in torch._C._dispatch_get_registrations_for_dispatch_key(key)}
        listed = set().union(*TORCH_LISTS[device_type].values())
        assert listed == registered, (device_type, sorted(listed ^ registered))


def test_every_listed_op_has_a_case_or_is_absent():
    """Each op in torch's lists is called by a case (so its dtype is checked), or retrograd
    does not have it: an op added later without a case fails here."""
    covered = {name.split(".")[0] for name in CASES}
    for device_type, lists in TORCH_LISTS.items():
        for names in lists.values():
            missing = sorted(names - covered - set(ABSENT))
            assert not missing, f"{device_type} autocast ops without a case: {missing}"
    for name, public in ABSENT.items():
        assert name not in covered
        if public is None:
            continue
        obj = retrograd
        for part in public.split("."):
            obj = getattr(obj, part, None)
        assert obj is None, f"retrograd has {public} now: add a case for {name} to _autocast_cases.py"


def _declarations():
    """Every autocast declaration in retrograd: on Function subclasses, and on public functions."""
        
    found = {}
    todo = [Function]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "_autocast" in vars(cls) and cls is not Function:
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls._autocast
    for module in retrograd_modules():
        for attr, obj in vars(module).items():
            if callable(obj) and not isinstance(obj, type) and "_autocast" in getattr(obj, "__dict__", {}):
                # on the public function itself (a decorator that slid onto a helper fails here)
                assert not obj.__name__.startswith("_"), f"autocast policy on private {obj.__qualname__}"
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj._autocast
    return found


def test_every_declared_policy_is_valid():
    decls = _declarations()
    assert len(decls) > 60
    for where, decl in decls.items():
        autocast_mode.check_policy(decl)  # raises ValueError naming the bad policy or device
    assert decls["retrograd.ops.linear.linear"] == "lower"
    assert decls["retrograd.ops.normalization.layer_norm"] == {"cuda": "fp32"}
    assert decls["retrograd.ops.reduction.Sum"] == {"cuda": "fp32"}
    with pytest.raises(ValueError, match="unknown autocast policy"):
        autocast_mode.autocast_op("fp64")
    with pytest.raises(ValueError, match="unknown device type"):
        autocast_mode.check_policy({"tpu": "lower"})


# --------------------------------------------------------------- op by op, on the CPU


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("name", sorted(CASES))
def test_cpu_output_dtype(name, dtype):
    """Under cpu autocast the op's output dtype is the one torch's CPU policy gives, and (torch
    installed) the one torch gives, with torch's values; for float32 inputs and for inputs
    already in the autocast dtype."""
    for in_low in (False, True):
        got, value, mixed = _run(retrograd, CASES[name], "cpu", dtype, in_low)
        if torch is not None:
            ref, ref_value, _ = _run(torch, CASES[name], "cpu", dtype, in_low)
            if isinstance(ref, Exception):  # torch cannot run it in this dtype (pdist in half...)
                continue
            assert got == ref, (name, dtype, in_low, got, ref)
            np.testing.assert_allclose(value, ref_value, rtol=3e-2, atol=3e-2, err_msg=name)
        if isinstance(got, Exception):
            if mixed and policy("cpu", name) is None:  # mixed dtypes, no cast: the op's own dtype
                continue  # rules decide (dot and bilinear raise in both libraries)
            if in_low and name in _NO_HALF_ON_CPU and isinstance(got, NotImplementedError):
                continue  # torch's CPU kernel has no float16/bfloat16 version either (checked with torch above)
            raise got
        expected = _expected("cpu", name, dtype, in_low, mixed)
        if expected is not None:
            assert got == expected, (name, dtype, in_low, got, expected)


# ops whose CPU kernels torch has only in float32/float64 (uint8 too): their float16/bfloat16
# inputs raise NotImplementedError in both libraries
_NO_HALF_ON_CPU = {"_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa"}


@pytest.fixture
def as_if_cuda(monkeypatch):
    """NumPy tensors seen as CUDA tensors by autocast, so that the CUDA policies run here."""
    monkeypatch.setattr(autocast_mode, "_device_type", lambda array: "cuda")
    monkeypatch.setattr(retrograd._backend, "cuda_available", lambda: True)


# ops that torch's CUDA kernels (cuSOLVER/MAGMA) do not run in float16/bfloat16: without a
# CUDA policy, only their float32 inputs are checked there
_NO_HALF_ON_CUDA = {"cholesky", "inverse", "linalg_cholesky", "linalg_cholesky_ex", "linalg_eigh",
                    "linalg_eigvalsh", "linalg_inv", "linalg_inv_ex", "linalg_qr", "linalg_solve",
                    "linalg_svd", "linalg_svdvals", "svd", "cholesky_inverse", "cholesky_solve", "linalg_cond",
                    "linalg_lstsq", "linalg_matrix_rank", "linalg_tensorinv", "linalg_tensorsolve", "lu_solve",
                    "pinverse", "triangular_solve", "qr"}


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_policy(name, dtype, as_if_cuda):
    """Under cuda autocast the output dtype is the one torch's CUDA policy gives (float32 for
    exp, softmax, sum, norms, losses; float16/bfloat16 for matmul and conv; the widest input
    type for the promote ops), and ops with a CPU-only policy are not cast."""
    for in_low in (False, True) if name not in _NO_HALF_ON_CUDA else (False,):
        got, _, mixed = _run(retrograd, CASES[name], "cuda", dtype, in_low)
        if policy("cuda", name) == "banned":
            assert isinstance(got, RuntimeError) and "unsafe to autocast" in str(got)
            continue
        if isinstance(got, Exception):
            if mixed and policy("cuda", name) is None:  # mixed dtypes, no cast: the op's own dtype rules
                continue  # decide (index_copy raises in torch on every device: its meta function checks)
            raise got
        expected = _expected("cuda", name, dtype, in_low, mixed)
        if expected is not None:
            assert got == expected, (name, dtype, in_low, got, expected)


def test_autocast_casts_only_its_own_devices_tensors():
    """A cuda region leaves CPU tensors alone (torch: only tensors of the region's device)."""
    x = retrograd.randn(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with retrograd.autocast("cuda", enabled=False), retrograd.autocast("cpu", dtype=retrograd.float16):
            assert (x @ x.t()).dtype == retrograd.float16
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(retrograd._backend, "cuda_available", lambda: True)
        with retrograd.autocast("cuda"):
            assert retrograd.is_autocast_enabled("cuda") and not retrograd.is_autocast_enabled("cpu")
            assert (x @ x.t()).dtype == retrograd.float32  # a CPU tensor: not cast
            with retrograd.autocast("cpu"):  # both regions on at once
                assert (x @ x.t()).dtype == retrograd.bfloat16
                assert retrograd.is_autocast_enabled("cuda")


def test_float64_is_never_cast():
    x = retrograd.randn(3, 3, dtype=retrograd.float64)
    with retrograd.autocast("cpu"):
        assert (x @ x).dtype == retrograd.float64
        assert F.mse_loss(x, x).dtype == retrograd.float64


# --------------------------------------------------------------- the region itself


def _inputs(t):
    rng = np.random.default_rng(0)
    x = t.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    w = t.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    return x, w


@pytest.mark.parametrize("dtype", LOW)
def test_sequential_linear_relu_linear(dtype):
    """The issue's case: the second Linear gets the first one's low-precision output."""
    retrograd.manual_seed(0)
    model = retrograd.nn.Sequential(retrograd.nn.Linear(4, 5), retrograd.nn.ReLU(), retrograd.nn.Linear(5, 2))
    with retrograd.autocast("cpu", dtype=getattr(retrograd, dtype)):
        out = model(retrograd.randn(3, 4))
        loss = F.cross_entropy(out, retrograd.tensor([0, 1, 1]))
    assert str(out.dtype) == f"torch.{dtype}" and loss.dtype == retrograd.float32
    loss.backward()
    assert all(p.grad.dtype == retrograd.float32 for p in model.parameters())


def test_parameters_and_grads_stay_float32():
    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu"):
        loss = F.linear(x, w).float().pow(2).sum()
    loss.backward()
    assert w.dtype == retrograd.float32 and w.grad.dtype == retrograd.float32
    assert x.grad.dtype == retrograd.float32


def test_saved_activations_are_low_precision():
    from retrograd.autograd.graph import saved_tensors_hooks

    x, w = _inputs(retrograd)
    saved = []
    with saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        with retrograd.autocast("cpu"):
            F.linear(x, w)
    assert saved and all(t.dtype == retrograd.bfloat16 for t in saved)


def test_disabled_and_nested():
    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu"):
        with retrograd.autocast("cpu", enabled=False):
            assert (x @ w.t()).dtype == retrograd.float32
            assert not retrograd.is_autocast_enabled("cpu")
        assert (x @ w.t()).dtype == retrograd.bfloat16
    assert (x @ w.t()).dtype == retrograd.float32
    assert retrograd.cpu.amp.autocast is not None
    with retrograd.amp.autocast("cpu", dtype=retrograd.float16):
        assert (x @ w.t()).dtype == retrograd.float16
        assert retrograd.get_autocast_dtype("cpu") == retrograd.float16
        assert not retrograd.is_autocast_enabled()  # torch: no argument means CUDA
    assert retrograd.get_autocast_dtype("cpu") == retrograd.bfloat16


def test_unsupported_dtype_or_device_warns_and_disables_as_torch():
    x, w = _inputs(retrograd)
    with pytest.warns(UserWarning, match="not supported. Disabling autocast"):
        region = retrograd.autocast("cpu", dtype=retrograd.float64)
    with region:
        assert not retrograd.is_autocast_enabled("cpu") and (x @ w.t()).dtype == retrograd.float32
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        retrograd.autocast("tpu")
    if not retrograd.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            with retrograd.autocast("cuda"):
                assert not retrograd.is_autocast_enabled("cuda")


@pytest.mark.parametrize("cache_enabled", [True, False])
def test_weight_cast_cache(cache_enabled):
    """cache_enabled: a float32 leaf that requires grad is cast once per region (torch's cache),
    so both uses share one ToCopyBackward0 node; without the cache each use casts again."""
    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu", cache_enabled=cache_enabled):
        a, b = F.linear(x, w), F.linear(x, w)
    # linear's weight reaches its Mm node through TBackward0, as in torch
    cast_a, cast_b = (y.grad_fn.next_functions[1][0].next_functions[0][0] for y in (a, b))
    assert cast_a.name() == "ToCopyBackward0"
    assert (cast_a is cast_b) == cache_enabled
    (a.float().sum() + b.float().sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.detach().numpy().sum(0, keepdims=True).repeat(3, 0),
                               rtol=1e-2)
    with retrograd.autocast("cpu"):
        c = F.linear(x, w)
    assert c.grad_fn.next_functions[1][0] is not cast_a  # the cache ends with its region


def test_checkpoint_inside_autocast_recomputes_in_low_precision():
    from retrograd.utils.checkpoint import checkpoint

    x, w = _inputs(retrograd)
    with retrograd.autocast("cpu"):
        out = checkpoint(lambda a: F.linear(a, w).relu(), x)
    out.float().sum().backward()
    g_ckpt = w.grad.numpy().copy()
    w.grad = None
    with retrograd.autocast("cpu"):
        out = F.linear(x, w).relu()
    out.float().sum().backward()
    np.testing.assert_array_equal(g_ckpt, w.grad.numpy())


def test_custom_fwd_casts_inputs_and_custom_bwd_reuses_the_forward_state():
    seen = {}

    class Scale(retrograd.autograd.Function):
        @staticmethod
        @retrograd.amp.custom_fwd(device_type="cpu", cast_inputs=retrograd.float32)
        def forward(ctx, a, b):
            seen["fwd"] = (a.dtype, b.dtype, retrograd.is_autocast_enabled("cpu"))
            return a @ b

        @staticmethod
        @retrograd.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = retrograd.is_autocast_enabled("cpu")
            return g, g

    a = retrograd.randn(2, 2, requires_grad=True)
    with retrograd.autocast("cpu"):
        out = Scale.apply(a.bfloat16(), a)
    assert seen["fwd"] == (retrograd.float32, retrograd.float32, False) and out.dtype == retrograd.float32
    out.sum().backward()
    assert seen["bwd"] is False  # the forward ran with autocast off

    class Plain(retrograd.autograd.Function):
        @staticmethod
        @retrograd.amp.custom_fwd(device_type="cpu")
        def forward(ctx, a):
            return a @ a

        @staticmethod
        @retrograd.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = (retrograd.is_autocast_enabled("cpu"), retrograd.get_autocast_dtype("cpu"))
            return g

    with retrograd.autocast("cpu", dtype=retrograd.float16):
        out = Plain.apply(a)
    assert out.dtype == retrograd.float16  # the forward autocasts as the caller's region says
    out.float().sum().backward()
    assert seen["bwd"] == (True, retrograd.float16)
    with pytest.raises(TypeError):
        retrograd.amp.custom_fwd(lambda ctx: None)  # device_type is required, as in torch 2.4+


# --------------------------------------------------------------- a model with every layer type


def _model(t, lstm=True):
    nn = t.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 8)
            self.conv1 = nn.Conv1d(8, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm1d(8)
            self.ln = nn.LayerNorm(8)
            self.rms = nn.RMSNorm(8)
            self.rnn = nn.RNN(8, 8, batch_first=True)
            self.gru = nn.GRU(8, 8, batch_first=True)
            self.lstm = nn.LSTM(8, 8, batch_first=True) if lstm else None
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
            self.act = nn.GELU()
            self.drop = nn.Dropout(0.1)
            self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
            self.silu = nn.SiLU()
            self.conv2 = nn.Conv2d(1, 4, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(4)
            self.pool2 = nn.MaxPool2d(2)
            self.convt = nn.ConvTranspose2d(4, 2, 2, stride=2)
            self.avg2 = nn.AvgPool2d(2)
            self.apool = nn.AdaptiveAvgPool2d(1)
            self.conv3 = nn.Conv3d(1, 2, 3, padding=1)
            self.pool3 = nn.MaxPool3d(2)
            self.gn = nn.GroupNorm(2, 4)
            self.head = nn.Linear(16, 3)
            self.reg = nn.Linear(8, 1)

        def forward(self, tokens, image, volume):
            e = self.emb(tokens)
            c = self.bn1(self.conv1(e.transpose(1, 2))).transpose(1, 2).relu()
            s = self.rms(self.ln(e + c))
            s = self.rnn(s)[0] + self.gru(s)[0] + (self.lstm(s)[0] if self.lstm is not None else 0)
            s = s + self.mha(s, s, s)[0]
            s = self.enc(self.drop(self.act(s)))
            seq = self.silu(s).mean(1)
            im = self.pool2(self.bn2(self.conv2(image)).tanh())
            im = self.apool(self.avg2(self.convt(im)).sigmoid()).flatten(1)
            vol = self.pool3(self.conv3(volume)).flatten(2).mean(2)
            g = self.gn(self.conv2(image)).mean((2, 3))
            return self.head(t.cat([seq, im, vol, g], 1)), self.reg(seq)

    return Net()


def _data(t):
    rng = np.random.default_rng(0)
    return ((t.tensor(rng.integers(0, 10, (4, 5))),
             t.tensor(rng.standard_normal((4, 1, 8, 8)).astype(np.float32)),
             t.tensor(rng.standard_normal((4, 1, 4, 4, 4)).astype(np.float32))),
            t.tensor([0, 2, 1, 2]), t.tensor(rng.standard_normal((4, 1)).astype(np.float32)))


def _loss(t, model, dtype):
    inputs, target, y = _data(t)
    with t.autocast("cpu", dtype=getattr(t, dtype)):
        logits, pred = model(*inputs)
        F_ = t.nn.functional
        loss = (F_.cross_entropy(logits, target) + F_.nll_loss(F_.log_softmax(logits, 1), target)
                + F_.mse_loss(pred, y) + F_.smooth_l1_loss(pred, y) + F_.l1_loss(pred, y)
                + F_.binary_cross_entropy_with_logits(pred, (y > 0).float()))
    return loss


@pytest.mark.parametrize("dtype", LOW)
def test_model_with_every_layer_type_trains(dtype):
    retrograd.manual_seed(0)
    model = _model(retrograd)
    opt = retrograd.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = _loss(retrograd, model, dtype)
        assert loss.dtype == retrograd.float32
        loss.backward()
        for name, p in model.named_parameters():
            assert p.dtype == retrograd.float32 and p.grad is not None, name
            assert p.grad.dtype == retrograd.float32 and np.isfinite(p.grad.numpy()).all(), name
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0] - 0.05, losses


# module -> output dtypes under cpu autocast, as torch 2.13 gives them ("low": the autocast dtype);
# checked against torch itself when it is installed
MODULE_DTYPES = {
    "emb": ["float32"], "conv1": ["low"], "bn1": ["low"], "ln": ["float32"], "rms": ["float32"],
    "rnn": ["low", "low"], "gru": ["float32", "float32"], "lstm": ["low"], "mha": ["low", "low"],
    "act": ["float32"], "drop": ["float32"], "enc.self_attn": ["low"], "enc.dropout1": ["low"],
    "enc.norm1": ["float32"], "enc.linear1": ["low"], "enc.dropout": ["low"], "enc.linear2": ["low"],
    "enc.dropout2": ["low"], "enc.norm2": ["float32"], "enc": ["float32"], "silu": ["float32"],
    "conv2": ["low"], "bn2": ["low"], "pool2": ["low"], "convt": ["low"], "avg2": ["low"], "apool": ["low"],
    "conv3": ["low"], "pool3": ["float32"], "gn": ["low"], "head": ["low"], "reg": ["low"],
}


def _module_dtypes(t, model, dtype):
    seen = {}

    def record(name):
        def hook(module, args, out):
            seen.setdefault(name, [str(o.dtype).replace("torch.", "").replace(dtype, "low")
                                   for o in (out if isinstance(out, tuple) else (out,)) if hasattr(o, "dtype")])
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in model.named_modules() if name]
    _loss(t, model, dtype)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("dtype", LOW)
def test_model_layer_output_dtypes_match_torch(dtype):
    # torch 2.13's CPU LSTM cannot run in float16 (oneDNN has no such primitive)
    lstm = dtype == "bfloat16"
    model = _model(retrograd, lstm)
    got = _module_dtypes(retrograd, model, dtype)
    expected = {k: v for k, v in MODULE_DTYPES.items() if lstm or k != "lstm"}
    assert got == expected
    if torch is not None:
        torch.manual_seed(0)
        assert _module_dtypes(torch, _model(torch, lstm), dtype) == expected


def test_autocast_in_another_thread_leaves_this_threads_ops_alone():
    """Autocast is thread-local: while another thread is inside a region (so Function.apply
    cannot skip the thread-local read), this thread's ops run in float32; each thread sees its
    own region; the count of open regions returns to zero."""
    import threading

    inside, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        with retrograd.autocast("cpu", dtype=retrograd.bfloat16):
            a = retrograd.ones(2, 2)
            seen["other"] = (a @ a).dtype
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(5)
    assert autocast_mode._on_regions  # a region is open somewhere
    a = retrograd.ones(2, 2)
    here = (a @ a).dtype
    assert F.linear(a, a).dtype == retrograd.float32  # an autocast_op-declared function
    with retrograd.autocast("cpu", dtype=retrograd.bfloat16):
        with retrograd.autocast("cpu", enabled=False):
            off = (a @ a).dtype
        on = (a @ a).dtype
    done.set()
    thread.join()
    assert (seen["other"], here, off, on) == (retrograd.bfloat16, retrograd.float32, retrograd.float32,
                                              retrograd.bfloat16)
    assert not autocast_mode._on_regions
