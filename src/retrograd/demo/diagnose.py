"""What the demo shows about its own backprop (``retrograd.inspect``): the memory plan of one
training step, the recorded graph of one step as an HTML page, and the gradient-flow diagnosis
of the trained model."""

import copy
import os

import retrograd as torch
from retrograd import inspect


def memory_plan(model, loss_fn, make_optimizer, xb, yb):
    """The predicted peak memory of one training step (forward, loss, backward and the
    optimizer's first step, which creates its state) and what is alive then, per module. It
    runs on a copy of the model with its own optimizer, so training is not changed."""
    model = copy.deepcopy(model)
    optimizer = make_optimizer(model.parameters())

    def step():
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()

    return inspect.memory_plan(step)


def graph_page(model, loss_fn, xb, yb, out_dir):
    """Write ``graph.html`` in ``out_dir``: the graph of the loss of one batch, by module,
    with the gradient flowing back along each edge and, for each op, the line that made it
    (recorded under anomaly mode). Returns the page's path; no parameter's ``.grad`` changes."""
    with torch.autograd.detect_anomaly():
        loss = loss_fn(model(xb), yb)
    return inspect.graph(loss, os.path.join(out_dir, "graph.html"), model=model, grads=True).path


def gradient_flow(model, loss_fn, optimizer, xb, yb):
    """The gradient-flow report of one backward of ``model`` on a batch, watched (dead and
    saturated units, the gradient reaching each layer), with the update-to-weight ratio of the
    step ``optimizer`` would take. Leaves the batch's gradients in ``.grad``."""
    optimizer.zero_grad()
    with inspect.watch(model):
        loss_fn(model(xb), yb).backward()
    return inspect.gradient_flow(model, optimizer=optimizer)
