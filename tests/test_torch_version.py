"""retrograd.__version__ is torch 2.13.0's version with retrograd's own as the local label, and a
TorchVersion compares as torch's does (checked against torch's class where torch is installed)."""

import pytest

import retrograd
from retrograd.torch_version import RETROGRAD_VERSION, InvalidVersion, TorchVersion, Version
from tests.helpers import requires_torch

# (expression over v = TorchVersion("2.13.0+cpu"), its value under torch 2.13's TorchVersion)
CASES = [
    ('v == "2.13.0+cpu"', True), ('v == "2.13.0"', False), ('v == "2.13"', False), ('v != "2.13.0+cpu"', False),
    ('v >= "2.0"', True), ('v >= "2.2"', True), ('v < "2.2"', False), ('v > "1.13.1"', True),
    ('v < "2.13.1"', True), ('v > "2.13.0rc1"', True), ('v < "2.14.0.dev1"', True), ('v > "2.13.0"', True),
    ('v < "2.13.0.post1"', True), ('v < "2!1.0"', True), ('v > "2.13.0a1.post2.dev3"', True),
    ('v >= "2.13.0+cpa"', True), ('v > "2.13.0+cpu.1"', False), ('v > "2.13.0+cpu.dev"', False),
    ('v > (2, 13)', True), ('v >= [2, 0]', True), ('v < (2, 13, 0, 1)', True),
    ('v == "foo"', False), ('v < "foo"', True), ('v == 3', False), ('v == None', False),
    ('v.split("+")[0]', "2.13.0"), ('hash(v) == hash("2.13.0+cpu")', True),
]


@pytest.mark.parametrize("expression, expected", CASES)
def test_torch_version_compares_as_torchs(expression, expected):
    assert eval(expression, {"v": TorchVersion("2.13.0+cpu")}) == expected


@requires_torch
def test_the_cases_are_torchs():
    from torch.torch_version import TorchVersion as TorchsVersion
    assert [eval(e, {"v": TorchsVersion("2.13.0+cpu")}) for e, _ in CASES] == [x for _, x in CASES]


def test_ordering_against_a_number_raises_type_error_as_torchs():
    with pytest.raises(TypeError, match="'<' not supported between instances of 'TorchVersion' and 'int'"):
        TorchVersion("2.13.0") < 3


def test_version_orders_pre_post_dev_and_local_as_pep_440():
    ordered = ["1.0.dev0", "1.0a0", "1.0a1.dev2", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0+abc", "1.0+abc.2",
               "1.0+5", "1.0.post1.dev0", "1.0.post1", "1.0.1", "1!0.1"]
    versions = [Version(s) for s in ordered]
    assert all(a < b for a, b in zip(versions, versions[1:]))
    assert Version("2.0") == Version("2.0.0") and Version("1.0-1") == Version("1.0.post1")
    with pytest.raises(InvalidVersion, match="not-a-version"):
        Version("not-a-version")


def test_retrograd_version_is_torch_2_13_with_retrograds_own_as_local_label():
    assert isinstance(retrograd.__version__, TorchVersion)
    assert retrograd.__version__ == f"2.13.0+retrograd.{RETROGRAD_VERSION}"
    assert retrograd.__version__ >= "2.13" and retrograd.__version__ < (2, 14)
    assert retrograd.version.__version__ is retrograd.__version__
