"""A BiLSTM-CRF sequence tagger in the style of the PyTorch advanced tutorial and the NER
repositories built on it, batched: word embeddings with max_norm (renormalised in place at lookup)
joined to a character CNN (Conv1d over each word's padded characters, max over positions), a
two-layer bidirectional LSTM over pack_sequence(enforce_sorted=False) read back with
pad_packed_sequence and unpad_sequence, emissions by a Linear, and a CRF layer with start/end
transitions: the partition function by the forward algorithm in log space (logsumexp over the
previous tag, masked updates with torch.where), the gold path score by gather along the tags,
the negative log-likelihood averaged over the batch, Viterbi decoding by max with indices and a
backtrack through the stored pointers (flip of the history, .tolist()), the brute-force partition
function over every tag sequence checked against the forward algorithm (itertools.product), SGD
with weight decay and clip_grad_norm_, and token accuracy. Weights and data from NumPy, so torch
and retrograd print the same numbers.
"""

import itertools

import numpy as np

TAGS = ["O", "B", "I"]  # a tiny chunking scheme: words starting with 'x' begin a chunk, 'y' continue it


def make_sentences(rng, n):
    vocab = ["xa", "xb", "ya", "yb", "the", "of", "cat", "sat", "on", "mat"]
    sentences = []
    for _ in range(n):
        words = [str(rng.choice(vocab)) for _ in range(int(rng.integers(3, 8)))]
        tags, inside = [], False
        for w in words:
            if w.startswith("x"):
                tags.append(1)
                inside = True
            elif w.startswith("y") and inside:
                tags.append(2)
            else:
                tags.append(0)
                inside = False
        sentences.append((words, tags))
    return sentences


