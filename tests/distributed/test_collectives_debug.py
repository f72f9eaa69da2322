"""TORCH_DISTRIBUTED_DEBUG=DETAIL: a collective whose tensors differ across ranks raises RuntimeError
on both ranks naming each rank's shapes/dtypes (without it MPI would mix or hang)."""


import pytest
from mpi_run import rank_results, requires_mpi


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return rank_results(tmp_path_factory, "collectives_debug_script.py", TORCH_DISTRIBUTED_DEBUG="DETAIL", timeout=60)


@requires_mpi
def test_shape_mismatch_names_both_ranks_shapes(reports):
    for rep in reports:
        msg = rep["shape"]
        assert msg is not None and "Detected mismatch between collectives on ranks" in msg
        assert "Rank 0 is running collective" in msg and "Rank 1 is running collective" in msg
        assert "TensorShape=[[3]]" in msg and "TensorShape=[[4]]" in msg and "OpType=ALLREDUCE" in msg


@requires_mpi
def test_dtype_mismatch_names_both_dtypes(reports):
    for rep in reports:
        assert "TensorDtypes=['float32']" in rep["dtype"] and "TensorDtypes=['float64']" in rep["dtype"]


@requires_mpi
def test_different_collectives_are_named(reports):
    for rep in reports:
        assert "OpType=BROADCAST" in rep["op"] and "OpType=ALLREDUCE" in rep["op"]


@requires_mpi
def test_matching_collectives_still_run(reports):
    assert [rep["matched"] for rep in reports] == [None, None]
    assert [rep["after"] for rep in reports] == [[2.0, 2.0], [2.0, 2.0]]
