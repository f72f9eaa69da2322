"""A failing or stuck rank ends the whole job (no hang) with a message naming the rank or the
operation and the timeout: the excepthook and the watchdog that init_process_group installs."""

import time

import pytest
from mpi_run import requires_mpi, run_ranks

pytestmark = requires_mpi


def run(mode, timeout_s):
    start = time.monotonic()
    proc = run_ranks("faults_script.py", mode, timeout_s, timeout=60)  # raises TimeoutExpired on a hang
    return proc, time.monotonic() - start


def test_raising_rank_ends_the_job_naming_the_rank():
    proc, _ = run("raise", 600)  # well before the 600 s timeout: subprocess's 60 s would fire first
    assert proc.returncode != 0
    assert "rank 1 failed: ValueError: boom on purpose" in proc.stderr
    assert "unreachable" not in proc.stdout


@pytest.mark.parametrize("mode", ["stuck", "stuck_async"])
def test_collective_waiting_past_the_timeout_aborts_naming_op_and_timeout(mode):
    proc, _ = run(mode, 1)
    assert proc.returncode != 0
    assert "[rank 0] retrograd.distributed: all_reduce did not complete within the timeout of 0:00:01" in proc.stderr
    assert "unreachable" not in proc.stdout
