"""nn.Module behaviour: registration, iteration and names, state_dict round trips (also
from a torch model), train/eval, hooks, dtype moves, repr, copy and pickle."""

import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
from retrograd import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.block = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
        self.register_buffer("steps", retrograd.zeros(1))
        self.register_buffer("scratch", retrograd.ones(2), persistent=False)
        self.scale = nn.Parameter(retrograd.ones(1))

    def forward(self, x):
        return self.block(self.act(self.fc1(x))) * self.scale


def make_torch_net():
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(3, 4)
            self.act = torch.nn.ReLU()
            self.block = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
            self.register_buffer("steps", torch.zeros(1))
            self.register_buffer("scratch", torch.ones(2), persistent=False)
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.block(self.act(self.fc1(x))) * self.scale

    return TNet()


def test_registration_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "block.0.weight",
                                                       "block.0.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "block"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "block", "block.0", "block.1"]
    assert list(net.state_dict()) == ["scale", "steps", "fc1.weight", "fc1.bias", "block.0.weight",
                                      "block.0.bias"]
    assert [n for n, _ in net.named_parameters(prefix="model", recurse=False)] == ["model.scale"]
    assert len(list(net.parameters())) == 5 and len(list(net.modules())) == 6
    assert isinstance(net.fc1, nn.Linear) and net.steps.shape == (1,)
    assert "fc1" not in net.__dict__ and "fc1" in dir(net)
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        _ = net.nope


@requires_torch
def test_names_equal_torch():
    net, tnet = Net(), make_torch_net()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert repr(net) == repr(tnet).replace("TNet", "Net")


