"""A multilayer perceptron on the 8x8 digits shipped with retrograd, written as a plain
PyTorch training loop: DataLoader, nn.Sequential, CrossEntropyLoss, SGD with momentum.

    python examples/digits_mlp.py [--epochs 20 --subset N]
    (runs with `import torch` in place of `import retrograd as torch`; the data loader
    is retrograd's)
"""

import argparse
import time

import retrograd as torch
from retrograd import nn
from retrograd.demo.data import load_split
from retrograd.utils.data import DataLoader, TensorDataset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--subset", type=int, default=None, help="use only this many images")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_split(seed=0, subset=args.subset)
    train = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for X, y in loader:
            optimizer.zero_grad()
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1:2d}  train loss {total / len(train):.4f}  test accuracy {100 * accuracy:.1f}%")
    print(f"test accuracy {100 * accuracy:.2f}% in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
