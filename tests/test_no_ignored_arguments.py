"""No public callable accepts an argument and ignores it.

Static check: every parameter of every public function, method and constructor of retrograd
(the torch namespace, Tensor methods, nn.functional, linalg, autograd, nn modules, init and
utils, optimizers and schedulers, amp, data, checkpoint, random) is read somewhere in its body
(a load of the local in its bytecode, or of a function it wraps), unless ALLOWED names it with
the reason. An accepted-and-ignored argument is either implemented or raises.

Dynamic check of out=: every function that takes ``out`` is exercised by tests/ops/test_out.py
(which writes into out and compares with torch), and no Tensor method takes ``out`` (torch's
do not).
"""

import dis
import importlib
import inspect
import types
import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import torch

MODULES = ["retrograd", "retrograd.nn.functional", "retrograd.linalg", "retrograd.autograd",
           "retrograd.autograd.functional", "retrograd.autograd.graph", "retrograd.nn", "retrograd.nn.init",
           "retrograd.nn.utils", "retrograd.nn.utils.rnn", "retrograd.nn.utils.parametrize",
           "retrograd.nn.utils.parametrizations", "retrograd.optim", "retrograd.optim.lr_scheduler",
           "retrograd.optim.swa_utils", "retrograd.amp", "retrograd.utils.data", "retrograd.utils.checkpoint",
           "retrograd.random", "retrograd.cuda", "retrograd.accelerator", "retrograd.backends.cudnn",
           "retrograd.backends.cuda", "retrograd.backends.mps", "retrograd.profiler",
           "retrograd.utils.benchmark", "retrograd.distributed", "retrograd.onnx", "retrograd.nn.parallel",
           "retrograd.futures", "retrograd.inspect", "retrograd.distributions",
           "retrograd.distributions.constraints", "retrograd.distributions.transforms", "retrograd.multiprocessing"]

