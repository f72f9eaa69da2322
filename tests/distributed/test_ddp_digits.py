"""examples/ddp_digits.py runs on 2 MPI ranks for one short epoch: the ranks train the digits CNN
together and every rank reloads rank 0's checkpoint."""

import re

from mpi_run import REPO, requires_mpi, run_ranks


@requires_mpi
def test_ddp_digits_example_on_two_ranks(tmp_path):
    proc = run_ranks(REPO / "examples" / "ddp_digits.py", "--epochs", "1", "--subset", "300",
                     "--checkpoint", tmp_path / "ddp.pt", OPENBLAS_NUM_THREADS=1)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert re.search(r"^epoch  1  train loss \d+\.\d+  test accuracy \d+\.\d%$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^2 ranks: test accuracy \d+\.\d+%", proc.stdout, re.M), proc.stdout
    assert "every rank's reloaded model agrees: True" in proc.stdout
    assert (tmp_path / "ddp.pt").is_file()
