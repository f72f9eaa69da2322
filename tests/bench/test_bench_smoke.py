"""Each benchmark workload runs one training step with retrograd, so the harness cannot rot.
(No timing here: speed is measured by `python -m bench`.)"""

import math

import pytest

import retrograd
from bench import worker
from bench.workloads import WORKLOADS


@pytest.mark.parametrize("name", [n for n in WORKLOADS if n != "opoverhead"])
def test_workload_trains_one_step(name):
    w = WORKLOADS[name](retrograd)
    opt = retrograd.optim.SGD(w.model.parameters(), lr=0.01)
    opt.zero_grad()
    loss = w.loss_fn(w.model(*w.inputs), w.target)
    loss.backward()
    opt.step()
    assert math.isfinite(loss.item())
    assert all(p.grad is not None for p in w.model.parameters())


def test_worker_reports_json_fields():
    result = worker.measure_opoverhead(retrograd, seconds=0.01)
    assert result["us_per_op"] > 0 and result["steps"] > 0
    floor = worker.measure_numpy("mlp", seconds=0.01)
    assert floor["matmul_gflops"] > 0 and floor["step_s"] > 0 and floor["floor_s"] > 0


def test_profile_prints_the_table(capsys):
    from bench import profile

    assert profile.main(["tiny", "--steps", "1", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "tiny: 1 training steps" in out and "tottime" in out


def test_importtime_prints_the_medians(capsys):
    from bench import importtime

    row = importtime.measure("retrograd", runs=1)
    assert row["module"] == "retrograd" and row["median_s"] > 0 and row["heavy"] == []
    assert importtime.main(["--runs", "1", "--compare", "none"]) == 0
    out = capsys.readouterr().out
    assert "median of 1 fresh processes" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if line.strip()}
    assert set(lines) == {"numpy", "retrograd"}
    assert all(float(lines[m][0]) > 0 for m in lines)


def test_dataloader_bench_runs_each_worker_count():
    from bench import dataloader

    result = dataloader.run("retrograd", [0, 2], items=6, sleep_s=0.0, batch_size=4, epochs=1)
    assert set(result["epochs"]) == {"0", "2"} and all(len(t) == 1 for t in result["epochs"].values())