# (qualified name, parameter): why it is right not to read it
ALLOWED = {
    # base-class signatures that subclasses override; the base raises or does nothing, as torch's
    ("retrograd.autograd.function.Function.forward", "*"): "abstract: subclasses define forward",
    ("retrograd.autograd.function.Function.backward", "*"): "abstract: subclasses define backward",
    ("retrograd.autograd.function.Function.setup_context", "*"): "abstract: subclasses may define it",
    ("retrograd.autograd.function.Function.__init__", "*"): "torch's Function() takes and drops them too",
    ("retrograd.nn.module.Module.forward", "*"): "abstract: raises NotImplementedError as torch's",
    ("retrograd.nn.modules.container.ModuleList.forward", "*"): "raises NotImplementedError as torch's",
    ("retrograd.nn.modules.container.ModuleDict.forward", "*"): "raises NotImplementedError as torch's",
    ("retrograd.nn.modules.container.ParameterList.__call__", "*"): "raises: not callable, as torch's",
    ("retrograd.nn.modules.container.ParameterDict.__call__", "*"): "raises: not callable, as torch's",
    ("retrograd.nn.modules.linear.Identity.__init__", "*"): "torch documents them as 'any argument (unused)'",
    ("retrograd.nn.modules.lazy.LazyModuleMixin.initialize_parameters", "*"):
        "abstract: each lazy module defines it; the base raises NotImplementedError as torch's",
    ("retrograd.optim.optimizer.Optimizer.step", "closure"): "abstract: raises NotImplementedError as torch's",
    # the Transform interface passes x and y; these Jacobians are functions of x alone, as torch's
    **{(f"retrograd.distributions.transforms.{t}Transform.log_abs_det_jacobian", "y"):
       "Transform interface: this Jacobian is a function of x" for t in
       ("Affine", "CumulativeDistribution", "Exp", "Reshape", "Sigmoid", "Softplus", "Tanh")},
    ("retrograd.distributions.transforms.CorrCholeskyTransform.log_abs_det_jacobian", "intermediates"):
        "Transform interface: torch's also recomputes them from x",
    # read by __new__, which builds the object
    ("retrograd.nn.parameter.Parameter.__init__", "*"): "consumed by Parameter.__new__",
    ("retrograd.nn.parameter.Buffer.__init__", "*"): "consumed by Buffer.__new__",
    # callback signatures fixed by their caller
    ("retrograd.nn.utils.spectral_norm.SpectralNorm.__call__", "inputs"): "forward pre-hook signature",
    ("retrograd.nn.utils.weight_norm.WeightNorm.__call__", "inputs"): "forward pre-hook signature",
    ("Tensor.__reduce_ex__", "protocol"): "pickle protocol: the reduction is the same for all",
    **{("Tensor.__array_wrap__", p): "NumPy's protocol passes it; torch's wrap is a tensor whatever its value"
       for p in ("context", "return_scalar")},
    **{(f"retrograd.linalg.{op}.jvp", "_"): "forward AD passes a tangent per forward argument: the "
       "non-tensor arguments' (mode, full_matrices, UPLO, atol/rtol/hermitian) are None"
       for op in ("QR", "SVD", "Eigh", "Pinv")},
    ("retrograd.linalg.LUFactor.backward", "_"): "the pivots' and info's gradients: integers, not differentiable",
    ("retrograd.linalg.LDLSolve.forward", "ctx"): "no derivative (torch has none): nothing to save",
    # hints that permit what retrograd does
    ("retrograd.tensor.Tensor.cuda", "non_blocking"): "copies are synchronous, which non_blocking=True permits",
    ("retrograd.tensor.Tensor.to", "non_blocking"): "copies are synchronous, which non_blocking=True permits",
    ("retrograd.autograd.offload.save_on_cpu.__init__", "pin_memory"):
        "pinned host copies only speed transfers up; torch also copies unpinned without the device",
    ("retrograd.autograd.offload.save_on_cpu.__init__", "device_type"):
        "names the device module torch asks whether to pin (see pin_memory)",
    ("retrograd.nn.utils.get_total_norm", "foreach"): "torch's _foreach kernels; the values are the same",
    ("retrograd.nn.utils.clip_grads_with_norm_", "foreach"): "torch's _foreach kernels; the values are the same",
    ("retrograd.nn.utils.clip_grad_value_", "foreach"): "torch's _foreach kernels; the values are the same",
    ("retrograd.profiler.profiler.profile.export_chrome_trace", "use_python_export"):
        "retrograd's one exporter is in Python (what True asks for) and writes the format Kineto's does",
    **{(f"retrograd.{cls}.vmap", "info"): "the batching rule needs no batch size or randomness: the batch is in "
       "the tensors" for cls in ("linalg.Cholesky", "linalg.Solve", "nn.utils.rnn.GatherRows",
                                 "nn.utils.rnn.ScatterRows")},
    ("retrograd.group_norm", "cudnn_enabled"): "selects cuDNN kernels; the values are the same",
    ("retrograd.layer_norm", "cudnn_enable"): "selects cuDNN kernels; the values are the same",
    ("retrograd.tensor.Tensor.unique", "sorted"): "sorted=False permits any order (torch's CPU sorts too)",
    # torch's *_with_indices take return_indices and always return the indices
    ("retrograd.max_pool1d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.max_pool2d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.adaptive_max_pool1d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.adaptive_max_pool2d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.fractional_max_pool2d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.fractional_max_pool3d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.max_pool3d_with_indices", "return_indices"): "torch ignores it too",
    ("retrograd.nn.functional.adaptive_max_pool3d_with_indices", "return_indices"): "torch ignores it too",
}

_LOADS = {"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR", "LOAD_DEREF", "LOAD_CLOSURE",
          "LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW", "LOAD_FAST_BORROW_LOAD_FAST_BORROW"}


def _read_names(code):
    """Local names the code object reads (``del x`` and stores do not count), nested functions included."""
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in _LOADS:
            names.update(ins.argval if isinstance(ins.argval, tuple) else (ins.argval,))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _read_names(const) & set(const.co_freevars)
    return names


