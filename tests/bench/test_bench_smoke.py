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


def test_worker_times_the_compiled_step():
    result = worker.measure_compiled("tiny", seconds=0.01)
    assert result["step_s"] > 0 and result["steps"] >= 5 and result["compile_s"] > 0
    assert result["graph_breaks"] == []


def test_compiled_worker_runs_in_a_fresh_process():
    """`python -m bench.worker compiled tiny` (the process `python -m bench --compile` starts) prints its JSON."""
    import os

    from bench import __main__ as bench_main

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(bench_main.ROOT, "src"), bench_main.ROOT]))
    result = bench_main.run_worker("compiled", "tiny", 0.01, env)
    assert "error" not in result, result
    assert result["framework"] == "compiled" and result["step_s"] > 0 and result["compile_s"] > 0


def test_compile_option_alternates_a_compiled_process_and_reports_its_ratio(monkeypatch, capsys):
    from bench import __main__ as bench_main

    calls = []

    def in_process(framework, name, seconds, env):  # (the workers' own functions, without the processes)
        calls.append(framework)
        return worker.measure(framework, name, seconds)

    monkeypatch.setattr(bench_main, "run_worker", in_process)
    assert bench_main.main(["--compile", "--compare", "none", "--workloads", "tiny", "--rounds", "3",
                            "--seconds", "0.01"]) == 0
    assert calls == ["retrograd", "compiled", "compiled", "retrograd", "retrograd", "compiled"]
    out = capsys.readouterr().out
    table = out[out.index("compiled whole step"):].splitlines()
    row = next(line for line in table if line.startswith("tiny")).split()
    assert float(row[1]) > 0 and row[3] == "-"  # its step ms; no torch ran: no ratio


def test_summary_gives_the_compiled_steps_ratio_to_torch_per_round():
    from bench.__main__ import summarize

    def rnd(rg, th, comp):
        return {"retrograd": {"step_s": rg}, "torch": {"step_s": th},
                "compiled": {"step_s": comp, "compile_s": 0.1, "graph_breaks": []}}
    row = summarize("gpt2", [rnd(2.0, 2.0, 1.0), rnd(2.0, 4.0, 3.0), rnd(2.0, 1.0, 0.8)])
    assert row["compiled_ratio"] == 0.75  # median of 0.5, 0.75, 0.8
    assert row["compiled_ratio_spread"] == (0.8 - 0.5) / 2 and row["compiled_step_s"] == 1.0
    assert row["compile_s"] == 0.1 and row["compiled_breaks"] == 0
    failed = summarize("gpt2", [{"retrograd": {"step_s": 1.0}, "compiled": {"error": "RuntimeError: x"}}])
    assert failed["compiled_error"] == "RuntimeError: x" and "compiled_ratio" not in failed
