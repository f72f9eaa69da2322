"""Record torch 2.13.0's values for the torch comparisons (tests/reference/torch_values.npz).

    python tests/reference/record.py                            # whole suite: the file anew
    python tests/reference/record.py tests/ops/test_math.py -k exp  # these tests' entries only

Runs pytest with RETROGRAD_RECORD_TORCH=1: each ``reference()`` call (compare_with_torch, so
check_op, and the tests that call it directly) files torch's value under its test's node id;
at the end of the session the values are written, replacing the entries of the tests that ran.
Run it after adding or changing a torch comparison, and commit the file: without torch, the
suite compares against it and fails on a missing or stale entry.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("torch_values.npz")


def main(args):
    try:
        import torch
    except ImportError:
        sys.exit("torch is not installed: the values to record are torch 2.13.0's")
    if torch.__version__.split("+")[0] != "2.13.0":
        sys.exit(f"torch {torch.__version__} is installed; the recorded values are torch 2.13.0's")
    if not args:
        FIXTURE.unlink(missing_ok=True)  # a whole run drops the entries of deleted tests too
    env = dict(os.environ, RETROGRAD_RECORD_TORCH="1")
    env.pop("RETROGRAD_TEST_WITHOUT_TORCH", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    print(f"{FIXTURE.relative_to(ROOT)}: {FIXTURE.stat().st_size / 1e6:.2f} MB" if FIXTURE.exists()
          else f"{FIXTURE.name} was not written")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
