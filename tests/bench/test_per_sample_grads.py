"""bench/per_sample_grads.py runs (a few samples, one round) and prints its ratios and the
memory floor."""

from bench import per_sample_grads


def test_per_sample_grads_bench_runs(capsys):
    med = per_sample_grads.main(["--rounds", "1", "--batch", "3"])
    assert set(med) == {"retrograd vmap", "retrograd loop", "retrograd loop unstacked", "retrograd backward",
                        "floor fresh", "floor reused"}
    out = capsys.readouterr().out
    assert "loop / vmap" in out and "first vmap call" in out and "writing them takes >=" in out


def test_floors_write_the_per_sample_gradients_shapes():
    shapes = [(4, 3), (4,)]
    for name, fn in per_sample_grads._floors(shapes, 2).items():
        assert [a.shape for a in fn()] == [(2, 4, 3), (2, 4)], name
