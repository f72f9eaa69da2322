"""nn.utils.skip_init: the module is built with its shapes, dtypes and parameters but no
initialization (torch.nn.init fills are skipped, so no random numbers are drawn, as on torch's meta
device), and torch's errors for a non-module or a class without a ``device`` argument."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.nn.utils import skip_init


def test_built_without_drawing_random_numbers():
    retrograd.manual_seed(0)
    expected = retrograd.rand(5).numpy()
    retrograd.manual_seed(0)
    m = skip_init(nn.Linear, 3, 4, dtype=retrograd.float64)
    np.testing.assert_array_equal(retrograd.rand(5).numpy(), expected)  # Linear's init would have drawn
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert (m.weight.shape, m.bias.shape, m.weight.dtype) == ((4, 3), (4,), retrograd.float64)
    assert str(m.weight.device) == "cpu"
    m2 = skip_init(nn.Linear, in_features=6, out_features=1, bias=False)
    assert m2.weight.shape == (1, 6) and m2.bias is None


class Filled(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.w = nn.Parameter(retrograd.empty(2, 3, device=device))
        nn.init.constant_(self.w, 7.0)
        self.calls = nn.init.kaiming_uniform_(retrograd.empty(3, 3)) is not None


def test_init_functions_run_again_after_skip_init():
    m = skip_init(Filled)
    assert m.w.shape == (2, 3) and m.calls
    assert not np.all(m.w.detach().numpy() == 7.0)
    assert np.all(Filled().w.detach().numpy() == 7.0)  # outside skip_init the fill writes


class Broken(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        raise ValueError("bad")


def test_a_failing_constructor_leaves_init_working():
    with pytest.raises(ValueError, match="bad"):
        skip_init(Broken)
    assert np.all(nn.init.ones_(retrograd.empty(2)).numpy() == 1.0)


def test_torchs_errors():
    with pytest.raises(RuntimeError, match="Expected a Module; got <class 'int'>"):
        skip_init(int)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        skip_init(nn.ReLU)
