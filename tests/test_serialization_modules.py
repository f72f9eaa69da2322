"""Whole modules and the weights-only allow-list (retrograd.serialization.safe_globals and co.),
and files passed between torch and retrograd in torch.save's format, compared with torch.

Where torch is installed the torch side runs; without it, the bytes torch.save wrote and torch's
verdicts and values recorded by tests/reference/record.py stand in (see tests/reference/store.py).
"""

import collections
import io
import os
import pickle
import re
import warnings
import zipfile

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch
from retrograd import serialization
from tests.reference.store import reference


class Point:
    """A plain class of this module: both libraries import it by name when a file names it."""

    def __init__(self, x):
        self.x = x


if torch is not None:
    class TorchNet(torch.nn.Module):
        """A user's class on torch's base, which retrograd cannot rebuild."""

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)


@pytest.fixture(autouse=True)
def _empty_allow_list():
    retrograd.serialization.clear_safe_globals()
    yield
    retrograd.serialization.clear_safe_globals()


def _saved(save, obj, **kwargs):
    buf = io.BytesIO()
    save(obj, buf, **kwargs)
    return buf.getvalue()


def _verdict(load, data, **kwargs):
    """'loaded' or the global a weights-only load refused, as the error names it."""
    try:
        load(io.BytesIO(data), **kwargs)
    except pickle.UnpicklingError as e:
        m = re.search(r"GLOBAL (\S+) (was not an allowed global|whose module)", str(e))
        assert m, str(e)
        return f"refused {m.group(1)}"
    return "loaded"


def _torch_saved(build):
    """The bytes torch.save wrote for ``build()`` (torch objects), recorded for the bare install."""
    return reference(lambda: np.frombuffer(_saved(torch.save, build()), np.uint8)).tobytes()


# ---------------------------------------------------------------- the allow-list functions
def test_safe_globals_functions():
    S = retrograd.serialization
    assert S.get_safe_globals() == []
    S.add_safe_globals([Point])
    assert S.get_safe_globals() == [Point]
    with S.safe_globals([collections.namedtuple, (Point, "elsewhere.Point")]):
        assert set(S.get_safe_globals()) == {Point, collections.namedtuple, (Point, "elsewhere.Point")}
    assert S.get_safe_globals() == [Point]  # the block's entries leave with it, the earlier one stays
    S.add_safe_globals([Point])  # a set: adding twice keeps one entry
    assert S.get_safe_globals() == [Point]
    S.clear_safe_globals()
    assert S.get_safe_globals() == []
    assert retrograd.serialization.safe_globals is serialization.safe_globals
    if torch is not None:  # torch's context manager adds and removes the same way
        before = set(torch.serialization.get_safe_globals())
        with torch.serialization.safe_globals([Point]):
            assert set(torch.serialization.get_safe_globals()) == before | {Point}
        assert set(torch.serialization.get_safe_globals()) == before


def test_malformed_allow_list_entry_raises_torchs_error_at_load():
    data = _saved(retrograd.save, {"p": Point(1)})
    for entry, error, message in [((Point,), ValueError, "Expected tuple of length 2"),
                                  ((Point, 3), TypeError, "Expected second item in tuple to be str")]:
        with retrograd.serialization.safe_globals([entry]), pytest.raises(error, match=message):
            retrograd.load(io.BytesIO(data))
        if torch is not None:
            with torch.serialization.safe_globals([entry]), pytest.raises(error, match=message):
                torch.load(io.BytesIO(data), weights_only=True)


