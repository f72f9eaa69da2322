"""A tabular classifier as tabular-data tutorials write one: categorical columns each through its
own nn.Embedding (sizes by the min(50, (n + 1) // 2) rule, in an nn.ModuleList), one column also
one-hot encoded with F.one_hot, continuous columns standardised with the training split's
mean/std and a BatchNorm1d, Linear-ReLU(inplace)-BatchNorm1d-Dropout blocks (a BatchNorm right
after a Linear would leave the shifts before it gradients of pure rounding noise, which Adam
magnifies into steps), CrossEntropyLoss with class weights and label smoothing, Adam with weight
decay under OneCycleLR stepped per batch, random_split (seeded Generator) sizes and a Subset
train / validation split, early stopping on the validation loss with the best state_dict cloned
and restored, and BatchNorm's running statistics in eval mode. Weights from NumPy, so torch and
retrograd print the same losses.
"""

import numpy as np


def main(torch, max_epochs=12, patience=2, batch_size=16, dropout=0.0):
    nn, F = torch.nn, torch.nn.functional
    data = torch.utils.data
    rng = np.random.default_rng(0)

    cardinalities = [5, 3, 7]
    n, n_cont, n_classes = 120, 4, 3
    x_cat = np.stack([rng.integers(0, c, n) for c in cardinalities], axis=1)
    x_cont = rng.normal(0.0, 1.0, (n, n_cont)) * np.array([1.0, 5.0, 0.1, 2.0]) + np.array([0.0, 10.0, -1.0, 3.0])
    score = (x_cat[:, 0] % 3) + (x_cont[:, 0] > 0) + (x_cat[:, 2] > 3) - (x_cont[:, 3] > 3)
    y = np.clip(score, 0, n_classes - 1)

    class TabularDataset(data.Dataset):
        def __init__(self, x_cat, x_cont, y):
            self.x_cat = torch.from_numpy(x_cat.astype(np.int64))
            self.x_cont = torch.from_numpy(x_cont)
            self.y = torch.from_numpy(y.astype(np.int64))

        def __len__(self):
            return len(self.y)

        def __getitem__(self, idx):
            return self.x_cat[idx], self.x_cont[idx], self.y[idx]

    dataset = TabularDataset(x_cat, x_cont, y)
    train_part, valid_part = data.random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    assert (len(train_part), len(valid_part)) == (96, 24)
    assert sorted(train_part.indices + valid_part.indices) == list(range(n))
    order = rng.permutation(n)  # the split itself from NumPy: the two libraries' generators differ
    train_ds, valid_ds = data.Subset(dataset, order[:96].tolist()), data.Subset(dataset, order[96:].tolist())

    # standardise with the training split's statistics
    train_cont = dataset.x_cont[train_ds.indices]
    mean, std = train_cont.mean(dim=0), train_cont.std(dim=0)
    dataset.x_cont = (dataset.x_cont - mean) / std.clamp_min(1e-6)

    train_dl = data.DataLoader(train_ds, batch_size=batch_size, shuffle=False, drop_last=True)
    valid_dl = data.DataLoader(valid_ds, batch_size=2 * batch_size)

    class TabularModel(nn.Module):
        def __init__(self, emb_szs, n_cont, out_sz, layers, p):
            super().__init__()
            self.embeds = nn.ModuleList([nn.Embedding(ni, nf) for ni, nf in emb_szs])
            self.emb_drop = nn.Dropout(p)
            self.bn_cont = nn.BatchNorm1d(n_cont)
            self.n_onehot = emb_szs[0][0]
            n_in = sum(nf for _, nf in emb_szs) + self.n_onehot + n_cont
            layerlist = []
            for width in layers:
                layerlist += [nn.Linear(n_in, width), nn.ReLU(inplace=True), nn.BatchNorm1d(width), nn.Dropout(p)]
                n_in = width
            layerlist.append(nn.Linear(n_in, out_sz))
            self.layers = nn.Sequential(*layerlist)

        def forward(self, x_cat, x_cont):
            embeddings = [e(x_cat[:, i]) for i, e in enumerate(self.embeds)]
            x = torch.cat(embeddings, 1)
            x = self.emb_drop(x)
            onehot = F.one_hot(x_cat[:, 0], num_classes=self.n_onehot).to(x.dtype)
            x_cont = self.bn_cont(x_cont)
            x = torch.cat([x, onehot, x_cont], 1)
            return self.layers(x)

    emb_szs = [(c, min(50, (c + 1) // 2)) for c in cardinalities]
    model = TabularModel(emb_szs, n_cont, n_classes, [16, 8], p=dropout).double()
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):  # (BatchNorm keeps weight 1, bias 0)
                for p in m.parameters(recurse=False):
                    p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))

    counts = torch.bincount(dataset.y[train_ds.indices], minlength=n_classes).double()
    class_weights = counts.sum() / (n_classes * counts)
    criterion = nn.CrossEntropyLoss(weight=class_weights, label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, epochs=max_epochs,
                                                    steps_per_epoch=len(train_dl))

    best_loss, best_state, bad_epochs = float("inf"), None, 0
    for epoch in range(max_epochs):
        model.train()
        running = 0.0
        for cat, cont, target in train_dl:
            optimizer.zero_grad()
            loss = criterion(model(cat, cont), target)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item() * target.size(0)
        model.eval()
        val_loss, correct = 0.0, 0
        with torch.no_grad():
            for cat, cont, target in valid_dl:
                out = model(cat, cont)
                val_loss += criterion(out, target).item() * target.size(0)
                correct += (out.argmax(1) == target).sum().item()
        val_loss /= len(valid_ds)
        print(f"epoch {epoch} train loss {running / (len(train_dl) * batch_size):.15e}")
        print(f"epoch {epoch} valid loss {val_loss:.15e}")
        print(f"epoch {epoch} valid accuracy {correct / len(valid_ds):.15e}")
        print(f"epoch {epoch} lr {scheduler.get_last_lr()[0]:.15e}")
        if val_loss < best_loss - 1e-4:
            best_loss, bad_epochs = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                print(f"early stop epoch {float(epoch):.15e}")
                break

    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        cat, cont, target = next(iter(valid_dl))
        probs = F.softmax(model(cat, cont), dim=1)
    print(f"best valid loss {best_loss:.15e}")
    print(f"restored valid loss {criterion(probs.log(), target).item():.15e}")
    print(f"bn_cont running mean sum {model.bn_cont.running_mean.sum().item():.15e}")
    print(f"bn_cont batches tracked {float(model.bn_cont.num_batches_tracked.item()):.15e}")

    # a Dropout layer in train mode: zeros, and the kept values scaled by 1 / (1 - p)
    drop = nn.Dropout(0.25).train()
    x = torch.ones(400, dtype=torch.float64)
    out = drop(x)
    kept = out[out != 0]
    assert 0 < kept.numel() < 400 and bool((kept == 1 / 0.75).all())


if __name__ == "__main__":
    from _run import script
    script(main)