def test_shared_parameters_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_rules():
    m = nn.Module()
    m.w = nn.Parameter(retrograd.ones(2))
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.w = retrograd.ones(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    m.register_buffer("b", retrograd.zeros(2))
    m.b = retrograd.ones(3)
    assert m._buffers["b"].shape == (3,)
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'b'"):
        m.b = 3
    m.sub = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    m.c = nn.Buffer(retrograd.zeros(1), persistent=False)
    assert "c" in m._buffers and "c" not in m.state_dict()
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(KeyError, match="attribute 'b' already exists|already exists"):
        m.register_parameter("plain", None) or setattr(m, "x", 1) or m.register_buffer("x", None)
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", None)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("q", 3)
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.p = nn.Parameter(retrograd.ones(1))
        Bad()


def test_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert sd["fc1.weight"].requires_grad is False
    assert np.shares_memory(sd["fc1.weight"].numpy(), a.fc1.weight.detach().numpy())
    res = b.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    x = retrograd.randn(2, 3)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    assert not np.shares_memory(a.fc1.weight.detach().numpy(), b.fc1.weight.detach().numpy())

    bad = OrderedDict(sd)
    del bad["fc1.bias"]
    bad["extra.weight"] = retrograd.zeros(1)
    bad["block.0.weight"] = retrograd.zeros(3, 3)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(bad)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\t")
    assert 'Missing key(s) in state_dict: "fc1.bias". ' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight". ' in msg
    assert ("size mismatch for block.0.weight: copying a param with shape torch.Size([3, 3]) from "
            "checkpoint, the shape in current model is torch.Size([4, 4]).") in msg
    del bad["block.0.weight"]
    res = b.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["fc1.bias", "block.0.weight"] and res.unexpected_keys == ["extra.weight"]


@requires_torch
def test_load_torch_state_dict_same_outputs():
    tnet = make_torch_net().double()
    net = Net().double()
    sd = {k: v.detach().numpy() for k, v in tnet.state_dict().items()}
    net.load_state_dict(sd)
    net.load_state_dict(tnet.state_dict())  # torch tensors directly, too
    x = rand(5, 3)
    np.testing.assert_allclose(net(retrograd.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    # and back: retrograd weights into torch
    tnet2 = make_torch_net().double()
    tnet2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in net.state_dict().items()})
    np.testing.assert_allclose(tnet2(torch.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    # error text equals torch's for the same mistake
    bad = {k: v for k, v in tnet.state_dict().items() if k != "scale"}
    with pytest.raises(RuntimeError) as e1:
        net.load_state_dict({k: v.numpy() for k, v in bad.items()})
    with pytest.raises(RuntimeError) as e2:
        tnet.load_state_dict(bad)
    assert str(e1.value) == str(e2.value).replace("TNet", "Net")


def test_train_eval_requires_grad_zero_grad():
    net = Net()
    assert net.training and net.block[1].training
    assert net.eval() is net and not net.training and not net.block[0].training
    net.train()
    assert net.block[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")
    net(retrograd.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_and_dtype_moves():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Tanh", "Sequential", "Net"]
    w = net.fc1.weight
    net.double()
    assert net.fc1.weight is w and w.dtype == retrograd.float64 and net.steps.dtype == retrograd.float64
    net.to(retrograd.float32)
    assert w.dtype == retrograd.float32
    net.half().float()
    net.to("cpu")
    net.cpu()
    assert net(retrograd.randn(2, 3)).dtype == retrograd.float32
    net.register_buffer("count", retrograd.tensor(3))
    net.double()
    assert net.count.dtype == retrograd.int64
    with pytest.raises(TypeError, match="floating point"):
        net.to(retrograd.int32)


def test_get_submodule_parameter():
    net = Net()
    assert net.get_submodule("block.0") is net.block[0]
    assert net.get_parameter("block.0.bias") is net.block[0].bias
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="Sequential has no attribute `7`"):
        net.get_submodule("block.7")
    with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
        net.get_submodule("fc1.weight")


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    y = lin(retrograd.randn(3, 2))
    np.testing.assert_allclose(y.detach().numpy(), (lin.bias.detach().numpy() + 1)[None].repeat(3, 0), rtol=1e-6)
    assert calls == [retrograd.Size([3, 2])]
    h1.remove()
    h2.remove()
    x = retrograd.randn(3, 2)
    np.testing.assert_allclose(lin(x).detach().numpy(), (x @ lin.weight.t() + lin.bias).detach().numpy())
    h = lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True)
    h3 = lin.register_forward_hook(lambda m, args, kwargs, out: out * 0, with_kwargs=True)
    assert not lin(x).detach().numpy().any()
    h.remove()
    h3.remove()
    order = []
    lin.register_forward_hook(lambda *a: order.append("a"))
    lin.register_forward_hook(lambda *a: order.append("b"), prepend=True)
    lin(x)
    assert order == ["b", "a"]


def test_full_backward_hooks():
    lin = nn.Linear(3, 2).double()
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["gi"] = [g.numpy().copy() for g in grad_input]
        seen["go"] = [g.numpy().copy() for g in grad_output]
        return (grad_input[0] * 2,)

    h = lin.register_full_backward_hook(hook)
    pre = lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
    x = retrograd.tensor(rand(4, 3), requires_grad=True)
    lin(x).sum().backward()
    W = lin.weight.detach().numpy()
    np.testing.assert_allclose(seen["go"][0], np.full((4, 2), 3.0))
    np.testing.assert_allclose(seen["gi"][0], np.full((4, 2), 3.0) @ W)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.full((4, 2), 3.0) @ W)
    np.testing.assert_allclose(lin.bias.grad.numpy(), [12.0, 12.0])
    h.remove()
    pre.remove()
    x.grad = None
    lin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((4, 2)) @ W)
    # no input needs grad: the hook still runs, with grad_input (None,)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append(gi))
    lin(retrograd.tensor(rand(4, 3))).sum().backward()
    assert got == [(None,)]


@requires_torch
def test_full_backward_hook_matches_torch():
    rec = {}
    for lib, name in ((retrograd, "rg"), (torch, "th")):
        lib.manual_seed(0)
        seq = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Tanh()).double()
        seq.load_state_dict({"0.weight": lib.tensor(np.eye(3) * 0.5), "0.bias": lib.tensor(np.ones(3) * 0.1)})
        out = []
        seq[1].register_full_backward_hook(lambda m, gi, go, out=out: out.append((gi[0].numpy().copy(),
                                                                                  go[0].numpy().copy())))
        x = lib.tensor(rand(2, 3), requires_grad=True)
        (seq(x) ** 2).sum().backward()
        rec[name] = (out, x.grad.numpy().copy())
    np.testing.assert_allclose(rec["rg"][0][0][0], rec["th"][0][0][0], rtol=1e-12)
    np.testing.assert_allclose(rec["rg"][0][0][1], rec["th"][0][0][1], rtol=1e-12)
    np.testing.assert_allclose(rec["rg"][1], rec["th"][1], rtol=1e-12)


def test_repr_layout():
    net = Net()
    assert repr(net) == (
        "Net(\n"
        "  (fc1): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (act): ReLU()\n"
        "  (block): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=4, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        ")"
    )

    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.ReLU(inplace=True)

        def extra_repr(self):
            return "k=1"

    assert repr(WithExtra()) == "WithExtra(\n  k=1\n  (inner): ReLU(inplace=True)\n)"


def test_deepcopy_and_pickle():
    net = Net()
    x = retrograd.randn(2, 3)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert clone.fc1.weight is not net.fc1.weight
        assert isinstance(clone.fc1.weight, nn.Parameter) and clone.fc1.weight.requires_grad
        np.testing.assert_array_equal(clone(x).detach().numpy(), net(x).detach().numpy())
        assert list(clone.state_dict()) == list(net.state_dict())
        assert "scratch" in dict(clone.named_buffers())


