"""``spawn`` and ``start_processes``: run ``fn(i, *args)`` in ``nprocs`` processes, and in the parent
raise the first failure with its cause (the child's traceback, or its exit code or signal), after
ending the other processes, as torch's."""

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import time
import traceback
import warnings

_log = logging.getLogger(__name__)


class ProcessException(Exception):
    """A process that ``start_processes`` started failed: ``error_index`` is its index (the ``i`` of
    ``fn(i, *args)``), ``error_pid`` its process id."""

    def __init__(self, msg, error_index, error_pid):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """Exception raised when a process failed due to an exception raised by the code."""


class ProcessExitedException(ProcessException):
    """Exception raised when a process failed due to signal or exited with a specific code."""

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name)


_PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal this process gets when its parent dies


def _end_with_parent():
    """On Linux, have the kernel send SIGINT to this process when its parent dies, as torch's children
    get (they end quietly, below) instead of running on as orphans."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGINT), 0, 0, 0)


def _run(fn, i, args, error_file):
    """The child's entry point: ``fn(i, *args)``; an exception's traceback goes to ``error_file`` for
    the parent, and the process exits with code 1."""
    _end_with_parent()
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent ended this process (SIGINT): nothing to report
    except Exception:
        with open(error_file, "w") as f:
            f.write(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes ``start_processes`` started (``processes``), the files their errors go to
    (``error_files``) and, for those not joined yet, ``sentinels`` ({sentinel: index})."""

    def __init__(self, processes, error_files):
        self.processes = processes
        self.error_files = error_files
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self):
        """The process ids, by index."""
        return [int(p.pid) for p in self.processes]

    def join(self, timeout=None, grace_period=None):
        """Wait (at most ``timeout`` seconds) until a process ends. If one failed, end the others (those
        still running after ``grace_period`` seconds get SIGTERM, and SIGKILL if still running one more
        grace period later; at once without one) and raise ProcessRaisedException (with its traceback)
        or ProcessExitedException (its exit code or signal). Returns True once every process has
        ended well, False while some still run."""
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            process = self.processes[index]
            process.join()
            if process.exitcode != 0:
                failed = index
                break
        if failed is None:
            return not self.sentinels
        self._end_others(grace_period)
        raise self._failure(failed)

    def _end_others(self, grace_period):
        alive = [p for p in self.processes if p.is_alive()]
        if grace_period is not None:
            _join_all(alive, grace_period)
            alive = [p for p in alive if p.is_alive()]
        for p in alive:
            _log.warning("Terminating process %s via signal SIGTERM", p.pid)
            p.terminate()
        if grace_period is not None:
            _join_all(alive, grace_period)
            for p in alive:
                if p.is_alive():
                    _log.warning("Unable to shutdown process %s via SIGTERM, forcefully exiting via SIGKILL", p.pid)
                    p.kill()
        for p in alive:
            p.join()
        self.sentinels.clear()

    def _failure(self, index):
        process = self.processes[index]
        with open(self.error_files[index]) as f:
            trace = f.read()
        if trace:
            return ProcessRaisedException(
                f"\n\n-- Process {index} terminated with the following error:\n{trace}", index, process.pid)
        code = process.exitcode
        if code < 0:
            name = signal.Signals(-code).name
            return ProcessExitedException(f"process {index} terminated with signal {name}", index, process.pid,
                                          code, name)
        return ProcessExitedException(f"process {index} terminated with exit code {code}", index, process.pid, code)

    def __del__(self):
        for name in getattr(self, "error_files", ()):
            if os.path.exists(name):
                os.remove(name)


def _join_all(processes, seconds):
    deadline = time.monotonic() + seconds
    for p in processes:
        p.join(max(deadline - time.monotonic(), 0))


class SpawnContext(ProcessContext):
    """``ProcessContext`` under its former name."""

    def __init__(self, processes, error_files):
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.", FutureWarning, stacklevel=2)
        super().__init__(processes, error_files)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for i in range(nprocs), each in a new process started by ``start_method``
    ('spawn', 'fork', 'forkserver'). With ``join`` wait for all of them (raising the first failure,
    see ``ProcessContext.join``) and return None; else return the ProcessContext."""
    context = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for i in range(nprocs):
        fd, error_file = tempfile.mkstemp(prefix="retrograd-errorfile-")  # written by the child if it fails
        os.close(fd)
        process = context.Process(target=_run, args=(fn, i, args, error_file), daemon=daemon)
        process.start()
        processes.append(process)
        error_files.append(error_file)
    process_context = ProcessContext(processes, error_files)
    if not join:
        return process_context
    while not process_context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """``start_processes`` with the 'spawn' start method (another ``start_method`` warns, and spawn is
    used: call ``start_processes`` for it)."""
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\nTo use a different "
                      "start_method use:\n\t\t torch.multiprocessing.start_processes(...)", FutureWarning,
                      stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