def _unread(fn):
    """The parameters of fn that neither it nor a function it wraps (__wrapped__) reads."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []
    read, f = set(), fn
    while f is not None:
        code = getattr(f, "__code__", None)
        if isinstance(code, types.CodeType):
            read |= _read_names(code)
        f = getattr(f, "__wrapped__", None)
    if not read:  # not Python code (a builtin or a C slot)
        return []
    skip = {"self", "cls"} & set(params[:1])
    return [p for p in params if p not in read and p not in skip]


def _callables():
    """{qualified name: function} for the public API."""
    found = {}

    def add(qual, obj):
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            obj = obj.fget
        if inspect.isfunction(obj) or (callable(obj) and hasattr(obj, "__wrapped__")):
            found.setdefault(id(obj), (qual, obj))

    def add_class(cls):
        for name, member in vars(cls).items():
            if not name.startswith("_") or name in ("__init__", "__new__", "__call__"):
                add(f"{cls.__module__}.{cls.__qualname__}.{name}", member)

    for modname in MODULES:
        module = importlib.import_module(modname)
        for name in dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or not str(getattr(obj, "__module__", "")).startswith("retrograd"):
                continue
            if inspect.isclass(obj):
                add_class(obj)
            else:
                add(f"{modname}.{name}", obj)
    for name, member in vars(retrograd.Tensor).items():
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            add(f"Tensor.{name}", member)
    return dict(found.values())


CALLABLES = _callables()


def _offenders():
    offenders = []
    for qual, fn in sorted(CALLABLES.items()):
        for param in _unread(fn):
            if (qual, param) not in ALLOWED and (qual, "*") not in ALLOWED:
                offenders.append(f"{qual}({param})")
    return offenders


def test_the_walk_sees_the_public_api():
    assert len(CALLABLES) > 1000
    seen = {id(fn) for fn in CALLABLES.values()}
    for fn in [retrograd.add, retrograd.Tensor.add, retrograd.nn.functional.normalize, retrograd.linalg.svd,
               retrograd.autograd.gradcheck, retrograd.optim.Adam.__init__, retrograd.nn.Linear.__init__,
               retrograd.nn.Linear.forward, retrograd.optim.lr_scheduler.StepLR.__init__]:
        assert id(fn) in seen, fn


def test_every_accepted_argument_is_read():
    offenders = _offenders()
    assert not offenders, (
        f"{len(offenders)} parameters are accepted and never read: implement them, raise for values "
        "that are not supported, drop them, or add them to ALLOWED with the reason:\n  " + "\n  ".join(offenders))


def test_the_static_check_catches_an_ignored_argument():
    def ignores(input, *, out=None, scale=1.0):
        del scale
        return input

    def uses(input, *, scale=1.0):
        return [input * scale for _ in range(1)]  # read inside a comprehension's closure

    assert _unread(ignores) == ["out", "scale"]
    assert _unread(uses) == []


def test_allowed_entries_name_real_parameters():
    """An entry that no longer matches anything is removed, so the list stays small and true."""
    for (qual, param), reason in ALLOWED.items():
        assert reason
        assert qual in CALLABLES, qual
        assert param == "*" or param in _unread(CALLABLES[qual]), (qual, param)


# removed from torch: kept, with torch's signatures, only to raise RuntimeError naming the replacement
REMOVED = {"retrograd.solve", "retrograd.lstsq", "retrograd.symeig", "retrograd.matrix_rank"}


def _takes_out():
    return sorted(q for q, fn in CALLABLES.items()
                  if not q.startswith("Tensor.") and q not in REMOVED and "out" in _parameters(fn))


def _parameters(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def test_every_function_taking_out_is_checked_against_torch():
    from tests.ops.test_out import CASES, LIST_OUT

    def case_name(qual):
        for prefix in ("retrograd.nn.functional.", "retrograd.linalg.", "retrograd."):
            if qual.startswith(prefix):
                return qual[len(prefix):] if prefix == "retrograd." else prefix[len("retrograd."):] + qual[len(prefix):]
        return qual

    names = {case_name(q) for q in _takes_out()}
    aliases = {n for n in CASES} | LIST_OUT
    missing = sorted(n for n in names if n not in aliases and not _covered_alias(n, aliases))
    assert not missing, f"functions with out= that tests/ops/test_out.py does not exercise: {missing}"


def _covered_alias(name, cases):
    """A function is covered when a case calls the same object under another name."""
    fn = _resolve(name)
    return any(_resolve(c) is fn for c in cases)


def _resolve(name):
    obj = retrograd
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj


@pytest.mark.parametrize("name", sorted(n for n, m in vars(retrograd.Tensor).items() if callable(m)))
def test_no_tensor_method_takes_out(name):
    assert "out" not in _parameters(getattr(retrograd.Tensor, name)), name


# ---------------------------------------------------------------------------- each keyword found ignored
# A non-default value of each changes the result, warns or raises; where torch (without CUDA)
# does the same, the same exception or warning type as torch's.

def _x(m):
    return m.tensor([[1.0, 2.0], [3.0, 4.0]])


def _checkpoint(m, **kw):
    import importlib

    cp = importlib.import_module(f"{m.__name__}.utils.checkpoint")
    x = m.tensor([1.0, 2.0], requires_grad=True)
    return cp.checkpoint(lambda a: a * 2, x, **kw)


def _grad_only_inputs(m):
    x = _x(m).requires_grad_()
    return m.autograd.grad((x * 2).sum(), [x], only_inputs=False)


def _packed_cpu(m):
    rnn = importlib.import_module(f"{m.__name__}.nn.utils.rnn")
    packed = rnn.pack_padded_sequence(m.ones(3, 2, 1), [3, 2])
    return packed.cpu(m.float64).data.dtype


KEYWORDS = {  # name: (call(module), the exception or warning type, or None: compare the result)
    "empty(pin_memory)": (lambda m: m.empty(2, pin_memory=True), RuntimeError),
    "tensor(pin_memory)": (lambda m: m.tensor([1.0], pin_memory=True), RuntimeError),
    "linalg.svd(driver)": (lambda m: m.linalg.svd(_x(m), driver="gesvd"), RuntimeError),
    "linalg.svdvals(driver)": (lambda m: m.linalg.svdvals(_x(m), driver="gesvd"), RuntimeError),
    "gumbel_softmax(eps)": (lambda m: m.nn.functional.gumbel_softmax(_x(m), eps=1e-5), UserWarning),
    "autograd.grad(only_inputs)": (lambda m: _grad_only_inputs(m), FutureWarning),
    "repeat_interleave(output_size)": (lambda m: m.repeat_interleave(m.tensor([1, 2]), 2, output_size=3), RuntimeError),
    "randint_like(requires_grad)": (lambda m: m.randint_like(_x(m), 3, requires_grad=True).requires_grad, None),
    "jacobian(strategy)": (lambda m: m.autograd.functional.jacobian(lambda a: a, _x(m), strategy="bogus"), AssertionError),
    "jacobian(strategy=forward-mode)": (lambda m: m.autograd.functional.jacobian(
        lambda a: a.exp(), _x(m), strategy="forward-mode", vectorize=True).sum().item(), None),
    "jacobian(vectorize)": (
        lambda m: m.autograd.functional.jacobian(lambda a: a, _x(m), strict=True, vectorize=True), RuntimeError),
    "hessian(outer_jacobian_strategy)": (
        lambda m: m.autograd.functional.hessian(lambda a: a.sum(), _x(m), outer_jacobian_strategy="bogus"),
        AssertionError),
    "checkpoint(determinism_check)": (lambda m: _checkpoint(m, use_reentrant=False, determinism_check="x"), ValueError),
    "checkpoint(debug)": (lambda m: _checkpoint(m, use_reentrant=True, debug=True), ValueError),
    "checkpoint(context_fn)": (lambda m: _checkpoint(m, use_reentrant=True, context_fn=lambda: None), ValueError),
    "PackedSequence.cpu(args)": (_packed_cpu, None),
    "__repr__(tensor_contents)": (lambda m: _x(m).__repr__(tensor_contents="x"), None),
}
RETROGRAD_ONLY = {  # torch does something retrograd does not have: retrograd raises instead
    # (torch has layouts, memory formats and sparse gradients; retrograd only dense row-major tensors)
    "zeros(layout)": (lambda m: m.zeros(2, layout="sparse"), NotImplementedError),
    "ones_like(memory_format)": (lambda m: m.ones_like(_x(m), memory_format="channels_last"), NotImplementedError),
    "tril_indices(layout)": (lambda m: m.tril_indices(3, 3, layout="sparse"), NotImplementedError),
    "clone(memory_format)": (lambda m: _x(m).clone(memory_format="channels_last"), NotImplementedError),
    "contiguous(memory_format)": (lambda m: _x(m).contiguous(memory_format="channels_last"), NotImplementedError),
    "to(memory_format)": (lambda m: _x(m).to(m.float64, memory_format="channels_last"), NotImplementedError),
    "gather(sparse_grad)": (lambda m: m.gather(_x(m), 1, m.tensor([[0], [1]]), sparse_grad=True), NotImplementedError),
    "embedding(sparse)": (lambda m: m.nn.functional.embedding(m.tensor([0]), _x(m), sparse=True), NotImplementedError),
    "checkpoint(context_fn) non-reentrant": (
        lambda m: _checkpoint(m, use_reentrant=False, context_fn=lambda: None), NotImplementedError),
    "is_contiguous(memory_format)": (lambda m: _x(m).is_contiguous(memory_format="channels_last"), NotImplementedError),
}


def _outcome(call, m):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call(m)
        except Exception as e:  # noqa: BLE001  the type is compared
            return type(e)
    kinds = [w.category for w in caught if w.category in (UserWarning, FutureWarning)]
    return kinds[0] if kinds else result


@pytest.mark.parametrize("name", sorted(KEYWORDS))
def test_a_non_default_value_is_not_ignored(name):
    call, expected = KEYWORDS[name]
    got = _outcome(call, retrograd)
    if name == "__repr__(tensor_contents)":  # dropped: Python refuses it
        assert got is TypeError
        return
    if expected is not None:
        assert got is expected
    if torch is not None and name not in ("__repr__(tensor_contents)",):
        want = _outcome(call, torch)
        if expected is None:
            assert str(got).split(".")[-1] == str(want).split(".")[-1]
        else:
            assert got is want


@pytest.mark.parametrize("name", sorted(RETROGRAD_ONLY))
def test_what_retrograd_lacks_raises(name):
    call, expected = RETROGRAD_ONLY[name]
    assert _outcome(call, retrograd) is expected


def test_cuda_manual_seed_seeds_the_stream_of_cuda_tensors_only():
    from retrograd import random as rg_random

    retrograd.manual_seed(1)
    cpu = retrograd.rand(3).tolist()
    retrograd.cuda.manual_seed(7)
    cuda = rg_random._host_rng(None, "cuda").random(3)
    retrograd.manual_seed(1)
    assert retrograd.rand(3).tolist() == cpu  # the CPU stream is not cuda.manual_seed's
    retrograd.cuda.manual_seed(7)
    assert (rg_random._host_rng(None, "cuda").random(3) == cuda).all()
    retrograd.manual_seed(7)  # torch.manual_seed seeds every device's generator
    assert (rg_random._host_rng(None, "cuda").random(3) == cuda).all()
    if torch is not None:  # torch without CUDA: cuda.manual_seed leaves the CPU stream alone too
        torch.manual_seed(1)
        a = torch.rand(3)
        torch.manual_seed(1)
        torch.cuda.manual_seed(7)
        assert torch.equal(torch.rand(3), a)


def test_fork_rng_forks_the_cuda_stream_unless_devices_is_empty():
    from retrograd import random as rg_random

    retrograd.manual_seed(3)
    before = rg_random.cuda_generator.get_state()
    with rg_random.fork_rng():
        rg_random._host_rng(None, "cuda").random(5)
    assert rg_random.cuda_generator.get_state().tolist() == before.tolist()
    with rg_random.fork_rng(devices=[]):
        rg_random._host_rng(None, "cuda").random(5)
    assert rg_random.cuda_generator.get_state().tolist() != before.tolist()
    with pytest.raises(NotImplementedError, match="device_type='mps'"):
        rg_random.fork_rng(device_type="mps")


def test_numpy_array_protocol_copy():
    t = retrograd.tensor([1.0, 2.0])
    assert np.shares_memory(np.asarray(t), t.numpy())
    assert not np.shares_memory(np.array(t, copy=True), t.numpy())
    with pytest.raises(ValueError):
        t.__array__(np.float64, copy=False)
