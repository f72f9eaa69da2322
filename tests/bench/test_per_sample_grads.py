"""bench/per_sample_grads.py runs (a few samples, one round) and prints its ratios."""

from bench import per_sample_grads


def test_per_sample_grads_bench_runs(capsys):
    med = per_sample_grads.main(["--rounds", "1", "--batch", "3"])
    assert set(med) == {"retrograd vmap", "retrograd loop", "retrograd backward", "retrograd floor"}
    assert "loop / vmap" in capsys.readouterr().out