def main(torch, epochs=4, batch=6, emb=8, char_emb=4, hidden=8):
    nn = torch.nn
    rng = np.random.default_rng(0)
    train = make_sentences(rng, 18)
    words = sorted({w for s, _ in train for w in s})
    word_to_ix = {w: i + 1 for i, w in enumerate(words)}  # 0: padding
    chars = sorted({c for w in words for c in w})
    char_to_ix = {c: i + 1 for i, c in enumerate(chars)}
    num_tags = len(TAGS)

    class CRF(nn.Module):
        def __init__(self, num_tags):
            super().__init__()
            self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # [from, to]
            self.start_transitions = nn.Parameter(torch.empty(num_tags))
            self.end_transitions = nn.Parameter(torch.empty(num_tags))
            nn.init.uniform_(self.transitions, -0.1, 0.1)
            nn.init.uniform_(self.start_transitions, -0.1, 0.1)
            nn.init.uniform_(self.end_transitions, -0.1, 0.1)

        def forward(self, emissions, tags, mask):
            """Mean negative log-likelihood; emissions (B, T, K), tags (B, T), mask (B, T) bool."""
            return (self._partition(emissions, mask) - self._score(emissions, tags, mask)).mean()

        def _score(self, emissions, tags, mask):
            B, T, _ = emissions.shape
            maskf = mask.to(emissions.dtype)
            score = self.start_transitions[tags[:, 0]] + emissions[:, 0].gather(1, tags[:, :1]).squeeze(1)
            for t in range(1, T):
                emitted = emissions[:, t].gather(1, tags[:, t:t + 1]).squeeze(1)
                step = self.transitions[tags[:, t - 1], tags[:, t]] + emitted
                score = score + step * maskf[:, t]
            last = mask.long().sum(1) - 1
            last_tags = tags.gather(1, last.unsqueeze(1)).squeeze(1)
            return score + self.end_transitions[last_tags]

        def _partition(self, emissions, mask):
            alpha = self.start_transitions + emissions[:, 0]  # (B, K)
            for t in range(1, emissions.size(1)):
                scores = alpha.unsqueeze(2) + self.transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1)
                nxt = torch.logsumexp(scores, dim=1)
                alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
            return torch.logsumexp(alpha + self.end_transitions, dim=1)

        def decode(self, emissions, mask):
            score = self.start_transitions + emissions[:, 0]
            history = []
            for t in range(1, emissions.size(1)):
                nxt = score.unsqueeze(2) + self.transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1)
                nxt, indices = nxt.max(dim=1)
                score = torch.where(mask[:, t].unsqueeze(1), nxt, score)
                history.append(indices)
            score = score + self.end_transitions
            lengths = mask.long().sum(1)
            best = []
            for b in range(emissions.size(0)):
                _, last = score[b].max(dim=0)
                path = [last.item()]
                for hist in reversed(history[:lengths[b] - 1]):
                    path.append(hist[b][path[-1]].item())
                best.append(torch.tensor(path).flip(0).tolist())
            return best

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeds = nn.Embedding(len(word_to_ix) + 1, emb, padding_idx=0, max_norm=1.0)
            self.char_embeds = nn.Embedding(len(char_to_ix) + 1, char_emb, padding_idx=0)
            self.char_cnn = nn.Conv1d(char_emb, 6, kernel_size=2, padding=1)
            self.lstm = nn.LSTM(emb + 6, hidden, num_layers=2, bidirectional=True, batch_first=True)
            self.hidden2tag = nn.Linear(2 * hidden, num_tags)
            self.crf = CRF(num_tags)

        def features(self, sentences):
            seqs = []
            for s in sentences:
                w = self.word_embeds(torch.tensor([word_to_ix[x] for x in s]))
                c = nn.utils.rnn.pad_sequence([torch.tensor([char_to_ix[ch] for ch in x]) for x in s], batch_first=True)
                conv = self.char_cnn(self.char_embeds(c).transpose(1, 2))  # (words, 6, L)
                seqs.append(torch.cat([w, conv.max(dim=2).values], dim=1))
            packed = nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
            out, _ = self.lstm(packed)
            padded, lengths = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
            assert [u.shape[0] for u in nn.utils.rnn.unpad_sequence(padded, lengths, batch_first=True)] == \
                [len(s) for s in sentences]
            mask = torch.arange(padded.size(1))[None, :] < lengths[:, None]
            return self.hidden2tag(padded), mask

    model = Tagger().double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))
        model.word_embeds.weight[0].zero_()
        model.char_embeds.weight[0].zero_()
    print(f"embedding norms above max_norm before {int((model.word_embeds.weight.norm(dim=1) > 1.0).sum()):.15e}")

    # the forward algorithm against every tag sequence of a short sentence
    with torch.no_grad():
        emissions, mask = model.features([train[0][0][:3]])
        crf = model.crf
        brute = []
        for path in itertools.product(range(num_tags), repeat=3):
            tags = torch.tensor([path])
            brute.append(crf._score(emissions, tags, mask))
        log_z = torch.logsumexp(torch.cat(brute), dim=0)
        gap = abs(log_z - crf._partition(emissions, mask)[0])
        print(f"forward algorithm vs brute force below 1e-12 {float(gap < 1e-12):.15e}")
    above = int((model.word_embeds.weight.norm(dim=1) > 1.0 + 1e-7).sum())
    print(f"embedding norms above max_norm after lookup {above:.15e}")

    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, weight_decay=1e-4)
    for epoch in range(epochs):
        total = 0.0
        for start in range(0, len(train), batch):
            chunk = train[start:start + batch]
            emissions, mask = model.features([s for s, _ in chunk])
            tags = nn.utils.rnn.pad_sequence([torch.tensor(t) for _, t in chunk], batch_first=True)
            model.zero_grad()
            loss = model.crf(emissions, tags, mask)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            total += loss.item()
        print(f"epoch {epoch} nll {total / 3:.15e}")

    with torch.no_grad():
        emissions, mask = model.features([s for s, _ in train])
        paths = model.crf.decode(emissions, mask)
        correct = sum(int(p == t) for path, (_, tags) in zip(paths, train) for p, t in zip(path, tags))
        total = sum(len(t) for _, t in train)
        print(f"token accuracy {correct / total:.15e}")
        print(f"decoded tag sum {sum(sum(p) for p in paths):.15e}")
        print(f"transition B to I {model.crf.transitions[1, 2].item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
