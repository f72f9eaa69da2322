"""retrograd.save / load (pickle-free, atomic, clear errors) and safetensors interchange with torch."""

import collections
import io
import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch
from retrograd import serialization
from retrograd.nn import Parameter
from retrograd.safetensors_io import load_safetensors, save_safetensors

try:
    import safetensors.torch as st_torch
except ImportError:
    st_torch = None

requires_safetensors = pytest.mark.skipif(torch is None or st_torch is None,
                                          reason="torch and safetensors are needed")


class Custom:
    def __init__(self, v):
        self.v = v


def _nested():
    p = Parameter(retrograd.randn(2, 3))
    sd = collections.OrderedDict([("0.weight", p), ("0.bias", retrograd.zeros(3, dtype=retrograd.float64)),
                                  ("bn.num_batches_tracked", retrograd.tensor(7))])
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return {
        "model": sd,
        "optimizer": {"state": {0: {"step": retrograd.tensor(3.0), "exp_avg": retrograd.ones(2, 3)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0], "foreach": None,
                                        "amsgrad": False}]},
        "epoch": 5, "loss": float("nan"), "best": float("inf"), "name": "run", "tags": ["a", ("b", 2)],
        "shape": retrograd.Size([2, 3]), "dtype": retrograd.float16, "blob": b"\x00\x01", "same": p, "bool": retrograd.tensor([True, False]),
        "empty": retrograd.zeros(0, 4), "half": retrograd.ones(2, dtype=retrograd.float16), "c": 1 + 2j,
    }


