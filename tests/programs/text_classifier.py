"""A text classifier in the style of the PyTorch text-classification tutorial and its common
variants: a vocabulary built with collections.Counter and an <unk> / <pad> index, a map-style
Dataset of (label, text), a collate_batch that turns the texts into one flat tensor of ids and
their offsets (torch.tensor(offsets[:-1]).cumsum(dim=0)), nn.EmbeddingBag(mode="mean") fed
(text, offsets), its weights initialised by uniform_ then replaced from NumPy, a custom
bucketing Sampler subclass that groups texts of similar length (its order from NumPy) with a
BatchSampler, SGD with a StepLR and clip_grad_norm_, accuracy by argmax; then the same model
written with nn.Embedding(padding_idx=...) over a pad_sequence batch and a masked mean (checked
equal to the EmbeddingBag's), EmbeddingBag with per_sample_weights (mode="sum") and
max pooling, a 2-D input without offsets, F.embedding_bag, and the padded model's
embedding gradient zero at the padding row. Torch and retrograd print the same numbers.
"""

from collections import Counter

import numpy as np

WORDS = {0: ["goal", "match", "team", "score", "league", "coach", "win"],
         1: ["market", "stock", "price", "bank", "trade", "profit", "deal"],
         2: ["planet", "space", "orbit", "rocket", "star", "launch", "moon"]}
FILLER = ["the", "a", "of", "and", "to", "in", "is", "new", "big"]


def make_corpus(rng, n):
    corpus = []
    for i in range(n):
        label = i % 3
        length = int(rng.integers(3, 12))
        words = [str(rng.choice(WORDS[label])) if rng.random() < 0.4 else str(rng.choice(FILLER))
                 for _ in range(length)]
        if rng.random() < 0.1:
            words.append("zzz_rare")
        corpus.append((label, " ".join(words)))
    return corpus


def main(torch, epochs=3, batch_size=8, embed_dim=12):
    nn, F = torch.nn, torch.nn.functional
    data = torch.utils.data
    rng = np.random.default_rng(0)
    train_iter = make_corpus(rng, 60)
    valid_iter = make_corpus(rng, 18)

    def tokenizer(text):
        return text.lower().split()

    counter = Counter(tok for _, text in train_iter for tok in tokenizer(text))
    itos = ["<unk>", "<pad>"] + sorted(w for w, c in counter.items() if c >= 2)
    stoi = {w: i for i, w in enumerate(itos)}
    UNK, PAD = stoi["<unk>"], stoi["<pad>"]

    def text_pipeline(x):
        return [stoi.get(tok, UNK) for tok in tokenizer(x)]

    class TextDataset(data.Dataset):
        def __init__(self, items):
            self.items = items

        def __len__(self):
            return len(self.items)

        def __getitem__(self, idx):
            return self.items[idx]

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(_label)
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    def collate_padded(batch):
        labels = torch.tensor([label for label, _ in batch])
        seqs = [torch.tensor(text_pipeline(text)) for _, text in batch]
        lengths = torch.tensor([len(s) for s in seqs])
        return labels, nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=PAD), lengths

    class BucketSampler(data.Sampler):
        """Indices sorted by length within chunks of a shuffled order (the shuffle from NumPy)."""

        def __init__(self, dataset, chunk, seed):
            self.lengths = [len(tokenizer(text)) for _, text in dataset.items]
            self.chunk, self.seed, self.epoch = chunk, seed, 0

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __iter__(self):
            order = np.random.default_rng(self.seed + self.epoch).permutation(len(self.lengths))
            for start in range(0, len(order), self.chunk):
                piece = order[start:start + self.chunk]
                yield from sorted(piece.tolist(), key=lambda i: self.lengths[i])

        def __len__(self):
            return len(self.lengths)

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean")
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    train_dataset, valid_dataset = TextDataset(train_iter), TextDataset(valid_iter)
    sampler = BucketSampler(train_dataset, chunk=4 * batch_size, seed=3)
    batch_sampler = data.BatchSampler(sampler, batch_size=batch_size, drop_last=False)
    train_dataloader = data.DataLoader(train_dataset, batch_sampler=batch_sampler, collate_fn=collate_batch)
    valid_dataloader = data.DataLoader(valid_dataset, batch_size=batch_size, shuffle=False,
                                       collate_fn=collate_batch)
    assert len(train_dataloader) == 8

    model = TextClassificationModel(len(itos), embed_dim, 3).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count, total_loss = 0, 0, 0.0
        with torch.no_grad():
            for label, text, offsets in dataloader:
                predicted_label = model(text, offsets)
                total_loss += criterion(predicted_label, label).item() * label.size(0)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count, total_loss / total_count

    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        model.train()
        for idx, (label, text, offsets) in enumerate(train_dataloader):
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            if idx % 3 == 0:
                print(f"epoch {epoch} batch {idx} loss {loss.item():.15e}")
        accu_val, loss_val = evaluate(valid_dataloader)
        scheduler.step()
        print(f"epoch {epoch} valid accuracy {accu_val:.15e}")
        print(f"epoch {epoch} valid loss {loss_val:.15e}")
        print(f"epoch {epoch} lr {scheduler.get_last_lr()[0]:.15e}")

    # the same bag as a padded Embedding with a masked mean
    embedding = nn.Embedding(len(itos), embed_dim, padding_idx=PAD).double()
    with torch.no_grad():
        embedding.weight.copy_(model.embedding.weight)
        embedding.weight[PAD].fill_(0)
    labels, padded, lengths = collate_padded(valid_iter[:6])
    mask = (padded != PAD).unsqueeze(-1).to(torch.float64)
    emb = embedding(padded)
    masked_mean = (emb * mask).sum(1) / lengths.unsqueeze(1)
    _, flat, offsets = collate_batch(valid_iter[:6])
    bag = model.embedding(flat, offsets)
    print(f"masked mean vs bag below 1e-12 {float((masked_mean - bag).abs().max() < 1e-12):.15e}")
    logits = model.fc(masked_mean)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    print(f"padded model loss {loss.item():.15e}")
    print(f"padding row gradient abs sum {embedding.weight.grad[PAD].abs().sum().item():.15e}")
    print(f"embedding gradient abs sum {embedding.weight.grad.abs().sum().item():.15e}")

    # per-sample weights (mode="sum" only), max pooling, a 2-D input, the functional form
    weights = torch.from_numpy(rng.uniform(0.5, 1.5, flat.shape[0]))
    sum_bag = nn.EmbeddingBag.from_pretrained(model.embedding.weight.detach(), mode="sum", freeze=False)
    weighted = sum_bag(flat, offsets, per_sample_weights=weights)
    weighted.pow(2).sum().backward()
    print(f"weighted sum bag total {weighted.sum().item():.15e}")
    print(f"weighted sum bag grad abs sum {sum_bag.weight.grad.abs().sum().item():.15e}")
    max_bag = F.embedding_bag(flat, model.embedding.weight, offsets, mode="max")
    print(f"max bag total {max_bag.sum().item():.15e}")
    two_d = torch.from_numpy(rng.integers(0, len(itos), (4, 5)))
    print(f"2-d mean bag total {model.embedding(two_d).sum().item():.15e}")
    last = F.embedding_bag(flat, model.embedding.weight, offsets, mode="mean", include_last_offset=False)
    print(f"functional mean bag equals the module's {float(torch.equal(last, bag)):.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
