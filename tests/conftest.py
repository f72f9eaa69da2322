"""Test-session switches.

RETROGRAD_TEST_WITHOUT_TORCH=1 runs the suite as on the bare install: ``import torch`` raises
ImportError everywhere, so the torch comparisons check against the recorded reference values
(tests/reference/) instead of skipping, and the tests that need torch itself skip.
RETROGRAD_RECORD_TORCH=1 (set by tests/reference/record.py) writes torch's values to that fixture.
"""

import os
import sys

if os.environ.get("RETROGRAD_TEST_WITHOUT_TORCH") == "1":
    sys.modules["torch"] = None  # what Python's import system reads as "not installed"


def pytest_sessionfinish(session, exitstatus):
    from tests.reference import store

    store.save_if_recording(getattr(session, "items", []))
