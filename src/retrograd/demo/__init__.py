"""The demo behind ``python -m retrograd``: a small CNN (or MLP) trained on the 8x8 UCI
digits that ship with the package, with a gradient check first and plots at the end.

- ``data``: load the digits and split them (seeded) into train and test sets.
- ``models``: the ``mlp`` and ``cnn`` models.
- ``gradcheck``: float64 finite-difference checks of each layer type a model uses.
- ``train``: the training loop, progress display and evaluation.
- ``plots``: the loss/accuracy curves and the per-layer gradient-norm plot (matplotlib).
- ``diagnose``: what ``retrograd.inspect`` shows of the model's backprop: the memory plan of a
  step, the graph page, the gradient-flow diagnosis after training.
"""