def test_forward_not_implemented_and_call_args():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(1)

    class Two(nn.Module):
        def forward(self, a, b=1, *, c=2):
            return a + b + c

    assert Two()(1, b=2, c=3) == 6


def test_global_forward_hook():
    from retrograd.nn.modules.module import register_module_forward_hook

    seen = []
    h = register_module_forward_hook(lambda m, a, o: seen.append(type(m).__name__))
    try:
        nn.Sequential(nn.ReLU())(retrograd.randn(2))
    finally:
        h.remove()
    assert seen == ["ReLU", "Sequential"]


@requires_torch
def test_backward_hook_grad_input_layout_matches_torch():
    """One grad_input entry per positional argument: None for non-tensors; every tensor
    argument gets a gradient once any of them requires grad (torch's behaviour)."""
    rec = {}
    for lib in (retrograd, torch):
        class M(lib.nn.Module):
            def forward(self, a, b):
                return a * b

        m = M()
        out = []
        m.register_full_backward_hook(lambda mod, gi, go, out=out: out.append(
            [None if g is None else tuple(g.shape) for g in gi]))
        b = lib.ones(2, requires_grad=True)
        m(lib.ones(2), b).sum().backward()
        m(b, 3.0).sum().backward()
        rec[lib.__name__] = out
    assert rec["retrograd"] == rec["torch"] == [[(2,), (2,)], [(2,), None]]


def test_state_dict_hooks():
    m = nn.Linear(2, 2)
    seen = []
    h1 = m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *a: seen.append(("pre", mod is m, prefix)))
    h2 = m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(("post", keys.missing_keys)))
    h3 = m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: [sd.pop("bias"), None][1])
    assert list(m.state_dict()) == ["weight"]
    h3.remove()
    m.load_state_dict(m.state_dict())
    assert seen == [("pre", True, ""), ("post", [])]
    h1.remove()
    h2.remove()


def test_registered_attribute_reads_after_routing():
    """Once a registered name is read through __getattr__, the class answers it directly
    (module._Registered); every read, write and delete still behaves as through __getattr__."""
    from retrograd.nn.module import _Registered

    class Net(nn.Module):
        def __init__(self, register=True):
            super().__init__()
            if register:
                self.scale = nn.Parameter(retrograd.ones(2))
                self.register_buffer("shift", retrograd.zeros(2))
                self.inner = nn.Linear(2, 2)
            else:
                self.scale = 3.0  # a plain attribute of the same name on another instance

    a, b = Net(), Net(register=False)
    first = a.scale
    assert isinstance(Net.__dict__["scale"], _Registered)
    assert a.scale is first is a._parameters["scale"]
    assert a.shift is a._buffers["shift"] and a.inner is a._modules["inner"]
    assert b.scale == 3.0  # the instance's own attribute
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'shift'"):
        b.shift
    assert not hasattr(Net, "scale")  # absent on the class, as in torch
    assert "shift" in dir(a) and "shift" not in dir(b)  # dir lists what the instance has
    assert dir(a).count("scale") == 1 and "__init__" in dir(b)
    new = nn.Parameter(retrograd.ones(2) * 2)
    a.scale = new  # replaced through Module.__setattr__: the read sees the new one
    assert a.scale is new
    a._parameters["scale"] = first  # a direct write into the store (stateless, weight_norm)
    assert a.scale is first
    del a.scale
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'scale'"):
        a.scale
    a.scale = 5  # now a plain attribute of a
    assert a.scale == 5 and "scale" not in a._parameters
    del a.scale
    assert not hasattr(a, "scale")
    with pytest.raises(AttributeError):
        del b.shift
    c = copy.deepcopy(Net())
    assert c.inner.weight is c._modules["inner"]._parameters["weight"]


def test_registered_attribute_leaves_class_definitions_alone():
    """A name some class of the MRO defines keeps that definition (torch's lookup)."""

    class WithProperty(nn.Module):
        @property
        def weight(self):
            return "property"

        def __init__(self):
            super().__init__()
            self.register_parameter("bias", nn.Parameter(retrograd.ones(1)))

    m = WithProperty()
    assert m.weight == "property"
    m.bias
    assert m.weight == "property" and WithProperty.__dict__["weight"].__class__ is property


def test_full_and_legacy_backward_hooks_do_not_mix_as_torch():
    for first, second in (("register_full_backward_hook", "register_backward_hook"),
                          ("register_backward_hook", "register_full_backward_hook")):
        m = nn.Linear(2, 2)
        getattr(m, first)(lambda mod, gi, go: None).remove()  # removing it does not reset the kind
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
            getattr(m, second)(lambda mod, gi, go: None)


