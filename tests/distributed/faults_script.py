"""Run by test_faults.py under ``mpiexec -n 2``: ``python faults_script.py MODE TIMEOUT_S``.

raise: rank 1 raises while rank 0 waits in all_reduce (the job must end, naming rank 1).
stuck: rank 1 sleeps while rank 0 waits in all_reduce (the timeout must end the job).
stuck_async: as stuck, rank 0 waiting on an async all_reduce's Work.
exit: rank 1 calls sys.exit(3) while rank 0 waits (the job ends, with a nonzero code).
"""

import datetime
import sys
import time

import retrograd as torch
import retrograd.distributed as dist

mode, timeout_s = sys.argv[1], float(sys.argv[2])
dist.init_process_group()  # the default timeout: the ranks may start seconds apart on a loaded machine
rank = dist.get_rank()
group = dist.new_group(timeout=datetime.timedelta(seconds=timeout_s))  # the timeout under test
dist.barrier()
if rank == 1:
    if mode == "raise":
        raise ValueError("boom on purpose")
    if mode == "exit":
        sys.exit(3)
    time.sleep(60)
elif mode == "stuck_async":
    dist.all_reduce(torch.ones(4), group=group, async_op=True).wait()
else:
    dist.all_reduce(torch.ones(4), group=group)
print("unreachable: the collective completed", flush=True)
