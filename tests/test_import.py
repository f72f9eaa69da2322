"""``import retrograd`` loads NumPy and the standard library only: optional or slow packages
(ml_dtypes for bfloat16, scipy for special functions, the demo's matplotlib and tqdm, ...)
are imported where they are first used. (Its time is measured by ``python -m bench.importtime``.)"""

import json
import subprocess
import sys

LEFT_TO_FIRST_USE = ("ml_dtypes", "scipy", "matplotlib", "tqdm", "cupy", "torch", "safetensors", "threadpoolctl")


def test_import_loads_no_optional_or_slow_package():
    code = f"import sys, json, retrograd; print(json.dumps([m for m in {LEFT_TO_FIRST_USE!r} if m in sys.modules]))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []
