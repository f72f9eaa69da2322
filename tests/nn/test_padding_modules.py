"""Padding modules (nn/modules/padding.py) against torch: outputs, input gradients, reprs, errors."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import rand, reference, torch

# (class, constructor args, input shape): int and tuple paddings, batched and unbatched inputs
MODULES = [
    ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ZeroPad1d", ((1, 0),), (3, 4)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ZeroPad2d", (-1,), (2, 4, 5)),  # negative padding crops
    ("ZeroPad3d", (1,), (1, 2, 3, 2, 2)),
    ("ZeroPad3d", ((1, 0, 0, 1, 2, 0),), (2, 2, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad1d", ((0, 2), -1.0), (3, 4)),
    ("ConstantPad2d", ((1, 2, 0, 1), 2), (2, 3, 3, 3)),
    ("ConstantPad2d", (1, 0.5), (3, 3)),  # constant padding takes any number of leading dims
    ("ConstantPad3d", (1, 2), (1, 1, 2, 2, 2)),
    ("ConstantPad3d", ((0, 1, 1, 0, 0, 2), 7.0), (1, 2, 2, 2)),
    ("ReflectionPad1d", (2,), (2, 3, 4)),
    ("ReflectionPad1d", ((3, 1),), (3, 5)),
    ("ReflectionPad2d", ((1, 2, 2, 0),), (2, 3, 4, 4)),
    ("ReflectionPad2d", (1,), (3, 3, 3)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReflectionPad3d", ((1, 0, 2, 1, 0, 1),), (2, 3, 3, 3)),
    ("ReplicationPad1d", (3,), (2, 3, 4)),
    ("ReplicationPad1d", ((0, 2),), (3, 4)),
    ("ReplicationPad2d", ((1, 2, 3, 0),), (2, 3, 3, 4)),
    ("ReplicationPad2d", (2,), (3, 2, 2)),
    ("ReplicationPad3d", (1,), (1, 2, 2, 2, 2)),
    ("ReplicationPad3d", ((2, 0, 1, 1, 0, 3),), (2, 2, 3, 2)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad1d", ((1, 3),), (3, 4)),
    ("CircularPad2d", ((1, 2, 2, 0),), (2, 3, 3, 4)),
    ("CircularPad2d", (1,), (3, 3, 3)),
    ("CircularPad3d", (1,), (1, 2, 2, 3, 3)),
    ("CircularPad3d", ((0, 1, 2, 1, 1, 0),), (2, 2, 3, 3)),
]


@pytest.mark.parametrize("name,args,shape", MODULES)
def test_padding_module_like_torch(name, args, shape):
    """Output, dtype, the input gradient from a seeded upstream gradient, repr and .padding."""
    x = rand(*shape)

    def run(lib):
        m = getattr(nn if lib is retrograd else lib.nn, name)(*args)
        xt = lib.tensor(x, requires_grad=True)
        out = m(xt)
        g = np.random.default_rng(7).standard_normal(tuple(out.shape))
        (out * lib.tensor(g, dtype=out.dtype)).sum().backward()
        return repr(m), list(m.padding), str(out.dtype), out.detach().numpy(), xt.grad.numpy()

    got, want = run(retrograd), reference(lambda: run(torch), inputs=[x])
    assert got[:3] == tuple(want[:3])
    np.testing.assert_allclose(got[3], want[3], rtol=1e-12, atol=0)
    np.testing.assert_allclose(got[4], want[4], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,args,shape", [m for m in MODULES if m[1] in ((1,), (2,))])
def test_padding_module_gradcheck(name, args, shape):
    m = getattr(nn, name)(*args)
    x = retrograd.tensor(rand(*shape), requires_grad=True)
    assert retrograd.autograd.gradcheck(m, (x,))
    assert retrograd.autograd.gradgradcheck(m, (x,))


def test_padding_constructors_as_torch():
    """torch's _ntuple: a number for every side, any sequence kept as given; ZeroPad is a ConstantPad of 0."""
    assert nn.ReflectionPad3d(1).padding == (1, 1, 1, 1, 1, 1)
    assert nn.ZeroPad1d([1, 2]).padding == (1, 2)
    assert nn.ZeroPad2d(-1).padding == (-1, -1, -1, -1)
    assert nn.ZeroPad1d((1, 2, 3)).padding == (1, 2, 3)  # torch checks the length only in F.pad
    assert repr(nn.ZeroPad1d(2)) == "ZeroPad1d((2, 2))"
    assert repr(nn.ConstantPad3d(1, 2)) == "ConstantPad3d(padding=(1, 1, 1, 1, 1, 1), value=2)"
    z = nn.ZeroPad2d(1)
    assert isinstance(z, nn.ConstantPad2d) and z.value == 0.0
    assert nn.ConstantPad1d.__constants__ == ["padding", "value"] and nn.ReplicationPad2d.__constants__ == ["padding"]
    with pytest.raises(TypeError):
        nn.ConstantPad1d(1)  # value is required


@pytest.mark.parametrize("build,shape,error", [
    (lambda n: n.CircularPad1d(1), (3,), ValueError),  # expected 2D or 3D input (got 1D input)
    (lambda n: n.CircularPad2d(1), (2, 2, 2, 2, 2), ValueError),
    (lambda n: n.CircularPad3d(1), (2, 2, 2), ValueError),
    (lambda n: n.CircularPad2d(3), (1, 2, 2), RuntimeError),  # wraps around more than once
    (lambda n: n.ReflectionPad1d(3), (1, 2, 3), RuntimeError),  # padding >= the dim
    (lambda n: n.ReflectionPad1d(1), (2, 3, 4, 5), NotImplementedError),  # 4-D input for a 1-D pad
    (lambda n: n.ReplicationPad1d(1), (3,), NotImplementedError),
    (lambda n: n.ZeroPad2d(1), (3,), RuntimeError),  # more padded dims than the input has
    (lambda n: n.ZeroPad1d((1, 2, 3)), (2, 3), RuntimeError),  # odd padding length
    (lambda n: n.ZeroPad1d(1.5), (2, 3), TypeError),  # accepted by the constructor, refused by F.pad
])
def test_padding_module_errors_as_torch(build, shape, error):
    libs = [retrograd] + ([torch] if torch is not None else [])
    for lib in libs:
        with pytest.raises(error):
            build(nn if lib is retrograd else lib.nn)(lib.zeros(shape))


def test_padding_modules_exported():
    import retrograd.nn.modules.padding as padding

    for name in padding.__all__:
        assert getattr(nn, name) is getattr(padding, name)
