"""The CUDA sources of retrograd/ops/_cuda_kernels.py compiled for the CPU and run there.

Every kernel source is built with g++ (C++20) under a small shim that gives CUDA's names a
host meaning: a launch runs the grid's blocks one after another, each block as ``blockDim.x``
std::threads (``threadIdx`` thread-local), ``__syncthreads()`` a std::barrier of the block's
threads, ``__shared__`` a static array that the block's threads share, ``atomicMin`` under a
mutex. So the very source CuPy compiles for the GPU computes on NumPy arrays here: its math,
its indexing and its reduction trees (with a small block, so that the strided loops and the
trees both run). What it cannot show is speed, memory coalescing or a race that needs real
warps.

``launch`` replaces ``_cuda_kernels._launch``: it takes the same (name, dtype, grid, args),
with NumPy arrays (or tests/strict_device.py arrays) where CuPy arrays would be.
"""

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

from retrograd.ops import _cuda_kernels as K

BLOCK = 8  # threads per emulated block: a power of two, as the kernels require

_SHIM = r"""
#include <math.h>
#include <cmath>
#include <barrier>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>
using namespace std;

struct rg_dim3 { unsigned x = 0, y = 1, z = 1; };
static thread_local rg_dim3 threadIdx;
static rg_dim3 blockIdx, blockDim, gridDim;
static std::barrier<>* rg_barrier;
static std::mutex rg_mutex;

#define __global__
#define __device__
#define __shared__ static
#define __syncthreads() rg_barrier->arrive_and_wait()

static int atomicMin(int* address, int value) {
    std::lock_guard<std::mutex> lock(rg_mutex);
    int old = *address;
    if (value < old) *address = value;
    return old;
}

static void rg_launch(unsigned grid, unsigned block, const std::function<void()>& kernel) {
    gridDim.x = grid;
    blockDim.x = block;
    std::barrier<> barrier(block);
    rg_barrier = &barrier;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < block; ++t)
            threads.emplace_back([&kernel, t] { threadIdx.x = t; kernel(); });
        for (auto& th : threads) th.join();
    }
}
"""

_SIGNATURE = re.compile(r'extern "C" __global__ void (\w+)\s*\((.*?)\)\s*\{', re.S)


def _param_names(params):
    return [re.search(r"(\w+)\s*$", p.strip()).group(1) for p in params.split(",")]


def program(dtype):
    """One C++ translation unit: every kernel for ``dtype`` in a namespace of its own, and an
    ``extern "C" launch_<name>(grid, block, <the kernel's parameters>)`` for each."""
    parts = [_SHIM]
    for name in K.KERNELS:
        src = K.source(name, dtype, block=BLOCK)
        params = _SIGNATURE.search(src).group(2)
        call = ", ".join(_param_names(params))
        parts.append(f"namespace k_{name} {{\n{src}\n"
                     f'extern "C" void launch_{name}(unsigned grid, unsigned block, {params}) '
                     f"{{ rg_launch(grid, block, [&] {{ {name}({call}); }}); }}\n}}\n")
    return "".join(parts)


def compiler():
    """The C++ compiler, or None (then the emulation tests skip)."""
    return shutil.which(os.environ.get("CXX", "g++"))


def build():
    """The emulation of every kernel for each dtype, compiled (in parallel) once per version of
    the sources into the temporary directory; {dtype: CDLL}."""
    jobs, libs = {}, {}
    for dtype in K.DTYPES:
        text = program(dtype)
        cmd = [compiler(), "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", f"-DRG_BLOCK={BLOCK}"]
        digest = hashlib.sha256((text + " ".join(cmd)).encode()).hexdigest()[:20]
        lib = os.path.join(tempfile.gettempdir(), f"rg_cuda_emulator_{dtype.name}_{digest}.so")
        if os.path.exists(lib):
            libs[dtype] = ctypes.CDLL(lib)
            continue
        work = tempfile.mkdtemp(prefix="rg_cuda_emulator_")
        with open(os.path.join(work, "kernels.cpp"), "w") as f:
            f.write(text)
        cmd += ["-o", os.path.join(work, "kernels.so"), os.path.join(work, "kernels.cpp")]
        jobs[dtype] = (work, lib, subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True))
    for dtype, (work, lib, proc) in jobs.items():
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"g++ failed on the {dtype} kernels:\n{err[:4000]}")
        os.replace(os.path.join(work, "kernels.so"), lib)  # (atomic: a parallel run loads a whole file)
        shutil.rmtree(work, ignore_errors=True)
        libs[dtype] = ctypes.CDLL(lib)
    return libs


def host_array(a):
    """The NumPy array holding ``a``'s memory (a strict_device array's own buffer)."""
    if isinstance(a, np.ndarray):
        return a
    from tests import strict_device

    return strict_device._unwrap(a)


def _c_arg(v):
    if isinstance(v, np.void):  # a struct passed by value: its bytes, in a struct of 8-byte words
        words = ctypes.c_uint64 * (v.dtype.itemsize // 8)
        struct = type("Struct", (ctypes.Structure,), {"_fields_": [("words", words)]})
        return struct.from_buffer_copy(v.tobytes())
    if isinstance(v, np.generic):
        return np.ctypeslib.as_ctypes_type(v.dtype)(v.item())
    return ctypes.c_void_p(host_array(v).ctypes.data)  # (a view: its first element)


def install(monkeypatch, libs, calls):
    """For the test: retrograd's kernel launches (ops/_cuda_kernels.py) run on an Emulator of
    ``libs``, appending each kernel's name to ``calls``; with tests/strict_device.py installed,
    CUDA tensors then run the kernels' very sources."""
    emulator = Emulator(libs)
    emulator.calls = calls
    monkeypatch.setattr(K, "_ready", lambda: True)
    monkeypatch.setattr(K, "_launch", emulator.launch)
    monkeypatch.setattr(K, "_address", lambda a: host_array(a).ctypes.data)
    monkeypatch.setattr(K, "BLOCK", BLOCK)
    monkeypatch.setattr(K, "_MAX_GRID", 3)


class Emulator:
    """Runs launches on the CPU; ``calls`` lists the kernel names launched."""

    def __init__(self, libs):
        self.libs = libs
        self.calls = []

    def launch(self, name, dtype, grid, args, device=None):
        self.calls.append(name)
        fn = getattr(self.libs[np.dtype(dtype)], f"launch_{name}")
        fn.restype = None
        fn(ctypes.c_uint(grid[0]), ctypes.c_uint(K.BLOCK), *[_c_arg(a) for a in args])