def _check_equal(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, retrograd.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _check_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _check_equal(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_nested(tmp_path):
    obj = _nested()
    path = tmp_path / "ckpt.pt"
    retrograd.save(obj, path)
    back = retrograd.load(path)
    _check_equal(obj, back)
    assert back["model"]._metadata == {"": {"version": 1}}
    assert back["same"] is back["model"]["0.weight"]  # one tensor saved twice loads as one object
    assert isinstance(back["same"], Parameter)
    back["model"]["0.bias"].add_(1)  # loaded tensors own writable memory
    retrograd.save(obj, str(path))  # str paths too
    _check_equal(obj, retrograd.load(str(path), map_location="cpu"))


def test_file_like_objects():
    buf = io.BytesIO()
    retrograd.save({"w": retrograd.arange(6.0).reshape(2, 3)}, buf)
    buf.seek(0)
    back = retrograd.load(buf)
    assert back["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]

    class Stream:  # readable, not seekable
        def __init__(self, data):
            self.data = data

        def read(self, n=-1):
            return self.data

    assert retrograd.load(Stream(buf.getvalue()))["w"].shape == (2, 3)


def test_default_format_is_torch_zip_format_without_pickled_objects(tmp_path):
    """save writes torch.save's archive: data.pkl names only torch's weights-only globals."""
    import pickletools
    import zipfile

    path = tmp_path / "ckpt.pt"
    retrograd.save(_nested(), path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = zf.read("archive/data.pkl")
        assert zf.read("archive/version") == b"3\n" and zf.read("archive/byteorder") == b"little"
    assert "retrograd.json" not in names and "archive/data/0" in names
    named = {arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"}
    assert named == {"torch._utils _rebuild_tensor_v2", "torch._utils _rebuild_parameter", "collections OrderedDict",
                     "torch FloatStorage", "torch DoubleStorage", "torch LongStorage", "torch BoolStorage",
                     "torch HalfStorage", "torch Size", "torch float16", "_codecs encode", "__builtin__ complex"}, named


def test_optimizer_state_round_trip_continues(tmp_path):
    def make(values):
        p = Parameter(retrograd.tensor(values))
        return p, retrograd.optim.Adam([p], lr=0.1, amsgrad=True)

    p, opt = make([1.0, -2.0, 3.0])
    for _ in range(3):
        p.grad = p.detach() * 2
        opt.step()
    retrograd.save({"p": p.detach(), "opt": opt.state_dict()}, tmp_path / "o.pt")
    ck = retrograd.load(tmp_path / "o.pt")
    q, opt2 = make(ck["p"].tolist())
    opt2.load_state_dict(ck["opt"])
    for _ in range(2):
        p.grad = p.detach() * 2
        opt.step()
        q.grad = q.detach() * 2
        opt2.step()
    np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_module_state_dict_round_trip(tmp_path):
    m = retrograd.nn.Linear(4, 3)
    retrograd.save(m.state_dict(), tmp_path / "m.pt")
    m2 = retrograd.nn.Linear(4, 3)
    m2.load_state_dict(retrograd.load(tmp_path / "m.pt"))
    x = retrograd.randn(2, 4)
    np.testing.assert_array_equal(m(x).detach().numpy(), m2(x).detach().numpy())


def test_atomic_write_keeps_old_file_on_crash(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    retrograd.save({"version": 1, "w": retrograd.ones(3)}, path)
    before = path.read_bytes()
    real = serialization._write_archive

    def crash(obj, fh, protocol):
        real(obj, fh, protocol)  # the new archive is (partly) written to the temporary file...
        fh.truncate(10)
        raise KeyboardInterrupt("simulated crash mid-write")  # ...and the process dies

    monkeypatch.setattr(serialization, "_write_archive", crash)
    with pytest.raises(KeyboardInterrupt):
        retrograd.save({"version": 2, "w": retrograd.zeros(3)}, path)
    monkeypatch.setattr(serialization, "_write_archive", real)
    assert path.read_bytes() == before
    assert retrograd.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left behind

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        retrograd.save({"version": 3}, path)
    monkeypatch.undo()
    assert retrograd.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_new_file_permissions_follow_umask(tmp_path):
    path = tmp_path / "new.pt"
    retrograd.save([1], path)
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)


def test_save_through_symlink_writes_its_target(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "ckpt.pt"
    retrograd.save({"version": 1}, target)
    os.chmod(target, 0o640)
    link = link_dir / "latest.pt"
    os.symlink(os.path.relpath(target, link_dir), link)
    seen = {}

    def write(fh):  # the temporary file lives beside the target, not beside the link
        seen["real"], seen["links"] = sorted(os.listdir(real_dir)), sorted(os.listdir(link_dir))
        serialization._write_archive({"version": 2}, fh, 2)

    serialization._atomic_write(link, write)
    assert len(seen["real"]) == 2 and seen["real"][0].startswith(".ckpt.pt.") and seen["links"] == ["latest.pt"]
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, link_dir)
    assert retrograd.load(target)["version"] == 2 and (target.stat().st_mode & 0o777) == 0o640
    retrograd.save({"version": 3}, link)
    save_safetensors({"w": retrograd.ones(2)}, link_dir / "w.safetensors")
    os.symlink("w.safetensors", link_dir / "w-link.safetensors")
    save_safetensors({"w": retrograd.zeros(3)}, link_dir / "w-link.safetensors")
    assert (link_dir / "w-link.safetensors").is_symlink()
    assert load_safetensors(link_dir / "w.safetensors")["w"].tolist() == [0.0, 0.0, 0.0]
    assert link.is_symlink() and retrograd.load(link)["version"] == 3
    assert sorted(os.listdir(real_dir)) == ["ckpt.pt"]
    os.symlink("new.pt", link_dir / "dangling.pt")  # as open(path, "wb"): the missing target is created
    retrograd.save({"version": 4}, link_dir / "dangling.pt")
    assert (link_dir / "dangling.pt").is_symlink() and retrograd.load(link_dir / "new.pt")["version"] == 4
    os.symlink("loop.pt", link_dir / "loop.pt")
    with pytest.raises(OSError, match="symbolic links"):
        retrograd.save({}, link_dir / "loop.pt")
    assert (link_dir / "loop.pt").is_symlink()


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_save_removes_stale_temporary_files_of_its_target(tmp_path):
    path = tmp_path / "ckpt.pt"
    dead, alive = _dead_pid(), os.getppid()
    stale = f".ckpt.pt.{dead}.abc_1234.tmp"
    kept = [f".ckpt.pt.{alive}.abc_1234.tmp",  # a save of another live process
            f".ckpt.pt.{os.getpid()}.abc_1234.tmp",  # a save of another thread of this process
            f".other.pt.{dead}.abc_1234.tmp",  # another target's
            f".ckpt.pt.5.{dead}.abc_1234.tmp",  # the target ckpt.pt.5's
            "ckpt.pt.tmp", f".ckpt.pt.{dead}.tmp"]  # not named as save names its temporary files
    for name in [stale] + kept:
        (tmp_path / name).write_bytes(b"x" * 100)
    retrograd.save({"v": 1}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["ckpt.pt"])


def test_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "ckpt.pt"
    retrograd.save({"v": 1}, path)
    child = (
        "import os, sys, time, retrograd\n"
        "from retrograd import serialization\n"
        "def hang(obj, fh, protocol):\n"
        "    fh.write(b'partial' * 1000); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
        "serialization._write_archive = hang\n"
        "retrograd.save({'v': 2}, sys.argv[1])\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(retrograd.__file__)), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", child, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline() == b"writing\n"
    finally:
        proc.kill()
        proc.wait()
    left = [n for n in os.listdir(tmp_path) if n != "ckpt.pt"]
    assert len(left) == 1 and left[0].startswith(f".ckpt.pt.{proc.pid}.") and left[0].endswith(".tmp")
    assert retrograd.load(path)["v"] == 1
    retrograd.save({"v": 3}, path)
    assert os.listdir(tmp_path) == ["ckpt.pt"] and retrograd.load(path)["v"] == 3


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_or_truncated_file_raises_clear_error(tmp_path, damage):
    path = tmp_path / "bad.pt"
    retrograd.save({"w": retrograd.randn(64, 64)}, path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # inside the tensor bytes: the zip's CRC check catches it
        data[200] ^= 0xFF
        data[201] ^= 0xFF
    elif damage == "garbage":
        data = bytearray(b"not a checkpoint at all" * 10)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="bad.pt"):
        retrograd.load(path)


def test_missing_file_or_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        retrograd.load(tmp_path / "nope.pt")
    with pytest.raises(RuntimeError, match="Parent directory .*missing does not exist"):
        retrograd.save({}, tmp_path / "missing" / "x.pt")


def test_arbitrary_objects_need_weights_only_false(tmp_path):
    path = tmp_path / "obj.pt"
    retrograd.save({"custom": Custom(3), "w": retrograd.ones(1)}, path)
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL test_serialization.Custom was not an allowed global"):
        retrograd.load(path)
    back = retrograd.load(path, weights_only=False)
    assert back["custom"].v == 3 and back["w"].tolist() == [1.0]


@requires_torch
def test_load_file_written_by_torch_save(tmp_path):
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(torch.ones(2, 4)).sum().backward()
    opt.step()
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    path = tmp_path / "t.pt"
    torch.save({"model": lin.state_dict(), "opt": opt.state_dict(), "epoch": 3, "shape": torch.Size([2, 3]),
                "dtype": torch.float16, "col": lin.weight.detach()[:, 1], "half": torch.ones(2).half(),
                "idx": torch.tensor([1, 2])}, path)
    ck = retrograd.load(path)
    sd = ck["model"]
    assert isinstance(sd, collections.OrderedDict) and list(sd) == ["weight", "bias"]
    out = (retrograd.tensor(x) @ sd["weight"].t() + sd["bias"]).numpy()
    np.testing.assert_allclose(out, lin(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ck["col"].numpy(), lin.weight.detach()[:, 1].numpy())  # a strided view
    assert ck["epoch"] == 3 and ck["shape"] == retrograd.Size([2, 3]) and ck["dtype"] is retrograd.float16
    assert ck["half"].dtype == retrograd.float16 and ck["idx"].dtype == retrograd.int64
    buf = ck["opt"]["state"][0]["momentum_buffer"]
    np.testing.assert_array_equal(buf.numpy(), opt.state_dict()["state"][0]["momentum_buffer"].numpy())
    assert ck["opt"]["param_groups"][0]["lr"] == 0.1


@requires_torch
def test_torch_save_file_with_arbitrary_objects_refused(tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"custom": Custom(1), "w": torch.ones(2)}, path)
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL test_serialization.Custom was not an allowed global"):
        retrograd.load(path)
    assert retrograd.load(path, weights_only=False)["custom"].v == 1
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="t.pt"):
        retrograd.load(path)


# ---------------------------------------------------------------- safetensors
def _linear_weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"weight": rng.standard_normal((3, 4)).astype(np.float32),
            "bias": rng.standard_normal(3).astype(np.float32)}


def _our_linear(sd, x):
    return (retrograd.tensor(x) @ sd["weight"].t() + sd["bias"]).detach().numpy()


@pytest.mark.parametrize("builtin", [False, True])
def test_safetensors_round_trip(tmp_path, monkeypatch, builtin):
    import retrograd.safetensors_io as sio

    if builtin:
        monkeypatch.setattr(sio, "_safetensors_numpy", lambda: None)
    sd = collections.OrderedDict((k, retrograd.tensor(v)) for k, v in _linear_weights().items())
    sd["steps"] = retrograd.tensor([1, 2], dtype=retrograd.int64)
    sd["mask"] = retrograd.tensor([True, False])
    sd["half"] = retrograd.ones(2, 2, dtype=retrograd.float16)
    sd["scalar"] = retrograd.tensor(2.5)
    path = tmp_path / "w.safetensors"
    save_safetensors(sd, path, metadata={"format": "pt"})
    back = load_safetensors(path)
    assert set(back) == set(sd)
    for k in sd:
        assert back[k].dtype == sd[k].dtype
        np.testing.assert_array_equal(back[k].numpy(), sd[k].numpy())
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(RuntimeError, match="w.safetensors"):
        load_safetensors(path)


def test_safetensors_bfloat16(tmp_path):
    t = retrograd.tensor([1.5, -2.0, 3.25]).to(retrograd.bfloat16)
    save_safetensors({"t": t}, tmp_path / "b.safetensors")
    back = load_safetensors(tmp_path / "b.safetensors")["t"]
    assert back.dtype == retrograd.bfloat16 and back.float().tolist() == [1.5, -2.0, 3.25]
    if st_torch is not None and torch is not None:
        theirs = st_torch.load_file(str(tmp_path / "b.safetensors"))["t"]
        assert theirs.dtype == torch.bfloat16 and theirs.float().tolist() == [1.5, -2.0, 3.25]


@requires_safetensors
def test_safetensors_retrograd_to_torch(tmp_path):
    w = _linear_weights(1)
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    if hasattr(retrograd.nn, "Linear"):
        ours = retrograd.nn.Linear(4, 3)
        ours.load_state_dict({k: retrograd.tensor(v) for k, v in w.items()})
        sd = ours.state_dict()
        out_ours = ours(retrograd.tensor(x)).detach().numpy()
    else:
        sd = {k: retrograd.tensor(v) for k, v in w.items()}
        out_ours = _our_linear(sd, x)
    save_safetensors(sd, tmp_path / "lin.safetensors")
    theirs = torch.nn.Linear(4, 3)
    theirs.load_state_dict(st_torch.load_file(str(tmp_path / "lin.safetensors")))
    out_theirs = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out_ours, out_theirs, rtol=1e-6, atol=1e-6)


@requires_safetensors
def test_safetensors_torch_to_retrograd(tmp_path):
    torch.manual_seed(0)
    theirs = torch.nn.Linear(4, 3)
    st_torch.save_file(theirs.state_dict(), str(tmp_path / "lin.safetensors"))
    x = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
    out_theirs = theirs(torch.tensor(x)).detach().numpy()
    sd = load_safetensors(tmp_path / "lin.safetensors")
    assert list(sd) == ["bias", "weight"] or set(sd) == {"weight", "bias"}
    if hasattr(retrograd.nn, "Linear"):
        ours = retrograd.nn.Linear(4, 3)
        ours.load_state_dict(sd)
        out_ours = ours(retrograd.tensor(x)).detach().numpy()
    else:
        out_ours = _our_linear(sd, x)
    np.testing.assert_allclose(out_ours, out_theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(sd["weight"].numpy(), theirs.weight.detach().numpy())


@requires_torch
@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.1, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("RMSprop", dict(lr=0.01, centered=True))])
def test_torch_optimizer_state_continues_in_retrograd(tmp_path, name, kwargs):
    rng = np.random.default_rng(0)
    init = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(5)]
    tp = torch.nn.Parameter(torch.tensor(init))
    topt = getattr(torch.optim, name)([tp], **kwargs)
    for g in grads[:3]:
        tp.grad = torch.tensor(g)
        topt.step()
    torch.save({"p": tp.detach(), "opt": topt.state_dict()}, tmp_path / "t.pt")
    ck = retrograd.load(tmp_path / "t.pt")
    rp = Parameter(ck["p"])
    ropt = getattr(retrograd.optim, name)([rp], **kwargs)
    ropt.load_state_dict(ck["opt"])
    for g in grads[3:]:
        tp.grad = torch.tensor(g)
        topt.step()
        rp.grad = retrograd.tensor(g)
        ropt.step()
    np.testing.assert_allclose(rp.detach().numpy(), tp.detach().numpy(), rtol=1e-12)


@requires_torch
def test_default_save_loads_in_torch_with_weights_only(tmp_path):
    lin_w = _linear_weights(4)
    p = Parameter(retrograd.tensor(lin_w["weight"]))
    sd = collections.OrderedDict([("weight", p), ("bias", retrograd.tensor(lin_w["bias"]))])
    obj = {"model": sd, "tied": p, "step": retrograd.tensor(3.0), "idx": retrograd.tensor([1, 2]),
           "view": retrograd.arange(6.0).reshape(2, 3).t(), "shape": retrograd.Size([2, 3]),
           "dtype": retrograd.float16, "meta": {"epoch": 2, "lr": 0.1, "betas": (0.9, 0.99), "tag": None},
           "double": retrograd.ones(2, dtype=retrograd.float64), "flags": retrograd.tensor([True, False])}
    path = tmp_path / "tc.pt"
    retrograd.save(obj, path)
    theirs = torch.load(path, weights_only=True)
    assert isinstance(theirs["model"], collections.OrderedDict) and theirs["tied"] is theirs["model"]["weight"]
    assert isinstance(theirs["tied"], torch.nn.Parameter)
    assert theirs["step"].shape == () and theirs["step"].item() == 3.0
    assert theirs["view"].tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert theirs["shape"] == torch.Size([2, 3]) and theirs["dtype"] is torch.float16
    assert theirs["meta"] == {"epoch": 2, "lr": 0.1, "betas": (0.9, 0.99), "tag": None}
    assert theirs["idx"].dtype == torch.int64 and theirs["double"].dtype == torch.float64
    assert theirs["flags"].tolist() == [True, False]
    lin = torch.nn.Linear(4, 3)
    lin.load_state_dict(theirs["model"])
    x = np.random.default_rng(5).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(lin(torch.tensor(x)).detach().numpy(), _our_linear(sd, x), rtol=1e-6, atol=1e-6)
    ours = retrograd.load(path)  # and retrograd reads its own torch-format file
    _check_equal(obj["meta"], ours["meta"])
    assert ours["tied"] is ours["model"]["weight"] and ours["step"].shape == ()
    retrograd.save({"c": Custom(1)}, tmp_path / "custom.pt")  # pickled as torch pickles it: both refuse it
    for load in (torch.load, retrograd.load):
        with pytest.raises(pickle.UnpicklingError, match="GLOBAL test_serialization.Custom was not an allowed"):
            load(tmp_path / "custom.pt", weights_only=True)
    assert torch.load(tmp_path / "custom.pt", weights_only=False)["c"].v == 1


def test_load_and_save_options_without_an_implementation_are_refused(tmp_path):
    """torch.load/save options retrograd's reader and writer lack raise, never pass silently."""
    import pickle

    path = tmp_path / "ckpt.pt"
    retrograd.save({"a": retrograd.ones(2)}, path)
    assert retrograd.load(path, pickle_module=pickle)["a"].tolist() == [1.0, 1.0]  # the default module
    with pytest.raises(NotImplementedError, match="pickle_module"):
        retrograd.load(path, pickle_module=types.SimpleNamespace())
    with pytest.raises(NotImplementedError, match="mmap"):
        retrograd.load(path, mmap=True)
    with open(path, "rb") as fh, pytest.raises(ValueError, match="file path in order to use the mmap"):
        retrograd.load(fh, mmap=True)
    with pytest.warns(UserWarning, match="pickle_load_args only works"):
        retrograd.load(path, encoding="latin1")
    with pytest.raises(NotImplementedError, match="pickle_load_args"):
        retrograd.load(path, weights_only=False, encoding="latin1")
    for kwargs in ({"pickle_module": types.SimpleNamespace()}, {"_use_new_zipfile_serialization": False},
                   {"pickle_protocol": 1}):
        with pytest.raises(NotImplementedError):
            retrograd.save({"a": retrograd.ones(2)}, path, **kwargs)
