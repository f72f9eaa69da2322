"""A character-level language model: Embedding, GRU and Linear, cross_entropy, Adam, then a
sample drawn with torch.multinomial. The weights start from one NumPy array, so the losses
agree between torch and retrograd; the sample differs (the random streams differ) but is made
of the text's characters.
"""

import numpy as np

TEXT = ("the quick brown fox jumps over the lazy dog. "
        "a stitch in time saves nine. all that glitters is not gold. ")


def main(torch, steps=30, sample_length=40):
    nn, F = torch.nn, torch.nn.functional
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)

    class CharRNN(nn.Module):
        def __init__(self, vocab, hidden=24):
            super().__init__()
            self.embed = nn.Embedding(vocab, 12)
            self.rnn = nn.GRU(12, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx, h=None):
            out, h = self.rnn(self.embed(idx), h)
            return self.head(out), h

    model = CharRNN(len(chars)).double()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.2, tuple(p.shape))))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    seq, batch = 16, 8
    for step in range(steps):
        starts = rng.integers(0, len(TEXT) - seq - 1, batch)
        xb = torch.stack([data[s:s + seq] for s in starts])
        yb = torch.stack([data[s + 1:s + seq + 1] for s in starts])
        logits, _ = model(xb)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), yb.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 5 == 0 or step == steps - 1:
            print(f"step {step} loss {loss.item():.15e}")

    torch.manual_seed(0)
    model.eval()
    idx, h, out = data[:1].view(1, 1), None, [TEXT[0]]
    with torch.no_grad():
        for _ in range(sample_length):
            logits, h = model(idx, h)
            probs = F.softmax(logits[0, -1], dim=-1)
            idx = torch.multinomial(probs, num_samples=1).view(1, 1)
            out.append(chars[idx.item()])
    print("sample " + repr("".join(out)))


if __name__ == "__main__":
    from _run import script
    script(main)
