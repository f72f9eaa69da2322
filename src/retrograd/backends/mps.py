"""``torch.backends.mps``: Apple's Metal backend, which retrograd does not have."""


def is_available():
    """Whether MPS can be used: never in retrograd (its devices are cpu and cuda)."""
    return False


def is_built():
    """Whether retrograd was built with MPS: no."""
    return False


def is_macos_or_newer(major, minor):
    """torch raises here without an MPS backend; so does retrograd."""
    raise RuntimeError(f"Cannot execute isOnMacOSorNewer({major}, {minor}) without MPS backend.")


def is_macos13_or_newer(minor=0):
    """torch raises here without an MPS backend; so does retrograd."""
    return is_macos_or_newer(13, minor)
