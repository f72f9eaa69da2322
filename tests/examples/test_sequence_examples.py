"""The sequence examples train: a few steps of each, in a fresh process, and the loss falls."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script, *args):
    # One BLAS thread: these matmuls are small, and a busy machine makes BLAS thread
    # hand-offs dominate them.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r"first loss ([\d.]+), last loss ([\d.]+)", proc.stdout)
    assert m, proc.stdout[-2000:]
    return float(m.group(1)), float(m.group(2)), proc.stdout


@pytest.mark.parametrize("script,args", [
    ("char_lstm.py", ["--steps", "30", "--hidden", "64", "--sample", "20"]),
    ("tiny_gpt.py", ["--steps", "30", "--d-model", "32", "--sample", "20"]),
])
def test_example_loss_falls(script, args):
    first, last, out = _run(script, *args, "--log-every", "10")
    assert last < first - 0.5, out
    assert "sample:" in out
