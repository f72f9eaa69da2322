"""bench/compile.py's step functions: the compiled forward and the compiled whole step replay
(no graph break) and give eager retrograd's losses, bitwise, so the benchmark times replay."""

import pytest

import retrograd
from bench.compile import _step_fn


@pytest.mark.parametrize("name", ["tiny", "grucell"])
def test_compiled_steps_replay_with_eager_losses(name):
    eager = _step_fn(retrograd, name, "eager")[0]
    losses = {"eager": [eager().item() for _ in range(3)]}
    for mode in ("compiled", "step"):
        run, compile_s, compiled = _step_fn(retrograd, name, mode)  # (its first step is the capture)
        losses[mode] = [run().item() for _ in range(2)]
        assert compile_s > 0 and compiled._compiled.last_breaks == []
        graphs = [g for gs in compiled._compiled.cache.values() for g in gs]
        assert len(graphs) == 1 and graphs[0] is not None and graphs[0].trains == (mode == "step")
    assert losses["compiled"] == losses["step"] == losses["eager"][1:]
