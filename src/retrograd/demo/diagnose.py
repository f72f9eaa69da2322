"""What the demo shows about its own backprop (``retrograd.inspect``): the recorded graph
of one training step as an HTML page."""

import os

import retrograd as torch
from retrograd import inspect


def graph_page(model, loss_fn, xb, yb, out_dir):
    """Write ``graph.html`` in ``out_dir``: the graph of the loss of one batch, by module,
    with the gradient flowing back along each edge and, for each op, the line that made it
    (recorded under anomaly mode). Returns the page's path; no parameter's ``.grad`` changes."""
    with torch.autograd.detect_anomaly():
        loss = loss_fn(model(xb), yb)
    return inspect.graph(loss, os.path.join(out_dir, "graph.html"), model=model, grads=True).path