# ---------------------------------------------------------------- the same file accepted/refused by both
@pytest.mark.parametrize("saver", ["retrograd", "torch"])
def test_custom_class_is_refused_until_marked_safe_as_in_torch(saver):
    if saver == "retrograd":
        data = _saved(retrograd.save, {"p": Point(3), "w": retrograd.ones(2)})
    else:
        data = _torch_saved(lambda: {"p": Point(3), "w": torch.ones(2)})
    name = "test_serialization_modules.Point"
    ours = [_verdict(retrograd.load, data)]
    with retrograd.serialization.safe_globals([Point]):
        ours.append(_verdict(retrograd.load, data))
        back = retrograd.load(io.BytesIO(data))
        assert back["p"].x == 3 and isinstance(back["w"], retrograd.Tensor) and back["w"].tolist() == [1.0, 1.0]
    with retrograd.serialization.safe_globals([(Point, name)]):  # named as the file names it
        ours.append(_verdict(retrograd.load, data))
    retrograd.serialization.add_safe_globals([(Point, "other.Point")])  # another name: no match
    ours.append(_verdict(retrograd.load, data))
    retrograd.serialization.clear_safe_globals()
    ours.append(_verdict(retrograd.load, data, weights_only=False))

    def theirs():
        out = [_verdict(torch.load, data, weights_only=True)]
        for entry in ([Point], [(Point, name)], [(Point, "other.Point")]):
            with torch.serialization.safe_globals(entry):
                out.append(_verdict(torch.load, data, weights_only=True))
        return out + [_verdict(torch.load, data, weights_only=False)]

    expected = [f"refused {name}", "loaded", "loaded", f"refused {name}", "loaded"]
    assert ours == expected
    assert (reference(theirs) if saver == "torch" or torch is not None else expected) == expected


def test_blocklisted_module_is_refused_even_when_marked_safe():
    data = _saved(retrograd.save, {"f": os.getcwd})
    name = f"{os.getcwd.__module__}.getcwd"  # posix.getcwd (nt on Windows)
    with retrograd.serialization.safe_globals([os.getcwd]):
        with pytest.raises(pickle.UnpicklingError, match=f"unsupported GLOBAL {name} whose module .* is blocked"):
            retrograd.load(io.BytesIO(data))
        if torch is not None:
            with torch.serialization.safe_globals([os.getcwd]), \
                    pytest.raises(pickle.UnpicklingError, match=f"unsupported GLOBAL {name} whose module"):
                torch.load(io.BytesIO(data), weights_only=True)
    assert retrograd.load(io.BytesIO(data), weights_only=False)["f"] is os.getcwd


def test_numpy_arrays_need_weights_only_false_as_in_torch():
    data = _saved(retrograd.save, {"a": np.arange(3, dtype=np.int16), "s": np.float32(1.5)})
    verdict = _verdict(retrograd.load, data)
    assert verdict.startswith("refused numpy.")
    if torch is not None:
        assert _verdict(torch.load, data, weights_only=True) == verdict
        assert torch.load(io.BytesIO(data), weights_only=False)["a"].dtype == np.int16
    back = retrograd.load(io.BytesIO(data), weights_only=False)
    assert back["a"].dtype == np.int16 and back["a"].tolist() == [0, 1, 2] and back["s"] == np.float32(1.5)


def test_get_unsafe_globals_in_checkpoint_lists_what_weights_only_refuses():
    data = _torch_saved(lambda: {"m": torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()), "p": Point(1),
                                 "sd": torch.nn.Linear(2, 2).state_dict(), "size": torch.Size([2])})
    theirs = reference(lambda: sorted(torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))))
    assert theirs == ["test_serialization_modules.Point", "torch.nn.modules.activation.ReLU",
                      "torch.nn.modules.container.Sequential", "torch.nn.modules.linear.Linear"]
    assert retrograd.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == theirs
    with retrograd.serialization.safe_globals([retrograd.nn.Linear, Point]):  # retrograd's Linear admits torch's
        assert retrograd.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == [
            "torch.nn.modules.activation.ReLU", "torch.nn.modules.container.Sequential"]
    # protocol 4 pickles name globals by STACK_GLOBAL, which torch 2.13's scanner refuses ("Unsupported operand")
    ours = _saved(retrograd.save, {"p": Point(1), "w": retrograd.ones(1)}, pickle_protocol=4)
    assert retrograd.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(ours)) == [
        "test_serialization_modules.Point"]
    with pytest.raises(ValueError, match="Expected input to be a checkpoint returned by torch.save"):
        retrograd.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(b"not a zip"))
    old = io.BytesIO()
    serialization._write_legacy_archive({"w": retrograd.ones(1)}, old, 2)
    with pytest.raises(ValueError, match="retrograd's older format"):
        retrograd.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(old.getvalue()))


