"""Generators and seeds (src/retrograd/random.py) with torch's semantics: a process starts from a
random seed unless one is set, a new Generator from torch's fixed default seed; manual_seed takes
torch's range of seeds; seed() reseeds from entropy and returns the seed."""

import json
import subprocess
import sys

import pytest

import retrograd as R
from tests.helpers import torch

START = "import json, retrograd as R; print(json.dumps([R.initial_seed(), R.rand(4).tolist(), R.randn(2).tolist()]))"


def _run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_unseeded_processes_start_from_different_random_seeds():
    first, second = _run(START), _run(START)
    assert first[0] != second[0] and 0 <= first[0] < 2**64
    assert first[1:] != second[1:]


def test_a_seeded_process_repeats_itself():
    code = START.replace("print(", "R.manual_seed(3); print(", 1)
    first, second = _run(code), _run(code)
    assert first == second and first[0] == 3


def test_seed_reseeds_both_streams_from_entropy_and_returns_the_seed():
    R.manual_seed(0)
    new = R.seed()
    assert R.initial_seed() == new and 0 <= new < 2**64
    assert R.random.cuda_generator.initial_seed() == new
    a = R.rand(3).tolist()
    R.manual_seed(new)
    assert R.rand(3).tolist() == a
    assert R.seed() != R.seed()


def test_a_new_generator_starts_from_torchs_default_seed():
    g = R.Generator()
    assert g.initial_seed() == R.random.DEFAULT_SEED == 67280421310721
    assert R.rand(3, generator=g).tolist() == R.rand(3, generator=R.Generator()).tolist()
    assert g.device == R.device("cpu")
    if torch is not None:
        assert torch.Generator().initial_seed() == g.initial_seed()
    assert g.seed() == g.initial_seed()


@pytest.mark.parametrize("seed,expected", [(-1, 2**64 - 1), (2**64 - 1, 2**64 - 1), (-2**63, 2**63), ("3", 3),
                                           (1.5, 1)])
def test_manual_seed_takes_torchs_range(seed, expected):
    assert R.manual_seed(seed).initial_seed() == expected
    if torch is not None:
        assert torch.manual_seed(seed).initial_seed() == expected


@pytest.mark.parametrize("seed", [2**64, -2**63 - 1])
def test_manual_seed_out_of_range_is_a_value_error(seed):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        R.manual_seed(seed)
    if torch is not None:
        with pytest.raises(ValueError, match="Overflow when unpacking long long"):
            torch.manual_seed(seed)
