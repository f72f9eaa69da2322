"""A convolutional network with batch normalization and dropout on the 8x8 digits shipped
with retrograd: an nn.Module subclass, Adam with a cosine learning-rate schedule,
train()/eval() modes, and the weights saved and reloaded through state_dict.

    python examples/digits_cnn.py [--epochs 12 --subset N]
    (runs with `import torch` in place of `import retrograd as torch`; the data loader
    is retrograd's)
"""

import argparse
import os
import tempfile
import time

import retrograd as torch
from retrograd import nn
from retrograd.demo.data import load_split
from retrograd.nn import functional as F
from retrograd.utils.data import DataLoader, TensorDataset


class DigitsCNN(nn.Module):
    def __init__(self, c1=16, c2=32, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(c2 * 2 * 2, 10)

    def forward(self, x):                                    # x: (N, 1, 8, 8)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # (N, c1, 4, 4)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # (N, c2, 2, 2)
        return self.fc(self.drop(torch.flatten(x, 1)))


def accuracy(model, x, y):
    model.eval()  # batch-norm uses its running statistics, dropout is off
    with torch.no_grad():
        acc = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--subset", type=int, default=None, help="use only this many images")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_split(seed=0, subset=args.subset)
    train = TensorDataset(torch.from_numpy(x_train.reshape(-1, 1, 8, 8)), torch.from_numpy(y_train))
    x_test, y_test = torch.from_numpy(x_test.reshape(-1, 1, 8, 8)), torch.from_numpy(y_test)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))

    torch.manual_seed(0)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for X, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        scheduler.step()
        print(f"epoch {epoch + 1:2d}  lr {scheduler.get_last_lr()[0]:.5f}  train loss {total / len(train):.4f}  "
              f"test accuracy {100 * accuracy(model, x_test, y_test):.1f}%")
    acc = accuracy(model, x_test, y_test)
    print(f"test accuracy {100 * acc:.2f}% in {time.perf_counter() - start:.1f}s")

    # Save the weights and load them into a fresh model: same predictions.
    path = os.path.join(tempfile.mkdtemp(), "digits_cnn.pt")
    torch.save(model.state_dict(), path)
    restored = DigitsCNN()
    restored.load_state_dict(torch.load(path))
    same = accuracy(restored, x_test, y_test) == acc
    print(f"saved {len(model.state_dict())} tensors to {path}; reloaded model agrees: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
