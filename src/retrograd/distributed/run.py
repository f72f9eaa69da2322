"""``retrograd-run`` / ``python -m retrograd.distributed.run``: torchrun's command line on ``mpiexec``.

    retrograd-run --nproc-per-node 2 train.py --epochs 3
    python -m retrograd.distributed.run --nproc-per-node 2 -m mypackage.train

starts ``--nproc-per-node`` ranks through the ``mpiexec`` of the MPICH wheel (the ``distributed``
extra); each rank runs the script with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
MASTER_ADDR and MASTER_PORT set, as torchrun sets them. The exit code is the job's. If a rank
fails (an exception, or a nonzero exit) the whole job ends, naming the rank. Several nodes: one
command on the first node with ``--nnodes M --hostfile HOSTS`` (an MPI host file) starts every
node's ranks, since MPI launches remote ranks itself (over ssh), where torchrun runs once per
node.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import sysconfig


def find_mpiexec():
    """The mpiexec installed with the mpich wheel (next to this Python), else the one on PATH."""
    beside = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("mpiexec")
    if found is None:
        raise FileNotFoundError('mpiexec not found: install MPICH with `pip install -e ".[distributed]"` '
                                "(or put an MPI's mpiexec on PATH)")
    return found


def _nproc(value):
    if value in ("auto", "cpu"):
        return os.cpu_count() or 1
    if value == "gpu":
        from .. import cuda

        if not cuda.is_available():
            raise argparse.ArgumentTypeError("--nproc-per-node gpu: no CUDA device is available here")
        return cuda.device_count()
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--nproc-per-node must be a positive integer, 'auto', 'cpu' or 'gpu', "
                                         f"got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--nproc-per-node must be at least 1, got {n}")
    return n


def _nnodes(value):
    if ":" in value:
        low, high = value.split(":", 1)
        if low != high:
            raise argparse.ArgumentTypeError(f"--nnodes {value}: elastic node ranges need torchrun's rendezvous, "
                                             "which MPI does not have; give one number of nodes")
        value = low
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"--nnodes must be at least 1, got {n}")
    return n


def _parser():
    p = argparse.ArgumentParser(
        prog="retrograd-run",
        description="Start a retrograd.distributed training script on several ranks through MPI's mpiexec, "
                    "with torchrun's command line.",
        epilog="Each rank runs the script with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and "
               "MASTER_PORT in its environment; init_process_group() takes ranks from MPI. The exit code is the "
               "job's. Plain `mpiexec -n N python train.py` works too (without those variables).")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=_nproc, default=1, metavar="N",
                   help="ranks per node (an integer, 'auto' or 'cpu': one per CPU core, 'gpu': one per CUDA "
                        "device); default 1")
    p.add_argument("--nnodes", type=_nnodes, default=1, metavar="M",
                   help="number of nodes; more than 1 needs --hostfile, and this one command (run on the first "
                        "node) starts the ranks of every node through MPI; default 1")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0, metavar="R",
                   help="accepted for torchrun's command lines: MPI starts every node from one command, so it "
                        "must be 0 (the node you run it on)")
    p.add_argument("--master-addr", "--master_addr", default=None, metavar="ADDR",
                   help="MASTER_ADDR given to the script (MPI itself does not use it); default 127.0.0.1, or the "
                        "first host of --hostfile")
    p.add_argument("--master-port", "--master_port", type=int, default=None, metavar="PORT",
                   help="MASTER_PORT given to the script (MPI itself does not use it); default 29500")
    p.add_argument("--standalone", action="store_true",
                   help="one node: MASTER_ADDR=127.0.0.1 and a free MASTER_PORT (cannot be combined with "
                        "--nnodes > 1 or --hostfile)")
    p.add_argument("--hostfile", "--host-file", default=None, metavar="FILE",
                   help="MPI host file (one `host[:slots]` per line) passed to `mpiexec -f`, for several nodes")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script argument as a module, as `python -m`")
    p.add_argument("--no-python", "--no_python", action="store_true",
                   help="run the script argument as an executable, without python")
    p.add_argument("training_script", help="the script (or with -m, the module) every rank runs")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_host(hostfile):
    with open(hostfile) as f:
        for line in f:
            host = line.split("#", 1)[0].strip()
            if host:
                return host.split(":", 1)[0].split()[0]
    raise ValueError(f"--hostfile {hostfile} lists no hosts")


def command(args):
    """The mpiexec command line and environment for parsed ``args``."""
    p = _parser()
    if args.node_rank != 0:
        p.error(f"--node-rank {args.node_rank}: MPI starts the ranks of every node from one command run on the "
                "first node; run it there with --node-rank 0 (or without it) and list the nodes in --hostfile")
    if args.module and args.no_python:
        p.error("-m and --no-python cannot be combined")
    if args.standalone and (args.nnodes > 1 or args.hostfile):
        p.error("--standalone is for one node: drop --nnodes/--hostfile, or drop --standalone")
    if args.nnodes > 1 and not args.hostfile:
        p.error(f"--nnodes {args.nnodes} needs --hostfile: an MPI host file listing the nodes, one per line")
    if args.hostfile and not os.path.isfile(args.hostfile):
        p.error(f"--hostfile {args.hostfile}: no such file")
    master_addr = args.master_addr or (_first_host(args.hostfile) if args.hostfile else "127.0.0.1")
    master_port = args.master_port or (_free_port() if args.standalone else 29500)
    cmd = [find_mpiexec(), "-n", str(args.nnodes * args.nproc_per_node)]
    if args.hostfile:
        cmd += ["-f", args.hostfile, "-ppn", str(args.nproc_per_node)]
    cmd += [sys.executable, "-m", "retrograd.distributed._rank_main"]
    if args.module:
        cmd.append("-m")
    elif args.no_python:
        cmd.append("--no-python")
    cmd += [args.training_script, *args.training_script_args]
    env = dict(os.environ, MASTER_ADDR=master_addr, MASTER_PORT=str(master_port))
    return cmd, env


def main(argv=None):
    """Parse torchrun's arguments, run the job, return its exit code."""
    args = _parser().parse_args(argv)
    try:
        cmd, env = command(args)
    except FileNotFoundError as e:
        print(f"retrograd-run: {e}", file=sys.stderr)
        return 1
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
