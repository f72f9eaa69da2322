"""A time-series regressor in the style of common forecasting tutorials: a Dataset of
variable-length windows, random_split (seeded torch.Generator) into train and validation and a
deterministic Subset split for the numbers, a DataLoader with a collate_fn that pads by
pad_sequence and sorts nothing (pack_padded_sequence(enforce_sorted=False)), a GRU read back by
pad_packed_sequence and the last valid step gathered, HuberLoss, Adam under ExponentialLR, the
best model kept by copy.deepcopy(model.state_dict()) and restored by load_state_dict, and a
state_dict round trip through torch.save/torch.load into a fresh model mid-training. Torch and
retrograd print the same losses.
"""

import copy
import io

import numpy as np


def main(torch, epochs=5, batch_size=6):
    nn = torch.nn
    data = torch.utils.data
    rnn_utils = nn.utils.rnn

    class Windows(data.Dataset):
        def __init__(self, series, rng, n):
            self.items = []
            for _ in range(n):
                length = int(rng.integers(4, 10))
                start = int(rng.integers(0, len(series) - length - 1))
                window = series[start:start + length]
                self.items.append((torch.from_numpy(window[:, None]), float(series[start + length])))

        def __len__(self):
            return len(self.items)

        def __getitem__(self, idx):
            return self.items[idx]

    def collate_fn(batch):
        seqs, targets = zip(*batch)
        lengths = torch.tensor([len(s) for s in seqs])
        padded = rnn_utils.pad_sequence(list(seqs), batch_first=True)
        return padded, lengths, torch.tensor(targets, dtype=torch.float64).unsqueeze(1)

    class Forecaster(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(1, hidden, num_layers=2, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, padded, lengths):
            packed = rnn_utils.pack_padded_sequence(padded, lengths, batch_first=True,
                                                    enforce_sorted=False)
            out, h_n = self.gru(packed)
            out, out_lengths = rnn_utils.pad_packed_sequence(out, batch_first=True)
            idx = (out_lengths - 1).view(-1, 1, 1).expand(-1, 1, out.size(2))
            last = out.gather(1, idx).squeeze(1)
            return self.head(last), h_n[-1]

    rng = np.random.default_rng(0)
    t = np.arange(200)
    series = np.sin(t * 0.3) + 0.5 * np.sin(t * 0.07) + rng.normal(0.0, 0.05, len(t))
    dataset = Windows(series, rng, 36)
    sizes = [len(s) for s in data.random_split(dataset, [0.75, 0.25],
                                                   generator=torch.Generator().manual_seed(42))]
    assert sizes == [27, 9]
    train_set = data.Subset(dataset, range(27))
    val_set = data.Subset(dataset, range(27, 36))
    train_loader = data.DataLoader(train_set, batch_size=batch_size, shuffle=False,
                                   collate_fn=collate_fn, drop_last=True)
    val_loader = data.DataLoader(val_set, batch_size=batch_size, collate_fn=collate_fn)
    assert len(train_loader) == 4 and len(val_loader) == 2

    def build():
        model = Forecaster().double()
        return model

    model = build()
    init = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(init.normal(0.0, 0.3, tuple(p.shape))))
    criterion = nn.HuberLoss(delta=0.5)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)

    best_loss, best_state = float("inf"), None
    for epoch in range(epochs):
        model.train()
        for i, (padded, lengths, targets) in enumerate(train_loader):
            pred, _ = model(padded, lengths)
            loss = criterion(pred, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            print(f"epoch {epoch} batch {i} loss {loss.item():.15e}")
        scheduler.step()
        model.eval()
        val_loss, count = 0.0, 0
        with torch.no_grad():
            for padded, lengths, targets in val_loader:
                pred, _ = model(padded, lengths)
                val_loss += criterion(pred, targets).item() * len(targets)
                count += len(targets)
        val_loss /= count
        print(f"epoch {epoch} val loss {val_loss:.15e}")
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
        if epoch == 1:  # a save/load round trip into fresh objects, then train on
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict()}, buffer)
            buffer.seek(0)
            checkpoint = torch.load(buffer, weights_only=True)
            model = build()
            model.load_state_dict(checkpoint["model"])
            optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
            scheduler.load_state_dict(checkpoint["scheduler"])
        print(f"epoch {epoch} lr {optimizer.param_groups[0]['lr']:.15e}")

    missing = model.load_state_dict(best_state)
    assert not missing.missing_keys and not missing.unexpected_keys
    model.eval()
    with torch.no_grad():
        padded, lengths, targets = next(iter(val_loader))
        pred, hidden = model(padded, lengths)
    assert tuple(hidden.shape) == (len(targets), 8)
    print(f"best val loss {best_loss:.15e}")
    print(f"restored model val mae {(pred - targets).abs().mean().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
