"""Run a script on 2 MPI ranks from a test: ``run_ranks(script, ...)``; ``requires_mpi`` skips without MPI."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def mpiexec():
    """The mpiexec that retrograd's launcher would use, or None."""
    from retrograd.distributed.run import find_mpiexec

    try:
        return find_mpiexec()
    except FileNotFoundError:
        return None


requires_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or mpiexec() is None,
                                  reason="needs mpi4py and mpiexec (pip install -e '.[distributed]')")


def env(**extra):
    """The environment for a child: retrograd importable from the source tree, ``extra`` added."""
    e = dict(os.environ)
    paths = [str(REPO / "src"), str(REPO / "tests")] + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else [])
    e["PYTHONPATH"] = os.pathsep.join(paths)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "TORCH_DISTRIBUTED_DEBUG"):
        e.pop(key, None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run_ranks(script, *args, n=2, timeout=120, **extra_env):
    """``mpiexec -n n python script args``; returns the CompletedProcess (text output)."""
    cmd = [mpiexec(), "-n", str(n), sys.executable, str(HERE / script), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(**extra_env), cwd=REPO)


def rank_results(tmp_path_factory, script, n=2, timeout=120, **extra_env):
    """Run ``script`` on ``n`` ranks with a fresh output folder as its argument; each rank writes
    ``rank{r}.json`` there: the list of those reports, in rank order (the run must succeed)."""
    out = tmp_path_factory.mktemp(Path(script).stem)
    proc = run_ranks(script, out, n=n, timeout=timeout, **extra_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(n)]
