"""A tutorial-style regression: nn.Sequential of Linear layers, MSELoss, SGD with momentum.

The weights start from one NumPy array, so torch and retrograd print the same losses.
"""

import numpy as np


def set_weights(torch, model, seed=0):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))


def main(torch, steps=300, every=30):
    nn = torch.nn
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(-1.0, 1.0, (64, 3)))
    y = (x[:, :1] * 2.0 - x[:, 1:2] ** 2 + torch.sin(3.0 * x[:, 2:3])).detach()

    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    set_weights(torch, model)
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if step % every == 0 or step == steps - 1:
            print(f"step {step} loss {loss.item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
