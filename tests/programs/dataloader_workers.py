"""One epoch of a tiny model over a TensorDataset read by a DataLoader with worker processes,
printing each batch's loss. The batches come in the sampler's order whatever num_workers is,
so the losses equal those of num_workers=0 (and torch's, with shuffle=False).
"""

import numpy as np


def main(torch, num_workers=2, shuffle=False, seed=0):
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    nn = torch.nn
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.normal(size=(48, 4)))
    y = x @ torch.from_numpy(rng.normal(size=(4, 1))) + 0.1
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=shuffle, num_workers=num_workers,
                        generator=torch.Generator().manual_seed(seed))

    model = nn.Linear(4, 1).double()
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(rng.normal(size=(1, 4))))
        model.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for i, (xb, yb) in enumerate(loader):
        loss = nn.functional.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"batch {i} loss {loss.item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
