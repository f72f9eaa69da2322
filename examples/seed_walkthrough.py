"""Every code snippet of the founding document (docs/backpropagation.md), in order, with
``import retrograd as torch``, printing what the document says it prints.

Where a snippet uses a name the document never defines (``model_block``, ``optimizer``,
``encoder`` ...) a minimal definition comes first, marked "setup". The snippets that
show mistakes run too; their error is caught and printed.

    python examples/seed_walkthrough.py
    (runs unchanged with `import torch` in place of `import retrograd as torch`)
"""

import retrograd as torch
from retrograd import nn


def section(title):
    print(f"\n### {title}")


def show_error(exc):
    print(f"-> {type(exc).__name__}: {str(exc).splitlines()[0]}")


torch.manual_seed(0)

# ----------------------------------------------------------------------------------------
section("Forward Pass")
model = nn.Sequential(
    nn.Linear(3, 4),
    nn.ReLU(),
    nn.Linear(4, 1),
)

x = torch.randn(2, 3)
target = torch.randn(2, 1)

pred = model(x)
loss = ((pred - target) ** 2).mean()

print(loss)  # a scalar tensor with grad_fn=<MeanBackward0>: the recorded graph's last node

# ----------------------------------------------------------------------------------------
section("A Manual Backpropagation Example")
x = torch.tensor(2.0, requires_grad=True)
w = torch.tensor(3.0, requires_grad=True)
b = torch.tensor(1.0, requires_grad=True)

y = w * x + b
L = y ** 2

L.backward()

print(w.grad)  # tensor(28.)
print(x.grad)  # tensor(42.)
print(b.grad)  # tensor(14.)

# ----------------------------------------------------------------------------------------
section("Matrix Backpropagation")
layer = nn.Linear(3, 4)

X = torch.randn(5, 3)
Y = layer(X)

loss = Y.sum()
loss.backward()

print(layer.weight.grad.shape)  # torch.Size([4, 3])
print(layer.bias.grad.shape)    # torch.Size([4])

# ----------------------------------------------------------------------------------------
section("Backpropagation Through Activations")
x = torch.tensor([-2.0, 1.0, 3.0], requires_grad=True)

y = torch.relu(x)
loss = y.sum()

loss.backward()

print(x.grad)  # tensor([0., 1., 1.])

# ----------------------------------------------------------------------------------------
section("Backpropagation Through Batches")
model = nn.Linear(10, 1)

X = torch.randn(32, 10)
y = torch.randn(32, 1)

pred = model(X)
loss = ((pred - y) ** 2).mean()

loss.backward()
print("(the document prints nothing here) weight.grad has shape", model.weight.grad.shape)

# ----------------------------------------------------------------------------------------
section("Gradient Checkpointing")
from retrograd.utils.checkpoint import checkpoint  # noqa: E402

model_block = nn.Sequential(nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 10))  # setup
x = torch.randn(4, 10, requires_grad=True)  # setup


def block(x):
    return model_block(x)


y = checkpoint(block, x)  # (torch warns here that use_reentrant should be passed; retrograd does not)
y.sum().backward()  # recomputes block's activations during backward
print("(the document prints nothing here) x.grad has shape", x.grad.shape)

# ----------------------------------------------------------------------------------------
section("Backpropagation in PyTorch")
model = nn.Linear(10, 1)  # setup
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # setup
loss_fn = nn.MSELoss()  # setup
X, y = torch.randn(32, 10), torch.randn(32, 1)  # setup

optimizer.zero_grad()

pred = model(X)
loss = loss_fn(pred, y)

loss.backward()

optimizer.step()

for name, param in model.named_parameters():
    print(name, param.grad.shape)  # weight torch.Size([1, 10]) / bias torch.Size([1])

# ----------------------------------------------------------------------------------------
section("Common Backpropagation Errors: Forgetting zero_grad()")
before = model.bias.grad.clone()
loss = loss_fn(model(X), y)  # setup: a fresh forward pass
loss.backward()
optimizer.step()
print("bias.grad was", before, "and is now", model.bias.grad, "(two steps' gradients added up)")

# Correct version:
loss = loss_fn(model(X), y)  # setup: a fresh forward pass
optimizer.zero_grad()
loss.backward()
optimizer.step()
print("after zero_grad() it holds only this step's gradient:", model.bias.grad)

# ----------------------------------------------------------------------------------------
section("Common Backpropagation Errors: Breaking the Graph")
loss = loss_fn(model(X), y)  # setup
try:
    loss_value = loss.item()
    loss_value.backward()
except AttributeError as exc:
    show_error(exc)  # a Python float has no backward

# ----------------------------------------------------------------------------------------
section("Common Backpropagation Errors: In-Place Modification")
try:
    x = torch.randn(3, requires_grad=True)

    y = x ** 2
    x.add_(1.0)

    loss = y.sum()
    loss.backward()
except RuntimeError as exc:
    show_error(exc)  # x is a leaf that requires grad: the in-place add is refused at once

# The same mistake one step removed (x is not a leaf): caught when backward needs x.
x = torch.randn(3, requires_grad=True)
h = x * 1.0
y = h ** 2
h.add_(1.0)
try:
    y.sum().backward()
except RuntimeError as exc:
    show_error(exc)

# ----------------------------------------------------------------------------------------
section("Common Backpropagation Errors: Detached Tensors")
encoder = nn.Linear(3, 4)  # setup
decoder = nn.Linear(4, 1)  # setup
x = torch.randn(2, 3)  # setup

h = encoder(x)
h = h.detach()

out = decoder(h)
loss = out.sum()  # setup: the document leaves the loss implicit
loss.backward()
print("decoder.weight.grad is None:", decoder.weight.grad is None)
print("encoder.weight.grad is None:", encoder.weight.grad is None, "(no gradient reached the encoder)")
