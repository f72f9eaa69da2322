"""bench/gpu.py's benchmark part at toy sizes on the CPU, so that the script a GPU machine runs
in its one call cannot rot here (no timing is checked; the suite part is not run from a test)."""

import json
import math

from bench import gpu
from tests.helpers import requires_torch


def _run(tmp_path, frameworks):
    assert gpu.main(["--tiny", "--frameworks", frameworks, "--seconds", "0.02", "--out", str(tmp_path)]) == 0
    return json.loads((tmp_path / "gpu_check.json").read_text()), (tmp_path / "gpu_check.md").read_text()


def test_every_case_trains_and_is_timed(tmp_path):
    report, md = _run(tmp_path, "retrograd")
    assert set(report["results"]) == set(gpu.CASES) == set(gpu.TARGETS)
    for name, by_fw in report["results"].items():
        r = by_fw["retrograd"]
        assert "error" not in r, (name, r)
        assert r["ms"] > 0 and r["steps"] >= 3 and math.isfinite(r["loss0"]) and math.isfinite(r["loss"])
        assert f"| {name} | - |" in md  # torch's column is empty without it
    assert report["device"] == "cpu" and report["tiny"] is True


def test_autocast_cases_compute_in_bfloat16():
    import retrograd

    case = gpu.CASES["mlp_bf16"](retrograd, gpu.SIZES["tiny"], "cpu")
    assert case.autocast is retrograd.bfloat16
    with retrograd.autocast(device_type="cpu", dtype=case.autocast):
        assert case.model(*case.inputs).dtype == retrograd.bfloat16


def test_a_failing_case_is_reported_and_the_others_still_run(monkeypatch):
    def broken(t, sizes, device):
        raise RuntimeError("no such kernel")

    monkeypatch.setitem(gpu.CASES, "gpt_bf16", broken)
    results = gpu.benchmark(["retrograd"], gpu.SIZES["tiny"], "cpu", 0.01, ["gpt_bf16", "mlp_fp32"])
    assert results["gpt_bf16"]["retrograd"] == {"error": "RuntimeError: no such kernel"}
    assert results["mlp_fp32"]["retrograd"]["ms"] > 0
    assert "| gpt_bf16 | - | RuntimeError: no such kernel | - | 1.3x |" in gpu.table(results, "t")


def test_no_case_starts_once_the_budget_is_spent():
    results = gpu.benchmark(["retrograd"], gpu.SIZES["tiny"], "cpu", 0.01, ["mlp_fp32", "lstm_fp32"], budget=0)
    assert results["lstm_fp32"]["retrograd"]["error"].startswith("not run")


@requires_torch
def test_the_table_gives_the_ratio_against_torch(tmp_path):
    report, md = _run(tmp_path, "torch,retrograd")
    for name, by_fw in report["results"].items():
        ratio = by_fw["retrograd"]["ms"] / by_fw["torch"]["ms"]
        assert f"| {ratio:.2f}x | {gpu.TARGETS[name]}x |" in md


def test_without_cupy_or_carried_wheels_the_script_says_what_to_carry(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name == "cupy":
            raise ImportError("no cupy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cupy)
    monkeypatch.setattr(gpu, "ROOT", str(tmp_path))
    line = gpu.ensure_cupy({"cuda": "13.0"}, site=str(tmp_path / "site"))
    assert line == "no CuPy and no wheel in .whl/ (pip download cupy-cuda13x into .whl/ and carry it)"
