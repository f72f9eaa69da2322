"""The nn snippets of docs/backpropagation.md, run as written with ``import retrograd as torch``."""

import retrograd as torch
from retrograd import nn


def test_forward_pass_snippet(capsys):
    model = nn.Sequential(
        nn.Linear(3, 4),
        nn.ReLU(),
        nn.Linear(4, 1),
    )
    x = torch.randn(2, 3)
    target = torch.randn(2, 1)
    pred = model(x)
    loss = ((pred - target) ** 2).mean()
    print(loss)
    out = capsys.readouterr().out
    assert out.startswith("tensor(") and "grad_fn=<MeanBackward0>" in out
    loss.backward()
    for name, param in model.named_parameters():
        print(name, param.grad.shape)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "0.weight torch.Size([4, 3])",
        "0.bias torch.Size([4])",
        "2.weight torch.Size([1, 4])",
        "2.bias torch.Size([1])",
    ]


def test_matrix_backprop_snippet(capsys):
    layer = nn.Linear(3, 4)
    X = torch.randn(5, 3)
    Y = layer(X)
    loss = Y.sum()
    loss.backward()
    print(layer.weight.grad.shape)  # torch.Size([4, 3])
    print(layer.bias.grad.shape)    # torch.Size([4])
    assert capsys.readouterr().out == "torch.Size([4, 3])\ntorch.Size([4])\n"
    # the seed's formulas: dW = G^T X with G = ones, db = sum of G over the batch
    assert (layer.weight.grad - X.sum(0).reshape(1, 3).expand(4, 3)).abs().sum().item() < 1e-5
    assert (layer.bias.grad - 5.0).abs().sum().item() < 1e-6


def test_batch_snippet():
    model = nn.Linear(10, 1)
    X = torch.randn(32, 10)
    y = torch.randn(32, 1)
    pred = model(X)
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    assert model.weight.grad.shape == (1, 10)
    assert model.bias.grad.shape == (1,)


def test_training_step_snippet():
    """zero_grad, forward, loss_fn, backward, step: the loss falls."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    loss_fn = nn.MSELoss()
    X = torch.randn(16, 3)
    y = X.sum(1, keepdim=True) * 0.5
    lr = 0.1
    losses = []
    for _ in range(30):
        model.zero_grad()
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def _train(model, loss_fn, X, y, optimizer, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_mlp_trains_with_optimizer():
    """The seed's training step with an optimizer: classification of two blobs."""
    torch.manual_seed(0)
    X = torch.cat([torch.randn(32, 2) + 2, torch.randn(32, 2) - 2])
    y = torch.tensor([0] * 32 + [1] * 32)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    losses = _train(model, nn.CrossEntropyLoss(), X, y, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), 40)
    assert losses[-1] < 0.2 * losses[0]
    assert (model(X).argmax(1) == y).float().mean().item() > 0.95


def test_small_convnet_trains():
    torch.manual_seed(0)
    X = torch.randn(16, 1, 8, 8)
    y = (X[:, 0, :4].sum((1, 2)) > X[:, 0, 4:].sum((1, 2))).long()  # top half brighter than bottom
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 2),
    )
    losses = _train(model, nn.CrossEntropyLoss(), X, y, torch.optim.Adam(model.parameters(), lr=0.01), 40)
    assert losses[-1] < 0.5 * losses[0]
