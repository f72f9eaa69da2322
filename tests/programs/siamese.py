"""A siamese embedding network in the style of the common metric-learning examples: one shared
embedding net applied to pairs and triplets, F.normalize'd outputs, a contrastive loss written
by hand on F.pairwise_distance and torch.clamp, nn.TripletMarginLoss on (anchor, positive,
negative), nn.CosineEmbeddingLoss and F.cosine_similarity, torch.cdist for the nearest-neighbour
accuracy, Adam with a StepLR. Pairs and triplets are drawn by NumPy, so torch and retrograd
print the same losses.
"""

import numpy as np


def main(torch, steps=8, margin=1.0):
    nn, F = torch.nn, torch.nn.functional

    class EmbeddingNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.convnet = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.PReLU(),
                                         nn.MaxPool1d(2), nn.Conv1d(4, 8, 3, padding=1),
                                         nn.PReLU(), nn.AdaptiveMaxPool1d(2))
            self.fc = nn.Sequential(nn.Flatten(), nn.Linear(16, 16), nn.PReLU(), nn.Linear(16, 4))

        def forward(self, x):
            return self.fc(self.convnet(x))

    class SiameseNet(nn.Module):
        def __init__(self, embedding_net):
            super().__init__()
            self.embedding_net = embedding_net

        def forward(self, x1, x2):
            return self.embedding_net(x1), self.embedding_net(x2)

        def get_embedding(self, x):
            return self.embedding_net(x)

    class ContrastiveLoss(nn.Module):
        def __init__(self, margin):
            super().__init__()
            self.margin = margin

        def forward(self, output1, output2, label):  # label 1: same class
            d = F.pairwise_distance(output1, output2, keepdim=True)
            loss = label * torch.pow(d, 2) + (1 - label) * torch.pow(
                torch.clamp(self.margin - d, min=0.0), 2)
            return loss.mean()

    rng = np.random.default_rng(0)
    # 4 classes of 1-d signals of length 16: sines of 4 frequencies with random phase and noise
    n, length = 64, 16
    labels = np.arange(n) % 4
    t = np.arange(length)
    signals = np.stack([np.sin((c + 1) * 0.4 * t + rng.uniform(0, 6.28)) for c in labels])
    signals = signals + rng.normal(0.0, 0.2, signals.shape)
    x_all = torch.from_numpy(signals[:, None, :])
    y_all = torch.from_numpy(labels)
    by_class = [np.flatnonzero(labels[:48] == c) for c in range(4)]

    embedding_net = EmbeddingNet().double()
    with torch.no_grad():
        for name, p in embedding_net.named_parameters():
            if p.numel() > 1:
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))
    model = SiameseNet(embedding_net)
    contrastive = ContrastiveLoss(margin)
    triplet = nn.TripletMarginLoss(margin=margin, p=2)
    cosine = nn.CosineEmbeddingLoss(margin=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

    for step in range(steps):
        model.train()
        a = rng.integers(0, 48, 16)
        same = rng.random(16) < 0.5
        b = np.array([rng.choice(by_class[labels[i]]) if s else rng.choice(
            np.flatnonzero((labels[:48] != labels[i]))) for i, s in zip(a, same)])
        neg = np.array([rng.choice(np.flatnonzero(labels[:48] != labels[i])) for i in a])
        pos = np.array([rng.choice(by_class[labels[i]]) for i in a])
        target = torch.from_numpy(same.astype(np.float64)).unsqueeze(1)

        optimizer.zero_grad()
        out1, out2 = model(x_all[a], x_all[b])
        out1, out2 = F.normalize(out1, p=2, dim=1), F.normalize(out2, p=2, dim=1)
        loss_pair = contrastive(out1, out2, target)
        anchor, positive, negative = (model.get_embedding(x_all[i]) for i in (a, pos, neg))
        loss_triplet = triplet(anchor, positive, negative)
        loss_cos = cosine(out1, out2, target.squeeze(1) * 2 - 1)
        loss = loss_pair + loss_triplet + 0.5 * loss_cos
        loss.backward()
        optimizer.step()
        scheduler.step()
        sim = F.cosine_similarity(out1, out2, dim=1)
        print(f"step {step} contrastive {loss_pair.item():.15e}")
        print(f"step {step} triplet {loss_triplet.item():.15e}")
        print(f"step {step} cosine embedding {loss_cos.item():.15e}")
        print(f"step {step} mean similarity of same pairs {sim[torch.from_numpy(same)].mean().item():.15e}")
        print(f"step {step} lr {scheduler.get_last_lr()[0]:.15e}")

    model.eval()
    with torch.no_grad():
        train_emb = model.get_embedding(x_all[:48])
        test_emb = model.get_embedding(x_all[48:])
        dists = torch.cdist(test_emb, train_emb)
        nearest = dists.argmin(dim=1)
        acc = (y_all[:48][nearest] == y_all[48:]).double().mean()
        _, knn = dists.topk(3, dim=1, largest=False)
    assert knn.shape == (16, 3) and torch.equal(knn[:, 0], nearest)
    print(f"nearest-neighbour accuracy {acc.item():.15e}")
    print(f"mean test-train distance {dists.mean().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
