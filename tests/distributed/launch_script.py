"""Run by test_launch.py through retrograd-run: ``launch_script.py OUT_DIR EXIT_CODE_OF_RANK_1 [raise]``
(or as a module with -m). Each rank writes the torchrun variables it sees and its arguments to
OUT_DIR/rank<R>.json, joins the process group, then rank 1 exits with EXIT_CODE_OF_RANK_1 (or
raises before init_process_group with "raise")."""

import json
import os
import sys

import retrograd.distributed as dist

NAMES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

out_dir, code = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3 and os.environ["RANK"] == "1":
    raise KeyError("rank 1 fails before init_process_group")
with open(os.path.join(out_dir, f"rank{os.environ['RANK']}.json"), "w") as f:
    json.dump({"env": {n: os.environ.get(n) for n in NAMES}, "argv": sys.argv, "name": __name__}, f)
dist.init_process_group()
assert dist.get_rank() == int(os.environ["RANK"]) and dist.get_world_size() == int(os.environ["WORLD_SIZE"])
dist.barrier()
if dist.get_rank() == 1:
    sys.exit(code)
