"""Join and DistributedDataParallel.join() with uneven inputs on 2 MPI ranks (one mpiexec for
the checks of join_script.py), and what needs no MPI."""

import inspect

import pytest
from mpi_run import rank_results, requires_mpi

import ddp_join_script as join_script
from retrograd.distributed.algorithms import Join, Joinable, JoinHook
from retrograd.nn.parallel import DistributedDataParallel


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return rank_results(tmp_path_factory, "ddp_join_script.py", timeout=240)


@requires_mpi
@pytest.mark.parametrize("name", list(join_script.CHECKS))
def test_join_on_two_ranks(results, name):
    for rank in range(2):
        assert results[rank][name] == "ok", f"rank {rank}: {results[rank][name]}"


def test_join_needs_a_joinable():
    with pytest.raises(ValueError, match="requires at least one joinable"):
        Join([])


def test_joinable_is_abstract_and_hooks_do_nothing_by_default():
    with pytest.raises(TypeError):
        Joinable()
    hook = JoinHook()
    assert hook.main_hook() is None and hook.post_hook(True) is None


def test_signatures_are_torchs():
    assert str(inspect.signature(DistributedDataParallel.join)) == (
        "(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False)")
    assert list(inspect.signature(Join).parameters) == [
        "joinables", "enable", "throw_on_early_termination", "kwargs"]
