"""Run by test_collectives_debug.py under ``mpiexec -n 2`` with TORCH_DISTRIBUTED_DEBUG=DETAIL:
collectives whose tensors differ across ranks raise RuntimeError on every rank;
``python collectives_debug_script.py OUT_DIR`` writes each rank's messages to OUT_DIR/rank<R>.json."""

import json
import sys

import retrograd as torch
import retrograd.distributed as dist


def error_of(call):
    try:
        call()
    except RuntimeError as e:
        return str(e)
    return None


dist.init_process_group()
r = dist.get_rank()
report = {
    "rank": r,
    "shape": error_of(lambda: dist.all_reduce(torch.ones(3 + r))),
    "dtype": error_of(lambda: dist.broadcast(torch.ones(2, dtype=torch.float64 if r else torch.float32), src=0)),
    "op": error_of(lambda: dist.all_reduce(torch.ones(2)) if r else dist.broadcast(torch.ones(2), src=0)),
    "matched": error_of(lambda: dist.all_reduce(torch.ones(2))),
}
t = torch.ones(2)
dist.all_reduce(t)
report["after"] = t.tolist()
with open(f"{sys.argv[1]}/rank{r}.json", "w") as f:
    json.dump(report, f)
dist.destroy_process_group()
