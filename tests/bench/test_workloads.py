"""The gpt2 and grucell workloads compute what torch computes from the same weights and batch
(one forward and backward each), so the benchmark compares like with like."""

import numpy as np
import pytest

import retrograd
from bench.workloads import WORKLOADS
from tests.helpers import requires_torch, torch


@requires_torch
@pytest.mark.parametrize("name", ["gpt2", "grucell"])
def test_workload_matches_torch_from_the_same_weights(name):
    th = WORKLOADS[name](torch)
    rg = WORKLOADS[name](retrograd)
    rg.model.load_state_dict({k: v.detach().numpy() for k, v in th.model.state_dict().items()})
    th_loss = th.loss_fn(th.model(*th.inputs), th.target)
    th_loss.backward()
    rg_inputs = [retrograd.tensor(x.numpy()) for x in th.inputs]
    rg_loss = rg.loss_fn(rg.model(*rg_inputs), retrograd.tensor(th.target.numpy()))
    rg_loss.backward()
    np.testing.assert_allclose(rg_loss.item(), th_loss.item(), rtol=1e-5)
    th_params = dict(th.model.named_parameters())
    for pname, p in rg.model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), th_params[pname].grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=pname)


def test_gpt2_masks_by_a_registered_bias_buffer():
    w = WORKLOADS["gpt2"](retrograd)
    buffers = dict(w.model.named_buffers())
    assert set(buffers) == {f"h.{i}.attn.bias" for i in range(4)}
    np.testing.assert_array_equal(buffers["h.0.attn.bias"].numpy()[0, 0], np.tril(np.ones((16, 16))))
