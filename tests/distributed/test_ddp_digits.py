"""examples/ddp_digits.py runs for one short epoch with the README's command (the launcher starting
2 MPI ranks): the ranks train the digits CNN together and every rank reloads rank 0's checkpoint."""

import re
import subprocess
import sys

from mpi_run import REPO, env, requires_mpi


@requires_mpi
def test_ddp_digits_example_on_two_ranks(tmp_path):
    cmd = [sys.executable, "-m", "retrograd.distributed.run", "--nproc-per-node", "2", "examples/ddp_digits.py",
           "--epochs", "1", "--subset", "300", "--checkpoint", str(tmp_path / "ddp.pt")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO,
                          env=env(OPENBLAS_NUM_THREADS=1))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert re.search(r"^epoch  1  train loss \d+\.\d+  test accuracy \d+\.\d%$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^2 ranks: test accuracy \d+\.\d+%", proc.stdout, re.M), proc.stdout
    assert "every rank's reloaded model agrees: True" in proc.stdout
    assert (tmp_path / "ddp.pt").is_file()
