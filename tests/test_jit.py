"""torch.jit's queries and decorators for eager code (src/retrograd/jit.py): nothing is scripted."""

import pytest

import retrograd
from tests.helpers import requires_torch, torch


def _decorated(jit):
    class Block(retrograd.nn.Module if jit is retrograd.jit else torch.nn.Module):
        limit: jit.Final[int] = 3

        @jit.ignore
        def debug(self, x):
            return x * 2

        @jit.unused
        def unused(self, x):
            return x + 1

        @jit.export
        def exported(self, x):
            return x - 1

        def forward(self, x):
            if not jit.is_scripting() and not jit.is_tracing():
                x = self.debug(x)
            return jit.annotate(int, self.exported(self.unused(x))) + self.limit

    return Block()(5), jit.ignore(drop=True)(lambda x: x)(7), jit.script_if_tracing(abs)(-2)


def test_eager_code_with_jit_decorators_runs_as_written():
    assert _decorated(retrograd.jit) == (13, 7, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'dorp'"):
        retrograd.jit.ignore(dorp=True)
    assert not hasattr(retrograd.jit, "script") and not hasattr(retrograd.jit, "trace")  # no TorchScript


@requires_torch
def test_eager_code_with_jit_decorators_runs_as_in_torch():
    assert _decorated(torch.jit) == _decorated(retrograd.jit)
