"""Checkpoint and resume: train k steps, torch.save the model's and the optimizer's state,
load both into fresh objects, continue. The resumed run prints the same losses as an
uninterrupted one.
"""

import numpy as np


def make(torch, seed):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)).double()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=1e-3)
    return model, optimizer


def train(torch, model, optimizer, x, y, steps, first, label):
    for step in range(first, first + steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"{label} step {step} loss {loss.item():.15e}")


def main(torch, path, k=6, steps=12):
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(size=(20, 5)))
    y = torch.from_numpy(rng.normal(size=(20, 2)))

    model, optimizer = make(torch, seed=0)
    train(torch, model, optimizer, x, y, steps, 0, "straight")

    model, optimizer = make(torch, seed=0)
    train(torch, model, optimizer, x, y, k, 0, "resumed")
    torch.save({"step": k, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)

    model, optimizer = make(torch, seed=1)  # fresh objects, other weights
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    train(torch, model, optimizer, x, y, steps - k, checkpoint["step"], "resumed")


if __name__ == "__main__":
    import sys
    import tempfile
    from _run import script
    path = tempfile.mktemp(suffix=".pt")
    sys.argv[2:] = []
    script(lambda torch: main(torch, path))
