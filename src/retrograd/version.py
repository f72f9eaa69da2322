"""``torch.version``: the version strings programs check. retrograd has no CUDA build of its own:
``cuda`` is the CUDA runtime CuPy runs on where CuPy is installed and sees a driver, else None
(what a CPU build of torch reports); ``hip``, ``rocm`` and ``xpu`` are None."""

__all__ = ["__version__", "cuda", "debug", "git_version", "hip", "rocm", "xpu"]

from . import __version__  # torch 2.13.0's, with retrograd's own version as its local label
debug = False
git_version = "Unknown"  # retrograd is not built from a git checkout with its hash recorded
hip = None
rocm = None
xpu = None


def _cuda_version():
    try:
        import cupy
        version = cupy.cuda.runtime.runtimeGetVersion()
    except Exception:  # noqa: BLE001 (no CuPy, no driver: as a CPU build)
        return None
    return f"{version // 1000}.{version % 1000 // 10}"


cuda = _cuda_version()
