"""_malloc: glibc's thresholds are raised at import unless the user opts out, and
retrograd.backends.set_malloc_tuning_enabled turns that on and off at run time."""

import json
import os
import platform
import subprocess
import sys

import pytest

from retrograd import _malloc

ON_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
requires_glibc = pytest.mark.skipif(not ON_GLIBC, reason="malloc tuning is glibc's mallopt")


def _in_fresh_process(code, **env_extra):
    env = {k: v for k, v in os.environ.items() if k not in _malloc._USER_SETTINGS + ("RETROGRAD_MALLOC_TUNING",)}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_tuned_at_import_on_glibc_unless_the_user_opts_out_or_tunes_malloc():
    code = "import retrograd; print(retrograd.backends.is_malloc_tuning_enabled())"
    assert _in_fresh_process(code) == str(ON_GLIBC)
    assert _in_fresh_process(code, RETROGRAD_MALLOC_TUNING="1") == str(ON_GLIBC)
    assert _in_fresh_process(code, RETROGRAD_MALLOC_TUNING="0") == "False"
    assert _in_fresh_process(code, MALLOC_TRIM_THRESHOLD_="1000000") == "False"


@requires_glibc
def test_tune_is_repeatable():
    code = "from retrograd import _malloc; print(_malloc.tune(), _malloc.tune(), _malloc.is_malloc_tuning_enabled())"
    assert _in_fresh_process(code) == "True True True"


# mmapped bytes (glibc's mallinfo2().hblkhd) while a 16 MB array is alive: 0 more when it comes
# from the heap (tuning on), 16 MB more when glibc maps it on its own (default thresholds)
_MAPPED_FOR_16MB = """
import ctypes, json, numpy as np
import retrograd
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
def mapped_for_16mb():
    before = libc.mallinfo2().hblkhd
    a = np.ones(2 << 20)
    return libc.mallinfo2().hblkhd - before
out = {"import": mapped_for_16mb()}
retrograd.backends.set_malloc_tuning_enabled(False)
out["off"] = [mapped_for_16mb(), retrograd.backends.is_malloc_tuning_enabled()]
retrograd.backends.set_malloc_tuning_enabled(True)
out["on"] = [mapped_for_16mb(), retrograd.backends.is_malloc_tuning_enabled()]
print(json.dumps(out))
"""


@requires_glibc
def test_runtime_switch_changes_where_glibc_puts_large_arrays():
    try:
        out = json.loads(_in_fresh_process(_MAPPED_FOR_16MB))
    except subprocess.CalledProcessError as e:
        if "mallinfo2" in e.stderr:  # glibc before 2.33
            pytest.skip("glibc without mallinfo2")
        raise
    assert out["import"] == 0
    assert out["off"][0] >= 16 << 20 and out["off"][1] is False
    assert out["on"][0] == 0 and out["on"][1] is True


@requires_glibc
def test_runtime_switch_overrides_the_environment():
    code = ("import retrograd; b = retrograd.backends; e0 = b.is_malloc_tuning_enabled(); "
            "b.set_malloc_tuning_enabled(True); e1 = b.is_malloc_tuning_enabled(); "
            "b.set_malloc_tuning_enabled(False); b.set_malloc_tuning_enabled(False); "
            "print(e0, e1, b.is_malloc_tuning_enabled())")
    assert _in_fresh_process(code, RETROGRAD_MALLOC_TUNING="0") == "False True False"


def test_turning_it_on_without_glibc_raises(monkeypatch):
    monkeypatch.setattr(_malloc, "_libc", lambda: None)
    monkeypatch.setattr(_malloc._state, "enabled", False)
    with pytest.raises(RuntimeError, match="glibc"):
        _malloc.set_malloc_tuning_enabled(True)
    _malloc.set_malloc_tuning_enabled(False)  # off stays off
    assert not _malloc.is_malloc_tuning_enabled()
