"""BatchNorm, InstanceNorm, LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm, CrossMapLRN2d against torch: outputs,
gradients, running statistics over several steps, train/eval, state_dict names."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import rand, reference, requires_torch, torch
from tests.nn._layer_helpers import compare_modules


BN = [
    ("BatchNorm1d", (3,), dict(), (4, 3)),
    ("BatchNorm1d", (3,), dict(momentum=None), (4, 3, 5)),
    ("BatchNorm2d", (3,), dict(momentum=0.3, eps=1e-3), (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), dict(affine=False), (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), dict(bias=False), (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), (2, 3, 4, 4)),
    ("BatchNorm3d", (2,), dict(), (2, 2, 2, 3, 2)),
    ("InstanceNorm1d", (3,), dict(), (2, 3, 5)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 4, 4)),
    ("InstanceNorm2d", (3,), dict(affine=True), (3, 4, 4)),
    ("InstanceNorm3d", (2,), dict(track_running_stats=True, momentum=None), (2, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("name,args,kw,shape", BN)
def test_batch_and_instance_norm_like_torch(name, args, kw, shape):
    # three training steps (batch statistics; running statistics updated each time), then eval
    compare_modules(lambda lib: getattr(lib.nn, name)(*args, **kw),
                    *[(rand(*shape, seed=step),) for step in range(3)], "eval", (rand(*shape, seed=9),))


@requires_torch
def test_batchnorm_num_batches_tracked_and_eval_without_stats():
    m = nn.BatchNorm1d(2)
    for _ in range(3):
        m(retrograd.randn(4, 2))
    assert m.num_batches_tracked.item() == 3 and m.num_batches_tracked.dtype == retrograd.int64
    m.eval()
    m(retrograd.randn(4, 2))
    assert m.num_batches_tracked.item() == 3
    m2 = nn.BatchNorm1d(2, track_running_stats=False).eval()
    assert m2.running_mean is None
    y = m2(retrograd.randn(5, 2))  # no running statistics: batch statistics even in eval
    np.testing.assert_allclose(y.detach().numpy().mean(0), 0, atol=1e-6)
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(2)(retrograd.zeros(2, 2))


NORMS = [
    ("LayerNorm", (5,), dict(), (2, 3, 5)),
    ("LayerNorm", ((3, 5),), dict(elementwise_affine=False), (2, 3, 5)),
    ("LayerNorm", (5,), dict(bias=False, eps=1e-3), (4, 5)),
    ("GroupNorm", (2, 4), dict(), (2, 4, 3)),
    ("GroupNorm", (4, 4), dict(affine=False), (2, 4, 2, 2)),
    ("GroupNorm", (2, 4), dict(bias=False), (2, 4, 2)),
    ("RMSNorm", (5,), dict(), (2, 3, 5)),
    ("RMSNorm", ([3, 5],), dict(eps=1e-4, elementwise_affine=False), (2, 3, 5)),
    ("LocalResponseNorm", (3,), dict(alpha=0.1), (2, 5, 2, 2)),
]


@pytest.mark.parametrize("name,args,kw,shape", NORMS)
def test_norms_like_torch(name, args, kw, shape):
    compare_modules(lambda lib: getattr(lib.nn, name)(*args, **kw), (rand(*shape),))


def test_defaults_and_float32():
    m = nn.BatchNorm2d(3)
    assert [k for k, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(m.weight.detach().numpy(), 1)
    np.testing.assert_array_equal(m.running_var.numpy(), 1)
    x = retrograd.randn(4, 3, 2, 2)
    assert m(x).dtype == retrograd.float32 and m.running_mean.dtype == retrograd.float32
    assert nn.LayerNorm(2)(retrograd.randn(3, 2)).dtype == retrograd.float32
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)


def test_sync_batchnorm_is_local_batchnorm():
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    x = retrograd.randn(4, 2, 3, 3)
    expected = net(x).detach().numpy()
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(sync[1], nn.SyncBatchNorm) and sync[1].num_batches_tracked.item() == 1
    np.testing.assert_allclose(sync(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert list(sync.state_dict()) == list(net.state_dict())


@requires_torch
@pytest.mark.parametrize("name,kw,shape", [("LazyBatchNorm2d", {}, (4, 3, 2, 2)), ("LazyBatchNorm1d", {}, (4, 3)),
                                           ("LazyInstanceNorm1d", dict(affine=True), (2, 3, 5))])
def test_lazy_norms(name, kw, shape):
    m, t = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    x = rand(*shape)
    y, yt = m(retrograd.tensor(x, dtype=retrograd.float32)), t(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert repr(m) == repr(t) and list(m.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make, x", [(lambda: nn.LazyBatchNorm1d(), (2, 3)),
                                     (lambda: nn.LazyInstanceNorm1d(affine=True, track_running_stats=True), (2, 3, 4))])
def test_lazy_norms_materialize_in_the_dtype_they_were_moved_to(make, x):
    m = make().double()
    assert m(retrograd.ones(*x, dtype=retrograd.float64)).dtype is retrograd.float64
    assert all(t.dtype is retrograd.float64 for t in [*m.parameters(), m.running_mean, m.running_var])


# ---------------------------------------------------------------------------- CrossMapLRN2d


def _cross_map_lrn(lib, x, g, size, dtype):
    xt = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
    y = lib.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.8, k=1.5)(xt)
    y.backward(lib.tensor(g, dtype=y.dtype))
    return {"y": y.detach().numpy(), "dx": xt.grad.numpy(), "node": y.grad_fn.name(), "dtype": str(y.dtype)}


@pytest.mark.parametrize("channels,size", [(1, 2), (3, 3), (7, 2), (7, 4), (7, 5), (8, 6), (5, 11)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_map_lrn2d_forward_and_backward_equal_torchs(channels, size, dtype):
    """torch's numbers, which are not LocalResponseNorm's, nor its backward the derivative of its forward."""
    x, g = rand(2, channels, 3, 4, seed=size), rand(2, channels, 3, 4, seed=size + 50)
    got = _cross_map_lrn(retrograd, x, g, size, dtype)
    want = reference(lambda: _cross_map_lrn(torch, x, g, size, dtype), inputs=[x, g, size, dtype])
    assert (got["node"], got["dtype"]) == (want["node"], want["dtype"]) == ("CrossMapLRN2dBackward", f"torch.{dtype}")
    tol = 1e-12 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(got["y"], want["y"], rtol=tol, atol=tol)
    np.testing.assert_allclose(got["dx"], want["dx"], rtol=tol, atol=tol)


def test_cross_map_lrn2d_scale_by_hand():
    """s_c = k + alpha/size * (x_0^2 + the squares within (size-1)//2 channels of c, from channel 1 on),
    y = x s^-beta: with x = 1, alpha = beta = k = 1 and 5 channels, 1/y = s (torch's values, observed)."""
    ones = retrograd.ones(1, 5, 1, 1, dtype=retrograd.float64)
    for size, want in [(1, [2, 3, 3, 3, 3]), (3, [5 / 3, 2, 7 / 3, 7 / 3, 2]), (4, [1.5, 1.75, 2, 2, 1.75])]:
        y = nn.CrossMapLRN2d(size, alpha=1.0, beta=1.0, k=1.0)(ones)
        np.testing.assert_allclose(1 / y.numpy().ravel(), want, rtol=1e-12)


def test_cross_map_lrn2d_errors_and_repr_are_torchs():
    m = nn.CrossMapLRN2d(3)
    assert repr(m) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)" and list(m.state_dict()) == []
    for shape in [(3, 4, 5), (1, 2, 3, 4, 5)]:
        with pytest.raises(ValueError, match=f"Expected input to be 4D, got {len(shape)}D instead"):
            m(retrograd.randn(*shape))
    assert m(retrograd.randn(0, 3, 2, 2)).shape == (0, 3, 2, 2)
    with pytest.raises(IndexError, match="no channels"):
        m(retrograd.randn(2, 0, 2, 2))
    with pytest.raises(ZeroDivisionError):
        nn.CrossMapLRN2d(0)(retrograd.randn(2, 3, 2, 2))
    x = retrograd.randn(2, 3, 2, 2, requires_grad=True)
    (gx,) = retrograd.autograd.grad(m(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for aten::cross_map_lrn2d_backward is not implemented"):
        gx.sum().backward()  # torch's backward is not differentiable either (it raises under create_graph)
    with pytest.raises(NotImplementedError, match="forward-mode"):  # nor has it forward AD
        retrograd.func.jvp(m, (x.detach(),), (retrograd.ones_like(x),))
    with pytest.raises(RuntimeError, match="size=1"):  # torch's backward fails for size 1
        nn.CrossMapLRN2d(1)(x).sum().backward()
    half = nn.CrossMapLRN2d(3, 0.3, 0.8, 1.5)(x.detach().half())
    assert half.dtype == retrograd.float16
    np.testing.assert_allclose(half.float().numpy(), nn.CrossMapLRN2d(3, 0.3, 0.8, 1.5)(x.detach()).numpy(), rtol=2e-3)


@pytest.mark.parametrize("lib", [retrograd, pytest.param(torch, marks=requires_torch)], ids=["retrograd", "torch"])
def test_a_state_dict_without_num_batches_tracked_loads_as_torch(lib):
    """Without metadata (a dict built by hand or converted) or at version 1, a missing
    num_batches_tracked keeps the buffer's value; a version-2 state_dict reports it missing."""
    nn = lib.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model[1].num_batches_tracked.fill_(7)
    plain = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    model.load_state_dict(plain)  # strict, and nothing missing
    assert int(model[1].num_batches_tracked) == 7
    versioned = model.state_dict()
    del versioned["1.num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "1.num_batches_tracked"'):
        model.load_state_dict(versioned)
    versioned._metadata["1"]["version"] = 1
    assert model.load_state_dict(versioned).missing_keys == []