def test_legacy_backward_hook_warns_in_a_recording_forward_as_torch():
    m = nn.Tanh()
    m.register_backward_hook(lambda mod, gi, go: None)
    with pytest.warns(FutureWarning, match="register_full_backward_hook"):
        m(retrograd.ones(2, requires_grad=True))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(retrograd.ones(2))  # nothing to record: no warning, as torch
        with retrograd.no_grad():
            m(retrograd.ones(2, requires_grad=True))


def test_set_submodule_refuses_what_torch_refuses():
    def fresh():
        m = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        m.extra = 3
        return m
    with pytest.raises(ValueError, match="is not an nn.Module"):
        fresh().set_submodule("0", 5)
    m = fresh()
    with pytest.raises(ValueError, match="is not an nn.Module"):
        m.set_submodule("0", None)  # it removed the child
    assert isinstance(m[0], nn.Linear)
    for target in ("0.weight", "extra", "training"):  # they were replaced by the module
        m = fresh()
        with pytest.raises(AttributeError, match="is not an nn.Module"):
            m.set_submodule(target, nn.Tanh())
    m = fresh()
    m.set_submodule("2", nn.Tanh())
    assert list(m._modules) == ["0", "1", "2"]


@pytest.mark.parametrize("args, kwargs", [(("cpu", "float64"), {}), ((retrograd.float64, retrograd.float32), {}),
                                          ((), {"dtype": "float64"}), (("cpu", retrograd.float64, True, 5), {}),
                                          ((retrograd.float64, "cpu"), {}), (("cpu",), {"device": "cpu"}),
                                          (("cpu", retrograd.float64, 1), {}), ((), {"foo": 1})])
def test_module_to_refuses_torchs_invalid_combinations(args, kwargs):
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        nn.Linear(2, 2).to(*args, **kwargs)  # a string dtype became a device, a second dtype won


def test_module_to_takes_torchs_forms():
    t64 = retrograd.ones(1, dtype=retrograd.float64)
    for args, kwargs in ((("cpu", retrograd.float64, True), {}), ((retrograd.float64, True), {}),
                         ((t64, True), {}), ((), {"device": "cpu", "dtype": retrograd.float64}),
                         ((None, retrograd.float64), {}), (("cpu",), {"dtype": retrograd.float64})):
        assert nn.Linear(2, 2).to(*args, **kwargs).weight.dtype == retrograd.float64


def test_load_from_state_dict_overrides_with_torchs_signature_work():
    class Renamed(nn.Linear):  # torch's 7-argument override (loading an old checkpoint's key)
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                  unexpected_keys, error_msgs):
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)
    m = nn.Sequential(Renamed(1, 1))  # an 8th positional argument (assign) raised TypeError
    result = m.load_state_dict({"0.w": retrograd.ones(1, 1) * 7, "0.bias": retrograd.ones(1)})
    assert result.missing_keys == [] and result.unexpected_keys == [] and m[0].weight.item() == 7
    seen = []

    class Spy(nn.Linear):
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *rest):
            seen.append(local_metadata.get("assign_to_params_buffers"))
            super()._load_from_state_dict(state_dict, prefix, local_metadata, *rest)
    spy = Spy(1, 1)
    new = {k: v.double() for k, v in spy.state_dict().items()}
    spy.load_state_dict(new, assign=True)  # assign reaches overrides through the metadata, as torch
    assert seen == [True] and spy.weight.dtype is retrograd.float64


def test_state_dict_post_hook_must_return_none_as_torch():
    m = nn.Linear(1, 1)
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"q": 1})
    with pytest.raises(RuntimeError, match="must return None"):
        m.state_dict()  # its return value replaced the state_dict
    m = nn.Linear(1, 1)
    m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"q": 1})  # the private form may
    assert list(m.state_dict()) == ["q"]


@pytest.mark.parametrize("value", [0, "yes", None, 1.0, np.bool_(True)])
def test_requires_grad_takes_only_a_bool_as_torch(value):
    with pytest.raises(TypeError, match="must be bool"):
        nn.Linear(1, 1).requires_grad_(value)  # truthiness was taken
    with pytest.raises(TypeError, match="must be bool"):
        retrograd.ones(1).requires_grad_(value)


def test_state_dict_with_positional_arguments_warns_as_torch():
    """torch's deprecated state_dict(destination, prefix, keep_vars) form gives a FutureWarning
    (retrograd took it silently); the keyword form does not."""
    for lib in (retrograd, torch) if torch is not None else (retrograd,):
        m = lib.nn.Linear(2, 1)
        with pytest.warns(FutureWarning, match="^Positional args are being deprecated, use kwargs instead"):
            assert list(m.state_dict(None, "p.")) == ["p.weight", "p.bias"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert list(m.state_dict(prefix="p.")) == ["p.weight", "p.bias"]
