"""What runs inside a DataLoader worker process, as torch's ``torch.utils.data._utils.worker``.

Each worker limits the BLAS under NumPy to one thread and seeds its random number generators (retrograd's global generator and Python's
``random`` with ``base_seed + worker_id``; NumPy's legacy global generator with torch's
``_generate_state`` of the two), sets ``get_worker_info()``, calls ``worker_init_fn(worker_id)``,
then takes ``(task index, sampler indices)`` from its index queue and puts ``(task index,
collated batch)`` on the shared result queue. An exception becomes an ``ExceptionWrapper`` that
the main process re-raises with the worker's traceback; an exhausted IterableDataset answers
``_IterableDatasetStopIteration``; ``None`` on the index queue ends the worker.
"""

import atexit
import dataclasses
import os
import queue
import random
import sys
import traceback

# seconds between checks that the main process (in a worker) or the workers (in the main
# process) are still alive, while waiting on a queue
MP_STATUS_CHECK_INTERVAL = 5.0

# True once the interpreter is exiting: the main process then leaves its daemonic workers to
# multiprocessing's own exit handler (which terminates them) rather than joining them itself
python_exit_status = False


def _set_python_exit_flag():
    global python_exit_status
    python_exit_status = True


atexit.register(_set_python_exit_flag)


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerInfo:
    """Information about the current DataLoader worker process (see ``get_worker_info``)."""

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str = "multiprocessing"


_worker_info = None


def get_worker_info():
    """In a DataLoader worker process: a ``WorkerInfo`` with ``id`` (0 to num_workers - 1),
    ``num_workers``, ``seed`` (``base_seed + id``, the seed of this worker's generators) and
    ``dataset`` (this process's copy of the dataset; shard an IterableDataset with it).
    In the main process: None."""
    return _worker_info


@dataclasses.dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's answer when its copy of an IterableDataset is exhausted."""

    worker_id: int


@dataclasses.dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at a new epoch: restart the fetcher, answer it back."""

    seed: object = None


class KeyErrorMessage(str):
    """A str whose repr is itself, so that a re-raised KeyError's traceback stays readable."""

    __slots__ = ()

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception and its traceback as text, to carry across processes and raise again."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the wrapped exception's type with torch's message: "Caught ValueError in
        DataLoader worker process 2.\nOriginal Traceback (most recent call last): ..."."""
        raise self._exception()  # no local holds the exception: no frame <-> traceback cycle

    def _exception(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            return self.exc_type(message=msg)
        try:
            return self.exc_type(msg)
        except Exception:
            return RuntimeError(msg)


def _generate_state(base_seed, worker_id):
    """The 4 x uint32 state that torch seeds NumPy's global generator with in worker
    ``worker_id`` (a hash of the two, after NumPy's SeedSequence), so that workers draw
    different NumPy numbers and the same ones as torch's workers for the same base seed."""
    INIT_A, MULT_A, INIT_B, MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
    MIX_MULT_L, MIX_MULT_R, XSHIFT, MASK32 = 0xCA01F9DD, 0x4973F715, 16, 0xFFFFFFFF
    entropy = [worker_id, base_seed & MASK32, base_seed >> 32, 0]
    hash_const_a = INIT_A

    def hash_(value):
        nonlocal hash_const_a
        value = (value ^ hash_const_a) & MASK32
        hash_const_a = (hash_const_a * MULT_A) & MASK32
        value = (value * hash_const_a) & MASK32
        return (value ^ (value >> XSHIFT)) & MASK32

    def mix(x, y):
        result = (((MIX_MULT_L * x) & MASK32) - ((MIX_MULT_R * y) & MASK32)) & MASK32
        return (result ^ (result >> XSHIFT)) & MASK32

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    hash_const_b, state = INIT_B, []
    for value in pool:
        value = (value ^ hash_const_b) & MASK32
        hash_const_b = (hash_const_b * MULT_B) & MASK32
        value = (value * hash_const_b) & MASK32
        state.append((value ^ (value >> XSHIFT)) & MASK32)
    return state


def _seed_worker(base_seed, worker_id):
    """Seed this worker's generators as torch does; returns the worker's seed."""
    import numpy as np

    from ... import random as rg_random

    seed = base_seed + worker_id
    random.seed(seed)
    rg_random.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    return seed


def _worker_loop(iterable, dataset, index_queue, data_queue, done_event, auto_collation, collate_fn, drop_last,
                 base_seed, init_fn, worker_id, num_workers):
    """The body of worker process ``worker_id``."""
    global _worker_info
    from ._fetch import create_fetcher

    try:
        from ... import _threads

        _threads.set_num_threads(1)  # as torch's workers: parallelism comes from the workers
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:  # the main process is alive
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # shutting down, or this epoch's IterableDataset copy is exhausted
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            data_queue.put((idx, data))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        # the main process no longer reads results: do not wait to flush them at exit
        data_queue.cancel_join_thread()
        data_queue.close()
