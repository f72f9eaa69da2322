"""Contrastive pre-training in the style of the common SimCLR implementations, then the linear
evaluation protocol: two augmented views of each sample (NumPy noise, crops and flips), an
encoder and projection head, the NT-Xent loss built on F.normalize, a similarity matrix whose
diagonal is masked with fill_diagonal_ (and positives found with torch.cat(..., axis=0) and
masks from torch.eye), cross_entropy against the positive's index, SGD under a LambdaLR
warm-up; then the encoder frozen by requires_grad_(False), features taken under
torch.inference_mode(), a linear classifier trained on them, and its accuracy. Inputs are
unsqueeze_()d in place and labels made by x.new(...). Torch and retrograd print the same numbers.
"""

import numpy as np


def main(torch, steps=6, batch=8, temperature=0.5):
    nn, F = torch.nn, torch.nn.functional

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(1, 6, 5, padding=2), nn.BatchNorm1d(6), nn.ReLU(),
                                      nn.AdaptiveAvgPool1d(4), nn.Flatten())
            self.projector = nn.Sequential(nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 8))

        def forward(self, x):
            h = self.conv(x)
            return h, self.projector(h)

    def nt_xent(z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j], axis=0), dim=1)
        sim = z @ z.T / temperature
        sim_i_j, sim_j_i = torch.diag(sim, n), torch.diag(sim, -n)
        positives = torch.cat([sim_i_j, sim_j_i], axis=0).reshape(2 * n, 1)
        mask = torch.ones(2 * n, 2 * n, dtype=torch.bool)
        mask.fill_diagonal_(0)
        for i in range(n):
            mask[i, n + i] = 0
            mask[n + i, i] = 0
        negatives = sim[mask].reshape(2 * n, -1)
        logits = torch.cat((positives, negatives), dim=1)
        labels = logits.new(2 * n).zero_().long()
        loss = F.cross_entropy(logits, labels)
        # the same loss as a masked softmax over each row: the positive against all others
        others = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return loss, F.cross_entropy(others, target)

    rng = np.random.default_rng(0)
    n, length = 40, 24
    labels_np = np.arange(n) % 4
    t = np.arange(length)
    shapes = [np.sin(0.5 * t), np.sign(np.sin(0.3 * t)), (t % 6) / 3.0 - 1, np.exp(-((t - 12) / 4.0) ** 2)]
    signals = np.stack([shapes[c] + rng.normal(0.0, 0.1, length) for c in labels_np])

    def augment(x):
        shift = rng.integers(-3, 4, len(x))
        flip = rng.random(len(x)) < 0.3
        out = np.stack([np.roll(s, k) for s, k in zip(x, shift)])
        out[flip] = out[flip, ::-1]
        return out * rng.uniform(0.8, 1.2, (len(x), 1)) + rng.normal(0.0, 0.1, out.shape)

    model = Encoder().double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
            elif "conv.1" not in name:
                p.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 3))

    for step in range(steps):
        model.train()
        idx = rng.choice(n, batch, replace=False)
        x_i = torch.from_numpy(augment(signals[idx]))
        x_j = torch.from_numpy(augment(signals[idx]))
        x_i.unsqueeze_(1)
        x_j.unsqueeze_(1)
        _, z_i = model(x_i)
        _, z_j = model(x_j)
        loss, check = nt_xent(z_i, z_j)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        print(f"step {step} nt-xent {loss.item():.15e}")
        print(f"step {step} masked-softmax form {check.item():.15e}")
        print(f"step {step} lr {scheduler.get_last_lr()[0]:.15e}")

    # linear evaluation: a frozen encoder's features, a linear classifier on top
    model.eval()
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    x_all = torch.from_numpy(signals).unsqueeze(1)
    with torch.inference_mode():
        features, _ = model(x_all)
    features = features.clone()  # an inference tensor cannot be saved for backward
    y_all = torch.from_numpy(labels_np)
    classifier = nn.Linear(24, 4).double()
    with torch.no_grad():
        classifier.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.1, (4, 24))))
        classifier.bias.zero_()
    probe_optimizer = torch.optim.Adam(classifier.parameters(), lr=0.05)
    for epoch in range(5):
        logits = classifier(features[:32])
        loss = F.cross_entropy(logits, y_all[:32])
        probe_optimizer.zero_grad()
        loss.backward()
        probe_optimizer.step()
        print(f"probe epoch {epoch} loss {loss.item():.15e}")
    with torch.no_grad():
        accuracy = (classifier(features[32:]).argmax(axis=1) == y_all[32:]).double().mean()
    print(f"probe test accuracy {accuracy.item():.15e}")
    print(f"feature mean {features.mean(axis=0).sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