# ---------------------------------------------------------------- whole modules
def _small_net():
    retrograd.manual_seed(0)
    nn = retrograd.nn
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.BatchNorm2d(2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(32, 3))


def test_whole_retrograd_module_needs_weights_only_false_or_its_classes_marked_safe():
    net = _small_net()
    net(retrograd.randn(4, 1, 4, 4))  # running statistics move
    net.eval()
    data = _saved(retrograd.save, net)
    assert _verdict(retrograd.load, data) == "refused retrograd.nn.modules.container.Sequential"
    if torch is not None:  # torch refuses it too
        assert _verdict(torch.load, data, weights_only=True) == "refused retrograd.nn.modules.container.Sequential"
    x = retrograd.randn(2, 1, 4, 4)
    nn = retrograd.nn
    with retrograd.serialization.safe_globals([nn.Sequential, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Flatten]):
        assert _verdict(retrograd.load, data) == "refused retrograd.nn.modules.linear.Linear"
    with retrograd.serialization.safe_globals([nn.Sequential, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Flatten,
                                               nn.Linear]):
        allowed = retrograd.load(io.BytesIO(data))
    for back in (allowed, retrograd.load(io.BytesIO(data), weights_only=False)):
        assert type(back) is nn.Sequential and [type(m) for m in back] == [type(m) for m in net]
        assert isinstance(back[4].weight, nn.Parameter) and back[4].weight.requires_grad
        assert back[1].running_mean.tolist() == net[1].running_mean.tolist() and not back.training
        np.testing.assert_array_equal(back(x).detach().numpy(), net(x).detach().numpy())
        assert back.state_dict().keys() == net.state_dict().keys()


TORCH_MODULES = {  # name: (build the torch module, input shape or integer input)
    "cnn": (lambda nn: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.BatchNorm2d(3),
                                     nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 4), nn.LogSoftmax(1)),
            (2, 2, 4, 4)),
    "lstm": (lambda nn: nn.LSTM(3, 4, num_layers=2, batch_first=True), (2, 5, 3)),
    "transformer": (lambda nn: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
                    (2, 3, 8)),
    "embedding": (lambda nn: nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4), nn.GELU()), None),
}


def _module_input(shape):
    if shape is None:
        return np.array([[1, 2, 3], [4, 0, 9]])
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("case", sorted(TORCH_MODULES))
def test_whole_module_saved_by_torch_loads_as_the_retrograd_module(case):
    build, shape = TORCH_MODULES[case]
    x = _module_input(shape)

    def torch_side():
        torch.manual_seed(0)
        model = build(torch.nn).eval()
        return {"file": np.frombuffer(_saved(torch.save, model), np.uint8),
                "out": _first(model(torch.tensor(x))).detach().numpy()}

    ref = reference(torch_side, inputs=[x])
    data = ref["file"].tobytes()
    model = retrograd.load(io.BytesIO(data), weights_only=False)
    classes = [type(m) for m in model.modules()]
    assert all(c.__module__.startswith("retrograd.nn.") for c in classes), classes
    assert all(type(p) is retrograd.nn.Parameter for p in model.parameters())
    assert not model.training
    np.testing.assert_allclose(_first(model(retrograd.tensor(x))).detach().numpy(), ref["out"], rtol=1e-5, atol=1e-6)
    # weights_only=True: refused, naming torch's class, until retrograd's classes of those names are marked safe
    verdict = _verdict(retrograd.load, data)
    assert verdict == f"refused {type(model).__module__.replace('retrograd', 'torch', 1)}.{type(model).__name__}"
    extra = [retrograd.nn.functional.relu] if case == "transformer" else []
    with retrograd.serialization.safe_globals(list(set(classes)) + extra):
        again = retrograd.load(io.BytesIO(data))
    np.testing.assert_array_equal(_first(again(retrograd.tensor(x))).detach().numpy(),
                                  _first(model(retrograd.tensor(x))).detach().numpy())


