"""What each rank that ``retrograd-run`` starts runs: set torchrun's environment variables, then the
user's script (``python -m retrograd.distributed._rank_main [-m | --no-python] SCRIPT ARGS...``).

RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE come from the MPI process manager's variables
(MPICH's hydra: PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS; Open MPI's OMPI_COMM_WORLD_*).
If the script raises or exits with a nonzero code, the rank ends the whole job (MPI_Abort) with
that code, so the other ranks do not wait for it, also when it fails before init_process_group.
"""

import os
import runpy
import sys
import traceback

_SOURCES = {
    "RANK": ("PMI_RANK", "OMPI_COMM_WORLD_RANK"),
    "WORLD_SIZE": ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"),
    "LOCAL_RANK": ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"),
    "LOCAL_WORLD_SIZE": ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"),
}


def set_environment(environ=os.environ):
    """torchrun's per-rank variables from the MPI process manager's."""
    for name, sources in _SOURCES.items():
        value = next((environ[s] for s in sources if s in environ), None)
        if value is None:
            raise RuntimeError(f"{name} cannot be set: none of {', '.join(sources)} is in the environment; "
                               "this entry point is run by retrograd-run under mpiexec")
        environ[name] = value


def _run(argv):
    if argv[0] == "--no-python":
        os.execvp(argv[1], argv[1:])
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
        runpy.run_path(argv[0], run_name="__main__")


def main(argv):
    set_environment()
    rank = os.environ["RANK"]
    try:
        _run(argv)
    except SystemExit as e:
        code = e.code
        if code is None or code == 0:
            return
        if not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        _abort(rank, f"exited with code {code}", code)
    except BaseException as e:
        traceback.print_exc()
        _abort(rank, f"{type(e).__name__}: {e}", 1)


def _abort(rank, message, code):
    from . import _faults

    _faults.abort_job(rank, message, code)


if __name__ == "__main__":
    main(sys.argv[1:])
