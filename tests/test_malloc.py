"""_malloc: glibc's thresholds are raised at import unless the user opts out."""

import os
import platform
import subprocess
import sys

from retrograd import _malloc


def _tune_in_fresh_process(**env_extra):
    env = {k: v for k, v in os.environ.items() if k not in _malloc._USER_SETTINGS}
    env.update(env_extra)
    code = "from retrograd import _malloc; print(_malloc.tune())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip()


def test_tune_is_repeatable():
    assert _malloc.tune() in (True, False)
    assert _malloc.tune() in (True, False)


def test_tuned_on_glibc_unless_the_user_opts_out_or_tunes_malloc():
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert _tune_in_fresh_process(RETROGRAD_MALLOC_TUNING="1") == str(on_glibc)
    assert _tune_in_fresh_process(RETROGRAD_MALLOC_TUNING="0") == "False"
    assert _tune_in_fresh_process(MALLOC_TRIM_THRESHOLD_="1000000") == "False"