@requires_torch
def test_torch_module_subclass_defined_by_the_user_cannot_be_mapped():
    data = _saved(torch.save, TorchNet())
    with pytest.raises(pickle.UnpicklingError, match="TorchNet, which subclasses torch's torch.nn.modules.module."
                                                     "Module: retrograd cannot rebuild a torch class"):
        retrograd.load(io.BytesIO(data), weights_only=False)
    sd = retrograd.load(io.BytesIO(_saved(torch.save, TorchNet().state_dict())))  # its state_dict loads
    assert list(sd) == ["fc.weight", "fc.bias"]


# ---------------------------------------------------------------- retrograd's files in torch
def _adam_run(lib, p0, steps):
    p = lib.nn.Parameter(lib.tensor(p0))
    opt = lib.optim.Adam([p], lr=0.1, amsgrad=True)
    for _ in range(steps):
        p.grad = p.detach() * 2 - 1
        opt.step()
    return p, opt


def test_retrograd_optimizer_checkpoint_resumes_in_torch_with_weights_only():
    p0 = np.array([1.0, -2.0, 3.0])
    p, opt = _adam_run(retrograd, p0, 3)
    model = retrograd.nn.Linear(3, 2)
    ckpt = {"model": model.state_dict(), "opt": opt.state_dict(), "p": p.detach(), "epoch": 3,
            "history": [0.5, 0.25], "cfg": {"betas": (0.9, 0.999), "name": "adam", "dtype": retrograd.float64}}
    data = _saved(retrograd.save, ckpt)

    def torch_side():
        ck = torch.load(io.BytesIO(data), weights_only=True)
        q = torch.nn.Parameter(ck["p"].clone())
        topt = torch.optim.Adam([q], lr=0.1, amsgrad=True)
        topt.load_state_dict(ck["opt"])
        for _ in range(2):
            q.grad = q.detach() * 2 - 1
            topt.step()
        lin = torch.nn.Linear(3, 2)
        lin.load_state_dict(ck["model"])
        return {"q": q.detach().numpy(), "weight": lin.weight.detach().numpy(), "epoch": ck["epoch"],
                "history": ck["history"], "cfg": [list(ck["cfg"]["betas"]), ck["cfg"]["name"], str(ck["cfg"]["dtype"])]}

    theirs = reference(torch_side, inputs=[p0])
    for _ in range(2):
        p.grad = p.detach() * 2 - 1
        opt.step()
    np.testing.assert_allclose(theirs["q"], p.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(theirs["weight"], model.weight.detach().numpy())
    assert theirs["epoch"] == 3 and theirs["history"] == [0.5, 0.25]
    assert theirs["cfg"] == [[0.9, 0.999], "adam", "torch.float64"]


def test_byteorder_record_can_be_left_out():
    data = _saved(retrograd.save, {"w": retrograd.arange(3.0)}, _disable_byteorder_record=True)
    assert "archive/byteorder" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert retrograd.load(io.BytesIO(data))["w"].tolist() == [0.0, 1.0, 2.0]
    if torch is not None:
        assert torch.load(io.BytesIO(data), weights_only=True)["w"].tolist() == [0.0, 1.0, 2.0]


def test_torch_compatible_option_is_deprecated_and_older_files_still_load():
    obj = {"w": retrograd.arange(3.0), "n": 2}
    with pytest.warns(FutureWarning, match="torch_compatible=True is deprecated"):
        data = _saved(retrograd.save, obj, torch_compatible=True)
    assert "archive/data.pkl" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    with pytest.warns(FutureWarning, match="torch_compatible=False is deprecated: it writes retrograd's older format"):
        old = _saved(retrograd.save, obj, torch_compatible=False)
    assert "retrograd.json" in zipfile.ZipFile(io.BytesIO(old)).namelist()
    for d in (data, old):
        back = retrograd.load(io.BytesIO(d))
        assert back["w"].tolist() == [0.0, 1.0, 2.0] and back["n"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default writes torch's format without a warning
        assert _saved(retrograd.save, obj)[:2] == b"PK"
    if torch is not None:
        with pytest.raises(RuntimeError, match="version"):  # what torch says of the older format
            torch.load(io.BytesIO(old), weights_only=True)
