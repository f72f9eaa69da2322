"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict: indexing, mutation,
names and reprs (compared with torch's where it is installed)."""

from collections import OrderedDict

import pytest
from helpers import requires_torch, torch

import retrograd
from retrograd import nn


def both(build):
    """build(nn_module, tensor_lib) for retrograd, and for torch when installed."""
    out = [build(nn, retrograd)]
    if torch is not None:
        out.append(build(torch.nn, torch))
    return out


def test_sequential_indexing_slicing_mutation():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c and len(seq) == 3 and list(seq) == [a, b, c]
    sl = seq[1:]
    assert isinstance(sl, nn.Sequential) and list(sl._modules) == ["1", "2"] and sl[0] is b
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    seq.append(nn.Tanh())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    seq.insert(1, nn.Sigmoid())
    assert isinstance(seq[1], nn.Sigmoid) and seq[2] is b and len(seq) == 5
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2", "3"] and seq[1] is b
    seq[1] = nn.GELU() if hasattr(nn, "GELU") else nn.Tanh()
    assert seq[1] is not b
    seq.extend([nn.Identity()])
    assert isinstance(seq[-1], nn.Identity)
    popped = seq.pop(0)
    assert popped is a and list(seq._modules) == ["0", "1", "2", "3"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"] and named.fc is named[0]
    assert len(nn.Sequential(nn.ReLU()) + nn.Sequential(nn.ReLU(), nn.Tanh())) == 3
    assert len(nn.Sequential(nn.ReLU()) * 3) == 3
    x = retrograd.randn(4, 2)
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert s(x).shape == (4, 1)


def test_module_list():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert isinstance(ml[0], nn.Tanh) and isinstance(ml[-1], nn.ReLU) and len(ml) == 5
    ml.extend([nn.Sigmoid()])
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(5)]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    ml += nn.ModuleList([nn.ReLU()])
    assert len(ml) == 6
    ml[0] = nn.Identity()
    assert isinstance(ml[0], nn.Identity)
    with pytest.raises(IndexError):
        ml[10]


def test_module_dict():
    md = nn.ModuleDict({"b": nn.Linear(1, 1), "a": nn.ReLU()})
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Tanh()
    md.update([("d", nn.Sigmoid())])
    assert list(md) == ["b", "a", "c", "d"]
    assert isinstance(md.pop("c"), nn.Tanh) and "c" not in md
    assert [n for n, _ in md.named_parameters()] == ["b.weight", "b.bias"]
    md.clear()
    assert len(md) == 0


def test_parameter_list_and_dict():
    pl = nn.ParameterList([retrograd.ones(2), nn.Parameter(retrograd.zeros(3))])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in pl)
    pl.append(retrograd.ones(1))
    assert len(pl) == 3 and [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert pl[-1].shape == (1,)
    pd = nn.ParameterDict({"w": retrograd.ones(2)})
    pd["v"] = nn.Parameter(retrograd.zeros(1))
    assert list(pd.keys()) == ["w", "v"] and isinstance(pd["w"], nn.Parameter)
    assert [n for n, _ in pd.named_parameters()] == ["w", "v"]
    assert "v" in pd and pd.get("zz") is None
    del pd["w"]
    assert list(pd) == ["v"]

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([retrograd.ones(2)])

    assert list(M().state_dict()) == ["ps.0"]


@requires_torch
def test_container_reprs_equal_torch():
    builds = [
        lambda m, t: m.Sequential(m.Linear(3, 4), m.ReLU(), m.Linear(4, 1)),
        lambda m, t: m.Sequential(),
        lambda m, t: m.ModuleList([m.Linear(2, 2) for _ in range(3)] + [m.ReLU(), m.ReLU(), m.Tanh()]),
        lambda m, t: m.ModuleDict({"a": m.ReLU(), "b": m.Linear(1, 2)}),
        lambda m, t: m.ParameterList([m.Parameter(t.zeros(3, 3)), m.Parameter(t.zeros(3, dtype=t.float64))]),
        lambda m, t: m.ParameterDict({"a": m.Parameter(t.zeros(3, 3))}),
        lambda m, t: m.ParameterDict({"a": m.Parameter(t.zeros(3, 3)), "b": m.Parameter(t.zeros(2))}),
        lambda m, t: m.Sequential(OrderedDict([("enc", m.Sequential(m.Linear(2, 2), m.Tanh())),
                                               ("head", m.Linear(2, 1, bias=False))])),
    ]
    for build in builds:
        rg, th = both(build)
        assert repr(rg) == repr(th)
        assert [n for n, _ in rg.named_parameters()] == [n for n, _ in th.named_parameters()]
